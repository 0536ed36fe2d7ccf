//! istiod's configuration ConfigMaps:
//!
//! - `istio[-<rev>]`: `data.mesh`, the mesh config as YAML (trust domain,
//!   root namespace, and the proxies' defaults: discovery address, mesh id,
//!   `proxyMetadata`), and `data.meshNetworks` (`networks: {}`: with
//!   gateways found from the `topology.istio.io/network` labels, meshform
//!   lists no networks). Labelled `topology.istio.io/cluster` and
//!   `topology.istio.io/network`, so a reader sees where it belongs.
//! - `istio-sidecar-injector[-<rev>]`: `data.values` (the global values as
//!   JSON, as Istio stores them) and `data.config` (the injection policy and
//!   a sidecar template). The emulated injector has no template engine, so
//!   the template carries the resolved values: the proxies' cluster id
//!   (`ISTIO_META_CLUSTER_ID`) and network (`ISTIO_META_NETWORK`).

use serde_json::{json, Map, Value};

use super::labels::{metadata, Component};
use super::overlay::{Overlay, NAMESPACE};
use super::EmulatedError;

fn yaml(value: &Value) -> Result<String, EmulatedError> {
    serde_saphyr::to_string(value).map_err(|e| EmulatedError(format!("could not write YAML: {e}")))
}

/// The mesh config (`data.mesh` of ConfigMap `istio`).
fn mesh_config(o: &Overlay) -> Value {
    let mut proxy = Map::new();
    proxy.insert(
        "discoveryAddress".into(),
        json!(format!("{}.{NAMESPACE}.svc:15012", o.istiod())),
    );
    if let Some(id) = &o.mesh_id {
        proxy.insert("meshId".into(), json!(id));
    }
    if !o.proxy_metadata.is_empty() {
        proxy.insert(
            "proxyMetadata".into(),
            Value::Object(o.proxy_metadata.clone()),
        );
    }
    json!({
        "trustDomain": o.trust_domain,
        "rootNamespace": NAMESPACE,
        "defaultConfig": proxy,
    })
}

/// The global values the injector renders proxies from.
fn values(o: &Overlay) -> Value {
    json!({
        "global": {
            "hub": o.hub,
            "tag": o.tag,
            "istioNamespace": NAMESPACE,
            "meshID": o.mesh_id.clone().unwrap_or_default(),
            "multiCluster": {"clusterName": o.cluster_name},
            "network": o.network.clone().unwrap_or_default(),
        },
        "revision": o.revision.clone().unwrap_or_default(),
    })
}

/// The sidecar template, with the values resolved.
fn sidecar_template(o: &Overlay) -> Result<String, EmulatedError> {
    yaml(&json!({
        "containers": [{
            "name": "istio-proxy",
            "image": format!("{}/proxyv2:{}", o.hub, o.tag),
            "args": ["proxy", "sidecar"],
            "env": [
                {"name": "ISTIO_META_CLUSTER_ID", "value": o.cluster_name},
                {"name": "ISTIO_META_NETWORK", "value": o.network.clone().unwrap_or_default()},
                {"name": "ISTIO_META_MESH_ID", "value": o.mesh_id.clone().unwrap_or_else(|| o.trust_domain.clone())},
                {"name": "TRUST_DOMAIN", "value": o.trust_domain},
            ],
        }],
    }))
}

/// The ConfigMaps `istio[-<rev>]` and `istio-sidecar-injector[-<rev>]`.
///
/// # Errors
/// Only if YAML cannot be written (not expected).
pub fn render(o: &Overlay) -> Result<Vec<Value>, EmulatedError> {
    let mut topology = json!({
        "app.kubernetes.io/name": "istiod",
        "topology.istio.io/cluster": o.cluster_name,
    });
    if let Some(n) = &o.network {
        topology["topology.istio.io/network"] = json!(n);
    }
    let mesh = json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": metadata(o, &o.suffixed("istio"), Some(NAMESPACE), Component::Pilot, topology),
        "data": {
            "mesh": yaml(&mesh_config(o))?,
            "meshNetworks": "networks: {}\n",
        },
    });
    let config = yaml(&json!({
        "defaultTemplates": ["sidecar"],
        "policy": "enabled",
        "alwaysInjectSelector": [],
        "neverInjectSelector": [],
        "injectedAnnotations": {},
        "templates": {"sidecar": sidecar_template(o)?},
    }))?;
    let values = serde_json::to_string_pretty(&values(o))
        .map_err(|e| EmulatedError(format!("could not write JSON: {e}")))?;
    let injector = json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": metadata(o, &o.suffixed("istio-sidecar-injector"), Some(NAMESPACE), Component::Pilot,
                             json!({"app.kubernetes.io/name": "istiod"})),
        "data": {"values": values, "config": config},
    });
    Ok(vec![mesh, injector])
}

//! A gateway of the `ingressGateways` component (the east-west gateway):
//! its ServiceAccount, Role and RoleBinding (reading Secrets for TLS), its
//! Deployment (proxy image `<hub>/proxyv2:<tag>`, injected with the
//! `gateway` template, the component's labels and `k8s.env`) and its
//! Service (the component's `k8s.service` with `k8s.serviceAnnotations`).

use serde_json::{json, Value};

use super::labels::{metadata, Component};
use super::overlay::{Overlay, NAMESPACE};

/// The objects of gateway `g` (an `ingressGateways` entry with a name).
pub fn render(o: &Overlay, g: &Value) -> Vec<Value> {
    let name = g["name"].as_str().unwrap_or("istio-ingressgateway");
    let labels = g["label"].clone();
    let meta = |extra: &Value| {
        metadata(
            o,
            name,
            Some(NAMESPACE),
            Component::IngressGateways,
            extra.clone(),
        )
    };
    let mut service_meta = meta(&labels);
    if let Some(a) = g["k8s"]["serviceAnnotations"].as_object() {
        if let Some(m) = service_meta["annotations"].as_object_mut() {
            m.extend(a.clone());
        }
    }
    let mut service_spec = g["k8s"]["service"].clone();
    if !service_spec.is_object() {
        service_spec = json!({});
    }
    service_spec["selector"] = labels.clone();
    let mut pod_labels = labels.clone();
    pod_labels["sidecar.istio.io/inject"] = json!("true");
    pod_labels["istio.io/rev"] = json!(o.rev_label());
    let env = match &g["k8s"]["env"] {
        Value::Array(e) => e.clone(),
        _ => Vec::new(),
    };
    vec![
        json!({
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": meta(&labels),
        }),
        json!({
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "Role",
            "metadata": meta(&labels),
            "rules": [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["get", "watch", "list"]}],
        }),
        json!({
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": meta(&labels),
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name},
            "subjects": [{"kind": "ServiceAccount", "name": name}],
        }),
        json!({
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": meta(&labels),
            "spec": {
                "replicas": 1,
                "selector": {"matchLabels": labels},
                "template": {
                    "metadata": {
                        "labels": pod_labels,
                        "annotations": {"inject.istio.io/templates": "gateway",
                                        "prometheus.io/port": "15020", "prometheus.io/scrape": "true"},
                    },
                    "spec": {
                        "serviceAccountName": name,
                        "containers": [{
                            "name": "istio-proxy",
                            "image": format!("{}/proxyv2:{}", o.hub, o.tag),
                            "env": env,
                            "ports": [{"containerPort": 15021, "name": "status-port", "protocol": "TCP"},
                                      {"containerPort": 15443, "name": "tls", "protocol": "TCP"}],
                            "readinessProbe": {"httpGet": {"path": "/healthz/ready", "port": 15021},
                                               "periodSeconds": 2},
                        }],
                    },
                },
            },
        }),
        json!({
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": service_meta,
            "spec": service_spec,
        }),
    ]
}

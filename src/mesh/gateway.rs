//! What one cluster's east-west gateway is rendered from, and its
//! IstioOperator overlay (`templates/eastwest-gateway.yaml`): an
//! `ingressGateways` component on the `empty` profile, as Istio's own
//! `samples/multicluster/gen-eastwest-gateway.sh` makes it (MESH.md,
//! "Multi-primary on different networks"), exposed by a GKE internal
//! passthrough load balancer.

use std::sync::OnceLock;

use serde::{Deserialize, Serialize};
use tera::{Context, Tera};

use super::overlay::OverlayError;

/// The gateway's name (Deployment and Service in `istio-system`).
pub const GATEWAY_NAME: &str = "istio-eastwestgateway";

/// GKE's annotation asking for an internal passthrough load balancer.
pub const INTERNAL_ANNOTATION: &str = "networking.gke.io/load-balancer-type";

/// GKE's annotation for global access; on only when exactly `"true"`.
pub const GLOBAL_ACCESS_ANNOTATION: &str =
    "networking.gke.io/internal-load-balancer-allow-global-access";

/// The gateway Service's ports: (name, port), TCP, target = port.
pub const PORTS: &[(&str, u16)] = &[
    ("status-port", 15021),
    ("tls", 15443),
    ("tls-istiod", 15012),
    ("tls-webhook", 15017),
];

/// The values of one cluster's east-west gateway.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GatewayValues {
    /// The pinned Istio version, e.g. `1.31.1`.
    pub version: String,
    /// The control plane's revision, when one is set.
    pub revision: Option<String>,
    /// The image hub, when not Istio's default.
    pub hub: Option<String>,
    /// The image tag, when not the version.
    pub tag: Option<String>,
    /// The cluster's network (`topology.istio.io/network`).
    pub network: String,
    /// Whether the load balancer allows clients from other regions.
    pub global_access: bool,
    /// `spec.loadBalancerSourceRanges`: who may reach the gateway.
    pub source_ranges: Vec<String>,
}

const TEMPLATE: (&str, &str) = (
    "eastwest-gateway.yaml",
    include_str!("../../templates/eastwest-gateway.yaml"),
);

fn tera() -> &'static Tera {
    static TERA: OnceLock<Tera> = OnceLock::new();
    TERA.get_or_init(|| {
        let mut t = Tera::default();
        t.add_raw_templates([TEMPLATE])
            .expect("the bundled east-west gateway template parses");
        t
    })
}

#[derive(Serialize)]
struct Port {
    name: &'static str,
    port: u16,
}

/// The IstioOperator overlay of the east-west gateway for `values`.
///
/// # Errors
/// [`OverlayError::Render`] only if the bundled template is broken.
pub fn render_gateway_overlay(values: &GatewayValues) -> Result<String, OverlayError> {
    let mut context =
        Context::from_serialize(values).map_err(|e| OverlayError::Render(format!("{e:?}")))?;
    context.insert("name", GATEWAY_NAME);
    context.insert("internal_annotation", INTERNAL_ANNOTATION);
    context.insert("global_access_annotation", GLOBAL_ACCESS_ANNOTATION);
    let ports: Vec<Port> = PORTS
        .iter()
        .map(|&(name, port)| Port { name, port })
        .collect();
    context.insert("ports", &ports);
    tera()
        .render(TEMPLATE.0, &context)
        .map_err(|e| OverlayError::Render(format!("{e:?}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn values(global_access: bool) -> GatewayValues {
        GatewayValues {
            version: "1.31.1".into(),
            revision: Some("1-31".into()),
            hub: None,
            tag: None,
            network: "network-europe-west2".into(),
            global_access,
            source_ranges: vec!["10.0.16.0/20".into(), "10.16.32.0/20".into()],
        }
    }

    fn overlay(global_access: bool) -> Value {
        let text = render_gateway_overlay(&values(global_access)).unwrap();
        serde_saphyr::from_str(&text).unwrap()
    }

    #[test]
    fn the_overlay_is_gen_eastwest_gateways_component_on_an_internal_load_balancer() {
        let o = overlay(true);
        assert_eq!(o["spec"]["profile"], "empty");
        assert_eq!(o["spec"]["revision"], "1-31");
        let gw = &o["spec"]["components"]["ingressGateways"][0];
        assert_eq!(gw["name"], GATEWAY_NAME);
        assert_eq!(gw["label"]["istio"], "eastwestgateway");
        assert_eq!(
            gw["label"]["topology.istio.io/network"],
            "network-europe-west2"
        );
        assert_eq!(
            gw["k8s"]["env"][0]["name"],
            "ISTIO_META_REQUESTED_NETWORK_VIEW"
        );
        assert_eq!(gw["k8s"]["env"][0]["value"], "network-europe-west2");
        let annotations = &gw["k8s"]["serviceAnnotations"];
        assert_eq!(annotations[INTERNAL_ANNOTATION], "Internal");
        assert_eq!(annotations[GLOBAL_ACCESS_ANNOTATION], "true");
        let service = &gw["k8s"]["service"];
        assert_eq!(service["type"], "LoadBalancer");
        assert_eq!(service["loadBalancerSourceRanges"][1], "10.16.32.0/20");
        let ports: Vec<(String, u64)> = service["ports"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                (
                    p["name"].as_str().unwrap().to_string(),
                    p["port"].as_u64().unwrap(),
                )
            })
            .collect();
        assert_eq!(ports.len(), 4);
        assert!(ports.contains(&("tls".into(), 15443)));
        assert_eq!(
            o["spec"]["values"]["gateways"]["istio-ingressgateway"]["injectionTemplate"],
            "gateway"
        );
    }

    #[test]
    fn one_region_gets_no_global_access_annotation() {
        let o = overlay(false);
        let annotations =
            &o["spec"]["components"]["ingressGateways"][0]["k8s"]["serviceAnnotations"];
        assert!(annotations.get(GLOBAL_ACCESS_ANNOTATION).is_none());
        assert_eq!(annotations[INTERNAL_ANNOTATION], "Internal");
    }
}

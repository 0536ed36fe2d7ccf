//! The CustomResourceDefinitions of Istio's configuration kinds that the
//! mesh uses, with structural schemas that keep every field
//! (`x-kubernetes-preserve-unknown-fields`): meshform renders the shape, not
//! Istio's generated schemas.

use serde_json::{json, Value};

use super::labels::{metadata, Component};
use super::overlay::Overlay;

/// One rendered CRD: group, kind, plural, short names, versions (the first
/// is served and stored; the rest are served).
struct Crd {
    group: &'static str,
    kind: &'static str,
    plural: &'static str,
    short_names: &'static [&'static str],
    versions: &'static [&'static str],
}

const NETWORKING: &[&str] = &["v1", "v1alpha3", "v1beta1"];
const SECURITY: &[&str] = &["v1", "v1beta1"];

/// The CRDs, sorted by name.
const CRDS: &[Crd] = &[
    Crd {
        group: "networking.istio.io",
        kind: "DestinationRule",
        plural: "destinationrules",
        short_names: &["dr"],
        versions: NETWORKING,
    },
    Crd {
        group: "networking.istio.io",
        kind: "Gateway",
        plural: "gateways",
        short_names: &["gw"],
        versions: NETWORKING,
    },
    Crd {
        group: "networking.istio.io",
        kind: "ServiceEntry",
        plural: "serviceentries",
        short_names: &["se"],
        versions: NETWORKING,
    },
    Crd {
        group: "networking.istio.io",
        kind: "VirtualService",
        plural: "virtualservices",
        short_names: &["vs"],
        versions: NETWORKING,
    },
    Crd {
        group: "security.istio.io",
        kind: "AuthorizationPolicy",
        plural: "authorizationpolicies",
        short_names: &["ap"],
        versions: SECURITY,
    },
    Crd {
        group: "security.istio.io",
        kind: "PeerAuthentication",
        plural: "peerauthentications",
        short_names: &["pa"],
        versions: SECURITY,
    },
];

/// A schema that accepts any `spec` and `status`.
fn schema() -> Value {
    let open = json!({"type": "object", "x-kubernetes-preserve-unknown-fields": true});
    json!({"openAPIV3Schema": {
        "type": "object",
        "properties": {"spec": open, "status": open},
    }})
}

/// The CRDs of Istio's configuration kinds.
pub fn render(o: &Overlay) -> Vec<Value> {
    CRDS.iter()
        .map(|c| {
            let category = c.group.replace('.', "-");
            let versions: Vec<Value> = c
                .versions
                .iter()
                .enumerate()
                .map(|(i, v)| {
                    json!({
                        "name": v,
                        "served": true,
                        "storage": i == 0,
                        "schema": schema(),
                        "subresources": {"status": {}},
                        "additionalPrinterColumns": [{
                            "name": "Age", "type": "date",
                            "jsonPath": ".metadata.creationTimestamp",
                        }],
                    })
                })
                .collect();
            json!({
                "apiVersion": "apiextensions.k8s.io/v1",
                "kind": "CustomResourceDefinition",
                "metadata": metadata(o, &format!("{}.{}", c.plural, c.group), None, Component::Base, json!({})),
                "spec": {
                    "group": c.group,
                    "names": {
                        "kind": c.kind,
                        "listKind": format!("{}List", c.kind),
                        "plural": c.plural,
                        "singular": c.kind.to_lowercase(),
                        "shortNames": c.short_names,
                        "categories": ["istio-io", category],
                    },
                    "scope": "Namespaced",
                    "versions": versions,
                },
            })
        })
        .collect()
}

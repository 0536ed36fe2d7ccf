//! The metadata every rendered object carries: Istio's installer labels,
//! meshform's mark of an emulated object, and the version annotation.

use serde_json::{json, Value};

use super::overlay::Overlay;
use super::{EMULATED_LABEL, VERSION_ANNOTATION};

/// Which part of the install an object belongs to
/// (`operator.istio.io/component`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Component {
    /// CRDs (Istio's `base` chart).
    Base,
    /// istiod and everything around it (`istio-discovery`).
    Pilot,
    /// A gateway of the `ingressGateways` component.
    IngressGateways,
}

/// `metadata` of an object named `name` (in `namespace` when namespaced):
/// `install.operator.istio.io/owning-resource`, `operator.istio.io/component`,
/// `meshform.dev/emulated: "true"` and, but for Base objects, `istio.io/rev`,
/// plus `extra` labels; annotated with the Istio version.
pub fn metadata(
    o: &Overlay,
    name: &str,
    namespace: Option<&str>,
    component: Component,
    extra: Value,
) -> Value {
    let mut labels = json!({
        "install.operator.istio.io/owning-resource": o.owner,
        "operator.istio.io/component": match component {
            Component::Base => "Base",
            Component::Pilot => "Pilot",
            Component::IngressGateways => "IngressGateways",
        },
        EMULATED_LABEL: "true",
    });
    if component != Component::Base {
        labels["istio.io/rev"] = json!(o.rev_label());
    }
    if let (Some(l), Some(e)) = (labels.as_object_mut(), extra.as_object()) {
        l.extend(e.clone());
    }
    let mut meta = json!({
        "name": name,
        "labels": labels,
        "annotations": {VERSION_ANNOTATION: o.version},
    });
    if let Some(ns) = namespace {
        meta["namespace"] = json!(ns);
    }
    meta
}

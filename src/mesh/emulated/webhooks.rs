//! istiod's admission webhooks, all served by the `istiod[-<rev>]` Service
//! in `istio-system` on port 443, without a `caBundle` (istiod patches it in
//! at run time):
//!
//! - MutatingWebhookConfiguration `istio-sidecar-injector[-<rev>]`: sidecar
//!   injection into new Pods, selected by namespace or Pod labels
//!   (`istio.io/rev`, and `istio-injection` / `sidecar.istio.io/inject` for
//!   the default revision); `failurePolicy: Fail`, as Istio's chart.
//! - ValidatingWebhookConfiguration `istio-validator[-<rev>]-istio-system`:
//!   validation of Istio's configuration kinds for this revision;
//!   `failurePolicy: Ignore` until istiod is ready (istiod switches it to
//!   `Fail` itself), as the chart renders a first install.
//! - The 1.30 line only: ValidatingWebhookConfiguration
//!   `istiod-default-validator`, the revision-independent validator. The
//!   1.31 line no longer renders it (its revision validator covers the
//!   default revision), so moving a cluster from 1.30 to 1.31 prunes it.
//!   This difference is the emulator's own, a stand-in for the objects
//!   real releases add and drop; it is not a claim about Istio's charts.

use serde_json::{json, Value};

use super::labels::{metadata, Component};
use super::overlay::{Line, Overlay, NAMESPACE};

fn client(o: &Overlay, path: &str) -> Value {
    json!({"service": {"name": o.istiod(), "namespace": NAMESPACE, "path": path, "port": 443}})
}

fn expression(key: &str, operator: &str, values: &[&str]) -> Value {
    let mut e = json!({"key": key, "operator": operator});
    if !values.is_empty() {
        e["values"] = json!(values);
    }
    e
}

/// One injection webhook named `<prefix>sidecar-injector.istio.io`.
fn injector(o: &Overlay, prefix: &str, namespaces: Vec<Value>, objects: Vec<Value>) -> Value {
    json!({
        "name": format!("{prefix}sidecar-injector.istio.io"),
        "clientConfig": client(o, "/inject"),
        "sideEffects": "None",
        "rules": [{"operations": ["CREATE"], "apiGroups": [""], "apiVersions": ["v1"], "resources": ["pods"]}],
        "failurePolicy": "Fail",
        "reinvocationPolicy": "Never",
        "admissionReviewVersions": ["v1"],
        "namespaceSelector": {"matchExpressions": namespaces},
        "objectSelector": {"matchExpressions": objects},
    })
}

fn mutating(o: &Overlay) -> Value {
    let rev = o.rev_label();
    let not_disabled = expression("sidecar.istio.io/inject", "NotIn", &["false"]);
    let mut webhooks = vec![
        injector(
            o,
            "rev.namespace.",
            vec![
                expression("istio.io/rev", "In", &[rev]),
                expression("istio-injection", "DoesNotExist", &[]),
            ],
            vec![not_disabled.clone()],
        ),
        injector(
            o,
            "rev.object.",
            vec![
                expression("istio.io/rev", "DoesNotExist", &[]),
                expression("istio-injection", "DoesNotExist", &[]),
            ],
            vec![
                not_disabled.clone(),
                expression("istio.io/rev", "In", &[rev]),
            ],
        ),
    ];
    if o.revision.is_none() {
        webhooks.push(injector(
            o,
            "namespace.",
            vec![expression("istio-injection", "In", &["enabled"])],
            vec![not_disabled.clone()],
        ));
        webhooks.push(injector(
            o,
            "object.",
            vec![
                expression("istio-injection", "DoesNotExist", &[]),
                expression("istio.io/rev", "DoesNotExist", &[]),
            ],
            vec![
                expression("sidecar.istio.io/inject", "In", &["true"]),
                expression("istio.io/rev", "DoesNotExist", &[]),
            ],
        ));
    }
    json!({
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "MutatingWebhookConfiguration",
        "metadata": metadata(o, &o.suffixed("istio-sidecar-injector"), None, Component::Pilot,
                             json!({"app": "sidecar-injector"})),
        "webhooks": webhooks,
    })
}

/// A validation webhook named `name`; `object_selector` limits it to a revision.
fn validator(o: &Overlay, name: &str, object_selector: Option<Value>) -> Value {
    let mut w = json!({
        "name": name,
        "clientConfig": client(o, "/validate"),
        "rules": [{
            "operations": ["CREATE", "UPDATE"],
            "apiGroups": ["security.istio.io", "networking.istio.io", "telemetry.istio.io", "extensions.istio.io"],
            "apiVersions": ["*"],
            "resources": ["*"],
        }],
        "failurePolicy": "Ignore",
        "sideEffects": "None",
        "admissionReviewVersions": ["v1"],
    });
    if let Some(s) = object_selector {
        w["objectSelector"] = s;
    }
    w
}

fn validating(o: &Overlay, name: &str, webhook: Value) -> Value {
    json!({
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingWebhookConfiguration",
        "metadata": metadata(o, name, None, Component::Pilot,
                             json!({"app": "istiod", "istio": "istiod"})),
        "webhooks": [webhook],
    })
}

/// The webhook configurations of this line.
pub fn render(o: &Overlay) -> Vec<Value> {
    let selector =
        json!({"matchExpressions": [expression("istio.io/rev", "In", &[o.rev_label()])]});
    let mut out = vec![
        mutating(o),
        validating(
            o,
            &format!("{}-{NAMESPACE}", o.suffixed("istio-validator")),
            validator(o, "rev.validation.istio.io", Some(selector)),
        ),
    ];
    if o.line == Line::V1_30 {
        out.push(validating(
            o,
            "istiod-default-validator",
            validator(o, "validation.istio.io", None),
        ));
    }
    out
}

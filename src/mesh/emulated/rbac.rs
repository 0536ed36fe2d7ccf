//! istiod's identity and permissions: its ServiceAccount, a ClusterRole and
//! ClusterRoleBinding (`istiod-clusterrole[-<rev>]-istio-system`) to read
//! the cluster and manage its webhooks, and a Role and RoleBinding in
//! `istio-system` for its CA secret and leases.

use serde_json::{json, Value};

use super::labels::{metadata, Component};
use super::overlay::{Overlay, NAMESPACE};

/// Istio's configuration groups.
const ISTIO_GROUPS: &[&str] = &[
    "config.istio.io",
    "security.istio.io",
    "networking.istio.io",
    "authentication.istio.io",
    "rbac.istio.io",
    "telemetry.istio.io",
    "extensions.istio.io",
];

const READ: &[&str] = &["get", "list", "watch"];

fn rule(groups: &[&str], resources: &[&str], verbs: &[&str]) -> Value {
    json!({"apiGroups": groups, "resources": resources, "verbs": verbs})
}

/// What istiod may do cluster-wide.
fn cluster_rules() -> Vec<Value> {
    vec![
        rule(
            &["admissionregistration.k8s.io"],
            &[
                "mutatingwebhookconfigurations",
                "validatingwebhookconfigurations",
            ],
            &["get", "list", "watch", "update", "patch"],
        ),
        rule(ISTIO_GROUPS, &["*"], READ),
        rule(
            &["networking.istio.io"],
            &[
                "workloadentries",
                "workloadentries/status",
                "serviceentries/status",
            ],
            &[
                "get", "list", "watch", "update", "patch", "create", "delete",
            ],
        ),
        rule(
            &[""],
            &[
                "pods",
                "nodes",
                "services",
                "namespaces",
                "endpoints",
                "secrets",
                "configmaps",
            ],
            READ,
        ),
        rule(&["discovery.k8s.io"], &["endpointslices"], READ),
        rule(
            &["apiextensions.k8s.io"],
            &["customresourcedefinitions"],
            READ,
        ),
        rule(&["authentication.k8s.io"], &["tokenreviews"], &["create"]),
        rule(
            &["authorization.k8s.io"],
            &["subjectaccessreviews"],
            &["create"],
        ),
        rule(
            &["networking.k8s.io"],
            &["ingresses", "ingressclasses"],
            READ,
        ),
        rule(
            &["gateway.networking.k8s.io"],
            &["*"],
            &["get", "list", "watch", "update", "patch"],
        ),
    ]
}

/// What istiod may do in `istio-system`.
fn namespace_rules() -> Vec<Value> {
    vec![
        rule(&["networking.istio.io"], &["gateways"], &["create"]),
        rule(
            &[""],
            &["secrets"],
            &["create", "get", "watch", "list", "update", "delete"],
        ),
        rule(&[""], &["configmaps"], &["delete"]),
        rule(
            &["coordination.k8s.io"],
            &["leases"],
            &["get", "update", "patch", "create"],
        ),
    ]
}

/// ServiceAccount, ClusterRole, ClusterRoleBinding, Role, RoleBinding.
pub fn render(o: &Overlay) -> Vec<Value> {
    let sa = o.istiod();
    let app = json!({"app": "istiod"});
    let subject = json!([{"kind": "ServiceAccount", "name": sa, "namespace": NAMESPACE}]);
    let cluster_role = format!("{}-{NAMESPACE}", o.suffixed("istiod-clusterrole"));
    let meta = |name: &str, ns: Option<&str>| metadata(o, name, ns, Component::Pilot, app.clone());
    vec![
        json!({
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole",
            "metadata": meta(&cluster_role, None),
            "rules": cluster_rules(),
        }),
        json!({
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": meta(&cluster_role, None),
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": cluster_role},
            "subjects": subject,
        }),
        json!({
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": meta(&sa, Some(NAMESPACE)),
        }),
        json!({
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "Role",
            "metadata": meta(&sa, Some(NAMESPACE)),
            "rules": namespace_rules(),
        }),
        json!({
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": meta(&sa, Some(NAMESPACE)),
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": sa},
            "subjects": subject,
        }),
    ]
}

//! The built-in resource table: which kinds the emulated API server serves,
//! under which group, version and plural, and how discovery describes them.

/// One served resource (a built-in kind, or a version of a custom resource).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceType {
    /// API group; `""` for the core group.
    pub group: String,
    /// Version, e.g. `v1`.
    pub version: String,
    /// Plural name used in paths, e.g. `configmaps`.
    pub plural: String,
    /// Singular name, e.g. `configmap`.
    pub singular: String,
    /// Kind, e.g. `ConfigMap`.
    pub kind: String,
    /// Whether objects live in a namespace.
    pub namespaced: bool,
    /// Short names for kubectl, e.g. `cm`.
    pub short_names: Vec<String>,
    /// Whether `status` is a subresource (the main resource then ignores
    /// `status` in writes, and the server owns it).
    pub status_subresource: bool,
}

impl ResourceType {
    /// `group/version`, or just `version` for the core group.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// The store key prefix of this resource: objects of every version of a
    /// resource share one key space.
    pub fn store_prefix(&self) -> String {
        format!("{}/{}", self.group, self.plural)
    }
}

/// Verbs every served resource supports.
pub const VERBS: &[&str] = &[
    "create",
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "update",
    "watch",
];

/// `(group, version, plural, singular, kind, namespaced, short names, status subresource)`
type Row = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    bool,
    &'static [&'static str],
    bool,
);

const BUILT_IN: &[Row] = &[
    (
        "",
        "v1",
        "namespaces",
        "namespace",
        "Namespace",
        false,
        &["ns"],
        true,
    ),
    ("", "v1", "secrets", "secret", "Secret", true, &[], false),
    (
        "",
        "v1",
        "configmaps",
        "configmap",
        "ConfigMap",
        true,
        &["cm"],
        false,
    ),
    (
        "",
        "v1",
        "serviceaccounts",
        "serviceaccount",
        "ServiceAccount",
        true,
        &["sa"],
        false,
    ),
    (
        "",
        "v1",
        "services",
        "service",
        "Service",
        true,
        &["svc"],
        true,
    ),
    (
        "",
        "v1",
        "endpoints",
        "endpoints",
        "Endpoints",
        true,
        &["ep"],
        false,
    ),
    ("", "v1", "pods", "pod", "Pod", true, &["po"], true),
    ("", "v1", "events", "event", "Event", true, &["ev"], false),
    (
        "apps",
        "v1",
        "deployments",
        "deployment",
        "Deployment",
        true,
        &["deploy"],
        true,
    ),
    (
        "rbac.authorization.k8s.io",
        "v1",
        "clusterroles",
        "clusterrole",
        "ClusterRole",
        false,
        &[],
        false,
    ),
    (
        "rbac.authorization.k8s.io",
        "v1",
        "clusterrolebindings",
        "clusterrolebinding",
        "ClusterRoleBinding",
        false,
        &[],
        false,
    ),
    (
        "rbac.authorization.k8s.io",
        "v1",
        "roles",
        "role",
        "Role",
        true,
        &[],
        false,
    ),
    (
        "rbac.authorization.k8s.io",
        "v1",
        "rolebindings",
        "rolebinding",
        "RoleBinding",
        true,
        &[],
        false,
    ),
    (
        "apiextensions.k8s.io",
        "v1",
        "customresourcedefinitions",
        "customresourcedefinition",
        "CustomResourceDefinition",
        false,
        &["crd", "crds"],
        true,
    ),
    (
        "admissionregistration.k8s.io",
        "v1",
        "mutatingwebhookconfigurations",
        "mutatingwebhookconfiguration",
        "MutatingWebhookConfiguration",
        false,
        &[],
        false,
    ),
    (
        "admissionregistration.k8s.io",
        "v1",
        "validatingwebhookconfigurations",
        "validatingwebhookconfiguration",
        "ValidatingWebhookConfiguration",
        false,
        &[],
        false,
    ),
];

/// The built-in resources, in discovery order.
pub fn built_in() -> Vec<ResourceType> {
    BUILT_IN
        .iter()
        .map(
            |(group, version, plural, singular, kind, namespaced, short, status)| ResourceType {
                group: group.to_string(),
                version: version.to_string(),
                plural: plural.to_string(),
                singular: singular.to_string(),
                kind: kind.to_string(),
                namespaced: *namespaced,
                short_names: short.iter().map(|s| s.to_string()).collect(),
                status_subresource: *status,
            },
        )
        .collect()
}

/// Finds `plural` in `group/version` among `types`.
pub fn find<'a>(
    types: &'a [ResourceType],
    group: &str,
    version: &str,
    plural: &str,
) -> Option<&'a ResourceType> {
    types
        .iter()
        .find(|t| t.group == group && t.version == version && t.plural == plural)
}

/// The distinct `(group, versions)` pairs of `types`, core group excluded,
/// in first-seen order.
pub fn groups(types: &[ResourceType]) -> Vec<(String, Vec<String>)> {
    let mut out: Vec<(String, Vec<String>)> = Vec::new();
    for t in types.iter().filter(|t| !t.group.is_empty()) {
        match out.iter_mut().find(|(g, _)| *g == t.group) {
            Some((_, versions)) => {
                if !versions.contains(&t.version) {
                    versions.push(t.version.clone());
                }
            }
            None => out.push((t.group.clone(), vec![t.version.clone()])),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_in_table_has_core_and_groups() {
        let types = built_in();
        let cm = find(&types, "", "v1", "configmaps").expect("configmaps");
        assert_eq!(cm.api_version(), "v1");
        assert!(cm.namespaced);
        let deploy = find(&types, "apps", "v1", "deployments").expect("deployments");
        assert_eq!(deploy.api_version(), "apps/v1");
        let names: Vec<_> = groups(&types).into_iter().map(|(g, _)| g).collect();
        assert!(names.contains(&"rbac.authorization.k8s.io".to_string()));
        assert!(!names.contains(&String::new()));
    }
}

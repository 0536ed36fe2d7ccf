//! Parsing of resource paths: `/api/v1/...` and `/apis/{group}/{version}/...`.

/// What a request path addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// `/api/v1` or `/apis/{group}/{version}`: the resource list.
    GroupVersion {
        /// Group (`""` for core).
        group: String,
        /// Version.
        version: String,
    },
    /// A collection or an object.
    Resource(Target),
    /// A deprecated `/watch/` path: a watch of what follows it.
    Watch(Target),
}

/// A collection (`name` is `None`) or an object, maybe a subresource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// Group (`""` for core).
    pub group: String,
    /// Version.
    pub version: String,
    /// Plural resource name.
    pub plural: String,
    /// Namespace from the path.
    pub namespace: Option<String>,
    /// Object name.
    pub name: Option<String>,
    /// Subresource, e.g. `status`.
    pub subresource: Option<String>,
}

/// Parses `path`; `None` when it is not a resource path.
pub fn parse(path: &str) -> Option<Route> {
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    let (group, version, rest) = match parts.as_slice() {
        ["api", version, rest @ ..] => ("", *version, rest),
        ["apis", group, version, rest @ ..] => (*group, *version, rest),
        _ => return None,
    };
    let (group, version) = (group.to_string(), version.to_string());
    if rest.is_empty() {
        return Some(Route::GroupVersion { group, version });
    }
    if rest[0] == "watch" {
        let prefix = if group.is_empty() {
            format!("/api/{version}")
        } else {
            format!("/apis/{group}/{version}")
        };
        return match parse(&format!("{prefix}/{}", rest[1..].join("/"))) {
            Some(Route::Resource(t)) => Some(Route::Watch(t)),
            _ => None,
        };
    }
    let owned = |s: Option<&&str>| s.map(|s| s.to_string());
    let namespaced =
        rest[0] == "namespaces" && rest.len() >= 3 && !matches!(rest[2], "status" | "finalize");
    let (namespace, rest) = if namespaced {
        (Some(rest[1].to_string()), &rest[2..])
    } else {
        (None, rest)
    };
    if rest.len() > 3 || rest.iter().any(|s| s.is_empty()) {
        return None;
    }
    Some(Route::Resource(Target {
        group,
        version,
        plural: rest[0].to_string(),
        namespace,
        name: owned(rest.get(1)),
        subresource: owned(rest.get(2)),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(path: &str) -> Target {
        match parse(path) {
            Some(Route::Resource(t)) => t,
            other => panic!("{path}: {other:?}"),
        }
    }

    #[test]
    fn parses_core_group_namespaced_and_subresources() {
        let t = target("/api/v1/namespaces/demo/configmaps/c");
        assert_eq!(
            (
                t.group.as_str(),
                t.plural.as_str(),
                t.namespace.as_deref(),
                t.name.as_deref()
            ),
            ("", "configmaps", Some("demo"), Some("c"))
        );
        let t = target("/api/v1/namespaces/demo");
        assert_eq!(
            (t.plural.as_str(), t.name.as_deref()),
            ("namespaces", Some("demo"))
        );
        let t = target("/api/v1/namespaces/demo/status");
        assert_eq!(t.subresource.as_deref(), Some("status"));
        assert_eq!(t.namespace, None);
        let t = target("/apis/apps/v1/namespaces/x/deployments/web/status");
        assert_eq!(t.subresource.as_deref(), Some("status"));
        let t = target("/apis/rbac.authorization.k8s.io/v1/clusterroles");
        assert_eq!(t.name, None);
        assert_eq!(
            parse("/apis/apps/v1"),
            Some(Route::GroupVersion {
                group: "apps".into(),
                version: "v1".into()
            })
        );
        assert!(matches!(
            parse("/api/v1/watch/namespaces"),
            Some(Route::Watch(Target { name: None, .. }))
        ));
        assert_eq!(parse("/healthz"), None);
    }
}

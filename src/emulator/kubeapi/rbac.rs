//! RBAC authorization of service-account requests, as the API server's
//! RBAC authorizer decides (kubernetes/kubernetes
//! `plugin/pkg/auth/authorizer/rbac/rbac.go`, `rbac/v1/evaluation_helpers.go`):
//! a request is allowed when a rule of a role bound to the user allows it.
//!
//! - Bindings: every ClusterRoleBinding (to a ClusterRole), then the
//!   RoleBindings of the request's namespace (to a Role of that namespace
//!   or a ClusterRole). Subjects: `User` (by name), `Group` (by the user's
//!   groups), `ServiceAccount` (namespace defaulting to the binding's).
//! - Rules: `verbs` (`*`), `apiGroups` (`*`), `resources` (`*`,
//!   `resource/subresource`, `*/subresource`), `resourceNames` (an empty
//!   list allows every name; a non-empty one never matches a collection),
//!   `nonResourceURLs` (`*`, exact, or a `prefix*`).
//! - Every authenticated user also has what a real cluster's bootstrap
//!   roles `system:discovery`, `system:basic-user` and
//!   `system:public-info-viewer` grant: discovery and health paths, and
//!   creating self-subject access, rules and user reviews. They are not
//!   stored as objects.
//! - A binding whose role is missing is skipped; the refusal then says
//!   why (`RBAC: clusterrole.rbac.authorization.k8s.io "x" not found`).

use std::sync::LazyLock;

use serde_json::{json, Value};

use super::auth::User;
use super::request_info::{Attributes, ResourceAttributes};
use super::sa_token::username;
use super::status::Failure;
use super::store::{key, Store};

/// The RBAC API group.
const GROUP: &str = "rbac.authorization.k8s.io";

/// Rules every authenticated user has (the bootstrap cluster roles bound to
/// `system:authenticated`).
static EVERYONE: LazyLock<Vec<Value>> = LazyLock::new(|| {
    vec![
        json!({"verbs": ["get"], "nonResourceURLs": [
            "/api", "/api/*", "/apis", "/apis/*", "/healthz", "/livez", "/openapi",
            "/openapi/*", "/readyz", "/version", "/version/"]}),
        json!({"verbs": ["create"], "apiGroups": ["authorization.k8s.io"],
               "resources": ["selfsubjectaccessreviews", "selfsubjectrulesreviews"]}),
        json!({"verbs": ["create"], "apiGroups": ["authentication.k8s.io"],
               "resources": ["selfsubjectreviews"]}),
    ]
});

fn strings<'a>(rule: &'a Value, field: &str) -> Vec<&'a str> {
    rule[field]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect()
}

fn resource_matches(rule_resources: &[&str], r: &ResourceAttributes) -> bool {
    let combined = r.combined();
    rule_resources.iter().any(|rr| {
        *rr == "*"
            || *rr == combined
            || (!r.subresource.is_empty() && rr.strip_prefix("*/") == Some(r.subresource.as_str()))
    })
}

/// Whether one RBAC `rule` allows `attrs`.
pub fn rule_allows(rule: &Value, attrs: &Attributes) -> bool {
    let has =
        |field: &str, want: &str| strings(rule, field).iter().any(|v| *v == "*" || *v == want);
    if !has("verbs", &attrs.verb) {
        return false;
    }
    match &attrs.resource {
        Some(r) => {
            let names = strings(rule, "resourceNames");
            has("apiGroups", &r.group)
                && resource_matches(&strings(rule, "resources"), r)
                && (names.is_empty() || names.contains(&r.name.as_str()))
        }
        None => strings(rule, "nonResourceURLs").iter().any(|url| {
            *url == "*"
                || *url == attrs.path
                || url
                    .strip_suffix('*')
                    .is_some_and(|prefix| attrs.path.starts_with(prefix))
        }),
    }
}

/// Whether `subject` of a binding in `binding_namespace` (empty for a
/// ClusterRoleBinding) is `user`.
fn subject_is(subject: &Value, user: &User, binding_namespace: &str) -> bool {
    let name = subject["name"].as_str().unwrap_or("");
    match subject["kind"].as_str() {
        Some("User") => user.name == name,
        Some("Group") => user.groups.iter().any(|g| g == name),
        Some("ServiceAccount") => {
            let namespace = subject["namespace"]
                .as_str()
                .filter(|ns| !ns.is_empty())
                .unwrap_or(binding_namespace);
            !namespace.is_empty() && user.name == username(namespace, name)
        }
        _ => false,
    }
}

/// The rules of the role `role_ref` of a binding in `namespace`.
fn role_rules<'a>(
    store: &'a Store,
    role_ref: &Value,
    namespace: &str,
) -> Result<&'a [Value], String> {
    let name = role_ref["name"].as_str().unwrap_or("");
    let (plural, singular, ns) = match role_ref["kind"].as_str() {
        Some("Role") if !namespace.is_empty() => ("roles", "role", Some(namespace)),
        Some("ClusterRole") => ("clusterroles", "clusterrole", None),
        other => {
            return Err(format!(
                "unsupported role reference kind: {:?}",
                other.unwrap_or("")
            ))
        }
    };
    store
        .get(&key(&format!("{GROUP}/{plural}"), ns, name))
        .map(|e| e.object["rules"].as_array().map_or(&[][..], Vec::as_slice))
        .ok_or_else(|| format!("{singular}.{GROUP} \"{name}\" not found"))
}

/// Whether `user` may do `attrs` in the cluster of `store`.
///
/// # Errors
/// The refusal's reason: empty, or `RBAC: …` naming roles that bindings
/// of the user refer to but that do not exist.
pub fn authorize(store: &Store, user: &User, attrs: &Attributes) -> Result<(), String> {
    if EVERYONE.iter().any(|r| rule_allows(r, attrs)) {
        return Ok(());
    }
    let namespace = attrs.resource.as_ref().map_or("", |r| r.namespace.as_str());
    let cluster_bindings = store.list(&format!("{GROUP}/clusterrolebindings"), None);
    let bindings = if namespace.is_empty() {
        Vec::new()
    } else {
        store.list(&format!("{GROUP}/rolebindings"), Some(namespace))
    };
    let scoped = cluster_bindings
        .into_iter()
        .map(|b| (b, ""))
        .chain(bindings.into_iter().map(|b| (b, namespace)));
    let mut errors = Vec::new();
    for (binding, ns) in scoped {
        let binding = &binding.object;
        let bound = binding["subjects"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|s| subject_is(s, user, ns));
        if !bound {
            continue;
        }
        match role_rules(store, &binding["roleRef"], ns) {
            Ok(rules) if rules.iter().any(|r| rule_allows(r, attrs)) => return Ok(()),
            Ok(_) => {}
            Err(e) => errors.push(e),
        }
    }
    Err(match errors.as_slice() {
        [] => String::new(),
        [one] => format!("RBAC: {one}"),
        many => format!("RBAC: [{}]", many.join(", ")),
    })
}

/// The 403 the API server answers a refused request with:
/// `services is forbidden: User "…" cannot create resource "services" in
/// API group "" in the namespace "default"` (`… at the cluster scope`;
/// `forbidden: User "…" cannot get path "/x"`), then `: reason` if any.
pub fn forbidden(user: &User, attrs: &Attributes, reason: &str) -> Failure {
    let who = &user.name;
    let verb = &attrs.verb;
    let why = match &attrs.resource {
        None => format!("User {who:?} cannot {verb} path {:?}", attrs.path),
        Some(r) => {
            let scope = if r.namespace.is_empty() {
                "at the cluster scope".to_string()
            } else {
                format!("in the namespace {:?}", r.namespace)
            };
            format!(
                "User {who:?} cannot {verb} resource {:?} in API group {:?} {scope}",
                r.combined(),
                r.group
            )
        }
    };
    let why = if reason.is_empty() {
        why
    } else {
        format!("{why}: {reason}")
    };
    match &attrs.resource {
        None => Failure::denied("", "", "", &why),
        Some(r) => Failure::denied(&r.group, &r.resource, &r.name, &why),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::Method;
    use std::collections::HashMap;

    use super::super::request_info::attributes;

    const READER: &str = "istio-reader-service-account";

    fn reader() -> User {
        User::service_account("istio-system", READER, "u-1")
    }

    fn request(method: Method, path: &str) -> Attributes {
        attributes(&method, path, &HashMap::new())
    }

    fn put(store: &mut Store, plural: &str, ns: Option<&str>, object: Value) {
        let name = object["metadata"]["name"].as_str().unwrap().to_string();
        store.insert_created(key(&format!("{GROUP}/{plural}"), ns, &name), object, 0);
    }

    /// The reader's ClusterRole (a part of Istio's) and its binding.
    fn istio_reader() -> Store {
        let mut store = Store::default();
        put(
            &mut store,
            "clusterroles",
            None,
            json!({"metadata": {"name": "istio-reader-clusterrole-istio-system"}, "rules": [
                {"apiGroups": ["config.istio.io", "networking.istio.io"], "resources": ["*"],
                 "verbs": ["get", "list", "watch"]},
                {"apiGroups": [""], "resources": ["endpoints", "pods", "services", "nodes",
                  "replicationcontrollers", "namespaces", "secrets", "configmaps"],
                 "verbs": ["get", "list", "watch"]},
                {"apiGroups": ["authentication.k8s.io"], "resources": ["tokenreviews"],
                 "verbs": ["create"]}]}),
        );
        put(
            &mut store,
            "clusterrolebindings",
            None,
            json!({"metadata": {"name": "istio-reader-clusterrole-istio-system"},
                   "roleRef": {"apiGroup": GROUP, "kind": "ClusterRole",
                               "name": "istio-reader-clusterrole-istio-system"},
                   "subjects": [{"kind": "ServiceAccount", "name": READER,
                                 "namespace": "istio-system"}]}),
        );
        store
    }

    #[test]
    fn the_istio_reader_reads_but_does_not_write() {
        let store = istio_reader();
        let ok = |m: Method, p: &str| authorize(&store, &reader(), &request(m, p)).is_ok();
        assert!(ok(Method::GET, "/api/v1/services"));
        assert!(ok(Method::GET, "/api/v1/namespaces/default/services/web"));
        assert!(ok(Method::GET, "/api/v1/nodes"));
        assert!(ok(
            Method::GET,
            "/apis/networking.istio.io/v1/namespaces/x/gateways"
        ));
        assert!(ok(
            Method::POST,
            "/apis/authentication.k8s.io/v1/tokenreviews"
        ));
        assert!(!ok(Method::POST, "/api/v1/namespaces/default/services"));
        assert!(!ok(Method::DELETE, "/api/v1/namespaces/default/secrets/s"));
        assert!(!ok(Method::GET, "/apis/apps/v1/deployments"));
        assert!(!ok(
            Method::GET,
            "/api/v1/namespaces/default/services/web/status"
        ));
        let other = User::service_account("default", "default", "u-2");
        assert!(authorize(&store, &other, &request(Method::GET, "/api/v1/services")).is_err());
    }

    #[test]
    fn discovery_and_self_reviews_are_everyones() {
        let store = Store::default();
        let user = reader();
        for path in [
            "/api",
            "/api/v1",
            "/apis",
            "/apis/apps/v1",
            "/version",
            "/openapi/v3",
        ] {
            assert!(
                authorize(&store, &user, &request(Method::GET, path)).is_ok(),
                "{path}"
            );
        }
        let ssar = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews";
        assert!(authorize(&store, &user, &request(Method::POST, ssar)).is_ok());
        assert!(authorize(&store, &user, &request(Method::GET, "/metrics")).is_err());
    }

    #[test]
    fn role_bindings_grant_in_their_namespace_to_groups_and_names() {
        let mut store = Store::default();
        put(
            &mut store,
            "roles",
            Some("demo"),
            json!({"metadata": {"name": "cm-editor", "namespace": "demo"}, "rules": [
                {"apiGroups": [""], "resources": ["configmaps"], "resourceNames": ["only"],
                 "verbs": ["*"]},
                {"apiGroups": ["*"], "resources": ["*/status"], "verbs": ["patch"]}]}),
        );
        put(
            &mut store,
            "rolebindings",
            Some("demo"),
            json!({"metadata": {"name": "b", "namespace": "demo"},
                   "roleRef": {"apiGroup": GROUP, "kind": "Role", "name": "cm-editor"},
                   "subjects": [{"kind": "Group", "name": "system:serviceaccounts:istio-system"}]}),
        );
        let user = reader();
        let ok = |m: Method, p: &str| authorize(&store, &user, &request(m, p)).is_ok();
        assert!(ok(Method::PUT, "/api/v1/namespaces/demo/configmaps/only"));
        assert!(!ok(Method::PUT, "/api/v1/namespaces/demo/configmaps/other"));
        assert!(
            !ok(Method::GET, "/api/v1/namespaces/demo/configmaps"),
            "a list has no name"
        );
        assert!(!ok(Method::PUT, "/api/v1/namespaces/prod/configmaps/only"));
        assert!(ok(
            Method::PATCH,
            "/apis/apps/v1/namespaces/demo/deployments/d/status"
        ));
        assert!(!ok(
            Method::PATCH,
            "/apis/apps/v1/namespaces/demo/deployments/d"
        ));
    }

    #[test]
    fn subjects_match_by_kind() {
        let user = reader();
        let sa =
            |ns: Option<&str>| json!({"kind": "ServiceAccount", "name": READER, "namespace": ns});
        assert!(subject_is(&sa(None), &user, "istio-system"));
        assert!(!subject_is(&sa(None), &user, ""));
        assert!(!subject_is(&sa(Some("other")), &user, "istio-system"));
        let by_name = json!({"kind": "User", "name": user.name});
        assert!(subject_is(&by_name, &user, ""));
        assert!(subject_is(
            &json!({"kind": "Group", "name": "system:authenticated"}),
            &user,
            ""
        ));
        assert!(!subject_is(
            &json!({"kind": "Group", "name": "system:masters"}),
            &user,
            ""
        ));
    }

    #[test]
    fn refusals_word_the_request_as_the_api_server_does() {
        let mut store = Store::default();
        let create = request(Method::POST, "/api/v1/namespaces/default/services");
        let f = forbidden(
            &reader(),
            &create,
            &authorize(&store, &reader(), &create).unwrap_err(),
        );
        assert_eq!(f.code, 403);
        assert_eq!(
            f.message,
            "services is forbidden: User \"system:serviceaccount:istio-system:istio-reader-service-account\" cannot create resource \"services\" in API group \"\" in the namespace \"default\""
        );
        assert_eq!(f.body()["details"], json!({"kind": "services"}));
        let nodes = request(Method::GET, "/api/v1/nodes/n1");
        let f = forbidden(&reader(), &nodes, "");
        assert!(f.message.starts_with("nodes \"n1\" is forbidden: User"));
        assert!(f
            .message
            .ends_with(" cannot get resource \"nodes\" in API group \"\" at the cluster scope"));
        assert_eq!(f.body()["details"], json!({"kind": "nodes", "name": "n1"}));
        let path = forbidden(&reader(), &request(Method::GET, "/metrics"), "");
        assert_eq!(
            path.message,
            "forbidden: User \"system:serviceaccount:istio-system:istio-reader-service-account\" cannot get path \"/metrics\""
        );
        put(
            &mut store,
            "clusterrolebindings",
            None,
            json!({"metadata": {"name": "dangling"},
                   "roleRef": {"apiGroup": GROUP, "kind": "ClusterRole", "name": "gone"},
                   "subjects": [{"kind": "Group", "name": "system:serviceaccounts"}]}),
        );
        assert_eq!(
            authorize(&store, &reader(), &create),
            Err("RBAC: clusterrole.rbac.authorization.k8s.io \"gone\" not found".into())
        );
    }
}

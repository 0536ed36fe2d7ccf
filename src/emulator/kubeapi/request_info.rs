//! What a request asks to do, in authorization's terms: a verb on a
//! resource, or a verb on a non-resource path, as the API server's
//! `RequestInfoFactory` derives it (k8s.io/apiserver
//! `pkg/endpoints/request/requestinfo.go`):
//!
//! - `POST` → `create`, `GET`/`HEAD` → `get`, `PUT` → `update`, `PATCH`
//!   → `patch` (server-side apply too), `DELETE` → `delete`;
//! - a `/watch/` path → `watch`;
//! - `get` without a name → `list`, or `watch` with `?watch=true`; its
//!   `fieldSelector=metadata.name=X` names the object (`resourceNames`);
//! - `delete` without a name → `deletecollection`;
//! - `/api/v1/namespaces/NAME` is in the namespace `NAME`.
//!
//! Discovery (`/api`, `/apis`, `/apis/GROUP[/VERSION]`, `/version`,
//! `/openapi/...`) and health paths are non-resource requests. A named
//! `GET ?watch=true` stays `get`, as in the API server.

use std::collections::HashMap;

use axum::http::Method;

use super::paths::{self, Route};
use super::query;

/// One request as authorization sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attributes {
    /// `get`, `list`, `watch`, `create`, `update`, `patch`, `delete`,
    /// `deletecollection` (empty for other methods).
    pub verb: String,
    /// The request path.
    pub path: String,
    /// The resource addressed; `None` for a non-resource request.
    pub resource: Option<ResourceAttributes>,
}

/// The resource part of [`Attributes`] (empty strings for what is absent).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResourceAttributes {
    /// API group; empty for the core group.
    pub group: String,
    /// API version.
    pub version: String,
    /// Plural resource name.
    pub resource: String,
    /// Subresource, e.g. `status`.
    pub subresource: String,
    /// Namespace; empty at the cluster scope.
    pub namespace: String,
    /// Object name; empty for a collection.
    pub name: String,
}

impl ResourceAttributes {
    /// `resource` or `resource/subresource`, as RBAC rules name it.
    pub fn combined(&self) -> String {
        if self.subresource.is_empty() {
            self.resource.clone()
        } else {
            format!("{}/{}", self.resource, self.subresource)
        }
    }
}

fn method_verb(method: &Method) -> &'static str {
    match *method {
        Method::GET | Method::HEAD => "get",
        Method::POST => "create",
        Method::PUT => "update",
        Method::PATCH => "patch",
        Method::DELETE => "delete",
        _ => "",
    }
}

/// The name a field selector requires exactly (`metadata.name=X` or
/// `metadata.name==X`), when it is a valid path segment.
fn selected_name(selector: &str) -> Option<String> {
    selector.split(',').find_map(|term| {
        let term = term.trim();
        let value = term
            .strip_prefix("metadata.name==")
            .or_else(|| term.strip_prefix("metadata.name="))?;
        let valid =
            !value.is_empty() && value != "." && value != ".." && !value.contains(['/', '%']);
        valid.then(|| value.to_string())
    })
}

/// The attributes of a request with `method` on `path` and `query`.
pub fn attributes(method: &Method, path: &str, query: &HashMap<String, String>) -> Attributes {
    let verb = method_verb(method);
    let (target, watch_path) = match paths::parse(path.trim_end_matches('/')) {
        Some(Route::Resource(t)) => (t, false),
        Some(Route::Watch(t)) => (t, true),
        Some(Route::GroupVersion { .. }) | None => {
            return Attributes {
                verb: verb.into(),
                path: path.into(),
                resource: None,
            }
        }
    };
    let mut verb = if watch_path { "watch" } else { verb };
    let mut name = target.name.clone().unwrap_or_default();
    if name.is_empty() && verb == "get" {
        verb = if query::flag(query, "watch") {
            "watch"
        } else {
            "list"
        };
        if let Some(selected) = query.get("fieldSelector").and_then(|s| selected_name(s)) {
            name = selected;
        }
    }
    if name.is_empty() && verb == "delete" {
        verb = "deletecollection";
    }
    let namespace = match (&target.namespace, &target.name) {
        (Some(ns), _) => ns.clone(),
        (None, Some(n)) if target.group.is_empty() && target.plural == "namespaces" => n.clone(),
        _ => String::new(),
    };
    Attributes {
        verb: verb.into(),
        path: path.into(),
        resource: Some(ResourceAttributes {
            group: target.group,
            version: target.version,
            resource: target.plural,
            subresource: target.subresource.unwrap_or_default(),
            namespace,
            name,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn of(method: Method, path_and_query: &str) -> Attributes {
        let (path, q) = path_and_query
            .split_once('?')
            .unwrap_or((path_and_query, ""));
        let query: HashMap<String, String> = q
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|p| {
                let (k, v) = p.split_once('=').unwrap_or((p, ""));
                (k.to_string(), v.to_string())
            })
            .collect();
        attributes(&method, path, &query)
    }

    fn verb(method: Method, path: &str) -> String {
        of(method, path).verb
    }

    #[test]
    fn methods_map_to_verbs_as_the_api_server_maps_them() {
        let one = "/api/v1/namespaces/default/services/web";
        let all = "/api/v1/namespaces/default/services";
        assert_eq!(verb(Method::GET, one), "get");
        assert_eq!(verb(Method::HEAD, one), "get");
        assert_eq!(verb(Method::GET, all), "list");
        assert_eq!(verb(Method::GET, "/api/v1/services"), "list");
        assert_eq!(verb(Method::GET, &format!("{all}?watch=true")), "watch");
        assert_eq!(verb(Method::GET, &format!("{all}?watch=1")), "watch");
        assert_eq!(verb(Method::GET, &format!("{all}?watch=false")), "list");
        assert_eq!(
            verb(Method::GET, "/api/v1/watch/namespaces/default/services"),
            "watch"
        );
        assert_eq!(verb(Method::GET, &format!("{one}?watch=true")), "get");
        assert_eq!(verb(Method::POST, all), "create");
        assert_eq!(verb(Method::PUT, one), "update");
        assert_eq!(verb(Method::PATCH, one), "patch");
        assert_eq!(verb(Method::DELETE, one), "delete");
        assert_eq!(verb(Method::DELETE, all), "deletecollection");
        assert_eq!(verb(Method::OPTIONS, one), "");
    }

    #[test]
    fn resources_namespaces_and_names_come_from_the_path() {
        let a = of(
            Method::PUT,
            "/apis/apps/v1/namespaces/istio-system/deployments/istiod/status",
        );
        let r = a.resource.unwrap();
        assert_eq!(
            (r.group.as_str(), r.version.as_str(), r.combined().as_str()),
            ("apps", "v1", "deployments/status")
        );
        assert_eq!(
            (r.namespace.as_str(), r.name.as_str()),
            ("istio-system", "istiod")
        );
        let ns = of(Method::GET, "/api/v1/namespaces/demo").resource.unwrap();
        assert_eq!(
            (
                ns.resource.as_str(),
                ns.namespace.as_str(),
                ns.name.as_str()
            ),
            ("namespaces", "demo", "demo")
        );
        let nodes = of(Method::GET, "/api/v1/nodes").resource.unwrap();
        assert_eq!((nodes.namespace.as_str(), nodes.name.as_str()), ("", ""));
    }

    #[test]
    fn a_field_selector_on_the_name_names_the_object_of_a_list() {
        let mut query = HashMap::new();
        query.insert("fieldSelector".to_string(), "metadata.name=x".to_string());
        let a = attributes(&Method::GET, "/api/v1/namespaces/d/secrets", &query);
        assert_eq!(
            (a.verb.as_str(), a.resource.unwrap().name.as_str()),
            ("list", "x")
        );
        assert_eq!(selected_name("a=b,metadata.name==y"), Some("y".into()));
        assert_eq!(selected_name("metadata.name!=y"), None);
        assert_eq!(selected_name("metadata.name=a/b"), None);
    }

    #[test]
    fn discovery_and_health_are_non_resource_requests() {
        for path in [
            "/api",
            "/api/v1",
            "/apis",
            "/apis/apps",
            "/apis/apps/v1",
            "/version",
            "/openapi/v3/apis/apps/v1",
            "/healthz",
        ] {
            let a = of(Method::GET, path);
            assert_eq!((a.verb.as_str(), a.resource), ("get", None), "{path}");
            assert_eq!(a.path, path);
        }
    }
}

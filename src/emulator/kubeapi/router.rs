//! The axum router of one cluster's API server: authentication first,
//! then authorization (RBAC, for service accounts only; before routing, so
//! a refused request gets 403 even for what does not exist, as from the
//! API server), then health, discovery, OpenAPI, reviews and object
//! requests.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use serde_json::Value;

use super::auth::{self, Identity};
use super::cluster::{all_types, Cluster};
use super::discovery;
use super::meta;
use super::objects::{self, ObjectRequest};
use super::paths::{self, Route, Target};
use super::query;
use super::rbac;
use super::request_info;
use super::reviews;
use super::status::{json_response, Failure};
use super::table;
use super::watch;

/// The router serving `cluster`.
pub fn router(cluster: Arc<Cluster>) -> Router {
    Router::new().fallback(handle).with_state(cluster)
}

async fn handle(
    State(cluster): State<Arc<Cluster>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    cluster
        .requests
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let path = uri.path().to_string();
    let span = tracing::debug_span!("kubeapi", address = %cluster.address, %method, %path);
    let _enter = span.enter();
    match respond(&cluster, &method, &uri, &headers, &body) {
        Ok(response) => response,
        Err(failure) => {
            tracing::debug!(
                code = failure.code,
                reason = failure.reason,
                "request failed"
            );
            failure.into_response()
        }
    }
}

fn respond(
    cluster: &Arc<Cluster>,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Response, Failure> {
    let identity = auth::authenticate(cluster, headers)?;
    if let Identity::Account(user) = &identity {
        let query: HashMap<String, String> = Query::try_from_uri(uri)
            .map(|Query(q)| q)
            .unwrap_or_default();
        let attrs = request_info::attributes(method, uri.path(), &query);
        let decision = rbac::authorize(&cluster.lock(), user, &attrs);
        if let Err(reason) = decision {
            return Err(rbac::forbidden(user, &attrs, &reason));
        }
    }
    let path = uri.path().trim_end_matches('/');
    let ok = |v: serde_json::Value| Ok(json_response(StatusCode::OK, &v));
    let read_only = |m: &Method| {
        if m == Method::GET {
            Ok(())
        } else {
            Err(Failure::method_not_allowed(format!(
                "{m} is not supported on {path}"
            )))
        }
    };
    match path {
        "/healthz" | "/readyz" | "/livez" => {
            return Ok(
                (StatusCode::OK, [(header::CONTENT_TYPE, "text/plain")], "ok").into_response(),
            )
        }
        "/version" => {
            read_only(method)?;
            return ok(discovery::version());
        }
        "/api" => {
            read_only(method)?;
            return ok(discovery::core_versions(&cluster.address));
        }
        _ => {}
    }
    let types = all_types(&cluster.lock());
    if path == "/apis" {
        read_only(method)?;
        return ok(discovery::group_list(&types));
    }
    if path == "/openapi/v3" {
        read_only(method)?;
        return ok(discovery::openapi_root(&types));
    }
    if let Some(gv) = path.strip_prefix("/openapi/v3/") {
        read_only(method)?;
        let parts: Vec<&str> = gv.split('/').collect();
        let (group, version) = match parts.as_slice() {
            ["api", v] => ("", *v),
            ["apis", g, v] => (*g, *v),
            _ => return Err(Failure::no_route(path)),
        };
        return ok(discovery::openapi_group_version(&types, group, version));
    }
    if let Some(group) = path.strip_prefix("/apis/").filter(|g| !g.contains('/')) {
        read_only(method)?;
        return discovery::group(&types, group)
            .map(|g| json_response(StatusCode::OK, &g))
            .ok_or_else(|| Failure::no_route(path));
    }
    match paths::parse(path) {
        Some(Route::GroupVersion { group, version }) => {
            read_only(method)?;
            discovery::resource_list(&types, &group, &version)
                .map(|l| json_response(StatusCode::OK, &l))
                .ok_or_else(|| Failure::no_route(path))
        }
        Some(Route::Resource(target)) if reviews::is_review(&target) => {
            let content_type = header_str(headers, header::CONTENT_TYPE);
            let content_type = content_type.split(';').next().unwrap_or("").trim();
            reviews::serve(cluster, &identity, method, &target, content_type, body)
        }
        Some(Route::Watch(target)) => resource(cluster, method, uri, headers, body, target, true),
        Some(Route::Resource(target)) => {
            resource(cluster, method, uri, headers, body, target, false)
        }
        None => Err(Failure::no_route(path)),
    }
}

fn header_str(headers: &HeaderMap, name: header::HeaderName) -> String {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string()
}

/// A request on a collection or object (`watch_path`: a `/watch/` path).
fn resource(
    cluster: &Arc<Cluster>,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
    target: Target,
    watch_path: bool,
) -> Result<Response, Failure> {
    let query: HashMap<String, String> = Query::try_from_uri(uri)
        .map(|Query(q)| q)
        .map_err(|e| Failure::bad_request(e.to_string()))?;
    let mut params = query::parse(&query)?;
    params.watch |= watch_path;
    let as_table = method == Method::GET && table::wanted(&header_str(headers, header::ACCEPT));
    let include = as_table.then(|| params.include_object.clone());
    if params.watch && method == Method::GET && target.subresource.is_none() {
        let rt = objects::resolve(&cluster.lock(), &target, method)?;
        return watch::serve(
            cluster.clone(),
            rt,
            target.namespace.clone(),
            target.name.clone(),
            &query,
            &params,
            include,
        );
    }
    let content_type = header_str(headers, header::CONTENT_TYPE);
    let content_type = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_string();
    let user_agent = header_str(headers, header::USER_AGENT);
    let request = ObjectRequest {
        method,
        target: &target,
        query: &query,
        content_type: &content_type,
        user_agent: &user_agent,
        body,
        params: &params,
    };
    let (code, mut value) = objects::handle(cluster, &request)?;
    if let Some(include) = include {
        let rt = objects::resolve(&cluster.lock(), &target, method)?;
        let rv = value["metadata"]["resourceVersion"]
            .as_str()
            .unwrap_or("")
            .to_string();
        let items = match value.get("items").and_then(Value::as_array) {
            Some(items) if target.name.is_none() => items.clone(),
            _ => vec![value.clone()],
        };
        value = table::table(&rt, &items, &include, &rv, meta::now_ms());
    }
    Ok(if params.pretty {
        pretty_response(code, &value)
    } else {
        json_response(code, &value)
    })
}

fn pretty_response(code: StatusCode, value: &Value) -> Response {
    let body = serde_json::to_vec_pretty(value).expect("serializable");
    (code, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

//! HTTP routing: `/compute/v1/…` (compute), `/batch/compute/v1` (compute
//! batches), `/v1/projects/*/services…` (Service Usage),
//! `/v1/projects/*/secrets…` (Secret Manager),
//! `/v1/projects/*/locations/global/…` (Network Management) and `/v1/…` (GKE)
//! matched against the discovery paths, Cloud Storage's `/storage/v1/…`,
//! `/upload/storage/v1/…` and `/download/storage/v1/…`, plus
//! `/_emulator/health` and `/_emulator/requests`.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Method};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use axum::{Json, Router};
use serde_json::Value;

use super::access::Api;
use super::batch;
use super::compute::{self, Env};
use super::container;
use super::errors::ApiError;
use super::networkmanagement;
use super::operations::{self, WAIT_CAP};
use super::query::FieldMask;
use super::schema;
use super::secretmanager;
use super::serviceusage;
use super::shared::Shared;
use super::storage;
use super::world::CANONICAL_BASE;

/// Rewrites canonical links to the URL of `shared`'s server.
fn localize(shared: &Shared, value: Value) -> Value {
    let base = format!("{}/compute/v1/", shared.base_url);
    rewrite(value, &base)
}

fn rewrite(value: Value, base: &str) -> Value {
    match value {
        Value::String(s) => match s.strip_prefix(CANONICAL_BASE) {
            Some(rest) => Value::String(format!("{base}{rest}")),
            None => Value::String(s),
        },
        Value::Array(a) => Value::Array(a.into_iter().map(|v| rewrite(v, base)).collect()),
        Value::Object(o) => {
            Value::Object(o.into_iter().map(|(k, v)| (k, rewrite(v, base))).collect())
        }
        other => other,
    }
}

/// The axum router of the emulator.
pub fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/_emulator/health", get(health))
        .route("/_emulator/requests", get(requests))
        .route("/compute/v1/{*rest}", any(compute_api))
        .route("/batch/compute/v1", any(compute_batch))
        .route("/v1/{*rest}", any(container_api))
        .route("/storage/v1/b", any(storage_api))
        .route("/storage/v1/{*rest}", any(storage_api))
        .route("/upload/storage/v1/{*rest}", any(storage_api))
        .route("/download/storage/v1/{*rest}", any(storage_api))
        .fallback(not_found)
        .with_state(shared)
}

async fn health() -> Json<Value> {
    Json(serde_json::json!({"status": "ok"}))
}

async fn requests(State(shared): State<Arc<Shared>>) -> Json<BTreeMap<String, u64>> {
    Json(
        shared
            .counts
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone(),
    )
}

/// Cloud Storage, given the path still percent-encoded (object names
/// carry `%2F`).
async fn storage_api(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: axum::http::Uri,
    Query(query): Query<Vec<(String, String)>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    storage::serve(&shared, &method, uri.path(), &query, &headers, &body)
}

async fn not_found(method: Method, uri: axum::http::Uri) -> Response {
    ApiError::no_route(method.as_str(), uri.path()).into_response()
}

async fn compute_api(
    State(shared): State<Arc<Shared>>,
    method: Method,
    Path(rest): Path<String>,
    Query(query): Query<Vec<(String, String)>>,
    body: Bytes,
) -> Response {
    match compute_call(&shared, &method, &rest, &query, &body).await {
        Ok(v) => Json(v).into_response(),
        Err(e) => e.into_response(),
    }
}

/// One compute request (path after `/compute/v1/`), answered with its
/// links localized and its `fields` selection applied; used directly and
/// for each part of a batch.
///
/// # Errors
/// The [`ApiError`] the real API would answer.
pub async fn compute_call(
    shared: &Shared,
    method: &Method,
    rest: &str,
    query: &[(String, String)],
    body: &[u8],
) -> Result<Value, ApiError> {
    let mask = FieldMask::from_query(query)?;
    let value = localize(shared, serve(shared, method, rest, query, body).await?);
    Ok(match mask {
        Some(mask) => mask.apply(value),
        None => value,
    })
}

/// `POST /batch/compute/v1`: each part answered as its own compute request, in order.
async fn compute_batch(
    State(shared): State<Arc<Shared>>,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if method != Method::POST {
        return ApiError::no_route(method.as_str(), "/batch/compute/v1").into_response();
    }
    let parts = match batch::boundary(&headers).and_then(|b| batch::parse(&body, &b)) {
        Ok(parts) => parts,
        Err(e) => return e.into_response(),
    };
    let mut answers = Vec::with_capacity(parts.len());
    for part in &parts {
        let result = match (batch::method_of(part), batch::compute_target(&part.target)) {
            (Err(e), _) => Err(e),
            (Ok(m), None) => Err(ApiError::no_route(m.as_str(), &part.target)),
            (Ok(m), Some((rest, query))) => {
                compute_call(&shared, &m, &rest, &query, &part.body).await
            }
        };
        answers.push(batch::Answer::from(result));
    }
    batch::respond(&parts, &answers)
}

async fn container_api(
    State(shared): State<Arc<Shared>>,
    method: Method,
    Path(rest): Path<String>,
    Query(query): Query<Vec<(String, String)>>,
    body: Bytes,
) -> Response {
    if serviceusage::is_service_usage(&rest) {
        shared.count(serviceusage::method_id(&rest));
        let answer = FieldMask::from_query(&query).and_then(|mask| {
            let value = serviceusage::serve(&shared.access, method.as_str(), &rest, &query)?;
            Ok(mask.map_or(value.clone(), |m| m.apply(value)))
        });
        return match answer {
            Ok(v) => Json(v).into_response(),
            Err(e) => e.into_response(),
        };
    }
    if secretmanager::handles(&rest) {
        return match secretmanager::serve(&shared, method.as_str(), &rest, &query, &body) {
            Ok(v) => Json(v).into_response(),
            Err(e) => e.into_response(),
        };
    }
    if networkmanagement::handles(&rest) {
        return match networkmanagement::serve(&shared, method.as_str(), &rest, &query, &body) {
            Ok(v) => Json(v).into_response(),
            Err(e) => e.into_response(),
        };
    }
    match container::serve(&shared, method.as_str(), &rest, &query, &body).await {
        Ok(v) => Json(v).into_response(),
        Err(e) => e.into_response(),
    }
}

async fn serve(
    shared: &Shared,
    method: &Method,
    rest: &str,
    query: &[(String, String)],
    body: &[u8],
) -> Result<Value, ApiError> {
    let route = schema::match_route(method.as_str(), rest)
        .ok_or_else(|| ApiError::no_route(method.as_str(), &format!("/compute/v1/{rest}")))?;
    shared.count(route.method_id);
    let project = route.params.get("project").map(String::as_str);
    shared
        .access
        .check(Api::Compute, project.unwrap_or_default())?;
    if let Some(fault) = shared.faults.retryable() {
        return Err(fault);
    }
    schema::validate_query(route.method_id, query)?;
    let body: Option<Value> = if body.iter().all(u8::is_ascii_whitespace) {
        None
    } else {
        Some(
            serde_json::from_slice(body)
                .map_err(|e| ApiError::invalid(format!("Invalid JSON payload received. {e}")))?,
        )
    };
    let mut parts = route.method_id.split('.');
    let (collection, verb) = (
        parts.nth(1).unwrap_or_default(),
        parts.next().unwrap_or_default(),
    );
    if collection.ends_with("Operations") {
        let project = route.params.get("project").cloned().unwrap_or_default();
        let scope = match collection {
            "regionOperations" => format!(
                "regions/{}",
                route.params.get("region").cloned().unwrap_or_default()
            ),
            "zoneOperations" => format!(
                "zones/{}",
                route.params.get("zone").cloned().unwrap_or_default()
            ),
            _ => "global".to_string(),
        };
        if verb == "aggregatedList" {
            let (world, now) = shared.world_now()?;
            return compute::operation_list::aggregated(&world, &project, query, now);
        }
        if verb == "list" {
            let (world, now) = shared.world_now()?;
            return compute::operation_list::list(&world, &project, &scope, query, now);
        }
        let name = route.params.get("operation").cloned().unwrap_or_default();
        let key = format!("projects/{project}/{scope}/operations/{name}");
        return if verb == "wait" {
            wait(shared, &key).await
        } else {
            get_operation(shared, &key)
        };
    }
    if compute::places::handles(route.method_id) {
        let name = route.params.get("zone").or(route.params.get("region"));
        return compute::places::handle(
            route.method_id,
            project.unwrap_or_default(),
            name.map(String::as_str),
            query,
        );
    }
    let (coll, verb) = compute::collection_of(route.method_id)
        .ok_or_else(|| ApiError::no_route(method.as_str(), rest))?;
    let request_id = request_id(query)?;
    let (mut world, now) = shared.world_now()?;
    if let Some(id) = request_id {
        // A retried request (same id, same project) gets the original
        // operation in its current state; nothing is done a second time.
        // Requests that failed before an operation was created (faults,
        // validation) left no record and are processed normally.
        if let Some(op) = world.operation_for_request(project.unwrap_or_default(), id) {
            return Ok(operations::render(op, now));
        }
    }
    let env = Env {
        scale: shared.scale,
        faults: &shared.faults,
        now,
        request_id,
    };
    let before = world.next_id;
    let result = compute::handle(&mut world, &env, coll, verb, &route.params, query, body)?;
    if world.next_id != before {
        world.commit()?;
    }
    Ok(result)
}

/// The `requestId` query parameter, which every emulated mutation accepts.
///
/// # Errors
/// 400 `invalid` unless it is a UUID other than the zero UUID, as the
/// discovery document requires.
fn request_id(query: &[(String, String)]) -> Result<Option<&str>, ApiError> {
    let Some((_, id)) = query.iter().find(|(k, _)| k == "requestId") else {
        return Ok(None);
    };
    if is_uuid(id) && id.bytes().any(|b| b != b'0' && b != b'-') {
        Ok(Some(id.as_str()))
    } else {
        Err(ApiError::invalid(format!(
            "Invalid value for field 'requestId': '{id}'. The request ID must be a valid UUID with the exception that zero UUID is not supported (00000000-0000-0000-0000-000000000000)."
        )))
    }
}

/// `8-4-4-4-12` hexadecimal digits.
fn is_uuid(s: &str) -> bool {
    let groups: Vec<&str> = s.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.bytes().all(|b| b.is_ascii_hexdigit()))
}

fn get_operation(shared: &Shared, key: &str) -> Result<Value, ApiError> {
    let (world, now) = shared.world_now()?;
    let op = world
        .operations
        .get(key)
        .ok_or_else(|| ApiError::not_found(key))?;
    Ok(operations::render(op, now))
}

/// Blocks until the operation is DONE or [`WAIT_CAP`] has passed, then returns it.
///
/// # Cancellation
/// The world lock is never held across the sleep, so dropping this future
/// at any await point is safe. hyper's HTTP/1 dispatcher keeps reading the
/// connection while the handler runs and drops the handler future when the
/// client closes it, so a client that gives up stops the wait (tested in
/// `tests/emulator_compute/operations.rs`).
async fn wait(shared: &Shared, key: &str) -> Result<Value, ApiError> {
    let _guard = WaitGuard::new(&shared.waits_in_flight);
    let deadline = Instant::now() + WAIT_CAP;
    loop {
        let sleep_for = {
            let (world, now) = shared.world_now()?;
            let op = world
                .operations
                .get(key)
                .ok_or_else(|| ApiError::not_found(key))?;
            let remaining = deadline.saturating_duration_since(Instant::now());
            if op.is_done(now) || remaining.is_zero() {
                return Ok(operations::render(op, now));
            }
            Duration::from_millis(op.done_ms.saturating_sub(now).max(1)).min(remaining)
        };
        tokio::time::sleep(sleep_for).await;
    }
}

/// Counts a running `wait` in [`Shared::waits_in_flight`] until dropped,
/// which also happens when the handler future is cancelled.
struct WaitGuard<'a>(&'a AtomicUsize);

impl<'a> WaitGuard<'a> {
    fn new(counter: &'a AtomicUsize) -> Self {
        counter.fetch_add(1, Ordering::SeqCst);
        WaitGuard(counter)
    }
}

impl Drop for WaitGuard<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(id: &str) -> Vec<(String, String)> {
        vec![("requestId".to_string(), id.to_string())]
    }

    #[test]
    fn request_ids_must_be_non_zero_uuids() {
        let ok = q("0f8fad5b-d9cb-469f-a165-70867728950e");
        assert_eq!(
            request_id(&ok).expect("valid"),
            Some("0f8fad5b-d9cb-469f-a165-70867728950e")
        );
        assert_eq!(request_id(&[]).expect("absent"), None);
        for bad in [
            "",
            "abc",
            "00000000-0000-0000-0000-000000000000",
            "0f8fad5b-d9cb-469f-a165-70867728950",
            "0f8fad5bd9cb469fa16570867728950e",
            "0f8fad5b-d9cb-469f-a165-70867728950g",
        ] {
            assert_eq!(request_id(&q(bad)).unwrap_err().code, 400, "{bad}");
        }
    }
}

//! The emulated Cloud Storage JSON API (v1 subset) served under
//! `/storage/v1/…`, `/upload/storage/v1/…` and `/download/storage/v1/…`:
//! what Google's `google-cloud-storage` client sends for `read_object` and
//! `write_object(…).send_buffered()`, the JSON calls meshform makes by hand
//! (delete with `ifGenerationMatch`, bucket metadata), and what
//! `gcloud storage cat` needs. Point a client at it with
//! `STORAGE_EMULATOR_HOST=127.0.0.1:PORT`, gcloud with
//! `CLOUDSDK_API_ENDPOINT_OVERRIDES_STORAGE=URL/storage/v1/`.
//!
//! - `paths.rs`: which method a path names (object names percent-decoded);
//! - `buckets.rs`: insert (`?project=`), get (with `versioning`), list,
//!   delete;
//! - `objects.rs`: insert, get, delete and list, under the world's lock so
//!   that a precondition and the write it guards are one step;
//! - `upload.rs` + `multipart.rs`: `uploadType=multipart` and `media`
//!   bodies, with the writer's CRC32C / MD5 checked (`hashes.rs`);
//! - `download.rs`: `alt=media` with `x-goog-generation`, `x-goog-hash`
//!   and ranges;
//! - `preconditions.rs`: `ifGenerationMatch` (0: must not exist),
//!   `ifGenerationNotMatch`, `ifMetagenerationMatch`,
//!   `ifMetagenerationNotMatch` → 412 `conditionNotMet` (304 for a
//!   `…NotMatch` on a read);
//! - `store.rs`: buckets and objects as kept in the world's `buckets` map
//!   (so they persist with `world.json`), rendered as Google's resources;
//! - `errors.rs`: Google's error bodies and messages.
//!
//! As in Cloud Storage, generations are microsecond timestamps (strictly
//! increasing within a bucket), new on each write, and sent as strings in
//! JSON (int64); every object starts at metageneration 1. A bucket with
//! versioning keeps replaced and deleted generations as noncurrent ones.
//! Requests need no credentials. Not emulated: resumable uploads, metadata
//! patches (so metagenerations stay 1), ACLs, compose and copy.

mod buckets;
mod download;
mod errors;
mod hashes;
mod multipart;
mod objects;
mod paths;
mod preconditions;
mod store;
mod upload;

use std::time::{SystemTime, UNIX_EPOCH};

use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;

use crate::emulator::shared::{Shared, WorldGuard};

use errors::StorageError;
use paths::Target;

/// Serves one Cloud Storage request: `path` is the URL's path, still
/// percent-encoded.
pub fn serve(
    shared: &Shared,
    method: &Method,
    path: &str,
    query: &[(String, String)],
    headers: &HeaderMap,
    body: &[u8],
) -> Response {
    let Some(target) = paths::target(method.as_str(), path) else {
        shared.count("storage.unknown");
        return StorageError::no_route(method.as_str(), path).into_response();
    };
    shared.count(target.method_id());
    let json = |result: Result<serde_json::Value, StorageError>| match result {
        Ok(v) => Json(v).into_response(),
        Err(e) => e.into_response(),
    };
    let no_content = |result: Result<(), StorageError>| match result {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => e.into_response(),
    };
    match target {
        Target::InsertBucket => json(buckets::insert(shared, query, body)),
        Target::ListBuckets => json(buckets::list(shared, query)),
        Target::GetBucket(b) => json(buckets::get(shared, &b)),
        Target::DeleteBucket(b) => no_content(buckets::delete(shared, &b)),
        Target::InsertObject(b) => {
            let content_type = headers
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok());
            json(
                upload::parse(query, content_type, body)
                    .and_then(|u| objects::insert(shared, &b, query, u)),
            )
        }
        Target::ListObjects(b) => json(objects::list(shared, &b, query)),
        Target::GetObject(b, o) => match objects::get(shared, &b, &o, query) {
            Err(e) => e.into_response(),
            Ok(objects::Found::NotModified) => StatusCode::NOT_MODIFIED.into_response(),
            Ok(objects::Found::Object(object)) => {
                if path.starts_with("/download/") || param(query, "alt") == Some("media") {
                    download::respond(&object, headers)
                } else {
                    Json(object.render(&shared.base_url, &b, &o)).into_response()
                }
            }
        },
        Target::DeleteObject(b, o) => no_content(objects::delete(shared, &b, &o, query)),
    }
}

/// The value of query parameter `name`, if given.
fn param<'a>(query: &'a [(String, String)], name: &str) -> Option<&'a str> {
    query
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// Microseconds since the epoch, wall clock.
fn now_micros() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// Releases the world and waits until its changes are on disk.
///
/// # Errors
/// 503 `backendError` when they cannot be written.
fn persist(world: WorldGuard<'_>) -> Result<(), StorageError> {
    world.commit().map_err(|_| StorageError::backend_error())
}

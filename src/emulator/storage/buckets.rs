//! `storage.buckets.*`: insert (`POST /storage/v1/b?project=P`, body
//! `{"name", "versioning", "location", "storageClass", "labels",
//! "iamConfiguration"}`), get, list (by project) and delete (only when
//! empty). Bucket names are global, as Google's are.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use crate::emulator::serviceusage::project_number;
use crate::emulator::shared::Shared;

use super::errors::StorageError;
use super::store::{bucket_etag, timestamp, StoredBucket};
use super::{now_micros, param, persist};

/// Whether `name` is a bucket name Cloud Storage accepts: 3 to 63
/// characters (222 with dots), lowercase letters, digits, `-`, `_` and
/// `.`, starting and ending with a letter or digit.
pub fn valid_name(name: &str) -> bool {
    let max = if name.contains('.') { 222 } else { 63 };
    let edge = |b: Option<&u8>| b.is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    (3..=max).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-_.".contains(&b))
        && edge(name.as_bytes().first())
        && edge(name.as_bytes().last())
}

/// `storage.buckets.insert`.
///
/// # Errors
/// 400 without `project` or with a bad name, 409 when it exists.
pub fn insert(
    shared: &Shared,
    query: &[(String, String)],
    body: &[u8],
) -> Result<Value, StorageError> {
    let project = param(query, "project").ok_or_else(|| StorageError::required("project"))?;
    let request: Value = if body.iter().all(u8::is_ascii_whitespace) {
        json!({})
    } else {
        serde_json::from_slice(body)
            .map_err(|e| StorageError::invalid(format!("Invalid JSON payload received. {e}")))?
    };
    let name = request["name"].as_str().unwrap_or_default();
    if name.is_empty() {
        return Err(StorageError::required("resource.name"));
    }
    if !valid_name(name) {
        return Err(StorageError::invalid(format!(
            "Invalid bucket name: '{name}'"
        )));
    }
    let (mut world, _) = shared
        .world_now()
        .map_err(|_| StorageError::backend_error())?;
    if world.buckets.contains_key(name) {
        return Err(StorageError::bucket_exists());
    }
    let now = timestamp(now_micros());
    let uniform = request["iamConfiguration"]["uniformBucketLevelAccess"]["enabled"]
        .as_bool()
        .unwrap_or(false);
    let mut metadata = json!({
        "kind": "storage#bucket",
        "id": name,
        "name": name,
        "projectNumber": project_number(project),
        "metageneration": "1",
        "location": request["location"].as_str().unwrap_or("US").to_ascii_uppercase(),
        "locationType": if request["location"].is_string() { "region" } else { "multi-region" },
        "storageClass": request["storageClass"].as_str().unwrap_or("STANDARD"),
        "etag": bucket_etag(1),
        "timeCreated": now,
        "updated": now,
        "rpo": "DEFAULT",
        "iamConfiguration": {
            "bucketPolicyOnly": {"enabled": uniform},
            "uniformBucketLevelAccess": {"enabled": uniform},
            "publicAccessPrevention": "inherited",
        },
    });
    if let Some(enabled) = request["versioning"]["enabled"].as_bool() {
        metadata["versioning"] = json!({"enabled": enabled});
    }
    if request["labels"].as_object().is_some_and(|l| !l.is_empty()) {
        metadata["labels"] = request["labels"].clone();
    }
    let bucket = StoredBucket {
        metadata,
        project: project.to_string(),
        objects: BTreeMap::new(),
        last_generation: 0,
    };
    bucket.save(&mut world);
    persist(world)?;
    Ok(bucket.render(&shared.base_url))
}

/// `storage.buckets.get`.
///
/// # Errors
/// 404 when it does not exist.
pub fn get(shared: &Shared, name: &str) -> Result<Value, StorageError> {
    let (world, _) = shared
        .world_now()
        .map_err(|_| StorageError::backend_error())?;
    Ok(StoredBucket::existing(&world, name)?.render(&shared.base_url))
}

/// `storage.buckets.list`: the buckets of `project`, by name.
///
/// # Errors
/// 400 without `project`.
pub fn list(shared: &Shared, query: &[(String, String)]) -> Result<Value, StorageError> {
    let project = param(query, "project").ok_or_else(|| StorageError::required("project"))?;
    let prefix = param(query, "prefix").unwrap_or_default();
    let (world, _) = shared
        .world_now()
        .map_err(|_| StorageError::backend_error())?;
    let mut items = Vec::new();
    for name in world.buckets.keys().filter(|n| n.starts_with(prefix)) {
        let bucket = StoredBucket::existing(&world, name)?;
        if bucket.project == project {
            items.push(bucket.render(&shared.base_url));
        }
    }
    let mut answer = json!({"kind": "storage#buckets"});
    if !items.is_empty() {
        answer["items"] = json!(items);
    }
    Ok(answer)
}

/// `storage.buckets.delete`.
///
/// # Errors
/// 404 when it does not exist, 409 while it holds objects (of any generation).
pub fn delete(shared: &Shared, name: &str) -> Result<(), StorageError> {
    let (mut world, _) = shared
        .world_now()
        .map_err(|_| StorageError::backend_error())?;
    let bucket = StoredBucket::existing(&world, name)?;
    if !bucket.objects.is_empty() {
        return Err(StorageError::not_empty());
    }
    world.buckets.remove(name);
    persist(world)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_names_follow_googles_rules() {
        for ok in ["abc", "team-meshform", "a.b.c", "x_1"] {
            assert!(valid_name(ok), "{ok}");
        }
        for bad in ["ab", "Upper", "-start", "end-", "sp ace", &"a".repeat(64)] {
            assert!(!valid_name(bad), "{bad}");
        }
    }
}

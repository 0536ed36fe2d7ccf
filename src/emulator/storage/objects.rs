//! `storage.objects.*`: insert (a new generation, if the preconditions
//! hold), get (metadata, or the contents with `alt=media`; a given
//! `generation` reads a noncurrent one), delete (the live generation, or a
//! given one) and list (`prefix`, `delimiter`, `versions`, `maxResults`,
//! `pageToken`). Each runs with the world locked, so checking the
//! preconditions and writing are one step, as they are in Cloud Storage.

use std::collections::BTreeSet;

use base64::Engine as _;
use serde_json::{json, Value};

use crate::emulator::shared::Shared;

use super::errors::StorageError;
use super::preconditions::{Access, Failed, Preconditions};
use super::store::{timestamp, StoredBucket, StoredObject};
use super::upload::Upload;
use super::{now_micros, param, persist};

/// Most items a list page holds (the API's default and cap).
const MAX_RESULTS: usize = 1000;

/// `storage.objects.insert`: the object's new generation.
///
/// # Errors
/// 404 for a missing bucket, 412 when a precondition fails.
pub fn insert(
    shared: &Shared,
    bucket_name: &str,
    query: &[(String, String)],
    upload: Upload,
) -> Result<Value, StorageError> {
    let preconditions = Preconditions::from_query(query)?;
    let (mut world, _) = shared
        .world_now()
        .map_err(|_| StorageError::backend_error())?;
    let mut bucket = StoredBucket::existing(&world, bucket_name)?;
    let current = bucket
        .live(&upload.name)
        .map(|o| (o.generation, o.metageneration));
    preconditions
        .check(current, Access::Write)
        .map_err(into_error)?;
    let now = now_micros();
    let generation = bucket.next_generation(now);
    let at = timestamp(now);
    bucket.retire_live(&upload.name, &at);
    let object = StoredObject {
        generation,
        metageneration: 1,
        data: base64::engine::general_purpose::STANDARD.encode(&upload.data),
        fields: upload.fields,
        time_created: at,
        time_deleted: None,
    };
    let shown = object.render(&shared.base_url, bucket_name, &upload.name);
    bucket.objects.entry(upload.name).or_default().push(object);
    bucket.save(&mut world);
    persist(world)?;
    Ok(shown)
}

/// What `storage.objects.get` found.
#[derive(Debug)]
pub enum Found {
    /// The object (the generation asked for, or the live one).
    Object(StoredObject),
    /// A `…NotMatch` precondition failed: 304 Not Modified.
    NotModified,
}

/// `storage.objects.get`: the live generation, or `generation`'s.
///
/// # Errors
/// 404 for a missing bucket or object, 412 when a precondition fails.
pub fn get(
    shared: &Shared,
    bucket_name: &str,
    name: &str,
    query: &[(String, String)],
) -> Result<Found, StorageError> {
    let preconditions = Preconditions::from_query(query)?;
    let wanted = generation_param(query)?;
    let (world, _) = shared
        .world_now()
        .map_err(|_| StorageError::backend_error())?;
    let bucket = StoredBucket::existing(&world, bucket_name)?;
    let object = match wanted {
        Some(g) => bucket.generation(name, g),
        None => bucket.live(name),
    }
    .ok_or_else(|| StorageError::no_object(bucket_name, name))?;
    match preconditions.check(
        Some((object.generation, object.metageneration)),
        Access::Read,
    ) {
        Ok(()) => Ok(Found::Object(object.clone())),
        Err(Failed::NotModified) => Ok(Found::NotModified),
        Err(Failed::Error(e)) => Err(e),
    }
}

/// `storage.objects.delete`: the live generation (kept as noncurrent in a
/// bucket with versioning), or `generation`'s (forgotten).
///
/// # Errors
/// 404 for a missing bucket or object, 412 when a precondition fails.
pub fn delete(
    shared: &Shared,
    bucket_name: &str,
    name: &str,
    query: &[(String, String)],
) -> Result<(), StorageError> {
    let preconditions = Preconditions::from_query(query)?;
    let wanted = generation_param(query)?;
    let (mut world, _) = shared
        .world_now()
        .map_err(|_| StorageError::backend_error())?;
    let mut bucket = StoredBucket::existing(&world, bucket_name)?;
    let object = match wanted {
        Some(g) => bucket.generation(name, g),
        None => bucket.live(name),
    }
    .ok_or_else(|| StorageError::no_object(bucket_name, name))?;
    preconditions
        .check(
            Some((object.generation, object.metageneration)),
            Access::Write,
        )
        .map_err(into_error)?;
    match wanted {
        Some(g) => bucket.remove_generation(name, g),
        None => bucket.retire_live(name, &timestamp(now_micros())),
    }
    bucket.save(&mut world);
    persist(world)
}

/// `storage.objects.list`.
///
/// # Errors
/// 404 for a missing bucket, 400 for a bad `maxResults` or `pageToken`.
pub fn list(
    shared: &Shared,
    bucket_name: &str,
    query: &[(String, String)],
) -> Result<Value, StorageError> {
    let prefix = param(query, "prefix").unwrap_or_default();
    let delimiter = param(query, "delimiter").unwrap_or_default();
    let versions = param(query, "versions") == Some("true");
    let max = match param(query, "maxResults") {
        None => MAX_RESULTS,
        Some(s) => s
            .parse::<usize>()
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| {
                StorageError::invalid(format!("Invalid unsigned integer value: '{s}'."))
            })?
            .min(MAX_RESULTS),
    };
    let after = match param(query, "pageToken") {
        None | Some("") => None,
        Some(token) => Some(
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(token)
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .ok_or_else(|| StorageError::invalid(format!("Invalid page token: {token}")))?,
        ),
    };
    let (world, _) = shared
        .world_now()
        .map_err(|_| StorageError::backend_error())?;
    let bucket = StoredBucket::existing(&world, bucket_name)?;
    // Every entry in order, keyed for paging: objects by name and
    // generation, prefixes by themselves.
    let mut entries: Vec<(String, Option<Value>)> = Vec::new();
    let mut seen_prefixes = BTreeSet::new();
    for (name, generations) in bucket.objects.range(prefix.to_string()..) {
        if !name.starts_with(prefix) {
            break;
        }
        if !delimiter.is_empty() {
            if let Some(at) = name[prefix.len()..].find(delimiter) {
                let p = name[..prefix.len() + at + delimiter.len()].to_string();
                if seen_prefixes.insert(p.clone()) {
                    entries.push((p, None));
                }
                continue;
            }
        }
        for object in generations.iter().filter(|o| versions || o.is_live()) {
            let key = format!("{name}#{:020}", object.generation);
            let shown = object.render(&shared.base_url, bucket_name, name);
            entries.push((key, Some(shown)));
        }
    }
    // After the entry the token names (or, if it has gone, the first one
    // sorting after it).
    let start = after.map_or(0, |a| {
        entries
            .iter()
            .position(|(k, _)| *k == a)
            .map(|i| i + 1)
            .or_else(|| entries.iter().position(|(k, _)| *k > a))
            .unwrap_or(entries.len())
    });
    let page: Vec<&(String, Option<Value>)> = entries.iter().skip(start).take(max).collect();
    let mut answer = json!({"kind": "storage#objects"});
    let items: Vec<&Value> = page.iter().filter_map(|(_, v)| v.as_ref()).collect();
    let prefixes: Vec<&String> = page
        .iter()
        .filter(|(_, v)| v.is_none())
        .map(|(k, _)| k)
        .collect();
    if !items.is_empty() {
        answer["items"] = json!(items);
    }
    if !prefixes.is_empty() {
        answer["prefixes"] = json!(prefixes);
    }
    if start + page.len() < entries.len() {
        if let Some((last, _)) = page.last() {
            answer["nextPageToken"] =
                json!(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(last));
        }
    }
    Ok(answer)
}

/// The `generation` query parameter.
fn generation_param(query: &[(String, String)]) -> Result<Option<i64>, StorageError> {
    match param(query, "generation") {
        None | Some("") => Ok(None),
        Some(g) => g
            .parse()
            .map(Some)
            .map_err(|_| StorageError::invalid(format!("Invalid argument for generation: {g}"))),
    }
}

/// A write's failed precondition is always an error (never 304).
fn into_error(failed: Failed) -> StorageError {
    match failed {
        Failed::Error(e) => e,
        Failed::NotModified => StorageError::condition_not_met(),
    }
}

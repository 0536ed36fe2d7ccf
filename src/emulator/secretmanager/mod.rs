//! The emulated Secret Manager API (v1 subset, global secrets) served under
//! `/v1/projects/{project}/secrets…`, enough for Google's
//! `google-cloud-secretmanager-v1` client and for `gcloud secrets`:
//!
//! - `secrets.create` (`POST …/secrets?secretId=ID`, body a `Secret`),
//!   `secrets.get`, `secrets.list` (`pageSize`, `pageToken`, label
//!   `filter`, see `filter.rs`) and `secrets.delete` (optional `etag`);
//! - `secrets.addVersion` (`POST …/secrets/{s}:addVersion`, body
//!   `{"payload": {"data", "dataCrc32c"}}`), `secrets.versions.access`
//!   (`GET …/versions/{n|latest}:access`), `secrets.versions.get` and
//!   `secrets.versions.list` (newest first).
//!
//! As Google does, names carry the project number
//! (`projects/123456789012/secrets/x`, the number `serviceusage` derives),
//! and a request may name the project by id or number. Versions are
//! numbered 1, 2, 3… and are `ENABLED`; their `state` is a number when the
//! client asks for `$alt=json;enum-encoding=int`. What the API accepts
//! (ids, labels, payloads, checksums) is in `rules.rs`. Secrets, with their
//! versions and payloads, are kept in the world's `secrets` map.

mod filter;
mod rules;

use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use serde_json::{json, Map, Value};

use crate::emulator::access::Api;
use crate::emulator::errors::ApiError;
use crate::emulator::serviceusage::project_number;
use crate::emulator::shared::Shared;

use filter::LabelFilter;
use rules::invalid;

/// Whether `rest` (the path after `/v1/`) is Secret Manager's:
/// `projects/{p}/secrets…`.
pub fn handles(rest: &str) -> bool {
    let mut seg = rest.split('/');
    seg.next() == Some("projects")
        && seg.next().is_some_and(|p| !p.is_empty())
        && seg.next().is_some_and(|s| s == "secrets")
}

/// What a path under `projects/{p}/` names.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Target<'a> {
    /// `secrets`.
    Secrets,
    /// `secrets/{s}`.
    Secret(&'a str),
    /// `secrets/{s}:addVersion`.
    AddVersion(&'a str),
    /// `secrets/{s}/versions`.
    Versions(&'a str),
    /// `secrets/{s}/versions/{v}`.
    Version(&'a str, &'a str),
    /// `secrets/{s}/versions/{v}:access`.
    Access(&'a str, &'a str),
}

fn target(rest: &str) -> Option<Target<'_>> {
    let parts: Vec<&str> = rest.split('/').collect();
    let nonempty = |s: &&str| !s.is_empty();
    Some(match parts.as_slice() {
        ["projects", _, "secrets"] => Target::Secrets,
        ["projects", _, "secrets", s] => match s.split_once(':') {
            Some((s, "addVersion")) => Target::AddVersion(Some(s).filter(nonempty)?),
            Some(_) => return None,
            None => Target::Secret(Some(*s).filter(nonempty)?),
        },
        ["projects", _, "secrets", s, "versions"] => Target::Versions(Some(*s).filter(nonempty)?),
        ["projects", _, "secrets", s, "versions", v] => match v.split_once(':') {
            Some((v, "access")) => Target::Access(s, Some(v).filter(nonempty)?),
            Some(_) => return None,
            None => Target::Version(s, Some(*v).filter(nonempty)?),
        },
        _ => return None,
    })
}

/// The method id of a request (discovery's, e.g.
/// `secretmanager.projects.secrets.addVersion`), for the request counts.
pub fn method_id(method: &str, rest: &str) -> &'static str {
    match (method, target(rest)) {
        ("POST", Some(Target::Secrets)) => "secretmanager.projects.secrets.create",
        ("GET", Some(Target::Secrets)) => "secretmanager.projects.secrets.list",
        ("GET", Some(Target::Secret(_))) => "secretmanager.projects.secrets.get",
        ("DELETE", Some(Target::Secret(_))) => "secretmanager.projects.secrets.delete",
        ("POST", Some(Target::AddVersion(_))) => "secretmanager.projects.secrets.addVersion",
        ("GET", Some(Target::Versions(_))) => "secretmanager.projects.secrets.versions.list",
        ("GET", Some(Target::Version(..))) => "secretmanager.projects.secrets.versions.get",
        ("GET", Some(Target::Access(..))) => "secretmanager.projects.secrets.versions.access",
        _ => "secretmanager.unknown",
    }
}

/// Serves one request under `/v1/` (`rest` is the path after it).
///
/// # Errors
/// The [`ApiError`] the real API would answer.
pub fn serve(
    shared: &Shared,
    method: &str,
    rest: &str,
    query: &[(String, String)],
    body: &[u8],
) -> Result<Value, ApiError> {
    shared.count(method_id(method, rest));
    let project = rest.split('/').nth(1).unwrap_or_default();
    shared.access.check(Api::SecretManager, project)?;
    if let Some(fault) = shared.faults.retryable() {
        return Err(fault);
    }
    let parent = format!("projects/{}", project_number(project));
    let numbers = wants_numbers(query);
    let param = |name: &str| {
        query
            .iter()
            .find(|(k, _)| k == name)
            .map_or("", |(_, v)| v.as_str())
    };
    let secret_name = |s: &str| format!("{parent}/secrets/{s}");
    match (method, target(rest)) {
        ("POST", Some(Target::Secrets)) => create(shared, &parent, param("secretId"), body),
        ("GET", Some(Target::Secrets)) => list_secrets(shared, &parent, query),
        ("GET", Some(Target::Secret(s))) => {
            let (world, _) = shared.world_now()?;
            Ok(stored(&world.secrets, &secret_name(s))?["secret"].clone())
        }
        ("DELETE", Some(Target::Secret(s))) => delete(shared, &secret_name(s), param("etag")),
        ("POST", Some(Target::AddVersion(s))) => {
            add_version(shared, &secret_name(s), body, numbers)
        }
        ("GET", Some(Target::Versions(s))) => {
            list_versions(shared, &secret_name(s), query, numbers)
        }
        ("GET", Some(Target::Version(s, v))) => {
            let (world, _) = shared.world_now()?;
            let version = find_version(&world.secrets, &secret_name(s), v)?;
            Ok(render_version(version, numbers))
        }
        ("GET", Some(Target::Access(s, v))) => {
            let (world, _) = shared.world_now()?;
            let version = find_version(&world.secrets, &secret_name(s), v)?;
            Ok(json!({
                "name": version["name"],
                "payload": {"data": version["data"], "dataCrc32c": version["dataCrc32c"]},
            }))
        }
        _ => Err(ApiError::no_route(method, &format!("/v1/{rest}"))),
    }
}

/// Whether `$alt` (or `alt`) asks for `enum-encoding=int`.
fn wants_numbers(query: &[(String, String)]) -> bool {
    query
        .iter()
        .any(|(k, v)| (k == "$alt" || k == "alt") && v.contains("enum-encoding=int"))
}

/// Microseconds since the epoch, wall clock.
fn now_micros() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros())
        .unwrap_or(0)
}

/// An RFC 3339 timestamp with microseconds, as Secret Manager writes them.
fn timestamp(micros: u128) -> String {
    let t = UNIX_EPOCH + std::time::Duration::from_micros(u64::try_from(micros).unwrap_or(0));
    humantime::format_rfc3339_micros(t).to_string()
}

/// An etag as Secret Manager's look: a quoted hexadecimal string.
fn etag(micros: u128) -> String {
    format!("\"{micros:x}\"")
}

fn not_found(message: String) -> ApiError {
    ApiError::new(404, "NOT_FOUND", "notFound", message)
}

/// The stored entry of secret `name`.
fn stored<'a>(
    secrets: &'a std::collections::BTreeMap<String, Value>,
    name: &str,
) -> Result<&'a Value, ApiError> {
    secrets
        .get(name)
        .ok_or_else(|| not_found(format!("Secret [{name}] not found.")))
}

fn parse_body(body: &[u8]) -> Result<Value, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(json!({}));
    }
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| invalid(format!("Invalid JSON payload received. {e}")))?;
    if value.is_object() {
        Ok(value)
    } else {
        Err(invalid(
            "Invalid JSON payload received. The request body must be an object.",
        ))
    }
}

fn create(shared: &Shared, parent: &str, secret_id: &str, body: &[u8]) -> Result<Value, ApiError> {
    if !rules::valid_secret_id(secret_id) {
        return Err(invalid(format!(
            "Invalid secret ID [{secret_id}]: a secret ID must be 1 to 255 characters of letters, numerals, hyphens and underscores."
        )));
    }
    let mut secret = parse_body(body)?;
    rules::check_replication(&secret["replication"])?;
    rules::check_labels(&secret["labels"])?;
    let name = format!("{parent}/secrets/{secret_id}");
    let (mut world, _) = shared.world_now()?;
    if world.secrets.contains_key(&name) {
        return Err(ApiError::new(
            409,
            "ALREADY_EXISTS",
            "alreadyExists",
            format!("Secret [{name}] already exists."),
        ));
    }
    let now = now_micros();
    let fields = secret.as_object_mut().expect("checked to be an object");
    for output_only in ["name", "createTime", "etag"] {
        fields.remove(output_only);
    }
    if fields
        .get("labels")
        .is_some_and(|l| l.as_object().is_none_or(Map::is_empty))
    {
        fields.remove("labels");
    }
    fields.insert("name".into(), json!(name));
    fields.insert("createTime".into(), json!(timestamp(now)));
    fields.insert("etag".into(), json!(etag(now)));
    world.secrets.insert(
        name,
        json!({"secret": secret.clone(), "versions": [], "nextVersion": 1}),
    );
    world.commit()?;
    Ok(secret)
}

fn delete(shared: &Shared, name: &str, given_etag: &str) -> Result<Value, ApiError> {
    let (mut world, _) = shared.world_now()?;
    let entry = stored(&world.secrets, name)?;
    if !given_etag.is_empty() && entry["secret"]["etag"].as_str() != Some(given_etag) {
        return Err(ApiError::new(
            400,
            "FAILED_PRECONDITION",
            "failedPrecondition",
            format!("The etag provided in the request does not match the etag of Secret [{name}]."),
        ));
    }
    world.secrets.remove(name);
    world.commit()?;
    Ok(json!({}))
}

fn add_version(shared: &Shared, name: &str, body: &[u8], numbers: bool) -> Result<Value, ApiError> {
    let request = parse_body(body)?;
    let (mut world, _) = shared.world_now()?;
    stored(&world.secrets, name)?;
    let (data, checksummed) = rules::payload(&request["payload"])?;
    let entry = world.secrets.get_mut(name).expect("looked up above");
    let number = entry["nextVersion"].as_u64().unwrap_or(1);
    let now = now_micros();
    let mut version = json!({
        "name": format!("{name}/versions/{number}"),
        "createTime": timestamp(now),
        "state": "ENABLED",
        "replicationStatus": rules::replication_status(&entry["secret"]["replication"]),
        "etag": etag(now),
        "data": base64::engine::general_purpose::STANDARD.encode(&data),
        "dataCrc32c": rules::crc32c(&data).to_string(),
    });
    if checksummed {
        version["clientSpecifiedPayloadChecksum"] = json!(true);
    }
    entry["nextVersion"] = json!(number + 1);
    if let Some(versions) = entry["versions"].as_array_mut() {
        versions.push(version.clone());
    }
    world.commit()?;
    Ok(render_version(&version, numbers))
}

/// Version `v` (a number or `latest`) of secret `name`.
fn find_version<'a>(
    secrets: &'a std::collections::BTreeMap<String, Value>,
    name: &str,
    v: &str,
) -> Result<&'a Value, ApiError> {
    let no_versions = || not_found(format!("Secret [{name}] not found or has no versions."));
    let versions = match secrets.get(name) {
        Some(entry) => entry["versions"].as_array().map_or(&[][..], Vec::as_slice),
        None if v == "latest" => return Err(no_versions()),
        None => return Err(not_found(format!("Secret [{name}] not found."))),
    };
    if v == "latest" {
        return versions.last().ok_or_else(no_versions);
    }
    let wanted = format!("{name}/versions/{v}");
    versions
        .iter()
        .find(|version| version["name"].as_str() == Some(wanted.as_str()))
        .ok_or_else(|| not_found(format!("Secret Version [{wanted}] not found.")))
}

/// A stored version as the API shows it: without its payload, `state` a
/// number when asked for.
fn render_version(version: &Value, numbers: bool) -> Value {
    let mut shown = version.clone();
    if let Some(fields) = shown.as_object_mut() {
        fields.remove("data");
        fields.remove("dataCrc32c");
        if numbers {
            let state = match fields.get("state").and_then(Value::as_str) {
                Some("ENABLED") => 1,
                Some("DISABLED") => 2,
                Some("DESTROYED") => 3,
                _ => 0,
            };
            fields.insert("state".into(), json!(state));
        }
    }
    shown
}

/// Most entries a list page holds (the API caps `pageSize` there).
const MAX_PAGE: usize = 25_000;

/// One page of `items` (sorted by `key`, unique) after `pageToken`, with
/// `pageSize` entries at most, and the token of the next page.
fn page(
    items: Vec<Value>,
    query: &[(String, String)],
    key: impl Fn(&Value) -> String,
) -> Result<(Vec<Value>, Option<String>), ApiError> {
    let param = |name: &str| {
        query
            .iter()
            .find(|(k, _)| k == name)
            .map_or("", |(_, v)| v.as_str())
    };
    let size = match param("pageSize") {
        "" => 0,
        s => s.parse::<i64>().map_err(|_| {
            invalid(format!(
                "Invalid value at 'page_size' (TYPE_INT32), \"{s}\""
            ))
        })?,
    };
    let size = if size <= 0 {
        MAX_PAGE
    } else {
        usize::try_from(size).unwrap_or(MAX_PAGE).min(MAX_PAGE)
    };
    let start = match param("pageToken") {
        "" => 0,
        token => {
            let after = base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(token)
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .ok_or_else(|| invalid(format!("Invalid page token [{token}].")))?;
            items
                .iter()
                .position(|item| key(item) == after)
                .map_or(items.len(), |i| i + 1)
        }
    };
    let shown: Vec<Value> = items.iter().skip(start).take(size).cloned().collect();
    let next = (start + shown.len() < items.len())
        .then(|| shown.last().map(&key))
        .flatten()
        .map(|k| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(k));
    Ok((shown, next))
}

fn list_secrets(
    shared: &Shared,
    parent: &str,
    query: &[(String, String)],
) -> Result<Value, ApiError> {
    let text = query
        .iter()
        .find(|(k, _)| k == "filter")
        .map_or("", |(_, v)| v.as_str());
    let filter = LabelFilter::parse(text)?;
    let (world, _) = shared.world_now()?;
    let prefix = format!("{parent}/secrets/");
    let all: Vec<Value> = world
        .secrets
        .iter()
        .filter(|(k, _)| k.starts_with(&prefix))
        .map(|(_, entry)| entry["secret"].clone())
        .filter(|secret| filter.matches(&secret["labels"]))
        .collect();
    let total = all.len();
    let (secrets, next) = page(all, query, |s| s["name"].as_str().unwrap_or("").to_string())?;
    let mut answer = json!({});
    if !secrets.is_empty() {
        answer["secrets"] = json!(secrets);
    }
    if let Some(next) = next {
        answer["nextPageToken"] = json!(next);
    }
    // Google reports the total only when there is no filter.
    if filter.is_empty() && total > 0 {
        answer["totalSize"] = json!(total);
    }
    Ok(answer)
}

fn list_versions(
    shared: &Shared,
    name: &str,
    query: &[(String, String)],
    numbers: bool,
) -> Result<Value, ApiError> {
    let text = query
        .iter()
        .find(|(k, _)| k == "filter")
        .map_or("", |(_, v)| v.trim());
    if !text.is_empty() {
        return Err(invalid(format!(
            "The emulator does not support the filter [{text}] on secret versions: list them without a filter."
        )));
    }
    let (world, _) = shared.world_now()?;
    let entry = stored(&world.secrets, name)?;
    let newest_first: Vec<Value> = entry["versions"]
        .as_array()
        .map_or(&[][..], Vec::as_slice)
        .iter()
        .rev()
        .cloned()
        .collect();
    let total = newest_first.len();
    let (versions, next) = page(newest_first, query, |v| {
        v["name"].as_str().unwrap_or("").to_string()
    })?;
    let mut answer = json!({});
    if !versions.is_empty() {
        let shown: Vec<Value> = versions
            .iter()
            .map(|v| render_version(v, numbers))
            .collect();
        answer["versions"] = json!(shown);
    }
    if let Some(next) = next {
        answer["nextPageToken"] = json!(next);
    }
    if total > 0 {
        answer["totalSize"] = json!(total);
    }
    Ok(answer)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_map_to_discovery_method_ids() {
        let cases = [
            (
                "POST",
                "projects/p/secrets",
                "secretmanager.projects.secrets.create",
            ),
            (
                "GET",
                "projects/p/secrets",
                "secretmanager.projects.secrets.list",
            ),
            (
                "GET",
                "projects/p/secrets/s",
                "secretmanager.projects.secrets.get",
            ),
            (
                "DELETE",
                "projects/p/secrets/s",
                "secretmanager.projects.secrets.delete",
            ),
            (
                "POST",
                "projects/p/secrets/s:addVersion",
                "secretmanager.projects.secrets.addVersion",
            ),
            (
                "GET",
                "projects/p/secrets/s/versions",
                "secretmanager.projects.secrets.versions.list",
            ),
            (
                "GET",
                "projects/p/secrets/s/versions/3",
                "secretmanager.projects.secrets.versions.get",
            ),
            (
                "GET",
                "projects/p/secrets/s/versions/latest:access",
                "secretmanager.projects.secrets.versions.access",
            ),
            (
                "POST",
                "projects/p/secrets/s:rotate",
                "secretmanager.unknown",
            ),
            (
                "GET",
                "projects/p/secrets/s/versions/:access",
                "secretmanager.unknown",
            ),
        ];
        for (method, rest, id) in cases {
            assert!(handles(rest), "{rest}");
            assert_eq!(method_id(method, rest), id, "{method} {rest}");
        }
        assert!(!handles("projects/p/services/secretmanager.googleapis.com"));
        assert!(!handles("projects/p/locations/global/connectivityTests"));
    }

    #[test]
    fn versions_show_no_payload_and_numbered_states_on_request() {
        let stored = json!({"name": "n", "state": "ENABLED", "data": "YQo=", "dataCrc32c": "1"});
        let shown = render_version(&stored, true);
        assert_eq!(shown, json!({"name": "n", "state": 1}));
        assert_eq!(render_version(&stored, false)["state"], "ENABLED");
    }

    #[test]
    fn pages_resume_after_the_token() {
        let items: Vec<Value> = (1..=5).map(|i| json!({"name": format!("s{i}")})).collect();
        let key = |v: &Value| v["name"].as_str().unwrap().to_string();
        let q = |size: &str, token: &str| {
            vec![
                ("pageSize".to_string(), size.to_string()),
                ("pageToken".to_string(), token.to_string()),
            ]
        };
        let (first, next) = page(items.clone(), &q("2", ""), key).unwrap();
        assert_eq!(first.len(), 2);
        let (second, next) = page(items.clone(), &q("2", &next.unwrap()), key).unwrap();
        assert_eq!(second[0]["name"], "s3");
        let (third, next) = page(items.clone(), &q("2", &next.unwrap()), key).unwrap();
        assert_eq!((third.len(), next), (1, None));
        let (all, next) = page(items.clone(), &q("0", ""), key).unwrap();
        assert_eq!((all.len(), next), (5, None));
        assert_eq!(page(items, &q("x", ""), key).unwrap_err().code, 400);
    }

    #[test]
    fn timestamps_have_microseconds_and_etags_are_quoted() {
        assert_eq!(
            timestamp(1_711_974_896_123_456),
            "2024-04-01T12:34:56.123456Z"
        );
        assert_eq!(etag(255), "\"ff\"");
    }
}

//! The emulated Network Management API (v1 subset) served under `/v1/`:
//! `projects.locations.global.connectivityTests` create / get / list /
//! delete and `projects.locations.global.operations` get, enough for
//! Google's `google-cloud-networkmanagement-v1` client and for `gcloud
//! network-management connectivity-tests`.
//!
//! A test is analysed when it is created, from the emulated world: the
//! network's subnets, firewall rules, forwarding rules and GKE clusters
//! (`trace.rs`, with the firewall as VPC decides it in `firewall.rs`). The
//! analysis takes no time here, so create's long-running operation is DONE
//! at once and carries the test as its response. Tests and operations are
//! kept in the world's `connectivity` map (saved in `connectivity.json`).

mod firewall;
mod trace;

use serde_json::{json, Value};

use crate::emulator::access::Api;
use crate::emulator::errors::ApiError;
use crate::emulator::shared::Shared;
use crate::emulator::world::{now_ms, timestamp};

/// Whether `rest` (the path after `/v1/`) is Network Management's: its
/// resources live in location `global`, which GKE never uses.
pub fn handles(rest: &str) -> bool {
    let parts: Vec<&str> = rest.split('/').collect();
    matches!(
        parts.as_slice(),
        [
            "projects",
            _,
            "locations",
            "global",
            "connectivityTests" | "operations",
            ..
        ]
    )
}

/// The method id of a request, for the request counts.
pub fn method_id(method: &str, rest: &str) -> &'static str {
    let on_tests = rest.contains("/connectivityTests");
    let named = rest.split('/').count() > 5;
    match (method, on_tests, named) {
        ("POST", true, false) => {
            "networkmanagement.projects.locations.global.connectivityTests.create"
        }
        ("GET", true, false) => {
            "networkmanagement.projects.locations.global.connectivityTests.list"
        }
        ("GET", true, true) => "networkmanagement.projects.locations.global.connectivityTests.get",
        ("DELETE", true, true) => {
            "networkmanagement.projects.locations.global.connectivityTests.delete"
        }
        ("GET", false, true) => "networkmanagement.projects.locations.global.operations.get",
        _ => "networkmanagement.unknown",
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
    let id = method_id(method, rest);
    shared.count(id);
    let parts: Vec<&str> = rest.split('/').collect();
    let project = parts.get(1).copied().unwrap_or_default();
    shared.access.check(Api::NetworkManagement, project)?;
    if let Some(fault) = shared.faults.retryable() {
        return Err(fault);
    }
    let parent = format!("projects/{project}/locations/global");
    match id.rsplit('.').next().unwrap_or_default() {
        "create" => create(shared, &parent, query, body),
        "list" => list(shared, &parent),
        "get" => get(shared, rest),
        "delete" => delete(shared, &parent, rest),
        _ => Err(ApiError::no_route(method, &format!("/v1/{rest}"))),
    }
}

const TEST_TYPE: &str = "type.googleapis.com/google.cloud.networkmanagement.v1.ConnectivityTest";
const METADATA_TYPE: &str =
    "type.googleapis.com/google.cloud.networkmanagement.v1.OperationMetadata";

/// A test id as the API requires it: lowercase letters, digits and
/// hyphens, 1 to 40 characters, a letter first, a letter or digit last.
fn valid_test_id(id: &str) -> bool {
    let ok_chars = id
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    (1..=40).contains(&id.len())
        && ok_chars
        && id.as_bytes()[0].is_ascii_lowercase()
        && !id.ends_with('-')
}

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::new(400, "INVALID_ARGUMENT", "badRequest", message.into())
}

fn create(
    shared: &Shared,
    parent: &str,
    query: &[(String, String)],
    body: &[u8],
) -> Result<Value, ApiError> {
    let test_id = query
        .iter()
        .find(|(k, _)| k == "testId")
        .map(|(_, v)| v.as_str())
        .unwrap_or_default();
    if !valid_test_id(test_id) {
        return Err(invalid(format!(
            "Invalid test id '{test_id}': it must be 1-40 lowercase letters, digits or hyphens, start with a letter and end with a letter or digit."
        )));
    }
    let mut test: Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::invalid(format!("Invalid JSON payload received. {e}")))?;
    if !test.is_object() {
        return Err(invalid("The request body must be a ConnectivityTest."));
    }
    for side in ["source", "destination"] {
        if !test[side].is_object() {
            return Err(invalid(format!("Field '{side}' is required.")));
        }
    }
    let protocol = test["protocol"].as_str().unwrap_or("TCP").to_string();
    if !["TCP", "UDP", "ICMP", "ESP", "AH", "SCTP", "IPIP"].contains(&protocol.as_str()) {
        return Err(invalid(format!("Unsupported protocol '{protocol}'.")));
    }
    let name = format!("{parent}/connectivityTests/{test_id}");
    let (mut world, now) = shared.world_now()?;
    if world.connectivity.contains_key(&name) {
        return Err(ApiError::new(
            409,
            "ALREADY_EXISTS",
            "alreadyExists",
            format!("Resource '{name}' already exists"),
        ));
    }
    let project = parent.split('/').nth(1).unwrap_or_default();
    let details = trace::analyse(&world, project, &test, &protocol, now);
    let when = timestamp(now);
    test["name"] = json!(name);
    test["protocol"] = json!(protocol);
    test["displayName"] = json!(test_id);
    test["createTime"] = json!(when);
    test["updateTime"] = json!(when);
    test["reachabilityDetails"] = details;
    let op_name = format!("{parent}/operations/operation-{now}-{}", world.next_id);
    world.next_id += 1;
    let op = operation(&op_name, &name, "create", &when, Some(test.clone()));
    world.connectivity.insert(name, test);
    remember(&mut world.connectivity, op_name, op.clone(), now);
    world.commit_connectivity()?;
    Ok(op)
}

/// How long finished operations stay readable.
const OPERATION_RETENTION_MS: u64 = 60 * 60 * 1000;

/// Keeps operation `name` and forgets those older than the retention.
fn remember(
    map: &mut std::collections::BTreeMap<String, Value>,
    name: String,
    op: Value,
    now: u64,
) {
    map.retain(|k, _| {
        let Some((_, rest)) = k.split_once("/operations/operation-") else {
            return true;
        };
        let born: u64 = rest
            .split('-')
            .next()
            .and_then(|t| t.parse().ok())
            .unwrap_or(0);
        now.saturating_sub(born) < OPERATION_RETENTION_MS
    });
    map.insert(name, op);
}

/// A finished long-running operation on `target`.
fn operation(name: &str, target: &str, verb: &str, when: &str, response: Option<Value>) -> Value {
    let mut response =
        response.unwrap_or_else(|| json!({"@type": "type.googleapis.com/google.protobuf.Empty"}));
    if response.get("@type").is_none() {
        response["@type"] = json!(TEST_TYPE);
    }
    json!({
        "name": name,
        "metadata": {
            "@type": METADATA_TYPE,
            "createTime": when,
            "endTime": when,
            "target": target,
            "verb": verb,
            "cancelRequested": false,
            "apiVersion": "v1",
        },
        "done": true,
        "response": response,
    })
}

fn list(shared: &Shared, parent: &str) -> Result<Value, ApiError> {
    let (world, _) = shared.world_now()?;
    let prefix = format!("{parent}/connectivityTests/");
    let tests: Vec<Value> = world
        .connectivity
        .iter()
        .filter(|(k, _)| k.starts_with(&prefix))
        .map(|(_, v)| v.clone())
        .collect();
    Ok(if tests.is_empty() {
        json!({})
    } else {
        json!({ "resources": tests })
    })
}

fn get(shared: &Shared, rest: &str) -> Result<Value, ApiError> {
    let (world, _) = shared.world_now()?;
    world.connectivity.get(rest).cloned().ok_or_else(|| {
        ApiError::new(
            404,
            "NOT_FOUND",
            "notFound",
            format!("Resource '{rest}' was not found"),
        )
    })
}

fn delete(shared: &Shared, parent: &str, rest: &str) -> Result<Value, ApiError> {
    let (mut world, now) = shared.world_now()?;
    if world.connectivity.remove(rest).is_none() {
        return Err(ApiError::new(
            404,
            "NOT_FOUND",
            "notFound",
            format!("Resource '{rest}' was not found"),
        ));
    }
    let op_name = format!("{parent}/operations/operation-{now}-{}", world.next_id);
    world.next_id += 1;
    let op = operation(&op_name, rest, "delete", &timestamp(now_ms()), None);
    remember(&mut world.connectivity, op_name, op.clone(), now);
    world.commit_connectivity()?;
    Ok(op)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_ids_follow_the_apis_rules() {
        assert!(valid_test_id("meshform-verify-0a1b2c"));
        assert!(!valid_test_id("Meshform"));
        assert!(!valid_test_id("1abc"));
        assert!(!valid_test_id("abc-"));
        assert!(!valid_test_id(&"a".repeat(41)));
        assert!(!valid_test_id(""));
    }

    #[test]
    fn only_global_locations_are_network_managements() {
        assert!(handles("projects/p/locations/global/connectivityTests"));
        assert!(handles("projects/p/locations/global/operations/op-1"));
        assert!(!handles("projects/p/locations/europe-west2-a/clusters/c"));
        assert!(!handles("projects/p/locations/europe-west2/operations/op"));
    }
}

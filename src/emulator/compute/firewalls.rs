//! `firewalls` (global): network reference, exactly one of allowed/denied, defaults.

use serde_json::{json, Map, Value};

use super::{existing_ref, Target};
use crate::emulator::errors::ApiError;
use crate::emulator::refs;
use crate::emulator::world::{link, World};

/// Validates and fills defaults (network `global/networks/default`, INGRESS, priority 1000).
///
/// # Errors
/// 404 for a missing network; 400 unless exactly one of `allowed`/`denied` is set.
pub fn prepare_insert(
    world: &World,
    target: &Target,
    body: &mut Map<String, Value>,
) -> Result<(), ApiError> {
    body.entry("network")
        .or_insert(json!("global/networks/default"));
    let network =
        existing_ref(world, &target.project, body, "network", "networks")?.unwrap_or_default();
    body.insert("network".into(), json!(link(&network)));
    check_rules(body)?;
    body.entry("direction").or_insert(json!("INGRESS"));
    body.entry("priority").or_insert(json!(1000));
    body.entry("disabled").or_insert(json!(false));
    body.entry("logConfig").or_insert(json!({"enable": false}));
    let ingress = body["direction"] == "INGRESS";
    let has_source = ["sourceRanges", "sourceTags", "sourceServiceAccounts"]
        .iter()
        .any(|k| body.contains_key(*k));
    if ingress && !has_source {
        body.insert("sourceRanges".into(), json!(["0.0.0.0/0"]));
    }
    if !ingress && !body.contains_key("destinationRanges") {
        body.insert("destinationRanges".into(), json!(["0.0.0.0/0"]));
    }
    Ok(())
}

/// # Errors
/// 400 if the network would change or both `allowed` and `denied` end up set.
pub fn prepare_patch(
    _world: &World,
    target: &Target,
    current: &Value,
    body: &mut Map<String, Value>,
) -> Result<(), ApiError> {
    if let Some(n) = body.remove("network") {
        let same = n
            .as_str()
            .and_then(|s| refs::to_rel(s, &target.project))
            .map(|r| link(&r));
        if same.as_deref() != current["network"].as_str() {
            return Err(ApiError::invalid("Invalid value for field 'resource.network'. The network of a firewall rule cannot be changed."));
        }
    }
    let mut merged = current.as_object().cloned().unwrap_or_default();
    for (k, v) in body.iter() {
        merged.insert(k.clone(), v.clone());
    }
    check_rules(&merged)
}

fn check_rules(body: &Map<String, Value>) -> Result<(), ApiError> {
    let set = |k: &str| {
        body.get(k)
            .and_then(Value::as_array)
            .is_some_and(|a| !a.is_empty())
    };
    match (set("allowed"), set("denied")) {
        (true, true) => Err(ApiError::invalid("Invalid value for field 'resource.denied': ''. Exactly one of allowed or denied must be specified.")),
        (false, false) => Err(ApiError::invalid("Invalid value for field 'resource.allowed': ''. Exactly one of allowed or denied must be specified.")),
        _ => Ok(()),
    }
}

//! `regionBackendServices` (regional; paths `regions/r/backendServices`):
//! health check, backend group and network references; defaults.

use serde_json::{json, Map, Value};

use super::{existing_ref, Target};
use crate::emulator::errors::ApiError;
use crate::emulator::refs;
use crate::emulator::world::{link, World};

/// Resolves every reference to a link; fills the real API's defaults.
///
/// # Errors
/// 404 for a missing health check, backend group or network; 400 for a
/// malformed reference, an INTERNAL service without a health check, or a
/// backend group in another region.
pub fn prepare_insert(
    world: &World,
    target: &Target,
    body: &mut Map<String, Value>,
) -> Result<(), ApiError> {
    body.entry("loadBalancingScheme")
        .or_insert(json!("EXTERNAL"));
    let internal = body["loadBalancingScheme"] == "INTERNAL";
    body.entry("protocol")
        .or_insert(json!(if internal { "TCP" } else { "HTTP" }));
    check_refs(world, target, body)?;
    if internal && !body.contains_key("healthChecks") {
        return Err(ApiError::invalid(
            "Invalid value for field 'resource.healthChecks': ''. Health check must be specified for backend service.",
        ));
    }
    body.entry("sessionAffinity").or_insert(json!("NONE"));
    body.entry("timeoutSec").or_insert(json!(30));
    body.entry("connectionDraining")
        .or_insert(json!({"drainingTimeoutSec": 0}));
    Ok(())
}

/// The references of a patch are checked like those of an insert; the
/// scheme and network cannot change.
///
/// # Errors
/// As [`prepare_insert`]; 400 when the scheme or network would change.
pub fn prepare_patch(
    world: &World,
    target: &Target,
    current: &Value,
    body: &mut Map<String, Value>,
) -> Result<(), ApiError> {
    check_refs(world, target, body)?;
    for field in ["loadBalancingScheme", "network"] {
        if let Some(v) = body.get(field) {
            if v != &current[field] {
                return Err(ApiError::invalid(format!(
                    "Invalid value for field 'resource.{field}': {v}. Field cannot be changed by patch."
                )));
            }
        }
    }
    Ok(())
}

/// Rewrites `healthChecks`, `backends[].group` and `network` as links of
/// existing resources.
fn check_refs(
    world: &World,
    target: &Target,
    body: &mut Map<String, Value>,
) -> Result<(), ApiError> {
    let project = target.project.clone();
    if let Some(checks) = body.get("healthChecks").and_then(Value::as_array).cloned() {
        let mut links = Vec::new();
        for (i, c) in checks.iter().enumerate() {
            let field = format!("resource.healthChecks[{i}]");
            let rel = refs::typed(
                c.as_str().unwrap_or_default(),
                &project,
                "healthChecks",
                &field,
            )?;
            if !world.resources.contains_key(&rel) {
                return Err(ApiError::not_found(&rel));
            }
            links.push(json!(link(&rel)));
        }
        body.insert("healthChecks".into(), Value::Array(links));
    }
    if let Some(Value::Array(backends)) = body.get_mut("backends") {
        for (i, b) in backends.iter_mut().enumerate() {
            let field = format!("resource.backends[{i}].group");
            let group = b["group"].as_str().unwrap_or_default();
            let rel = refs::to_rel(group, &project).ok_or_else(|| {
                ApiError::invalid(format!(
                    "Invalid value for field '{field}': '{group}'. The URL is malformed."
                ))
            })?;
            if !world.resources.contains_key(&rel) {
                return Err(ApiError::not_found(&rel));
            }
            let zone_region = refs::scope_of(&rel)
                .and_then(|s| s.strip_prefix("zones/").map(str::to_string))
                .and_then(|z| crate::emulator::geography::region_of_zone(&z).map(str::to_string));
            if zone_region.as_deref() != target.region() {
                return Err(ApiError::invalid(format!(
                    "Invalid value for field '{field}': '{group}'. The backend group must be in the region of the backend service."
                )));
            }
            b["group"] = json!(link(&rel));
            if b.get("balancingMode").is_none() {
                b["balancingMode"] = json!("CONNECTION");
            }
        }
    }
    if let Some(network) = existing_ref(world, &project, body, "network", "networks")? {
        body.insert("network".into(), json!(link(&network)));
    }
    Ok(())
}

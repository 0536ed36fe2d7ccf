//! `networks` (global): defaults, and the "in use" rule on delete.
//!
//! `autoCreateSubnetworks: true` is accepted but no subnets are created
//! (meshform only uses custom-mode networks).

use serde_json::{json, Map, Value};

use super::{users_of, Target};
use crate::emulator::errors::ApiError;
use crate::emulator::world::{in_collection, link, World};

/// Collections whose resources keep a network in use.
const USERS: &[&str] = &[
    "subnetworks",
    "routers",
    "firewalls",
    "forwardingRules",
    "instances",
];

/// Fills the defaults the real API returns.
///
/// # Errors
/// 400 when `IPv4Range` (legacy networks) is combined with subnet mode.
pub fn prepare_insert(
    _world: &World,
    _target: &Target,
    body: &mut Map<String, Value>,
) -> Result<(), ApiError> {
    if body.contains_key("IPv4Range")
        && body.get("autoCreateSubnetworks").is_some_and(|v| v == true)
    {
        return Err(ApiError::invalid(
            "Invalid value for field 'resource.autoCreateSubnetworks': 'true'. Legacy networks cannot be in subnet mode.",
        ));
    }
    body.entry("autoCreateSubnetworks").or_insert(json!(false));
    body.entry("mtu").or_insert(json!(1460));
    body.entry("networkFirewallPolicyEnforcementOrder")
        .or_insert(json!("AFTER_CLASSIC_FIREWALL"));
    let routing = body.entry("routingConfig").or_insert(json!({}));
    if let Value::Object(r) = routing {
        r.entry("routingMode").or_insert(json!("REGIONAL"));
        r.entry("bgpBestPathSelectionMode")
            .or_insert(json!("LEGACY"));
    }
    Ok(())
}

/// Only mutable fields may change.
///
/// # Errors
/// 400 when the patch tries to change the subnet mode.
pub fn prepare_patch(
    _world: &World,
    _target: &Target,
    current: &Value,
    body: &mut Map<String, Value>,
) -> Result<(), ApiError> {
    if let Some(auto) = body.get("autoCreateSubnetworks") {
        if Some(auto) != current.get("autoCreateSubnetworks") && auto != &json!(true) {
            return Err(ApiError::invalid(
                "Invalid value for field 'resource.autoCreateSubnetworks': 'false'. Cannot switch an auto mode network to custom mode via patch.",
            ));
        }
    }
    body.remove("subnetworks");
    Ok(())
}

/// # Errors
/// 400 `resourceInUseByAnotherResource` while subnets, routers, firewall rules,
/// forwarding rules or instances (existing or being created) refer to the network.
pub fn check_delete(world: &World, target: &Target) -> Result<(), ApiError> {
    match users_of(world, &target.project, USERS, &target.rel) {
        Some(user) => Err(ApiError::in_use(&target.rel, &user)),
        None => Ok(()),
    }
}

/// Adds the output-only `subnetworks` list, computed from the world.
pub fn decorate(world: &World, rel: &str, mut resource: Value) -> Value {
    let project = rel.split('/').nth(1).unwrap_or_default();
    let network = link(rel);
    let subnets: Vec<Value> = world
        .resources
        .iter()
        .filter(|(k, v)| {
            in_collection(k, project, "subnetworks") && v["network"].as_str() == Some(&network)
        })
        .map(|(k, _)| json!(link(k)))
        .collect();
    if !subnets.is_empty() {
        resource["subnetworks"] = Value::Array(subnets);
    }
    resource
}

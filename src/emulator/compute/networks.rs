//! `networks` (global): defaults, and the "in use" rule on delete.
//!
//! `autoCreateSubnetworks: true` is accepted but no subnets are created
//! (meshform only uses custom-mode networks).

use serde_json::{json, Map, Value};

use super::Target;
use crate::emulator::errors::ApiError;
use crate::emulator::world::uses::Uses;
use crate::emulator::world::{in_collection, link, World};

/// Collections whose resources keep a network in use, in the order the
/// error looks for the user it names.
const USERS: &[&str] = &[
    "subnetworks",
    "routers",
    "firewalls",
    "forwardingRules",
    "backendServices",
    "networkEndpointGroups",
    "instances",
    "clusters",
];

/// Fills the defaults the real API returns.
///
/// # Errors
/// 400 when `IPv4Range` (legacy networks) is combined with subnet mode, or
/// for an MTU outside 1300–8896.
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
    check_mtu(body)?;
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

/// Fields `networks.patch` can change. The discovery document says "Only
/// routingConfig can be modified", but that sentence is older than the API:
/// Google documents changing a network's MTU with `gcloud compute networks
/// update --mtu` (a PATCH), and Terraform's provider updates `mtu` and
/// `networkFirewallPolicyEnforcementOrder` in place with PATCH. Everything
/// else (`autoCreateSubnetworks`, which has `switchToCustomMode`,
/// `description`, `IPv4Range`, …) cannot be modified.
const PATCHABLE: &[&str] = &[
    "routingConfig",
    "mtu",
    "networkFirewallPolicyEnforcementOrder",
];

/// Only [`PATCHABLE`] fields may change; sending another field with its
/// current value is accepted, like the real API.
///
/// # Errors
/// 400 `invalid` "cannot be modified" naming every other field that would
/// change; 400 for an MTU outside 1300–8896.
pub fn prepare_patch(
    _world: &World,
    _target: &Target,
    current: &Value,
    body: &mut Map<String, Value>,
) -> Result<(), ApiError> {
    body.remove("subnetworks");
    let changed: Vec<&str> = body
        .iter()
        .filter(|(k, v)| !PATCHABLE.contains(&k.as_str()) && current.get(k.as_str()) != Some(v))
        .map(|(k, _)| k.as_str())
        .collect();
    if !changed.is_empty() {
        return Err(super::cannot_modify(body, &changed));
    }
    check_mtu(body)
}

/// # Errors
/// 400 unless `mtu` (when present) is between 1300 and 8896.
fn check_mtu(body: &Map<String, Value>) -> Result<(), ApiError> {
    match body.get("mtu") {
        Some(v) if !v.as_i64().is_some_and(|m| (1300..=8896).contains(&m)) => {
            Err(ApiError::invalid(format!(
                "Invalid value for field 'resource.mtu': '{v}'. The MTU must be between 1300 and 8896."
            )))
        }
        _ => Ok(()),
    }
}

/// # Errors
/// 400 `resourceInUseByAnotherResource` while subnets, routers, firewall rules,
/// forwarding rules, backend services, network endpoint groups, instances
/// (existing or being created) or GKE clusters refer to the network.
pub fn check_delete(world: &World, target: &Target) -> Result<(), ApiError> {
    let user = Uses::of(world).first_user_in(&target.rel, USERS);
    match user {
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

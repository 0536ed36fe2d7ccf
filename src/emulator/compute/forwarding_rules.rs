//! `forwardingRules` (regional): internal passthrough load balancer front ends.

use serde_json::{json, Map, Value};

use super::subnetworks::allocate_address;
use super::{existing_ref, Target};
use crate::emulator::errors::ApiError;
use crate::emulator::refs;
use crate::emulator::world::{link, World};

/// Resolves subnet and network, allocates `IPAddress`, fills defaults.
///
/// # Errors
/// 404 for a missing subnet or network; 400 for a subnet in another region or network.
pub fn prepare_insert(
    world: &World,
    target: &Target,
    body: &mut Map<String, Value>,
) -> Result<(), ApiError> {
    body.entry("loadBalancingScheme")
        .or_insert(json!("EXTERNAL"));
    body.entry("IPProtocol").or_insert(json!("TCP"));
    let subnet = existing_ref(world, &target.project, body, "subnetwork", "subnetworks")?;
    let mut network = existing_ref(world, &target.project, body, "network", "networks")?;
    if let Some(subnet) = &subnet {
        if refs::scope_of(subnet) != Some(target.scope.clone()) {
            return Err(ApiError::invalid(format!(
                "Invalid value for field 'resource.subnetwork': '{subnet}'. The subnetwork must be in the same region as the forwarding rule."
            )));
        }
        let subnet_network = world
            .resources
            .get(subnet)
            .and_then(|s| s["network"].as_str())
            .and_then(|s| refs::to_rel(s, &target.project));
        if network.is_some() && network != subnet_network {
            return Err(ApiError::invalid("Invalid value for field 'resource.network'. The subnetwork does not belong to the network."));
        }
        network = subnet_network;
        body.insert("subnetwork".into(), json!(link(subnet)));
        let requested = body
            .get("IPAddress")
            .and_then(Value::as_str)
            .map(str::to_string);
        let address = allocate_address(world, &target.project, subnet, requested.as_deref())?;
        body.insert("IPAddress".into(), json!(address));
    } else if body["loadBalancingScheme"] == "INTERNAL" {
        return Err(ApiError::invalid("Invalid value for field 'resource.subnetwork': ''. A subnetwork is required for INTERNAL load balancing."));
    }
    if let Some(network) = network {
        body.insert("network".into(), json!(link(&network)));
    }
    if let Some(bs) = body.get("backendService").and_then(Value::as_str) {
        if let Some(rel) = refs::to_rel(bs, &target.project) {
            body.insert("backendService".into(), json!(link(&rel)));
        }
    }
    body.entry("networkTier").or_insert(json!("PREMIUM"));
    Ok(())
}

/// Only a few fields are patchable on the real API (`allowGlobalAccess`, labels…);
/// the network, subnet and address are immutable.
///
/// # Errors
/// 400 when the patch touches an immutable field.
pub fn prepare_patch(
    _world: &World,
    _target: &Target,
    current: &Value,
    body: &mut Map<String, Value>,
) -> Result<(), ApiError> {
    for field in [
        "network",
        "subnetwork",
        "IPAddress",
        "loadBalancingScheme",
        "IPProtocol",
    ] {
        if let Some(v) = body.get(field) {
            let same = v == &current[field]
                || v.as_str()
                    .zip(current[field].as_str())
                    .is_some_and(|(a, b)| b.ends_with(a));
            if !same {
                return Err(ApiError::invalid(format!("Invalid value for field 'resource.{field}': {v}. Field cannot be changed by patch.")));
            }
            body.remove(field);
        }
    }
    Ok(())
}

//! `routers` (regional) with Cloud NAT (`nats[]`).

use serde_json::{json, Map, Value};

use super::{existing_ref, Target};
use crate::emulator::errors::ApiError;
use crate::emulator::refs;
use crate::emulator::world::{link, World};

/// Validates the network and the NAT configs.
///
/// # Errors
/// 404 for a missing network or NAT subnet; 400 for malformed NATs.
pub fn prepare_insert(
    world: &World,
    target: &Target,
    body: &mut Map<String, Value>,
) -> Result<(), ApiError> {
    let Some(network) = existing_ref(world, &target.project, body, "network", "networks")? else {
        return Err(ApiError::invalid("Invalid value for field 'resource.network': ''. The referenced network resource cannot be found."));
    };
    body.insert("network".into(), json!(link(&network)));
    normalize_nats(world, target, &network, body)
}

/// Validates a patch; `nats` replaces the whole list, as in the real API.
///
/// # Errors
/// As [`prepare_insert`]; 400 if the network would change.
pub fn prepare_patch(
    world: &World,
    target: &Target,
    current: &Value,
    body: &mut Map<String, Value>,
) -> Result<(), ApiError> {
    let network = current["network"]
        .as_str()
        .and_then(|s| refs::to_rel(s, &target.project))
        .unwrap_or_default();
    if let Some(n) = body.remove("network") {
        if n.as_str()
            .and_then(|s| refs::to_rel(s, &target.project))
            .as_deref()
            != Some(network.as_str())
        {
            return Err(ApiError::invalid("Invalid value for field 'resource.network'. The network of a router cannot be changed."));
        }
    }
    normalize_nats(world, target, &network, body)
}

fn normalize_nats(
    world: &World,
    target: &Target,
    network: &str,
    body: &mut Map<String, Value>,
) -> Result<(), ApiError> {
    let Some(Value::Array(nats)) = body.get_mut("nats") else {
        return Ok(());
    };
    let network_link = link(network);
    let mut names = Vec::new();
    for (i, nat) in nats.iter_mut().enumerate() {
        let name = nat["name"].as_str().unwrap_or_default().to_string();
        super::validate_name(&name).map_err(|_| {
            ApiError::invalid(format!("Invalid value for field 'resource.nats[{i}].name': '{name}'. Must be a match of regex '(?:[a-z](?:[-a-z0-9]{{0,61}}[a-z0-9])?)'"))
        })?;
        if names.contains(&name) {
            return Err(ApiError::invalid(format!(
                "Invalid value for field 'resource.nats[{i}].name': '{name}'. Duplicate NAT name."
            )));
        }
        names.push(name);
        if nat["sourceSubnetworkIpRangesToNat"].is_null() {
            return Err(ApiError::invalid(format!("Invalid value for field 'resource.nats[{i}].sourceSubnetworkIpRangesToNat': ''. Required field not set.")));
        }
        if nat["natIpAllocateOption"].is_null() {
            nat["natIpAllocateOption"] = json!("AUTO_ONLY");
        }
        nat_defaults(nat);
        let list_mode = nat["sourceSubnetworkIpRangesToNat"] == "LIST_OF_SUBNETWORKS";
        let Some(subnets) = nat.get_mut("subnetworks").and_then(Value::as_array_mut) else {
            if list_mode {
                return Err(ApiError::invalid(format!("Invalid value for field 'resource.nats[{i}].subnetworks': ''. At least one subnetwork is required with LIST_OF_SUBNETWORKS.")));
            }
            continue;
        };
        for (j, s) in subnets.iter_mut().enumerate() {
            let field = format!("resource.nats[{i}].subnetworks[{j}].name");
            let reference = s["name"].as_str().unwrap_or_default();
            let rel = refs::typed(reference, &target.project, "subnetworks", &field)?;
            let subnet = world
                .resources
                .get(&rel)
                .ok_or_else(|| ApiError::not_found(&rel))?;
            if subnet["network"].as_str() != Some(&network_link)
                || refs::scope_of(&rel) != Some(target.scope.clone())
            {
                return Err(ApiError::invalid(format!(
                    "Invalid value for field '{field}': '{reference}'. The subnetwork must be in the router's network and region."
                )));
            }
            s["name"] = json!(link(&rel));
        }
    }
    Ok(())
}

/// The fields Google fills on a NAT the client left out (`gcloud compute
/// routers nats describe` shows them): a public NAT for VMs, endpoint
/// independent mapping off, and the premium tier for auto-allocated IPs.
fn nat_defaults(nat: &mut Value) {
    let Value::Object(map) = nat else {
        return;
    };
    map.entry("type").or_insert(json!("PUBLIC"));
    map.entry("endpointTypes")
        .or_insert(json!(["ENDPOINT_TYPE_VM"]));
    map.entry("enableEndpointIndependentMapping")
        .or_insert(json!(false));
    if map.get("natIpAllocateOption") == Some(&json!("AUTO_ONLY")) {
        map.entry("autoNetworkTier").or_insert(json!("PREMIUM"));
    }
}

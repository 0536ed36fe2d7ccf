//! `networkEndpointGroups` (zonal): network and subnet references, the
//! endpoint type, an empty group.

use serde_json::{json, Map, Value};

use super::{existing_ref, Target};
use crate::emulator::errors::ApiError;
use crate::emulator::refs;
use crate::emulator::world::{link, World};

/// Resolves the network (default: the subnet's) and subnet; fills defaults.
///
/// # Errors
/// 404 for a missing network or subnet; 400 for a subnet in another region
/// or network, or a zonal type without a network.
pub fn prepare_insert(
    world: &World,
    target: &Target,
    body: &mut Map<String, Value>,
) -> Result<(), ApiError> {
    body.entry("networkEndpointType")
        .or_insert(json!("GCE_VM_IP_PORT"));
    let subnet = existing_ref(world, &target.project, body, "subnetwork", "subnetworks")?;
    let mut network = existing_ref(world, &target.project, body, "network", "networks")?;
    if let Some(subnet) = &subnet {
        if refs::scope_of(subnet).as_deref()
            != target.region().map(|r| format!("regions/{r}")).as_deref()
        {
            return Err(ApiError::invalid(format!(
                "Invalid value for field 'resource.subnetwork': '{subnet}'. The subnetwork must be in the region of the zone."
            )));
        }
        let subnet_network = world.resources[subnet]["network"]
            .as_str()
            .and_then(|n| refs::to_rel(n, &target.project));
        if network.is_some() && network != subnet_network {
            return Err(ApiError::invalid(
                "Invalid value for field 'resource.network'. The subnetwork does not belong to the network.",
            ));
        }
        network = subnet_network;
        body.insert("subnetwork".into(), json!(link(subnet)));
    }
    match network {
        Some(network) => {
            body.insert("network".into(), json!(link(&network)));
        }
        None => {
            return Err(ApiError::invalid(
                "Invalid value for field 'resource.network': ''. A network is required for a zonal network endpoint group.",
            ))
        }
    }
    body.insert("size".into(), json!(0));
    Ok(())
}

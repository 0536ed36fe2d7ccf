//! `instances` (zonal): a bastion VM. Its NICs must use subnets of the zone's region.

use serde_json::{json, Map, Value};

use super::subnetworks::allocate_address;
use super::Target;
use crate::emulator::errors::ApiError;
use crate::emulator::refs;
use crate::emulator::world::{link, World};

/// Resolves NIC subnets and networks, allocates `networkIP`, fills defaults.
///
/// # Errors
/// 404 for a missing subnet/network; 400 for a subnet outside the zone's region
/// or an instance without NICs or machine type.
pub fn prepare_insert(
    world: &World,
    target: &Target,
    body: &mut Map<String, Value>,
) -> Result<(), ApiError> {
    let region = target.region().unwrap_or_default().to_string();
    let zone = target.scope.trim_start_matches("zones/").to_string();
    let machine = body
        .get("machineType")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    if machine.is_empty() {
        return Err(ApiError::invalid(
            "Invalid value for field 'resource.machineType': ''. Machine type must be specified.",
        ));
    }
    let machine_rel = refs::to_rel(&machine, &target.project).unwrap_or_else(|| {
        format!(
            "projects/{}/zones/{zone}/machineTypes/{machine}",
            target.project
        )
    });
    body.insert("machineType".into(), json!(link(&machine_rel)));
    let Some(Value::Array(nics)) = body.get("networkInterfaces").cloned() else {
        return Err(ApiError::invalid("Invalid value for field 'resource.networkInterfaces': ''. At least one network interface is required."));
    };
    let mut out = Vec::new();
    let mut taken: Vec<String> = Vec::new();
    for (i, mut nic) in nics.into_iter().enumerate() {
        let field = format!("resource.networkInterfaces[{i}].subnetwork");
        let subnet = match nic["subnetwork"].as_str() {
            Some(s) => Some(refs::typed(s, &target.project, "subnetworks", &field)?),
            None => None,
        };
        let mut network = match nic["network"].as_str() {
            Some(n) => Some(refs::typed(
                n,
                &target.project,
                "networks",
                &format!("resource.networkInterfaces[{i}].network"),
            )?),
            None => None,
        };
        if let Some(n) = &network {
            if !world.resources.contains_key(n) {
                return Err(ApiError::not_found(n));
            }
        }
        let Some(subnet) = subnet else {
            return Err(ApiError::invalid(format!(
                "Invalid value for field '{field}': ''. Custom-mode networks require a subnetwork."
            )));
        };
        let subnet_json = world
            .resources
            .get(&subnet)
            .ok_or_else(|| ApiError::not_found(&subnet))?;
        if refs::scope_of(&subnet).as_deref() != Some(&format!("regions/{region}")) {
            return Err(ApiError::invalid(format!(
                "Invalid value for field '{field}': '{subnet}'. Subnetwork must be in region '{region}' of zone '{zone}'."
            )));
        }
        let subnet_network = subnet_json["network"]
            .as_str()
            .and_then(|s| refs::to_rel(s, &target.project));
        if network.is_some() && network != subnet_network {
            return Err(ApiError::invalid(format!(
                "Invalid value for field '{field}'. The subnetwork does not belong to the network."
            )));
        }
        network = subnet_network;
        let requested = nic["networkIP"].as_str().map(str::to_string);
        let ip = allocate_address(world, &target.project, &subnet, requested.as_deref()).and_then(
            |ip| {
                if taken.contains(&ip) {
                    Err(ApiError::invalid(format!(
                        "IP address '{ip}' is already being used by another resource."
                    )))
                } else {
                    Ok(ip)
                }
            },
        )?;
        taken.push(ip.clone());
        nic["subnetwork"] = json!(link(&subnet));
        nic["network"] = json!(link(&network.unwrap_or_default()));
        nic["networkIP"] = json!(ip);
        nic["name"] = json!(format!("nic{i}"));
        nic["kind"] = json!("compute#networkInterface");
        nic["stackType"] = json!("IPV4_ONLY");
        out.push(nic);
    }
    body.insert("networkInterfaces".into(), Value::Array(out));
    body.insert("status".into(), json!("RUNNING"));
    // `default` names the project's Compute Engine default service account,
    // which the real API stores by its email.
    if let Some(Value::Array(accounts)) = body.get_mut("serviceAccounts") {
        let number = crate::emulator::serviceusage::project_number(&target.project);
        for account in accounts.iter_mut().filter(|a| a["email"] == "default") {
            account["email"] = json!(format!("{number}-compute@developer.gserviceaccount.com"));
        }
    }
    body.entry("canIpForward").or_insert(json!(false));
    body.entry("deletionProtection").or_insert(json!(false));
    Ok(())
}

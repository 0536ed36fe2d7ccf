//! `subnetworks` (regional): CIDR rules, overlap checks, gateway address,
//! fingerprint-guarded patch, and the "in use" rule on delete. Also hands out
//! internal addresses for forwarding rules and instances.

use std::net::Ipv4Addr;

use ipnet::Ipv4Net;
use serde_json::{json, Map, Value};

use super::{existing_ref, Target};
use crate::emulator::errors::ApiError;
use crate::emulator::refs;
use crate::emulator::world::uses::Uses;
use crate::emulator::world::{link, normalize_base64, World};

/// Fields `patch` cannot change (see [`prepare_patch`]).
const IMMUTABLE: &[&str] = &[
    "ipCidrRange",
    "network",
    "gatewayAddress",
    "privateIpGoogleAccess",
    "purpose",
];

/// Collections whose resources keep a subnet in use, in the order the error
/// looks for the user it names.
const USERS: &[&str] = &[
    "forwardingRules",
    "networkEndpointGroups",
    "instances",
    "routers",
    "clusters",
];

/// Validates the network reference, the ranges and their overlaps; sets defaults.
///
/// # Errors
/// 400 for a missing/malformed field or an overlapping range, 404 for a missing network.
pub fn prepare_insert(
    world: &World,
    target: &Target,
    body: &mut Map<String, Value>,
) -> Result<(), ApiError> {
    let Some(network) = existing_ref(world, &target.project, body, "network", "networks")? else {
        return Err(ApiError::invalid("Invalid value for field 'resource.network': ''. The referenced network resource cannot be found."));
    };
    body.insert("network".into(), json!(link(&network)));
    let primary = parse_cidr(body.get("ipCidrRange"), "resource.ipCidrRange")?;
    let secondary = secondary_ranges(body.get("secondaryIpRanges"))?;
    check_ranges(world, target, &network, primary, &secondary)?;
    let gateway = Ipv4Addr::from(u32::from(primary.network()) + 1);
    body.insert("ipCidrRange".into(), json!(primary.to_string()));
    body.insert("gatewayAddress".into(), json!(gateway.to_string()));
    body.entry("privateIpGoogleAccess").or_insert(json!(false));
    body.entry("purpose").or_insert(json!("PRIVATE"));
    body.entry("stackType").or_insert(json!("IPV4_ONLY"));
    body.entry("privateIpv6GoogleAccess")
        .or_insert(json!("DISABLE_GOOGLE_ACCESS"));
    Ok(())
}

/// Requires the current fingerprint; rechecks changed secondary ranges.
///
/// # Errors
/// 412 `conditionNotMet` for a stale or missing fingerprint; 400 when a field
/// in [`IMMUTABLE`] changes or ranges overlap.
pub fn prepare_patch(
    world: &World,
    target: &Target,
    current: &Value,
    body: &mut Map<String, Value>,
) -> Result<(), ApiError> {
    let sent = body
        .get("fingerprint")
        .and_then(Value::as_str)
        .map(normalize_base64);
    let have = current["fingerprint"].as_str().map(normalize_base64);
    match sent {
        None => {
            return Err(ApiError::condition_not_met(
                "Supplied fingerprint does not match current resource fingerprint. Fingerprint must be specified.",
            ))
        }
        Some(f) if Some(&f) != have.as_ref() => {
            return Err(ApiError::condition_not_met(
                "Supplied fingerprint does not match current resource fingerprint.",
            ))
        }
        Some(_) => {}
    }
    // Fields patch cannot change; the real API answers 400 "cannot be
    // modified" when one of them differs and accepts the current value.
    // `ipCidrRange` changes through expandIpCidrRange and
    // `privateIpGoogleAccess` through setPrivateIpGoogleAccess, as the
    // discovery document's field descriptions say.
    let changed: Vec<&str> = IMMUTABLE
        .iter()
        .copied()
        .filter(|field| {
            body.get(*field).is_some_and(|v| match *field {
                "network" => {
                    v.as_str()
                        .and_then(|s| refs::to_rel(s, &target.project))
                        .map(|r| link(&r))
                        .as_deref()
                        != current[*field].as_str()
                }
                _ => Some(v) != current.get(*field),
            })
        })
        .collect();
    if !changed.is_empty() {
        return Err(super::cannot_modify(body, &changed));
    }
    for field in IMMUTABLE {
        body.remove(*field);
    }
    if body.contains_key("secondaryIpRanges") {
        let network = current["network"]
            .as_str()
            .and_then(|s| refs::to_rel(s, &target.project))
            .unwrap_or_default();
        let primary = parse_cidr(current.get("ipCidrRange"), "resource.ipCidrRange")?;
        let secondary = secondary_ranges(body.get("secondaryIpRanges"))?;
        check_ranges(world, target, &network, primary, &secondary)?;
    }
    Ok(())
}

/// The patch a `setPrivateIpGoogleAccess` request applies.
///
/// # Errors
/// 400 when `privateIpGoogleAccess` is missing: the emulator requires it
/// (meshform and gcloud always send it; the real API's answer to an empty
/// body is not documented).
pub fn private_ip_google_access_patch(body: &Value) -> Result<Value, ApiError> {
    match body.get("privateIpGoogleAccess").and_then(Value::as_bool) {
        Some(on) => Ok(json!({ "privateIpGoogleAccess": on })),
        None => Err(ApiError::invalid(
            "Required field 'privateIpGoogleAccess' not specified",
        )),
    }
}

/// # Errors
/// 400 `resourceInUseByAnotherResource` while forwarding rules, network
/// endpoint groups, instances, router NATs or GKE clusters refer to the subnet.
pub fn check_delete(world: &World, target: &Target) -> Result<(), ApiError> {
    let user = Uses::of(world).first_user_in(&target.rel, USERS);
    match user {
        Some(user) => Err(ApiError::in_use(&target.rel, &user)),
        None => Ok(()),
    }
}

fn parse_cidr(value: Option<&Value>, field: &str) -> Result<Ipv4Net, ApiError> {
    let text = value.and_then(Value::as_str).unwrap_or_default();
    let net: Ipv4Net = text.parse().map_err(|_| {
        ApiError::invalid(format!(
            "Invalid value for field '{field}': '{text}'. Invalid IPCidrRange: {text}."
        ))
    })?;
    if net.trunc() != net {
        return Err(ApiError::invalid(format!(
            "Invalid value for field '{field}': '{text}'. IPCidrRange {text} has host bits set; use {}.",
            net.trunc()
        )));
    }
    if !(8..=29).contains(&net.prefix_len()) {
        return Err(ApiError::invalid(format!(
            "Invalid value for field '{field}': '{text}'. The prefix length must be between /8 and /29."
        )));
    }
    Ok(net)
}

fn secondary_ranges(value: Option<&Value>) -> Result<Vec<(String, Ipv4Net)>, ApiError> {
    let mut out: Vec<(String, Ipv4Net)> = Vec::new();
    for (i, r) in value
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        let name = r["rangeName"].as_str().unwrap_or_default().to_string();
        if super::validate_name(&name).is_err() {
            return Err(ApiError::invalid(format!(
                "Invalid value for field 'resource.secondaryIpRanges[{i}].rangeName': '{name}'. Must be a match of regex '(?:[a-z](?:[-a-z0-9]{{0,61}}[a-z0-9])?)'"
            )));
        }
        if out.iter().any(|(n, _)| *n == name) {
            return Err(ApiError::invalid(format!(
                "Invalid value for field 'resource.secondaryIpRanges[{i}].rangeName': '{name}'. Duplicate range name."
            )));
        }
        let net = parse_cidr(
            r.get("ipCidrRange"),
            &format!("resource.secondaryIpRanges[{i}].ipCidrRange"),
        )?;
        out.push((name, net));
    }
    Ok(out)
}

fn overlaps(a: &Ipv4Net, b: &Ipv4Net) -> bool {
    a.contains(&b.network()) || b.contains(&a.network())
}

/// All ranges (primary and secondary) of a subnet JSON.
fn ranges_of(subnet: &Value) -> Vec<Ipv4Net> {
    let primary = subnet["ipCidrRange"].as_str().and_then(|s| s.parse().ok());
    let secondary = subnet["secondaryIpRanges"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r["ipCidrRange"].as_str().and_then(|s| s.parse().ok()));
    primary.into_iter().chain(secondary).collect()
}

fn check_ranges(
    world: &World,
    target: &Target,
    network: &str,
    primary: Ipv4Net,
    secondary: &[(String, Ipv4Net)],
) -> Result<(), ApiError> {
    let own: Vec<Ipv4Net> = std::iter::once(primary)
        .chain(secondary.iter().map(|(_, n)| *n))
        .collect();
    for (i, a) in own.iter().enumerate() {
        if let Some(b) = own[i + 1..].iter().find(|b| overlaps(a, b)) {
            return Err(ApiError::invalid(format!(
                "Invalid IPCidrRange: {b} conflicts with existing subnetwork range {a} in the same subnetwork '{}'.",
                target.rel
            )));
        }
    }
    let network_link = link(network);
    for (rel, other) in world.existing_and_pending(&target.project, "subnetworks") {
        if rel == target.rel || other["network"].as_str() != Some(&network_link) {
            continue;
        }
        for theirs in ranges_of(other) {
            if let Some(mine) = own.iter().find(|m| overlaps(m, &theirs)) {
                return Err(ApiError::invalid(format!(
                    "Invalid IPCidrRange: {mine} conflicts with existing subnetwork '{rel}' in region '{}'.",
                    refs::scope_of(rel).unwrap_or_default().trim_start_matches("regions/")
                )));
            }
        }
    }
    Ok(())
}

/// Picks (or checks) an internal address in `subnet` for a new forwarding rule or instance.
///
/// # Errors
/// 400 if `requested` is outside the primary range or taken, or the range is full.
pub fn allocate_address(
    world: &World,
    project: &str,
    subnet_rel: &str,
    requested: Option<&str>,
) -> Result<String, ApiError> {
    let subnet = world
        .resources
        .get(subnet_rel)
        .ok_or_else(|| ApiError::not_found(subnet_rel))?;
    let range: Ipv4Net = subnet["ipCidrRange"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| ApiError::not_found(subnet_rel))?;
    let subnet_link = link(subnet_rel);
    let mut used: Vec<String> = vec![subnet["gatewayAddress"]
        .as_str()
        .unwrap_or_default()
        .to_string()];
    for (_, fr) in world.existing_and_pending(project, "forwardingRules") {
        if fr["subnetwork"].as_str() == Some(&subnet_link) {
            used.extend(fr["IPAddress"].as_str().map(str::to_string));
        }
    }
    for (_, vm) in world.existing_and_pending(project, "instances") {
        for nic in vm["networkInterfaces"].as_array().into_iter().flatten() {
            if nic["subnetwork"].as_str() == Some(&subnet_link) {
                used.extend(nic["networkIP"].as_str().map(str::to_string));
            }
        }
    }
    if let Some(addr) = requested {
        let ip: Ipv4Addr = addr.parse().map_err(|_| {
            ApiError::invalid(format!(
                "Invalid value for field 'resource.IPAddress': '{addr}'. Invalid IP address."
            ))
        })?;
        if !range.contains(&ip) {
            return Err(ApiError::invalid(format!(
                "IP address '{addr}' is not in the subnetwork's range {range}."
            )));
        }
        if used.iter().any(|u| u == addr) {
            return Err(ApiError::invalid(format!(
                "IP address '{addr}' is already being used by another resource."
            )));
        }
        return Ok(addr.to_string());
    }
    let first = u32::from(range.network()) + 2;
    let last = u32::from(range.broadcast()).saturating_sub(2);
    (first..=last)
        .map(|n| Ipv4Addr::from(n).to_string())
        .find(|candidate| !used.contains(candidate))
        .ok_or_else(|| ApiError::invalid(format!("IP space of '{subnet_rel}' is exhausted.")))
}

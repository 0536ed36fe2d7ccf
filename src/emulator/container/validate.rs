//! The rules a cluster create must pass, checked against the shared world:
//! location, name, network and subnetwork (which must exist, the subnet in
//! the cluster's region), IP aliases naming existing secondary ranges,
//! the master /28 (no overlap with subnet ranges of the network or other
//! clusters' masters), private nodes only with IP aliases, authorized
//! networks as CIDRs.

use ipnet::Ipv4Net;
use serde_json::{Map, Value};

use super::errors::invalid;
use crate::emulator::errors::ApiError;
use crate::emulator::geography;
use crate::emulator::refs;
use crate::emulator::world::{in_collection, link, World};

/// Where a cluster lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placement {
    /// The region (of the zone, for a zonal cluster).
    pub region: String,
    /// Whether the location is a zone.
    pub zonal: bool,
}

/// # Errors
/// 400 unless `location` is a known zone or region.
pub fn location(location: &str) -> Result<Placement, ApiError> {
    if let Some(region) = geography::region_of_zone(location) {
        return Ok(Placement {
            region: region.to_string(),
            zonal: true,
        });
    }
    if geography::is_region(location) {
        return Ok(Placement {
            region: location.to_string(),
            zonal: false,
        });
    }
    Err(invalid(format!("Location \"{location}\" does not exist.")))
}

/// # Errors
/// 400 unless the name is 1–40 of `[a-z0-9-]`, starting with a letter and
/// not ending with `-`.
pub fn name(name: &str) -> Result<(), ApiError> {
    let b = name.as_bytes();
    let ok = !b.is_empty()
        && b.len() <= 40
        && b[0].is_ascii_lowercase()
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        && b.last().is_some_and(|c| *c != b'-');
    if ok {
        Ok(())
    } else {
        Err(invalid(format!(
            "Invalid value for field \"cluster.name\": \"{name}\". Must be a match of regex '(?:[a-z](?:[-a-z0-9]{{0,38}}[a-z0-9])?)' (only alphanumerics and '-' allowed, must start with a letter and end with an alphanumeric, and must be no longer than 40 characters)."
        )))
    }
}

/// The network and subnetwork a cluster uses.
#[derive(Debug, Clone)]
pub struct Network {
    /// `projects/p/global/networks/n`.
    pub network: String,
    /// `projects/p/regions/r/subnetworks/s`.
    pub subnet: String,
    /// The subnet as compute stores it.
    pub subnet_json: Value,
}

/// Resolves `cluster.network` (default `default`) and `cluster.subnetwork`.
///
/// # Errors
/// 400 when the network does not exist, the subnet is missing, does not
/// exist, is in another region or belongs to another network.
pub fn network(
    world: &World,
    project: &str,
    region: &str,
    cluster: &Map<String, Value>,
) -> Result<Network, ApiError> {
    let given = cluster
        .get("network")
        .and_then(Value::as_str)
        .or_else(|| cluster["networkConfig"]["network"].as_str())
        .unwrap_or("default");
    let network = resolve(
        given,
        project,
        &format!("projects/{project}/global/networks/"),
    )
    .ok_or_else(|| invalid(format!("Network \"{given}\" does not exist.")))?;
    if !network.starts_with(&format!("projects/{project}/global/networks/"))
        || !world.resources.contains_key(&network)
    {
        return Err(invalid(format!("Network \"{given}\" does not exist.")));
    }
    let Some(given_subnet) = cluster
        .get("subnetwork")
        .and_then(Value::as_str)
        .or_else(|| cluster["networkConfig"]["subnetwork"].as_str())
    else {
        return Err(invalid(format!(
            "Network \"{}\" is a custom mode network: a subnetwork must be specified.",
            refs::name_of(&network)
        )));
    };
    let subnet = resolve(
        given_subnet,
        project,
        &format!("projects/{project}/regions/{region}/subnetworks/"),
    )
    .ok_or_else(|| invalid(format!("Subnetwork \"{given_subnet}\" does not exist.")))?;
    let parts: Vec<&str> = subnet.split('/').collect();
    if parts.len() != 6 || parts[2] != "regions" || parts[4] != "subnetworks" {
        return Err(invalid(format!(
            "Subnetwork \"{given_subnet}\" does not exist."
        )));
    }
    if parts[3] != region {
        return Err(invalid(format!(
            "Subnetwork \"{given_subnet}\" is in region \"{}\", not in the cluster's region \"{region}\".",
            parts[3]
        )));
    }
    let subnet_json = world
        .resources
        .get(&subnet)
        .cloned()
        .ok_or_else(|| invalid(format!("Subnetwork \"{given_subnet}\" does not exist.")))?;
    if subnet_json["network"].as_str() != Some(link(&network).as_str()) {
        return Err(invalid(format!(
            "Subnetwork \"{given_subnet}\" does not belong to network \"{}\".",
            refs::name_of(&network)
        )));
    }
    Ok(Network {
        network,
        subnet,
        subnet_json,
    })
}

/// A short name (under `short_prefix`), a path, or a URL → a relative path.
fn resolve(given: &str, project: &str, short_prefix: &str) -> Option<String> {
    if given.is_empty() {
        return None;
    }
    if !given.contains('/') {
        return Some(format!("{short_prefix}{given}"));
    }
    refs::to_rel(given, project)
}

/// The pod and services ranges of a VPC-native cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Aliases {
    /// `(range name, CIDR)` of the pods.
    pub pods: (String, String),
    /// `(range name, CIDR)` of the services.
    pub services: (String, String),
    /// The ranges GKE adds to the subnet for this cluster (`(name, CIDR)`),
    /// when the request gave blocks or sizes instead of range names.
    pub managed: Vec<(String, String)>,
}

/// Checks `ipAllocationPolicy` against the subnet; `None` without IP
/// aliases. A range given by name must be a secondary range of the subnet;
/// one given as a block, a size or nothing is GKE-managed (see
/// `managed_ranges.rs`).
///
/// # Errors
/// 400 when a named range is not a secondary range of the subnet, both are
/// the same, the pod range is used by another cluster, or a block is bad.
pub fn ip_aliases(
    world: &World,
    project: &str,
    net: &Network,
    cluster: &Map<String, Value>,
    key: &str,
) -> Result<Option<Aliases>, ApiError> {
    let policy = cluster
        .get("ipAllocationPolicy")
        .cloned()
        .unwrap_or_default();
    if policy["useIpAliases"] != true {
        return Ok(None);
    }
    let subnet_name = refs::name_of(&net.subnet);
    let named = |field: &str| -> Result<Option<(String, String)>, ApiError> {
        let Some(name) = policy[field].as_str().filter(|n| !n.is_empty()) else {
            return Ok(None);
        };
        net.subnet_json["secondaryIpRanges"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|r| r["rangeName"].as_str() == Some(name))
            .and_then(|r| r["ipCidrRange"].as_str())
            .map(|cidr| Some((name.to_string(), cidr.to_string())))
            .ok_or_else(|| {
                invalid(format!(
                    "Secondary range \"{name}\" does not exist in network \"{}\", subnetwork \"{subnet_name}\".",
                    refs::name_of(&net.network)
                ))
            })
    };
    let (pods_named, services_named) = (
        named("clusterSecondaryRangeName")?,
        named("servicesSecondaryRangeName")?,
    );
    let mut managed = Vec::new();
    let (pods, services) = match (pods_named, services_named) {
        (Some(p), Some(s)) => (p, s),
        (p, s) => {
            let (pods_block, services_block) =
                super::managed_ranges::blocks(world, project, &net.network, &policy)?;
            let cluster_name = cluster
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let (pods_name, services_name) = super::managed_ranges::range_names(cluster_name, key);
            let pods = p.unwrap_or_else(|| {
                managed.push((pods_name.clone(), pods_block.to_string()));
                (pods_name, pods_block.to_string())
            });
            let services = s.unwrap_or_else(|| {
                managed.push((services_name.clone(), services_block.to_string()));
                (services_name, services_block.to_string())
            });
            (pods, services)
        }
    };
    if pods.0 == services.0 {
        return Err(invalid(format!(
            "Cluster and services secondary ranges must differ; both are \"{}\".",
            pods.0
        )));
    }
    let taken = world
        .resources
        .iter()
        .filter(|(k, _)| in_collection(k, project, "clusters"))
        .find(|(_, c)| {
            c["networkConfig"]["subnetwork"].as_str() == Some(net.subnet.as_str())
                && c["ipAllocationPolicy"]["clusterSecondaryRangeName"].as_str()
                    == Some(pods.0.as_str())
        });
    if let Some((other, _)) = taken {
        return Err(invalid(format!(
            "Secondary range \"{}\" of subnetwork \"{subnet_name}\" is already used by cluster \"{}\".",
            pods.0,
            refs::name_of(other)
        )));
    }
    Ok(Some(Aliases {
        pods,
        services,
        managed,
    }))
}

/// Checks `privateClusterConfig`: private nodes need IP aliases; the master
/// block is a /28 that overlaps no subnet range of the network and no other
/// cluster's master block in it. Returns the block.
///
/// # Errors
/// 400 for each broken rule.
pub fn private_cluster(
    world: &World,
    project: &str,
    net: &Network,
    cluster: &Map<String, Value>,
    aliases: Option<&Aliases>,
) -> Result<Option<Ipv4Net>, ApiError> {
    let config = cluster
        .get("privateClusterConfig")
        .cloned()
        .unwrap_or_default();
    if config["enablePrivateNodes"] == true && aliases.is_none() {
        return Err(invalid(
            "Cluster.ip_allocation_policy.use_ip_aliases must be true when PrivateClusterConfig.enable_private_nodes is true.",
        ));
    }
    let Some(text) = config["masterIpv4CidrBlock"].as_str() else {
        return Ok(None);
    };
    let block: Ipv4Net = text
        .parse()
        .ok()
        .filter(|b: &Ipv4Net| b.prefix_len() == 28 && b.trunc() == *b)
        .ok_or_else(|| {
            invalid(format!(
                "Invalid value for field \"cluster.private_cluster_config.master_ipv4_cidr_block\": \"{text}\". It must be a /28 CIDR block with no host bits set."
            ))
        })?;
    for (owner, range) in ranges_in_network(world, project, &net.network) {
        if !overlaps(&range, &block) {
            continue;
        }
        return Err(invalid(match owner {
            RangeOwner::Subnet(rel) => format!(
                "The master CIDR block {block} overlaps with range {range} of subnetwork \"{}\" in network \"{}\".",
                refs::name_of(&rel),
                refs::name_of(&net.network)
            ),
            RangeOwner::Cluster(rel) => format!(
                "The master CIDR block {block} overlaps with the master CIDR block {range} of cluster \"{}\" in network \"{}\".",
                refs::name_of(&rel),
                refs::name_of(&net.network)
            ),
        }));
    }
    Ok(Some(block))
}

/// What holds a range in a network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RangeOwner {
    /// A subnet (primary or secondary range), by relative path.
    Subnet(String),
    /// A cluster's control-plane block, by relative path.
    Cluster(String),
}

/// Every range in use in `network` (`projects/p/global/networks/n`): subnet
/// primary and secondary ranges (also of subnets still being created) and
/// the clusters' control-plane blocks.
pub fn ranges_in_network(
    world: &World,
    project: &str,
    network: &str,
) -> Vec<(RangeOwner, Ipv4Net)> {
    let network_link = link(network);
    let mut out = Vec::new();
    for (rel, subnet) in world.existing_and_pending(project, "subnetworks") {
        if subnet["network"].as_str() != Some(network_link.as_str()) {
            continue;
        }
        let primary = subnet["ipCidrRange"].as_str();
        let secondary = subnet["secondaryIpRanges"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|r| r["ipCidrRange"].as_str());
        for range in primary.into_iter().chain(secondary) {
            if let Ok(r) = range.parse::<Ipv4Net>() {
                out.push((RangeOwner::Subnet(rel.to_string()), r));
            }
        }
    }
    for (rel, cluster) in world
        .resources
        .iter()
        .filter(|(k, _)| in_collection(k, project, "clusters"))
    {
        if cluster["networkConfig"]["network"].as_str() != Some(network) {
            continue;
        }
        let block = cluster["privateClusterConfig"]["masterIpv4CidrBlock"]
            .as_str()
            .and_then(|s| s.parse::<Ipv4Net>().ok());
        if let Some(b) = block {
            out.push((RangeOwner::Cluster(rel.clone()), b));
        }
    }
    out
}

/// Whether two blocks share an address.
pub fn overlaps(a: &Ipv4Net, b: &Ipv4Net) -> bool {
    a.contains(&b.network()) || b.contains(&a.network())
}

/// Checks the CIDR blocks of a `MasterAuthorizedNetworksConfig`.
///
/// # Errors
/// 400 naming the first block that is not an IPv4 CIDR.
pub fn authorized_networks(config: &Value, field: &str) -> Result<(), ApiError> {
    for (i, block) in config["cidrBlocks"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
    {
        let cidr = block["cidrBlock"].as_str().unwrap_or_default();
        if cidr.parse::<Ipv4Net>().is_err() {
            return Err(invalid(format!(
                "Invalid value for field \"{field}.cidr_blocks[{i}].cidr_block\": \"{cidr}\". It must be a CIDR block."
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_and_names() {
        assert!(location("europe-west2-a").is_ok_and(|p| p.zonal && p.region == "europe-west2"));
        assert!(location("europe-west2").is_ok_and(|p| !p.zonal));
        assert_eq!(location("europe-west2-z").unwrap_err().code, 400);
        assert!(name("istio-cluster1").is_ok());
        for bad in ["", "1a", "a-", "A", &"a".repeat(41)] {
            assert!(name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn authorized_networks_must_be_cidrs() {
        let ok = serde_json::json!({"cidrBlocks": [{"cidrBlock": "10.0.0.0/8"}]});
        authorized_networks(&ok, "cluster.master_authorized_networks_config").expect("valid");
        let bad = serde_json::json!({"cidrBlocks": [{"cidrBlock": "10.0.0.0/33"}]});
        assert!(authorized_networks(&bad, "x").is_err());
    }
}

//! GKE-managed secondary ranges: a cluster created with `useIpAliases` and
//! `clusterIpv4CidrBlock` / `servicesIpv4CidrBlock` (a CIDR, a `/N` size,
//! or empty) but no range names gets two secondary ranges added to its
//! subnet, named as GKE names them (`gke-<cluster>-pods-<8 hex>`,
//! `gke-<cluster>-services-<8 hex>`), and loses them again when it is
//! deleted (`controllers/cluster_ranges.rs`). A size alone is allocated from 10.0.0.0/8 where nothing in the
//! network overlaps.

use ipnet::Ipv4Net;
use serde_json::{json, Value};

use super::errors::invalid;
use super::validate::{overlaps, ranges_in_network};
use crate::emulator::errors::ApiError;
use crate::emulator::world::World;

/// GKE's default sizes when a block is left empty: /14 for pods, /20 for services.
const DEFAULT_PODS: u8 = 14;
const DEFAULT_SERVICES: u8 = 20;

/// The block for `given` (`"10.4.0.0/14"`, `"/14"` or `""`), free of `taken`.
///
/// # Errors
/// 400 for a value that is no CIDR or size, a CIDR that overlaps a range in
/// use, or no free block of that size.
pub fn allocate(
    given: &str,
    default_len: u8,
    taken: &[Ipv4Net],
    field: &str,
) -> Result<Ipv4Net, ApiError> {
    let bad = || {
        invalid(format!(
            "Invalid value for field \"cluster.ip_allocation_policy.{field}\": \"{given}\". It must be a CIDR block (e.g. 10.96.0.0/14), a netmask size (e.g. /14), or empty."
        ))
    };
    if let Some(len) = given.strip_prefix('/') {
        let len: u8 = len
            .parse()
            .ok()
            .filter(|l| (8..=28).contains(l))
            .ok_or_else(bad)?;
        return first_free(len, taken).ok_or_else(|| {
            invalid(format!(
                "No free /{len} block in 10.0.0.0/8 for cluster.ip_allocation_policy.{field}."
            ))
        });
    }
    if given.is_empty() {
        return first_free(default_len, taken).ok_or_else(bad);
    }
    let block: Ipv4Net = given
        .parse()
        .ok()
        .filter(|b: &Ipv4Net| b.trunc() == *b)
        .ok_or_else(bad)?;
    if let Some(other) = taken.iter().find(|t| overlaps(t, &block)) {
        return Err(invalid(format!(
            "cluster.ip_allocation_policy.{field} {block} overlaps with range {other} in use in the network."
        )));
    }
    Ok(block)
}

fn first_free(len: u8, taken: &[Ipv4Net]) -> Option<Ipv4Net> {
    let space: Ipv4Net = "10.0.0.0/8".parse().expect("constant");
    space
        .subnets(len)
        .ok()?
        .find(|candidate| !taken.iter().any(|t| overlaps(t, candidate)))
}

/// The names GKE gives the two ranges of cluster `name`; `seed` (the
/// cluster's key) gives the 8 hex digits.
pub fn range_names(name: &str, seed: &str) -> (String, String) {
    let hash = seed.bytes().fold(0x811c_9dc5_u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    });
    let suffix = format!("{hash:08x}");
    (
        format!("gke-{name}-pods-{suffix}"),
        format!("gke-{name}-services-{suffix}"),
    )
}

/// Allocates the pods and services blocks the request asks GKE to manage.
///
/// # Errors
/// See [`allocate`].
pub fn blocks(
    world: &World,
    project: &str,
    network: &str,
    policy: &Value,
) -> Result<(Ipv4Net, Ipv4Net), ApiError> {
    let text = |new: &str, old: &str| {
        policy[new]
            .as_str()
            .or(policy[old].as_str())
            .unwrap_or_default()
            .to_string()
    };
    let mut taken: Vec<Ipv4Net> = ranges_in_network(world, project, network)
        .into_iter()
        .map(|(_, range)| range)
        .collect();
    let pods = allocate(
        &text("clusterIpv4CidrBlock", "clusterIpv4Cidr"),
        DEFAULT_PODS,
        &taken,
        "cluster_ipv4_cidr_block",
    )?;
    taken.push(pods);
    let services = allocate(
        &text("servicesIpv4CidrBlock", "servicesIpv4Cidr"),
        DEFAULT_SERVICES,
        &taken,
        "services_ipv4_cidr_block",
    )?;
    Ok((pods, services))
}

/// Adds `ranges` (`(name, cidr)`) to the subnet `subnet` in `world`, with a new fingerprint.
pub fn add_to_subnet(world: &mut World, subnet: &str, ranges: &[(String, String)]) {
    let fingerprint = world.new_fingerprint();
    if let Some(s) = world.resources.get_mut(subnet) {
        let list = s["secondaryIpRanges"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let mut list = list;
        for (name, cidr) in ranges {
            list.push(json!({"rangeName": name, "ipCidrRange": cidr}));
        }
        s["secondaryIpRanges"] = Value::Array(list);
        s["fingerprint"] = json!(fingerprint);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_size_is_allocated_where_nothing_overlaps_and_a_cidr_must_be_free() {
        let taken: Vec<Ipv4Net> = vec![
            "10.0.0.0/14".parse().unwrap(),
            "10.4.0.0/20".parse().unwrap(),
        ];
        assert_eq!(
            allocate("/14", 14, &taken, "x").unwrap().to_string(),
            "10.8.0.0/14"
        );
        assert_eq!(
            allocate("", 20, &taken, "x").unwrap().to_string(),
            "10.4.16.0/20"
        );
        assert_eq!(
            allocate("10.16.32.0/20", 14, &taken, "x")
                .unwrap()
                .to_string(),
            "10.16.32.0/20"
        );
        assert_eq!(
            allocate("10.0.0.0/20", 14, &taken, "x").unwrap_err().code,
            400
        );
        assert_eq!(allocate("big", 14, &taken, "x").unwrap_err().code, 400);
    }

    #[test]
    fn ranges_are_named_as_gke_names_them() {
        let (pods, services) = range_names("c1", "projects/p/locations/l/clusters/c1");
        assert!(pods.starts_with("gke-c1-pods-") && pods.len() == "gke-c1-pods-".len() + 8);
        assert_eq!(services, pods.replace("-pods-", "-services-"));
    }
}

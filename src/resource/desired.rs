//! From a validated plan file to the desired resources (pure).

use serde_json::{json, Value};

use super::{Attrs, ResourceKind};
use crate::address::Address;
use crate::plan::{Plan, Region};

/// One resource the plan file asks for.
#[derive(Debug, Clone, PartialEq)]
pub struct DesiredResource {
    /// Its address in graph, state and change set.
    pub address: Address,
    /// The attributes meshform will set.
    pub attrs: Attrs,
    /// Resources that must exist before this one.
    pub deps: Vec<Address>,
}

/// The NAT source setting meshform uses: every range of every subnet in the region.
pub const NAT_SOURCE_RANGES: &str = "ALL_SUBNETWORKS_ALL_IP_RANGES";
/// The NAT address setting meshform uses: Google allocates external IPs.
pub const NAT_IP_ALLOCATION: &str = "AUTO_ONLY";

/// All resources of `plan`, dependencies before dependants.
pub fn desired_resources(plan: &Plan) -> Vec<DesiredResource> {
    let net = &plan.network;
    let network = Address::new(ResourceKind::Network, &net.name);
    let mut out = vec![DesiredResource {
        address: network.clone(),
        attrs: object(json!({
            "name": net.name,
            "auto_create_subnetworks": false,
            "routing_mode": net.routing_mode.as_api(),
            "mtu": net.mtu,
        })),
        deps: vec![],
    }];
    for region in &plan.regions {
        let subnet = Address::new(ResourceKind::Subnet, &region.name);
        out.push(DesiredResource {
            address: subnet.clone(),
            attrs: subnet_attrs(&net.name, region),
            deps: vec![network.clone()],
        });
        if region.nat.enabled {
            out.push(DesiredResource {
                address: Address::new(ResourceKind::Router, &region.name),
                attrs: router_attrs(&net.name, region),
                deps: vec![network.clone(), subnet],
            });
        }
    }
    for rule in &plan.firewalls {
        let ranges = |r: &[ipnet::Ipv4Net]| r.iter().map(|c| c.to_string()).collect::<Vec<_>>();
        out.push(DesiredResource {
            address: Address::new(ResourceKind::Firewall, &rule.name),
            attrs: object(json!({
                "name": rule.name,
                "network": net.name,
                "direction": rule.direction.as_api(),
                "priority": rule.priority,
                "allow": rule.allow,
                "deny": rule.deny,
                "source_ranges": ranges(&rule.source_ranges),
                "source_tags": rule.source_tags,
                "destination_ranges": ranges(&rule.destination_ranges),
                "target_tags": rule.target_tags,
                "description": rule.description,
            })),
            deps: vec![network.clone()],
        });
    }
    out
}

fn subnet_attrs(network: &str, region: &Region) -> Attrs {
    let s = &region.subnet;
    let mut secondary = vec![
        json!({"name": s.pod_range.name, "cidr": s.pod_range.cidr.to_string()}),
        json!({"name": s.service_range.name, "cidr": s.service_range.cidr.to_string()}),
    ];
    sort_secondary_ranges(&mut secondary);
    object(json!({
        "name": s.name,
        "region": region.name,
        "network": network,
        "ip_cidr_range": s.cidr.to_string(),
        "secondary_ranges": secondary,
        "private_ip_google_access": s.private_google_access,
    }))
}

/// Secondary ranges are a set to the API: compare them in name order.
pub fn sort_secondary_ranges(ranges: &mut [Value]) {
    ranges.sort_by(|a, b| a["name"].as_str().cmp(&b["name"].as_str()));
}

fn router_attrs(network: &str, region: &Region) -> Attrs {
    let nat = &region.nat;
    object(json!({
        "name": region.router_name(network),
        "region": region.name,
        "network": network,
        "nat_name": region.nat_name(network),
        "nat_source_ranges": NAT_SOURCE_RANGES,
        "nat_ip_allocation": NAT_IP_ALLOCATION,
        "nat_min_ports_per_vm": nat.min_ports_per_vm,
        "nat_log": nat.log.as_api_filter().unwrap_or("NONE"),
        "nat_udp_idle_timeout_sec": nat.udp_idle_timeout_sec,
        "nat_tcp_established_idle_timeout_sec": nat.tcp_established_idle_timeout_sec,
    }))
}

/// The fields of a JSON object literal as [`Attrs`].
pub fn object(v: Value) -> Attrs {
    match v {
        Value::Object(map) => map.into_iter().collect(),
        _ => unreachable!("attribute literals are objects"),
    }
}

//! The analysis of one Connectivity Test over the emulated world, step by
//! step as Google's reachability analysis reports it: where the packet
//! starts (the subnet range holding the source address), the source's
//! egress firewall, the route (a subnet route, or the peering route to a
//! GKE control plane), then either an internal passthrough load balancer
//! (forwarding rule: protocol and ports, region unless global access; its
//! backend service; its backends' ingress firewall) or a GKE control plane (cluster running,
//! region unless master global access, authorised networks), and the final
//! `DELIVER` or `DROP` with its cause.

use std::net::Ipv4Addr;

use ipnet::Ipv4Net;
use serde_json::{json, Value};

use super::firewall::{self, Direction, Packet};
use crate::emulator::controllers::gke_firewall_rules;
use crate::emulator::refs;
use crate::emulator::world::{timestamp, World};

/// Where an address sits in the network.
struct Place {
    subnet: String,
    region: String,
    range: String,
}

fn ranges(subnet: &Value) -> Vec<String> {
    let mut out: Vec<String> = subnet["ipCidrRange"]
        .as_str()
        .map(str::to_string)
        .into_iter()
        .collect();
    out.extend(
        subnet["secondaryIpRanges"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|r| r["ipCidrRange"].as_str().map(str::to_string)),
    );
    out
}

fn contains(range: &str, ip: Ipv4Addr) -> bool {
    range.parse::<Ipv4Net>().is_ok_and(|n| n.contains(&ip))
}

fn place(world: &World, project: &str, network: &str, ip: Ipv4Addr) -> Option<Place> {
    let network = refs::to_rel(network, project);
    world
        .resources
        .iter()
        .filter(|(rel, _)| {
            rel.starts_with(&format!("projects/{project}/regions/"))
                && rel.contains("/subnetworks/")
        })
        .filter(|(_, s)| {
            refs::to_rel(s["network"].as_str().unwrap_or_default(), project) == network
        })
        .find_map(|(rel, s)| {
            let range = ranges(s).into_iter().find(|r| contains(r, ip))?;
            Some(Place {
                subnet: rel.clone(),
                region: refs::scope_of(rel)?
                    .trim_start_matches("regions/")
                    .to_string(),
                range,
            })
        })
}

/// The clusters of `project` as `(relative path, cluster)`.
fn clusters<'a>(world: &'a World, project: &str) -> impl Iterator<Item = (&'a String, &'a Value)> {
    let prefix = format!("projects/{project}/locations/");
    world
        .resources
        .iter()
        .filter(move |(rel, _)| rel.starts_with(&prefix) && rel.contains("/clusters/"))
}

/// The node tags and service account of the nodes on `subnet`.
fn nodes_on(world: &World, project: &str, subnet: &str) -> (Vec<String>, Option<String>) {
    let mut tags = Vec::new();
    let mut account = None;
    for (_, c) in clusters(world, project) {
        if refs::to_rel(
            c["networkConfig"]["subnetwork"]
                .as_str()
                .unwrap_or_default(),
            project,
        )
        .as_deref()
            == Some(subnet)
        {
            tags.push(format!("{}-node", gke_firewall_rules::prefix(c)));
            account = Some(
                c["nodeConfig"]["serviceAccount"]
                    .as_str()
                    .unwrap_or("default")
                    .to_string(),
            );
        }
    }
    (tags, account)
}

fn region_of_location(location: &str) -> String {
    crate::emulator::geography::region_of_zone(location)
        .map(str::to_string)
        .unwrap_or_else(|| location.to_string())
}

/// One step of a trace.
fn step(state: &str, description: String, project: &str, info: Option<(&str, Value)>) -> Value {
    let mut s = json!({
        "state": state,
        "description": description,
        "causesDrop": state == "DROP",
        "projectId": project,
    });
    if let Some((field, value)) = info {
        s[field] = value;
    }
    s
}

fn drop(
    project: &str,
    cause: &str,
    resource: &str,
    source: Ipv4Addr,
    destination: Ipv4Addr,
    region: &str,
) -> Value {
    step(
        "DROP",
        format!("Packet is dropped: {cause}."),
        project,
        Some((
            "drop",
            json!({
                "cause": cause,
                "resourceUri": resource,
                "sourceIp": source.to_string(),
                "destinationIp": destination.to_string(),
                "region": region,
            }),
        )),
    )
}

/// The step of a firewall decision (`EGRESS` or `INGRESS`), and the drop
/// when it denies; whether the packet goes on.
fn firewall_step(
    steps: &mut Vec<Value>,
    q: &Question<'_>,
    direction: &str,
    decision: firewall::Decision,
    destination: Ipv4Addr,
    region: &str,
) -> bool {
    let rule = decision.info["displayName"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    steps.push(step(
        &format!("APPLY_{direction}_FIREWALL_RULE"),
        format!(
            "Config checking state: {} firewall rule {rule}.",
            direction.to_ascii_lowercase()
        ),
        q.project,
        Some(("firewall", decision.info)),
    ));
    if !decision.allowed {
        steps.push(drop(
            q.project,
            "FIREWALL_RULE",
            &rule,
            q.source,
            destination,
            region,
        ));
    }
    decision.allowed
}

/// The request's endpoints, read.
struct Question<'a> {
    project: &'a str,
    network: String,
    source: Ipv4Addr,
    destination_ip: Option<Ipv4Addr>,
    master: Option<String>,
    port: u16,
    protocol: String,
}

fn question<'a>(project: &'a str, test: &Value, protocol: &str) -> Result<Question<'a>, String> {
    let source = &test["source"];
    let destination = &test["destination"];
    let source_ip: Ipv4Addr = source["ipAddress"]
        .as_str()
        .ok_or("the source needs an IP address")?
        .parse()
        .map_err(|_| "the source IP address is not an IPv4 address")?;
    let network = source["network"]
        .as_str()
        .or(destination["network"].as_str())
        .ok_or("the source needs its network")?
        .to_string();
    let master = destination["gkeMasterCluster"]
        .as_str()
        .filter(|s| !s.is_empty())
        .map(str::to_string);
    let destination_ip = match destination["ipAddress"].as_str().filter(|s| !s.is_empty()) {
        Some(ip) => Some(
            ip.parse()
                .map_err(|_| "the destination IP address is not an IPv4 address")?,
        ),
        None => None,
    };
    if master.is_none() && destination_ip.is_none() {
        return Err("the destination needs an IP address or a GKE control plane".into());
    }
    Ok(Question {
        project,
        network,
        source: source_ip,
        destination_ip,
        master,
        port: destination["port"]
            .as_u64()
            .and_then(|p| u16::try_from(p).ok())
            .unwrap_or(0),
        protocol: protocol.to_ascii_lowercase(),
    })
}

/// The `reachabilityDetails` of `test` (its `source` and `destination`) in `world`.
pub fn analyse(world: &World, project: &str, test: &Value, protocol: &str, now: u64) -> Value {
    let q = match question(project, test, protocol) {
        Ok(q) => q,
        Err(message) => {
            return json!({
                "result": "UNDETERMINED",
                "verifyTime": timestamp(now),
                "error": {"code": 3, "message": message},
            })
        }
    };
    let steps = walk(world, &q);
    let delivered = steps.last().is_some_and(|s| s["state"] == "DELIVER");
    json!({
        "result": if delivered { "REACHABLE" } else { "UNREACHABLE" },
        "verifyTime": timestamp(now),
        "traces": [{
            "endpointInfo": {
                "sourceIp": q.source.to_string(),
                "destinationIp": q.destination_ip.map(|i| i.to_string()).unwrap_or_default(),
                "protocol": q.protocol.to_ascii_uppercase(),
                "destinationPort": q.port,
                "sourceNetworkUri": q.network,
                "destinationNetworkUri": q.network,
            },
            "steps": steps,
            "forwardTraceId": 1,
        }],
    })
}

fn walk(world: &World, q: &Question<'_>) -> Vec<Value> {
    let p = q.project;
    let mut steps = Vec::new();
    let network_link = refs::to_rel(&q.network, p).unwrap_or_else(|| q.network.clone());
    let network_name = refs::name_of(&q.network).to_string();
    let start = place(world, p, &q.network, q.source);
    let (source_tags, source_account) = start
        .as_ref()
        .map(|s| nodes_on(world, p, &s.subnet))
        .unwrap_or_default();
    steps.push(step(
        "START_FROM_PRIVATE_NETWORK",
        format!(
            "Initial state: packet from {} in network {network_name}.",
            q.source
        ),
        p,
        Some((
            "network",
            json!({
                "displayName": network_name,
                "uri": network_link,
                "matchedSubnetUri": start.as_ref().map(|s| s.subnet.clone()).unwrap_or_default(),
                "matchedIpRange": start.as_ref().map(|s| s.range.clone()).unwrap_or_default(),
                "region": start.as_ref().map(|s| s.region.clone()).unwrap_or_default(),
            }),
        )),
    ));
    let source_region = start.as_ref().map(|s| s.region.clone()).unwrap_or_default();
    // The destination: a GKE control plane, or an address.
    let master = q.master.as_deref().and_then(|m| {
        let rel = m.trim_start_matches('/').to_string();
        let rel = rel.split("/v1/").last().unwrap_or(&rel).to_string();
        world.resources.get(&rel).map(|c| (rel, c))
    });
    if let Some(m) = &q.master {
        if master.is_none() {
            steps.push(drop(
                p,
                "UNKNOWN_INTERNAL_ADDRESS",
                m,
                q.source,
                Ipv4Addr::UNSPECIFIED,
                "",
            ));
            return steps;
        }
    }
    let destination = match (&master, q.destination_ip) {
        (_, Some(ip)) => ip,
        (Some((_, c)), None) => c["privateClusterConfig"]["privateEndpoint"]
            .as_str()
            .and_then(|s| s.parse().ok())
            .unwrap_or(Ipv4Addr::UNSPECIFIED),
        (None, None) => Ipv4Addr::UNSPECIFIED,
    };
    let egress = firewall::decide(
        world,
        p,
        &Packet {
            network: &network_link,
            direction: Direction::Egress,
            source: q.source,
            destination,
            protocol: &q.protocol,
            port: q.port,
            instance_tags: &source_tags,
            instance_service_account: source_account.as_deref(),
        },
    );
    if !firewall_step(&mut steps, q, "EGRESS", egress, destination, &source_region) {
        return steps;
    }
    if let Some((rel, cluster)) = master {
        to_control_plane(
            world,
            q,
            &mut steps,
            &rel,
            cluster,
            destination,
            &source_region,
            &network_link,
        );
        return steps;
    }
    let forwarding_rule = world
        .resources
        .iter()
        .filter(|(rel, _)| rel.contains("/forwardingRules/"))
        .find(|(_, f)| {
            f["IPAddress"].as_str() == Some(destination.to_string().as_str())
                && f["loadBalancingScheme"] == "INTERNAL"
        });
    let Some(target) = place(world, p, &q.network, destination) else {
        steps.push(drop(
            p,
            "NO_ROUTE",
            "",
            q.source,
            destination,
            &source_region,
        ));
        return steps;
    };
    steps.push(step(
        "APPLY_ROUTE",
        format!(
            "Config checking state: subnet route to {} of {}.",
            target.range,
            refs::name_of(&target.subnet)
        ),
        p,
        Some((
            "route",
            json!({
                "routeType": "SUBNET",
                "nextHopType": "NEXT_HOP_NETWORK",
                "routeScope": "NETWORK",
                "displayName": format!("subnet route of {}", refs::name_of(&target.subnet)),
                "destIpRange": target.range,
                "nextHop": network_link,
                "networkUri": network_link,
                "priority": 0,
            }),
        )),
    ));
    match forwarding_rule {
        Some((rel, fr)) => to_load_balancer(
            world,
            q,
            &mut steps,
            rel,
            fr,
            destination,
            &source_region,
            &network_link,
        ),
        None => steps.push(drop(
            p,
            "UNKNOWN_INTERNAL_ADDRESS",
            "",
            q.source,
            destination,
            &source_region,
        )),
    }
    steps
}

#[allow(clippy::too_many_arguments)]
fn to_control_plane(
    world: &World,
    q: &Question<'_>,
    steps: &mut Vec<Value>,
    rel: &str,
    cluster: &Value,
    destination: Ipv4Addr,
    source_region: &str,
    network_link: &str,
) {
    let p = q.project;
    let uri = rel.to_string();
    let Some(master_cidr) = cluster["privateClusterConfig"]["masterIpv4CidrBlock"].as_str() else {
        steps.push(drop(
            p,
            "GKE_CONTROL_PLANE_NO_ROUTE",
            &uri,
            q.source,
            destination,
            source_region,
        ));
        return;
    };
    steps.push(step(
        "APPLY_ROUTE",
        format!(
            "Config checking state: peering route to {master_cidr}, the control plane of {}.",
            cluster["name"].as_str().unwrap_or_default()
        ),
        p,
        Some((
            "route",
            json!({
                "routeType": "PEERING_SUBNET",
                "nextHopType": "NEXT_HOP_PEERING",
                "routeScope": "NETWORK",
                "displayName": format!("peering route to {master_cidr}"),
                "destIpRange": master_cidr,
                "networkUri": network_link,
                "priority": 0,
            }),
        )),
    ));
    let region = region_of_location(cluster["location"].as_str().unwrap_or_default());
    if cluster["status"] != "RUNNING" {
        steps.push(drop(
            p,
            "GKE_CLUSTER_NOT_RUNNING",
            &uri,
            q.source,
            destination,
            &region,
        ));
        return;
    }
    let global_access = cluster["privateClusterConfig"]["masterGlobalAccessConfig"]["enabled"]
        .as_bool()
        == Some(true);
    if region != source_region && !global_access {
        steps.push(drop(
            p,
            "GKE_CONTROL_PLANE_REGION_MISMATCH",
            &uri,
            q.source,
            destination,
            &region,
        ));
        return;
    }
    let authorized = &cluster["masterAuthorizedNetworksConfig"];
    if authorized["enabled"].as_bool() == Some(true) {
        // The cluster's own subnet's primary range always reaches the private endpoint.
        let own_subnet = refs::to_rel(
            cluster["networkConfig"]["subnetwork"]
                .as_str()
                .unwrap_or_default(),
            p,
        )
        .and_then(|s| world.resources.get(&s))
        .and_then(|s| s["ipCidrRange"].as_str())
        .is_some_and(|r| contains(r, q.source));
        let listed = authorized["cidrBlocks"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|b| b["cidrBlock"].as_str())
            .any(|b| contains(b, q.source));
        if !own_subnet && !listed {
            steps.push(drop(
                p,
                "GKE_MASTER_UNAUTHORIZED_ACCESS",
                &uri,
                q.source,
                destination,
                &region,
            ));
            return;
        }
    }
    steps.push(step(
        "DELIVER",
        format!("Final state: packet delivered to the control plane of {}.", cluster["name"].as_str().unwrap_or_default()),
        p,
        Some(("deliver", json!({"target": "GKE_MASTER", "resourceUri": uri, "ipAddress": destination.to_string()}))),
    ));
}

#[allow(clippy::too_many_arguments)]
fn to_load_balancer(
    world: &World,
    q: &Question<'_>,
    steps: &mut Vec<Value>,
    rel: &str,
    fr: &Value,
    destination: Ipv4Addr,
    source_region: &str,
    network_link: &str,
) {
    let p = q.project;
    let uri = rel.to_string();
    let backend =
        refs::to_rel(fr["backendService"].as_str().unwrap_or_default(), p).unwrap_or_default();
    let region = refs::scope_of(rel)
        .unwrap_or_default()
        .trim_start_matches("regions/")
        .to_string();
    let protocol_ok = fr["IPProtocol"]
        .as_str()
        .unwrap_or("TCP")
        .eq_ignore_ascii_case(&q.protocol);
    let ports: Vec<String> = fr["ports"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_string)
        .collect();
    let port_ok = fr["allPorts"].as_bool() == Some(true)
        || ports.iter().any(|x| x.parse::<u16>().ok() == Some(q.port))
        || fr["portRange"].as_str().is_some_and(|r| {
            let (lo, hi) = r.split_once('-').unwrap_or((r, r));
            matches!((lo.parse::<u16>(), hi.parse::<u16>()), (Ok(lo), Ok(hi)) if (lo..=hi).contains(&q.port))
        });
    steps.push(step(
        "APPLY_FORWARDING_RULE",
        format!(
            "Config checking state: forwarding rule {}.",
            fr["name"].as_str().unwrap_or_default()
        ),
        p,
        Some((
            "forwardingRule",
            json!({
                "displayName": fr["name"],
                "uri": uri,
                "matchedProtocol": q.protocol.to_ascii_uppercase(),
                "matchedPortRange": q.port.to_string(),
                "vip": destination.to_string(),
                "target": backend,
                "networkUri": network_link,
                "region": region,
                "loadBalancerName": refs::name_of(&backend),
            }),
        )),
    ));
    if !protocol_ok || !port_ok {
        steps.push(drop(
            p,
            "FORWARDING_RULE_MISMATCH",
            &uri,
            q.source,
            destination,
            &region,
        ));
        return;
    }
    if region != source_region && fr["allowGlobalAccess"].as_bool() != Some(true) {
        steps.push(drop(
            p,
            "FORWARDING_RULE_REGION_MISMATCH",
            &uri,
            q.source,
            destination,
            &region,
        ));
        return;
    }
    let subnet = refs::to_rel(fr["subnetwork"].as_str().unwrap_or_default(), p).unwrap_or_default();
    let (tags, account) = nodes_on(world, p, &subnet);
    if tags.is_empty() {
        steps.push(drop(
            p,
            "FORWARDING_RULE_NO_INSTANCES",
            &uri,
            q.source,
            destination,
            &region,
        ));
        return;
    }
    let backend_service = world.resources.get(&backend);
    let health_check = backend_service
        .and_then(|b| b["healthChecks"][0].as_str())
        .and_then(|h| refs::to_rel(h, p))
        .unwrap_or_default();
    steps.push(step(
        "ANALYZE_LOAD_BALANCER_BACKEND",
        format!(
            "Config checking state: the backends of {}.",
            refs::name_of(&backend)
        ),
        p,
        Some((
            "loadBalancerBackendInfo",
            json!({
                "name": refs::name_of(&backend),
                "backendServiceUri": backend,
                "healthCheckUri": health_check,
            }),
        )),
    ));
    let ingress = firewall::decide(
        world,
        p,
        &Packet {
            network: network_link,
            direction: Direction::Ingress,
            source: q.source,
            destination,
            protocol: &q.protocol,
            port: q.port,
            instance_tags: &tags,
            instance_service_account: account.as_deref(),
        },
    );
    if !firewall_step(steps, q, "INGRESS", ingress, destination, &region) {
        return;
    }
    steps.push(step(
        "DELIVER",
        format!("Final state: packet delivered to the backends of {}.", fr["name"].as_str().unwrap_or_default()),
        p,
        Some(("deliver", json!({"target": "INSTANCE", "resourceUri": backend, "ipAddress": destination.to_string()}))),
    ));
}

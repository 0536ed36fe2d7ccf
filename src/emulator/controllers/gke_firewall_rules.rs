//! The controller of the firewall rules a running GKE cluster owns on its
//! network, as compute `firewalls` resources: `gke-<name>-<8 hex>-master`
//! (tcp:443,10250 from the master /28), `-vms` (node range) and `-all` (pod
//! range), all aimed at the node tag `gke-<name>-<8 hex>-node`. Created when
//! the cluster first becomes RUNNING (PROVISIONING → RUNNING), removed when
//! the cluster is gone.

use serde_json::{json, Value};

use super::{Change, Controller};
use crate::emulator::world::{link, timestamp, World};

/// Keeps every cluster's `gke-*` firewall rules in step with the cluster.
#[derive(Debug)]
pub struct GkeFirewallRules;

impl Controller for GkeFirewallRules {
    fn name(&self) -> &'static str {
        "gke-firewall-rules"
    }

    fn reconcile(&self, world: &mut World, change: &Change) {
        if change.collection() != "clusters" {
            return;
        }
        let project = change.project().to_string();
        match (&change.before, &change.after) {
            (Some(before), Some(after))
                if before["status"] == "PROVISIONING" && after["status"] == "RUNNING" =>
            {
                create(world, &project, after, change.at_ms);
            }
            (Some(before), None) => delete(world, &project, before),
            _ => {}
        }
    }
}

/// `gke-<name>-<8 hex>`: the prefix of the cluster's rules and node tag.
pub fn prefix(cluster: &Value) -> String {
    let name = cluster["name"].as_str().unwrap_or_default();
    let id = cluster["id"].as_str().unwrap_or_default();
    format!("gke-{name}-{}", &id[..id.len().min(8)])
}

/// Creates the cluster's rules in the world at `at_ms` (skipping names already taken).
fn create(world: &mut World, project: &str, cluster: &Value, at_ms: u64) {
    let prefix = prefix(cluster);
    let node_tag = format!("{prefix}-node");
    let Some(network) = cluster["networkConfig"]["network"].as_str() else {
        return;
    };
    let network = network.to_string();
    let mut rules = Vec::new();
    if let Some(master) = cluster["privateClusterConfig"]["masterIpv4CidrBlock"].as_str() {
        rules.push((
            "master",
            vec![master.to_string()],
            json!([{"IPProtocol": "tcp", "ports": ["443", "10250"]}]),
        ));
    }
    let subnet_range = cluster["networkConfig"]["subnetwork"]
        .as_str()
        .and_then(|s| world.resources.get(s))
        .and_then(|s| s["ipCidrRange"].as_str())
        .map(str::to_string);
    if let Some(range) = subnet_range {
        rules.push((
            "vms",
            vec![range],
            json!([{"IPProtocol": "icmp"}, {"IPProtocol": "tcp", "ports": ["1-65535"]}, {"IPProtocol": "udp", "ports": ["1-65535"]}]),
        ));
    }
    if let Some(pods) = cluster["clusterIpv4Cidr"].as_str() {
        rules.push((
            "all",
            vec![pods.to_string()],
            json!([{"IPProtocol": "tcp"}, {"IPProtocol": "udp"}, {"IPProtocol": "icmp"}, {"IPProtocol": "esp"}, {"IPProtocol": "ah"}, {"IPProtocol": "sctp"}]),
        ));
    }
    for (suffix, sources, allowed) in rules {
        let name = format!("{prefix}-{suffix}");
        let rel = format!("projects/{project}/global/firewalls/{name}");
        if world.resources.contains_key(&rel) {
            continue;
        }
        let id = world.new_id();
        let rule = json!({
            "kind": "compute#firewall",
            "id": id.to_string(),
            "creationTimestamp": timestamp(at_ms),
            "name": name,
            "network": link(&network),
            "priority": 1000,
            "direction": "INGRESS",
            "sourceRanges": sources,
            "targetTags": [node_tag],
            "allowed": allowed,
            "disabled": false,
            "logConfig": {"enable": false},
            "selfLink": link(&rel),
        });
        world.resources.insert(rel, rule);
    }
}

/// Removes the cluster's rules (those named `<prefix>-master|vms|all`).
fn delete(world: &mut World, project: &str, cluster: &Value) {
    let prefix = prefix(cluster);
    for suffix in ["master", "vms", "all"] {
        world.resources.remove(&format!(
            "projects/{project}/global/firewalls/{prefix}-{suffix}"
        ));
    }
}

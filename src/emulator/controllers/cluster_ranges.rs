//! The controller of the secondary ranges GKE manages on a cluster's subnet
//! (`gke-<cluster>-pods-<8 hex>`, `gke-<cluster>-services-<8 hex>`, added
//! when the cluster is created, see `container/managed_ranges.rs`): they
//! leave the subnet, with a new fingerprint, when the cluster is gone.

use serde_json::{json, Value};

use super::{Change, Controller};
use crate::emulator::world::World;

/// Removes a deleted cluster's GKE-managed ranges from its subnet.
#[derive(Debug)]
pub struct ClusterRanges;

impl Controller for ClusterRanges {
    fn name(&self) -> &'static str {
        "cluster-ranges"
    }

    fn reconcile(&self, world: &mut World, change: &Change) {
        if change.collection() != "clusters" || change.after.is_some() {
            return;
        }
        if let Some(cluster) = &change.before {
            remove_for(world, cluster);
        }
    }
}

/// Removes the GKE-managed ranges of `cluster` from its subnet.
fn remove_for(world: &mut World, cluster: &Value) {
    let name = cluster["name"].as_str().unwrap_or_default();
    let prefix = format!("gke-{name}-");
    let policy = &cluster["ipAllocationPolicy"];
    let managed: Vec<&str> = ["clusterSecondaryRangeName", "servicesSecondaryRangeName"]
        .iter()
        .filter_map(|k| policy[*k].as_str())
        .filter(|n| n.starts_with(&prefix))
        .collect();
    if managed.is_empty() {
        return;
    }
    let Some(subnet) = cluster["networkConfig"]["subnetwork"].as_str() else {
        return;
    };
    let subnet = subnet.to_string();
    let fingerprint = world.new_fingerprint();
    if let Some(s) = world.resources.get_mut(&subnet) {
        if let Some(list) = s["secondaryIpRanges"].as_array_mut() {
            list.retain(|r| !managed.contains(&r["rangeName"].as_str().unwrap_or_default()));
        }
        s["fingerprint"] = json!(fingerprint);
    }
}

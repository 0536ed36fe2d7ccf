//! What a GKE operation does to its cluster when it is DONE.
//!
//! | step   | success                                   | failure                          |
//! |--------|-------------------------------------------|----------------------------------|
//! | create | RUNNING, node pools RUNNING, firewall rules | ERROR (delete it and try again) |
//! | update | the change applied, RUNNING               | RUNNING, unchanged               |
//! | delete | gone with its firewall rules; its Kubernetes API is forgotten | ERROR  |

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::firewall_rules;
use crate::emulator::world::{OperationError, OperationRecord, World};

/// The cluster change an operation finishes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "step", rename_all = "camelCase")]
pub enum ClusterStep {
    /// PROVISIONING → RUNNING.
    Create,
    /// RECONCILING → RUNNING with the top-level fields of `patch` replaced.
    Update {
        /// New values of top-level cluster fields.
        patch: Value,
    },
    /// STOPPING → gone.
    Delete,
}

/// Applies `step` of `op` (DONE now) to the world; returns the operation's
/// final error (the injected one, or one found now).
pub fn finish(
    world: &mut World,
    op: &OperationRecord,
    step: &ClusterStep,
) -> Option<OperationError> {
    let Some(mut cluster) = world.resources.get(&op.target).cloned() else {
        return Some(op.error.clone().unwrap_or_else(|| OperationError {
            code: "NOT_FOUND".into(),
            message: format!("Not found: {}.", op.target),
            http_status: 404,
        }));
    };
    if let Some(error) = &op.error {
        let status = match step {
            ClusterStep::Update { .. } => "RUNNING",
            _ => "ERROR",
        };
        set_status(&mut cluster, status);
        if status == "ERROR" {
            cluster["statusMessage"] = json!(error.message);
        }
        world.resources.insert(op.target.clone(), cluster);
        return Some(error.clone());
    }
    match step {
        ClusterStep::Create => {
            set_status(&mut cluster, "RUNNING");
            firewall_rules::create(world, &op.project, &cluster, op.done_ms);
            world.resources.insert(op.target.clone(), cluster);
        }
        ClusterStep::Update { patch } => {
            if let (Some(c), Some(p)) = (cluster.as_object_mut(), patch.as_object()) {
                for (k, v) in p {
                    c.insert(k.clone(), v.clone());
                }
            }
            set_status(&mut cluster, "RUNNING");
            world.resources.insert(op.target.clone(), cluster);
        }
        ClusterStep::Delete => {
            firewall_rules::delete(world, &op.project, &cluster);
            super::managed_ranges::remove_for(world, &cluster);
            world.resources.remove(&op.target);
            world.kube_to_forget.push(op.target.clone());
        }
    }
    None
}

/// Sets the cluster's and its node pools' status.
pub fn set_status(cluster: &mut Value, status: &str) {
    cluster["status"] = json!(status);
    if status != "ERROR" {
        if let Some(m) = cluster.as_object_mut() {
            m.remove("statusMessage");
        }
    }
    let pool_status = match status {
        "RECONCILING" => "RUNNING",
        other => other,
    };
    if let Some(pools) = cluster["nodePools"].as_array_mut() {
        for pool in pools {
            pool["status"] = json!(pool_status);
        }
    }
}

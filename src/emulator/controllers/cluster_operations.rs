//! What a GKE operation does to its cluster when it is DONE: GKE's control
//! plane finishing the work a request started. The objects GKE keeps in step
//! with the cluster (firewall rules, managed ranges, the Kubernetes API)
//! follow through the controllers, which see the change this makes.
//!
//! | step   | success                            | failure                          |
//! |--------|------------------------------------|----------------------------------|
//! | create | RUNNING, node pools RUNNING        | ERROR (delete it and try again)  |
//! | update | the change applied, RUNNING        | RUNNING, unchanged               |
//! | delete | gone                               | ERROR                            |
//!
//! [`set_status`] is here too: the request that starts an operation sets the
//! status that says so (PROVISIONING, RECONCILING, STOPPING) with it.

use serde_json::{json, Value};

use crate::emulator::world::{ClusterStep, OperationError, OperationRecord, World};

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
            world.resources.remove(&op.target);
        }
    }
    None
}

/// Sets the cluster's and its node pools' status (RECONCILING leaves the
/// node pools RUNNING; a status other than ERROR drops `statusMessage`).
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

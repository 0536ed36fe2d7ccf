//! The status a GKE cluster shows, and its node pools with it. A request
//! sets the status of what it starts (PROVISIONING, RECONCILING, STOPPING);
//! the operation that finishes sets the next one (see
//! `controllers/cluster_operations.rs`).

use serde_json::{json, Value};

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

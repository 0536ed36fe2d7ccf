//! `meshform verify`: the checks of [`crate::verify`] against the clusters
//! of a plan file, trusting the root CAs recorded in state.

use std::time::SystemTime;

use super::Workspace;
use crate::cloud::CloudError;
use crate::kinds::ca_entry::OUTPUT_FINGERPRINT;
use crate::kinds::ResourceKind;
use crate::plan::Plan;
use crate::verify::Report;

/// Verifies the mesh of `plan` as it is now.
///
/// # Errors
/// GKE or compute cannot be read.
pub async fn verify(ws: &Workspace, plan: &Plan, traffic: bool) -> Result<Report, CloudError> {
    ws.connection
        .cloud
        .kube
        .set_connections(super::plan::connections(ws, plan));
    let roots: Vec<String> = ws
        .state
        .resources
        .iter()
        .filter(|r| r.address.kind == ResourceKind::RootCa)
        .filter_map(|r| {
            r.outputs
                .get(OUTPUT_FINGERPRINT)?
                .as_str()
                .map(str::to_string)
        })
        .collect();
    crate::verify::verify(
        &ws.connection.cloud,
        plan,
        &roots,
        SystemTime::now(),
        traffic,
    )
    .await
}

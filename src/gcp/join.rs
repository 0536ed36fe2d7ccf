//! Joining what an earlier run left in flight. When the API refuses a call
//! because another operation on the same resource is still running (GKE's
//! `FAILED_PRECONDITION … is currently deleting …`, compute's
//! `resourceNotReady`, or "already exists" while a create runs), meshform
//! finds that operation — compute's `*Operations.list` filtered on the
//! resource's link, GKE's `operations.list` of the location — and waits for
//! it with the usual progress, instead of failing.

use google_cloud_compute_v1::model::operation::Status;
use google_cloud_compute_v1::model::Operation;

use super::operation::Scope;
use super::{api, GcpError, Provider};
use crate::progress;

/// The canonical link of a compute resource, as operations name their target.
pub(crate) const COMPUTE_BASE: &str = "https://www.googleapis.com/compute/v1/";

/// The verb of an operation type, as the user says it.
pub(crate) fn verb_of(operation_type: &str) -> String {
    match operation_type {
        "insert" | "CREATE_CLUSTER" => "create".into(),
        "delete" | "DELETE_CLUSTER" => "delete".into(),
        "patch" | "UPDATE_CLUSTER" => "update".into(),
        other => other.to_lowercase(),
    }
}

/// The operations to join for one resource: where they are listed and
/// which target they name. Each kind says this of its resources.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InFlight {
    /// Its API has no long-running operations (Kubernetes objects).
    None,
    /// A global compute resource at this relative link (`projects/p/global/networks/vpc`).
    Global(String),
    /// A regional compute resource.
    Region {
        /// The region.
        region: String,
        /// Its relative link.
        link: String,
    },
    /// A zonal compute resource.
    Zone {
        /// The zone.
        zone: String,
        /// Its relative link.
        link: String,
    },
    /// A GKE cluster.
    Cluster {
        /// Its location.
        location: String,
        /// Its name.
        name: String,
    },
}

impl Provider {
    /// Waits for every operation still running on the resource `target`
    /// names; returns how many there were. An earlier operation's own
    /// failure is reported as a note, not as an error: the caller reads the
    /// resource again and decides what is left to do.
    ///
    /// # Errors
    /// The operations cannot be listed or polled, or the run was interrupted.
    pub async fn join(&self, target: &InFlight) -> Result<usize, GcpError> {
        let (scope, rel) = match target {
            InFlight::None => return Ok(0),
            InFlight::Global(link) => (Scope::Global, link),
            InFlight::Region { region, link } => (Scope::Region(region), link),
            InFlight::Zone { zone, link } => (Scope::Zone(zone), link),
            InFlight::Cluster { location, name } => {
                return super::gke::join_cluster(self, location, name).await
            }
        };
        let running = self.running_operations(&scope, rel).await?;
        for op in &running {
            let op_name = op.name.clone().unwrap_or_default();
            let verb = verb_of(op.operation_type.as_deref().unwrap_or_default());
            progress::note(format!(
                "waiting for an earlier {verb} ({op_name}) to finish"
            ));
            let ctx = format!("waiting for the earlier {verb} of {rel}");
            if let Err(e) = self.wait(scope, op.clone(), &ctx).await {
                if matches!(e, GcpError::Interrupted { .. }) {
                    return Err(e);
                }
                progress::note(format!("the earlier {verb} ({op_name}) failed: {e}"));
            }
        }
        Ok(running.len())
    }

    /// Operations on the compute resource `rel` that are not DONE.
    async fn running_operations(
        &self,
        scope: &Scope<'_>,
        rel: &str,
    ) -> Result<Vec<Operation>, GcpError> {
        let filter = format!("targetLink = \"{COMPUTE_BASE}{rel}\"");
        let ctx = format!("listing the operations on {rel}");
        let list = match scope {
            Scope::Global => {
                self.global_ops
                    .list()
                    .set_project(&self.project)
                    .set_filter(filter)
                    .send()
                    .await
            }
            Scope::Region(region) => {
                self.region_ops
                    .list()
                    .set_project(&self.project)
                    .set_region(*region)
                    .set_filter(filter)
                    .send()
                    .await
            }
            Scope::Zone(zone) => {
                self.zone_ops
                    .list()
                    .set_project(&self.project)
                    .set_zone(*zone)
                    .set_filter(filter)
                    .send()
                    .await
            }
        }
        .map_err(api(ctx))?;
        Ok(list
            .items
            .into_iter()
            .filter(|op| op.status != Some(Status::Done))
            .filter(|op| {
                op.target_link
                    .as_deref()
                    .is_some_and(|l| l.ends_with(&format!("/{rel}")))
            })
            .collect())
    }
}

impl Provider {
    /// The compute deletes still running in the project, by the relative
    /// path of their target (`projects/p/zones/z/instances/i`) → operation
    /// name: one `globalOperations.aggregatedList` call. An interrupted
    /// destroy leaves such deletes behind; a resource under one is going away.
    ///
    /// # Errors
    /// The list fails (after retries).
    pub async fn deletes_in_flight(
        &self,
    ) -> Result<std::collections::BTreeMap<String, String>, GcpError> {
        let list = self
            .global_ops
            .aggregated_list()
            .set_project(&self.project)
            .set_filter("(operationType = \"delete\") (status != \"DONE\")")
            .send()
            .await
            .map_err(api("listing the deletes in flight"))?;
        Ok(list
            .items
            .into_values()
            .flat_map(|scoped| scoped.operations)
            .filter(|op| {
                op.status != Some(Status::Done) && op.operation_type.as_deref() == Some("delete")
            })
            .filter_map(|op| {
                let link = op.target_link?;
                let rel = link.find("projects/").map(|i| link[i..].to_string())?;
                Some((rel, op.name.unwrap_or_default()))
            })
            .collect())
    }
}

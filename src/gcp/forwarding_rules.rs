//! Forwarding rules someone else makes (GKE, for a LoadBalancer Service):
//! reading one, and waiting until one is deleted.

use std::time::{Duration, Instant};

use google_cloud_compute_v1::model::ForwardingRule;

use super::gke::poll_interval;
use super::{found, GcpError, Provider};

/// How long a load balancer may take to go.
const PATIENCE: Duration = Duration::from_secs(600);

impl Provider {
    /// Reads forwarding rule `name` in `region`; `None` when it does not exist.
    ///
    /// # Errors
    /// Any API error but 404, after retries.
    pub async fn get_forwarding_rule(
        &self,
        region: &str,
        name: &str,
    ) -> Result<Option<ForwardingRule>, GcpError> {
        let got = self
            .forwarding_rules
            .get()
            .set_project(&self.project)
            .set_region(region)
            .set_forwarding_rule(name)
            .send()
            .await;
        found(got, &format!("reading forwarding rule {name} in {region}"))
    }

    /// Waits until forwarding rule `name` in `region` no longer exists,
    /// polling with back-off; stops early on an interrupt.
    ///
    /// # Errors
    /// The API fails, the run is interrupted, or ten minutes pass.
    pub async fn wait_forwarding_rule_gone(
        &self,
        region: &str,
        name: &str,
    ) -> Result<(), GcpError> {
        let start = Instant::now();
        loop {
            if self.get_forwarding_rule(region, name).await?.is_none() {
                return Ok(());
            }
            if start.elapsed() > PATIENCE {
                return Err(GcpError::StillThere(format!(
                    "forwarding rule {name} in {region} still exists after {}s: GKE has not removed the load balancer",
                    PATIENCE.as_secs()
                )));
            }
            tokio::select! {
                _ = tokio::time::sleep(poll_interval(start.elapsed())) => {}
                _ = crate::progress::interrupted() => {
                    return Err(GcpError::Interrupted {
                        context: format!("waiting for forwarding rule {name} in {region} to go"),
                        operation: "GKE's removal of the load balancer".into(),
                    });
                }
            }
        }
    }
}

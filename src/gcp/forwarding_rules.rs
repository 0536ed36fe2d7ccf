//! Waiting for a forwarding rule someone else deletes (GKE removing a
//! LoadBalancer Service's load balancer).

use std::time::{Duration, Instant};

use super::gke::poll_interval;
use super::{found, GcpError, Provider};

/// How long a load balancer may take to go.
const PATIENCE: Duration = Duration::from_secs(600);

impl Provider {
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
        let ctx = format!("reading forwarding rule {name} in {region}");
        loop {
            let got = self
                .forwarding_rules
                .get()
                .set_project(&self.project)
                .set_region(region)
                .set_forwarding_rule(name)
                .send()
                .await;
            if found(got, &ctx)?.is_none() {
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

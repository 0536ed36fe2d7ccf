//! Reading every firewall rule of the project (GKE's and the user's as well
//! as meshform's): what the firewall decides depends on all of them.

use google_cloud_compute_v1::model::Firewall;
use google_cloud_gax::paginator::Paginator;

use super::{api, GcpError, Provider};

impl Provider {
    /// Every firewall rule of the project, all pages.
    ///
    /// # Errors
    /// The API fails (after retries).
    pub async fn list_firewalls(&self) -> Result<Vec<Firewall>, GcpError> {
        let mut out = Vec::new();
        let mut pages = self.firewalls.list().set_project(&self.project).by_page();
        while let Some(page) = pages.next().await {
            out.extend(page.map_err(api("listing firewall rules"))?.items);
        }
        Ok(out)
    }
}

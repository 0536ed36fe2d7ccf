//! Network Management's Connectivity Tests: one question about a path,
//! asked as Google asks it — create the test (a long-running operation
//! that ends when the analysis is done), read its reachability details,
//! delete it again so nothing is left in the project.

use google_cloud_lro::Poller;
use google_cloud_networkmanagement_v1::model::ConnectivityTest;

use super::{api, GcpError, Provider};

impl Provider {
    /// The parent of the project's Connectivity Tests.
    fn tests_parent(&self) -> String {
        format!("projects/{}/locations/global", self.project)
    }

    /// Runs `test` as Connectivity Test `id` and returns it analysed; the
    /// test is deleted afterwards. A test of that id left by an interrupted
    /// run is replaced.
    ///
    /// # Errors
    /// The API refuses the test or its analysis fails.
    pub async fn run_connectivity_test(
        &self,
        id: &str,
        test: ConnectivityTest,
    ) -> Result<ConnectivityTest, GcpError> {
        let ctx = format!("running connectivity test {id}");
        let created = self.create_connectivity_test(id, test.clone()).await;
        let analysed = match created {
            Err(e) if e.is_already_exists() => {
                self.delete_connectivity_test(id).await?;
                self.create_connectivity_test(id, test).await?
            }
            other => other?,
        };
        let deleted = self.delete_connectivity_test(id).await;
        match deleted {
            Err(e) if !e.is_not_found() => Err(GcpError::NotReadable(format!("{ctx}: {e}"))),
            _ => Ok(analysed),
        }
    }

    async fn create_connectivity_test(
        &self,
        id: &str,
        test: ConnectivityTest,
    ) -> Result<ConnectivityTest, GcpError> {
        self.reachability
            .create_connectivity_test()
            .set_parent(self.tests_parent())
            .set_test_id(id)
            .set_resource(test)
            .poller()
            .until_done()
            .await
            .map_err(api(format!("creating connectivity test {id}")))
    }

    async fn delete_connectivity_test(&self, id: &str) -> Result<(), GcpError> {
        self.reachability
            .delete_connectivity_test()
            .set_name(format!("{}/connectivityTests/{id}", self.tests_parent()))
            .poller()
            .until_done()
            .await
            .map_err(api(format!("deleting connectivity test {id}")))
    }
}

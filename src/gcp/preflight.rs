//! Checks before anything is planned or sent, so that a first run that
//! cannot work stops at once with what to do, as Terraform's Google provider
//! does: credentials that yield a token, a project that exists, and the APIs
//! the plan needs enabled.

use std::time::Duration;

use google_cloud_gax::error::rpc::StatusDetails;

use super::{GcpError, Provider, Target};
use crate::progress::{Interrupt, StepContext};

/// How long getting a first access token may take before meshform says the
/// credentials do not work (off Google Cloud, the metadata server never answers).
const TOKEN_TIMEOUT: Duration = Duration::from_secs(10);

/// The service name of an API, for `gcloud services enable`.
pub const COMPUTE_API: &str = "compute.googleapis.com";
/// The GKE API's service name.
pub const CONTAINER_API: &str = "container.googleapis.com";
/// Secret Manager's service name (secrets of a state in a bucket).
pub const SECRET_MANAGER_API: &str = "secretmanager.googleapis.com";

/// How long the first call to an API may keep failing transiently (the
/// client retries rate limits and backend errors) before meshform stops.
const CHECK_TIMEOUT: Duration = Duration::from_secs(30);

/// Runs one check call within [`CHECK_TIMEOUT`], remembering the last error
/// the client retried.
async fn bounded<T>(
    service: &'static str,
    call: impl std::future::Future<Output = T>,
) -> Result<T, GcpError> {
    let (notes, _) = tokio::sync::mpsc::unbounded_channel();
    let context = StepContext::new(0, notes, Interrupt::never());
    match context
        .clone()
        .scope(tokio::time::timeout(CHECK_TIMEOUT, call))
        .await
    {
        Ok(answer) => Ok(answer),
        Err(_) => Err(GcpError::NoAnswer {
            service,
            seconds: CHECK_TIMEOUT.as_secs(),
            last_error: context.last_error().unwrap_or_else(|| "none".into()),
        }),
    }
}

impl Provider {
    /// Checks credentials (real cloud only), then that the project exists and
    /// the compute API (and, when `needs_container`, the GKE API; when
    /// `needs_secrets`, Secret Manager) is enabled, with one cheap read each.
    ///
    /// # Errors
    /// [`GcpError::Credentials`], [`GcpError::ProjectNotFound`],
    /// [`GcpError::ServiceDisabled`], or the API's own error.
    pub async fn preflight(
        &self,
        needs_container: bool,
        needs_secrets: bool,
    ) -> Result<(), GcpError> {
        if self.target == Target::Cloud {
            let token =
                tokio::time::timeout(TOKEN_TIMEOUT, self.credentials.headers(Default::default()))
                    .await;
            match token {
                Ok(Ok(_)) => {}
                Ok(Err(e)) => return Err(GcpError::Credentials(e.to_string())),
                Err(_) => {
                    return Err(GcpError::Credentials(format!(
                        "no access token within {}s: there is no Application Default Credentials file, and no metadata server answered (this machine is not on Google Cloud)",
                        TOKEN_TIMEOUT.as_secs()
                    )))
                }
            }
        }
        let compute = self
            .networks
            .list()
            .set_project(&self.project)
            .set_max_results(1_u32)
            .send();
        if let Err(e) = bounded(COMPUTE_API, compute).await? {
            return Err(self.explain(COMPUTE_API, e));
        }
        if needs_container {
            let container = self
                .clusters
                .list_clusters()
                .set_parent(format!("projects/{}/locations/-", self.project))
                .send();
            if let Err(e) = bounded(CONTAINER_API, container).await? {
                return Err(self.explain(CONTAINER_API, e));
            }
        }
        if needs_secrets {
            let secrets = self
                .secret_manager
                .list_secrets()
                .set_parent(format!("projects/{}", self.project))
                .set_page_size(1)
                .send();
            if let Err(e) = bounded(SECRET_MANAGER_API, secrets).await? {
                return Err(self.explain(SECRET_MANAGER_API, e));
            }
        }
        Ok(())
    }

    /// Turns an error of the first call to `service` into what the user must do.
    fn explain(&self, service: &'static str, e: google_cloud_gax::error::Error) -> GcpError {
        let payload = e
            .http_payload()
            .map(|b| String::from_utf8_lossy(b).into_owned())
            .unwrap_or_default();
        let message = e.status().map(|s| s.message.clone()).unwrap_or_default();
        let disabled = e.status().is_some_and(|s| {
            s.details
                .iter()
                .any(|d| matches!(d, StatusDetails::ErrorInfo(i) if i.reason == "SERVICE_DISABLED"))
        }) || payload.contains("SERVICE_DISABLED")
            || message.contains("has not been used in project");
        if disabled {
            return GcpError::ServiceDisabled {
                service,
                project: self.project.clone(),
            };
        }
        let project_gone = message.contains(&format!("'projects/{}' was not found", self.project))
            || message.contains(&format!("on resource project {}", self.project));
        if project_gone {
            return GcpError::ProjectNotFound(self.project.clone());
        }
        GcpError::Api {
            context: format!("checking access to {service} in project {}", self.project),
            source: e,
        }
    }
}

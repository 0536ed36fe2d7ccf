//! Waiting for compute operations with `globalOperations.wait` and
//! `regionOperations.wait` and `zoneOperations.wait` (each call blocks up to
//! about two minutes).

use google_cloud_compute_v1::model::operation::Status;
use google_cloud_compute_v1::model::Operation;

use super::{api, ids, GcpError, Provider};
use crate::progress;
use crate::resource::Ids;

/// Where an operation lives.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Scope<'a> {
    Global,
    Region(&'a str),
    Zone(&'a str),
}

impl Provider {
    /// Sends a mutation and waits for its operation; the request error or
    /// the operation's error is reported with `context`.
    ///
    /// # Errors
    /// The API refused the request, or the operation failed.
    pub(crate) async fn finish(
        &self,
        scope: Scope<'_>,
        context: &str,
        sent: impl std::future::Future<Output = Result<Operation, google_cloud_gax::error::Error>>,
    ) -> Result<Ids, GcpError> {
        let op = sent.await.map_err(api(context))?;
        self.wait(scope, op, context).await
    }

    /// Waits until `op` is DONE; returns the target's ids.
    ///
    /// # Errors
    /// The operation's error, or an API error while waiting.
    pub(crate) async fn wait(
        &self,
        scope: Scope<'_>,
        mut op: Operation,
        context: &str,
    ) -> Result<Ids, GcpError> {
        let name = op.name.clone().unwrap_or_default();
        progress::waiting_for(Some(&name));
        while op.status != Some(Status::Done) {
            let next = async {
                match scope {
                    Scope::Global => self
                        .global_ops
                        .wait()
                        .set_project(&self.project)
                        .set_operation(&name)
                        .send()
                        .await
                        .map_err(api(format!("{context}: waiting for {name}"))),
                    Scope::Zone(zone) => self
                        .zone_ops
                        .wait()
                        .set_project(&self.project)
                        .set_zone(zone)
                        .set_operation(&name)
                        .send()
                        .await
                        .map_err(api(format!("{context}: waiting for {name}"))),
                    Scope::Region(region) => self
                        .region_ops
                        .wait()
                        .set_project(&self.project)
                        .set_region(region)
                        .set_operation(&name)
                        .send()
                        .await
                        .map_err(api(format!("{context}: waiting for {name}"))),
                }
            };
            op = tokio::select! {
                next = next => next?,
                _ = progress::interrupted() => {
                    return Err(GcpError::Interrupted { context: context.to_string(), operation: name });
                }
            };
        }
        progress::waiting_for(None);
        if let Some(err) = op.error.as_ref().filter(|e| !e.errors.is_empty()) {
            let message = err
                .errors
                .iter()
                .map(|e| {
                    format!(
                        "{}: {}",
                        e.code.as_deref().unwrap_or("ERROR"),
                        e.message.as_deref().unwrap_or("")
                    )
                })
                .collect::<Vec<_>>()
                .join("; ");
            return Err(GcpError::Operation {
                context: context.to_string(),
                operation: name,
                message,
                http_status: op.http_error_status_code,
            });
        }
        Ok(ids(op.target_id, op.target_link))
    }
}

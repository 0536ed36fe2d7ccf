//! GKE transport: reading a cluster, polling and joining GKE operations
//! (they have no `wait` method: polled with backoff until DONE), and where a
//! cluster's Kubernetes API answers.
#![allow(deprecated)]

use google_cloud_container_v1::model::operation::Status as OpStatus;
use google_cloud_container_v1::model::{Cluster, Operation};
use std::time::{Duration, Instant};

use super::{api, found, last_segment, GcpError, Provider};
use crate::progress;

impl Provider {
    /// The API path of cluster `name` in `location`.
    pub(crate) fn cluster_path(&self, location: &str, name: &str) -> String {
        format!(
            "projects/{}/locations/{location}/clusters/{name}",
            self.project
        )
    }

    /// Reads the cluster; `None` when it does not exist.
    ///
    /// # Errors
    /// Any API error but 404, after retries.
    pub(crate) async fn get_cluster(
        &self,
        location: &str,
        name: &str,
    ) -> Result<Option<Cluster>, GcpError> {
        let got = self
            .clusters
            .get_cluster()
            .set_name(self.cluster_path(location, name))
            .send()
            .await;
        found(got, &format!("reading cluster {name} in {location}"))
    }

    /// Polls a GKE operation of `location` until DONE.
    ///
    /// # Errors
    /// The operation's error as [`GcpError::Operation`], or an interrupt.
    pub(crate) async fn poll_gke(
        &self,
        location: &str,
        op: Operation,
        ctx: &str,
    ) -> Result<(), GcpError> {
        poll(self, location, op, ctx).await
    }
}

/// Waits for every GKE operation still running on cluster `name` (found
/// with `operations.list` of its location); returns how many there were.
pub(super) async fn join_cluster(
    p: &Provider,
    location: &str,
    name: &str,
) -> Result<usize, GcpError> {
    let parent = format!("projects/{}/locations/{location}", p.project);
    let list = p
        .clusters
        .list_operations()
        .set_parent(&parent)
        .send()
        .await
        .map_err(api(format!("listing the operations in {location}")))?;
    let suffix = format!("/clusters/{name}");
    let running: Vec<Operation> = list
        .operations
        .into_iter()
        .filter(|op| op.status != OpStatus::Done && op.target_link.ends_with(&suffix))
        .collect();
    for op in &running {
        let verb = super::join::verb_of(op.operation_type.name().unwrap_or_default());
        let short = last_segment(&op.name);
        progress::note(format!("waiting for an earlier {verb} ({short}) to finish"));
        let ctx = format!("waiting for the earlier {verb} of cluster {name}");
        if let Err(e) = poll(p, location, op.clone(), &ctx).await {
            if matches!(e, GcpError::Interrupted { .. }) {
                return Err(e);
            }
            progress::note(format!("the earlier {verb} ({short}) failed: {e}"));
        }
    }
    Ok(running.len())
}

/// The next pause between polls: a fortieth of the time waited so far,
/// between 50 ms and 10 s, so an operation is seen done at most 2.5% of its
/// length late (a six-minute create within 9 s) without hammering the API.
/// Where many run side by side (twelve clusters), the run waits for the
/// latest of them, so this overshoot is what the wall time pays.
pub fn poll_interval(waited: Duration) -> Duration {
    (waited / 40).clamp(Duration::from_millis(50), Duration::from_secs(10))
}

/// Polls a GKE operation until DONE; its error becomes [`GcpError::Operation`].
async fn poll(p: &Provider, location: &str, mut op: Operation, ctx: &str) -> Result<(), GcpError> {
    let start = Instant::now();
    let name = format!(
        "projects/{}/locations/{location}/operations/{}",
        p.project,
        last_segment(&op.name)
    );
    let short = last_segment(&name);
    progress::waiting_for(Some(&short));
    while op.status != OpStatus::Done {
        tokio::select! {
            _ = tokio::time::sleep(poll_interval(start.elapsed())) => {}
            _ = progress::interrupted() => {
                return Err(GcpError::Interrupted { context: ctx.to_string(), operation: short });
            }
        }
        op = p
            .clusters
            .get_operation()
            .set_name(&name)
            .send()
            .await
            .map_err(api(format!("{ctx}: polling {short}")))?;
    }
    progress::waiting_for(None);
    match op
        .error
        .as_ref()
        .filter(|e| e.code != 0 || !e.message.is_empty())
    {
        None => Ok(()),
        Some(e) => Err(GcpError::Operation {
            context: ctx.to_string(),
            operation: last_segment(&op.name),
            message: format!("{}: {}", e.code, e.message),
            // google.rpc codes 8 (RESOURCE_EXHAUSTED), 13 (INTERNAL) and 14 (UNAVAILABLE) are worth retrying.
            http_status: match e.code {
                8 => Some(429),
                13 => Some(500),
                14 => Some(503),
                _ => None,
            },
        }),
    }
}

/// How to reach a cluster's Kubernetes API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterEndpoint {
    /// `https://HOST[:PORT]`.
    pub server: String,
    /// The cluster CA certificate, PEM.
    pub ca_pem: String,
}

impl Provider {
    /// Where the Kubernetes API of cluster `name` answers for an access mode
    /// (`dns`, `public` or `proxy`), and its CA, from the GKE API.
    ///
    /// # Errors
    /// The cluster does not exist, has no such endpoint, or cannot be read.
    pub async fn cluster_endpoint(
        &self,
        location: &str,
        name: &str,
        access: &str,
    ) -> Result<ClusterEndpoint, GcpError> {
        let c = self
            .get_cluster(location, name)
            .await?
            .ok_or_else(|| GcpError::NotReadable(format!("cluster {name} in {location}")))?;
        let private = c.private_cluster_config.clone().unwrap_or_default();
        let endpoints = c.control_plane_endpoints_config.clone().unwrap_or_default();
        let ip = endpoints.ip_endpoints_config.clone().unwrap_or_default();
        let dns = endpoints
            .dns_endpoint_config
            .as_ref()
            .map(|d| d.endpoint.clone())
            .unwrap_or_default();
        // Today's fields first, then the deprecated ones, then `endpoint`.
        let first = |candidates: [&String; 3]| {
            candidates
                .into_iter()
                .find(|e| !e.is_empty())
                .cloned()
                .unwrap_or_default()
        };
        let host = match access {
            "dns" => dns,
            "proxy" => first([&ip.private_endpoint, &private.private_endpoint, &c.endpoint]),
            _ => first([&ip.public_endpoint, &private.public_endpoint, &c.endpoint]),
        };
        if host.is_empty() {
            return Err(GcpError::NotReadable(format!(
                "the {access} endpoint of cluster {name} (GKE returned none)"
            )));
        }
        let ca_pem = ca_pem(&c).ok_or_else(|| {
            GcpError::NotReadable(format!("the CA certificate of cluster {name}"))
        })?;
        Ok(ClusterEndpoint {
            server: format!("https://{host}"),
            ca_pem,
        })
    }
}

/// The digest meshform compares cluster CAs by: of the PEM text, trimmed.
/// The cluster's `ca_digest` output and the CA a Kubernetes client trusts
/// must agree, so both use this.
pub fn ca_digest(ca_pem: &str) -> String {
    crate::resource::outputs::digest(ca_pem.trim().as_bytes())
}

/// The cluster CA certificate as PEM (GKE gives it base64-encoded).
pub fn ca_pem(c: &Cluster) -> Option<String> {
    use base64::Engine;
    let ca = &c.master_auth.as_ref()?.cluster_ca_certificate;
    base64::engine::general_purpose::STANDARD
        .decode(ca.trim())
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn polling_backs_off_with_the_time_waited() {
        assert_eq!(poll_interval(Duration::ZERO), Duration::from_millis(50));
        assert_eq!(
            poll_interval(Duration::from_secs(20)),
            Duration::from_millis(500)
        );
        assert_eq!(
            poll_interval(Duration::from_secs(3600)),
            Duration::from_secs(10)
        );
    }
}

//! The GCP transport: Google's official compute, container, network
//! management and Secret Manager clients, retries, operation waits and joins, preflight
//! checks, Connectivity Tests (`reachability.rs`); it knows no resource
//! kind (those are in [`kinds`](crate::kinds)). The real cloud and the
//! emulator differ only in endpoint and credentials.

mod error;
mod firewalls;
mod forwarding_rules;
mod gke;
mod join;
mod operation;
mod preflight;
mod reachability;
pub mod retry;

pub(crate) use error::is_http;
pub use error::GcpError;
pub use gke::{ca_digest, ca_pem, poll_interval, ClusterEndpoint};
pub use join::InFlight;
pub(crate) use operation::Scope;
pub use preflight::{COMPUTE_API, CONTAINER_API, SECRET_MANAGER_API};

use google_cloud_auth::credentials::{anonymous, Builder as CredentialsBuilder, Credentials};
use google_cloud_compute_v1::client::{
    Firewalls, ForwardingRules, GlobalOperations, HealthChecks, Instances, NetworkEndpointGroups,
    Networks, RegionBackendServices, RegionOperations, Routers, Subnetworks, ZoneOperations,
};
use google_cloud_container_v1::client::ClusterManager;
use google_cloud_networkmanagement_v1::client::ReachabilityService;
use google_cloud_secretmanager_v1::client::SecretManagerService;

use crate::resource::Ids;

/// Where the compute API is and who we are to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// The real Google Cloud with Application Default Credentials.
    Cloud,
    /// An emulator at this base URL, without credentials.
    Emulator(String),
}

/// Compute clients for one project.
#[derive(Debug, Clone)]
pub struct Provider {
    pub(crate) project: String,
    pub(crate) networks: Networks,
    pub(crate) subnetworks: Subnetworks,
    pub(crate) routers: Routers,
    pub(crate) firewalls: Firewalls,
    pub(crate) global_ops: GlobalOperations,
    pub(crate) region_ops: RegionOperations,
    pub(crate) zone_ops: ZoneOperations,
    pub(crate) instances: Instances,
    pub(crate) forwarding_rules: ForwardingRules,
    pub(crate) backend_services: RegionBackendServices,
    pub(crate) health_checks: HealthChecks,
    pub(crate) negs: NetworkEndpointGroups,
    pub(crate) clusters: ClusterManager,
    pub(crate) reachability: ReachabilityService,
    pub(crate) secret_manager: SecretManagerService,
    credentials: Credentials,
    target: Target,
}

macro_rules! client {
    ($ty:ty, $name:literal, $target:expr, $creds:expr) => {{
        let mut b = <$ty>::builder()
            .with_credentials($creds.clone())
            .with_retry_policy(retry::policy())
            .with_backoff_policy(retry::backoff());
        if let Target::Emulator(url) = $target {
            b = b.with_endpoint(url.clone());
        }
        b.build().await.map_err(|e| GcpError::Client {
            service: $name,
            message: e.to_string(),
        })?
    }};
}

impl Provider {
    /// Builds the clients for `project` at `target`.
    ///
    /// # Errors
    /// [`GcpError::Credentials`] when Application Default Credentials are
    /// missing, [`GcpError::Client`] when a client cannot be built.
    pub async fn connect(project: &str, target: &Target) -> Result<Provider, GcpError> {
        let creds: Credentials = match target {
            Target::Cloud => CredentialsBuilder::default()
                .build()
                .map_err(|e| GcpError::Credentials(e.to_string()))?,
            Target::Emulator(_) => anonymous::Builder::new().build(),
        };
        Ok(Provider {
            project: project.to_string(),
            networks: client!(Networks, "networks", target, creds),
            subnetworks: client!(Subnetworks, "subnetworks", target, creds),
            routers: client!(Routers, "routers", target, creds),
            firewalls: client!(Firewalls, "firewalls", target, creds),
            global_ops: client!(GlobalOperations, "globalOperations", target, creds),
            region_ops: client!(RegionOperations, "regionOperations", target, creds),
            zone_ops: client!(ZoneOperations, "zoneOperations", target, creds),
            instances: client!(Instances, "instances", target, creds),
            forwarding_rules: client!(ForwardingRules, "forwardingRules", target, creds),
            backend_services: client!(
                RegionBackendServices,
                "regionBackendServices",
                target,
                creds
            ),
            health_checks: client!(HealthChecks, "healthChecks", target, creds),
            negs: client!(
                NetworkEndpointGroups,
                "networkEndpointGroups",
                target,
                creds
            ),
            clusters: client!(ClusterManager, "container", target, creds),
            reachability: client!(ReachabilityService, "networkmanagement", target, creds),
            secret_manager: client!(SecretManagerService, "secretmanager", target, creds),
            credentials: creds,
            target: target.clone(),
        })
    }

    /// The project.
    pub fn project(&self) -> &str {
        &self.project
    }

    /// The Secret Manager client (secrets of state kept in a bucket).
    pub fn secret_manager(&self) -> &SecretManagerService {
        &self.secret_manager
    }

    /// Where the clients point.
    pub fn target(&self) -> &Target {
        &self.target
    }

    /// The API path of network `network` of this project.
    pub(crate) fn network_path(&self, network: &str) -> String {
        format!("projects/{}/global/networks/{network}", self.project)
    }
}

/// The last path segment of a resource URL (`…/networks/vpc` → `vpc`).
pub(crate) fn last_segment(url: &str) -> String {
    url.rsplit('/').next().unwrap_or(url).to_string()
}

/// A fresh `requestId`: the API runs a mutation once per id, so a retried
/// request returns the first one's operation instead of a second change.
pub(crate) fn request_id() -> String {
    let b: [u8; 16] = rand::random();
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-4{}-a{}-{}",
        &h[0..8],
        &h[8..12],
        &h[13..16],
        &h[17..20],
        &h[20..32]
    )
}

pub(crate) fn api(
    context: impl Into<String>,
) -> impl FnOnce(google_cloud_gax::error::Error) -> GcpError {
    let context = context.into();
    move |source| GcpError::Api { context, source }
}

/// Ids from a compute resource's `id` and `selfLink`.
pub(crate) fn ids(id: Option<u64>, self_link: Option<String>) -> Ids {
    Ids {
        id: id.map(|i| i.to_string()),
        self_link,
    }
}

/// `Ok(None)` for a 404, the value otherwise.
pub(crate) fn found<T>(
    r: Result<T, google_cloud_gax::error::Error>,
    context: &str,
) -> Result<Option<T>, GcpError> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(e) if error::is_http(&e, 404) => Ok(None),
        Err(e) => Err(api(context)(e)),
    }
}

//! The GCP layer: Google's official compute client, one file per resource
//! kind. The real cloud and the emulator differ only in endpoint and
//! credentials.

mod cluster;
mod error;
mod firewall;
mod instance;
mod join;
mod network;
mod operation;
mod preflight;
pub mod retry;
mod router;
mod subnet;

pub use cluster::{poll_interval, ClusterEndpoint};
pub use error::GcpError;
pub use preflight::{COMPUTE_API, CONTAINER_API};

use google_cloud_auth::credentials::{anonymous, Builder as CredentialsBuilder, Credentials};
use google_cloud_compute_v1::client::{
    Firewalls, GlobalOperations, Instances, Networks, RegionOperations, Routers, Subnetworks,
    ZoneOperations,
};
use google_cloud_container_v1::client::ClusterManager;

use crate::address::Address;
use crate::resource::attr::str as str_attr;
use crate::resource::{Attrs, Ids, Live, ResourceKind};

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
    project: String,
    networks: Networks,
    subnetworks: Subnetworks,
    routers: Routers,
    firewalls: Firewalls,
    global_ops: GlobalOperations,
    region_ops: RegionOperations,
    zone_ops: ZoneOperations,
    instances: Instances,
    clusters: ClusterManager,
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
            clusters: client!(ClusterManager, "container", target, creds),
            credentials: creds,
            target: target.clone(),
        })
    }

    /// The project.
    pub fn project(&self) -> &str {
        &self.project
    }

    /// Where the clients point.
    pub fn target(&self) -> &Target {
        &self.target
    }

    /// Reads the live resource whose managed attributes are like `attrs`
    /// (its name and region are taken from them); `None` when it does not exist.
    ///
    /// # Errors
    /// Any API error but 404, after retries.
    pub async fn read(&self, address: &Address, attrs: &Attrs) -> Result<Option<Live>, GcpError> {
        let name = str_attr(attrs, "name");
        let region = str_attr(attrs, "region");
        match address.kind {
            ResourceKind::Network => network::read(self, name).await,
            ResourceKind::Subnet => subnet::read(self, region, name).await,
            ResourceKind::Router => router::read(self, region, name).await,
            ResourceKind::Firewall => firewall::read(self, name).await,
            ResourceKind::Cluster => cluster::read(self, str_attr(attrs, "location"), name).await,
            ResourceKind::Instance => {
                instance::read(self, str_attr(attrs, "zone"), name, attrs).await
            }
            ResourceKind::Namespace => Err(not_gcp(address)),
        }
    }

    /// Creates the resource and waits until it exists.
    ///
    /// # Errors
    /// API and operation errors; "already exists" is a 409 [`GcpError::Api`]
    /// (see [`GcpError::is_already_exists`]) that the caller may adopt.
    pub async fn create(&self, address: &Address, attrs: &Attrs) -> Result<Ids, GcpError> {
        match address.kind {
            ResourceKind::Network => network::create(self, attrs).await,
            ResourceKind::Subnet => subnet::create(self, attrs).await,
            ResourceKind::Router => router::create(self, attrs).await,
            ResourceKind::Firewall => firewall::create(self, attrs).await,
            ResourceKind::Cluster => cluster::create(self, attrs).await,
            ResourceKind::Instance => instance::create(self, attrs).await,
            ResourceKind::Namespace => Err(not_gcp(address)),
        }
    }

    /// Changes the updatable fields from `before` to `after` in place.
    ///
    /// # Errors
    /// API and operation errors.
    pub async fn update(
        &self,
        address: &Address,
        before: &Attrs,
        after: &Attrs,
    ) -> Result<Ids, GcpError> {
        match address.kind {
            ResourceKind::Network => network::update(self, after).await,
            ResourceKind::Subnet => subnet::update(self, before, after).await,
            ResourceKind::Router => router::update(self, after).await,
            ResourceKind::Firewall => firewall::update(self, after).await,
            ResourceKind::Cluster => cluster::update(self, before, after).await,
            ResourceKind::Instance | ResourceKind::Namespace => Err(not_gcp(address)),
        }
    }

    /// Deletes the resource and waits until it is gone. A resource that is
    /// already gone counts as deleted.
    ///
    /// # Errors
    /// API and operation errors, e.g. `resourceInUseByAnotherResource`.
    pub async fn delete(&self, address: &Address, attrs: &Attrs) -> Result<(), GcpError> {
        let name = str_attr(attrs, "name");
        let region = str_attr(attrs, "region");
        let result = match address.kind {
            ResourceKind::Network => network::delete(self, name).await,
            ResourceKind::Subnet => subnet::delete(self, region, name).await,
            ResourceKind::Router => router::delete(self, region, name).await,
            ResourceKind::Firewall => firewall::delete(self, name).await,
            ResourceKind::Cluster => cluster::delete(self, str_attr(attrs, "location"), name).await,
            ResourceKind::Instance => instance::delete(self, str_attr(attrs, "zone"), name).await,
            ResourceKind::Namespace => Err(not_gcp(address)),
        };
        match result {
            Err(GcpError::Api { source, .. }) if error::is_http(&source, 404) => Ok(()),
            other => other,
        }
    }

    fn network_path(&self, network: &str) -> String {
        format!("projects/{}/global/networks/{network}", self.project)
    }
}

fn not_gcp(address: &Address) -> GcpError {
    GcpError::Client {
        service: "compute",
        message: format!("{address} is not a Google Cloud resource"),
    }
}

/// The last path segment of a resource URL (`…/networks/vpc` → `vpc`).
fn last_segment(url: &str) -> String {
    url.rsplit('/').next().unwrap_or(url).to_string()
}

/// A fresh `requestId`: the API runs a mutation once per id, so a retried
/// request returns the first one's operation instead of a second change.
fn request_id() -> String {
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

fn api(context: impl Into<String>) -> impl FnOnce(google_cloud_gax::error::Error) -> GcpError {
    let context = context.into();
    move |source| GcpError::Api { context, source }
}

fn ids(id: Option<u64>, self_link: Option<String>) -> Ids {
    Ids {
        id: id.map(|i| i.to_string()),
        self_link,
    }
}

/// `Ok(None)` for a 404, the value otherwise.
fn found<T>(
    r: Result<T, google_cloud_gax::error::Error>,
    context: &str,
) -> Result<Option<T>, GcpError> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(e) if error::is_http(&e, 404) => Ok(None),
        Err(e) => Err(api(context)(e)),
    }
}

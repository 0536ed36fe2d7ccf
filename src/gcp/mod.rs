//! The GCP layer: Google's official compute client, one file per resource
//! kind. The real cloud and the emulator differ only in endpoint and
//! credentials.

mod error;
mod firewall;
mod network;
mod operation;
pub mod retry;
mod router;
mod subnet;

pub use error::GcpError;

use google_cloud_auth::credentials::{anonymous, Builder as CredentialsBuilder, Credentials};
use google_cloud_compute_v1::client::{
    Firewalls, GlobalOperations, Networks, RegionOperations, Routers, Subnetworks,
};

use crate::address::Address;
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
        })
    }

    /// The project.
    pub fn project(&self) -> &str {
        &self.project
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
        }
    }

    /// Creates the resource and waits until it exists.
    ///
    /// Idempotent: when the API answers "already exists", the resource is
    /// read back and adopted if its attributes match `attrs`.
    ///
    /// # Errors
    /// API and operation errors; [`GcpError::Conflict`] when a different
    /// resource of that name exists.
    pub async fn create(&self, address: &Address, attrs: &Attrs) -> Result<Ids, GcpError> {
        let result = match address.kind {
            ResourceKind::Network => network::create(self, attrs).await,
            ResourceKind::Subnet => subnet::create(self, attrs).await,
            ResourceKind::Router => router::create(self, attrs).await,
            ResourceKind::Firewall => firewall::create(self, attrs).await,
        };
        match result {
            Err(GcpError::Api { source, .. }) if error::is_http(&source, 409) => {
                self.adopt(address, attrs).await
            }
            other => other,
        }
    }

    async fn adopt(&self, address: &Address, attrs: &Attrs) -> Result<Ids, GcpError> {
        // A create that is still running (e.g. sent by a process that was
        // killed) is not readable yet: poll until it is, with backoff.
        let mut delay = std::time::Duration::from_millis(50);
        for _ in 0..40 {
            if let Some(live) = self.read(address, attrs).await? {
                let differing: Vec<&String> = attrs
                    .keys()
                    .filter(|k| live.attrs.get(*k) != attrs.get(*k))
                    .collect();
                if differing.is_empty() {
                    tracing::info!(%address, "adopted existing resource");
                    return Ok(live.ids);
                }
                return Err(GcpError::Conflict {
                    address: address.to_string(),
                    fields: differing
                        .iter()
                        .map(|s| s.as_str())
                        .collect::<Vec<_>>()
                        .join(", "),
                });
            }
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(std::time::Duration::from_secs(5));
        }
        Err(GcpError::NotReadable(address.to_string()))
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

fn str_attr<'a>(attrs: &'a Attrs, key: &str) -> &'a str {
    attrs.get(key).and_then(|v| v.as_str()).unwrap_or_default()
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

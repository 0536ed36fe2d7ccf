//! One face for every kind of resource: Google Cloud objects through
//! [`gcp`](crate::gcp), Kubernetes objects through [`kube`](crate::kube).
//! Creates are idempotent here: "already exists" is read back and adopted
//! when it matches, and reported as a conflict when it does not.

use std::time::Duration;

use crate::address::Address;
use crate::gcp::{GcpError, Provider};
use crate::kube::{Kube, KubeError};
use crate::resource::{attr, Attrs, Ids, Live, ResourceKind};

/// A cloud call failed.
#[derive(Debug, thiserror::Error)]
pub enum CloudError {
    /// A Google Cloud API failed.
    #[error(transparent)]
    Gcp(#[from] GcpError),
    /// A Kubernetes API failed.
    #[error(transparent)]
    Kube(#[from] KubeError),
    /// The resource exists but differs from what the plan asks for.
    #[error("{address} already exists with different settings ({fields}); it was not made by this state\n  help: delete it, rename it in the plan file, or change the plan file to match it")]
    Conflict {
        /// The resource.
        address: String,
        /// Fields that differ.
        fields: String,
    },
    /// The resource did not become readable after an "already exists" answer.
    #[error("{0} already exists but could not be read back")]
    NotReadable(String),
    /// Other operations kept the resource busy through every join.
    #[error("{0} stayed busy with other operations; something else is changing it\n  help: wait for the other changes to finish, then run the same command again")]
    StillBusy(String),
    /// The resource went away while meshform was updating it.
    #[error("{0} was deleted while meshform was updating it\n  help: run `meshform plan` again: it will be created")]
    Gone(String),
}

/// How often a call refused because the resource is busy is retried after
/// joining what keeps it busy.
const JOIN_ATTEMPTS: usize = 3;

impl CloudError {
    /// Whether retrying the whole step may succeed.
    pub fn is_transient(&self) -> bool {
        match self {
            CloudError::Gcp(e) => e.is_transient(),
            CloudError::Kube(e) => e.is_transient(),
            _ => false,
        }
    }
}

/// Google Cloud and the clusters' Kubernetes APIs.
#[derive(Debug)]
pub struct Cloud {
    /// The Google Cloud clients.
    pub gcp: Provider,
    /// The Kubernetes clients.
    pub kube: Kube,
}

fn is_kube(kind: ResourceKind) -> bool {
    kind == ResourceKind::Namespace
}

impl Cloud {
    /// Reads the live resource like `attrs`; `None` when it does not exist.
    ///
    /// # Errors
    /// Any API error but "not found".
    pub async fn read(&self, address: &Address, attrs: &Attrs) -> Result<Option<Live>, CloudError> {
        if is_kube(address.kind) {
            Ok(self.kube.read(address, attrs).await?)
        } else {
            Ok(self.gcp.read(address, attrs).await?)
        }
    }

    /// Creates the resource and waits until it exists; adopts a matching
    /// resource that already exists.
    ///
    /// # Errors
    /// API errors; [`CloudError::Conflict`] for a different resource of that name.
    pub async fn create(&self, address: &Address, attrs: &Attrs) -> Result<Ids, CloudError> {
        if is_kube(address.kind) {
            // Server-side apply creates or adopts by itself.
            return Ok(self.kube.apply(address, attrs).await?);
        }
        self.forget_clients(address, attrs).await;
        for _ in 0..JOIN_ATTEMPTS {
            match self.gcp.create(address, attrs).await {
                // An earlier run's create (or delete) of this name may still
                // be running: join it, then adopt what exists, or create
                // again when it turned out to be a delete.
                Err(e) if e.is_already_exists() || e.is_busy() => {
                    let joined = self.gcp.join(address, attrs).await?;
                    if joined > 0 && self.read(address, attrs).await?.is_none() {
                        continue;
                    }
                    return self.adopt(address, attrs).await;
                }
                other => return Ok(other?),
            }
        }
        Err(CloudError::StillBusy(address.to_string()))
    }

    /// Whether the cluster of a Kubernetes object (its `cluster` and
    /// `location` attributes) exists and is not being deleted.
    async fn cluster_stays(&self, attrs: &Attrs) -> Result<bool, CloudError> {
        let cluster = crate::resource::desired::object(serde_json::json!({
            "name": attr::str(attrs, "cluster"),
            "location": attr::str(attrs, "location"),
        }));
        let address = Address::new(ResourceKind::Cluster, attr::str(attrs, "cluster"));
        let live = self.gcp.read(&address, &cluster).await?;
        Ok(live.is_some_and(|l| l.deleting.is_none()))
    }

    /// A cluster that is created or deleted gets a new address and CA.
    async fn forget_clients(&self, address: &Address, attrs: &Attrs) {
        if address.kind == ResourceKind::Cluster {
            let location = attr::str(attrs, "location");
            self.kube
                .forget_cluster(location, attr::str(attrs, "name"))
                .await;
        }
    }

    async fn adopt(&self, address: &Address, attrs: &Attrs) -> Result<Ids, CloudError> {
        // A create still running (e.g. sent by a process that was killed) is
        // not readable yet: poll until it is.
        let mut delay = Duration::from_millis(50);
        for _ in 0..40 {
            if let Some(live) = self.read(address, attrs).await? {
                let differing: Vec<&str> = attrs
                    .keys()
                    .filter(|k| live.attrs.get(*k) != attrs.get(*k))
                    .map(String::as_str)
                    .collect();
                if differing.is_empty() {
                    tracing::info!(%address, "adopted existing resource");
                    return Ok(live.ids);
                }
                return Err(CloudError::Conflict {
                    address: address.to_string(),
                    fields: differing.join(", "),
                });
            }
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(Duration::from_secs(5));
        }
        Err(CloudError::NotReadable(address.to_string()))
    }

    /// Changes the updatable fields from `before` to `after` in place.
    ///
    /// # Errors
    /// API errors.
    pub async fn update(
        &self,
        address: &Address,
        before: &Attrs,
        after: &Attrs,
    ) -> Result<Ids, CloudError> {
        if is_kube(address.kind) {
            return Ok(self.kube.apply(address, after).await?);
        }
        let mut before = before.clone();
        for _ in 0..JOIN_ATTEMPTS {
            match self.gcp.update(address, &before, after).await {
                // Another operation on it is running: join it, read it again
                // and change what is still different.
                Err(e) if e.is_busy() => {
                    self.gcp.join(address, after).await?;
                    match self.read(address, after).await? {
                        Some(live) => before = live.attrs,
                        None => return Err(CloudError::Gone(address.to_string())),
                    }
                }
                other => return Ok(other?),
            }
        }
        Err(CloudError::StillBusy(address.to_string()))
    }

    /// Deletes the resource and waits until it is gone; gone already is fine.
    ///
    /// # Errors
    /// API errors.
    pub async fn delete(&self, address: &Address, attrs: &Attrs) -> Result<(), CloudError> {
        if is_kube(address.kind) {
            return match self.kube.delete(address, attrs).await {
                // A cluster that is gone, or going, takes its objects with it.
                Err(e) if !self.cluster_stays(attrs).await? => {
                    tracing::info!(%address, error = %e, "gone with its cluster");
                    Ok(())
                }
                other => Ok(other?),
            };
        }
        self.forget_clients(address, attrs).await;
        for _ in 0..JOIN_ATTEMPTS {
            match self.gcp.delete(address, attrs).await {
                // An earlier run's delete (or create, or update) is running:
                // join it, then delete what is left ("not found" is done).
                Err(e) if e.is_busy() => {
                    self.gcp.join(address, attrs).await?;
                }
                other => return Ok(other?),
            }
        }
        Err(CloudError::StillBusy(address.to_string()))
    }
}

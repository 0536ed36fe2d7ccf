//! One face for every kind of resource: the engine calls it with JSON
//! attributes, the [`kinds`](crate::kinds) registry finds the kind's code.
//! Creates are idempotent here: "already exists" is read back and adopted
//! when it matches, and reported as a conflict when it does not; calls
//! refused because an earlier operation still runs join that operation.

use std::time::Duration;

use crate::address::Address;
use crate::gcp::{GcpError, Provider};
use crate::kinds::{Api, Applied, ResourceKind};
use crate::kube::{Kube, KubeError};
use crate::resource::{Attrs, Live};
use crate::state::{ObjectStore, SecretStore};

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
    /// Attributes (from state or a saved plan) do not fit the kind.
    #[error("attributes of a {kind} do not fit its spec: {message}\n  help: the state or saved plan was written by another meshform release; run `meshform plan` again")]
    Attributes {
        /// The kind.
        kind: ResourceKind,
        /// serde's message.
        message: String,
    },
    /// The secret store beside the state failed.
    #[error(transparent)]
    Secret(#[from] crate::state::SecretError),
    /// The object store beside the state failed.
    #[error(transparent)]
    Objects(#[from] crate::state::ObjectError),
    /// A certificate could not be made or read.
    #[error(transparent)]
    Ca(#[from] crate::mesh::ca::CaError),
    /// A local resource is not what the plan expected (changed since plan).
    #[error("{address}: {message}\n  help: run `meshform plan` again")]
    Stale {
        /// The resource.
        address: String,
        /// What differs.
        message: String,
    },
    /// A value the resource needs is another resource's output that is not known.
    #[error("{0} is not known: apply its resource first")]
    Unknown(crate::resource::OutputRef),
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

/// Google Cloud, the clusters' Kubernetes APIs, and the files beside the
/// state that local resources (the mesh's CAs) live in.
#[derive(Debug)]
pub struct Cloud {
    /// The Google Cloud clients.
    pub gcp: Provider,
    /// The Kubernetes clients.
    pub kube: Kube,
    /// Secret material and local resources (`<state>.secrets/`).
    pub secrets: SecretStore,
    /// Rendered Kubernetes objects by digest (`<state>.objects/`).
    pub objects: ObjectStore,
}

impl Cloud {
    /// Reads the live resource like `attrs`; `None` when it does not exist.
    ///
    /// # Errors
    /// Any API error but "not found".
    pub async fn read(&self, address: &Address, attrs: &Attrs) -> Result<Option<Live>, CloudError> {
        address.kind.behaviour().read(self, attrs).await
    }

    /// Creates the resource and waits until it exists; adopts a matching
    /// resource that already exists. Returns its ids and outputs.
    ///
    /// # Errors
    /// API errors; [`CloudError::Conflict`] for a different resource of that name.
    pub async fn create(&self, address: &Address, attrs: &Attrs) -> Result<Applied, CloudError> {
        let kind = address.kind.behaviour();
        if matches!(kind.api(), Api::Kubernetes | Api::Local) {
            // Server-side apply creates or adopts by itself; so do local kinds.
            return kind.create(self, attrs).await;
        }
        let in_flight = kind.in_flight(attrs, self.gcp.project())?;
        for _ in 0..JOIN_ATTEMPTS {
            match kind.create(self, attrs).await {
                // An earlier run's create (or delete) of this name may still
                // be running: join it, then adopt what exists, or create
                // again when it turned out to be a delete.
                Err(CloudError::Gcp(e)) if e.is_already_exists() || e.is_busy() => {
                    let joined = self.gcp.join(&in_flight).await?;
                    if joined > 0 && self.read(address, attrs).await?.is_none() {
                        continue;
                    }
                    return self.adopt(address, attrs).await;
                }
                other => return other,
            }
        }
        Err(CloudError::StillBusy(address.to_string()))
    }

    async fn adopt(&self, address: &Address, attrs: &Attrs) -> Result<Applied, CloudError> {
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
                    return Ok(Applied {
                        ids: live.ids,
                        outputs: live.outputs,
                    });
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

    /// Changes the updatable fields from `before` to `after` in place;
    /// returns its ids (when the API reports them) and outputs.
    ///
    /// # Errors
    /// API errors.
    pub async fn update(
        &self,
        address: &Address,
        before: &Attrs,
        after: &Attrs,
    ) -> Result<Applied, CloudError> {
        let kind = address.kind.behaviour();
        let in_flight = kind.in_flight(after, self.gcp.project())?;
        let mut before = before.clone();
        for _ in 0..JOIN_ATTEMPTS {
            match kind.update(self, &before, after).await {
                // Another operation on it is running: join it, read it again
                // and change what is still different.
                Err(CloudError::Gcp(e)) if e.is_busy() => {
                    self.gcp.join(&in_flight).await?;
                    match self.read(address, after).await? {
                        Some(live) => before = live.attrs,
                        None => return Err(CloudError::Gone(address.to_string())),
                    }
                }
                other => return other,
            }
        }
        Err(CloudError::StillBusy(address.to_string()))
    }

    /// Deletes the resource and waits until it is gone; gone already is fine.
    ///
    /// # Errors
    /// API errors.
    pub async fn delete(&self, address: &Address, attrs: &Attrs) -> Result<(), CloudError> {
        let kind = address.kind.behaviour();
        let in_flight = kind.in_flight(attrs, self.gcp.project())?;
        for _ in 0..JOIN_ATTEMPTS {
            match kind.delete(self, attrs).await {
                Err(CloudError::Gcp(e)) if e.is_not_found() => return Ok(()),
                // An earlier run's delete (or create, or update) is running:
                // join it, then delete what is left ("not found" is done).
                Err(CloudError::Gcp(e)) if e.is_busy() => {
                    self.gcp.join(&in_flight).await?;
                }
                other => return other,
            }
        }
        Err(CloudError::StillBusy(address.to_string()))
    }
}

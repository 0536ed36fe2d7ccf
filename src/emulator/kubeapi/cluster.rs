//! The state of one cluster's API server: its folder, address, latency
//! scale and object store.

use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard};

use tokio::sync::broadcast;

use super::cloud::CloudLink;
use super::controllers::{self, At};
use super::crd;
use super::defaults::Cidr;
use super::meta;
use super::resources::{self, ResourceType};
use super::sa_token::TokenIssuer;
use super::status::Failure;
use super::store::Store;
use super::watch::{self, Event};

/// One cluster's API server state, shared by its requests.
#[derive(Debug)]
pub struct Cluster {
    /// The cluster's folder (`objects.json` lives here).
    pub dir: PathBuf,
    /// `127.0.0.1:PORT`.
    pub address: String,
    /// Latency multiplier (rollouts take `latency_scale × 30 s`).
    pub latency_scale: f64,
    /// The objects; locked briefly by each request, never across an await.
    pub store: Mutex<Store>,
    /// The cluster CA (PEM), published in every namespace's
    /// `kube-root-ca.crt` ConfigMap.
    pub ca_pem: String,
    /// The services range cluster IPs are allocated from.
    pub services: Cidr,
    /// Changes, sent to open watches (sent while the store is locked).
    pub events: broadcast::Sender<Event>,
    /// Requests served, counted with every other cluster's.
    pub requests: std::sync::Arc<std::sync::atomic::AtomicU64>,
    /// The cloud the cluster runs in (its load balancers), if any.
    pub cloud: Option<CloudLink>,
    /// Signs and verifies the cluster's service-account tokens.
    pub tokens: std::sync::Arc<TokenIssuer>,
}

impl Cluster {
    /// Locks the store.
    pub fn lock(&self) -> MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The moment now, for the in-cluster controllers.
    pub fn at(&self) -> At {
        At {
            now_ms: meta::now_ms(),
            latency_scale: self.latency_scale,
            cloud: self.cloud.clone(),
            tokens: self.tokens.clone(),
        }
    }

    /// Locks the store after letting the in-cluster controllers do the work
    /// due by now (see `controllers/`); their changes are persisted and sent
    /// to watches. Requests that read or change objects lock this way.
    pub fn lock_caught_up(&self) -> MutexGuard<'_, Store> {
        let mut store = self.lock();
        let events = controllers::catch_up(&mut store, &self.at());
        if !events.is_empty() {
            // A failure is logged by `persist`; the change stays in memory
            // and is written with the next one.
            let _ = self.persist(&store);
            watch::publish(self, &mut store, events);
        }
        store
    }

    /// Persists `store`.
    ///
    /// # Errors
    /// 500 when `objects.json` cannot be written.
    pub fn persist(&self, store: &Store) -> Result<(), Failure> {
        store.save(&self.dir).map_err(|e| {
            tracing::error!(error = %e, dir = %self.dir.display(), "kubeapi could not persist objects");
            Failure::internal(format!("could not persist objects: {e}"))
        })
    }
}

/// Built-in resource types plus those of every stored CRD.
pub fn all_types(store: &Store) -> Vec<ResourceType> {
    let mut types = resources::built_in();
    for t in crd::types(store) {
        if !types
            .iter()
            .any(|b| b.group == t.group && b.version == t.version && b.plural == t.plural)
        {
            types.push(t);
        }
    }
    types
}

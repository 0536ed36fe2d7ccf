//! The state every request shares: the world behind its lock, the knobs of
//! this emulator, request counts and the clusters' Kubernetes APIs.
//! [`Shared::world_now`] is the one way in to the world: it brings the world
//! up to now first (operations due, controllers, pruning).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, Mutex, MutexGuard};

use super::access::Access;
use super::controllers;
use super::errors::ApiError;
use super::faults::Faults;
use super::kubeapi::{KubeApis, LoadBalancerSpec, LoadBalancerStatus, LoadBalancers};
use super::world::{now_ms, World};

/// State shared by all requests.
#[derive(Debug)]
pub struct Shared {
    /// The world; every handler locks it briefly (never across an await).
    pub world: Mutex<World>,
    /// Where `world.json` lives.
    pub data_dir: PathBuf,
    /// Latency multiplier.
    pub scale: f64,
    /// Fault generator.
    pub faults: Faults,
    /// How long DONE operations (and their `requestId`s) are kept, ms.
    pub retention_ms: u64,
    /// Requests by discovery method id.
    pub counts: Mutex<BTreeMap<String, u64>>,
    /// `operations.wait` calls currently blocked (see `server.rs`'s `WaitGuard`).
    pub waits_in_flight: AtomicUsize,
    /// `http://127.0.0.1:port`, used in every link returned.
    pub base_url: String,
    /// The Kubernetes API servers of the emulated clusters.
    pub kube: Arc<KubeApis>,
    /// Missing projects and disabled services.
    pub access: Access,
}

impl Shared {
    /// Locks the world, applies operations that are due and drops expired
    /// ones; persists if that changed anything.
    pub fn world_now(&self) -> Result<(MutexGuard<'_, World>, u64), ApiError> {
        let mut world = self.world.lock().unwrap_or_else(|p| p.into_inner());
        let now = now_ms();
        let applied = controllers::advance(&mut world, now);
        let pruned = world.prune(now, self.retention_ms);
        let forget = std::mem::take(&mut world.kube_to_forget);
        forget_deleted(&self.kube, forget);
        if applied || pruned {
            self.persist(&world)?;
        }
        Ok((world, now))
    }

    /// Writes the world to disk.
    ///
    /// # Errors
    /// 503 `backendError` when it cannot be written (the cause is logged).
    pub fn persist(&self, world: &World) -> Result<(), ApiError> {
        world.save(&self.data_dir).map_err(|e| {
            tracing::error!(error = %e, "emulator could not persist the world");
            ApiError::backend_error()
        })
    }

    /// Counts one request to `method_id`.
    pub fn count(&self, method_id: &str) {
        let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        *counts.entry(method_id.to_string()).or_default() += 1;
    }
}

/// Stops and forgets the Kubernetes APIs of deleted clusters, in the background.
fn forget_deleted(kube: &Arc<KubeApis>, keys: Vec<String>) {
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        return;
    };
    for key in keys {
        let kube = kube.clone();
        runtime.spawn(async move { kube.stop(&key, true).await });
    }
}

/// GKE's load balancers for the clusters' LoadBalancer Services: the L4
/// ILB controller acting on the world. Called with a cluster's store
/// locked; it locks the world (never the other way round).
impl LoadBalancers for Shared {
    fn ensure(
        &self,
        cluster: &str,
        spec: &LoadBalancerSpec,
        at_ms: u64,
    ) -> Result<LoadBalancerStatus, String> {
        let (mut world, _) = self.world_now().map_err(|e| e.message)?;
        let status = controllers::l4_ilb::ensure(&mut world, cluster, spec, at_ms)?;
        self.persist(&world).map_err(|e| e.message)?;
        Ok(status)
    }

    fn ensure_deleted(
        &self,
        cluster: &str,
        spec: &LoadBalancerSpec,
        at_ms: u64,
    ) -> Result<(), String> {
        let (mut world, _) = self.world_now().map_err(|e| e.message)?;
        controllers::l4_ilb::ensure_deleted(&mut world, cluster, spec, at_ms)?;
        self.persist(&world).map_err(|e| e.message)
    }
}

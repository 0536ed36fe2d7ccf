//! The state every request shares: the world behind its lock, the knobs of
//! this emulator, request counts and the clusters' Kubernetes APIs.
//! [`Shared::world_now`] is the one way in to the world: it brings the world
//! up to now first (operations due, controllers, pruning) and hands it out
//! as a [`WorldGuard`], which saves what changed when it is let go.

use std::collections::BTreeMap;
use std::ops::{Deref, DerefMut};
use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, Mutex, MutexGuard};

use super::access::Access;
use super::controllers;
use super::errors::ApiError;
use super::faults::Faults;
use super::kubeapi::{KubeApis, LoadBalancerSpec, LoadBalancerStatus, LoadBalancers};
use super::saves::Saves;
use super::world::{now_ms, World};

/// State shared by all requests.
#[derive(Debug)]
pub struct Shared {
    /// The world; every handler locks it briefly (never across an await),
    /// through [`Shared::world_now`].
    pub world: Mutex<World>,
    /// The saves of the world to `DATA_DIR/world.json`.
    pub saves: Saves,
    /// The saves of its Connectivity Tests to `DATA_DIR/connectivity.json`.
    pub connectivity_saves: Saves,
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
    /// ones; what that changed is saved when the guard is let go.
    ///
    /// # Errors
    /// None today; the `Result` keeps the handlers' `?` uniform.
    pub fn world_now(&self) -> Result<(WorldGuard<'_>, u64), ApiError> {
        let mut world = self.world.lock().unwrap_or_else(|p| p.into_inner());
        let now = now_ms();
        let applied = controllers::advance(&mut world, now);
        let pruned = world.prune(now, self.retention_ms);
        let forget = std::mem::take(&mut world.kube_to_forget);
        forget_deleted(&self.kube, forget);
        let guard = WorldGuard {
            shared: self,
            world: Some(world),
            changed: applied || pruned,
        };
        Ok((guard, now))
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
        world.commit().map_err(|e| e.message)?;
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
        world.commit().map_err(|e| e.message)
    }
}

/// The world, locked. Changes made through it are saved when it is let go,
/// after the lock is released (`saves.rs`): by [`WorldGuard::commit`],
/// which reports a failed save, or by dropping it when `world_now` itself
/// changed the world (a failed save is then logged, and the next one
/// carries the change). Either way the save is on disk before the request
/// that changed the world answers.
#[derive(Debug)]
pub struct WorldGuard<'a> {
    shared: &'a Shared,
    world: Option<MutexGuard<'a, World>>,
    changed: bool,
}

impl WorldGuard<'_> {
    /// Releases the world and waits until its changes are on disk.
    ///
    /// # Errors
    /// 503 `backendError` when they cannot be written (the cause is logged).
    pub fn commit(mut self) -> Result<(), ApiError> {
        self.changed = false;
        let shared = self.shared;
        self.release_and_save(&shared.saves).map_err(backend_error)
    }

    /// Like [`WorldGuard::commit`], for a change to the Connectivity Tests only.
    ///
    /// # Errors
    /// 503 `backendError` when they cannot be written (the cause is logged).
    pub fn commit_connectivity(mut self) -> Result<(), ApiError> {
        let shared = self.shared;
        let ticket = shared.connectivity_saves.ticket();
        let advanced = std::mem::take(&mut self.changed);
        let world_ticket = advanced.then(|| shared.saves.ticket());
        drop(self.world.take());
        if let Some(t) = world_ticket {
            shared.saves.wait(t, &shared.world).map_err(backend_error)?;
        }
        shared
            .connectivity_saves
            .wait(ticket, &shared.world)
            .map_err(backend_error)
    }

    fn release_and_save(&mut self, saves: &Saves) -> Result<(), super::EmulatorError> {
        let Some(world) = self.world.take() else {
            return Ok(());
        };
        let ticket = saves.ticket();
        drop(world);
        saves.wait(ticket, &self.shared.world)
    }
}

impl Deref for WorldGuard<'_> {
    type Target = World;
    fn deref(&self) -> &World {
        self.world.as_ref().expect("held until commit or drop")
    }
}

impl DerefMut for WorldGuard<'_> {
    fn deref_mut(&mut self) -> &mut World {
        self.world.as_mut().expect("held until commit or drop")
    }
}

fn backend_error(e: super::EmulatorError) -> ApiError {
    tracing::error!(error = %e, "emulator could not persist the world");
    ApiError::backend_error()
}

impl Drop for WorldGuard<'_> {
    fn drop(&mut self) {
        if self.changed {
            let shared = self.shared;
            // Logged by `backend_error`; the next save carries the change.
            let _ = self.release_and_save(&shared.saves).map_err(backend_error);
        }
    }
}

//! The embedded GCP emulator: a loopback HTTP server imitating a subset of
//! Compute Engine v1, GKE (container v1), Network Management v1, Secret
//! Manager v1 REST and the Cloud Storage JSON API, close enough for
//! Google's official clients and gcloud, plus one Kubernetes API server per
//! emulated cluster.
//!
//! - [`Emulator`]: start / url / request counts / shutdown (this file).
//! - `server.rs`: routing (paths from the discovery document), faults, counts.
//! - `shared.rs`: the state every request shares; the one way in to the world.
//! - `saves.rs`: group commit of the world to `world.json` (and of the
//!   Connectivity Tests to `connectivity.json`), the files written off its lock.
//! - `schema.rs`: the embedded discovery subset and request validation.
//! - `world/`: what is stored (resources + operations, persisted in
//!   `DATA_DIR/world.json`) and `world/uses.rs`, the index of which object
//!   uses which. It knows no API.
//! - `compute/`: the compute API: the collections (networks, subnetworks,
//!   routers, firewalls, forwarding rules, regional backend services,
//!   health checks, network endpoint groups, instances), their rules, and
//!   list / filter / paging.
//! - `container/`: the GKE API: clusters and their operations.
//! - `networkmanagement/`: Network Management's Connectivity Tests, analysed
//!   from the world (subnets, routes, firewall rules, forwarding rules, GKE
//!   control planes) as Google's reachability analysis reports them.
//! - `secretmanager/`: Secret Manager's global secrets and their versions
//!   (create / get / list with label filters / delete, add / access / list
//!   versions), named by project number as Google names them.
//! - `storage/`: Cloud Storage's buckets and objects (JSON API: media and
//!   multipart uploads, `alt=media` downloads, delete, list), with
//!   generations and the `ifGenerationMatch` family of preconditions.
//! - `controllers/`: GKE's own behaviours, reconciling the world after each
//!   change (a finished cluster operation, the `gke-*` firewall rules of a
//!   cluster, its managed ranges, its Kubernetes API), and GKE's L4 ILB
//!   controller (`controllers/l4_ilb/`), the load balancers of internal
//!   LoadBalancer Services.
//! - `kubeapi/`: each cluster's Kubernetes API (`DATA_DIR/kube`), with the
//!   in-cluster controllers (the service controller asks the world for load
//!   balancers through `kubeapi::LoadBalancers`, which `shared.rs`
//!   implements; each cluster holds a weak handle on it). Google tokens
//!   are cluster-admin; service-account tokens are authorized by RBAC.
//! - `operations.rs`: `compute#operation`s; `latency.rs`: how long they take.
//! - `faults.rs`: seeded fault injection; `errors.rs`: error bodies.
//! - `access.rs`: missing projects and disabled services (test knobs).
//! - `pending.rs`: the operations in flight, for tests.
//!
//! Dependencies point one way, and there are no circles among these
//! modules: `world` imports no other module of the emulator but this one;
//! `kubeapi` imports none either (it defines the `LoadBalancers` port it
//! needs); `controllers` import `world`, and `l4_ilb` also compute's
//! address allocation and the port's data types; `shared` (the way in to
//! the world) imports `controllers` and implements the port; `compute` and
//! `container` import `world` and not each other (a delete check asks
//! `world::uses`), and `container` reaches the world through `shared`;
//! `storage` reaches the world through `shared` and imports no other API;
//! `server` ties them together.
//!
//! Locks: a cluster's object store may be held while the world is locked
//! (the service controller calling the port), never the other way round.
//!
//! Operations complete lazily by wall-clock time: an operation's effect
//! happens when it becomes DONE, even across a restart, and the controllers
//! react to it then. Every mutation may carry a `requestId`; a repeated one
//! returns the original operation. DONE operations are dropped after
//! [`EmulatorConfig::operation_retention`].

mod access;
mod batch;
mod compute;
mod container;
mod controllers;
mod errors;
mod faults;
mod geography;
pub mod kubeapi;
mod latency;
mod networkmanagement;
mod operations;
mod pending;
mod query;
mod refs;
mod saves;
mod schema;
mod secretmanager;
mod server;
mod serviceusage;
mod shared;
mod storage;
pub mod tool_env;
mod world;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use faults::FaultConfig;
pub use kubeapi::{LOAD_BALANCER_PROVISIONING, LOAD_BALANCER_TEARDOWN};
pub use latency::base_duration;
pub use pending::PendingOperation;
pub use saves::SaveStats;

use shared::Shared;
use world::{World, CONNECTIVITY_FILE, WORLD_FILE};

/// Environment variable read by [`EmulatorConfig::apply_env`]: services to
/// treat as disabled, comma-separated (`compute.googleapis.com`, or `compute`
/// for short).
pub const ENV_DISABLED_SERVICES: &str = "MESHFORM_EMULATOR_DISABLED_SERVICES";

/// Environment variable read by [`EmulatorConfig::apply_env`]: project ids to
/// treat as nonexistent, comma-separated.
pub const ENV_MISSING_PROJECTS: &str = "MESHFORM_EMULATOR_MISSING_PROJECTS";

/// How to run an emulator.
#[derive(Debug, Clone)]
pub struct EmulatorConfig {
    /// Directory holding `world.json`; created if missing.
    pub data_dir: PathBuf,
    /// Multiplier applied to every [`base_duration`] (0.01 turns 12 s into 120 ms).
    pub latency_scale: f64,
    /// Injected faults.
    pub faults: FaultConfig,
    /// How long DONE operations, and the `requestId`s that started them, are
    /// remembered (wall clock; default one hour). Older ones are dropped from
    /// the world, so `world.json` does not grow without bound; a `get` of a
    /// dropped operation is 404 and a replay of its `requestId` is a new request.
    pub operation_retention: Duration,
    /// Services whose every request answers Google's 403 `SERVICE_DISABLED`
    /// error, e.g. `compute.googleapis.com`, `container.googleapis.com`.
    pub disabled_services: Vec<String>,
    /// Projects that do not exist: compute answers 404 `The resource
    /// 'projects/{p}' was not found`, GKE 403 `Permission denied on resource
    /// project {p}.`
    pub missing_projects: Vec<String>,
}

impl EmulatorConfig {
    /// A config with latency scale 0.01 and no faults.
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        EmulatorConfig {
            data_dir: data_dir.into(),
            latency_scale: 0.01,
            faults: FaultConfig::default(),
            operation_retention: operations::RETENTION,
            disabled_services: Vec::new(),
            missing_projects: Vec::new(),
        }
    }

    /// Adds the services of [`ENV_DISABLED_SERVICES`] and the projects of
    /// [`ENV_MISSING_PROJECTS`] from the process environment, if set.
    pub fn apply_env(&mut self) {
        self.apply_vars(|name| std::env::var(name).ok());
    }

    /// [`EmulatorConfig::apply_env`] with the variables looked up by `var`.
    pub fn apply_vars(&mut self, var: impl Fn(&str) -> Option<String>) {
        let add = |list: &mut Vec<String>, entries: Vec<String>| {
            for entry in entries {
                if !list.contains(&entry) {
                    list.push(entry);
                }
            }
        };
        if let Some(v) = var(ENV_DISABLED_SERVICES) {
            let services = access::parse_list(&v)
                .iter()
                .map(|s| access::service_name(s))
                .collect();
            add(&mut self.disabled_services, services);
        }
        if let Some(v) = var(ENV_MISSING_PROJECTS) {
            add(&mut self.missing_projects, access::parse_list(&v));
        }
    }
}

/// Why the emulator could not start (or persist).
#[derive(Debug, thiserror::Error)]
pub enum EmulatorError {
    /// Reading or writing a file in the data directory failed.
    #[error("emulator I/O on {path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// `world.json` exists but is not a world this version understands.
    #[error("emulator world file {path} is corrupt: {source}; move it away to start empty")]
    Corrupt {
        /// The world file.
        path: PathBuf,
        /// The parse error.
        #[source]
        source: serde_json::Error,
    },
    /// The listen address could not be bound.
    #[error("emulator could not listen on {addr}: {source}")]
    Bind {
        /// The requested address.
        addr: SocketAddr,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
}

/// A running emulator. Dropping it without [`Emulator::shutdown`] leaves the
/// server task running until the runtime ends.
#[derive(Debug)]
pub struct Emulator {
    url: String,
    shared: Arc<Shared>,
    stop: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

impl Emulator {
    /// Binds `listen` (use 127.0.0.1:0 for an ephemeral port), loads the world, serves in a background tokio task.
    ///
    /// # Errors
    /// [`EmulatorError::Io`] / [`EmulatorError::Corrupt`] for the data directory,
    /// [`EmulatorError::Bind`] if the address is taken.
    pub async fn start(
        config: EmulatorConfig,
        listen: SocketAddr,
    ) -> Result<Emulator, EmulatorError> {
        std::fs::create_dir_all(&config.data_dir).map_err(|source| EmulatorError::Io {
            path: config.data_dir.clone(),
            source,
        })?;
        let world = World::load(&config.data_dir)?;
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .map_err(|source| EmulatorError::Bind {
                addr: listen,
                source,
            })?;
        let addr = listener
            .local_addr()
            .map_err(|source| EmulatorError::Bind {
                addr: listen,
                source,
            })?;
        let url = format!("http://{addr}");
        let kube = Arc::new(kubeapi::KubeApis::new(
            config.data_dir.join("kube"),
            config.latency_scale,
        ));
        let shared = Arc::new(Shared {
            world: Mutex::new(world),
            saves: saves::Saves::new(config.data_dir.clone(), WORLD_FILE, World::to_bytes),
            connectivity_saves: saves::Saves::new(
                config.data_dir,
                CONNECTIVITY_FILE,
                World::connectivity_bytes,
            ),
            scale: config.latency_scale,
            faults: faults::Faults::new(config.faults),
            retention_ms: u64::try_from(config.operation_retention.as_millis()).unwrap_or(u64::MAX),
            counts: Mutex::new(BTreeMap::new()),
            waits_in_flight: AtomicUsize::new(0),
            base_url: url.clone(),
            kube,
            access: access::Access {
                disabled_services: config
                    .disabled_services
                    .iter()
                    .map(|s| access::service_name(s))
                    .collect(),
                missing_projects: config.missing_projects,
            },
        });
        // Clusters get GKE's load balancers (a weak handle: no cycle).
        let weak = Arc::downgrade(&shared);
        let provider: std::sync::Weak<dyn kubeapi::LoadBalancers> = weak;
        shared.kube.set_load_balancers(provider);
        // Clusters in the world get their API servers back, on their old addresses.
        container::attach_all(&shared).await;
        let app = server::router(shared.clone());
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let serve = axum::serve(listener, app).with_graceful_shutdown(async {
                let _ = stopped.await;
            });
            if let Err(e) = serve.await {
                tracing::error!(error = %e, "emulator server stopped");
            }
        });
        tracing::info!(%url, "emulator listening");
        Ok(Emulator {
            url,
            shared,
            stop,
            task,
        })
    }

    /// The base URL, e.g. `http://127.0.0.1:41234`; pass it to the clients' `with_endpoint`.
    pub fn url(&self) -> String {
        self.url.clone()
    }

    /// Requests served so far, by discovery method id (e.g. `compute.networks.insert`),
    /// and as `kubernetes` those of all clusters' Kubernetes APIs.
    pub fn request_counts(&self) -> BTreeMap<String, u64> {
        let mut counts = self
            .shared
            .counts
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let kube = self.shared.kube.requests();
        if kube > 0 {
            counts.insert("kubernetes".into(), kube);
        }
        counts
    }

    /// How many `globalOperations.wait` / `regionOperations.wait` /
    /// `zoneOperations.wait` calls are blocked right now. A wait whose client
    /// disconnects is cancelled and no longer counted.
    pub fn waits_in_flight(&self) -> usize {
        self.shared.waits_in_flight.load(Ordering::SeqCst)
    }

    /// What saving the world to `world.json` has cost since start or the
    /// last [`Emulator::reset_request_counts`].
    pub fn world_saves(&self) -> SaveStats {
        self.shared.saves.stats()
    }

    /// Sets all request counts (and [`Emulator::world_saves`]) back to zero.
    pub fn reset_request_counts(&self) {
        self.shared.saves.reset_stats();
        self.shared
            .counts
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
        self.shared.kube.reset_requests();
    }

    /// Names of all resources in the world now, e.g. `networks/cross-region-vpc`,
    /// `regions/us-central1/subnetworks/x`, `zones/us-central1-a/instances/bastion`.
    pub fn resource_names(&self) -> Vec<String> {
        let Ok((world, _)) = self.shared.world_now() else {
            return Vec::new();
        };
        world
            .resources
            .keys()
            .map(|k| {
                let rest = k.splitn(3, '/').nth(2).unwrap_or(k);
                rest.strip_prefix("global/").unwrap_or(rest).to_string()
            })
            .collect()
    }

    /// The operations (compute and GKE) not DONE at the current wall clock,
    /// oldest first, with their type, target and name. Tests poll it to act
    /// while an operation of some kind is in flight.
    pub fn pending_operations(&self) -> Vec<PendingOperation> {
        match self.shared.world_now() {
            Ok((world, now)) => pending::pending(&world, now),
            Err(_) => Vec::new(),
        }
    }

    /// Stops serving and waits for the server task, then stops every
    /// cluster's Kubernetes API; the world is already on disk.
    pub async fn shutdown(self) {
        let _ = self.stop.send(());
        let _ = self.task.await;
        self.shared.kube.stop_all().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apply_vars_adds_comma_separated_services_and_projects_once() {
        let mut c = EmulatorConfig::new("/nonexistent");
        c.disabled_services.push("compute.googleapis.com".into());
        c.apply_vars(|name| match name {
            ENV_DISABLED_SERVICES => Some("compute, container".into()),
            ENV_MISSING_PROJECTS => Some("gone,,other ".into()),
            _ => None,
        });
        assert_eq!(
            c.disabled_services,
            ["compute.googleapis.com", "container.googleapis.com"]
        );
        assert_eq!(c.missing_projects, ["gone", "other"]);
        let mut unset = EmulatorConfig::new("/nonexistent");
        unset.apply_vars(|_| None);
        assert!(unset.disabled_services.is_empty() && unset.missing_projects.is_empty());
    }
}

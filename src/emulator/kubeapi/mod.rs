//! The Kubernetes API of each emulated GKE cluster: one HTTPS server per
//! cluster on loopback, with its own CA, whose address and CA certificate
//! the emulated GKE API returns.
//!
//! Map of this module:
//! - [`KubeApis`]: start / stop the servers (this file).
//! - `tls.rs`: the cluster CA and serving certificate (rcgen), persisted.
//! - `server.rs`: TLS accept loop serving the axum router.
//! - `router.rs`: request dispatch: authentication, authorization, then
//!   the handlers; `discovery.rs`: `/version`, `/api`, `/apis`, OpenAPI v3.
//! - `auth.rs`: who a bearer token is (the Google identity, allowed
//!   everything, or a service account); `sa_token.rs`: the legacy
//!   service-account tokens the cluster signs; `request_info.rs`: a
//!   request as authorization sees it (verb, resource, namespace, name);
//!   `rbac.rs`: RBAC decisions for service accounts and the 403 they get;
//!   `reviews.rs`: `TokenReview`, `SelfSubjectAccessReview`,
//!   `SubjectAccessReview`.
//! - `paths.rs`: resource paths; `selectors.rs`: label/field selectors.
//! - `objects.rs`: get/list/create/replace/patch/delete of objects;
//!   `finalizers.rs`: graceful deletion (finalizers, terminating namespaces).
//! - `apply.rs`: server-side apply, merge patches, `managedFields`;
//!   `jsonpatch.rs`: JSON patches (RFC 6902).
//! - `resources.rs`: built-in resource table; `crd.rs`: custom resources.
//! - `validate.rs`: names, Service and Deployment specs;
//!   `defaults.rs`: API-server defaulting (Service cluster IPs and ports,
//!   Deployment and pod template fields, Secret type, Namespace).
//! - `watch.rs`: watch streams and the change history; `table.rs`: the
//!   `Table` format of `kubectl get`; `query.rs`: query parameters;
//!   `protobuf.rs`: protobuf request bodies of kubectl's typed clients.
//! - `deployments.rs`: Deployment status from emulated time; `scale.rs`:
//!   their `scale` subresource.
//! - `controllers/`: what runs in the cluster and changes objects on its
//!   own (istiod making its CA when it starts without `cacerts`, the
//!   namespace controller, the service controller of LoadBalancer
//!   Services, the service-account token controller), caught up at every
//!   request and woken by a task per cluster.
//! - `cloud.rs`: the cloud provider's load balancers as the service
//!   controller calls them ([`LoadBalancers`]); the emulator implements
//!   them on its world and hands them over with
//!   [`KubeApis::set_load_balancers`].
//! - `store.rs`: objects persisted in `objects.json`; `meta.rs`: uid,
//!   timestamps, resource versions; `cluster.rs`: per-server state;
//!   `status.rs`: Kubernetes `Status` errors.
//!
//! Data of a cluster lives in `data_dir/<sanitized key>/`: `ca.pem`,
//! `ca-key.pem`, `server.pem`, `server-key.pem`, `endpoint.json` (the
//! port) and `objects.json`.

mod apply;
mod auth;
mod cloud;
mod cluster;
mod controllers;
mod crd;
mod defaults;
mod deployments;
mod discovery;
mod finalizers;
mod jsonpatch;
mod meta;
mod objects;
mod paths;
mod protobuf;
mod query;
mod rbac;
mod request_info;
mod resources;
mod reviews;
mod router;
mod sa_token;
mod scale;
mod selectors;
mod server;
mod status;
mod store;
mod table;
mod tls;
mod validate;
mod watch;

use std::collections::HashMap;
use std::fs;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use cloud::{
    CloudLink, LoadBalancerSpec, LoadBalancerStatus, LoadBalancers, LOAD_BALANCER_PROVISIONING,
    LOAD_BALANCER_TEARDOWN,
};
pub use deployments::{rollout_time, ROLLOUT};
pub use discovery::GIT_VERSION;

/// Where a cluster's API server listens and how to trust it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KubeEndpoint {
    /// `127.0.0.1:PORT`; the same across emulator restarts.
    pub address: String,
    /// The cluster CA certificate, PEM.
    pub ca_pem: String,
}

impl KubeEndpoint {
    /// `https://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("https://{}", self.address)
    }

    /// The CA certificate as DER (what `kube::Config::root_cert` takes).
    pub fn ca_der(&self) -> Option<Vec<u8>> {
        tls::pem_to_der(&self.ca_pem)
    }
}

/// An API server could not be started.
#[derive(Debug, thiserror::Error)]
pub enum KubeApiError {
    /// The API server cannot be provided (for example during shutdown).
    #[error("the emulated Kubernetes API is not available: {0}")]
    Unavailable(String),
    /// Reading or writing a file of the cluster failed.
    #[error("emulated Kubernetes API I/O on {path}: {source}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A persisted file does not parse.
    #[error("emulated Kubernetes API file {path} is corrupt: {message}; delete the cluster's folder to start afresh")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// Making or loading the certificates failed.
    #[error("emulated Kubernetes API certificates: {0}")]
    Tls(String),
    /// The port could not be bound (after a restart: another process took it).
    #[error("emulated Kubernetes API cannot listen on {address}: {source}")]
    Bind {
        /// `127.0.0.1:PORT`.
        address: String,
        /// The bind error.
        #[source]
        source: std::io::Error,
    },
}

struct Running {
    endpoint: KubeEndpoint,
    shutdown: oneshot::Sender<()>,
    task: JoinHandle<()>,
    /// The in-cluster controllers' task, stopped with the server (also
    /// when the server is dropped without [`KubeApis::stop`]).
    controllers: AbortOnDrop,
}

/// A task aborted when its handle is dropped.
#[derive(Debug)]
struct AbortOnDrop(JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl std::fmt::Debug for Running {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Running")
            .field("endpoint", &self.endpoint)
            .finish_non_exhaustive()
    }
}

/// The API servers of all emulated clusters of one emulator.
#[derive(Debug)]
pub struct KubeApis {
    data_dir: PathBuf,
    latency_scale: f64,
    running: tokio::sync::Mutex<HashMap<String, Running>>,
    /// Requests served by every cluster's API server (for benchmarks).
    requests: Arc<std::sync::atomic::AtomicU64>,
    /// The cloud's load balancers, handed to every cluster started after
    /// [`KubeApis::set_load_balancers`].
    load_balancers: std::sync::OnceLock<std::sync::Weak<dyn LoadBalancers>>,
}

/// The folder name of a cluster key: characters other than ASCII
/// alphanumerics and `-` become `_` (so no key can escape `data_dir`).
pub fn sanitize_key(key: &str) -> String {
    key.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

#[derive(Default, serde::Serialize, serde::Deserialize)]
struct EndpointFile {
    port: u16,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    services_cidr: Option<String>,
}

fn read_endpoint(dir: &Path) -> EndpointFile {
    fs::read(dir.join("endpoint.json"))
        .ok()
        .and_then(|bytes| serde_json::from_slice::<EndpointFile>(&bytes).ok())
        .unwrap_or_default()
}

fn write_endpoint(dir: &Path, file: &EndpointFile) -> Result<(), KubeApiError> {
    let path = dir.join("endpoint.json");
    let body = serde_json::to_vec(file).expect("serializable");
    fs::write(&path, body).map_err(|source| KubeApiError::Io { path, source })
}

/// The services range of a cluster started without one: a /24 in
/// `10.96.0.0/16` picked from the cluster key, so clusters differ.
pub fn default_services_cidr(key: &str) -> String {
    let hash = key
        .bytes()
        .fold(0u32, |h, b| h.wrapping_mul(31).wrapping_add(b as u32));
    format!("10.96.{}.0/24", hash % 256)
}

impl KubeApis {
    /// Servers keep their data under `data_dir` (the emulator's `DATA_DIR/kube`).
    pub fn new(data_dir: impl Into<PathBuf>, latency_scale: f64) -> Self {
        KubeApis {
            data_dir: data_dir.into(),
            latency_scale,
            running: tokio::sync::Mutex::new(HashMap::new()),
            requests: Arc::default(),
            load_balancers: std::sync::OnceLock::new(),
        }
    }

    /// Gives the clusters a cloud: Services of type LoadBalancer get their
    /// load balancers from `provider` (the emulator's GKE). Set once, before
    /// the first cluster starts; later calls are ignored.
    pub fn set_load_balancers(&self, provider: std::sync::Weak<dyn LoadBalancers>) {
        let _ = self.load_balancers.set(provider);
    }

    /// Requests served by all clusters' API servers since the last reset.
    pub fn requests(&self) -> u64 {
        self.requests.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Sets the request count back to zero.
    pub fn reset_requests(&self) {
        self.requests.store(0, std::sync::atomic::Ordering::Relaxed);
    }

    /// The folder holding the data of cluster `key`.
    pub fn cluster_dir(&self, key: &str) -> PathBuf {
        self.data_dir.join(sanitize_key(key))
    }

    /// Starts the API server of the cluster `key` (e.g.
    /// `projects/p/locations/europe-west2-a/clusters/c`), or returns it when it
    /// runs. On the first call it makes the cluster's CA and serving
    /// certificate and picks a free port; later calls (also after a restart of
    /// the emulator) reuse both.
    ///
    /// # Errors
    /// I/O or certificate failures, a corrupt `objects.json`, or the
    /// persisted port being taken by another process ([`KubeApiError::Bind`]).
    pub async fn start(&self, key: &str) -> Result<KubeEndpoint, KubeApiError> {
        self.start_in(key, None).await
    }

    /// [`KubeApis::start`], allocating Service cluster IPs from
    /// `services_cidr` (the cluster's services secondary range, e.g.
    /// `10.16.48.0/20`). Without it, the range persisted by an earlier start
    /// is used, else [`default_services_cidr`]. A running server keeps the
    /// range it started with.
    ///
    /// # Errors
    /// As [`KubeApis::start`]; an unparsable `services_cidr` is ignored.
    pub async fn start_in(
        &self,
        key: &str,
        services_cidr: Option<&str>,
    ) -> Result<KubeEndpoint, KubeApiError> {
        let mut running = self.running.lock().await;
        if let Some(r) = running.get(key) {
            if !r.task.is_finished() {
                return Ok(r.endpoint.clone());
            }
        }
        // A server that ended is replaced; dropping it stops its controllers.
        running.remove(key);
        let dir = self.cluster_dir(key);
        fs::create_dir_all(&dir).map_err(|source| KubeApiError::Io {
            path: dir.clone(),
            source,
        })?;
        let certs = tls::load_or_create(&dir)?;
        let config = tls::server_config(&certs)?;
        let mut store = store::Store::load(&dir)?;
        let mut file = read_endpoint(&dir);
        let cidr_text = services_cidr
            .filter(|c| defaults::Cidr::parse(c).is_some())
            .map(str::to_string)
            .or(file.services_cidr.clone())
            .unwrap_or_else(|| default_services_cidr(key));
        let services = defaults::Cidr::parse(&cidr_text)
            .or_else(|| defaults::Cidr::parse(&default_services_cidr(key)))
            .expect("default range parses");
        store.place_kubernetes_service(services);
        store.all_namespace_defaults(&certs.ca_pem);
        let wanted = file.port;
        let bind_at = SocketAddr::from(([127, 0, 0, 1], wanted));
        let listener = TcpListener::bind(bind_at)
            .await
            .map_err(|source| KubeApiError::Bind {
                address: bind_at.to_string(),
                source,
            })?;
        let local = listener.local_addr().map_err(|source| KubeApiError::Bind {
            address: bind_at.to_string(),
            source,
        })?;
        if wanted != local.port() || file.services_cidr.as_deref() != Some(&cidr_text) {
            file.port = local.port();
            file.services_cidr = Some(cidr_text);
            write_endpoint(&dir, &file)?;
        }
        store.save(&dir)?;
        let address = local.to_string();
        let cluster = Arc::new(cluster::Cluster {
            dir,
            address: address.clone(),
            latency_scale: self.latency_scale,
            store: Mutex::new(store),
            services,
            ca_pem: certs.ca_pem.clone(),
            events: tokio::sync::broadcast::channel(1024).0,
            requests: self.requests.clone(),
            cloud: self.load_balancers.get().map(|provider| CloudLink {
                key: key.to_string(),
                provider: provider.clone(),
            }),
            tokens: Arc::new(sa_token::TokenIssuer::new(
                certs.ca_key_pem.as_bytes(),
                &certs.ca_pem,
            )),
        });
        let (tx, rx) = oneshot::channel();
        let controllers = AbortOnDrop(controllers::spawn(cluster.clone()));
        let task = server::spawn(listener, config, router::router(cluster), rx);
        let endpoint = KubeEndpoint {
            address,
            ca_pem: certs.ca_pem,
        };
        tracing::info!(cluster = key, address = %endpoint.address, "emulated Kubernetes API started");
        running.insert(
            key.to_string(),
            Running {
                endpoint: endpoint.clone(),
                shutdown: tx,
                task,
                controllers,
            },
        );
        Ok(endpoint)
    }

    /// The endpoint of `key` when its server runs.
    pub async fn endpoint(&self, key: &str) -> Option<KubeEndpoint> {
        self.running
            .lock()
            .await
            .get(key)
            .map(|r| r.endpoint.clone())
    }

    /// Stops the server of `key`; with `forget` its CA, port and objects are
    /// deleted too. Idempotent: stopping a stopped or unknown cluster is a
    /// no-op (with `forget`, its folder is still removed).
    pub async fn stop(&self, key: &str, forget: bool) {
        let stopped = self.running.lock().await.remove(key);
        if let Some(r) = stopped {
            Self::halt(r).await;
        }
        if forget {
            let dir = self.cluster_dir(key);
            if let Err(e) = fs::remove_dir_all(&dir) {
                if e.kind() != std::io::ErrorKind::NotFound {
                    tracing::warn!(dir = %dir.display(), error = %e, "could not delete cluster data");
                }
            }
        }
    }

    /// Stops every server (emulator shutdown); data stays.
    pub async fn stop_all(&self) {
        let all: Vec<Running> = self.running.lock().await.drain().map(|(_, r)| r).collect();
        for r in all {
            Self::halt(r).await;
        }
    }

    async fn halt(r: Running) {
        drop(r.controllers);
        let _ = r.shutdown.send(());
        let _ = r.task.await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_become_safe_folder_names() {
        assert_eq!(
            sanitize_key("projects/p/locations/europe-west2-a/clusters/c1"),
            "projects_p_locations_europe-west2-a_clusters_c1"
        );
        assert_eq!(sanitize_key("../x"), "___x");
    }
}

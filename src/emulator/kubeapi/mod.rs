//! The Kubernetes API of each emulated GKE cluster: one HTTPS server per
//! cluster on loopback, with its own CA, whose address and CA certificate
//! the emulated GKE API returns.
//!
//! (Interface skeleton; the implementation lands with the kubeapi work.)

use std::path::PathBuf;

/// Where a cluster's API server listens and how to trust it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KubeEndpoint {
    /// `127.0.0.1:PORT`; the same across emulator restarts.
    pub address: String,
    /// The cluster CA certificate, PEM.
    pub ca_pem: String,
}

/// An API server could not be started.
#[derive(Debug, thiserror::Error)]
pub enum KubeApiError {
    /// Not implemented yet.
    #[error("the emulated Kubernetes API is not available: {0}")]
    Unavailable(String),
}

/// The API servers of all emulated clusters of one emulator.
#[derive(Debug)]
pub struct KubeApis {
    #[allow(dead_code)]
    data_dir: PathBuf,
    #[allow(dead_code)]
    latency_scale: f64,
}

impl KubeApis {
    /// Servers keep their data under `data_dir` (the emulator's `DATA_DIR/kube`).
    pub fn new(data_dir: impl Into<PathBuf>, latency_scale: f64) -> Self {
        KubeApis {
            data_dir: data_dir.into(),
            latency_scale,
        }
    }

    /// Starts the API server of the cluster `key` (e.g.
    /// `projects/p/locations/europe-west2-a/clusters/c`), or returns it when it
    /// runs. On the first call it makes the cluster's CA and serving
    /// certificate and picks a free port; later calls (also after a restart of
    /// the emulator) reuse both.
    pub async fn start(&self, key: &str) -> Result<KubeEndpoint, KubeApiError> {
        Err(KubeApiError::Unavailable(key.to_string()))
    }

    /// Stops the server of `key`; with `forget` its CA, port and objects are deleted too.
    pub async fn stop(&self, key: &str, forget: bool) {
        let _ = (key, forget);
    }

    /// Stops every server (emulator shutdown); data stays.
    pub async fn stop_all(&self) {}
}

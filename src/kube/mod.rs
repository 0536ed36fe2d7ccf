//! The Kubernetes side: a `kube` client per cluster (address and CA from the
//! GKE API, TLS always verified, a Google bearer token on every request),
//! the Kubernetes resources meshform applies with server-side apply, and
//! kubeconfig files.

mod bearer;
mod connection;
pub mod kubeconfig;
pub mod manifest;
mod object;
pub mod templates;
mod token;

pub use bearer::{Bearer, BearerLayer};
pub use connection::{key as connection_key, ClusterConnection, Connections};
pub use manifest::ObjectRef;
pub use object::{Connected, Placement};
pub use token::{TokenError, TokenSource, EMULATOR_TOKEN};

use std::collections::HashMap;
use tokio::sync::Mutex;

use crate::gcp::{ca_digest, ClusterEndpoint, GcpError, Provider, Target};

/// The field manager of meshform's server-side applies.
pub const FIELD_MANAGER: &str = "meshform";

/// A Kubernetes call failed.
#[derive(Debug, thiserror::Error)]
pub enum KubeError {
    /// The cluster's endpoint could not be read from GKE.
    #[error(transparent)]
    Gcp(#[from] GcpError),
    /// The token source failed.
    #[error(transparent)]
    Token(#[from] TokenError),
    /// A Kubernetes object could not be rendered.
    #[error(transparent)]
    Template(#[from] templates::TemplateError),
    /// The client could not be configured.
    #[error("cannot configure the Kubernetes client for cluster {cluster}: {message}")]
    Config {
        /// The cluster.
        cluster: String,
        /// Why.
        message: String,
    },
    /// meshform does not know how to reach the cluster.
    #[error("no connection settings for cluster {0}: it is in neither the plan file nor the state\n  help: add the cluster back to the plan file, or remove its objects from state")]
    NoConnection(String),
    /// The object did not go away in time.
    #[error("{0}")]
    StillThere(String),
    /// The Kubernetes API answered with an error.
    #[error("{context}: {source}")]
    Api {
        /// What meshform was doing.
        context: String,
        /// kube's error.
        #[source]
        source: kube::Error,
    },
}

impl KubeError {
    /// Whether retrying may succeed (429, 5xx, connection errors).
    pub fn is_transient(&self) -> bool {
        match self {
            KubeError::Gcp(e) => e.is_transient(),
            KubeError::Api { source, .. } => match source {
                kube::Error::Api(s) => s.code == 429 || s.code >= 500,
                kube::Error::HyperError(_) | kube::Error::Service(_) => true,
                _ => false,
            },
            _ => false,
        }
    }
}

/// Kubernetes clients of the clusters of one project.
pub struct Kube {
    gcp: Provider,
    tokens: TokenSource,
    connections: std::sync::RwLock<Connections>,
    clients: Mutex<HashMap<String, Connected>>,
}

impl std::fmt::Debug for Kube {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Kube").finish_non_exhaustive()
    }
}

impl Kube {
    /// Clients authenticated for `gcp`'s target: Google credentials for the
    /// real cloud, the emulator's token for an emulator.
    ///
    /// # Errors
    /// No Google credentials for the real cloud.
    pub fn new(gcp: &Provider) -> Result<Kube, KubeError> {
        let tokens = match gcp.target() {
            Target::Cloud => TokenSource::google()?,
            Target::Emulator(_) => TokenSource::Static(EMULATOR_TOKEN.into()),
        };
        Ok(Kube {
            gcp: gcp.clone(),
            tokens,
            connections: Default::default(),
            clients: Mutex::new(HashMap::new()),
        })
    }

    /// The token source of these clients.
    pub fn tokens(&self) -> &TokenSource {
        &self.tokens
    }

    /// Sets how each cluster is reached (from the plan file, or the state
    /// for clusters the plan no longer has). Clients are cached per
    /// settings, so changed settings build a new one.
    pub fn set_connections(&self, connections: Connections) {
        *self.connections.write().expect("connections lock") = connections;
    }

    /// How cluster `name` in `location` is reached.
    ///
    /// # Errors
    /// [`KubeError::NoConnection`] when neither plan nor state says.
    pub fn connection(&self, location: &str, name: &str) -> Result<ClusterConnection, KubeError> {
        self.connections
            .read()
            .expect("connections lock")
            .get(&connection::key(location, name))
            .cloned()
            .ok_or_else(|| KubeError::NoConnection(format!("{name} in {location}")))
    }

    /// The client of cluster `name` in `location`, reached as its
    /// connection settings say, with the digest of the CA it trusts; built
    /// once per settings. `None` when the cluster does not exist.
    ///
    /// # Errors
    /// The cluster cannot be read, or the client cannot be configured.
    pub async fn connect(
        &self,
        location: &str,
        name: &str,
    ) -> Result<Option<Connected>, KubeError> {
        let settings = self.connection(location, name)?;
        let key = format!(
            "{location}/{name}/{}/{}",
            settings.access,
            settings.proxy_url.as_deref().unwrap_or_default()
        );
        let mut clients = self.clients.lock().await;
        if let Some(c) = clients.get(&key) {
            return Ok(Some(c.clone()));
        }
        let endpoint = match self
            .gcp
            .cluster_endpoint(location, name, &settings.access)
            .await
        {
            Ok(e) => e,
            // No cluster, no objects in it.
            Err(GcpError::NotReadable(_)) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let client = build_client(
            name,
            &endpoint,
            settings.proxy_url.as_deref(),
            self.tokens.clone(),
        )?;
        let connected = Connected {
            client,
            ca_digest: ca_digest(&endpoint.ca_pem),
            types: Default::default(),
        };
        clients.insert(key, connected.clone());
        Ok(Some(connected))
    }

    /// [`Kube::connect`] for a cluster that must exist: writing to a
    /// cluster that is not there is an error.
    ///
    /// # Errors
    /// The cluster does not exist or cannot be reached.
    pub async fn connected(&self, location: &str, name: &str) -> Result<Connected, KubeError> {
        self.connect(location, name).await?.ok_or_else(|| {
            KubeError::Gcp(GcpError::NotReadable(format!(
                "cluster {name} in {location}"
            )))
        })
    }

    /// Drops the cached clients of cluster `name`: after it is created or
    /// deleted its address and CA are new.
    pub async fn forget_cluster(&self, location: &str, name: &str) {
        let prefix = format!("{location}/{name}/");
        self.clients
            .lock()
            .await
            .retain(|k, _| !k.starts_with(&prefix));
    }

    /// Whether cluster `name` in `location` exists and is not being deleted.
    ///
    /// # Errors
    /// GKE cannot be read.
    pub async fn cluster_stays(&self, location: &str, name: &str) -> Result<bool, KubeError> {
        let cluster = self.gcp.get_cluster(location, name).await?;
        Ok(cluster.is_some_and(|c| {
            c.status != google_cloud_container_v1::model::cluster::Status::Stopping
        }))
    }
}

/// The DER bytes of every certificate in a PEM text.
pub fn pem_to_der(pem: &str) -> Vec<Vec<u8>> {
    use base64::Engine;
    let mut out = Vec::new();
    let mut body = String::new();
    let mut inside = false;
    for line in pem.lines().map(str::trim) {
        if line.starts_with("-----BEGIN CERTIFICATE") {
            inside = true;
            body.clear();
        } else if line.starts_with("-----END CERTIFICATE") {
            inside = false;
            if let Ok(der) = base64::engine::general_purpose::STANDARD.decode(&body) {
                out.push(der);
            }
        } else if inside {
            body.push_str(line);
        }
    }
    out
}

/// Makes ring the process-wide rustls crypto provider, once. Both ring
/// (kube) and aws-lc-rs (Google's clients) are compiled in, so rustls cannot
/// pick one by itself; a provider installed earlier is kept.
pub fn install_crypto_provider() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let _ = tokio_rustls::rustls::crypto::ring::default_provider().install_default();
    });
}

/// A `kube` client for one cluster: TLS verified against the cluster CA,
/// through `proxy_url` if given, with a bearer token from `tokens` on every
/// request.
///
/// # Errors
/// A bad server address, CA or proxy URL.
pub fn build_client(
    cluster: &str,
    endpoint: &ClusterEndpoint,
    proxy_url: Option<&str>,
    tokens: TokenSource,
) -> Result<kube::Client, KubeError> {
    let err = |message: String| KubeError::Config {
        cluster: cluster.to_string(),
        message,
    };
    install_crypto_provider();
    let uri = endpoint
        .server
        .parse()
        .map_err(|e| err(format!("server {}: {e}", endpoint.server)))?;
    let mut config = kube::Config::new(uri);
    let certs = pem_to_der(&endpoint.ca_pem);
    if certs.is_empty() {
        return Err(err("GKE returned no CA certificate".into()));
    }
    config.root_cert = Some(certs);
    config.default_namespace = "default".into();
    if let Some(p) = proxy_url {
        config.proxy_url = Some(p.parse().map_err(|e| err(format!("proxy_url {p}: {e}")))?);
    }
    let builder = kube::client::ClientBuilder::try_from(config).map_err(|e| err(e.to_string()))?;
    Ok(builder.with_layer(&BearerLayer(tokens)).build())
}

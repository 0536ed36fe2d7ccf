//! What runs inside an emulated cluster besides its API server: the
//! workloads whose effects meshform depends on, written as controllers that
//! change the cluster's objects on their own, as kube-runtime's controllers
//! do. (GKE's behaviours, which change the cloud, are the world's
//! controllers in `emulator/controllers/`.)
//!
//! - `istiod_ca.rs`: istiod, once its pods start without `cacerts`, makes
//!   its own CA (`istio-ca-secret`).
//! - `ca_secret.rs`: that Secret, with a fresh self-signed root.
//! - `namespaces.rs`: a namespace being deleted loses its contents (each
//!   honouring its finalizers), then goes itself.
//! - `sa_tokens.rs`: the service-account token controller: Secrets of type
//!   `kubernetes.io/service-account-token` get their token, `ca.crt` and
//!   `namespace`, or are deleted when their ServiceAccount is missing.
//!
//! **When they run.** What happens in a cluster depends on time (a
//! Deployment's pods start when its rollout finishes, see
//! `deployments.rs`), and nothing ticks in the emulator, so the controllers
//! catch up lazily and are woken on time:
//!
//! 1. Every request that reads or writes objects first lets them catch up
//!    to now ([`Cluster::lock_caught_up`]), before it sees or changes
//!    anything. The state they see is then the state at the moment their
//!    work fell due (only requests change objects, and every request
//!    catches up first), so the result is as if they had run at that moment.
//! 2. A background task per cluster ([`spawn`]) sleeps until the next
//!    moment a controller has work ([`next_due`]) or until an object
//!    changes, and catches up then, so open watches see what the
//!    controllers create without waiting for another request.
//!
//! [`Cluster::lock_caught_up`]: super::cluster::Cluster::lock_caught_up

mod ca_secret;
mod istiod_ca;
mod namespaces;
mod sa_tokens;
mod service_lb;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::broadcast::error::RecvError;
use tokio::task::JoinHandle;

use super::cloud::CloudLink;
use super::cluster::Cluster;
use super::meta;
use super::sa_token::TokenIssuer;
use super::store::Store;
use super::watch::Event;

/// The moment a controller runs at, and what it may reach.
#[derive(Debug, Clone)]
pub struct At {
    /// Now, ms since the epoch.
    pub now_ms: u64,
    /// The cluster's latency scale (how long rollouts take).
    pub latency_scale: f64,
    /// The cloud the cluster runs in, when it runs in one (an emulator's
    /// cluster does; a bare [`super::KubeApis`] has none).
    pub cloud: Option<CloudLink>,
    /// The cluster's service-account token signer and CA bundle.
    pub tokens: Arc<TokenIssuer>,
}

/// A workload of the emulated cluster that changes objects on its own.
pub trait InCluster: std::fmt::Debug + Sync {
    /// A short name, for logs.
    fn name(&self) -> &'static str;

    /// The first moment after `at` at which it will have work, if any,
    /// when nothing else changes.
    fn next_due(&self, store: &Store, at: &At) -> Option<u64>;

    /// Does the work due by `at`; returns the changes it made, to be
    /// persisted and sent to watches. Idempotent: a second call at the
    /// same moment changes nothing.
    fn reconcile(&self, store: &mut Store, at: &At) -> Vec<Event>;
}

/// Every in-cluster controller, in the order they run.
pub static CONTROLLERS: &[&dyn InCluster] = &[
    &istiod_ca::IstiodCa,
    &service_lb::ServiceLoadBalancers,
    &namespaces::Namespaces,
    &sa_tokens::ServiceAccountTokens,
];

/// Lets every controller do the work due by `at`; returns their changes.
pub fn catch_up(store: &mut Store, at: &At) -> Vec<Event> {
    let mut events = Vec::new();
    for c in CONTROLLERS {
        let done = c.reconcile(store, at);
        if !done.is_empty() {
            tracing::debug!(
                controller = c.name(),
                changes = done.len(),
                "in-cluster controller"
            );
        }
        events.extend(done);
    }
    events
}

/// The first moment after `at` at which any controller has work.
pub fn next_due(store: &Store, at: &At) -> Option<u64> {
    CONTROLLERS
        .iter()
        .filter_map(|c| c.next_due(store, at))
        .min()
}

/// Runs the controllers of `cluster` in the background until aborted: it
/// catches up whenever an object changes and when the next piece of work
/// falls due. The caller aborts the task when the cluster's server stops.
pub fn spawn(cluster: Arc<Cluster>) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut changes = cluster.events.subscribe();
        loop {
            let due = {
                let store = cluster.lock_caught_up();
                next_due(&store, &cluster.at())
            };
            let wake = async {
                match due {
                    Some(at) => {
                        let wait = at.saturating_sub(meta::now_ms()).max(1);
                        tokio::time::sleep(Duration::from_millis(wait)).await
                    }
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = wake => {}
                received = changes.recv() => {
                    if let Err(RecvError::Closed) = received {
                        return;
                    }
                }
            }
        }
    })
}

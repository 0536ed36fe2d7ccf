//! The cloud a cluster runs in, as Kubernetes' service controller sees it:
//! the `LoadBalancer` interface of a cloud provider (kubernetes/cloud-provider
//! `cloud.go`: `EnsureLoadBalancer`, `EnsureLoadBalancerDeleted`), in plain
//! data so this module knows nothing of the world behind it.
//!
//! The emulator gives every cluster a [`CloudLink`]: a weak handle to the
//! one implementation (GKE's L4 ILB controller acting on the world). It is
//! called with the cluster's store locked, so an implementation may lock
//! the world but must never wait for a cluster's store (lock order: store,
//! then world).

use std::sync::{Arc, Weak};
use std::time::Duration;

/// How long GKE takes to provision an internal passthrough load balancer
/// for a Service (unscaled; multiplied by the latency scale).
pub const LOAD_BALANCER_PROVISIONING: Duration = Duration::from_secs(40);

/// How long GKE takes to tear one down once its Service is being deleted
/// (unscaled).
pub const LOAD_BALANCER_TEARDOWN: Duration = Duration::from_secs(30);

/// What a Service asks of its load balancer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadBalancerSpec {
    /// The Service's namespace.
    pub namespace: String,
    /// The Service's name.
    pub name: String,
    /// The UID of the cluster's `kube-system` namespace (GKE names from it).
    pub kube_system_uid: String,
    /// The Service's TCP ports.
    pub ports: Vec<u16>,
    /// `spec.loadBalancerSourceRanges` (empty: everyone).
    pub source_ranges: Vec<String>,
    /// Whether clients in other regions may connect (the global-access annotation is exactly `"true"`).
    pub global_access: bool,
}

/// What the cloud made for a Service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadBalancerStatus {
    /// The load balancer's address (`status.loadBalancer.ingress[0].ip`).
    pub ip: String,
    /// Annotations naming what was made (`service.kubernetes.io/…`).
    pub annotations: Vec<(String, String)>,
}

/// A cloud provider's load balancers.
pub trait LoadBalancers: std::fmt::Debug + Send + Sync {
    /// Creates or updates the load balancer of `spec` for cluster `cluster`
    /// (its GKE key) at `at_ms`. Idempotent.
    ///
    /// # Errors
    /// Why it cannot be made (e.g. the cluster is gone).
    fn ensure(
        &self,
        cluster: &str,
        spec: &LoadBalancerSpec,
        at_ms: u64,
    ) -> Result<LoadBalancerStatus, String>;

    /// Deletes whatever load balancer Service `namespace/name` has; Ok when
    /// nothing is left. Idempotent.
    ///
    /// # Errors
    /// Why it cannot be deleted now.
    fn ensure_deleted(
        &self,
        cluster: &str,
        spec: &LoadBalancerSpec,
        at_ms: u64,
    ) -> Result<(), String>;
}

/// A cluster's handle on its cloud: its key and the provider.
#[derive(Debug, Clone)]
pub struct CloudLink {
    /// The cluster's GKE key, e.g. `projects/p/locations/l/clusters/c`.
    pub key: String,
    /// The provider; gone when the emulator is.
    pub provider: Weak<dyn LoadBalancers>,
}

impl CloudLink {
    /// The provider, while the emulator lives.
    pub fn provider(&self) -> Option<Arc<dyn LoadBalancers>> {
        self.provider.upgrade()
    }
}

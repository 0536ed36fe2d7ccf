//! GKE's own behaviours, written as controllers that reconcile the world
//! after each change, in the style of kube-runtime's controllers: a
//! controller sees a [`Change`] (an object's state before and after, like a
//! watch event) and makes the objects it is responsible for right.
//!
//! [`advance`] is the loop: it applies every operation that is due, in order
//! of completion, and after each one shows the change to every controller
//! in [`CONTROLLERS`]. The API handlers (`compute/`, `container/`) only
//! record what was asked; they never call a controller.
//!
//! - `cluster_operations.rs`: what a finished GKE operation does to its
//!   cluster, and the status a cluster shows.
//! - `gke_firewall_rules.rs`: the `gke-*` firewall rules a running cluster owns.
//! - `cluster_ranges.rs`: the GKE-managed subnet ranges of a deleted cluster go.
//! - `kube_apis.rs`: a deleted cluster's Kubernetes API is forgotten.
//!
//! What runs inside a cluster (istiod making its own CA) changes only that
//! cluster's objects: those are the in-cluster controllers of
//! `kubeapi/controllers/`.
//!
//! GKE's load-balancer controller is the exception to "reacts to a
//! [`Change`]": it acts on a Service of a cluster's Kubernetes API, and
//! must answer with what the Service shows (its address, GKE's finalizer
//! and annotations) after a provisioning delay. So it has the shape of a
//! Kubernetes cloud provider: `l4_ilb/` makes and deletes the compute
//! pieces of one Service's internal load balancer in the world
//! ([`l4_ilb::ensure`], [`l4_ilb::ensure_deleted`]); the cluster's service
//! controller (`kubeapi/controllers/service_lb.rs`) decides when, through
//! the `LoadBalancers` port that `shared.rs` implements by locking the
//! world. A cluster's store is locked before the world, never after.
//!
//! - `l4_ilb/`: forwarding rule, backend service, NEGs, shared health
//!   check and firewall rules of an internal LoadBalancer Service, with
//!   ingress-gce's names (`l4_ilb/names.rs`).

mod cluster_operations;
mod cluster_ranges;
pub mod gke_firewall_rules;
mod kube_apis;
pub mod l4_ilb;

use serde_json::Value;

use super::world::{Effect, World};

pub use cluster_operations::set_status;

/// One change of a stored object, as a controller sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    /// Relative path of the object, e.g. `projects/p/locations/l/clusters/c`.
    pub rel: String,
    /// The object before the change; `None` if it did not exist.
    pub before: Option<Value>,
    /// The object after the change; `None` if it is gone.
    pub after: Option<Value>,
    /// When the change happened (ms since epoch): the operation's DONE time.
    pub at_ms: u64,
}

impl Change {
    /// The object's collection, e.g. `clusters` or `subnetworks`.
    pub fn collection(&self) -> &str {
        self.rel.rsplit('/').nth(1).unwrap_or_default()
    }

    /// The object's project id.
    pub fn project(&self) -> &str {
        self.rel.split('/').nth(1).unwrap_or_default()
    }
}

/// A behaviour of the emulated cloud that keeps some objects in step with
/// others.
pub trait Controller: std::fmt::Debug + Sync {
    /// A short name, for logs.
    fn name(&self) -> &'static str;

    /// Makes the world right after `change`. Called for every change, so it
    /// returns early for objects it does not watch; it must be idempotent.
    fn reconcile(&self, world: &mut World, change: &Change);
}

/// Every controller, in the order they see a change.
pub static CONTROLLERS: &[&dyn Controller] = &[
    &gke_firewall_rules::GkeFirewallRules,
    &cluster_ranges::ClusterRanges,
    &kube_apis::KubeApis,
];

/// Applies every operation due at `now`, in order of completion, and lets
/// the controllers react to each change. Returns whether anything was applied.
pub fn advance(world: &mut World, now: u64) -> bool {
    let due = world.due(now);
    for key in &due {
        let Some(op) = world.operations.get(key).cloned() else {
            continue;
        };
        let before = world.resources.get(&op.target).cloned();
        let error = match &op.effect {
            Effect::Cluster { step } => cluster_operations::finish(world, &op, step),
            _ => world.apply_effect(&op),
        };
        world.settle(key, error);
        let after = world.resources.get(&op.target).cloned();
        if before != after {
            reconcile(
                world,
                &Change {
                    rel: op.target.clone(),
                    before,
                    after,
                    at_ms: op.done_ms,
                },
            );
        }
    }
    !due.is_empty()
}

/// Shows `change` to every controller.
fn reconcile(world: &mut World, change: &Change) {
    for controller in CONTROLLERS {
        tracing::trace!(controller = controller.name(), rel = %change.rel, "reconcile");
        controller.reconcile(world, change);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::emulator::world::{ClusterStep, OperationRecord};
    use serde_json::json;

    const CLUSTER: &str = "projects/p/locations/r-a/clusters/c";
    const SUBNET: &str = "projects/p/regions/r/subnetworks/s";

    fn op(name: &str, done_ms: u64, step: ClusterStep) -> OperationRecord {
        OperationRecord {
            id: 1,
            name: name.into(),
            project: "p".into(),
            scope: "locations/r-a".into(),
            operation_type: "X".into(),
            target: CLUSTER.into(),
            target_id: 0,
            insert_ms: 0,
            start_ms: 0,
            done_ms,
            effect: Effect::Cluster { step },
            error: None,
            applied: false,
            request_id: None,
        }
    }

    fn world() -> World {
        let mut w = World::default();
        w.resources.insert(
            SUBNET.into(),
            json!({"ipCidrRange": "10.0.0.0/20", "fingerprint": "f",
                   "secondaryIpRanges": [{"rangeName": "gke-c-pods-1"}, {"rangeName": "mine"}]}),
        );
        w.resources.insert(
            CLUSTER.into(),
            json!({"name": "c", "id": "0123456789abcdef", "status": "PROVISIONING",
                   "clusterIpv4Cidr": "10.4.0.0/14",
                   "privateClusterConfig": {"masterIpv4CidrBlock": "172.16.0.0/28"},
                   "ipAllocationPolicy": {"clusterSecondaryRangeName": "gke-c-pods-1"},
                   "networkConfig": {"network": "projects/p/global/networks/n", "subnetwork": SUBNET}}),
        );
        w
    }

    fn firewalls(w: &World) -> Vec<&str> {
        w.resources
            .keys()
            .filter(|k| k.contains("/firewalls/"))
            .map(|k| k.rsplit('/').next().unwrap_or_default())
            .collect()
    }

    #[test]
    fn a_cluster_that_becomes_running_gets_its_rules_and_loses_them_with_its_ranges() {
        let mut w = world();
        let create = op("create", 100, ClusterStep::Create);
        w.operations.insert(create.rel(), create);
        assert!(!advance(&mut w, 50));
        assert!(firewalls(&w).is_empty());
        assert!(advance(&mut w, 100));
        assert_eq!(w.resources[CLUSTER]["status"], "RUNNING");
        assert_eq!(
            firewalls(&w),
            [
                "gke-c-01234567-all",
                "gke-c-01234567-master",
                "gke-c-01234567-vms"
            ]
        );
        let delete = op("delete", 200, ClusterStep::Delete);
        w.operations.insert(delete.rel(), delete);
        assert!(advance(&mut w, 200));
        assert!(!w.resources.contains_key(CLUSTER));
        assert!(firewalls(&w).is_empty());
        assert_eq!(
            w.resources[SUBNET]["secondaryIpRanges"],
            json!([{"rangeName": "mine"}])
        );
        assert_eq!(w.kube_to_forget, [CLUSTER]);
    }

    #[test]
    fn an_update_that_leaves_a_cluster_running_creates_no_rules() {
        let mut w = world();
        w.resources.get_mut(CLUSTER).expect("cluster")["status"] = json!("RECONCILING");
        let update = op(
            "update",
            100,
            ClusterStep::Update {
                patch: json!({"x": 1}),
            },
        );
        w.operations.insert(update.rel(), update);
        assert!(advance(&mut w, 100));
        assert_eq!(w.resources[CLUSTER]["x"], 1);
        assert!(firewalls(&w).is_empty());
    }
}

//! The controller that retires a deleted cluster's Kubernetes API: the
//! cluster is queued in [`World::kube_to_forget`], and the server stops and
//! forgets its API server after applying the operations that were due.

use super::{Change, Controller};
use crate::emulator::world::World;

/// Queues the Kubernetes API of every cluster that is gone to be forgotten.
#[derive(Debug)]
pub struct KubeApis;

impl Controller for KubeApis {
    fn name(&self) -> &'static str {
        "kube-apis"
    }

    fn reconcile(&self, world: &mut World, change: &Change) {
        if change.collection() == "clusters" && change.before.is_some() && change.after.is_none() {
            world.kube_to_forget.push(change.rel.clone());
        }
    }
}

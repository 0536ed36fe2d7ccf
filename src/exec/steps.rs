//! From a change set to steps and the order between them.

use std::collections::BTreeMap;

use crate::address::Address;
use crate::changeset::{Action, Change};

/// What a step does to its resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum StepKind {
    /// Delete the existing resource (a delete, or the first half of a replace).
    Delete,
    /// Bring the resource to its `after` state: create, update, or no-op.
    Apply,
}

/// Which API a step works through, for the parallelism bound: Google's
/// APIs share one budget (the project's quotas), each cluster's
/// Kubernetes API, a server of its own, has its own, and work on this
/// machine (the CAs) calls no API and has its own.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Lane {
    /// Compute or GKE.
    Cloud,
    /// The Kubernetes API of the cluster in this region.
    Cluster(String),
    /// Work on this machine.
    Local,
}

impl Lane {
    /// The lane of a step on `address`: a resource inside a cluster is
    /// named after the cluster's region first (`remote_secret.<region>.<peer>`).
    pub fn of(address: &Address) -> Lane {
        match address.kind.api() {
            crate::kinds::Api::Kubernetes => {
                let region = address.name.split('.').next().unwrap_or_default();
                Lane::Cluster(region.to_string())
            }
            crate::kinds::Api::Local => Lane::Local,
            _ => Lane::Cloud,
        }
    }
}

/// One unit of work for the executor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// Index of the change in the change set.
    pub change: usize,
    /// The resource.
    pub address: Address,
    /// Delete or apply.
    pub kind: StepKind,
    /// The change's action, for display.
    pub action: Action,
    /// The API budget it counts against.
    pub lane: Lane,
}

/// Steps plus `(before, after)` ordering edges.
#[derive(Debug, Clone)]
pub struct StepPlan {
    /// Every step.
    pub steps: Vec<Step>,
    /// `after` may start only when `before` is done; when `before` fails,
    /// `after` never runs.
    pub edges: Vec<(usize, usize)>,
    /// `after` may start only when `before` has ended, however it ended:
    /// steps that must run even after a failure (a sweep).
    pub soft_edges: Vec<(usize, usize)>,
}

impl StepPlan {
    /// Orders the steps of `changes`:
    /// applies after the applies of their dependencies; deletes before the
    /// deletes of what they depended on; a replace's create after its delete.
    /// Two kinds bend the delete order: one that sweeps up after a
    /// dependency ([`Kind::SWEEPS_AFTER`]) is deleted after it, and after
    /// whatever lived in it however that ended; one that leaves cloud
    /// resources ([`Kind::LEAVES_CLOUD_RESOURCES`]) is deleted before its
    /// container, whose delete runs even when it failed.
    ///
    /// [`Kind::SWEEPS_AFTER`]: crate::kinds::Kind::SWEEPS_AFTER
    /// [`Kind::LEAVES_CLOUD_RESOURCES`]: crate::kinds::Kind::LEAVES_CLOUD_RESOURCES
    pub fn new(changes: &[Change]) -> StepPlan {
        let mut steps = Vec::new();
        let mut apply_of = BTreeMap::new();
        let mut delete_of = BTreeMap::new();
        for (i, c) in changes.iter().enumerate() {
            if matches!(c.action, Action::Delete | Action::Replace) {
                delete_of.insert(c.address.clone(), steps.len());
                steps.push(step(i, c, StepKind::Delete));
            }
            if c.action != Action::Delete {
                apply_of.insert(c.address.clone(), steps.len());
                steps.push(step(i, c, StepKind::Apply));
            }
        }
        let mut edges = Vec::new();
        let mut soft_edges = Vec::new();
        for c in changes {
            if let (Some(&d), Some(&a)) = (delete_of.get(&c.address), apply_of.get(&c.address)) {
                edges.push((d, a));
            }
            if let Some(&a) = apply_of.get(&c.address) {
                for dep in &c.dependencies {
                    if let Some(&da) = apply_of.get(dep) {
                        edges.push((da, a));
                    }
                }
            }
            if let Some(&d) = delete_of.get(&c.address) {
                let kind = c.address.kind.behaviour();
                for dep in &c.prior_dependencies {
                    let Some(&dd) = delete_of.get(dep) else {
                        continue;
                    };
                    if kind.sweeps_after().contains(&dep.kind) {
                        edges.push((dd, d));
                        soft_edges.extend(
                            changes
                                .iter()
                                .filter(|x| lived_in(x, dep))
                                .filter_map(|x| delete_of.get(&x.address))
                                .map(|&dx| (dx, d)),
                        );
                    } else if kind.leaves_cloud_resources() && kind.lives_in().contains(&dep.kind) {
                        soft_edges.push((d, dd));
                    } else {
                        edges.push((d, dd));
                    }
                }
            }
            // A resource dropped from state because its container goes away
            // (an object in a destroyed cluster) leaves state only once the
            // container is gone.
            if c.action == Action::NoOp && c.after.is_none() {
                if let Some(&a) = apply_of.get(&c.address) {
                    for dep in &c.prior_dependencies {
                        if let Some(&dd) = delete_of.get(dep) {
                            edges.push((dd, a));
                        }
                    }
                }
            }
        }
        StepPlan {
            steps,
            edges,
            soft_edges,
        }
    }
}

/// Whether `c`'s resource lived in `container`.
fn lived_in(c: &Change, container: &Address) -> bool {
    c.address
        .kind
        .behaviour()
        .lives_in()
        .contains(&container.kind)
        && c.prior_dependencies.contains(container)
}

fn step(change: usize, c: &Change, kind: StepKind) -> Step {
    Step {
        change,
        address: c.address.clone(),
        kind,
        action: c.action,
        lane: Lane::of(&c.address),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(address: &str, action: Action, deps: &[&str], prior: &[&str]) -> Change {
        let a = |v: &[&str]| v.iter().map(|s| s.parse().unwrap()).collect();
        Change {
            address: address.parse().unwrap(),
            action,
            reason: None,
            forces_replacement: vec![],
            before: None,
            after: None,
            ids: Default::default(),
            outputs: Default::default(),
            dependencies: a(deps),
            prior_dependencies: a(prior),
            notes: Default::default(),
        }
    }

    fn edge(p: &StepPlan, before: (&str, StepKind), after: (&str, StepKind)) -> bool {
        let find = |(a, k): (&str, StepKind)| {
            p.steps
                .iter()
                .position(|s| s.address.to_string() == a && s.kind == k)
                .unwrap()
        };
        p.edges.contains(&(find(before), find(after)))
    }

    #[test]
    fn replace_deletes_before_it_creates_and_dependants_wait() {
        let p = StepPlan::new(&[
            change("subnet.eu", Action::Replace, &[], &[]),
            change("router.eu", Action::Create, &["subnet.eu"], &[]),
        ]);
        assert_eq!(p.steps.len(), 3);
        assert!(edge(
            &p,
            ("subnet.eu", StepKind::Delete),
            ("subnet.eu", StepKind::Apply)
        ));
        assert!(edge(
            &p,
            ("subnet.eu", StepKind::Apply),
            ("router.eu", StepKind::Apply)
        ));
    }

    #[test]
    fn an_object_dropped_with_its_cluster_leaves_state_after_the_cluster_is_deleted() {
        let p = StepPlan::new(&[
            change("cluster.eu", Action::Delete, &[], &[]),
            change(
                "namespace.eu.istio-system",
                Action::NoOp,
                &[],
                &["cluster.eu"],
            ),
        ]);
        assert!(edge(
            &p,
            ("cluster.eu", StepKind::Delete),
            ("namespace.eu.istio-system", StepKind::Apply)
        ));
    }

    #[test]
    fn deletes_run_dependants_first() {
        let p = StepPlan::new(&[
            change("network.vpc", Action::Delete, &[], &[]),
            change("subnet.eu", Action::Delete, &[], &["network.vpc"]),
        ]);
        assert!(edge(
            &p,
            ("subnet.eu", StepKind::Delete),
            ("network.vpc", StepKind::Delete)
        ));
    }

    fn kinds(p: &StepPlan, edges: &[(usize, usize)]) -> Vec<(String, String)> {
        edges
            .iter()
            .map(|&(b, a)| {
                (
                    p.steps[b].address.to_string(),
                    p.steps[a].address.to_string(),
                )
            })
            .collect()
    }

    #[test]
    fn a_sweep_runs_after_its_cluster_and_whatever_ended_in_it_and_before_the_network() {
        let p = StepPlan::new(&[
            change("network.vpc", Action::Delete, &[], &[]),
            change("cluster.eu", Action::Delete, &[], &["network.vpc"]),
            change("eastwest_gateway.eu", Action::Delete, &[], &["cluster.eu"]),
            change(
                "gke_leftovers.eu",
                Action::Delete,
                &[],
                &["network.vpc", "cluster.eu"],
            ),
        ]);
        let hard = kinds(&p, &p.edges);
        let soft = kinds(&p, &p.soft_edges);
        let pair = |a: &str, b: &str| (a.to_string(), b.to_string());
        assert!(
            hard.contains(&pair("cluster.eu", "gke_leftovers.eu")),
            "{hard:?}"
        );
        assert!(
            hard.contains(&pair("gke_leftovers.eu", "network.vpc")),
            "{hard:?}"
        );
        assert!(
            !hard.contains(&pair("gke_leftovers.eu", "cluster.eu")),
            "{hard:?}"
        );
        // The gateway goes before its cluster, but its failure stops neither
        // the cluster's delete nor the sweep.
        assert!(
            soft.contains(&pair("eastwest_gateway.eu", "cluster.eu")),
            "{soft:?}"
        );
        assert!(
            soft.contains(&pair("eastwest_gateway.eu", "gke_leftovers.eu")),
            "{soft:?}"
        );
        assert!(
            !hard.contains(&pair("eastwest_gateway.eu", "cluster.eu")),
            "{hard:?}"
        );
    }
}

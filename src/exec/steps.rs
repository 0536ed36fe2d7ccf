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
}

/// Steps plus `(before, after)` ordering edges.
#[derive(Debug, Clone)]
pub struct StepPlan {
    /// Every step.
    pub steps: Vec<Step>,
    /// `after` may start only when `before` is done.
    pub edges: Vec<(usize, usize)>,
}

impl StepPlan {
    /// Orders the steps of `changes`:
    /// applies after the applies of their dependencies; deletes before the
    /// deletes of what they depended on; a replace's create after its delete.
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
                for dep in &c.prior_dependencies {
                    if let Some(&dd) = delete_of.get(dep) {
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
        StepPlan { steps, edges }
    }
}

fn step(change: usize, c: &Change, kind: StepKind) -> Step {
    Step {
        change,
        address: c.address.clone(),
        kind,
        action: c.action,
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
}

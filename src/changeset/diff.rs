//! Desired resources + state + live → change set (pure: no I/O, no clock).

use std::collections::{BTreeMap, BTreeSet};

use super::{Action, Change};
use crate::address::Address;
use crate::resource::{DesiredResource, FieldRule, Live, ResourceKind};
use crate::state::State;

/// Decides one action per resource.
///
/// - `desired`: the plan file's resources, dependencies first;
/// - `state`: what meshform last applied;
/// - `live`: the refresh result for state's resources (`None` = gone). A state
///   resource missing from `live` was not refreshed and is taken as in state.
///
/// Field changes the API can patch give `Update`; any other gives `Replace`
/// naming the fields. A resource inside one that is replaced (on its network,
/// in its subnet, in its cluster) is replaced too. State resources the plan no longer has are deleted, dependants first.
pub fn diff(
    desired: &[DesiredResource],
    state: &State,
    live: &BTreeMap<Address, Option<Live>>,
) -> Vec<Change> {
    let mut changes: Vec<Change> = Vec::new();
    let mut replaced: BTreeSet<Address> = BTreeSet::new();
    for want in desired {
        let prior = state.get(&want.address);
        let current = match (prior, live.get(&want.address)) {
            (None, _) => None,
            (Some(_), Some(None)) => {
                changes.push(change(
                    want,
                    Action::Create,
                    Some("deleted outside meshform".into()),
                    None,
                    prior,
                ));
                continue;
            }
            // A delete an earlier run started is still under way: the
            // resource is deleted (joining that delete) and created again.
            (Some(_), Some(Some(l))) if l.deleting.is_some() => {
                let mut c = change(
                    want,
                    Action::Replace,
                    Some(format!(
                        "being deleted: {}; created again once that finishes",
                        l.deleting.as_deref().unwrap_or_default()
                    )),
                    Some(l.attrs.clone()),
                    prior,
                );
                c.ids = l.ids.clone();
                replaced.insert(want.address.clone());
                changes.push(c);
                continue;
            }
            (Some(_), Some(Some(l))) => Some((l.attrs.clone(), l.ids.clone())),
            (Some(p), None) => Some((p.attributes.clone(), p.ids.clone())),
        };
        let Some((before, ids)) = current else {
            changes.push(change(want, Action::Create, None, None, prior));
            continue;
        };
        let mut c = change(want, Action::NoOp, None, Some(before), prior);
        c.ids = ids;
        let fields = c.changed_fields();
        let forcing: Vec<&String> = fields
            .iter()
            .filter(|f| want.address.kind.field_rule(f) == FieldRule::ForcesReplacement)
            .collect();
        // A resource that lives in a replaced one (a subnet in a network, a
        // cluster in a subnet, a namespace in a cluster) names it in a field
        // of the dependency's kind, and goes with it.
        let replaced_container = want
            .deps
            .iter()
            .find(|d| replaced.contains(*d) && want.attrs.contains_key(d.kind.as_str()));
        if !forcing.is_empty() {
            c.action = Action::Replace;
            c.reason = Some(format!("forces replacement: {}", join(&forcing)));
        } else if let Some(dep) = replaced_container {
            c.action = Action::Replace;
            c.reason = Some(format!(
                "forces replacement: {} ({dep} is replaced)",
                dep.kind
            ));
        } else if !fields.is_empty() {
            c.action = Action::Update;
            c.reason = Some(format!(
                "changed: {}",
                join(&fields.iter().collect::<Vec<_>>())
            ));
        }
        if c.action == Action::Replace {
            replaced.insert(want.address.clone());
        }
        changes.push(c);
    }
    let wanted: BTreeSet<&Address> = desired.iter().map(|d| &d.address).collect();
    for old in state.resources.iter().rev() {
        if wanted.contains(&old.address) {
            continue;
        }
        // An object inside a cluster that goes away goes with it: no call to
        // a Kubernetes API that may be unreachable or already gone.
        let container = old.dependencies.iter().find(|d| {
            d.kind == ResourceKind::Cluster
                && old.attributes.contains_key("cluster")
                && (replaced.contains(*d) || !wanted.contains(d))
        });
        if let Some(cluster) = container {
            changes.push(Change {
                address: old.address.clone(),
                action: Action::NoOp,
                reason: Some(format!("deleted with {cluster}: dropped from state")),
                before: None,
                after: None,
                ids: old.ids.clone(),
                dependencies: vec![],
                prior_dependencies: old.dependencies.clone(),
                notes: Default::default(),
            });
            continue;
        }
        let (action, reason, before, ids) = match live.get(&old.address) {
            Some(None) => (
                Action::NoOp,
                "not in the plan file and already deleted outside meshform: dropped from state",
                None,
                old.ids.clone(),
            ),
            Some(Some(l)) => (
                Action::Delete,
                "not in the plan file",
                Some(l.attrs.clone()),
                l.ids.clone(),
            ),
            None => (
                Action::Delete,
                "not in the plan file",
                Some(old.attributes.clone()),
                old.ids.clone(),
            ),
        };
        changes.push(Change {
            address: old.address.clone(),
            action,
            reason: Some(reason.into()),
            before,
            after: None,
            ids,
            dependencies: vec![],
            prior_dependencies: old.dependencies.clone(),
            notes: Default::default(),
        });
    }
    changes
}

/// A change set that deletes everything in `state`, dependants first.
pub fn destroy_all(state: &State, live: &BTreeMap<Address, Option<Live>>) -> Vec<Change> {
    diff(&[], state, live)
        .into_iter()
        .map(|mut c| {
            if c.action == Action::Delete {
                c.reason = Some("destroy".into());
            }
            c
        })
        .collect()
}

fn change(
    want: &DesiredResource,
    action: Action,
    reason: Option<String>,
    before: Option<crate::resource::Attrs>,
    prior: Option<&crate::state::StateResource>,
) -> Change {
    Change {
        address: want.address.clone(),
        action,
        reason,
        before,
        after: Some(want.attrs.clone()),
        ids: Default::default(),
        dependencies: want.deps.clone(),
        prior_dependencies: prior.map(|p| p.dependencies.clone()).unwrap_or_default(),
        notes: want.notes.clone(),
    }
}

fn join(fields: &[&String]) -> String {
    fields
        .iter()
        .map(|f| f.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resource::desired::object;
    use crate::resource::{Attrs, Ids};
    use crate::state::StateResource;
    use serde_json::json;

    fn addr(s: &str) -> Address {
        s.parse().unwrap()
    }

    fn subnet(cidr: &str, pods: &str) -> Attrs {
        object(json!({
            "name": "eu", "region": "europe-west2", "network": "vpc",
            "ip_cidr_range": cidr,
            "secondary_ranges": [{"name": "pods", "cidr": pods}],
        }))
    }

    fn network(name: &str) -> Attrs {
        object(json!({"name": name, "routing_mode": "REGIONAL"}))
    }

    fn desired(address: &str, attrs: Attrs, deps: &[&str]) -> DesiredResource {
        DesiredResource {
            address: addr(address),
            attrs,
            deps: deps.iter().map(|d| addr(d)).collect(),
            notes: Default::default(),
        }
    }

    fn state_of(items: &[(&str, Attrs, &[&str])]) -> State {
        let mut s = State::new();
        for (a, attrs, deps) in items {
            s.put(StateResource {
                address: addr(a),
                ids: Ids {
                    id: Some("1".into()),
                    self_link: None,
                },
                attributes: attrs.clone(),
                dependencies: deps.iter().map(|d| addr(d)).collect(),
            });
        }
        s
    }

    fn live_as_state(s: &State) -> BTreeMap<Address, Option<Live>> {
        s.resources
            .iter()
            .map(|r| {
                (
                    r.address.clone(),
                    Some(Live {
                        ids: r.ids.clone(),
                        attrs: r.attributes.clone(),
                        deleting: None,
                    }),
                )
            })
            .collect()
    }

    fn only(changes: &[Change], address: &str) -> Change {
        changes
            .iter()
            .find(|c| c.address == addr(address))
            .cloned()
            .unwrap()
    }

    #[test]
    fn resource_not_in_state_is_created() {
        let want = [desired("network.vpc", network("vpc"), &[])];
        let changes = diff(&want, &State::new(), &BTreeMap::new());
        assert_eq!(changes.len(), 1);
        assert_eq!(changes[0].action, Action::Create);
        assert_eq!(changes[0].reason, None);
    }

    #[test]
    fn matching_live_resource_is_a_no_op() {
        let state = state_of(&[("network.vpc", network("vpc"), &[])]);
        let want = [desired("network.vpc", network("vpc"), &[])];
        let changes = diff(&want, &state, &live_as_state(&state));
        assert_eq!(changes[0].action, Action::NoOp);
    }

    #[test]
    fn changed_secondary_range_is_an_update_in_place() {
        let state = state_of(&[("subnet.eu", subnet("10.0.0.0/20", "10.1.0.0/16"), &[])]);
        let want = [desired(
            "subnet.eu",
            subnet("10.0.0.0/20", "10.2.0.0/16"),
            &[],
        )];
        let c = only(&diff(&want, &state, &live_as_state(&state)), "subnet.eu");
        assert_eq!(c.action, Action::Update);
        assert_eq!(c.reason.as_deref(), Some("changed: secondary_ranges"));
        assert_eq!(c.ids.id.as_deref(), Some("1"));
    }

    #[test]
    fn changed_primary_range_forces_replacement() {
        let state = state_of(&[("subnet.eu", subnet("10.0.0.0/20", "10.1.0.0/16"), &[])]);
        let want = [desired(
            "subnet.eu",
            subnet("10.8.0.0/20", "10.2.0.0/16"),
            &[],
        )];
        let c = only(&diff(&want, &state, &live_as_state(&state)), "subnet.eu");
        assert_eq!(c.action, Action::Replace);
        assert_eq!(
            c.reason.as_deref(),
            Some("forces replacement: ip_cidr_range")
        );
    }

    #[test]
    fn replaced_network_replaces_what_sits_on_it() {
        let state = state_of(&[
            ("network.vpc", network("vpc"), &[]),
            (
                "subnet.eu",
                subnet("10.0.0.0/20", "10.1.0.0/16"),
                &["network.vpc"],
            ),
        ]);
        let mut renamed = network("vpc");
        renamed.insert("auto_create_subnetworks".into(), json!(true));
        let want = [
            desired("network.vpc", renamed, &[]),
            desired(
                "subnet.eu",
                subnet("10.0.0.0/20", "10.1.0.0/16"),
                &["network.vpc"],
            ),
        ];
        let changes = diff(&want, &state, &live_as_state(&state));
        assert_eq!(only(&changes, "network.vpc").action, Action::Replace);
        let s = only(&changes, "subnet.eu");
        assert_eq!(s.action, Action::Replace);
        assert_eq!(
            s.reason.as_deref(),
            Some("forces replacement: network (network.vpc is replaced)")
        );
    }

    #[test]
    fn objects_in_a_replaced_cluster_are_replaced_with_it() {
        let cluster =
            |cidr: &str| object(json!({"name": "c1", "subnet": "eu", "master_cidr": cidr}));
        let ns = object(json!({"name": "istio-system", "cluster": "c1"}));
        let state = state_of(&[
            ("cluster.eu", cluster("172.16.0.32/28"), &[]),
            ("namespace.eu.istio-system", ns.clone(), &["cluster.eu"]),
        ]);
        let want = [
            desired("cluster.eu", cluster("172.16.0.48/28"), &[]),
            desired("namespace.eu.istio-system", ns, &["cluster.eu"]),
        ];
        let changes = diff(&want, &state, &live_as_state(&state));
        assert_eq!(
            only(&changes, "cluster.eu").reason.as_deref(),
            Some("forces replacement: master_cidr")
        );
        let n = only(&changes, "namespace.eu.istio-system");
        assert_eq!(n.action, Action::Replace);
        assert_eq!(
            n.reason.as_deref(),
            Some("forces replacement: cluster (cluster.eu is replaced)")
        );
    }

    #[test]
    fn objects_of_a_destroyed_cluster_are_dropped_without_calling_it() {
        let state = state_of(&[
            ("cluster.eu", object(json!({"name": "c1"})), &[]),
            (
                "namespace.eu.istio-system",
                object(json!({"name": "istio-system", "cluster": "c1"})),
                &["cluster.eu"],
            ),
        ]);
        let changes = destroy_all(&state, &BTreeMap::new());
        assert_eq!(only(&changes, "cluster.eu").action, Action::Delete);
        let n = only(&changes, "namespace.eu.istio-system");
        assert_eq!(n.action, Action::NoOp);
        assert_eq!(
            n.reason.as_deref(),
            Some("deleted with cluster.eu: dropped from state")
        );
        assert!(n.after.is_none());
    }

    #[test]
    fn a_cluster_still_being_deleted_is_replaced_and_what_lives_in_it_too() {
        let cluster = object(json!({"name": "c1", "subnet": "eu"}));
        let ns = object(json!({"name": "istio-system", "cluster": "c1"}));
        let state = state_of(&[
            ("cluster.eu", cluster.clone(), &[]),
            ("namespace.eu.istio-system", ns.clone(), &["cluster.eu"]),
        ]);
        let mut live = live_as_state(&state);
        live.insert(
            addr("cluster.eu"),
            Some(Live {
                ids: Default::default(),
                attrs: cluster.clone(),
                deleting: Some("GKE is deleting it (status STOPPING)".into()),
            }),
        );
        let want = [
            desired("cluster.eu", cluster, &[]),
            desired("namespace.eu.istio-system", ns, &["cluster.eu"]),
        ];
        let changes = diff(&want, &state, &live);
        let c = only(&changes, "cluster.eu");
        assert_eq!(c.action, Action::Replace);
        assert_eq!(
            c.reason.as_deref(),
            Some("being deleted: GKE is deleting it (status STOPPING); created again once that finishes")
        );
        assert_eq!(
            only(&changes, "namespace.eu.istio-system").action,
            Action::Replace
        );
    }

    #[test]
    fn drift_deleted_outside_is_recreated_with_a_reason() {
        let state = state_of(&[("network.vpc", network("vpc"), &[])]);
        let live = BTreeMap::from([(addr("network.vpc"), None)]);
        let want = [desired("network.vpc", network("vpc"), &[])];
        let c = only(&diff(&want, &state, &live), "network.vpc");
        assert_eq!(c.action, Action::Create);
        assert_eq!(c.reason.as_deref(), Some("deleted outside meshform"));
    }

    #[test]
    fn resource_dropped_from_the_plan_is_deleted_with_its_state_dependencies() {
        let state = state_of(&[
            ("network.vpc", network("vpc"), &[]),
            (
                "subnet.eu",
                subnet("10.0.0.0/20", "10.1.0.0/16"),
                &["network.vpc"],
            ),
        ]);
        let want = [desired("network.vpc", network("vpc"), &[])];
        let c = only(&diff(&want, &state, &live_as_state(&state)), "subnet.eu");
        assert_eq!(c.action, Action::Delete);
        assert_eq!(c.reason.as_deref(), Some("not in the plan file"));
        assert_eq!(c.prior_dependencies, vec![addr("network.vpc")]);
        assert!(c.after.is_none());
    }

    #[test]
    fn resource_gone_and_dropped_is_only_forgotten() {
        let state = state_of(&[("subnet.eu", subnet("10.0.0.0/20", "10.1.0.0/16"), &[])]);
        let live = BTreeMap::from([(addr("subnet.eu"), None)]);
        let c = only(&diff(&[], &state, &live), "subnet.eu");
        assert_eq!(c.action, Action::NoOp);
        assert!(c.after.is_none());
    }

    #[test]
    fn destroy_deletes_everything_in_state() {
        let state = state_of(&[
            ("network.vpc", network("vpc"), &[]),
            (
                "subnet.eu",
                subnet("10.0.0.0/20", "10.1.0.0/16"),
                &["network.vpc"],
            ),
        ]);
        let changes = destroy_all(&state, &live_as_state(&state));
        assert!(changes.iter().all(|c| c.action == Action::Delete));
        assert_eq!(changes.len(), 2);
    }
}

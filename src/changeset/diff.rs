//! Desired resources + state + live → change set (pure: no I/O, no clock).

use std::collections::{BTreeMap, BTreeSet};

use super::{Action, Change, Reason};
use crate::address::Address;
use crate::kinds::{Api, FieldRule};
use crate::resource::outputs::{references_in, resolve};
use crate::resource::{Attrs, DesiredResource, Ids, Live, OutputRef, Outputs};
use crate::state::{State, StateResource};

/// Decides one action per resource.
///
/// - `desired`: the plan file's resources, dependencies first;
/// - `state`: what meshform last applied;
/// - `live`: the refresh result for state's resources (`None` = gone). A state
///   resource missing from `live` was not refreshed and is taken as in state.
///
/// References to other resources' outputs are resolved from what refresh
/// read, else from state; an output of a resource that is created or
/// replaced stays "known after apply". Field changes the API can patch give
/// `Update`; any other gives `Replace` naming the fields. A resource that
/// lives in one that is replaced (a subnet on its network, a namespace in
/// its cluster) is replaced too. State resources the plan no longer has are
/// deleted, dependants first.
pub fn diff(
    desired: &[DesiredResource],
    state: &State,
    live: &BTreeMap<Address, Option<Live>>,
) -> Vec<Change> {
    diff_at(desired, state, live, None)
}

/// [`diff`], also renewing at `now` what a kind says must be done again
/// although nothing changed (a certificate within its re-issue window).
pub fn diff_at(
    desired: &[DesiredResource],
    state: &State,
    live: &BTreeMap<Address, Option<Live>>,
    now: Option<std::time::SystemTime>,
) -> Vec<Change> {
    let mut changes: Vec<Change> = Vec::new();
    let mut replaced: BTreeSet<Address> = BTreeSet::new();
    let mut unknown: BTreeSet<Address> = BTreeSet::new();
    let known = |r: &OutputRef| -> Option<serde_json::Value> {
        let outputs: &Outputs = match live.get(&r.address) {
            Some(Some(l)) => &l.outputs,
            Some(None) => return None,
            None => &state.get(&r.address)?.outputs,
        };
        outputs.get(&r.output).cloned()
    };
    for want in desired {
        let mut after = want.attrs.clone();
        resolve(&mut after, &|r: &OutputRef| {
            if unknown.contains(&r.address) {
                None
            } else {
                known(r)
            }
        });
        let prior = state.get(&want.address);
        let current = match (prior, live.get(&want.address)) {
            (None, _) => None,
            (Some(_), Some(None)) => {
                unknown.insert(want.address.clone());
                changes.push(change(
                    want,
                    after,
                    Action::Create,
                    Some(Reason::DeletedOutside),
                    None,
                    prior,
                ));
                continue;
            }
            // A delete an earlier run started is still under way: the
            // resource is deleted (joining that delete) and created again.
            (Some(_), Some(Some(l))) if l.deleting.is_some() => {
                let why = l.deleting.clone().unwrap_or_default();
                let mut c = change(
                    want,
                    after,
                    Action::Replace,
                    Some(Reason::BeingDeleted { why }),
                    Some(l.attrs.clone()),
                    prior,
                );
                c.ids = l.ids.clone();
                replaced.insert(want.address.clone());
                unknown.insert(want.address.clone());
                changes.push(c);
                continue;
            }
            (Some(_), Some(Some(l))) => Some((l.attrs.clone(), l.ids.clone(), l.outputs.clone())),
            (Some(p), None) => Some((p.attributes.clone(), p.ids.clone(), p.outputs.clone())),
        };
        let Some((before, ids, outputs)) = current else {
            unknown.insert(want.address.clone());
            changes.push(change(want, after, Action::Create, None, None, prior));
            continue;
        };
        let mut c = change(want, after, Action::NoOp, None, Some(before), prior);
        c.ids = ids;
        c.outputs = outputs;
        decide(&mut c, want, &replaced);
        let kind = want.address.kind.behaviour();
        if let (Action::NoOp, Some(now), Some(after)) = (c.action, now, &c.after) {
            if let Some(why) = kind.renewal(after, &c.outputs, now) {
                c.action = Action::Update;
                c.reason = Some(Reason::Renewal { why });
            }
        }
        let new_outputs = match c.action {
            Action::Replace => true,
            Action::Update => kind.outputs_change_on_update(),
            _ => false,
        };
        if c.action == Action::Replace {
            replaced.insert(want.address.clone());
        }
        if new_outputs {
            unknown.insert(want.address.clone());
        }
        changes.push(c);
    }
    let wanted: BTreeSet<&Address> = desired.iter().map(|d| &d.address).collect();
    for old in state.resources.iter().rev() {
        if wanted.contains(&old.address) {
            continue;
        }
        changes.push(leaving(old, live, &replaced, &wanted));
    }
    changes
}

/// Update or replace, and why, for a resource that exists and stays.
fn decide(c: &mut Change, want: &DesiredResource, replaced: &BTreeSet<Address>) {
    let kind = want.address.kind;
    let mut fields = c.changed_fields();
    fields.retain(|f| kind.field_rule(f) != FieldRule::Observed);
    let empty = Attrs::new();
    let after = c.after.as_ref().unwrap_or(&empty);
    // The output a changed field is built from, and whether it is known now.
    let output_of = |field: &String| -> Option<(OutputRef, bool)> {
        let r = references_in(want.attrs.get(field)?).into_iter().next()?;
        let known = after
            .get(field)
            .is_some_and(|v| references_in(v).is_empty());
        Some((r, known))
    };
    let forcing: Vec<String> = fields
        .iter()
        .filter(|f| kind.field_rule(f) == FieldRule::ForcesReplacement)
        .cloned()
        .collect();
    let forced_by_value: Vec<String> = forcing
        .iter()
        .filter(|f| output_of(f).is_none())
        .cloned()
        .collect();
    // A resource that lives in a replaced one goes with it.
    let container = want
        .deps
        .iter()
        .find(|d| replaced.contains(*d) && kind.behaviour().lives_in().contains(&d.kind));
    let output = fields.iter().find_map(output_of);
    let (action, reason) = if !forced_by_value.is_empty() {
        (
            Action::Replace,
            Reason::CannotUpdate {
                fields: forced_by_value,
            },
        )
    } else if let Some(container) = container {
        (
            Action::Replace,
            Reason::ContainerReplaced {
                container: container.clone(),
            },
        )
    } else if let Some((output, known)) = output {
        let action = if forcing.is_empty() {
            Action::Update
        } else {
            Action::Replace
        };
        (action, Reason::OutputChanged { output, known })
    } else if !fields.is_empty() {
        (Action::Update, Reason::Changed { fields })
    } else {
        return;
    };
    if action == Action::Replace {
        c.forces_replacement = forcing;
    }
    c.action = action;
    c.reason = Some(reason);
}

/// The change for a state resource the plan no longer has.
fn leaving(
    old: &StateResource,
    live: &BTreeMap<Address, Option<Live>>,
    replaced: &BTreeSet<Address>,
    wanted: &BTreeSet<&Address>,
) -> Change {
    let kind = old.address.kind.behaviour();
    // A Kubernetes object in a cluster that goes away goes with it: no call
    // to an API that may be unreachable or already gone.
    // One that leaves cloud resources outside the cluster (a LoadBalancer
    // Service) is deleted first while its API answers; when it cannot be
    // read, it goes with the cluster too and the sweep removes what GKE left.
    let unreadable = !live.contains_key(&old.address);
    let container = old.dependencies.iter().find(|d| {
        kind.api() == Api::Kubernetes
            && (!kind.leaves_cloud_resources() || unreadable)
            && kind.lives_in().contains(&d.kind)
            && (replaced.contains(*d) || !wanted.contains(d))
    });
    let (action, reason, before, ids) = match (container, live.get(&old.address)) {
        (Some(container), _) => (
            Action::NoOp,
            Reason::GoneWithContainer {
                container: container.clone(),
            },
            None,
            old.ids.clone(),
        ),
        (None, Some(None)) => (
            Action::NoOp,
            Reason::NotInPlanAndGone,
            None,
            old.ids.clone(),
        ),
        (None, Some(Some(l))) => (
            Action::Delete,
            Reason::NotInPlan,
            Some(l.attrs.clone()),
            l.ids.clone(),
        ),
        (None, None) => (
            Action::Delete,
            Reason::NotInPlan,
            Some(old.attributes.clone()),
            old.ids.clone(),
        ),
    };
    Change {
        address: old.address.clone(),
        action,
        reason: Some(reason),
        forces_replacement: vec![],
        before,
        after: None,
        ids,
        outputs: Outputs::new(),
        dependencies: vec![],
        prior_dependencies: old.dependencies.clone(),
        notes: Default::default(),
    }
}

/// A change set that deletes everything in `state`, dependants first.
pub fn destroy_all(state: &State, live: &BTreeMap<Address, Option<Live>>) -> Vec<Change> {
    diff(&[], state, live)
        .into_iter()
        .map(|mut c| {
            if c.action == Action::Delete {
                c.reason = Some(Reason::Destroy);
            }
            c
        })
        .collect()
}

fn change(
    want: &DesiredResource,
    after: Attrs,
    action: Action,
    reason: Option<Reason>,
    before: Option<Attrs>,
    prior: Option<&StateResource>,
) -> Change {
    Change {
        address: want.address.clone(),
        action,
        reason,
        forces_replacement: vec![],
        before,
        after: Some(after),
        ids: Ids::default(),
        outputs: Outputs::new(),
        dependencies: want.deps.clone(),
        prior_dependencies: prior.map(|p| p.dependencies.clone()).unwrap_or_default(),
        notes: want.notes.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resource::desired::object;
    use crate::resource::{Attrs, Ids, Outputs};
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
                outputs: Default::default(),
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
                        outputs: r.outputs.clone(),
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
        assert_eq!(
            c.reason.as_ref().map(ToString::to_string).as_deref(),
            Some("changed: secondary_ranges")
        );
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
            c.reason.as_ref().map(ToString::to_string).as_deref(),
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
            s.reason.as_ref().map(ToString::to_string).as_deref(),
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
            only(&changes, "cluster.eu")
                .reason
                .as_ref()
                .map(ToString::to_string)
                .as_deref(),
            Some("forces replacement: master_cidr")
        );
        let n = only(&changes, "namespace.eu.istio-system");
        assert_eq!(n.action, Action::Replace);
        assert_eq!(
            n.reason.as_ref().map(ToString::to_string).as_deref(),
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
            n.reason.as_ref().map(ToString::to_string).as_deref(),
            Some("deleted with cluster.eu: dropped from state")
        );
        assert!(n.after.is_none());
    }

    #[test]
    fn a_gateway_is_deleted_before_its_cluster_unless_its_api_cannot_be_read() {
        let gateway = object(json!({"cluster": "c1"}));
        let state = state_of(&[
            ("cluster.eu", object(json!({"name": "c1"})), &[]),
            ("eastwest_gateway.eu", gateway.clone(), &["cluster.eu"]),
        ]);
        let read = Live {
            ids: Ids::default(),
            attrs: gateway,
            outputs: Outputs::new(),
            deleting: None,
        };
        let live = BTreeMap::from([(addr("eastwest_gateway.eu"), Some(read))]);
        let changes = destroy_all(&state, &live);
        assert_eq!(only(&changes, "eastwest_gateway.eu").action, Action::Delete);
        // Not refreshed (its API does not answer): it goes with the cluster.
        let changes = destroy_all(&state, &BTreeMap::new());
        let g = only(&changes, "eastwest_gateway.eu");
        assert_eq!(g.action, Action::NoOp);
        assert!(g.after.is_none());
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
                outputs: Default::default(),
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
            c.reason.as_ref().map(ToString::to_string).as_deref(),
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
        assert_eq!(
            c.reason.as_ref().map(ToString::to_string).as_deref(),
            Some("deleted outside meshform")
        );
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
        assert_eq!(
            c.reason.as_ref().map(ToString::to_string).as_deref(),
            Some("not in the plan file")
        );
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

    fn namespace_built_from_the_cluster_ca() -> Attrs {
        let ca = crate::resource::outputs::Known::<String>::after(addr("cluster.eu"), "ca_digest");
        object(json!({"name": "istio-system", "cluster": "c1", "cluster_ca": ca}))
    }

    fn cluster_with_ca(master_cidr: &str, ca: &str) -> (Attrs, Outputs) {
        (
            object(json!({"name": "c1", "master_cidr": master_cidr})),
            Outputs::from([("ca_digest".to_string(), json!(ca))]),
        )
    }

    fn state_with_outputs(cluster: &(Attrs, Outputs), ns_ca: &str) -> State {
        let mut state = state_of(&[
            ("cluster.eu", cluster.0.clone(), &[]),
            (
                "namespace.eu.istio-system",
                object(json!({"name": "istio-system", "cluster": "c1", "cluster_ca": ns_ca})),
                &["cluster.eu"],
            ),
        ]);
        state.resources[0].outputs = cluster.1.clone();
        state
    }

    #[test]
    fn an_output_is_resolved_from_what_refresh_read_and_nothing_changes() {
        let cluster = cluster_with_ca("172.16.0.32/28", "sha256:one");
        let state = state_with_outputs(&cluster, "sha256:one");
        let want = [
            desired("cluster.eu", cluster.0.clone(), &[]),
            desired(
                "namespace.eu.istio-system",
                namespace_built_from_the_cluster_ca(),
                &["cluster.eu"],
            ),
        ];
        let changes = diff(&want, &state, &live_as_state(&state));
        assert!(
            changes.iter().all(|c| c.action == Action::NoOp),
            "{changes:?}"
        );
        let ns = only(&changes, "namespace.eu.istio-system");
        assert_eq!(ns.after.unwrap()["cluster_ca"], json!("sha256:one"));
    }

    #[test]
    fn a_changed_output_replans_what_is_built_from_it_and_names_it() {
        // The cluster was re-created outside meshform with the same
        // settings: the namespace meshform knows was made in the old one.
        let cluster = cluster_with_ca("172.16.0.32/28", "sha256:two");
        let state = state_with_outputs(&cluster, "sha256:one");
        let want = [
            desired("cluster.eu", cluster.0.clone(), &[]),
            desired(
                "namespace.eu.istio-system",
                namespace_built_from_the_cluster_ca(),
                &["cluster.eu"],
            ),
        ];
        let changes = diff(&want, &state, &live_as_state(&state));
        assert_eq!(only(&changes, "cluster.eu").action, Action::NoOp);
        let ns = only(&changes, "namespace.eu.istio-system");
        assert_eq!(ns.action, Action::Replace);
        assert_eq!(ns.forces_replacement, vec!["cluster_ca".to_string()]);
        assert_eq!(
            ns.reason.as_ref().map(ToString::to_string).as_deref(),
            Some("cluster.eu's ca_digest changed")
        );
    }

    #[test]
    fn outputs_of_a_replaced_cluster_are_known_after_apply() {
        let old = cluster_with_ca("172.16.0.32/28", "sha256:one");
        let state = state_with_outputs(&old, "sha256:one");
        let new = cluster_with_ca("172.16.0.48/28", "sha256:one");
        let want = [
            desired("cluster.eu", new.0, &[]),
            desired(
                "namespace.eu.istio-system",
                namespace_built_from_the_cluster_ca(),
                &["cluster.eu"],
            ),
        ];
        let changes = diff(&want, &state, &live_as_state(&state));
        let c = only(&changes, "cluster.eu");
        assert_eq!(
            c.reason,
            Some(Reason::CannotUpdate {
                fields: vec!["master_cidr".into()]
            })
        );
        assert_eq!(c.forces_replacement, vec!["master_cidr".to_string()]);
        let ns = only(&changes, "namespace.eu.istio-system");
        assert_eq!(ns.action, Action::Replace);
        assert_eq!(
            ns.reason,
            Some(Reason::ContainerReplaced {
                container: addr("cluster.eu")
            })
        );
        let after = ns.after.unwrap();
        assert_eq!(
            crate::resource::outputs::reference(&after["cluster_ca"]).map(|r| r.to_string()),
            Some("cluster.eu's ca_digest".to_string()),
            "the old cluster's CA must not be used for the new one"
        );
    }
}

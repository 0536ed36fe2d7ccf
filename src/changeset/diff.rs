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
/// naming the fields. A resource on a network that is replaced is replaced
/// too. State resources the plan no longer has are deleted, dependants first.
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
                changes.push(change(want, Action::Create, Some("deleted outside meshform".into()), None, prior));
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
        let replaced_network = want
            .deps
            .iter()
            .find(|d| d.kind == ResourceKind::Network && replaced.contains(d));
        if !forcing.is_empty() {
            c.action = Action::Replace;
            c.reason = Some(format!("forces replacement: {}", join(&forcing)));
        } else if let Some(net) = replaced_network {
            c.action = Action::Replace;
            c.reason = Some(format!("forces replacement: network ({net} is replaced)"));
        } else if !fields.is_empty() {
            c.action = Action::Update;
            c.reason = Some(format!("update in place: {}", join(&fields.iter().collect::<Vec<_>>())));
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
        let (action, reason, before, ids) = match live.get(&old.address) {
            Some(None) => (
                Action::NoOp,
                "not in the plan file and already deleted outside meshform: dropped from state",
                None,
                old.ids.clone(),
            ),
            Some(Some(l)) => (Action::Delete, "not in the plan file", Some(l.attrs.clone()), l.ids.clone()),
            None => (Action::Delete, "not in the plan file", Some(old.attributes.clone()), old.ids.clone()),
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
    }
}

fn join(fields: &[&String]) -> String {
    fields.iter().map(|f| f.as_str()).collect::<Vec<_>>().join(", ")
}

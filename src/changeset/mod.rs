//! The change set: for every resource one action and the reason for it.
//! Planning produces it, `plan --out` saves it, apply walks it unchanged.

mod diff;
mod reason;

pub use diff::{destroy_all, diff, diff_at};
pub use reason::Reason;

use serde::{Deserialize, Serialize};
use std::path::PathBuf;

use crate::address::Address;
use crate::kube::Connections;
use crate::resource::{Attrs, Ids, Outputs};

/// The closed set of actions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    /// Nothing to do (state may still be refreshed).
    NoOp,
    /// Create a resource that does not exist.
    Create,
    /// Patch a resource in place.
    Update,
    /// Delete the resource, then create it again.
    Replace,
    /// Delete a resource the plan file no longer has.
    Delete,
}

/// One resource's planned change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Change {
    /// The resource.
    pub address: Address,
    /// What apply will do.
    pub action: Action,
    /// Why: a closed set of reasons, rendered as text by [`Reason`]'s `Display`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<Reason>,
    /// For a replace, the changed fields that force it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub forces_replacement: Vec<String>,
    /// The attributes now (live, or state when not refreshed); `None` when absent.
    pub before: Option<Attrs>,
    /// The attributes after apply; `None` when the resource goes away.
    pub after: Option<Attrs>,
    /// Known cloud ids of the existing resource.
    #[serde(default)]
    pub ids: Ids,
    /// Its outputs as refresh (or state) knows them, kept by a no-op.
    #[serde(default, skip_serializing_if = "Outputs::is_empty")]
    pub outputs: Outputs,
    /// What the resource needs after apply (from the plan file).
    pub dependencies: Vec<Address>,
    /// What the existing resource needed when it was applied (from state):
    /// deletes run in the reverse of these.
    pub prior_dependencies: Vec<Address>,
    /// Why meshform chose values the plan file does not spell out, by field.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub notes: std::collections::BTreeMap<String, String>,
}

impl Change {
    /// Field names whose value differs between before and after.
    pub fn changed_fields(&self) -> Vec<String> {
        match (&self.before, &self.after) {
            (Some(b), Some(a)) => {
                let mut keys: Vec<String> = b.keys().chain(a.keys()).cloned().collect();
                keys.sort();
                keys.dedup();
                keys.into_iter().filter(|k| b.get(k) != a.get(k)).collect()
            }
            _ => vec![],
        }
    }
}

/// Which state a change set was planned against.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateRef {
    /// The state's lineage.
    pub lineage: String,
    /// The state's serial.
    pub serial: u64,
}

/// The version of the saved change-set format.
pub const CHANGE_SET_VERSION: u32 = 2;

/// The complete output of planning.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChangeSet {
    /// [`CHANGE_SET_VERSION`].
    pub format_version: u32,
    /// The plan file it was made from.
    pub plan_file: PathBuf,
    /// The project.
    pub project: String,
    /// The state it was planned against; apply refuses if the state moved on.
    pub state: StateRef,
    /// Whether this is a destroy plan.
    #[serde(default)]
    pub destroy: bool,
    /// Every resource's change, dependencies before dependants.
    pub changes: Vec<Change>,
    /// How long each step may take (defaults and the plan file's `[timeouts]`).
    #[serde(default)]
    pub timeouts: crate::resource::Timeouts,
    /// How each cluster's Kubernetes API is reached (plan file, then state).
    #[serde(default, skip_serializing_if = "Connections::is_empty")]
    pub connections: Connections,
    /// When it was planned (RFC 3339, UTC): the planner's clock input.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub planned_at: String,
    /// What the plan says beside its changes (where a root rotation stands).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// What to tell the user once an apply of it succeeded (what comes next).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub after_apply: Vec<String>,
}

/// Counts for the summary line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// Resources created (a replace counts here and in `destroy`).
    pub add: usize,
    /// Resources updated in place.
    pub change: usize,
    /// Resources deleted.
    pub destroy: usize,
}

impl ChangeSet {
    /// Counts as Terraform does: a replace is one add and one destroy.
    pub fn summary(&self) -> Summary {
        let mut s = Summary::default();
        for c in &self.changes {
            match c.action {
                Action::NoOp => {}
                Action::Create => s.add += 1,
                Action::Update => s.change += 1,
                Action::Replace => {
                    s.add += 1;
                    s.destroy += 1
                }
                Action::Delete => s.destroy += 1,
            }
        }
        s
    }

    /// Whether applying would change anything in the cloud.
    pub fn has_changes(&self) -> bool {
        self.changes.iter().any(|c| c.action != Action::NoOp)
    }
}

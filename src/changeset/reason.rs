//! Why a change is planned: a small closed type, decided by the diff and
//! only read by the renderers.

use serde::{Deserialize, Serialize};
use std::fmt;

use crate::address::Address;
use crate::resource::OutputRef;

/// The reason for one change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Reason {
    /// Fields changed that the API patches in place.
    Changed {
        /// The fields.
        fields: Vec<String>,
    },
    /// Fields changed that the API cannot update: replaced.
    CannotUpdate {
        /// The fields.
        fields: Vec<String>,
    },
    /// A resource it lives in is replaced, so it goes too.
    ContainerReplaced {
        /// The container.
        container: Address,
    },
    /// An output it is built from changed, or is known only after apply.
    OutputChanged {
        /// The output.
        output: OutputRef,
        /// Whether the new value is known now.
        known: bool,
    },
    /// Nothing changed, but it must be done again (a certificate within
    /// its re-issue window).
    Renewal {
        /// Why, in the kind's words.
        why: String,
    },
    /// It was deleted outside meshform: created again.
    DeletedOutside,
    /// A delete an earlier run started is still under way.
    BeingDeleted {
        /// What the cloud says.
        why: String,
    },
    /// The plan file no longer has it.
    NotInPlan,
    /// The plan file no longer has it and it is gone already.
    NotInPlanAndGone,
    /// It went with a container that is deleted or replaced.
    GoneWithContainer {
        /// The container.
        container: Address,
    },
    /// `meshform destroy`.
    Destroy,
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::Changed { fields } => write!(f, "changed: {}", fields.join(", ")),
            Reason::CannotUpdate { fields } => {
                write!(f, "forces replacement: {}", fields.join(", "))
            }
            Reason::ContainerReplaced { container } => write!(
                f,
                "forces replacement: {} ({container} is replaced)",
                container.kind
            ),
            Reason::OutputChanged {
                output,
                known: true,
            } => write!(f, "{output} changed"),
            Reason::OutputChanged {
                output,
                known: false,
            } => write!(f, "{output} changes: known after apply"),
            Reason::Renewal { why } => write!(f, "re-issued: {why}"),
            Reason::DeletedOutside => f.write_str("deleted outside meshform"),
            Reason::BeingDeleted { why } => {
                write!(f, "being deleted: {why}; created again once that finishes")
            }
            Reason::NotInPlan => f.write_str("not in the plan file"),
            Reason::NotInPlanAndGone => f.write_str(
                "not in the plan file and already deleted outside meshform: dropped from state",
            ),
            Reason::GoneWithContainer { container } => {
                write!(f, "deleted with {container}: dropped from state")
            }
            Reason::Destroy => f.write_str("destroy"),
        }
    }
}

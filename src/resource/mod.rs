//! Resources in the kind-independent form the engine works with: JSON
//! attributes, ids, outputs, what a read found, and the desired resources
//! of a plan file. What each kind is lives in [`kinds`](crate::kinds).

pub mod desired;
pub mod desired_mesh;
pub mod outputs;
pub mod roots;
pub mod sensitive;
pub mod timeouts;

pub use crate::kinds::{FieldRule, ResourceKind};
pub use desired::{desired_resources, desired_resources_with, DesiredResource};
pub use outputs::{OutputRef, Outputs};
pub use sensitive::{Material, Sensitive};
pub use timeouts::{Timeouts, Verb};

use std::collections::BTreeMap;

/// The attributes meshform sets on a resource, by field name.
///
/// Values are JSON so that diff, state and rendering treat every kind alike.
pub type Attrs = BTreeMap<String, serde_json::Value>;

/// Identifiers the cloud gave a resource.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Ids {
    /// The numeric id GCP assigned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The resource's `selfLink`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub self_link: Option<String>,
}

/// What refresh found for one resource in the live cloud.
#[derive(Debug, Clone, PartialEq)]
pub struct Live {
    /// Identifiers as the cloud reports them.
    pub ids: Ids,
    /// The managed attributes, in the same form as the desired ones.
    pub attrs: Attrs,
    /// What it produced that others may consume (an endpoint, a CA digest).
    pub outputs: Outputs,
    /// Why the resource is going away, when a delete of it is under way
    /// (e.g. a GKE cluster in status STOPPING, left by an interrupted destroy).
    pub deleting: Option<String>,
}

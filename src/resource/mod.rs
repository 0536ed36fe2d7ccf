//! Resources: the kinds meshform manages, their attributes, and which
//! attribute changes the API can apply in place.

pub mod attr;
pub mod desired;
mod kind;
pub mod timeouts;

pub use desired::{desired_resources, DesiredResource};
pub use kind::{FieldRule, ResourceKind};
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
    /// Why the resource is going away, when a delete of it is under way
    /// (e.g. a GKE cluster in status STOPPING, left by an interrupted destroy).
    pub deleting: Option<String>,
}

//! How meshform reaches each cluster's Kubernetes API. These settings
//! belong to the cluster, not to the objects in it: every Kubernetes
//! resource of a cluster uses them, and changing them changes how meshform
//! connects, not the objects.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One cluster's connection settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterConnection {
    /// The cluster's location.
    pub location: String,
    /// The cluster's name.
    pub name: String,
    /// `dns`, `public` or `proxy`: which endpoint to use.
    pub access: String,
    /// The HTTP CONNECT proxy for `proxy` access.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proxy_url: Option<String>,
}

/// Connection settings by cluster (`LOCATION/NAME`).
pub type Connections = BTreeMap<String, ClusterConnection>;

/// The key of cluster `name` in `location` in [`Connections`].
pub fn key(location: &str, name: &str) -> String {
    format!("{location}/{name}")
}

impl ClusterConnection {
    /// Its key in [`Connections`].
    pub fn key(&self) -> String {
        key(&self.location, &self.name)
    }
}

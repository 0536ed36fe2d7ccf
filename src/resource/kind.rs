//! The closed set of resource kinds and their per-field update rules.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Every kind of resource meshform manages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResourceKind {
    /// A custom-mode VPC network (global).
    Network,
    /// A regional subnet with secondary ranges.
    Subnet,
    /// A regional Cloud Router carrying one Cloud NAT.
    Router,
    /// A VPC firewall rule (global).
    Firewall,
}

/// How a change to one attribute can be applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldRule {
    /// The API can patch it in place.
    Updatable,
    /// The API cannot change it: the resource must be replaced.
    ForcesReplacement,
}

impl ResourceKind {
    /// All kinds, in display order.
    pub const ALL: [ResourceKind; 4] = [
        ResourceKind::Network,
        ResourceKind::Subnet,
        ResourceKind::Router,
        ResourceKind::Firewall,
    ];

    /// The kind as it appears in addresses.
    pub fn as_str(self) -> &'static str {
        match self {
            ResourceKind::Network => "network",
            ResourceKind::Subnet => "subnet",
            ResourceKind::Router => "router",
            ResourceKind::Firewall => "firewall",
        }
    }

    /// Whether a change of `field` can be applied in place, per the compute API:
    /// identity and placement fields force replacement, the rest is patched
    /// (networks.patch changes `routingConfig` and `mtu`).
    pub fn field_rule(self, field: &str) -> FieldRule {
        let immutable: &[&str] = match self {
            ResourceKind::Network => &["name", "auto_create_subnetworks"],
            ResourceKind::Subnet => &["name", "region", "network", "ip_cidr_range"],
            ResourceKind::Router => &["name", "region", "network"],
            ResourceKind::Firewall => &["name", "network", "direction"],
        };
        if immutable.contains(&field) {
            FieldRule::ForcesReplacement
        } else {
            FieldRule::Updatable
        }
    }
}

impl fmt::Display for ResourceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

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
    /// A private GKE cluster with its node pool.
    Cluster,
    /// A Compute Engine VM (the bastion host).
    Instance,
    /// A Kubernetes namespace in one cluster.
    Namespace,
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
    pub const ALL: [ResourceKind; 7] = [
        ResourceKind::Network,
        ResourceKind::Subnet,
        ResourceKind::Router,
        ResourceKind::Firewall,
        ResourceKind::Cluster,
        ResourceKind::Instance,
        ResourceKind::Namespace,
    ];

    /// The kind as it appears in addresses.
    pub fn as_str(self) -> &'static str {
        match self {
            ResourceKind::Network => "network",
            ResourceKind::Subnet => "subnet",
            ResourceKind::Router => "router",
            ResourceKind::Firewall => "firewall",
            ResourceKind::Cluster => "cluster",
            ResourceKind::Instance => "instance",
            ResourceKind::Namespace => "namespace",
        }
    }

    /// Whether a change of `field` can be applied in place, per the compute API:
    /// identity and placement fields force replacement, the rest is patched
    /// (networks.patch changes `routingConfig` and `mtu`).
    /// GKE updates only a few cluster fields in place (one `desired*` field
    /// per call); an instance is replaced on any change.
    pub fn field_rule(self, field: &str) -> FieldRule {
        let updatable: Option<&[&str]> = match self {
            ResourceKind::Cluster => Some(&[
                "authorized_networks",
                "master_global_access",
                "release_channel",
                "dns_endpoint_external_traffic",
            ]),
            ResourceKind::Instance => Some(&[]),
            _ => None,
        };
        if let Some(updatable) = updatable {
            return if updatable.contains(&field) {
                FieldRule::Updatable
            } else {
                FieldRule::ForcesReplacement
            };
        }
        let immutable: &[&str] = match self {
            ResourceKind::Network => &["name", "auto_create_subnetworks"],
            ResourceKind::Subnet => &["name", "region", "network", "ip_cidr_range"],
            ResourceKind::Router => &["name", "region", "network"],
            ResourceKind::Firewall => &["name", "network", "direction"],
            ResourceKind::Namespace => &["name", "cluster", "location"],
            ResourceKind::Cluster | ResourceKind::Instance => &[],
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

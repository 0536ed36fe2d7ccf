//! The authorized networks meshform derives for a cluster's control plane.
//! One derivation serves both validation (GKE's limit of 50 counts them) and
//! the desired cluster (which sets them).

use ipnet::Ipv4Net;

use super::model::{Cluster, ControlPlaneAccess, Region};

/// Why meshform adds a network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Derivation {
    /// A subnet's primary range: nodes and the bastion reach the control plane.
    Subnet,
    /// Another cluster's pod range: its istiod reads this API server.
    PeerPods {
        /// The other cluster.
        cluster: String,
    },
    /// `operator_cidr`, with `access = "public"`.
    Operator,
}

/// One derived authorized network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DerivedNetwork {
    /// Its display name in GKE.
    pub name: String,
    /// Its range.
    pub cidr: Ipv4Net,
    /// Why.
    pub derivation: Derivation,
}

/// The networks meshform adds to the control plane of `cluster` in the
/// region named `region`, given every region of the plan: each subnet's
/// primary range, the pod range of every other cluster, and `operator_cidr`
/// with public access.
pub fn derived_authorized_networks<'a>(
    regions: impl IntoIterator<Item = &'a Region>,
    region: &str,
    cluster: &Cluster,
) -> Vec<DerivedNetwork> {
    let regions: Vec<&Region> = regions.into_iter().collect();
    let mut out: Vec<DerivedNetwork> = regions
        .iter()
        .map(|r| DerivedNetwork {
            name: format!("subnet-{}", r.name),
            cidr: r.subnet.cidr,
            derivation: Derivation::Subnet,
        })
        .collect();
    for peer in regions.iter().filter(|r| r.name != region) {
        if let Some(other) = &peer.cluster {
            out.push(DerivedNetwork {
                name: format!("pods-{}", other.name),
                cidr: peer.subnet.pod_range.cidr,
                derivation: Derivation::PeerPods {
                    cluster: other.name.clone(),
                },
            });
        }
    }
    if let (ControlPlaneAccess::Public, Some(cidr)) = (cluster.access_mode(), cluster.operator_cidr)
    {
        out.push(DerivedNetwork {
            name: "operator".into(),
            cidr,
            derivation: Derivation::Operator,
        });
    }
    out
}

//! What one cluster's Istio control plane is rendered from.

use serde::{Deserialize, Serialize};

/// The values of one cluster's control plane (MESH.md, "Multi-primary on
/// different networks"): everything the IstioOperator overlay says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ControlPlaneValues {
    /// The pinned Istio version, e.g. `1.31.1`.
    pub version: String,
    /// The revision (`istiod-<revision>`), when one is set.
    pub revision: Option<String>,
    /// The image hub, when not Istio's default.
    pub hub: Option<String>,
    /// The image tag, when not the version.
    pub tag: Option<String>,
    /// `global.meshID`.
    pub mesh_id: String,
    /// `global.multiCluster.clusterName`: the cluster's name in the mesh.
    pub cluster_name: String,
    /// `global.network`.
    pub network: String,
    /// `meshConfig.trustDomain`.
    pub trust_domain: String,
}

impl ControlPlaneValues {
    /// The tutorial's first cluster: for tests.
    pub fn example() -> ControlPlaneValues {
        ControlPlaneValues {
            version: "1.31.1".into(),
            revision: None,
            hub: None,
            tag: None,
            mesh_id: "mesh1".into(),
            cluster_name: "istio-cluster1".into(),
            network: "network-europe-west2".into(),
            trust_domain: "cluster.local".into(),
        }
    }
}

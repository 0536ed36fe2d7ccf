//! `[mesh]` and `[region.cluster.mesh]`: the Istio mesh over the plan's
//! clusters — its id, the pinned Istio version, the trust domain, and the
//! certificate authority every cluster's intermediate chains to.

use serde::{Deserialize, Serialize};
use std::path::PathBuf;

use super::model::{Cluster, Plan};

/// The Istio release lines meshform supports (MESH.md, "Istio versions").
pub const SUPPORTED_LINES: &[&str] = &["1.30", "1.31"];

/// `[mesh]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mesh {
    /// `global.meshID`.
    pub id: String,
    /// The pinned Istio version, e.g. `"1.31.1"`.
    pub istio_version: String,
    /// A control-plane revision (`istiod-<revision>`), when one is wanted.
    #[serde(default)]
    pub revision: Option<String>,
    /// The image hub, when not Istio's.
    #[serde(default)]
    pub hub: Option<String>,
    /// The image tag, when not the version.
    #[serde(default)]
    pub tag: Option<String>,
    /// The trust domain of workload identities.
    #[serde(default = "default_trust_domain")]
    pub trust_domain: String,
    /// The certificate authority (`[mesh.ca]`).
    #[serde(default)]
    pub ca: MeshCa,
    /// Ranges allowed to reach every east-west gateway besides the peer
    /// clusters' node and pod ranges (which are always allowed).
    #[serde(default)]
    pub gateway_source_ranges: Vec<ipnet::Ipv4Net>,
}

impl Mesh {
    /// The same mesh with brought CA files resolved against the folder of
    /// the plan file at `plan_path`.
    pub fn beside(mut self, plan_path: &std::path::Path) -> Mesh {
        let dir = plan_path.parent().unwrap_or(std::path::Path::new(""));
        for p in [&mut self.ca.root_cert, &mut self.ca.root_key]
            .into_iter()
            .flatten()
        {
            if p.is_relative() {
                *p = dir.join(&*p);
            }
        }
        self.ca.brought_fingerprint = self.ca.root_cert.as_ref().and_then(|p| {
            let pem = std::fs::read_to_string(p).ok()?;
            crate::mesh::ca::fingerprint(&pem).ok()
        });
        self
    }

    /// The name of istiod's Deployment: `istiod`, or `istiod-<revision>`.
    pub fn istiod_name(&self) -> String {
        match &self.revision {
            Some(r) => format!("istiod-{r}"),
            None => "istiod".to_string(),
        }
    }

    /// The values of `cluster`'s control plane.
    pub fn control_plane(&self, cluster: &Cluster) -> crate::mesh::ControlPlaneValues {
        crate::mesh::ControlPlaneValues {
            version: self.istio_version.clone(),
            revision: self.revision.clone(),
            hub: self.hub.clone(),
            tag: self.tag.clone(),
            mesh_id: self.id.clone(),
            cluster_name: cluster.mesh_name().to_string(),
            network: cluster.mesh_network().0,
            trust_domain: self.trust_domain.clone(),
        }
    }
}

fn default_trust_domain() -> String {
    "cluster.local".into()
}

/// `[mesh.ca]`: how the root and the per-cluster intermediates are made.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MeshCa {
    /// The key type of generated certificates.
    #[serde(default)]
    pub key_type: KeyType,
    /// Validity of a generated root, in days.
    #[serde(default = "default_validity")]
    pub root_validity_days: u32,
    /// Validity of each intermediate, in days (never past the root's expiry).
    #[serde(default = "default_validity")]
    pub intermediate_validity_days: u32,
    /// An intermediate expiring within this many days is re-issued.
    #[serde(default = "default_reissue_window")]
    pub reissue_window_days: u32,
    /// A root the user brings (PEM certificate), relative to the plan file.
    #[serde(default)]
    pub root_cert: Option<PathBuf>,
    /// The brought root's private key (PEM), relative to the plan file.
    #[serde(default)]
    pub root_key: Option<PathBuf>,
    /// The brought root's fingerprint, read when the plan file is loaded.
    #[serde(skip)]
    pub brought_fingerprint: Option<String>,
}

impl Default for MeshCa {
    fn default() -> Self {
        MeshCa {
            key_type: KeyType::default(),
            root_validity_days: default_validity(),
            intermediate_validity_days: default_validity(),
            reissue_window_days: default_reissue_window(),
            root_cert: None,
            root_key: None,
            brought_fingerprint: None,
        }
    }
}

/// Istio's tooling issues 10-year roots and intermediates (`tools/certs/common.mk`).
fn default_validity() -> u32 {
    3650
}
fn default_reissue_window() -> u32 {
    30
}

/// Key type of generated CA certificates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum KeyType {
    /// RSA 4096, as Istio's own tooling.
    #[default]
    #[serde(rename = "rsa-4096")]
    Rsa4096,
    /// ECDSA on P-256.
    #[serde(rename = "ecdsa-p256")]
    EcdsaP256,
}

impl KeyType {
    /// Its name in the plan file.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyType::Rsa4096 => "rsa-4096",
            KeyType::EcdsaP256 => "ecdsa-p256",
        }
    }
}

/// `[region.cluster.mesh]`: a cluster's place in the mesh.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterMesh {
    /// Its name in the mesh (`global.multiCluster.clusterName`); default the GKE name.
    #[serde(default)]
    pub name: Option<String>,
    /// Its Istio network (`global.network`); default `<GKE name>-network`.
    #[serde(default)]
    pub network: Option<String>,
}

impl Cluster {
    /// The cluster's name in the mesh: the one set, else the GKE name.
    pub fn mesh_name(&self) -> &str {
        self.mesh.name.as_deref().unwrap_or(self.name.as_str())
    }

    /// The cluster's Istio network and, when meshform chose it, why.
    pub fn mesh_network(&self) -> (String, Option<&'static str>) {
        match &self.mesh.network {
            Some(n) => (n.clone(), None),
            None => (
                format!("{}-network", self.name),
                Some(
                    "derived: each cluster is its own Istio network (its pods are reached \
                     through its east-west gateway)",
                ),
            ),
        }
    }
}

/// `[samples]`: Istio's `sleep` client and `httpbin` server in every
/// cluster, in a namespace with sidecar injection, for `verify --traffic`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Samples {
    /// Whether they are deployed (a section with `enabled = false` keeps
    /// its settings and removes the workloads).
    #[serde(default = "enabled_by_default")]
    pub enabled: bool,
    /// Their namespace.
    #[serde(default = "default_samples_namespace")]
    pub namespace: String,
}

fn enabled_by_default() -> bool {
    true
}

fn default_samples_namespace() -> String {
    "sample".into()
}

impl Plan {
    /// Whether the plan asks for a mesh.
    pub fn has_mesh(&self) -> bool {
        self.mesh.is_some()
    }

    /// The samples' settings, when the plan deploys them.
    pub fn samples(&self) -> Option<&Samples> {
        self.samples
            .as_ref()
            .filter(|s| s.enabled && self.mesh.is_some())
    }
}

/// `major.minor` of `version` when it is `major.minor.patch` with numbers.
pub fn release_line(version: &str) -> Option<String> {
    let parts: Vec<&str> = version.split('.').collect();
    let numeric = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    (parts.len() == 3 && parts.iter().all(|p| numeric(p)))
        .then(|| format!("{}.{}", parts[0], parts[1]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn release_lines_of_pinned_versions() {
        assert_eq!(release_line("1.31.1").as_deref(), Some("1.31"));
        assert_eq!(release_line("1.31").as_deref(), None);
        assert_eq!(release_line("1.31.x").as_deref(), None);
        assert_eq!(release_line("v1.31.1").as_deref(), None);
    }
}

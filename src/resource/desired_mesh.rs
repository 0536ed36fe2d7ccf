//! The mesh's desired resources (pure): the root CA, and per cluster its
//! intermediate, the `cacerts` Secret and Istio's control plane, in the
//! order MESH.md gives — namespace (with its network label) → `cacerts` →
//! control plane — as graph edges, not sleeps. The control plane's objects
//! are rendered later, by `ops::mesh`, which may run istioctl.

use std::collections::BTreeMap;

use super::desired::{DesiredResource, ISTIO_NAMESPACE};
use super::outputs::Known;
use crate::address::Address;
use crate::kinds::ca_entry::{OUTPUT_FINGERPRINT, OUTPUT_KEY};
use crate::kinds::cacerts::{Cacerts, CacertsSpec};
use crate::kinds::cluster::OUTPUT_CA_DIGEST;
use crate::kinds::intermediate_ca::{IntermediateCa, IntermediateCaSpec};
use crate::kinds::istio::{Istio, IstioSpec};
use crate::kinds::root_ca::{RootCa, RootCaSpec};
use crate::kinds::ResourceKind;
use crate::plan::{Cluster, Mesh, Plan, Region};

/// The root CA's entry in the secret store, and its address name.
pub const ROOT_NAME: &str = "root";

/// The address of the mesh's root CA.
pub fn root_address() -> Address {
    Address::new(ResourceKind::RootCa, "mesh")
}

/// The root CA of `mesh`.
pub fn root_resource(mesh: &Mesh) -> DesiredResource {
    let ca = &mesh.ca;
    let path = |p: &Option<std::path::PathBuf>| p.as_ref().map(|p| p.display().to_string());
    let spec = match &ca.root_cert {
        Some(_) => RootCaSpec {
            name: ROOT_NAME.into(),
            key_type: None,
            validity_days: None,
            brought: ca.brought_fingerprint.clone(),
            cert_file: path(&ca.root_cert),
            key_file: path(&ca.root_key),
        },
        None => RootCaSpec {
            name: ROOT_NAME.into(),
            key_type: Some(ca.key_type),
            validity_days: Some(ca.root_validity_days),
            brought: None,
            cert_file: None,
            key_file: None,
        },
    };
    DesiredResource::of::<RootCa>("mesh", &spec, vec![])
}

/// The intermediate, `cacerts` and control plane of `cluster` in `region`.
pub fn cluster_mesh_resources(
    plan: &Plan,
    mesh: &Mesh,
    region: &Region,
    cluster: &Cluster,
) -> Vec<DesiredResource> {
    let _ = plan;
    let cluster_address = Address::new(ResourceKind::Cluster, &region.name);
    let namespace = Address::new(
        ResourceKind::Namespace,
        format!("{}.{ISTIO_NAMESPACE}", region.name),
    );
    let root = root_address();
    let inter_name = format!("intermediate-{}", cluster.mesh_name());
    let inter = DesiredResource::of::<IntermediateCa>(
        &region.name,
        &IntermediateCaSpec {
            name: inter_name.clone(),
            cluster: cluster.mesh_name().to_string(),
            key_type: mesh.ca.key_type,
            validity_days: mesh.ca.intermediate_validity_days,
            reissue_window_days: mesh.ca.reissue_window_days,
            root: ROOT_NAME.into(),
            root_fingerprint: Known::after(root.clone(), OUTPUT_FINGERPRINT),
        },
        vec![root.clone()],
    );
    let inter_address = inter.address.clone();
    let cacerts = DesiredResource::of::<Cacerts>(
        &region.name,
        &CacertsSpec {
            cluster: cluster.name.clone(),
            location: cluster.location.clone(),
            cluster_ca: Known::after(cluster_address.clone(), OUTPUT_CA_DIGEST),
            intermediate: inter_name,
            root: ROOT_NAME.into(),
            ca_cert: Known::after(inter_address.clone(), OUTPUT_FINGERPRINT),
            ca_key: Known::after(inter_address.clone(), OUTPUT_KEY),
            root_cert: Known::after(root.clone(), OUTPUT_FINGERPRINT),
        },
        vec![
            cluster_address.clone(),
            namespace.clone(),
            inter_address,
            root,
        ],
    );
    let values = mesh.control_plane(cluster);
    let mut istio = DesiredResource::of::<Istio>(
        &region.name,
        &IstioSpec {
            cluster: cluster.name.clone(),
            location: cluster.location.clone(),
            cluster_ca: Known::after(cluster_address.clone(), OUTPUT_CA_DIGEST),
            values,
            generator: String::new(),
            summary: String::new(),
            objects: BTreeMap::new(),
        },
        // cacerts before istiod first starts: istiod without it makes its own CA.
        vec![cluster_address, namespace, cacerts.address.clone()],
    );
    if let (_, Some(why)) = cluster.mesh_network() {
        istio
            .notes
            .insert("values".into(), format!("network {why}"));
    }
    vec![inter, cacerts, istio]
}

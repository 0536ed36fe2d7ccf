//! The mesh's desired resources (pure): the root CA, and per cluster its
//! intermediate, the `cacerts` Secret, Istio's control plane, the east-west
//! gateway, the reader identity and a remote secret for every peer, in the
//! order MESH.md gives — namespace (with its network label) → `cacerts` →
//! control plane — as graph edges, not sleeps. The control plane's objects
//! are rendered later, by `ops::mesh`, which may run istioctl.

use std::collections::BTreeMap;

use super::desired::{DesiredResource, ISTIO_NAMESPACE};
use super::outputs::Known;
use super::roots::{root_address, RootPlan};
use crate::address::Address;
use crate::kinds::ca_entry::{OUTPUT_FINGERPRINT, OUTPUT_KEY};
use crate::kinds::cacerts::{Cacerts, CacertsSpec};
use crate::kinds::cluster::{OUTPUT_CA_DIGEST, OUTPUT_ENDPOINT};
use crate::kinds::eastwest_gateway::{EastwestGateway, EastwestGatewaySpec};
use crate::kinds::intermediate_ca::{IntermediateCa, IntermediateCaSpec};
use crate::kinds::istio::{Istio, IstioSpec};
use crate::kinds::istio_reader::{IstioReader, IstioReaderSpec, OUTPUT_TOKEN};
use crate::kinds::namespace::{Namespace, NamespaceSpec};
use crate::kinds::remote_secret::{RemoteSecret, RemoteSecretSpec};
use crate::kinds::root_ca::{RootCa, RootCaSpec};
use crate::kinds::samples::{cluster_service, Samples, SamplesSpec};
use crate::kinds::ResourceKind;
use crate::mesh::GatewayValues;
use crate::plan::{Cluster, Mesh, Region};

/// The root CA `[mesh.ca]` asks for (its entry name is decided by
/// [`RootPlan`]).
pub fn wanted_root(mesh: &Mesh) -> RootCaSpec {
    let ca = &mesh.ca;
    let path = |p: &Option<std::path::PathBuf>| p.as_ref().map(|p| p.display().to_string());
    match &ca.root_cert {
        Some(_) => RootCaSpec {
            name: String::new(),
            key_type: None,
            validity_days: None,
            brought: ca.brought_fingerprint.clone(),
            cert_file: path(&ca.root_cert),
            key_file: path(&ca.root_key),
        },
        None => RootCaSpec {
            name: String::new(),
            key_type: Some(ca.key_type),
            validity_days: Some(ca.root_validity_days),
            brought: None,
            cert_file: None,
            key_file: None,
        },
    }
}

/// The root CAs of `roots`, each at `root_ca.<entry>`.
pub fn root_resources(roots: &RootPlan) -> Vec<DesiredResource> {
    let mut out: Vec<DesiredResource> = roots
        .roots
        .iter()
        .map(|spec| DesiredResource::of::<RootCa>(&spec.name, spec, vec![]))
        .collect();
    if let (Some(note), Some(last)) = (&roots.note, out.last_mut()) {
        last.notes.insert("name".into(), note.clone());
    }
    out
}

/// The intermediate, `cacerts`, control plane, east-west gateway and reader
/// identity of `cluster` in `region`, with the intermediate signed and the
/// roots trusted as `roots` says.
pub fn cluster_mesh_resources(
    mesh: &Mesh,
    roots: &RootPlan,
    regions: &[Region],
    region: &Region,
    cluster: &Cluster,
) -> Vec<DesiredResource> {
    let cluster_address = Address::new(ResourceKind::Cluster, &region.name);
    let namespace = Address::new(
        ResourceKind::Namespace,
        format!("{}.{ISTIO_NAMESPACE}", region.name),
    );
    let root = root_address(&roots.signing);
    let inter_name = format!("intermediate-{}", cluster.mesh_name());
    let inter = DesiredResource::of::<IntermediateCa>(
        &region.name,
        &IntermediateCaSpec {
            name: inter_name.clone(),
            cluster: cluster.mesh_name().to_string(),
            key_type: mesh.ca.key_type,
            validity_days: mesh.ca.intermediate_validity_days,
            reissue_window_days: mesh.ca.reissue_window_days,
            root: roots.signing.clone(),
            root_fingerprint: Known::after(root.clone(), OUTPUT_FINGERPRINT),
        },
        vec![root.clone()],
    );
    let trusted: Vec<Address> = roots.trusted.iter().map(|n| root_address(n)).collect();
    let inter_address = inter.address.clone();
    let cacerts = DesiredResource::of::<Cacerts>(
        &region.name,
        &CacertsSpec {
            cluster: cluster.name.clone(),
            location: cluster.location.clone(),
            cluster_ca: Known::after(cluster_address.clone(), OUTPUT_CA_DIGEST),
            intermediate: inter_name,
            roots: roots.trusted.clone(),
            ca_cert: Known::after(inter_address.clone(), OUTPUT_FINGERPRINT),
            ca_key: Known::after(inter_address.clone(), OUTPUT_KEY),
            root_certs: trusted
                .iter()
                .map(|a| Known::after(a.clone(), OUTPUT_FINGERPRINT))
                .collect(),
        },
        [cluster_address.clone(), namespace.clone(), inter_address]
            .into_iter()
            .chain(trusted)
            .collect(),
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
        vec![
            cluster_address.clone(),
            namespace.clone(),
            cacerts.address.clone(),
        ],
    );
    if let (_, Some(why)) = cluster.mesh_network() {
        istio
            .notes
            .insert("values".into(), format!("network {why}"));
    }
    let gateway = gateway_resource(
        mesh,
        regions,
        region,
        cluster,
        vec![
            cluster_address.clone(),
            namespace.clone(),
            istio.address.clone(),
        ],
    );
    let reader = DesiredResource::of::<IstioReader>(
        &region.name,
        &IstioReaderSpec {
            cluster: cluster.name.clone(),
            location: cluster.location.clone(),
            cluster_ca: Known::after(cluster_address.clone(), OUTPUT_CA_DIGEST),
            objects: BTreeMap::new(),
        },
        vec![cluster_address.clone(), namespace.clone()],
    );
    vec![inter, cacerts, istio, gateway, reader]
}

/// `[samples]` in `cluster` of `region`: their namespace, labelled for
/// sidecar injection by the mesh's control plane, and the workloads, after
/// the control plane (its webhook injects their sidecars).
pub fn samples_resources(
    mesh: &Mesh,
    samples: &crate::plan::Samples,
    region: &Region,
    cluster: &Cluster,
) -> Vec<DesiredResource> {
    let cluster_address = Address::new(ResourceKind::Cluster, &region.name);
    let injection = match &mesh.revision {
        Some(rev) => ("istio.io/rev".to_string(), rev.clone()),
        None => ("istio-injection".to_string(), "enabled".to_string()),
    };
    let namespace = DesiredResource::of::<Namespace>(
        format!("{}.{}", region.name, samples.namespace),
        &NamespaceSpec {
            name: samples.namespace.clone(),
            cluster: cluster.name.clone(),
            location: cluster.location.clone(),
            cluster_ca: Known::after(cluster_address.clone(), OUTPUT_CA_DIGEST),
            labels: BTreeMap::from([injection]),
        },
        vec![cluster_address.clone()],
    )
    .note("labels", "sidecar injection by the mesh's control plane");
    let workloads = DesiredResource::of::<Samples>(
        &region.name,
        &SamplesSpec {
            cluster: cluster.name.clone(),
            location: cluster.location.clone(),
            cluster_ca: Known::after(cluster_address.clone(), OUTPUT_CA_DIGEST),
            namespace: samples.namespace.clone(),
            service: cluster_service(cluster.mesh_name()),
            objects: BTreeMap::new(),
        },
        vec![
            cluster_address,
            namespace.address.clone(),
            Address::new(ResourceKind::Istio, &region.name),
        ],
    );
    vec![namespace, workloads]
}

/// A remote secret for every ordered pair of clusters of `regions`. They
/// reference outputs of clusters in other regions, so they come after every
/// region's resources (the diff resolves references in list order).
pub fn remote_secrets(regions: &[Region]) -> Vec<DesiredResource> {
    let mut out = Vec::new();
    for region in regions {
        let Some(cluster) = &region.cluster else {
            continue;
        };
        for peer in regions.iter().filter(|r| r.name != region.name) {
            let Some(other) = &peer.cluster else {
                continue;
            };
            out.push(remote_secret(
                region,
                cluster,
                peer,
                other,
                vec![
                    Address::new(ResourceKind::Cluster, &region.name),
                    Address::new(
                        ResourceKind::Namespace,
                        format!("{}.{ISTIO_NAMESPACE}", region.name),
                    ),
                    Address::new(ResourceKind::Istio, &region.name),
                ],
            ));
        }
    }
    out
}

/// In `cluster`, the remote secret through which its istiod reads `other`
/// (in region `peer`): built from `other`'s private endpoint, CA and reader
/// token, all outputs, so a change of any rebuilds it.
fn remote_secret(
    region: &Region,
    cluster: &Cluster,
    peer: &Region,
    other: &Cluster,
    mut dependencies: Vec<Address>,
) -> DesiredResource {
    let peer_cluster = Address::new(ResourceKind::Cluster, &peer.name);
    let peer_reader = Address::new(ResourceKind::IstioReader, &peer.name);
    dependencies.push(peer_reader.clone());
    DesiredResource::of::<RemoteSecret>(
        format!("{}.{}", region.name, peer.name),
        &RemoteSecretSpec {
            cluster: cluster.name.clone(),
            location: cluster.location.clone(),
            cluster_ca: Known::after(
                Address::new(ResourceKind::Cluster, &region.name),
                OUTPUT_CA_DIGEST,
            ),
            peer: other.mesh_name().to_string(),
            peer_cluster: other.name.clone(),
            peer_location: other.location.clone(),
            server: Known::after(peer_cluster.clone(), OUTPUT_ENDPOINT),
            peer_ca: Known::after(peer_cluster, OUTPUT_CA_DIGEST),
            token: Known::after(peer_reader, OUTPUT_TOKEN),
        },
        dependencies,
    )
    .note(
        "server",
        format!(
            "derived: {}'s private endpoint, reached from {}'s pods (master global access, their pod range authorized)",
            other.name, cluster.name
        ),
    )
}

/// The east-west gateway of `cluster`: global access when the mesh spans
/// more than one region; reachable from every peer cluster's node and pod
/// ranges and `[mesh] gateway_source_ranges`.
fn gateway_resource(
    mesh: &Mesh,
    regions: &[Region],
    region: &Region,
    cluster: &Cluster,
    dependencies: Vec<Address>,
) -> DesiredResource {
    let meshed: Vec<&Region> = regions.iter().filter(|r| r.cluster.is_some()).collect();
    let peers: Vec<&&Region> = meshed.iter().filter(|r| r.name != region.name).collect();
    let global_access = meshed.len() > 1;
    let mut source_ranges: Vec<String> = peers
        .iter()
        .flat_map(|r| [r.subnet.cidr, r.subnet.pod_range.cidr])
        .chain(mesh.gateway_source_ranges.iter().copied())
        .map(|c| c.to_string())
        .collect();
    source_ranges.dedup();
    let values = GatewayValues {
        version: mesh.istio_version.clone(),
        revision: mesh.revision.clone(),
        hub: mesh.hub.clone(),
        tag: mesh.tag.clone(),
        network: cluster.mesh_network().0,
        global_access,
        source_ranges,
    };
    let peer_names: Vec<&str> = peers
        .iter()
        .filter_map(|r| r.cluster.as_ref().map(|c| c.name.as_str()))
        .collect();
    let why = format!(
        "derived: {}; loadBalancerSourceRanges = {}{}",
        if global_access {
            format!(
                "global access, because the mesh's clusters are in {} regions and an internal load balancer without it serves its own region only",
                meshed.len()
            )
        } else {
            "no global access: the mesh has one region".to_string()
        },
        if peer_names.is_empty() {
            "none from peers".to_string()
        } else {
            format!("the node and pod ranges of {}", peer_names.join(", "))
        },
        if mesh.gateway_source_ranges.is_empty() {
            ""
        } else {
            " + [mesh] gateway_source_ranges"
        },
    );
    DesiredResource::of::<EastwestGateway>(
        &region.name,
        &EastwestGatewaySpec {
            cluster: cluster.name.clone(),
            location: cluster.location.clone(),
            cluster_ca: Known::after(
                Address::new(ResourceKind::Cluster, &region.name),
                OUTPUT_CA_DIGEST,
            ),
            values,
            generator: String::new(),
            summary: String::new(),
            objects: BTreeMap::new(),
        },
        dependencies,
    )
    .note("values", why)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::path::Path;

    use crate::resource::outputs::references_in;

    /// The diff resolves references in list order: a resource must come
    /// after every resource it depends on or takes an output of, or a
    /// replaced peer cluster would leave its remote secret stale.
    #[test]
    fn every_resource_comes_after_what_it_depends_on_and_references() {
        for plan in ["plans/tutorial.toml", "plans/three-regions.toml"] {
            let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(plan);
            let (_, desired, _) = crate::ops::load_desired(&path).unwrap();
            let mut seen = BTreeSet::new();
            for d in &desired {
                let attrs = serde_json::to_value(&d.attrs).unwrap();
                let referenced = references_in(&attrs).into_iter().map(|r| r.address);
                for before in d.deps.iter().cloned().chain(referenced) {
                    assert!(
                        seen.contains(&before),
                        "{plan}: {} comes before {before}, which it needs",
                        d.address
                    );
                }
                seen.insert(d.address.clone());
            }
        }
    }
}

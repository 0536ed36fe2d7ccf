//! `cluster.*`: private GKE clusters with Google's container client.
//!
//! `clusters.update` takes one `desired*` field per call, so an update of
//! several fields is several calls, one after the other.
//!
//! meshform writes the control plane in today's form
//! (`controlPlaneEndpointsConfig.ipEndpointsConfig`, `networkConfig.
//! defaultEnablePrivateNodes`; only the /28 stays in `privateClusterConfig`)
//! and reads either form, so a cluster created with the deprecated fields
//! (`privateClusterConfig.enablePrivateEndpoint`, `.masterGlobalAccessConfig`,
//! `masterAuthorizedNetworksConfig`) plans as "No changes" too.
#![allow(deprecated)]

use google_cloud_container_v1::model::cluster::Status as ClusterStatus;
use google_cloud_container_v1::model::control_plane_endpoints_config::DNSEndpointConfig;
use google_cloud_container_v1::model::control_plane_endpoints_config::IPEndpointsConfig;
use google_cloud_container_v1::model::master_authorized_networks_config::CidrBlock;
use google_cloud_container_v1::model::release_channel::Channel;
use google_cloud_container_v1::model::{
    Cluster as ApiCluster, ClusterUpdate, ControlPlaneEndpointsConfig, IPAllocationPolicy,
    MasterAuthorizedNetworksConfig, NetworkConfig, NodeConfig, NodePool, PrivateClusterConfig,
    ReleaseChannel, WorkloadIdentityConfig,
};
use google_cloud_gax::options::RequestOptionsBuilder;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{
    forces_replacement, updatable, Api, Applied, Field, Kind, Limits, Observed, ResourceKind,
};
use crate::cloud::{Cloud, CloudError};
use crate::gcp::{api, ca_digest, ca_pem, last_segment, GcpError, InFlight};
use crate::resource::{Ids, Outputs};

/// The kind.
pub struct Cluster;

/// The node pool meshform creates in every cluster.
const NODE_POOL: &str = "default-pool";

/// The output naming the control plane's private endpoint (what peers reach).
pub const OUTPUT_ENDPOINT: &str = "endpoint";
/// The output holding the cluster CA certificate (base64 PEM, as GKE gives it).
pub const OUTPUT_CA_CERTIFICATE: &str = "ca_certificate";
/// The output holding the digest of the cluster CA certificate (PEM).
pub const OUTPUT_CA_DIGEST: &str = "ca_digest";
/// The output naming the network tag GKE gives the cluster's nodes,
/// `gke-<name>-<first 8 of its id>-node`: the target of the firewall rules
/// GKE makes for the cluster, by which its leftovers are recognised.
pub const OUTPUT_NODE_TAG: &str = "node_tag";

/// A cluster's managed attributes.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ClusterSpec {
    /// Its name.
    pub name: String,
    /// Its zone or region.
    pub location: String,
    /// The network's name.
    pub network: String,
    /// The subnet's name.
    pub subnet: String,
    /// The control plane's /28.
    pub master_cidr: String,
    /// Nodes get internal addresses only.
    pub private_nodes: bool,
    /// The control plane has no public endpoint.
    pub private_endpoint: bool,
    /// The private endpoint answers from every region.
    pub master_global_access: bool,
    /// Who may reach the control plane, in CIDR order.
    pub authorized_networks: Vec<AuthorizedNetwork>,
    /// The subnet's secondary range for pods.
    pub pods_range: String,
    /// The subnet's secondary range for services.
    pub services_range: String,
    /// The Workload Identity pool.
    pub workload_pool: String,
    /// The release channel.
    pub release_channel: String,
    /// The DNS endpoint accepts traffic from outside Google Cloud.
    pub dns_endpoint_external_traffic: bool,
    /// Node machine type.
    pub node_machine_type: String,
    /// Node count.
    pub node_count: i32,
    /// Node boot disk size.
    pub node_disk_size_gb: i32,
    /// Node image type.
    pub node_image_type: String,
    /// Node network tags.
    pub node_tags: Vec<String>,
}

/// One authorized network.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct AuthorizedNetwork {
    /// Its display name.
    pub name: String,
    /// Its CIDR.
    pub cidr: String,
}

/// Authorized networks are a set to GKE: compare them in CIDR order.
pub fn sort_authorized_networks(nets: &mut [AuthorizedNetwork]) {
    nets.sort_by(|a, b| (&a.cidr, &a.name).cmp(&(&b.cidr, &b.name)));
}

/// The control-plane endpoint settings one call sets: all of them on
/// create, the changed ones on update (one `desiredControlPlaneEndpointsConfig`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct EndpointFields {
    private_endpoint: bool,
    master_global_access: bool,
    authorized_networks: bool,
    dns_endpoint_external_traffic: bool,
}

impl EndpointFields {
    const ALL: EndpointFields = EndpointFields {
        private_endpoint: true,
        master_global_access: true,
        authorized_networks: true,
        dns_endpoint_external_traffic: true,
    };

    /// The updatable ones that differ (`private_endpoint` forces replacement).
    fn changed(before: &ClusterSpec, after: &ClusterSpec) -> Self {
        EndpointFields {
            private_endpoint: false,
            master_global_access: before.master_global_access != after.master_global_access,
            authorized_networks: before.authorized_networks != after.authorized_networks,
            dns_endpoint_external_traffic: before.dns_endpoint_external_traffic
                != after.dns_endpoint_external_traffic,
        }
    }

    /// Their names, for progress and errors.
    fn names(&self) -> Vec<&'static str> {
        [
            (self.authorized_networks, "authorized_networks"),
            (self.master_global_access, "master_global_access"),
            (
                self.dns_endpoint_external_traffic,
                "dns_endpoint_external_traffic",
            ),
        ]
        .into_iter()
        .filter_map(|(set, name)| set.then_some(name))
        .collect()
    }
}

fn authorized(spec: &ClusterSpec) -> MasterAuthorizedNetworksConfig {
    let blocks = spec.authorized_networks.iter().map(|n| {
        CidrBlock::new()
            .set_display_name(&n.name)
            .set_cidr_block(&n.cidr)
    });
    MasterAuthorizedNetworksConfig::new()
        .set_enabled(true)
        .set_cidr_blocks(blocks.collect::<Vec<_>>())
}

fn dns_endpoint(spec: &ClusterSpec) -> DNSEndpointConfig {
    DNSEndpointConfig::new().set_allow_external_traffic(spec.dns_endpoint_external_traffic)
}

/// The control plane's endpoints in today's form, with the fields `set` only.
fn endpoints(spec: &ClusterSpec, set: EndpointFields) -> ControlPlaneEndpointsConfig {
    let mut ip = IPEndpointsConfig::new();
    if set.private_endpoint {
        ip = ip
            .set_enabled(true)
            .set_enable_public_endpoint(!spec.private_endpoint);
    }
    if set.master_global_access {
        ip = ip.set_global_access(spec.master_global_access);
    }
    if set.authorized_networks {
        ip = ip.set_authorized_networks_config(authorized(spec));
    }
    let mut config = ControlPlaneEndpointsConfig::new();
    if ip != IPEndpointsConfig::new() {
        config = config.set_ip_endpoints_config(ip);
    }
    if set.dns_endpoint_external_traffic {
        config = config.set_dns_endpoint_config(dns_endpoint(spec));
    }
    config
}

fn body(spec: &ClusterSpec) -> ApiCluster {
    let node_config = NodeConfig::new()
        .set_machine_type(&spec.node_machine_type)
        .set_disk_size_gb(spec.node_disk_size_gb)
        .set_image_type(&spec.node_image_type)
        .set_tags(spec.node_tags.clone());
    ApiCluster::new()
        .set_name(&spec.name)
        .set_network(&spec.network)
        .set_subnetwork(&spec.subnet)
        .set_network_config(
            NetworkConfig::new().set_default_enable_private_nodes(spec.private_nodes),
        )
        .set_node_pools([NodePool::new()
            .set_name(NODE_POOL)
            .set_initial_node_count(spec.node_count)
            .set_config(node_config)])
        .set_ip_allocation_policy(
            IPAllocationPolicy::new()
                .set_use_ip_aliases(true)
                .set_cluster_secondary_range_name(&spec.pods_range)
                .set_services_secondary_range_name(&spec.services_range),
        )
        .set_private_cluster_config(
            PrivateClusterConfig::new().set_master_ipv4_cidr_block(&spec.master_cidr),
        )
        .set_workload_identity_config(
            WorkloadIdentityConfig::new().set_workload_pool(&spec.workload_pool),
        )
        .set_release_channel(
            ReleaseChannel::new().set_channel(Channel::from(spec.release_channel.as_str())),
        )
        .set_control_plane_endpoints_config(endpoints(spec, EndpointFields::ALL))
}

/// The managed attributes of a live cluster, in the form of the desired ones.
pub(crate) fn spec_of(c: &ApiCluster) -> ClusterSpec {
    let pool = c
        .node_pools
        .iter()
        .find(|p| p.name == NODE_POOL)
        .or(c.node_pools.first());
    let config = pool.and_then(|p| p.config.clone()).unwrap_or_default();
    let private = c.private_cluster_config.clone().unwrap_or_default();
    let ip = c.ip_allocation_policy.clone().unwrap_or_default();
    let endpoints = c.control_plane_endpoints_config.clone().unwrap_or_default();
    let ip_endpoints = endpoints.ip_endpoints_config.clone().unwrap_or_default();
    // Today's fields first, the deprecated ones when a cluster has only those.
    let authorized_config = ip_endpoints
        .authorized_networks_config
        .clone()
        .or(c.master_authorized_networks_config.clone());
    let mut nets: Vec<AuthorizedNetwork> = authorized_config
        .iter()
        .flat_map(|m| m.cidr_blocks.iter())
        .map(|b| AuthorizedNetwork {
            name: b.display_name.clone(),
            cidr: b.cidr_block.clone(),
        })
        .collect();
    sort_authorized_networks(&mut nets);
    let private_endpoint = ip_endpoints
        .enable_public_endpoint
        .map(|public| !public)
        .unwrap_or(private.enable_private_endpoint);
    let global_access = ip_endpoints.global_access.unwrap_or_else(|| {
        private
            .master_global_access_config
            .as_ref()
            .is_some_and(|g| g.enabled)
    });
    let private_nodes = c
        .network_config
        .as_ref()
        .and_then(|n| n.default_enable_private_nodes)
        .unwrap_or(private.enable_private_nodes);
    let dns_external = endpoints
        .dns_endpoint_config
        .as_ref()
        .and_then(|d| d.allow_external_traffic)
        .unwrap_or(false);
    ClusterSpec {
        name: c.name.clone(),
        location: c.location.clone(),
        network: last_segment(&c.network),
        subnet: last_segment(&c.subnetwork),
        master_cidr: private.master_ipv4_cidr_block,
        private_nodes,
        private_endpoint,
        master_global_access: global_access,
        authorized_networks: nets,
        pods_range: ip.cluster_secondary_range_name,
        services_range: ip.services_secondary_range_name,
        workload_pool: c
            .workload_identity_config
            .as_ref()
            .map(|w| w.workload_pool.clone())
            .unwrap_or_default(),
        release_channel: c
            .release_channel
            .as_ref()
            .and_then(|r| r.channel.name())
            .unwrap_or("UNSPECIFIED")
            .to_string(),
        dns_endpoint_external_traffic: dns_external,
        node_machine_type: config.machine_type,
        node_count: pool.map(|p| p.initial_node_count).unwrap_or_default(),
        node_disk_size_gb: config.disk_size_gb,
        node_image_type: config.image_type,
        node_tags: config.tags,
    }
}

fn ids_of(c: &ApiCluster) -> Ids {
    Ids {
        id: Some(c.id.clone()).filter(|i| !i.is_empty()),
        self_link: Some(c.self_link.clone()).filter(|s| !s.is_empty()),
    }
}

/// The network tag GKE gives the nodes of cluster `name` with id `id`.
pub fn node_tag(name: &str, id: &str) -> String {
    format!("gke-{name}-{}-node", &id[..id.len().min(8)])
}

pub(crate) fn outputs_of(c: &ApiCluster) -> Outputs {
    let ca = c
        .master_auth
        .as_ref()
        .map(|m| m.cluster_ca_certificate.clone())
        .unwrap_or_default();
    let endpoint = c
        .control_plane_endpoints_config
        .as_ref()
        .and_then(|e| e.ip_endpoints_config.as_ref())
        .map(|ip| ip.private_endpoint.clone())
        .filter(|e| !e.is_empty())
        .or_else(|| {
            c.private_cluster_config
                .as_ref()
                .map(|p| p.private_endpoint.clone())
        })
        .unwrap_or_default();
    Outputs::from([
        (OUTPUT_ENDPOINT.to_string(), json!(endpoint)),
        (
            OUTPUT_CA_DIGEST.to_string(),
            json!(ca_digest(&ca_pem(c).unwrap_or_default())),
        ),
        (OUTPUT_CA_CERTIFICATE.to_string(), json!(ca)),
        (OUTPUT_NODE_TAG.to_string(), json!(node_tag(&c.name, &c.id))),
    ])
}

/// The ids and outputs of cluster `name` as it is now.
async fn applied(cloud: &Cloud, location: &str, name: &str) -> Result<Applied, CloudError> {
    let c = cloud
        .gcp
        .get_cluster(location, name)
        .await?
        .ok_or_else(|| GcpError::NotReadable(format!("cluster {name}")))?;
    Ok(Applied {
        ids: ids_of(&c),
        outputs: outputs_of(&c),
    })
}

impl Kind for Cluster {
    type Spec = ClusterSpec;
    const KIND: ResourceKind = ResourceKind::Cluster;
    const API: Api = Api::Gke;
    /// GKE updates only a few cluster fields in place, one `desired*` field per call.
    const FIELDS: &'static [Field] = &[
        forces_replacement("name"),
        forces_replacement("location"),
        forces_replacement("network"),
        forces_replacement("subnet"),
        forces_replacement("master_cidr"),
        forces_replacement("private_nodes"),
        forces_replacement("private_endpoint"),
        updatable("master_global_access"),
        updatable("authorized_networks"),
        forces_replacement("pods_range"),
        forces_replacement("services_range"),
        forces_replacement("workload_pool"),
        updatable("release_channel"),
        updatable("dns_endpoint_external_traffic"),
        forces_replacement("node_machine_type"),
        forces_replacement("node_count"),
        forces_replacement("node_disk_size_gb"),
        forces_replacement("node_image_type"),
        forces_replacement("node_tags"),
    ];
    const LIVES_IN: &'static [ResourceKind] = &[ResourceKind::Network, ResourceKind::Subnet];
    const OUTPUTS: &'static [&'static str] = &[
        OUTPUT_ENDPOINT,
        OUTPUT_CA_CERTIFICATE,
        OUTPUT_CA_DIGEST,
        OUTPUT_NODE_TAG,
    ];
    /// Terraform's defaults: a real create takes 5–15 minutes, a regional one longer.
    const LIMITS: Limits = Limits {
        create: 45,
        update: 60,
        delete: 45,
    };

    fn in_flight(spec: &ClusterSpec, _project: &str) -> InFlight {
        InFlight::Cluster {
            location: spec.location.clone(),
            name: spec.name.clone(),
        }
    }

    async fn read(
        cloud: &Cloud,
        spec: &ClusterSpec,
    ) -> Result<Option<Observed<ClusterSpec>>, CloudError> {
        let got = cloud.gcp.get_cluster(&spec.location, &spec.name).await?;
        Ok(got.map(|c| Observed {
            ids: ids_of(&c),
            spec: spec_of(&c),
            outputs: outputs_of(&c),
            deleting: (c.status == ClusterStatus::Stopping)
                .then(|| "GKE is deleting it (status STOPPING)".to_string()),
        }))
    }

    async fn create(cloud: &Cloud, spec: &ClusterSpec) -> Result<Applied, CloudError> {
        let p = &cloud.gcp;
        let (name, location) = (&spec.name, &spec.location);
        // A new cluster has a new address and CA.
        cloud.kube.forget_cluster(location, name).await;
        let ctx = format!("creating cluster {name} in {location}");
        let sent = p
            .clusters
            .create_cluster()
            .set_parent(format!("projects/{}/locations/{location}", p.project))
            .set_cluster(body(spec))
            .with_idempotency(true)
            .send()
            .await;
        // "Already exists" (made by an earlier, interrupted run) goes back to
        // the caller, which joins what is still running and adopts the cluster.
        let op = sent.map_err(api(&ctx))?;
        p.poll_gke(location, op, &ctx).await?;
        applied(cloud, location, name).await
    }

    /// One `clusters.update` per changed field, as GKE requires.
    async fn update(
        cloud: &Cloud,
        before: &ClusterSpec,
        after: &ClusterSpec,
    ) -> Result<Applied, CloudError> {
        let p = &cloud.gcp;
        let (name, location) = (&after.name, &after.location);
        let mut updates = Vec::new();
        let endpoint_changes = EndpointFields::changed(before, after);
        let endpoint_names = endpoint_changes.names();
        if !endpoint_names.is_empty() {
            updates.push((
                endpoint_names.join(", "),
                ClusterUpdate::new()
                    .set_desired_control_plane_endpoints_config(endpoints(after, endpoint_changes)),
            ));
        }
        if before.release_channel != after.release_channel {
            updates.push((
                "release_channel".to_string(),
                ClusterUpdate::new().set_desired_release_channel(
                    ReleaseChannel::new()
                        .set_channel(Channel::from(after.release_channel.as_str())),
                ),
            ));
        }
        for (field, update) in updates {
            let ctx = format!("updating {field} of cluster {name} in {location}");
            let op = p
                .clusters
                .update_cluster()
                .set_name(p.cluster_path(location, name))
                .set_update(update)
                .with_idempotency(true)
                .send()
                .await
                .map_err(api(&ctx))?;
            p.poll_gke(location, op, &ctx).await?;
        }
        applied(cloud, location, name).await
    }

    async fn delete(cloud: &Cloud, spec: &ClusterSpec) -> Result<(), CloudError> {
        let p = &cloud.gcp;
        let (name, location) = (&spec.name, &spec.location);
        // Clients of the old cluster must not be used for a new one of that name.
        cloud.kube.forget_cluster(location, name).await;
        let ctx = format!("deleting cluster {name} in {location}");
        let op = p
            .clusters
            .delete_cluster()
            .set_name(p.cluster_path(location, name))
            .with_idempotency(true)
            .send()
            .await
            .map_err(api(&ctx))?;
        Ok(p.poll_gke(location, op, &ctx).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn it_reports_the_outputs_it_declares() {
        let outputs = outputs_of(&ApiCluster::new());
        let names: Vec<&str> = outputs.keys().map(String::as_str).collect();
        let mut declared = Cluster::OUTPUTS.to_vec();
        declared.sort();
        assert_eq!(names, declared);
    }

    #[test]
    fn every_field_has_a_rule() {
        super::super::assert_every_field_has_a_rule::<Cluster>(&ClusterSpec {
            name: "c1".into(),
            location: "europe-west2-a".into(),
            network: "vpc".into(),
            subnet: "eu".into(),
            master_cidr: "172.16.0.32/28".into(),
            private_nodes: true,
            private_endpoint: false,
            master_global_access: true,
            authorized_networks: vec![],
            pods_range: "pods".into(),
            services_range: "svc".into(),
            workload_pool: "p.svc.id.goog".into(),
            release_channel: "REGULAR".into(),
            dns_endpoint_external_traffic: true,
            node_machine_type: "e2-standard-4".into(),
            node_count: 1,
            node_disk_size_gb: 50,
            node_image_type: "COS_CONTAINERD".into(),
            node_tags: vec![],
        });
    }
}

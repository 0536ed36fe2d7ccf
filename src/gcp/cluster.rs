//! `cluster.*`: private GKE clusters with Google's container client.
//!
//! GKE operations have no `wait` method: they are polled with backoff until
//! DONE. `clusters.update` takes one `desired*` field per call, so an update
//! of several fields is several calls, one after the other.
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
use google_cloud_container_v1::model::operation::Status as OpStatus;
use google_cloud_container_v1::model::release_channel::Channel;
use google_cloud_container_v1::model::{
    Cluster, ClusterUpdate, ControlPlaneEndpointsConfig, IPAllocationPolicy,
    MasterAuthorizedNetworksConfig, NetworkConfig, NodeConfig, NodePool, Operation,
    PrivateClusterConfig, ReleaseChannel, WorkloadIdentityConfig,
};
use google_cloud_gax::options::RequestOptionsBuilder;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

use super::{api, found, last_segment, GcpError, Provider};
use crate::progress;
use crate::resource::attr::{flag, int, str as str_attr, strings};
use crate::resource::desired::{object, sort_authorized_networks};
use crate::resource::{Attrs, Ids, Live};

/// The node pool meshform creates in every cluster.
const NODE_POOL: &str = "default-pool";

fn path(p: &Provider, location: &str, name: &str) -> String {
    format!(
        "projects/{}/locations/{location}/clusters/{name}",
        p.project
    )
}

fn authorized(attrs: &Attrs) -> MasterAuthorizedNetworksConfig {
    let blocks = attrs
        .get("authorized_networks")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|n| {
            CidrBlock::new()
                .set_display_name(n["name"].as_str().unwrap_or_default())
                .set_cidr_block(n["cidr"].as_str().unwrap_or_default())
        });
    MasterAuthorizedNetworksConfig::new()
        .set_enabled(true)
        .set_cidr_blocks(blocks.collect::<Vec<_>>())
}

fn dns_endpoint(attrs: &Attrs) -> DNSEndpointConfig {
    DNSEndpointConfig::new()
        .set_allow_external_traffic(flag(attrs, "dns_endpoint_external_traffic"))
}

/// The control plane's endpoints in today's form, with the fields of
/// `changed` only (all of them on create).
fn endpoints(attrs: &Attrs, changed: impl Fn(&str) -> bool) -> ControlPlaneEndpointsConfig {
    let mut ip = IPEndpointsConfig::new();
    if changed("private_endpoint") {
        ip = ip
            .set_enabled(true)
            .set_enable_public_endpoint(!flag(attrs, "private_endpoint"));
    }
    if changed("master_global_access") {
        ip = ip.set_global_access(flag(attrs, "master_global_access"));
    }
    if changed("authorized_networks") {
        ip = ip.set_authorized_networks_config(authorized(attrs));
    }
    let mut config = ControlPlaneEndpointsConfig::new();
    if ip != IPEndpointsConfig::new() {
        config = config.set_ip_endpoints_config(ip);
    }
    if changed("dns_endpoint_external_traffic") {
        config = config.set_dns_endpoint_config(dns_endpoint(attrs));
    }
    config
}

fn body(attrs: &Attrs) -> Cluster {
    let node_config = NodeConfig::new()
        .set_machine_type(str_attr(attrs, "node_machine_type"))
        .set_disk_size_gb(int(attrs, "node_disk_size_gb"))
        .set_image_type(str_attr(attrs, "node_image_type"))
        .set_tags(strings(attrs, "node_tags"));
    Cluster::new()
        .set_name(str_attr(attrs, "name"))
        .set_network(str_attr(attrs, "network"))
        .set_subnetwork(str_attr(attrs, "subnet"))
        .set_network_config(
            NetworkConfig::new().set_default_enable_private_nodes(flag(attrs, "private_nodes")),
        )
        .set_node_pools([NodePool::new()
            .set_name(NODE_POOL)
            .set_initial_node_count(int(attrs, "node_count"))
            .set_config(node_config)])
        .set_ip_allocation_policy(
            IPAllocationPolicy::new()
                .set_use_ip_aliases(true)
                .set_cluster_secondary_range_name(str_attr(attrs, "pods_range"))
                .set_services_secondary_range_name(str_attr(attrs, "services_range")),
        )
        .set_private_cluster_config(
            PrivateClusterConfig::new().set_master_ipv4_cidr_block(str_attr(attrs, "master_cidr")),
        )
        .set_workload_identity_config(
            WorkloadIdentityConfig::new().set_workload_pool(str_attr(attrs, "workload_pool")),
        )
        .set_release_channel(
            ReleaseChannel::new().set_channel(Channel::from(str_attr(attrs, "release_channel"))),
        )
        .set_control_plane_endpoints_config(endpoints(attrs, |_| true))
}

/// The managed attributes of a live cluster, in the form of the desired ones.
fn attrs_of(c: &Cluster) -> Attrs {
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
    let mut nets: Vec<Value> = authorized_config
        .iter()
        .flat_map(|m| m.cidr_blocks.iter())
        .map(|b| json!({"name": b.display_name, "cidr": b.cidr_block}))
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
    object(json!({
        "name": c.name,
        "location": c.location,
        "network": last_segment(&c.network),
        "subnet": last_segment(&c.subnetwork),
        "master_cidr": private.master_ipv4_cidr_block,
        "private_nodes": private_nodes,
        "private_endpoint": private_endpoint,
        "master_global_access": global_access,
        "authorized_networks": nets,
        "pods_range": ip.cluster_secondary_range_name,
        "services_range": ip.services_secondary_range_name,
        "workload_pool": c.workload_identity_config.as_ref().map(|w| w.workload_pool.clone()).unwrap_or_default(),
        "release_channel": c.release_channel.as_ref().and_then(|r| r.channel.name()).unwrap_or("UNSPECIFIED"),
        "dns_endpoint_external_traffic": dns_external,
        "node_machine_type": config.machine_type,
        "node_count": pool.map(|p| p.initial_node_count).unwrap_or_default(),
        "node_disk_size_gb": config.disk_size_gb,
        "node_image_type": config.image_type,
        "node_tags": config.tags,
    }))
}

fn ids_of(c: &Cluster) -> Ids {
    Ids {
        id: Some(c.id.clone()).filter(|i| !i.is_empty()),
        self_link: Some(c.self_link.clone()).filter(|s| !s.is_empty()),
    }
}

/// Reads the cluster; `None` when it does not exist.
pub(super) async fn get(
    p: &Provider,
    location: &str,
    name: &str,
) -> Result<Option<Cluster>, GcpError> {
    let got = p
        .clusters
        .get_cluster()
        .set_name(path(p, location, name))
        .send()
        .await;
    found(got, &format!("reading cluster {name} in {location}"))
}

pub(super) async fn read(
    p: &Provider,
    location: &str,
    name: &str,
) -> Result<Option<Live>, GcpError> {
    Ok(get(p, location, name).await?.map(|c| Live {
        ids: ids_of(&c),
        attrs: attrs_of(&c),
        deleting: (c.status == ClusterStatus::Stopping)
            .then(|| "GKE is deleting it (status STOPPING)".to_string()),
    }))
}

pub(super) async fn create(p: &Provider, attrs: &Attrs) -> Result<Ids, GcpError> {
    let (name, location) = (str_attr(attrs, "name"), str_attr(attrs, "location"));
    let ctx = format!("creating cluster {name} in {location}");
    let sent = p
        .clusters
        .create_cluster()
        .set_parent(format!("projects/{}/locations/{location}", p.project))
        .set_cluster(body(attrs))
        .with_idempotency(true)
        .send()
        .await;
    // "Already exists" (made by an earlier, interrupted run) goes back to the
    // caller, which joins what is still running and adopts the cluster.
    let op = sent.map_err(api(&ctx))?;
    poll(p, location, op, &ctx).await?;
    let c = get(p, location, name)
        .await?
        .ok_or_else(|| GcpError::NotReadable(format!("cluster {name}")))?;
    Ok(ids_of(&c))
}

/// One `clusters.update` per changed field, as GKE requires.
pub(super) async fn update(p: &Provider, before: &Attrs, after: &Attrs) -> Result<Ids, GcpError> {
    let (name, location) = (str_attr(after, "name"), str_attr(after, "location"));
    let changed = |k: &str| before.get(k) != after.get(k);
    let mut updates = Vec::new();
    // Today's endpoints config carries several settings in one desired field:
    // one call for all of them, with only the changed ones set.
    let endpoint_fields = [
        "authorized_networks",
        "master_global_access",
        "dns_endpoint_external_traffic",
    ];
    let endpoint_changes: Vec<&str> = endpoint_fields.into_iter().filter(|f| changed(f)).collect();
    if !endpoint_changes.is_empty() {
        updates.push((
            endpoint_changes.join(", "),
            ClusterUpdate::new()
                .set_desired_control_plane_endpoints_config(endpoints(after, |f| {
                    endpoint_changes.contains(&f)
                })),
        ));
    }
    if changed("release_channel") {
        updates.push((
            "release_channel".to_string(),
            ClusterUpdate::new().set_desired_release_channel(
                ReleaseChannel::new()
                    .set_channel(Channel::from(str_attr(after, "release_channel"))),
            ),
        ));
    }
    for (field, update) in updates {
        let ctx = format!("updating {field} of cluster {name} in {location}");
        let op = p
            .clusters
            .update_cluster()
            .set_name(path(p, location, name))
            .set_update(update)
            .with_idempotency(true)
            .send()
            .await
            .map_err(api(&ctx))?;
        poll(p, location, op, &ctx).await?;
    }
    Ok(Ids::default())
}

pub(super) async fn delete(p: &Provider, location: &str, name: &str) -> Result<(), GcpError> {
    let ctx = format!("deleting cluster {name} in {location}");
    let op = p
        .clusters
        .delete_cluster()
        .set_name(path(p, location, name))
        .with_idempotency(true)
        .send()
        .await
        .map_err(api(&ctx))?;
    poll(p, location, op, &ctx).await
}

/// Waits for every GKE operation still running on cluster `name` (found
/// with `operations.list` of its location); returns how many there were.
pub(super) async fn join(p: &Provider, location: &str, name: &str) -> Result<usize, GcpError> {
    let parent = format!("projects/{}/locations/{location}", p.project);
    let list = p
        .clusters
        .list_operations()
        .set_parent(&parent)
        .send()
        .await
        .map_err(api(format!("listing the operations in {location}")))?;
    let suffix = format!("/clusters/{name}");
    let running: Vec<Operation> = list
        .operations
        .into_iter()
        .filter(|op| op.status != OpStatus::Done && op.target_link.ends_with(&suffix))
        .collect();
    for op in &running {
        let verb = super::join::verb_of(op.operation_type.name().unwrap_or_default());
        let short = last_segment(&op.name);
        progress::note(format!("waiting for an earlier {verb} ({short}) to finish"));
        let ctx = format!("waiting for the earlier {verb} of cluster {name}");
        if let Err(e) = poll(p, location, op.clone(), &ctx).await {
            if matches!(e, GcpError::Interrupted { .. }) {
                return Err(e);
            }
            progress::note(format!("the earlier {verb} ({short}) failed: {e}"));
        }
    }
    Ok(running.len())
}

/// The next pause between polls: a twentieth of the time waited so far,
/// between 50 ms and 10 s, so a six-minute create is seen done within a few
/// seconds without hammering the API.
pub fn poll_interval(waited: Duration) -> Duration {
    (waited / 20).clamp(Duration::from_millis(50), Duration::from_secs(10))
}

/// Polls a GKE operation until DONE; its error becomes [`GcpError::Operation`].
async fn poll(p: &Provider, location: &str, mut op: Operation, ctx: &str) -> Result<(), GcpError> {
    let start = Instant::now();
    let name = format!(
        "projects/{}/locations/{location}/operations/{}",
        p.project,
        last_segment(&op.name)
    );
    let short = last_segment(&name);
    progress::waiting_for(Some(&short));
    while op.status != OpStatus::Done {
        tokio::select! {
            _ = tokio::time::sleep(poll_interval(start.elapsed())) => {}
            _ = progress::interrupted() => {
                return Err(GcpError::Interrupted { context: ctx.to_string(), operation: short });
            }
        }
        op = p
            .clusters
            .get_operation()
            .set_name(&name)
            .send()
            .await
            .map_err(api(format!("{ctx}: polling {short}")))?;
    }
    progress::waiting_for(None);
    match op
        .error
        .as_ref()
        .filter(|e| e.code != 0 || !e.message.is_empty())
    {
        None => Ok(()),
        Some(e) => Err(GcpError::Operation {
            context: ctx.to_string(),
            operation: last_segment(&op.name),
            message: format!("{}: {}", e.code, e.message),
            // google.rpc codes 8 (RESOURCE_EXHAUSTED), 13 (INTERNAL) and 14 (UNAVAILABLE) are worth retrying.
            http_status: match e.code {
                8 => Some(429),
                13 => Some(500),
                14 => Some(503),
                _ => None,
            },
        }),
    }
}

/// How to reach a cluster's Kubernetes API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterEndpoint {
    /// `https://HOST[:PORT]`.
    pub server: String,
    /// The cluster CA certificate, PEM.
    pub ca_pem: String,
}

impl Provider {
    /// Where the Kubernetes API of cluster `name` answers for an access mode
    /// (`dns`, `public` or `proxy`), and its CA, from the GKE API.
    ///
    /// # Errors
    /// The cluster does not exist, has no such endpoint, or cannot be read.
    pub async fn cluster_endpoint(
        &self,
        location: &str,
        name: &str,
        access: &str,
    ) -> Result<ClusterEndpoint, GcpError> {
        let c = get(self, location, name)
            .await?
            .ok_or_else(|| GcpError::NotReadable(format!("cluster {name} in {location}")))?;
        let private = c.private_cluster_config.clone().unwrap_or_default();
        let endpoints = c.control_plane_endpoints_config.clone().unwrap_or_default();
        let ip = endpoints.ip_endpoints_config.clone().unwrap_or_default();
        let dns = endpoints
            .dns_endpoint_config
            .as_ref()
            .map(|d| d.endpoint.clone())
            .unwrap_or_default();
        // Today's fields first, then the deprecated ones, then `endpoint`.
        let first = |candidates: [&String; 3]| {
            candidates
                .into_iter()
                .find(|e| !e.is_empty())
                .cloned()
                .unwrap_or_default()
        };
        let host = match access {
            "dns" => dns,
            "proxy" => first([&ip.private_endpoint, &private.private_endpoint, &c.endpoint]),
            _ => first([&ip.public_endpoint, &private.public_endpoint, &c.endpoint]),
        };
        if host.is_empty() {
            return Err(GcpError::NotReadable(format!(
                "the {access} endpoint of cluster {name} (GKE returned none)"
            )));
        }
        let ca = c
            .master_auth
            .as_ref()
            .map(|m| m.cluster_ca_certificate.clone())
            .unwrap_or_default();
        use base64::Engine;
        let ca_pem = base64::engine::general_purpose::STANDARD
            .decode(ca.trim())
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .ok_or_else(|| {
                GcpError::NotReadable(format!("the CA certificate of cluster {name}"))
            })?;
        Ok(ClusterEndpoint {
            server: format!("https://{host}"),
            ca_pem,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn polling_backs_off_with_the_time_waited() {
        assert_eq!(poll_interval(Duration::ZERO), Duration::from_millis(50));
        assert_eq!(
            poll_interval(Duration::from_secs(20)),
            Duration::from_secs(1)
        );
        assert_eq!(
            poll_interval(Duration::from_secs(3600)),
            Duration::from_secs(10)
        );
    }
}

//! `projects.locations.clusters` create / get / list / update / delete,
//! plus the cluster record GKE returns and the link to each cluster's
//! emulated Kubernetes API.
//!
//! A cluster exists from the create request on: PROVISIONING until its
//! operation is DONE, then RUNNING; RECONCILING while an update runs;
//! STOPPING while it is deleted; gone afterwards (see `controllers/cluster_operations.rs`).

use std::sync::Arc;

use base64::Engine;
use serde_json::{json, Map, Value};

use super::errors::{already_exists, busy, invalid, not_found};
use super::operations;
use super::validate::{self, Aliases, Network, Placement};
use super::{cluster_path, link, update, Answer};
use crate::emulator::controllers::set_status;
use crate::emulator::errors::ApiError;
use crate::emulator::geography;
use crate::emulator::kubeapi::KubeEndpoint;
use crate::emulator::shared::Shared;
use crate::emulator::world::{in_collection, timestamp, ClusterStep, World};

/// Kubernetes versions by release channel (the emulator's fixed "current" ones).
const VERSIONS: &[(&str, &str)] = &[
    ("RAPID", "1.34.1-gke.1431000"),
    ("REGULAR", "1.33.5-gke.1162000"),
    ("STABLE", "1.33.4-gke.1245000"),
    ("EXTENDED", "1.32.9-gke.1108000"),
];

fn cluster_key(project: &str, location: &str, name: &str) -> String {
    format!("projects/{project}/locations/{location}/clusters/{name}")
}

/// `clusters.create`: checks the request against the world, records the
/// cluster (PROVISIONING) and its CREATE_CLUSTER operation, then starts the
/// cluster's Kubernetes API.
///
/// # Errors
/// 400 for a broken rule (see `validate.rs`), 409 for a taken name.
pub async fn create(
    shared: &Arc<Shared>,
    project: &str,
    location: &str,
    body: Option<Value>,
) -> Result<Answer, ApiError> {
    let Some(Value::Object(mut cluster)) =
        body.and_then(|mut b| b.get_mut("cluster").map(Value::take))
    else {
        return Err(invalid("Cluster is required."));
    };
    super::endpoint_forms::normalize_create(&mut cluster)?;
    let placement = validate::location(location)?;
    let name = cluster
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    validate::name(&name)?;
    let key = cluster_key(project, location, &name);
    let answer = {
        let (mut world, now) = shared.world_now()?;
        if world.resources.contains_key(&key) {
            return Err(already_exists(&key));
        }
        let net = validate::network(&world, project, &placement.region, &cluster)?;
        let aliases = validate::ip_aliases(&world, project, &net, &cluster, &key)?;
        validate::private_cluster(&world, project, &net, &cluster, aliases.as_ref())?;
        if let Some(config) = cluster.get("masterAuthorizedNetworksConfig") {
            validate::authorized_networks(config, "cluster.master_authorized_networks_config")?;
        }
        let record = build(
            &mut world,
            &key,
            location,
            &placement,
            cluster,
            &net,
            aliases.as_ref(),
            now,
        )?;
        world.resources.insert(key.clone(), record);
        if let Some(a) = aliases.as_ref().filter(|a| !a.managed.is_empty()) {
            super::managed_ranges::add_to_subnet(&mut world, &net.subnet, &a.managed);
        }
        let op = operations::start(
            &mut world,
            project,
            location,
            "CREATE_CLUSTER",
            &key,
            ClusterStep::Create,
            shared.scale,
            &shared.faults,
            now,
        );
        world.commit()?;
        operations::render(&op, now)
    };
    // GKE brings up the control plane whether or not the caller is still
    // there: a client that hangs up must not leave a cluster without one.
    let attaching = tokio::spawn({
        let (shared, key) = (shared.clone(), key.clone());
        async move { attach(&shared, &key).await }
    });
    let _ = attaching.await;
    Ok(("Operation", answer))
}

/// The cluster as GKE returns it right after the create request.
#[allow(clippy::too_many_arguments)]
fn build(
    world: &mut World,
    key: &str,
    location: &str,
    placement: &Placement,
    mut c: Map<String, Value>,
    net: &Network,
    aliases: Option<&Aliases>,
    now: u64,
) -> Result<Value, ApiError> {
    let region = &placement.region;
    let zones: Vec<String> = match c.get("locations").and_then(Value::as_array) {
        Some(given) if !given.is_empty() => {
            let zones: Vec<String> = given
                .iter()
                .map(|z| z.as_str().unwrap_or_default().to_string())
                .collect();
            if let Some(bad) = zones
                .iter()
                .find(|z| geography::region_of_zone(z) != Some(region.as_str()))
            {
                return Err(invalid(format!(
                    "Location \"{bad}\" is not a zone of region \"{region}\"."
                )));
            }
            zones
        }
        _ if placement.zonal => vec![location.to_string()],
        _ => ["a", "b", "c", "d", "f"]
            .iter()
            .map(|s| format!("{region}-{s}"))
            .filter(|z| geography::region_of_zone(z).is_some())
            .take(3)
            .collect(),
    };
    let channel = c
        .get("releaseChannel")
        .and_then(|r| r["channel"].as_str())
        .filter(|ch| *ch != "UNSPECIFIED")
        .unwrap_or("REGULAR")
        .to_string();
    let version = VERSIONS
        .iter()
        .find(|(ch, _)| *ch == channel)
        .map_or(VERSIONS[1].1, |(_, v)| *v);
    let self_path = cluster_path(key);
    let pools = node_pools(&mut c, &self_path, &zones, version)?;
    let node_count: i64 = pools
        .iter()
        .map(|p| p["initialNodeCount"].as_i64().unwrap_or(0))
        .sum::<i64>()
        * zones.len() as i64;

    let id = hex_id(world.new_id());
    let set = |c: &mut Map<String, Value>, k: &str, v: Value| {
        c.insert(k.to_string(), v);
    };
    set(&mut c, "id", json!(id));
    set(&mut c, "selfLink", json!(link(&self_path)));
    set(&mut c, "location", json!(location));
    set(&mut c, "zone", json!(location));
    set(&mut c, "locations", json!(zones));
    set(
        &mut c,
        "network",
        json!(crate::emulator::refs::name_of(&net.network)),
    );
    set(
        &mut c,
        "subnetwork",
        json!(crate::emulator::refs::name_of(&net.subnet)),
    );
    let mut network_config = c.remove("networkConfig").unwrap_or_else(|| json!({}));
    network_config["network"] = json!(net.network);
    network_config["subnetwork"] = json!(net.subnet);
    set(&mut c, "networkConfig", network_config);
    if let Some(a) = aliases {
        let policy = c.entry("ipAllocationPolicy").or_insert_with(|| json!({}));
        policy["clusterSecondaryRangeName"] = json!(a.pods.0);
        policy["servicesSecondaryRangeName"] = json!(a.services.0);
        policy["clusterIpv4Cidr"] = json!(a.pods.1);
        policy["clusterIpv4CidrBlock"] = json!(a.pods.1);
        policy["servicesIpv4Cidr"] = json!(a.services.1);
        policy["servicesIpv4CidrBlock"] = json!(a.services.1);
        policy["stackType"] = json!("IPV4");
        set(&mut c, "clusterIpv4Cidr", json!(a.pods.1));
        set(&mut c, "servicesIpv4Cidr", json!(a.services.1));
    }
    let private = c
        .get("privateClusterConfig")
        .cloned()
        .unwrap_or_else(|| json!({}));
    let global = private["masterGlobalAccessConfig"]["enabled"] == true;
    let public = private["enablePrivateEndpoint"] != true;
    let mut endpoints = json!({
        "dnsEndpointConfig": {"allowExternalTraffic": false},
        "ipEndpointsConfig": {"enabled": true, "enablePublicEndpoint": public, "globalAccess": global},
    });
    if let Some(man) = c.get("masterAuthorizedNetworksConfig") {
        endpoints["ipEndpointsConfig"]["authorizedNetworksConfig"] = man.clone();
    }
    if let Some(given) = c.remove("controlPlaneEndpointsConfig") {
        crate::emulator::world::merge(&mut endpoints, given);
    }
    set(&mut c, "controlPlaneEndpointsConfig", endpoints);
    super::endpoint_forms::mirror_into_deprecated(&mut c);
    c.entry("releaseChannel").or_insert_with(|| json!({}))["channel"] = json!(channel);
    set(&mut c, "initialClusterVersion", json!(version));
    set(&mut c, "currentMasterVersion", json!(version));
    set(&mut c, "currentNodeVersion", json!(version));
    set(&mut c, "currentNodeCount", json!(node_count));
    set(&mut c, "nodePools", Value::Array(pools));
    set(&mut c, "createTime", json!(timestamp(now)));
    c.entry("loggingService")
        .or_insert(json!("logging.googleapis.com/kubernetes"));
    c.entry("monitoringService")
        .or_insert(json!("monitoring.googleapis.com/kubernetes"));
    c.entry("masterAuth").or_insert_with(|| json!({}));
    let mut cluster = Value::Object(c);
    set_status(&mut cluster, "PROVISIONING");
    Ok(cluster)
}

/// The node pools: those given, or `default-pool` from the top-level
/// `initialNodeCount`/`nodeConfig`, with the fields GKE fills in.
fn node_pools(
    c: &mut Map<String, Value>,
    cluster_path: &str,
    zones: &[String],
    version: &str,
) -> Result<Vec<Value>, ApiError> {
    let given = c.get("nodePools").and_then(Value::as_array).cloned();
    let initial = c.get("initialNodeCount").and_then(Value::as_i64);
    let mut pools = match (given, initial) {
        (Some(p), Some(_)) if !p.is_empty() => {
            return Err(invalid(
                "Cluster.initial_node_count and Cluster.node_pools cannot both be set.",
            ))
        }
        (Some(p), _) if !p.is_empty() => p,
        (_, initial) => vec![json!({
            "name": "default-pool",
            "initialNodeCount": initial.unwrap_or(3),
            "config": c.get("nodeConfig").cloned().unwrap_or_else(|| json!({})),
        })],
    };
    for pool in &mut pools {
        let name = pool["name"].as_str().unwrap_or("default-pool").to_string();
        pool["name"] = json!(name);
        if pool["initialNodeCount"].as_i64().is_none_or(|n| n < 0) {
            pool["initialNodeCount"] = json!(3);
        }
        let config = &mut pool["config"];
        if !config.is_object() {
            *config = json!({});
        }
        if let Some(m) = config.as_object_mut() {
            m.entry("machineType").or_insert(json!("e2-medium"));
            m.entry("diskSizeGb").or_insert(json!(100));
            m.entry("diskType").or_insert(json!("pd-balanced"));
            m.entry("imageType").or_insert(json!("COS_CONTAINERD"));
        }
        pool["locations"] = json!(zones);
        pool["version"] = json!(version);
        pool["selfLink"] = json!(link(&format!("{cluster_path}/nodePools/{name}")));
        pool["podIpv4CidrSize"] = json!(24);
        if pool["management"].is_null() {
            pool["management"] = json!({"autoUpgrade": true, "autoRepair": true});
        }
    }
    Ok(pools)
}

/// A 64-hex-digit cluster id derived from a world id.
fn hex_id(seed: u64) -> String {
    (0..4u64)
        .map(|i| {
            let mut x = seed.wrapping_add(i).wrapping_mul(0x9E37_79B9_7F4A_7C15);
            x ^= x >> 31;
            x = x.wrapping_mul(0xBF58_476D_1CE4_E5B9);
            x ^= x >> 27;
            format!("{x:016x}")
        })
        .collect()
}

/// Starts the Kubernetes API of cluster `key` and records its address and
/// CA in the cluster. When it cannot start, the cluster keeps the endpoint
/// it had (if any) and the failure is logged.
pub async fn attach(shared: &Shared, key: &str) {
    // The API server allocates Service addresses from the cluster's services range.
    let services = shared.world_now().ok().and_then(|(world, _)| {
        world.resources.get(key)?["ipAllocationPolicy"]["servicesIpv4CidrBlock"]
            .as_str()
            .map(str::to_string)
    });
    match shared.kube.start_in(key, services.as_deref()).await {
        Ok(endpoint) => {
            let Ok((mut world, _)) = shared.world_now() else {
                return;
            };
            if let Some(cluster) = world.resources.get_mut(key) {
                set_endpoint(cluster, &endpoint);
                let _ = world.commit();
            }
        }
        Err(e) => {
            tracing::warn!(cluster = key, error = %e, "the cluster's Kubernetes API did not start; keeping the cluster");
        }
    }
}

/// Calls [`attach`] for every cluster in the world (emulator start).
pub async fn attach_all(shared: &Shared) {
    let keys: Vec<String> = match shared.world_now() {
        Ok((world, _)) => world
            .resources
            .keys()
            .filter(|k| k.split('/').nth(4) == Some("clusters"))
            .cloned()
            .collect(),
        Err(_) => return,
    };
    for key in keys {
        attach(shared, &key).await;
    }
}

/// Writes the API server's address and CA into the endpoint fields.
pub fn set_endpoint(cluster: &mut Value, endpoint: &KubeEndpoint) {
    let address = json!(endpoint.address);
    cluster["endpoint"] = address.clone();
    if !cluster["privateClusterConfig"].is_object() {
        cluster["privateClusterConfig"] = json!({});
    }
    cluster["privateClusterConfig"]["privateEndpoint"] = address.clone();
    cluster["privateClusterConfig"]["publicEndpoint"] = address.clone();
    let endpoints = &mut cluster["controlPlaneEndpointsConfig"];
    endpoints["dnsEndpointConfig"]["endpoint"] = address.clone();
    endpoints["ipEndpointsConfig"]["privateEndpoint"] = address.clone();
    endpoints["ipEndpointsConfig"]["publicEndpoint"] = address;
    cluster["masterAuth"]["clusterCaCertificate"] =
        json!(base64::engine::general_purpose::STANDARD.encode(&endpoint.ca_pem));
}

/// `clusters.get`.
///
/// # Errors
/// 404 when there is no such cluster.
pub fn get(shared: &Shared, project: &str, location: &str, name: &str) -> Result<Answer, ApiError> {
    let (world, _) = shared.world_now()?;
    let key = cluster_key(project, location, name);
    let cluster = world.resources.get(&key).ok_or_else(|| not_found(&key))?;
    Ok(("Cluster", cluster.clone()))
}

/// `clusters.list`; location `-` lists every location.
///
/// # Errors
/// 400 for an unknown location.
pub fn list(shared: &Shared, project: &str, location: &str) -> Result<Answer, ApiError> {
    if location != "-" {
        validate::location(location)?;
    }
    let (world, _) = shared.world_now()?;
    let clusters: Vec<Value> = world
        .resources
        .iter()
        .filter(|(k, _)| in_collection(k, project, "clusters"))
        .filter(|(k, _)| location == "-" || k.split('/').nth(3) == Some(location))
        .map(|(_, v)| v.clone())
        .collect();
    let mut out = json!({});
    if !clusters.is_empty() {
        out["clusters"] = Value::Array(clusters);
    }
    Ok(("ListClustersResponse", out))
}

/// The 400 for a cluster another operation is still working on, if any.
fn check_idle(world: &World, key: &str) -> Result<(), ApiError> {
    match world.pending_on(key) {
        Some(op) => {
            let doing = match op.operation_type.as_str() {
                "CREATE_CLUSTER" => "creating",
                "DELETE_CLUSTER" => "deleting",
                _ => "updating",
            };
            Err(busy(&op.name, doing, crate::emulator::refs::name_of(key)))
        }
        None => Ok(()),
    }
}

/// `clusters.update` with exactly one `desired*` field.
///
/// # Errors
/// 404 for a missing cluster, 400 while another operation runs, when the
/// cluster is not RUNNING, or for a bad update (see `update.rs`).
pub fn update(
    shared: &Shared,
    project: &str,
    location: &str,
    name: &str,
    body: Option<Value>,
) -> Result<Answer, ApiError> {
    let Some(Value::Object(change)) = body.and_then(|mut b| b.get_mut("update").map(Value::take))
    else {
        return Err(invalid("Must specify a field to update."));
    };
    let (mut world, now) = shared.world_now()?;
    let key = cluster_key(project, location, name);
    let mut cluster = world
        .resources
        .get(&key)
        .cloned()
        .ok_or_else(|| not_found(&key))?;
    check_idle(&world, &key)?;
    if cluster["status"] != "RUNNING" {
        return Err(invalid(format!(
            "Cluster \"{name}\" is not RUNNING (it is {}); it cannot be updated.",
            cluster["status"].as_str().unwrap_or("unknown")
        )));
    }
    let patch = update::change(&cluster, &change)?;
    set_status(&mut cluster, "RECONCILING");
    world.resources.insert(key.clone(), cluster);
    let op = operations::start(
        &mut world,
        project,
        location,
        "UPDATE_CLUSTER",
        &key,
        ClusterStep::Update {
            patch: Value::Object(patch),
        },
        shared.scale,
        &shared.faults,
        now,
    );
    world.commit()?;
    Ok(("Operation", operations::render(&op, now)))
}

/// `clusters.delete`: STOPPING now, gone (with its firewall rules) when
/// the operation is DONE.
///
/// # Errors
/// 404 for a missing cluster, 400 while another operation runs.
pub fn delete(
    shared: &Shared,
    project: &str,
    location: &str,
    name: &str,
) -> Result<Answer, ApiError> {
    let (mut world, now) = shared.world_now()?;
    let key = cluster_key(project, location, name);
    let mut cluster = world
        .resources
        .get(&key)
        .cloned()
        .ok_or_else(|| not_found(&key))?;
    check_idle(&world, &key)?;
    set_status(&mut cluster, "STOPPING");
    world.resources.insert(key.clone(), cluster);
    let op = operations::start(
        &mut world,
        project,
        location,
        "DELETE_CLUSTER",
        &key,
        ClusterStep::Delete,
        shared.scale,
        &shared.faults,
        now,
    );
    world.commit()?;
    Ok(("Operation", operations::render(&op, now)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_fields_carry_the_address_and_the_ca() {
        let mut cluster = json!({"controlPlaneEndpointsConfig": {}, "masterAuth": {}});
        set_endpoint(
            &mut cluster,
            &KubeEndpoint {
                address: "127.0.0.1:6443".into(),
                ca_pem: "PEM".into(),
            },
        );
        assert_eq!(cluster["endpoint"], "127.0.0.1:6443");
        assert_eq!(
            cluster["privateClusterConfig"]["privateEndpoint"],
            "127.0.0.1:6443"
        );
        assert_eq!(
            cluster["controlPlaneEndpointsConfig"]["dnsEndpointConfig"]["endpoint"],
            "127.0.0.1:6443"
        );
        assert_eq!(cluster["masterAuth"]["clusterCaCertificate"], "UEVN");
        assert_eq!(hex_id(1).len(), 64);
    }
}

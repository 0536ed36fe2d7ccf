//! The emulated GKE API as the official `google-cloud-container-v1` client
//! (and raw HTTP) sees it, on a network and subnet made with the compute client.

// `Cluster.zone` and `Cluster.current_node_count` are deprecated in the
// client, but GKE still returns them and meshform's users read them.
#![allow(deprecated)]

#[macro_use]
mod common;

use common::listen;
use std::path::Path;
use std::time::Duration;

use google_cloud_compute_v1::client::{
    Firewalls, GlobalOperations, Networks, RegionOperations, Subnetworks,
};
use google_cloud_compute_v1::model as compute;
use google_cloud_container_v1::client::ClusterManager;
use google_cloud_container_v1::model::{self, cluster, operation, release_channel};
use google_cloud_gax::error::rpc::Code;
use meshform::emulator::{base_duration, Emulator, EmulatorConfig, FaultConfig};
use serde_json::{json, Value};

const PROJECT: &str = "demo-project";
const NET: &str = "mesh-vpc";
const SUBNET: &str = "eu-subnet";

async fn start(dir: &Path, faults: FaultConfig) -> Emulator {
    let mut config = EmulatorConfig::new(dir);
    config.latency_scale = 0.001; // cluster create 360 ms, delete 240 ms, update 60 ms
    config.faults = faults;
    Emulator::start(config, listen())
        .await
        .expect("emulator starts")
}

struct Clients {
    gke: ClusterManager,
    networks: Networks,
    subnets: Subnetworks,
    firewalls: Firewalls,
    global_ops: GlobalOperations,
    region_ops: RegionOperations,
}

async fn clients(url: &str) -> Clients {
    Clients {
        gke: official_client!(ClusterManager, url),
        networks: official_client!(Networks, url),
        subnets: official_client!(Subnetworks, url),
        firewalls: official_client!(Firewalls, url),
        global_ops: official_client!(GlobalOperations, url),
        region_ops: official_client!(RegionOperations, url),
    }
}

fn code(err: &google_cloud_gax::error::Error) -> Option<Code> {
    err.status().map(|s| s.code)
}

/// Network `mesh-vpc` and subnet `eu-subnet` (europe-west2, 172.20.0.0/20)
/// with secondary ranges `pods`, `pods2` and `services`.
async fn network_and_subnet(c: &Clients) {
    let op = c
        .networks
        .insert()
        .set_project(PROJECT)
        .set_body(
            compute::Network::new()
                .set_name(NET)
                .set_auto_create_subnetworks(false),
        )
        .send()
        .await
        .expect("network insert");
    c.global_ops
        .wait()
        .set_project(PROJECT)
        .set_operation(op.name.expect("name"))
        .send()
        .await
        .expect("wait");
    let range = |n: &str, cidr: &str| {
        compute::SubnetworkSecondaryRange::new()
            .set_range_name(n)
            .set_ip_cidr_range(cidr)
    };
    let op = c
        .subnets
        .insert()
        .set_project(PROJECT)
        .set_region("europe-west2")
        .set_body(
            compute::Subnetwork::new()
                .set_name(SUBNET)
                .set_network(format!("projects/{PROJECT}/global/networks/{NET}"))
                .set_ip_cidr_range("172.20.0.0/20")
                .set_secondary_ip_ranges([
                    range("pods", "10.16.32.0/20"),
                    range("pods2", "10.16.48.0/20"),
                    range("services", "172.16.5.0/24"),
                ]),
        )
        .send()
        .await
        .expect("subnet insert");
    c.region_ops
        .wait()
        .set_project(PROJECT)
        .set_region("europe-west2")
        .set_operation(op.name.expect("name"))
        .send()
        .await
        .expect("wait");
}

/// A private, VPC-native cluster as meshform asks for it.
fn private_cluster(name: &str, pods: &str, master: &str) -> model::Cluster {
    model::Cluster::new()
        .set_name(name)
        .set_network(NET)
        .set_subnetwork(SUBNET)
        .set_initial_node_count(3)
        .set_ip_allocation_policy(
            model::IPAllocationPolicy::new()
                .set_use_ip_aliases(true)
                .set_cluster_secondary_range_name(pods)
                .set_services_secondary_range_name("services"),
        )
        .set_private_cluster_config(
            model::PrivateClusterConfig::new()
                .set_enable_private_nodes(true)
                .set_enable_private_endpoint(true)
                .set_master_ipv4_cidr_block(master),
        )
        .set_master_authorized_networks_config(
            model::MasterAuthorizedNetworksConfig::new()
                .set_enabled(true)
                .set_cidr_blocks([model::master_authorized_networks_config::CidrBlock::new()
                    .set_display_name("eu")
                    .set_cidr_block("172.20.0.0/20")]),
        )
        .set_release_channel(
            model::ReleaseChannel::new().set_channel(release_channel::Channel::Rapid),
        )
        .set_workload_identity_config(
            model::WorkloadIdentityConfig::new()
                .set_workload_pool(format!("{PROJECT}.svc.id.goog")),
        )
}

async fn create(
    c: &Clients,
    location: &str,
    cluster: model::Cluster,
) -> Result<model::Operation, google_cloud_gax::error::Error> {
    c.gke
        .create_cluster()
        .set_parent(format!("projects/{PROJECT}/locations/{location}"))
        .set_cluster(cluster)
        .send()
        .await
}

/// Polls `operations.get` until DONE (GKE has no wait).
async fn poll(c: &Clients, location: &str, op: &model::Operation) -> model::Operation {
    let name = format!(
        "projects/{PROJECT}/locations/{location}/operations/{}",
        op.name
    );
    for _ in 0..500 {
        let now = c
            .gke
            .get_operation()
            .set_name(&name)
            .send()
            .await
            .expect("operations.get");
        if now.status == operation::Status::Done {
            return now;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("operation {name} did not finish");
}

fn cluster_name(location: &str, name: &str) -> String {
    format!("projects/{PROJECT}/locations/{location}/clusters/{name}")
}

async fn get(
    c: &Clients,
    location: &str,
    name: &str,
) -> Result<model::Cluster, google_cloud_gax::error::Error> {
    c.gke
        .get_cluster()
        .set_name(cluster_name(location, name))
        .send()
        .await
}

async fn gke_firewalls(c: &Clients) -> Vec<compute::Firewall> {
    let list = c
        .firewalls
        .list()
        .set_project(PROJECT)
        .send()
        .await
        .expect("firewalls.list");
    list.items
        .into_iter()
        .filter(|f| f.name.as_deref().is_some_and(|n| n.starts_with("gke-")))
        .collect()
}

/// Runs `body` on a runtime whose worker threads have 16 MiB stacks: in
/// debug builds the container client's request futures (a whole `Cluster`
/// model, several times over) overflow the test thread's 2 MiB.
fn run(body: impl std::future::Future<Output = ()> + Send + 'static) {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_stack_size(16 << 20)
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(async { tokio::spawn(body).await.expect("test body") });
}

#[test]
fn clusters_lifecycle_with_the_official_client() {
    run(clusters_lifecycle());
}

async fn clusters_lifecycle() {
    assert_eq!(
        base_duration("clusters", "create"),
        Duration::from_secs(360)
    );
    assert_eq!(
        base_duration("clusters", "delete"),
        Duration::from_secs(240)
    );
    assert_eq!(base_duration("clusters", "update"), Duration::from_secs(60));
    let dir = tempfile::tempdir().expect("tempdir");
    let emu = start(dir.path(), FaultConfig::default()).await;
    let c = clients(&emu.url()).await;
    network_and_subnet(&c).await;

    // A zonal cluster: PROVISIONING while its operation runs, then RUNNING.
    let op = create(
        &c,
        "europe-west2-a",
        private_cluster("istio-cluster1", "pods", "172.16.0.32/28"),
    )
    .await
    .expect("create zonal");
    assert_eq!(op.operation_type, operation::Type::CreateCluster);
    assert_ne!(op.status, operation::Status::Done);
    let provisioning = get(&c, "europe-west2-a", "istio-cluster1")
        .await
        .expect("get");
    assert_eq!(provisioning.status, cluster::Status::Provisioning);
    let done = poll(&c, "europe-west2-a", &op).await;
    assert!(done.error.is_none(), "{done:?}");
    assert!(done
        .target_link
        .ends_with("/zones/europe-west2-a/clusters/istio-cluster1"));
    assert!(!done.end_time.is_empty() && !done.start_time.is_empty());

    let c1 = get(&c, "europe-west2-a", "istio-cluster1")
        .await
        .expect("get");
    assert_eq!(c1.status, cluster::Status::Running);
    assert!(
        c1.self_link
            .ends_with("/zones/europe-west2-a/clusters/istio-cluster1"),
        "{}",
        c1.self_link
    );
    assert_eq!(c1.location, "europe-west2-a");
    assert_eq!(c1.zone, "europe-west2-a");
    assert_eq!((c1.network.as_str(), c1.subnetwork.as_str()), (NET, SUBNET));
    let policy = c1
        .ip_allocation_policy
        .clone()
        .expect("ip allocation policy");
    assert_eq!(policy.cluster_ipv4_cidr_block, "10.16.32.0/20");
    assert_eq!(policy.services_ipv4_cidr_block, "172.16.5.0/24");
    assert!(!c1.current_master_version.is_empty());
    assert_eq!(c1.current_node_count, 3);
    assert_eq!(c1.node_pools.len(), 1);
    assert_eq!(c1.node_pools[0].status, model::node_pool::Status::Running);
    assert!(!c1.create_time.is_empty());
    assert_eq!(
        c1.release_channel.as_ref().map(|r| r.channel.clone()),
        Some(release_channel::Channel::Rapid)
    );
    assert_eq!(
        c1.workload_identity_config
            .as_ref()
            .map(|w| w.workload_pool.as_str()),
        Some("demo-project.svc.id.goog")
    );
    let man = c1
        .master_authorized_networks_config
        .clone()
        .expect("authorized networks");
    assert_eq!(man.cidr_blocks[0].cidr_block, "172.20.0.0/20");

    // GKE's own firewall rules on the network.
    let rules = gke_firewalls(&c).await;
    assert_eq!(rules.len(), 3, "{rules:?}");
    let master = rules
        .iter()
        .find(|r| {
            r.name
                .as_deref()
                .is_some_and(|n| n.starts_with("gke-istio-cluster1-") && n.ends_with("-master"))
        })
        .expect("master rule");
    assert_eq!(master.source_ranges, ["172.16.0.32/28"]);
    assert_eq!(master.allowed[0].ports, ["443", "10250"]);
    assert!(master.target_tags[0].ends_with("-node"));

    // A regional cluster in the same subnet: three zones.
    let mut regional = private_cluster("istio-cluster2", "pods2", "172.16.0.64/28");
    regional.initial_node_count = 1;
    let op = create(&c, "europe-west2", regional)
        .await
        .expect("create regional");
    assert!(poll(&c, "europe-west2", &op).await.error.is_none());
    let c2 = get(&c, "europe-west2", "istio-cluster2")
        .await
        .expect("get");
    assert_eq!(c2.status, cluster::Status::Running);
    assert!(c2
        .self_link
        .ends_with("/locations/europe-west2/clusters/istio-cluster2"));
    assert_eq!(c2.locations.len(), 3);
    assert_eq!(c2.current_node_count, 3);

    // list: `-` is every location.
    let all = c
        .gke
        .list_clusters()
        .set_parent(format!("projects/{PROJECT}/locations/-"))
        .send()
        .await
        .expect("list");
    assert_eq!(all.clusters.len(), 2);
    let zonal = c
        .gke
        .list_clusters()
        .set_parent(format!("projects/{PROJECT}/locations/europe-west2-a"))
        .send()
        .await
        .expect("list");
    assert_eq!(zonal.clusters.len(), 1);

    // Enums are numbers when the client asks for them, names otherwise.
    let url = format!(
        "{}/v1/projects/{PROJECT}/locations/europe-west2-a/clusters/istio-cluster1",
        emu.url()
    );
    let http = reqwest::Client::new();
    let ints: Value = http
        .get(format!("{url}?%24alt=json%3Benum-encoding%3Dint"))
        .send()
        .await
        .expect("raw get")
        .json()
        .await
        .expect("json");
    assert_eq!(ints["status"], 2);
    assert_eq!(ints["releaseChannel"]["channel"], 1);
    assert_eq!(ints["nodePools"][0]["status"], 2);
    let names: Value = http
        .get(&url)
        .send()
        .await
        .expect("raw get")
        .json()
        .await
        .expect("json");
    assert_eq!(names["status"], "RUNNING");

    // update: exactly one desired field.
    let op = c
        .gke
        .update_cluster()
        .set_name(cluster_name("europe-west2-a", "istio-cluster1"))
        .set_update(
            model::ClusterUpdate::new().set_desired_master_authorized_networks_config(
                model::MasterAuthorizedNetworksConfig::new()
                    .set_enabled(true)
                    .set_cidr_blocks([
                        model::master_authorized_networks_config::CidrBlock::new()
                            .set_cidr_block("172.20.0.0/20"),
                        model::master_authorized_networks_config::CidrBlock::new()
                            .set_cidr_block("10.16.48.0/20"),
                    ]),
            ),
        )
        .send()
        .await
        .expect("update authorized networks");
    assert_eq!(op.operation_type, operation::Type::UpdateCluster);
    assert_eq!(
        get(&c, "europe-west2-a", "istio-cluster1")
            .await
            .expect("get")
            .status,
        cluster::Status::Reconciling
    );
    assert!(poll(&c, "europe-west2-a", &op).await.error.is_none());
    let c1 = get(&c, "europe-west2-a", "istio-cluster1")
        .await
        .expect("get");
    assert_eq!(c1.status, cluster::Status::Running);
    assert_eq!(
        c1.master_authorized_networks_config
            .expect("man")
            .cidr_blocks
            .len(),
        2
    );

    let op = c
        .gke
        .update_cluster()
        .set_name(cluster_name("europe-west2-a", "istio-cluster1"))
        .set_update(
            model::ClusterUpdate::new().set_desired_private_cluster_config(
                model::PrivateClusterConfig::new().set_master_global_access_config(
                    model::PrivateClusterMasterGlobalAccessConfig::new().set_enabled(true),
                ),
            ),
        )
        .send()
        .await
        .expect("update global access");
    assert!(poll(&c, "europe-west2-a", &op).await.error.is_none());
    let c1 = get(&c, "europe-west2-a", "istio-cluster1")
        .await
        .expect("get");
    let pcc = c1.private_cluster_config.expect("private cluster config");
    assert_eq!(
        pcc.master_global_access_config.map(|g| g.enabled),
        Some(true)
    );
    assert_eq!(pcc.master_ipv4_cidr_block, "172.16.0.32/28");

    let two = c
        .gke
        .update_cluster()
        .set_name(cluster_name("europe-west2-a", "istio-cluster1"))
        .set_update(
            model::ClusterUpdate::new()
                .set_desired_release_channel(
                    model::ReleaseChannel::new().set_channel(release_channel::Channel::Regular),
                )
                .set_desired_master_authorized_networks_config(
                    model::MasterAuthorizedNetworksConfig::new().set_enabled(false),
                ),
        )
        .send()
        .await
        .expect_err("two desired fields");
    assert_eq!(two.http_status_code(), Some(400));
    assert_eq!(code(&two), Some(Code::InvalidArgument));

    // Rules of the real API.
    let overlap = create(
        &c,
        "europe-west2-b",
        private_cluster("c3", "pods2", "172.16.0.32/28"),
    )
    .await
    .expect_err("master /28 of istio-cluster1");
    assert_eq!(overlap.http_status_code(), Some(400), "{overlap:?}");
    let on_subnet = create(
        &c,
        "europe-west2-b",
        private_cluster("c3", "pods2", "172.20.0.16/28"),
    )
    .await
    .expect_err("master /28 inside the subnet");
    assert_eq!(on_subnet.http_status_code(), Some(400));
    let not_28 = create(
        &c,
        "europe-west2-b",
        private_cluster("c3", "pods2", "172.16.1.0/27"),
    )
    .await
    .expect_err("a /27");
    assert_eq!(not_28.http_status_code(), Some(400));
    let no_range = create(
        &c,
        "europe-west2-b",
        private_cluster("c3", "nope", "172.16.0.96/28"),
    )
    .await
    .expect_err("missing secondary range");
    assert_eq!(no_range.http_status_code(), Some(400));
    assert!(format!("{no_range:?}").contains("nope"));
    let dup = create(
        &c,
        "europe-west2-a",
        private_cluster("istio-cluster1", "pods2", "172.16.0.96/28"),
    )
    .await
    .expect_err("duplicate");
    assert_eq!(code(&dup), Some(Code::AlreadyExists));
    let wrong_region = create(
        &c,
        "us-central1-a",
        private_cluster("c3", "pods2", "172.16.0.96/28"),
    )
    .await
    .expect_err("subnet in another region");
    assert_eq!(wrong_region.http_status_code(), Some(400));
    let missing = get(&c, "europe-west2-a", "nobody").await.expect_err("404");
    assert_eq!(code(&missing), Some(Code::NotFound));

    // The subnet is in use while the clusters exist.
    let in_use = c
        .subnets
        .delete()
        .set_project(PROJECT)
        .set_region("europe-west2")
        .set_subnetwork(SUBNET)
        .send()
        .await
        .expect_err("subnet in use");
    assert_eq!(in_use.http_status_code(), Some(400));
    assert!(format!("{in_use:?}").contains("resourceInUseByAnotherResource"));

    // delete: STOPPING, then gone with the firewall rules.
    let del1 = c
        .gke
        .delete_cluster()
        .set_name(cluster_name("europe-west2-a", "istio-cluster1"))
        .send()
        .await
        .expect("delete");
    assert_eq!(del1.operation_type, operation::Type::DeleteCluster);
    assert_eq!(
        get(&c, "europe-west2-a", "istio-cluster1")
            .await
            .expect("get")
            .status,
        cluster::Status::Stopping
    );
    let del2 = c
        .gke
        .delete_cluster()
        .set_name(cluster_name("europe-west2", "istio-cluster2"))
        .send()
        .await
        .expect("delete");
    assert!(poll(&c, "europe-west2-a", &del1).await.error.is_none());
    assert!(poll(&c, "europe-west2", &del2).await.error.is_none());
    let gone = get(&c, "europe-west2-a", "istio-cluster1")
        .await
        .expect_err("gone");
    assert_eq!(code(&gone), Some(Code::NotFound));
    assert!(gke_firewalls(&c).await.is_empty());

    let op = c
        .subnets
        .delete()
        .set_project(PROJECT)
        .set_region("europe-west2")
        .set_subnetwork(SUBNET)
        .send()
        .await
        .expect("subnet delete");
    c.region_ops
        .wait()
        .set_project(PROJECT)
        .set_region("europe-west2")
        .set_operation(op.name.expect("name"))
        .send()
        .await
        .expect("wait");
    c.networks
        .delete()
        .set_project(PROJECT)
        .set_network(NET)
        .send()
        .await
        .expect("network deletable once the clusters are gone");

    let counts = emu.request_counts();
    assert_eq!(
        counts.get("container.projects.locations.clusters.create"),
        Some(&8)
    );
    assert_eq!(
        counts.get("container.projects.locations.clusters.delete"),
        Some(&2)
    );
    assert!(counts
        .get("container.projects.locations.operations.get")
        .is_some_and(|n| *n >= 6));
    emu.shutdown().await;
}

#[test]
fn injected_failure_ends_the_operation_with_an_error_and_clusters_survive_restarts() {
    run(injected_failure());
}

async fn injected_failure() {
    let dir = tempfile::tempdir().expect("tempdir");
    let emu = start(dir.path(), FaultConfig::default()).await;
    let c = clients(&emu.url()).await;
    network_and_subnet(&c).await;
    let op = create(
        &c,
        "europe-west2-a",
        private_cluster("kept", "pods", "172.16.0.32/28"),
    )
    .await
    .expect("create");
    poll(&c, "europe-west2-a", &op).await;
    emu.shutdown().await;

    let emu = start(
        dir.path(),
        FaultConfig {
            seed: 1,
            retryable_rate: 0.0,
            operation_failure_rate: 1.0,
        },
    )
    .await;
    let c = clients(&emu.url()).await;
    let kept = get(&c, "europe-west2-a", "kept")
        .await
        .expect("survives the restart");
    assert_eq!(kept.status, cluster::Status::Running);
    assert_eq!(gke_firewalls(&c).await.len(), 3);

    let op = create(
        &c,
        "europe-west2-a",
        private_cluster("doomed", "pods2", "172.16.0.64/28"),
    )
    .await
    .expect("create is accepted");
    let done = poll(&c, "europe-west2-a", &op).await;
    assert_eq!(done.status, operation::Status::Done);
    let error = done.error.expect("the operation failed");
    assert_ne!(error.code, 0);
    assert!(!error.message.is_empty());
    let doomed = get(&c, "europe-west2-a", "doomed").await.expect("get");
    assert_eq!(doomed.status, cluster::Status::Error);
    emu.shutdown().await;
}

#[test]
fn request_bodies_are_checked_against_the_discovery_document() {
    run(request_bodies());
}

async fn request_bodies() {
    let dir = tempfile::tempdir().expect("tempdir");
    let emu = start(dir.path(), FaultConfig::default()).await;
    let c = clients(&emu.url()).await;
    network_and_subnet(&c).await;
    let http = reqwest::Client::new();
    let url = format!(
        "{}/v1/projects/{PROJECT}/locations/europe-west2-a/clusters",
        emu.url()
    );
    let post = |body: Value| {
        let http = http.clone();
        let url = url.clone();
        async move {
            let resp = http.post(&url).json(&body).send().await.expect("post");
            let status = resp.status().as_u16();
            (status, resp.json::<Value>().await.expect("json"))
        }
    };
    let base = json!({"name": "raw", "network": NET, "subnetwork": SUBNET, "initialNodeCount": 1});

    let mut unknown = base.clone();
    unknown["bogus"] = json!(1);
    let (status, body) = post(json!({"cluster": unknown})).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["status"], "INVALID_ARGUMENT");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("bogus")),
        "{body}"
    );

    let mut wrong_type = base.clone();
    wrong_type["initialNodeCount"] = json!("three");
    assert_eq!(post(json!({"cluster": wrong_type})).await.0, 400);

    let mut bad_enum = base.clone();
    bad_enum["releaseChannel"] = json!({"channel": "FAST"});
    let (status, body) = post(json!({"cluster": bad_enum})).await;
    assert_eq!(status, 400);
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("release_channel")),
        "{body}"
    );

    // Enum values may be numbers in requests, like the real API accepts.
    let mut numeric = base.clone();
    numeric["releaseChannel"] = json!({"channel": 3});
    let (status, op) = post(json!({"cluster": numeric})).await;
    assert_eq!(status, 200, "{op}");
    assert_eq!(op["operationType"], "CREATE_CLUSTER");
    let cluster = get(&c, "europe-west2-a", "raw").await.expect("get");
    assert_eq!(
        cluster.release_channel.map(|r| r.channel),
        Some(release_channel::Channel::Stable)
    );
    emu.shutdown().await;
}

#[test]
fn list_operations_finds_the_running_delete_of_a_busy_cluster() {
    run(busy_cluster_operations());
}

/// A cluster made quickly, then deleted on an emulator restarted with real
/// latencies (a cluster delete takes 240 s), so the delete is in flight.
async fn busy_cluster_operations() {
    let dir = tempfile::tempdir().expect("tempdir");
    let emu = start(dir.path(), FaultConfig::default()).await;
    let c = clients(&emu.url()).await;
    network_and_subnet(&c).await;
    let created = create(
        &c,
        "europe-west2-a",
        private_cluster("busy", "pods", "172.16.0.32/28"),
    )
    .await
    .expect("create");
    poll(&c, "europe-west2-a", &created).await;
    emu.shutdown().await;
    let mut config = EmulatorConfig::new(dir.path());
    config.latency_scale = 1.0;
    let emu = Emulator::start(config, listen()).await.expect("restart");
    let c = clients(&emu.url()).await;

    let deleting = c
        .gke
        .delete_cluster()
        .set_name(cluster_name("europe-west2-a", "busy"))
        .send()
        .await
        .expect("delete");
    let again = c
        .gke
        .delete_cluster()
        .set_name(cluster_name("europe-west2-a", "busy"))
        .send()
        .await
        .expect_err("a second delete is refused while the first runs");
    assert_eq!(code(&again), Some(Code::FailedPrecondition));

    let list = |location: &str| {
        c.gke
            .list_operations()
            .set_parent(format!("projects/{PROJECT}/locations/{location}"))
            .send()
    };
    let here = list("europe-west2-a").await.expect("list_operations");
    let kinds: Vec<(operation::Type, bool)> = here
        .operations
        .iter()
        .map(|o| {
            (
                o.operation_type.clone(),
                o.status == operation::Status::Done,
            )
        })
        .collect();
    assert_eq!(
        kinds,
        [
            (operation::Type::CreateCluster, true),
            (operation::Type::DeleteCluster, false)
        ]
    );
    let running = &here.operations[1];
    assert_eq!(running.name, deleting.name);
    assert!(
        running
            .target_link
            .ends_with("/projects/demo-project/zones/europe-west2-a/clusters/busy"),
        "{}",
        running.target_link
    );
    let status = again.status().expect("a service error");
    assert!(
        status.message.contains(&running.name),
        "the refusal names the operation to join: {}",
        status.message
    );
    let numbers: Value = reqwest::get(format!(
        "{}/v1/projects/{PROJECT}/locations/europe-west2-a/operations?$alt=json;enum-encoding=int",
        emu.url()
    ))
    .await
    .expect("get")
    .json()
    .await
    .expect("json");
    assert_eq!(
        numbers["operations"][1]["operationType"], 2,
        "DELETE_CLUSTER as a number: {numbers}"
    );
    let everywhere = list("-").await.expect("all locations");
    assert_eq!(everywhere.operations.len(), 2);
    assert!(list("us-central1-a")
        .await
        .expect("another zone")
        .operations
        .is_empty());
    let bad = list("atlantis-1").await.expect_err("no such location");
    assert_eq!(code(&bad), Some(Code::InvalidArgument));

    let pending = emu.pending_operations();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].operation_type, "DELETE_CLUSTER");
    assert_eq!(pending[0].target, cluster_name("europe-west2-a", "busy"));
    assert_eq!(pending[0].name, deleting.name);
    assert_eq!(pending[0].scope, "locations/europe-west2-a");
    assert_eq!(
        emu.request_counts()
            .get("container.projects.locations.operations.list"),
        Some(&5)
    );
    emu.shutdown().await;
}

#[test]
fn a_disabled_gke_api_and_a_missing_project_answer_like_google() {
    run(access_errors());
}

async fn access_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = EmulatorConfig::new(dir.path());
    config.disabled_services = vec!["container.googleapis.com".into()];
    config.missing_projects = vec!["ghost-project".into()];
    let emu = Emulator::start(config, listen()).await.expect("start");
    let c = clients(&emu.url()).await;
    let list = |project: &str| {
        c.gke
            .list_clusters()
            .set_parent(format!("projects/{project}/locations/-"))
            .send()
    };

    let err = list(PROJECT).await.expect_err("the API is disabled");
    let status = err.status().expect("a service error");
    assert_eq!(status.code, Code::PermissionDenied);
    assert!(
        status.message.starts_with(&format!(
            "Kubernetes Engine API has not been used in project {PROJECT} before or it is disabled. Enable it by visiting https://console.developers.google.com/apis/api/container.googleapis.com/overview?project={PROJECT} then retry."
        )),
        "{}",
        status.message
    );
    let info = status
        .details
        .iter()
        .find_map(|d| match d {
            google_cloud_gax::error::rpc::StatusDetails::ErrorInfo(i) => Some(i),
            _ => None,
        })
        .expect("ErrorInfo");
    assert_eq!(info.reason, "SERVICE_DISABLED");
    assert_eq!(
        info.metadata.get("service").map(String::as_str),
        Some("container.googleapis.com")
    );

    // Compute is still enabled: its answer is an ordinary 404.
    let net = c
        .networks
        .get()
        .set_project(PROJECT)
        .set_network(NET)
        .send()
        .await
        .expect_err("no network");
    assert_eq!(code(&net), Some(Code::NotFound));

    let missing = list("ghost-project").await.expect_err("no such project");
    let status = missing.status().expect("a service error");
    assert_eq!(status.code, Code::PermissionDenied);
    assert_eq!(
        status.message,
        "Permission denied on resource project ghost-project."
    );
    let raw = reqwest::get(format!(
        "{}/v1/projects/ghost-project/locations/-/operations",
        emu.url()
    ))
    .await
    .expect("get");
    assert_eq!(raw.status().as_u16(), 403);
    let body: Value = raw.json().await.expect("json");
    assert_eq!(body["error"]["status"], "PERMISSION_DENIED");
    assert_eq!(body["error"]["details"][0]["reason"], "CONSUMER_INVALID");
    emu.shutdown().await;
}

#[test]
fn a_cluster_given_blocks_instead_of_range_names_gets_gke_managed_ranges_on_its_subnet() {
    run(managed_ranges());
}

async fn managed_ranges() {
    let dir = tempfile::tempdir().unwrap();
    let emulator = start(dir.path(), FaultConfig::default()).await;
    let c = clients(&emulator.url()).await;
    network_and_subnet(&c).await;
    // As most tutorials write it: the pod range as a block, the services range as a size.
    let cluster = private_cluster("managed", "", "172.16.0.32/28").set_ip_allocation_policy(
        model::IPAllocationPolicy::new()
            .set_use_ip_aliases(true)
            .set_cluster_ipv4_cidr_block("10.20.0.0/16")
            .set_services_ipv4_cidr_block("/22"),
    );
    let op = create(&c, "europe-west2-a", cluster).await.expect("create");
    poll(&c, "europe-west2-a", &op).await;
    let got = get(&c, "europe-west2-a", "managed").await.expect("get");
    let policy = got.ip_allocation_policy.expect("policy");
    assert!(policy
        .cluster_secondary_range_name
        .starts_with("gke-managed-pods-"));
    assert_eq!(
        policy.cluster_secondary_range_name.len(),
        "gke-managed-pods-".len() + 8
    );
    assert!(policy
        .services_secondary_range_name
        .starts_with("gke-managed-services-"));
    assert_eq!(policy.cluster_ipv4_cidr_block, "10.20.0.0/16");
    let services: ipnet::Ipv4Net = policy.services_ipv4_cidr_block.parse().unwrap();
    assert_eq!(services.prefix_len(), 22);
    let subnet_ranges = || async {
        c.subnets
            .get()
            .set_project(PROJECT)
            .set_region("europe-west2")
            .set_subnetwork(SUBNET)
            .send()
            .await
            .expect("subnet")
            .secondary_ip_ranges
            .into_iter()
            .map(|r| {
                (
                    r.range_name.unwrap_or_default(),
                    r.ip_cidr_range.unwrap_or_default(),
                )
            })
            .collect::<Vec<_>>()
    };
    let ranges = subnet_ranges().await;
    assert!(ranges.contains(&(
        policy.cluster_secondary_range_name.clone(),
        "10.20.0.0/16".into()
    )));
    assert!(ranges.contains(&(
        policy.services_secondary_range_name.clone(),
        services.to_string()
    )));
    // The size was allocated where nothing in the network overlaps.
    for (name, cidr) in &ranges {
        let other: ipnet::Ipv4Net = cidr.parse().unwrap();
        if *name != policy.services_secondary_range_name {
            assert!(!other.contains(&services.network()) && !services.contains(&other.network()));
        }
    }
    // A block that overlaps a range in use is refused.
    let clash = private_cluster("clash", "", "172.16.0.48/28").set_ip_allocation_policy(
        model::IPAllocationPolicy::new()
            .set_use_ip_aliases(true)
            .set_cluster_ipv4_cidr_block("10.16.32.0/20"),
    );
    let err = create(&c, "europe-west2-a", clash).await.unwrap_err();
    assert_eq!(code(&err), Some(Code::InvalidArgument), "{err}");
    // Deleting the cluster removes the ranges GKE added, and only those.
    let op = c
        .gke
        .delete_cluster()
        .set_name(cluster_name("europe-west2-a", "managed"))
        .send()
        .await
        .expect("delete");
    poll(&c, "europe-west2-a", &op).await;
    let names: Vec<String> = subnet_ranges().await.into_iter().map(|r| r.0).collect();
    assert_eq!(names, ["pods", "pods2", "services"]);
    emulator.shutdown().await;
}

#[test]
fn a_cluster_created_in_either_control_plane_form_reads_the_same_to_meshform() {
    run(endpoint_forms());
}

async fn endpoint_forms() {
    use model::control_plane_endpoints_config::IPEndpointsConfig;
    let dir = tempfile::tempdir().unwrap();
    let emulator = start(dir.path(), FaultConfig::default()).await;
    let c = clients(&emulator.url()).await;
    network_and_subnet(&c).await;
    let authorized = model::MasterAuthorizedNetworksConfig::new()
        .set_enabled(true)
        .set_cidr_blocks([model::master_authorized_networks_config::CidrBlock::new()
            .set_display_name("eu")
            .set_cidr_block("172.20.0.0/20")]);
    // The deprecated form (private_cluster), and today's form.
    let old = private_cluster("old-form", "pods", "172.16.0.32/28").set_private_cluster_config(
        model::PrivateClusterConfig::new()
            .set_enable_private_nodes(true)
            .set_enable_private_endpoint(true)
            .set_master_ipv4_cidr_block("172.16.0.32/28")
            .set_master_global_access_config(
                model::PrivateClusterMasterGlobalAccessConfig::new().set_enabled(true),
            ),
    );
    let new = private_cluster("new-form", "pods2", "172.16.0.48/28")
        .set_private_cluster_config(
            model::PrivateClusterConfig::new().set_master_ipv4_cidr_block("172.16.0.48/28"),
        )
        .set_network_config(model::NetworkConfig::new().set_default_enable_private_nodes(true))
        .set_control_plane_endpoints_config(
            model::ControlPlaneEndpointsConfig::new().set_ip_endpoints_config(
                IPEndpointsConfig::new()
                    .set_enabled(true)
                    .set_enable_public_endpoint(false)
                    .set_global_access(true)
                    .set_authorized_networks_config(authorized),
            ),
        );
    for cluster in [old, new] {
        let op = create(&c, "europe-west2-a", cluster).await.expect("create");
        poll(&c, "europe-west2-a", &op).await;
    }
    let provider =
        meshform::gcp::Provider::connect(PROJECT, &meshform::gcp::Target::Emulator(emulator.url()))
            .await
            .unwrap();
    let cloud = meshform::cloud::Cloud {
        kube: meshform::kube::Kube::new(&provider).unwrap(),
        gcp: provider,
        // Clusters are not local resources: nothing is written beside this path.
        secrets: meshform::state::SecretStore::beside(std::path::Path::new("unused/state.json")),
        objects: meshform::state::ObjectStore::beside(std::path::Path::new("unused/state.json")),
    };
    let read = |name: &'static str| {
        let cloud = &cloud;
        async move {
            let attrs = meshform::kinds::attrs_of(&meshform::kinds::cluster::ClusterSpec {
                name: name.into(),
                location: "europe-west2-a".into(),
                ..Default::default()
            });
            let address = "cluster.europe-west2".parse().unwrap();
            let mut live = cloud
                .read(&address, &attrs)
                .await
                .unwrap()
                .expect("exists")
                .attrs;
            for differs in ["name", "master_cidr", "pods_range"] {
                live.remove(differs);
            }
            live
        }
    };
    let (old_attrs, new_attrs) = (read("old-form").await, read("new-form").await);
    assert_eq!(old_attrs, new_attrs);
    assert_eq!(old_attrs["private_endpoint"], json!(true));
    assert_eq!(old_attrs["master_global_access"], json!(true));
    assert_eq!(old_attrs["private_nodes"], json!(true));
    // GKE returns both forms, in step.
    let got = get(&c, "europe-west2-a", "new-form").await.unwrap();
    let pcc = got.private_cluster_config.unwrap();
    assert!(pcc.enable_private_endpoint && pcc.enable_private_nodes);
    assert!(pcc.master_global_access_config.unwrap().enabled);
    assert_eq!(
        got.master_authorized_networks_config.unwrap().cidr_blocks[0].cidr_block,
        "172.20.0.0/20"
    );
    // An update in today's form shows in the deprecated one too.
    let op = c
        .gke
        .update_cluster()
        .set_name(cluster_name("europe-west2-a", "old-form"))
        .set_update(
            model::ClusterUpdate::new().set_desired_control_plane_endpoints_config(
                model::ControlPlaneEndpointsConfig::new()
                    .set_ip_endpoints_config(IPEndpointsConfig::new().set_global_access(false)),
            ),
        )
        .send()
        .await
        .expect("update");
    poll(&c, "europe-west2-a", &op).await;
    let got = get(&c, "europe-west2-a", "old-form").await.unwrap();
    assert!(
        !got.private_cluster_config
            .unwrap()
            .master_global_access_config
            .unwrap()
            .enabled
    );
    emulator.shutdown().await;
}

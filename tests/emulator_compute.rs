//! The emulator as the official `google-cloud-compute-v1` client (and raw HTTP) sees it.

#[macro_use]
mod common;

use common::listen;

use google_cloud_compute_v1::client::{
    Firewalls, GlobalOperations, Networks, RegionOperations, Routers, Subnetworks, ZoneOperations,
};
use google_cloud_compute_v1::model::{self, operation::Status};
use google_cloud_gax::error::rpc::Code;
use meshform::emulator::{base_duration, Emulator, EmulatorConfig, FaultConfig};
use serde_json::{json, Value};

const PROJECT: &str = "demo-project";

async fn start(dir: &tempfile::TempDir) -> Emulator {
    let mut config = EmulatorConfig::new(dir.path());
    config.latency_scale = 0.001;
    Emulator::start(config, listen())
        .await
        .expect("emulator starts")
}

struct Clients {
    networks: Networks,
    subnets: Subnetworks,
    routers: Routers,
    firewalls: Firewalls,
    global_ops: GlobalOperations,
    region_ops: RegionOperations,
}

async fn clients(url: &str) -> Clients {
    Clients {
        networks: official_client!(Networks, url),
        subnets: official_client!(Subnetworks, url),
        routers: official_client!(Routers, url),
        firewalls: official_client!(Firewalls, url),
        global_ops: official_client!(GlobalOperations, url),
        region_ops: official_client!(RegionOperations, url),
    }
}

fn network(name: &str) -> model::Network {
    model::Network::new()
        .set_name(name)
        .set_auto_create_subnetworks(false)
        .set_routing_config(
            model::NetworkRoutingConfig::new()
                .set_routing_mode(model::network_routing_config::RoutingMode::Regional),
        )
}

fn subnet(name: &str, net: &str, cidr: &str) -> model::Subnetwork {
    model::Subnetwork::new()
        .set_name(name)
        .set_network(format!("projects/{PROJECT}/global/networks/{net}"))
        .set_ip_cidr_range(cidr)
}

async fn create_network(c: &Clients, name: &str) -> model::Operation {
    let op = c
        .networks
        .insert()
        .set_project(PROJECT)
        .set_body(network(name))
        .send()
        .await
        .expect("network insert");
    c.global_ops
        .wait()
        .set_project(PROJECT)
        .set_operation(op.name.clone().expect("operation name"))
        .send()
        .await
        .expect("wait")
}

async fn create_subnet(
    c: &Clients,
    region: &str,
    body: model::Subnetwork,
) -> Result<model::Operation, google_cloud_gax::error::Error> {
    let op = c
        .subnets
        .insert()
        .set_project(PROJECT)
        .set_region(region)
        .set_body(body)
        .send()
        .await?;
    c.region_ops
        .wait()
        .set_project(PROJECT)
        .set_region(region)
        .set_operation(op.name.clone().expect("operation name"))
        .send()
        .await
}

fn pods_range() -> model::SubnetworkSecondaryRange {
    model::SubnetworkSecondaryRange::new()
        .set_range_name("pods")
        .set_ip_cidr_range("10.16.48.0/20")
}

fn code(err: &google_cloud_gax::error::Error) -> Option<Code> {
    err.status().map(|s| s.code)
}

#[tokio::test]
async fn network_insert_wait_get_list_with_the_official_client() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = EmulatorConfig::new(dir.path());
    config.latency_scale = 0.05; // network insert: 600 ms, long enough to observe it pending
    let emu = Emulator::start(config, listen())
        .await
        .expect("emulator starts");
    let c = clients(&emu.url()).await;

    let first = c
        .networks
        .insert()
        .set_project(PROJECT)
        .set_body(network("cross-region-vpc"))
        .send()
        .await
        .expect("insert");
    assert_eq!(first.operation_type.as_deref(), Some("insert"));
    assert_ne!(first.status, Some(Status::Done));
    let not_yet = c
        .networks
        .get()
        .set_project(PROJECT)
        .set_network("cross-region-vpc")
        .send()
        .await;
    assert_eq!(
        not_yet.as_ref().err().and_then(code),
        Some(Code::NotFound),
        "GET is 404 while the create is pending"
    );

    let done = c
        .global_ops
        .wait()
        .set_project(PROJECT)
        .set_operation(first.name.clone().expect("name"))
        .send()
        .await
        .expect("wait");
    assert_eq!(done.status, Some(Status::Done));
    assert!(done.error.is_none());

    let net = c
        .networks
        .get()
        .set_project(PROJECT)
        .set_network("cross-region-vpc")
        .send()
        .await
        .expect("get");
    assert_eq!(net.name.as_deref(), Some("cross-region-vpc"));
    assert_eq!(net.auto_create_subnetworks, Some(false));
    assert_eq!(net.id, done.target_id);
    let self_link = net.self_link.clone().expect("selfLink");
    assert_eq!(
        self_link,
        format!(
            "{}/compute/v1/projects/{PROJECT}/global/networks/cross-region-vpc",
            emu.url()
        )
    );

    let list = c
        .networks
        .list()
        .set_project(PROJECT)
        .send()
        .await
        .expect("list");
    let names: Vec<_> = list.items.iter().filter_map(|n| n.name.clone()).collect();
    assert_eq!(names, vec!["cross-region-vpc".to_string()]);

    let counts = emu.request_counts();
    assert_eq!(counts.get("compute.networks.insert"), Some(&1));
    assert_eq!(counts.get("compute.globalOperations.wait"), Some(&1));
    assert_eq!(counts.get("compute.networks.get"), Some(&2));
    emu.reset_request_counts();
    assert!(emu.request_counts().is_empty());
    emu.shutdown().await;
}

#[tokio::test]
async fn subnet_insert_get_patch_and_fingerprint_rules() {
    let dir = tempfile::tempdir().expect("tempdir");
    let emu = start(&dir).await;
    let c = clients(&emu.url()).await;
    create_network(&c, "vpc").await;

    let body = subnet("us-ilb-subnet", "vpc", "172.21.0.0/20").set_secondary_ip_ranges([
        model::SubnetworkSecondaryRange::new()
            .set_range_name("pods")
            .set_ip_cidr_range("10.16.48.0/20"),
        model::SubnetworkSecondaryRange::new()
            .set_range_name("services")
            .set_ip_cidr_range("172.16.6.0/24"),
    ]);
    let done = create_subnet(&c, "us-central1", body)
        .await
        .expect("subnet");
    assert_eq!(done.status, Some(Status::Done));
    assert!(done
        .region
        .as_deref()
        .is_some_and(|r| r.ends_with("/regions/us-central1")));

    let s = c
        .subnets
        .get()
        .set_project(PROJECT)
        .set_region("us-central1")
        .set_subnetwork("us-ilb-subnet")
        .send()
        .await
        .expect("get");
    assert_eq!(s.gateway_address.as_deref(), Some("172.21.0.1"));
    assert_eq!(
        s.network.as_deref(),
        Some(
            format!(
                "{}/compute/v1/projects/{PROJECT}/global/networks/vpc",
                emu.url()
            )
            .as_str()
        )
    );
    assert_eq!(s.secondary_ip_ranges.len(), 2);
    let fingerprint = s.fingerprint.clone().expect("fingerprint");

    // Stale fingerprint: 412 FAILED_PRECONDITION.
    let stale = c
        .subnets
        .patch()
        .set_project(PROJECT)
        .set_region("us-central1")
        .set_subnetwork("us-ilb-subnet")
        .set_body(
            model::Subnetwork::new()
                .set_secondary_ip_ranges([pods_range()])
                .set_fingerprint(b"stale-fp".to_vec()),
        )
        .send()
        .await
        .expect_err("stale fingerprint");
    assert_eq!(stale.http_status_code(), Some(412));
    assert_eq!(code(&stale), Some(Code::FailedPrecondition));

    // Current fingerprint: accepted, and the fingerprint changes.
    let op = c
        .subnets
        .patch()
        .set_project(PROJECT)
        .set_region("us-central1")
        .set_subnetwork("us-ilb-subnet")
        .set_body(
            model::Subnetwork::new()
                .set_secondary_ip_ranges([pods_range()])
                .set_fingerprint(fingerprint.clone()),
        )
        .send()
        .await
        .expect("patch");
    c.region_ops
        .wait()
        .set_project(PROJECT)
        .set_region("us-central1")
        .set_operation(op.name.expect("name"))
        .send()
        .await
        .expect("wait");
    let s = c
        .subnets
        .get()
        .set_project(PROJECT)
        .set_region("us-central1")
        .set_subnetwork("us-ilb-subnet")
        .send()
        .await
        .expect("get");
    assert_eq!(s.secondary_ip_ranges, vec![pods_range()]);
    assert_ne!(s.fingerprint, Some(fingerprint));

    let agg = c
        .subnets
        .aggregated_list()
        .set_project(PROJECT)
        .send()
        .await
        .expect("aggregated list");
    assert_eq!(agg.items["regions/us-central1"].subnetworks.len(), 1);
    assert!(agg.items["regions/europe-west2"].warning.is_some());
    emu.shutdown().await;
}

#[tokio::test]
async fn duplicates_in_use_and_overlaps_are_rejected() {
    let dir = tempfile::tempdir().expect("tempdir");
    let emu = start(&dir).await;
    let c = clients(&emu.url()).await;
    create_network(&c, "vpc").await;

    let dup = c
        .networks
        .insert()
        .set_project(PROJECT)
        .set_body(network("vpc"))
        .send()
        .await
        .expect_err("duplicate");
    assert_eq!(dup.http_status_code(), Some(409));
    assert_eq!(code(&dup), Some(Code::AlreadyExists));

    create_subnet(&c, "europe-west2", subnet("eu", "vpc", "172.20.0.0/20"))
        .await
        .expect("subnet");
    // Overlap with a subnet of the same network in another region.
    let overlap = create_subnet(&c, "us-central1", subnet("us", "vpc", "172.20.8.0/24"))
        .await
        .expect_err("overlap");
    assert_eq!(overlap.http_status_code(), Some(400));
    // Overlap between the subnet's own ranges.
    let own = subnet("us", "vpc", "172.21.0.0/20").set_secondary_ip_ranges([
        model::SubnetworkSecondaryRange::new()
            .set_range_name("pods")
            .set_ip_cidr_range("172.21.4.0/24"),
    ]);
    assert_eq!(
        create_subnet(&c, "us-central1", own)
            .await
            .expect_err("own overlap")
            .http_status_code(),
        Some(400)
    );
    // Missing network.
    let missing = create_subnet(&c, "us-central1", subnet("us", "nope", "172.21.0.0/20"))
        .await
        .expect_err("missing");
    assert_eq!(code(&missing), Some(Code::NotFound));

    let in_use = c
        .networks
        .delete()
        .set_project(PROJECT)
        .set_network("vpc")
        .send()
        .await
        .expect_err("in use");
    assert_eq!(in_use.http_status_code(), Some(400));
    let reason = format!("{in_use:?}");
    assert!(
        reason.contains("resourceInUseByAnotherResource"),
        "{reason}"
    );

    // Router with NAT and a firewall rule; then tear down in order.
    let router = model::Router::new()
        .set_name("nat-router")
        .set_network("global/networks/vpc")
        .set_nats([model::RouterNat::new()
            .set_name("nat")
            .set_nat_ip_allocate_option(model::router_nat::NatIpAllocateOption::AutoOnly)
            .set_source_subnetwork_ip_ranges_to_nat(
                model::router_nat::SourceSubnetworkIpRangesToNat::AllSubnetworksAllIpRanges,
            )]);
    let op = c
        .routers
        .insert()
        .set_project(PROJECT)
        .set_region("europe-west2")
        .set_body(router)
        .send()
        .await
        .expect("router");
    c.region_ops
        .wait()
        .set_project(PROJECT)
        .set_region("europe-west2")
        .set_operation(op.name.expect("name"))
        .send()
        .await
        .expect("wait");
    let fw = model::Firewall::new()
        .set_name("allow-istio-webhook")
        .set_network("global/networks/vpc")
        .set_source_ranges(["172.16.0.32/28"])
        .set_allowed([model::firewall::Allowed::new()
            .set_ip_protocol("tcp")
            .set_ports(["15017"])]);
    let op = c
        .firewalls
        .insert()
        .set_project(PROJECT)
        .set_body(fw)
        .send()
        .await
        .expect("firewall");
    c.global_ops
        .wait()
        .set_project(PROJECT)
        .set_operation(op.name.expect("name"))
        .send()
        .await
        .expect("wait");
    let mut names = emu.resource_names();
    names.sort();
    assert_eq!(
        names,
        vec![
            "firewalls/allow-istio-webhook",
            "networks/vpc",
            "regions/europe-west2/routers/nat-router",
            "regions/europe-west2/subnetworks/eu"
        ]
    );

    let op = c
        .routers
        .delete()
        .set_project(PROJECT)
        .set_region("europe-west2")
        .set_router("nat-router")
        .send()
        .await
        .expect("delete router");
    c.region_ops
        .wait()
        .set_project(PROJECT)
        .set_region("europe-west2")
        .set_operation(op.name.expect("name"))
        .send()
        .await
        .expect("wait");
    let op = c
        .firewalls
        .delete()
        .set_project(PROJECT)
        .set_firewall("allow-istio-webhook")
        .send()
        .await
        .expect("delete fw");
    c.global_ops
        .wait()
        .set_project(PROJECT)
        .set_operation(op.name.expect("name"))
        .send()
        .await
        .expect("wait");
    let op = c
        .subnets
        .delete()
        .set_project(PROJECT)
        .set_region("europe-west2")
        .set_subnetwork("eu")
        .send()
        .await
        .expect("delete subnet");
    c.region_ops
        .wait()
        .set_project(PROJECT)
        .set_region("europe-west2")
        .set_operation(op.name.expect("name"))
        .send()
        .await
        .expect("wait");
    let op = c
        .networks
        .delete()
        .set_project(PROJECT)
        .set_network("vpc")
        .send()
        .await
        .expect("delete network");
    let done = c
        .global_ops
        .wait()
        .set_project(PROJECT)
        .set_operation(op.name.expect("name"))
        .send()
        .await
        .expect("wait");
    assert_eq!(done.operation_type.as_deref(), Some("delete"));
    assert!(emu.resource_names().is_empty());
    emu.shutdown().await;
}

async fn raw(
    client: &reqwest::Client,
    method: reqwest::Method,
    url: String,
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = client.request(method, url);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.expect("request");
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn unknown_fields_bad_types_and_bad_enums_are_400() {
    let dir = tempfile::tempdir().expect("tempdir");
    let emu = start(&dir).await;
    let http = reqwest::Client::new();
    let url = format!(
        "{}/compute/v1/projects/{PROJECT}/global/networks",
        emu.url()
    );

    let (status, body) = raw(
        &http,
        reqwest::Method::POST,
        url.clone(),
        Some(json!({"name": "n", "foo": 1})),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["status"], "INVALID_ARGUMENT");
    assert_eq!(
        body["error"]["message"],
        "Invalid JSON payload received. Unknown name \"foo\" at 'resource': Cannot find field."
    );

    let (status, _) = raw(
        &http,
        reqwest::Method::POST,
        url.clone(),
        Some(json!({"name": "n", "mtu": "big"})),
    )
    .await;
    assert_eq!(status, 400);
    let (status, _) = raw(
        &http,
        reqwest::Method::POST,
        url.clone(),
        Some(json!({"name": "n", "routingConfig": {"routingMode": "SIDEWAYS"}})),
    )
    .await;
    assert_eq!(status, 400);
    let (status, _) = raw(
        &http,
        reqwest::Method::POST,
        url.clone(),
        Some(json!({"name": "Bad_Name"})),
    )
    .await;
    assert_eq!(status, 400);
    // Output-only fields are accepted and ignored.
    let (status, op) = raw(
        &http,
        reqwest::Method::POST,
        url.clone(),
        Some(json!({"name": "n", "id": "42", "selfLink": "x", "autoCreateSubnetworks": false})),
    )
    .await;
    assert_eq!(status, 200, "{op}");
    assert_eq!(op["kind"], "compute#operation");
    emu.shutdown().await;
}

#[tokio::test]
async fn forwarding_rule_and_bastion_instance_over_raw_http() {
    let dir = tempfile::tempdir().expect("tempdir");
    let emu = start(&dir).await;
    let http = reqwest::Client::new();
    let base = format!("{}/compute/v1/projects/{PROJECT}", emu.url());
    let wait = |op: Value| {
        let http = http.clone();
        async move {
            let link = op["selfLink"].as_str().expect("op selfLink").to_string();
            raw(&http, reqwest::Method::POST, format!("{link}/wait"), None).await
        }
    };
    let (_, op) = raw(
        &http,
        reqwest::Method::POST,
        format!("{base}/global/networks"),
        Some(json!({"name": "vpc", "autoCreateSubnetworks": false})),
    )
    .await;
    wait(op).await;
    let (_, op) = raw(
        &http,
        reqwest::Method::POST,
        format!("{base}/regions/us-central1/subnetworks"),
        Some(
            json!({"name": "us", "network": "global/networks/vpc", "ipCidrRange": "172.21.0.0/20"}),
        ),
    )
    .await;
    assert_eq!(wait(op).await.1["status"], "DONE");

    let fr = json!({"name": "eastwest", "loadBalancingScheme": "INTERNAL", "subnetwork": "regions/us-central1/subnetworks/us", "allowGlobalAccess": true, "ports": ["15443"], "backendService": "regions/us-central1/backendServices/bs"});
    let (status, op) = raw(
        &http,
        reqwest::Method::POST,
        format!("{base}/regions/us-central1/forwardingRules"),
        Some(fr),
    )
    .await;
    assert_eq!(status, 200, "{op}");
    wait(op).await;
    let (_, rule) = raw(
        &http,
        reqwest::Method::GET,
        format!("{base}/regions/us-central1/forwardingRules/eastwest"),
        None,
    )
    .await;
    assert_eq!(rule["IPAddress"], "172.21.0.2");
    assert_eq!(rule["allowGlobalAccess"], true);

    // The bastion must be in the subnet's region.
    let vm = |zone: &str| json!({"name": "bastion", "machineType": format!("zones/{zone}/machineTypes/e2-small"), "networkInterfaces": [{"subnetwork": "regions/us-central1/subnetworks/us"}]});
    let (status, _) = raw(
        &http,
        reqwest::Method::POST,
        format!("{base}/zones/europe-west2-a/instances"),
        Some(vm("europe-west2-a")),
    )
    .await;
    assert_eq!(status, 400);
    let (status, op) = raw(
        &http,
        reqwest::Method::POST,
        format!("{base}/zones/us-central1-a/instances"),
        Some(vm("us-central1-a")),
    )
    .await;
    assert_eq!(status, 200, "{op}");
    assert!(op["zone"]
        .as_str()
        .is_some_and(|z| z.ends_with("zones/us-central1-a")));
    assert_eq!(wait(op).await.1["status"], "DONE");
    let (_, agg) = raw(
        &http,
        reqwest::Method::GET,
        format!("{base}/aggregated/instances"),
        None,
    )
    .await;
    assert_eq!(
        agg["items"]["zones/us-central1-a"]["instances"][0]["networkInterfaces"][0]["networkIP"],
        "172.21.0.3"
    );

    let (status, body) = raw(
        &http,
        reqwest::Method::DELETE,
        format!("{base}/regions/us-central1/subnetworks/us"),
        None,
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(
        body["error"]["errors"][0]["reason"],
        "resourceInUseByAnotherResource"
    );
    emu.shutdown().await;
}

#[tokio::test]
async fn the_world_survives_a_restart_and_pending_operations_finish() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = EmulatorConfig::new(dir.path());
    config.latency_scale = 0.02; // network insert: 240 ms
    let emu = Emulator::start(config.clone(), listen())
        .await
        .expect("start");
    let c = clients(&emu.url()).await;
    create_network(&c, "vpc").await;
    let pending = c
        .networks
        .insert()
        .set_project(PROJECT)
        .set_body(network("second"))
        .send()
        .await
        .expect("insert");
    assert_ne!(pending.status, Some(Status::Done));
    emu.shutdown().await;

    let emu = Emulator::start(config, listen()).await.expect("restart");
    let c = clients(&emu.url()).await;
    let done = c
        .global_ops
        .wait()
        .set_project(PROJECT)
        .set_operation(pending.name.expect("name"))
        .send()
        .await
        .expect("wait");
    assert_eq!(done.status, Some(Status::Done));
    let net = c
        .networks
        .get()
        .set_project(PROJECT)
        .set_network("vpc")
        .send()
        .await
        .expect("get after restart");
    assert!(
        net.self_link.expect("selfLink").starts_with(&emu.url()),
        "links use the new server's URL"
    );
    assert_eq!(
        emu.resource_names(),
        vec!["networks/second", "networks/vpc"]
    );
    emu.shutdown().await;
}

#[tokio::test]
async fn faults_are_injected() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = EmulatorConfig::new(dir.path());
    config.latency_scale = 0.001;
    config.faults = FaultConfig {
        seed: 3,
        retryable_rate: 1.0,
        operation_failure_rate: 0.0,
    };
    let emu = Emulator::start(config, listen()).await.expect("start");
    let http = reqwest::Client::new();
    for _ in 0..6 {
        let (status, body) = raw(
            &http,
            reqwest::Method::GET,
            format!(
                "{}/compute/v1/projects/{PROJECT}/global/networks",
                emu.url()
            ),
            None,
        )
        .await;
        assert!(status == 429 || status == 503, "{status}");
        assert!(
            body["error"]["status"] == "RESOURCE_EXHAUSTED"
                || body["error"]["status"] == "UNAVAILABLE"
        );
    }
    let (status, _) = raw(
        &http,
        reqwest::Method::GET,
        format!("{}/_emulator/health", emu.url()),
        None,
    )
    .await;
    assert_eq!(status, 200, "the emulator's own endpoints never fail");
    let (_, counts) = raw(
        &http,
        reqwest::Method::GET,
        format!("{}/_emulator/requests", emu.url()),
        None,
    )
    .await;
    assert_eq!(counts["compute.networks.list"], 6);
    emu.shutdown().await;

    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = EmulatorConfig::new(dir.path());
    config.latency_scale = 0.001;
    config.faults = FaultConfig {
        seed: 3,
        retryable_rate: 0.0,
        operation_failure_rate: 1.0,
    };
    let emu = Emulator::start(config, listen()).await.expect("start");
    let c = clients(&emu.url()).await;
    let done = create_network(&c, "vpc").await;
    assert_eq!(done.status, Some(Status::Done));
    assert!(done.error.is_some_and(|e| !e.errors.is_empty()));
    assert_eq!(done.http_error_status_code, Some(503));
    assert!(
        emu.resource_names().is_empty(),
        "a failed operation has no effect"
    );
    emu.shutdown().await;
}

#[test]
fn base_durations_reflect_real_relative_latencies() {
    assert!(base_duration("instances", "insert") > base_duration("subnetworks", "insert"));
    assert!(base_duration("subnetworks", "insert") > base_duration("networks", "insert"));
    assert!(base_duration("networks", "insert") > base_duration("routers", "insert"));
}

#[tokio::test]
async fn router_patch_adds_a_nat_for_a_listed_subnet_which_then_is_in_use() {
    let dir = tempfile::tempdir().expect("tempdir");
    let emu = start(&dir).await;
    let c = clients(&emu.url()).await;
    create_network(&c, "vpc").await;
    create_subnet(&c, "us-central1", subnet("us", "vpc", "172.21.0.0/20"))
        .await
        .expect("subnet");
    let router = model::Router::new()
        .set_name("r")
        .set_network("global/networks/vpc");
    let op = c
        .routers
        .insert()
        .set_project(PROJECT)
        .set_region("us-central1")
        .set_body(router)
        .send()
        .await
        .expect("router");
    c.region_ops
        .wait()
        .set_project(PROJECT)
        .set_region("us-central1")
        .set_operation(op.name.expect("name"))
        .send()
        .await
        .expect("wait");

    let nat = model::RouterNat::new()
        .set_name("nat")
        .set_source_subnetwork_ip_ranges_to_nat(
            model::router_nat::SourceSubnetworkIpRangesToNat::ListOfSubnetworks,
        )
        .set_subnetworks([model::RouterNatSubnetworkToNat::new()
            .set_name("regions/us-central1/subnetworks/us")
            .set_source_ip_ranges_to_nat([
                model::router_nat_subnetwork_to_nat::SourceIpRangesToNat::AllIpRanges,
            ])]);
    let op = c
        .routers
        .patch()
        .set_project(PROJECT)
        .set_region("us-central1")
        .set_router("r")
        .set_body(model::Router::new().set_nats([nat]))
        .send()
        .await
        .expect("patch");
    let done = c
        .region_ops
        .wait()
        .set_project(PROJECT)
        .set_region("us-central1")
        .set_operation(op.name.expect("name"))
        .send()
        .await
        .expect("wait");
    assert_eq!(done.operation_type.as_deref(), Some("patch"));
    let r = c
        .routers
        .get()
        .set_project(PROJECT)
        .set_region("us-central1")
        .set_router("r")
        .send()
        .await
        .expect("get");
    assert_eq!(r.nats.len(), 1);
    assert_eq!(
        r.nats[0].nat_ip_allocate_option,
        Some(model::router_nat::NatIpAllocateOption::AutoOnly)
    );
    let agg = c
        .routers
        .aggregated_list()
        .set_project(PROJECT)
        .send()
        .await
        .expect("aggregated");
    assert_eq!(agg.items["regions/us-central1"].routers.len(), 1);

    let err = c
        .subnets
        .delete()
        .set_project(PROJECT)
        .set_region("us-central1")
        .set_subnetwork("us")
        .send()
        .await
        .expect_err("in use by NAT");
    assert_eq!(err.http_status_code(), Some(400));
    emu.shutdown().await;
}

const REQUEST_ID: &str = "6f1c2a8e-3b7d-4c59-9e0f-1a2b3c4d5e6f";

async fn get_subnet(c: &Clients, name: &str) -> model::Subnetwork {
    c.subnets
        .get()
        .set_project(PROJECT)
        .set_region("us-central1")
        .set_subnetwork(name)
        .send()
        .await
        .expect("get subnet")
}

async fn wait_region(c: &Clients, op: model::Operation) -> model::Operation {
    c.region_ops
        .wait()
        .set_project(PROJECT)
        .set_region("us-central1")
        .set_operation(op.name.expect("operation name"))
        .send()
        .await
        .expect("wait")
}

#[tokio::test]
async fn the_same_request_id_returns_the_same_operation_and_mutates_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let emu = start(&dir).await;
    let c = clients(&emu.url()).await;
    let insert = || {
        c.networks
            .insert()
            .set_project(PROJECT)
            .set_request_id(REQUEST_ID)
            .set_body(network("vpc"))
            .send()
    };
    let first = insert().await.expect("first insert");
    let second = insert().await.expect("a replay is not 409");
    assert_eq!(first.name, second.name);
    assert_eq!(first.id, second.id);
    let done = c
        .global_ops
        .wait()
        .set_project(PROJECT)
        .set_operation(first.name.clone().expect("name"))
        .send()
        .await
        .expect("wait");
    assert_eq!(done.status, Some(Status::Done));
    let third = insert().await.expect("a replay after DONE");
    assert_eq!(third.name, first.name);
    assert_eq!(
        third.status,
        Some(Status::Done),
        "the operation's current status"
    );
    assert_eq!(emu.resource_names(), vec!["networks/vpc"]);

    // Another id is another request: now the network exists.
    let err = c
        .networks
        .insert()
        .set_project(PROJECT)
        .set_request_id("7f1c2a8e-3b7d-4c59-9e0f-1a2b3c4d5e6f")
        .set_body(network("vpc"))
        .send()
        .await
        .expect_err("a new request id is a new insert");
    assert_eq!(code(&err), Some(Code::AlreadyExists));

    // Deletes too: the second one is not a 404 or a second operation.
    let delete = || {
        c.networks
            .delete()
            .set_project(PROJECT)
            .set_network("vpc")
            .set_request_id("8f1c2a8e-3b7d-4c59-9e0f-1a2b3c4d5e6f")
            .send()
    };
    let d1 = delete().await.expect("delete");
    let d2 = delete().await.expect("replayed delete");
    assert_eq!(d1.name, d2.name);
    assert_eq!(emu.request_counts()["compute.networks.insert"], 4);
    assert_eq!(emu.request_counts()["compute.networks.delete"], 2);

    // The id must be a UUID, and not the zero UUID.
    let http = reqwest::Client::new();
    for bad in ["not-a-uuid", "00000000-0000-0000-0000-000000000000"] {
        let (status, body) = raw(
            &http,
            reqwest::Method::POST,
            format!(
                "{}/compute/v1/projects/{PROJECT}/global/networks?requestId={bad}",
                emu.url()
            ),
            Some(json!({"name": "other", "autoCreateSubnetworks": false})),
        )
        .await;
        assert_eq!(status, 400, "{bad}: {body}");
    }
    emu.shutdown().await;

    // The ids survive a restart with the world.
    let emu = start(&dir).await;
    let c = clients(&emu.url()).await;
    let again = c
        .networks
        .delete()
        .set_project(PROJECT)
        .set_network("vpc")
        .set_request_id("8f1c2a8e-3b7d-4c59-9e0f-1a2b3c4d5e6f")
        .send()
        .await
        .expect("replayed delete after restart");
    assert_eq!(again.name, d1.name);
    emu.shutdown().await;
}

#[tokio::test]
async fn set_private_ip_google_access_flips_the_field_and_patch_refuses_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let emu = start(&dir).await;
    let c = clients(&emu.url()).await;
    create_network(&c, "vpc").await;
    create_subnet(&c, "us-central1", subnet("s", "vpc", "10.0.0.0/20"))
        .await
        .expect("subnet");
    let before = get_subnet(&c, "s").await;
    assert_eq!(before.private_ip_google_access, Some(false));

    let op = c
        .subnets
        .set_private_ip_google_access()
        .set_project(PROJECT)
        .set_region("us-central1")
        .set_subnetwork("s")
        .set_request_id(REQUEST_ID)
        .set_body(
            model::SubnetworksSetPrivateIpGoogleAccessRequest::new()
                .set_private_ip_google_access(true),
        )
        .send()
        .await
        .expect("setPrivateIpGoogleAccess");
    assert_eq!(
        op.operation_type.as_deref(),
        Some("setPrivateIpGoogleAccess")
    );
    let done = wait_region(&c, op).await;
    assert_eq!(done.status, Some(Status::Done));
    let after = get_subnet(&c, "s").await;
    assert_eq!(after.private_ip_google_access, Some(true));
    assert_ne!(after.fingerprint, before.fingerprint);
    assert_eq!(
        emu.request_counts()["compute.subnetworks.setPrivateIpGoogleAccess"],
        1
    );

    // patch cannot change it (400), but may send the current value.
    let patch = |on: bool| {
        c.subnets
            .patch()
            .set_project(PROJECT)
            .set_region("us-central1")
            .set_subnetwork("s")
            .set_body(
                model::Subnetwork::new()
                    .set_private_ip_google_access(on)
                    .set_fingerprint(after.fingerprint.clone().expect("fingerprint")),
            )
            .send()
    };
    let err = patch(false)
        .await
        .expect_err("patch of privateIpGoogleAccess");
    assert_eq!(err.http_status_code(), Some(400));
    assert!(
        format!("{err:?}").contains("cannot be modified: [privateIpGoogleAccess]"),
        "{err:?}"
    );
    let op = patch(true).await.expect("the current value is accepted");
    wait_region(&c, op).await;
    assert_eq!(
        get_subnet(&c, "s").await.private_ip_google_access,
        Some(true)
    );
    emu.shutdown().await;
}

#[tokio::test]
async fn network_patch_changes_routing_config_and_mtu_only() {
    let dir = tempfile::tempdir().expect("tempdir");
    let emu = start(&dir).await;
    let c = clients(&emu.url()).await;
    create_network(&c, "vpc").await;
    let patch = |body: model::Network| {
        c.networks
            .patch()
            .set_project(PROJECT)
            .set_network("vpc")
            .set_body(body)
            .send()
    };
    for (body, field) in [
        (
            model::Network::new().set_auto_create_subnetworks(true),
            "autoCreateSubnetworks",
        ),
        (model::Network::new().set_name("renamed"), "name"),
        (model::Network::new().set_description("new"), "description"),
    ] {
        let err = patch(body).await.expect_err(field);
        assert_eq!(err.http_status_code(), Some(400), "{field}");
        assert!(
            format!("{err:?}").contains(&format!("cannot be modified: [{field}]")),
            "{err:?}"
        );
    }
    let err = patch(model::Network::new().set_mtu(9000))
        .await
        .expect_err("mtu out of range");
    assert_eq!(err.http_status_code(), Some(400));

    // Sending unchanged immutable fields is fine; mtu and routingConfig change.
    let op = patch(
        network("vpc").set_mtu(1500).set_routing_config(
            model::NetworkRoutingConfig::new()
                .set_routing_mode(model::network_routing_config::RoutingMode::Global),
        ),
    )
    .await
    .expect("patch mtu and routing mode");
    c.global_ops
        .wait()
        .set_project(PROJECT)
        .set_operation(op.name.expect("name"))
        .send()
        .await
        .expect("wait");
    let net = c
        .networks
        .get()
        .set_project(PROJECT)
        .set_network("vpc")
        .send()
        .await
        .expect("get");
    assert_eq!(net.mtu, Some(1500));
    assert_eq!(
        net.routing_config.and_then(|r| r.routing_mode),
        Some(model::network_routing_config::RoutingMode::Global)
    );
    emu.shutdown().await;
}

#[tokio::test]
async fn done_operations_and_their_request_ids_are_pruned_after_the_retention() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = EmulatorConfig::new(dir.path());
    config.latency_scale = 0.001;
    config.operation_retention = std::time::Duration::from_millis(300);
    let emu = Emulator::start(config, listen()).await.expect("start");
    let c = clients(&emu.url()).await;
    let op = c
        .networks
        .insert()
        .set_project(PROJECT)
        .set_request_id(REQUEST_ID)
        .set_body(network("vpc"))
        .send()
        .await
        .expect("insert");
    let name = op.name.expect("name");
    c.global_ops
        .wait()
        .set_project(PROJECT)
        .set_operation(&name)
        .send()
        .await
        .expect("wait");
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;

    let err = c
        .global_ops
        .get()
        .set_project(PROJECT)
        .set_operation(&name)
        .send()
        .await
        .expect_err("pruned");
    assert_eq!(code(&err), Some(Code::NotFound));
    let world = std::fs::read_to_string(dir.path().join("world.json")).expect("world.json");
    assert!(!world.contains(&name), "dropped from world.json too");
    assert!(!world.contains(REQUEST_ID));
    // A replay after the window is a new request.
    let err = c
        .networks
        .insert()
        .set_project(PROJECT)
        .set_request_id(REQUEST_ID)
        .set_body(network("vpc"))
        .send()
        .await
        .expect_err("a new insert");
    assert_eq!(code(&err), Some(Code::AlreadyExists));
    assert_eq!(emu.resource_names(), vec!["networks/vpc"]);
    emu.shutdown().await;
}

#[tokio::test]
async fn a_wait_stops_when_its_client_disconnects() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = EmulatorConfig::new(dir.path());
    config.latency_scale = 1.0; // network insert: 12 s
    let emu = Emulator::start(config, listen()).await.expect("start");
    let c = clients(&emu.url()).await;
    let op = c
        .networks
        .insert()
        .set_project(PROJECT)
        .set_body(network("vpc"))
        .send()
        .await
        .expect("insert");
    let http = reqwest::Client::builder()
        .timeout(std::time::Duration::from_millis(300))
        .build()
        .expect("client");
    let url = format!(
        "{}/compute/v1/projects/{PROJECT}/global/operations/{}/wait",
        emu.url(),
        op.name.expect("name")
    );
    let waiting = tokio::spawn(async move { http.post(url).send().await });
    tokio::time::sleep(std::time::Duration::from_millis(150)).await;
    assert_eq!(emu.waits_in_flight(), 1);
    let gave_up = waiting.await.expect("task");
    assert!(gave_up.is_err_and(|e| e.is_timeout()));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
    while emu.waits_in_flight() > 0 && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(emu.waits_in_flight(), 0, "the handler was dropped");
    emu.shutdown().await;
}

/// A subnet made quickly, then deleted on an emulator restarted with real
/// latencies (a subnet delete takes 14 s), so the delete is still in flight.
#[tokio::test]
async fn operations_list_with_a_target_link_filter_finds_the_running_delete() {
    let dir = tempfile::tempdir().expect("tempdir");
    let emu = start(&dir).await;
    let c = clients(&emu.url()).await;
    create_network(&c, "vpc").await;
    create_subnet(&c, "us-central1", subnet("s", "vpc", "10.0.0.0/20"))
        .await
        .expect("subnet");
    emu.shutdown().await;
    let mut config = EmulatorConfig::new(dir.path());
    config.latency_scale = 1.0;
    let emu = Emulator::start(config, listen()).await.expect("restart");
    let c = clients(&emu.url()).await;
    let zone_ops = official_client!(ZoneOperations, &emu.url());
    let deleting = c
        .subnets
        .delete()
        .set_project(PROJECT)
        .set_region("us-central1")
        .set_subnetwork("s")
        .send()
        .await
        .expect("delete");

    let subnet_link = format!(
        "https://www.googleapis.com/compute/v1/projects/{PROJECT}/regions/us-central1/subnetworks/s"
    );
    let list = |filter: String| {
        c.region_ops
            .list()
            .set_project(PROJECT)
            .set_region("us-central1")
            .set_filter(filter)
            .send()
    };
    let summary = |l: &model::OperationList| -> Vec<(Option<String>, bool)> {
        l.items
            .iter()
            .map(|o| (o.operation_type.clone(), o.status == Some(Status::Done)))
            .collect()
    };
    let on_subnet = list(format!("targetLink = \"{subnet_link}\""))
        .await
        .expect("list");
    assert_eq!(on_subnet.kind.as_deref(), Some("compute#operationList"));
    assert_eq!(
        summary(&on_subnet),
        [
            (Some("insert".into()), true),
            (Some("delete".into()), false)
        ]
    );
    let running = list(format!("(targetLink = \"{subnet_link}\") (status != DONE)"))
        .await
        .expect("list");
    assert_eq!(running.items.len(), 1);
    assert_eq!(running.items[0].name, deleting.name);
    assert_eq!(
        running.items[0].self_link, deleting.self_link,
        "rendered as operations.get renders it"
    );
    let deletes = list("operationType = delete".into()).await.expect("list");
    assert_eq!(summary(&deletes), [(Some("delete".into()), false)]);

    // Pages, and the other scopes.
    let first = c
        .region_ops
        .list()
        .set_project(PROJECT)
        .set_region("us-central1")
        .set_max_results(1_u32)
        .send()
        .await
        .expect("page 1");
    assert_eq!(first.items.len(), 1);
    let token = first.next_page_token.expect("a second page");
    let second = c
        .region_ops
        .list()
        .set_project(PROJECT)
        .set_region("us-central1")
        .set_max_results(1_u32)
        .set_page_token(token)
        .send()
        .await
        .expect("page 2");
    assert_eq!(second.items[0].name, deleting.name);
    assert!(second.next_page_token.is_none());
    let global = c
        .global_ops
        .list()
        .set_project(PROJECT)
        .send()
        .await
        .expect("global list");
    assert_eq!(summary(&global), [(Some("insert".into()), true)]);
    let zonal = zone_ops
        .list()
        .set_project(PROJECT)
        .set_zone("us-central1-a")
        .send()
        .await
        .expect("zone list");
    assert!(zonal.items.is_empty());
    let unknown = zone_ops
        .list()
        .set_project(PROJECT)
        .set_zone("mars-1a")
        .send()
        .await;
    assert_eq!(unknown.err().as_ref().and_then(code), Some(Code::NotFound));

    let pending = emu.pending_operations();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].operation_type, "delete");
    assert_eq!(
        pending[0].target,
        format!("projects/{PROJECT}/regions/us-central1/subnetworks/s")
    );
    assert_eq!(Some(&pending[0].name), deleting.name.as_ref());
    assert_eq!(pending[0].scope, "regions/us-central1");
    let counts = emu.request_counts();
    assert_eq!(counts.get("compute.regionOperations.list"), Some(&5));
    emu.shutdown().await;
}

/// The `google.rpc.ErrorInfo` of a service error: reason, domain and metadata.
fn error_info(
    err: &google_cloud_gax::error::Error,
) -> Option<(String, String, std::collections::HashMap<String, String>)> {
    err.status()?.details.iter().find_map(|d| match d {
        google_cloud_gax::error::rpc::StatusDetails::ErrorInfo(i) => {
            Some((i.reason.clone(), i.domain.clone(), i.metadata.clone()))
        }
        _ => None,
    })
}

#[tokio::test]
async fn a_disabled_compute_api_and_a_missing_project_answer_like_google() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = EmulatorConfig::new(dir.path());
    config.disabled_services = vec!["compute.googleapis.com".into()];
    config.missing_projects = vec!["ghost-project".into()];
    let emu = Emulator::start(config, listen()).await.expect("start");
    let c = clients(&emu.url()).await;

    let err = c
        .networks
        .get()
        .set_project(PROJECT)
        .set_network("vpc")
        .send()
        .await
        .expect_err("the API is disabled");
    let status = err.status().expect("a service error");
    assert_eq!(status.code, Code::PermissionDenied);
    assert!(
        status.message.starts_with(&format!(
            "Compute Engine API has not been used in project {PROJECT} before or it is disabled. Enable it by visiting https://console.developers.google.com/apis/api/compute.googleapis.com/overview?project={PROJECT} then retry."
        )),
        "{}",
        status.message
    );
    let (reason, domain, metadata) = error_info(&err).expect("ErrorInfo");
    assert_eq!(
        (reason.as_str(), domain.as_str()),
        ("SERVICE_DISABLED", "googleapis.com")
    );
    assert_eq!(
        metadata.get("service").map(String::as_str),
        Some("compute.googleapis.com")
    );
    assert_eq!(
        metadata.get("consumer"),
        Some(&format!("projects/{PROJECT}"))
    );

    let (status, body) = raw(
        &reqwest::Client::new(),
        reqwest::Method::POST,
        format!(
            "{}/compute/v1/projects/{PROJECT}/global/networks",
            emu.url()
        ),
        Some(json!({"name": "vpc"})),
    )
    .await;
    assert_eq!(status, 403);
    let e = &body["error"];
    assert_eq!(e["status"], "PERMISSION_DENIED");
    assert_eq!(e["errors"][0]["reason"], "accessNotConfigured");
    assert_eq!(e["errors"][0]["domain"], "usageLimits");
    assert_eq!(e["errors"][0]["message"], e["message"]);
    assert_eq!(e["details"][0]["reason"], "SERVICE_DISABLED");

    let missing = c
        .networks
        .list()
        .set_project("ghost-project")
        .send()
        .await
        .expect_err("no such project");
    let status = missing.status().expect("a service error");
    assert_eq!(status.code, Code::NotFound);
    assert_eq!(
        status.message,
        "The resource 'projects/ghost-project' was not found"
    );
    assert!(emu.resource_names().is_empty());
    emu.shutdown().await;
}

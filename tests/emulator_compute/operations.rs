//! Operations: latencies, `wait`, `requestId` replays, retention, listing
//! with filters, and a world that outlives a restart.

use google_cloud_compute_v1::client::ZoneOperations;
use google_cloud_compute_v1::model::{self, operation::Status};
use google_cloud_gax::error::rpc::Code;
use meshform::emulator::{base_duration, Emulator, EmulatorConfig};
use serde_json::json;

use crate::common::listen;

use crate::support::*;

#[test]
fn base_durations_reflect_real_relative_latencies() {
    assert!(base_duration("instances", "insert") > base_duration("subnetworks", "insert"));
    assert!(base_duration("subnetworks", "insert") > base_duration("networks", "insert"));
    assert!(base_duration("networks", "insert") > base_duration("routers", "insert"));
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

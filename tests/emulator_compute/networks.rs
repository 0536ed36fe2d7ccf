//! Networks: insert, wait, get, list, and what `patch` may change.

use google_cloud_compute_v1::model::{self, operation::Status};
use google_cloud_gax::error::rpc::Code;
use meshform::emulator::{Emulator, EmulatorConfig};

use crate::common::listen;

use crate::support::*;

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

//! What the world refuses because of other resources: duplicates, overlaps,
//! and deleting what another resource uses.

use google_cloud_compute_v1::model;
use google_cloud_gax::error::rpc::Code;

use crate::support::*;

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

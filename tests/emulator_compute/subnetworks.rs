//! Subnetworks: insert, get, the fingerprint-guarded patch, and
//! `setPrivateIpGoogleAccess`.

use google_cloud_compute_v1::model::{self, operation::Status};
use google_cloud_gax::error::rpc::Code;

use crate::support::*;

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

//! GKE's L4 ILB controller: an internal LoadBalancer Service of an emulated
//! cluster gets an address in the cluster's subnet and the five compute
//! pieces with GKE's names; changes follow; deleting the Service deletes
//! them before the Service goes; deleting the cluster leaves them.

use std::time::Duration;

use k8s_openapi::api::core::v1::{Namespace, Service};
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::common::gke::{cluster, eventually_ingress};
use crate::support::*;

/// ingress-gce's `ContentHash`, written again here as a check.
fn content_hash(s: &str, n: usize) -> String {
    let chars: Vec<char> = "0123456789abcdefghijklmnopqrstuvwxyz".chars().collect();
    Sha256::digest(s.as_bytes())[..n]
        .iter()
        .map(|b| chars[usize::from(*b) % 36])
        .collect()
}

async fn get(http: &reqwest::Client, base: &str, path: &str) -> (u16, Value) {
    let url = format!("{base}/compute/v1/projects/{PROJECT}/{path}");
    raw(http, reqwest::Method::GET, url, None).await
}

/// Polls `check` every 20 ms for up to 10 s.
async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..500 {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("timed out waiting for {what}");
}

fn service(name: &str, global_access: &str, ranges: Value) -> Service {
    crate::common::gke::internal_lb_service(name, global_access, ranges)
}

#[tokio::test]
async fn an_internal_load_balancer_service_gets_gke_pieces_that_go_before_it_and_outlive_the_cluster(
) {
    let dir = tempfile::tempdir().expect("tempdir");
    let emu = start(&dir).await;
    let base = emu.url();
    let c = clients(&base).await;
    let http = reqwest::Client::new();
    create_network(&c, "vpc").await;
    let ranges = [("pods", "10.16.32.0/20"), ("services", "172.16.5.0/24")].map(|(n, r)| {
        google_cloud_compute_v1::model::SubnetworkSecondaryRange::new()
            .set_range_name(n)
            .set_ip_cidr_range(r)
    });
    create_subnet(
        &c,
        "europe-west2",
        subnet("eu", "vpc", "172.20.0.0/20").set_secondary_ip_ranges(ranges),
    )
    .await
    .expect("subnet");
    let (gke, kube) = cluster(&base, PROJECT).await;

    let uid = Api::<Namespace>::all(kube.clone())
        .get("kube-system")
        .await
        .expect("kube-system")
        .metadata
        .uid
        .expect("uid");
    let uid8 = content_hash(&uid, 8);
    let hash8 = content_hash(&format!("{uid8};default;gw"), 8);
    let backend = format!("k8s2-{uid8}-default-gw-{hash8}");
    let rule = format!("k8s2-tcp-{uid8}-default-gw-{hash8}");
    let hc = format!("k8s2-{uid8}-l4-shared-hc");

    let services = Api::<Service>::namespaced(kube.clone(), "default");
    services
        .create(
            &PostParams::default(),
            &service("gw", "true", json!(["172.21.0.0/20"])),
        )
        .await
        .expect("create service");
    let (ip, meta) = eventually_ingress(&services, "gw").await;
    assert_eq!(
        meta.finalizers,
        Some(vec!["gke.networking.io/l4-ilb-v2".to_string()])
    );
    let a = meta.annotations.expect("annotations");
    assert_eq!(a["service.kubernetes.io/tcp-forwarding-rule"], rule);
    assert_eq!(a["service.kubernetes.io/backend-service"], backend);
    assert_eq!(a["service.kubernetes.io/firewall-rule"], backend);
    assert_eq!(a["service.kubernetes.io/healthcheck"], hc);
    assert_eq!(
        a["service.kubernetes.io/firewall-rule-for-hc"],
        format!("{hc}-fw")
    );
    let subnet_range: ipnet::Ipv4Net = "172.20.0.0/20".parse().unwrap();
    assert!(
        subnet_range.contains(&ip.parse::<std::net::Ipv4Addr>().expect("ip")),
        "{ip}"
    );

    let fr_path = format!("regions/europe-west2/forwardingRules/{rule}");
    let (status, fr) = get(&http, &base, &fr_path).await;
    assert_eq!(status, 200, "{fr}");
    assert_eq!(fr["IPAddress"], ip);
    assert_eq!(fr["allowGlobalAccess"], true);
    assert_eq!(fr["loadBalancingScheme"], "INTERNAL");
    assert_eq!(fr["ports"], json!(["15443", "15021"]));
    assert!(fr["subnetwork"]
        .as_str()
        .unwrap()
        .ends_with("/regions/europe-west2/subnetworks/eu"));
    assert!(fr["description"]
        .as_str()
        .unwrap()
        .contains("\"networking.gke.io/service-name\":\"default/gw\""));
    let (status, bs) = get(
        &http,
        &base,
        &format!("regions/europe-west2/backendServices/{backend}"),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(bs["kind"], "compute#backendService");
    assert!(bs["backends"][0]["group"]
        .as_str()
        .unwrap()
        .ends_with(&format!(
            "/zones/europe-west2-a/networkEndpointGroups/{backend}"
        )));
    let (status, neg) = get(
        &http,
        &base,
        &format!("zones/europe-west2-a/networkEndpointGroups/{backend}"),
    )
    .await;
    assert_eq!(
        (status, neg["networkEndpointType"].as_str()),
        (200, Some("GCE_VM_IP"))
    );
    let (status, check) = get(&http, &base, &format!("global/healthChecks/{hc}")).await;
    assert_eq!(status, 200);
    assert_eq!(check["httpHealthCheck"]["port"], 10256);
    assert_eq!(check["checkIntervalSec"], 8);
    let (_, hc_fw) = get(&http, &base, &format!("global/firewalls/{hc}-fw")).await;
    assert_eq!(
        hc_fw["sourceRanges"],
        json!([
            "130.211.0.0/22",
            "35.191.0.0/16",
            "209.85.152.0/22",
            "209.85.204.0/22"
        ])
    );
    let node_tag = format!("gke-c1-{}-node", &gke["id"].as_str().unwrap()[..8]);
    let (_, fw) = get(&http, &base, &format!("global/firewalls/{backend}")).await;
    assert_eq!(fw["sourceRanges"], json!(["172.21.0.0/20"]));
    assert_eq!(fw["targetTags"], json!([node_tag]));
    assert_eq!(
        fw["allowed"],
        json!([{"IPProtocol": "tcp", "ports": ["15443", "15021"]}])
    );

    // "True" is not "true": global access goes; empty source ranges mean everyone.
    let patch = json!({"metadata": {"annotations": {
        "networking.gke.io/internal-load-balancer-allow-global-access": "True"}},
        "spec": {"loadBalancerSourceRanges": null}});
    services
        .patch("gw", &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .expect("patch");
    eventually("global access off and open sources", || async {
        let (_, fr) = get(&http, &base, &fr_path).await;
        let (_, fw) = get(&http, &base, &format!("global/firewalls/{backend}")).await;
        fr["allowGlobalAccess"] != true && fw["sourceRanges"] == json!(["0.0.0.0/0"])
    })
    .await;
    let (_, fr) = get(&http, &base, &fr_path).await;
    assert_eq!(fr["IPAddress"], ip, "the address stays");

    // Deleting the Service: it waits for its load balancer to go.
    let deleting = services
        .delete("gw", &DeleteParams::default())
        .await
        .expect("delete");
    let marked = deleting.left().expect("object");
    assert!(marked.metadata.deletion_timestamp.is_some());
    eventually("the service to go", || async {
        services.get_opt("gw").await.expect("get").is_none()
    })
    .await;
    for path in [
        fr_path.clone(),
        format!("regions/europe-west2/backendServices/{backend}"),
        format!("zones/europe-west2-a/networkEndpointGroups/{backend}"),
        format!("global/firewalls/{backend}"),
        format!("global/healthChecks/{hc}"),
        format!("global/firewalls/{hc}-fw"),
    ] {
        assert_eq!(get(&http, &base, &path).await.0, 404, "{path}");
    }

    // A Service left when the cluster goes keeps its pieces, and the network its users.
    services
        .create(&PostParams::default(), &service("gw", "true", json!([])))
        .await
        .expect("create again");
    eventually("the forwarding rule", || async {
        get(&http, &base, &fr_path).await.0 == 200
    })
    .await;
    let url = format!("{base}/v1/projects/{PROJECT}/locations/europe-west2-a/clusters/c1");
    let (status, _) = raw(&http, reqwest::Method::DELETE, url.clone(), None).await;
    assert_eq!(status, 200);
    eventually("the cluster to go", || async {
        raw(&http, reqwest::Method::GET, url.clone(), None).await.0 == 404
    })
    .await;
    assert_eq!(get(&http, &base, &fr_path).await.0, 200, "left behind");
    let (status, body) = raw(
        &http,
        reqwest::Method::DELETE,
        format!("{base}/compute/v1/projects/{PROJECT}/global/networks/vpc"),
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

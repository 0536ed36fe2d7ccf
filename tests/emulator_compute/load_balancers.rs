//! The load-balancer collections GKE's service controller uses: health
//! checks, network endpoint groups, regional backend services (and
//! forwarding rules), written over raw HTTP and read with Google's client;
//! what each refuses to delete while another uses it.

use google_cloud_compute_v1::client::{
    ForwardingRules, HealthChecks, NetworkEndpointGroups, RegionBackendServices,
};
use serde_json::{json, Value};

use crate::support::*;

/// POSTs `body` to `path` (under the project) and waits for its operation.
async fn insert(http: &reqwest::Client, base: &str, path: &str, body: Value) -> (u16, Value) {
    let url = format!("{base}/compute/v1/projects/{PROJECT}/{path}");
    let (status, op) = raw(http, reqwest::Method::POST, url, Some(body)).await;
    if status != 200 {
        return (status, op);
    }
    wait_op(http, &op).await
}

async fn wait_op(http: &reqwest::Client, op: &Value) -> (u16, Value) {
    let link = op["selfLink"].as_str().expect("operation link");
    let (status, done) = raw(http, reqwest::Method::POST, format!("{link}/wait"), None).await;
    assert_eq!(done["status"], "DONE", "{done}");
    (status, done)
}

async fn delete(http: &reqwest::Client, base: &str, path: &str) -> (u16, Value) {
    let url = format!("{base}/compute/v1/projects/{PROJECT}/{path}");
    let (status, op) = raw(http, reqwest::Method::DELETE, url, None).await;
    if status != 200 {
        return (status, op);
    }
    wait_op(http, &op).await
}

fn reason(body: &Value) -> &str {
    body["error"]["errors"][0]["reason"].as_str().unwrap_or("")
}

#[tokio::test]
async fn backend_services_health_checks_and_negs_are_served_and_kept_while_used() {
    let dir = tempfile::tempdir().expect("tempdir");
    let emu = start(&dir).await;
    let base = emu.url();
    let c = clients(&base).await;
    let http = reqwest::Client::new();
    create_network(&c, "vpc").await;
    create_subnet(&c, "us-central1", subnet("us", "vpc", "172.21.0.0/20"))
        .await
        .expect("subnet");

    let hc = json!({"name": "hc", "type": "HTTP",
        "httpHealthCheck": {"port": 10256, "requestPath": "/healthz"}, "checkIntervalSec": 8});
    assert_eq!(
        insert(&http, &base, "global/healthChecks", hc.clone())
            .await
            .0,
        200
    );
    let (status, dup) = insert(&http, &base, "global/healthChecks", hc).await;
    assert_eq!((status, reason(&dup)), (409, "alreadyExists"));

    let neg = json!({"name": "neg", "networkEndpointType": "GCE_VM_IP",
        "network": "global/networks/vpc", "subnetwork": "regions/us-central1/subnetworks/us"});
    let (status, _) = insert(
        &http,
        &base,
        "zones/us-central1-a/networkEndpointGroups",
        neg,
    )
    .await;
    assert_eq!(status, 200);

    let missing_hc = json!({"name": "bs", "loadBalancingScheme": "INTERNAL", "protocol": "TCP",
        "healthChecks": ["global/healthChecks/nope"]});
    let (status, _) = insert(
        &http,
        &base,
        "regions/us-central1/backendServices",
        missing_hc,
    )
    .await;
    assert_eq!(status, 404);
    let bad_ref = json!({"name": "bs", "loadBalancingScheme": "INTERNAL",
        "healthChecks": ["not a link"]});
    let (status, _) = insert(&http, &base, "regions/us-central1/backendServices", bad_ref).await;
    assert_eq!(status, 400);
    let bs = json!({"name": "bs", "loadBalancingScheme": "INTERNAL", "protocol": "TCP",
        "network": "global/networks/vpc",
        "healthChecks": ["global/healthChecks/hc"],
        "backends": [{"group": "zones/us-central1-a/networkEndpointGroups/neg"}]});
    let (status, done) = insert(&http, &base, "regions/us-central1/backendServices", bs).await;
    assert_eq!(status, 200, "{done}");
    let fr = json!({"name": "fr", "loadBalancingScheme": "INTERNAL", "IPProtocol": "TCP",
        "ports": ["15443"], "subnetwork": "regions/us-central1/subnetworks/us",
        "backendService": "regions/us-central1/backendServices/bs", "allowGlobalAccess": true});
    assert_eq!(
        insert(&http, &base, "regions/us-central1/forwardingRules", fr)
            .await
            .0,
        200
    );

    // Google's client reads every one of them.
    let backend_services: RegionBackendServices = official_client!(RegionBackendServices, &base);
    let got = backend_services
        .get()
        .set_project(PROJECT)
        .set_region("us-central1")
        .set_backend_service("bs")
        .send()
        .await
        .expect("get backend service");
    assert_eq!(got.health_checks.len(), 1);
    assert!(got
        .self_link
        .as_deref()
        .is_some_and(|l| l.ends_with("/regions/us-central1/backendServices/bs")));
    assert!(got.backends[0]
        .group
        .as_deref()
        .is_some_and(|g| g.ends_with("/networkEndpointGroups/neg")));
    let checks: HealthChecks = official_client!(HealthChecks, &base);
    let list = checks
        .list()
        .set_project(PROJECT)
        .send()
        .await
        .expect("list hcs");
    assert_eq!(list.items.len(), 1);
    assert_eq!(list.items[0].check_interval_sec, Some(8));
    let negs: NetworkEndpointGroups = official_client!(NetworkEndpointGroups, &base);
    let agg = negs
        .aggregated_list()
        .set_project(PROJECT)
        .send()
        .await
        .expect("aggregated negs");
    let in_zone = &agg.items["zones/us-central1-a"];
    assert_eq!(in_zone.network_endpoint_groups.len(), 1);
    let rules: ForwardingRules = official_client!(ForwardingRules, &base);
    let rule = rules
        .get()
        .set_project(PROJECT)
        .set_region("us-central1")
        .set_forwarding_rule("fr")
        .send()
        .await
        .expect("get rule");
    assert_eq!(rule.allow_global_access, Some(true));
    let (status, agg) = raw(
        &http,
        reqwest::Method::GET,
        format!("{base}/compute/v1/projects/{PROJECT}/aggregated/backendServices"),
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        agg["items"]["regions/us-central1"]["backendServices"][0]["name"],
        "bs"
    );

    // Used things cannot go; in order, everything can.
    for path in [
        "global/healthChecks/hc",
        "zones/us-central1-a/networkEndpointGroups/neg",
        "regions/us-central1/backendServices/bs",
        "global/networks/vpc",
        "regions/us-central1/subnetworks/us",
    ] {
        let (status, body) = delete(&http, &base, path).await;
        assert_eq!(
            (status, reason(&body)),
            (400, "resourceInUseByAnotherResource"),
            "{path}"
        );
    }
    for path in [
        "regions/us-central1/forwardingRules/fr",
        "regions/us-central1/backendServices/bs",
        "global/healthChecks/hc",
        "zones/us-central1-a/networkEndpointGroups/neg",
        "regions/us-central1/subnetworks/us",
        "global/networks/vpc",
    ] {
        assert_eq!(delete(&http, &base, path).await.0, 200, "{path}");
    }
    let (status, _) = delete(&http, &base, "global/healthChecks/hc").await;
    assert_eq!(status, 404);
}

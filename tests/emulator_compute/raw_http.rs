//! Requests the official client cannot send wrong, over raw HTTP: bad
//! bodies, and the collections meshform reaches that way (forwarding rules,
//! instances).

use serde_json::{json, Value};

use crate::support::*;

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

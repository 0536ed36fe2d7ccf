//! `meshform verify` on the emulator: it passes on the tutorial's mesh and
//! the three-region mesh, and fails, naming the reason, when something the
//! mesh depends on is broken behind meshform's back (by gcloud, or by a
//! Kubernetes client other than meshform's); `apply` then repairs what it
//! manages and verify passes again.

mod common;

use common::gcloud::Gcloud;
use common::World;
use k8s_openapi::api::core::v1::{Secret, Service};
use kube::api::{Api, DeleteParams, Patch, PatchParams};
use serde_json::{json, Value};

/// `verify --json`, expecting exit `code`.
async fn verify(w: &World, code: i32) -> Value {
    let out = w.run(&["verify", "--json"]).await.expect(code).stdout();
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"))
}

/// The failed checks as `(subject, check, why)`.
fn failures(report: &Value) -> Vec<(String, String, String)> {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["result"] == "fail")
        .map(|c| {
            (
                c["subject"].as_str().unwrap().to_string(),
                c["check"].as_str().unwrap().to_string(),
                c["why"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// Asserts that exactly the checks `(subject, check)` fail, each with a
/// reason containing its text.
fn assert_fails(report: &Value, expected: &[(&str, &str, &str)]) {
    let found = failures(report);
    assert_eq!(
        found.len(),
        expected.len(),
        "failures: {found:#?}\nexpected: {expected:#?}"
    );
    for (subject, check, why) in expected {
        assert!(
            found
                .iter()
                .any(|(s, c, w)| s == subject && c == check && w.contains(why)),
            "no failure ({subject}, {check}, …{why}…) in {found:#?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_passes_on_the_tutorial_and_names_what_breaks() {
    let w = World::new("tutorial.toml").await;
    w.run(&["apply", "--auto-approve"]).await.expect(0);

    // Every check passes; the table names each of them.
    let table = w.run(&["verify"]).await.expect(0).stdout();
    for shown in [
        "CLUSTER / PAIR",
        "istio-cluster1 -> istio-cluster2",
        "cluster running",
        "istiod",
        "plugged-in ca",
        "cacerts chain",
        "intermediate expiry",
        "gateway address",
        "gateway annotations",
        "gateway global access",
        "webhook firewall",
        "gateway firewall",
        "control plane access",
        "remote secret",
        "path to gateway",
        "path to control plane",
        "FROM             TO               TARGET",
        "DECIDED BY",
        "samples",
        "Verify: 30 passed, 0 failed.",
    ] {
        assert!(table.contains(shown), "verify lacks {shown:?}\n{table}");
    }
    let report = verify(&w, 0).await;
    assert_eq!(report["passed"], 30, "{report:#}");
    assert!(report.get("traffic").is_none(), "traffic without --traffic");
    // --traffic: on the emulator the verdict is modelled, and says so.
    let table = w.run(&["verify", "--traffic"]).await.expect(0).stdout();
    for shown in [
        "On the emulator no real traffic flows",
        "http://httpbin-istio-cluster2.sample.svc.cluster.local:8000/status/200   modelled 200",
        "Verify: 32 passed, 0 failed.",
    ] {
        assert!(
            table.contains(shown),
            "verify --traffic lacks {shown:?}\n{table}"
        );
    }
    let all = report.to_string();
    assert!(!all.contains("eyJ"), "a token in verify's output");
    // The path table: the pods of each cluster reach the peer's gateway
    // through its forwarding rule, allowed by GKE's rule for the Service,
    // and the peer's control plane over the peering route.
    let paths = report["paths"].as_array().unwrap();
    assert_eq!(paths.len(), 4, "{report:#}");
    let to_eu_gateway = paths
        .iter()
        .find(|p| {
            p["from"] == "istio-cluster2" && p["target"].as_str().unwrap().starts_with("gateway")
        })
        .unwrap();
    assert_eq!(to_eu_gateway["result"], "reachable");
    assert!(
        to_eu_gateway["decided_by"]
            .as_str()
            .unwrap()
            .starts_with("firewall k8s2-"),
        "{to_eu_gateway:#}"
    );
    let hops: Vec<&str> = to_eu_gateway["hops"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h.as_str().unwrap())
        .collect();
    assert_eq!(hops[0], "pod range 10.16.48.0/20");
    assert!(hops[2].starts_with("route 172.20.0.0/20"), "{hops:?}");
    assert!(hops[3].starts_with("forwarding rule k8s2-tcp-"), "{hops:?}");
    let eu_gateway = to_eu_gateway["target"].as_str().unwrap()["gateway ".len()..]
        .trim_end_matches(":15443")
        .to_string();
    let to_us_control_plane = paths
        .iter()
        .find(|p| p["from"] == "istio-cluster1" && p["target"] == "control plane :443")
        .unwrap();
    assert_eq!(to_us_control_plane["result"], "reachable");
    assert!(to_us_control_plane["hops"]
        .to_string()
        .contains("route 172.16.0.64/28"));

    let gcloud = Gcloud::new(&w.emulator.url());
    // verify deleted its Connectivity Tests.
    let left = gcloud
        .json(&[
            "network-management",
            "connectivity-tests",
            "list",
            "--format=json",
        ])
        .await;
    assert_eq!(left, json!([]), "verify left connectivity tests behind");
    // gcloud, a second client of the same API, gets the same answer.
    let ask_gcloud = |name: &'static str| {
        let eu_gateway = eu_gateway.clone();
        let gcloud = &gcloud;
        async move {
            gcloud
                .ok(&[
                    "network-management",
                    "connectivity-tests",
                    "create",
                    name,
                    "--source-ip-address",
                    "10.16.48.2",
                    "--source-network",
                    "projects/meshform-demo/global/networks/cross-region-vpc",
                    "--destination-ip-address",
                    &eu_gateway,
                    "--destination-port",
                    "15443",
                    "--destination-network",
                    "projects/meshform-demo/global/networks/cross-region-vpc",
                    "--protocol",
                    "TCP",
                ])
                .await;
            let test = gcloud
                .json(&[
                    "network-management",
                    "connectivity-tests",
                    "describe",
                    name,
                    "--format=json",
                ])
                .await;
            gcloud
                .ok(&[
                    "network-management",
                    "connectivity-tests",
                    "delete",
                    name,
                    "--quiet",
                ])
                .await;
            test
        }
    };
    let test = ask_gcloud("by-gcloud").await;
    assert_eq!(
        test["reachabilityDetails"]["result"], "REACHABLE",
        "{test:#}"
    );
    let eu = w.kube_admin("europe-west2-a", "istio-cluster1").await;

    // 1. A higher-priority deny rule on 15443 from cluster2's pods.
    gcloud
        .ok(&[
            "compute",
            "firewall-rules",
            "create",
            "block-mesh",
            "--network",
            "cross-region-vpc",
            "--priority",
            "900",
            "--action",
            "DENY",
            "--rules",
            "tcp:15443",
            "--source-ranges",
            "10.16.48.0/20",
        ])
        .await;
    let report = verify(&w, 1).await;
    assert_fails(
        &report,
        &[
            (
                "istio-cluster2 -> istio-cluster1",
                "gateway firewall",
                "denied by block-mesh (priority 900)",
            ),
            (
                "istio-cluster2 -> istio-cluster1",
                "path to gateway",
                "unreachable: firewall block-mesh (deny, priority 900)",
            ),
        ],
    );
    // The modelled request from cluster2 to cluster1 now fails, naming why.
    let out = w
        .run(&["verify", "--traffic", "--json"])
        .await
        .expect(1)
        .stdout();
    let report: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["traffic_modelled"], true);
    let traffic = report["traffic"].as_array().unwrap();
    let blocked = traffic
        .iter()
        .find(|r| r["from"] == "istio-cluster2")
        .unwrap();
    assert_eq!(blocked["ok"], false);
    assert_eq!(blocked["status"], "modelled failure");
    assert!(
        blocked["note"]
            .as_str()
            .unwrap()
            .contains("path to gateway of istio-cluster2 -> istio-cluster1 failed"),
        "{blocked:#}"
    );
    let open = traffic
        .iter()
        .find(|r| r["from"] == "istio-cluster1")
        .unwrap();
    assert_eq!(open["status"], "modelled 200");
    let test = ask_gcloud("by-gcloud-blocked").await;
    assert_eq!(
        test["reachabilityDetails"]["result"], "UNREACHABLE",
        "{test:#}"
    );
    let steps = test["reachabilityDetails"]["traces"][0]["steps"]
        .as_array()
        .unwrap();
    let last = steps.last().unwrap();
    assert_eq!(last["drop"]["cause"], "FIREWALL_RULE", "{test:#}");
    assert_eq!(
        steps[steps.len() - 2]["firewall"]["displayName"],
        "block-mesh"
    );
    gcloud
        .ok(&[
            "compute",
            "firewall-rules",
            "delete",
            "block-mesh",
            "--quiet",
        ])
        .await;

    // 2. The global-access annotation written "True": GKE reads only
    //    "true", so the load balancer loses global access too.
    let services: Api<Service> = Api::namespaced(eu.clone(), "istio-system");
    let annotate = |value: &'static str| {
        json!({"metadata": {"annotations": {
            "networking.gke.io/internal-load-balancer-allow-global-access": value
        }}})
    };
    services
        .patch(
            "istio-eastwestgateway",
            &PatchParams::default(),
            &Patch::Merge(annotate("True")),
        )
        .await
        .unwrap();
    let mut report = verify(&w, 1).await;
    for _ in 0..50 {
        if failures(&report).len() == 3 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        report = verify(&w, 1).await;
    }
    assert_fails(
        &report,
        &[
            ("istio-cluster1", "gateway annotations", "\"True\""),
            (
                "istio-cluster1",
                "gateway global access",
                "does not allow global access",
            ),
            (
                "istio-cluster2 -> istio-cluster1",
                "path to gateway",
                "FORWARDING_RULE_REGION_MISMATCH",
            ),
        ],
    );
    services
        .patch(
            "istio-eastwestgateway",
            &PatchParams::default(),
            &Patch::Merge(annotate("true")),
        )
        .await
        .unwrap();

    // 3. A peer's pod range taken out of the authorized networks.
    gcloud
        .ok(&[
            "container",
            "clusters",
            "update",
            "istio-cluster2",
            "--zone",
            "us-central1-a",
            "--enable-master-authorized-networks",
            "--master-authorized-networks",
            "172.20.0.0/20,172.21.0.0/20",
        ])
        .await;
    let mut report = verify(&w, 1).await;
    for _ in 0..50 {
        if failures(&report).len() == 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        report = verify(&w, 1).await;
    }
    assert_fails(
        &report,
        &[
            (
                "istio-cluster1 -> istio-cluster2",
                "control plane access",
                "10.16.32.0/20 is not in istio-cluster2's authorized networks",
            ),
            (
                "istio-cluster1 -> istio-cluster2",
                "path to control plane",
                "GKE_MASTER_UNAUTHORIZED_ACCESS",
            ),
        ],
    );

    // 4. A missing remote secret.
    let secrets: Api<Secret> = Api::namespaced(eu.clone(), "istio-system");
    secrets
        .delete(
            "istio-remote-secret-istio-cluster2",
            &DeleteParams::default(),
        )
        .await
        .unwrap();
    let report = verify(&w, 1).await;
    assert_fails(
        &report,
        &[
            (
                "istio-cluster1 -> istio-cluster2",
                "control plane access",
                "not in istio-cluster2's authorized networks",
            ),
            (
                "istio-cluster1 -> istio-cluster2",
                "path to control plane",
                "GKE_MASTER_UNAUTHORIZED_ACCESS",
            ),
            (
                "istio-cluster1 -> istio-cluster2",
                "remote secret",
                "no Secret istio-remote-secret-istio-cluster2",
            ),
        ],
    );

    // 5. cacerts from another root in cluster1.
    use meshform::mesh::ca::{issue_intermediate, issue_root};
    use meshform::plan::KeyType;
    let now = std::time::SystemTime::now();
    let other_root = issue_root(KeyType::EcdsaP256, 3650, now).unwrap();
    let other =
        issue_intermediate(KeyType::EcdsaP256, 3650, "istio-cluster1", &other_root, now).unwrap();
    let chain = format!("{}{}", other.cert_pem, other_root.cert_pem);
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD;
    secrets
        .patch(
            "cacerts",
            &PatchParams::default(),
            &Patch::Merge(json!({"data": {
                "ca-cert.pem": b64.encode(&other.cert_pem),
                "ca-key.pem": b64.encode(&other.key.0),
                "root-cert.pem": b64.encode(&other_root.cert_pem),
                "cert-chain.pem": b64.encode(chain),
            }})),
        )
        .await
        .unwrap();
    let report = verify(&w, 1).await;
    let failed = failures(&report);
    assert!(
        failed.iter().any(|(s, c, why)| s == "istio-cluster1"
            && c == "cacerts chain"
            && why.contains("not the mesh's root")),
        "{failed:#?}"
    );
    assert!(
        failed.iter().any(|(s, c, why)| s == "istio-cluster2"
            && c == "cacerts chain"
            && why.contains("differs from istio-cluster1's")),
        "{failed:#?}"
    );

    // 6. The samples' namespace loses its injection label.
    let namespaces: Api<k8s_openapi::api::core::v1::Namespace> = Api::all(eu.clone());
    namespaces
        .patch(
            "sample",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"labels": {"istio-injection": null}}})),
        )
        .await
        .unwrap();
    let report = verify(&w, 1).await;
    assert!(
        failures(&report)
            .iter()
            .any(|(s, c, why)| s == "istio-cluster1"
                && c == "samples"
                && why.contains("not labelled istio-injection=enabled")),
        "{report:#}"
    );

    // apply repairs what meshform manages; verify passes again.
    let plan = w.run(&["plan"]).await.expect(0).stdout();
    for shown in [
        "~ namespace.europe-west2.sample",
        "~ cluster.us-central1",
        "+ remote_secret.europe-west2.us-central1",
        "~ cacerts.europe-west2",
    ] {
        assert!(plan.contains(shown), "plan lacks {shown:?}\n{plan}");
    }
    w.run(&["apply", "--auto-approve"]).await.expect(0);
    let report = verify(&w, 0).await;
    assert_eq!(report["failed"], 0, "{report:#}");

    w.run(&["destroy", "--auto-approve"]).await.expect(0);
    // With nothing left, verify fails and says so.
    let report = verify(&w, 1).await;
    assert!(failures(&report)
        .iter()
        .any(|(s, c, why)| s == "istio-cluster1"
            && c == "cluster running"
            && why.contains("GKE has no cluster istio-cluster1")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_passes_on_three_regions() {
    let w = World::new("three-regions.toml").await;
    w.run(&["apply", "--auto-approve"]).await.expect(0);
    let report = verify(&w, 0).await;
    // 9 checks per cluster, 3 per ordered pair and its 2 paths.
    assert_eq!(report["passed"], 3 * 9 + 6 * 5, "{report:#}");
    assert_eq!(report["failed"], 0);
    let paths = report["paths"].as_array().unwrap();
    assert_eq!(paths.len(), 12);
    assert!(
        paths.iter().all(|p| p["result"] == "reachable"),
        "{report:#}"
    );
    w.run(&["destroy", "--auto-approve"]).await.expect(0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_cluster_replaced_behind_meshforms_back_leaves_a_stale_remote_secret_until_the_next_apply(
) {
    let w = World::new("tutorial.toml").await;
    w.run(&["apply", "--auto-approve"]).await.expect(0);
    let gcloud = Gcloud::new(&w.emulator.url());
    let zone = ["--zone", "us-central1-a", "--quiet"];
    gcloud
        .ok(&[
            &["container", "clusters", "delete", "istio-cluster2"][..],
            &zone[..],
        ]
        .concat())
        .await;
    gcloud
        .ok(&[
            &["container", "clusters", "create", "istio-cluster2"][..],
            &zone[..],
            &[
                "--network",
                "cross-region-vpc",
                "--subnetwork",
                "us-ilb-subnet",
                "--enable-ip-alias",
                "--cluster-secondary-range-name",
                "us-pods",
                "--services-secondary-range-name",
                "us-services",
                "--enable-private-nodes",
                "--enable-private-endpoint",
                "--master-ipv4-cidr",
                "172.16.0.64/28",
                "--enable-master-authorized-networks",
                "--master-authorized-networks",
                "172.20.0.0/20,172.21.0.0/20,10.16.32.0/20",
                "--enable-master-global-access",
                "--num-nodes",
                "3",
            ][..],
        ]
        .concat())
        .await;
    let report = verify(&w, 1).await;
    let failed = failures(&report);
    assert!(
        failed
            .iter()
            .any(|(s, c, why)| s == "istio-cluster1 -> istio-cluster2"
                && c == "remote secret"
                && why.contains("its CA is not istio-cluster2's current CA")),
        "{failed:#?}"
    );
    assert!(
        failed
            .iter()
            .any(|(s, c, _)| s == "istio-cluster2" && c == "istiod"),
        "the new cluster has no control plane: {failed:#?}"
    );

    let plan = w.run(&["plan"]).await.expect(0).stdout();
    assert!(
        plan.contains("# remote_secret.europe-west2.us-central1 will be updated in place (cluster.us-central1's"),
        "{plan}"
    );
    w.run(&["apply", "--auto-approve"]).await.expect(0);
    let report = verify(&w, 0).await;
    assert_eq!(report["failed"], 0, "{report:#}");
}

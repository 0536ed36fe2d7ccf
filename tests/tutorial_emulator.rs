//! plans/tutorial.toml (two regions, a private GKE cluster in each, the
//! bastion) against the emulator, through the `meshform` binary.

mod common;

use common::World;
use k8s_openapi::api::core::v1::Namespace;
use kube::api::Api;
use meshform::emulator::FaultConfig;
use meshform::gcp::{Provider, Target};
use meshform::kube::{build_client, TokenSource, EMULATOR_TOKEN};

async fn provider(w: &World) -> Provider {
    Provider::connect("meshform-demo", &Target::Emulator(w.emulator.url()))
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tutorial_applies_both_clusters_then_plan_is_empty_and_istio_system_exists() {
    let w = World::new("tutorial.toml").await;
    let run = w.run(&["apply", "--auto-approve"]).await.expect(0);
    let out = run.stdout();
    assert!(
        out.contains("cluster.europe-west2: Creation complete after"),
        "{out}"
    );
    assert!(
        out.contains("cluster.us-central1: Creation complete after"),
        "{out}"
    );
    assert!(
        out.contains("instance.bastion: Creation complete after"),
        "{out}"
    );
    // Derived values are shown with their reasons.
    assert!(out.contains("master_global_access"), "{out}");
    assert!(
        out.contains("# derived: the plan has more than one region"),
        "{out}"
    );
    assert!(
        out.contains(
            "# derived: GKE's own rules let the control plane reach nodes on 443 and 10250 only"
        ),
        "{out}"
    );
    w.run(&["plan", "--detailed-exitcode"]).await.expect(0);

    // meshform reached each cluster's Kubernetes API: istio-system is there, labelled.
    let gcp = provider(&w).await;
    for (location, name) in [
        ("europe-west2-a", "istio-cluster1"),
        ("us-central1-a", "istio-cluster2"),
    ] {
        let endpoint = gcp.cluster_endpoint(location, name, "dns").await.unwrap();
        let client = build_client(
            name,
            &endpoint,
            None,
            TokenSource::Static(EMULATOR_TOKEN.into()),
        )
        .unwrap();
        let ns = Api::<Namespace>::all(client)
            .get("istio-system")
            .await
            .unwrap();
        let labels = ns.metadata.labels.unwrap();
        assert_eq!(
            labels["topology.istio.io/network"],
            format!("{name}-network")
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authorized_networks_change_in_place_and_a_new_master_cidr_replaces_the_cluster() {
    let w = World::new("tutorial.toml").await;
    w.run(&["apply", "--auto-approve"]).await.expect(0);
    w.edit_plan(
        "master_cidr = \"172.16.0.32/28\"",
        "master_cidr = \"172.16.0.32/28\"\nauthorized_networks = [{ name = \"office\", cidr = \"198.51.100.0/24\" }]",
    );
    let plan = w.run(&["plan", "--detailed-exitcode"]).await.expect(2);
    let out = plan.stdout();
    assert!(
        out.contains(
            "# cluster.europe-west2 will be updated in place (changed: authorized_networks)"
        ),
        "{out}"
    );
    assert!(
        out.contains("Plan: 0 to add, 1 to change, 0 to destroy."),
        "{out}"
    );
    w.run(&["apply", "--auto-approve"]).await.expect(0);
    w.run(&["plan", "--detailed-exitcode"]).await.expect(0);

    w.edit_plan(
        "master_cidr = \"172.16.0.64/28\"",
        "master_cidr = \"172.16.0.80/28\"",
    );
    let plan = w.run(&["plan", "--detailed-exitcode"]).await.expect(2);
    let out = plan.stdout();
    assert!(
        out.contains("# cluster.us-central1 must be replaced (forces replacement: master_cidr)"),
        "{out}"
    );
    // The webhook rule follows the new control-plane range in place; the
    // namespace lives in the cluster and comes back with it.
    assert!(out.contains("# firewall.istio-cluster2-istio-webhook will be updated in place (changed: source_ranges)"), "{out}");
    w.run(&["apply", "--auto-approve"]).await.expect(0);
    w.run(&["plan", "--detailed-exitcode"]).await.expect(0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn destroy_deletes_clusters_before_subnets_and_leaves_the_emulator_empty() {
    let w = World::new("tutorial.toml").await;
    w.run(&["apply", "--auto-approve"]).await.expect(0);
    let run = w.run(&["destroy", "--auto-approve"]).await.expect(0);
    let out = run.stdout();
    let at = |s: &str| out.find(s).unwrap_or_else(|| panic!("no {s:?} in\n{out}"));
    assert!(
        at("cluster.europe-west2: Destruction complete") < at("subnet.europe-west2: Destroying...")
    );
    assert!(
        at("cluster.us-central1: Destruction complete") < at("subnet.us-central1: Destroying...")
    );
    assert!(
        at("instance.bastion: Destruction complete") < at("subnet.europe-west2: Destroying...")
    );
    assert!(w.cloud().is_empty(), "left behind: {:?}", w.cloud());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_cluster_operation_leaves_state_consistent_and_the_next_apply_converges() {
    let faults = FaultConfig {
        seed: 11,
        retryable_rate: 0.0,
        operation_failure_rate: 0.5,
    };
    let w = World::with("tutorial.toml", 0.002, faults).await;
    let first = w.run(&["apply", "--auto-approve"]).await;
    if first.code() != 0 {
        assert!(first.stderr().contains("failed:"), "{}", first.stderr());
    }
    let listed = w.state_list().await;
    let w = w.restart_emulator(FaultConfig::default()).await;
    // Every resource in state exists.
    let plan = w.run(&["plan", "--json"]).await.expect(0);
    let set: serde_json::Value = serde_json::from_str(&plan.stdout()).unwrap();
    for c in set["changes"].as_array().unwrap() {
        if listed.contains(&c["address"].as_str().unwrap().to_string()) {
            assert_ne!(c["reason"]["type"], "deleted_outside", "{c}");
        }
    }
    w.run(&["apply", "--auto-approve"]).await.expect(0);
    w.run(&["plan", "--detailed-exitcode"]).await.expect(0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubernetes_request_with_a_wrong_ca_fails_tls_verification() {
    let w = World::new("tutorial.toml").await;
    w.run(&["apply", "--auto-approve"]).await.expect(0);
    let gcp = provider(&w).await;
    let mut endpoint = gcp
        .cluster_endpoint("europe-west2-a", "istio-cluster1", "dns")
        .await
        .unwrap();
    // Another cluster's CA.
    endpoint.ca_pem = gcp
        .cluster_endpoint("us-central1-a", "istio-cluster2", "dns")
        .await
        .unwrap()
        .ca_pem;
    let client = build_client(
        "istio-cluster1",
        &endpoint,
        None,
        TokenSource::Static(EMULATOR_TOKEN.into()),
    )
    .unwrap();
    let err = Api::<Namespace>::all(client)
        .list(&Default::default())
        .await
        .unwrap_err();
    let chain = format!("{err:?}");
    assert!(
        chain.contains("certificate")
            || chain.contains("UnknownIssuer")
            || chain.contains("BadSignature"),
        "{chain}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubeconfig_works_with_kubectl() {
    let w = World::new("tutorial.toml").await;
    w.run(&["apply", "--auto-approve"]).await.expect(0);
    let path = w.dir.path().join("kubeconfig");
    let run = w
        .run(&["kubeconfig", "--out", path.to_str().unwrap()])
        .await
        .expect(0);
    assert!(
        run.stdout()
            .contains("gke_meshform-demo_europe-west2-a_istio-cluster1"),
        "{}",
        run.stdout()
    );
    let kubectl = which_kubectl();
    for ctx in [
        "gke_meshform-demo_europe-west2-a_istio-cluster1",
        "gke_meshform-demo_us-central1-a_istio-cluster2",
    ] {
        let out = tokio::process::Command::new(&kubectl)
            .args([
                "--kubeconfig",
                path.to_str().unwrap(),
                "--context",
                ctx,
                "get",
                "namespaces",
                "-o",
                "name",
            ])
            .output()
            .await
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(stdout.contains("namespace/istio-system"), "{stdout}");
    }
    let mode =
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&path).unwrap().permissions());
    assert_eq!(mode & 0o777, 0o600);
}

fn which_kubectl() -> std::path::PathBuf {
    let path = std::path::PathBuf::from("/usr/bin/kubectl");
    assert!(
        path.exists(),
        "kubectl is needed for this test: install it (.ci/run does)"
    );
    path
}

/// A minimal HTTP CONNECT proxy on loopback that counts the tunnels it opened.
async fn connect_proxy() -> (
    String,
    std::sync::Arc<std::sync::atomic::AtomicUsize>,
    tokio::task::JoinHandle<()>,
) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let tunnels = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let count = tunnels.clone();
    let server = tokio::spawn(async move {
        while let Ok((mut client, _)) = listener.accept().await {
            let count = count.clone();
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") {
                    if client.read(&mut byte).await.unwrap_or(0) == 0 {
                        return;
                    }
                    head.push(byte[0]);
                }
                let head = String::from_utf8_lossy(&head);
                let target = head
                    .split_whitespace()
                    .nth(1)
                    .unwrap_or_default()
                    .to_string();
                let Ok(mut upstream) = tokio::net::TcpStream::connect(&target).await else {
                    let _ = client.write_all(b"HTTP/1.1 502 Bad Gateway\r\n\r\n").await;
                    return;
                };
                count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let _ = client
                    .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
                    .await;
                let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
            });
        }
    });
    (url, tunnels, server)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proxy_access_reaches_the_control_planes_through_the_proxy() {
    let w = World::new("tutorial.toml").await;
    w.run(&["apply", "--auto-approve"]).await.expect(0);
    let (url, tunnels, proxy) = connect_proxy().await;
    let text = std::fs::read_to_string(&w.plan).unwrap();
    std::fs::write(
        &w.plan,
        text.replace(
            "access = \"dns\"",
            &format!("access = \"proxy\"\nproxy_url = \"{url}\""),
        ),
    )
    .unwrap();
    // How meshform connects belongs to the cluster, not to its objects:
    // only the clusters' DNS endpoint setting changes.
    let planned = w.run(&["plan"]).await.expect(0);
    assert!(
        !planned.stdout().contains("namespace."),
        "{}",
        planned.stdout()
    );
    assert!(
        planned
            .stdout()
            .contains("Plan: 0 to add, 2 to change, 0 to destroy."),
        "{}",
        planned.stdout()
    );
    w.run(&["apply", "--auto-approve"]).await.expect(0);
    assert!(
        tunnels.load(std::sync::atomic::Ordering::SeqCst) >= 2,
        "each cluster's API must be reached through the proxy"
    );
    w.run(&["plan", "--detailed-exitcode"]).await.expect(0);

    // The tunnel closes: destroy still works, since the namespaces go away
    // with their clusters and need no call to an unreachable API.
    proxy.abort();
    let _ = proxy.await;
    let run = w.run(&["destroy", "--auto-approve"]).await.expect(0);
    assert!(
        run.stdout()
            .contains("namespace.europe-west2.istio-system deleted with cluster.europe-west2"),
        "{}",
        run.stdout()
    );
    assert!(w.cloud().is_empty(), "left behind: {:?}", w.cloud());
}

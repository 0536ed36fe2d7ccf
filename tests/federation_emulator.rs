//! Federation of plans/tutorial.toml on the emulator: a reader identity in
//! every cluster and a remote secret for every ordered pair, whose
//! kubeconfig reaches the peer's API server (its private endpoint) with the
//! peer's reader token: reads allowed, writes refused, as RBAC says. A new
//! token in the peer rebuilds the secret, and plan names the output.

mod common;

use std::collections::BTreeMap;

use common::World;
use k8s_openapi::api::core::v1::{ConfigMap, Secret, Service};
use kube::api::{Api, ListParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use meshform::gcp::{Provider, Target};

const CLUSTERS: [(&str, &str); 2] = [
    ("europe-west2-a", "istio-cluster1"),
    ("us-central1-a", "istio-cluster2"),
];

async fn remote_secret(w: &World, location: &str, cluster: &str, peer: &str) -> Option<Secret> {
    Api::<Secret>::namespaced(w.kube_admin(location, cluster).await, "istio-system")
        .get_opt(&format!("istio-remote-secret-{peer}"))
        .await
        .unwrap()
}

/// A client built from the kubeconfig a remote secret holds.
async fn client_from(secret: &Secret, peer: &str) -> (kube::Client, String) {
    let data = secret.data.as_ref().unwrap();
    let text = String::from_utf8(data[peer].0.clone()).unwrap();
    let kubeconfig = Kubeconfig::from_yaml(&text).unwrap();
    let server = kubeconfig.clusters[0]
        .cluster
        .as_ref()
        .unwrap()
        .server
        .clone()
        .unwrap();
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
        .await
        .unwrap();
    (kube::Client::try_from(config).unwrap(), server)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_cluster_reads_every_peer_through_its_remote_secret_and_may_only_read() {
    let w = World::new("tutorial.toml").await;
    let plan = w.run(&["plan"]).await.expect(0).stdout();
    for shown in [
        "+ istio_reader.us-central1",
        "+ remote_secret.europe-west2.us-central1",
        "+ remote_secret.us-central1.europe-west2",
        "istio-cluster2's private endpoint, reached from istio-cluster1's pods",
    ] {
        assert!(plan.contains(shown), "plan lacks {shown:?}\n{plan}");
    }
    w.run(&["apply", "--auto-approve"]).await.expect(0);
    w.run(&["plan", "--detailed-exitcode"]).await.expect(0);

    for ((location, cluster), (peer_location, peer)) in
        [(CLUSTERS[0], CLUSTERS[1]), (CLUSTERS[1], CLUSTERS[0])]
    {
        let secret = remote_secret(&w, location, cluster, peer)
            .await
            .unwrap_or_else(|| panic!("no remote secret for {peer} in {cluster}"));
        let meta = &secret.metadata;
        assert_eq!(meta.labels.as_ref().unwrap()["istio/multiCluster"], "true");
        assert_eq!(
            meta.annotations.as_ref().unwrap()["networking.istio.io/cluster"],
            peer
        );
        let keys: Vec<&String> = secret.data.as_ref().unwrap().keys().collect();
        assert_eq!(keys, [peer], "one data key, the peer's cluster name");

        // The kubeconfig points at the peer's private endpoint with its CA.
        let gcp = Provider::connect("meshform-demo", &Target::Emulator(w.emulator.url()))
            .await
            .unwrap();
        let endpoint = gcp
            .cluster_endpoint(peer_location, peer, "dns")
            .await
            .unwrap();
        let (reader, server) = client_from(&secret, peer).await;
        assert!(server.starts_with("https://"), "{server}");
        assert_eq!(server, endpoint.server, "the peer's private endpoint");

        // Reading the peer's services works; writing is refused.
        let services = Api::<Service>::all(reader.clone())
            .list(&ListParams::default())
            .await
            .unwrap();
        assert!(services
            .items
            .iter()
            .any(|s| s.metadata.name.as_deref() == Some("istio-eastwestgateway")));
        let write = Api::<ConfigMap>::namespaced(reader, "default")
            .create(
                &PostParams::default(),
                &ConfigMap {
                    metadata: kube::api::ObjectMeta {
                        name: Some("x".into()),
                        ..Default::default()
                    },
                    data: Some(BTreeMap::new()),
                    ..Default::default()
                },
            )
            .await;
        match write {
            Err(kube::Error::Api(s)) => assert_eq!(s.code, 403, "{s:?}"),
            other => panic!("a write with the reader token must be refused: {other:?}"),
        }
    }

    // No token in state.
    let state = std::fs::read_to_string(w.state()).unwrap();
    let secret = remote_secret(&w, CLUSTERS[0].0, CLUSTERS[0].1, CLUSTERS[1].1)
        .await
        .unwrap();
    let text = String::from_utf8(secret.data.unwrap()[CLUSTERS[1].1].0.clone()).unwrap();
    let config: serde_json::Value = serde_json::from_str(&text).unwrap();
    let token = config["users"][0]["user"]["token"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(token.len() > 20, "{token}");
    assert!(!state.contains(&token), "the token is in state");

    // A new token in the peer rebuilds the secret; plan says why.
    Api::<Secret>::namespaced(
        w.kube_admin(CLUSTERS[1].0, CLUSTERS[1].1).await,
        "istio-system",
    )
    .delete(
        "istio-reader-service-account-istio-remote-secret-token",
        &Default::default(),
    )
    .await
    .unwrap();
    let plan = w.run(&["plan"]).await.expect(0).stdout();
    assert!(plan.contains("~ istio_reader.us-central1"), "{plan}");
    assert!(
        plan.contains("remote_secret.europe-west2.us-central1 will be updated in place (istio_reader.us-central1's token changes"),
        "{plan}"
    );
    w.run(&["apply", "--auto-approve"]).await.expect(0);
    let secret = remote_secret(&w, CLUSTERS[0].0, CLUSTERS[0].1, CLUSTERS[1].1)
        .await
        .unwrap();
    let (reader, _) = client_from(&secret, CLUSTERS[1].1).await;
    Api::<Service>::all(reader)
        .list(&ListParams::default())
        .await
        .unwrap();
    w.run(&["plan", "--detailed-exitcode"]).await.expect(0);

    w.run(&["destroy", "--auto-approve"]).await.expect(0);
    assert!(
        !w.state().with_file_name("state.json.secrets").exists(),
        "destroy left the secret store"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_regions_make_six_remote_secrets_and_three_gateways_with_global_access() {
    const THREE: [(&str, &str); 3] = [
        ("europe-west2-a", "istio-cluster1"),
        ("us-central1-a", "istio-cluster2"),
        ("asia-southeast1-a", "istio-cluster3"),
    ];
    let w = World::new("three-regions.toml").await;
    let plan = w.run(&["plan"]).await.expect(0).stdout();
    assert!(
        plan.contains("global access, because the mesh's clusters are in 3 regions"),
        "{plan}"
    );
    let out = w.run(&["apply", "--auto-approve"]).await.expect(0).stdout();
    // 3 × (subnet, router, cluster, webhook firewall rule, namespace,
    // intermediate CA, cacerts, istio, gateway, leftovers sweep, reader)
    // + network, root CA and 6 remote secrets.
    assert!(out.contains("Apply complete! Resources: 41 added"), "{out}");
    w.run(&["plan", "--detailed-exitcode"]).await.expect(0);

    for (i, (location, cluster)) in THREE.iter().enumerate() {
        for (j, (_, peer)) in THREE.iter().enumerate() {
            if i == j {
                continue;
            }
            let secret = remote_secret(&w, location, cluster, peer)
                .await
                .unwrap_or_else(|| panic!("no remote secret for {peer} in {cluster}"));
            let (reader, _) = client_from(&secret, peer).await;
            let services = Api::<Service>::all(reader)
                .list(&ListParams::default())
                .await
                .unwrap_or_else(|e| panic!("{cluster} cannot read {peer}: {e}"));
            assert!(services
                .items
                .iter()
                .any(|s| s.metadata.name.as_deref() == Some("istio-eastwestgateway")));
        }
    }

    let gcloud = common::gcloud::Gcloud::new(&w.emulator.url());
    let rules = gcloud.json(&["compute", "forwarding-rules", "list"]).await;
    let rules = rules.as_array().unwrap();
    assert_eq!(rules.len(), 3, "{rules:#?}");
    assert!(
        rules.iter().all(|r| r["allowGlobalAccess"] == true),
        "{rules:#?}"
    );

    w.run(&["destroy", "--auto-approve"]).await.expect(0);
    assert!(w.cloud().is_empty(), "left behind {:?}", w.cloud());
}

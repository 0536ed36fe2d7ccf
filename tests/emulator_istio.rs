//! The emulated istioctl's control plane on emulated clusters: every object
//! it renders is accepted by server-side apply (field manager `meshform`),
//! its CRDs become Established and serve custom resources, kubectl shows it
//! all, and istiod behaves as MESH.md says: without `cacerts` when its pods
//! start it makes `istio-ca-secret` (a self-signed root), with `cacerts` it
//! makes nothing, and a `cacerts` created later does not replace it.

use std::time::Duration;

use base64::Engine as _;
use futures::StreamExt as _;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Namespace, Secret};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{
    Api, DynamicObject, GroupVersionKind, Patch, PatchParams, PostParams, WatchEvent, WatchParams,
};
use kube::discovery::Scope;
use kube::Client;
use meshform::emulator::kubeapi::{rollout_time, KubeApis, KubeEndpoint};
use meshform::mesh::emulated::{manifest_generate, VERSION_ANNOTATION};
use serde_json::{json, Value};

const WITH_CACERTS: &str = "projects/demo/locations/europe-west2-a/clusters/istio-cluster1";
const WITHOUT_CACERTS: &str = "projects/demo/locations/us-central1-a/clusters/istio-cluster2";
/// Rollouts take 30 s × 0.02 = 600 ms.
const SCALE: f64 = 0.02;

fn client(endpoint: &KubeEndpoint) -> Client {
    let _ = tokio_rustls::rustls::crypto::ring::default_provider().install_default();
    let mut config = kube::Config::new(endpoint.url().parse().expect("url"));
    config.root_cert = Some(vec![endpoint.ca_der().expect("ca der")]);
    config.connect_timeout = Some(Duration::from_secs(5));
    config.read_timeout = Some(Duration::from_secs(30));
    config.auth_info = serde_json::from_value(json!({"token": "ya29.test"})).expect("auth");
    Client::try_from(config).expect("client")
}

fn overlay(version: &str, cluster: &str, trust_domain: &str) -> String {
    format!(
        "apiVersion: install.istio.io/v1alpha1
kind: IstioOperator
metadata:
  name: control-plane
  annotations:
    {VERSION_ANNOTATION}: \"{version}\"
spec:
  meshConfig:
    trustDomain: {trust_domain}
  values:
    global:
      meshID: mesh1
      multiCluster:
        clusterName: {cluster}
      network: network-{cluster}
"
    )
}

async fn create_istio_system(client: &Client) {
    let ns: Namespace = serde_json::from_value(json!({"metadata": {"name": "istio-system",
        "labels": {"topology.istio.io/network": "network1"}}}))
    .unwrap();
    Api::<Namespace>::all(client.clone())
        .create(&PostParams::default(), &ns)
        .await
        .expect("istio-system created");
}

/// Applies every object of `stream` server-side as `meshform`, finding each
/// kind through discovery; returns the objects as stored.
async fn apply_stream(client: &Client, stream: &str) -> Vec<DynamicObject> {
    let docs: Vec<Value> = serde_saphyr::from_multiple(stream).expect("stream parses");
    let mut stored = Vec::new();
    for doc in docs {
        let (group, version) = match doc["apiVersion"].as_str().unwrap().split_once('/') {
            Some((g, v)) => (g.to_string(), v.to_string()),
            None => (
                String::new(),
                doc["apiVersion"].as_str().unwrap().to_string(),
            ),
        };
        let kind = doc["kind"].as_str().unwrap();
        let name = doc["metadata"]["name"].as_str().unwrap().to_string();
        let gvk = GroupVersionKind::gvk(&group, &version, kind);
        let (ar, caps) = kube::discovery::pinned_kind(client, &gvk)
            .await
            .unwrap_or_else(|e| panic!("discovery of {kind}: {e}"));
        let api: Api<DynamicObject> = match (caps.scope, doc["metadata"]["namespace"].as_str()) {
            (Scope::Namespaced, Some(ns)) => Api::namespaced_with(client.clone(), ns, &ar),
            (Scope::Namespaced, None) => panic!("{kind} {name} has no namespace"),
            (Scope::Cluster, _) => Api::all_with(client.clone(), &ar),
        };
        let applied = api
            .patch(&name, &PatchParams::apply("meshform"), &Patch::Apply(&doc))
            .await
            .unwrap_or_else(|e| panic!("{kind} {name} refused: {e}"));
        stored.push(applied);
    }
    stored
}

fn resource_versions(objects: &[DynamicObject]) -> Vec<(String, Option<String>)> {
    objects
        .iter()
        .map(|o| {
            (
                o.metadata.name.clone().unwrap_or_default(),
                o.metadata.resource_version.clone(),
            )
        })
        .collect()
}

/// Waits until the Deployment `name` in `istio-system` is Available.
async fn wait_available(client: &Client, name: &str) {
    let api = Api::<Deployment>::namespaced(client.clone(), "istio-system");
    for _ in 0..100 {
        let d = api.get(name).await.expect("deployment");
        let available = d.status.and_then(|s| s.conditions).is_some_and(|c| {
            c.iter()
                .any(|c| c.type_ == "Available" && c.status == "True")
        });
        if available {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{name} did not become Available");
}

fn cacerts() -> Secret {
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "cacerts", "namespace": "istio-system"},
        "data": {"ca-cert.pem": b64("intermediate"), "ca-key.pem": b64("key"),
                 "root-cert.pem": b64("root"), "cert-chain.pem": b64("chain")},
    }))
    .unwrap()
}

#[tokio::test]
async fn every_object_is_applied_and_crds_serve_their_kinds() {
    let dir = tempfile::tempdir().unwrap();
    let apis = KubeApis::new(dir.path(), SCALE);
    let endpoint = apis.start(WITH_CACERTS).await.unwrap();
    let client = client(&endpoint);
    create_istio_system(&client).await;
    let stream = manifest_generate(&overlay("1.31.1", "istio-cluster1", "cluster.local")).unwrap();
    let first = apply_stream(&client, &stream).await;
    assert_eq!(first.len(), 17);

    let crds = Api::<CustomResourceDefinition>::all(client.clone());
    for name in [
        "gateways.networking.istio.io",
        "virtualservices.networking.istio.io",
        "destinationrules.networking.istio.io",
        "serviceentries.networking.istio.io",
        "peerauthentications.security.istio.io",
    ] {
        let crd = crds.get(name).await.expect("crd");
        let established = crd.status.and_then(|s| s.conditions).is_some_and(|c| {
            c.iter()
                .any(|c| c.type_ == "Established" && c.status == "True")
        });
        assert!(established, "{name} is Established");
    }

    // A custom resource of every served version.
    let gw = json!({
        "apiVersion": "networking.istio.io/v1", "kind": "Gateway",
        "metadata": {"name": "cross-network-gateway", "namespace": "istio-system"},
        "spec": {"selector": {"istio": "eastwestgateway"},
                 "servers": [{"port": {"number": 15443, "name": "tls", "protocol": "TLS"},
                              "tls": {"mode": "AUTO_PASSTHROUGH"}, "hosts": ["*.local"]}]}
    });
    apply_stream(&client, &serde_saphyr::to_string(&gw).unwrap()).await;
    for version in ["v1", "v1beta1", "v1alpha3"] {
        let gvk = GroupVersionKind::gvk("networking.istio.io", version, "Gateway");
        let (ar, _) = kube::discovery::pinned_kind(&client, &gvk).await.unwrap();
        let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), "istio-system", &ar);
        let got = api.get("cross-network-gateway").await.expect(version);
        assert_eq!(got.data["spec"]["servers"][0]["port"]["number"], 15443);
    }

    // The same stream again changes nothing.
    let again = apply_stream(&client, &stream).await;
    assert_eq!(resource_versions(&again), resource_versions(&first));
    apis.stop_all().await;
}

#[tokio::test]
async fn istiod_started_with_cacerts_makes_no_ca_of_its_own() {
    let dir = tempfile::tempdir().unwrap();
    let apis = KubeApis::new(dir.path(), SCALE);
    let endpoint = apis.start(WITH_CACERTS).await.unwrap();
    let client = client(&endpoint);
    create_istio_system(&client).await;
    let secrets = Api::<Secret>::namespaced(client.clone(), "istio-system");
    secrets
        .create(&PostParams::default(), &cacerts())
        .await
        .unwrap();
    let stream = manifest_generate(&overlay("1.31.1", "istio-cluster1", "cluster.local")).unwrap();
    apply_stream(&client, &stream).await;
    wait_available(&client, "istiod").await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(secrets.get_opt("istio-ca-secret").await.unwrap().is_none());
    apis.stop_all().await;
}

#[tokio::test]
async fn istiod_started_without_cacerts_makes_istio_ca_secret_and_keeps_it() {
    let dir = tempfile::tempdir().unwrap();
    let apis = KubeApis::new(dir.path(), SCALE);
    let endpoint = apis.start(WITHOUT_CACERTS).await.unwrap();
    let client = client(&endpoint);
    create_istio_system(&client).await;
    let secrets = Api::<Secret>::namespaced(client.clone(), "istio-system");

    // Watch before istiod exists: the Secret must arrive on its own, with
    // no other request to the cluster.
    let watch = secrets
        .watch(&WatchParams::default().timeout(20), "0")
        .await
        .expect("watch");
    let stream = manifest_generate(&overlay("1.30.5", "istio-cluster2", "example.org")).unwrap();
    apply_stream(&client, &stream).await;
    let added = tokio::time::timeout(
        rollout_time(SCALE) + Duration::from_secs(10),
        watch
            .filter_map(|e| async move {
                match e {
                    Ok(WatchEvent::Added(s)) => Some(s),
                    _ => None,
                }
            })
            .filter(|s| {
                let found = s.metadata.name.as_deref() == Some("istio-ca-secret");
                async move { found }
            })
            .boxed()
            .next(),
    )
    .await
    .expect("istio-ca-secret was added within the rollout time")
    .expect("an event");

    let secret = secrets.get("istio-ca-secret").await.unwrap();
    assert_eq!(secret.type_.as_deref(), Some("istio.io/ca-root"));
    assert_eq!(added.metadata.uid, secret.metadata.uid);
    let data = secret.data.clone().unwrap();
    let mut keys: Vec<&str> = data.keys().map(String::as_str).collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "ca-cert.pem",
            "ca-key.pem",
            "cert-chain.pem",
            "key.pem",
            "root-cert.pem"
        ]
    );
    assert_eq!(data["ca-cert.pem"], data["root-cert.pem"]);
    let (_, pem) = x509_parser::pem::parse_x509_pem(&data["root-cert.pem"].0).unwrap();
    let root = pem.parse_x509().unwrap();
    assert_eq!(root.subject(), root.issuer(), "self-signed");
    root.verify_signature(None).expect("signed by its own key");
    assert!(root.is_ca());
    assert_eq!(root.subject().to_string(), "O=example.org");

    // cacerts created afterwards replaces nothing.
    secrets
        .create(&PostParams::default(), &cacerts())
        .await
        .unwrap();
    let api = Api::<Deployment>::namespaced(client.clone(), "istio-system");
    let restarted = json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "istiod", "namespace": "istio-system"},
        "spec": {"template": {"metadata": {"annotations": {"kubectl.kubernetes.io/restartedAt": "now"}}}}});
    api.patch("istiod", &PatchParams::default(), &Patch::Merge(&restarted))
        .await
        .unwrap();
    wait_available(&client, "istiod").await;
    let later = secrets.get("istio-ca-secret").await.unwrap();
    assert_eq!(
        later.metadata.resource_version,
        secret.metadata.resource_version
    );
    apis.stop_all().await;
}

/// kubectl with a kubeconfig for one emulated cluster.
async fn kubectl(endpoint: &KubeEndpoint, dir: &std::path::Path, args: &[&str]) -> String {
    let kubectl = std::path::Path::new("/usr/bin/kubectl");
    assert!(
        kubectl.exists(),
        "kubectl is not installed at /usr/bin/kubectl: install the kubectl package (CI installs it) to run this test"
    );
    let ca = base64::engine::general_purpose::STANDARD.encode(&endpoint.ca_pem);
    let kubeconfig = dir.join("kubeconfig");
    std::fs::write(
        &kubeconfig,
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: emu\n  cluster:\n    server: {}\n    certificate-authority-data: {ca}\nusers:\n- name: emu\n  user:\n    token: ya29.kubectl\ncontexts:\n- name: emu\n  context:\n    cluster: emu\n    user: emu\ncurrent-context: emu\n",
            endpoint.url()
        ),
    )
    .unwrap();
    let out = tokio::process::Command::new(kubectl)
        .arg("--kubeconfig")
        .arg(&kubeconfig)
        .arg("--cache-dir")
        .arg(dir.join("cache"))
        .args(args)
        .output()
        .await
        .expect("kubectl runs");
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    );
    assert!(
        out.status.success(),
        "kubectl {args:?} failed:\n{stdout}\n{stderr}"
    );
    stdout
}

#[tokio::test]
async fn kubectl_shows_the_control_plane_and_finds_nothing_to_change() {
    let dir = tempfile::tempdir().unwrap();
    let apis = KubeApis::new(dir.path().join("kube"), SCALE);
    let endpoint = apis.start(WITHOUT_CACERTS).await.unwrap();
    let client = client(&endpoint);
    create_istio_system(&client).await;
    let stream = manifest_generate(&overlay("1.31.1", "istio-cluster2", "cluster.local")).unwrap();
    apply_stream(&client, &stream).await;
    wait_available(&client, "istiod").await;
    let d = dir.path();

    let crds = kubectl(&endpoint, d, &["get", "crd"]).await;
    for name in [
        "gateways.networking.istio.io",
        "peerauthentications.security.istio.io",
    ] {
        assert!(crds.contains(name), "{crds}");
    }
    let ns = kubectl(
        &endpoint,
        d,
        &[
            "get",
            "deploy,svc,cm,sa,role,rolebinding,secret",
            "-n",
            "istio-system",
        ],
    )
    .await;
    for line in [
        "deployment.apps/istiod",
        "service/istiod",
        "configmap/istio ",
        "configmap/istio-sidecar-injector",
        "serviceaccount/istiod",
        "role.rbac.authorization.k8s.io/istiod",
        "rolebinding.rbac.authorization.k8s.io/istiod",
        "secret/istio-ca-secret",
    ] {
        assert!(ns.contains(line), "{line} in\n{ns}");
    }
    assert!(ns.contains("istio.io/ca-root"), "{ns}");
    let cluster = kubectl(
        &endpoint,
        d,
        &["get", "mutatingwebhookconfigurations,validatingwebhookconfigurations,clusterroles,clusterrolebindings"],
    )
    .await;
    for line in [
        "mutatingwebhookconfiguration.admissionregistration.k8s.io/istio-sidecar-injector",
        "validatingwebhookconfiguration.admissionregistration.k8s.io/istio-validator-istio-system",
        "clusterrole.rbac.authorization.k8s.io/istiod-clusterrole-istio-system",
        "clusterrolebinding.rbac.authorization.k8s.io/istiod-clusterrole-istio-system",
    ] {
        assert!(cluster.contains(line), "{line} in\n{cluster}");
    }
    let none = kubectl(&endpoint, d, &["get", "gw,vs,dr,se,pa", "-A"]).await;
    assert!(!none.contains("error"), "{none}");

    // kubectl, as meshform, finds the live objects equal to the stream.
    let file = d.join("manifest.yaml");
    std::fs::write(&file, &stream).unwrap();
    let file = file.to_string_lossy().to_string();
    kubectl(
        &endpoint,
        d,
        &[
            "diff",
            "--server-side",
            "--field-manager",
            "meshform",
            "-f",
            &file,
        ],
    )
    .await;
    apis.stop_all().await;
}

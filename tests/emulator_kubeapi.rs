//! The emulated Kubernetes API server as kube-rs and kubectl see it.

use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use kube::api::{
    Api, ApiResource, DeleteParams, DynamicObject, GroupVersionKind, ListParams, Patch,
    PatchParams, PostParams,
};
use kube::Client;
use meshform::emulator::kubeapi::{rollout_time, KubeApis, KubeEndpoint};
use serde_json::{json, Value};

const KEY: &str = "projects/demo/locations/europe-west2-a/clusters/istio-cluster1";

fn install_crypto() {
    let _ = tokio_rustls::rustls::crypto::ring::default_provider().install_default();
}

/// A client trusting `ca` (DER) for `endpoint`, with `token` if any.
fn client_with(endpoint: &KubeEndpoint, ca: Vec<u8>, token: Option<&str>) -> Client {
    install_crypto();
    let mut config = kube::Config::new(endpoint.url().parse().expect("url"));
    config.root_cert = Some(vec![ca]);
    config.connect_timeout = Some(Duration::from_secs(5));
    config.read_timeout = Some(Duration::from_secs(10));
    if let Some(token) = token {
        config.auth_info = serde_json::from_value(json!({ "token": token })).expect("auth info");
    }
    Client::try_from(config).expect("client")
}

fn client(endpoint: &KubeEndpoint) -> Client {
    client_with(
        endpoint,
        endpoint.ca_der().expect("ca der"),
        Some("ya29.test-token"),
    )
}

fn api_code(err: kube::Error) -> u16 {
    match err {
        kube::Error::Api(status) => status.code,
        other => panic!("expected an API error, got {other:?}"),
    }
}

async fn create_namespace(client: &Client, name: &str) {
    let ns: Namespace = serde_json::from_value(json!({"metadata": {"name": name}})).unwrap();
    Api::<Namespace>::all(client.clone())
        .create(&PostParams::default(), &ns)
        .await
        .expect("namespace created");
}

fn config_map(data: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap",
           "metadata": {"name": "settings", "labels": {"app": "mesh"}}, "data": data})
}

#[tokio::test]
async fn namespaces_and_server_side_apply_of_config_maps() {
    let dir = tempfile::tempdir().unwrap();
    let apis = KubeApis::new(dir.path(), 0.001);
    let endpoint = apis.start(KEY).await.expect("started");
    assert!(endpoint.address.starts_with("127.0.0.1:"));
    assert_eq!(
        apis.start(KEY).await.unwrap(),
        endpoint,
        "start is idempotent"
    );
    let client = client(&endpoint);

    let version = client.apiserver_version().await.expect("version");
    assert_eq!(version.major, "1");

    let namespaces = Api::<Namespace>::all(client.clone());
    let names: Vec<String> = namespaces
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .filter_map(|n| n.metadata.name)
        .collect();
    assert!(names.contains(&"default".to_string()));
    assert!(names.contains(&"kube-system".to_string()));

    // Namespaced objects need their namespace.
    let cms = Api::<ConfigMap>::namespaced(client.clone(), "istio-system");
    let apply = PatchParams::apply("meshform");
    let err = cms
        .patch(
            "settings",
            &apply,
            &Patch::Apply(config_map(json!({"a": "1"}))),
        )
        .await
        .unwrap_err();
    assert_eq!(api_code(err), 404);

    create_namespace(&client, "istio-system").await;
    let ns = namespaces.get("istio-system").await.unwrap();
    assert_eq!(ns.status.unwrap().phase.as_deref(), Some("Active"));

    let first = cms
        .patch(
            "settings",
            &apply,
            &Patch::Apply(config_map(json!({"a": "1", "b": "2"}))),
        )
        .await
        .expect("first apply");
    let meta = &first.metadata;
    assert!(meta.uid.is_some() && meta.creation_timestamp.is_some());
    let managed = meta.managed_fields.as_ref().expect("managed fields");
    assert_eq!(managed[0].manager.as_deref(), Some("meshform"));
    assert_eq!(managed[0].operation.as_deref(), Some("Apply"));

    let second = cms
        .patch(
            "settings",
            &apply,
            &Patch::Apply(config_map(json!({"a": "1"}))),
        )
        .await
        .expect("second apply");
    let data = second.data.clone().unwrap();
    assert_eq!(data.get("a").map(String::as_str), Some("1"));
    assert!(
        !data.contains_key("b"),
        "a field no longer applied is removed"
    );
    let rv1: u64 = first.metadata.resource_version.unwrap().parse().unwrap();
    let rv2: u64 = second
        .metadata
        .resource_version
        .clone()
        .unwrap()
        .parse()
        .unwrap();
    assert!(rv2 > rv1);

    // Another manager setting the same field differently conflicts…
    let other = PatchParams::apply("someone-else");
    let err = cms
        .patch(
            "settings",
            &other,
            &Patch::Apply(config_map(json!({"a": "2"}))),
        )
        .await
        .unwrap_err();
    match err {
        kube::Error::Api(s) => {
            assert_eq!(s.code, 409);
            assert_eq!(s.reason, "Conflict");
        }
        other => panic!("{other:?}"),
    }
    // …unless it forces.
    let forced = cms
        .patch(
            "settings",
            &other.clone().force(),
            &Patch::Apply(config_map(json!({"a": "2"}))),
        )
        .await
        .expect("forced apply");
    assert_eq!(forced.data.unwrap()["a"], "2");

    // Label selectors.
    let lp = ListParams::default().labels("app=mesh");
    assert_eq!(cms.list(&lp).await.unwrap().items.len(), 1);
    let lp = ListParams::default().labels("app!=mesh");
    assert_eq!(cms.list(&lp).await.unwrap().items.len(), 0);

    // Replace with a stale resourceVersion conflicts.
    let mut stale = second.clone();
    stale.data = Some([("c".to_string(), "3".to_string())].into());
    let err = cms
        .replace("settings", &PostParams::default(), &stale)
        .await
        .unwrap_err();
    assert_eq!(api_code(err), 409);
    let mut fresh = cms.get("settings").await.unwrap();
    fresh.data = Some([("c".to_string(), "3".to_string())].into());
    let replaced = cms
        .replace("settings", &PostParams::default(), &fresh)
        .await
        .expect("replace");
    assert_eq!(replaced.data.unwrap()["c"], "3");

    // Merge patch.
    let patched = cms
        .patch(
            "settings",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"annotations": {"x": "y"}}})),
        )
        .await
        .expect("merge patch");
    assert_eq!(patched.metadata.annotations.unwrap()["x"], "y");

    // Create twice is AlreadyExists.
    let cm: ConfigMap =
        serde_json::from_value(json!({"metadata": {"name": "plain"}, "data": {"k": "v"}})).unwrap();
    cms.create(&PostParams::default(), &cm)
        .await
        .expect("create");
    let err = cms.create(&PostParams::default(), &cm).await.unwrap_err();
    assert_eq!(api_code(err), 409);
    cms.delete("plain", &DeleteParams::default())
        .await
        .expect("delete");
    assert_eq!(api_code(cms.get("plain").await.unwrap_err()), 404);

    // Deleting the namespace deletes its objects.
    namespaces
        .delete("istio-system", &DeleteParams::default())
        .await
        .expect("namespace deleted");
    let all = Api::<ConfigMap>::all(client.clone());
    assert!(all
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
        .is_empty());

    apis.stop_all().await;
}

#[tokio::test]
async fn custom_resources_are_served_once_their_crd_is_applied() {
    let dir = tempfile::tempdir().unwrap();
    let apis = KubeApis::new(dir.path(), 0.001);
    let endpoint = apis.start(KEY).await.unwrap();
    let client = client(&endpoint);

    let crd = json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "gateways.networking.istio.io"},
        "spec": {
            "group": "networking.istio.io",
            "scope": "Namespaced",
            "names": {"plural": "gateways", "singular": "gateway", "kind": "Gateway",
                      "listKind": "GatewayList", "shortNames": ["gw"]},
            "versions": [{"name": "v1", "served": true, "storage": true,
                          "schema": {"openAPIV3Schema": {"type": "object",
                                     "x-kubernetes-preserve-unknown-fields": true}},
                          "subresources": {"status": {}}}]
        }
    });
    let crd_api = ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("apiextensions.k8s.io", "v1", "CustomResourceDefinition"),
        "customresourcedefinitions",
    );
    let crds: Api<DynamicObject> = Api::all_with(client.clone(), &crd_api);
    let applied = crds
        .patch(
            "gateways.networking.istio.io",
            &PatchParams::apply("meshform"),
            &Patch::Apply(crd),
        )
        .await
        .expect("crd applied");
    let conditions = applied.data["status"]["conditions"].as_array().unwrap();
    assert!(conditions
        .iter()
        .any(|c| c["type"] == "Established" && c["status"] == "True"));

    // Discovery knows the new group.
    let discovery = kube::Discovery::new(client.clone())
        .run()
        .await
        .expect("discovery");
    assert!(discovery.has_group("networking.istio.io"));
    assert!(discovery.has_group("apps"));

    create_namespace(&client, "istio-system").await;
    let gw_api = ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("networking.istio.io", "v1", "Gateway"),
        "gateways",
    );
    let gateways: Api<DynamicObject> =
        Api::namespaced_with(client.clone(), "istio-system", &gw_api);
    let gw = json!({
        "apiVersion": "networking.istio.io/v1", "kind": "Gateway",
        "metadata": {"name": "cross-network-gateway"},
        "spec": {"selector": {"istio": "eastwestgateway"},
                 "servers": [{"port": {"number": 15443, "name": "tls", "protocol": "TLS"},
                              "tls": {"mode": "AUTO_PASSTHROUGH"}, "hosts": ["*.local"]}]}
    });
    gateways
        .patch(
            "cross-network-gateway",
            &PatchParams::apply("meshform"),
            &Patch::Apply(gw),
        )
        .await
        .expect("custom resource applied");
    let got = gateways.get("cross-network-gateway").await.unwrap();
    assert_eq!(got.data["spec"]["servers"][0]["port"]["number"], 15443);
    assert_eq!(
        gateways
            .list(&ListParams::default())
            .await
            .unwrap()
            .items
            .len(),
        1
    );

    // Deleting the CRD removes its resources and its endpoints.
    crds.delete("gateways.networking.istio.io", &DeleteParams::default())
        .await
        .expect("crd deleted");
    assert_eq!(
        api_code(gateways.get("cross-network-gateway").await.unwrap_err()),
        404
    );
    apis.stop_all().await;
}

#[tokio::test]
async fn deployments_become_available_after_the_scaled_rollout_time() {
    let dir = tempfile::tempdir().unwrap();
    let scale = 0.02; // 30 s × 0.02 = 600 ms
    let apis = KubeApis::new(dir.path(), scale);
    let endpoint = apis.start(KEY).await.unwrap();
    let client = client(&endpoint);
    create_namespace(&client, "istio-system").await;
    let deployments = Api::<Deployment>::namespaced(client.clone(), "istio-system");
    let deployment = json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "istiod"},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "istiod"}},
                 "template": {"metadata": {"labels": {"app": "istiod"}},
                              "spec": {"containers": [{"name": "discovery", "image": "istio/pilot"}]}}}
    });
    let created = deployments
        .patch(
            "istiod",
            &PatchParams::apply("meshform"),
            &Patch::Apply(deployment),
        )
        .await
        .unwrap();
    let available = |d: &Deployment| {
        d.status
            .as_ref()
            .and_then(|s| s.conditions.as_ref())
            .is_some_and(|c| {
                c.iter()
                    .any(|c| c.type_ == "Available" && c.status == "True")
            })
    };
    assert!(!available(&created), "not available right after the change");
    tokio::time::sleep(rollout_time(scale) + Duration::from_millis(100)).await;
    let later = deployments.get("istiod").await.unwrap();
    assert!(available(&later));
    let status = later.status.unwrap();
    assert_eq!(status.available_replicas, Some(2));
    assert_eq!(status.ready_replicas, Some(2));
    assert_eq!(status.observed_generation, later.metadata.generation);
    apis.stop_all().await;
}

#[tokio::test]
async fn objects_and_address_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let apis = KubeApis::new(dir.path(), 0.001);
    let endpoint = apis.start(KEY).await.unwrap();
    let client1 = client(&endpoint);
    create_namespace(&client1, "istio-system").await;
    Api::<ConfigMap>::namespaced(client1.clone(), "istio-system")
        .patch(
            "settings",
            &PatchParams::apply("meshform"),
            &Patch::Apply(config_map(json!({"a": "1"}))),
        )
        .await
        .unwrap();
    apis.stop_all().await;
    drop(apis);

    let apis = KubeApis::new(dir.path(), 0.001);
    let again = apis.start(KEY).await.unwrap();
    assert_eq!(again, endpoint, "same address and CA after a restart");
    let client2 = client(&again);
    let cm = Api::<ConfigMap>::namespaced(client2, "istio-system")
        .get("settings")
        .await
        .expect("object survived");
    assert_eq!(cm.data.unwrap()["a"], "1");

    apis.stop(KEY, true).await;
    assert!(!apis.cluster_dir(KEY).exists(), "forget deletes the folder");
}

#[tokio::test]
async fn requests_without_a_token_are_unauthorized() {
    let dir = tempfile::tempdir().unwrap();
    let apis = KubeApis::new(dir.path(), 0.001);
    let endpoint = apis.start(KEY).await.unwrap();
    let anonymous = client_with(&endpoint, endpoint.ca_der().unwrap(), None);
    let err = Api::<Namespace>::all(anonymous)
        .list(&ListParams::default())
        .await
        .unwrap_err();
    match err {
        kube::Error::Api(s) => {
            assert_eq!(s.code, 401);
            assert_eq!(s.reason, "Unauthorized");
            assert_eq!(s.message, "Unauthorized");
        }
        other => panic!("{other:?}"),
    }
    apis.stop_all().await;
}

#[tokio::test]
async fn a_client_trusting_another_ca_fails_verification() {
    let dir = tempfile::tempdir().unwrap();
    let apis = KubeApis::new(dir.path(), 0.001);
    let one = apis.start(KEY).await.unwrap();
    let two = apis
        .start("projects/demo/locations/us-central1-a/clusters/istio-cluster2")
        .await
        .unwrap();
    assert_ne!(one.address, two.address);
    assert_ne!(one.ca_pem, two.ca_pem);
    let wrong = client_with(&one, two.ca_der().unwrap(), Some("token"));
    let err = Api::<Namespace>::all(wrong)
        .list(&ListParams::default())
        .await
        .unwrap_err();
    assert!(
        !matches!(err, kube::Error::Api(_)),
        "TLS must fail before any API answer: {err:?}"
    );
    apis.stop_all().await;
}

#[tokio::test]
async fn kubectl_gets_and_applies_server_side() {
    let kubectl = std::path::Path::new("/usr/bin/kubectl");
    assert!(
        kubectl.exists(),
        "kubectl is not installed at /usr/bin/kubectl: install kubectl (CI installs it) to run this test"
    );
    let dir = tempfile::tempdir().unwrap();
    let apis = KubeApis::new(dir.path().join("kube"), 0.001);
    let endpoint = apis.start(KEY).await.unwrap();
    use base64::Engine as _;
    let ca = base64::engine::general_purpose::STANDARD.encode(&endpoint.ca_pem);
    let kubeconfig = dir.path().join("kubeconfig");
    std::fs::write(
        &kubeconfig,
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: emu\n  cluster:\n    server: {}\n    certificate-authority-data: {ca}\nusers:\n- name: emu\n  user:\n    token: ya29.kubectl\ncontexts:\n- name: emu\n  context:\n    cluster: emu\n    user: emu\ncurrent-context: emu\n",
            endpoint.url()
        ),
    )
    .unwrap();
    let manifest = dir.path().join("cm.yaml");
    std::fs::write(
        &manifest,
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: mesh-settings\n  namespace: default\ndata:\n  network: network1\n",
    )
    .unwrap();
    let run = |args: &[&str]| {
        let kubectl = kubectl.to_path_buf();
        let kubeconfig = kubeconfig.clone();
        let cache = dir.path().join("cache");
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        async move {
            let out = tokio::process::Command::new(kubectl)
                .arg("--kubeconfig")
                .arg(&kubeconfig)
                .arg("--cache-dir")
                .arg(&cache)
                .args(&args)
                .output()
                .await
                .expect("kubectl runs");
            let stdout = String::from_utf8_lossy(&out.stdout).to_string();
            let stderr = String::from_utf8_lossy(&out.stderr).to_string();
            assert!(
                out.status.success(),
                "kubectl {args:?} failed:\n{stdout}\n{stderr}"
            );
            stdout
        }
    };
    let namespaces = run(&["get", "namespaces"]).await;
    assert!(namespaces.contains("kube-system"), "{namespaces}");
    let applied = run(&["apply", "--server-side", "-f", manifest.to_str().unwrap()]).await;
    assert!(applied.contains("mesh-settings"), "{applied}");
    let json_out = run(&[
        "get",
        "configmap",
        "mesh-settings",
        "-o",
        "json",
        "--show-managed-fields",
    ])
    .await;
    let cm: Value = serde_json::from_str(&json_out).expect("kubectl prints JSON");
    assert_eq!(cm["data"]["network"], "network1");
    assert_eq!(cm["metadata"]["managedFields"][0]["manager"], "kubectl");

    // Labels and annotations go through merge/strategic patches.
    run(&["label", "configmap", "mesh-settings", "team=mesh"]).await;
    run(&["annotate", "configmap", "mesh-settings", "note=hi"]).await;
    let labelled = run(&["get", "configmap", "-l", "team=mesh", "-o", "name"]).await;
    assert_eq!(labelled.trim(), "configmap/mesh-settings");

    // A CRD, then a custom resource of it, then kubectl finds it by short name.
    let crd = dir.path().join("crd.yaml");
    std::fs::write(
        &crd,
        "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: gateways.networking.istio.io\nspec:\n  group: networking.istio.io\n  scope: Namespaced\n  names:\n    plural: gateways\n    singular: gateway\n    kind: Gateway\n    shortNames: [gw]\n  versions:\n  - name: v1\n    served: true\n    storage: true\n    schema:\n      openAPIV3Schema:\n        type: object\n        x-kubernetes-preserve-unknown-fields: true\n",
    )
    .unwrap();
    run(&["apply", "--server-side", "-f", crd.to_str().unwrap()]).await;
    let gw = dir.path().join("gw.yaml");
    std::fs::write(
        &gw,
        "apiVersion: networking.istio.io/v1\nkind: Gateway\nmetadata:\n  name: cross-network-gateway\n  namespace: default\nspec:\n  selector:\n    istio: eastwestgateway\n",
    )
    .unwrap();
    run(&["apply", "--server-side", "-f", gw.to_str().unwrap()]).await;
    let gateways = run(&["get", "gw", "-o", "name"]).await;
    assert_eq!(
        gateways.trim(),
        "gateway.networking.istio.io/cross-network-gateway"
    );

    run(&["delete", "configmap", "mesh-settings"]).await;
    let left = run(&["get", "configmaps", "-o", "name"]).await;
    assert!(left.trim().is_empty(), "{left}");
    apis.stop_all().await;
}

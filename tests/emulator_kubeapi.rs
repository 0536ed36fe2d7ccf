//! The emulated Kubernetes API server as kube-rs and kubectl see it.

use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use kube::api::{
    Api, ApiResource, DeleteParams, DynamicObject, GroupVersionKind, ListParams, Patch,
    PatchParams, PostParams, WatchEvent, WatchParams,
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
    // `!=` also selects objects without the label, as kube-root-ca.crt.
    let lp = ListParams::default().labels("app!=mesh");
    let others: Vec<_> = cms
        .list(&lp)
        .await
        .unwrap()
        .items
        .into_iter()
        .filter_map(|c| c.metadata.name)
        .collect();
    assert_eq!(others, vec!["kube-root-ca.crt".to_string()]);

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
    let left = all.list(&ListParams::default()).await.unwrap().items;
    assert!(
        left.iter()
            .all(|c| c.metadata.namespace.as_deref() != Some("istio-system")),
        "{left:?}"
    );

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
    assert_eq!(
        left.trim(),
        "configmap/kube-root-ca.crt",
        "only what a real cluster puts in every namespace is left"
    );
    apis.stop_all().await;
}

/// kubectl with a kubeconfig for one emulated cluster.
struct Kubectl {
    dir: tempfile::TempDir,
    kubeconfig: std::path::PathBuf,
}

/// What a kubectl run returned.
struct Ran {
    success: bool,
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Kubectl {
    fn new(endpoint: &KubeEndpoint) -> Kubectl {
        Kubectl::as_user(endpoint, &endpoint.ca_pem, "ya29.kubectl")
    }

    /// kubectl trusting `ca_pem` and sending `token`.
    fn as_user(endpoint: &KubeEndpoint, ca_pem: &str, token: &str) -> Kubectl {
        assert!(
            std::path::Path::new("/usr/bin/kubectl").exists(),
            "kubectl is not installed at /usr/bin/kubectl: install the kubectl package (CI installs it) to run this test"
        );
        use base64::Engine as _;
        let dir = tempfile::tempdir().unwrap();
        let ca = base64::engine::general_purpose::STANDARD.encode(ca_pem);
        let kubeconfig = dir.path().join("kubeconfig");
        std::fs::write(
            &kubeconfig,
            format!(
                "apiVersion: v1\nkind: Config\nclusters:\n- name: emu\n  cluster:\n    server: {}\n    certificate-authority-data: {ca}\nusers:\n- name: emu\n  user:\n    token: {token}\ncontexts:\n- name: emu\n  context:\n    cluster: emu\n    user: emu\ncurrent-context: emu\n",
                endpoint.url()
            ),
        )
        .unwrap();
        Kubectl { dir, kubeconfig }
    }

    fn file(&self, name: &str, text: &str) -> String {
        let path = self.dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path.to_string_lossy().to_string()
    }

    fn command(&self, args: &[&str]) -> tokio::process::Command {
        let mut cmd = tokio::process::Command::new("/usr/bin/kubectl");
        cmd.arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .arg("--cache-dir")
            .arg(self.dir.path().join("cache"))
            .args(args)
            .kill_on_drop(true);
        cmd
    }

    async fn output(&self, args: &[&str]) -> Ran {
        let out = self.command(args).output().await.expect("kubectl runs");
        Ran {
            success: out.status.success(),
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).to_string(),
            stderr: String::from_utf8_lossy(&out.stderr).to_string(),
        }
    }

    async fn run(&self, args: &[&str]) -> String {
        let ran = self.output(args).await;
        assert!(
            ran.success,
            "kubectl {args:?} failed:\n{}\n{}",
            ran.stdout, ran.stderr
        );
        ran.stdout
    }
}

const GATEWAY_SVC: &str = "apiVersion: v1\nkind: Service\nmetadata:\n  name: gateway\n  namespace: default\nspec:\n  type: LoadBalancer\n  selector:\n    app: gateway\n  ports:\n  - port: 15443\n";

#[tokio::test]
async fn kubectl_get_svc_shows_cluster_ip_and_ports_not_only_name_and_age() {
    let dir = tempfile::tempdir().unwrap();
    let apis = KubeApis::new(dir.path(), 0.001);
    let endpoint = apis.start_in(KEY, Some("10.16.48.0/20")).await.unwrap();
    let kubectl = Kubectl::new(&endpoint);
    let svc = kubectl.file("svc.yaml", GATEWAY_SVC);
    kubectl.run(&["apply", "--server-side", "-f", &svc]).await;
    let out = kubectl.run(&["get", "svc"]).await;
    let header = out.lines().next().unwrap_or("");
    for column in [
        "NAME",
        "TYPE",
        "CLUSTER-IP",
        "EXTERNAL-IP",
        "PORT(S)",
        "AGE",
    ] {
        assert!(header.contains(column), "no {column} in:\n{out}");
    }
    let row = out
        .lines()
        .find(|l| l.starts_with("gateway "))
        .unwrap_or_else(|| panic!("no gateway row:\n{out}"));
    assert!(row.contains("LoadBalancer"), "{row}");
    assert!(row.contains("<pending>"), "{row}");
    assert!(row.contains("15443:30000/TCP"), "{row}");
    assert!(row.contains("10.16.48."), "{row}");
    let kubernetes = out.lines().find(|l| l.starts_with("kubernetes ")).unwrap();
    assert!(kubernetes.contains("10.16.48.1 "), "{kubernetes}");
    assert!(kubernetes.contains("<none>"), "{kubernetes}");

    let ns = kubectl.run(&["get", "ns"]).await;
    assert!(ns.lines().next().unwrap().contains("STATUS"), "{ns}");
    assert!(
        ns.lines()
            .any(|l| l.starts_with("default ") && l.contains("Active")),
        "{ns}"
    );
    let secret = kubectl.file(
        "secret.yaml",
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\n  namespace: default\nstringData:\n  a: b\n",
    );
    kubectl
        .run(&["apply", "--server-side", "-f", &secret])
        .await;
    let secrets = kubectl.run(&["get", "secrets"]).await;
    assert!(
        secrets.contains("TYPE") && secrets.contains("DATA"),
        "{secrets}"
    );
    let row = secrets.lines().find(|l| l.starts_with("s ")).unwrap();
    assert!(row.contains("Opaque") && row.contains(" 1 "), "{row}");
    let pretty = kubectl
        .run(&[
            "get",
            "--raw",
            "/api/v1/namespaces/default/secrets/s?pretty=True&unknown=x",
        ])
        .await;
    assert!(pretty.contains("\n  \"kind\": \"Secret\""), "{pretty}");
    assert!(
        pretty.contains("\"a\": \"Yg==\""),
        "stringData is stored as data: {pretty}"
    );
    apis.stop_all().await;
}

#[tokio::test]
async fn service_applied_with_only_type_selector_and_port_comes_back_defaulted_and_the_applier_owns_no_default(
) {
    let dir = tempfile::tempdir().unwrap();
    let apis = KubeApis::new(dir.path(), 0.001);
    let endpoint = apis.start_in(KEY, Some("10.16.48.0/20")).await.unwrap();
    let kubectl = Kubectl::new(&endpoint);
    let svc = kubectl.file(
        "svc.yaml",
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n  namespace: default\nspec:\n  type: ClusterIP\n  selector:\n    app: web\n  ports:\n  - port: 80\n",
    );
    kubectl.run(&["apply", "--server-side", "-f", &svc]).await;
    let get = || async {
        let out = kubectl
            .run(&["get", "svc", "web", "-o", "json", "--show-managed-fields"])
            .await;
        serde_json::from_str::<Value>(&out).expect("kubectl prints JSON")
    };
    let first = get().await;
    let spec = &first["spec"];
    let ip = spec["clusterIP"].as_str().expect("clusterIP is allocated");
    assert!(ip.starts_with("10.16.") && ip != "10.16.48.1", "{ip}");
    assert_eq!(spec["clusterIPs"], json!([ip]));
    assert_eq!(spec["ports"][0]["protocol"], "TCP");
    assert_eq!(spec["ports"][0]["targetPort"], 80);
    assert_eq!(spec["sessionAffinity"], "None");
    assert_eq!(spec["ipFamilies"], json!(["IPv4"]));
    assert_eq!(spec["ipFamilyPolicy"], "SingleStack");
    assert_eq!(spec["internalTrafficPolicy"], "Cluster");
    let managed = first["metadata"]["managedFields"].as_array().unwrap();
    let applier = managed
        .iter()
        .find(|m| m["manager"] == "kubectl" && m["operation"] == "Apply")
        .expect("kubectl's apply entry");
    let owned = applier["fieldsV1"]["f:spec"].as_object().unwrap();
    for defaulted in [
        "f:clusterIP",
        "f:clusterIPs",
        "f:sessionAffinity",
        "f:ipFamilies",
    ] {
        assert!(
            !owned.contains_key(defaulted),
            "{defaulted} owned: {owned:?}"
        );
    }
    assert!(owned.contains_key("f:selector") && owned.contains_key("f:type"));

    // A second identical apply is a no-op: no conflict, no new version.
    kubectl.run(&["apply", "--server-side", "-f", &svc]).await;
    let second = get().await;
    assert_eq!(
        second["metadata"]["resourceVersion"],
        first["metadata"]["resourceVersion"]
    );
    assert_eq!(second["spec"]["clusterIP"], ip);

    // Deployments are defaulted too, and Secrets get their type.
    let deploy = kubectl.file("deploy.yaml", &deployment_yaml("web"));
    kubectl
        .run(&["apply", "--server-side", "-f", &deploy])
        .await;
    let d: Value =
        serde_json::from_str(&kubectl.run(&["get", "deploy", "web", "-o", "json"]).await).unwrap();
    assert_eq!(d["spec"]["replicas"], 1);
    assert_eq!(d["spec"]["strategy"]["type"], "RollingUpdate");
    assert_eq!(d["spec"]["revisionHistoryLimit"], 10);
    assert_eq!(d["spec"]["progressDeadlineSeconds"], 600);
    let pod = &d["spec"]["template"]["spec"];
    assert_eq!(pod["restartPolicy"], "Always");
    assert_eq!(pod["schedulerName"], "default-scheduler");
    assert_eq!(pod["containers"][0]["imagePullPolicy"], "IfNotPresent");
    assert_eq!(pod["containers"][0]["terminationMessagePolicy"], "File");
    assert_eq!(pod["containers"][0]["ports"][0]["protocol"], "TCP");
    kubectl
        .run(&["apply", "--server-side", "-f", &deploy])
        .await;
    apis.stop_all().await;
}

fn deployment_yaml(name: &str) -> String {
    format!("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {name}\n  namespace: default\nspec:\n  selector:\n    matchLabels:\n      app: {name}\n  template:\n    metadata:\n      labels:\n        app: {name}\n    spec:\n      containers:\n      - name: app\n        image: nginx:1.27\n        ports:\n        - containerPort: 80\n")
}

#[tokio::test]
async fn kubectl_wait_for_available_watches_instead_of_saying_watch_is_not_supported() {
    let dir = tempfile::tempdir().unwrap();
    // Rollouts take 0.1 × 30 s = 3 s: kubectl starts waiting before.
    let apis = KubeApis::new(dir.path(), 0.1);
    let endpoint = apis.start(KEY).await.unwrap();
    let kubectl = Kubectl::new(&endpoint);
    let deploy = kubectl.file("deploy.yaml", &deployment_yaml("slow"));
    kubectl
        .run(&["apply", "--server-side", "-f", &deploy])
        .await;
    let started = std::time::Instant::now();
    let ran = kubectl
        .output(&[
            "wait",
            "--for=condition=Available",
            "deployment/slow",
            "--timeout=30s",
        ])
        .await;
    assert!(
        ran.success,
        "kubectl wait failed:\n{}\n{}",
        ran.stdout, ran.stderr
    );
    assert!(ran.stdout.contains("condition met"), "{}", ran.stdout);
    assert!(
        !ran.stderr.to_lowercase().contains("watch"),
        "kubectl fell back from watch: {}",
        ran.stderr
    );
    assert!(started.elapsed() < Duration::from_secs(20));
    let table = kubectl.run(&["get", "deploy"]).await;
    assert!(table.lines().next().unwrap().contains("READY"), "{table}");
    assert!(table.contains("1/1"), "{table}");
    apis.stop_all().await;
}

#[tokio::test]
async fn kubectl_get_ns_watch_prints_a_namespace_when_it_is_added() {
    use tokio::io::AsyncBufReadExt as _;
    let dir = tempfile::tempdir().unwrap();
    let apis = KubeApis::new(dir.path(), 0.001);
    let endpoint = apis.start(KEY).await.unwrap();
    let kubectl = Kubectl::new(&endpoint);
    let mut child = kubectl
        .command(&["get", "ns", "-w", "--request-timeout=30s"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("kubectl starts");
    let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let found = tokio::time::timeout(Duration::from_secs(25), async {
        let mut created = false;
        while let Ok(Some(line)) = lines.next_line().await {
            if line.starts_with("kube-system ") && !created {
                // The initial list is printed: now add a namespace.
                create_namespace(&client(&endpoint), "watched").await;
                created = true;
            }
            if line.starts_with("watched ") {
                return line;
            }
        }
        String::new()
    })
    .await
    .expect("kubectl get -w printed the new namespace within 25 s");
    assert!(found.contains("Active"), "{found}");
    let _ = child.kill().await;
    apis.stop_all().await;
}

#[tokio::test]
async fn kubectl_diff_server_side_shows_the_change_and_stores_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let apis = KubeApis::new(dir.path(), 0.001);
    let endpoint = apis.start(KEY).await.unwrap();
    let kubectl = Kubectl::new(&endpoint);
    let svc = kubectl.file("svc.yaml", GATEWAY_SVC);
    let ran = kubectl.output(&["diff", "--server-side", "-f", &svc]).await;
    assert_eq!(ran.code, Some(1), "{}\n{}", ran.stdout, ran.stderr);
    assert!(ran.stdout.contains("+  name: gateway"), "{}", ran.stdout);
    assert!(
        ran.stdout.contains("clusterIP"),
        "dry run defaults: {}",
        ran.stdout
    );
    let ran = kubectl.output(&["get", "svc", "gateway"]).await;
    assert!(!ran.success, "dry run stored the service: {}", ran.stdout);

    kubectl.run(&["apply", "--server-side", "-f", &svc]).await;
    let same = kubectl.output(&["diff", "--server-side", "-f", &svc]).await;
    assert_eq!(same.code, Some(0), "{}\n{}", same.stdout, same.stderr);
    let changed = kubectl.file("svc2.yaml", &GATEWAY_SVC.replace("15443", "15021"));
    let ran = kubectl
        .output(&["diff", "--server-side", "-f", &changed])
        .await;
    assert_eq!(ran.code, Some(1), "{}\n{}", ran.stdout, ran.stderr);
    assert!(
        ran.stdout.contains("+  - port: 15021") || ran.stdout.contains("15021"),
        "{}",
        ran.stdout
    );
    let stored: Value =
        serde_json::from_str(&kubectl.run(&["get", "svc", "gateway", "-o", "json"]).await).unwrap();
    assert_eq!(stored["spec"]["ports"][0]["port"], 15443);
    apis.stop_all().await;
}

#[tokio::test]
async fn kube_rs_watch_sees_added_then_deleted_and_resumes_from_a_list_version() {
    use futures::StreamExt as _;
    let dir = tempfile::tempdir().unwrap();
    let apis = KubeApis::new(dir.path(), 0.001);
    let endpoint = apis.start(KEY).await.unwrap();
    let client = client(&endpoint);
    let cms = Api::<ConfigMap>::namespaced(client.clone(), "default");
    let listed = cms.list(&ListParams::default()).await.unwrap();
    let rv = listed
        .metadata
        .resource_version
        .clone()
        .expect("list carries resourceVersion");
    let stream = cms
        .watch(&WatchParams::default().timeout(20), &rv)
        .await
        .expect("watch starts");
    let mut stream = stream.boxed();
    let cm: ConfigMap = serde_json::from_value(config_map(json!({"a": "1"}))).unwrap();
    cms.create(&PostParams::default(), &cm).await.unwrap();
    cms.delete("settings", &DeleteParams::default())
        .await
        .unwrap();
    let mut seen = Vec::new();
    while seen.len() < 2 {
        let event = tokio::time::timeout(Duration::from_secs(10), stream.next())
            .await
            .expect("an event within 10 s")
            .expect("the stream goes on")
            .expect("a decodable event");
        match event {
            WatchEvent::Added(c) => seen.push(("ADDED", c.metadata.name.unwrap())),
            WatchEvent::Deleted(c) => seen.push(("DELETED", c.metadata.name.unwrap())),
            WatchEvent::Bookmark(_) => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(
        seen,
        vec![
            ("ADDED", "settings".to_string()),
            ("DELETED", "settings".to_string())
        ]
    );

    // From version 0 a watch starts with the current objects; a field
    // selector narrows it to one name.
    let ns = Api::<Namespace>::all(client.clone());
    let mut initial = ns
        .watch(
            &WatchParams::default()
                .fields("metadata.name=default")
                .timeout(1),
            "0",
        )
        .await
        .unwrap()
        .boxed();
    let mut names = Vec::new();
    while let Some(event) = initial.next().await {
        if let WatchEvent::Added(n) = event.unwrap() {
            names.push(n.metadata.name.unwrap());
        }
    }
    assert_eq!(names, vec!["default".to_string()]);
    apis.stop_all().await;
}

#[tokio::test]
async fn kubectl_create_sends_protobuf_and_is_not_refused_as_not_json() {
    let dir = tempfile::tempdir().unwrap();
    let apis = KubeApis::new(dir.path(), 0.05);
    let endpoint = apis.start_in(KEY, Some("10.16.48.0/20")).await.unwrap();
    let kubectl = Kubectl::new(&endpoint);
    kubectl.run(&["create", "namespace", "demo"]).await;
    let labels = kubectl.run(&["get", "ns", "demo", "--show-labels"]).await;
    assert!(
        labels.contains("kubernetes.io/metadata.name=demo"),
        "{labels}"
    );
    kubectl
        .run(&[
            "-n",
            "demo",
            "create",
            "secret",
            "generic",
            "s",
            "--from-literal=a=b",
        ])
        .await;
    let data = kubectl
        .run(&[
            "-n",
            "demo",
            "get",
            "secret",
            "s",
            "-o",
            "jsonpath={.type} {.data.a}",
        ])
        .await;
    assert_eq!(data, "Opaque Yg==");
    kubectl
        .run(&[
            "-n",
            "demo",
            "create",
            "configmap",
            "c",
            "--from-literal=k=v",
        ])
        .await;
    kubectl
        .run(&["-n", "demo", "create", "serviceaccount", "robot"])
        .await;
    kubectl
        .run(&[
            "-n",
            "demo",
            "create",
            "deployment",
            "web",
            "--image=nginx",
            "--port=80",
        ])
        .await;
    let policy = kubectl
        .run(&[
            "-n",
            "demo",
            "get",
            "deploy",
            "web",
            "-o",
            "jsonpath={.spec.template.spec.containers[0].imagePullPolicy}",
        ])
        .await;
    assert_eq!(policy, "Always", "nginx without a tag is pulled always");
    let status = kubectl
        .run(&[
            "-n",
            "demo",
            "rollout",
            "status",
            "deploy/web",
            "--timeout=20s",
        ])
        .await;
    assert!(status.contains("successfully rolled out"), "{status}");
    kubectl
        .run(&[
            "-n",
            "demo",
            "expose",
            "deploy",
            "web",
            "--port=80",
            "--type=LoadBalancer",
        ])
        .await;
    let svc = kubectl.run(&["-n", "demo", "get", "svc", "web"]).await;
    assert!(
        svc.contains("80:30000/TCP") && svc.contains("10.16.48."),
        "{svc}"
    );
    let all = kubectl.run(&["-n", "demo", "get", "all"]).await;
    assert!(
        all.contains("service/web") && all.contains("deployment.apps/web"),
        "{all}"
    );
    kubectl
        .run(&[
            "-n",
            "demo",
            "run",
            "tmp",
            "--image=busybox:1.36",
            "--restart=Never",
        ])
        .await;
    kubectl
        .run(&[
            "-n",
            "demo",
            "create",
            "role",
            "reader",
            "--verb=get,list",
            "--resource=pods",
        ])
        .await;
    kubectl
        .run(&[
            "-n",
            "demo",
            "create",
            "rolebinding",
            "reader",
            "--role=reader",
            "--serviceaccount=demo:robot",
        ])
        .await;
    let role = kubectl
        .run(&[
            "-n",
            "demo",
            "get",
            "rolebinding",
            "reader",
            "-o",
            "jsonpath={.roleRef.name} {.subjects[0].name}",
        ])
        .await;
    assert_eq!(role, "reader robot");
    let events = kubectl.output(&["-n", "demo", "get", "events"]).await;
    assert!(events.success, "kubectl get events: {}", events.stderr);
    let sa = kubectl
        .run(&["-n", "demo", "get", "sa", "-o", "name"])
        .await;
    assert!(sa.contains("serviceaccount/default"), "{sa}");
    let ca = kubectl
        .run(&[
            "-n",
            "demo",
            "get",
            "cm",
            "kube-root-ca.crt",
            "-o",
            "jsonpath={.data.ca\\.crt}",
        ])
        .await;
    assert_eq!(ca, endpoint.ca_pem);
    kubectl.run(&["delete", "namespace", "demo"]).await;
    apis.stop_all().await;
}

/// What `kube::runtime::wait::await_condition` relies on: after a list, a
/// watch from its version narrowed to one name sends a `MODIFIED` event
/// when the rollout completes, though nothing wrote the Deployment.
#[tokio::test]
async fn kube_rs_watch_of_a_deployment_sees_it_become_available_without_a_write() {
    use futures::StreamExt as _;
    let dir = tempfile::tempdir().unwrap();
    let apis = KubeApis::new(dir.path(), 0.05);
    let endpoint = apis.start(KEY).await.unwrap();
    let client = client(&endpoint);
    let deployments = Api::<Deployment>::namespaced(client.clone(), "default");
    let deploy = json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web"},
            "spec": {"selector": {"matchLabels": {"app": "web"}},
                     "template": {"metadata": {"labels": {"app": "web"}},
                                  "spec": {"containers": [{"name": "a", "image": "nginx:1.27"}]}}}
    });
    deployments
        .patch("web", &PatchParams::apply("test"), &Patch::Apply(deploy))
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
    let listed = deployments
        .list(&ListParams::default().fields("metadata.name=web"))
        .await
        .unwrap();
    assert!(!available(&listed.items[0]), "not available right away");
    let rv = listed.metadata.resource_version.unwrap();
    let mut stream = deployments
        .watch(
            &WatchParams::default()
                .fields("metadata.name=web")
                .timeout(20),
            &rv,
        )
        .await
        .unwrap()
        .boxed();
    let event = tokio::time::timeout(Duration::from_secs(15), async {
        loop {
            match stream.next().await {
                Some(Ok(WatchEvent::Modified(d))) if available(&d) => return d,
                Some(Ok(_)) => {}
                other => panic!("stream ended: {other:?}"),
            }
        }
    })
    .await
    .expect("MODIFIED with Available=True within 15 s");
    assert_eq!(event.metadata.name.as_deref(), Some("web"));
    apis.stop_all().await;
}

#[tokio::test]
async fn kubectl_scale_and_patch_type_json_are_served_not_refused() {
    let dir = tempfile::tempdir().unwrap();
    let apis = KubeApis::new(dir.path(), 0.001);
    let endpoint = apis.start(KEY).await.unwrap();
    let kubectl = Kubectl::new(&endpoint);
    let deploy = kubectl.file("deploy.yaml", &deployment_yaml("web"));
    kubectl
        .run(&["apply", "--server-side", "-f", &deploy])
        .await;
    let scaled = kubectl
        .run(&["scale", "deployment/web", "--replicas=3"])
        .await;
    assert!(scaled.contains("scaled"), "{scaled}");
    let replicas = kubectl
        .run(&["get", "deploy", "web", "-o", "jsonpath={.spec.replicas}"])
        .await;
    assert_eq!(replicas, "3");
    kubectl
        .run(&[
            "patch",
            "deployment",
            "web",
            "--type=json",
            "-p",
            r#"[{"op":"replace","path":"/spec/replicas","value":2},{"op":"add","path":"/metadata/labels","value":{"tier":"front"}}]"#,
        ])
        .await;
    let got = kubectl
        .run(&[
            "get",
            "deploy",
            "web",
            "-o",
            "jsonpath={.spec.replicas} {.metadata.labels.tier}",
        ])
        .await;
    assert_eq!(got, "2 front");
    let failed = kubectl
        .output(&[
            "patch",
            "deployment",
            "web",
            "--type=json",
            "-p",
            r#"[{"op":"remove","path":"/spec/nothing"}]"#,
        ])
        .await;
    assert!(!failed.success, "{}", failed.stdout);
    apis.stop_all().await;
}

#[tokio::test]
async fn invalid_names_and_mismatched_deployment_selectors_are_refused_as_by_a_real_api_server() {
    let dir = tempfile::tempdir().unwrap();
    let apis = KubeApis::new(dir.path(), 0.001);
    let endpoint = apis.start(KEY).await.unwrap();
    let kubectl = Kubectl::new(&endpoint);
    let ran = kubectl
        .output(&["create", "namespace", "Istio_System"])
        .await;
    assert!(!ran.success);
    assert!(ran.stderr.contains("RFC 1123 label"), "{}", ran.stderr);
    let bad = kubectl.file(
        "bad.yaml",
        &deployment_yaml("web").replace(
            "      labels:\n        app: web",
            "      labels:\n        app: other",
        ),
    );
    let ran = kubectl
        .output(&["apply", "--server-side", "-f", &bad])
        .await;
    assert!(!ran.success, "{}", ran.stdout);
    assert!(
        ran.stderr
            .contains("`selector` does not match template `labels`"),
        "{}",
        ran.stderr
    );
    let no_ports = kubectl.file(
        "svc.yaml",
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n  namespace: default\nspec:\n  selector:\n    app: web\n",
    );
    let ran = kubectl
        .output(&["apply", "--server-side", "-f", &no_ports])
        .await;
    assert!(
        ran.stderr.contains("spec.ports: Required value"),
        "{}",
        ran.stderr
    );
    apis.stop_all().await;
}

#[tokio::test]
async fn dry_run_answers_create_patch_and_delete_without_storing_and_old_watches_expire() {
    use futures::StreamExt as _;
    let dir = tempfile::tempdir().unwrap();
    let apis = KubeApis::new(dir.path(), 0.001);
    let endpoint = apis.start(KEY).await.unwrap();
    let client = client(&endpoint);
    let cms = Api::<ConfigMap>::namespaced(client.clone(), "default");
    let cm: ConfigMap = serde_json::from_value(config_map(json!({"a": "1"}))).unwrap();
    let dry = PostParams {
        dry_run: true,
        ..PostParams::default()
    };
    let answered = cms.create(&dry, &cm).await.expect("dry-run create");
    assert_eq!(answered.data.unwrap()["a"], "1");
    assert_eq!(api_code(cms.get("settings").await.unwrap_err()), 404);

    cms.create(&PostParams::default(), &cm).await.unwrap();
    let rv = cms.get("settings").await.unwrap().metadata.resource_version;
    let patched = cms
        .patch(
            "settings",
            &PatchParams::apply("t").dry_run().force(),
            &Patch::Apply(config_map(json!({"a": "2"}))),
        )
        .await
        .expect("dry-run apply");
    assert_eq!(patched.data.unwrap()["a"], "2");
    let stored = cms.get("settings").await.unwrap();
    assert_eq!(stored.data.unwrap()["a"], "1");
    assert_eq!(stored.metadata.resource_version, rv);
    let dp = DeleteParams {
        dry_run: true,
        ..DeleteParams::default()
    };
    cms.delete("settings", &dp).await.expect("dry-run delete");
    assert!(cms.get("settings").await.is_ok(), "dry-run delete kept it");

    // After a restart the change history is gone: watching from an old
    // version is answered 410 Expired, and the client relists.
    apis.stop_all().await;
    let endpoint = apis.start(KEY).await.unwrap();
    let cms = Api::<ConfigMap>::namespaced(self::client(&endpoint), "default");
    let mut stream = cms
        .watch(&WatchParams::default().timeout(5), "1")
        .await
        .unwrap()
        .boxed();
    match stream.next().await {
        Some(Ok(WatchEvent::Error(e))) => assert_eq!(e.code, 410),
        other => panic!("expected 410 Expired, got {other:?}"),
    }
    apis.stop_all().await;
}

/// Graceful deletion as a real API server does it: an object with
/// finalizers is only marked (watch sees MODIFIED) until an update removes
/// the last one (DELETED); no finalizer may be added meanwhile.
#[tokio::test]
async fn an_object_with_finalizers_waits_for_them_and_takes_no_new_ones() {
    use futures::{StreamExt as _, TryStreamExt as _};
    let dir = tempfile::tempdir().unwrap();
    let apis = KubeApis::new(dir.path(), 0.001);
    let endpoint = apis.start(KEY).await.unwrap();
    let client = client(&endpoint);
    let cms = Api::<ConfigMap>::namespaced(client.clone(), "default");
    let cm: ConfigMap = serde_json::from_value(
        json!({"metadata": {"name": "held", "finalizers": ["example.com/hold"]}}),
    )
    .unwrap();
    let created = cms
        .create(&PostParams::default(), &cm)
        .await
        .expect("create");
    let rv = created.metadata.resource_version.clone().expect("rv");
    let mut watch = cms
        .watch(&WatchParams::default().fields("metadata.name=held"), &rv)
        .await
        .expect("watch")
        .boxed();

    let deleted = cms
        .delete("held", &DeleteParams::default())
        .await
        .expect("delete");
    let marked = deleted.left().expect("the object comes back, not a Status");
    assert!(marked.metadata.deletion_timestamp.is_some());
    assert_eq!(marked.metadata.deletion_grace_period_seconds, Some(0));
    let event = tokio::time::timeout(Duration::from_secs(5), watch.try_next())
        .await
        .expect("event in time")
        .expect("watch ok")
        .expect("event");
    assert!(matches!(event, WatchEvent::Modified(_)), "{event:?}");
    // A second DELETE is a no-op returning the object.
    let again = cms
        .delete("held", &DeleteParams::default())
        .await
        .expect("again");
    assert_eq!(
        again.left().expect("object").metadata.resource_version,
        marked.metadata.resource_version
    );
    assert!(cms.get("held").await.is_ok(), "still there");

    let add = json!({"metadata": {"finalizers": ["example.com/hold", "example.com/more"]}});
    let err = cms
        .patch("held", &PatchParams::default(), &Patch::Merge(&add))
        .await
        .expect_err("no new finalizers");
    match err {
        kube::Error::Api(s) => {
            assert_eq!(s.code, 422);
            assert!(
                s.message
                    .contains("no new finalizers can be added if the object is being deleted"),
                "{}",
                s.message
            );
        }
        other => panic!("{other:?}"),
    }
    let release = json!({"metadata": {"finalizers": null}});
    cms.patch("held", &PatchParams::default(), &Patch::Merge(&release))
        .await
        .expect("release");
    let event = tokio::time::timeout(Duration::from_secs(5), watch.try_next())
        .await
        .expect("event in time")
        .expect("watch ok")
        .expect("event");
    assert!(matches!(event, WatchEvent::Deleted(_)), "{event:?}");
    assert_eq!(api_code(cms.get("held").await.unwrap_err()), 404);
    apis.stop_all().await;
}

/// A namespace being deleted is Terminating, refuses new content with the
/// real server's 403, deletes what it holds and goes once it is empty;
/// `kubectl delete ns` waits for that.
#[tokio::test]
async fn a_terminating_namespace_refuses_new_content_and_waits_for_its_contents() {
    let dir = tempfile::tempdir().unwrap();
    let apis = KubeApis::new(dir.path(), 0.001);
    let endpoint = apis.start(KEY).await.unwrap();
    let client = client(&endpoint);
    create_namespace(&client, "doomed").await;
    let cms = Api::<ConfigMap>::namespaced(client.clone(), "doomed");
    for (name, finalizers) in [("plain", json!([])), ("held", json!(["example.com/hold"]))] {
        let cm: ConfigMap =
            serde_json::from_value(json!({"metadata": {"name": name, "finalizers": finalizers}}))
                .unwrap();
        cms.create(&PostParams::default(), &cm)
            .await
            .expect("create");
    }
    let namespaces = Api::<Namespace>::all(client.clone());
    let answer = namespaces
        .delete("doomed", &DeleteParams::default())
        .await
        .expect("delete ns");
    let ns = answer.left().expect("namespace");
    assert_eq!(
        ns.status.and_then(|s| s.phase).as_deref(),
        Some("Terminating")
    );
    let cm: ConfigMap = serde_json::from_value(json!({"metadata": {"name": "late"}})).unwrap();
    match cms.create(&PostParams::default(), &cm).await.unwrap_err() {
        kube::Error::Api(s) => {
            assert_eq!((s.code, s.reason.as_str()), (403, "Forbidden"));
            assert_eq!(
                s.message,
                "configmaps \"late\" is forbidden: unable to create new content in namespace doomed because it is being terminated"
            );
        }
        other => panic!("{other:?}"),
    }
    // The plain object is gone, the held one waits, so does the namespace.
    assert_eq!(api_code(cms.get("plain").await.unwrap_err()), 404);
    let held = cms.get("held").await.expect("held stays");
    assert!(held.metadata.deletion_timestamp.is_some());
    assert!(namespaces.get("doomed").await.is_ok());

    let kubectl = Kubectl::new(&endpoint);
    let shown = kubectl.run(&["get", "ns", "doomed"]).await;
    assert!(shown.contains("Terminating"), "{shown}");
    let waiting = kubectl
        .command(&["delete", "ns", "doomed", "--timeout=30s"])
        .spawn()
        .expect("kubectl delete");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let release = json!({"metadata": {"finalizers": null}});
    cms.patch("held", &PatchParams::default(), &Patch::Merge(&release))
        .await
        .expect("release");
    let out = waiting.wait_with_output().await.expect("kubectl ends");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(api_code(namespaces.get("doomed").await.unwrap_err()), 404);
    let gone = kubectl.output(&["get", "ns", "doomed"]).await;
    assert!(
        !gone.success && gone.stderr.contains("NotFound"),
        "{}",
        gone.stderr
    );
    apis.stop_all().await;
}

const READER: &str = "istio-reader-service-account";
const READER_SECRET: &str = "istio-reader-service-account-istio-remote-secret-token";
const READER_USER: &str = "system:serviceaccount:istio-system:istio-reader-service-account";

/// What `istioctl create-remote-secret` relies on in the cluster that is
/// read (MESH.md "Remote secrets"): the reader's ServiceAccount, its
/// ClusterRole and binding, then its token Secret.
async fn create_istio_reader(admin: &Client) {
    create_namespace(admin, "istio-system").await;
    let reader_rules = json!([
        {"apiGroups": ["config.istio.io", "security.istio.io", "networking.istio.io",
                       "authentication.istio.io", "rbac.istio.io", "telemetry.istio.io",
                       "extensions.istio.io"],
         "resources": ["*"], "verbs": ["get", "list", "watch"]},
        {"apiGroups": [""], "resources": ["endpoints", "pods", "services", "nodes",
                       "replicationcontrollers", "namespaces", "secrets", "configmaps"],
         "verbs": ["get", "list", "watch"]},
        {"apiGroups": ["discovery.k8s.io"], "resources": ["endpointslices"],
         "verbs": ["get", "list", "watch"]},
        {"apiGroups": ["apiextensions.k8s.io"], "resources": ["customresourcedefinitions"],
         "verbs": ["get", "list", "watch"]},
        {"apiGroups": ["gateway.networking.k8s.io"], "resources": ["gateways"],
         "verbs": ["get", "list", "watch"]},
        {"apiGroups": ["apps"], "resources": ["replicasets"], "verbs": ["get", "list", "watch"]},
        {"apiGroups": ["multicluster.x-k8s.io"], "resources": ["serviceexports"],
         "verbs": ["get", "list", "watch", "create", "delete"]},
        {"apiGroups": ["multicluster.x-k8s.io"], "resources": ["serviceimports"],
         "verbs": ["get", "list", "watch"]},
        {"apiGroups": ["authentication.k8s.io"], "resources": ["tokenreviews"], "verbs": ["create"]},
        {"apiGroups": ["authorization.k8s.io"], "resources": ["subjectaccessreviews"],
         "verbs": ["create"]},
    ]);
    let role = "istio-reader-clusterrole-istio-system";
    let objects = [
        (
            ApiResource::erase::<k8s_openapi::api::core::v1::ServiceAccount>(&()),
            json!({"metadata": {"name": READER, "namespace": "istio-system"}}),
        ),
        (
            ApiResource::erase::<k8s_openapi::api::rbac::v1::ClusterRole>(&()),
            json!({"metadata": {"name": role}, "rules": reader_rules}),
        ),
        (
            ApiResource::erase::<k8s_openapi::api::rbac::v1::ClusterRoleBinding>(&()),
            json!({"metadata": {"name": role},
                   "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                               "name": role},
                   "subjects": [{"kind": "ServiceAccount", "name": READER,
                                 "namespace": "istio-system"}]}),
        ),
        (
            ApiResource::erase::<k8s_openapi::api::core::v1::Secret>(&()),
            json!({"metadata": {"name": READER_SECRET, "namespace": "istio-system",
                                "annotations": {"kubernetes.io/service-account.name": READER}},
                   "type": "kubernetes.io/service-account-token"}),
        ),
    ];
    for (resource, object) in objects {
        let mut object: DynamicObject = serde_json::from_value(object).unwrap();
        object.types = Some(kube::api::TypeMeta {
            api_version: resource.api_version.clone(),
            kind: resource.kind.clone(),
        });
        let api: Api<DynamicObject> = match object.metadata.namespace.clone() {
            Some(ns) => Api::namespaced_with(admin.clone(), &ns, &resource),
            None => Api::all_with(admin.clone(), &resource),
        };
        api.create(&PostParams::default(), &object)
            .await
            .unwrap_or_else(|e| panic!("{} created: {e}", resource.kind));
    }
}

/// The reader's token and `ca.crt`, once the token controller filled them.
async fn reader_token(admin: &Client) -> (String, String) {
    let secrets =
        Api::<k8s_openapi::api::core::v1::Secret>::namespaced(admin.clone(), "istio-system");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let secret = secrets.get(READER_SECRET).await.expect("token Secret");
        let data = secret.data.unwrap_or_default();
        if let (Some(token), Some(ca)) = (data.get("token"), data.get("ca.crt")) {
            let text = |b: &k8s_openapi::ByteString| String::from_utf8(b.0.clone()).unwrap();
            assert_eq!(text(&data["namespace"]), "istio-system");
            let uid = &secret.metadata.annotations.unwrap()["kubernetes.io/service-account.uid"];
            assert!(!uid.is_empty());
            return (text(token), text(ca));
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the token controller did not fill {READER_SECRET}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn reader_client(endpoint: &KubeEndpoint, ca_pem: &str, token: &str) -> Client {
    let ca = pem::parse(ca_pem).expect("ca.crt is PEM").into_contents();
    client_with(endpoint, ca, Some(token))
}

#[tokio::test]
async fn a_service_account_token_reads_as_istios_reader_and_is_refused_writes() {
    use futures::{StreamExt as _, TryStreamExt as _};
    use k8s_openapi::api::authentication::v1::TokenReview;
    use k8s_openapi::api::core::v1::Service;

    let dir = tempfile::tempdir().unwrap();
    let apis = KubeApis::new(dir.path(), 0.001);
    let endpoint = apis.start(KEY).await.unwrap();
    let admin = client(&endpoint);
    create_istio_reader(&admin).await;
    let (token, ca_pem) = reader_token(&admin).await;
    assert_eq!(ca_pem, endpoint.ca_pem);
    assert_eq!(token.split('.').count(), 3, "a JWT: {token}");

    // kube-rs, as istiod reads a remote cluster.
    let reader = reader_client(&endpoint, &ca_pem, &token);
    let services = Api::<Service>::all(reader.clone());
    let listed = services.list(&ListParams::default()).await.expect("list");
    assert!(listed
        .items
        .iter()
        .any(|s| s.metadata.name.as_deref() == Some("kubernetes")));
    let rv = listed.metadata.resource_version.clone().unwrap();
    let mut events = services
        .watch(&WatchParams::default().timeout(5), &rv)
        .await
        .expect("watch")
        .boxed();
    let svc: Service = serde_json::from_value(json!({"metadata": {"name": "web"},
        "spec": {"ports": [{"port": 80}]}}))
    .unwrap();
    Api::<Service>::namespaced(admin.clone(), "default")
        .create(&PostParams::default(), &svc)
        .await
        .expect("admin creates");
    let event = tokio::time::timeout(Duration::from_secs(5), events.try_next())
        .await
        .expect("an event in time")
        .expect("watch works");
    assert!(
        matches!(event, Some(WatchEvent::Added(s)) if s.metadata.name.as_deref() == Some("web"))
    );

    let cm: ConfigMap = serde_json::from_value(json!({"metadata": {"name": "x"}})).unwrap();
    let refused = Api::<ConfigMap>::namespaced(reader.clone(), "default")
        .create(&PostParams::default(), &cm)
        .await
        .unwrap_err();
    match refused {
        kube::Error::Api(s) => {
            assert_eq!((s.code, s.reason.as_str()), (403, "Forbidden"));
            assert_eq!(
                s.message,
                format!("configmaps is forbidden: User \"{READER_USER}\" cannot create resource \"configmaps\" in API group \"\" in the namespace \"default\"")
            );
        }
        other => panic!("{other:?}"),
    }
    let deploys = Api::<Deployment>::all(reader.clone());
    assert_eq!(
        api_code(deploys.list(&ListParams::default()).await.unwrap_err()),
        403
    );

    // istiod's TokenReview of the token, allowed by the reader's role.
    let review: TokenReview = serde_json::from_value(json!({"spec": {"token": token}})).unwrap();
    let reviewed = Api::<TokenReview>::all(reader.clone())
        .create(&PostParams::default(), &review)
        .await
        .expect("token review");
    let status = reviewed.status.expect("status");
    assert_eq!(status.authenticated, Some(true));
    let user = status.user.expect("user");
    assert_eq!(user.username.as_deref(), Some(READER_USER));
    assert!(user
        .groups
        .unwrap()
        .contains(&"system:serviceaccounts:istio-system".to_string()));

    // kubectl with a kubeconfig holding the token, as the remote secret does.
    let kubectl = Kubectl::as_user(&endpoint, &ca_pem, &token);
    let all = kubectl.run(&["get", "services", "-A"]).await;
    assert!(all.contains("kubernetes") && all.contains("web"), "{all}");
    let create = kubectl
        .output(&["create", "configmap", "x", "-n", "default"])
        .await;
    assert!(!create.success);
    assert!(
        create.stderr.contains(&format!("configmaps is forbidden: User \"{READER_USER}\" cannot create resource \"configmaps\" in API group \"\" in the namespace \"default\"")),
        "{}",
        create.stderr
    );
    let can = kubectl
        .output(&["auth", "can-i", "list", "services", "-A"])
        .await;
    assert_eq!(can.stdout.trim(), "yes", "{}", can.stderr);
    let cannot = kubectl
        .output(&["auth", "can-i", "create", "configmaps", "-n", "default"])
        .await;
    assert_eq!(cannot.stdout.trim(), "no", "{}", cannot.stderr);

    // A forged token (another account's claims under the reader's
    // signature) and a token signed elsewhere are refused.
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let parts: Vec<&str> = token.split('.').collect();
    let mut claims: Value = serde_json::from_slice(&b64.decode(parts[1]).unwrap()).unwrap();
    claims["kubernetes.io/serviceaccount/service-account.name"] = json!("default");
    claims["sub"] = json!("system:serviceaccount:istio-system:default");
    let forged = format!(
        "{}.{}.{}",
        parts[0],
        b64.encode(claims.to_string()),
        parts[2]
    );
    for bad in [
        forged,
        format!("{}.{}.{}", parts[0], parts[1], b64.encode([7u8; 32])),
    ] {
        let client = reader_client(&endpoint, &ca_pem, &bad);
        let err = Api::<Service>::all(client)
            .list(&ListParams::default())
            .await
            .unwrap_err();
        assert_eq!(api_code(err), 401, "{bad}");
    }

    // The token dies with its Secret.
    Api::<k8s_openapi::api::core::v1::Secret>::namespaced(admin.clone(), "istio-system")
        .delete(READER_SECRET, &DeleteParams::default())
        .await
        .expect("secret deleted");
    assert_eq!(
        api_code(services.list(&ListParams::default()).await.unwrap_err()),
        401
    );
    apis.stop_all().await;
}

#[tokio::test]
async fn a_token_survives_a_restart_and_dies_with_its_service_account() {
    use k8s_openapi::api::core::v1::{Secret, Service, ServiceAccount};

    let dir = tempfile::tempdir().unwrap();
    let apis = KubeApis::new(dir.path(), 0.001);
    let endpoint = apis.start(KEY).await.unwrap();
    let admin = client(&endpoint);
    create_istio_reader(&admin).await;
    let (token, ca_pem) = reader_token(&admin).await;
    apis.stop_all().await;
    let endpoint = apis.start(KEY).await.unwrap();
    let reader = reader_client(&endpoint, &ca_pem, &token);
    Api::<Service>::all(reader.clone())
        .list(&ListParams::default())
        .await
        .expect("the token still works after a restart");

    let admin = client(&endpoint);
    Api::<ServiceAccount>::namespaced(admin.clone(), "istio-system")
        .delete(READER, &DeleteParams::default())
        .await
        .expect("account deleted");
    let err = Api::<Service>::all(reader)
        .list(&ListParams::default())
        .await
        .unwrap_err();
    assert_eq!(api_code(err), 401);
    let secrets = Api::<Secret>::namespaced(admin, "istio-system");
    assert_eq!(
        api_code(secrets.get(READER_SECRET).await.unwrap_err()),
        404,
        "the token controller deletes the tokens of a deleted account"
    );
    apis.stop_all().await;
}

//! Google's own tools as a second client of the emulated GKE API: `gcloud
//! container clusters …` pointed at the emulator with exactly the `export`
//! lines `meshform emulator env` prints, and `kubectl` through the
//! kubeconfig `gcloud container clusters get-credentials` writes (with
//! gke-gcloud-auth-plugin).

mod common;

use common::World;
use serde_json::Value;
use std::process::Command;

/// Runs a Google tool with the emulator's environment; panics naming the
/// package to install when the tool is missing.
struct Tools {
    env: Vec<(&'static str, String)>,
    kubeconfig: std::path::PathBuf,
    _config: tempfile::TempDir,
}

impl Tools {
    fn new(w: &World) -> Tools {
        let config = tempfile::tempdir().unwrap();
        let env = meshform::emulator::tool_env::gcloud_env(
            &w.emulator.url(),
            "meshform-demo",
            config.path(),
        );
        Tools {
            env,
            kubeconfig: config.path().join("kubeconfig"),
            _config: config,
        }
    }

    fn run(&self, tool: &str, package: &str, args: &[&str]) -> (bool, String, String) {
        let out = Command::new(tool)
            .args(args)
            .envs(self.env.iter().map(|(k, v)| (*k, v.as_str())))
            .env("KUBECONFIG", &self.kubeconfig)
            .output()
            .unwrap_or_else(|e| {
                panic!("{tool} is needed for this test ({e}): install the Debian package {package}")
            });
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// `gcloud ARGS`, which must succeed; its stdout.
    fn gcloud(&self, args: &[&str]) -> String {
        let (ok, out, err) = self.run("gcloud", "google-cloud-cli", args);
        assert!(ok, "gcloud {args:?} failed\n{out}\n{err}");
        out
    }

    /// `gcloud ARGS --format=json`, parsed.
    fn gcloud_json(&self, args: &[&str]) -> Value {
        let mut full = args.to_vec();
        full.push("--format=json");
        serde_json::from_str(&self.gcloud(&full)).unwrap()
    }

    fn kubectl(&self, args: &[&str]) -> String {
        let (ok, out, err) = self.run("kubectl", "kubernetes-client", args);
        assert!(ok, "kubectl {args:?} failed\n{out}\n{err}");
        out
    }
}

/// The network layer of the tutorial, made by meshform, for clusters to live in.
async fn network_layer() -> World {
    let w = World::new("vpc.toml").await;
    w.run(&["apply", "--auto-approve"]).await.expect(0);
    w
}

/// The secondary ranges of the tutorial's European subnet, by name.
async fn subnet_ranges(w: &World) -> Vec<String> {
    let url = format!(
        "{}/compute/v1/projects/meshform-demo/regions/europe-west2/subnetworks/eu-ilb-subnet",
        w.emulator.url()
    );
    let body: Value = reqwest::get(&url).await.unwrap().json().await.unwrap();
    body["secondaryIpRanges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["rangeName"].as_str().unwrap().to_string())
        .collect()
}

const ZONE: &str = "europe-west2-b";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gcloud_clusters_create_with_range_blocks_gets_gke_managed_ranges_not_a_400() {
    let w = network_layer().await;
    let t = Tools::new(&w);
    let before = subnet_ranges(&w).await;
    t.gcloud(&[
        "container",
        "clusters",
        "create",
        "blocks",
        "--zone",
        ZONE,
        "--network",
        "cross-region-vpc",
        "--subnetwork",
        "eu-ilb-subnet",
        "--enable-ip-alias",
        "--cluster-ipv4-cidr",
        "10.40.0.0/16",
        "--services-ipv4-cidr",
        "/22",
        "--enable-private-nodes",
        "--master-ipv4-cidr",
        "172.16.0.96/28",
        "--num-nodes",
        "1",
    ]);
    let c = t.gcloud_json(&[
        "container",
        "clusters",
        "describe",
        "blocks",
        "--zone",
        ZONE,
    ]);
    assert_eq!(c["status"], "RUNNING");
    let policy = &c["ipAllocationPolicy"];
    let pods = policy["clusterSecondaryRangeName"].as_str().unwrap();
    let services = policy["servicesSecondaryRangeName"].as_str().unwrap();
    assert!(pods.starts_with("gke-blocks-pods-"), "{policy}");
    assert!(services.starts_with("gke-blocks-services-"), "{policy}");
    assert_eq!(policy["clusterIpv4CidrBlock"], "10.40.0.0/16");
    assert!(policy["servicesIpv4CidrBlock"]
        .as_str()
        .unwrap()
        .ends_with("/22"));
    let after = subnet_ranges(&w).await;
    assert!(after.contains(&pods.to_string()) && after.contains(&services.to_string()));

    let list = t.gcloud(&["container", "clusters", "list"]);
    let header = list.lines().next().unwrap();
    for column in ["NAME", "LOCATION", "MASTER_VERSION", "STATUS"] {
        assert!(header.contains(column), "{list}");
    }
    assert!(
        list.lines()
            .any(|l| l.starts_with("blocks ") && l.contains("RUNNING")),
        "{list}"
    );

    t.gcloud(&[
        "container",
        "clusters",
        "delete",
        "blocks",
        "--zone",
        ZONE,
        "--quiet",
    ]);
    let list = t.gcloud_json(&["container", "clusters", "list"]);
    assert_eq!(list, serde_json::json!([]));
    assert_eq!(
        subnet_ranges(&w).await,
        before,
        "GKE's ranges leave with the cluster"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gcloud_clusters_named_ranges_update_get_credentials_and_kubectl() {
    let w = network_layer().await;
    let t = Tools::new(&w);
    t.gcloud(&[
        "container",
        "clusters",
        "create",
        "named",
        "--zone",
        ZONE,
        "--network",
        "cross-region-vpc",
        "--subnetwork",
        "eu-ilb-subnet",
        "--enable-ip-alias",
        "--cluster-secondary-range-name",
        "eu-pods",
        "--services-secondary-range-name",
        "eu-services",
        "--enable-private-nodes",
        "--enable-private-endpoint",
        "--master-ipv4-cidr",
        "172.16.0.32/28",
        "--enable-master-authorized-networks",
        "--master-authorized-networks",
        "172.20.0.0/20",
        "--num-nodes",
        "1",
    ]);
    let c = t.gcloud_json(&["container", "clusters", "describe", "named", "--zone", ZONE]);
    assert_eq!(
        c["ipAllocationPolicy"]["clusterSecondaryRangeName"],
        "eu-pods"
    );
    // Both forms of the control plane are returned, in step.
    assert_eq!(c["privateClusterConfig"]["enablePrivateEndpoint"], true);
    assert_eq!(
        c["controlPlaneEndpointsConfig"]["ipEndpointsConfig"]["enablePublicEndpoint"],
        false
    );

    t.gcloud(&[
        "container",
        "clusters",
        "update",
        "named",
        "--zone",
        ZONE,
        "--enable-master-authorized-networks",
        "--master-authorized-networks",
        "172.20.0.0/20,10.16.48.0/20",
    ]);
    t.gcloud(&[
        "container",
        "clusters",
        "update",
        "named",
        "--zone",
        ZONE,
        "--enable-master-global-access",
    ]);
    let c = t.gcloud_json(&["container", "clusters", "describe", "named", "--zone", ZONE]);
    let blocks: Vec<&str> = c["masterAuthorizedNetworksConfig"]["cidrBlocks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["cidrBlock"].as_str().unwrap())
        .collect();
    assert_eq!(blocks, ["172.20.0.0/20", "10.16.48.0/20"]);
    assert_eq!(
        c["privateClusterConfig"]["masterGlobalAccessConfig"]["enabled"],
        true
    );
    assert_eq!(
        c["controlPlaneEndpointsConfig"]["ipEndpointsConfig"]["globalAccess"],
        true
    );

    // get-credentials writes a kubeconfig that runs gke-gcloud-auth-plugin.
    t.gcloud(&[
        "container",
        "clusters",
        "get-credentials",
        "named",
        "--zone",
        ZONE,
        "--internal-ip",
    ]);
    let kubeconfig = std::fs::read_to_string(&t.kubeconfig).unwrap();
    assert!(
        kubeconfig.contains("gke-gcloud-auth-plugin"),
        "{kubeconfig}"
    );
    let namespaces: Value =
        serde_json::from_str(&t.kubectl(&["get", "namespaces", "-o", "json"])).unwrap();
    let names: Vec<&str> = namespaces["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["metadata"]["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"kube-system"), "{names:?}");
    t.gcloud(&[
        "container",
        "clusters",
        "delete",
        "named",
        "--zone",
        ZONE,
        "--quiet",
    ]);
}

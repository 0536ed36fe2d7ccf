//! Google's own `gcloud` (SDK 528, Debian package `google-cloud-cli`) as a
//! second, independent client of the emulator: compute, Service Usage and
//! GKE, each command a user would type for the kinds meshform manages,
//! asserted on the tables it prints or on its `--format=json` output.

#[macro_use]
mod common;

use common::gcloud::{Gcloud, PROJECT};
use common::listen;
use meshform::emulator::{Emulator, EmulatorConfig};
use serde_json::Value;

async fn start(dir: &tempfile::TempDir, disabled: &[&str]) -> Emulator {
    let mut config = EmulatorConfig::new(dir.path());
    config.latency_scale = 0.001;
    config.disabled_services = disabled.iter().map(|s| s.to_string()).collect();
    Emulator::start(config, listen())
        .await
        .expect("emulator starts")
}

/// An emulator and gcloud pointed at it.
struct Setup {
    _dir: tempfile::TempDir,
    emulator: Emulator,
    gcloud: Gcloud,
}

async fn setup() -> Setup {
    let dir = tempfile::tempdir().expect("temp dir");
    let emulator = start(&dir, &[]).await;
    let gcloud = Gcloud::new(&emulator.url());
    Setup {
        _dir: dir,
        emulator,
        gcloud,
    }
}

/// `cross-region-vpc` with `us-ilb-subnet` (10.1.0.0/24, us-central1).
async fn network_and_subnet(g: &Gcloud) {
    g.ok(&[
        "compute",
        "networks",
        "create",
        "cross-region-vpc",
        "--subnet-mode=custom",
    ])
    .await;
    g.ok(&[
        "compute",
        "networks",
        "subnets",
        "create",
        "us-ilb-subnet",
        "--network=cross-region-vpc",
        "--region=us-central1",
        "--range=10.1.0.0/24",
    ])
    .await;
}

/// The rows of a table gcloud printed, split on whitespace (header first).
fn rows(table: &str) -> Vec<Vec<String>> {
    table
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.split_whitespace().map(str::to_string).collect())
        .collect()
}

fn names(list: &Value) -> Vec<&str> {
    list.as_array()
        .expect("a JSON list")
        .iter()
        .map(|v| v["name"].as_str().expect("name"))
        .collect()
}

#[tokio::test]
async fn gcloud_subnets_list_with_include_all_scopes_true_lists_the_subnets() {
    let s = setup().await;
    let g = &s.gcloud;
    network_and_subnet(g).await;
    let run = g.ok(&["compute", "networks", "subnets", "list"]).await;
    assert!(
        !run.stderr().contains("Invalid value"),
        "gcloud warned:\n{}",
        run.stderr()
    );
    let table = rows(&run.stdout());
    assert_eq!(table[0][..4], ["NAME", "REGION", "NETWORK", "RANGE"]);
    assert_eq!(
        table[1][..4],
        [
            "us-ilb-subnet",
            "us-central1",
            "cross-region-vpc",
            "10.1.0.0/24"
        ]
    );
    assert_eq!(table.len(), 2, "{}", run.stdout());
}

#[tokio::test]
async fn gcloud_networks_create_describe_update_list_delete() {
    let s = setup().await;
    let g = &s.gcloud;
    let created = g
        .ok(&[
            "compute",
            "networks",
            "create",
            "cross-region-vpc",
            "--subnet-mode=custom",
        ])
        .await;
    assert!(created.stderr().contains(&format!(
        "Created [{}/compute/v1/projects/{PROJECT}/global/networks/cross-region-vpc]",
        s.emulator.url()
    )));
    let table = rows(&created.stdout());
    assert_eq!(table[0][..3], ["NAME", "SUBNET_MODE", "BGP_ROUTING_MODE"]);
    assert_eq!(table[1], ["cross-region-vpc", "CUSTOM", "REGIONAL"]);

    let net = g
        .json(&["compute", "networks", "describe", "cross-region-vpc"])
        .await;
    assert_eq!(net["autoCreateSubnetworks"], false);
    assert_eq!(net["routingConfig"]["routingMode"], "REGIONAL");

    g.ok(&[
        "compute",
        "networks",
        "update",
        "cross-region-vpc",
        "--bgp-routing-mode=global",
    ])
    .await;
    let mode = g
        .ok(&[
            "compute",
            "networks",
            "describe",
            "cross-region-vpc",
            "--format=value(routingConfig.routingMode)",
        ])
        .await;
    assert_eq!(mode.stdout().trim(), "GLOBAL");

    let list = g.json(&["compute", "networks", "list"]).await;
    assert_eq!(names(&list), ["cross-region-vpc"]);

    // gcloud compute operations list: the aggregated list, with the
    // parenthesised regular expressions gcloud's --filter becomes.
    let ops = g
        .json(&[
            "compute",
            "operations",
            "list",
            "--filter=operationType=patch AND targetLink~networks/cross-region-vpc",
        ])
        .await;
    let ops = ops.as_array().expect("operations");
    assert_eq!(ops.len(), 1, "{ops:?}");
    assert_eq!(ops[0]["status"], "DONE");

    let deleted = g
        .ok(&[
            "compute",
            "networks",
            "delete",
            "cross-region-vpc",
            "--quiet",
        ])
        .await;
    assert!(
        deleted.stderr().contains("Deleted ["),
        "{}",
        deleted.stderr()
    );
    let list = g.ok(&["compute", "networks", "list"]).await;
    assert!(
        list.stderr().contains("Listed 0 items."),
        "{}",
        list.stderr()
    );
}

#[tokio::test]
async fn gcloud_delete_of_a_missing_network_prints_not_found() {
    let s = setup().await;
    let run = s
        .gcloud
        .run(&["compute", "networks", "delete", "missing-net", "--quiet"])
        .await
        .expect(1);
    assert!(
        run.stderr().contains(&format!(
            "The resource 'projects/{PROJECT}/global/networks/missing-net' was not found"
        )),
        "{}",
        run.stderr()
    );
    assert!(run
        .stderr()
        .contains("ERROR: (gcloud.compute.networks.delete)"));
}

#[tokio::test]
async fn gcloud_subnets_with_secondary_ranges_describe_update_delete() {
    let s = setup().await;
    let g = &s.gcloud;
    network_and_subnet(g).await;
    g.ok(&[
        "compute",
        "networks",
        "subnets",
        "create",
        "eu-gke-subnet",
        "--network=cross-region-vpc",
        "--region=europe-west2",
        "--range=10.2.0.0/24",
        "--secondary-range=pods=10.4.0.0/16,services=10.5.0.0/20",
    ])
    .await;
    let subnet = g
        .json(&[
            "compute",
            "networks",
            "subnets",
            "describe",
            "eu-gke-subnet",
            "--region=europe-west2",
        ])
        .await;
    assert_eq!(subnet["ipCidrRange"], "10.2.0.0/24");
    assert_eq!(subnet["gatewayAddress"], "10.2.0.1");
    let ranges: Vec<(&str, &str)> = subnet["secondaryIpRanges"]
        .as_array()
        .expect("secondary ranges")
        .iter()
        .map(|r| {
            (
                r["rangeName"].as_str().unwrap(),
                r["ipCidrRange"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        ranges,
        [("pods", "10.4.0.0/16"), ("services", "10.5.0.0/20")]
    );

    g.ok(&[
        "compute",
        "networks",
        "subnets",
        "update",
        "us-ilb-subnet",
        "--region=us-central1",
        "--enable-private-ip-google-access",
    ])
    .await;
    g.ok(&[
        "compute",
        "networks",
        "subnets",
        "update",
        "us-ilb-subnet",
        "--region=us-central1",
        "--add-secondary-ranges=extra=10.9.0.0/24",
    ])
    .await;
    let subnet = g
        .json(&[
            "compute",
            "networks",
            "subnets",
            "describe",
            "us-ilb-subnet",
            "--region=us-central1",
        ])
        .await;
    assert_eq!(subnet["privateIpGoogleAccess"], true);
    assert_eq!(subnet["secondaryIpRanges"][0]["rangeName"], "extra");

    let list = g
        .json(&[
            "compute",
            "networks",
            "subnets",
            "list",
            "--filter=region:europe-west2",
        ])
        .await;
    assert_eq!(names(&list), ["eu-gke-subnet"]);

    g.ok(&[
        "compute",
        "networks",
        "subnets",
        "delete",
        "eu-gke-subnet",
        "--region=europe-west2",
        "--quiet",
    ])
    .await;
    let list = g.json(&["compute", "networks", "subnets", "list"]).await;
    assert_eq!(names(&list), ["us-ilb-subnet"]);
}

#[tokio::test]
async fn gcloud_routers_and_nats() {
    let s = setup().await;
    let g = &s.gcloud;
    network_and_subnet(g).await;
    let created = g
        .ok(&[
            "compute",
            "routers",
            "create",
            "vpc-router",
            "--network=cross-region-vpc",
            "--region=us-central1",
        ])
        .await;
    assert_eq!(
        rows(&created.stdout())[1],
        ["vpc-router", "us-central1", "cross-region-vpc"]
    );
    g.ok(&[
        "compute",
        "routers",
        "nats",
        "create",
        "vpc-nat",
        "--router=vpc-router",
        "--region=us-central1",
        "--auto-allocate-nat-external-ips",
        "--nat-all-subnet-ip-ranges",
    ])
    .await;
    let nat = g
        .json(&[
            "compute",
            "routers",
            "nats",
            "describe",
            "vpc-nat",
            "--router=vpc-router",
            "--region=us-central1",
        ])
        .await;
    assert_eq!(nat["name"], "vpc-nat");
    assert_eq!(nat["natIpAllocateOption"], "AUTO_ONLY");
    assert_eq!(nat["type"], "PUBLIC");
    assert_eq!(
        nat["sourceSubnetworkIpRangesToNat"],
        "ALL_SUBNETWORKS_ALL_IP_RANGES"
    );
    let nats = g
        .ok(&[
            "compute",
            "routers",
            "nats",
            "list",
            "--router=vpc-router",
            "--region=us-central1",
        ])
        .await;
    let table = rows(&nats.stdout());
    assert_eq!(
        table[0],
        [
            "NAME",
            "NAT_IP_ALLOCATE_OPTION",
            "SOURCE_SUBNETWORK_IP_RANGES_TO_NAT",
            "ENDPOINT_TYPES"
        ]
    );
    assert_eq!(
        table[1],
        [
            "vpc-nat",
            "AUTO_ONLY",
            "ALL_SUBNETWORKS_ALL_IP_RANGES",
            "ENDPOINT_TYPE_VM"
        ]
    );
    let list = g.ok(&["compute", "routers", "list"]).await;
    let table = rows(&list.stdout());
    assert_eq!(table[0], ["NAME", "REGION", "NETWORK"]);
    assert_eq!(table[1], ["vpc-router", "us-central1", "cross-region-vpc"]);

    g.ok(&[
        "compute",
        "routers",
        "nats",
        "delete",
        "vpc-nat",
        "--router=vpc-router",
        "--region=us-central1",
        "--quiet",
    ])
    .await;
    let router = g
        .json(&[
            "compute",
            "routers",
            "describe",
            "vpc-router",
            "--region=us-central1",
        ])
        .await;
    assert!(
        router["nats"].as_array().is_none_or(Vec::is_empty),
        "{router}"
    );
    g.ok(&[
        "compute",
        "routers",
        "delete",
        "vpc-router",
        "--region=us-central1",
        "--quiet",
    ])
    .await;
    let list = g.ok(&["compute", "routers", "list"]).await;
    assert!(
        list.stderr().contains("Listed 0 items."),
        "{}",
        list.stderr()
    );
}

#[tokio::test]
async fn gcloud_firewall_rules_create_update_list_with_filter_delete() {
    let s = setup().await;
    let g = &s.gcloud;
    network_and_subnet(g).await;
    g.ok(&[
        "compute",
        "networks",
        "create",
        "other-vpc",
        "--subnet-mode=custom",
    ])
    .await;
    g.ok(&[
        "compute",
        "firewall-rules",
        "create",
        "allow-iap-ssh",
        "--network=cross-region-vpc",
        "--allow=tcp:22",
        "--source-ranges=35.235.240.0/20",
    ])
    .await;
    g.ok(&[
        "compute",
        "firewall-rules",
        "create",
        "other-ssh",
        "--network=other-vpc",
        "--allow=tcp:22",
    ])
    .await;
    g.ok(&[
        "compute",
        "firewall-rules",
        "update",
        "allow-iap-ssh",
        "--allow=tcp:22,tcp:3389",
    ])
    .await;
    let run = g
        .ok(&[
            "compute",
            "firewall-rules",
            "list",
            "--filter=network:cross-region-vpc",
        ])
        .await;
    let table = rows(&run.stdout());
    assert_eq!(
        table[0],
        [
            "NAME",
            "NETWORK",
            "DIRECTION",
            "PRIORITY",
            "ALLOW",
            "DENY",
            "DISABLED"
        ]
    );
    assert_eq!(
        table[1],
        [
            "allow-iap-ssh",
            "cross-region-vpc",
            "INGRESS",
            "1000",
            "tcp:22,tcp:3389",
            "False"
        ]
    );
    assert_eq!(table.len(), 2, "{}", run.stdout());

    let rule = g
        .json(&["compute", "firewall-rules", "describe", "allow-iap-ssh"])
        .await;
    assert_eq!(rule["sourceRanges"][0], "35.235.240.0/20");
    assert_eq!(rule["allowed"].as_array().map(Vec::len), Some(2));

    g.ok(&[
        "compute",
        "firewall-rules",
        "delete",
        "allow-iap-ssh",
        "--quiet",
    ])
    .await;
    let list = g.json(&["compute", "firewall-rules", "list"]).await;
    assert_eq!(names(&list), ["other-ssh"]);
}

#[tokio::test]
async fn gcloud_instances_list_uses_the_batch_endpoint() {
    let s = setup().await;
    let g = &s.gcloud;
    network_and_subnet(g).await;
    let created = g
        .ok(&[
            "compute",
            "instances",
            "create",
            "vm-1",
            "--zone=us-central1-a",
            "--machine-type=e2-small",
            "--subnet=us-ilb-subnet",
            "--no-address",
            "--image-family=debian-12",
            "--image-project=debian-cloud",
            "--log-http",
        ])
        .await;
    // gcloud looks up the zone and the project first; both exist.
    assert!(
        !created.stderr().contains("status: 404"),
        "a lookup failed:\n{}",
        created.stderr()
    );
    // With --zones gcloud lists through POST /batch/compute/v1.
    let run = g
        .ok(&[
            "compute",
            "instances",
            "list",
            "--zones=us-central1-a,us-central1-b",
            "--log-http",
        ])
        .await;
    assert!(
        run.stderr()
            .contains(&format!("uri: {}/batch/compute/v1", s.emulator.url())),
        "gcloud did not batch:\n{}",
        run.stderr()
    );
    let table = rows(&run.stdout());
    assert_eq!(
        table[0],
        [
            "NAME",
            "ZONE",
            "MACHINE_TYPE",
            "PREEMPTIBLE",
            "INTERNAL_IP",
            "EXTERNAL_IP",
            "STATUS"
        ]
    );
    assert_eq!(
        table[1],
        ["vm-1", "us-central1-a", "e2-small", "10.1.0.2", "RUNNING"]
    );
    assert_eq!(table.len(), 2);
    // Without --zones: the aggregated list.
    let list = g.json(&["compute", "instances", "list"]).await;
    assert_eq!(names(&list), ["vm-1"]);
    let vm = g
        .json(&[
            "compute",
            "instances",
            "describe",
            "vm-1",
            "--zone=us-central1-a",
        ])
        .await;
    assert_eq!(vm["status"], "RUNNING");
    assert_eq!(vm["networkInterfaces"][0]["networkIP"], "10.1.0.2");
    let project = g.json(&["compute", "project-info", "describe"]).await;
    assert_eq!(
        vm["serviceAccounts"][0]["email"],
        project["defaultServiceAccount"]
    );
    let zone = g
        .json(&["compute", "zones", "describe", "us-central1-a"])
        .await;
    assert_eq!(zone["status"], "UP");
    g.ok(&[
        "compute",
        "instances",
        "delete",
        "vm-1",
        "--zone=us-central1-a",
        "--quiet",
    ])
    .await;
    let list = g.json(&["compute", "instances", "list"]).await;
    assert_eq!(names(&list), Vec::<&str>::new());
}

#[tokio::test]
async fn gcloud_forwarding_rules_create_list_describe_delete() {
    let s = setup().await;
    let g = &s.gcloud;
    network_and_subnet(g).await;
    g.ok(&[
        "compute",
        "forwarding-rules",
        "create",
        "ilb-rule",
        "--region=us-central1",
        "--load-balancing-scheme=internal",
        "--network=cross-region-vpc",
        "--subnet=us-ilb-subnet",
        "--ports=80",
        "--backend-service=ilb-backend",
    ])
    .await;
    let run = g.ok(&["compute", "forwarding-rules", "list"]).await;
    let table = rows(&run.stdout());
    assert_eq!(
        table[0],
        ["NAME", "REGION", "IP_ADDRESS", "IP_PROTOCOL", "TARGET"]
    );
    assert_eq!(
        table[1][..4],
        ["ilb-rule", "us-central1", "10.1.0.2", "TCP"]
    );
    let rule = g
        .json(&[
            "compute",
            "forwarding-rules",
            "describe",
            "ilb-rule",
            "--region=us-central1",
        ])
        .await;
    assert_eq!(rule["loadBalancingScheme"], "INTERNAL");
    assert_eq!(rule["ports"][0], "80");
    g.ok(&[
        "compute",
        "forwarding-rules",
        "delete",
        "ilb-rule",
        "--region=us-central1",
        "--quiet",
    ])
    .await;
    let list = g.json(&["compute", "forwarding-rules", "list"]).await;
    assert_eq!(names(&list), Vec::<&str>::new());
}

#[tokio::test]
async fn gcloud_asks_service_usage_which_apis_are_enabled() {
    let dir = tempfile::tempdir().expect("temp dir");
    let emulator = start(&dir, &["container.googleapis.com"]).await;
    let g = Gcloud::new(&emulator.url());
    let run = g
        .ok(&[
            "services",
            "list",
            "--enabled",
            "--format=value(config.name)",
        ])
        .await;
    let out = run.stdout();
    let enabled: Vec<&str> = out.lines().map(str::trim).collect();
    assert_eq!(
        enabled,
        [
            "compute.googleapis.com",
            "networkmanagement.googleapis.com",
            "secretmanager.googleapis.com",
            "serviceusage.googleapis.com"
        ],
        "{out}"
    );

    // The raw shape gcloud container clusters create reads.
    let http = reqwest::Client::new();
    let url = emulator.url();
    let service: Value = http
        .get(format!(
            "{url}/v1/projects/{PROJECT}/services/compute.googleapis.com"
        ))
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    assert_eq!(service["state"], "ENABLED");
    assert_eq!(service["config"]["name"], "compute.googleapis.com");
    assert_eq!(service["config"]["title"], "Compute Engine API");
    let parent = service["parent"].as_str().expect("parent");
    assert!(parent
        .strip_prefix("projects/")
        .is_some_and(|n| n.len() == 12 && n.bytes().all(|b| b.is_ascii_digit())));
    assert_eq!(
        service["name"],
        format!("{parent}/services/compute.googleapis.com")
    );
    let batch: Value = http
        .get(format!("{url}/v1/projects/{PROJECT}/services:batchGet"))
        .query(&[
            (
                "names",
                format!("projects/{PROJECT}/services/container.googleapis.com"),
            ),
            (
                "names",
                format!("projects/{PROJECT}/services/serviceusage.googleapis.com"),
            ),
        ])
        .send()
        .await
        .expect("batchGet")
        .json()
        .await
        .expect("json");
    let states: Vec<&str> = batch["services"]
        .as_array()
        .expect("services")
        .iter()
        .map(|s| s["state"].as_str().unwrap())
        .collect();
    assert_eq!(states, ["DISABLED", "ENABLED"]);
    let counts = emulator.request_counts();
    assert_eq!(counts.get("serviceusage.services.list"), Some(&1));
    assert_eq!(counts.get("serviceusage.services.get"), Some(&1));
    assert_eq!(counts.get("serviceusage.services.batchGet"), Some(&1));
}

#[tokio::test]
async fn query_parameters_are_parsed_as_google_parses_them() {
    let s = setup().await;
    network_and_subnet(&s.gcloud).await;
    let http = reqwest::Client::new();
    let url = format!(
        "{}/compute/v1/projects/{PROJECT}/aggregated/subnetworks",
        s.emulator.url()
    );
    for yes in ["true", "True", "TRUE", "1"] {
        let r = http
            .get(&url)
            .query(&[
                ("includeAllScopes", yes),
                ("returnPartialSuccess", yes),
                ("$alt", "json"),
                ("prettyPrint", "false"),
                ("quotaUser", "q"),
                ("key", "k"),
                ("fields", "items/*/subnetworks(name,selfLink),kind"),
            ])
            .send()
            .await
            .expect("list");
        assert_eq!(r.status(), 200, "{yes}");
        let v: Value = r.json().await.expect("json");
        assert_eq!(v["kind"], "compute#subnetworkAggregatedList");
        assert!(v.get("selfLink").is_none(), "{v}");
        let subnet = &v["items"]["regions/us-central1"]["subnetworks"][0];
        assert_eq!(subnet["name"], "us-ilb-subnet");
        assert!(subnet["selfLink"].is_string());
        assert!(subnet.get("ipCidrRange").is_none(), "{subnet}");
    }
    let r = http
        .get(&url)
        .query(&[("includeAllScopes", "maybe")])
        .send()
        .await
        .expect("list");
    assert_eq!(r.status(), 400);
    let v: Value = r.json().await.expect("json");
    assert_eq!(
        v["error"]["message"],
        "Invalid value at 'include_all_scopes' (TYPE_BOOL), \"maybe\""
    );
}

#[tokio::test]
async fn batch_requests_are_answered_part_by_part() {
    let s = setup().await;
    network_and_subnet(&s.gcloud).await;
    let body = "--XyZ\r\nContent-Type: application/http\r\nContent-ID: <abc+1>\r\n\r\n\
GET /compute/v1/projects/meshform-demo/global/networks/cross-region-vpc?fields=name HTTP/1.1\r\n\r\n\r\n\
--XyZ\r\nContent-Type: application/http\r\nContent-ID: <abc+2>\r\n\r\n\
GET /compute/v1/projects/meshform-demo/global/networks/nope HTTP/1.1\r\n\r\n\r\n--XyZ--\r\n";
    let r = reqwest::Client::new()
        .post(format!("{}/batch/compute/v1", s.emulator.url()))
        .header("content-type", "multipart/mixed; boundary=XyZ")
        .body(body)
        .send()
        .await
        .expect("batch");
    assert_eq!(r.status(), 200);
    let ct = r.headers()["content-type"].to_str().unwrap().to_string();
    assert!(ct.starts_with("multipart/mixed; boundary="), "{ct}");
    let text = r.text().await.expect("text");
    let first = text
        .find("Content-ID: <response-abc+1>")
        .expect("first part");
    let second = text
        .find("Content-ID: <response-abc+2>")
        .expect("second part");
    assert!(first < second);
    assert!(text[first..second].contains("HTTP/1.1 200 OK"));
    assert!(text[first..second].contains("{\"name\":\"cross-region-vpc\"}"));
    assert!(text[second..].contains("HTTP/1.1 404 Not Found"));
    assert!(text[second..].contains("\"status\":\"NOT_FOUND\""));
}

#[tokio::test]
async fn gcloud_reports_a_disabled_compute_api_readably() {
    let dir = tempfile::tempdir().expect("temp dir");
    let emulator = start(&dir, &["compute.googleapis.com"]).await;
    let g = Gcloud::new(&emulator.url());
    let run = g.run(&["compute", "networks", "list"]).await.expect(1);
    assert!(
        run.stderr().contains(&format!(
            "ERROR: (gcloud.compute.networks.list) PERMISSION_DENIED: Compute Engine API has not been used in project {PROJECT} before or it is disabled."
        )),
        "{}",
        run.stderr()
    );
}

// ---------------------------------------------------------------------------
// GKE: `gcloud container clusters …` with exactly the `export` lines
// `meshform emulator env` prints, and `kubectl` through the kubeconfig
// `gcloud container clusters get-credentials` writes (gke-gcloud-auth-plugin).

mod container {
    use super::common::World;
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
}

/// What GKE's load-balancer controller made for an internal LoadBalancer
/// Service, as `gcloud compute` lists and describes it.
#[tokio::test]
async fn gcloud_reads_the_load_balancer_gke_made_for_an_internal_service() {
    use k8s_openapi::api::core::v1::Service;
    use kube::api::{Api, PostParams};
    let s = setup().await;
    let g = &s.gcloud;
    g.ok(&[
        "compute",
        "networks",
        "create",
        "vpc",
        "--subnet-mode=custom",
    ])
    .await;
    g.ok(&[
        "compute",
        "networks",
        "subnets",
        "create",
        "eu",
        "--network=vpc",
        "--region=europe-west2",
        "--range=172.20.0.0/20",
        "--secondary-range=pods=10.16.32.0/20,services=172.16.5.0/24",
    ])
    .await;
    let (_, kube) = common::gke::cluster(&s.emulator.url(), PROJECT).await;
    let services = Api::<Service>::namespaced(kube, "default");
    let svc = common::gke::internal_lb_service("gw", "true", serde_json::json!(["172.21.0.0/20"]));
    services
        .create(&PostParams::default(), &svc)
        .await
        .expect("service");
    let (ip, meta) = common::gke::eventually_ingress(&services, "gw").await;
    let a = meta.annotations.expect("annotations");
    let rule = &a["service.kubernetes.io/tcp-forwarding-rule"];
    let backend = &a["service.kubernetes.io/backend-service"];
    let hc = &a["service.kubernetes.io/healthcheck"];

    let table = rows(
        &g.ok(&[
            "compute",
            "forwarding-rules",
            "list",
            "--regions=europe-west2",
        ])
        .await
        .stdout(),
    );
    assert_eq!(
        table[1][..4],
        [rule.as_str(), "europe-west2", ip.as_str(), "TCP"]
    );
    let fr = g
        .json(&[
            "compute",
            "forwarding-rules",
            "describe",
            rule,
            "--region=europe-west2",
        ])
        .await;
    assert_eq!(fr["allowGlobalAccess"], true);
    assert!(fr["backendService"]
        .as_str()
        .unwrap()
        .ends_with(backend.as_str()));
    let list = g
        .json(&[
            "compute",
            "backend-services",
            "list",
            "--regions=europe-west2",
        ])
        .await;
    assert_eq!(names(&list), [backend.as_str()]);
    let bs = g
        .json(&[
            "compute",
            "backend-services",
            "describe",
            backend,
            "--region=europe-west2",
        ])
        .await;
    assert_eq!(bs["loadBalancingScheme"], "INTERNAL");
    assert_eq!(bs["protocol"], "TCP");
    let list = g.json(&["compute", "health-checks", "list"]).await;
    assert_eq!(names(&list), [hc.as_str()]);
    let list = g
        .json(&["compute", "network-endpoint-groups", "list"])
        .await;
    assert_eq!(names(&list), [backend.as_str()]);
    assert!(list[0]["zone"]
        .as_str()
        .unwrap()
        .ends_with("europe-west2-a"));
    let list = g.json(&["compute", "firewall-rules", "list"]).await;
    let fw = names(&list);
    assert!(fw.contains(&backend.as_str()), "{fw:?}");
    assert!(fw.contains(&format!("{hc}-fw").as_str()), "{fw:?}");
    s.emulator.shutdown().await;
}

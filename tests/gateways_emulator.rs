//! The east-west gateways of plans/tutorial.toml on the emulator: one per
//! cluster on an internal load balancer with global access (read back with
//! gcloud, a second client beside meshform's), and a destroy that leaves
//! nothing behind, also after a cluster was deleted behind meshform's back.

mod common;

use common::gcloud::Gcloud;
use common::World;
use serde_json::Value;

/// Whether `ip` is inside `cidr` (IPv4).
fn inside(ip: &str, cidr: &str) -> bool {
    let ip: std::net::Ipv4Addr = ip.parse().unwrap();
    let net: ipnet::Ipv4Net = cidr.parse().unwrap();
    net.contains(&ip)
}

fn forwarding_rules(list: &Value) -> Vec<&Value> {
    list.as_array().unwrap().iter().collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_cluster_gets_a_gateway_on_an_internal_load_balancer_with_global_access() {
    let w = World::new("tutorial.toml").await;
    let plan = w.run(&["plan"]).await.expect(0).stdout();
    for shown in [
        "+ eastwest_gateway.europe-west2",
        "+ eastwest_gateway.us-central1",
        "+ gke_leftovers.europe-west2",
        "global access, because the mesh's clusters are in 2 regions",
        "networking.istio.io/v1/Gateway/istio-system/cross-network-gateway",
        "v1/Service/istio-system/istio-eastwestgateway",
    ] {
        assert!(plan.contains(shown), "plan lacks {shown:?}\n{plan}");
    }
    let out = w.run(&["apply", "--auto-approve"]).await.expect(0).stdout();
    assert!(out.contains("Apply complete! Resources: 32 added"), "{out}");
    assert!(
        out.contains("eastwest_gateway.europe-west2: internal address 172.20."),
        "{out}"
    );
    w.run(&["plan", "--detailed-exitcode"]).await.expect(0);

    // gcloud sees what GKE made: an internal forwarding rule per gateway,
    // in its cluster's subnet, open to clients in other regions.
    let gcloud = Gcloud::new(&w.emulator.url());
    let list = gcloud.json(&["compute", "forwarding-rules", "list"]).await;
    let rules = forwarding_rules(&list);
    assert_eq!(rules.len(), 2, "{list:#}");
    for (region, subnet) in [
        ("europe-west2", "172.20.0.0/20"),
        ("us-central1", "172.21.0.0/20"),
    ] {
        let rule = rules
            .iter()
            .find(|r| r["region"].as_str().unwrap().ends_with(region))
            .unwrap_or_else(|| panic!("no forwarding rule in {region}: {list:#}"));
        assert!(
            rule["name"].as_str().unwrap().starts_with("k8s2-tcp-"),
            "{rule:#}"
        );
        assert_eq!(rule["loadBalancingScheme"], "INTERNAL", "{rule:#}");
        assert_eq!(rule["allowGlobalAccess"], true, "{rule:#}");
        let ip = rule["IPAddress"].as_str().unwrap();
        assert!(inside(ip, subnet), "{ip} outside {subnet}");
    }

    // The address is recorded as the gateway's output.
    let state: Value = serde_json::from_str(&std::fs::read_to_string(w.state()).unwrap()).unwrap();
    let gateway = state["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["address"] == "eastwest_gateway.us-central1")
        .expect("the gateway is in state");
    let address = gateway["outputs"]["address"].as_str().unwrap();
    assert!(inside(address, "172.21.0.0/20"), "{address}");

    // Destroy deletes the gateways before their clusters and leaves nothing.
    let out = w
        .run(&["destroy", "--auto-approve"])
        .await
        .expect(0)
        .stdout();
    assert!(
        out.contains("deleting Service istio-eastwestgateway; waiting until it is gone"),
        "{out}"
    );
    assert!(w.cloud().is_empty(), "left behind {:?}", w.cloud());
    assert!(w.state_list().await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cluster_deleted_behind_meshforms_back_leaves_leftovers_that_destroy_sweeps() {
    let w = World::new("tutorial.toml").await;
    w.run(&["apply", "--auto-approve"]).await.expect(0);
    let gcloud = Gcloud::new(&w.emulator.url());
    gcloud
        .ok(&[
            "container",
            "clusters",
            "delete",
            "istio-cluster1",
            "--zone",
            "europe-west2-a",
            "--quiet",
        ])
        .await;
    // GKE deleted the cluster but not its load balancer: the network is held.
    let left: Vec<String> = w
        .cloud()
        .into_iter()
        .filter(|n| n.contains("k8s2-"))
        .collect();
    assert!(
        left.iter().any(|n| n.contains("forwardingRules/k8s2-tcp-")),
        "{left:?}"
    );

    let plan = w.run(&["plan", "--destroy"]).await.expect(0).stdout();
    assert!(plan.contains("- gke_leftovers.europe-west2"), "{plan}");
    assert!(
        plan.contains("forwarding rule europe-west2/k8s2-tcp-"),
        "{plan}"
    );

    let out = w
        .run(&["destroy", "--auto-approve"])
        .await
        .expect(0)
        .stdout();
    assert!(
        out.contains("swept forwarding rule europe-west2/k8s2-tcp-"),
        "{out}"
    );
    assert!(
        out.contains("swept backend service europe-west2/k8s2-"),
        "{out}"
    );
    assert!(out.contains("swept health check global/k8s2-"), "{out}");
    assert!(w.cloud().is_empty(), "left behind {:?}", w.cloud());
    assert!(w.state_list().await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_one_region_mesh_gets_an_internal_load_balancer_without_global_access() {
    let w = World::new("one-region.toml").await;
    let plan = w.run(&["plan"]).await.expect(0).stdout();
    assert!(
        plan.contains("no global access: the mesh has one region"),
        "{plan}"
    );
    w.run(&["apply", "--auto-approve"]).await.expect(0);
    let gcloud = Gcloud::new(&w.emulator.url());
    let list = gcloud.json(&["compute", "forwarding-rules", "list"]).await;
    let rules = forwarding_rules(&list);
    assert_eq!(rules.len(), 1, "{list:#}");
    assert_ne!(rules[0]["allowGlobalAccess"], true, "{:#}", rules[0]);
    assert!(inside(
        rules[0]["IPAddress"].as_str().unwrap(),
        "172.20.0.0/20"
    ));
    // The only sources: the ranges the plan file adds (no peers).
    let traffic = gcloud
        .json(&[
            "compute",
            "firewall-rules",
            "list",
            "--filter",
            "name~^k8s2-.*eastwest",
        ])
        .await;
    assert_eq!(
        traffic[0]["sourceRanges"],
        serde_json::json!(["10.100.0.0/16"]),
        "{traffic:#}"
    );
    w.run(&["destroy", "--auto-approve"]).await.expect(0);
    assert!(w.cloud().is_empty(), "left behind {:?}", w.cloud());
}

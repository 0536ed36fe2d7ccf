//! plan / apply / destroy of plans/vpc.toml against the emulator, through the
//! `meshform` binary, as a user runs it.

mod common;

use common::{World, VPC_CLOUD};
use meshform::emulator::FaultConfig;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_creates_the_network_layer_then_plan_is_empty_and_destroy_empties_the_cloud() {
    let w = World::new("vpc.toml").await;
    let run = w.run(&["apply", "--auto-approve"]).await.expect(0);
    assert!(
        run.stdout()
            .contains("Plan: 6 to add, 0 to change, 0 to destroy."),
        "{}",
        run.stdout()
    );
    assert!(run
        .stdout()
        .contains("Apply complete! Resources: 6 added, 0 changed, 0 destroyed."));
    assert!(run
        .stdout()
        .contains("subnet.europe-west2: Creation complete after"));
    assert_eq!(w.cloud(), VPC_CLOUD);

    let plan = w.run(&["plan", "--detailed-exitcode"]).await.expect(0);
    assert!(
        plan.stdout().starts_with("No changes."),
        "{}",
        plan.stdout()
    );

    let destroy = w.run(&["destroy", "--auto-approve"]).await.expect(0);
    assert!(
        destroy
            .stdout()
            .contains("Destroy complete! Resources: 6 destroyed."),
        "{}",
        destroy.stdout()
    );
    assert!(w.cloud().is_empty(), "left behind: {:?}", w.cloud());
    assert!(w.state_list().await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secondary_range_and_nat_option_changes_are_updates_and_a_new_primary_range_is_a_replace() {
    let w = World::new("vpc.toml").await;
    w.run(&["apply", "--auto-approve"]).await.expect(0);
    w.edit_plan("172.16.5.0/24", "172.16.7.0/24");
    w.edit_plan("min_ports_per_vm = 64", "min_ports_per_vm = 128");
    w.edit_plan("172.21.0.0/20", "172.22.0.0/20");

    let plan = w.run(&["plan", "--detailed-exitcode"]).await.expect(2);
    let out = plan.stdout();
    assert!(
        out.contains("# subnet.europe-west2 will be updated in place (changed: secondary_ranges)"),
        "{out}"
    );
    assert!(
        out.contains(
            "# router.europe-west2 will be updated in place (changed: nat_min_ports_per_vm)"
        ),
        "{out}"
    );
    assert!(out.contains("~ nat_min_ports_per_vm = 64 -> 128"), "{out}");
    assert!(
        out.contains("# subnet.us-central1 must be replaced (forces replacement: ip_cidr_range)"),
        "{out}"
    );
    assert!(
        out.contains("Plan: 1 to add, 2 to change, 1 to destroy."),
        "{out}"
    );

    let apply = w.run(&["apply", "--auto-approve"]).await.expect(0);
    assert!(
        apply
            .stdout()
            .contains("Apply complete! Resources: 1 added, 2 changed, 1 destroyed."),
        "{}",
        apply.stdout()
    );
    w.run(&["plan", "--detailed-exitcode"]).await.expect(0);
    assert_eq!(
        w.cloud(),
        VPC_CLOUD,
        "a replace must not leave a second subnet"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn firewall_rule_deleted_behind_meshforms_back_is_planned_for_creation() {
    let w = World::new("vpc.toml").await;
    w.run(&["apply", "--auto-approve"]).await.expect(0);
    let url = format!(
        "{}/compute/v1/projects/meshform-demo/global/firewalls/allow-iap-ssh",
        w.emulator.url()
    );
    let resp = reqwest::Client::new().delete(url).send().await.unwrap();
    assert!(resp.status().is_success());
    // Let the delete operation finish.
    for _ in 0..100 {
        if !w.cloud().contains(&"firewalls/allow-iap-ssh".to_string()) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let plan = w.run(&["plan", "--detailed-exitcode"]).await.expect(2);
    assert!(
        plan.stdout()
            .contains("# firewall.allow-iap-ssh will be created (deleted outside meshform)"),
        "{}",
        plan.stdout()
    );
    assert!(plan
        .stdout()
        .contains("Plan: 1 to add, 0 to change, 0 to destroy."));
    w.run(&["apply", "--auto-approve"]).await.expect(0);
    assert_eq!(w.cloud(), VPC_CLOUD);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_killed_halfway_converges_on_the_next_apply_without_duplicates() {
    // Slow operations so that the kill lands in the middle.
    let w = World::with("vpc.toml", 0.05, FaultConfig::default()).await;
    let mut child = w
        .command(&["apply", "--auto-approve", w.plan.to_str().unwrap()])
        .spawn()
        .unwrap();
    // The network takes 0.6 s, subnets 0.75 s: kill while subnets are being created.
    tokio::time::sleep(std::time::Duration::from_millis(900)).await;
    child.kill().await.unwrap();
    let partial = w.cloud().len();
    assert!(
        partial < VPC_CLOUD.len(),
        "the kill came too late to test anything"
    );

    let again = w.run(&["apply", "--auto-approve"]).await.expect(0);
    assert!(
        again.stdout().contains("Apply complete!"),
        "{}",
        again.stdout()
    );
    assert_eq!(w.cloud(), VPC_CLOUD);
    w.run(&["plan", "--detailed-exitcode"]).await.expect(0);
    assert_eq!(w.state_list().await.len(), 6);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn second_concurrent_apply_fails_at_once_naming_the_lock_holder() {
    let w = World::with("vpc.toml", 0.05, FaultConfig::default()).await;
    let first = w
        .command(&["apply", "--auto-approve", w.plan.to_str().unwrap()])
        .spawn()
        .unwrap();
    let first_pid = first.id().unwrap();
    // Wait until the first apply holds the lock (its holder is written then).
    let lock = w.dir.path().join("state.json.lock");
    for _ in 0..500 {
        if std::fs::read_to_string(&lock).is_ok_and(|t| t.contains(&first_pid.to_string())) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let second = w.run(&["apply", "--auto-approve"]).await.expect(1);
    let err = second.stderr();
    assert!(err.contains("state is locked"), "{err}");
    assert!(
        err.contains(&format!("apply (pid {first_pid} on ")),
        "{err}"
    );
    assert!(err.contains("--lock-timeout"), "{err}");
    let out = first.wait_with_output().await.unwrap();
    assert!(out.status.success());

    // With --lock-timeout the second one waits and then finds nothing to do.
    let w2 = w
        .run(&["apply", "--auto-approve", "--lock-timeout", "30s"])
        .await
        .expect(0);
    assert!(w2.stdout().contains("No changes."), "{}", w2.stdout());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_converges_with_twenty_percent_retryable_faults() {
    let faults = FaultConfig {
        seed: 7,
        retryable_rate: 0.2,
        operation_failure_rate: 0.0,
    };
    let w = World::with("vpc.toml", 0.002, faults).await;
    let run = w.run(&["apply", "--auto-approve"]).await.expect(0);
    assert!(
        run.stdout().contains("Apply complete! Resources: 6 added"),
        "{}",
        run.stdout()
    );
    assert_eq!(w.cloud(), VPC_CLOUD);
    w.run(&["plan", "--detailed-exitcode"]).await.expect(0);
    w.run(&["destroy", "--auto-approve"]).await.expect(0);
    assert!(w.cloud().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_operations_leave_state_consistent_and_the_next_apply_converges() {
    let faults = FaultConfig {
        seed: 3,
        retryable_rate: 0.0,
        operation_failure_rate: 0.6,
    };
    let w = World::with("vpc.toml", 0.002, faults).await;
    let first = w.run(&["apply", "--auto-approve"]).await;
    if first.code() != 0 {
        let err = first.stderr();
        assert!(err.contains("failed:"), "{err}");
        assert!(
            err.contains("State was saved after every finished resource"),
            "{err}"
        );
    }
    // Whatever state lists exists in the cloud: nothing was recorded that failed.
    let listed = w.state_list().await;
    assert!(
        listed.len() <= w.cloud().len(),
        "state {listed:?} vs cloud {:?}",
        w.cloud()
    );

    let w = w.restart_emulator(FaultConfig::default()).await;
    w.run(&["apply", "--auto-approve"]).await.expect(0);
    assert_eq!(w.cloud(), VPC_CLOUD);
    w.run(&["plan", "--detailed-exitcode"]).await.expect(0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn saved_plan_applies_exactly_and_is_refused_once_the_state_moved_on() {
    let w = World::new("vpc.toml").await;
    let saved = w.dir.path().join("vpc.plan.json");
    let saved_s = saved.to_str().unwrap();
    let plan = w.run(&["plan", "--out", saved_s]).await.expect(0);
    assert!(
        plan.stdout().contains(&format!("meshform apply {saved_s}")),
        "{}",
        plan.stdout()
    );
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(&saved).unwrap()).unwrap();
    assert_eq!(json["changes"].as_array().unwrap().len(), 6);

    // Another plan saved now, applied after the first one, is stale.
    let stale = w.dir.path().join("stale.plan.json");
    w.run(&["plan", "--out", stale.to_str().unwrap()])
        .await
        .expect(0);

    let mut apply = w.command(&["apply", saved_s]);
    let out = apply.output().await.unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(w.cloud(), VPC_CLOUD);

    let out = w
        .command(&["apply", stale.to_str().unwrap()])
        .output()
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("saved plan is stale"), "{err}");
    assert!(err.contains("run `meshform plan` again"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_without_a_terminal_and_without_auto_approve_refuses_and_changes_nothing() {
    let w = World::new("vpc.toml").await;
    let run = w.run(&["apply"]).await.expect(1);
    assert!(
        run.stderr().contains("standard input is not a terminal"),
        "{}",
        run.stderr()
    );
    assert!(run.stderr().contains("--auto-approve"));
    assert!(w.cloud().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_plan_file_is_reported_with_its_position_and_nothing_is_sent() {
    let w = World::new("vpc.toml").await;
    w.edit_plan("172.20.0.0/20", "172.20.0.0/33");
    w.edit_plan("mtu = 1460", "mtu = 99");
    w.emulator.reset_request_counts();
    let run = w.run(&["apply", "--auto-approve"]).await.expect(1);
    let err = run.stderr();
    assert!(
        err.contains("vpc.toml:9:7: network.mtu must be from 1300 to 8896"),
        "{err}"
    );
    assert!(err.contains("2 errors in"), "{err}");
    assert!(
        w.emulator.request_counts().values().all(|n| *n == 0),
        "{:?}",
        w.emulator.request_counts()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_plan_lists_every_change_with_action_and_summary() {
    let w = World::new("vpc.toml").await;
    let run = w.run(&["plan", "--json"]).await.expect(0);
    let v: serde_json::Value = serde_json::from_str(&run.stdout()).unwrap();
    assert_eq!(v["summary"]["add"], 6);
    assert!(v["changes"]
        .as_array()
        .unwrap()
        .iter()
        .all(|c| c["action"] == "create"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn private_google_access_and_routing_mode_change_in_place() {
    let w = World::new("vpc.toml").await;
    w.run(&["apply", "--auto-approve"]).await.expect(0);
    w.edit_plan("routing_mode = \"REGIONAL\"", "routing_mode = \"GLOBAL\"");
    w.edit_plan(
        "service_range = { name = \"us-services\", cidr = \"172.16.6.0/24\" }",
        "service_range = { name = \"us-services\", cidr = \"172.16.6.0/24\" }\nprivate_google_access = false",
    );
    let plan = w.run(&["plan", "--detailed-exitcode"]).await.expect(2);
    let out = plan.stdout();
    assert!(
        out.contains("~ routing_mode = \"REGIONAL\" -> \"GLOBAL\""),
        "{out}"
    );
    assert!(
        out.contains("~ private_ip_google_access = true -> false"),
        "{out}"
    );
    assert!(
        out.contains("Plan: 0 to add, 2 to change, 0 to destroy."),
        "{out}"
    );
    w.run(&["apply", "--auto-approve"]).await.expect(0);
    w.run(&["plan", "--detailed-exitcode"]).await.expect(0);
    let counts = w.emulator.request_counts();
    assert_eq!(
        counts.get("compute.subnetworks.setPrivateIpGoogleAccess"),
        Some(&1),
        "{counts:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn existing_resource_that_differs_is_a_conflict_and_one_that_matches_is_adopted() {
    let w = World::new("vpc.toml").await;
    let http = reqwest::Client::new();
    let base = format!("{}/compute/v1/projects/meshform-demo", w.emulator.url());
    // Someone made the network by hand exactly as the plan wants it ...
    let net = serde_json::json!({
        "name": "cross-region-vpc", "autoCreateSubnetworks": false, "mtu": 1460,
        "routingConfig": {"routingMode": "REGIONAL"}
    });
    let r = http
        .post(format!("{base}/global/networks"))
        .json(&net)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{:?}", r.text().await);
    wait_for(&w, "networks/cross-region-vpc").await;
    // ... and a firewall rule of the same name that opens SSH to the world.
    let fw = serde_json::json!({
        "name": "allow-iap-ssh", "network": "global/networks/cross-region-vpc",
        "sourceRanges": ["0.0.0.0/0"], "allowed": [{"IPProtocol": "tcp", "ports": ["22"]}],
        "targetTags": ["bastion"], "description": "SSH to the bastion host through Identity-Aware Proxy"
    });
    let r = http
        .post(format!("{base}/global/firewalls"))
        .json(&fw)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{:?}", r.text().await);
    wait_for(&w, "firewalls/allow-iap-ssh").await;

    let run = w.run(&["apply", "--auto-approve"]).await.expect(1);
    let err = run.stderr();
    assert!(
        err.contains(
            "firewall.allow-iap-ssh already exists with different settings (source_ranges)"
        ),
        "{err}"
    );
    assert!(err.contains("1 failed, 0 not run"), "{err}");
    let state = w.state_list().await;
    assert!(
        state.contains(&"network.cross-region-vpc".to_string()),
        "network adopted: {state:?}"
    );
    assert!(!state.contains(&"firewall.allow-iap-ssh".to_string()));
    assert_eq!(state.len(), 5);
}

async fn wait_for(w: &World, name: &str) {
    for _ in 0..200 {
        if w.cloud().iter().any(|n| n == name) {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("{name} never appeared");
}

//! After a crash, a Ctrl-C or a time limit, the same command finishes the
//! job: the crash matrix kills `meshform apply` and `meshform destroy` of
//! the tutorial at many points (by time, by output event, and while an
//! operation of each kind is in flight) and runs the same command again.

mod common;

use common::{Run, World};
use meshform::emulator::{Emulator, FaultConfig};
use std::collections::BTreeSet;
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Child;

/// Emulated operations at 1/200 of real time: a cluster create takes 1.8 s.
const SCALE: f64 = 0.005;

/// The destroy matrix runs at 1/100: a cluster delete takes 2.4 s, so a
/// re-run (after the checks and the `plan --destroy` between kill and
/// re-run, which read all 32 resources) often still finds the deletes it
/// was killed in under way and joins them; the points killed during a
/// cluster's delete run at 1/20, where it always does.
const DESTROY_SCALE: f64 = 0.01;

/// The 32 resources of plans/tutorial.toml, its mesh and samples included.
const TUTORIAL_STATE: [&str; 32] = [
    "cacerts.europe-west2",
    "cacerts.us-central1",
    "cluster.europe-west2",
    "cluster.us-central1",
    "eastwest_gateway.europe-west2",
    "eastwest_gateway.us-central1",
    "firewall.allow-iap-ssh",
    "firewall.istio-cluster1-istio-webhook",
    "firewall.istio-cluster2-istio-webhook",
    "gke_leftovers.europe-west2",
    "gke_leftovers.us-central1",
    "instance.bastion",
    "intermediate_ca.europe-west2",
    "intermediate_ca.us-central1",
    "istio.europe-west2",
    "istio.us-central1",
    "istio_reader.europe-west2",
    "istio_reader.us-central1",
    "namespace.europe-west2.istio-system",
    "namespace.europe-west2.sample",
    "namespace.us-central1.istio-system",
    "namespace.us-central1.sample",
    "network.cross-region-vpc",
    "remote_secret.europe-west2.us-central1",
    "remote_secret.us-central1.europe-west2",
    "root_ca.root",
    "router.europe-west2",
    "router.us-central1",
    "samples.europe-west2",
    "samples.us-central1",
    "subnet.europe-west2",
    "subnet.us-central1",
];

/// When to kill the process.
#[derive(Debug, Clone)]
enum KillPoint {
    /// This long after it started.
    After(Duration),
    /// When the `n`th line (from 1) containing this text is printed.
    Line(&'static str, usize),
    /// While an operation of this type on a target containing this text is in flight.
    During(&'static str, &'static str),
}

/// Starts `args` against `w`, kills it (SIGKILL) at `point`; returns whether
/// the kill happened before the command ended by itself.
async fn kill_at(w: &World, args: &[&str], point: &KillPoint) -> bool {
    let mut full: Vec<&str> = args.to_vec();
    full.push(w.plan.to_str().unwrap());
    let mut child = w.command(&full).spawn().unwrap();
    let killed = match point {
        KillPoint::After(t) => {
            tokio::select! {
                _ = tokio::time::sleep(*t) => true,
                _ = child.wait() => false,
            }
        }
        KillPoint::Line(text, n) => wait_for_line(&mut child, text, *n).await,
        KillPoint::During(op_type, target) => {
            let deadline = Instant::now() + Duration::from_secs(60);
            loop {
                let hit = w
                    .emulator
                    .pending_operations()
                    .iter()
                    .any(|o| o.operation_type == *op_type && o.target.contains(target));
                if hit {
                    break true;
                }
                if Instant::now() > deadline || child.try_wait().unwrap().is_some() {
                    break false;
                }
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        }
    };
    let _ = child.kill().await;
    let _ = child.wait().await;
    killed
}

/// Reads the child's stdout until the `n`th line containing `text`; false
/// when the output ends first.
async fn wait_for_line(child: &mut Child, text: &str, n: usize) -> bool {
    let out = child.stdout.take().unwrap();
    let mut lines = BufReader::new(out).lines();
    let mut seen = 0;
    while let Ok(Some(line)) = lines.next_line().await {
        if line.contains(text) {
            seen += 1;
            if seen == n {
                // Keep draining so that the child never blocks on a full pipe.
                tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
                return true;
            }
        }
    }
    false
}

/// What a converged tutorial looks like: the state lists exactly the 32
/// resources, a plan is empty, and the cloud holds what a clean apply makes.
async fn check_applied(w: &World, clean_cloud: &[String]) -> Result<(), String> {
    let mut state = w.state_list().await;
    state.sort();
    if state != TUTORIAL_STATE {
        return Err(format!("state lists {state:?}"));
    }
    let plan = w.run(&["plan", "--detailed-exitcode"]).await;
    if plan.code() != 0 {
        return Err(format!(
            "plan is not empty:\n{}{}",
            plan.stdout(),
            plan.stderr()
        ));
    }
    if normalized(&w.cloud()) != normalized(clean_cloud) {
        return Err(format!("cloud differs from a clean apply: {:?}", w.cloud()));
    }
    Ok(())
}

/// Resource names with GKE's random 8-character parts (hex as in
/// `gke-istio-cluster1-698cf5c2-all`, base 36 as in the load balancer's
/// `k8s2-x0i2cx5i-…`) masked, so worlds compare.
fn normalized(names: &[String]) -> Vec<String> {
    names
        .iter()
        .map(|n| {
            n.split('-')
                .map(|part| {
                    let random = |c: char| c.is_ascii_digit() || c.is_ascii_lowercase();
                    if part.len() == 8 && part.chars().all(random) {
                        "*"
                    } else {
                        part
                    }
                })
                .collect::<Vec<_>>()
                .join("-")
        })
        .collect()
}

/// What a destroyed tutorial looks like: nothing in the emulated project,
/// nothing in state.
async fn check_destroyed(w: &World) -> Result<(), String> {
    if !w.cloud().is_empty() {
        return Err(format!("left behind {:?}", w.cloud()));
    }
    let listed = w.state_list().await;
    if !listed.is_empty() {
        return Err(format!("state still lists {listed:?}"));
    }
    Ok(())
}

/// The kind of resource an emulated resource name is (`None` for what GKE
/// made by itself, such as its `gke-*` firewall rules).
fn kind_of(name: &str) -> Option<&'static str> {
    let last = name.rsplit('/').next().unwrap_or(name);
    let kind = match name {
        n if n.starts_with("networks/") => "network",
        n if n.contains("/subnetworks/") => "subnet",
        n if n.contains("/routers/") => "router",
        n if n.starts_with("firewalls/")
            && !last.starts_with("gke-")
            && !last.starts_with("k8s2-") =>
        {
            "firewall"
        }
        n if n.contains("/clusters/") => "cluster",
        n if n.contains("/instances/") => "instance",
        _ => return None,
    };
    Some(kind)
}

/// Every resource of the plan still in the cloud is still in state.
fn check_state_covers_cloud(w: &World, listed: &[String]) -> Result<(), String> {
    let mut in_cloud = std::collections::BTreeMap::<&str, usize>::new();
    for name in w.cloud() {
        if let Some(kind) = kind_of(&name) {
            *in_cloud.entry(kind).or_default() += 1;
        }
    }
    for (kind, count) in in_cloud {
        let in_state = listed
            .iter()
            .filter(|a| a.starts_with(&format!("{kind}.")))
            .count();
        if in_state < count {
            return Err(format!(
                "{count} {kind}(s) in the cloud but {in_state} in state: {listed:?} vs {:?}",
                w.cloud()
            ));
        }
    }
    Ok(())
}

/// A clean apply of the tutorial in a fresh world: what the cloud holds after it.
async fn clean_cloud() -> Vec<String> {
    let w = World::with("tutorial.toml", SCALE, FaultConfig::default()).await;
    w.run(&["apply", "--auto-approve"]).await.expect(0);
    let names = w.cloud();
    let unique: BTreeSet<&String> = names.iter().collect();
    assert_eq!(unique.len(), names.len());
    names
}

/// The same command, run again, must succeed.
fn re_run_ok(run: &Run) -> Result<(), String> {
    if run.code() == 0 {
        return Ok(());
    }
    let err = run.stderr();
    let first = err
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or_default();
    Err(format!("the re-run exited {}: {first}", run.code()))
}

/// Ends a matrix: prints its figures, fails listing every failed case.
fn report(what: &str, points: usize, killed_early: usize, failures: &[String], extra: &str) {
    println!(
        "{what} crash matrix: {points} kill points, {killed_early} killed before the end, {} failed after the re-run{extra}",
        failures.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

fn time_points(count: u64, span_ms: u64) -> Vec<KillPoint> {
    (0..count)
        .map(|i| KillPoint::After(Duration::from_millis(50 + i * span_ms / count)))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_killed_at_any_point_converges_when_run_again() {
    let clean = clean_cloud().await;
    let mut points = time_points(12, 3000);
    for n in 1..=5 {
        points.push(KillPoint::Line("Creating...", n * 2));
    }
    for n in 1..=5 {
        points.push(KillPoint::Line("Creation complete", n * 2));
    }
    for (op, target) in [
        ("insert", "networks/"),
        ("insert", "subnetworks/"),
        ("insert", "routers/"),
        ("insert", "firewalls/"),
        ("CREATE_CLUSTER", "clusters/"),
        ("insert", "instances/"),
    ] {
        points.push(KillPoint::During(op, target));
    }
    let mut killed_early = 0;
    let mut failures = Vec::new();
    for point in &points {
        let w = World::with("tutorial.toml", SCALE, FaultConfig::default()).await;
        if kill_at(&w, &["apply", "--auto-approve"], point).await {
            killed_early += 1;
        }
        let again = w.run(&["apply", "--auto-approve"]).await;
        let checked = match re_run_ok(&again) {
            Ok(()) => check_applied(&w, &clean).await,
            Err(e) => Err(e),
        };
        if let Err(e) = checked {
            failures.push(format!("apply killed at {point:?}: {e}"));
        }
    }
    assert!(
        killed_early >= 20,
        "only {killed_early} kills landed mid-run"
    );
    report("apply", points.len(), killed_early, &failures, "");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn destroy_killed_at_any_point_empties_the_project_when_run_again() {
    let mut points = time_points(12, 2000);
    for n in 1..=5 {
        points.push(KillPoint::Line("Destroying...", n * 2));
    }
    for n in 1..=5 {
        points.push(KillPoint::Line("Destruction complete", n * 2));
    }
    // While a gateway's Service waits for its load balancer to go, and
    // while GKE's leftovers are swept.
    points.push(KillPoint::Line("deleting Service istio-eastwestgateway", 1));
    points.push(KillPoint::Line("deleting Service istio-eastwestgateway", 2));
    points.push(KillPoint::Line("gke_leftovers.", 1));
    // As each cluster's delete starts, once its gateway is gone, and while
    // it runs.
    for cluster in ["istio-cluster1", "istio-cluster2"] {
        points.push(KillPoint::During("DELETE_CLUSTER", cluster));
    }
    points.push(KillPoint::Line("cluster.europe-west2: Destroying...", 1));
    points.push(KillPoint::Line("cluster.us-central1: Destroying...", 1));
    for (op, target) in [
        ("delete", "networks/"),
        ("delete", "subnetworks/"),
        ("delete", "routers/"),
        ("delete", "firewalls/"),
        ("DELETE_CLUSTER", "clusters/"),
        ("delete", "instances/"),
    ] {
        points.push(KillPoint::During(op, target));
    }
    let mut killed_early = 0;
    let mut joined = 0;
    let mut failures = Vec::new();
    for point in &points {
        let w = World::with("tutorial.toml", DESTROY_SCALE, FaultConfig::default()).await;
        w.run(&["apply", "--auto-approve"]).await.expect(0);
        // A kill during a cluster's delete must be followed by a re-run
        // that joins it. The delete then takes 12 s (1/20 of real time), so
        // it is still under way when the re-run reaches it, however slow
        // the machine: whether the other points' re-runs find their
        // operation still running depends on the machine's speed, so those
        // are counted, not required.
        let must_join = matches!(point, KillPoint::During("DELETE_CLUSTER", _));
        let w = if must_join {
            w.restart_with(0.05, FaultConfig::default()).await
        } else {
            w
        };
        if kill_at(&w, &["destroy", "--auto-approve"], point).await {
            killed_early += 1;
        }
        // State stays true to the world: a resource leaves state only once
        // it is gone, and plan shows what state still lists.
        let listed = w.state_list().await;
        let mut checked = check_state_covers_cloud(&w, &listed);
        if checked.is_ok() {
            let plan = w.run(&["plan", "--destroy"]).await;
            checked = match listed.iter().find(|a| !plan.stdout().contains(a.as_str())) {
                Some(a) => Err(format!("plan --destroy does not show {a}")),
                None => Ok(()),
            };
        }
        if checked.is_ok() {
            let again = w.run(&["destroy", "--auto-approve"]).await;
            let joined_here = again.stdout().contains("waiting for an earlier");
            if joined_here {
                joined += 1;
            }
            checked = match re_run_ok(&again) {
                Ok(()) if must_join && !joined_here => {
                    Err("the re-run did not join the cluster delete under way".into())
                }
                Ok(()) => check_destroyed(&w).await,
                Err(e) => Err(e),
            };
        }
        if let Err(e) = checked {
            failures.push(format!("destroy killed at {point:?}: {e}"));
        }
    }
    assert!(
        killed_early >= 20,
        "only {killed_early} kills landed mid-run"
    );
    report(
        "destroy",
        points.len(),
        killed_early,
        &failures,
        &format!(", {joined} re-runs joined an operation in flight"),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn destroy_rerun_joins_the_cluster_delete_already_under_way() {
    let w = World::with("tutorial.toml", SCALE, FaultConfig::default()).await;
    w.run(&["apply", "--auto-approve"]).await.expect(0);
    // Deletes at 1/20 of real time: a cluster delete takes 12 s, long enough
    // for the re-run to find it still running on a busy machine.
    let w = w.restart_with(0.05, FaultConfig::default()).await;
    let point = KillPoint::During("DELETE_CLUSTER", "clusters/");
    assert!(kill_at(&w, &["destroy", "--auto-approve"], &point).await);
    let again = w.run(&["destroy", "--auto-approve"]).await.expect(0);
    let out = again.stdout();
    assert!(
        out.lines().any(|l| l.starts_with("cluster.")
            && l.contains(": waiting for an earlier delete (operation-")
            && l.ends_with(") to finish")),
        "{out}"
    );
    assert!(out.contains("Destroy complete!"), "{out}");
    check_destroyed(&w).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_after_a_destroy_killed_mid_cluster_delete_rebuilds_in_one_run() {
    let clean = clean_cloud().await;
    let w = World::with("tutorial.toml", SCALE, FaultConfig::default()).await;
    w.run(&["apply", "--auto-approve"]).await.expect(0);
    let w = w.restart_with(0.05, FaultConfig::default()).await;
    let point = KillPoint::During("DELETE_CLUSTER", "clusters/");
    assert!(kill_at(&w, &["destroy", "--auto-approve"], &point).await);
    // New operations fast again; the cluster delete keeps its 12 s.
    let w = w.restart_with(SCALE, FaultConfig::default()).await;
    let plan = w.run(&["plan"]).await.expect(0);
    assert!(
        plan.stdout()
            .contains("must be replaced (being deleted: GKE is deleting it (status STOPPING)"),
        "{}",
        plan.stdout()
    );
    let again = w.run(&["apply", "--auto-approve"]).await.expect(0);
    assert!(
        again
            .stdout()
            .contains(": waiting for an earlier delete (operation-"),
        "{}",
        again.stdout()
    );
    check_applied(&w, &clean).await.unwrap();
}

/// Sends SIGINT to a running child.
fn interrupt(child: &Child) {
    let pid = child.id().expect("running").to_string();
    let status = std::process::Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .unwrap();
    assert!(status.success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_stops_starting_steps_saves_state_and_the_next_apply_joins_and_finishes() {
    // Clusters take 18 s to create: the next apply finds them still running.
    let w = World::with("tutorial.toml", 0.05, FaultConfig::default()).await;
    let plan = w.plan.to_str().unwrap().to_string();
    let mut child = w
        .command(&["apply", "--auto-approve", &plan])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let out = child.stdout.take().unwrap();
    let mut lines = BufReader::new(out).lines();
    let mut printed = Vec::new();
    while let Ok(Some(line)) = lines.next_line().await {
        let cluster_started = line.starts_with("cluster.") && line.ends_with("Creating...");
        printed.push(line);
        if cluster_started {
            break;
        }
    }
    interrupt(&child);
    while let Ok(Some(line)) = lines.next_line().await {
        printed.push(line);
    }
    let status = tokio::time::timeout(Duration::from_secs(30), child.wait())
        .await
        .expect("meshform exits soon after Ctrl-C")
        .unwrap();
    let mut stderr = String::new();
    tokio::io::AsyncReadExt::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr)
        .await
        .unwrap();
    let stdout = printed.join("\n");
    assert_eq!(status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(stdout.contains("Interrupt received."), "{stdout}");
    assert!(stderr.contains("Apply interrupted:"), "{stderr}");
    assert!(stderr.contains("run the same command again"), "{stderr}");
    // Nothing started after the interrupt: namespaces wait for their clusters.
    assert!(
        !stdout
            .lines()
            .any(|l| l.starts_with("namespace.") && l.ends_with("Creating...")),
        "{stdout}"
    );
    // State parses and lists only what finished.
    let listed = w.state_list().await;
    assert!(!listed.iter().any(|a| a.starts_with("namespace.")));

    let again = w.run(&["apply", "--auto-approve"]).await.expect(0);
    assert!(
        again
            .stdout()
            .contains(": waiting for an earlier create (operation-"),
        "{}",
        again.stdout()
    );
    let mut state = w.state_list().await;
    state.sort();
    assert_eq!(state, TUTORIAL_STATE);
    w.run(&["plan", "--detailed-exitcode"]).await.expect(0);
}

/// plans/vpc.toml with `[timeouts]` appended.
fn with_timeouts(w: &World, table: &str) {
    let mut text = std::fs::read_to_string(&w.plan).unwrap();
    text.push_str(table);
    std::fs::write(&w.plan, text).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_step_that_keeps_failing_transiently_stops_at_its_time_limit_naming_it_and_the_last_error(
) {
    // Every operation fails with a retryable error: meshform retries the
    // step until its limit runs out, then says so.
    let w = World::with(
        "vpc.toml",
        0.1,
        FaultConfig {
            seed: 1,
            retryable_rate: 0.0,
            operation_failure_rate: 1.0,
        },
    )
    .await;
    with_timeouts(&w, "\n[timeouts.network]\ncreate = \"3s\"\n");
    let started = Instant::now();
    let run = w.run(&["apply", "--auto-approve"]).await.expect(1);
    let err = run.stderr();
    assert!(
        err.contains("create of network.cross-region-vpc did not finish within timeouts.network.create = \"3s\""),
        "{err}"
    );
    assert!(err.contains("last error:"), "{err}");
    assert!(err.contains("operation-"), "{err}");
    // Its retries were logged, without colour codes: stderr is a pipe here.
    assert!(err.contains("WARN"), "{err}");
    assert!(
        !err.contains('\u{1b}'),
        "colour codes in piped stderr: {err:?}"
    );
    // Bounded: nowhere near the 40 s and more it ran before.
    assert!(started.elapsed() < Duration::from_secs(30));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_api_answering_only_rate_limits_stops_the_first_check_with_its_last_error() {
    let w = World::with(
        "vpc.toml",
        0.002,
        FaultConfig {
            seed: 1,
            retryable_rate: 1.0,
            operation_failure_rate: 0.0,
        },
    )
    .await;
    let run = w.run(&["apply", "--auto-approve"]).await.expect(1);
    let err = run.stderr();
    assert!(
        err.contains("no answer from compute.googleapis.com within 30s"),
        "{err}"
    );
    assert!(err.contains("last error:"), "{err}");
    assert!(!run.stdout().contains("Creating..."));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_step_over_its_limit_names_the_operation_still_running_and_the_next_run_joins_it() {
    // At real-cloud speed a network takes 12 s: a 1 s limit runs out, and
    // the next run finds the create still running.
    let w = World::with("vpc.toml", 1.0, FaultConfig::default()).await;
    with_timeouts(&w, "\n[timeouts.network]\ncreate = \"1s\"\n");
    let run = w.run(&["apply", "--auto-approve"]).await.expect(1);
    let err = run.stderr();
    assert!(
        err.contains("did not finish within timeouts.network.create = \"1s\""),
        "{err}"
    );
    assert!(err.contains("operation operation-"), "{err}");
    assert!(err.contains("is still running in the cloud"), "{err}");
    let text = std::fs::read_to_string(&w.plan).unwrap();
    std::fs::write(&w.plan, text.replace("create = \"1s\"", "create = \"2m\"")).unwrap();
    // What comes next may be fast; the network's create keeps its 12 s.
    let w = w.restart_with(0.002, FaultConfig::default()).await;
    let again = w.run(&["apply", "--auto-approve"]).await.expect(0);
    assert!(
        again
            .stdout()
            .contains("network.cross-region-vpc: waiting for an earlier create (operation-"),
        "{}",
        again.stdout()
    );
    assert_eq!(w.cloud(), common::VPC_CLOUD);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_timeout_in_the_plan_file_is_reported_with_its_position() {
    let w = World::new("vpc.toml").await;
    with_timeouts(&w, "\n[timeouts.cluster]\ncreate = \"forever\"\n");
    let out = std::process::Command::new(common::meshform_bin())
        .arg("validate")
        .arg(&w.plan)
        .output()
        .unwrap();
    let run = Run(out).expect(1);
    let err = run.stderr();
    assert!(
        err.contains("vpc.toml:41:10: timeout \"forever\" is not a duration"),
        "{err}"
    );
    assert!(
        err.contains("help: write a duration such as create = \"45m\""),
        "{err}"
    );
}

/// `meshform ARGS` against the real cloud's endpoints, with no credentials
/// on this machine and the metadata server pointed at a closed loopback port.
async fn without_credentials(args: &[&str]) -> Run {
    let home = tempfile::tempdir().unwrap();
    let out = tokio::process::Command::new(common::meshform_bin())
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", home.path())
        .env("CLOUDSDK_CONFIG", home.path())
        .env("GCE_METADATA_HOST", "127.0.0.1:9")
        .env("GCE_METADATA_IP", "127.0.0.1:9")
        .current_dir(home.path())
        .stdin(Stdio::null())
        .output()
        .await
        .unwrap();
    Run(out)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_credentials_apply_stops_at_once_saying_what_to_run() {
    let plan = concat!(env!("CARGO_MANIFEST_DIR"), "/plans/vpc.toml");
    let started = Instant::now();
    let run = without_credentials(&["apply", plan, "--auto-approve"])
        .await
        .expect(1);
    let (out, err) = (run.stdout(), run.stderr());
    assert!(!out.contains("Creating..."), "{out}");
    assert!(
        err.contains("gcloud auth application-default login"),
        "{err}"
    );
    assert!(err.contains("GOOGLE_APPLICATION_CREDENTIALS"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(30));
    assert!(
        !err.contains('\u{1b}'),
        "colour codes in piped stderr: {err:?}"
    );
}

/// A world whose emulator is started with `edit` applied to its config.
async fn world_with(
    plan: &str,
    edit: impl FnOnce(&mut meshform::emulator::EmulatorConfig),
) -> World {
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join(plan);
    std::fs::copy(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("plans")
            .join(plan),
        &copy,
    )
    .unwrap();
    let mut config = common::config(dir.path(), 0.002, FaultConfig::default());
    edit(&mut config);
    let emulator = Emulator::start(config, common::listen()).await.unwrap();
    World {
        dir,
        plan: copy,
        emulator,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disabled_api_stops_the_plan_naming_the_command_that_enables_it() {
    let w = world_with("tutorial.toml", |c| {
        c.disabled_services = vec!["container.googleapis.com".into()]
    })
    .await;
    let run = w.run(&["plan"]).await.expect(1);
    let err = run.stderr();
    assert!(
        err.contains("gcloud services enable container.googleapis.com --project meshform-demo"),
        "{err}"
    );
    // The network layer alone does not need GKE.
    let vpc = world_with("vpc.toml", |c| {
        c.disabled_services = vec!["container.googleapis.com".into()]
    })
    .await;
    vpc.run(&["plan"]).await.expect(0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_project_that_does_not_exist_stops_the_plan_before_anything_is_sent() {
    let w = world_with("vpc.toml", |c| {
        c.missing_projects = vec!["meshform-demo".into()]
    })
    .await;
    let run = w.run(&["apply", "--auto-approve"]).await.expect(1);
    let err = run.stderr();
    assert!(
        err.contains("project meshform-demo does not exist"),
        "{err}"
    );
    assert!(err.contains("gcloud projects list"), "{err}");
    assert!(!run.stdout().contains("Creating..."));
}

/// `meshform ARGS PLAN --emulator` in `dir` (the embedded emulator keeps its
/// world in `dir/state/emulator`, and dies with the process).
fn embedded(dir: &std::path::Path, args: &[&str]) -> tokio::process::Command {
    let mut c = tokio::process::Command::new(common::meshform_bin());
    c.args(args)
        .arg("plans/tutorial.toml")
        .arg("--emulator")
        .env("MESHFORM_EMULATOR_LATENCY_SCALE", SCALE.to_string())
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    c
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn destroy_with_the_embedded_emulator_killed_then_run_again_empties_the_project() {
    // As a new user would: the emulator runs inside meshform and dies with it.
    let mut failures = Vec::new();
    let points = [300, 700, 1200, 1800];
    for ms in points {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("plans")).unwrap();
        std::fs::copy(
            concat!(env!("CARGO_MANIFEST_DIR"), "/plans/tutorial.toml"),
            dir.path().join("plans/tutorial.toml"),
        )
        .unwrap();
        let applied = embedded(dir.path(), &["apply", "--auto-approve"])
            .output()
            .await
            .unwrap();
        assert!(
            applied.status.success(),
            "{}",
            String::from_utf8_lossy(&applied.stderr)
        );
        let mut child = embedded(dir.path(), &["destroy", "--auto-approve"])
            .spawn()
            .unwrap();
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(ms)) => {}
            _ = child.wait() => {}
        }
        let _ = child.kill().await;
        let again = Run(embedded(dir.path(), &["destroy", "--auto-approve"])
            .output()
            .await
            .unwrap());
        if let Err(e) = re_run_ok(&again) {
            failures.push(format!("killed after {ms} ms: {e}"));
            continue;
        }
        let world = meshform::emulator::EmulatorConfig::new(dir.path().join("state/emulator"));
        let emulator = Emulator::start(world, common::listen()).await.unwrap();
        let left = emulator.resource_names();
        emulator.shutdown().await;
        if !left.is_empty() {
            failures.push(format!("killed after {ms} ms: left behind {left:?}"));
        }
    }
    report(
        "embedded destroy",
        points.len(),
        points.len(),
        &failures,
        "",
    );
}

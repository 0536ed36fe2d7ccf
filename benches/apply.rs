//! `cargo bench --bench apply`: apply wall time against the critical path of
//! emulated operation time, and API calls per resource, for plans/vpc.toml,
//! plans/tutorial.toml (two GKE clusters and the mesh),
//! plans/three-regions.toml and a generated 12-region mesh (132 remote
//! secrets); and for plans with clusters, `verify`'s own time and calls.
//! Prints numbers; asserts only that the runs succeed. `BENCH_TRACE=1`
//! also prints, for each apply and destroy, when every step started and ended.
//!
//! The critical path is the longest chain of dependent steps, each weighted
//! by the emulator's operation duration for it (see `emulator::base_duration`)
//! times the latency scale. A ratio of 1.00 means meshform added no time of
//! its own: every resource started the moment its dependencies were done.

use meshform::changeset::{Action, ChangeSet};
use meshform::emulator::{base_duration, Emulator, EmulatorConfig, SaveStats};
use meshform::exec::{StepKind, StepPlan};
use meshform::ops::{self, TargetChoice, Workspace};
use meshform::resource::ResourceKind;
use std::path::Path;
use std::time::{Duration, Instant};

/// Emulated operations take this fraction of their real-cloud duration.
const LATENCY_SCALE: f64 = 0.05;
/// Resources worked on at once: meshform's default, or `BENCH_PARALLELISM`.
fn parallelism() -> usize {
    std::env::var("BENCH_PARALLELISM")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(16)
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        println!(
            "meshform apply benchmark (emulator latency scale {LATENCY_SCALE}, parallelism {})\n",
            parallelism()
        );
        let vpc =
            std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("plans/vpc.toml"))
                .expect("plans/vpc.toml");
        bench("plans/vpc.toml", &vpc).await;
        for name in ["plans/tutorial.toml", "plans/three-regions.toml"] {
            let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(name))
                .expect(name);
            bench(name, &text).await;
        }
        bench("generated 12-region mesh", &twelve_regions()).await;
    });
}

async fn bench(name: &str, plan_text: &str) {
    let dir = tempfile::tempdir().expect("tempdir");
    let plan_file = dir.path().join("bench.toml");
    std::fs::write(&plan_file, plan_text).expect("write plan");
    let mut config = EmulatorConfig::new(dir.path().join("emulator"));
    config.latency_scale = LATENCY_SCALE;
    let emulator = Emulator::start(config, ([127, 0, 0, 1], 0).into())
        .await
        .expect("emulator");
    let target = TargetChoice::Url(emulator.url());
    let state = dir.path().join("state.json");
    let (plan, desired, _) = ops::load_desired(&plan_file).expect("valid plan");
    let mut ws = Workspace::open(
        &state,
        None,
        "bench",
        Duration::ZERO,
        |_| {},
        &plan.project,
        &target,
        plan.regions.iter().any(|r| r.cluster.is_some()),
    )
    .await
    .expect("workspace");

    let set = ops::plan(
        &ws,
        &plan_file,
        &plan,
        &desired,
        parallelism(),
        inputs(&plan),
    )
    .await
    .expect("plan");
    let resources = set.changes.len();
    emulator.reset_request_counts();
    let (apply_wall, apply_path) = timed_apply(&mut ws, &set).await;
    let apply_calls = calls(&emulator);
    let apply_saves = emulator.world_saves();

    let verified = if plan.regions.iter().any(|r| r.cluster.is_some()) {
        emulator.reset_request_counts();
        let start = Instant::now();
        let report = ops::verify(&ws, &plan, false).await.expect("verify");
        assert!(report.ok(), "verify failed:\n{}", report.table());
        Some((start.elapsed(), report.checks.len(), calls(&emulator)))
    } else {
        None
    };

    emulator.reset_request_counts();
    let again = ops::plan(
        &ws,
        &plan_file,
        &plan,
        &desired,
        parallelism(),
        inputs(&plan),
    )
    .await
    .expect("plan");
    assert!(!again.has_changes(), "second plan must be empty");
    let plan_calls = calls(&emulator);

    let destroy = ops::plan_destroy(
        &ws,
        &plan_file,
        &plan,
        parallelism(),
        ops::PlanInputs::now(),
    )
    .await
    .expect("plan destroy");
    emulator.reset_request_counts();
    let (destroy_wall, destroy_path) = timed_apply(&mut ws, &destroy).await;
    let destroy_calls = calls(&emulator);
    let destroy_saves = emulator.world_saves();
    ws.close().await;
    emulator.shutdown().await;

    let per = |n: u64| n as f64 / resources as f64;
    println!("{name}: {resources} resources");
    println!(
        "  apply    wall {:>6.3}s  critical path {:>6.3}s  ratio {:.3}  API calls {:>4} ({:.2} per resource)",
        apply_wall.as_secs_f64(),
        apply_path.as_secs_f64(),
        apply_wall.as_secs_f64() / apply_path.as_secs_f64(),
        apply_calls,
        per(apply_calls)
    );
    print_saves(&apply_saves);
    println!(
        "  plan (no changes)                                         API calls {:>4} ({:.2} per resource)",
        plan_calls,
        per(plan_calls)
    );
    if let Some((wall, checks, calls)) = verified {
        println!(
            "  verify   wall {:>6.3}s  {checks} checks                         API calls {calls:>4} ({:.2} per check)",
            wall.as_secs_f64(),
            calls as f64 / checks as f64
        );
    }
    println!(
        "  destroy  wall {:>6.3}s  critical path {:>6.3}s  ratio {:.3}  API calls {:>4} ({:.2} per resource)",
        destroy_wall.as_secs_f64(),
        destroy_path.as_secs_f64(),
        destroy_wall.as_secs_f64() / destroy_path.as_secs_f64(),
        destroy_calls,
        per(destroy_calls)
    );
    print_saves(&destroy_saves);
    println!();
}

/// The emulator's own cost of saving its world, which shares the machine.
fn print_saves(s: &SaveStats) {
    println!(
        "           emulator: {} changes, {} world saves (up to {} KiB), serialising {:.0} ms (world locked), writing {:.0} ms",
        s.changes,
        s.saves,
        s.largest / 1024,
        s.serialise.as_secs_f64() * 1e3,
        s.write.as_secs_f64() * 1e3
    );
}

async fn timed_apply(ws: &mut Workspace, set: &ChangeSet) -> (Duration, Duration) {
    let trace = std::env::var_os("BENCH_TRACE").is_some();
    let start = Instant::now();
    let mut timeline = Vec::new();
    let report = ops::apply(
        ws,
        set,
        &meshform::exec::WalkOptions::new(parallelism(), Duration::from_secs(3600)),
        |event| {
            if let meshform::exec::WalkEvent::Finished(step, took) = event {
                timeline.push((start.elapsed(), took, step.address.to_string()));
            }
        },
    )
    .await
    .expect("apply");
    let wall = start.elapsed();
    if trace {
        // BENCH_TRACE=1: when each step started and ended, last first.
        timeline.sort_by_key(|t| std::cmp::Reverse(t.0));
        for (end, took, address) in &timeline {
            println!(
                "    {:>7.3}s .. {:>7.3}s  ran {:>7.3}s  {address}",
                end.saturating_sub(*took).as_secs_f64(),
                end.as_secs_f64(),
                took.as_secs_f64()
            );
        }
    }
    assert!(!report.failed(), "apply failed: {:?}", report.results);
    (wall, critical_path(set))
}

/// The longest chain of step durations through the step graph.
fn critical_path(set: &ChangeSet) -> Duration {
    let steps = StepPlan::new(&set.changes);
    let mut finish = vec![Duration::ZERO; steps.steps.len()];
    // Steps are few: relax edges until nothing changes (longest path in a DAG).
    loop {
        let mut changed = false;
        for (i, s) in steps.steps.iter().enumerate() {
            let start = steps
                .edges
                .iter()
                .chain(&steps.soft_edges)
                .filter(|(_, after)| *after == i)
                .map(|(before, _)| finish[*before])
                .max()
                .unwrap_or_default();
            let end = start + step_duration(s.address.kind, s.kind, s.action);
            if end != finish[i] {
                finish[i] = end;
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    finish.into_iter().max().unwrap_or_default()
}

fn step_duration(kind: ResourceKind, step: StepKind, action: Action) -> Duration {
    let collection = match kind {
        ResourceKind::Network => "networks",
        ResourceKind::Subnet => "subnetworks",
        ResourceKind::Router => "routers",
        ResourceKind::Firewall => "firewalls",
        ResourceKind::Instance => "instances",
        ResourceKind::Cluster => "clusters",
        // Kubernetes objects are applied in milliseconds, local CAs are
        // made on this machine: no emulated time.
        ResourceKind::Namespace
        | ResourceKind::IstioReader
        | ResourceKind::RemoteSecret
        | ResourceKind::Cacerts
        | ResourceKind::RootCa
        | ResourceKind::IntermediateCa => return Duration::ZERO,
        // A sweep lists and finds nothing left behind after a clean destroy.
        ResourceKind::GkeLeftovers => return Duration::ZERO,
        // The gateway waits for its rollout, then for GKE's load balancer;
        // its delete waits until GKE has removed the load balancer.
        ResourceKind::EastwestGateway => {
            let lb = |d: Duration| d.mul_f64(LATENCY_SCALE);
            return match (step, action) {
                (StepKind::Apply, Action::Create | Action::Replace) => {
                    meshform::emulator::kubeapi::rollout_time(LATENCY_SCALE)
                        .max(lb(meshform::emulator::LOAD_BALANCER_PROVISIONING))
                }
                (StepKind::Delete, _) => lb(meshform::emulator::LOAD_BALANCER_TEARDOWN),
                _ => Duration::ZERO,
            };
        }
        // The control plane waits for istiod's rollout, the samples for
        // sleep's and httpbin's.
        ResourceKind::Istio | ResourceKind::Samples => {
            return match (step, action) {
                (StepKind::Apply, Action::Create | Action::Replace | Action::Update) => {
                    meshform::emulator::kubeapi::rollout_time(LATENCY_SCALE)
                }
                _ => Duration::ZERO,
            }
        }
    };
    let gke = kind == ResourceKind::Cluster;
    let verb = match (step, action) {
        (StepKind::Delete, _) => "delete",
        (StepKind::Apply, Action::Create | Action::Replace) if gke => "create",
        (StepKind::Apply, Action::Create | Action::Replace) => "insert",
        (StepKind::Apply, Action::Update) if gke => "update",
        (StepKind::Apply, Action::Update) => "patch",
        _ => return Duration::ZERO,
    };
    base_duration(collection, verb).mul_f64(LATENCY_SCALE)
}

/// Now, and the emulated istioctl for a plan with a mesh.
fn inputs(plan: &meshform::plan::Plan) -> ops::PlanInputs {
    ops::PlanInputs::with_generator(plan.mesh.as_ref().map(|m| {
        meshform::mesh::Generator::Emulated {
            version: m.istio_version.clone(),
        }
    }))
}

fn calls(emulator: &Emulator) -> u64 {
    emulator.request_counts().values().sum()
}

/// Twelve regions, each with a subnet, pod and service ranges, NAT and a
/// private cluster, plus the IAP SSH rule and the mesh over all twelve
/// clusters (132 remote secrets).
fn twelve_regions() -> String {
    let regions = [
        "europe-west1",
        "europe-west2",
        "europe-west3",
        "europe-west4",
        "europe-north1",
        "us-central1",
        "us-east1",
        "us-east4",
        "us-west1",
        "asia-east1",
        "asia-northeast1",
        "australia-southeast1",
    ];
    let mut s = String::from(
        "project = \"meshform-bench\"\n\n[network]\nname = \"bench-vpc\"\n\n\
         [[firewall]]\nname = \"allow-iap-ssh\"\nsource_ranges = [\"35.235.240.0/20\"]\nallow = [\"tcp:22\"]\ntarget_tags = [\"bastion\"]\n",
    );
    for (i, r) in regions.iter().enumerate() {
        s.push_str(&format!(
            "\n[[region]]\nname = \"{r}\"\n[region.subnet]\nname = \"subnet-{r}\"\ncidr = \"10.{i}.0.0/20\"\n\
             pod_range = {{ name = \"pods\", cidr = \"10.{}.0.0/16\" }}\n\
             service_range = {{ name = \"services\", cidr = \"10.{i}.64.0/20\" }}\n",
            100 + i
        ));
        s.push_str(&format!(
            "[region.cluster]\nname = \"mesh-{i}\"\nlocation = \"{r}-b\"\n\
             master_cidr = \"172.16.0.{}/28\"\nprivate_endpoint = true\naccess = \"dns\"\n",
            16 * i
        ));
    }
    s.push_str("\n[mesh]\nid = \"mesh1\"\nistio_version = \"1.31.1\"\n");
    s
}

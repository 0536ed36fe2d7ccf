//! One thin function per command.

use anyhow::{bail, Context, Result};
use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::args::{Command, EmulatorCommand, StateCommand, Target};
use super::{Printer, EXIT_CHANGES, EXIT_ERROR, EXIT_OK};
use crate::changeset::ChangeSet;
use crate::emulator::{tool_env, Emulator, EmulatorConfig, FaultConfig};
use crate::exec::WalkOptions;
use crate::ops::{self, TargetChoice, Workspace};
use crate::progress::{Interrupt, InterruptHandle};
use crate::render::{render_json, render_text};

/// How often a running resource reports that it is still running.
const PROGRESS_TICK: Duration = Duration::from_secs(10);

pub async fn dispatch(command: Command, istioctl: Option<&Path>, p: &Printer) -> Result<i32> {
    match command {
        Command::Validate { plan } => validate(&plan, p),
        Command::Plan {
            plan,
            out,
            json,
            detailed_exitcode,
            destroy,
            rotate_root,
            target,
        } => {
            let target = Tools::new(target, istioctl, rotate_root);
            plan_cmd(
                &plan,
                out.as_deref(),
                json,
                detailed_exitcode,
                destroy,
                &target,
                p,
            )
            .await
        }
        Command::Apply {
            plan,
            auto_approve,
            rotate_root,
            target,
        } => {
            let tools = Tools::new(target, istioctl, rotate_root);
            apply_cmd(&plan, auto_approve, &tools, p).await
        }
        Command::Destroy {
            plan,
            auto_approve,
            target,
        } => destroy_cmd(&plan, auto_approve, &target, p).await,
        Command::Show { file, json, state } => show(&file, json, state, p).await,
        Command::State(StateCommand::List { plan, state }) => {
            let state = read_state(&state_path_of(plan.as_deref(), state)?).await?;
            for r in &state.resources {
                p.line(&r.address.to_string());
            }
            Ok(EXIT_OK)
        }
        Command::State(StateCommand::Show {
            address,
            plan,
            state,
        }) => {
            let address: crate::address::Address = address.parse()?;
            let state = read_state(&state_path_of(plan.as_deref(), state)?).await?;
            let Some(r) = state.get(&address) else {
                bail!("no resource {address} in state\n  help: `meshform state list` shows the addresses in state");
            };
            p.out(&serde_json::to_string_pretty(r)?);
            p.line("");
            Ok(EXIT_OK)
        }
        Command::State(StateCommand::Migrate { plan, to, target }) => {
            migrate_cmd(&plan, &to, &target, p).await
        }
        Command::ForceUnlock {
            lock_id,
            plan,
            state,
        } => {
            let place = state_path_of(plan.as_deref(), state)?;
            let Some(object) = &place.remote else {
                bail!("the state {} is a local file, whose lock the OS releases when its holder dies: there is nothing to force\n  help: force-unlock is for state in a bucket (--state gs://BUCKET/PATH.json or [state] in the plan file)", place.local.display());
            };
            let bucket = crate::state::Bucket::connect().await?;
            let info = crate::state::force_unlock(&bucket, object, &lock_id).await?;
            p.line(&format!(
                "Removed the lock of {object}, held by {info}.\nmeshform cannot know whether that {} had finished its work: run `meshform plan` to see where things stand.",
                info.operation
            ));
            Ok(EXIT_OK)
        }
        Command::Kubeconfig { plan, out, target } => kubeconfig_cmd(&plan, out, &target, p).await,
        Command::Verify {
            plan,
            json,
            traffic,
            target,
        } => verify_cmd(&plan, json, traffic, &target, p).await,
        Command::Graph { plan } => {
            let (_, _, graph) = ops::load_desired(&plan)?;
            p.out(&graph.to_dot());
            Ok(EXIT_OK)
        }
        Command::Emulator(EmulatorCommand::Env {
            url,
            project,
            gcloud_config,
        }) => {
            let dir = gcloud_config.unwrap_or_else(|| std::env::temp_dir().join("meshform-gcloud"));
            std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
            p.out(&tool_env::exports(&tool_env::gcloud_env(
                &url, &project, &dir,
            )));
            Ok(EXIT_OK)
        }
        Command::Emulator(EmulatorCommand::Serve {
            listen,
            data,
            latency_scale,
            fault_rate,
            operation_failure_rate,
            seed,
            disabled_services,
            missing_projects,
            project,
        }) => {
            let data_dir = data.clone();
            let mut config = EmulatorConfig::new(data);
            config.disabled_services = disabled_services;
            config.missing_projects = missing_projects;
            config.apply_env();
            config.latency_scale = latency_scale;
            config.faults = FaultConfig {
                seed,
                retryable_rate: fault_rate,
                operation_failure_rate,
            };
            let emulator = Emulator::start(config, listen).await?;
            p.line(&format!(
                "meshform emulator listening on {}",
                emulator.url()
            ));
            p.line(&format!(
                "Use it with: meshform apply PLAN --emulator-url {}",
                emulator.url()
            ));
            let config_dir = gcloud_config_dir(&data_dir);
            std::fs::create_dir_all(&config_dir)
                .with_context(|| format!("creating {}", config_dir.display()))?;
            p.line(
                "
To look at it with gcloud and kubectl, run in your shell:
",
            );
            p.out(&tool_env::exports(&tool_env::gcloud_env(
                &emulator.url(),
                &project,
                &config_dir,
            )));
            p.line("");
            tokio::signal::ctrl_c().await?;
            emulator.shutdown().await;
            Ok(EXIT_OK)
        }
    }
}

/// gcloud's own configuration folder for an emulator's world: beside it,
/// apart from the user's gcloud configuration.
fn gcloud_config_dir(data: &Path) -> PathBuf {
    data.join("gcloud-config")
}

fn has_clusters(plan: &crate::plan::Plan) -> bool {
    plan.regions.iter().any(|r| r.cluster.is_some())
}

fn validate(plan: &Path, p: &Printer) -> Result<i32> {
    ops::load_desired(plan)?;
    p.line("Success! The plan file is valid.");
    Ok(EXIT_OK)
}

/// Where a command's state is: the local place (the state file, or for a
/// state in a bucket the local folder of what lives beside it), and the
/// bucket object when the state is in a bucket. Derefs to the local place.
struct StatePlace {
    local: PathBuf,
    remote: Option<crate::state::BucketObject>,
}

impl std::ops::Deref for StatePlace {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.local
    }
}

/// The state of the loaded plan file `plan_file`: `--state`, else its
/// `[state]`, else `state/<plan stem>.json`.
fn state_path(plan_file: &Path, plan: &crate::plan::Plan, target: &Target) -> Result<StatePlace> {
    use crate::state::StateLocation;
    let location = match (&target.state, &plan.state) {
        (Some(s), _) => StateLocation::parse(s)?,
        (None, Some(s)) => StateLocation::in_bucket(&s.bucket, &s.prefix, plan_file)?,
        (None, None) => StateLocation::Local(ops::default_state_path(plan_file)),
    };
    Ok(StatePlace::at(location))
}

/// The state `--state` names (a path or `gs://BUCKET/PATH.json`), else the
/// one of the plan file (read only for its `[state]`), for commands that do
/// not load the plan otherwise.
fn state_path_of(plan: Option<&Path>, state: Option<String>) -> Result<StatePlace> {
    use crate::state::StateLocation;
    let location = match (state, plan) {
        (Some(s), _) => StateLocation::parse(&s)?,
        (None, Some(plan_file)) => match crate::plan::load(plan_file).ok().and_then(|p| p.state) {
            Some(s) => StateLocation::in_bucket(&s.bucket, &s.prefix, plan_file)?,
            None => StateLocation::Local(ops::default_state_path(plan_file)),
        },
        (None, None) => bail!("give a plan file or --state PATH to say which state to read"),
    };
    Ok(StatePlace::at(location))
}

impl StatePlace {
    /// The place of a state at `location`: a bucket state's local place is
    /// `state/gs/<bucket>/<object>`.
    fn at(location: crate::state::StateLocation) -> StatePlace {
        use crate::state::StateLocation;
        match location {
            StateLocation::Local(local) => StatePlace {
                local,
                remote: None,
            },
            StateLocation::Bucket(object) => StatePlace {
                local: PathBuf::from("state/gs")
                    .join(&object.bucket)
                    .join(&object.object),
                remote: Some(object),
            },
        }
    }
}

/// `meshform state migrate PLAN --to PLACE`.
async fn migrate_cmd(plan_file: &Path, to: &str, target: &Target, p: &Printer) -> Result<i32> {
    let plan = crate::plan::load(plan_file)?;
    let from = state_path(plan_file, &plan, target)?;
    let to = StatePlace::at(crate::state::StateLocation::parse(to)?);
    let (from_name, to_name) = (from.end().name(), to.end().name());
    p.line(&format!(
        "Migrating the state at {from_name} to {to_name}..."
    ));
    let report = ops::migrate(
        from.end(),
        to.end(),
        &plan.project,
        &choice(&from.local, target),
        target.lock_timeout,
        |holder| p.line(&format!("Waiting for the state lock held by {holder}...")),
    )
    .await?;
    let again = if report.resumed {
        " (finishing an earlier migration that was stopped)"
    } else {
        ""
    };
    p.line(&format!(
        "Migrated {} resources, {} secret values and {} CA entries to {to_name}{again}; secrets are in {}.\nThe source {from_name} is removed.",
        report.resources, report.values, report.entries, report.secrets_at
    ));
    let stem = plan_file.file_stem().unwrap_or_default().to_string_lossy();
    let hint = match &to.remote {
        Some(o) => match o.object.rsplit_once('/').unwrap_or(("", &o.object)) {
            (dir, file) if file == format!("{stem}.json") => format!(
                "put `[state]` with `bucket = \"{}\"` and `prefix = \"{dir}\"` in {}, or pass `--state {to_name}`",
                o.bucket,
                plan_file.display()
            ),
            _ => format!("pass `--state {to_name}`"),
        },
        None => format!(
            "remove `[state]` from {} if it has one, and pass `--state {to_name}` unless that is its default state file",
            plan_file.display()
        ),
    };
    p.line(&format!("To use it from now on, {hint}."));
    Ok(EXIT_OK)
}

impl StatePlace {
    /// As one end of a migration.
    fn end(&self) -> ops::StateEnd<'_> {
        ops::StateEnd {
            local: &self.local,
            remote: self.remote.as_ref(),
        }
    }
}

/// The state of `place`, read without its lock.
async fn read_state(place: &StatePlace) -> Result<crate::state::State> {
    let store = crate::state::store(&place.local, place.remote.as_ref()).await?;
    Ok(store.load().await?)
}

fn choice(state_path: &Path, target: &Target) -> TargetChoice {
    match (&target.emulator_url, target.emulator) {
        (Some(url), _) => TargetChoice::Url(url.clone()),
        (None, true) => TargetChoice::embedded_for(state_path),
        (None, false) => TargetChoice::Cloud,
    }
}

/// The target and the tools a command may need to plan a mesh.
struct Tools<'a> {
    target: Target,
    istioctl: Option<&'a Path>,
    rotate_root: bool,
}

impl<'a> Tools<'a> {
    fn new(target: Target, istioctl: Option<&'a Path>, rotate_root: bool) -> Self {
        Tools {
            target,
            istioctl,
            rotate_root,
        }
    }

    /// The planner's inputs for `plan`: now, and for a mesh what renders
    /// its control planes (the emulated stand-in on an emulator unless
    /// `--istioctl` is given; else istioctl of the pinned version).
    async fn plan_inputs(&self, plan: &crate::plan::Plan, p: &Printer) -> Result<ops::PlanInputs> {
        let Some(mesh) = &plan.mesh else {
            return Ok(ops::PlanInputs::now());
        };
        let rotate_root = self.rotate_root;
        let on_emulator = self.target.emulator || self.target.emulator_url.is_some();
        let progress = |message: &str| p.line(message);
        let generator = crate::mesh::Generator::locate(
            self.istioctl,
            on_emulator,
            &mesh.istio_version,
            &progress,
        )
        .await?;
        Ok(ops::PlanInputs {
            rotate_root,
            ..ops::PlanInputs::with_generator(Some(generator))
        })
    }
}

impl std::ops::Deref for Tools<'_> {
    type Target = Target;
    fn deref(&self) -> &Target {
        &self.target
    }
}

/// Opens the workspace; `needs_container`: the plan has GKE clusters.
async fn open(
    state_path: &StatePlace,
    operation: &str,
    project: &str,
    needs_container: bool,
    target: &Target,
    p: &Printer,
) -> Result<Workspace> {
    let ws = Workspace::open(
        state_path,
        state_path.remote.as_ref(),
        operation,
        target.lock_timeout,
        |holder| p.line(&format!("Waiting for the state lock held by {holder}...")),
        project,
        &choice(state_path, target),
        needs_container,
    )
    .await?;
    Ok(ws)
}

async fn plan_cmd(
    plan_file: &Path,
    out: Option<&Path>,
    json: bool,
    detailed: bool,
    destroy: bool,
    target: &Tools<'_>,
    p: &Printer,
) -> Result<i32> {
    let (plan, desired, _) = ops::load_desired(plan_file)?;
    let state_path = state_path(plan_file, &plan, target)?;
    let ws = open(
        &state_path,
        "plan",
        &plan.project,
        has_clusters(&plan),
        target,
        p,
    )
    .await?;
    let parallelism = target.parallelism as usize;
    let set = if destroy {
        ops::plan_destroy(&ws, plan_file, &plan, parallelism, ops::PlanInputs::now()).await?
    } else {
        let inputs = target.plan_inputs(&plan, p).await?;
        ops::plan(&ws, plan_file, &plan, &desired, parallelism, inputs).await?
    };
    if json {
        p.out(&render_json(&set));
    } else {
        p.out(&render_text(&set));
    }
    if let Some(out) = out {
        let text = serde_json::to_string_pretty(&set)?;
        crate::state::write_private(out, text.as_bytes())
            .with_context(|| format!("writing the plan to {}", out.display()))?;
        if !json {
            p.line(&format!(
                "\nSaved the plan to: {}\n\nTo perform exactly these actions, run:\n    meshform apply {}",
                out.display(),
                out.display()
            ));
        }
    }
    ws.close().await;
    Ok(if detailed && set.has_changes() {
        EXIT_CHANGES
    } else {
        EXIT_OK
    })
}

/// A change set saved by `plan --out`, if `path` is one.
fn saved_plan(path: &Path) -> Option<ChangeSet> {
    let text = std::fs::read_to_string(path).ok()?;
    if !text.trim_start().starts_with('{') {
        return None;
    }
    serde_json::from_str(&text).ok()
}

async fn apply_cmd(
    file: &Path,
    auto_approve: bool,
    target: &Tools<'_>,
    p: &Printer,
) -> Result<i32> {
    let parallelism = target.parallelism as usize;
    let (set, ws, saved) = match saved_plan(file) {
        Some(set) => {
            let state_path = state_path_of(Some(&set.plan_file), target.state.clone())?;
            let clusters = set
                .changes
                .iter()
                .any(|c| c.address.kind.api() == crate::kinds::Api::Gke);
            let ws = open(&state_path, "apply", &set.project, clusters, target, p).await?;
            (set, ws, true)
        }
        None => {
            let (plan, desired, _) = ops::load_desired(file)?;
            let state_path = state_path(file, &plan, target)?;
            let ws = open(
                &state_path,
                "apply",
                &plan.project,
                has_clusters(&plan),
                target,
                p,
            )
            .await?;
            let inputs = target.plan_inputs(&plan, p).await?;
            let set = ops::plan(&ws, file, &plan, &desired, parallelism, inputs).await?;
            (set, ws, false)
        }
    };
    p.out(&render_text(&set));
    if !set.has_changes() && set.changes.iter().all(|c| c.after.is_some()) {
        ws.close().await;
        p.line("\nApply complete! Resources: 0 added, 0 changed, 0 destroyed.");
        return Ok(EXIT_OK);
    }
    if !saved
        && !auto_approve
        && !confirm(
            p,
            "Do you want to perform these actions?",
            "meshform will perform the actions described above.",
        )?
    {
        ws.close().await;
        p.line("\nApply cancelled.");
        return Ok(EXIT_ERROR);
    }
    run_apply(ws, &set, parallelism, p).await
}

async fn destroy_cmd(
    plan_file: &Path,
    auto_approve: bool,
    target: &Target,
    p: &Printer,
) -> Result<i32> {
    let (plan, _, _) = ops::load_desired(plan_file)?;
    let state_path = state_path(plan_file, &plan, target)?;
    let ws = open(&state_path, "destroy", &plan.project, false, target, p).await?;
    let set = ops::plan_destroy(
        &ws,
        plan_file,
        &plan,
        target.parallelism as usize,
        ops::PlanInputs::now(),
    )
    .await?;
    p.out(&render_text(&set));
    if !set.has_changes() && set.changes.is_empty() {
        ws.close().await;
        p.line("\nDestroy complete! Resources: 0 destroyed.");
        return Ok(EXIT_OK);
    }
    if !auto_approve
        && !confirm(
            p,
            "Do you really want to destroy all resources?",
            "meshform will destroy all the resources of this plan file shown above.\n  There is no undo.",
        )?
    {
        ws.close().await;
        p.line("\nDestroy cancelled.");
        return Ok(EXIT_ERROR);
    }
    run_apply(ws, &set, target.parallelism as usize, p).await
}

async fn run_apply(
    mut ws: Workspace,
    set: &ChangeSet,
    parallelism: usize,
    p: &Printer,
) -> Result<i32> {
    p.line("");
    let (handle, interrupt) = Interrupt::new();
    let signals = tokio::spawn(interrupt_on_signals(handle));
    let options = WalkOptions {
        parallelism,
        tick: PROGRESS_TICK,
        interrupt,
    };
    let report = ops::apply(&mut ws, set, &options, |e| p.progress(e)).await;
    signals.abort();
    ws.close().await;
    let report = report?;
    p.apply_summary(&report, set.destroy);
    if !report.failed() && !report.interrupted {
        for next in &set.after_apply {
            p.line(&format!("\n{next}"));
        }
    }
    Ok(if report.failed() { EXIT_ERROR } else { EXIT_OK })
}

/// As in Terraform: the first SIGINT or SIGTERM fires `handle` (no new step
/// starts; running ones finish or stop where the next run can join them, and
/// state is saved); a second one exits at once.
async fn interrupt_on_signals(handle: InterruptHandle) {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut int), Ok(mut term)) = (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    ) else {
        return;
    };
    tokio::select! {
        _ = int.recv() => {}
        _ = term.recv() => {}
    }
    handle.fire();
    tokio::select! {
        _ = int.recv() => {}
        _ = term.recv() => {}
    }
    eprintln!("\nTwo interrupts received. Exiting immediately. Note that data loss may have occurred; run the same command again.");
    std::process::exit(EXIT_ERROR);
}

/// Asks on the terminal; only "yes" approves. Refuses without a terminal.
fn confirm(p: &Printer, question: &str, detail: &str) -> Result<bool> {
    if !std::io::stdin().is_terminal() {
        bail!(
            "{question} meshform needs a \"yes\", but standard input is not a terminal\n  help: run with --auto-approve to go ahead without asking"
        );
    }
    p.out(&format!(
        "\n{question}\n  {detail}\n  Only 'yes' will be accepted to approve.\n\n  Enter a value: "
    ));
    std::io::stdout().flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    Ok(answer.trim() == "yes")
}

async fn show(file: &Path, json: bool, state: Option<String>, p: &Printer) -> Result<i32> {
    if let Some(set) = saved_plan(file) {
        p.out(&if json {
            render_json(&set)
        } else {
            render_text(&set)
        });
        return Ok(EXIT_OK);
    }
    let state = read_state(&state_path_of(Some(file), state)?).await?;
    if json {
        p.out(&serde_json::to_string_pretty(&state)?);
        p.line("");
        return Ok(EXIT_OK);
    }
    if state.resources.is_empty() {
        p.line("The state is empty. Nothing has been applied for this plan file.");
    }
    for r in &state.resources {
        p.line(&format!("# {}:", r.address));
        if let Some(id) = &r.ids.id {
            p.line(&format!("    id = {id:?}"));
        }
        let width = r.attributes.keys().map(|k| k.len()).max().unwrap_or(0);
        for (k, v) in &r.attributes {
            p.line(&format!("    {k:width$} = {v}"));
        }
        p.line("");
    }
    Ok(EXIT_OK)
}

async fn kubeconfig_cmd(
    plan_file: &Path,
    out: Option<PathBuf>,
    target: &Target,
    p: &Printer,
) -> Result<i32> {
    let (plan, _, _) = ops::load_desired(plan_file)?;
    let state_path = state_path(plan_file, &plan, target)?;
    let ws = open(&state_path, "kubeconfig", &plan.project, true, target, p).await?;
    let config = ops::kubeconfig(&ws, &plan).await;
    let embedded = ws.connection.emulator().is_some();
    ws.close().await;
    let config = config?;
    if config.contexts.is_empty() {
        bail!("{} has no clusters", plan_file.display());
    }
    let text = serde_json::to_string_pretty(&config)? + "\n";
    let out = out.unwrap_or_else(|| state_path.with_extension("kubeconfig"));
    if out.as_os_str() == "-" {
        p.out(&text);
        return Ok(EXIT_OK);
    }
    crate::state::write_private(&out, text.as_bytes())
        .with_context(|| format!("writing {}", out.display()))?;
    p.line(&format!("Wrote {} with contexts:", out.display()));
    for c in &config.contexts {
        p.line(&format!("  {}", c.name));
    }
    p.line(&format!(
        "\nUse it with:\n    export KUBECONFIG={}\n    kubectl get namespaces",
        out.display()
    ));
    if embedded {
        p.line(
            "\nThe embedded emulator stopped with this command; for kubectl, serve the same world with:\n    \
             meshform emulator serve --data <folder of the state file>/emulator",
        );
    }
    Ok(EXIT_OK)
}

async fn verify_cmd(
    plan_file: &Path,
    json: bool,
    traffic: bool,
    target: &Target,
    p: &Printer,
) -> Result<i32> {
    let (plan, _, _) = ops::load_desired(plan_file)?;
    if plan.regions.iter().all(|r| r.cluster.is_none()) {
        bail!(
            "{} has no clusters: verify checks clusters and the mesh between them",
            plan_file.display()
        );
    }
    let state_path = state_path(plan_file, &plan, target)?;
    let ws = open(&state_path, "verify", &plan.project, true, target, p).await?;
    if !json {
        p.line("Verifying the mesh: reading the clusters, the firewall rules and the load balancers, and asking Connectivity Tests about every path...\n");
    }
    let report = ops::verify(&ws, &plan, traffic).await;
    ws.close().await;
    let report = report?;
    if json {
        p.out(&(serde_json::to_string_pretty(&report)? + "\n"));
    } else {
        p.out(&report.table());
    }
    Ok(if report.ok() { EXIT_OK } else { EXIT_ERROR })
}

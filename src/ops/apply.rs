//! Apply: walk a change set's steps in parallel and save state after every
//! resource. Apply makes no decisions: every action is in the change set.

use std::sync::Mutex;
use std::time::Duration;

use super::Workspace;
use crate::changeset::{Action, Change, ChangeSet, StateRef};
use crate::cloud::{Cloud, CloudError};
use crate::exec::{walk, Outcome, Step, StepKind, StepPlan, StepResult, WalkEvent, WalkOptions};
use crate::kinds::cluster::ClusterSpec;
use crate::kinds::{spec_of, ResourceKind};
use crate::kube::connection_key;
use crate::progress;
use crate::resource::outputs::{references, resolve};
use crate::resource::{Attrs, Ids, OutputRef, Outputs, Timeouts, Verb};
use crate::state::{SavedState, State, StateError, StateResource};

/// Apply could not start, or state could not be saved.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    /// The saved change set was planned against another state.
    #[error("saved plan is stale: it was planned against state serial {} of lineage {}, but the state is now serial {} of lineage {}\n  help: run `meshform plan` again and apply the new plan", planned.serial, planned.lineage, current.serial, current.lineage)]
    Stale {
        /// The state the plan was made against.
        planned: StateRef,
        /// The state now.
        current: StateRef,
    },
    /// The state file could not be written.
    #[error(transparent)]
    State(#[from] StateError),
}

/// What an apply did.
#[derive(Debug, Clone)]
pub struct ApplyReport {
    /// Every step and how it ended, in the order they ended.
    pub results: Vec<StepResult>,
    /// Whether an interrupt stopped the run early.
    pub interrupted: bool,
}

impl ApplyReport {
    /// Whether any step failed or did not run.
    pub fn failed(&self) -> bool {
        self.results.iter().any(|r| r.outcome != Outcome::Done)
    }

    /// Whether an interrupt stopped the run early.
    pub fn interrupted(&self) -> bool {
        self.interrupted
    }

    /// (added, changed, destroyed) resources, counted from completed steps.
    pub fn counts(&self) -> (usize, usize, usize) {
        let mut c = (0, 0, 0);
        for r in self.results.iter().filter(|r| r.outcome == Outcome::Done) {
            match (r.step.kind, r.step.action) {
                (StepKind::Apply, Action::Create | Action::Replace) => c.0 += 1,
                (StepKind::Apply, Action::Update) => c.1 += 1,
                (StepKind::Delete, _) => c.2 += 1,
                _ => {}
            }
        }
        c
    }
}

/// Applies `set` in `ws` as `options` say (parallelism, progress tick,
/// interrupt), saving state after every resource. `on_event` sees progress.
///
/// A failed resource stops only its dependants; independent branches go on.
/// Every step is bounded by its time limit from the change set. Re-running
/// after a crash, an interrupt or a timeout is safe: creates adopt what
/// already exists and operations still running are joined.
///
/// # Errors
/// [`ApplyError::Stale`] before anything runs when the state moved on since
/// planning; [`ApplyError::State`] when state cannot be saved.
pub async fn apply(
    ws: &mut Workspace,
    set: &ChangeSet,
    options: &WalkOptions,
    on_event: impl FnMut(WalkEvent<'_>),
) -> Result<ApplyReport, ApplyError> {
    let current = StateRef {
        lineage: ws.state.lineage.clone(),
        serial: ws.state.serial,
    };
    if current.serial == 0 && set.state.serial == 0 {
        // Neither plan nor apply had a state file: keep the plan's lineage.
        ws.state.lineage = set.state.lineage.clone();
    } else if current != set.state {
        return Err(ApplyError::Stale {
            planned: set.state.clone(),
            current,
        });
    }
    let steps = StepPlan::new(&set.changes);
    ws.connection
        .cloud
        .kube
        .set_connections(set.connections.clone());
    ws.state.connections = set.connections.clone();
    let shared = SavedState::new(&ws.store, std::mem::take(&mut ws.state));
    let save_error: Mutex<Option<StateError>> = Mutex::new(None);
    let cloud = &ws.connection.cloud;
    let run = |step: Step| {
        let change = &set.changes[step.change];
        let (shared, save_error) = (&shared, &save_error);
        async move {
            // Values known only after apply come from the outputs of the
            // dependencies that just finished.
            let after = match change.after.clone() {
                Some(mut after) => {
                    shared
                        .read(|state| {
                            resolve(&mut after, &|r: &OutputRef| {
                                state.get(&r.address)?.outputs.get(&r.output).cloned()
                            })
                        })
                        .await;
                    Some(after)
                }
                None => None,
            };
            let outcome = within_limit(
                &set.timeouts,
                &step,
                change,
                with_retries(|| run_step(cloud, &step, change, after.as_ref())),
            )
            .await?;
            let saved = shared
                .update(|state| record(state, &step, change, outcome))
                .await;
            if let Err(e) = saved {
                let message = format!("saving state: {e}");
                save_error.lock().expect("poisoned").get_or_insert(e);
                return Err(message);
            }
            Ok(())
        }
    };
    let results = walk(&steps, options, run, on_event).await;
    ws.state = shared.into_inner();
    forget_gone_clusters(&mut ws.state);
    if let Some(e) = save_error.into_inner().expect("poisoned") {
        return Err(e.into());
    }
    // Rendered objects and secret material nothing in state refers to any
    // more are dropped.
    let referenced = referenced_digests(&ws.state);
    if let Err(e) = ws.connection.cloud.objects.retain(&referenced) {
        tracing::warn!(error = %e, "could not clean the object store");
    }
    if !interrupted_or_failed(&results) {
        if let Err(e) = ws.connection.cloud.secrets.retain(&referenced).await {
            tracing::warn!(error = %e, "could not clean the secret store");
        }
    }
    Ok(ApplyReport {
        results,
        interrupted: options.interrupt.is_set(),
    })
}

/// The verb a step performs, for its time limit.
fn verb(step: &Step, c: &Change) -> Verb {
    match (step.kind, c.action) {
        (StepKind::Delete, _) => Verb::Delete,
        (StepKind::Apply, Action::Update | Action::NoOp) => Verb::Update,
        (StepKind::Apply, _) => Verb::Create,
    }
}

/// Runs `work` within the step's time limit. A step that runs out fails
/// with a message naming the limit, the last error its clients retried and
/// the operation still running, which the next run joins.
async fn within_limit<T>(
    timeouts: &Timeouts,
    step: &Step,
    c: &Change,
    work: impl std::future::Future<Output = Result<T, String>>,
) -> Result<T, String> {
    let verb = verb(step, c);
    let limit = timeouts.limit(c.address.kind, verb);
    match tokio::time::timeout(limit, work).await {
        Ok(result) => result,
        Err(_) => {
            let context = progress::current();
            let mut message = format!(
                "{verb} of {} did not finish within {}",
                c.address,
                timeouts.describe(c.address.kind, verb)
            );
            if let Some(e) = context.as_ref().and_then(|c| c.last_error()) {
                message.push_str(&format!("\n  last error: {e}"));
            }
            match context.as_ref().and_then(|c| c.operation()) {
                Some(op) => message.push_str(&format!(
                    "\n  operation {op} is still running in the cloud: run the same command again to join it"
                )),
                None => message.push_str("\n  help: run the same command again, or raise the limit in [timeouts]"),
            }
            Err(message)
        }
    }
}

/// Every `sha256:` string in the attributes of `state`'s resources.
fn referenced_digests(state: &State) -> std::collections::BTreeSet<String> {
    fn walk(v: &serde_json::Value, out: &mut std::collections::BTreeSet<String>) {
        match v {
            serde_json::Value::String(s) if s.starts_with("sha256:") => {
                out.insert(s.clone());
            }
            serde_json::Value::Array(items) => items.iter().for_each(|i| walk(i, out)),
            serde_json::Value::Object(map) => map.values().for_each(|i| walk(i, out)),
            _ => {}
        }
    }
    let mut out = std::collections::BTreeSet::new();
    for r in &state.resources {
        r.attributes.values().for_each(|v| walk(v, &mut out));
        r.outputs.values().for_each(|v| walk(v, &mut out));
    }
    out
}

/// Whether any step did not end well: then the secret store is left as it
/// is (material a failed step made may be needed by the next run).
fn interrupted_or_failed(results: &[crate::exec::StepResult]) -> bool {
    results
        .iter()
        .any(|r| !matches!(r.outcome, crate::exec::Outcome::Done))
}

/// Drops the connection settings of clusters state no longer has.
fn forget_gone_clusters(state: &mut State) {
    let clusters: Vec<String> = state
        .resources
        .iter()
        .filter(|r| r.address.kind == ResourceKind::Cluster)
        .filter_map(|r| spec_of::<ClusterSpec>(r.address.kind, &r.attributes).ok())
        .map(|c| connection_key(&c.location, &c.name))
        .collect();
    state.connections.retain(|key, _| clusters.contains(key));
}

/// What a step left in the cloud.
#[derive(Debug)]
enum Left {
    /// The resource exists with these ids, outputs and attributes.
    Exists(Ids, Outputs, Attrs),
    /// It is gone, or nothing was called.
    Nothing,
}

/// Retries a step whose operation failed transiently (rate limit, backend
/// error), up to three attempts with growing pauses.
async fn with_retries<F, Fut>(mut f: F) -> Result<Left, String>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<Left, CloudError>>,
{
    let mut pause = Duration::from_millis(500);
    for attempt in 1.. {
        match f().await {
            Ok(v) => return Ok(v),
            Err(e) if e.is_transient() && attempt < 3 => {
                progress::transient_error(&e);
                tokio::time::sleep(pause).await;
                pause *= 2;
            }
            Err(e) => return Err(e.to_string()),
        }
    }
    unreachable!("the loop returns")
}

/// Performs one step in the cloud with `after` (the change's attributes
/// with the outputs it refers to filled in).
async fn run_step(
    p: &Cloud,
    step: &Step,
    c: &Change,
    after: Option<&Attrs>,
) -> Result<Left, CloudError> {
    let empty = Attrs::default();
    let before = c.before.as_ref().unwrap_or(&empty);
    let resolved = || -> Result<&Attrs, CloudError> {
        let after = after.expect("creates and updates have attributes");
        match references(after).into_iter().next() {
            Some(unknown) => Err(CloudError::Unknown(unknown)),
            None => Ok(after),
        }
    };
    match (step.kind, c.action) {
        (StepKind::Delete, _) => p.delete(&c.address, before).await.map(|_| Left::Nothing),
        (StepKind::Apply, Action::Create | Action::Replace) => {
            let after = resolved()?;
            let applied = p.create(&c.address, after).await?;
            Ok(Left::Exists(applied.ids, applied.outputs, after.clone()))
        }
        (StepKind::Apply, Action::Update) => {
            let after = resolved()?;
            let applied = p.update(&c.address, before, after).await?;
            let ids = if applied.ids.id.is_some() {
                applied.ids
            } else {
                c.ids.clone()
            };
            Ok(Left::Exists(ids, applied.outputs, after.clone()))
        }
        (StepKind::Apply, _) => match after {
            Some(after) => Ok(Left::Exists(
                c.ids.clone(),
                c.outputs.clone(),
                after.clone(),
            )),
            None => Ok(Left::Nothing),
        },
    }
}

/// Writes the step's result into `state`; true when state changed.
fn record(state: &mut State, step: &Step, c: &Change, left: Left) -> bool {
    let entry = match (step.kind, left) {
        (StepKind::Apply, Left::Exists(ids, outputs, attributes)) => Some(StateResource {
            address: c.address.clone(),
            ids,
            attributes,
            dependencies: c.dependencies.clone(),
            outputs,
        }),
        _ => None,
    };
    if state.get(&c.address) == entry.as_ref() {
        return false;
    }
    match entry {
        Some(resource) => state.put(resource),
        None => state.remove(&c.address),
    }
    true
}

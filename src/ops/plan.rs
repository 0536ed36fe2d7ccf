//! Planning: plan file → desired resources → graph; state + refresh → diff →
//! change set.

use std::path::Path;
use std::time::{Duration, SystemTime};

use super::{refresh, Connection, TargetChoice};
use crate::changeset::{destroy_all, diff_at, ChangeSet, StateRef, CHANGE_SET_VERSION};
use crate::cloud::CloudError;
use crate::graph::{GraphError, ResourceGraph};
use crate::kube::Connections;
use crate::mesh::Generator;
use crate::plan::Plan;
use crate::resource::desired_mesh::wanted_root;
use crate::resource::roots::RootPlan;
use crate::resource::{desired_resources, desired_resources_with, DesiredResource, Timeouts};
use crate::state::{BucketObject, HeldLock, LockError, State, StateError, StateStore};

/// Why planning (or opening a workspace) failed.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    /// The plan file is invalid.
    #[error(transparent)]
    PlanFile(#[from] crate::plan::PlanError),
    /// The dependency graph is broken.
    #[error(transparent)]
    Graph(#[from] GraphError),
    /// The state file cannot be read or written.
    #[error(transparent)]
    State(#[from] StateError),
    /// The state is locked by someone else.
    #[error(transparent)]
    Lock(#[from] LockError),
    /// The state is locked by someone else, or its bucket unreachable
    /// (boxed: it is large).
    #[error(transparent)]
    Open(Box<crate::state::OpenError>),
    /// The cloud could not be read.
    #[error(transparent)]
    Cloud(#[from] CloudError),
    /// The plan has a mesh but nothing to render its control planes with.
    #[error("the plan has a [mesh] but no istioctl was located\n  help: this is a bug in meshform; please report it")]
    NoGenerator,
    /// A control plane could not be rendered (boxed: it is large).
    #[error(transparent)]
    Generator(Box<crate::mesh::GeneratorError>),
    /// The rendered objects could not be kept.
    #[error(transparent)]
    Objects(#[from] crate::state::ObjectError),
    /// The rendered manifest is not usable.
    #[error("rendering the control plane: {0}")]
    Render(String),
    /// The root CA changed without `--rotate-root`, or again mid-rotation.
    #[error("{source}\n  {phases}\n  help: to rotate, run `meshform apply --rotate-root` once per phase (`plan --rotate-root` shows the next one); to keep the current root, undo the change in [mesh.ca]", phases = super::mesh::ROTATION_PHASES)]
    Roots {
        /// What the roots are.
        #[from]
        source: crate::resource::roots::RootPlanError,
    },
    /// The plan would replace the mesh's root CA.
    #[error("{address} would be replaced ({why})\n  {phases}\n  help: meshform does not replace a root silently; to keep the current root, undo the change in [mesh.ca], or restore the secret store beside the state (<state>.secrets/) from a backup", phases = super::mesh::ROTATION_PHASES)]
    RootChange {
        /// The root CA's address.
        address: String,
        /// What changed.
        why: String,
    },
}

impl From<crate::state::OpenError> for PlanError {
    fn from(e: crate::state::OpenError) -> Self {
        PlanError::Open(Box::new(e))
    }
}

impl From<crate::mesh::GeneratorError> for PlanError {
    fn from(e: crate::mesh::GeneratorError) -> Self {
        PlanError::Generator(Box::new(e))
    }
}

/// Reads and validates the plan file and builds its resource graph; no I/O
/// beyond reading the file.
///
/// # Errors
/// Plan file diagnostics, or a graph error.
pub fn load_desired(path: &Path) -> Result<(Plan, Vec<DesiredResource>, ResourceGraph), PlanError> {
    let plan = crate::plan::load(path)?;
    let desired = desired_resources(&plan);
    let graph = ResourceGraph::build(desired.iter().map(|d| (&d.address, d.deps.as_slice())))?;
    Ok((plan, desired, graph))
}

/// A locked state with a connection to the cloud: what plan, apply and
/// destroy work in. The lock is released when it is dropped.
pub struct Workspace {
    /// The state store.
    pub store: StateStore,
    /// The state as loaded under the lock.
    pub state: State,
    /// The cloud.
    pub connection: Connection,
    lock: HeldLock,
}

impl Workspace {
    /// Locks the state at `state_path`, or in the bucket object `remote`
    /// with `state_path` as its local place (waiting up to `lock_timeout`,
    /// calling `on_wait` with the holder first), loads it, connects to `target`, and
    /// checks before anything is planned that the credentials work, the
    /// project exists and the APIs are enabled (the GKE API when
    /// `needs_container` or when state holds a cluster; Secret Manager,
    /// which holds the secrets of a state in a bucket, when `remote`).
    ///
    /// # Errors
    /// Lock held, state unreadable, no connection, or a failed check.
    #[allow(clippy::too_many_arguments)]
    pub async fn open(
        state_path: &Path,
        remote: Option<&BucketObject>,
        operation: &str,
        lock_timeout: Duration,
        on_wait: impl FnMut(String),
        project: &str,
        target: &TargetChoice,
        needs_container: bool,
    ) -> Result<Workspace, PlanError> {
        let (store, lock) =
            crate::state::lock(state_path, remote, operation, lock_timeout, on_wait).await?;
        let state = store.load().await?;
        let connection = Connection::open(project, target, state_path, remote).await?;
        let needs_container = needs_container
            || state
                .resources
                .iter()
                .any(|r| r.address.kind.api() == crate::kinds::Api::Gke);
        if let Err(e) = connection
            .cloud
            .gcp
            .preflight(needs_container, remote.is_some())
            .await
        {
            connection.close().await;
            lock.release().await;
            return Err(PlanError::Cloud(e.into()));
        }
        Ok(Workspace {
            store,
            state,
            connection,
            lock,
        })
    }

    /// Stops the embedded emulator, if any, then releases the lock.
    pub async fn close(self) {
        self.connection.close().await;
        self.lock.release().await;
    }

    fn state_ref(&self) -> StateRef {
        StateRef {
            lineage: self.state.lineage.clone(),
            serial: self.state.serial,
        }
    }
}

/// What planning takes from outside, so that the planner stays pure and
/// its tests fix them: the time (certificates expire) and what renders
/// Istio's control planes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanInputs {
    /// Now.
    pub now: SystemTime,
    /// What renders control planes (istioctl or the emulated stand-in);
    /// needed when the plan has a `[mesh]`.
    pub generator: Option<Generator>,
    /// Take the next phase of a root rotation (`--rotate-root`).
    pub rotate_root: bool,
}

impl PlanInputs {
    /// The inputs of a run starting now, without a mesh.
    pub fn now() -> Self {
        PlanInputs {
            now: SystemTime::now(),
            generator: None,
            rotate_root: false,
        }
    }

    /// The inputs of a run starting now that renders with `generator`.
    pub fn with_generator(generator: Option<Generator>) -> Self {
        PlanInputs {
            generator,
            ..Self::now()
        }
    }
}

/// How each cluster is reached: the plan file's settings over the state's
/// (which keep clusters the plan file no longer has reachable).
pub(super) fn connections(ws: &Workspace, plan: &Plan) -> Connections {
    let mut all = ws.state.connections.clone();
    all.extend(crate::resource::desired::connections(plan));
    all
}

/// Plans `desired` against the workspace: refreshes state resources from the
/// cloud (in parallel) and diffs. A plan with a `[mesh]` is planned again
/// from `plan` with the roots state calls for (a root rotation moves one
/// phase per apply), its control planes are rendered with
/// `inputs.generator`, and a root replaced without rotation is refused.
///
/// # Errors
/// A refresh read fails; a changed root without `inputs.rotate_root`; the
/// generator fails.
pub async fn plan(
    ws: &Workspace,
    plan_file: &Path,
    plan: &Plan,
    desired: &[DesiredResource],
    parallelism: usize,
    inputs: PlanInputs,
) -> Result<ChangeSet, PlanError> {
    let connections = connections(ws, plan);
    ws.connection
        .cloud
        .kube
        .set_connections(connections.clone());
    let cloud = &ws.connection.cloud;
    // The mesh's roots depend on state: a rotation moves one phase per apply.
    let roots = match &plan.mesh {
        Some(mesh) => Some(RootPlan::decide(
            &wanted_root(mesh),
            &ws.state,
            inputs.rotate_root,
        )?),
        None => None,
    };
    let mut desired = match &roots {
        Some(r) => desired_resources_with(plan, Some(r)),
        None => desired.to_vec(),
    };
    super::mesh::note_expiry(&mut desired, inputs.now);
    let desired =
        super::mesh::render_control_planes(&desired, inputs.generator.as_ref(), &cloud.objects)
            .await?;
    let live = refresh(cloud, &ws.state, parallelism).await?;
    let changes = diff_at(&desired, &ws.state, &live, Some(inputs.now));
    super::mesh::guard_root(&changes)?;
    Ok(ChangeSet {
        format_version: CHANGE_SET_VERSION,
        plan_file: plan_file.to_path_buf(),
        project: plan.project.clone(),
        state: ws.state_ref(),
        destroy: false,
        changes,
        timeouts: Timeouts::from_settings(&plan.timeouts),
        connections,
        planned_at: rfc3339(inputs.now),
        notes: roots.iter().filter_map(|r| r.note.clone()).collect(),
        after_apply: roots.iter().filter_map(|r| r.after_apply.clone()).collect(),
    })
}

/// Plans deleting everything in state, dependants first.
///
/// # Errors
/// A refresh read fails.
pub async fn plan_destroy(
    ws: &Workspace,
    plan_file: &Path,
    plan: &Plan,
    parallelism: usize,
    inputs: PlanInputs,
) -> Result<ChangeSet, PlanError> {
    let connections = connections(ws, plan);
    ws.connection
        .cloud
        .kube
        .set_connections(connections.clone());
    let live = refresh(&ws.connection.cloud, &ws.state, parallelism).await?;
    Ok(ChangeSet {
        format_version: CHANGE_SET_VERSION,
        plan_file: plan_file.to_path_buf(),
        project: plan.project.clone(),
        state: ws.state_ref(),
        destroy: true,
        changes: destroy_all(&ws.state, &live),
        timeouts: Timeouts::from_settings(&plan.timeouts),
        connections,
        planned_at: rfc3339(inputs.now),
        notes: Vec::new(),
        after_apply: Vec::new(),
    })
}

/// `time` as RFC 3339 in UTC, to the second.
fn rfc3339(time: SystemTime) -> String {
    humantime::format_rfc3339_seconds(time).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_planner_records_the_clock_it_was_given() {
        let inputs = PlanInputs {
            now: SystemTime::UNIX_EPOCH + Duration::from_secs(1_796_083_200),
            generator: None,
            rotate_root: false,
        };
        assert_eq!(rfc3339(inputs.now), "2026-12-01T00:00:00Z");
    }
}

//! The operations layer: what each command does, as library calls. The CLI
//! parses arguments, calls one of these and prints.

mod apply;
mod connect;
mod kubeconfig;
mod migrate;
mod plan;
mod refresh;
mod verify;

pub mod mesh;

pub use apply::{apply, ApplyError, ApplyReport};
pub use connect::{Connection, EmulatorSettings, TargetChoice};
pub use kubeconfig::kubeconfig;
pub use migrate::{migrate, MigrateError, MigrateReport, StateEnd};
pub use plan::{load_desired, plan, plan_destroy, PlanError, PlanInputs, Workspace};
pub use refresh::refresh;
pub use verify::verify;

use std::path::{Path, PathBuf};

/// The default state file of a plan file: `state/<plan file stem>.json`.
pub fn default_state_path(plan_file: &Path) -> PathBuf {
    let stem = plan_file.file_stem().unwrap_or_default().to_string_lossy();
    PathBuf::from("state").join(format!("{stem}.json"))
}

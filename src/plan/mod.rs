//! The plan file: its typed model ([`model`]), and reading it with every problem
//! reported at file:line:column ([`load`], [`parse`]).
//!
//! Reading goes TOML syntax → shape (`schema` checked by `shape`: unknown keys,
//! missing fields, types, enum values) → typed sections → semantic checks
//! (`validate`: names, CIDRs, overlaps, duplicates, NAT, firewall rules).
//! Nothing here touches the cloud.

use std::io;
use std::path::{Path, PathBuf};

pub mod authorized;
pub mod diagnostic;
pub mod firewall_spec;
pub mod mesh;
pub mod model;
pub mod names;
mod parse;
mod schema;
mod shape;
mod spans;
mod suggest;
mod validate;

pub use diagnostic::{Diagnostic, Diagnostics};
pub use firewall_spec::port_specs;
pub use mesh::{ClusterMesh, KeyType, Mesh, MeshCa, Samples};
pub use model::*;

/// Why a plan file could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    /// The file could not be read.
    #[error("cannot read plan file {}", path.display())]
    Read {
        /// The plan file.
        path: PathBuf,
        /// The underlying I/O error.
        #[source]
        source: io::Error,
    },
    /// The file was read but has problems; every one found is listed.
    #[error("{0}")]
    Invalid(Diagnostics),
}

/// Reads and validates a plan file. Nothing touches the cloud.
///
/// # Errors
///
/// [`PlanError::Read`] if the file cannot be read (or is not UTF-8);
/// [`PlanError::Invalid`] with every problem found otherwise (a TOML syntax
/// error stops the check at that one error).
pub fn load(path: &Path) -> Result<Plan, PlanError> {
    let text = std::fs::read_to_string(path).map_err(|source| PlanError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    parse(path, &text)
}

/// Same as [`load`], from text; `path` is only used in messages.
///
/// # Errors
///
/// [`PlanError::Invalid`] with every problem found.
pub fn parse(path: &Path, text: &str) -> Result<Plan, PlanError> {
    parse::parse(path, text)
}

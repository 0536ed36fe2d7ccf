//! The state file: JSON with version, serial and lineage, written atomically
//! with a backup of the previous version, mode 0600.

use serde::{Deserialize, Serialize};
use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use crate::address::Address;
use crate::kube::Connections;
use crate::resource::{Attrs, Ids, Outputs};

/// The state file format version this build writes and reads.
pub const STATE_VERSION: u32 = 1;

/// What meshform last applied.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct State {
    /// Format version ([`STATE_VERSION`]).
    pub version: u32,
    /// Increases by one on every write.
    pub serial: u64,
    /// Random id given when the state was first created; it never changes.
    pub lineage: String,
    /// Resources in the order they were applied.
    pub resources: Vec<StateResource>,
    /// How each cluster's Kubernetes API is reached, as last applied: a
    /// destroy reaches clusters the plan file no longer has.
    #[serde(default, skip_serializing_if = "Connections::is_empty")]
    pub connections: Connections,
}

/// One applied resource.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StateResource {
    /// Its address.
    pub address: Address,
    /// What the cloud called it.
    pub ids: Ids,
    /// The attributes meshform set.
    pub attributes: Attrs,
    /// What it depended on when applied (destroy walks these in reverse).
    pub dependencies: Vec<Address>,
    /// What it produced (an endpoint, a CA digest) for others to consume.
    #[serde(default, skip_serializing_if = "Outputs::is_empty")]
    pub outputs: Outputs,
}

impl State {
    /// An empty state with a fresh lineage.
    pub fn new() -> Self {
        State {
            version: STATE_VERSION,
            serial: 0,
            lineage: new_lineage(),
            resources: vec![],
            connections: Connections::new(),
        }
    }

    /// The resource at `address`, if any.
    pub fn get(&self, address: &Address) -> Option<&StateResource> {
        self.resources.iter().find(|r| &r.address == address)
    }

    /// Inserts or replaces the resource at its address.
    pub fn put(&mut self, resource: StateResource) {
        match self
            .resources
            .iter_mut()
            .find(|r| r.address == resource.address)
        {
            Some(slot) => *slot = resource,
            None => self.resources.push(resource),
        }
    }

    /// Drops the resource at `address`.
    pub fn remove(&mut self, address: &Address) {
        self.resources.retain(|r| &r.address != address);
    }
}

impl Default for State {
    fn default() -> Self {
        State::new()
    }
}

fn new_lineage() -> String {
    let bytes: [u8; 16] = rand::random();
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// Errors reading or writing the state file.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// The file could not be read or written.
    #[error("state file {path}: {source}")]
    Io {
        /// The state file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not a meshform state file.
    #[error("state file {path} is not valid meshform state: {source}\n  help: restore it from {path}.backup, or move it away to start from empty state")]
    Corrupt {
        /// The state file.
        path: PathBuf,
        /// The JSON error.
        #[source]
        source: serde_json::Error,
    },
    /// Written by a newer meshform.
    #[error("state file {path} has format version {found}; this meshform reads version {STATE_VERSION}\n  help: use the meshform release that wrote it")]
    Version {
        /// The state file.
        path: PathBuf,
        /// The version in the file.
        found: u32,
    },
}

/// Where state lives on disk; loads and saves it.
#[derive(Debug, Clone)]
pub struct StateStore {
    path: PathBuf,
}

impl StateStore {
    /// A store for the state file at `path` (which need not exist yet).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        StateStore { path: path.into() }
    }

    /// The state file path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The state on disk, or a new empty state when there is no file.
    ///
    /// # Errors
    /// I/O errors, a file that is not state, or a newer format version.
    pub fn load(&self) -> Result<State, StateError> {
        let text = match fs::read_to_string(&self.path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(State::new()),
            Err(source) => return Err(self.io(source)),
        };
        let state: State = serde_json::from_str(&text).map_err(|source| StateError::Corrupt {
            path: self.path.clone(),
            source,
        })?;
        if state.version != STATE_VERSION {
            return Err(StateError::Version {
                path: self.path.clone(),
                found: state.version,
            });
        }
        Ok(state)
    }

    /// Bumps `state.serial` and writes it atomically: the previous file is
    /// kept as `PATH.backup`, the new one goes to a temporary file that is
    /// fsynced and renamed over the old one. Files are mode 0600.
    ///
    /// # Errors
    /// I/O errors; the previous state file is then left as it was.
    pub fn save(&self, state: &mut State) -> Result<(), StateError> {
        state.serial += 1;
        let mut json = serde_json::to_string_pretty(state).expect("state serializes");
        json.push('\n');
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            fs::create_dir_all(dir).map_err(|e| self.io(e))?;
        }
        if self.path.exists() {
            let backup = self.sibling("backup");
            let _ = fs::remove_file(&backup);
            fs::hard_link(&self.path, &backup)
                .or_else(|_| fs::copy(&self.path, &backup).map(|_| ()))
                .map_err(|e| self.io(e))?;
        }
        let tmp = self.sibling("tmp");
        write_private(&tmp, json.as_bytes()).map_err(|e| self.io(e))?;
        fs::rename(&tmp, &self.path).map_err(|e| self.io(e))?;
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            if let Ok(d) = fs::File::open(dir) {
                let _ = d.sync_all();
            }
        }
        Ok(())
    }

    fn sibling(&self, ext: &str) -> PathBuf {
        let mut name = self.path.file_name().unwrap_or_default().to_os_string();
        name.push(".");
        name.push(ext);
        self.path.with_file_name(name)
    }

    fn io(&self, source: std::io::Error) -> StateError {
        StateError::Io {
            path: self.path.clone(),
            source,
        }
    }
}

/// Writes `bytes` to a new file of mode 0600 and fsyncs it.
pub fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut f = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn missing_file_loads_as_empty_state_with_a_lineage() {
        let dir = tempfile::tempdir().unwrap();
        let s = StateStore::new(dir.path().join("x.json")).load().unwrap();
        assert_eq!(s.serial, 0);
        assert_eq!(s.lineage.len(), 36);
        assert!(s.resources.is_empty());
    }

    #[test]
    fn save_bumps_serial_keeps_a_backup_and_is_private() {
        let dir = tempfile::tempdir().unwrap();
        let store = StateStore::new(dir.path().join("sub/x.json"));
        let mut s = State::new();
        store.save(&mut s).unwrap();
        store.save(&mut s).unwrap();
        let loaded = store.load().unwrap();
        assert_eq!(loaded.serial, 2);
        assert_eq!(loaded.lineage, s.lineage);
        let backup: State = serde_json::from_str(
            &fs::read_to_string(dir.path().join("sub/x.json.backup")).unwrap(),
        )
        .unwrap();
        assert_eq!(backup.serial, 1);
        let mode = fs::metadata(store.path()).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }

    #[test]
    fn corrupt_file_says_how_to_recover() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.json");
        fs::write(&path, "{not json").unwrap();
        let err = StateStore::new(&path).load().unwrap_err().to_string();
        assert!(err.contains("is not valid meshform state"), "{err}");
        assert!(err.contains("x.json.backup"), "{err}");
    }
}

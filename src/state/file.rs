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
    #[error("state {path} is not valid meshform state: {source}\n  help: restore it from {path}.backup (or, in a bucket, an older generation: `gcloud storage ls -a {path}`), or move it away to start from empty state")]
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
    /// Another writer saved the state object since meshform read it.
    #[error("{source}: meshform did not overwrite it\n  the state this run would have written is kept in {kept} (mode 0600), nothing is lost\n  help: another meshform wrote the state although this one held the lock (a lock removed with force-unlock while it ran?); run `meshform plan` to see where things stand, and compare with {kept}")]
    Conflict {
        /// The bucket's answer.
        #[source]
        source: super::bucket::BucketError,
        /// Where the unsaved state was written instead.
        kept: PathBuf,
    },
    /// The bucket could not be read or written.
    #[error(transparent)]
    Bucket(#[from] super::bucket::BucketError),
}

/// Where a state is kept: a file, or an object in a bucket with the
/// generation meshform last read or wrote.
#[derive(Debug)]
enum Backend {
    File,
    Bucket(Box<InBucket>),
}

/// A state object and the generation meshform last read or wrote.
#[derive(Debug)]
struct InBucket {
    bucket: super::bucket::Bucket,
    object: super::location::BucketObject,
    generation: std::sync::Mutex<i64>,
}

/// Where state lives; loads and saves it. For state in a bucket, `path`
/// is the local place of what lives beside it (the rendered objects, the
/// embedded emulator's world) and of a state that could not be saved.
#[derive(Debug)]
pub struct StateStore {
    path: PathBuf,
    backend: Backend,
}

impl StateStore {
    /// A store for the state file at `path` (which need not exist yet).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        StateStore {
            path: path.into(),
            backend: Backend::File,
        }
    }

    /// A store for the state object `object` of `bucket`, with `path` the
    /// local place beside it.
    pub fn in_bucket(
        bucket: super::bucket::Bucket,
        object: super::location::BucketObject,
        path: impl Into<PathBuf>,
    ) -> Self {
        StateStore {
            path: path.into(),
            backend: Backend::Bucket(Box::new(InBucket {
                bucket,
                object,
                generation: std::sync::Mutex::new(0),
            })),
        }
    }

    /// The state file path (for a bucket: the local place beside it).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Where the state is, for people: a path or `gs://…`.
    pub fn location(&self) -> String {
        match &self.backend {
            Backend::File => self.path.display().to_string(),
            Backend::Bucket(b) => b.object.to_string(),
        }
    }

    /// The state, or a new empty state when there is none.
    ///
    /// # Errors
    /// I/O or bucket errors, a file that is not state, or a newer format version.
    pub async fn load(&self) -> Result<State, StateError> {
        let text = match &self.backend {
            Backend::File => match fs::read_to_string(&self.path) {
                Ok(t) => t,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(State::new()),
                Err(source) => return Err(self.io(source)),
            },
            Backend::Bucket(b) => match b.bucket.read(&b.object).await? {
                Some((bytes, g)) => {
                    *b.generation.lock().expect("poisoned") = g;
                    String::from_utf8_lossy(&bytes).into_owned()
                }
                None => {
                    *b.generation.lock().expect("poisoned") = 0;
                    return Ok(State::new());
                }
            },
        };
        let shown = PathBuf::from(self.location());
        let state: State = serde_json::from_str(&text).map_err(|source| StateError::Corrupt {
            path: shown.clone(),
            source,
        })?;
        if state.version != STATE_VERSION {
            return Err(StateError::Version {
                path: shown,
                found: state.version,
            });
        }
        Ok(state)
    }

    /// The state's bytes exactly as stored; `None` when there is none.
    ///
    /// # Errors
    /// I/O or bucket errors.
    pub async fn read_bytes(&self) -> Result<Option<Vec<u8>>, StateError> {
        match &self.backend {
            Backend::File => match fs::read(&self.path) {
                Ok(bytes) => Ok(Some(bytes)),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(source) => Err(self.io(source)),
            },
            Backend::Bucket(b) => {
                let read = b.bucket.read(&b.object).await?;
                *b.generation.lock().expect("poisoned") = read.as_ref().map_or(0, |(_, g)| *g);
                Ok(read.map(|(bytes, _)| bytes))
            }
        }
    }

    /// Removes the state (a file with its backup; an object only if it is
    /// still the generation meshform last read). Gone already is fine.
    ///
    /// # Errors
    /// I/O or bucket errors; [`super::BucketError::Conflict`] when another
    /// writer saved the object since.
    pub async fn remove(&self) -> Result<(), StateError> {
        match &self.backend {
            Backend::File => {
                for path in [self.path.clone(), self.sibling("backup")] {
                    match fs::remove_file(&path) {
                        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                            return Err(self.io(e))
                        }
                        _ => {}
                    }
                }
                Ok(())
            }
            Backend::Bucket(b) => {
                let generation = *b.generation.lock().expect("poisoned");
                Ok(b.bucket.delete(&b.object, generation).await?)
            }
        }
    }

    /// Bumps `state.serial` and writes it. A file is written atomically:
    /// the previous file is kept as `PATH.backup`, the new one goes to a
    /// temporary file that is fsynced and renamed over the old one; files
    /// are mode 0600. An object is written only if its generation is still
    /// the one meshform last read or wrote (a write is atomic in Cloud
    /// Storage; with versioning the bucket keeps the previous generation).
    ///
    /// # Errors
    /// I/O or bucket errors; the previous state is then left as it was. A
    /// lost race is [`StateError::Conflict`], the unsaved state kept locally.
    pub async fn save(&self, state: &mut State) -> Result<(), StateError> {
        let json = Self::prepare(state);
        self.write(&json, state.serial).await
    }

    /// Bumps `state.serial` and returns the text [`StateStore::write`] saves.
    pub fn prepare(state: &mut State) -> String {
        state.serial += 1;
        let mut json = serde_json::to_string_pretty(state).expect("state serializes");
        json.push('\n');
        json
    }

    /// Saves `json`, a state of serial `serial` made by
    /// [`StateStore::prepare`], as [`StateStore::save`] does.
    ///
    /// # Errors
    /// As [`StateStore::save`].
    pub async fn write(&self, json: &str, serial: u64) -> Result<(), StateError> {
        let json = json.to_string();
        let Backend::Bucket(b) = &self.backend else {
            return self.save_file(&json);
        };
        let expected = *b.generation.lock().expect("poisoned");
        match b.bucket.write(&b.object, json.clone(), expected).await {
            Ok(g) => {
                *b.generation.lock().expect("poisoned") = g;
                Ok(())
            }
            Err(source @ super::bucket::BucketError::Conflict { .. }) => {
                let kept = self.sibling(&format!("unsaved-{serial}"));
                if let Some(dir) = kept.parent().filter(|d| !d.as_os_str().is_empty()) {
                    fs::create_dir_all(dir).map_err(|e| self.io(e))?;
                }
                write_private(&kept, json.as_bytes()).map_err(|e| self.io(e))?;
                Err(StateError::Conflict { source, kept })
            }
            Err(e) => Err(e.into()),
        }
    }

    fn save_file(&self, json: &str) -> Result<(), StateError> {
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

    #[tokio::test]
    async fn missing_file_loads_as_empty_state_with_a_lineage() {
        let dir = tempfile::tempdir().unwrap();
        let s = StateStore::new(dir.path().join("x.json"))
            .load()
            .await
            .unwrap();
        assert_eq!(s.serial, 0);
        assert_eq!(s.lineage.len(), 36);
        assert!(s.resources.is_empty());
    }

    #[tokio::test]
    async fn save_bumps_serial_keeps_a_backup_and_is_private() {
        let dir = tempfile::tempdir().unwrap();
        let store = StateStore::new(dir.path().join("sub/x.json"));
        let mut s = State::new();
        store.save(&mut s).await.unwrap();
        store.save(&mut s).await.unwrap();
        let loaded = store.load().await.unwrap();
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

    #[tokio::test]
    async fn corrupt_file_says_how_to_recover() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.json");
        fs::write(&path, "{not json").unwrap();
        let err = StateStore::new(&path).load().await.unwrap_err().to_string();
        assert!(err.contains("is not valid meshform state"), "{err}");
        assert!(err.contains("x.json.backup"), "{err}");
    }
}

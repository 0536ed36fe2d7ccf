//! The object store: Kubernetes objects a plan rendered (Istio's manifests),
//! kept by digest in `<state file>.objects/` so that apply sends exactly
//! what plan showed, and a saved plan applies without rendering again.
//! The objects are not secret (no key material is ever rendered into them).

use std::fs;
use std::path::{Path, PathBuf};

/// Where one state's rendered objects live.
#[derive(Debug, Clone)]
pub struct ObjectStore {
    dir: PathBuf,
}

/// Reading or writing the object store failed.
#[derive(Debug, thiserror::Error)]
pub enum ObjectError {
    /// I/O.
    #[error("object store {}: {source}", dir.display())]
    Io {
        /// The store's folder.
        dir: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// No object with this digest.
    #[error("object store {} has no object {digest}\n  help: run `meshform plan` again to render it", dir.display())]
    Missing {
        /// The store's folder.
        dir: PathBuf,
        /// The digest.
        digest: String,
    },
}

impl ObjectStore {
    /// The store of the state file at `state_path`.
    pub fn beside(state_path: &Path) -> ObjectStore {
        let mut name = state_path.file_name().unwrap_or_default().to_os_string();
        name.push(".objects");
        ObjectStore {
            dir: state_path.with_file_name(name),
        }
    }

    /// The digest of `object` (its canonical JSON).
    pub fn digest_of(object: &serde_json::Value) -> String {
        crate::mesh::manifest::object_digest(object)
    }

    fn path(&self, digest: &str) -> PathBuf {
        let hex = digest.strip_prefix("sha256:").unwrap_or(digest);
        self.dir.join(format!("{hex}.json"))
    }

    /// Keeps `object` (once per digest) and returns its digest.
    ///
    /// # Errors
    /// The store cannot be written.
    pub fn put(&self, object: &serde_json::Value) -> Result<String, ObjectError> {
        let digest = Self::digest_of(object);
        let path = self.path(&digest);
        if !path.exists() {
            let io = |source| ObjectError::Io {
                dir: self.dir.clone(),
                source,
            };
            fs::create_dir_all(&self.dir).map_err(io)?;
            let tmp = path.with_extension("tmp");
            fs::write(&tmp, object.to_string()).map_err(io)?;
            fs::rename(&tmp, &path).map_err(io)?;
        }
        Ok(digest)
    }

    /// The object with `digest`.
    ///
    /// # Errors
    /// [`ObjectError::Missing`] when it was never kept here.
    pub fn get(&self, digest: &str) -> Result<serde_json::Value, ObjectError> {
        let missing = || ObjectError::Missing {
            dir: self.dir.clone(),
            digest: digest.to_string(),
        };
        let bytes = fs::read(self.path(digest)).map_err(|_| missing())?;
        serde_json::from_slice(&bytes).map_err(|_| missing())
    }
}

impl ObjectStore {
    /// Removes every object whose digest is not in `keep`, and the folder
    /// when nothing is left.
    ///
    /// # Errors
    /// The folder cannot be read or changed.
    pub fn retain(&self, keep: &std::collections::BTreeSet<String>) -> Result<(), ObjectError> {
        let io = |source| ObjectError::Io {
            dir: self.dir.clone(),
            source,
        };
        let entries = match fs::read_dir(&self.dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(io(e)),
        };
        for entry in entries {
            let path = entry.map_err(io)?.path();
            let hex = path
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or_default();
            if !keep.contains(&format!("sha256:{hex}")) {
                fs::remove_file(&path).map_err(io)?;
            }
        }
        if fs::read_dir(&self.dir).map_err(io)?.next().is_none() {
            fs::remove_dir(&self.dir).map_err(io)?;
        }
        Ok(())
    }
}

impl ObjectStore {
    /// Copies every object to `other` (what it has already stays).
    ///
    /// # Errors
    /// A folder cannot be read or written.
    pub fn copy_to(&self, other: &ObjectStore) -> Result<(), ObjectError> {
        if self.dir == other.dir {
            return Ok(());
        }
        let entries = match fs::read_dir(&self.dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(source) => {
                return Err(ObjectError::Io {
                    dir: self.dir.clone(),
                    source,
                })
            }
        };
        for entry in entries {
            let path = entry
                .map_err(|source| ObjectError::Io {
                    dir: self.dir.clone(),
                    source,
                })?
                .path();
            if path.extension().is_some_and(|e| e == "json") {
                if let Ok(object) = self.get(&format!(
                    "sha256:{}",
                    path.file_stem()
                        .and_then(|s| s.to_str())
                        .unwrap_or_default()
                )) {
                    other.put(&object)?;
                }
            }
        }
        Ok(())
    }

    /// Removes every object and the folder.
    ///
    /// # Errors
    /// The folder cannot be read or changed.
    pub fn remove_all(&self) -> Result<(), ObjectError> {
        self.retain(&std::collections::BTreeSet::new())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objects_are_found_by_their_digest() {
        let dir = tempfile::tempdir().unwrap();
        let store = ObjectStore::beside(&dir.path().join("s.json"));
        let object = serde_json::json!({"kind": "ConfigMap", "metadata": {"name": "istio"}});
        let d = store.put(&object).unwrap();
        assert_eq!(d, ObjectStore::digest_of(&object));
        assert_eq!(store.get(&d).unwrap(), object);
        assert!(matches!(
            store.get("sha256:00"),
            Err(ObjectError::Missing { .. })
        ));
    }
}

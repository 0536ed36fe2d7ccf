//! The secret store of a local state: sensitive material in files beside
//! the state (`<state file>.secrets/`, directory 0700, one file per value,
//! 0600), named by the material's digest.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use super::secrets::{Exported, SecretError};
use super::write_private;
use crate::resource::{Material, Sensitive};

/// Where one local state's secret material lives.
#[derive(Debug, Clone)]
pub struct FileSecrets {
    dir: PathBuf,
}

impl FileSecrets {
    /// The store of the state file at `state_path`.
    pub fn beside(state_path: &Path) -> FileSecrets {
        let mut name = state_path.file_name().unwrap_or_default().to_os_string();
        name.push(".secrets");
        FileSecrets {
            dir: state_path.with_file_name(name),
        }
    }

    /// Its directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn io(&self) -> impl FnOnce(std::io::Error) -> SecretError + '_ {
        move |source| SecretError::Io {
            dir: self.dir.clone(),
            source,
        }
    }

    /// Keeps `material` (once per digest) and returns its reference.
    ///
    /// # Errors
    /// The store cannot be written.
    pub fn put(&self, material: &Material) -> Result<Sensitive, SecretError> {
        let reference = material.reference();
        self.private_dir(&self.dir)?;
        let path = self.dir.join(reference.hex());
        if !path.exists() {
            // Whole or not at all: a file named by a digest is never torn.
            let tmp = path.with_extension("tmp");
            write_private(&tmp, &material.0).map_err(self.io())?;
            fs::rename(&tmp, &path).map_err(self.io())?;
        }
        Ok(reference)
    }

    /// The material of `reference`.
    ///
    /// # Errors
    /// [`SecretError::Missing`] when it was never stored here.
    pub fn get(&self, reference: &Sensitive) -> Result<Material, SecretError> {
        match fs::read(self.dir.join(reference.hex())) {
            Ok(bytes) => Ok(Material(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(SecretError::Missing {
                store: self.dir.display().to_string(),
                reference: reference.clone(),
            }),
            Err(e) => Err(self.io()(e)),
        }
    }

    /// Forgets the material of `reference` (gone already is fine).
    ///
    /// # Errors
    /// The file cannot be removed.
    pub fn remove(&self, reference: &Sensitive) -> Result<(), SecretError> {
        remove_file(&self.dir.join(reference.hex())).map_err(self.io())?;
        self.tidy();
        Ok(())
    }

    /// Forgets every material whose reference is not in `keep` (what state
    /// still refers to): a token whose cluster went, a key of a CA that was
    /// replaced. Entries are kept; they go with their resources.
    ///
    /// # Errors
    /// The store cannot be read or a file cannot be removed.
    pub fn retain(&self, keep: &std::collections::BTreeSet<String>) -> Result<(), SecretError> {
        for (path, hex) in self.files(&self.dir)? {
            if !keep.contains(&format!("sha256:{hex}")) {
                remove_file(&path).map_err(self.io())?;
            }
        }
        self.tidy();
        Ok(())
    }

    /// Removes the store's folders once they are empty: a destroyed
    /// environment leaves no trace beside its state.
    fn tidy(&self) {
        // Fails (and is meant to) while anything is left in them.
        let _ = fs::remove_dir(self.dir.join("entries"));
        let _ = fs::remove_dir(&self.dir);
    }

    /// Creates `dir` if needed, readable by its owner only (0700).
    fn private_dir(&self, dir: &Path) -> Result<(), SecretError> {
        fs::create_dir_all(dir).map_err(self.io())?;
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700)).map_err(self.io())
    }

    fn entry(&self, name: &str) -> PathBuf {
        self.dir.join("entries").join(format!("{name}.json"))
    }

    /// Keeps `value` under `name` (replacing what was there), atomically and
    /// privately: what a local resource (a CA) is, as its read finds it.
    ///
    /// # Errors
    /// The store cannot be written.
    pub fn put_entry(&self, name: &str, value: &serde_json::Value) -> Result<(), SecretError> {
        let path = self.entry(name);
        self.private_dir(&self.dir)?;
        self.private_dir(path.parent().expect("entries have a folder"))?;
        let tmp = path.with_extension("json.tmp");
        let bytes = serde_json::to_vec_pretty(value).expect("JSON values serialize");
        write_private(&tmp, &bytes).map_err(self.io())?;
        fs::rename(&tmp, &path).map_err(self.io())
    }

    /// The value kept under `name`, if any.
    ///
    /// # Errors
    /// The store cannot be read, or the entry is not JSON.
    pub fn get_entry(&self, name: &str) -> Result<Option<serde_json::Value>, SecretError> {
        match fs::read(self.entry(name)) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| self.io()(std::io::Error::new(std::io::ErrorKind::InvalidData, e))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(self.io()(e)),
        }
    }

    /// Forgets the entry `name` (gone already is fine).
    ///
    /// # Errors
    /// The file cannot be removed.
    pub fn remove_entry(&self, name: &str) -> Result<(), SecretError> {
        remove_file(&self.entry(name)).map_err(self.io())?;
        self.tidy();
        Ok(())
    }
}

impl FileSecrets {
    /// Every value and entry it holds, to move them elsewhere.
    ///
    /// # Errors
    /// The store cannot be read.
    pub fn export(&self) -> Result<Exported, SecretError> {
        let mut out = Exported::default();
        for (path, name) in self.files(&self.dir)? {
            if !name.ends_with(".tmp") {
                out.values
                    .push(Material(fs::read(&path).map_err(self.io())?));
            }
        }
        for (_, name) in self.files(&self.dir.join("entries"))? {
            if let Some(name) = name.strip_suffix(".json") {
                if let Some(value) = self.get_entry(name)? {
                    out.entries.insert(name.to_string(), value);
                }
            }
        }
        Ok(out)
    }

    /// The files (not folders) in `dir`, with their names.
    fn files(&self, dir: &Path) -> Result<Vec<(PathBuf, String)>, SecretError> {
        let entries = match fs::read_dir(dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(self.io()(e)),
        };
        let mut files = Vec::new();
        for entry in entries {
            let path = entry.map_err(self.io())?.path();
            let name = path
                .file_name()
                .and_then(|s| s.to_str())
                .unwrap_or_default()
                .to_string();
            if path.is_file() {
                files.push((path, name));
            }
        }
        files.sort();
        Ok(files)
    }
}

fn remove_file(path: &Path) -> std::io::Result<()> {
    match fs::remove_file(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn material_is_kept_private_and_found_by_its_reference() {
        let dir = tempfile::tempdir().unwrap();
        let store = FileSecrets::beside(&dir.path().join("mesh.json"));
        let material = Material(b"-----BEGIN PRIVATE KEY-----planted".to_vec());
        let reference = store.put(&material).unwrap();
        assert_eq!(store.get(&reference).unwrap(), material);
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(store.dir()), 0o700);
        assert_eq!(mode(&store.dir().join(reference.hex())), 0o600);
        assert!(!format!("{reference} {reference:?} {material:?}").contains("planted"));
        store.remove(&reference).unwrap();
        assert!(store.get(&reference).is_err());
        store
            .put_entry("root", &serde_json::json!({"a": 1}))
            .unwrap();
        assert_eq!(store.get_entry("root").unwrap().unwrap()["a"], 1);
        assert_eq!(mode(&store.dir().join("entries/root.json")), 0o600);
        store.remove_entry("root").unwrap();
        assert_eq!(store.get_entry("root").unwrap(), None);
        assert!(!store.dir().exists(), "an empty store leaves no folder");
        let other = Sensitive::of(b"never stored");
        assert!(matches!(
            store.get(&other),
            Err(SecretError::Missing { .. })
        ));
    }
}

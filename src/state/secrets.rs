//! The secret store: sensitive material in files beside the state
//! (`<state file>.secrets/`, directory 0700, one file per value, 0600),
//! named by the material's digest. State, saved plans and plan output hold
//! only [`Sensitive`] references; a changed secret is still seen as drift
//! because its digest changes.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use super::write_private;
use crate::resource::{Material, Sensitive};

/// Where one state's secret material lives.
#[derive(Debug, Clone)]
pub struct SecretStore {
    dir: PathBuf,
}

/// The material of a reference is not in the store.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    /// Reading or writing the store failed.
    #[error("secret store {}: {source}", dir.display())]
    Io {
        /// The store's directory.
        dir: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// No material for this digest.
    #[error("secret store {} has no value {reference}\n  help: run `meshform plan` again so that meshform stores it", dir.display())]
    Missing {
        /// The store's directory.
        dir: PathBuf,
        /// The missing reference.
        reference: Sensitive,
    },
}

impl SecretStore {
    /// The store of the state file at `state_path`.
    pub fn beside(state_path: &Path) -> SecretStore {
        let mut name = state_path.file_name().unwrap_or_default().to_os_string();
        name.push(".secrets");
        SecretStore {
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
        fs::create_dir_all(&self.dir).map_err(self.io())?;
        fs::set_permissions(&self.dir, fs::Permissions::from_mode(0o700)).map_err(self.io())?;
        let path = self.dir.join(reference.hex());
        if !path.exists() {
            write_private(&path, &material.0).map_err(self.io())?;
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
                dir: self.dir.clone(),
                reference: reference.clone(),
            }),
            Err(e) => Err(self.io()(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn material_is_kept_private_and_found_by_its_reference() {
        let dir = tempfile::tempdir().unwrap();
        let store = SecretStore::beside(&dir.path().join("mesh.json"));
        let material = Material(b"-----BEGIN PRIVATE KEY-----planted".to_vec());
        let reference = store.put(&material).unwrap();
        assert_eq!(store.get(&reference).unwrap(), material);
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(store.dir()), 0o700);
        assert_eq!(mode(&store.dir().join(reference.hex())), 0o600);
        assert!(!format!("{reference} {reference:?} {material:?}").contains("planted"));
        let other = Sensitive::of(b"never stored");
        assert!(matches!(
            store.get(&other),
            Err(SecretError::Missing { .. })
        ));
    }
}

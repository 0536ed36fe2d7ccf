//! The secret store: where a state's sensitive material lives. State,
//! saved plans and plan output hold only [`Sensitive`] references (the
//! material's digest); a changed secret is still seen as drift because its
//! digest changes.
//!
//! - A local state keeps its material in files beside it (`secret_files.rs`).
//! - A state in a bucket keeps it in Secret Manager (`secret_manager.rs`), so
//!   that every machine allowed to read the state can plan and apply.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use super::secret_files::FileSecrets;
use super::secret_manager::ManagerSecrets;
use crate::resource::{Material, Sensitive};

/// Where one state's secret material lives.
#[derive(Debug, Clone)]
pub enum SecretStore {
    /// Files beside a local state.
    Files(FileSecrets),
    /// Secret Manager, for a state in a bucket.
    Manager(ManagerSecrets),
}

/// Reading or writing the secret store failed.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    /// Reading or writing the files failed.
    #[error("secret store {}: {source}", dir.display())]
    Io {
        /// The store's directory.
        dir: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// Secret Manager refused a call.
    #[error("Secret Manager, secret {secret}: {message}")]
    Manager {
        /// The secret's resource name.
        secret: String,
        /// Google's answer.
        message: String,
    },
    /// No material for this digest.
    #[error("secret store {store} has no value {reference}\n  help: run `meshform plan` again so that meshform stores it")]
    Missing {
        /// Where the store is.
        store: String,
        /// The missing reference.
        reference: Sensitive,
    },
}

/// Everything a store holds, on its way to another store.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Exported {
    /// The values, each found by its digest.
    pub values: Vec<Material>,
    /// The entries by name.
    pub entries: BTreeMap<String, serde_json::Value>,
}

impl SecretStore {
    /// The store of the local state file at `state_path`.
    pub fn beside(state_path: &Path) -> SecretStore {
        SecretStore::Files(FileSecrets::beside(state_path))
    }

    /// Where it is, for people: a folder or Secret Manager's names.
    pub fn describe(&self) -> String {
        match self {
            SecretStore::Files(f) => f.dir().display().to_string(),
            SecretStore::Manager(m) => m.describe(),
        }
    }

    /// Keeps `material` (once per digest) and returns its reference.
    ///
    /// # Errors
    /// The store cannot be written.
    pub async fn put(&self, material: &Material) -> Result<Sensitive, SecretError> {
        match self {
            SecretStore::Files(f) => f.put(material),
            SecretStore::Manager(m) => m.put(material).await,
        }
    }

    /// The material of `reference`.
    ///
    /// # Errors
    /// [`SecretError::Missing`] when it was never stored here.
    pub async fn get(&self, reference: &Sensitive) -> Result<Material, SecretError> {
        match self {
            SecretStore::Files(f) => f.get(reference),
            SecretStore::Manager(m) => m.get(reference).await,
        }
    }

    /// Forgets the material of `reference` (gone already is fine).
    ///
    /// # Errors
    /// The store cannot be written.
    pub async fn remove(&self, reference: &Sensitive) -> Result<(), SecretError> {
        match self {
            SecretStore::Files(f) => f.remove(reference),
            SecretStore::Manager(m) => m.remove(reference).await,
        }
    }

    /// Forgets every material whose reference is not in `keep` (what state
    /// still refers to): a token whose cluster went, a key of a CA that was
    /// replaced. Entries are kept; they go with their resources.
    ///
    /// # Errors
    /// The store cannot be read or written.
    pub async fn retain(&self, keep: &BTreeSet<String>) -> Result<(), SecretError> {
        match self {
            SecretStore::Files(f) => f.retain(keep),
            SecretStore::Manager(m) => m.retain(keep).await,
        }
    }

    /// Keeps `value` under `name` (replacing what was there): what a local
    /// resource (a CA) is, as its read finds it.
    ///
    /// # Errors
    /// The store cannot be written.
    pub async fn put_entry(
        &self,
        name: &str,
        value: &serde_json::Value,
    ) -> Result<(), SecretError> {
        match self {
            SecretStore::Files(f) => f.put_entry(name, value),
            SecretStore::Manager(m) => m.put_entry(name, value).await,
        }
    }

    /// The value kept under `name`, if any.
    ///
    /// # Errors
    /// The store cannot be read, or the entry is not JSON.
    pub async fn get_entry(&self, name: &str) -> Result<Option<serde_json::Value>, SecretError> {
        match self {
            SecretStore::Files(f) => f.get_entry(name),
            SecretStore::Manager(m) => m.get_entry(name).await,
        }
    }

    /// Forgets the entry `name` (gone already is fine).
    ///
    /// # Errors
    /// The store cannot be written.
    pub async fn remove_entry(&self, name: &str) -> Result<(), SecretError> {
        match self {
            SecretStore::Files(f) => f.remove_entry(name),
            SecretStore::Manager(m) => m.remove_entry(name).await,
        }
    }

    /// Everything it holds.
    ///
    /// # Errors
    /// The store cannot be read.
    pub async fn export(&self) -> Result<Exported, SecretError> {
        match self {
            SecretStore::Files(f) => f.export(),
            SecretStore::Manager(m) => m.export().await,
        }
    }

    /// Keeps everything `exported` holds (what is there already stays).
    ///
    /// # Errors
    /// The store cannot be written.
    pub async fn import(&self, exported: &Exported) -> Result<(), SecretError> {
        for value in &exported.values {
            self.put(value).await?;
        }
        for (name, value) in &exported.entries {
            if self.get_entry(name).await?.as_ref() != Some(value) {
                self.put_entry(name, value).await?;
            }
        }
        Ok(())
    }

    /// Forgets everything it holds.
    ///
    /// # Errors
    /// The store cannot be written.
    pub async fn clear(&self) -> Result<(), SecretError> {
        for name in self.export().await?.entries.keys() {
            self.remove_entry(name).await?;
        }
        self.retain(&BTreeSet::new()).await
    }
}

//! The secret store of a state kept in a bucket: every sensitive value is a
//! secret in Secret Manager, so that any machine allowed to read the
//! state can plan and apply, and no key ever lands on a laptop's disk.
//!
//! Names follow from the state's place and the value's digest, so state
//! holds only the digest (`{"sensitive": "sha256:…"}`):
//!
//! - a value: `projects/P/secrets/meshform-<store>-<sha256 hex>`, version 1,
//!   written once (a value never changes: another value has another digest);
//! - an entry (what a CA is): `projects/P/secrets/meshform-<store>-entry-<name>`,
//!   one version per save, read at `latest`.
//!
//! `<store>` is 16 hex digits of the state's `gs://` address. Every secret
//! carries the labels `meshform_store=<store>` and `meshform_kind`, by
//! which the store lists what it holds (to drop values state no longer
//! refers to, and to move them). Values read back are checked against
//! their digest; payloads carry their CRC32C, which Secret Manager checks.

use std::collections::{BTreeMap, BTreeSet};

use google_cloud_gax::paginator::ItemPaginator;
use google_cloud_secretmanager_v1::client::SecretManagerService;
use google_cloud_secretmanager_v1::model::{
    replication::Automatic, Replication, Secret, SecretPayload,
};

use super::secrets::SecretError;
use crate::resource::{Material, Sensitive};

/// Label naming the store a secret belongs to.
pub const STORE_LABEL: &str = "meshform_store";
/// Label telling a value (`value`) from an entry (`entry`).
pub const KIND_LABEL: &str = "meshform_kind";

/// The secrets of one state in one project.
#[derive(Debug, Clone)]
pub struct ManagerSecrets {
    client: SecretManagerService,
    project: String,
    store: String,
}

impl ManagerSecrets {
    /// The store of the state at `address` (`gs://…`) in `project`.
    pub fn new(client: SecretManagerService, project: &str, address: &str) -> ManagerSecrets {
        let digest = Sensitive::of(address.as_bytes());
        ManagerSecrets {
            client,
            project: project.to_string(),
            store: digest.hex()[..16].to_string(),
        }
    }

    /// Where its secrets are, for people.
    pub fn describe(&self) -> String {
        format!(
            "Secret Manager (projects/{}/secrets/meshform-{}-*)",
            self.project, self.store
        )
    }

    fn name(&self, id: &str) -> String {
        format!("projects/{}/secrets/{id}", self.project)
    }

    fn value_id(&self, reference: &Sensitive) -> String {
        format!("meshform-{}-{}", self.store, reference.hex())
    }

    fn entry_id(&self, name: &str) -> Result<String, SecretError> {
        let ok = !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !ok {
            return Err(self.error(name, "an entry name has only letters, digits, '-' and '_'"));
        }
        Ok(format!("meshform-{}-entry-{name}", self.store))
    }

    fn error(&self, secret: &str, message: impl std::fmt::Display) -> SecretError {
        SecretError::Manager {
            secret: self.name(secret),
            message: message.to_string(),
        }
    }

    fn failed(
        &self,
        secret: &str,
    ) -> impl FnOnce(google_cloud_gax::error::Error) -> SecretError + '_ {
        let secret = secret.to_string();
        move |e| self.error(&secret, explain(&e))
    }

    /// Creates secret `id` (an existing one is fine).
    async fn create(&self, id: &str, kind: &str) -> Result<(), SecretError> {
        let secret = Secret::new()
            .set_replication(Replication::new().set_automatic(Automatic::new()))
            .set_labels([(STORE_LABEL, self.store.as_str()), (KIND_LABEL, kind)]);
        match self
            .client
            .create_secret()
            .set_parent(format!("projects/{}", self.project))
            .set_secret_id(id)
            .set_secret(secret)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if crate::gcp::is_http(&e, 409) => Ok(()),
            Err(e) => Err(self.failed(id)(e)),
        }
    }

    async fn add_version(&self, id: &str, bytes: &[u8]) -> Result<(), SecretError> {
        let payload = SecretPayload::new()
            .set_data(bytes.to_vec())
            .set_data_crc32c(i64::from(crc32c::crc32c(bytes)));
        self.client
            .add_secret_version()
            .set_parent(self.name(id))
            .set_payload(payload)
            .send()
            .await
            .map(|_| ())
            .map_err(self.failed(id))
    }

    /// The bytes of `version` of secret `id`; `None` when the secret or
    /// the version does not exist.
    async fn access(&self, id: &str, version: &str) -> Result<Option<Vec<u8>>, SecretError> {
        match self
            .client
            .access_secret_version()
            .set_name(format!("{}/versions/{version}", self.name(id)))
            .send()
            .await
        {
            Ok(r) => Ok(Some(r.payload.map(|p| p.data.to_vec()).unwrap_or_default())),
            Err(e) if crate::gcp::is_http(&e, 404) => Ok(None),
            Err(e) => Err(self.failed(id)(e)),
        }
    }

    async fn delete(&self, id: &str) -> Result<(), SecretError> {
        match self
            .client
            .delete_secret()
            .set_name(self.name(id))
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if crate::gcp::is_http(&e, 404) => Ok(()),
            Err(e) => Err(self.failed(id)(e)),
        }
    }

    /// The ids of this store's secrets of `kind`.
    async fn list(&self, kind: &str) -> Result<Vec<String>, SecretError> {
        let mut items = self
            .client
            .list_secrets()
            .set_parent(format!("projects/{}", self.project))
            .set_filter(format!(
                "labels.{STORE_LABEL}={} AND labels.{KIND_LABEL}={kind}",
                self.store
            ))
            .by_item();
        let mut ids = Vec::new();
        while let Some(secret) = items.next().await {
            let secret = secret.map_err(self.failed("*"))?;
            if let Some(id) = secret.name.rsplit('/').next() {
                ids.push(id.to_string());
            }
        }
        Ok(ids)
    }

    /// Keeps `material` (once per digest) and returns its reference.
    ///
    /// # Errors
    /// Secret Manager refused.
    pub async fn put(&self, material: &Material) -> Result<Sensitive, SecretError> {
        let reference = material.reference();
        let id = self.value_id(&reference);
        self.create(&id, "value").await?;
        // A run killed between the two calls left the secret without a version.
        if self.access(&id, "1").await?.is_none() {
            self.add_version(&id, &material.0).await?;
        }
        Ok(reference)
    }

    /// The material of `reference`, checked against its digest.
    ///
    /// # Errors
    /// [`SecretError::Missing`] when it was never stored, or Secret Manager refused.
    pub async fn get(&self, reference: &Sensitive) -> Result<Material, SecretError> {
        let id = self.value_id(reference);
        let Some(bytes) = self.access(&id, "1").await? else {
            return Err(SecretError::Missing {
                store: self.describe(),
                reference: reference.clone(),
            });
        };
        let material = Material(bytes);
        if &material.reference() != reference {
            return Err(self.error(&id, "its value does not match the digest state holds"));
        }
        Ok(material)
    }

    /// Deletes the secret of `reference` (gone already is fine).
    ///
    /// # Errors
    /// Secret Manager refused.
    pub async fn remove(&self, reference: &Sensitive) -> Result<(), SecretError> {
        self.delete(&self.value_id(reference)).await
    }

    /// Deletes every value whose reference is not in `keep`.
    ///
    /// # Errors
    /// Secret Manager refused.
    pub async fn retain(&self, keep: &BTreeSet<String>) -> Result<(), SecretError> {
        let prefix = format!("meshform-{}-", self.store);
        for id in self.list("value").await? {
            let hex = id.strip_prefix(&prefix).unwrap_or_default();
            if !keep.contains(&format!("sha256:{hex}")) {
                self.delete(&id).await?;
            }
        }
        Ok(())
    }

    /// Keeps `value` under `name` as a new version.
    ///
    /// # Errors
    /// Secret Manager refused.
    pub async fn put_entry(
        &self,
        name: &str,
        value: &serde_json::Value,
    ) -> Result<(), SecretError> {
        let id = self.entry_id(name)?;
        self.create(&id, "entry").await?;
        let bytes = serde_json::to_vec_pretty(value).expect("JSON values serialize");
        self.add_version(&id, &bytes).await
    }

    /// The latest value kept under `name`, if any.
    ///
    /// # Errors
    /// Secret Manager refused, or the value is not JSON.
    pub async fn get_entry(&self, name: &str) -> Result<Option<serde_json::Value>, SecretError> {
        let id = self.entry_id(name)?;
        match self.access(&id, "latest").await? {
            None => Ok(None),
            Some(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| self.error(&id, format!("not JSON: {e}"))),
        }
    }

    /// Deletes the entry `name` with all its versions (gone already is fine).
    ///
    /// # Errors
    /// Secret Manager refused.
    pub async fn remove_entry(&self, name: &str) -> Result<(), SecretError> {
        self.delete(&self.entry_id(name)?).await
    }

    /// Every value and entry it holds, to move them elsewhere.
    ///
    /// # Errors
    /// Secret Manager refused.
    pub async fn export(&self) -> Result<super::secrets::Exported, SecretError> {
        let prefix = format!("meshform-{}-", self.store);
        let mut out = super::secrets::Exported::default();
        for id in self.list("value").await? {
            let hex = id.strip_prefix(&prefix).unwrap_or_default();
            let reference = Sensitive {
                sensitive: format!("sha256:{hex}"),
            };
            match self.get(&reference).await {
                Ok(material) => out.values.push(material),
                // A value whose version was never written holds nothing to move.
                Err(SecretError::Missing { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        let entry_prefix = format!("{prefix}entry-");
        let mut entries = BTreeMap::new();
        for id in self.list("entry").await? {
            let name = id.strip_prefix(&entry_prefix).unwrap_or_default();
            if let Some(value) = self.get_entry(name).await? {
                entries.insert(name.to_string(), value);
            }
        }
        out.entries = entries;
        Ok(out)
    }
}

/// Google's message, with what to do about a refusal of permission or a
/// disabled API.
fn explain(e: &google_cloud_gax::error::Error) -> String {
    use google_cloud_gax::error::rpc::Code;
    let help = match e.status().map(|s| s.code) {
        Some(Code::PermissionDenied) if e.to_string().contains("SERVICE_DISABLED") => {
            "\n  help: enable it with `gcloud services enable secretmanager.googleapis.com`"
        }
        Some(Code::PermissionDenied) => {
            "\n  help: meshform needs roles/secretmanager.admin on the project (or secretAccessor plus secretVersionAdder and the right to create and delete secrets)"
        }
        _ => "",
    };
    format!("{e}{help}")
}

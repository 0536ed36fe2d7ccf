//! What the mesh's certificate authorities share: each is one entry of the
//! secret store (the spec it was issued with, its certificate, and a
//! reference to its key, whose material is a separate value of the store),
//! and reports its fingerprint, serial, expiry and key reference.

use serde::{de::DeserializeOwned, Deserialize, Serialize};
use serde_json::json;

use crate::cloud::{Cloud, CloudError};
use crate::mesh::ca::{self, IssuedCa};
use crate::resource::{Outputs, Sensitive};

/// Output: `sha256:` of the certificate's DER.
pub const OUTPUT_FINGERPRINT: &str = "fingerprint";
/// Output: the serial number, hex.
pub const OUTPUT_SERIAL: &str = "serial";
/// Output: the expiry, RFC 3339.
pub const OUTPUT_NOT_AFTER: &str = "not_after";
/// Output: the private key, as a sensitive reference.
pub const OUTPUT_KEY: &str = "key";
/// The outputs of every CA kind.
pub const OUTPUTS: &[&str] = &[
    OUTPUT_FINGERPRINT,
    OUTPUT_SERIAL,
    OUTPUT_NOT_AFTER,
    OUTPUT_KEY,
];

/// One CA as stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CaEntry<S> {
    /// The spec it was issued with.
    pub spec: S,
    /// Its certificate, PEM.
    pub cert_pem: String,
    /// Its key.
    pub key: Sensitive,
}

impl<S: Serialize + DeserializeOwned> CaEntry<S> {
    /// The entry named `name`, if any.
    ///
    /// # Errors
    /// The store cannot be read, or the entry does not fit.
    pub async fn load(cloud: &Cloud, name: &str) -> Result<Option<CaEntry<S>>, CloudError> {
        let Some(value) = cloud.secrets.get_entry(name).await? else {
            return Ok(None);
        };
        serde_json::from_value(value)
            .map(Some)
            .map_err(|e| CloudError::Stale {
                address: format!("CA {name}"),
                message: format!("its entry in the secret store does not fit: {e}"),
            })
    }

    /// Keeps `issued` as the CA `name` issued with `spec`: key first, then
    /// the entry, so a crash never leaves an entry without its key.
    ///
    /// # Errors
    /// The store cannot be written.
    pub async fn save(
        cloud: &Cloud,
        name: &str,
        spec: S,
        issued: &IssuedCa,
    ) -> Result<CaEntry<S>, CloudError> {
        let key = cloud.secrets.put(&issued.key).await?;
        let entry = CaEntry {
            spec,
            cert_pem: issued.cert_pem.clone(),
            key,
        };
        let value = serde_json::to_value(&entry).expect("entries serialize");
        cloud.secrets.put_entry(name, &value).await?;
        Ok(entry)
    }

    /// Forgets the CA `name`: its entry, then its key material.
    ///
    /// # Errors
    /// The store cannot be written.
    pub async fn remove(cloud: &Cloud, name: &str) -> Result<(), CloudError> {
        if let Some(entry) = Self::load(cloud, name).await? {
            cloud.secrets.remove_entry(name).await?;
            cloud.secrets.remove(&entry.key).await?;
        }
        Ok(())
    }

    /// Its outputs.
    ///
    /// # Errors
    /// The certificate does not parse.
    pub fn outputs(&self) -> Result<Outputs, CloudError> {
        let info = ca::inspect(&self.cert_pem)?;
        Ok(Outputs::from([
            (OUTPUT_FINGERPRINT.to_string(), json!(info.fingerprint)),
            (OUTPUT_SERIAL.to_string(), json!(info.serial)),
            (OUTPUT_NOT_AFTER.to_string(), json!(info.not_after)),
            (OUTPUT_KEY.to_string(), json!(self.key)),
        ]))
    }

    /// The certificate with its key material, to sign with or to install.
    ///
    /// # Errors
    /// The key material is missing from the store.
    pub async fn issued(&self, cloud: &Cloud) -> Result<IssuedCa, CloudError> {
        Ok(IssuedCa {
            cert_pem: self.cert_pem.clone(),
            key: cloud.secrets.get(&self.key).await?,
        })
    }
}

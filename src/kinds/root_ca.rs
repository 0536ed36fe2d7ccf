//! `root_ca.*`: the mesh's root certificate authority, local to the state:
//! generated with rcgen (Istio's extensions) or brought by the user. Its key
//! is secret material in the store beside the state; its fingerprint,
//! serial and expiry are outputs. A changed root is a replacement, which
//! planning refuses unless the user rotates the root on purpose.

use serde::{Deserialize, Serialize};
use std::time::SystemTime;

use super::ca_entry::{CaEntry, OUTPUTS};
use super::{
    forces_replacement, updatable, Api, Applied, Field, Kind, Limits, Observed, ResourceKind,
};
use crate::cloud::{Cloud, CloudError};
use crate::mesh::ca;
use crate::plan::KeyType;
use crate::resource::{Ids, Material};

/// The kind.
pub struct RootCa;

/// A root CA's managed attributes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RootCaSpec {
    /// Its entry in the secret store.
    pub name: String,
    /// Key type of a generated root.
    pub key_type: Option<KeyType>,
    /// Validity of a generated root, in days.
    pub validity_days: Option<u32>,
    /// Fingerprint of a brought root.
    pub brought: Option<String>,
    /// Where a brought root's certificate is read from.
    pub cert_file: Option<String>,
    /// Where a brought root's key is read from.
    pub key_file: Option<String>,
}

impl RootCaSpec {
    /// Whether `other` is the same root (not only the same files).
    pub fn same_root(&self, other: &RootCaSpec) -> bool {
        (&self.key_type, self.validity_days, &self.brought)
            == (&other.key_type, other.validity_days, &other.brought)
    }
}

fn observed(
    given: &RootCaSpec,
    entry: CaEntry<RootCaSpec>,
) -> Result<Observed<RootCaSpec>, CloudError> {
    Ok(Observed {
        ids: Ids::default(),
        outputs: entry.outputs()?,
        spec: RootCaSpec {
            cert_file: given.cert_file.clone(),
            key_file: given.key_file.clone(),
            ..entry.spec
        },
        deleting: None,
    })
}

/// The root `spec` asks for: generated now, or read from the user's files.
fn make(spec: &RootCaSpec) -> Result<ca::IssuedCa, CloudError> {
    let stale = |message: String| CloudError::Stale {
        address: format!("root CA {}", spec.name),
        message,
    };
    match (&spec.brought, &spec.cert_file, &spec.key_file) {
        (Some(fingerprint), Some(cert), Some(key_file)) => {
            let read =
                |p: &str| std::fs::read(p).map_err(|e| stale(format!("cannot read {p}: {e}")));
            let cert_pem = String::from_utf8_lossy(&read(cert)?).into_owned();
            let key = Material(read(key_file)?);
            if &ca::fingerprint(&cert_pem)? != fingerprint {
                return Err(stale(format!("{cert} changed since the plan")));
            }
            if !ca::key_matches(&cert_pem, &key)? {
                return Err(stale(format!("{key_file} is not the key of {cert}")));
            }
            Ok(ca::IssuedCa { cert_pem, key })
        }
        _ => Ok(ca::issue_root(
            spec.key_type.unwrap_or_default(),
            spec.validity_days.unwrap_or(3650),
            SystemTime::now(),
        )?),
    }
}

impl Kind for RootCa {
    type Spec = RootCaSpec;
    const KIND: ResourceKind = ResourceKind::RootCa;
    const API: Api = Api::Local;
    const FIELDS: &'static [Field] = &[
        forces_replacement("name"),
        forces_replacement("key_type"),
        forces_replacement("validity_days"),
        forces_replacement("brought"),
        updatable("cert_file"),
        updatable("key_file"),
    ];
    const OUTPUTS: &'static [&'static str] = OUTPUTS;
    const LIMITS: Limits = Limits {
        create: 2,
        update: 2,
        delete: 2,
    };

    async fn read(
        cloud: &Cloud,
        spec: &RootCaSpec,
    ) -> Result<Option<Observed<RootCaSpec>>, CloudError> {
        CaEntry::load(cloud, &spec.name)
            .await?
            .map(|e| observed(spec, e))
            .transpose()
    }

    async fn create(cloud: &Cloud, spec: &RootCaSpec) -> Result<Applied, CloudError> {
        // After a crash between making the root and saving state: adopt it.
        if let Some(entry) = CaEntry::<RootCaSpec>::load(cloud, &spec.name).await? {
            if !entry.spec.same_root(spec) {
                return Err(CloudError::Conflict {
                    address: format!("root_ca {}", spec.name),
                    fields: "key_type, validity_days, brought".into(),
                });
            }
            return Ok(Applied {
                ids: Ids::default(),
                outputs: entry.outputs()?,
            });
        }
        let wanted = spec.clone();
        let issued = ca::off_the_runtime(move || make(&wanted)).await?;
        let entry = CaEntry::save(cloud, &spec.name, spec.clone(), &issued).await?;
        Ok(Applied {
            ids: Ids::default(),
            outputs: entry.outputs()?,
        })
    }

    async fn update(
        cloud: &Cloud,
        _before: &RootCaSpec,
        after: &RootCaSpec,
    ) -> Result<Applied, CloudError> {
        // Only where a brought root is read from changed: the root stays.
        let entry = CaEntry::<RootCaSpec>::load(cloud, &after.name)
            .await?
            .ok_or_else(|| CloudError::Gone(format!("root_ca {}", after.name)))?;
        let issued = entry.issued(cloud).await?;
        let entry = CaEntry::save(cloud, &after.name, after.clone(), &issued).await?;
        Ok(Applied {
            ids: Ids::default(),
            outputs: entry.outputs()?,
        })
    }

    async fn delete(cloud: &Cloud, spec: &RootCaSpec) -> Result<(), CloudError> {
        CaEntry::<RootCaSpec>::remove(cloud, &spec.name).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_field_has_a_rule() {
        super::super::assert_every_field_has_a_rule::<RootCa>(&RootCaSpec {
            name: "root".into(),
            key_type: Some(KeyType::Rsa4096),
            validity_days: Some(3650),
            brought: None,
            cert_file: None,
            key_file: None,
        });
    }
}

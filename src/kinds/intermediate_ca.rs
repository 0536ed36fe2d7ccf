//! `intermediate_ca.*`: one cluster's intermediate CA, signed by the mesh's
//! root, local to the state like the root. Any change of its options, or an
//! expiry within the re-issue window, re-issues it in place: a new key and
//! certificate under the same name, so its outputs change and `cacerts`
//! follows (istiod picks a new intermediate up by itself).

use serde::{Deserialize, Serialize};
use std::time::{Duration, SystemTime};

use super::ca_entry::{CaEntry, OUTPUTS, OUTPUT_NOT_AFTER};
use super::root_ca::RootCaSpec;
use super::{
    forces_replacement, updatable, Api, Applied, Field, Kind, Limits, Observed, ResourceKind,
};
use crate::cloud::{Cloud, CloudError};
use crate::mesh::ca;
use crate::plan::KeyType;
use crate::resource::outputs::Known;
use crate::resource::{Ids, Outputs};

/// The kind.
pub struct IntermediateCa;

/// An intermediate's managed attributes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IntermediateCaSpec {
    /// Its entry in the secret store.
    pub name: String,
    /// The cluster's name in the mesh (the certificate's `L=`).
    pub cluster: String,
    /// Key type.
    pub key_type: KeyType,
    /// Validity in days (never past the root's expiry).
    pub validity_days: u32,
    /// Re-issued when it expires within this many days.
    pub reissue_window_days: u32,
    /// The root's entry in the secret store.
    pub root: String,
    /// The root's fingerprint: a new root re-issues the intermediate.
    pub root_fingerprint: Known<String>,
}

async fn issue(cloud: &Cloud, spec: &IntermediateCaSpec) -> Result<Applied, CloudError> {
    let address = format!("intermediate_ca {}", spec.name);
    let wanted = spec.root_fingerprint.value().map_err(CloudError::Unknown)?;
    let root = CaEntry::<RootCaSpec>::load(cloud, &spec.root)
        .await?
        .ok_or_else(|| CloudError::Stale {
            address: address.clone(),
            message: format!("root CA {} is not in the secret store", spec.root),
        })?;
    if &ca::fingerprint(&root.cert_pem)? != wanted {
        return Err(CloudError::Stale {
            address,
            message: "the root CA changed since the plan".into(),
        });
    }
    let (key_type, days, cluster) = (spec.key_type, spec.validity_days, spec.cluster.clone());
    let signer = root.issued(cloud).await?;
    let issued = ca::off_the_runtime(move || {
        ca::issue_intermediate(key_type, days, &cluster, &signer, SystemTime::now())
    })
    .await?;
    let old = CaEntry::<IntermediateCaSpec>::load(cloud, &spec.name).await?;
    let entry = CaEntry::save(cloud, &spec.name, spec.clone(), &issued).await?;
    // The replaced key is no longer needed once the new entry is saved.
    if let Some(old) = old.filter(|o| o.key != entry.key) {
        cloud.secrets.remove(&old.key).await?;
    }
    Ok(Applied {
        ids: Ids::default(),
        outputs: entry.outputs()?,
    })
}

impl Kind for IntermediateCa {
    type Spec = IntermediateCaSpec;
    const KIND: ResourceKind = ResourceKind::IntermediateCa;
    const API: Api = Api::Local;
    const FIELDS: &'static [Field] = &[
        forces_replacement("name"),
        updatable("cluster"),
        updatable("key_type"),
        updatable("validity_days"),
        updatable("reissue_window_days"),
        updatable("root"),
        updatable("root_fingerprint"),
    ];
    const OUTPUTS: &'static [&'static str] = OUTPUTS;
    const OUTPUTS_CHANGE_ON_UPDATE: bool = true;
    const LIMITS: Limits = Limits {
        create: 2,
        update: 2,
        delete: 2,
    };

    fn renewal(spec: &IntermediateCaSpec, outputs: &Outputs, now: SystemTime) -> Option<String> {
        let not_after = outputs.get(OUTPUT_NOT_AFTER)?.as_str()?;
        let expires = humantime::parse_rfc3339(not_after).ok()?;
        let window = Duration::from_secs(u64::from(spec.reissue_window_days) * 86_400);
        (expires <= now + window).then(|| {
            format!(
                "expires {not_after}, within the {}-day re-issue window",
                spec.reissue_window_days
            )
        })
    }

    async fn read(
        cloud: &Cloud,
        spec: &IntermediateCaSpec,
    ) -> Result<Option<Observed<IntermediateCaSpec>>, CloudError> {
        let Some(entry) = CaEntry::<IntermediateCaSpec>::load(cloud, &spec.name).await? else {
            return Ok(None);
        };
        Ok(Some(Observed {
            ids: Ids::default(),
            outputs: entry.outputs()?,
            spec: entry.spec,
            deleting: None,
        }))
    }

    async fn create(cloud: &Cloud, spec: &IntermediateCaSpec) -> Result<Applied, CloudError> {
        // After a crash between issuing and saving state: adopt it.
        if let Some(entry) = CaEntry::<IntermediateCaSpec>::load(cloud, &spec.name).await? {
            if &entry.spec == spec {
                return Ok(Applied {
                    ids: Ids::default(),
                    outputs: entry.outputs()?,
                });
            }
        }
        issue(cloud, spec).await
    }

    async fn update(
        cloud: &Cloud,
        _before: &IntermediateCaSpec,
        after: &IntermediateCaSpec,
    ) -> Result<Applied, CloudError> {
        issue(cloud, after).await
    }

    async fn delete(cloud: &Cloud, spec: &IntermediateCaSpec) -> Result<(), CloudError> {
        CaEntry::<IntermediateCaSpec>::remove(cloud, &spec.name).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> IntermediateCaSpec {
        IntermediateCaSpec {
            name: "intermediate-c1".into(),
            cluster: "c1".into(),
            key_type: KeyType::EcdsaP256,
            validity_days: 365,
            reissue_window_days: 30,
            root: "root".into(),
            root_fingerprint: Known::Value("sha256:r".into()),
        }
    }

    #[test]
    fn every_field_has_a_rule() {
        super::super::assert_every_field_has_a_rule::<IntermediateCa>(&spec());
    }

    #[test]
    fn renewal_is_due_inside_the_window_only() {
        let now = humantime::parse_rfc3339("2027-01-01T00:00:00Z").unwrap();
        let out = |d: &str| Outputs::from([(OUTPUT_NOT_AFTER.to_string(), serde_json::json!(d))]);
        assert_eq!(
            IntermediateCa::renewal(&spec(), &out("2027-03-01T00:00:00Z"), now),
            None
        );
        let due = IntermediateCa::renewal(&spec(), &out("2027-01-20T00:00:00Z"), now).unwrap();
        assert!(
            due.contains("2027-01-20") && due.contains("30-day"),
            "{due}"
        );
    }
}

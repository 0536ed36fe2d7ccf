//! `cacerts.*`: Istio's plugged-in CA in one cluster — Secret `cacerts` in
//! `istio-system` with `ca-cert.pem`, `ca-key.pem`, `root-cert.pem` and
//! `cert-chain.pem` (MESH.md). Its spec holds only fingerprints and the
//! key's sensitive reference: the material comes from the secret store at
//! apply and is read back as digests, so drift shows without the key ever
//! reaching state, plan or logs.

use base64::Engine;
use k8s_openapi::api::core::v1::Secret;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::ca_entry::CaEntry;
use super::intermediate_ca::IntermediateCaSpec;
use super::root_ca::RootCaSpec;
use super::{
    forces_replacement, updatable, Api, Applied, Field, Kind, Limits, Observed, ResourceKind,
};
use crate::cloud::{Cloud, CloudError};
use crate::kube::Placement;
use crate::mesh::ca;
use crate::resource::outputs::Known;
use crate::resource::{Ids, Sensitive};

/// The kind.
pub struct Cacerts;

/// The Secret's name (istiod looks for exactly this one).
pub const SECRET_NAME: &str = "cacerts";
/// Its namespace.
pub const NAMESPACE: &str = "istio-system";

/// A `cacerts` Secret's managed attributes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CacertsSpec {
    /// The cluster it is in.
    pub cluster: String,
    /// That cluster's location.
    pub location: String,
    /// The digest of that cluster's CA: a new cluster is a new Secret.
    pub cluster_ca: Known<String>,
    /// The intermediate's entry in the secret store.
    pub intermediate: String,
    /// The entries of the roots it trusts (two while a root rotates), old first.
    pub roots: Vec<String>,
    /// Fingerprint of `ca-cert.pem` (the intermediate).
    pub ca_cert: Known<String>,
    /// `ca-key.pem`: the intermediate's key.
    pub ca_key: Known<Sensitive>,
    /// Fingerprints of the roots in `root-cert.pem`, in order.
    pub root_certs: Vec<Known<String>>,
}

impl CacertsSpec {
    fn placement(&self) -> Placement<'_> {
        Placement {
            location: &self.location,
            cluster: &self.cluster,
            namespace: Some(NAMESPACE),
            name: SECRET_NAME,
        }
    }
}

fn observed(given: &CacertsSpec, secret: Secret, ca_digest: String) -> Observed<CacertsSpec> {
    let data = secret.data.unwrap_or_default();
    let text = |k: &str| {
        data.get(k)
            .map(|b| String::from_utf8_lossy(&b.0).into_owned())
    };
    let fp = |k: &str| {
        Known::Value(
            text(k)
                .and_then(|t| ca::fingerprint(&t).ok())
                .unwrap_or_default(),
        )
    };
    Observed {
        ids: Ids {
            id: secret.metadata.uid,
            self_link: None,
        },
        spec: CacertsSpec {
            cluster: given.cluster.clone(),
            location: given.location.clone(),
            cluster_ca: Known::Value(ca_digest),
            intermediate: given.intermediate.clone(),
            roots: given.roots.clone(),
            ca_cert: fp("ca-cert.pem"),
            ca_key: Known::Value(Sensitive::of(
                data.get("ca-key.pem")
                    .map(|b| b.0.as_slice())
                    .unwrap_or_default(),
            )),
            root_certs: ca::pem_certificates(&text("root-cert.pem").unwrap_or_default())
                .iter()
                .map(|der| Known::Value(crate::resource::outputs::digest(der)))
                .collect(),
        },
        outputs: Default::default(),
        deleting: secret
            .metadata
            .deletion_timestamp
            .map(|_| "Kubernetes is deleting it".to_string()),
    }
}

/// Builds the Secret from the store, checking that it holds what the plan saw.
async fn secret(cloud: &Cloud, spec: &CacertsSpec) -> Result<serde_json::Value, CloudError> {
    let stale = |message: String| CloudError::Stale {
        address: format!("cacerts in {}", spec.cluster),
        message,
    };
    let missing =
        |what: &str, name: &str| stale(format!("{what} {name} is not in the secret store"));
    let inter = CaEntry::<IntermediateCaSpec>::load(cloud, &spec.intermediate)
        .await?
        .ok_or_else(|| missing("intermediate CA", &spec.intermediate))?;
    let want_cert = spec.ca_cert.value().map_err(CloudError::Unknown)?;
    let want_key = spec.ca_key.value().map_err(CloudError::Unknown)?;
    if &ca::fingerprint(&inter.cert_pem)? != want_cert || &inter.key != want_key {
        return Err(stale("the intermediate CA changed since the plan".into()));
    }
    let mut bundle = String::new();
    for (name, want) in spec.roots.iter().zip(&spec.root_certs) {
        let root = CaEntry::<RootCaSpec>::load(cloud, name)
            .await?
            .ok_or_else(|| missing("root CA", name))?;
        if &ca::fingerprint(&root.cert_pem)? != want.value().map_err(CloudError::Unknown)? {
            return Err(stale(format!("root CA {name} changed since the plan")));
        }
        bundle.push_str(&root.cert_pem);
    }
    // The chain ends with the root that signed the intermediate.
    let signer = CaEntry::<RootCaSpec>::load(cloud, &inter.spec.root)
        .await?
        .ok_or_else(|| missing("root CA", &inter.spec.root))?;
    let key = cloud.secrets.get(&inter.key).await?;
    let b64 = |bytes: &[u8]| base64::engine::general_purpose::STANDARD.encode(bytes);
    let chain = format!("{}{}", inter.cert_pem, signer.cert_pem);
    Ok(json!({
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": SECRET_NAME, "namespace": NAMESPACE},
        "type": "Opaque",
        "data": {
            "ca-cert.pem": b64(inter.cert_pem.as_bytes()),
            "ca-key.pem": b64(&key.0),
            "root-cert.pem": b64(bundle.as_bytes()),
            "cert-chain.pem": b64(chain.as_bytes()),
        },
    }))
}

impl Kind for Cacerts {
    type Spec = CacertsSpec;
    const KIND: ResourceKind = ResourceKind::Cacerts;
    const API: Api = Api::Kubernetes;
    const FIELDS: &'static [Field] = &[
        forces_replacement("cluster"),
        forces_replacement("location"),
        forces_replacement("cluster_ca"),
        updatable("intermediate"),
        updatable("roots"),
        updatable("ca_cert"),
        updatable("ca_key").sensitive(),
        updatable("root_certs"),
    ];
    const LIVES_IN: &'static [ResourceKind] = &[ResourceKind::Cluster, ResourceKind::Namespace];
    const LIMITS: Limits = Limits {
        create: 5,
        update: 5,
        delete: 5,
    };

    async fn read(
        cloud: &Cloud,
        spec: &CacertsSpec,
    ) -> Result<Option<Observed<CacertsSpec>>, CloudError> {
        let found = cloud.kube.read_object::<Secret>(&spec.placement()).await?;
        Ok(found.map(|(s, ca)| observed(spec, s, ca)))
    }

    async fn create(cloud: &Cloud, spec: &CacertsSpec) -> Result<Applied, CloudError> {
        let object = secret(cloud, spec).await?;
        let ids = cloud
            .kube
            .apply_value::<Secret>(&spec.placement(), &object)
            .await?;
        Ok(ids.into())
    }

    async fn update(
        cloud: &Cloud,
        _before: &CacertsSpec,
        after: &CacertsSpec,
    ) -> Result<Applied, CloudError> {
        Self::create(cloud, after).await
    }

    async fn delete(cloud: &Cloud, spec: &CacertsSpec) -> Result<(), CloudError> {
        Ok(cloud
            .kube
            .delete_object::<Secret>(&spec.placement())
            .await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_field_has_a_rule() {
        super::super::assert_every_field_has_a_rule::<Cacerts>(&CacertsSpec {
            cluster: "c1".into(),
            location: "europe-west2-a".into(),
            cluster_ca: Known::Value("sha256:ca".into()),
            intermediate: "intermediate-c1".into(),
            roots: vec!["root".into()],
            ca_cert: Known::Value("sha256:i".into()),
            ca_key: Known::Value(Sensitive::of(b"k")),
            root_certs: vec![Known::Value("sha256:r".into())],
        });
    }

    /// What is read back is digests only: the key stays out of the spec.
    #[test]
    fn a_live_secret_reads_as_digests() {
        let root = ca::issue_root(
            crate::plan::KeyType::EcdsaP256,
            10,
            std::time::SystemTime::now(),
        )
        .unwrap();
        let other = ca::issue_root(
            crate::plan::KeyType::EcdsaP256,
            10,
            std::time::SystemTime::now(),
        )
        .unwrap();
        // A trust bundle of two roots, as during a rotation.
        let bundle = format!("{}{}", root.cert_pem, other.cert_pem);
        let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
        let secret: Secret = serde_json::from_value(json!({
            "metadata": {"name": "cacerts", "namespace": "istio-system", "uid": "u"},
            "data": {
                "ca-cert.pem": b64(root.cert_pem.as_bytes()),
                "ca-key.pem": b64(&root.key.0),
                "root-cert.pem": b64(bundle.as_bytes()),
            },
        }))
        .unwrap();
        let given = CacertsSpec {
            cluster: "c1".into(),
            location: "l".into(),
            cluster_ca: Known::Value("sha256:ca".into()),
            intermediate: "i".into(),
            roots: vec!["r".into()],
            ca_cert: Known::Value(String::new()),
            ca_key: Known::Value(Sensitive::of(b"")),
            root_certs: vec![],
        };
        let seen = observed(&given, secret, "sha256:ca".into());
        let fp = ca::fingerprint(&root.cert_pem).unwrap();
        assert_eq!(seen.spec.ca_cert, Known::Value(fp.clone()));
        let other_fp = ca::fingerprint(&other.cert_pem).unwrap();
        assert_eq!(
            seen.spec.root_certs,
            vec![Known::Value(fp), Known::Value(other_fp)]
        );
        assert_eq!(seen.spec.ca_key, Known::Value(root.key.reference()));
        let shown = serde_json::to_string(&super::super::attrs_of(&seen.spec)).unwrap();
        assert!(!shown.contains("PRIVATE KEY") && !shown.contains(&b64(&root.key.0)));
    }
}

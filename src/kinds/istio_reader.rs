//! `istio_reader.*`: the identity every other cluster's istiod reads this
//! cluster with (MESH.md, "Remote secrets"): ServiceAccount
//! `istio-reader-service-account`, Istio's reader ClusterRole and its
//! binding, and the token Secret Kubernetes' token controller fills — a
//! tracked group of objects (`templates/istio-reader.json`). Its output is
//! the reader token, a sensitive value: the material goes to the secret
//! store, state and plans hold its digest.

use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::object_group::{self, Objects, Place};
use super::{
    forces_replacement, updatable, Api, Applied, Field, Kind, Limits, Observed, ResourceKind,
};
use crate::cloud::{Cloud, CloudError};
use crate::kube::ObjectRef;
use crate::resource::outputs::Known;
use crate::resource::{Ids, Material, Outputs};

/// The kind.
pub struct IstioReader;

/// The output holding the reader token (a sensitive reference).
pub const OUTPUT_TOKEN: &str = "token";

/// The template of the reader's objects.
pub const TEMPLATE: &str = "istio-reader.json";

/// A reader identity's managed attributes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IstioReaderSpec {
    /// The cluster it is in.
    pub cluster: String,
    /// That cluster's location.
    pub location: String,
    /// The digest of that cluster's CA: a new cluster is a new identity.
    pub cluster_ca: Known<String>,
    /// Every object: `apiVersion/Kind/namespace/name` → digest in the object store.
    pub objects: Objects,
}

/// The reference of the token Secret.
pub fn token_secret_ref() -> ObjectRef {
    ObjectRef {
        api_version: "v1".into(),
        kind: "Secret".into(),
        namespace: crate::resource::desired::ISTIO_NAMESPACE.into(),
        name: "istio-reader-service-account-istio-remote-secret-token".into(),
    }
}

/// The token a filled token Secret holds.
fn token_of(secret: &Value) -> Option<Material> {
    let b64 = secret["data"]["token"].as_str()?;
    let bytes = base64::engine::general_purpose::STANDARD.decode(b64).ok()?;
    (!bytes.is_empty()).then_some(Material(bytes))
}

fn place(spec: &IstioReaderSpec) -> Place<'_> {
    Place {
        location: &spec.location,
        cluster: &spec.cluster,
    }
}

/// The token's reference as an output, its material kept in the store.
async fn token_output(cloud: &Cloud, token: &Material) -> Result<Outputs, CloudError> {
    let reference = cloud.secrets.put(token).await?;
    Ok(Outputs::from([(
        OUTPUT_TOKEN.to_string(),
        json!(reference),
    )]))
}

async fn apply(
    cloud: &Cloud,
    spec: &IstioReaderSpec,
    before: Option<&Objects>,
) -> Result<Applied, CloudError> {
    object_group::apply(cloud, place(spec), &spec.objects, before).await?;
    crate::progress::note("waiting for Kubernetes to fill the reader's token");
    let r = token_secret_ref();
    cloud
        .kube
        .wait_for(&spec.location, &spec.cluster, &r, "given a token", |o| {
            o.and_then(token_of).is_some()
        })
        .await?;
    let secret = cloud
        .kube
        .read_manifest(&spec.location, &spec.cluster, &r)
        .await?;
    let token = secret
        .as_ref()
        .and_then(token_of)
        .ok_or_else(|| CloudError::Stale {
            address: format!("istio_reader in {}", spec.cluster),
            message: "the token Secret lost its token".into(),
        })?;
    Ok(Applied {
        ids: Ids::default(),
        outputs: token_output(cloud, &token).await?,
    })
}

impl Kind for IstioReader {
    type Spec = IstioReaderSpec;
    const KIND: ResourceKind = ResourceKind::IstioReader;
    const API: Api = Api::Kubernetes;
    const FIELDS: &'static [Field] = &[
        forces_replacement("cluster"),
        forces_replacement("location"),
        forces_replacement("cluster_ca"),
        updatable("objects"),
    ];
    const LIVES_IN: &'static [ResourceKind] = &[ResourceKind::Cluster, ResourceKind::Namespace];
    const OUTPUTS: &'static [&'static str] = &[OUTPUT_TOKEN];
    const LIMITS: Limits = Limits {
        create: 5,
        update: 5,
        delete: 5,
    };

    async fn read(
        cloud: &Cloud,
        spec: &IstioReaderSpec,
    ) -> Result<Option<Observed<IstioReaderSpec>>, CloudError> {
        let Some(found) = object_group::read(cloud, place(spec), &spec.objects).await? else {
            return Ok(None);
        };
        let token = found
            .live
            .get(&token_secret_ref().to_string())
            .and_then(token_of);
        let outputs = match &token {
            Some(t) => token_output(cloud, t).await?,
            None => Outputs::new(),
        };
        Ok(Some(Observed {
            ids: Ids::default(),
            spec: IstioReaderSpec {
                cluster_ca: Known::Value(found.cluster_ca),
                objects: found.objects,
                ..spec.clone()
            },
            outputs,
            deleting: None,
        }))
    }

    async fn create(cloud: &Cloud, spec: &IstioReaderSpec) -> Result<Applied, CloudError> {
        apply(cloud, spec, None).await
    }

    async fn update(
        cloud: &Cloud,
        before: &IstioReaderSpec,
        after: &IstioReaderSpec,
    ) -> Result<Applied, CloudError> {
        apply(cloud, after, Some(&before.objects)).await
    }

    async fn delete(cloud: &Cloud, spec: &IstioReaderSpec) -> Result<(), CloudError> {
        object_group::delete_unless_cluster_goes(cloud, place(spec), &spec.objects).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_field_has_a_rule() {
        super::super::assert_every_field_has_a_rule::<IstioReader>(&IstioReaderSpec {
            cluster: "c1".into(),
            location: "europe-west2-a".into(),
            cluster_ca: Known::Value("sha256:ca".into()),
            objects: Objects::new(),
        });
    }

    #[test]
    fn the_template_makes_the_reader_identity_of_mesh_md() {
        let objects = crate::kube::templates::render(TEMPLATE, &json!({})).unwrap();
        let refs: Vec<String> = objects
            .as_array()
            .unwrap()
            .iter()
            .map(|o| ObjectRef::of(o).unwrap().to_string())
            .collect();
        assert_eq!(
            refs,
            [
                "v1/ServiceAccount/istio-system/istio-reader-service-account",
                "rbac.authorization.k8s.io/v1/ClusterRole//istio-reader-clusterrole-istio-system",
                "rbac.authorization.k8s.io/v1/ClusterRoleBinding//istio-reader-clusterrole-istio-system",
                "v1/Secret/istio-system/istio-reader-service-account-istio-remote-secret-token",
            ]
        );
        assert_eq!(refs[3], token_secret_ref().to_string());
        let secret = &objects[3];
        assert_eq!(secret["type"], "kubernetes.io/service-account-token");
        assert_eq!(
            secret["metadata"]["annotations"]["kubernetes.io/service-account.name"],
            "istio-reader-service-account"
        );
        let services = objects[1]["rules"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["apiGroups"] == json!([""]))
            .unwrap();
        assert_eq!(services["verbs"], json!(["get", "list", "watch"]));
    }
}

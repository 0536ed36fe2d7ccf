//! `istio.*`: Istio's control plane in one cluster, as a tracked group of
//! objects. Planning renders them (istioctl of the pinned version, or the
//! emulated stand-in) into the object store and records each one's
//! reference and digest; apply sends exactly those, CRDs first (waited
//! until Established), then the rest, then waits until istiod's Deployment
//! is Available. Objects no longer rendered are pruned; destroy deletes in
//! reverse order. Drift is judged by the digest meshform stamps on every
//! object, so what the API server defaults or istiod patches at run time
//! (webhook `caBundle`, `failurePolicy`) is not drift.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use super::object_group::{self, Place};
use super::{
    forces_replacement, updatable, Api, Applied, Field, Kind, Limits, Observed, ResourceKind,
};
use crate::cloud::{Cloud, CloudError};
use crate::mesh::ControlPlaneValues;
use crate::resource::outputs::Known;
use crate::resource::Ids;

/// The kind.
pub struct Istio;

pub use super::object_group::{summary, DIGEST_ANNOTATION};

/// A control plane's managed attributes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IstioSpec {
    /// The cluster it is in.
    pub cluster: String,
    /// That cluster's location.
    pub location: String,
    /// The digest of that cluster's CA: a new cluster is a new control plane.
    pub cluster_ca: Known<String>,
    /// What it is rendered from.
    pub values: ControlPlaneValues,
    /// What rendered it (istioctl and its version, or the emulated stand-in).
    pub generator: String,
    /// How many objects of which kinds, e.g. `5 CustomResourceDefinition, 1 Deployment`.
    pub summary: String,
    /// Every object: `apiVersion/Kind/namespace/name` → digest in the object store.
    pub objects: BTreeMap<String, String>,
}

fn place(spec: &IstioSpec) -> Place<'_> {
    Place {
        location: &spec.location,
        cluster: &spec.cluster,
    }
}

impl Kind for Istio {
    type Spec = IstioSpec;
    const KIND: ResourceKind = ResourceKind::Istio;
    const API: Api = Api::Kubernetes;
    const FIELDS: &'static [Field] = &[
        forces_replacement("cluster"),
        forces_replacement("location"),
        forces_replacement("cluster_ca"),
        updatable("values"),
        updatable("generator"),
        updatable("summary"),
        updatable("objects"),
    ];
    const LIVES_IN: &'static [ResourceKind] = &[ResourceKind::Cluster, ResourceKind::Namespace];
    const LIMITS: Limits = Limits {
        create: 15,
        update: 15,
        delete: 10,
    };

    async fn read(
        cloud: &Cloud,
        spec: &IstioSpec,
    ) -> Result<Option<Observed<IstioSpec>>, CloudError> {
        let Some(found) = object_group::read(cloud, place(spec), &spec.objects).await? else {
            return Ok(None);
        };
        Ok(Some(Observed {
            ids: Ids::default(),
            spec: IstioSpec {
                cluster_ca: Known::Value(found.cluster_ca),
                summary: summary(found.objects.keys()),
                objects: found.objects,
                ..spec.clone()
            },
            outputs: Default::default(),
            deleting: None,
        }))
    }

    async fn create(cloud: &Cloud, spec: &IstioSpec) -> Result<Applied, CloudError> {
        object_group::apply(cloud, place(spec), &spec.objects, None).await?;
        Ok(Applied::default())
    }

    async fn update(
        cloud: &Cloud,
        before: &IstioSpec,
        after: &IstioSpec,
    ) -> Result<Applied, CloudError> {
        object_group::apply(cloud, place(after), &after.objects, Some(&before.objects)).await?;
        Ok(Applied::default())
    }

    async fn delete(cloud: &Cloud, spec: &IstioSpec) -> Result<(), CloudError> {
        object_group::delete_unless_cluster_goes(cloud, place(spec), &spec.objects).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> IstioSpec {
        let objects = BTreeMap::from([
            ("apps/v1/Deployment/istio-system/istiod".to_string(), "sha256:d".to_string()),
            (
                "apiextensions.k8s.io/v1/CustomResourceDefinition//gateways.networking.istio.io".to_string(),
                "sha256:c".to_string(),
            ),
            (
                "admissionregistration.k8s.io/v1/ValidatingWebhookConfiguration//istio-validator-istio-system"
                    .to_string(),
                "sha256:w".to_string(),
            ),
            ("v1/ServiceAccount/istio-system/istiod".to_string(), "sha256:s".to_string()),
        ]);
        IstioSpec {
            cluster: "c1".into(),
            location: "europe-west2-a".into(),
            cluster_ca: Known::Value("sha256:ca".into()),
            values: ControlPlaneValues::example(),
            generator: "emulated".into(),
            summary: summary(objects.keys()),
            objects,
        }
    }

    #[test]
    fn every_field_has_a_rule() {
        super::super::assert_every_field_has_a_rule::<Istio>(&spec());
    }
}

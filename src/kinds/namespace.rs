//! `namespace.*`: Kubernetes namespaces in one cluster, applied server-side
//! with meshform's field manager. Only the labels meshform sets are
//! compared: the API server's defaults and other managers' labels are not drift.

use k8s_openapi::api::core::v1::Namespace as ApiNamespace;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::BTreeMap;

use super::{
    forces_replacement, updatable, Api, Applied, Field, Kind, Limits, Observed, ResourceKind,
};
use crate::cloud::{Cloud, CloudError};
use crate::kube::Placement;
use crate::resource::outputs::Known;
use crate::resource::Ids;

/// The kind.
pub struct Namespace;

/// A namespace's managed attributes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NamespaceSpec {
    /// Its name.
    pub name: String,
    /// The cluster it is in.
    pub cluster: String,
    /// That cluster's location.
    pub location: String,
    /// The digest of that cluster's CA: a new cluster is a new namespace.
    pub cluster_ca: Known<String>,
    /// The labels meshform manages.
    pub labels: BTreeMap<String, String>,
}

impl NamespaceSpec {
    fn placement(&self) -> Placement<'_> {
        Placement {
            location: &self.location,
            cluster: &self.cluster,
            namespace: None,
            name: &self.name,
        }
    }
}

/// The spec of a live namespace, keeping only the labels `given` manages.
fn observed(given: &NamespaceSpec, ns: ApiNamespace, ca_digest: String) -> Observed<NamespaceSpec> {
    let live_labels = ns.metadata.labels.unwrap_or_default();
    let labels = given
        .labels
        .keys()
        .filter_map(|k| live_labels.get(k).map(|v| (k.clone(), v.clone())))
        .collect();
    Observed {
        ids: Ids {
            id: ns.metadata.uid,
            self_link: None,
        },
        spec: NamespaceSpec {
            name: ns.metadata.name.unwrap_or_default(),
            cluster: given.cluster.clone(),
            location: given.location.clone(),
            cluster_ca: Known::Value(ca_digest),
            labels,
        },
        outputs: Default::default(),
        deleting: ns
            .metadata
            .deletion_timestamp
            .map(|_| "Kubernetes is deleting it (Terminating)".to_string()),
    }
}

impl Kind for Namespace {
    type Spec = NamespaceSpec;
    const KIND: ResourceKind = ResourceKind::Namespace;
    const API: Api = Api::Kubernetes;
    const FIELDS: &'static [Field] = &[
        forces_replacement("name"),
        forces_replacement("cluster"),
        forces_replacement("location"),
        forces_replacement("cluster_ca"),
        updatable("labels"),
    ];
    const LIVES_IN: &'static [ResourceKind] = &[ResourceKind::Cluster];
    const LIMITS: Limits = Limits {
        create: 5,
        update: 5,
        delete: 5,
    };

    async fn read(
        cloud: &Cloud,
        spec: &NamespaceSpec,
    ) -> Result<Option<Observed<NamespaceSpec>>, CloudError> {
        let found = cloud
            .kube
            .read_object::<ApiNamespace>(&spec.placement())
            .await?;
        Ok(found.map(|(ns, ca)| observed(spec, ns, ca)))
    }

    async fn create(cloud: &Cloud, spec: &NamespaceSpec) -> Result<Applied, CloudError> {
        let context = json!({"name": spec.name, "labels": spec.labels});
        let ids = cloud
            .kube
            .apply_object::<ApiNamespace>(&spec.placement(), "namespace.json", &context)
            .await?;
        Ok(ids.into())
    }

    async fn update(
        cloud: &Cloud,
        _before: &NamespaceSpec,
        after: &NamespaceSpec,
    ) -> Result<Applied, CloudError> {
        Self::create(cloud, after).await
    }

    async fn delete(cloud: &Cloud, spec: &NamespaceSpec) -> Result<(), CloudError> {
        Ok(cloud
            .kube
            .delete_object::<ApiNamespace>(&spec.placement())
            .await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn istio_system() -> NamespaceSpec {
        NamespaceSpec {
            name: "istio-system".into(),
            cluster: "c1".into(),
            location: "europe-west2-a".into(),
            cluster_ca: Known::Value("sha256:ca".into()),
            labels: BTreeMap::from([("topology.istio.io/network".into(), "n1".into())]),
        }
    }

    #[test]
    fn every_field_has_a_rule() {
        super::super::assert_every_field_has_a_rule::<Namespace>(&istio_system());
    }

    /// The API server defaults a namespace (the `kubernetes.io/metadata.name`
    /// label) and another manager may add labels: none of that is drift.
    #[test]
    fn defaulted_and_foreign_labels_are_not_drift() {
        let live: ApiNamespace = serde_json::from_value(json!({
            "metadata": {"name": "istio-system", "uid": "u1", "labels": {
                "kubernetes.io/metadata.name": "istio-system",
                "team": "mesh",
                "topology.istio.io/network": "n1",
            }},
            "spec": {"finalizers": ["kubernetes"]},
        }))
        .unwrap();
        let seen = observed(&istio_system(), live, "sha256:ca".into());
        assert_eq!(seen.spec, istio_system());
        assert_eq!(seen.ids.id.as_deref(), Some("u1"));
        assert_eq!(seen.deleting, None);
    }
}

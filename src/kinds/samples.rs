//! `samples.*`: `[samples]` in one cluster — Istio's `sleep` client and
//! `httpbin` server, and the Service `httpbin-<cluster>` through which
//! every other cluster reaches this cluster's httpbin by name
//! (`templates/samples.json`), a tracked group of objects in the samples'
//! namespace (a `namespace.*` labelled for sidecar injection). `verify
//! --traffic` sends requests between them.

use serde::{Deserialize, Serialize};
use serde_json::json;

use super::object_group::{self, Objects, Place};
use super::{
    forces_replacement, updatable, Api, Applied, Field, Kind, Limits, Observed, ResourceKind,
};
use crate::cloud::{Cloud, CloudError};
use crate::resource::outputs::Known;
use crate::resource::Ids;

/// The kind.
pub struct Samples;

/// The template of the samples' objects.
pub const TEMPLATE: &str = "samples.json";

/// The Service that names `cluster`'s httpbin across the mesh.
pub fn cluster_service(cluster: &str) -> String {
    format!("httpbin-{cluster}")
}

/// The template's context: the namespace and the cluster's own Service.
pub fn context(namespace: &str, service: &str) -> serde_json::Value {
    json!({"namespace": namespace, "cluster_service": service})
}

/// The samples' managed attributes in one cluster.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SamplesSpec {
    /// The cluster they run in.
    pub cluster: String,
    /// That cluster's location.
    pub location: String,
    /// The digest of that cluster's CA: a new cluster needs them anew.
    pub cluster_ca: Known<String>,
    /// Their namespace.
    pub namespace: String,
    /// The Service naming this cluster's httpbin ([`cluster_service`] of
    /// the cluster's name in the mesh).
    pub service: String,
    /// Every object: `apiVersion/Kind/namespace/name` → digest in the object store.
    pub objects: Objects,
}

fn place(spec: &SamplesSpec) -> Place<'_> {
    Place {
        location: &spec.location,
        cluster: &spec.cluster,
    }
}

impl Kind for Samples {
    type Spec = SamplesSpec;
    const KIND: ResourceKind = ResourceKind::Samples;
    const API: Api = Api::Kubernetes;
    const FIELDS: &'static [Field] = &[
        forces_replacement("cluster"),
        forces_replacement("location"),
        forces_replacement("cluster_ca"),
        forces_replacement("namespace"),
        updatable("service"),
        updatable("objects"),
    ];
    const LIVES_IN: &'static [ResourceKind] = &[ResourceKind::Cluster, ResourceKind::Namespace];
    const OUTPUTS: &'static [&'static str] = &[];
    const LIMITS: Limits = Limits {
        create: 10,
        update: 10,
        delete: 10,
    };

    async fn read(
        cloud: &Cloud,
        spec: &SamplesSpec,
    ) -> Result<Option<Observed<SamplesSpec>>, CloudError> {
        let Some(found) = object_group::read(cloud, place(spec), &spec.objects).await? else {
            return Ok(None);
        };
        Ok(Some(Observed {
            ids: Ids::default(),
            spec: SamplesSpec {
                cluster_ca: Known::Value(found.cluster_ca),
                objects: found.objects,
                ..spec.clone()
            },
            outputs: Default::default(),
            deleting: None,
        }))
    }

    async fn create(cloud: &Cloud, spec: &SamplesSpec) -> Result<Applied, CloudError> {
        object_group::apply(cloud, place(spec), &spec.objects, None).await?;
        Ok(Applied::default())
    }

    async fn update(
        cloud: &Cloud,
        before: &SamplesSpec,
        after: &SamplesSpec,
    ) -> Result<Applied, CloudError> {
        object_group::apply(cloud, place(after), &after.objects, Some(&before.objects)).await?;
        Ok(Applied::default())
    }

    async fn delete(cloud: &Cloud, spec: &SamplesSpec) -> Result<(), CloudError> {
        object_group::delete_unless_cluster_goes(cloud, place(spec), &spec.objects).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kube::ObjectRef;

    #[test]
    fn every_field_has_a_rule() {
        super::super::assert_every_field_has_a_rule::<Samples>(&SamplesSpec {
            cluster: "c1".into(),
            location: "europe-west2-a".into(),
            cluster_ca: Known::Value("sha256:ca".into()),
            namespace: "sample".into(),
            service: cluster_service("c1"),
            objects: Objects::new(),
        });
    }

    #[test]
    fn the_template_makes_sleep_httpbin_and_the_clusters_own_httpbin_service() {
        let objects = crate::kube::templates::render(
            TEMPLATE,
            &context("sample", &cluster_service("istio-cluster1")),
        )
        .unwrap();
        let refs: Vec<String> = objects
            .as_array()
            .unwrap()
            .iter()
            .map(|o| ObjectRef::of(o).unwrap().to_string())
            .collect();
        assert_eq!(
            refs,
            [
                "v1/ServiceAccount/sample/sleep",
                "v1/Service/sample/sleep",
                "apps/v1/Deployment/sample/sleep",
                "v1/ServiceAccount/sample/httpbin",
                "v1/Service/sample/httpbin",
                "v1/Service/sample/httpbin-istio-cluster1",
                "apps/v1/Deployment/sample/httpbin",
            ]
        );
        let own = &objects[5];
        assert_eq!(own["spec"]["selector"]["app"], "httpbin");
        assert_eq!(own["spec"]["ports"][0]["port"], 8000);
        assert_eq!(
            objects[6]["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"],
            8080
        );
    }
}

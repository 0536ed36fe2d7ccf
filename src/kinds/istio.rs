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
use serde_json::Value;
use std::collections::BTreeMap;

use super::{
    forces_replacement, updatable, Api, Applied, Field, Kind, Limits, Observed, ResourceKind,
};
use crate::cloud::{Cloud, CloudError};
use crate::kube::manifest::{has_condition, rolled_out};
use crate::kube::ObjectRef;
use crate::mesh::ControlPlaneValues;
use crate::resource::outputs::Known;
use crate::resource::Ids;

/// The kind.
pub struct Istio;

/// The annotation holding the digest of the rendered object meshform applied.
pub const DIGEST_ANNOTATION: &str = "meshform.dev/digest";

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

/// The order objects are applied in; deleted in reverse.
fn rank(kind: &str) -> u8 {
    match kind {
        "CustomResourceDefinition" => 0,
        "Namespace" => 1,
        "ServiceAccount" | "ConfigMap" | "Secret" => 2,
        "ClusterRole" | "Role" => 3,
        "ClusterRoleBinding" | "RoleBinding" => 4,
        "Service" => 5,
        "MutatingWebhookConfiguration" | "ValidatingWebhookConfiguration" => 7,
        _ => 6,
    }
}

/// The objects of `objects` in apply order.
fn in_order(objects: &BTreeMap<String, String>) -> Vec<(ObjectRef, &String)> {
    let mut out: Vec<(ObjectRef, &String)> = objects
        .iter()
        .filter_map(|(r, d)| ObjectRef::parse(r).map(|r| (r, d)))
        .collect();
    out.sort_by_key(|(r, _)| (rank(&r.kind), r.clone()));
    out
}

/// `5 CustomResourceDefinition, 1 Deployment, …` for a set of references.
pub fn summary<'a>(refs: impl IntoIterator<Item = &'a String>) -> String {
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for r in refs.into_iter().filter_map(|r| ObjectRef::parse(r)) {
        *counts.entry(r.kind).or_default() += 1;
    }
    let total: usize = counts.values().sum();
    let parts: Vec<String> = counts.iter().map(|(k, n)| format!("{n} {k}")).collect();
    format!("{total} objects: {}", parts.join(", "))
}

/// The rendered object `digest` stamped with its digest, ready to apply.
fn stamped(cloud: &Cloud, digest: &str) -> Result<Value, CloudError> {
    let mut object = cloud.objects.get(digest)?;
    object["metadata"]["annotations"][DIGEST_ANNOTATION] = Value::String(digest.to_string());
    Ok(object)
}

async fn apply(
    cloud: &Cloud,
    spec: &IstioSpec,
    before: Option<&IstioSpec>,
) -> Result<Applied, CloudError> {
    let (loc, cluster) = (spec.location.as_str(), spec.cluster.as_str());
    let unchanged = |r: &ObjectRef, d: &String| {
        before.is_some_and(|b| b.objects.get(&r.to_string()) == Some(d))
    };
    let ordered = in_order(&spec.objects);
    let (crds, rest): (Vec<_>, Vec<_>) = ordered.iter().partition(|(r, _)| rank(&r.kind) == 0);
    let changed_crds: Vec<_> = crds.iter().filter(|(r, d)| !unchanged(r, d)).collect();
    if !changed_crds.is_empty() {
        crate::progress::note(format!(
            "applying {} CustomResourceDefinitions",
            changed_crds.len()
        ));
    }
    for (_, d) in &changed_crds {
        cloud
            .kube
            .apply_manifest(loc, cluster, &stamped(cloud, d)?)
            .await?;
    }
    if !changed_crds.is_empty() {
        crate::progress::note("waiting for the CustomResourceDefinitions to be Established");
    }
    for (r, _) in &changed_crds {
        cloud
            .kube
            .wait_for(loc, cluster, r, "Established", |o| {
                has_condition(o, "Established")
            })
            .await?;
    }
    let changed: Vec<_> = rest.iter().filter(|(r, d)| !unchanged(r, d)).collect();
    if !changed.is_empty() {
        crate::progress::note(format!("applying {} objects", changed.len()));
    }
    for (_, d) in &changed {
        cloud
            .kube
            .apply_manifest(loc, cluster, &stamped(cloud, d)?)
            .await?;
    }
    if let Some(before) = before {
        let gone: BTreeMap<String, String> = before
            .objects
            .iter()
            .filter(|(r, _)| !spec.objects.contains_key(*r))
            .map(|(r, d)| (r.clone(), d.clone()))
            .collect();
        if !gone.is_empty() {
            crate::progress::note(format!("pruning {} objects no longer rendered", gone.len()));
        }
        delete_all(cloud, spec, &gone).await?;
    }
    for (r, _) in rest.iter().filter(|(r, _)| r.kind == "Deployment") {
        crate::progress::note(format!("waiting for Deployment {} to be Available", r.name));
        cloud
            .kube
            .wait_for(loc, cluster, r, "rolled out", rolled_out)
            .await?;
    }
    Ok(Applied::default())
}

async fn delete_all(
    cloud: &Cloud,
    spec: &IstioSpec,
    objects: &BTreeMap<String, String>,
) -> Result<(), CloudError> {
    for (r, _) in in_order(objects).into_iter().rev() {
        cloud
            .kube
            .delete_manifest(&spec.location, &spec.cluster, &r)
            .await?;
    }
    Ok(())
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
        let Some(connected) = cloud.kube.connect(&spec.location, &spec.cluster).await? else {
            return Ok(None);
        };
        let mut objects = BTreeMap::new();
        for (r, _) in in_order(&spec.objects) {
            if let Some(o) = cloud
                .kube
                .read_manifest(&spec.location, &spec.cluster, &r)
                .await?
            {
                let digest = o["metadata"]["annotations"][DIGEST_ANNOTATION]
                    .as_str()
                    .unwrap_or("(changed outside meshform)");
                objects.insert(r.to_string(), digest.to_string());
            }
        }
        if objects.is_empty() {
            return Ok(None);
        }
        Ok(Some(Observed {
            ids: Ids::default(),
            spec: IstioSpec {
                cluster_ca: Known::Value(connected.ca_digest),
                summary: summary(objects.keys()),
                objects,
                ..spec.clone()
            },
            outputs: Default::default(),
            deleting: None,
        }))
    }

    async fn create(cloud: &Cloud, spec: &IstioSpec) -> Result<Applied, CloudError> {
        apply(cloud, spec, None).await
    }

    async fn update(
        cloud: &Cloud,
        before: &IstioSpec,
        after: &IstioSpec,
    ) -> Result<Applied, CloudError> {
        apply(cloud, after, Some(before)).await
    }

    async fn delete(cloud: &Cloud, spec: &IstioSpec) -> Result<(), CloudError> {
        // A cluster that is going takes its objects with it: no calls to an
        // API server that may no longer answer.
        if !cloud
            .kube
            .cluster_stays(&spec.location, &spec.cluster)
            .await?
        {
            return Ok(());
        }
        match delete_all(cloud, spec, &spec.objects).await {
            // A cluster that is going takes its objects with it.
            Err(e)
                if !cloud
                    .kube
                    .cluster_stays(&spec.location, &spec.cluster)
                    .await? =>
            {
                tracing::info!(cluster = %spec.cluster, error = %e, "gone with its cluster");
                Ok(())
            }
            other => other,
        }
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

    #[test]
    fn crds_first_webhooks_last() {
        let s = spec();
        let kinds: Vec<String> = in_order(&s.objects)
            .into_iter()
            .map(|(r, _)| r.kind)
            .collect();
        assert_eq!(
            kinds,
            [
                "CustomResourceDefinition",
                "ServiceAccount",
                "Deployment",
                "ValidatingWebhookConfiguration"
            ]
        );
        assert_eq!(
            s.summary,
            "4 objects: 1 CustomResourceDefinition, 1 Deployment, 1 ServiceAccount, 1 ValidatingWebhookConfiguration"
        );
    }
}

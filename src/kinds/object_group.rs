//! A tracked group of rendered objects in one cluster (Istio's control
//! plane, an east-west gateway): every object by reference and the digest
//! of its rendered form in the object store. Applied CRDs first (waited
//! until Established), then the rest in dependency order; objects no longer
//! rendered are pruned; deleted in reverse. Drift is judged by the digest
//! meshform stamps on every object, so what the API server defaults or a
//! controller patches at run time is not drift.

use serde_json::Value;
use std::collections::BTreeMap;

use crate::cloud::{Cloud, CloudError};
use crate::kube::manifest::{has_condition, rolled_out};
use crate::kube::ObjectRef;

/// The annotation holding the digest of the rendered object meshform applied.
pub const DIGEST_ANNOTATION: &str = "meshform.dev/digest";

/// Objects: `apiVersion/Kind/namespace/name` → digest in the object store.
pub type Objects = BTreeMap<String, String>;

/// The order objects are applied in; deleted in reverse.
fn rank(kind: &str) -> u8 {
    match kind {
        "CustomResourceDefinition" => 0,
        "Namespace" => 1,
        // A token Secret names its ServiceAccount, which must exist first.
        "ServiceAccount" => 2,
        "ConfigMap" | "Secret" => 3,
        "ClusterRole" | "Role" => 4,
        "ClusterRoleBinding" | "RoleBinding" => 5,
        "Service" => 6,
        "MutatingWebhookConfiguration" | "ValidatingWebhookConfiguration" => 8,
        _ => 7,
    }
}

/// The objects of `objects` in apply order.
pub fn in_order(objects: &Objects) -> Vec<(ObjectRef, &String)> {
    let mut out: Vec<(ObjectRef, &String)> = objects
        .iter()
        .filter_map(|(r, d)| ObjectRef::parse(r).map(|r| (r, d)))
        .collect();
    out.sort_by_key(|(r, _)| (rank(&r.kind), r.clone()));
    out
}

/// `5 objects: 1 CustomResourceDefinition, 1 Deployment, …` for a set of references.
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

/// Where a group lives.
#[derive(Debug, Clone, Copy)]
pub struct Place<'a> {
    /// The cluster's location.
    pub location: &'a str,
    /// The cluster's name.
    pub cluster: &'a str,
}

/// Applies the objects of `objects` that differ from `before` (all without
/// it), CRDs first and waited until Established, and prunes what `before`
/// had and `objects` has not; then waits for every Deployment to roll out.
///
/// # Errors
/// An API failure, or a wait that times out.
pub async fn apply(
    cloud: &Cloud,
    at: Place<'_>,
    objects: &Objects,
    before: Option<&Objects>,
) -> Result<(), CloudError> {
    let (loc, cluster) = (at.location, at.cluster);
    let unchanged =
        |r: &ObjectRef, d: &String| before.is_some_and(|b| b.get(&r.to_string()) == Some(d));
    let ordered = in_order(objects);
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
        let gone: Objects = before
            .iter()
            .filter(|(r, _)| !objects.contains_key(*r))
            .map(|(r, d)| (r.clone(), d.clone()))
            .collect();
        if !gone.is_empty() {
            crate::progress::note(format!("pruning {} objects no longer rendered", gone.len()));
        }
        delete(cloud, at, &gone).await?;
    }
    for (r, _) in rest.iter().filter(|(r, _)| r.kind == "Deployment") {
        crate::progress::note(format!("waiting for Deployment {} to be Available", r.name));
        cloud
            .kube
            .wait_for(loc, cluster, r, "rolled out", rolled_out)
            .await?;
    }
    Ok(())
}

/// Deletes `objects` in reverse apply order, each waited until gone (an
/// object with finalizers, such as a LoadBalancer Service, stays until its
/// controller has removed what it made).
///
/// # Errors
/// An API failure, or a wait that times out.
pub async fn delete(cloud: &Cloud, at: Place<'_>, objects: &Objects) -> Result<(), CloudError> {
    for (r, _) in in_order(objects).into_iter().rev() {
        if r.kind == "Service" {
            crate::progress::note(format!(
                "deleting Service {}; waiting until it is gone with what it made",
                r.name
            ));
        }
        cloud
            .kube
            .delete_manifest(at.location, at.cluster, &r)
            .await?;
    }
    Ok(())
}

/// What a read of a group found: the cluster's CA digest and every object
/// that exists, with the digest stamped on it.
#[derive(Debug)]
pub struct Found {
    /// The digest of the cluster's CA (a new cluster is a new group).
    pub cluster_ca: String,
    /// The objects that exist: reference → stamped digest.
    pub objects: Objects,
    /// The live objects themselves, by reference.
    pub live: BTreeMap<String, Value>,
}

/// Reads every object of `objects`; `None` when the cluster cannot be
/// connected to or none of them exists.
///
/// # Errors
/// An API failure.
pub async fn read(
    cloud: &Cloud,
    at: Place<'_>,
    objects: &Objects,
) -> Result<Option<Found>, CloudError> {
    let Some(connected) = cloud.kube.connect(at.location, at.cluster).await? else {
        return Ok(None);
    };
    let mut found = Objects::new();
    let mut live = BTreeMap::new();
    for (r, _) in in_order(objects) {
        if let Some(o) = cloud
            .kube
            .read_manifest(at.location, at.cluster, &r)
            .await?
        {
            let digest = o["metadata"]["annotations"][DIGEST_ANNOTATION]
                .as_str()
                .unwrap_or("(changed outside meshform)");
            found.insert(r.to_string(), digest.to_string());
            live.insert(r.to_string(), o);
        }
    }
    if found.is_empty() {
        return Ok(None);
    }
    Ok(Some(Found {
        cluster_ca: connected.ca_digest,
        objects: found,
        live,
    }))
}

/// Deletes `objects` unless the cluster goes anyway (then it takes them
/// with it, and an API that no longer answers is not asked), also when the
/// delete fails because the cluster started going meanwhile.
///
/// # Errors
/// An API failure while the cluster stays.
pub async fn delete_unless_cluster_goes(
    cloud: &Cloud,
    at: Place<'_>,
    objects: &Objects,
) -> Result<(), CloudError> {
    if !cloud.kube.cluster_stays(at.location, at.cluster).await? {
        return Ok(());
    }
    match delete(cloud, at, objects).await {
        Err(e) if !cloud.kube.cluster_stays(at.location, at.cluster).await? => {
            tracing::info!(cluster = %at.cluster, error = %e, "gone with its cluster");
            Ok(())
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crds_first_webhooks_last() {
        let objects = Objects::from([
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
        let kinds: Vec<String> = in_order(&objects)
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
            summary(objects.keys()),
            "4 objects: 1 CustomResourceDefinition, 1 Deployment, 1 ServiceAccount, 1 ValidatingWebhookConfiguration"
        );
    }
}

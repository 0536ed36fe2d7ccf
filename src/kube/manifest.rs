//! Objects of any type, named by `apiVersion/Kind/namespace/name` (Istio's
//! rendered manifests): server-side apply, read, delete-and-wait, and the
//! waits for a CRD to be Established and a Deployment to be Available.
//! Resource types are found through the API server's discovery.

use kube::api::{Api, ApiResource, DeleteParams, DynamicObject, Patch, PatchParams};
use kube::core::GroupVersionKind;
use kube::discovery::Scope;
use serde_json::Value;
use std::time::{Duration, Instant};

use super::{Connected, Kube, KubeError};

/// Where an object is and what it is: `apiVersion/Kind/namespace/name`
/// (`namespace` empty for cluster-scoped objects), e.g.
/// `apps/v1/Deployment/istio-system/istiod`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ObjectRef {
    /// `group/version`, or `version` for the core group.
    pub api_version: String,
    /// The kind.
    pub kind: String,
    /// The namespace, empty for cluster-scoped objects.
    pub namespace: String,
    /// The name.
    pub name: String,
}

impl ObjectRef {
    /// The reference of a rendered `object`, if it has apiVersion, kind and name.
    pub fn of(object: &Value) -> Option<ObjectRef> {
        let s = |v: &Value| v.as_str().map(str::to_string);
        Some(ObjectRef {
            api_version: s(&object["apiVersion"])?,
            kind: s(&object["kind"])?,
            namespace: s(&object["metadata"]["namespace"]).unwrap_or_default(),
            name: s(&object["metadata"]["name"])?,
        })
    }

    /// Parses `apiVersion/Kind/namespace/name` (apiVersion may hold one `/`).
    pub fn parse(text: &str) -> Option<ObjectRef> {
        let parts: Vec<&str> = text.split('/').collect();
        let (api_version, rest) = match parts.len() {
            5 => (format!("{}/{}", parts[0], parts[1]), &parts[2..]),
            4 => (parts[0].to_string(), &parts[1..]),
            _ => return None,
        };
        Some(ObjectRef {
            api_version,
            kind: rest[0].to_string(),
            namespace: rest[1].to_string(),
            name: rest[2].to_string(),
        })
    }

    fn gvk(&self) -> GroupVersionKind {
        let (group, version) = match self.api_version.split_once('/') {
            Some((g, v)) => (g, v),
            None => ("", self.api_version.as_str()),
        };
        GroupVersionKind::gvk(group, version, &self.kind)
    }
}

impl std::fmt::Display for ObjectRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}/{}/{}/{}",
            self.api_version, self.kind, self.namespace, self.name
        )
    }
}

fn api_err(context: String) -> impl FnOnce(kube::Error) -> KubeError {
    move |source| KubeError::Api { context, source }
}

/// Resource types a client found, by `apiVersion/Kind`.
pub type TypeCache =
    std::sync::Arc<std::sync::Mutex<std::collections::HashMap<String, (ApiResource, Scope)>>>;

async fn api_for(c: &Connected, r: &ObjectRef) -> Result<Api<DynamicObject>, KubeError> {
    let key = format!("{}/{}", r.api_version, r.kind);
    let cached = c
        .types
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .get(&key)
        .cloned();
    let (resource, scope) = match cached {
        Some(found) => found,
        None => {
            let (resource, caps) = kube::discovery::pinned_kind(&c.client, &r.gvk())
                .await
                .map_err(api_err(format!("finding the resource type of {}", r.kind)))?;
            let found = (resource, caps.scope);
            c.types
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(key, found.clone());
            found
        }
    };
    Ok(match scope {
        Scope::Namespaced => Api::namespaced_with(c.client.clone(), &r.namespace, &resource),
        Scope::Cluster => Api::all_with(c.client.clone(), &resource),
    })
}

/// Whether discovery found no such type: the API server does not serve the
/// kind (404 for its group version, e.g. in a new cluster without the CRD),
/// or serves the group version without it.
fn type_missing(e: &KubeError) -> bool {
    match e {
        KubeError::Api {
            source: kube::Error::Discovery(_),
            ..
        } => true,
        KubeError::Api {
            source: kube::Error::Api(s),
            ..
        } => s.code == 404,
        _ => false,
    }
}

impl Kube {
    /// Applies `object` server-side as meshform's field manager.
    ///
    /// # Errors
    /// The cluster cannot be reached, the type is unknown, or the API refuses.
    pub async fn apply_manifest(
        &self,
        location: &str,
        cluster: &str,
        object: &Value,
    ) -> Result<(), KubeError> {
        let r = ObjectRef::of(object).ok_or_else(|| KubeError::Config {
            cluster: cluster.to_string(),
            message: "an object without apiVersion, kind or metadata.name".into(),
        })?;
        let c = self.connected(location, cluster).await?;
        api_for(&c, &r)
            .await?
            .patch(
                &r.name,
                &PatchParams::apply(super::FIELD_MANAGER).force(),
                &Patch::Apply(object),
            )
            .await
            .map_err(api_err(format!("applying {r}")))?;
        Ok(())
    }

    /// Reads the object `r`; `None` when it, its type or its cluster does not exist.
    ///
    /// # Errors
    /// The API fails.
    pub async fn read_manifest(
        &self,
        location: &str,
        cluster: &str,
        r: &ObjectRef,
    ) -> Result<Option<Value>, KubeError> {
        let Some(c) = self.connect(location, cluster).await? else {
            return Ok(None);
        };
        let api = match api_for(&c, r).await {
            Ok(api) => api,
            // A CRD-defined type that is gone: so are its objects.
            Err(e) if type_missing(&e) => return Ok(None),
            Err(e) => return Err(e),
        };
        let found = api
            .get_opt(&r.name)
            .await
            .map_err(api_err(format!("reading {r}")))?;
        Ok(found.map(|o| serde_json::to_value(o).expect("objects serialize")))
    }

    /// Deletes the object `r` and waits until it is gone; gone already (or
    /// its type or cluster gone) is fine.
    ///
    /// # Errors
    /// The API fails.
    pub async fn delete_manifest(
        &self,
        location: &str,
        cluster: &str,
        r: &ObjectRef,
    ) -> Result<(), KubeError> {
        let Some(c) = self.connect(location, cluster).await? else {
            return Ok(());
        };
        let api = match api_for(&c, r).await {
            Ok(api) => api,
            Err(e) if type_missing(&e) => return Ok(()),
            Err(e) => return Err(e),
        };
        match api.delete(&r.name, &DeleteParams::default()).await {
            Ok(_) => {}
            Err(kube::Error::Api(s)) if s.code == 404 => return Ok(()),
            Err(e) => return Err(api_err(format!("deleting {r}"))(e)),
        }
        self.wait_for(location, cluster, r, "deleted", |o| o.is_none())
            .await
    }

    /// Waits until `ready` holds for the object `r` (or its absence),
    /// polling with back-off for up to ten minutes.
    ///
    /// # Errors
    /// The API fails, or ten minutes pass.
    pub async fn wait_for(
        &self,
        location: &str,
        cluster: &str,
        r: &ObjectRef,
        what: &str,
        ready: impl Fn(Option<&Value>) -> bool,
    ) -> Result<(), KubeError> {
        let start = Instant::now();
        loop {
            let found = self.read_manifest(location, cluster, r).await?;
            if ready(found.as_ref()) {
                return Ok(());
            }
            if start.elapsed() > Duration::from_secs(600) {
                return Err(KubeError::StillThere(format!(
                    "{r} not {what} after 10 minutes"
                )));
            }
            tokio::time::sleep(crate::gcp::poll_interval(start.elapsed())).await;
        }
    }
}

/// Whether `object` has condition `kind` with status True.
pub fn has_condition(object: Option<&Value>, kind: &str) -> bool {
    object
        .and_then(|o| o["status"]["conditions"].as_array())
        .is_some_and(|cs| {
            cs.iter()
                .any(|c| c["type"] == kind && c["status"] == "True")
        })
}

/// Whether a Deployment has finished rolling out its current spec, as
/// `kubectl rollout status` judges: the controller saw this generation,
/// every replica is updated and available, and it reports Available.
pub fn rolled_out(deployment: Option<&Value>) -> bool {
    let Some(d) = deployment else {
        return false;
    };
    let status = &d["status"];
    let replicas = d["spec"]["replicas"].as_i64().unwrap_or(1);
    let generation = d["metadata"]["generation"].as_i64().unwrap_or(0);
    status["observedGeneration"].as_i64().unwrap_or(-1) >= generation
        && status["updatedReplicas"].as_i64().unwrap_or(0) >= replicas
        && status["availableReplicas"].as_i64().unwrap_or(0) >= replicas
        && has_condition(Some(d), "Available")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_round_trip() {
        for text in [
            "apps/v1/Deployment/istio-system/istiod",
            "v1/Service/istio-system/istiod",
            "apiextensions.k8s.io/v1/CustomResourceDefinition//gateways.networking.istio.io",
        ] {
            assert_eq!(ObjectRef::parse(text).unwrap().to_string(), text);
        }
        let obj = serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "istio", "namespace": "istio-system"}});
        assert_eq!(
            ObjectRef::of(&obj).unwrap().to_string(),
            "v1/ConfigMap/istio-system/istio"
        );
        assert!(ObjectRef::parse("nope").is_none());
    }

    #[test]
    fn a_rollout_is_done_when_the_current_generation_is_available() {
        let d = |observed: i64, available: i64| {
            serde_json::json!({"metadata": {"generation": 2}, "spec": {"replicas": 1},
                "status": {"observedGeneration": observed, "updatedReplicas": 1,
                    "availableReplicas": available,
                    "conditions": [{"type": "Available", "status": "True"}]}})
        };
        assert!(rolled_out(Some(&d(2, 1))));
        assert!(!rolled_out(Some(&d(1, 1))), "the old generation's status");
        assert!(!rolled_out(Some(&d(2, 0))));
        assert!(!rolled_out(None));
    }
}

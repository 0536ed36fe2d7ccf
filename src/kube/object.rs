//! What every Kubernetes kind shares: server-side apply of a rendered
//! template, a typed read, and delete-and-wait. A cluster that is gone, or
//! going, takes its objects with it.

use kube::api::{Api, ApiResource, DeleteParams, DynamicObject, Patch, PatchParams};
use kube::Resource;
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::time::{Duration, Instant};

use super::{Kube, KubeError};
use crate::resource::Ids;

/// A client of one cluster, with the digest of the CA it trusts.
#[derive(Clone)]
pub struct Connected {
    /// The client.
    pub client: kube::Client,
    /// The digest of the cluster CA (PEM) the client verifies against.
    pub ca_digest: String,
    /// Resource types found through discovery, by `apiVersion/Kind`: one
    /// discovery call per type and client, not one per object.
    pub types: super::manifest::TypeCache,
}

/// Where an object is: its cluster, namespace (for namespaced kinds) and name.
#[derive(Debug, Clone, Copy)]
pub struct Placement<'a> {
    /// The cluster's location.
    pub location: &'a str,
    /// The cluster's name.
    pub cluster: &'a str,
    /// The namespace, `None` for cluster-scoped kinds.
    pub namespace: Option<&'a str>,
    /// The object's name.
    pub name: &'a str,
}

fn dynamic<K: Resource<DynamicType = ()>>(
    client: &kube::Client,
    at: &Placement<'_>,
) -> Api<DynamicObject> {
    let resource = ApiResource::erase::<K>(&());
    match at.namespace {
        Some(ns) => Api::namespaced_with(client.clone(), ns, &resource),
        None => Api::all_with(client.clone(), &resource),
    }
}

fn api_err(context: String) -> impl FnOnce(kube::Error) -> KubeError {
    move |source| KubeError::Api { context, source }
}

impl Kube {
    /// Reads the object of type `K`; `None` when it, or its cluster, does
    /// not exist. Also returns the CA digest of the cluster it was read from.
    ///
    /// # Errors
    /// The API fails.
    pub async fn read_object<K>(&self, at: &Placement<'_>) -> Result<Option<(K, String)>, KubeError>
    where
        K: Resource<DynamicType = ()> + DeserializeOwned,
    {
        let Some(c) = self.connect(at.location, at.cluster).await? else {
            return Ok(None);
        };
        let what = format!("reading {} {}", K::kind(&()), at.name);
        let Some(found) = dynamic::<K>(&c.client, at)
            .get_opt(at.name)
            .await
            .map_err(api_err(what.clone()))?
        else {
            return Ok(None);
        };
        let typed: K = found.try_parse().map_err(|e| KubeError::Config {
            cluster: at.cluster.to_string(),
            message: format!("{what}: {e}"),
        })?;
        Ok(Some((typed, c.ca_digest)))
    }

    /// Creates or updates the object `K` rendered from `template` with
    /// server-side apply, as meshform's field manager, taking ownership of
    /// the fields it sets.
    ///
    /// # Errors
    /// The cluster cannot be reached, the template fails, or the API refuses.
    pub async fn apply_object<K: Resource<DynamicType = ()>>(
        &self,
        at: &Placement<'_>,
        template: &str,
        context: &Value,
    ) -> Result<Ids, KubeError> {
        let object = super::templates::render(template, context)?;
        self.apply_value::<K>(at, &object).await
    }

    /// Creates or updates `object` (of type `K`, built in code) with
    /// server-side apply, as meshform's field manager. The object is never
    /// logged: it may hold secret material.
    ///
    /// # Errors
    /// The cluster cannot be reached, or the API refuses.
    pub async fn apply_value<K: Resource<DynamicType = ()>>(
        &self,
        at: &Placement<'_>,
        object: &Value,
    ) -> Result<Ids, KubeError> {
        let c = self.connected(at.location, at.cluster).await?;
        let applied = dynamic::<K>(&c.client, at)
            .patch(
                at.name,
                &PatchParams::apply(super::FIELD_MANAGER).force(),
                &Patch::Apply(object),
            )
            .await
            .map_err(api_err(format!("applying {} {}", K::kind(&()), at.name)))?;
        Ok(Ids {
            id: applied.metadata.uid,
            self_link: None,
        })
    }

    /// Deletes the object and waits until it is gone (a namespace terminates
    /// while its objects are removed); gone already is fine, and so is a
    /// failure when its cluster is gone or being deleted.
    ///
    /// # Errors
    /// The API fails while the cluster stays.
    pub async fn delete_object<K: Resource<DynamicType = ()>>(
        &self,
        at: &Placement<'_>,
    ) -> Result<(), KubeError> {
        match self.delete_and_wait::<K>(at).await {
            Err(e) if !self.cluster_stays(at.location, at.cluster).await? => {
                tracing::info!(object = at.name, error = %e, "gone with its cluster");
                Ok(())
            }
            other => other,
        }
    }

    async fn delete_and_wait<K: Resource<DynamicType = ()>>(
        &self,
        at: &Placement<'_>,
    ) -> Result<(), KubeError> {
        let Some(c) = self.connect(at.location, at.cluster).await? else {
            return Ok(());
        };
        let api = dynamic::<K>(&c.client, at);
        let ctx = format!("deleting {} {}", K::kind(&()), at.name);
        match api.delete(at.name, &DeleteParams::default()).await {
            Ok(_) => {}
            Err(kube::Error::Api(s)) if s.code == 404 => return Ok(()),
            Err(e) => return Err(api_err(ctx)(e)),
        }
        let start = Instant::now();
        while api
            .get_opt(at.name)
            .await
            .map_err(api_err(ctx.clone()))?
            .is_some()
        {
            if start.elapsed() > Duration::from_secs(600) {
                return Err(KubeError::StillThere(format!(
                    "{} {} still terminating after 10 minutes",
                    K::kind(&()),
                    at.name
                )));
            }
            tokio::time::sleep(crate::gcp::poll_interval(start.elapsed())).await;
        }
        Ok(())
    }
}

//! `namespace.*`: namespaces, applied server-side with meshform's field manager.

use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, DeleteParams, Patch, PatchParams};
use serde_json::{json, Map, Value};
use std::time::{Duration, Instant};

use super::{KubeError, FIELD_MANAGER};
use crate::resource::{attr, Attrs, Ids, Live};

fn api_err(context: String) -> impl FnOnce(kube::Error) -> KubeError {
    move |source| KubeError::Api { context, source }
}

pub(super) async fn read(client: &kube::Client, given: &Attrs) -> Result<Option<Live>, KubeError> {
    let api: Api<Namespace> = Api::all(client.clone());
    let name = attr::str(given, "name");
    let Some(ns) = api
        .get_opt(name)
        .await
        .map_err(api_err(format!("reading namespace {name}")))?
    else {
        return Ok(None);
    };
    // Only the labels meshform manages are compared.
    let live_labels = ns.metadata.labels.unwrap_or_default();
    let mut labels = Map::new();
    if let Some(Value::Object(wanted)) = given.get("labels") {
        for key in wanted.keys() {
            if let Some(v) = live_labels.get(key) {
                labels.insert(key.clone(), Value::String(v.clone()));
            }
        }
    }
    let mut attrs = given.clone();
    attrs.insert("name".into(), json!(ns.metadata.name));
    attrs.insert("labels".into(), Value::Object(labels));
    Ok(Some(Live {
        ids: Ids {
            id: ns.metadata.uid,
            self_link: None,
        },
        attrs,
        deleting: ns
            .metadata
            .deletion_timestamp
            .map(|_| "Kubernetes is deleting it (Terminating)".to_string()),
    }))
}

pub(super) async fn apply(client: &kube::Client, attrs: &Attrs) -> Result<Ids, KubeError> {
    let api: Api<Namespace> = Api::all(client.clone());
    let name = attr::str(attrs, "name");
    let object = super::templates::render(
        "namespace.json",
        &json!({"name": name, "labels": attrs.get("labels").cloned().unwrap_or(json!({}))}),
    )?;
    let ns = api
        .patch(
            name,
            &PatchParams::apply(FIELD_MANAGER).force(),
            &Patch::Apply(&object),
        )
        .await
        .map_err(api_err(format!("applying namespace {name}")))?;
    Ok(Ids {
        id: ns.metadata.uid,
        self_link: None,
    })
}

pub(super) async fn delete(client: &kube::Client, attrs: &Attrs) -> Result<(), KubeError> {
    let api: Api<Namespace> = Api::all(client.clone());
    let name = attr::str(attrs, "name");
    let ctx = format!("deleting namespace {name}");
    match api.delete(name, &DeleteParams::default()).await {
        Ok(_) => {}
        Err(kube::Error::Api(s)) if s.code == 404 => return Ok(()),
        Err(e) => return Err(api_err(ctx)(e)),
    }
    // A namespace terminates while its objects are removed.
    let start = Instant::now();
    while api
        .get_opt(name)
        .await
        .map_err(api_err(ctx.clone()))?
        .is_some()
    {
        if start.elapsed() > Duration::from_secs(600) {
            return Err(KubeError::Config {
                cluster: String::new(),
                message: format!("namespace {name} still terminating after 10 minutes"),
            });
        }
        tokio::time::sleep(crate::gcp::poll_interval(start.elapsed())).await;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::emulator::kubeapi::KubeApis;

    /// The emulated API server defaults a namespace as the real one does
    /// (the `kubernetes.io/metadata.name` label, the `kubernetes`
    /// finalizer, the phase) and another manager may add labels: none of
    /// that is drift, since only the labels meshform manages are compared.
    #[tokio::test]
    async fn a_defaulted_namespace_with_foreign_labels_reads_back_as_applied() {
        let dir = tempfile::tempdir().unwrap();
        let apis = KubeApis::new(dir.path(), 0.001);
        let endpoint = apis
            .start("projects/p/locations/l/clusters/c")
            .await
            .unwrap();
        super::super::install_crypto_provider();
        let mut config = kube::Config::new(endpoint.url().parse().unwrap());
        config.root_cert = Some(super::super::pem_to_der(&endpoint.ca_pem));
        config.auth_info = serde_json::from_value(json!({"token": "ya29.t"})).unwrap();
        let client = kube::Client::try_from(config).unwrap();

        let mut given = Attrs::new();
        given.insert("name".into(), json!("istio-system"));
        given.insert("labels".into(), json!({"topology.istio.io/network": "n1"}));
        apply(&client, &given).await.unwrap();
        let api: Api<Namespace> = Api::all(client.clone());
        api.patch(
            "istio-system",
            &PatchParams::apply("someone-else"),
            &Patch::Apply(json!({"apiVersion": "v1", "kind": "Namespace",
                "metadata": {"name": "istio-system", "labels": {"team": "mesh"}}})),
        )
        .await
        .unwrap();
        let ns = api.get("istio-system").await.unwrap();
        assert_eq!(
            ns.spec.unwrap().finalizers,
            Some(vec!["kubernetes".to_string()])
        );
        assert_eq!(
            ns.metadata.labels.unwrap()["kubernetes.io/metadata.name"],
            "istio-system"
        );

        let live = read(&client, &given)
            .await
            .unwrap()
            .expect("namespace exists");
        assert_eq!(
            live.attrs, given,
            "defaulted and foreign fields are not drift"
        );
        apis.stop_all().await;
    }
}

//! istiod's own CA, as MESH.md describes it: an istiod that starts without
//! the Secret `cacerts` in `istio-system` makes a self-signed root, stores
//! it as the Secret `istio-ca-secret` there, and keeps using it; `cacerts`
//! created later changes nothing (istio/istio
//! `security/pkg/pki/ca/ca.go`, `NewSelfSignedIstioCAOptions`).
//!
//! An istiod is a Deployment in `istio-system` labelled `app: istiod` with
//! at least one replica; its pods start when its rollout finishes (it
//! becomes Available, see `deployments.rs`). At that moment, if neither
//! `istio-ca-secret` nor `cacerts` exists, the controller creates
//! `istio-ca-secret`, made out to the trust domain of the istiod's mesh
//! config (ConfigMap `istio` or `istio-<rev>`, `data.mesh`, `trustDomain`;
//! `cluster.local` without one). It never replaces or deletes it.

use serde_json::Value;

use super::super::deployments;
use super::super::meta::meta_str;
use super::super::store::{key, Store};
use super::super::watch::Event;
use super::{ca_secret, At, InCluster};

/// The namespace istiod runs in.
const NAMESPACE: &str = "istio-system";
/// The plugged-in CA istiod mounts when it exists.
const CACERTS: &str = "cacerts";

/// Makes `istio-ca-secret` when an istiod starts without `cacerts`.
#[derive(Debug)]
pub struct IstiodCa;

/// The istiods of `store` with the moment their pods start (their rollout
/// finishes), earliest first.
fn istiods(store: &Store, latency_scale: f64) -> Vec<(u64, &Value)> {
    let mut found: Vec<(u64, &Value)> = store
        .list("apps/deployments", Some(NAMESPACE))
        .into_iter()
        .filter(|e| e.object["metadata"]["labels"]["app"] == "istiod")
        .filter(|e| e.object["spec"]["replicas"].as_i64().unwrap_or(1) > 0)
        .map(|e| {
            (
                deployments::available_at(e.spec_changed_ms, latency_scale),
                &e.object,
            )
        })
        .collect();
    found.sort_by_key(|(at, _)| *at);
    found
}

fn secret_key(name: &str) -> String {
    key("/secrets", Some(NAMESPACE), name)
}

/// The trust domain in the mesh config of `istiod`'s revision.
fn trust_domain(store: &Store, istiod: &Value) -> String {
    let config = match istiod["metadata"]["labels"]["istio.io/rev"].as_str() {
        None | Some("default") | Some("") => "istio".to_string(),
        Some(rev) => format!("istio-{rev}"),
    };
    store
        .get(&key("/configmaps", Some(NAMESPACE), &config))
        .and_then(|e| e.object["data"]["mesh"].as_str())
        .and_then(|mesh| serde_saphyr::from_str::<Value>(mesh).ok())
        .and_then(|mesh| mesh["trustDomain"].as_str().map(str::to_string))
        .filter(|t| !t.is_empty())
        .unwrap_or_else(|| "cluster.local".into())
}

impl InCluster for IstiodCa {
    fn name(&self) -> &'static str {
        "istiod-ca"
    }

    fn next_due(&self, store: &Store, at: &At) -> Option<u64> {
        if store.get(&secret_key(ca_secret::NAME)).is_some() {
            return None;
        }
        istiods(store, at.latency_scale)
            .into_iter()
            .map(|(start, _)| start)
            .find(|start| *start > at.now_ms)
    }

    fn reconcile(&self, store: &mut Store, at: &At) -> Vec<Event> {
        let key = secret_key(ca_secret::NAME);
        if store.get(&key).is_some() || store.get(&secret_key(CACERTS)).is_some() {
            return Vec::new();
        }
        let started = istiods(store, at.latency_scale)
            .into_iter()
            .find(|(start, _)| *start <= at.now_ms)
            .map(|(start, istiod)| {
                let name = meta_str(istiod, "name").unwrap_or("").to_string();
                (start, name, trust_domain(store, istiod))
            });
        let Some((start, istiod, trust_domain)) = started else {
            return Vec::new();
        };
        let secret = match ca_secret::new(NAMESPACE, &trust_domain, start) {
            Ok(secret) => secret,
            Err(e) => {
                tracing::error!(%istiod, error = %e, "emulated istiod could not make its CA");
                return Vec::new();
            }
        };
        tracing::info!(%istiod, %trust_domain, "emulated istiod started without cacerts: created istio-ca-secret");
        let entry = store.insert_created(key, secret, start);
        vec![Event {
            kind: "ADDED",
            prefix: "/secrets".into(),
            entry,
            rv: store.resource_version,
        }]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::emulator::kubeapi::sa_token::TokenIssuer;
    use serde_json::json;

    const SCALE: f64 = 0.001; // rollouts take 30 ms

    fn store_with_istiod(replicas: i64, rev: Option<&str>) -> Store {
        let mut store = Store::default();
        let name = rev.map_or("istiod".to_string(), |r| format!("istiod-{r}"));
        let d = json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "namespace": NAMESPACE,
                         "labels": {"app": "istiod", "istio.io/rev": rev.unwrap_or("default")}},
            "spec": {"replicas": replicas}});
        store.insert_created(key("apps/deployments", Some(NAMESPACE), &name), d, 1_000);
        let mesh_name = rev.map_or("istio".to_string(), |r| format!("istio-{r}"));
        let cm = json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": mesh_name, "namespace": NAMESPACE},
            "data": {"mesh": "trustDomain: example.org\nrootNamespace: istio-system\n"}});
        store.insert_created(key("/configmaps", Some(NAMESPACE), &mesh_name), cm, 1_000);
        store
    }

    fn at(now_ms: u64) -> At {
        At {
            now_ms,
            latency_scale: SCALE,
            cloud: None,
            tokens: std::sync::Arc::new(TokenIssuer::new(b"key", "CA")),
        }
    }

    fn add_cacerts(store: &mut Store) {
        let s = json!({"apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": CACERTS, "namespace": NAMESPACE}, "data": {}});
        store.insert_created(secret_key(CACERTS), s, 1_010);
    }

    #[test]
    fn an_istiod_that_starts_without_cacerts_makes_its_ca_once() {
        let mut store = store_with_istiod(1, None);
        assert_eq!(IstiodCa.next_due(&store, &at(1_010)), Some(1_030));
        assert!(IstiodCa.reconcile(&mut store, &at(1_029)).is_empty());
        let events = IstiodCa.reconcile(&mut store, &at(5_000));
        assert_eq!(events.len(), 1);
        let secret = &store.get(&secret_key("istio-ca-secret")).unwrap().object;
        assert_eq!(secret["type"], "istio.io/ca-root");
        assert_eq!(
            secret["metadata"]["creationTimestamp"], "1970-01-01T00:00:01Z",
            "created when the pods started, not when observed"
        );
        let created = secret.clone();
        assert_eq!(IstiodCa.next_due(&store, &at(5_000)), None);
        add_cacerts(&mut store);
        assert!(IstiodCa.reconcile(&mut store, &at(9_000)).is_empty());
        assert_eq!(
            store.get(&secret_key("istio-ca-secret")).unwrap().object,
            created
        );
    }

    #[test]
    fn an_istiod_that_starts_with_cacerts_makes_nothing() {
        let mut store = store_with_istiod(1, Some("canary"));
        add_cacerts(&mut store);
        assert!(IstiodCa.reconcile(&mut store, &at(5_000)).is_empty());
        assert!(store.get(&secret_key("istio-ca-secret")).is_none());
    }

    #[test]
    fn an_istiod_scaled_to_zero_never_starts() {
        let mut store = store_with_istiod(0, None);
        assert_eq!(IstiodCa.next_due(&store, &at(1_000)), None);
        assert!(IstiodCa.reconcile(&mut store, &at(5_000)).is_empty());
    }

    #[test]
    fn the_trust_domain_comes_from_the_revisions_mesh_config() {
        let store = store_with_istiod(1, Some("canary"));
        let (_, istiod) = istiods(&store, SCALE)[0];
        assert_eq!(trust_domain(&store, istiod), "example.org");
        let mut other = json!({"metadata": {"labels": {"istio.io/rev": "other"}}});
        assert_eq!(trust_domain(&store, &other), "cluster.local");
        other["metadata"]["labels"]["istio.io/rev"] = json!("canary");
        assert_eq!(trust_domain(&store, &other), "example.org");
    }
}

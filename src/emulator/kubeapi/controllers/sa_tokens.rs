//! Kubernetes' service-account token controller (kubernetes/kubernetes
//! `pkg/controller/serviceaccount/tokens_controller.go`, `syncSecret`) for
//! Secrets of type `kubernetes.io/service-account-token`:
//!
//! - When the ServiceAccount named by the annotation
//!   `kubernetes.io/service-account.name` does not exist in the Secret's
//!   namespace (or its UID differs from a `kubernetes.io/service-account.uid`
//!   annotation already set), the Secret is deleted (marked as being
//!   deleted when it has finalizers). So a token Secret created before its
//!   ServiceAccount is gone at once, and deleting a ServiceAccount deletes
//!   its tokens.
//! - Otherwise the Secret gets what it lacks: `data.token` (a legacy token,
//!   see `sa_token.rs`, only when empty), `data.ca.crt` (the cluster CA,
//!   replaced when it differs), `data.namespace`, and the annotations
//!   naming the ServiceAccount and its UID. The write is recorded as
//!   `kube-controller-manager`'s.
//!
//! It has no timed work: it acts whenever the cluster catches up.

use base64::Engine as _;
use serde_json::{json, Value};

use super::super::apply;
use super::super::finalizers;
use super::super::meta::{self, meta_str};
use super::super::sa_token::{Claims, TokenIssuer, NAME_ANNOTATION, SECRET_TYPE, UID_ANNOTATION};
use super::super::store::{key, Store};
use super::super::watch::Event;
use super::{At, InCluster};

/// The field manager of the controller's writes.
const MANAGER: &str = "kube-controller-manager";

/// Fills token Secrets, and deletes those whose ServiceAccount is gone.
#[derive(Debug)]
pub struct ServiceAccountTokens;

fn b64(text: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(text)
}

/// The ServiceAccount `secret` names, if it exists (with the UID of the
/// Secret's UID annotation, when that is set).
fn account<'a>(store: &'a Store, secret: &Value) -> Option<&'a Value> {
    let annotations = &secret["metadata"]["annotations"];
    let name = annotations[NAME_ANNOTATION]
        .as_str()
        .filter(|n| !n.is_empty())?;
    let namespace = meta_str(secret, "namespace")?;
    let sa = &store
        .get(&key("/serviceaccounts", Some(namespace), name))?
        .object;
    match annotations[UID_ANNOTATION].as_str() {
        Some(uid) if !uid.is_empty() && meta_str(sa, "uid") != Some(uid) => None,
        _ => Some(sa),
    }
}

/// `secret` completed for service account `sa`, or `None` when nothing is
/// missing.
fn filled(secret: &Value, sa: &Value, issuer: &TokenIssuer, at_ms: u64) -> Option<Value> {
    let namespace = meta_str(secret, "namespace").unwrap_or("");
    let sa_name = meta_str(sa, "name").unwrap_or("");
    let sa_uid = meta_str(sa, "uid").unwrap_or("");
    let data = &secret["data"];
    let empty = |field: &str| data[field].as_str().is_none_or(str::is_empty);
    let ca = b64(&issuer.ca_pem);
    let needs_token = empty("token");
    let needs_ca = data["ca.crt"].as_str() != Some(ca.as_str());
    let needs_namespace = empty("namespace");
    let annotations = &secret["metadata"]["annotations"];
    let needs_uid = annotations[UID_ANNOTATION].as_str() != Some(sa_uid);
    if !(needs_token || needs_ca || needs_namespace || needs_uid) {
        return None;
    }
    let mut new = secret.clone();
    if !new["data"].is_object() {
        new["data"] = json!({});
    }
    if needs_token {
        let claims = Claims {
            namespace: namespace.to_string(),
            secret_name: meta_str(secret, "name").unwrap_or("").to_string(),
            service_account_name: sa_name.to_string(),
            service_account_uid: sa_uid.to_string(),
        };
        new["data"]["token"] = json!(b64(&issuer.issue(&claims)));
    }
    new["data"]["ca.crt"] = json!(ca);
    if needs_namespace {
        new["data"]["namespace"] = json!(b64(namespace));
    }
    let annotations = meta::metadata_mut(&mut new)
        .entry("annotations")
        .or_insert_with(|| json!({}));
    annotations[NAME_ANNOTATION] = json!(sa_name);
    annotations[UID_ANNOTATION] = json!(sa_uid);
    apply::record_update(
        Some(secret),
        &mut new,
        MANAGER,
        None,
        &meta::timestamp(at_ms),
    );
    Some(new)
}

impl InCluster for ServiceAccountTokens {
    fn name(&self) -> &'static str {
        "serviceaccount-tokens"
    }

    fn next_due(&self, _store: &Store, _at: &At) -> Option<u64> {
        None
    }

    fn reconcile(&self, store: &mut Store, at: &At) -> Vec<Event> {
        let secrets: Vec<(String, Value)> = store
            .list("/secrets", None)
            .into_iter()
            .map(|e| &e.object)
            .filter(|s| s["type"] == SECRET_TYPE && !finalizers::is_deleting(s))
            .map(|s| {
                let ns = meta_str(s, "namespace").unwrap_or("");
                let name = meta_str(s, "name").unwrap_or("");
                (key("/secrets", Some(ns), name), s.clone())
            })
            .collect();
        let mut events = Vec::new();
        for (key, secret) in secrets {
            let change = match account(store, &secret) {
                Some(sa) => filled(&secret, sa, &at.tokens, at.now_ms),
                None if finalizers::finalizers(&secret).is_empty() => {
                    tracing::info!(%key, "service account missing: token Secret deleted");
                    events.extend(store.remove(&key));
                    continue;
                }
                None => {
                    let mut doomed = secret.clone();
                    finalizers::mark_deleting(&mut doomed, &meta::timestamp(at.now_ms), false);
                    Some(doomed)
                }
            };
            if let Some(object) = change {
                events.extend(store.write(&key, object, at.now_ms));
            }
        }
        events
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn at() -> At {
        At {
            now_ms: 5_000,
            latency_scale: 1.0,
            cloud: None,
            tokens: Arc::new(TokenIssuer::new(b"key", "CA PEM")),
        }
    }

    fn secret_key() -> String {
        key("/secrets", Some("istio-system"), "reader-token")
    }

    fn with_token_secret(account: Option<&str>) -> Store {
        let mut store = Store::default();
        if let Some(name) = account {
            store.insert_created(
                key("/serviceaccounts", Some("istio-system"), name),
                json!({"metadata": {"name": name, "namespace": "istio-system"}}),
                0,
            );
        }
        store.insert_created(
            secret_key(),
            json!({"apiVersion": "v1", "kind": "Secret",
                   "metadata": {"name": "reader-token", "namespace": "istio-system",
                                "annotations": {NAME_ANNOTATION: "reader"}},
                   "type": SECRET_TYPE}),
            1,
        );
        store
    }

    fn decoded(secret: &Value, field: &str) -> String {
        let b = secret["data"][field].as_str().unwrap();
        String::from_utf8(base64::engine::general_purpose::STANDARD.decode(b).unwrap()).unwrap()
    }

    #[test]
    fn a_token_secret_of_an_existing_account_is_filled_once() {
        let mut store = with_token_secret(Some("reader"));
        let at = at();
        let events = ServiceAccountTokens.reconcile(&mut store, &at);
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].kind, "MODIFIED");
        let secret = store.get(&secret_key()).unwrap().object.clone();
        let sa_uid = meta_str(
            &store
                .get(&key("/serviceaccounts", Some("istio-system"), "reader"))
                .unwrap()
                .object,
            "uid",
        )
        .unwrap()
        .to_string();
        assert_eq!(secret["metadata"]["annotations"][UID_ANNOTATION], sa_uid);
        assert_eq!(decoded(&secret, "ca.crt"), "CA PEM");
        assert_eq!(decoded(&secret, "namespace"), "istio-system");
        let claims = at.tokens.verify(&decoded(&secret, "token")).unwrap();
        assert_eq!(
            claims,
            Claims {
                namespace: "istio-system".into(),
                secret_name: "reader-token".into(),
                service_account_name: "reader".into(),
                service_account_uid: sa_uid,
            }
        );
        assert_eq!(
            secret["metadata"]["managedFields"][0]["manager"],
            "kube-controller-manager"
        );
        assert!(ServiceAccountTokens.reconcile(&mut store, &at).is_empty());
    }

    #[test]
    fn a_token_secret_without_its_account_is_deleted() {
        let mut store = with_token_secret(None);
        let events = ServiceAccountTokens.reconcile(&mut store, &at());
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].kind, "DELETED");
        assert!(store.get(&secret_key()).is_none());
    }

    #[test]
    fn a_recreated_account_does_not_revive_the_old_tokens() {
        let mut store = with_token_secret(Some("reader"));
        ServiceAccountTokens.reconcile(&mut store, &at());
        let sa_key = key("/serviceaccounts", Some("istio-system"), "reader");
        let sa = store.remove(&sa_key).unwrap().entry.object;
        store.insert_created(sa_key, sa, 9);
        ServiceAccountTokens.reconcile(&mut store, &at());
        assert!(store.get(&secret_key()).is_none(), "the UID changed");
    }
}

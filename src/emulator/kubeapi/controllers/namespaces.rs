//! Kubernetes' namespace controller: a namespace being deleted loses its
//! contents (each object honouring its own finalizers: those with
//! finalizers are marked as being deleted and wait for them) and then goes
//! itself, once nothing is left in it (kubernetes/kubernetes
//! `pkg/controller/namespace/deletion/namespaced_resources_deleter.go`).
//!
//! It has no timed work: it acts whenever the cluster catches up, which
//! every request and every change does.

use super::super::finalizers;
use super::super::meta::{self, meta_str};
use super::super::store::{key, namespace_of, Store};
use super::super::watch::Event;
use super::{At, InCluster};

/// Empties namespaces being deleted, then removes them.
#[derive(Debug)]
pub struct Namespaces;

impl InCluster for Namespaces {
    fn name(&self) -> &'static str {
        "namespaces"
    }

    fn next_due(&self, _store: &Store, _at: &At) -> Option<u64> {
        None
    }

    fn reconcile(&self, store: &mut Store, at: &At) -> Vec<Event> {
        let terminating: Vec<String> = store
            .list("/namespaces", None)
            .into_iter()
            .filter(|e| finalizers::is_deleting(&e.object))
            .filter_map(|e| meta_str(&e.object, "name").map(str::to_string))
            .collect();
        let mut events = Vec::new();
        for ns in terminating {
            let contents: Vec<String> = store
                .objects
                .keys()
                .filter(|k| namespace_of(k) == ns)
                .cloned()
                .collect();
            for k in &contents {
                let Some(entry) = store.get(k) else { continue };
                if finalizers::finalizers(&entry.object).is_empty() {
                    events.extend(store.remove(k));
                } else if !finalizers::is_deleting(&entry.object) {
                    let mut object = entry.object.clone();
                    finalizers::mark_deleting(&mut object, &meta::timestamp(at.now_ms), false);
                    events.extend(store.write(k, object, at.now_ms));
                }
            }
            let empty = !store.objects.keys().any(|k| namespace_of(k) == ns);
            if empty {
                events.extend(store.remove(&key("/namespaces", None, &ns)));
            }
        }
        events
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::emulator::kubeapi::sa_token::TokenIssuer;
    use serde_json::json;

    #[test]
    fn a_terminating_namespace_waits_for_objects_with_finalizers() {
        let mut store = Store::default();
        let at = At {
            now_ms: 1_000,
            latency_scale: 1.0,
            cloud: None,
            tokens: std::sync::Arc::new(TokenIssuer::new(b"key", "CA")),
        };
        let ns_key = key("/namespaces", None, "n");
        store.insert_created(
            ns_key.clone(),
            json!({"metadata": {"name": "n",
            "deletionTimestamp": "2026-01-01T00:00:00Z"}, "status": {"phase": "Terminating"}}),
            0,
        );
        store.insert_created(
            key("/configmaps", Some("n"), "plain"),
            json!({"metadata": {"name": "plain", "namespace": "n"}}),
            0,
        );
        let held = key("/services", Some("n"), "held");
        store.insert_created(
            held.clone(),
            json!({"metadata": {"name": "held", "namespace": "n", "finalizers": ["x"]}}),
            0,
        );
        let events = Namespaces.reconcile(&mut store, &at);
        let kinds: Vec<&str> = events.iter().map(|e| e.kind).collect();
        assert_eq!(kinds, ["DELETED", "MODIFIED"]);
        assert!(store.get(&ns_key).is_some(), "waits for the held Service");
        assert!(finalizers::is_deleting(
            &store.get(&held).expect("held").object
        ));
        assert!(
            Namespaces.reconcile(&mut store, &at).is_empty(),
            "idempotent"
        );
        let mut released = store.get(&held).expect("held").object.clone();
        released["metadata"]["finalizers"] = json!([]);
        assert_eq!(store.write(&held, released, 2_000)[0].kind, "DELETED");
        let events = Namespaces.reconcile(&mut store, &at);
        assert_eq!(events.len(), 1);
        assert!(store.get(&ns_key).is_none());
    }
}

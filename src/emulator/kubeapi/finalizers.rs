//! Graceful deletion with finalizers, as the real API server does it
//! (k8s.io/apiserver `registry/generic/registry/store.go`, `rest/update.go`,
//! and the namespace lifecycle admission plugin):
//!
//! - DELETE of an object with `metadata.finalizers` (and of every
//!   Namespace, which carries `spec.finalizers: ["kubernetes"]`) only sets
//!   `metadata.deletionTimestamp` and `deletionGracePeriodSeconds: 0` (a
//!   Namespace's `status.phase` becomes `Terminating`); the object stays
//!   until its finalizers are gone. A second DELETE changes nothing.
//! - An update cannot change `deletionTimestamp`, nor add finalizers to an
//!   object being deleted (422); an update that leaves an object being
//!   deleted without finalizers removes it.
//! - Nothing new may be created in a terminating namespace (403).
//!
//! The namespace controller (`controllers/namespaces.rs`) deletes a
//! terminating namespace's contents and then the namespace.

use serde_json::{json, Value};

use super::meta::{self, meta_str};
use super::status::Failure;
use super::store::{key, Store};

/// The object's `metadata.finalizers`.
pub fn finalizers(object: &Value) -> Vec<&str> {
    object["metadata"]["finalizers"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect()
}

/// Whether `metadata.deletionTimestamp` is set.
pub fn is_deleting(object: &Value) -> bool {
    object["metadata"]["deletionTimestamp"].is_string()
}

/// Whether a DELETE only marks the object (it has finalizers, or is a Namespace).
pub fn delete_is_graceful(object: &Value, is_namespace: bool) -> bool {
    is_namespace || !finalizers(object).is_empty()
}

/// Marks `object` as being deleted at `now` (RFC 3339).
pub fn mark_deleting(object: &mut Value, now: &str, is_namespace: bool) {
    let m = meta::metadata_mut(object);
    m.insert("deletionTimestamp".into(), json!(now));
    m.insert("deletionGracePeriodSeconds".into(), json!(0));
    if is_namespace {
        object["status"]["phase"] = json!("Terminating");
    }
}

/// Whether an object being deleted has no finalizers left and must go
/// (Namespaces go when the namespace controller has emptied them).
pub fn finished(object: &Value, is_namespace: bool) -> bool {
    !is_namespace && is_deleting(object) && finalizers(object).is_empty()
}

/// Keeps the deletion fields of `old` in `new` (clients cannot set or
/// clear them) and refuses new finalizers on an object being deleted.
///
/// # Errors
/// 422 `Invalid`: "no new finalizers can be added if the object is being deleted".
pub fn carry_over(old: &Value, new: &mut Value, kind: &str) -> Result<(), Failure> {
    let m = meta::metadata_mut(new);
    for field in ["deletionTimestamp", "deletionGracePeriodSeconds"] {
        match old["metadata"].get(field) {
            Some(v) => m.insert(field.into(), v.clone()),
            None => m.remove(field),
        };
    }
    if !is_deleting(old) {
        return Ok(());
    }
    let before = finalizers(old);
    let added: Vec<&str> = finalizers(new)
        .into_iter()
        .filter(|f| !before.contains(f))
        .collect();
    if added.is_empty() {
        return Ok(());
    }
    let name = meta_str(new, "name").unwrap_or("");
    let list = added
        .iter()
        .map(|f| format!("{f:?}"))
        .collect::<Vec<_>>()
        .join(", ");
    Err(Failure::invalid(format!(
        "{kind} \"{name}\" is invalid: metadata.finalizers: Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers []string{{{list}}}"
    )))
}

/// Refuses to create `name` in `namespace` while it is being terminated,
/// with the namespace lifecycle admission plugin's answer.
///
/// # Errors
/// 403 `Forbidden`.
pub fn check_create(
    store: &Store,
    namespace: Option<&str>,
    group: &str,
    plural: &str,
    name: &str,
) -> Result<(), Failure> {
    let Some(ns) = namespace else {
        return Ok(());
    };
    let terminating = store
        .get(&key("/namespaces", None, ns))
        .is_some_and(|e| is_deleting(&e.object));
    if !terminating {
        return Ok(());
    }
    Err(Failure::forbidden(
        group,
        plural,
        name,
        &format!("unable to create new content in namespace {ns} because it is being terminated"),
        json!([{"reason": "NamespaceTerminating",
                "message": format!("namespace {ns} is being terminated"),
                "field": "metadata.namespace"}]),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_finalizers_are_refused_while_deleting_and_deletion_fields_stay() {
        let old = json!({"metadata": {"name": "s", "finalizers": ["a"],
            "deletionTimestamp": "2026-01-01T00:00:00Z", "deletionGracePeriodSeconds": 0}});
        let mut ok = json!({"metadata": {"name": "s", "finalizers": []}});
        carry_over(&old, &mut ok, "Service").expect("removing is fine");
        assert!(is_deleting(&ok) && finished(&ok, false));
        let mut bad = json!({"metadata": {"name": "s", "finalizers": ["a", "b"]}});
        let err = carry_over(&old, &mut bad, "Service").expect_err("adding is not");
        assert_eq!(err.code, 422);
        assert!(err
            .message
            .contains("no new finalizers can be added if the object is being deleted"));
    }
}

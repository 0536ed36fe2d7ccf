//! Server-side apply and merge patches, with field ownership recorded in
//! `metadata.managedFields` (`FieldsV1`).
//!
//! Simplifications against the real API server: maps merge recursively,
//! lists (and scalars) are atomic and replaced whole, and a field is the path
//! to a leaf (a non-map value, or an empty map). An applier owns exactly the
//! leaves of its last applied configuration; writers with `Update`
//! operations own the leaves they changed.

use std::collections::BTreeSet;

use serde_json::{json, Map, Value};

use super::meta;

/// A path of map keys from the object root to a leaf.
pub type FieldPath = Vec<String>;

/// A set of owned fields.
pub type FieldSet = BTreeSet<FieldPath>;

/// One `managedFields` entry.
#[derive(Debug, Clone, PartialEq)]
pub struct Manager {
    /// `manager`, e.g. `kubectl`.
    pub manager: String,
    /// `Apply` or `Update`.
    pub operation: String,
    /// `apiVersion` the manager wrote with.
    pub api_version: String,
    /// `time` (RFC 3339).
    pub time: String,
    /// `subresource`, when the write went to one (`status`).
    pub subresource: Option<String>,
    /// The owned fields.
    pub fields: FieldSet,
}

/// The fields of an applied or written object that count for ownership:
/// all leaves except `apiVersion`, `kind`, `status` and server-set metadata.
pub fn leaf_paths(object: &Value) -> FieldSet {
    let mut out = FieldSet::new();
    let Some(map) = object.as_object() else {
        return out;
    };
    for (k, v) in map {
        match k.as_str() {
            "apiVersion" | "kind" | "status" => {}
            "metadata" => {
                if let Some(m) = v.as_object() {
                    for (mk, mv) in m {
                        if matches!(
                            mk.as_str(),
                            "labels" | "annotations" | "finalizers" | "ownerReferences"
                        ) {
                            collect(mv, vec!["metadata".into(), mk.clone()], &mut out);
                        }
                    }
                }
            }
            _ => collect(v, vec![k.clone()], &mut out),
        }
    }
    out
}

fn collect(value: &Value, path: FieldPath, out: &mut FieldSet) {
    match value.as_object() {
        Some(map) if !map.is_empty() => {
            for (k, v) in map {
                let mut p = path.clone();
                p.push(k.clone());
                collect(v, p, out);
            }
        }
        _ => {
            out.insert(path);
        }
    }
}

/// The value at `path`.
pub fn get_path<'a>(value: &'a Value, path: &[String]) -> Option<&'a Value> {
    path.iter().try_fold(value, |v, k| v.get(k))
}

/// Removes the value at `path` (no-op when absent).
pub fn remove_path(value: &mut Value, path: &[String]) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let mut cur = value;
    for k in parents {
        match cur.get_mut(k) {
            Some(next) => cur = next,
            None => return,
        }
    }
    if let Some(map) = cur.as_object_mut() {
        map.remove(last);
    }
}

/// Recursively merges `patch` into `target`: maps merge, anything else
/// replaces.
pub fn merge(target: &mut Value, patch: &Value) {
    match (target.as_object_mut(), patch.as_object()) {
        (Some(t), Some(p)) => {
            for (k, v) in p {
                match t.get_mut(k) {
                    Some(existing) if existing.is_object() && v.is_object() => merge(existing, v),
                    _ => {
                        t.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        _ => *target = patch.clone(),
    }
}

/// JSON merge patch (RFC 7386): maps merge, `null` deletes, anything else
/// replaces. Also used for strategic merge patches.
pub fn merge_patch(target: &mut Value, patch: &Value) {
    let Some(p) = patch.as_object() else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = json!({});
    }
    let t = target.as_object_mut().expect("object");
    for (k, v) in p {
        if v.is_null() {
            t.remove(k);
        } else {
            let entry = t.entry(k.clone()).or_insert(Value::Null);
            if v.is_object() {
                merge_patch(entry, v);
            } else {
                *entry = v.clone();
            }
        }
    }
}

fn overlaps(a: &[String], b: &[String]) -> bool {
    a.starts_with(b) || b.starts_with(a)
}

/// Reads `metadata.managedFields`.
pub fn read_managers(object: &Value) -> Vec<Manager> {
    let Some(list) = object
        .get("metadata")
        .and_then(|m| m.get("managedFields"))
        .and_then(Value::as_array)
    else {
        return Vec::new();
    };
    list.iter()
        .map(|e| {
            let s = |f: &str| e.get(f).and_then(Value::as_str).unwrap_or("").to_string();
            let mut fields = FieldSet::new();
            if let Some(f) = e.get("fieldsV1") {
                from_fields_v1(f, Vec::new(), &mut fields);
            }
            Manager {
                manager: s("manager"),
                operation: s("operation"),
                api_version: s("apiVersion"),
                time: s("time"),
                subresource: e
                    .get("subresource")
                    .and_then(Value::as_str)
                    .map(str::to_string),
                fields,
            }
        })
        .collect()
}

fn from_fields_v1(value: &Value, path: FieldPath, out: &mut FieldSet) {
    let Some(map) = value.as_object() else {
        return;
    };
    let children: Vec<_> = map
        .iter()
        .filter_map(|(k, v)| k.strip_prefix("f:").map(|k| (k, v)))
        .collect();
    if children.is_empty() {
        if !path.is_empty() {
            out.insert(path);
        }
        return;
    }
    for (k, v) in children {
        let mut p = path.clone();
        p.push(k.to_string());
        from_fields_v1(v, p, out);
    }
}

/// `FieldsV1` of a field set: `{"f:data": {"f:a": {}}}`.
pub fn to_fields_v1(fields: &FieldSet) -> Value {
    let mut root = Map::new();
    for path in fields {
        let mut cur = &mut root;
        for k in path {
            cur = cur
                .entry(format!("f:{k}"))
                .or_insert_with(|| json!({}))
                .as_object_mut()
                .expect("fields map");
        }
    }
    Value::Object(root)
}

/// Writes `managers` into `metadata.managedFields`, dropping fields no longer
/// present in `object` and managers left with none.
pub fn write_managers(object: &mut Value, mut managers: Vec<Manager>) {
    let present = leaf_paths(object);
    for m in &mut managers {
        m.fields
            .retain(|p| present.iter().any(|q| overlaps(p, q)) || get_path(object, p).is_some());
    }
    managers.retain(|m| !m.fields.is_empty());
    let list: Vec<Value> = managers
        .iter()
        .map(|m| {
            let mut e = json!({
                "manager": m.manager,
                "operation": m.operation,
                "apiVersion": m.api_version,
                "time": m.time,
                "fieldsType": "FieldsV1",
                "fieldsV1": to_fields_v1(&m.fields),
            });
            if let Some(s) = &m.subresource {
                e["subresource"] = json!(s);
            }
            e
        })
        .collect();
    let meta = meta::metadata_mut(object);
    if list.is_empty() {
        meta.remove("managedFields");
    } else {
        meta.insert("managedFields".into(), Value::Array(list));
    }
}

/// A field another manager owns with a different value: `(manager, field)`.
pub type Conflict = (String, String);

/// Server-side apply of `applied` by `manager` onto `existing` (or onto an
/// empty object). Returns the merged object with updated `managedFields`.
///
/// # Errors
/// The conflicts, when another manager owns a field that `applied` sets to
/// a different value and `force` is false. With `force` the applier takes
/// those fields over.
pub fn apply(
    existing: Option<&Value>,
    applied: &Value,
    manager: &str,
    force: bool,
    now: &str,
) -> Result<Value, Vec<Conflict>> {
    let new_fields = leaf_paths(applied);
    let mut object = existing.cloned().unwrap_or_else(|| json!({}));
    let mut managers = read_managers(&object);
    let is_me =
        |m: &Manager| m.manager == manager && m.operation == "Apply" && m.subresource.is_none();

    let mut conflicts = Vec::new();
    let mut taken: Vec<(usize, FieldPath)> = Vec::new();
    for (i, m) in managers.iter().enumerate() {
        if is_me(m) || m.subresource.is_some() {
            continue;
        }
        for p in &new_fields {
            // An applied empty map only asserts that the map exists.
            if get_path(applied, p).is_some_and(|v| v.as_object().is_some_and(|m| m.is_empty())) {
                continue;
            }
            let owned: Vec<&FieldPath> = m.fields.iter().filter(|q| overlaps(p, q)).collect();
            if owned.is_empty() {
                continue;
            }
            if get_path(&object, p) != get_path(applied, p) {
                conflicts.push((m.manager.clone(), format!(".{}", p.join("."))));
                taken.extend(owned.into_iter().map(|q| (i, q.clone())));
            }
        }
    }
    if !conflicts.is_empty() && !force {
        return Err(conflicts);
    }
    for (i, q) in taken {
        managers[i].fields.remove(&q);
    }

    let previous: FieldSet = managers
        .iter()
        .find(|m| is_me(m))
        .map(|m| m.fields.clone())
        .unwrap_or_default();
    for p in previous.difference(&new_fields) {
        let shared = managers
            .iter()
            .filter(|m| !is_me(m))
            .any(|m| m.fields.iter().any(|q| overlaps(p, q)));
        let still_applied = new_fields.iter().any(|q| overlaps(p, q));
        if !shared && !still_applied {
            remove_path(&mut object, p);
        }
    }

    merge(&mut object, applied);
    let api_version = applied
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    managers.retain(|m| !is_me(m));
    managers.push(Manager {
        manager: manager.to_string(),
        operation: "Apply".into(),
        api_version,
        time: now.to_string(),
        subresource: None,
        fields: new_fields,
    });
    write_managers(&mut object, managers);
    Ok(object)
}

/// Records an `Update` (create, replace, patch) by `manager`: it takes
/// ownership of every field whose value it changed; other managers lose
/// those fields. `new` gets the updated `managedFields` (ones sent by the
/// client are ignored in favour of the stored ones).
pub fn record_update(
    old: Option<&Value>,
    new: &mut Value,
    manager: &str,
    subresource: Option<&str>,
    now: &str,
) {
    let mut managers = old.map(read_managers).unwrap_or_default();
    let changed: FieldSet = leaf_paths(new)
        .into_iter()
        .filter(|p| old.and_then(|o| get_path(o, p)) != get_path(new, p))
        .collect();
    let api_version = new
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let is_me = |m: &Manager| {
        m.manager == manager && m.operation == "Update" && m.subresource.as_deref() == subresource
    };
    if !changed.is_empty() {
        for m in managers.iter_mut().filter(|m| !is_me(m)) {
            m.fields.retain(|q| !changed.iter().any(|p| overlaps(p, q)));
        }
        match managers.iter_mut().find(|m| is_me(m)) {
            Some(m) => {
                m.fields.extend(changed);
                m.time = now.to_string();
                m.api_version = api_version;
            }
            None => managers.push(Manager {
                manager: manager.to_string(),
                operation: "Update".into(),
                api_version,
                time: now.to_string(),
                subresource: subresource.map(str::to_string),
                fields: changed,
            }),
        }
    }
    write_managers(new, managers);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cm(data: Value) -> Value {
        json!({"apiVersion": "v1", "kind": "ConfigMap",
               "metadata": {"name": "c", "namespace": "n"}, "data": data})
    }

    #[test]
    fn reapply_without_a_field_removes_it() {
        let first = apply(None, &cm(json!({"a": "1", "b": "2"})), "m", false, "t").unwrap();
        let second = apply(Some(&first), &cm(json!({"a": "1"})), "m", false, "t").unwrap();
        assert_eq!(second["data"], json!({"a": "1"}));
        let managers = read_managers(&second);
        assert_eq!(managers.len(), 1);
        assert_eq!(
            managers[0].fields,
            FieldSet::from([vec!["data".into(), "a".into()]])
        );
    }

    #[test]
    fn other_manager_conflicts_unless_forced_and_equal_values_are_shared() {
        let first = apply(None, &cm(json!({"a": "1"})), "m1", false, "t").unwrap();
        let conflicts = apply(Some(&first), &cm(json!({"a": "2"})), "m2", false, "t").unwrap_err();
        assert_eq!(conflicts, vec![("m1".to_string(), ".data.a".to_string())]);
        let shared = apply(Some(&first), &cm(json!({"a": "1"})), "m2", false, "t").unwrap();
        assert_eq!(read_managers(&shared).len(), 2);
        let forced = apply(Some(&first), &cm(json!({"a": "2"})), "m2", true, "t").unwrap();
        assert_eq!(forced["data"]["a"], "2");
        let managers = read_managers(&forced);
        assert_eq!(managers.len(), 1);
        assert_eq!(managers[0].manager, "m2");
    }

    #[test]
    fn a_field_kept_by_another_manager_survives_removal() {
        let first = apply(None, &cm(json!({"a": "1"})), "m1", false, "t").unwrap();
        let both = apply(Some(&first), &cm(json!({"a": "1"})), "m2", false, "t").unwrap();
        let after = apply(Some(&both), &cm(json!({})), "m1", false, "t").unwrap();
        assert_eq!(after["data"]["a"], "1");
    }

    #[test]
    fn update_takes_ownership_of_changed_fields() {
        let first = apply(None, &cm(json!({"a": "1"})), "m1", false, "t").unwrap();
        let mut new = first.clone();
        merge_patch(&mut new, &json!({"data": {"a": "9", "z": null}}));
        record_update(Some(&first), &mut new, "kubectl-edit", None, "t");
        let managers = read_managers(&new);
        assert_eq!(managers.len(), 1);
        assert_eq!(managers[0].operation, "Update");
    }

    #[test]
    fn merge_patch_null_deletes() {
        let mut v = json!({"a": {"b": 1, "c": 2}, "l": [1]});
        merge_patch(&mut v, &json!({"a": {"b": null}, "l": [2]}));
        assert_eq!(v, json!({"a": {"c": 2}, "l": [2]}));
    }

    #[test]
    fn fields_v1_round_trips() {
        let fields = leaf_paths(&cm(json!({"a": "1", "b": {}})));
        let v1 = to_fields_v1(&fields);
        assert_eq!(v1, json!({"f:data": {"f:a": {}, "f:b": {}}}));
        let mut back = FieldSet::new();
        from_fields_v1(&v1, Vec::new(), &mut back);
        assert_eq!(back, fields);
    }
}

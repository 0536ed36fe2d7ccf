//! Enum numbers of the container API, and converting enum values between
//! names (`"RUNNING"`) and numbers (`2`).
//!
//! The discovery document lists enum names but not their proto numbers, and
//! its order is not the numbering (e.g. `UpgradeSettings.strategy` skips 1
//! and 4). The numbers are taken from Google's own Rust client, which is
//! generated from the protos: for every enum field reachable from
//! `Cluster`, `ClusterUpdate` and `Operation`, each name is put into a tiny
//! JSON object, read into the client's model and written back, which gives
//! the number the client sends and expects. Done once, lazily.
//!
//! The emulator stores names; requests may carry names or numbers (like the
//! real API), and responses carry numbers when the client asks for
//! `$alt=json;enum-encoding=int`.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

use google_cloud_container_v1::model;
use serde_json::{json, Value};

use crate::emulator::errors::ApiError;
use crate::emulator::schema::{self, Discovery, Property};

/// Where an enum value sits: `Schema.field` (inline objects add `.field`).
type Site = String;

/// Name ↔ number for every enum site.
#[derive(Debug, Default)]
pub struct EnumTable {
    sites: BTreeMap<Site, Vec<(String, i64)>>,
}

/// One step from a root object to a value.
#[derive(Debug, Clone)]
enum Step {
    Field(String),
    Item,
    MapValue,
}

type Probe = fn(Value) -> Option<Value>;

fn probe<T: serde::de::DeserializeOwned + serde::Serialize>(v: Value) -> Option<Value> {
    let parsed: T = serde_json::from_value(v).ok()?;
    serde_json::to_value(parsed).ok()
}

/// The table, built on first use.
pub fn table() -> &'static EnumTable {
    static TABLE: OnceLock<EnumTable> = OnceLock::new();
    TABLE.get_or_init(|| {
        let roots: [(&str, Probe); 3] = [
            ("Cluster", probe::<model::Cluster>),
            ("ClusterUpdate", probe::<model::ClusterUpdate>),
            ("Operation", probe::<model::Operation>),
        ];
        let mut table = EnumTable::default();
        let mut seen = BTreeSet::new();
        for (root, probe) in roots {
            let prop = reference(root);
            table.learn(
                schema::container(),
                &prop,
                root,
                &mut Vec::new(),
                probe,
                &mut seen,
            );
        }
        table
    })
}

fn reference(name: &str) -> Property {
    Property {
        reference: Some(name.to_string()),
        ..Property::default()
    }
}

impl EnumTable {
    fn learn(
        &mut self,
        d: &Discovery,
        prop: &Property,
        site: &str,
        path: &mut Vec<Step>,
        probe: Probe,
        seen: &mut BTreeSet<String>,
    ) {
        let (prop, site) = match &prop.reference {
            Some(name) => {
                if !seen.insert(name.clone()) {
                    return;
                }
                (d.resolve(prop), name.clone())
            }
            None => (prop, site.to_string()),
        };
        let Some(fields) = &prop.properties else {
            return;
        };
        for (key, field) in fields {
            let field_site = format!("{site}.{key}");
            path.push(Step::Field(key.clone()));
            let (leaf, wrap) = match (&field.items, &field.additional_properties) {
                (Some(items), _) => (items.as_ref(), Some(Step::Item)),
                (_, Some(values)) => (values.as_ref(), Some(Step::MapValue)),
                _ => (field, None),
            };
            if let Some(step) = &wrap {
                path.push(step.clone());
            }
            if let Some(names) = &leaf.enum_values {
                let numbers: Vec<(String, i64)> = names
                    .iter()
                    .filter_map(|n| number_of(probe, path, n).map(|i| (n.clone(), i)))
                    .collect();
                if !numbers.is_empty() {
                    self.sites.insert(field_site.clone(), numbers);
                }
            } else {
                self.learn(d, leaf, &field_site, path, probe, seen);
            }
            if wrap.is_some() {
                path.pop();
            }
            path.pop();
        }
    }

    /// The number of `name` at `site`.
    pub fn number(&self, site: &str, name: &str) -> Option<i64> {
        self.sites
            .get(site)?
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, i)| *i)
    }

    /// The name of `number` at `site`.
    pub fn name(&self, site: &str, number: i64) -> Option<&str> {
        self.sites
            .get(site)?
            .iter()
            .find(|(_, i)| *i == number)
            .map(|(n, _)| n.as_str())
    }
}

/// What the client model turns `name` at `path` into; `None` unless a number.
fn number_of(probe: Probe, path: &[Step], name: &str) -> Option<i64> {
    let mut value = json!(name);
    for step in path.iter().rev() {
        value = match step {
            Step::Field(f) => json!({ f.as_str(): value }),
            Step::Item => json!([value]),
            Step::MapValue => json!({ "k": value }),
        };
    }
    let back = probe(value)?;
    let mut at = &back;
    for step in path {
        let next = match step {
            Step::Field(f) => at.get(f.as_str()),
            Step::Item => at.get(0),
            Step::MapValue => at.get("k"),
        };
        match next {
            Some(n) => at = n,
            // Proto3 JSON leaves out default values: the name is number 0.
            None => return Some(0),
        }
    }
    at.as_i64()
}

/// Which way [`convert`] rewrites enum values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// `"RUNNING"`.
    Names,
    /// `2`.
    Numbers,
}

/// Rewrites every enum value in `value` (of discovery schema `schema`) to
/// `encoding`. `at` is the field path used in error messages.
///
/// # Errors
/// 400 `invalid` for a number no enum value has (only when converting to names).
pub fn convert(
    schema: &str,
    value: &mut Value,
    encoding: Encoding,
    at: &str,
) -> Result<(), ApiError> {
    walk(&reference(schema), schema, value, encoding, at)
}

fn walk(
    prop: &Property,
    site: &str,
    value: &mut Value,
    encoding: Encoding,
    at: &str,
) -> Result<(), ApiError> {
    let d = schema::container();
    let (prop, site) = match &prop.reference {
        Some(name) => (d.resolve(prop), name.as_str()),
        None => (prop, site),
    };
    let (Some(fields), Value::Object(map)) = (&prop.properties, value) else {
        return Ok(());
    };
    for (key, v) in map.iter_mut() {
        let Some(field) = fields.get(key) else {
            continue;
        };
        let field_site = format!("{site}.{key}");
        let field_at = schema::join(at, &schema::snake(key));
        match (v, &field.items, &field.additional_properties) {
            (Value::Array(items), Some(inner), _) => {
                for (i, item) in items.iter_mut().enumerate() {
                    let item_at = format!("{field_at}[{i}]");
                    one(inner, &field_site, item, encoding, &item_at)?;
                }
            }
            (Value::Object(values), None, Some(inner)) => {
                for (k, item) in values.iter_mut() {
                    let item_at = format!("{field_at}[{k}]");
                    one(inner, &field_site, item, encoding, &item_at)?;
                }
            }
            (v, _, _) => one(field, &field_site, v, encoding, &field_at)?,
        }
    }
    Ok(())
}

fn one(
    prop: &Property,
    site: &str,
    value: &mut Value,
    encoding: Encoding,
    at: &str,
) -> Result<(), ApiError> {
    if prop.enum_values.is_none() {
        return walk(prop, site, value, encoding, at);
    }
    let t = table();
    match (encoding, &*value) {
        (Encoding::Numbers, Value::String(name)) => {
            if let Some(i) = t.number(site, name) {
                *value = json!(i);
            }
        }
        (Encoding::Names, Value::Number(n)) => {
            let name = n.as_i64().and_then(|i| t.name(site, i)).ok_or_else(|| {
                ApiError::invalid(format!("Invalid value at '{at}' (TYPE_ENUM), {n}"))
            })?;
            *value = json!(name);
        }
        _ => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_come_from_the_client_model() {
        let t = table();
        assert_eq!(t.number("Cluster.status", "RUNNING"), Some(2));
        assert_eq!(t.number("Cluster.status", "STATUS_UNSPECIFIED"), Some(0));
        assert_eq!(t.number("ReleaseChannel.channel", "RAPID"), Some(1));
        assert_eq!(
            t.number("Operation.operationType", "UPDATE_CLUSTER"),
            Some(6)
        );
        assert_eq!(t.number("Operation.status", "DONE"), Some(3));
        // Not in discovery order: SURGE is 3 although it is listed third of four.
        assert_eq!(t.number("UpgradeSettings.strategy", "SURGE"), Some(3));
        assert_eq!(t.name("Cluster.status", 4), Some("STOPPING"));
    }

    #[test]
    fn converts_both_ways_and_rejects_unknown_numbers() {
        let mut v = json!({"status": "RUNNING", "releaseChannel": {"channel": "RAPID"},
            "nodePools": [{"status": "RUNNING"}], "name": "c"});
        convert("Cluster", &mut v, Encoding::Numbers, "").expect("to numbers");
        assert_eq!(v["status"], 2);
        assert_eq!(v["releaseChannel"]["channel"], 1);
        assert_eq!(v["nodePools"][0]["status"], 2);
        convert("Cluster", &mut v, Encoding::Names, "").expect("to names");
        assert_eq!(v["releaseChannel"]["channel"], "RAPID");
        let mut bad = json!({"cluster": {"releaseChannel": {"channel": 99}}});
        let err = convert("CreateClusterRequest", &mut bad, Encoding::Names, "").unwrap_err();
        assert!(
            err.message.contains("cluster.release_channel.channel"),
            "{}",
            err.message
        );
    }
}

//! Outputs and values known only after apply. A resource's read reports
//! outputs (a cluster's endpoint and CA digest); state records them; a
//! desired attribute may refer to another resource's output with an
//! [`OutputRef`], which planning resolves when the output is known and
//! apply resolves from the dependencies that just finished.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fmt;

use super::Attrs;
use crate::address::Address;

/// What a resource produced, by output name.
pub type Outputs = BTreeMap<String, Value>;

/// The key that marks a reference in attribute JSON:
/// `{"known_after_apply": {"address": "cluster.eu", "output": "ca_digest"}}`.
const MARK: &str = "known_after_apply";

/// One output of another resource.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct OutputRef {
    /// The resource that produces it.
    pub address: Address,
    /// The output's name, one of its kind's outputs.
    pub output: String,
}

impl fmt::Display for OutputRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}'s {}", self.address, self.output)
    }
}

/// A spec field whose value may be another resource's output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Known<T> {
    /// The value.
    Value(T),
    /// Not known until `known_after_apply` exists.
    After {
        /// The output it will be.
        known_after_apply: OutputRef,
    },
}

impl<T> Known<T> {
    /// A reference to `output` of `address`.
    pub fn after(address: Address, output: &str) -> Self {
        Known::After {
            known_after_apply: OutputRef {
                address,
                output: output.to_string(),
            },
        }
    }

    /// The value, once known.
    ///
    /// # Errors
    /// The output it refers to is not known yet.
    pub fn value(&self) -> Result<&T, OutputRef> {
        match self {
            Known::Value(v) => Ok(v),
            Known::After { known_after_apply } => Err(known_after_apply.clone()),
        }
    }
}

/// The reference `value` holds, if it is one.
pub fn reference(value: &Value) -> Option<OutputRef> {
    let inner = value.as_object().filter(|o| o.len() == 1)?.get(MARK)?;
    serde_json::from_value(inner.clone()).ok()
}

/// Every reference in `value`, at any depth, in order.
pub fn references_in(value: &Value) -> Vec<OutputRef> {
    let mut out = Vec::new();
    walk_refs(value, &mut out);
    out.sort();
    out.dedup();
    out
}

fn walk_refs(v: &Value, out: &mut Vec<OutputRef>) {
    if let Some(r) = reference(v) {
        out.push(r);
        return;
    }
    match v {
        Value::Array(items) => items.iter().for_each(|i| walk_refs(i, out)),
        Value::Object(map) => map.values().for_each(|i| walk_refs(i, out)),
        _ => {}
    }
}

/// Every reference in `attrs`, at any depth, in order.
pub fn references(attrs: &Attrs) -> Vec<OutputRef> {
    let mut out = Vec::new();
    attrs.values().for_each(|v| walk_refs(v, &mut out));
    out.sort();
    out.dedup();
    out
}

/// Replaces every reference in `attrs` that `known` can answer with its
/// value; references it cannot answer stay.
pub fn resolve(attrs: &mut Attrs, known: &impl Fn(&OutputRef) -> Option<Value>) {
    fn walk(v: &mut Value, known: &impl Fn(&OutputRef) -> Option<Value>) {
        if let Some(r) = reference(v) {
            if let Some(value) = known(&r) {
                *v = value;
            }
            return;
        }
        match v {
            Value::Array(items) => items.iter_mut().for_each(|i| walk(i, known)),
            Value::Object(map) => map.values_mut().for_each(|i| walk(i, known)),
            _ => {}
        }
    }
    attrs.values_mut().for_each(|v| walk(v, known));
}

/// `sha256:` and the hex SHA-256 of `bytes`: how outputs and sensitive
/// values are compared without being shown.
pub fn digest(bytes: &[u8]) -> String {
    let hash = Sha256::digest(bytes);
    let hex: String = hash.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn cluster_ca() -> OutputRef {
        OutputRef {
            address: "cluster.eu".parse().unwrap(),
            output: "ca_digest".into(),
        }
    }

    #[test]
    fn a_reference_round_trips_through_attributes_and_resolves() {
        let known: Known<String> = Known::after("cluster.eu".parse().unwrap(), "ca_digest");
        let mut attrs = Attrs::new();
        attrs.insert("ca".into(), serde_json::to_value(&known).unwrap());
        attrs.insert("name".into(), json!("istio-system"));
        assert_eq!(references(&attrs), vec![cluster_ca()]);
        resolve(&mut attrs, &|r| {
            (r == &cluster_ca()).then(|| json!("sha256:ab"))
        });
        assert_eq!(attrs["ca"], json!("sha256:ab"));
        assert!(references(&attrs).is_empty());
        let back: Known<String> = serde_json::from_value(attrs["ca"].clone()).unwrap();
        assert_eq!(back.value(), Ok(&"sha256:ab".to_string()));
    }

    #[test]
    fn an_unknown_output_stays_a_reference() {
        let mut attrs = Attrs::new();
        let r = serde_json::to_value(Known::<String>::after(
            "cluster.eu".parse().unwrap(),
            "ca_digest",
        ))
        .unwrap();
        attrs.insert("ca".into(), r.clone());
        resolve(&mut attrs, &|_| None);
        assert_eq!(attrs["ca"], r);
        assert_eq!(digest(b"").len(), "sha256:".len() + 64);
    }
}

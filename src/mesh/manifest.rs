//! The YAML stream `istioctl manifest generate` prints (or its emulated
//! stand-in), read into Kubernetes objects as JSON, and the helpers that name
//! and fingerprint each object.
//!
//! Empty and `null` documents are skipped; a `…List` with `items` is
//! flattened into its items; every object must have `apiVersion`, `kind` and
//! `metadata.name`.

use serde_json::Value;
use serde_saphyr::{Budget, Options, Spanned};

use crate::resource::outputs::digest;

/// A manifest stream could not be read into objects.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    /// The text is not a YAML stream (or is too large to read safely).
    #[error("the manifest is not a valid YAML stream: {0}\n  help: run the same istioctl command by hand and check its output")]
    Yaml(#[source] serde_saphyr::Error),
    /// A document is not a mapping.
    #[error("manifest document {document} (line {line}) is {found}, not a Kubernetes object\n  help: run the same istioctl command by hand and check its output")]
    NotAnObject {
        /// The document's number, counting from 1 and skipping empty ones.
        document: usize,
        /// The line its content starts on.
        line: usize,
        /// What it is instead (`a list`, `a string`, …).
        found: &'static str,
    },
    /// An object lacks a field every Kubernetes object has.
    #[error("manifest document {document} (line {line}) has no {field}{within}\n  help: every object needs apiVersion, kind and metadata.name; run the same istioctl command by hand and check its output", within = item.map(|i| format!(" in item {i} of its list")).unwrap_or_default())]
    MissingField {
        /// The document's number, counting from 1 and skipping empty ones.
        document: usize,
        /// The line its content starts on.
        line: usize,
        /// The item of a `…List` document (counting from 1), if the object is one.
        item: Option<usize>,
        /// The missing field, as a path (`metadata.name`).
        field: &'static str,
    },
}

/// Limits for reading istioctl's output: generous (a control plane with its
/// CRDs is a few MB and deeply nested schemas), but still bounded.
fn options() -> Options {
    let mut budget = Budget::default();
    budget.max_documents = 10_000;
    budget.max_nodes = 10_000_000;
    budget.max_events = 50_000_000;
    budget.max_depth = 256;
    let mut options = Options::default();
    options.budget = Some(budget);
    options
}

/// Reads a YAML multi-document stream into its Kubernetes objects, in order.
/// Empty and `null` documents are skipped; a document whose kind ends in
/// `List` and that has an `items` array is replaced by its items.
///
/// # Errors
/// Text that is not YAML; a document that is not a mapping; an object
/// without `apiVersion`, `kind` or `metadata.name` (the error names the
/// document's number and line).
pub fn parse_stream(yaml: &str) -> Result<Vec<Value>, ManifestError> {
    let documents: Vec<Spanned<Value>> =
        serde_saphyr::from_multiple_with_options(yaml, options()).map_err(ManifestError::Yaml)?;
    let mut objects = Vec::with_capacity(documents.len());
    for (i, document) in documents.into_iter().enumerate() {
        let number = i + 1;
        let line = document.referenced.line() as usize;
        let value = document.value;
        if value.is_null() {
            continue;
        }
        if !value.is_object() {
            return Err(ManifestError::NotAnObject {
                document: number,
                line,
                found: describe(&value),
            });
        }
        let missing = |item, field| ManifestError::MissingField {
            document: number,
            line,
            item,
            field,
        };
        let is_list = value["kind"].as_str().is_some_and(|k| k.ends_with("List"))
            && value["items"].is_array();
        if is_list {
            let Value::Array(items) = value["items"].clone() else {
                unreachable!("checked above")
            };
            for (j, item) in items.into_iter().enumerate() {
                if let Some(field) = missing_field(&item) {
                    return Err(missing(Some(j + 1), field));
                }
                objects.push(item);
            }
        } else {
            if let Some(field) = missing_field(&value) {
                return Err(missing(None, field));
            }
            objects.push(value);
        }
    }
    Ok(objects)
}

fn describe(value: &Value) -> &'static str {
    match value {
        Value::Null => "empty",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

/// The first of `apiVersion`, `kind`, `metadata.name` that `object` lacks
/// (or has empty, or not as a string).
fn missing_field(object: &Value) -> Option<&'static str> {
    let present = |v: &Value| v.as_str().is_some_and(|s| !s.is_empty());
    if !present(&object["apiVersion"]) {
        Some("apiVersion")
    } else if !present(&object["kind"]) {
        Some("kind")
    } else if !present(&object["metadata"]["name"]) {
        Some("metadata.name")
    } else {
        None
    }
}

/// `object` as canonical JSON: no whitespace, the keys of every mapping
/// sorted, so equal objects give equal text whatever order they were read in.
pub fn canonical_json(object: &Value) -> String {
    fn write(value: &Value, out: &mut String) {
        match value {
            Value::Object(map) => {
                let mut keys: Vec<&String> = map.keys().collect();
                keys.sort();
                out.push('{');
                for (i, key) in keys.into_iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(&Value::String(key.clone()).to_string());
                    out.push(':');
                    write(&map[key], out);
                }
                out.push('}');
            }
            Value::Array(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    write(item, out);
                }
                out.push(']');
            }
            scalar => out.push_str(&scalar.to_string()),
        }
    }
    let mut out = String::new();
    write(object, &mut out);
    out
}

/// `sha256:<hex>` of the object's [`canonical_json`]: whether a generated
/// object changed, without keeping or showing it.
pub fn object_digest(object: &Value) -> String {
    digest(canonical_json(object).as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const STREAM: &str = r#"
---
# Source: base/templates/serviceaccount.yaml
apiVersion: v1
kind: ServiceAccount
metadata:
  name: istio-reader-service-account
  namespace: istio-system
---
---
null
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingWebhookConfiguration
metadata:
  name: istio-validator-istio-system
  labels:
    app: istiod
    istio.io/rev: "default"
webhooks:
- name: rev.validation.istio.io
  sideEffects: None
...
---
apiVersion: v1
kind: List
items:
- apiVersion: apps/v1
  kind: Deployment
  metadata: {name: istiod, namespace: istio-system}
  spec: {replicas: 1}
- apiVersion: v1
  kind: Service
  metadata: {name: istiod, namespace: istio-system}
"#;

    #[test]
    fn stream_skips_empty_documents_and_flattens_lists() {
        let objects = parse_stream(STREAM).unwrap();
        let refs: Vec<String> = objects
            .iter()
            .map(|o| crate::kube::ObjectRef::of(o).unwrap().to_string())
            .collect();
        assert_eq!(
            refs,
            [
                "v1/ServiceAccount/istio-system/istio-reader-service-account",
                "admissionregistration.k8s.io/v1/ValidatingWebhookConfiguration//istio-validator-istio-system",
                "apps/v1/Deployment/istio-system/istiod",
                "v1/Service/istio-system/istiod",
            ]
        );
        assert_eq!(objects[1]["metadata"]["labels"]["istio.io/rev"], "default");
        assert_eq!(objects[2]["spec"]["replicas"], 1);
    }

    #[test]
    fn empty_stream_is_no_objects() {
        assert!(parse_stream("").unwrap().is_empty());
        assert!(parse_stream("---\n---\n").unwrap().is_empty());
    }

    #[test]
    fn object_without_name_is_an_error_naming_its_document() {
        let yaml = "apiVersion: v1\nkind: A\nmetadata: {name: a}\n---\n\n\napiVersion: v1\nkind: B\nmetadata: {}\n";
        let err = parse_stream(yaml).unwrap_err();
        assert!(
            matches!(
                err,
                ManifestError::MissingField {
                    document: 2,
                    line: 7,
                    item: None,
                    field: "metadata.name"
                }
            ),
            "{err:?}"
        );
        assert!(err.to_string().contains("document 2 (line 7)"), "{err}");
        assert!(err.to_string().contains("help:"), "{err}");
    }

    #[test]
    fn list_item_without_kind_is_an_error_naming_the_item() {
        let yaml = "kind: List\napiVersion: v1\nitems:\n- apiVersion: v1\n  metadata: {name: x}\n";
        let err = parse_stream(yaml).unwrap_err();
        assert!(
            matches!(
                err,
                ManifestError::MissingField {
                    document: 1,
                    item: Some(1),
                    field: "kind",
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(err.to_string().contains("in item 1 of its list"), "{err}");
    }

    #[test]
    fn scalar_document_is_not_an_object() {
        let err =
            parse_stream("apiVersion: v1\nkind: A\nmetadata: {name: a}\n---\nhello\n").unwrap_err();
        assert!(
            matches!(
                err,
                ManifestError::NotAnObject {
                    document: 2,
                    found: "a string",
                    ..
                }
            ),
            "{err:?}"
        );
    }

    #[test]
    fn invalid_yaml_is_an_error() {
        let err = parse_stream("a: [b\n").unwrap_err();
        assert!(matches!(err, ManifestError::Yaml(_)), "{err:?}");
    }

    #[test]
    fn digest_ignores_key_order() {
        let a = json!({"kind": "A", "metadata": {"name": "x", "labels": {"b": "1", "a": "2"}}});
        let b: Value = serde_json::from_str(
            r#"{"metadata": {"labels": {"a": "2", "b": "1"}, "name": "x"}, "kind": "A"}"#,
        )
        .unwrap();
        assert_eq!(object_digest(&a), object_digest(&b));
        assert_eq!(
            canonical_json(&a),
            r#"{"kind":"A","metadata":{"labels":{"a":"2","b":"1"},"name":"x"}}"#
        );
        assert_ne!(
            object_digest(&a),
            object_digest(&json!({"kind": "A", "metadata": {"name": "y"}}))
        );
        assert!(object_digest(&a).starts_with("sha256:"));
    }
}

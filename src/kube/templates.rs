//! The Kubernetes objects meshform applies, rendered from the tera templates
//! in `templates/` (compiled into the binary).

use serde_json::Value;
use std::sync::OnceLock;
use tera::{Context, Tera};

/// Every template, by name.
const TEMPLATES: &[(&str, &str)] = &[
    (
        "namespace.json",
        include_str!("../../templates/namespace.json"),
    ),
    (
        "cross-network-gateway.json",
        include_str!("../../templates/cross-network-gateway.json"),
    ),
    (
        "istio-reader.json",
        include_str!("../../templates/istio-reader.json"),
    ),
    ("samples.json", include_str!("../../templates/samples.json")),
];

fn tera() -> &'static Tera {
    static TERA: OnceLock<Tera> = OnceLock::new();
    TERA.get_or_init(|| {
        let mut t = Tera::default();
        t.add_raw_templates(TEMPLATES.iter().copied())
            .expect("the bundled templates parse");
        t
    })
}

/// A template could not be rendered into a JSON object.
#[derive(Debug, thiserror::Error)]
#[error("rendering template {name}: {message}")]
pub struct TemplateError {
    /// The template.
    pub name: String,
    /// Why.
    pub message: String,
}

/// Renders template `name` with `context` and parses the result as JSON.
///
/// # Errors
/// A missing variable, or output that is not JSON.
pub fn render(name: &str, context: &Value) -> Result<Value, TemplateError> {
    let err = |message: String| TemplateError {
        name: name.to_string(),
        message,
    };
    let ctx = Context::from_value(context.clone()).map_err(|e| err(e.to_string()))?;
    let text = tera()
        .render(name, &ctx)
        .map_err(|e| err(format!("{e:?}")))?;
    serde_json::from_str(&text).map_err(|e| err(format!("not JSON: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn namespace_renders_with_its_labels_escaped() {
        let ns = render(
            "namespace.json",
            &json!({"name": "istio-system", "labels": {"topology.istio.io/network": "a\"b"}}),
        )
        .unwrap();
        assert_eq!(
            ns,
            json!({
                "apiVersion": "v1",
                "kind": "Namespace",
                "metadata": {"name": "istio-system", "labels": {"topology.istio.io/network": "a\"b"}},
            })
        );
    }

    #[test]
    fn missing_variable_is_an_error_naming_the_template() {
        let err = render("namespace.json", &json!({"name": "x"})).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("rendering template namespace.json"),
            "{err}"
        );
    }
}

//! Reading a plan file: TOML syntax, then shape (per [`super::schema`]), then the
//! typed sections, then semantic checks, with every problem reported at its
//! file:line:column.

use std::path::Path;

use serde::de::DeserializeOwned;
use toml::de::{DeTable, DeValue, ValueDeserializer};
use toml::Spanned;

use super::diagnostic::{Diagnostic, Diagnostics, Source};
use super::model::Plan;
use super::schema;
use super::shape::Shape;
use super::spans::SpanIndex;
use super::validate::{self, Finding, Parts};
use super::PlanError;

/// Parses and validates plan text read from `path` (used only in messages).
pub(crate) fn parse(path: &Path, text: &str) -> Result<Plan, PlanError> {
    let src = Source::new(path, text);
    let mut root = match DeTable::parse(text) {
        Ok(root) => root,
        Err(e) => {
            let d = src.diagnostic(
                e.span().unwrap_or(0..0),
                format!("invalid TOML: {}", e.message().trim_end()),
                "fix the TOML syntax here; the rest of the plan is checked once the file parses",
            );
            return Err(PlanError::Invalid(Diagnostics(vec![d])));
        }
    };
    let shape = Shape::check(&src, &mut root, schema::ROOT);
    let root = root.into_inner();

    let mut diagnostics = Vec::new();
    let mut parts = Parts::default();
    if let Some(v) = root.get("project").filter(|_| shape.is_intact("project")) {
        parts.project = typed(&src, v, &mut diagnostics);
    }
    if let Some(v) = root.get("network").filter(|_| shape.is_intact("network")) {
        parts.network = typed(&src, v, &mut diagnostics);
    }
    parts.regions = elements(&src, &shape, &root, "region", &mut diagnostics);
    parts.firewalls = elements(&src, &shape, &root, "firewall", &mut diagnostics);

    let findings = validate::check(&parts, &shape.spans);
    diagnostics.extend(shape.diagnostics.iter().cloned());
    diagnostics.extend(findings.iter().map(|f| locate(&src, &shape.spans, f)));

    if diagnostics.is_empty() {
        if let (Some(project), Some(network)) = (parts.project, parts.network) {
            return Ok(Plan {
                project,
                network,
                regions: parts.regions.into_iter().map(|(_, r)| r).collect(),
                firewalls: parts.firewalls.into_iter().map(|(_, f)| f).collect(),
            });
        }
    }
    diagnostics.sort_by_key(|d| (d.line, d.column));
    Err(PlanError::Invalid(Diagnostics(diagnostics)))
}

/// Deserializes every intact element of the array of tables `key` (`[[key]]`),
/// each with its index in the file.
fn elements<T: DeserializeOwned>(
    src: &Source<'_>,
    shape: &Shape<'_>,
    root: &DeTable<'_>,
    key: &str,
    diagnostics: &mut Vec<Diagnostic>,
) -> Vec<(usize, T)> {
    let Some(items) = root.get(key).and_then(|v| v.get_ref().as_array()) else {
        return Vec::new();
    };
    items
        .iter()
        .enumerate()
        .filter(|(i, _)| shape.is_intact(&format!("{key}[{i}]")))
        .filter_map(|(i, item)| typed(src, item, diagnostics).map(|t| (i, t)))
        .collect()
}

/// Deserializes one section; a serde error (only possible if the schema and the
/// model disagree) becomes a diagnostic at the value.
fn typed<T: DeserializeOwned>(
    src: &Source<'_>,
    value: &Spanned<DeValue<'_>>,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<T> {
    match T::deserialize(ValueDeserializer::from(value.clone())) {
        Ok(t) => Some(t),
        Err(e) => {
            let span = e.span().unwrap_or_else(|| value.span());
            diagnostics.push(src.diagnostic(span, e.message().trim_end().to_owned(), ""));
            None
        }
    }
}

/// Turns a finding's key path into a file position.
fn locate(src: &Source<'_>, spans: &SpanIndex, f: &Finding) -> Diagnostic {
    let mut message = f.message.clone();
    if let Some((path, intro)) = &f.related {
        let (line, column) = src.line_column(spans.start(path));
        message.push_str(&format!(" ({intro} {line}:{column})"));
    }
    src.diagnostic(spans.locate(&f.path), message, f.help.clone())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Every diagnostic of `text` as `"LINE:COL: message"`, in file order. A
    /// leading newline is dropped, so snippets can start on the line after `r#"`.
    pub(crate) fn errors(text: &str) -> Vec<String> {
        let text = text.strip_prefix('\n').unwrap_or(text);
        match parse(Path::new("plan.toml"), text) {
            Ok(_) => Vec::new(),
            Err(PlanError::Invalid(d)) => {
                d.0.iter()
                    .map(|d| format!("{}:{}: {}", d.line, d.column, d.message))
                    .collect()
            }
            Err(e) => panic!("unexpected error {e}"),
        }
    }

    #[test]
    fn probe() {
        let e = parse(
            Path::new("plans/bad.toml"),
            r#"
project = "Meshform"
colour = 1
[network]
name = "cross_region"
mtu = 9000
routing_mode = "regional"

[[region]]
name = "europe-west2-a"
[region.subnet]
name = "eu"
cidr = "10.0.0.1/20"
pod_range = { name = "pods", cdir = "10.16.0.0/20" }
service_range = { name = "svc", cidr = "10.0.4.0/24" }
[region.nat]
min_ports_per_vm = 100

[[region]]
name = "us-central1"
[region.subnet]
name = "eu"
cidr = "10.0.8.0/21"
pod_range = { name = "p", cidr = "10.16.0.0/20" }
service_range = { name = "p", cidr = "10.17.0.0/24" }

[[firewall]]
name = "x"
allow = ["tpc:22", "icmp:3"]
destination_ranges = ["10.0.0.0/8"]
"#,
        )
        .unwrap_err();
        println!("{e}");
    }
}

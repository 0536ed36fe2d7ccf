//! Checks a parsed TOML document against [`super::schema`], collecting every
//! unknown key, missing field, wrong type, out-of-range number, bad enum value and
//! unparseable CIDR, and recording where every value is.
//!
//! Unknown keys, and bad values of optional keys, are removed from the document
//! after they are reported, so the section they are in can still be deserialized
//! (with defaults) and checked further. Every other error marks its key path as
//! broken: sections with a broken path inside are not deserialized.

use std::ops::Range;

use ipnet::Ipv4Net;
use toml::de::{DeTable, DeValue};
use toml::Spanned;

use super::diagnostic::{Diagnostic, Source};
use super::schema::{Field, Kind};
use super::spans::{join, SpanIndex};
use super::suggest::closest;

/// The result of checking one document's shape.
pub(crate) struct Shape<'s> {
    src: &'s Source<'s>,
    /// Everything found so far.
    pub diagnostics: Vec<Diagnostic>,
    /// Where each value is.
    pub spans: SpanIndex,
    /// Key paths of values that cannot be deserialized.
    broken: Vec<String>,
}

impl<'s> Shape<'s> {
    /// Checks `root` (the whole document, read from `src`) against `fields`.
    pub(crate) fn check(
        src: &'s Source<'s>,
        root: &mut Spanned<DeTable<'_>>,
        fields: &[Field],
    ) -> Self {
        let mut shape = Shape {
            src,
            diagnostics: Vec::new(),
            spans: SpanIndex::default(),
            broken: Vec::new(),
        };
        shape.spans.insert("", 0..0);
        shape.table("", root.get_mut(), 0..0, fields);
        shape
    }

    /// Whether the value at `path` and everything inside it has the right shape.
    pub(crate) fn is_intact(&self, path: &str) -> bool {
        !self.broken.iter().any(|b| {
            b == path
                || b.strip_prefix(path)
                    .is_some_and(|rest| rest.starts_with(['.', '[']))
        })
    }

    fn error(&mut self, path: &str, span: Range<usize>, message: String, help: String) {
        self.broken.push(path.to_owned());
        self.diagnostics
            .push(self.src.diagnostic(span, message, help));
    }

    fn table(&mut self, path: &str, table: &mut DeTable<'_>, span: Range<usize>, fields: &[Field]) {
        let known: Vec<&str> = fields.iter().map(|f| f.name).collect();
        let unknown: Vec<Spanned<String>> = table
            .iter()
            .map(|(k, _)| k)
            .filter(|k| !known.contains(&k.get_ref().as_ref()))
            .map(|k| Spanned::new(k.span(), k.get_ref().to_string()))
            .collect();
        for key in unknown {
            let name = key.get_ref();
            let message = if path.is_empty() {
                format!("unknown top-level key \"{name}\"")
            } else {
                format!("unknown key \"{name}\" in {path}")
            };
            let help = match closest(name, &known) {
                Some(k) => format!("did you mean \"{k}\"?"),
                None => format!("the keys allowed here are: {}", known.join(", ")),
            };
            self.diagnostics
                .push(self.src.diagnostic(key.span(), message, help));
            table.remove(name.as_str());
        }

        for field in fields.iter().filter(|f| f.required) {
            if !table.contains_key(field.name) {
                let full = join(path, field.name);
                let message = match (&field.kind, path.is_empty()) {
                    (Kind::Tables { .. }, _) => {
                        format!("the plan has no {} table", field.example)
                    }
                    (_, true) => format!("missing required key \"{}\"", field.name),
                    (_, false) => format!("{path} is missing required key \"{}\"", field.name),
                };
                let help = format!("add `{}`", field.example);
                self.error(&full, span.clone(), message, help);
            }
        }

        let mut dropped = Vec::new();
        for (key, value) in table.iter_mut() {
            if let Some(field) = fields.iter().find(|f| f.name == key.get_ref().as_ref()) {
                let full = join(path, field.name);
                self.value(&full, value, field, &field.kind);
                // A bad optional value is dropped after it is reported, so its
                // default stands in and the rest of the section is still checked.
                if !field.required && self.broken.last() == Some(&full) {
                    self.broken.pop();
                    dropped.push(field.name);
                }
            }
        }
        for name in dropped {
            table.remove(name);
        }
    }

    fn value(&mut self, path: &str, value: &mut Spanned<DeValue<'_>>, field: &Field, kind: &Kind) {
        let span = value.span();
        self.spans.insert(path, span.clone());
        let found = value.get_ref().type_str();
        match (kind, value.get_mut()) {
            (Kind::Str, DeValue::String(_)) | (Kind::Bool, DeValue::Boolean(_)) => {}
            (Kind::Int { min, max }, DeValue::Integer(i)) => {
                match i64::from_str_radix(i.as_str(), i.radix()).ok() {
                    Some(n) if (*min..=*max).contains(&n) => {}
                    _ => {
                        let range = if *max == i64::from(u32::MAX) {
                            format!("at least {min}")
                        } else {
                            format!("from {min} to {max}")
                        };
                        self.error(
                            path,
                            span,
                            format!("{path} must be {range}, found {i}"),
                            format!("use a value {range}, e.g. `{}`", field.example),
                        );
                    }
                }
            }
            (Kind::Enum(allowed), DeValue::String(s)) => {
                if !allowed.contains(&s.as_ref()) {
                    let list = allowed
                        .iter()
                        .map(|a| format!("\"{a}\""))
                        .collect::<Vec<_>>()
                        .join(", ");
                    let help = match closest(s, allowed) {
                        Some(c) => format!("did you mean \"{c}\"? allowed values: {list}"),
                        None => format!("allowed values: {list}"),
                    };
                    let message = format!("{path} has no value \"{s}\"");
                    self.error(path, span, message, help);
                }
            }
            (Kind::Cidr, DeValue::String(s)) => {
                if let Err(e) = s.parse::<Ipv4Net>() {
                    let message = format!("{path} \"{s}\" is not an IPv4 CIDR range: {e}");
                    let help = "write the network address and prefix length, e.g. \"10.0.0.0/20\"";
                    self.error(path, span, message, help.to_owned());
                }
            }
            (Kind::Table(fields), DeValue::Table(t)) => self.table(path, t, span, fields),
            (Kind::ArrayOf(inner), DeValue::Array(items)) => {
                for (i, item) in items.iter_mut().enumerate() {
                    self.value(&format!("{path}[{i}]"), item, field, inner);
                }
            }
            (Kind::Tables { fields, min }, DeValue::Array(items)) => {
                if items.len() < *min {
                    let message = format!("{path} needs at least {min} entry, found none");
                    let help = format!("add a `{}` table", field.example);
                    self.error(path, span.clone(), message, help);
                }
                for (i, item) in items.iter_mut().enumerate() {
                    let item_path = format!("{path}[{i}]");
                    self.value(&item_path, item, field, &Kind::Table(fields));
                }
            }
            (kind, _) => {
                let message = format!("{path} must be {}, found {}", describe(kind), a(found));
                let help = match kind {
                    Kind::Tables { .. } => format!(
                        "write `{}` (double brackets) before each entry",
                        field.example
                    ),
                    Kind::ArrayOf(_) | Kind::Table(_) if field.example.contains('=') => {
                        format!("write it like `{}`", field.example)
                    }
                    Kind::Table(_) => format!("write it as a `{}` section", field.example),
                    _ => format!("write it like `{}`", field.example),
                };
                self.error(path, span, message, help);
            }
        }
    }
}

/// What a value of `kind` looks like, for "must be …" messages.
fn describe(kind: &Kind) -> String {
    match kind {
        Kind::Str => "a string".into(),
        Kind::Bool => "true or false".into(),
        Kind::Int { .. } => "an integer".into(),
        Kind::Enum(_) => "a string".into(),
        Kind::Cidr => "a CIDR string like \"10.0.0.0/20\"".into(),
        Kind::Table(_) => "a table".into(),
        Kind::ArrayOf(inner) => format!("an array of {}", plural(inner)),
        Kind::Tables { .. } => "an array of tables".into(),
    }
}

fn plural(kind: &Kind) -> &'static str {
    match kind {
        Kind::Cidr => "CIDR strings",
        Kind::Table(_) => "tables",
        _ => "strings",
    }
}

/// `a string`, `an integer`, … for a TOML type name.
fn a(type_name: &str) -> String {
    let article = if type_name.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    };
    format!("{article} {type_name}")
}

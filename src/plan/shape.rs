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
use crate::kinds::ResourceKind;

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
        !self.broken.iter().any(|b| is_within(b, path))
    }

    /// Whether everything at `path` has the right shape apart from what is
    /// inside `part` (a path within `path`), so that `path` can be read
    /// without `part`.
    pub(crate) fn is_intact_apart_from(&self, path: &str, part: &str) -> bool {
        self.broken
            .iter()
            .filter(|b| is_within(b, path))
            .all(|b| is_within(b, part))
    }

    fn error(&mut self, path: &str, span: Range<usize>, message: String, help: String) {
        self.broken.push(path.to_owned());
        self.diagnostics
            .push(self.src.diagnostic(span, message, help));
    }

    fn table(&mut self, path: &str, table: &mut DeTable<'_>, span: Range<usize>, fields: &[Field]) {
        let known: Vec<&str> = fields.iter().map(|f| f.name).collect();
        self.drop_unknown(table, &known, |name| {
            let message = if path.is_empty() {
                format!("unknown top-level key \"{name}\"")
            } else {
                format!("unknown key \"{name}\" in {path}")
            };
            (message, "the keys allowed here are")
        });

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

    /// Reports and removes every key of `table` not in `known`, with the
    /// closest known key or, failing one, the list (`message` gives the
    /// message and the list's introduction).
    fn drop_unknown(
        &mut self,
        table: &mut DeTable<'_>,
        known: &[&str],
        message: impl Fn(&str) -> (String, &'static str),
    ) {
        let unknown: Vec<Spanned<String>> = table
            .iter()
            .map(|(k, _)| k)
            .filter(|k| !known.contains(&k.get_ref().as_ref()))
            .map(|k| Spanned::new(k.span(), k.get_ref().to_string()))
            .collect();
        for key in unknown {
            let name = key.get_ref();
            let (text, list) = message(name);
            let help = match closest(name, known) {
                Some(k) => format!("did you mean \"{k}\"?"),
                None => format!("{list}: {}", known.join(", ")),
            };
            self.diagnostics
                .push(self.src.diagnostic(key.span(), text, help));
            table.remove(name.as_str());
        }
    }

    /// A table of one table per resource kind (`[timeouts.cluster]`): the
    /// keys are the registry's kind names, each value a table of `fields`.
    fn kind_tables(&mut self, path: &str, table: &mut DeTable<'_>, fields: &'static [Field]) {
        let known: Vec<&str> = ResourceKind::ALL.iter().map(|k| k.as_str()).collect();
        self.drop_unknown(table, &known, |name| {
            (
                format!("unknown resource kind \"{name}\" in {path}"),
                "the kinds are",
            )
        });
        let field = Field {
            name: "KIND",
            kind: Kind::Table(fields),
            required: false,
            example: "[timeouts.cluster]",
        };
        let mut dropped = Vec::new();
        for (key, value) in table.iter_mut() {
            let full = join(path, key.get_ref());
            self.value(&full, value, &field, &field.kind);
            if self.broken.last() == Some(&full) {
                self.broken.pop();
                dropped.push(key.get_ref().to_string());
            }
        }
        for name in dropped {
            table.remove(name.as_str());
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
                if s.parse::<Ipv4Net>().is_err() {
                    let message = format!(
                        "{path} \"{s}\" is not an IPv4 CIDR range: {}",
                        why_not_cidr(s)
                    );
                    let help = "write the network address and prefix length, e.g. \"10.0.0.0/20\"";
                    self.error(path, span, message, help.to_owned());
                }
            }
            (Kind::Table(fields), DeValue::Table(t)) => self.table(path, t, span, fields),
            (Kind::TablePerResource(fields), DeValue::Table(t)) => {
                self.kind_tables(path, t, fields)
            }
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
                    Kind::Table(_) | Kind::TablePerResource(_) => {
                        format!("write it as a `{}` section", field.example)
                    }
                    _ => format!("write it like `{}`", field.example),
                };
                self.error(path, span, message, help);
            }
        }
    }
}

/// Whether key path `inner` is `outer` or a path inside it.
fn is_within(inner: &str, outer: &str) -> bool {
    inner == outer
        || inner
            .strip_prefix(outer)
            .is_some_and(|rest| rest.starts_with(['.', '[']))
}

/// Why `s`, which does not parse as an [`Ipv4Net`], is not one.
fn why_not_cidr(s: &str) -> &'static str {
    let Some((addr, len)) = s.split_once('/') else {
        return "the prefix length is missing";
    };
    if addr.contains(':') {
        return "IPv6 ranges are not supported";
    }
    if addr.parse::<std::net::Ipv4Addr>().is_err() {
        return "the address is not four numbers from 0 to 255 separated by dots";
    }
    if len.parse::<u8>().map_or(true, |l| l > 32) {
        return "the prefix length must be a number from 0 to 32";
    }
    "it is not written as ADDRESS/LENGTH"
}

/// What a value of `kind` looks like, for "must be …" messages.
fn describe(kind: &Kind) -> String {
    match kind {
        Kind::Str => "a string".into(),
        Kind::Bool => "true or false".into(),
        Kind::Int { .. } => "an integer".into(),
        Kind::Enum(_) => "a string".into(),
        Kind::Cidr => "a CIDR string like \"10.0.0.0/20\"".into(),
        Kind::Table(_) | Kind::TablePerResource(_) => "a table".into(),
        Kind::ArrayOf(inner) => format!("an array of {}", plural(inner)),
        Kind::Tables { .. } => "an array of tables".into(),
    }
}

fn plural(kind: &Kind) -> &'static str {
    match kind {
        Kind::Cidr => "CIDR strings",
        Kind::Table(_) | Kind::TablePerResource(_) => "tables",
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

#[cfg(test)]
mod tests {
    use crate::plan::parse::tests::{errors, errors_with_base};

    #[test]
    fn unknown_key_suggests_the_closest_known_key() {
        assert_eq!(
            errors(
                r#"
project = "meshform-demo"
[network]
name = "vpc"
[[region]]
name = "europe-west2"
[region.subnet]
name = "eu"
cdir = "10.0.0.0/20"
pod_range = { name = "pods", cidr = "10.16.0.0/20" }
service_range = { name = "svc", cidr = "10.17.0.0/24" }
"#
            ),
            [
                "6:1: region[0].subnet is missing required key \"cidr\"",
                "8:1: unknown key \"cdir\" in region[0].subnet",
            ]
        );
        let d = crate::plan::parse(
            std::path::Path::new("p.toml"),
            &format!(
                "{}[region.nat]\nmin_port_per_vm = 64\n",
                crate::plan::parse::tests::BASE
            ),
        )
        .unwrap_err()
        .to_string();
        assert!(
            d.contains("help: did you mean \"min_ports_per_vm\"?"),
            "{d}"
        );
    }

    #[test]
    fn unknown_key_without_a_close_match_lists_the_known_keys() {
        let text = format!("{}zone = \"a\"\n", crate::plan::parse::tests::BASE);
        let d = crate::plan::parse(std::path::Path::new("p.toml"), &text)
            .unwrap_err()
            .to_string();
        assert!(
            d.contains("11:1: unknown key \"zone\" in region[0].subnet\n  help: the keys allowed here are: name, cidr, pod_range, service_range, private_google_access"),
            "{d}"
        );
    }

    /// `[timeouts.KIND]` takes every kind of the registry, the mesh's too,
    /// and a misspelt kind gets the closest one.
    #[test]
    fn timeouts_take_every_registered_kind() {
        use crate::plan::parse::tests::errors_with_base;
        assert_eq!(
            errors_with_base(
                "[timeouts.istio]\ncreate = \"30m\"\n[timeouts.root_ca]\ndelete = \"1m\"\n"
            ),
            Vec::<String>::new()
        );
        let e = errors_with_base(
            "[timeouts.istioo]\ncreate = \"30m\"\n[timeouts.cluster]\ncreat = \"1h\"\n",
        );
        assert_eq!(e.len(), 2, "{e:?}");
        assert!(
            e[0].starts_with("11:11: unknown resource kind \"istioo\" in timeouts"),
            "{e:?}"
        );
        assert!(
            e[1].contains("unknown key \"creat\" in timeouts.cluster"),
            "{e:?}"
        );
    }

    #[test]
    fn missing_required_keys_point_at_their_table() {
        assert_eq!(
            errors(
                r#"
[network]
mtu = 1460
"#
            ),
            [
                "1:1: missing required key \"project\"",
                "1:1: the plan has no [[region]] table",
                "1:1: network is missing required key \"name\"",
            ]
        );
    }

    #[test]
    fn wrong_types_are_all_reported() {
        assert_eq!(
            errors_with_base(
                r#"
[region.nat]
enabled = "yes"
min_ports_per_vm = 6.4
[[firewall]]
name = 7
source_ranges = "10.0.0.0/8"
allow = ["tcp:22", 22]
"#
            ),
            [
                "12:11: region[0].nat.enabled must be true or false, found a string",
                "13:20: region[0].nat.min_ports_per_vm must be an integer, found a float",
                "15:8: firewall[0].name must be a string, found an integer",
                "16:17: firewall[0].source_ranges must be an array of CIDR strings, found a string",
                "17:20: firewall[0].allow[1] must be a string, found an integer",
            ]
        );
    }

    #[test]
    fn a_single_region_table_asks_for_double_brackets() {
        let text = r#"project = "meshform-demo"
[network]
name = "vpc"
[region]
name = "europe-west2"
"#;
        let d = crate::plan::parse(std::path::Path::new("p.toml"), text)
            .unwrap_err()
            .to_string();
        assert!(
            d.starts_with(
                "error: p.toml:4:1: region must be an array of tables, found a table\n  \
                 help: write `[[region]]` (double brackets) before each entry"
            ),
            "{d}"
        );
    }

    #[test]
    fn an_empty_region_list_is_refused() {
        assert_eq!(
            errors(
                r#"
project = "meshform-demo"
region = []
[network]
name = "vpc"
"#
            ),
            ["2:10: region needs at least 1 entry, found none"]
        );
    }

    #[test]
    fn bad_enum_values_list_the_allowed_ones() {
        let text = format!(
            "{}[region.nat]\nlog = \"verbose\"\n[[firewall]]\nname = \"x\"\ndirection = \"egress\"\nallow = [\"all\"]\n",
            crate::plan::parse::tests::BASE
        );
        let d = crate::plan::parse(std::path::Path::new("p.toml"), &text)
            .unwrap_err()
            .to_string();
        assert!(
            d.contains(
                "error: p.toml:12:7: region[0].nat.log has no value \"verbose\"\n  \
                 help: allowed values: \"NONE\", \"ERRORS_ONLY\", \"TRANSLATIONS_ONLY\", \"ALL\""
            ),
            "{d}"
        );
        assert!(
            d.contains(
                "error: p.toml:15:13: firewall[0].direction has no value \"egress\"\n  \
                 help: did you mean \"EGRESS\"? allowed values: \"INGRESS\", \"EGRESS\""
            ),
            "{d}"
        );
    }

    #[test]
    fn numbers_out_of_range() {
        assert_eq!(
            errors_with_base(
                r#"
[region.nat]
min_ports_per_vm = 1
udp_idle_timeout_sec = 0
tcp_established_idle_timeout_sec = -5
[[firewall]]
name = "x"
priority = 70000
source_ranges = ["0.0.0.0/0"]
allow = ["all"]
"#
            ),
            [
                "12:20: region[0].nat.min_ports_per_vm must be from 2 to 65536, found 1",
                "13:24: region[0].nat.udp_idle_timeout_sec must be at least 1, found 0",
                "14:36: region[0].nat.tcp_established_idle_timeout_sec must be at least 1, found -5",
                "17:12: firewall[0].priority must be from 0 to 65535, found 70000",
            ]
        );
        assert_eq!(
            errors(
                r#"
project = "meshform-demo"
[network]
name = "vpc"
mtu = 1200
"#
            ),
            [
                "1:1: the plan has no [[region]] table",
                "4:7: network.mtu must be from 1300 to 8896, found 1200",
            ]
        );
    }

    #[test]
    fn unparseable_cidrs() {
        assert_eq!(
            errors(
                r#"
project = "meshform-demo"
[network]
name = "vpc"
[[region]]
name = "europe-west2"
[region.subnet]
name = "eu"
cidr = "10.0.0.0"
pod_range = { name = "pods", cidr = "10.16.0.0/33" }
service_range = { name = "svc", cidr = "fd00::/64" }
[[firewall]]
name = "x"
source_ranges = ["10.0.0.300/8"]
allow = ["all"]
"#
            ),
            [
                "8:8: region[0].subnet.cidr \"10.0.0.0\" is not an IPv4 CIDR range: the prefix length is missing",
                "9:37: region[0].subnet.pod_range.cidr \"10.16.0.0/33\" is not an IPv4 CIDR range: the prefix length must be a number from 0 to 32",
                "10:40: region[0].subnet.service_range.cidr \"fd00::/64\" is not an IPv4 CIDR range: IPv6 ranges are not supported",
                "13:18: firewall[0].source_ranges[0] \"10.0.0.300/8\" is not an IPv4 CIDR range: the address is not four numbers from 0 to 255 separated by dots",
            ]
        );
    }
}

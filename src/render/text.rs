//! The human plan output.

use serde_json::Value;
use std::fmt::Write;

use crate::changeset::{Action, Change, ChangeSet, Summary};
use crate::resource::outputs::reference;
use crate::resource::Sensitive;

/// The whole plan as text: a legend of the symbols used, every change that
/// does something, and the summary line (or "No changes.").
pub fn render_text(set: &ChangeSet) -> String {
    let mut out = String::new();
    let forgotten: Vec<&Change> = set
        .changes
        .iter()
        .filter(|c| c.action == Action::NoOp && c.after.is_none())
        .collect();
    for c in &forgotten {
        let _ = writeln!(
            out,
            "Note: {} {}.",
            c.address,
            c.reason
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default()
        );
    }
    for note in &set.notes {
        let _ = writeln!(out, "Note: {note}.");
    }
    if !forgotten.is_empty() || !set.notes.is_empty() {
        out.push('\n');
    }
    if !set.has_changes() {
        out.push_str(
            "No changes. Your infrastructure matches the configuration.\n\n\
             meshform has compared your real infrastructure against your plan file and found no differences, so no changes are needed.\n",
        );
        return out;
    }
    let mut legend: Vec<Action> = set.changes.iter().map(|c| c.action).collect();
    legend.sort_by_key(|a| *a as u8);
    legend.dedup();
    out.push_str("Resource actions are indicated with the following symbols:\n");
    for a in legend.iter().filter(|a| **a != Action::NoOp) {
        let _ = writeln!(out, "{} {}", symbol(*a), legend_word(*a));
    }
    out.push_str("\nmeshform will perform the following actions:\n");
    for c in set.changes.iter().filter(|c| c.action != Action::NoOp) {
        out.push('\n');
        render_change(&mut out, c);
    }
    let _ = writeln!(out, "\n{}", render_summary(set.summary(), set.destroy));
    out
}

/// "Plan: 5 to add, 1 to change, 0 to destroy."
pub fn render_summary(s: Summary, _destroy: bool) -> String {
    format!(
        "Plan: {} to add, {} to change, {} to destroy.",
        s.add, s.change, s.destroy
    )
}

fn render_change(out: &mut String, c: &Change) {
    let what = match c.action {
        Action::Create => "will be created",
        Action::Update => "will be updated in place",
        Action::Replace => "must be replaced",
        Action::Delete => "will be destroyed",
        Action::NoOp => "is unchanged",
    };
    let reason = c
        .reason
        .as_ref()
        .map(|r| format!(" ({r})"))
        .unwrap_or_default();
    let _ = writeln!(out, "  # {} {what}{reason}", c.address);
    let _ = writeln!(out, "{} {} {{", symbol(c.action), c.address);
    let empty = Default::default();
    let before = c.before.as_ref().unwrap_or(&empty);
    let after = c.after.as_ref().unwrap_or(&empty);
    let mut keys: Vec<&String> = before.keys().chain(after.keys()).collect();
    keys.sort();
    keys.dedup();
    let shown_all = matches!(c.action, Action::Create | Action::Delete);
    let (shown, unchanged): (Vec<&String>, Vec<&String>) = keys
        .into_iter()
        .partition(|k| shown_all || before.get(*k) != after.get(*k));
    let hidden = unchanged.len();
    let width = shown.iter().map(|k| k.len()).max().unwrap_or(0);
    for k in shown {
        let (b, a) = (before.get(k), after.get(k));
        let forces = c.action == Action::Replace && c.forces_replacement.contains(k);
        let note = match (forces, c.notes.get(k.as_str())) {
            (true, _) => " # forces replacement".to_string(),
            (false, Some(why)) if c.action != Action::Delete => format!(" # {why}"),
            _ => String::new(),
        };
        if let (Some(Value::Object(bm)), Some(Value::Object(am))) = (b, a) {
            if !shown_all {
                render_map_change(out, k, width, bm, am, &note);
                continue;
            }
        }
        let whole = match (c.action, b, a) {
            (Action::Create, _, Some(v)) => Some(('+', v)),
            (Action::Delete, Some(v), _) => Some(('-', v)),
            _ => None,
        };
        if let Some((sign, v)) = whole {
            let note = if sign == '+' { note.as_str() } else { "" };
            if render_block(out, sign, k, width, v, note) {
                continue;
            }
        }
        let line = match (c.action, b, a) {
            (Action::Create, _, Some(Value::Object(m))) if m.len() > MAP_SHOWN => {
                format!("      + {k:width$} = {{ {} entries }}{note}", m.len())
            }
            (Action::Delete, Some(Value::Object(m)), _) if m.len() > MAP_SHOWN => {
                format!("      - {k:width$} = {{ {} entries }}", m.len())
            }
            (Action::Create, _, a) => format!("      + {k:width$} = {}{note}", show(a)),
            (Action::Delete, b, _) => format!("      - {k:width$} = {}", show(b)),
            (_, None, a) => format!("      + {k:width$} = {}{note}", show(a)),
            (_, b, None) => format!("      - {k:width$} = {}{note}", show(b)),
            (_, b, a) => format!("      ~ {k:width$} = {} -> {}{note}", show(b), show(a)),
        };
        out.push_str(&line);
        out.push('\n');
    }
    if hidden > 0 {
        let s = if hidden == 1 { "" } else { "s" };
        let _ = writeln!(out, "        # ({hidden} unchanged attribute{s} hidden)");
    }
    out.push_str("    }\n");
}

/// A map of more entries than this is shown as its count when created or destroyed.
const MAP_SHOWN: usize = 10;

/// A value longer than this on one line is drawn one entry per line.
const LINE_SHOWN: usize = 100;

/// A created or destroyed map of at most [`MAP_SHOWN`] entries, or a list
/// of strings, that would not fit on a line: drawn entry by entry, as
/// Terraform draws nested values. Returns whether it drew `v`.
fn render_block(
    out: &mut String,
    sign: char,
    key: &str,
    width: usize,
    v: &Value,
    note: &str,
) -> bool {
    if placeholder(v).is_some() || shown(v).to_string().len() <= LINE_SHOWN {
        return false;
    }
    match v {
        Value::Object(m) if m.len() <= MAP_SHOWN && !m.is_empty() => {
            let _ = writeln!(out, "      {sign} {key:width$} = {{{note}");
            let inner = m.keys().map(|k| k.len() + 2).max().unwrap_or(0);
            for (k, item) in m {
                let name = format!("{k:?}");
                let _ = writeln!(
                    out,
                    "          {sign} {name:inner$} = {}",
                    short(Some(item))
                );
            }
            let _ = writeln!(out, "        }}");
            true
        }
        Value::Array(items) if !items.is_empty() && items.iter().all(Value::is_string) => {
            let _ = writeln!(out, "      {sign} {key:width$} = [{note}");
            for item in items {
                let _ = writeln!(out, "          {sign} {},", show(Some(item)));
            }
            let _ = writeln!(out, "        ]");
            true
        }
        _ => false,
    }
}

/// A changed map, entry by entry, like Terraform's nested diff:
/// `+` added, `~` changed, `-` removed, unchanged entries counted.
fn render_map_change(
    out: &mut String,
    key: &str,
    width: usize,
    before: &serde_json::Map<String, Value>,
    after: &serde_json::Map<String, Value>,
    note: &str,
) {
    let _ = writeln!(out, "      ~ {key:width$} = {{{note}");
    let mut keys: Vec<&String> = before.keys().chain(after.keys()).collect();
    keys.sort();
    keys.dedup();
    let (changed, unchanged): (Vec<&String>, Vec<&String>) = keys
        .into_iter()
        .partition(|k| before.get(*k) != after.get(*k));
    let inner = changed.iter().map(|k| k.len() + 2).max().unwrap_or(0);
    for k in changed {
        let name = format!("{k:?}");
        let (b, a) = (short(before.get(k)), short(after.get(k)));
        let line = match (before.get(k), after.get(k)) {
            (None, _) => format!("          + {name:inner$} = {a}"),
            (_, None) => format!("          - {name:inner$} = {b}"),
            _ => format!("          ~ {name:inner$} = {b} -> {a}"),
        };
        let _ = writeln!(out, "{line}");
    }
    if !unchanged.is_empty() {
        let s = if unchanged.len() == 1 { "y" } else { "ies" };
        let _ = writeln!(
            out,
            "            # ({} unchanged entr{s} hidden)",
            unchanged.len()
        );
    }
    let _ = writeln!(out, "        }}");
}

/// [`show`], with a digest entry cut to 12 hex digits: enough to tell
/// versions apart in a long map.
fn short(v: Option<&Value>) -> String {
    match v.and_then(Value::as_str) {
        Some(d) if d.starts_with("sha256:") && d.len() > 19 => format!("\"{}…\"", &d[..19]),
        _ => show(v),
    }
}

/// A value as the plan shows it: outputs not known yet as
/// `(known after apply)`, sensitive values as `(sensitive, DIGEST)`.
fn show(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => "null".into(),
        Some(v) => placeholder(v).unwrap_or_else(|| shown(v).to_string()),
    }
}

/// The text shown instead of a reference or a sensitive value.
fn placeholder(v: &Value) -> Option<String> {
    if reference(v).is_some() {
        return Some("(known after apply)".into());
    }
    Sensitive::from_value(v).map(|s| s.to_string())
}

/// `v` with nested references and sensitive values replaced by their text.
fn shown(v: &Value) -> Value {
    if let Some(text) = placeholder(v) {
        return Value::String(text);
    }
    match v {
        Value::Array(items) => Value::Array(items.iter().map(shown).collect()),
        Value::Object(map) => {
            Value::Object(map.iter().map(|(k, v)| (k.clone(), shown(v))).collect())
        }
        other => other.clone(),
    }
}

fn symbol(a: Action) -> &'static str {
    match a {
        Action::Create => "  +",
        Action::Update => "  ~",
        Action::Replace => "-/+",
        Action::Delete => "  -",
        Action::NoOp => "   ",
    }
}

fn legend_word(a: Action) -> &'static str {
    match a {
        Action::Create => "create",
        Action::Update => "update in-place",
        Action::Replace => "destroy and then create replacement",
        Action::Delete => "destroy",
        Action::NoOp => "no-op",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::changeset::{diff, Reason, StateRef, CHANGE_SET_VERSION};
    use crate::resource::desired::object;
    use crate::resource::desired_resources;
    use crate::state::State;
    use serde_json::json;
    use std::collections::BTreeMap;

    fn set(changes: Vec<Change>) -> ChangeSet {
        ChangeSet {
            format_version: CHANGE_SET_VERSION,
            plan_file: "plans/vpc.toml".into(),
            project: "meshform-demo".into(),
            state: StateRef {
                lineage: "l".into(),
                serial: 1,
            },
            destroy: false,
            changes,
            timeouts: Default::default(),
            connections: Default::default(),
            planned_at: String::new(),
            notes: vec![],
            after_apply: vec![],
        }
    }

    fn change(
        address: &str,
        action: Action,
        reason: Option<Reason>,
        before: Option<serde_json::Value>,
        after: Option<serde_json::Value>,
    ) -> Change {
        let forces_replacement = match &reason {
            Some(Reason::CannotUpdate { fields }) => fields.clone(),
            _ => vec![],
        };
        Change {
            address: address.parse().unwrap(),
            action,
            reason,
            forces_replacement,
            before: before.map(object),
            after: after.map(object),
            ids: Default::default(),
            outputs: Default::default(),
            dependencies: vec![],
            prior_dependencies: vec![],
            notes: Default::default(),
        }
    }

    /// A version change shows which objects of a control plane are added,
    /// changed and removed, not two whole maps.
    #[test]
    fn changed_maps_show_entry_by_entry() {
        let before = json!({"version": "1.30.5", "objects": {
            "v1/ConfigMap/istio-system/istio": "sha256:a",
            "v1/Service/istio-system/istiod": "sha256:s",
            "admissionregistration.k8s.io/v1/ValidatingWebhookConfiguration//istiod-default-validator": "sha256:w",
        }});
        let after = json!({"version": "1.31.1", "objects": {
            "v1/ConfigMap/istio-system/istio": "sha256:b",
            "v1/Service/istio-system/istiod": "sha256:s",
            "apps/v1/Deployment/istio-system/istiod": "sha256:d",
        }});
        let c = change(
            "istio.europe-west2",
            Action::Update,
            Some(Reason::Changed {
                fields: vec!["objects".into(), "version".into()],
            }),
            Some(before),
            Some(after.clone()),
        );
        let text = render_text(&set(vec![c]));
        assert!(text.contains("      ~ objects = {\n"), "{text}");
        assert!(
            text.contains("+ \"apps/v1/Deployment/istio-system/istiod\"")
                && text.contains("= \"sha256:d\""),
            "{text}"
        );
        assert!(
            text.contains("~ \"v1/ConfigMap/istio-system/istio\"")
                && text.contains("= \"sha256:a\" -> \"sha256:b\""),
            "{text}"
        );
        assert!(text.contains("- \"admissionregistration.k8s.io/v1/ValidatingWebhookConfiguration//istiod-default-validator\""), "{text}");
        assert!(text.contains("# (1 unchanged entry hidden)"), "{text}");
        assert!(
            text.contains("~ version = \"1.30.5\" -> \"1.31.1\""),
            "{text}"
        );
        let big: serde_json::Map<String, Value> =
            (0..11).map(|i| (format!("k{i}"), json!("v"))).collect();
        let created = change(
            "istio.us-central1",
            Action::Create,
            None,
            None,
            Some(json!({"objects": big})),
        );
        let text = render_text(&set(vec![created]));
        assert!(text.contains("+ objects = { 11 entries }"), "{text}");
    }

    #[test]
    fn first_plan_of_the_vpc_example_creates_everything() {
        let plan = crate::plan::load(std::path::Path::new("plans/vpc.toml")).unwrap();
        let changes = diff(&desired_resources(&plan), &State::new(), &BTreeMap::new());
        let text = render_text(&set(changes));
        assert!(
            text.ends_with("Plan: 6 to add, 0 to change, 0 to destroy.\n"),
            "{text}"
        );
        insta::assert_snapshot!(text);
    }

    #[test]
    fn update_replace_and_delete_are_drawn_with_their_reasons() {
        let changes = vec![
            change(
                "subnet.europe-west2",
                Action::Update,
                Some(Reason::Changed {
                    fields: vec!["secondary_ranges".into()],
                }),
                Some(
                    json!({"name": "eu", "ip_cidr_range": "172.20.0.0/20", "secondary_ranges": [{"name": "pods", "cidr": "10.16.32.0/20"}]}),
                ),
                Some(
                    json!({"name": "eu", "ip_cidr_range": "172.20.0.0/20", "secondary_ranges": [{"name": "pods", "cidr": "10.16.64.0/20"}]}),
                ),
            ),
            change(
                "subnet.us-central1",
                Action::Replace,
                Some(Reason::CannotUpdate {
                    fields: vec!["ip_cidr_range".into()],
                }),
                Some(json!({"name": "us", "ip_cidr_range": "172.21.0.0/20"})),
                Some(json!({"name": "us", "ip_cidr_range": "172.22.0.0/20"})),
            ),
            change(
                "firewall.old-rule",
                Action::Delete,
                Some(Reason::NotInPlan),
                Some(json!({"name": "old-rule", "priority": 1000})),
                None,
            ),
            change(
                "network.vpc",
                Action::NoOp,
                None,
                Some(json!({"name": "vpc"})),
                Some(json!({"name": "vpc"})),
            ),
        ];
        let text = render_text(&set(changes));
        assert!(text.contains("-/+ subnet.us-central1 {"), "{text}");
        assert!(
            text.contains(
                "~ ip_cidr_range = \"172.21.0.0/20\" -> \"172.22.0.0/20\" # forces replacement"
            ),
            "{text}"
        );
        assert!(
            text.ends_with("Plan: 1 to add, 1 to change, 2 to destroy.\n"),
            "{text}"
        );
        insta::assert_snapshot!(text);
    }

    #[test]
    fn no_changes_says_so() {
        let changes = vec![change(
            "network.vpc",
            Action::NoOp,
            None,
            Some(json!({"name": "vpc"})),
            Some(json!({"name": "vpc"})),
        )];
        let text = render_text(&set(changes));
        assert!(text.starts_with("No changes. Your infrastructure matches the configuration."));
    }
}

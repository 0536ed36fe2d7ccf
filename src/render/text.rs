//! The human plan output.

use serde_json::Value;
use std::fmt::Write;

use crate::changeset::{Action, Change, ChangeSet, Summary};
use crate::resource::FieldRule;

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
            c.reason.as_deref().unwrap_or("")
        );
    }
    if !forgotten.is_empty() {
        out.push('\n');
    }
    if !set.has_changes() {
        out.push_str(
            "No changes. Your infrastructure matches the configuration.\n\n\
             meshform has compared your real infrastructure against your plan file and found no differences, so no changes are needed.\n",
        );
        return out;
    }
    out.push_str("meshform will perform the following actions:\n");
    let mut legend: Vec<Action> = set.changes.iter().map(|c| c.action).collect();
    legend.sort_by_key(|a| *a as u8);
    legend.dedup();
    out.push_str("Resource actions are indicated with the following symbols:\n");
    for a in legend.iter().filter(|a| **a != Action::NoOp) {
        let _ = writeln!(out, "  {} {}", symbol(*a).trim(), legend_word(*a));
    }
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
        .as_deref()
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
    let width = keys.iter().map(|k| k.len()).max().unwrap_or(0);
    let mut hidden = 0;
    for k in keys {
        let (b, a) = (before.get(k), after.get(k));
        let line = match c.action {
            Action::Create => format!("      + {k:width$} = {}", show(a)),
            Action::Delete => format!("      - {k:width$} = {}", show(b)),
            _ if b == a => {
                hidden += 1;
                continue;
            }
            _ => {
                let forces = c.action == Action::Replace
                    && c.address.kind.field_rule(k) == FieldRule::ForcesReplacement;
                let note = if forces { " # forces replacement" } else { "" };
                match (b, a) {
                    (None, Some(a)) => format!("      + {k:width$} = {}{note}", show(Some(a))),
                    (Some(b), None) => format!("      - {k:width$} = {}{note}", show(Some(b))),
                    _ => format!("      ~ {k:width$} = {} -> {}{note}", show(b), show(a)),
                }
            }
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

fn show(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => "null".into(),
        Some(v) => v.to_string(),
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

//! The machine-readable plan (`plan --json`).

use crate::changeset::ChangeSet;

/// The change set plus its summary, as pretty JSON.
pub fn render_json(set: &ChangeSet) -> String {
    let mut v = serde_json::to_value(set).expect("change sets serialize");
    v["summary"] = serde_json::to_value(set.summary()).expect("summary serializes");
    let mut s = serde_json::to_string_pretty(&v).expect("values serialize");
    s.push('\n');
    s
}

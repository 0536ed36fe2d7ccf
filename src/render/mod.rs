//! Rendering a change set: human text (Terraform's `+ ~ - -/+`) and JSON.
//! Rendering never decides anything; it only draws the change set.

mod json;
mod text;

pub use json::render_json;
pub use text::{render_summary, render_text};

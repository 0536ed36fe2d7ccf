//! Typed reads of [`Attrs`] values, for the code that turns attributes into
//! API requests. A missing or mistyped value reads as empty, zero or false:
//! attributes come from the plan file or state, which were checked already.

use serde_json::Value;

use super::Attrs;

/// The string at `key`, or "".
pub fn str<'a>(attrs: &'a Attrs, key: &str) -> &'a str {
    attrs.get(key).and_then(Value::as_str).unwrap_or_default()
}

/// The strings of the list at `key`.
pub fn strings(attrs: &Attrs, key: &str) -> Vec<String> {
    attrs
        .get(key)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str().map(str::to_string))
        .collect()
}

/// The number at `key` as the API's `int32`, or 0.
pub fn int(attrs: &Attrs, key: &str) -> i32 {
    attrs.get(key).and_then(Value::as_i64).unwrap_or_default() as i32
}

/// The boolean at `key`, or false.
pub fn flag(attrs: &Attrs, key: &str) -> bool {
    attrs.get(key).and_then(Value::as_bool).unwrap_or_default()
}

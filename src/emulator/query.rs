//! Query parameters as Google's API front end parses them: booleans and the
//! `fields` partial-response selector.
//!
//! - A boolean is parsed like protobuf's `safe_strtob`, which the front end
//!   uses for query bindings: `true`, `t`, `yes`, `y`, `1` and `false`, `f`,
//!   `no`, `n`, `0`, in any case. gcloud sends `includeAllScopes=True`.
//! - `fields` selects parts of a successful response:
//!   `kind,items(name,selfLink),nextPageToken`, `items/*/subnetworks(name)`,
//!   `a/b`, `*`. Error bodies are never trimmed. Field names are not checked
//!   against the schema (Google rejects unknown ones; the emulator keeps
//!   nothing for them).

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::errors::ApiError;

/// A boolean query value, or `None` if it is not one.
pub fn parse_bool(value: &str) -> Option<bool> {
    match value.to_ascii_lowercase().as_str() {
        "true" | "t" | "yes" | "y" | "1" => Some(true),
        "false" | "f" | "no" | "n" | "0" => Some(false),
        _ => None,
    }
}

/// The pairs of an `application/x-www-form-urlencoded` query string
/// (`+` is a space, `%XX` a byte).
pub fn parse_pairs(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect()
}

fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(b) => {
                        out.push(b);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A parsed `fields` selector: field name (or `*`) to what is kept of it
/// (`None`: all of it).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldMask(BTreeMap<String, Option<FieldMask>>);

impl FieldMask {
    /// Parses a `fields` value.
    ///
    /// # Errors
    /// 400 `invalid` (`Invalid field selection …`) for unbalanced
    /// parentheses or empty names.
    pub fn parse(text: &str) -> Result<FieldMask, ApiError> {
        let bad = || ApiError::invalid(format!("Invalid field selection {text}"));
        let chars: Vec<char> = text.chars().filter(|c| !c.is_whitespace()).collect();
        let mut pos = 0;
        let mask = parse_list(&chars, &mut pos).ok_or_else(bad)?;
        if pos != chars.len() {
            return Err(bad());
        }
        Ok(mask)
    }

    /// The mask of the request's `fields` parameter, if any.
    ///
    /// # Errors
    /// As [`FieldMask::parse`].
    pub fn from_query(query: &[(String, String)]) -> Result<Option<FieldMask>, ApiError> {
        query
            .iter()
            .find(|(k, _)| k == "fields")
            .filter(|(_, v)| !v.trim().is_empty())
            .map(|(_, v)| FieldMask::parse(v))
            .transpose()
    }

    /// Keeps only the selected parts of `value` (applied to every element of arrays).
    pub fn apply(&self, value: Value) -> Value {
        match value {
            Value::Array(items) => Value::Array(items.into_iter().map(|v| self.apply(v)).collect()),
            Value::Object(map) => {
                let mut out = Map::new();
                for (key, v) in map {
                    let Some(sub) = self.0.get(&key).or_else(|| self.0.get("*")) else {
                        continue;
                    };
                    let v = match sub {
                        Some(sub) => sub.apply(v),
                        None => v,
                    };
                    out.insert(key, v);
                }
                Value::Object(out)
            }
            other => other,
        }
    }

    fn merge(&mut self, name: String, sub: Option<FieldMask>) {
        match self.0.get_mut(&name) {
            None => {
                self.0.insert(name, sub);
            }
            Some(existing) => match (existing.as_mut(), sub) {
                (Some(a), Some(b)) => b.0.into_iter().for_each(|(k, v)| a.merge(k, v)),
                _ => *existing = None,
            },
        }
    }
}

/// `path(,path)*` up to a `)` or the end.
fn parse_list(chars: &[char], pos: &mut usize) -> Option<FieldMask> {
    let mut mask = FieldMask::default();
    loop {
        let (name, sub) = parse_path(chars, pos)?;
        mask.merge(name, sub);
        match chars.get(*pos) {
            Some(',') => *pos += 1,
            _ => return Some(mask),
        }
    }
}

/// `name(/name)*` optionally followed by `(list)`.
fn parse_path(chars: &[char], pos: &mut usize) -> Option<(String, Option<FieldMask>)> {
    let start = *pos;
    while chars
        .get(*pos)
        .is_some_and(|c| !matches!(c, ',' | '(' | ')' | '/'))
    {
        *pos += 1;
    }
    let name: String = chars[start..*pos].iter().collect();
    if name.is_empty() {
        return None;
    }
    let sub = match chars.get(*pos) {
        Some('/') => {
            *pos += 1;
            let (inner, sub) = parse_path(chars, pos)?;
            let mut mask = FieldMask::default();
            mask.merge(inner, sub);
            Some(mask)
        }
        Some('(') => {
            *pos += 1;
            let mask = parse_list(chars, pos)?;
            if chars.get(*pos) != Some(&')') {
                return None;
            }
            *pos += 1;
            Some(mask)
        }
        _ => None,
    };
    Some((name, sub))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn booleans_parse_in_any_case() {
        for t in ["true", "True", "TRUE", "t", "1", "yes"] {
            assert_eq!(parse_bool(t), Some(true), "{t}");
        }
        for f in ["false", "False", "FALSE", "f", "0", "no"] {
            assert_eq!(parse_bool(f), Some(false), "{f}");
        }
        for bad in ["maybe", "", "2", "truee"] {
            assert_eq!(parse_bool(bad), None, "{bad}");
        }
    }

    #[test]
    fn query_strings_are_decoded() {
        assert_eq!(
            parse_pairs("filter=name+eq+%22a%22&x&fields=items(name)"),
            vec![
                ("filter".to_string(), "name eq \"a\"".to_string()),
                ("x".to_string(), String::new()),
                ("fields".to_string(), "items(name)".to_string()),
            ]
        );
        assert_eq!(
            parse_pairs("a=%zz%4"),
            vec![("a".to_string(), "%zz%4".to_string())]
        );
    }

    #[test]
    fn fields_select_nested_parts() {
        let v = json!({"kind": "k", "id": "x", "nextPageToken": "t",
            "items": [{"name": "a", "selfLink": "l", "mtu": 1}, {"name": "b", "mtu": 2}]});
        let m = FieldMask::parse("items(name,selfLink),nextPageToken").expect("valid");
        assert_eq!(
            m.apply(v.clone()),
            json!({"nextPageToken": "t", "items": [{"name": "a", "selfLink": "l"}, {"name": "b"}]})
        );
        let m = FieldMask::parse("items/name,kind").expect("valid");
        assert_eq!(
            m.apply(v),
            json!({"kind": "k", "items": [{"name": "a"}, {"name": "b"}]})
        );
    }

    #[test]
    fn fields_wildcard_keeps_every_key() {
        let v = json!({"items": {"regions/r": {"subnetworks": [{"name": "s", "mtu": 1}]},
            "regions/q": {"warning": {"code": "NO_RESULTS_ON_PAGE"}}}});
        let m = FieldMask::parse("items/*/subnetworks(name),items/*/warning").expect("valid");
        assert_eq!(
            m.apply(v),
            json!({"items": {"regions/r": {"subnetworks": [{"name": "s"}]},
                "regions/q": {"warning": {"code": "NO_RESULTS_ON_PAGE"}}}})
        );
    }

    #[test]
    fn malformed_fields_are_400() {
        for bad in ["items(", "a,,b", "a)", "()"] {
            let e = FieldMask::parse(bad).unwrap_err();
            assert_eq!(e.code, 400, "{bad}");
            assert_eq!(e.message, format!("Invalid field selection {bad}"));
        }
    }
}

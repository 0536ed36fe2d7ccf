//! Request bodies: the rules every collection shares (names, server-set
//! fields, references to other resources) and the "cannot be modified"
//! answer of a patch.

use serde_json::{json, Map, Value};

use super::collections::Collection;
use crate::emulator::errors::ApiError;
use crate::emulator::refs;
use crate::emulator::schema;
use crate::emulator::world::World;

/// Fields the server sets; values sent by clients are ignored.
const SERVER_FIELDS: &[&str] = &[
    "id",
    "kind",
    "selfLink",
    "selfLinkWithId",
    "creationTimestamp",
    "region",
    "zone",
];

/// Checks a resource name like the real API.
///
/// # Errors
/// 400 `invalid` unless the name matches `[a-z]([-a-z0-9]*[a-z0-9])?` and has at most 63 characters.
pub fn validate_name(name: &str) -> Result<(), ApiError> {
    let bytes = name.as_bytes();
    let ok = !bytes.is_empty()
        && bytes.len() <= 63
        && bytes[0].is_ascii_lowercase()
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
        && bytes.last().is_some_and(|b| *b != b'-');
    if ok {
        Ok(())
    } else {
        Err(ApiError::invalid(format!(
            "Invalid value for field 'resource.name': '{name}'. Must be a match of regex '(?:[a-z](?:[-a-z0-9]{{0,61}}[a-z0-9])?)'"
        )))
    }
}

/// The body of a request for `collection` as an object: validated against
/// its schema, without output-only and server-set fields or nulls.
///
/// # Errors
/// 400 when the body does not fit the schema or is not an object.
pub(super) fn body_object(
    collection: &Collection,
    body: Option<Value>,
) -> Result<Map<String, Value>, ApiError> {
    let body = body.unwrap_or_else(|| json!({}));
    schema::validate_body(collection.schema, &body)?;
    let mut body = body;
    schema::strip_output_only(collection.schema, &mut body);
    let Value::Object(mut map) = body else {
        return Err(ApiError::invalid(
            "Invalid JSON payload received. Expected an object.",
        ));
    };
    for f in SERVER_FIELDS {
        map.remove(*f);
    }
    map.retain(|_, v| !v.is_null());
    Ok(map)
}

/// The 400 the real API answers when a patch changes fields it cannot modify:
/// `Invalid value for field 'resource': '{…}'. The following field(s)
/// specified in the request cannot be modified: [a, b]`. Fields sent with
/// their current value are accepted by the real API, so callers list only
/// fields whose value differs.
pub fn cannot_modify(body: &Map<String, Value>, fields: &[&str]) -> ApiError {
    let shown: Vec<String> = body.iter().map(|(k, v)| format!("\"{k}\": {v}")).collect();
    let mut resource = format!("{{  {}}}", shown.join(",  "));
    if resource.chars().count() > 100 {
        resource = resource.chars().take(100).collect::<String>() + "...";
    }
    ApiError::invalid(format!(
        "Invalid value for field 'resource': '{resource}'. The following field(s) specified in the request cannot be modified: [{}]",
        fields.join(", ")
    ))
}

/// Resolves reference field `field` of `body` as a resource of `collection`, which must exist.
///
/// # Errors
/// 400 if malformed, 404 if the resource doesn't exist (yet).
pub fn existing_ref(
    world: &World,
    project: &str,
    body: &Map<String, Value>,
    field: &str,
    collection: &str,
) -> Result<Option<String>, ApiError> {
    let Some(reference) = body.get(field).and_then(Value::as_str) else {
        return Ok(None);
    };
    let rel = refs::typed(reference, project, collection, &format!("resource.{field}"))?;
    if !world.resources.contains_key(&rel) {
        return Err(ApiError::not_found(&rel));
    }
    Ok(Some(rel))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_real_rules() {
        assert!(validate_name("cross-region-vpc").is_ok());
        assert!(validate_name("a").is_ok());
        for bad in ["", "Vpc", "1abc", "abc-", "a_b", &"a".repeat(64)] {
            assert_eq!(validate_name(bad).unwrap_err().code, 400, "{bad}");
        }
    }
}

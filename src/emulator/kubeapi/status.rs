//! Kubernetes `Status` error bodies, as the real API server returns them.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

/// A failed request: HTTP code, machine-readable reason and message.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    /// HTTP status code.
    pub code: u16,
    /// `reason`, e.g. `NotFound`, `AlreadyExists`, `Conflict`.
    pub reason: &'static str,
    /// Human-readable message.
    pub message: String,
    /// Optional `details` (name, group, kind, causes).
    pub details: Option<Value>,
}

impl Failure {
    fn new(code: u16, reason: &'static str, message: impl Into<String>) -> Self {
        Failure {
            code,
            reason,
            message: message.into(),
            details: None,
        }
    }

    /// 401: no or empty bearer token.
    pub fn unauthorized() -> Self {
        Failure::new(401, "Unauthorized", "Unauthorized")
    }

    /// 404 for an object: `configmaps "x" not found`.
    pub fn not_found(group: &str, plural: &str, name: &str) -> Self {
        let what = qualified(group, plural);
        Failure::new(404, "NotFound", format!("{what} \"{name}\" not found"))
            .with_details(group, plural, name)
    }

    /// 404 for a path the server does not serve.
    pub fn no_route(path: &str) -> Self {
        Failure::new(
            404,
            "NotFound",
            format!("the server could not find the requested resource ({path})"),
        )
    }

    /// 409: an object of that name exists.
    pub fn already_exists(group: &str, plural: &str, name: &str) -> Self {
        let what = qualified(group, plural);
        Failure::new(
            409,
            "AlreadyExists",
            format!("{what} \"{name}\" already exists"),
        )
        .with_details(group, plural, name)
    }

    /// 409: stale `resourceVersion` or an apply conflict.
    pub fn conflict(group: &str, plural: &str, name: &str, message: impl Into<String>) -> Self {
        let what = qualified(group, plural);
        let message = format!(
            "Operation cannot be fulfilled on {what} \"{name}\": {}",
            message.into()
        );
        Failure::new(409, "Conflict", message).with_details(group, plural, name)
    }

    /// 409 from server-side apply: fields owned by other managers.
    pub fn apply_conflict(conflicts: &[(String, String)]) -> Self {
        let lines: Vec<String> = conflicts
            .iter()
            .map(|(manager, field)| format!("conflict with \"{manager}\": {field}"))
            .collect();
        let causes: Vec<Value> = conflicts
            .iter()
            .map(|(manager, field)| {
                json!({"reason": "FieldManagerConflict",
                       "message": format!("conflict with \"{manager}\""),
                       "field": field})
            })
            .collect();
        let mut failure = Failure::new(
            409,
            "Conflict",
            format!(
                "Apply failed with {} conflict(s): {}",
                lines.len(),
                lines.join(", ")
            ),
        );
        failure.details = Some(json!({ "causes": causes }));
        failure
    }

    /// 400: malformed request.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Failure::new(400, "BadRequest", message)
    }

    /// 422: the object is invalid.
    pub fn invalid(message: impl Into<String>) -> Self {
        Failure::new(422, "Invalid", message)
    }

    /// 405: the verb is not supported (watch, for example).
    pub fn method_not_allowed(message: impl Into<String>) -> Self {
        Failure::new(405, "MethodNotAllowed", message)
    }

    /// 415: unsupported patch or body type.
    pub fn unsupported_media_type(content_type: &str) -> Self {
        Failure::new(
            415,
            "UnsupportedMediaType",
            format!("the body of the request was in an unknown format: {content_type}"),
        )
    }

    /// 403 for an object, as admission refuses it:
    /// `configmaps "x" is forbidden: <why>`, with `causes` in the details.
    pub fn forbidden(group: &str, plural: &str, name: &str, why: &str, causes: Value) -> Self {
        let what = qualified(group, plural);
        let mut f = Failure::new(
            403,
            "Forbidden",
            format!("{what} \"{name}\" is forbidden: {why}"),
        )
        .with_details(group, plural, name);
        if let Some(d) = f.details.as_mut() {
            d["causes"] = causes;
        }
        f
    }

    /// 403 from authorization, worded as apimachinery's `NewForbidden`:
    /// `services is forbidden: <why>` for a collection, `services "x" is
    /// forbidden: <why>` for an object, `forbidden: <why>` for a path;
    /// `details` hold the group, the resource (as `kind`) and the name.
    pub fn denied(group: &str, resource: &str, name: &str, why: &str) -> Self {
        let what = qualified(group, resource);
        let message = match (resource, name) {
            ("", _) => format!("forbidden: {why}"),
            (_, "") => format!("{what} is forbidden: {why}"),
            _ => format!("{what} \"{name}\" is forbidden: {why}"),
        };
        let mut details = serde_json::Map::new();
        for (field, value) in [("group", group), ("kind", resource), ("name", name)] {
            if !value.is_empty() {
                details.insert(field.into(), json!(value));
            }
        }
        let mut f = Failure::new(403, "Forbidden", message);
        f.details = Some(Value::Object(details));
        f
    }

    /// 500: the server could not persist.
    pub fn internal(message: impl Into<String>) -> Self {
        Failure::new(500, "InternalError", message)
    }

    fn with_details(mut self, group: &str, plural: &str, name: &str) -> Self {
        let mut details = json!({ "name": name, "kind": plural });
        if !group.is_empty() {
            details["group"] = json!(group);
        }
        self.details = Some(details);
        self
    }

    /// The `Status` body.
    pub fn body(&self) -> Value {
        let mut body = json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        });
        if let Some(details) = &self.details {
            body["details"] = details.clone();
        }
        body
    }
}

fn qualified(group: &str, plural: &str) -> String {
    if group.is_empty() {
        plural.to_string()
    } else {
        format!("{plural}.{group}")
    }
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        let code = StatusCode::from_u16(self.code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        json_response(code, &self.body())
    }
}

/// A JSON response with `Content-Type: application/json`.
pub fn json_response(code: StatusCode, body: &Value) -> Response {
    (
        code,
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unauthorized_body_is_a_status() {
        let body = Failure::unauthorized().body();
        assert_eq!(body["kind"], "Status");
        assert_eq!(body["status"], "Failure");
        assert_eq!(body["reason"], "Unauthorized");
        assert_eq!(body["code"], 401);
    }

    #[test]
    fn not_found_names_group_and_plural() {
        let f = Failure::not_found("apps", "deployments", "web");
        assert_eq!(f.message, "deployments.apps \"web\" not found");
        assert_eq!(f.body()["details"]["group"], "apps");
    }
}

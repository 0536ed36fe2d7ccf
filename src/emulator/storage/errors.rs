//! Cloud Storage's error bodies, which differ from the other APIs': no
//! `status`, and the failed header named in `errors[].location`:
//!
//! `{"error":{"code":412,"message":"At least one of the pre-conditions you specified did not hold.","errors":[{"message":"…","domain":"global","reason":"conditionNotMet","locationType":"header","location":"If-Match"}]}}`
//!
//! The words are Google's, as captured with `gcloud --log-http` and in
//! client test fixtures (404 bucket and object, 412, 409 on bucket insert).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

/// The message of every failed precondition.
pub const PRECONDITION_FAILED: &str =
    "At least one of the pre-conditions you specified did not hold.";

/// A JSON API error: HTTP status, `errors[].reason` and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StorageError {
    /// HTTP status code, e.g. 412.
    pub code: u16,
    /// The `errors[].reason`, e.g. `conditionNotMet`.
    pub reason: &'static str,
    /// The message, as Google words it.
    pub message: String,
    /// `errors[].locationType` and `errors[].location`, when Google names
    /// what failed (a precondition's `If-Match` header).
    pub location: Option<(&'static str, &'static str)>,
}

impl StorageError {
    fn new(code: u16, reason: &'static str, message: impl Into<String>) -> Self {
        StorageError {
            code,
            reason,
            message: message.into(),
            location: None,
        }
    }

    /// 404 `The specified bucket does not exist.`
    pub fn no_bucket() -> Self {
        Self::new(404, "notFound", "The specified bucket does not exist.")
    }

    /// 404 `No such object: {bucket}/{name}`.
    pub fn no_object(bucket: &str, name: &str) -> Self {
        Self::new(404, "notFound", format!("No such object: {bucket}/{name}"))
    }

    /// 412 `conditionNotMet`, located at the `If-Match` header as Google
    /// reports it for every `if*Match` query parameter.
    pub fn condition_not_met() -> Self {
        StorageError {
            location: Some(("header", "If-Match")),
            ..Self::new(412, "conditionNotMet", PRECONDITION_FAILED)
        }
    }

    /// 409 for a bucket that exists already (the emulator has one owner).
    pub fn bucket_exists() -> Self {
        Self::new(
            409,
            "conflict",
            "Your previous request to create the named bucket succeeded and you already own it.",
        )
    }

    /// 409 for deleting a bucket that still holds objects.
    pub fn not_empty() -> Self {
        Self::new(
            409,
            "conflict",
            "The bucket you tried to delete is not empty.",
        )
    }

    /// 400 `invalid` with a free message.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(400, "invalid", message)
    }

    /// 400 `required`: a parameter is missing.
    pub fn required(what: &str) -> Self {
        Self::new(400, "required", format!("Required parameter: {what}"))
    }

    /// 404 for a URL that matches no emulated method.
    pub fn no_route(method: &str, path: &str) -> Self {
        Self::new(
            404,
            "notFound",
            format!("The requested URL {method} {path} was not found on this server."),
        )
    }

    /// 503 `backendError` (the world could not be written).
    pub fn backend_error() -> Self {
        Self::new(
            503,
            "backendError",
            "We encountered an internal error. Please try again.",
        )
    }

    /// The JSON error body.
    pub fn body(&self) -> Value {
        let mut item = json!({
            "message": self.message,
            "domain": "global",
            "reason": self.reason,
        });
        if let Some((kind, at)) = self.location {
            item["locationType"] = json!(kind);
            item["location"] = json!(at);
        }
        json!({"error": {"code": self.code, "message": self.message, "errors": [item]}})
    }
}

impl IntoResponse for StorageError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        (status, axum::Json(self.body())).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_precondition_reads_as_googles() {
        let body = StorageError::condition_not_met().body();
        assert_eq!(
            body,
            json!({"error": {
                "code": 412,
                "message": PRECONDITION_FAILED,
                "errors": [{
                    "message": PRECONDITION_FAILED,
                    "domain": "global",
                    "reason": "conditionNotMet",
                    "locationType": "header",
                    "location": "If-Match",
                }],
            }})
        );
        assert!(body["error"].get("status").is_none());
    }

    #[test]
    fn missing_objects_are_named_with_their_bucket() {
        let e = StorageError::no_object("bk", "envs/prod.json");
        assert_eq!((e.code, e.reason), (404, "notFound"));
        assert_eq!(e.message, "No such object: bk/envs/prod.json");
    }
}

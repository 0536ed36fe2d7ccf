//! Error bodies in the shape the real compute API returns them.
//!
//! `{"error":{"code":409,"message":"…","status":"ALREADY_EXISTS","errors":[{"reason":"alreadyExists","domain":"global","message":"…"}]}}`.
//! Google's Rust clients take the error code from `status`. Errors the API
//! front end answers (a disabled service, a missing project) also carry
//! `details` (`google.rpc.ErrorInfo`, `google.rpc.Help`), which the clients
//! then show instead of `errors`.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

/// An API error answered synchronously, with the HTTP status and the real reason string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// HTTP status code, e.g. 409.
    pub code: u16,
    /// Canonical status name, e.g. `ALREADY_EXISTS`.
    pub status: &'static str,
    /// The `errors[].reason`, e.g. `alreadyExists`.
    pub reason: &'static str,
    /// Human message, as the real API words it.
    pub message: String,
    /// The `errors[].domain`: `global` for most errors, `usageLimits` for a disabled service.
    pub domain: &'static str,
    /// The `errors[].extendedHelp`, when the real API sends one.
    pub extended_help: Option<&'static str>,
    /// The `details` (`google.rpc.*` messages with their `@type`); omitted when empty.
    pub details: Vec<Value>,
}

impl ApiError {
    /// An error with `errors[].domain` `global`, no extended help and no details.
    pub fn new(code: u16, status: &'static str, reason: &'static str, message: String) -> Self {
        ApiError {
            code,
            status,
            reason,
            message,
            domain: "global",
            extended_help: None,
            details: Vec::new(),
        }
    }

    /// 409: `The resource '{path}' already exists`.
    pub fn already_exists(path: &str) -> Self {
        Self::new(
            409,
            "ALREADY_EXISTS",
            "alreadyExists",
            format!("The resource '{path}' already exists"),
        )
    }

    /// 404: `The resource '{path}' was not found`.
    pub fn not_found(path: &str) -> Self {
        Self::new(
            404,
            "NOT_FOUND",
            "notFound",
            format!("The resource '{path}' was not found"),
        )
    }

    /// 400 `invalid` with a free message.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(400, "INVALID_ARGUMENT", "invalid", message.into())
    }

    /// 400 `resourceInUseByAnotherResource`.
    pub fn in_use(path: &str, user: &str) -> Self {
        Self::new(
            400,
            "INVALID_ARGUMENT",
            "resourceInUseByAnotherResource",
            format!(
                "The {} resource '{path}' is already being used by '{user}'",
                kind_word(path)
            ),
        )
    }

    /// 400 `resourceNotReady`: another operation on the resource is still running.
    pub fn not_ready(path: &str) -> Self {
        Self::new(
            400,
            "INVALID_ARGUMENT",
            "resourceNotReady",
            format!("The resource '{path}' is not ready"),
        )
    }

    /// 412 `conditionNotMet` (stale or missing fingerprint).
    pub fn condition_not_met(message: impl Into<String>) -> Self {
        Self::new(
            412,
            "FAILED_PRECONDITION",
            "conditionNotMet",
            message.into(),
        )
    }

    /// 429 `rateLimitExceeded`.
    pub fn rate_limited() -> Self {
        Self::new(
            429,
            "RESOURCE_EXHAUSTED",
            "rateLimitExceeded",
            "Quota exceeded for quota metric 'Queries' and limit 'Queries per minute' of service 'compute.googleapis.com'.".into(),
        )
    }

    /// 503 `backendError`.
    pub fn backend_error() -> Self {
        Self::new(
            503,
            "UNAVAILABLE",
            "backendError",
            "Internal error. Please try again or contact Google Support.".into(),
        )
    }

    /// 404 for a URL that matches no emulated method.
    pub fn no_route(method: &str, path: &str) -> Self {
        Self::new(
            404,
            "NOT_FOUND",
            "notFound",
            format!("The requested URL {method} {path} was not found on this server."),
        )
    }

    /// The JSON error body.
    pub fn body(&self) -> Value {
        let mut item = json!({
            "reason": self.reason,
            "domain": self.domain,
            "message": self.message,
        });
        if let Some(help) = self.extended_help {
            item["extendedHelp"] = json!(help);
        }
        let mut body = json!({
            "error": {
                "code": self.code,
                "message": self.message,
                "status": self.status,
                "errors": [item],
            }
        });
        if !self.details.is_empty() {
            body["error"]["details"] = Value::Array(self.details.clone());
        }
        body
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        (status, axum::Json(self.body())).into_response()
    }
}

/// "network", "subnetwork", … from a relative resource path, for messages.
fn kind_word(path: &str) -> &'static str {
    let collection = path.rsplit('/').nth(1).unwrap_or("");
    match collection {
        "networks" => "network",
        "subnetworks" => "subnetwork",
        "routers" => "router",
        "firewalls" => "firewall",
        "forwardingRules" => "forwarding rule",
        "instances" => "instance",
        "backendServices" => "backend service",
        "healthChecks" => "health check",
        "networkEndpointGroups" => "network endpoint group",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn already_exists_body_has_the_real_shape() {
        let body = ApiError::already_exists("projects/p/global/networks/n").body();
        assert_eq!(body["error"]["code"], 409);
        assert_eq!(body["error"]["status"], "ALREADY_EXISTS");
        assert_eq!(body["error"]["errors"][0]["reason"], "alreadyExists");
        assert_eq!(
            body["error"]["message"],
            "The resource 'projects/p/global/networks/n' already exists"
        );
    }

    #[test]
    fn in_use_names_the_user() {
        let e = ApiError::in_use(
            "projects/p/global/networks/n",
            "projects/p/regions/r/subnetworks/s",
        );
        assert_eq!(e.reason, "resourceInUseByAnotherResource");
        assert!(e.message.contains("network resource"));
    }
}

//! Error answers in the words of the container API (`Not found: …`,
//! `Already exists: …`, FAILED_PRECONDITION while another operation runs).

use crate::emulator::errors::ApiError;

/// 404 `Not found: {rel}.`
pub fn not_found(rel: &str) -> ApiError {
    ApiError::new(404, "NOT_FOUND", "notFound", format!("Not found: {rel}."))
}

/// 409 `Already exists: {rel}.`
pub fn already_exists(rel: &str) -> ApiError {
    ApiError::new(
        409,
        "ALREADY_EXISTS",
        "alreadyExists",
        format!("Already exists: {rel}."),
    )
}

/// 400 INVALID_ARGUMENT with the real API's `badRequest` reason.
pub fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::new(400, "INVALID_ARGUMENT", "badRequest", message.into())
}

/// 400 FAILED_PRECONDITION: the cluster is busy with operation `op` doing `doing`.
pub fn busy(op: &str, doing: &str, cluster: &str) -> ApiError {
    ApiError::new(400, "FAILED_PRECONDITION", "failedPrecondition", format!(
            "Operation {op} is currently {doing} cluster {cluster}. Please wait and try again once it is done."
        ))
}

//! Errors of the GCP layer.

/// A cloud call failed.
#[derive(Debug, thiserror::Error)]
pub enum GcpError {
    /// The API answered with an error (after retries, when retryable).
    #[error("{context}: {source}")]
    Api {
        /// What meshform was doing.
        context: String,
        /// The client's error, with the API's message.
        #[source]
        source: google_cloud_gax::error::Error,
    },
    /// A long-running operation ended with an error.
    #[error("{context}: operation {operation} failed: {message}")]
    Operation {
        /// What meshform was doing.
        context: String,
        /// The operation's name.
        operation: String,
        /// The API's error codes and messages.
        message: String,
        /// `httpErrorStatusCode` of the operation, when set.
        http_status: Option<i32>,
    },
    /// The resource exists but differs from what the plan asks for.
    #[error("{address} already exists with different settings ({fields}); it was not made by this state\n  help: delete it, rename it in the plan file, or change the plan file to match it")]
    Conflict {
        /// The resource.
        address: String,
        /// Fields that differ.
        fields: String,
    },
    /// The credentials could not be set up.
    #[error("cannot load Google credentials: {0}\n  help: run `gcloud auth application-default login`, or set GOOGLE_APPLICATION_CREDENTIALS to a service account key file")]
    Credentials(String),
    /// A client could not be built.
    #[error("cannot create the {service} client: {message}")]
    Client {
        /// Which client.
        service: &'static str,
        /// Why.
        message: String,
    },
    /// The resource did not appear after an "already exists" answer.
    #[error("{0} already exists but could not be read back")]
    NotReadable(String),
}

impl GcpError {
    /// Whether retrying the whole step may succeed (rate limits, backend errors).
    pub fn is_transient(&self) -> bool {
        match self {
            GcpError::Operation { http_status, .. } => {
                matches!(http_status, Some(429) | Some(500..=599))
            }
            GcpError::Api { source, .. } => super::retry::is_retryable(source),
            _ => false,
        }
    }
}

/// The client's error for HTTP `code`, if it is that.
pub(crate) fn is_http(e: &google_cloud_gax::error::Error, code: u16) -> bool {
    use google_cloud_gax::error::rpc::Code;
    if e.http_status_code() == Some(code) {
        return true;
    }
    let want = match code {
        404 => Code::NotFound,
        409 => Code::AlreadyExists,
        _ => return false,
    };
    e.status().is_some_and(|s| s.code == want)
}

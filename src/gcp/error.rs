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
    /// The credentials could not be set up.
    #[error("cannot load Google credentials: {0}\n  help: run `gcloud auth application-default login`, or set GOOGLE_APPLICATION_CREDENTIALS to a service account key file")]
    Credentials(String),
    /// An API the plan needs is not enabled in the project.
    #[error("the {service} API is not enabled in project {project}\n  help: run `gcloud services enable {service} --project {project}`, wait a minute, and run the same command again")]
    ServiceDisabled {
        /// The service, e.g. `compute.googleapis.com`.
        service: &'static str,
        /// The project.
        project: String,
    },
    /// The first call to an API kept failing transiently.
    #[error("no answer from {service} within {seconds}s\n  last error: {last_error}\n  help: check https://status.cloud.google.com and your quota, then run the same command again")]
    NoAnswer {
        /// The service.
        service: &'static str,
        /// How long meshform tried.
        seconds: u64,
        /// The last error the client retried.
        last_error: String,
    },
    /// The project does not exist, or these credentials cannot see it.
    #[error("project {0} does not exist, or these credentials cannot see it\n  help: check `project` in the plan file against `gcloud projects list`, and the account of `gcloud auth application-default login`")]
    ProjectNotFound(String),
    /// A client could not be built.
    #[error("cannot create the {service} client: {message}")]
    Client {
        /// Which client.
        service: &'static str,
        /// Why.
        message: String,
    },
    /// A resource could not be read (it is missing or incomplete).
    #[error("cannot read {0}")]
    NotReadable(String),
    /// Something Google does on its own (GKE removing a load balancer) has
    /// not happened in time.
    #[error("{0}\n  help: run the same command again; whatever is left is swept after the cluster is deleted")]
    StillThere(String),
    /// The run was interrupted while waiting for an operation, which goes on
    /// in the cloud: the next run joins it.
    #[error("{context}: interrupted while waiting for {operation}, which goes on in the cloud; run the same command again to join it")]
    Interrupted {
        /// What meshform was doing.
        context: String,
        /// The operation left running.
        operation: String,
    },
}

impl GcpError {
    /// Whether the API answered "already exists" (HTTP 409).
    pub fn is_already_exists(&self) -> bool {
        matches!(self, GcpError::Api { source, .. } if is_http(source, 409))
    }

    /// Whether the API answered "not found" (HTTP 404).
    pub fn is_not_found(&self) -> bool {
        matches!(self, GcpError::Api { source, .. } if is_http(source, 404))
    }

    /// Whether the API refused the call because another operation on the
    /// same resource is still running: compute's `resourceNotReady`, GKE's
    /// `FAILED_PRECONDITION … is currently creating/updating/deleting …`.
    pub fn is_busy(&self) -> bool {
        use google_cloud_gax::error::rpc::Code;
        let GcpError::Api { source, .. } = self else {
            return false;
        };
        let payload = source
            .http_payload()
            .map(|b| String::from_utf8_lossy(b).into_owned())
            .unwrap_or_default();
        if payload.contains("resourceNotReady") {
            return true;
        }
        source.status().is_some_and(|s| {
            (s.code == Code::FailedPrecondition && s.message.contains(" is currently "))
                || s.message.contains("is not ready")
        })
    }

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

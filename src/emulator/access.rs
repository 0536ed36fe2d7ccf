//! Who may call what: projects that do not exist and APIs that are not
//! enabled (test knobs of `EmulatorConfig`), answered with the errors
//! Google's front end gives before any method runs.
//!
//! - A disabled service: 403 `PERMISSION_DENIED`, reason
//!   `accessNotConfigured`, with a `google.rpc.ErrorInfo` whose reason is
//!   `SERVICE_DISABLED` and whose metadata names the service.
//! - A missing project: compute answers 404 `The resource 'projects/{p}' was
//!   not found`; GKE, Network Management and Secret Manager answer 403
//!   `Permission denied on resource project {p}.` (`CONSUMER_INVALID`), as
//!   for a project the caller cannot see.

use serde_json::{json, Value};

use super::errors::ApiError;

/// One of the emulated APIs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Api {
    /// Compute Engine v1 (`/compute/v1/…`).
    Compute,
    /// GKE, container v1 (`/v1/…`).
    Container,
    /// Network Management v1 (`/v1/projects/*/locations/global/…`).
    NetworkManagement,
    /// Secret Manager v1 (`/v1/projects/*/secrets…`).
    SecretManager,
}

impl Api {
    /// The service name, e.g. `compute.googleapis.com`.
    pub fn service(self) -> &'static str {
        match self {
            Api::Compute => "compute.googleapis.com",
            Api::Container => "container.googleapis.com",
            Api::NetworkManagement => "networkmanagement.googleapis.com",
            Api::SecretManager => "secretmanager.googleapis.com",
        }
    }

    /// The title Google's messages use, e.g. `Compute Engine API`.
    fn title(self) -> &'static str {
        match self {
            Api::Compute => "Compute Engine API",
            Api::Container => "Kubernetes Engine API",
            Api::NetworkManagement => "Network Management API",
            Api::SecretManager => "Secret Manager API",
        }
    }
}

/// The projects that do not exist and the services that are disabled.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Access {
    /// Service names such as `compute.googleapis.com`.
    pub disabled_services: Vec<String>,
    /// Project ids.
    pub missing_projects: Vec<String>,
}

impl Access {
    /// Whether a call to `api` in `project` may go on.
    ///
    /// # Errors
    /// [`project_missing`] for a missing project (checked first: a project
    /// that does not exist has no services), [`service_disabled`] for a
    /// disabled service.
    pub fn check(&self, api: Api, project: &str) -> Result<(), ApiError> {
        if self.missing_projects.iter().any(|p| p == project) {
            return Err(project_missing(api, project));
        }
        if self.disabled_services.iter().any(|s| s == api.service()) {
            return Err(service_disabled(api, project));
        }
        Ok(())
    }
}

/// The 403 `SERVICE_DISABLED` answer of `api` in `project`.
pub fn service_disabled(api: Api, project: &str) -> ApiError {
    let service = api.service();
    let activation = format!(
        "https://console.developers.google.com/apis/api/{service}/overview?project={project}"
    );
    let message = format!(
        "{} has not been used in project {project} before or it is disabled. Enable it by visiting {activation} then retry. If you enabled this API recently, wait a few minutes for the action to propagate to our systems and retry.",
        api.title()
    );
    let mut e = ApiError::new(403, "PERMISSION_DENIED", "accessNotConfigured", message);
    e.domain = "usageLimits";
    e.extended_help = Some("https://console.developers.google.com");
    e.details = vec![
        json!({
            "@type": "type.googleapis.com/google.rpc.ErrorInfo",
            "reason": "SERVICE_DISABLED",
            "domain": "googleapis.com",
            "metadata": {
                "service": service,
                "consumer": format!("projects/{project}"),
                "activationUrl": activation,
                "serviceTitle": api.title(),
            },
        }),
        localized(&e.message),
        json!({
            "@type": "type.googleapis.com/google.rpc.Help",
            "links": [{
                "description": "Google developers console API activation",
                "url": activation,
            }],
        }),
    ];
    e
}

/// The answer of `api` for a `project` that does not exist.
pub fn project_missing(api: Api, project: &str) -> ApiError {
    match api {
        Api::Compute => ApiError::not_found(&format!("projects/{project}")),
        Api::Container | Api::NetworkManagement | Api::SecretManager => {
            let mut e = ApiError::new(
                403,
                "PERMISSION_DENIED",
                "forbidden",
                format!("Permission denied on resource project {project}."),
            );
            e.details = vec![
                json!({
                    "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                    "reason": "CONSUMER_INVALID",
                    "domain": "googleapis.com",
                    "metadata": {
                        "service": api.service(),
                        "consumer": format!("projects/{project}"),
                    },
                }),
                localized(&e.message),
            ];
            e
        }
    }
}

fn localized(message: &str) -> Value {
    json!({
        "@type": "type.googleapis.com/google.rpc.LocalizedMessage",
        "locale": "en-US",
        "message": message,
    })
}

/// The entries of a comma-separated list, trimmed, without empty ones.
pub fn parse_list(list: &str) -> Vec<String> {
    list.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// A service name: `compute` is short for `compute.googleapis.com`.
pub fn service_name(name: &str) -> String {
    if name.contains('.') {
        name.to_string()
    } else {
        format!("{name}.googleapis.com")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn access() -> Access {
        Access {
            disabled_services: vec!["container.googleapis.com".into()],
            missing_projects: vec!["gone".into()],
        }
    }

    #[test]
    fn a_disabled_service_answers_google_s_service_disabled_error() {
        let a = access();
        assert!(a.check(Api::Compute, "p").is_ok());
        let body = a.check(Api::Container, "p").unwrap_err().body();
        let e = &body["error"];
        assert_eq!(e["code"], 403);
        assert_eq!(e["status"], "PERMISSION_DENIED");
        assert!(e["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("Kubernetes Engine API has not been used in project p before or it is disabled. Enable it by visiting https://console.developers.google.com/apis/api/container.googleapis.com/overview?project=p then retry.")));
        assert_eq!(e["errors"][0]["reason"], "accessNotConfigured");
        assert_eq!(e["errors"][0]["domain"], "usageLimits");
        assert_eq!(
            e["errors"][0]["extendedHelp"],
            "https://console.developers.google.com"
        );
        assert_eq!(e["details"][0]["reason"], "SERVICE_DISABLED");
        assert_eq!(
            e["details"][0]["metadata"]["service"],
            "container.googleapis.com"
        );
        assert_eq!(e["details"][0]["metadata"]["consumer"], "projects/p");
    }

    #[test]
    fn a_missing_project_is_404_for_compute_and_403_for_gke() {
        let a = access();
        let compute = a.check(Api::Compute, "gone").unwrap_err();
        assert_eq!(compute.code, 404);
        assert_eq!(
            compute.message,
            "The resource 'projects/gone' was not found"
        );
        assert!(compute.body()["error"].get("details").is_none());
        let gke = a.check(Api::Container, "gone").unwrap_err();
        assert_eq!((gke.code, gke.status), (403, "PERMISSION_DENIED"));
        assert_eq!(gke.message, "Permission denied on resource project gone.");
    }

    #[test]
    fn lists_are_comma_separated_and_services_may_be_short() {
        assert_eq!(
            parse_list(" compute , ,container.googleapis.com,"),
            ["compute", "container.googleapis.com"]
        );
        assert!(parse_list("").is_empty());
        assert_eq!(service_name("compute"), "compute.googleapis.com");
        assert_eq!(
            service_name("container.googleapis.com"),
            "container.googleapis.com"
        );
    }
}

//! Service Usage v1, the part gcloud asks before it uses an API:
//! `GET /v1/projects/{p}/services/{service}`,
//! `GET /v1/projects/{p}/services:batchGet?names=…` and
//! `GET /v1/projects/{p}/services` (`filter=state:ENABLED`).
//!
//! The services the emulator serves (compute, container, Network Management,
//! Secret Manager, and Service Usage itself) are `ENABLED` unless `EmulatorConfig::disabled_services` lists
//! them; every other service is `DISABLED`. Names carry the project number,
//! as Google's answers do; the emulator derives a stable 12-digit number
//! from the project id ([`project_number`]).

use serde_json::{json, Value};

use super::access::Access;
use super::errors::ApiError;

/// Services the emulator serves, with their titles.
const SERVED: &[(&str, &str)] = &[
    ("compute.googleapis.com", "Compute Engine API"),
    ("container.googleapis.com", "Kubernetes Engine API"),
    ("networkmanagement.googleapis.com", "Network Management API"),
    ("secretmanager.googleapis.com", "Secret Manager API"),
    ("serviceusage.googleapis.com", "Service Usage API"),
];

/// Titles of other common services (answered `DISABLED`).
const OTHERS: &[(&str, &str)] = &[
    ("artifactregistry.googleapis.com", "Artifact Registry API"),
    (
        "cloudresourcemanager.googleapis.com",
        "Cloud Resource Manager API",
    ),
    ("dns.googleapis.com", "Cloud DNS API"),
    (
        "iam.googleapis.com",
        "Identity and Access Management (IAM) API",
    ),
    ("logging.googleapis.com", "Cloud Logging API"),
    ("monitoring.googleapis.com", "Cloud Monitoring API"),
    ("storage.googleapis.com", "Cloud Storage API"),
];

/// Most names `services:batchGet` takes at once.
const BATCH_LIMIT: usize = 30;

/// The stable project number the emulator reports for `project` (FNV-1a of
/// the id, 12 digits, never starting with 0). A number stays itself.
pub fn project_number(project: &str) -> String {
    if !project.is_empty() && project.bytes().all(|b| b.is_ascii_digit()) {
        return project.to_string();
    }
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in project.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    (100_000_000_000 + h % 900_000_000_000).to_string()
}

/// Whether `rest` (the path after `/v1/`) is a Service Usage path.
pub fn is_service_usage(rest: &str) -> bool {
    let mut seg = rest.split('/');
    seg.next() == Some("projects")
        && seg.next().is_some_and(|p| !p.is_empty())
        && seg
            .next()
            .is_some_and(|s| s == "services" || s.starts_with("services:"))
}

/// The method id of a Service Usage path (after `/v1/`), for the request
/// counts: `serviceusage.services.get`, `.batchGet` or `.list`.
pub fn method_id(rest: &str) -> &'static str {
    match rest.split('/').nth(2) {
        Some("services:batchGet") => "serviceusage.services.batchGet",
        Some(_) if rest.split('/').count() == 4 => "serviceusage.services.get",
        _ => "serviceusage.services.list",
    }
}

/// Answers a Service Usage request; `rest` is the path after `/v1/`.
///
/// # Errors
/// 404 for an unknown method, 400 for malformed names, 403 for a project
/// that does not exist (as Google answers a project the caller cannot see).
pub fn serve(
    access: &Access,
    method: &str,
    rest: &str,
    query: &[(String, String)],
) -> Result<Value, ApiError> {
    let segments: Vec<&str> = rest.split('/').collect();
    if method != "GET" {
        return Err(ApiError::no_route(method, &format!("/v1/{rest}")));
    }
    let project = segments.get(1).copied().unwrap_or_default();
    match segments.as_slice() {
        ["projects", _, "services", service] => {
            check_project(access, project, service)?;
            Ok(describe(access, project, service))
        }
        ["projects", _, "services:batchGet"] => {
            let names: Vec<&str> = query
                .iter()
                .filter(|(k, _)| k == "names")
                .map(|(_, v)| v.as_str())
                .collect();
            if names.len() > BATCH_LIMIT {
                return Err(ApiError::invalid(format!(
                    "The number of services requested exceeds the limit of {BATCH_LIMIT}."
                )));
            }
            let mut services = Vec::new();
            for name in names {
                let service = match name.split('/').collect::<Vec<_>>().as_slice() {
                    ["projects", _, "services", s] if !s.is_empty() => *s,
                    _ => {
                        return Err(ApiError::invalid(format!(
                            "Invalid service name: {name}. It must have the form projects/{{project}}/services/{{service}}."
                        )))
                    }
                };
                check_project(access, project, service)?;
                services.push(describe(access, project, service));
            }
            Ok(json!({ "services": services }))
        }
        ["projects", _, "services"] => {
            check_project(access, project, "")?;
            let wanted = query
                .iter()
                .find(|(k, _)| k == "filter")
                .map(|(_, v)| v.replace(' ', "").to_ascii_uppercase());
            let services: Vec<Value> = SERVED
                .iter()
                .chain(OTHERS)
                .map(|(s, _)| describe(access, project, s))
                .filter(|v| {
                    wanted.as_deref().is_none_or(|f| {
                        f.strip_prefix("STATE:")
                            .is_none_or(|state| v["state"].as_str() == Some(state))
                    })
                })
                .collect();
            Ok(json!({ "services": services }))
        }
        _ => Err(ApiError::no_route(method, &format!("/v1/{rest}"))),
    }
}

fn check_project(access: &Access, project: &str, service: &str) -> Result<(), ApiError> {
    if !access.missing_projects.iter().any(|p| p == project) {
        return Ok(());
    }
    let mut e = ApiError::new(
        403,
        "PERMISSION_DENIED",
        "forbidden",
        format!("Permission denied to get service [{service}]"),
    );
    e.details = vec![json!({
        "@type": "type.googleapis.com/google.rpc.ErrorInfo",
        "reason": "AUTH_PERMISSION_DENIED",
        "domain": "serviceusage.googleapis.com",
        "metadata": {"permission": "serviceusage.services.get", "resource": format!("projects/{project}")},
    })];
    Err(e)
}

/// One `Service` resource as Google's Service Usage answers it.
fn describe(access: &Access, project: &str, service: &str) -> Value {
    let served = SERVED.iter().find(|(s, _)| *s == service);
    let title = served
        .or_else(|| OTHERS.iter().find(|(s, _)| *s == service))
        .map_or(service, |(_, t)| *t);
    let enabled = served.is_some() && !access.disabled_services.iter().any(|s| s == service);
    let parent = format!("projects/{}", project_number(project));
    json!({
        "name": format!("{parent}/services/{service}"),
        "parent": parent,
        "config": {
            "name": service,
            "title": title,
            "documentation": {},
            "quota": {},
            "authentication": {},
            "usage": {"requirements": ["serviceusage.googleapis.com/tos/cloud"]},
            "monitoring": {},
        },
        "state": if enabled { "ENABLED" } else { "DISABLED" },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn served_services_are_enabled_unless_disabled() {
        let access = Access {
            disabled_services: vec!["container.googleapis.com".into()],
            missing_projects: vec![],
        };
        let v = serve(
            &access,
            "GET",
            "projects/p/services/compute.googleapis.com",
            &[],
        )
        .expect("get");
        assert_eq!(v["state"], "ENABLED");
        assert_eq!(v["config"]["name"], "compute.googleapis.com");
        assert_eq!(v["config"]["title"], "Compute Engine API");
        let number = project_number("p");
        assert_eq!(number.len(), 12);
        assert_eq!(
            v["name"],
            format!("projects/{number}/services/compute.googleapis.com")
        );
        assert_eq!(v["parent"], format!("projects/{number}"));
        let v = serve(
            &access,
            "GET",
            "projects/p/services/container.googleapis.com",
            &[],
        )
        .expect("get");
        assert_eq!(v["state"], "DISABLED");
        let v = serve(
            &access,
            "GET",
            "projects/p/services/dns.googleapis.com",
            &[],
        )
        .expect("get");
        assert_eq!(v["state"], "DISABLED");
    }

    #[test]
    fn batch_get_answers_each_name() {
        let access = Access::default();
        let v = serve(
            &access,
            "GET",
            "projects/p/services:batchGet",
            &q(&[
                ("names", "projects/p/services/container.googleapis.com"),
                ("names", "projects/p/services/iam.googleapis.com"),
            ]),
        )
        .expect("batchGet");
        let states: Vec<&str> = v["services"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["state"].as_str().unwrap())
            .collect();
        assert_eq!(states, ["ENABLED", "DISABLED"]);
        let e = serve(
            &access,
            "GET",
            "projects/p/services:batchGet",
            &q(&[("names", "container.googleapis.com")]),
        )
        .unwrap_err();
        assert_eq!(e.code, 400);
    }

    #[test]
    fn list_filters_by_state_and_missing_projects_are_403() {
        let access = Access {
            disabled_services: vec![],
            missing_projects: vec!["gone".into()],
        };
        let v = serve(
            &access,
            "GET",
            "projects/p/services",
            &q(&[("filter", "state:ENABLED")]),
        )
        .expect("list");
        assert_eq!(v["services"].as_array().unwrap().len(), SERVED.len());
        let e = serve(
            &access,
            "GET",
            "projects/gone/services/compute.googleapis.com",
            &[],
        )
        .unwrap_err();
        assert_eq!(e.code, 403);
        assert!(is_service_usage("projects/p/services:batchGet"));
        assert_eq!(
            method_id("projects/p/services/compute.googleapis.com"),
            "serviceusage.services.get"
        );
        assert_eq!(
            method_id("projects/p/services"),
            "serviceusage.services.list"
        );
        assert!(is_service_usage("projects/p/services/x"));
        assert!(!is_service_usage("projects/p/locations/l/clusters"));
    }
}

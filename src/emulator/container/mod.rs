//! The emulated GKE API (container v1 subset) served under `/v1/`:
//! `projects.locations.clusters` create / get / list / update / delete and
//! `projects.locations.operations` get / list, in the world it shares with
//! compute. (The legacy `projects.zones.*` paths are not emulated.)
//!
//! - `clusters.rs`: the handlers and the cluster record GKE returns.
//! - `validate.rs`: the rules a create must pass (network, subnet, ranges, master /28).
//! - `update.rs`: `ClusterUpdate` (exactly one `desired*` field) → a change.
//! - `managed_ranges.rs`: the subnet ranges GKE adds for a cluster.
//! - `endpoint_forms.rs`: the old and new forms of the control plane's endpoints.
//! - `operations.rs`: GKE `Operation`s; `operation_calls.rs`: their get / list.
//! - `enums.rs`: enum names ↔ numbers.
//! - `errors.rs`: error answers in GKE's words.
//!
//! What happens when an operation is DONE (RUNNING, gone, ERROR), and what
//! GKE keeps in step with a cluster (its `gke-*` firewall rules), is not
//! here: `../controllers/` does it.
//!
//! Clusters are stored at `projects/{p}/locations/{loc}/clusters/{name}` as
//! the JSON GKE returns, enum values as names and links against
//! [`CONTAINER_BASE`]; responses rewrite links to the emulator's URL and
//! carry enum numbers when the client asks for `$alt=json;enum-encoding=int`
//! (Google's Rust client always does).

mod clusters;
mod endpoint_forms;
mod enums;
mod errors;
mod managed_ranges;
mod operation_calls;
mod operations;
mod update;
mod validate;

use serde_json::Value;

use crate::emulator::access::Api;
use crate::emulator::errors::ApiError;
use crate::emulator::geography;
use crate::emulator::schema;
use crate::emulator::shared::Shared;

/// Prefix of every stored GKE link; replaced by the server's URL in responses.
pub const CONTAINER_BASE: &str = "https://container.googleapis.com/v1/";

/// The full link of a path such as `projects/p/zones/z/clusters/c`.
pub fn link(path: &str) -> String {
    format!("{CONTAINER_BASE}{path}")
}

/// `projects/p/zones/z` for a zone, `projects/p/locations/r` for a region:
/// the prefix GKE uses in the links of clusters and operations.
pub fn location_path(project: &str, location: &str) -> String {
    if geography::region_of_zone(location).is_some() {
        format!("projects/{project}/zones/{location}")
    } else {
        format!("projects/{project}/locations/{location}")
    }
}

/// The link path of cluster `rel` (`projects/p/locations/l/clusters/c`).
pub fn cluster_path(rel: &str) -> String {
    let parts: Vec<&str> = rel.split('/').collect();
    match parts.as_slice() {
        ["projects", p, "locations", l, "clusters", c] => {
            format!("{}/clusters/{c}", location_path(p, l))
        }
        _ => rel.to_string(),
    }
}

/// A handler's answer: the discovery schema of the body and the body.
type Answer = (&'static str, Value);

/// Serves one request under `/v1/` (`rest` is the path after it).
///
/// # Errors
/// The [`ApiError`] the real API would answer.
pub async fn serve(
    shared: &std::sync::Arc<Shared>,
    method: &str,
    rest: &str,
    query: &[(String, String)],
    body: &[u8],
) -> Result<Value, ApiError> {
    let d = schema::container();
    let route = d
        .match_route(method, rest)
        .ok_or_else(|| ApiError::no_route(method, &format!("/v1/{rest}")))?;
    shared.count(route.method_id);
    let p = |k: &str| route.params.get(k).cloned().unwrap_or_default();
    shared.access.check(Api::Container, &p("projectsId"))?;
    if let Some(fault) = shared.faults.retryable() {
        return Err(fault);
    }
    d.validate_query(route.method_id, query)?;
    let mut body: Option<Value> = if body.iter().all(u8::is_ascii_whitespace) {
        None
    } else {
        Some(
            serde_json::from_slice(body)
                .map_err(|e| ApiError::invalid(format!("Invalid JSON payload received. {e}")))?,
        )
    };
    if let (Some(b), Some(request)) = (
        body.as_mut(),
        d.methods
            .get(route.method_id)
            .and_then(|m| m.request.as_deref()),
    ) {
        enums::convert(request, b, enums::Encoding::Names, "")?;
        d.validate_body(request, b, "")?;
        d.strip_output_only(request, b);
    }
    let (project, location) = (p("projectsId"), p("locationsId"));
    let on_operations = route.method_id.contains(".operations.");
    let (schema, mut value) = match route.method_id.rsplit('.').next().unwrap_or_default() {
        "create" => clusters::create(shared, &project, &location, body).await?,
        "list" if on_operations => operation_calls::list(shared, &project, &location)?,
        "list" => clusters::list(shared, &project, &location)?,
        "get" if on_operations => {
            operation_calls::get(shared, &project, &location, &p("operationsId"))?
        }
        "get" => clusters::get(shared, &project, &location, &p("clustersId"))?,
        "update" => clusters::update(shared, &project, &location, &p("clustersId"), body)?,
        "delete" => clusters::delete(shared, &project, &location, &p("clustersId"))?,
        _ => return Err(ApiError::no_route(method, &format!("/v1/{rest}"))),
    };
    if wants_numbers(query) {
        enums::convert(schema, &mut value, enums::Encoding::Numbers, "")?;
    }
    Ok(rewrite(value, &format!("{}/v1/", shared.base_url)))
}

/// Whether `$alt` (or `alt`) asks for `enum-encoding=int`.
fn wants_numbers(query: &[(String, String)]) -> bool {
    query
        .iter()
        .any(|(k, v)| (k == "$alt" || k == "alt") && v.contains("enum-encoding=int"))
}

fn rewrite(value: Value, base: &str) -> Value {
    match value {
        Value::String(s) => match s.strip_prefix(CONTAINER_BASE) {
            Some(rest) => Value::String(format!("{base}{rest}")),
            None => Value::String(s),
        },
        Value::Array(a) => Value::Array(a.into_iter().map(|v| rewrite(v, base)).collect()),
        Value::Object(o) => {
            Value::Object(o.into_iter().map(|(k, v)| (k, rewrite(v, base))).collect())
        }
        other => other,
    }
}

pub use clusters::attach_all;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_use_zones_for_zonal_and_locations_for_regional_clusters() {
        assert_eq!(
            cluster_path("projects/p/locations/europe-west2-a/clusters/c"),
            "projects/p/zones/europe-west2-a/clusters/c"
        );
        assert_eq!(
            cluster_path("projects/p/locations/europe-west2/clusters/c"),
            "projects/p/locations/europe-west2/clusters/c"
        );
        assert!(wants_numbers(&[(
            "$alt".into(),
            "json;enum-encoding=int".into()
        )]));
    }
}

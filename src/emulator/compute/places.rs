//! The read-only compute resources gcloud looks up around the emulated
//! collections: `projects.get` (the default service account `instances
//! create` uses), `regions.get` / `regions.list` and `zones.get` /
//! `zones.list` (every public region and zone, `UP`).

use serde_json::{json, Value};

use super::super::errors::ApiError;
use super::super::geography;
use super::super::serviceusage::project_number;
use super::super::world::link;
use super::{filter, paging, query_value};

/// A timestamp Google reports for long-existing regions and zones.
const EPOCH: &str = "1969-12-31T16:00:00.000-08:00";

/// Whether the method id is one of the places methods.
pub fn handles(method_id: &str) -> bool {
    matches!(
        method_id,
        "compute.projects.get"
            | "compute.regions.get"
            | "compute.regions.list"
            | "compute.zones.get"
            | "compute.zones.list"
    )
}

/// Answers `method_id` for `project` with path parameters `region` / `zone`.
///
/// # Errors
/// 404 for an unknown region or zone, 400 for a bad filter or page token.
pub fn handle(
    method_id: &str,
    project: &str,
    name: Option<&str>,
    query: &[(String, String)],
) -> Result<Value, ApiError> {
    match method_id {
        "compute.projects.get" => Ok(project_resource(project)),
        "compute.regions.get" | "compute.zones.get" => {
            let zonal = method_id == "compute.zones.get";
            let name = name.unwrap_or_default();
            all(project, zonal)
                .into_iter()
                .find(|v| v["name"] == name)
                .ok_or_else(|| {
                    let kind = if zonal { "zones" } else { "regions" };
                    ApiError::not_found(&format!("projects/{project}/{kind}/{name}"))
                })
        }
        _ => {
            let zonal = method_id == "compute.zones.list";
            let f =
                filter::Filter::parse(query_value(query, "filter").unwrap_or_default(), project)?;
            let items: Vec<Value> = all(project, zonal)
                .into_iter()
                .filter(|v| f.matches(v))
                .collect();
            let (page, next) = paging::page(&items, query)?;
            let kind = if zonal { "zone" } else { "region" };
            let prefix = format!("projects/{project}/{kind}s");
            let mut out = json!({
                "kind": format!("compute#{kind}List"),
                "id": prefix,
                "items": page,
                "selfLink": link(&prefix),
            });
            if let Some(next) = next {
                out["nextPageToken"] = json!(next);
            }
            Ok(out)
        }
    }
}

fn all(project: &str, zonal: bool) -> Vec<Value> {
    let mut out = Vec::new();
    for (i, (region, zones)) in geography::regions().enumerate() {
        let region_link = link(&format!("projects/{project}/regions/{region}"));
        if !zonal {
            out.push(json!({
                "kind": "compute#region",
                "id": (1000 + i).to_string(),
                "creationTimestamp": EPOCH,
                "name": region,
                "description": region,
                "status": "UP",
                "zones": zones.iter().map(|z| link(&format!("projects/{project}/zones/{z}"))).collect::<Vec<_>>(),
                "quotas": [
                    {"metric": "CPUS", "limit": 24.0, "usage": 0.0},
                    {"metric": "DISKS_TOTAL_GB", "limit": 4096.0, "usage": 0.0},
                    {"metric": "STATIC_ADDRESSES", "limit": 8.0, "usage": 0.0},
                    {"metric": "IN_USE_ADDRESSES", "limit": 8.0, "usage": 0.0},
                ],
                "selfLink": region_link,
                "supportsPzs": false,
            }));
            continue;
        }
        for (j, zone) in zones.iter().enumerate() {
            out.push(json!({
                "kind": "compute#zone",
                "id": (2000 + i * 10 + j).to_string(),
                "creationTimestamp": EPOCH,
                "name": zone,
                "description": zone,
                "status": "UP",
                "region": region_link,
                "selfLink": link(&format!("projects/{project}/zones/{zone}")),
                "availableCpuPlatforms": ["Intel Cascade Lake", "AMD Milan"],
                "supportsPzs": false,
            }));
        }
    }
    out
}

fn project_resource(project: &str) -> Value {
    let number = project_number(project);
    json!({
        "kind": "compute#project",
        "id": number,
        "creationTimestamp": EPOCH,
        "name": project,
        "commonInstanceMetadata": {"kind": "compute#metadata", "fingerprint": "42WmSpB8rSM="},
        "selfLink": link(&format!("projects/{project}")),
        "defaultServiceAccount": format!("{number}-compute@developer.gserviceaccount.com"),
        "xpnProjectStatus": "UNSPECIFIED_XPN_PROJECT_STATUS",
        "defaultNetworkTier": "PREMIUM",
        "vmDnsSetting": "ZONAL_ONLY",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zones_regions_and_the_project_are_described() {
        let z = handle("compute.zones.get", "p", Some("us-central1-a"), &[]).expect("zone");
        assert_eq!(z["status"], "UP");
        assert!(z["region"]
            .as_str()
            .unwrap()
            .ends_with("/regions/us-central1"));
        assert_eq!(
            handle("compute.zones.get", "p", Some("us-central1-e"), &[])
                .unwrap_err()
                .code,
            404
        );
        let r = handle("compute.regions.get", "p", Some("europe-west2"), &[]).expect("region");
        assert_eq!(r["zones"].as_array().map(Vec::len), Some(3));
        let q = vec![("filter".to_string(), "name eq us-central1-.*".to_string())];
        let l = handle("compute.zones.list", "p", None, &q).expect("list");
        assert_eq!(l["items"].as_array().map(Vec::len), Some(4));
        let p = handle("compute.projects.get", "p", None, &[]).expect("project");
        assert!(p["defaultServiceAccount"]
            .as_str()
            .unwrap()
            .ends_with("-compute@developer.gserviceaccount.com"));
    }
}

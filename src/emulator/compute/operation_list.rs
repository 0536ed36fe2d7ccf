//! `globalOperations.list`, `regionOperations.list` and `zoneOperations.list`:
//! the operations of one scope (pending, running and DONE ones not yet
//! pruned), oldest first, each rendered as `operations.get` renders it,
//! with the list `filter` (e.g. `targetLink = "…"`, `status != DONE`,
//! `operationType = delete`) and `maxResults` / `pageToken`; and
//! `globalOperations.aggregatedList` (`gcloud compute operations list`),
//! every scope's operations under `items`.

use serde_json::{json, Value};

use super::super::errors::ApiError;
use super::super::geography;
use super::super::operations;
use super::super::world::{link, World};
use super::filter::Filter;
use super::{paging, query_value};

/// The `compute#operationList` of `scope` (`global`, `regions/{r}` or
/// `zones/{z}`) in `project` at `now`, with canonical links.
///
/// # Errors
/// 404 for an unknown region or zone, 400 for a filter or page token the
/// emulator does not understand.
pub fn list(
    world: &World,
    project: &str,
    scope: &str,
    query: &[(String, String)],
    now: u64,
) -> Result<Value, ApiError> {
    let known = match scope.split_once('/') {
        Some(("regions", r)) => geography::is_region(r),
        Some(("zones", z)) => geography::region_of_zone(z).is_some(),
        _ => scope == "global",
    };
    if !known {
        return Err(ApiError::not_found(&format!("projects/{project}/{scope}")));
    }
    let filter = Filter::parse(query_value(query, "filter").unwrap_or_default(), project)?;
    let items = in_scope(world, project, scope, &filter, now);
    let (page, next) = paging::page(&items, query)?;
    let rel = format!("projects/{project}/{scope}/operations");
    let mut out = json!({
        "kind": "compute#operationList",
        "id": rel,
        "selfLink": link(&rel),
    });
    if !page.is_empty() {
        out["items"] = Value::Array(page);
    }
    if let Some(next) = next {
        out["nextPageToken"] = json!(next);
    }
    Ok(out)
}

/// The operations of `project` in `scope` that match `filter`, oldest
/// first, rendered at `now`.
fn in_scope(world: &World, project: &str, scope: &str, filter: &Filter, now: u64) -> Vec<Value> {
    let mut ops: Vec<_> = world
        .operations
        .values()
        .filter(|op| op.project == project && op.scope == scope)
        .collect();
    ops.sort_by_key(|op| (op.insert_ms, op.id));
    ops.into_iter()
        .map(|op| operations::render(op, now))
        .filter(|v| filter.matches(v))
        .collect()
}

/// The `compute#operationAggregatedList` of `project` at `now`: every scope
/// (`global`, each region and zone), empty ones with Google's
/// `NO_RESULTS_ON_PAGE` warning.
///
/// # Errors
/// 400 for a filter the emulator does not understand.
pub fn aggregated(
    world: &World,
    project: &str,
    query: &[(String, String)],
    now: u64,
) -> Result<Value, ApiError> {
    let filter = Filter::parse(query_value(query, "filter").unwrap_or_default(), project)?;
    let mut scopes = vec!["global".to_string()];
    scopes.extend(geography::scopes(false));
    scopes.extend(geography::scopes(true));
    let mut items = serde_json::Map::new();
    for scope in scopes {
        let rendered = in_scope(world, project, &scope, &filter, now);
        let entry = if rendered.is_empty() {
            json!({"warning": {
                "code": "NO_RESULTS_ON_PAGE",
                "message": format!("There are no results for scope '{scope}' on this page."),
                "data": [{"key": "scope", "value": scope}],
            }})
        } else {
            json!({ "operations": rendered })
        };
        items.insert(scope, entry);
    }
    let rel = format!("projects/{project}/aggregated/operations");
    Ok(json!({
        "kind": "compute#operationAggregatedList",
        "id": rel,
        "items": items,
        "selfLink": link(&rel),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::emulator::world::{Effect, OperationRecord};

    fn op(name: &str, scope: &str, kind: &str, target: &str, done_ms: u64) -> OperationRecord {
        OperationRecord {
            id: done_ms,
            name: name.into(),
            project: "p".into(),
            scope: scope.into(),
            operation_type: kind.into(),
            target: target.into(),
            target_id: 1,
            insert_ms: done_ms / 2,
            start_ms: done_ms / 2,
            done_ms,
            effect: Effect::Delete,
            error: None,
            applied: false,
            request_id: None,
        }
    }

    fn names(v: &Value) -> Vec<&str> {
        v["items"]
            .as_array()
            .map(|a| a.iter().filter_map(|o| o["name"].as_str()).collect())
            .unwrap_or_default()
    }

    fn q(filter: &str) -> Vec<(String, String)> {
        vec![("filter".into(), filter.into())]
    }

    #[test]
    fn filters_by_target_link_status_and_type() {
        let net = "projects/p/global/networks/n";
        let mut w = World::default();
        for o in [
            op("made", "global", "insert", net, 100),
            op("going", "global", "delete", net, 10_000),
            op(
                "other",
                "global",
                "delete",
                "projects/p/global/networks/m",
                10_000,
            ),
            op("regional", "regions/us-central1", "delete", net, 10_000),
        ] {
            w.operations.insert(o.rel(), o);
        }
        let list = |f: &str| list(&w, "p", "global", &q(f), 1_000).expect("list");
        let all = list("");
        assert_eq!(all["kind"], "compute#operationList");
        assert_eq!(all["id"], "projects/p/global/operations");
        assert_eq!(names(&all), ["made", "going", "other"]);
        let link = "https://www.googleapis.com/compute/v1/projects/p/global/networks/n";
        assert_eq!(
            names(&list(&format!("targetLink = \"{link}\""))),
            ["made", "going"]
        );
        assert_eq!(
            names(&list(&format!(
                "(targetLink = \"{link}\") (status != DONE)"
            ))),
            ["going"]
        );
        assert_eq!(names(&list("operationType = delete")), ["going", "other"]);
        assert!(list("name = nothing").get("items").is_none());
    }

    #[test]
    fn unknown_scopes_are_404() {
        let w = World::default();
        assert_eq!(
            list(&w, "p", "regions/mars-1", &[], 0).unwrap_err().code,
            404
        );
        assert!(list(&w, "p", "zones/us-central1-a", &[], 0).is_ok());
    }
}

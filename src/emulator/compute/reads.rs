//! get / list / aggregatedList, with `filter` and paging, and the
//! output-only fields computed from the world.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use super::collections::{Collection, ScopeKind};
use super::target::{existing, query_value, Target};
use super::{filter, networks, paging};
use crate::emulator::errors::ApiError;
use crate::emulator::geography;
use crate::emulator::refs;
use crate::emulator::world::{in_collection, link, World};

/// `get`.
///
/// # Errors
/// 404 for a missing resource.
pub(super) fn get(
    world: &World,
    collection: &Collection,
    target: &Target,
) -> Result<Value, ApiError> {
    let resource = existing(world, target)?;
    Ok(decorate(world, collection, &target.rel, resource.clone()))
}

fn decorate(world: &World, collection: &Collection, rel: &str, resource: Value) -> Value {
    match collection.name {
        "networks" => networks::decorate(world, rel, resource),
        _ => resource,
    }
}

/// `list` of the resources under `prefix` (one scope).
///
/// # Errors
/// 400 for a bad `filter` or page token.
pub(super) fn list(
    world: &World,
    collection: &Collection,
    target: &Target,
    prefix: &str,
    query: &[(String, String)],
) -> Result<Value, ApiError> {
    let filter = filter::Filter::parse(
        query_value(query, "filter").unwrap_or_default(),
        &target.project,
    )?;
    let items: Vec<Value> = world
        .resources
        .iter()
        .filter(|(k, _)| {
            k.strip_prefix(prefix)
                .is_some_and(|rest| rest.starts_with('/') && rest[1..].find('/').is_none())
        })
        .map(|(k, v)| decorate(world, collection, k, v.clone()))
        .filter(|v| filter.matches(v))
        .collect();
    let (page, next) = paging::page(&items, query)?;
    let mut out = json!({
        "kind": format!("{}List", collection.kind),
        "id": prefix,
        "selfLink": link(prefix),
    });
    if !page.is_empty() {
        out["items"] = Value::Array(page);
    }
    if let Some(next) = next {
        out["nextPageToken"] = json!(next);
    }
    Ok(out)
}

/// `aggregatedList`: every scope, with a warning for the empty ones.
///
/// # Errors
/// 400 for a bad `filter` or page token.
pub(super) fn aggregated_list(
    world: &World,
    collection: &Collection,
    project: &str,
    query: &[(String, String)],
) -> Result<Value, ApiError> {
    let filter = filter::Filter::parse(query_value(query, "filter").unwrap_or_default(), project)?;
    let global = (collection.scope == ScopeKind::Global).then(|| "global".to_string());
    let mut scopes: BTreeMap<String, Vec<Value>> = global
        .into_iter()
        .chain(geography::scopes(collection.scope == ScopeKind::Zonal))
        .map(|s| (s, Vec::new()))
        .collect();
    for (rel, resource) in &world.resources {
        if !in_collection(rel, project, collection.path) {
            continue;
        }
        let Some(scope) = refs::scope_of(rel)
            .or_else(|| (collection.scope == ScopeKind::Global).then(|| "global".to_string()))
        else {
            continue;
        };
        let resource = decorate(world, collection, rel, resource.clone());
        if filter.matches(&resource) {
            scopes.entry(scope).or_default().push(resource);
        }
    }
    let items: Map<String, Value> = scopes
        .into_iter()
        .map(|(scope, resources)| {
            let entry = if resources.is_empty() {
                json!({"warning": {
                    "code": "NO_RESULTS_ON_PAGE",
                    "message": format!("There are no results for scope '{scope}' on this page."),
                    "data": [{"key": "scope", "value": scope}],
                }})
            } else {
                json!({ collection.path: resources })
            };
            (scope, entry)
        })
        .collect();
    Ok(json!({
        "kind": format!("{}AggregatedList", collection.kind),
        "id": format!("projects/{project}/aggregated/{}", collection.path),
        "items": items,
        "selfLink": link(&format!("projects/{project}/aggregated/{}", collection.path)),
    }))
}

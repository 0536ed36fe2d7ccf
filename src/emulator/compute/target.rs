//! What a request is about and runs with: its [`Target`] (project, scope,
//! resource path, resolved from the path parameters, names or numeric ids)
//! and the [`Env`] of a mutation.

use std::collections::BTreeMap;

use serde_json::Value;

use super::collections::{Collection, ScopeKind};
use crate::emulator::errors::ApiError;
use crate::emulator::faults::Faults;
use crate::emulator::geography;
use crate::emulator::world::World;

/// What a mutation needs besides the world.
pub struct Env<'a> {
    /// Latency multiplier.
    pub scale: f64,
    /// Fault generator.
    pub faults: &'a Faults,
    /// Now, ms since epoch.
    pub now: u64,
    /// The request's (validated) `requestId`, stored with the operation it starts.
    pub request_id: Option<&'a str>,
}

/// The resource a request is about.
#[derive(Debug, Clone)]
pub struct Target {
    /// Project id.
    pub project: String,
    /// `global`, `regions/r` or `zones/z`.
    pub scope: String,
    /// Relative path of the resource (empty for collection-level calls before the name is known).
    pub rel: String,
}

impl Target {
    /// The region of a regional target, or of a zonal target's zone.
    pub fn region(&self) -> Option<&str> {
        if let Some(r) = self.scope.strip_prefix("regions/") {
            return Some(r);
        }
        self.scope
            .strip_prefix("zones/")
            .and_then(geography::region_of_zone)
    }
}

/// The scope (`global`, `regions/r`, `zones/z`) of a request for `collection`.
///
/// # Errors
/// 404 for an unknown region or zone.
pub(super) fn scope_of(
    collection: &Collection,
    params: &BTreeMap<String, String>,
    project: &str,
) -> Result<String, ApiError> {
    match collection.scope {
        ScopeKind::Global => Ok("global".to_string()),
        ScopeKind::Regional => {
            let region = params.get("region").map(String::as_str).unwrap_or_default();
            geography::is_region(region)
                .then(|| format!("regions/{region}"))
                .ok_or_else(|| ApiError::not_found(&format!("projects/{project}/regions/{region}")))
        }
        ScopeKind::Zonal => {
            let zone = params.get("zone").map(String::as_str).unwrap_or_default();
            geography::region_of_zone(zone)
                .map(|_| format!("zones/{zone}"))
                .ok_or_else(|| ApiError::not_found(&format!("projects/{project}/zones/{zone}")))
        }
    }
}

/// Path parameters may carry the numeric id instead of the name.
pub(super) fn resolve_name(world: &World, prefix: &str, name: &str) -> String {
    let by_name = format!("{prefix}/{name}");
    if world.resources.contains_key(&by_name) || !name.bytes().all(|b| b.is_ascii_digit()) {
        return by_name;
    }
    world
        .resources
        .iter()
        .find(|(k, v)| k.starts_with(prefix) && v["id"].as_str() == Some(name))
        .map(|(k, _)| k.clone())
        .unwrap_or(by_name)
}

/// The stored resource `target` names.
///
/// # Errors
/// 404 if there is none.
pub(super) fn existing<'w>(world: &'w World, target: &Target) -> Result<&'w Value, ApiError> {
    world
        .resources
        .get(&target.rel)
        .ok_or_else(|| ApiError::not_found(&target.rel))
}

/// The value of query parameter `key`, if given.
pub(super) fn query_value<'q>(query: &'q [(String, String)], key: &str) -> Option<&'q str> {
    query
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

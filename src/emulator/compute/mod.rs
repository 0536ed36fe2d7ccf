//! The emulated compute collections: one generic engine for insert / get /
//! patch / delete / list / aggregatedList, with per-collection rules in the
//! sibling files.

mod filter;
mod firewalls;
mod forwarding_rules;
mod instances;
mod networks;
pub mod operation_list;
mod paging;
pub mod places;
mod regex;
mod routers;
mod subnetworks;

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use super::errors::ApiError;
use super::faults::Faults;
use super::geography;
use super::operations::{self, NewOperation};
use super::refs;
use super::schema;
use super::world::{link, Effect, World};

/// Where resources of a collection live.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScopeKind {
    /// `projects/p/global/…`
    Global,
    /// `projects/p/regions/r/…`
    Regional,
    /// `projects/p/zones/z/…`
    Zonal,
}

/// One emulated collection.
#[derive(Debug)]
pub struct Collection {
    /// Collection name in paths, e.g. `forwardingRules`.
    pub name: &'static str,
    /// Global, regional or zonal.
    pub scope: ScopeKind,
    /// Request/response schema, e.g. `ForwardingRule`.
    pub schema: &'static str,
    /// `kind` of one resource, e.g. `compute#forwardingRule`.
    pub kind: &'static str,
    /// Path parameter holding the resource name, e.g. `forwardingRule`.
    pub param: &'static str,
}

/// All emulated collections.
pub const COLLECTIONS: &[Collection] = &[
    Collection {
        name: "networks",
        scope: ScopeKind::Global,
        schema: "Network",
        kind: "compute#network",
        param: "network",
    },
    Collection {
        name: "subnetworks",
        scope: ScopeKind::Regional,
        schema: "Subnetwork",
        kind: "compute#subnetwork",
        param: "subnetwork",
    },
    Collection {
        name: "routers",
        scope: ScopeKind::Regional,
        schema: "Router",
        kind: "compute#router",
        param: "router",
    },
    Collection {
        name: "firewalls",
        scope: ScopeKind::Global,
        schema: "Firewall",
        kind: "compute#firewall",
        param: "firewall",
    },
    Collection {
        name: "forwardingRules",
        scope: ScopeKind::Regional,
        schema: "ForwardingRule",
        kind: "compute#forwardingRule",
        param: "forwardingRule",
    },
    Collection {
        name: "instances",
        scope: ScopeKind::Zonal,
        schema: "Instance",
        kind: "compute#instance",
        param: "instance",
    },
];

/// Fields the server sets; values sent by clients are ignored.
const SERVER_FIELDS: &[&str] = &[
    "id",
    "kind",
    "selfLink",
    "selfLinkWithId",
    "creationTimestamp",
    "region",
    "zone",
];

/// The collection and verb of a method id such as `compute.subnetworks.insert`.
pub fn collection_of(method_id: &str) -> Option<(&'static Collection, &str)> {
    let mut parts = method_id.split('.');
    let (Some("compute"), Some(name), Some(verb)) = (parts.next(), parts.next(), parts.next())
    else {
        return None;
    };
    COLLECTIONS
        .iter()
        .find(|c| c.name == name)
        .map(|c| (c, verb))
}

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

/// Handles one request for a compute collection. Returns canonical-link JSON.
///
/// # Errors
/// The [`ApiError`] the real API would answer.
pub fn handle(
    world: &mut World,
    env: &Env<'_>,
    collection: &Collection,
    verb: &str,
    params: &BTreeMap<String, String>,
    query: &[(String, String)],
    body: Option<Value>,
) -> Result<Value, ApiError> {
    let project = params.get("project").cloned().unwrap_or_default();
    if verb == "aggregatedList" {
        return aggregated_list(world, collection, &project, query);
    }
    let scope = scope_of(collection, params, &project)?;
    let prefix = format!("projects/{project}/{scope}/{}", collection.name);
    let mut target = Target {
        project,
        scope,
        rel: String::new(),
    };
    match verb {
        "list" => list(world, collection, &target, &prefix, query),
        "insert" => insert(world, env, collection, target, &prefix, body),
        _ => {
            let name = params.get(collection.param).cloned().unwrap_or_default();
            target.rel = resolve_name(world, &prefix, &name);
            match verb {
                "get" => get(world, collection, &target),
                "patch" => patch(world, env, collection, &target, body),
                "delete" => delete(world, env, collection, &target),
                "setPrivateIpGoogleAccess" if collection.name == "subnetworks" => {
                    set_private_ip_google_access(world, env, collection, &target, body)
                }
                _ => Err(ApiError::no_route("?", &target.rel)),
            }
        }
    }
}

fn scope_of(
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
fn resolve_name(world: &World, prefix: &str, name: &str) -> String {
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

/// Checks a resource name like the real API.
///
/// # Errors
/// 400 `invalid` unless the name matches `[a-z]([-a-z0-9]*[a-z0-9])?` and has at most 63 characters.
pub fn validate_name(name: &str) -> Result<(), ApiError> {
    let bytes = name.as_bytes();
    let ok = !bytes.is_empty()
        && bytes.len() <= 63
        && bytes[0].is_ascii_lowercase()
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
        && bytes.last().is_some_and(|b| *b != b'-');
    if ok {
        Ok(())
    } else {
        Err(ApiError::invalid(format!(
            "Invalid value for field 'resource.name': '{name}'. Must be a match of regex '(?:[a-z](?:[-a-z0-9]{{0,61}}[a-z0-9])?)'"
        )))
    }
}

fn body_object(
    collection: &Collection,
    body: Option<Value>,
) -> Result<Map<String, Value>, ApiError> {
    let body = body.unwrap_or_else(|| json!({}));
    schema::validate_body(collection.schema, &body)?;
    let mut body = body;
    schema::strip_output_only(collection.schema, &mut body);
    let Value::Object(mut map) = body else {
        return Err(ApiError::invalid(
            "Invalid JSON payload received. Expected an object.",
        ));
    };
    for f in SERVER_FIELDS {
        map.remove(*f);
    }
    map.retain(|_, v| !v.is_null());
    Ok(map)
}

fn insert(
    world: &mut World,
    env: &Env<'_>,
    collection: &Collection,
    mut target: Target,
    prefix: &str,
    body: Option<Value>,
) -> Result<Value, ApiError> {
    let mut body = body_object(collection, body)?;
    body.remove("fingerprint");
    let name = body
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    validate_name(&name)?;
    target.rel = format!("{prefix}/{name}");
    let pending_insert = world
        .pending_on(&target.rel)
        .is_some_and(|op| op.operation_type == "insert");
    if world.resources.contains_key(&target.rel) || pending_insert {
        return Err(ApiError::already_exists(&target.rel));
    }
    match collection.name {
        "networks" => networks::prepare_insert(world, &target, &mut body)?,
        "subnetworks" => subnetworks::prepare_insert(world, &target, &mut body)?,
        "routers" => routers::prepare_insert(world, &target, &mut body)?,
        "firewalls" => firewalls::prepare_insert(world, &target, &mut body)?,
        "forwardingRules" => forwarding_rules::prepare_insert(world, &target, &mut body)?,
        "instances" => instances::prepare_insert(world, &target, &mut body)?,
        _ => {}
    }
    let id = world.new_id();
    body.insert("kind".into(), json!(collection.kind));
    body.insert("id".into(), json!(id.to_string()));
    body.insert("selfLink".into(), json!(link(&target.rel)));
    match collection.scope {
        ScopeKind::Regional => {
            body.insert(
                "region".into(),
                json!(link(&format!(
                    "projects/{}/{}",
                    target.project, target.scope
                ))),
            );
        }
        ScopeKind::Zonal => {
            body.insert(
                "zone".into(),
                json!(link(&format!(
                    "projects/{}/{}",
                    target.project, target.scope
                ))),
            );
        }
        ScopeKind::Global => {}
    }
    if has_fingerprint(collection) {
        body.insert("fingerprint".into(), json!(world.new_fingerprint()));
    }
    let op = operations::start(
        world,
        NewOperation {
            project: &target.project,
            scope: &target.scope,
            collection: collection.name,
            operation_type: "insert",
            target: &target.rel,
            target_id: id,
            effect: Effect::Insert {
                resource: Value::Object(body),
            },
            request_id: env.request_id,
        },
        env.scale,
        env.faults,
        env.now,
    );
    Ok(operations::render(&op, env.now))
}

fn has_fingerprint(collection: &Collection) -> bool {
    schema::discovery()
        .schemas
        .get(collection.schema)
        .and_then(|s| s.properties.as_ref())
        .is_some_and(|p| p.contains_key("fingerprint"))
}

fn existing<'w>(world: &'w World, target: &Target) -> Result<&'w Value, ApiError> {
    world
        .resources
        .get(&target.rel)
        .ok_or_else(|| ApiError::not_found(&target.rel))
}

fn target_id(resource: &Value) -> u64 {
    resource["id"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

fn get(world: &World, collection: &Collection, target: &Target) -> Result<Value, ApiError> {
    let resource = existing(world, target)?;
    Ok(decorate(world, collection, &target.rel, resource.clone()))
}

fn decorate(world: &World, collection: &Collection, rel: &str, resource: Value) -> Value {
    match collection.name {
        "networks" => networks::decorate(world, rel, resource),
        _ => resource,
    }
}

fn patch(
    world: &mut World,
    env: &Env<'_>,
    collection: &Collection,
    target: &Target,
    body: Option<Value>,
) -> Result<Value, ApiError> {
    let current = existing(world, target)?.clone();
    if world.pending_on(&target.rel).is_some() {
        return Err(ApiError::not_ready(&target.rel));
    }
    let mut body = body_object(collection, body)?;
    let name = refs::name_of(&target.rel);
    if body.get("name").is_some_and(|n| n.as_str() != Some(name)) {
        return Err(cannot_modify(&body, &["name"]));
    }
    body.remove("name");
    match collection.name {
        "networks" => networks::prepare_patch(world, target, &current, &mut body)?,
        "subnetworks" => subnetworks::prepare_patch(world, target, &current, &mut body)?,
        "routers" => routers::prepare_patch(world, target, &current, &mut body)?,
        "firewalls" => firewalls::prepare_patch(world, target, &current, &mut body)?,
        "forwardingRules" => forwarding_rules::prepare_patch(world, target, &current, &mut body)?,
        _ => {}
    }
    body.remove("fingerprint");
    let op = operations::start(
        world,
        NewOperation {
            project: &target.project,
            scope: &target.scope,
            collection: collection.name,
            operation_type: "patch",
            target: &target.rel,
            target_id: target_id(&current),
            effect: Effect::Patch {
                patch: Value::Object(body),
            },
            request_id: env.request_id,
        },
        env.scale,
        env.faults,
        env.now,
    );
    Ok(operations::render(&op, env.now))
}

/// `subnetworks.setPrivateIpGoogleAccess`: the only way to change
/// `privateIpGoogleAccess` after creation (`patch` refuses it). No fingerprint
/// is needed; the change (and a new fingerprint) happens when the operation
/// is DONE, which takes as long as a patch.
fn set_private_ip_google_access(
    world: &mut World,
    env: &Env<'_>,
    collection: &Collection,
    target: &Target,
    body: Option<Value>,
) -> Result<Value, ApiError> {
    let current = existing(world, target)?.clone();
    if world.pending_on(&target.rel).is_some() {
        return Err(ApiError::not_ready(&target.rel));
    }
    let body = body.unwrap_or_else(|| json!({}));
    schema::validate_body("SubnetworksSetPrivateIpGoogleAccessRequest", &body)?;
    let patch = subnetworks::private_ip_google_access_patch(&body)?;
    let op = operations::start(
        world,
        NewOperation {
            project: &target.project,
            scope: &target.scope,
            collection: collection.name,
            operation_type: "setPrivateIpGoogleAccess",
            target: &target.rel,
            target_id: target_id(&current),
            effect: Effect::Patch { patch },
            request_id: env.request_id,
        },
        env.scale,
        env.faults,
        env.now,
    );
    Ok(operations::render(&op, env.now))
}

/// The 400 the real API answers when a patch changes fields it cannot modify:
/// `Invalid value for field 'resource': '{…}'. The following field(s)
/// specified in the request cannot be modified: [a, b]`. Fields sent with
/// their current value are accepted by the real API, so callers list only
/// fields whose value differs.
pub fn cannot_modify(body: &Map<String, Value>, fields: &[&str]) -> ApiError {
    let shown: Vec<String> = body.iter().map(|(k, v)| format!("\"{k}\": {v}")).collect();
    let mut resource = format!("{{  {}}}", shown.join(",  "));
    if resource.chars().count() > 100 {
        resource = resource.chars().take(100).collect::<String>() + "...";
    }
    ApiError::invalid(format!(
        "Invalid value for field 'resource': '{resource}'. The following field(s) specified in the request cannot be modified: [{}]",
        fields.join(", ")
    ))
}

fn delete(
    world: &mut World,
    env: &Env<'_>,
    collection: &Collection,
    target: &Target,
) -> Result<Value, ApiError> {
    let current = existing(world, target)?.clone();
    if world.pending_on(&target.rel).is_some() {
        return Err(ApiError::not_ready(&target.rel));
    }
    match collection.name {
        "networks" => networks::check_delete(world, target)?,
        "subnetworks" => subnetworks::check_delete(world, target)?,
        _ => {}
    }
    let op = operations::start(
        world,
        NewOperation {
            project: &target.project,
            scope: &target.scope,
            collection: collection.name,
            operation_type: "delete",
            target: &target.rel,
            target_id: target_id(&current),
            effect: Effect::Delete,
            request_id: env.request_id,
        },
        env.scale,
        env.faults,
        env.now,
    );
    Ok(operations::render(&op, env.now))
}

fn query_value<'q>(query: &'q [(String, String)], key: &str) -> Option<&'q str> {
    query
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

fn list(
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

fn aggregated_list(
    world: &World,
    collection: &Collection,
    project: &str,
    query: &[(String, String)],
) -> Result<Value, ApiError> {
    let filter = filter::Filter::parse(query_value(query, "filter").unwrap_or_default(), project)?;
    let mut scopes: BTreeMap<String, Vec<Value>> =
        geography::scopes(collection.scope == ScopeKind::Zonal)
            .into_iter()
            .map(|s| (s, Vec::new()))
            .collect();
    for (rel, resource) in &world.resources {
        if !super::world::in_collection(rel, project, collection.name) {
            continue;
        }
        let Some(scope) = refs::scope_of(rel) else {
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
                json!({ collection.name: resources })
            };
            (scope, entry)
        })
        .collect();
    Ok(json!({
        "kind": format!("{}AggregatedList", collection.kind),
        "id": format!("projects/{project}/aggregated/{}", collection.name),
        "items": items,
        "selfLink": link(&format!("projects/{project}/aggregated/{}", collection.name)),
    }))
}

/// Resolves reference field `field` of `body` as a resource of `collection`, which must exist.
///
/// # Errors
/// 400 if malformed, 404 if the resource doesn't exist (yet).
pub fn existing_ref(
    world: &World,
    project: &str,
    body: &Map<String, Value>,
    field: &str,
    collection: &str,
) -> Result<Option<String>, ApiError> {
    let Some(reference) = body.get(field).and_then(Value::as_str) else {
        return Ok(None);
    };
    let rel = refs::typed(reference, project, collection, &format!("resource.{field}"))?;
    if !world.resources.contains_key(&rel) {
        return Err(ApiError::not_found(&rel));
    }
    Ok(Some(rel))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_real_rules() {
        assert!(validate_name("cross-region-vpc").is_ok());
        assert!(validate_name("a").is_ok());
        for bad in ["", "Vpc", "1abc", "abc-", "a_b", &"a".repeat(64)] {
            assert_eq!(validate_name(bad).unwrap_err().code, 400, "{bad}");
        }
    }

    #[test]
    fn method_ids_map_to_collections() {
        let (c, verb) = collection_of("compute.forwardingRules.aggregatedList").expect("known");
        assert_eq!((c.name, verb), ("forwardingRules", "aggregatedList"));
        assert!(collection_of("compute.globalOperations.get").is_none());
    }
}

//! insert / patch / setPrivateIpGoogleAccess / delete: each checks the
//! request against the world and the collection's rules and starts an
//! operation whose effect happens when it is DONE.

use serde_json::{json, Value};

use super::body::{body_object, cannot_modify, validate_name};
use super::collections::{Collection, ScopeKind};
use super::target::{existing, Env, Target};
use super::{
    backend_services, firewalls, forwarding_rules, health_checks, in_use, instances,
    network_endpoint_groups, networks, routers, subnetworks,
};
use crate::emulator::errors::ApiError;
use crate::emulator::operations::{self, NewOperation};
use crate::emulator::refs;
use crate::emulator::schema;
use crate::emulator::world::{link, Effect, World};

/// `insert`: the resource as GET will return it, created when the operation is DONE.
///
/// # Errors
/// 400 for a bad body or name, 409 if the name is taken, and the collection's own rules.
pub(super) fn insert(
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
        "regionBackendServices" => backend_services::prepare_insert(world, &target, &mut body)?,
        "healthChecks" => health_checks::prepare_insert(world, &target, &mut body)?,
        "networkEndpointGroups" => {
            network_endpoint_groups::prepare_insert(world, &target, &mut body)?
        }
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

fn target_id(resource: &Value) -> u64 {
    resource["id"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

/// `patch`: the fields to merge when the operation is DONE.
///
/// # Errors
/// 404 for a missing resource, 400 `resourceNotReady` while an operation runs
/// on it, and the collection's own rules.
pub(super) fn patch(
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
        "regionBackendServices" => {
            backend_services::prepare_patch(world, target, &current, &mut body)?
        }
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
pub(super) fn set_private_ip_google_access(
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

/// `delete`.
///
/// # Errors
/// 404 for a missing resource, 400 `resourceNotReady` while an operation runs
/// on it, 400 `resourceInUseByAnotherResource` for a network, subnet, health
/// check, backend service or network endpoint group in use.
pub(super) fn delete(
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
        _ => in_use::check_delete(world, collection, target)?,
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

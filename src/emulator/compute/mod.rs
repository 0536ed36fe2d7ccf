//! The compute API: one generic engine for insert / get / patch / delete /
//! list / aggregatedList over the emulated collections, with per-collection
//! rules in the files named after them.
//!
//! - `collections.rs`: the collections and the method ids that name them.
//! - `target.rs`: what a request is about (project, scope, resource path).
//! - `body.rs`: the rules every request body follows.
//! - `mutations.rs`: insert / patch / delete, each starting an operation.
//! - `reads.rs`: get / list / aggregatedList; `filter.rs`, `regex.rs` and
//!   `paging.rs` serve them.
//! - `networks.rs`, `subnetworks.rs`, `routers.rs`, `firewalls.rs`,
//!   `forwarding_rules.rs`, `instances.rs`, `backend_services.rs`,
//!   `health_checks.rs`, `network_endpoint_groups.rs`: each collection's
//!   own rules; `in_use.rs`: the "in use" rule of a delete.
//! - `operation_list.rs`: listing operations; `places.rs`: regions and zones.

mod backend_services;
mod body;
mod collections;
mod filter;
mod firewalls;
mod forwarding_rules;
mod health_checks;
mod in_use;
mod instances;
mod mutations;
mod network_endpoint_groups;
mod networks;
pub mod operation_list;
mod paging;
pub mod places;
mod reads;
mod regex;
mod routers;
mod subnetworks;
mod target;

use std::collections::BTreeMap;

use serde_json::Value;

use crate::emulator::errors::ApiError;
use crate::emulator::world::World;

pub use body::{cannot_modify, existing_ref, validate_name};
pub use collections::{collection_of, Collection};
pub use subnetworks::allocate_address;
pub use target::{Env, Target};

use target::{query_value, resolve_name, scope_of};

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
        return reads::aggregated_list(world, collection, &project, query);
    }
    let scope = scope_of(collection, params, &project)?;
    let prefix = format!("projects/{project}/{scope}/{}", collection.path);
    let mut target = Target {
        project,
        scope,
        rel: String::new(),
    };
    match verb {
        "list" => reads::list(world, collection, &target, &prefix, query),
        "insert" => mutations::insert(world, env, collection, target, &prefix, body),
        _ => {
            let name = params.get(collection.param).cloned().unwrap_or_default();
            target.rel = resolve_name(world, &prefix, &name);
            match verb {
                "get" => reads::get(world, collection, &target),
                "patch" => mutations::patch(world, env, collection, &target, body),
                "delete" => mutations::delete(world, env, collection, &target),
                "setPrivateIpGoogleAccess" if collection.name == "subnetworks" => {
                    mutations::set_private_ip_google_access(world, env, collection, &target, body)
                }
                _ => Err(ApiError::no_route("?", &target.rel)),
            }
        }
    }
}

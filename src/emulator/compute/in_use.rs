//! The "in use" rule of a delete for the load-balancer collections: a
//! health check used by a backend service, a backend service used by a
//! forwarding rule and a network endpoint group used by a backend service
//! cannot be deleted (400 `resourceInUseByAnotherResource`), as on GCP.
//! Networks and subnetworks have their own lists (`networks.rs`,
//! `subnetworks.rs`).

use super::collections::Collection;
use super::Target;
use crate::emulator::errors::ApiError;
use crate::emulator::world::uses::Uses;
use crate::emulator::world::World;

/// Method collection → the path collections whose resources keep one in use.
const RULES: &[(&str, &[&str])] = &[
    ("healthChecks", &["backendServices"]),
    ("regionBackendServices", &["forwardingRules"]),
    ("networkEndpointGroups", &["backendServices"]),
];

/// # Errors
/// 400 `resourceInUseByAnotherResource` while a user (existing or being
/// created) refers to `target`.
pub fn check_delete(
    world: &World,
    collection: &Collection,
    target: &Target,
) -> Result<(), ApiError> {
    let Some((_, users)) = RULES.iter().find(|(c, _)| *c == collection.name) else {
        return Ok(());
    };
    match Uses::of(world).first_user_in(&target.rel, users) {
        Some(user) => Err(ApiError::in_use(&target.rel, &user)),
        None => Ok(()),
    }
}

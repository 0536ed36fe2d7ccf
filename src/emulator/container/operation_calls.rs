//! `projects.locations.operations` get and list. Location `-` means every
//! location, as in GKE.

use serde_json::{json, Value};

use super::errors::not_found;
use super::operations::{self, is_container};
use super::{validate, Answer};
use crate::emulator::errors::ApiError;
use crate::emulator::shared::Shared;
use crate::emulator::world::{OperationRecord, World};

/// `operations.get`; location `-` finds the operation in any location.
///
/// # Errors
/// 404 when there is no such operation (or it was pruned).
pub fn get(shared: &Shared, project: &str, location: &str, name: &str) -> Result<Answer, ApiError> {
    let (world, now) = shared.world_now()?;
    let key = format!("projects/{project}/locations/{location}/operations/{name}");
    let op = in_location(&world, project, location)
        .find(|op| op.name == name)
        .ok_or_else(|| not_found(&key))?;
    Ok(("Operation", operations::render(op, now)))
}

/// `operations.list`: the `ListOperationsResponse` of every operation
/// (pending, running and DONE ones not yet pruned) in `location`, oldest
/// first.
///
/// # Errors
/// 400 for a location that does not exist.
pub fn list(shared: &Shared, project: &str, location: &str) -> Result<Answer, ApiError> {
    if location != "-" {
        validate::location(location)?;
    }
    let (world, now) = shared.world_now()?;
    Ok((
        "ListOperationsResponse",
        render_list(&world, project, location, now),
    ))
}

fn render_list(world: &World, project: &str, location: &str, now: u64) -> Value {
    let mut ops: Vec<&OperationRecord> = in_location(world, project, location).collect();
    ops.sort_by_key(|op| (op.insert_ms, op.id));
    let ops: Vec<Value> = ops
        .into_iter()
        .map(|op| operations::render(op, now))
        .collect();
    if ops.is_empty() {
        json!({})
    } else {
        json!({ "operations": ops })
    }
}

/// The GKE operations of `project` in `location` (`-`: all locations).
fn in_location<'w>(
    world: &'w World,
    project: &'w str,
    location: &'w str,
) -> impl Iterator<Item = &'w OperationRecord> + 'w {
    world.operations.values().filter(move |op| {
        is_container(op)
            && op.project == project
            && (location == "-" || op.scope.strip_prefix("locations/") == Some(location))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::emulator::faults::{FaultConfig, Faults};
    use crate::emulator::world::ClusterStep;

    #[test]
    fn lists_the_operations_of_one_location_or_all() {
        let mut w = World::default();
        let faults = Faults::new(FaultConfig::default());
        for (location, kind, at) in [
            ("europe-west2-a", "CREATE_CLUSTER", 1_000),
            ("us-central1-a", "DELETE_CLUSTER", 2_000),
            ("europe-west2-a", "DELETE_CLUSTER", 3_000),
        ] {
            operations::start(
                &mut w,
                "p",
                location,
                kind,
                &format!("projects/p/locations/{location}/clusters/c"),
                ClusterStep::Delete,
                1.0,
                &faults,
                at,
            );
        }
        let kinds = |v: &Value| -> Vec<String> {
            v["operations"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .map(|o| format!("{} {}", o["location"], o["operationType"]))
                        .collect()
                })
                .unwrap_or_default()
        };
        assert_eq!(
            kinds(&render_list(&w, "p", "europe-west2-a", 3_000)),
            [
                "\"europe-west2-a\" \"CREATE_CLUSTER\"",
                "\"europe-west2-a\" \"DELETE_CLUSTER\""
            ]
        );
        assert_eq!(kinds(&render_list(&w, "p", "-", 3_000)).len(), 3);
        assert_eq!(render_list(&w, "q", "-", 3_000), json!({}));
    }
}

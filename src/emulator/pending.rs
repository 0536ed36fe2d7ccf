//! The operations still in flight, for tests that must act while one runs
//! (the crash matrix kills meshform between an operation's start and end).

use super::world::World;

/// An operation (compute or GKE) that is not DONE yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingOperation {
    /// The operation's name, e.g. `operation-1700000000000-3b9aca01`.
    pub name: String,
    /// `insert`, `patch`, `delete` or a `set…` method (compute);
    /// `CREATE_CLUSTER`, `UPDATE_CLUSTER` or `DELETE_CLUSTER` (GKE).
    pub operation_type: String,
    /// Relative path of the target, e.g.
    /// `projects/p/regions/r/subnetworks/s` or `projects/p/locations/l/clusters/c`.
    pub target: String,
    /// Where the operation lives: `global`, `regions/{r}`, `zones/{z}` or `locations/{l}`.
    pub scope: String,
    /// RUNNING (true) or still PENDING (false).
    pub running: bool,
}

/// The operations of `world` not DONE at `now`, oldest first.
pub fn pending(world: &World, now: u64) -> Vec<PendingOperation> {
    let mut ops: Vec<_> = world
        .operations
        .values()
        .filter(|op| !op.is_done(now))
        .collect();
    ops.sort_by_key(|op| (op.insert_ms, op.id));
    ops.into_iter()
        .map(|op| PendingOperation {
            name: op.name.clone(),
            operation_type: op.operation_type.clone(),
            target: op.target.clone(),
            scope: op.scope.clone(),
            running: now >= op.start_ms,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::emulator::world::{Effect, OperationRecord};

    fn op(name: &str, insert_ms: u64, done_ms: u64) -> OperationRecord {
        OperationRecord {
            id: insert_ms,
            name: name.into(),
            project: "p".into(),
            scope: "regions/r".into(),
            operation_type: "delete".into(),
            target: format!("projects/p/regions/r/subnetworks/{name}"),
            target_id: 1,
            insert_ms,
            start_ms: insert_ms + 10,
            done_ms,
            effect: Effect::Delete,
            error: None,
            applied: false,
            request_id: None,
        }
    }

    #[test]
    fn lists_what_is_not_done_oldest_first() {
        let mut w = World::default();
        for o in [op("b", 20, 1_000), op("a", 10, 1_000), op("done", 0, 20)] {
            w.operations.insert(o.rel(), o);
        }
        let p = pending(&w, 25);
        let names: Vec<&str> = p.iter().map(|o| o.name.as_str()).collect();
        assert_eq!(names, ["a", "b"]);
        assert!(p[0].running && !p[1].running);
        assert_eq!(p[0].target, "projects/p/regions/r/subnetworks/a");
        assert_eq!(p[0].operation_type, "delete");
        assert!(pending(&w, 1_000).is_empty());
    }
}

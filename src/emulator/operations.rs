//! Compute `Operation`s: creating them with a latency and an optional
//! injected failure, and rendering them as `compute#operation` JSON.

use std::time::Duration;

use serde_json::{json, Value};

use super::faults::Faults;
use super::latency::scaled_duration;
use super::world::{link, timestamp, Effect, OperationError, OperationRecord, World};

/// How long `wait` blocks at most, in real time, like the real API.
pub const WAIT_CAP: Duration = Duration::from_secs(120);

/// How long a DONE operation (and the `requestId` that started it) is kept,
/// in wall-clock time, unless `EmulatorConfig::operation_retention` says otherwise.
pub const RETENTION: Duration = Duration::from_secs(60 * 60);

/// What a mutation asks of [`start`].
#[derive(Debug, Clone)]
pub struct NewOperation<'a> {
    /// Project id.
    pub project: &'a str,
    /// `global`, `regions/{r}` or `zones/{z}`: where the operation lives.
    pub scope: &'a str,
    /// Collection of the target, e.g. `subnetworks` (for the latency table).
    pub collection: &'a str,
    /// `insert`, `patch`, `delete` or a `set…` method such as `setPrivateIpGoogleAccess`.
    pub operation_type: &'a str,
    /// Relative path of the target.
    pub target: &'a str,
    /// Id of the target.
    pub target_id: u64,
    /// What happens when the operation is DONE.
    pub effect: Effect,
    /// The request's `requestId`, remembered with the operation.
    pub request_id: Option<&'a str>,
}

/// Records a new operation in `world`, due after the scaled latency, and returns it.
pub fn start(
    world: &mut World,
    new: NewOperation<'_>,
    scale: f64,
    faults: &Faults,
    now: u64,
) -> OperationRecord {
    let id = world.new_id();
    // `set…` methods change a field or two: they take as long as a patch.
    let latency_verb = match new.operation_type {
        "insert" | "delete" => new.operation_type,
        _ => "patch",
    };
    let duration = scaled_duration(new.collection, latency_verb, scale).as_millis() as u64;
    let error = faults.operation_failure().map(|f| OperationError {
        code: f.code.to_string(),
        message: f.message.to_string(),
        http_status: 503,
    });
    let op = OperationRecord {
        id,
        name: format!("operation-{now}-{id:x}"),
        project: new.project.to_string(),
        scope: new.scope.to_string(),
        operation_type: new.operation_type.to_string(),
        target: new.target.to_string(),
        target_id: new.target_id,
        insert_ms: now,
        start_ms: now + duration / 10,
        done_ms: now + duration,
        effect: new.effect,
        error,
        applied: false,
        request_id: new.request_id.map(str::to_string),
    };
    world.operations.insert(op.rel(), op.clone());
    op
}

/// The `compute#operation` JSON of `op` at time `now` (links against the canonical base).
pub fn render(op: &OperationRecord, now: u64) -> Value {
    let done = op.is_done(now);
    let (status, progress) = if done {
        ("DONE", 100)
    } else if now >= op.start_ms {
        ("RUNNING", 0)
    } else {
        ("PENDING", 0)
    };
    let mut v = json!({
        "kind": "compute#operation",
        "id": op.id.to_string(),
        "name": op.name,
        "operationType": op.operation_type,
        "targetLink": link(&op.target),
        "targetId": op.target_id.to_string(),
        "status": status,
        "user": "emulator@meshform.invalid",
        "progress": progress,
        "insertTime": timestamp(op.insert_ms),
        "selfLink": link(&op.rel()),
    });
    if now >= op.start_ms || done {
        v["startTime"] = json!(timestamp(op.start_ms));
    }
    if done {
        v["endTime"] = json!(timestamp(op.done_ms));
        if let Some(e) = &op.error {
            v["error"] = json!({"errors": [{"code": e.code, "message": e.message}]});
            v["httpErrorStatusCode"] = json!(e.http_status);
            v["httpErrorMessage"] = json!(http_reason(e.http_status));
        }
    }
    if let Some(region) = op.scope.strip_prefix("regions/") {
        v["region"] = json!(link(&format!("projects/{}/regions/{region}", op.project)));
    }
    if let Some(zone) = op.scope.strip_prefix("zones/") {
        v["zone"] = json!(link(&format!("projects/{}/zones/{zone}", op.project)));
    }
    v
}

fn http_reason(code: u16) -> &'static str {
    match code {
        400 => "BAD REQUEST",
        404 => "NOT FOUND",
        409 => "CONFLICT",
        412 => "PRECONDITION FAILED",
        429 => "TOO MANY REQUESTS",
        _ => "SERVICE UNAVAILABLE",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::emulator::faults::FaultConfig;

    fn new_op(world: &mut World, faults: &Faults) -> OperationRecord {
        start(
            world,
            NewOperation {
                project: "p",
                scope: "regions/us-central1",
                collection: "subnetworks",
                operation_type: "insert",
                target: "projects/p/regions/us-central1/subnetworks/s",
                target_id: 7,
                effect: Effect::Insert {
                    resource: json!({"name": "s"}),
                },
                request_id: None,
            },
            1.0,
            faults,
            1_000,
        )
    }

    #[test]
    fn status_moves_from_pending_to_done() {
        let mut world = World::default();
        let op = new_op(&mut world, &Faults::new(FaultConfig::default()));
        assert_eq!(op.done_ms, 16_000);
        assert_eq!(render(&op, 1_000)["status"], "PENDING");
        assert_eq!(render(&op, 5_000)["status"], "RUNNING");
        let done = render(&op, 16_000);
        assert_eq!(done["status"], "DONE");
        assert_eq!(done["targetId"], "7");
        assert!(done["region"]
            .as_str()
            .is_some_and(|r| r.ends_with("regions/us-central1")));
        assert!(done.get("error").is_none());
    }

    #[test]
    fn injected_failure_shows_when_done() {
        let mut world = World::default();
        let faults = Faults::new(FaultConfig {
            seed: 1,
            retryable_rate: 0.0,
            operation_failure_rate: 1.0,
        });
        let op = new_op(&mut world, &faults);
        let done = render(&op, op.done_ms);
        assert_eq!(done["httpErrorStatusCode"], 503);
        assert!(done["error"]["errors"][0]["code"].as_str().is_some());
    }
}

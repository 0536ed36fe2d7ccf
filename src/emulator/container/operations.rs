//! GKE `Operation`s: started with the latency of the `clusters` rows of the
//! latency table, completed lazily by wall clock like compute operations,
//! rendered as `google.container.v1.Operation`. GKE has no `wait`: clients
//! poll `operations.get`.

use serde_json::{json, Value};

use super::{link, location_path};
use crate::emulator::faults::Faults;
use crate::emulator::latency::scaled_duration;
use crate::emulator::world::{
    timestamp, ClusterStep, Effect, OperationError, OperationRecord, World,
};

/// Records a new operation of `kind` (`CREATE_CLUSTER`, `DELETE_CLUSTER`,
/// `UPDATE_CLUSTER`) on cluster `target` in `locations/{location}`.
#[allow(clippy::too_many_arguments)]
pub fn start(
    world: &mut World,
    project: &str,
    location: &str,
    kind: &str,
    target: &str,
    step: ClusterStep,
    scale: f64,
    faults: &Faults,
    now: u64,
) -> OperationRecord {
    let id = world.new_id();
    let verb = match kind {
        "CREATE_CLUSTER" => "create",
        "DELETE_CLUSTER" => "delete",
        _ => "update",
    };
    let duration = scaled_duration("clusters", verb, scale).as_millis() as u64;
    let error = faults.operation_failure().map(|f| OperationError {
        code: f.code.to_string(),
        message: f.message.to_string(),
        http_status: if f.code == "INTERNAL_ERROR" { 500 } else { 429 },
    });
    let op = OperationRecord {
        id,
        name: format!("operation-{now}-{:08x}", id & 0xffff_ffff),
        project: project.to_string(),
        scope: format!("locations/{location}"),
        operation_type: kind.to_string(),
        target: target.to_string(),
        target_id: 0,
        insert_ms: now,
        start_ms: now + duration / 60,
        done_ms: now + duration,
        effect: Effect::Cluster { step },
        error,
        applied: false,
        request_id: None,
    };
    world.operations.insert(op.rel(), op.clone());
    op
}

/// Whether `op` is a GKE operation (lives under `locations/`).
pub fn is_container(op: &OperationRecord) -> bool {
    op.scope.starts_with("locations/")
}

/// The gRPC code of an operation error, as `google.rpc.Status.code`.
fn rpc_code(e: &OperationError) -> i32 {
    match e.http_status {
        400 => 3,
        404 => 5,
        409 => 6,
        412 => 9,
        429 => 8,
        503 => 14,
        _ => 13,
    }
}

/// The Operation JSON of `op` at `now` (enum names, canonical links).
pub fn render(op: &OperationRecord, now: u64) -> Value {
    let location = op.scope.trim_start_matches("locations/");
    let done = op.is_done(now);
    let status = if done {
        "DONE"
    } else if now >= op.start_ms {
        "RUNNING"
    } else {
        "PENDING"
    };
    let mut v = json!({
        "name": op.name,
        "zone": location,
        "location": location,
        "operationType": op.operation_type,
        "status": status,
        "selfLink": link(&format!("{}/operations/{}", location_path(&op.project, location), op.name)),
        "targetLink": link(&super::cluster_path(&op.target)),
        "startTime": timestamp(op.insert_ms),
    });
    if done {
        v["endTime"] = json!(timestamp(op.done_ms));
        if let Some(e) = &op.error {
            v["error"] = json!({"code": rpc_code(e), "message": e.message});
            v["statusMessage"] = json!(e.message);
        }
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::emulator::faults::FaultConfig;

    #[test]
    fn create_takes_six_minutes_and_reports_failure_when_done() {
        let mut world = World::default();
        let faults = Faults::new(FaultConfig {
            seed: 3,
            retryable_rate: 0.0,
            operation_failure_rate: 1.0,
        });
        let op = start(
            &mut world,
            "p",
            "europe-west2-a",
            "CREATE_CLUSTER",
            "projects/p/locations/europe-west2-a/clusters/c",
            ClusterStep::Create,
            1.0,
            &faults,
            1_000,
        );
        assert_eq!(op.done_ms - op.insert_ms, 360_000);
        assert_eq!(render(&op, 1_000)["status"], "PENDING");
        assert_eq!(render(&op, 100_000)["status"], "RUNNING");
        let done = render(&op, op.done_ms);
        assert_eq!(done["status"], "DONE");
        assert!(done["error"]["code"].as_i64().is_some());
        assert!(done["selfLink"]
            .as_str()
            .is_some_and(|s| s.contains("/zones/europe-west2-a/operations/")));
        assert!(done["targetLink"]
            .as_str()
            .is_some_and(|s| s.ends_with("/zones/europe-west2-a/clusters/c")));
    }
}

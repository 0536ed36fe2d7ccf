//! Deployment status: computed when read, from the time of the last spec
//! change, so rollouts "finish" after `latency_scale × 30 s` even across
//! emulator restarts.

use std::time::Duration;

use serde_json::{json, Value};

use super::meta;

/// How long a rollout takes before scaling.
pub const ROLLOUT: Duration = Duration::from_secs(30);

/// The rollout time for `latency_scale` (negative or NaN count as 0).
pub fn rollout_time(latency_scale: f64) -> Duration {
    let scale = if latency_scale.is_finite() && latency_scale > 0.0 {
        latency_scale
    } else {
        0.0
    };
    ROLLOUT.mul_f64(scale)
}

/// When the rollout of a Deployment whose spec last changed at
/// `changed_ms` finishes (ms since the epoch): from then on it is Available.
pub fn available_at(changed_ms: u64, latency_scale: f64) -> u64 {
    changed_ms + rollout_time(latency_scale).as_millis() as u64
}

/// The `status` of `deployment` at `now_ms`, whose spec last changed at
/// `changed_ms`.
pub fn status(deployment: &Value, changed_ms: u64, now_ms: u64, latency_scale: f64) -> Value {
    let replicas = deployment["spec"]["replicas"].as_i64().unwrap_or(1);
    let generation = deployment["metadata"]["generation"].as_i64().unwrap_or(1);
    let ready_at = available_at(changed_ms, latency_scale);
    let since = meta::timestamp(changed_ms);
    if now_ms >= ready_at {
        let at = meta::timestamp(ready_at);
        json!({
            "observedGeneration": generation,
            "replicas": replicas,
            "updatedReplicas": replicas,
            "readyReplicas": replicas,
            "availableReplicas": replicas,
            "conditions": [
                {"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable",
                 "message": "Deployment has minimum availability.",
                 "lastUpdateTime": at, "lastTransitionTime": at},
                {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable",
                 "message": "ReplicaSet has successfully progressed.",
                 "lastUpdateTime": at, "lastTransitionTime": since},
            ],
        })
    } else {
        json!({
            "observedGeneration": generation,
            "replicas": replicas,
            "updatedReplicas": replicas,
            "unavailableReplicas": replicas,
            "conditions": [
                {"type": "Available", "status": "False", "reason": "MinimumReplicasUnavailable",
                 "message": "Deployment does not have minimum availability.",
                 "lastUpdateTime": since, "lastTransitionTime": since},
                {"type": "Progressing", "status": "True", "reason": "ReplicaSetUpdated",
                 "message": "ReplicaSet is progressing.",
                 "lastUpdateTime": since, "lastTransitionTime": since},
            ],
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn becomes_available_after_scaled_rollout() {
        let d = json!({"metadata": {"generation": 2}, "spec": {"replicas": 3}});
        let early = status(&d, 1_000, 1_000 + 299, 0.01);
        assert_eq!(early["conditions"][0]["status"], "False");
        assert!(early.get("availableReplicas").is_none());
        let late = status(&d, 1_000, 1_000 + 300, 0.01);
        assert_eq!(late["conditions"][0]["type"], "Available");
        assert_eq!(late["conditions"][0]["status"], "True");
        assert_eq!(late["availableReplicas"], 3);
        assert_eq!(late["observedGeneration"], 2);
    }
}

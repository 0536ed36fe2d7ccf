//! `healthChecks` (global): the type's own block must be given; defaults
//! as the real API fills them.

use serde_json::{json, Map, Value};

use super::Target;
use crate::emulator::errors::ApiError;
use crate::emulator::world::World;

/// The block of each health check type, e.g. `HTTP` → `httpHealthCheck`.
const BLOCKS: &[(&str, &str)] = &[
    ("TCP", "tcpHealthCheck"),
    ("SSL", "sslHealthCheck"),
    ("HTTP", "httpHealthCheck"),
    ("HTTPS", "httpsHealthCheck"),
    ("HTTP2", "http2HealthCheck"),
    ("GRPC", "grpcHealthCheck"),
    ("GRPC_WITH_TLS", "grpcTlsHealthCheck"),
];

/// Checks `type` and fills the interval, timeout and thresholds.
///
/// # Errors
/// 400 when `type` is missing or its block is absent.
pub fn prepare_insert(
    _world: &World,
    _target: &Target,
    body: &mut Map<String, Value>,
) -> Result<(), ApiError> {
    let kind = body
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let Some((_, block)) = BLOCKS.iter().find(|(t, _)| *t == kind.as_str()) else {
        return Err(ApiError::invalid(format!(
            "Invalid value for field 'resource.type': '{kind}'. Health check type must be specified."
        )));
    };
    let inner = body.entry(*block).or_insert(json!({}));
    if let Value::Object(inner) = inner {
        if !inner.contains_key("port") && !inner.contains_key("portName") {
            inner
                .entry("portSpecification")
                .or_insert(json!("USE_SERVING_PORT"));
        }
        if kind.starts_with("HTTP") {
            inner.entry("requestPath").or_insert(json!("/"));
            inner.entry("proxyHeader").or_insert(json!("NONE"));
        }
    }
    body.entry("checkIntervalSec").or_insert(json!(5));
    body.entry("timeoutSec").or_insert(json!(5));
    body.entry("healthyThreshold").or_insert(json!(2));
    body.entry("unhealthyThreshold").or_insert(json!(2));
    Ok(())
}

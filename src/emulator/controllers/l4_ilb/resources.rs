//! The compute resources of an internal load balancer as GKE makes them
//! (ingress-gce `pkg/l4/resources/l4.go`, `pkg/l4/healthchecks/healthchecksl4.go`,
//! descriptions as `utils.L4LBResourceDescription`), and how they are put
//! into the world with the fields every stored resource has.

use serde_json::{json, Value};

use crate::emulator::world::{link, timestamp, World};

/// Sources of Google's health checkers.
pub const HEALTH_CHECK_SOURCES: &[&str] = &[
    "130.211.0.0/22",
    "35.191.0.0/16",
    "209.85.152.0/22",
    "209.85.204.0/22",
];

/// The port and path kube-proxy answers health checks on.
pub const HEALTH_CHECK_PORT: u16 = 10256;

/// `L4LBResourceDescription` of a Service's resource, JSON in Go's field order.
pub fn description(service: &str, ip: Option<&str>) -> String {
    let mut d = format!(
        "{{\"networking.gke.io/service-name\":{},\"networking.gke.io/api-version\":\"ga\"",
        json!(service)
    );
    if let Some(ip) = ip {
        d.push_str(&format!(",\"networking.gke.io/service-ip\":{}", json!(ip)));
    }
    d.push('}');
    d
}

/// `L4LBResourceDescription` of the shared health check and its rule.
pub fn shared_description() -> String {
    "{\"networking.gke.io/service-name\":\"\",\"networking.gke.io/api-version\":\"ga\",\"networking.gke.io/resource-description\":\"This resource is shared by all L4 ILB Services using ExternalTrafficPolicy: Cluster.\"}".to_string()
}

/// The shared HTTP health check on kube-proxy's `/healthz`.
pub fn health_check(name: &str) -> Value {
    json!({
        "kind": "compute#healthCheck",
        "name": name,
        "description": shared_description(),
        "checkIntervalSec": 8,
        "timeoutSec": 1,
        "healthyThreshold": 1,
        "unhealthyThreshold": 3,
        "type": "HTTP",
        "httpHealthCheck": {"port": HEALTH_CHECK_PORT, "requestPath": "/healthz", "proxyHeader": "NONE"},
    })
}

/// An ingress rule on `network` for the node tag, TCP `ports` from `sources`.
pub fn firewall(
    name: &str,
    description: String,
    network: &str,
    sources: &[String],
    ports: &[u16],
    node_tag: &str,
    destination: Option<&str>,
) -> Value {
    let mut rule = json!({
        "kind": "compute#firewall",
        "name": name,
        "description": description,
        "network": link(network),
        "priority": 1000,
        "direction": "INGRESS",
        "sourceRanges": sources,
        "targetTags": [node_tag],
        "allowed": [{"IPProtocol": "tcp", "ports": ports.iter().map(u16::to_string).collect::<Vec<_>>()}],
        "disabled": false,
        "logConfig": {"enable": false},
    });
    if let Some(ip) = destination {
        rule["destinationRanges"] = json!([ip]);
    }
    rule
}

/// Puts `resource` at `rel`: a new one gets kind, id, creation time,
/// self link and scope; an existing one keeps those and its other fields,
/// the given ones replaced. Returns whether anything changed.
pub fn put(world: &mut World, rel: &str, mut resource: Value, at_ms: u64) -> bool {
    let parts: Vec<&str> = rel.split('/').collect();
    if let Some(current) = world.resources.get(rel) {
        let mut merged = current.clone();
        if let (Some(m), Some(fields)) = (merged.as_object_mut(), resource.as_object()) {
            for (k, v) in fields {
                m.insert(k.clone(), v.clone());
            }
            if resource.get("allowGlobalAccess").is_none() {
                m.remove("allowGlobalAccess");
            }
        }
        if &merged == current {
            return false;
        }
        if merged.get("fingerprint").is_some() {
            merged["fingerprint"] = json!(world.new_fingerprint());
        }
        world.resources.insert(rel.to_string(), merged);
        return true;
    }
    resource["id"] = json!(world.new_id().to_string());
    resource["creationTimestamp"] = json!(timestamp(at_ms));
    resource["selfLink"] = json!(link(rel));
    match parts.get(2) {
        Some(&"regions") => resource["region"] = json!(link(&parts[..4].join("/"))),
        Some(&"zones") => resource["zone"] = json!(link(&parts[..4].join("/"))),
        _ => {}
    }
    world.resources.insert(rel.to_string(), resource);
    true
}

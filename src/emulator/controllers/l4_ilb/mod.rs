//! GKE's L4 internal load balancer controller (ingress-gce's L4 controller
//! with GKE subsetting): what it makes in the world for an internal
//! LoadBalancer Service of a cluster, and what it deletes again.
//!
//! For Service `ns/name` of cluster `c` (names from `names.rs`): the
//! forwarding rule `k8s2-tcp-…` (INTERNAL, the Service's TCP ports, an
//! address in the cluster's subnet, `allowGlobalAccess` only when asked),
//! the regional backend service `k8s2-…` (INTERNAL, TCP, the NEGs as
//! backends, the shared health check), a `GCE_VM_IP` NEG of that name in
//! every zone of the cluster, the traffic firewall rule of that name (the
//! Service's source ranges, or `0.0.0.0/0`, to the node tag), and, shared
//! by all of the cluster's Services, the health check `k8s2-{uid8}-l4-shared-hc`
//! and its firewall rule `…-fw`. All on the cluster's network and subnet.
//!
//! The Kubernetes side (when, the finalizer, the Service's status) is the
//! service controller of `kubeapi/controllers/service_lb.rs`, which calls
//! [`ensure`] and [`ensure_deleted`] through the `LoadBalancers` port the
//! emulator implements in `shared.rs`. A deleted cluster's pieces stay.

mod names;
mod resources;

use serde_json::{json, Value};

pub use names::Names;

use super::gke_firewall_rules;
use crate::emulator::compute::allocate_address;
use crate::emulator::kubeapi::{LoadBalancerSpec, LoadBalancerStatus};
use crate::emulator::refs;
use crate::emulator::world::{link, World};

/// What the controller needs to know of the cluster.
struct Cluster {
    project: String,
    region: String,
    network: String,
    subnet: String,
    zones: Vec<String>,
    node_tag: String,
}

fn cluster(world: &World, key: &str) -> Result<Cluster, String> {
    let c = world
        .resources
        .get(key)
        .ok_or_else(|| format!("cluster {key} does not exist"))?;
    let project = key.split('/').nth(1).unwrap_or_default().to_string();
    let network = c["networkConfig"]["network"].as_str().unwrap_or_default();
    let subnet = c["networkConfig"]["subnetwork"]
        .as_str()
        .unwrap_or_default();
    let region = refs::scope_of(subnet).ok_or_else(|| format!("cluster {key} has no subnet"))?;
    Ok(Cluster {
        region,
        network: network.to_string(),
        subnet: subnet.to_string(),
        zones: c["locations"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect(),
        node_tag: format!("{}-node", gke_firewall_rules::prefix(c)),
        project,
    })
}

/// The relative paths of one Service's pieces (shared ones apart).
struct Paths {
    forwarding_rule: String,
    backend_service: String,
    firewall: String,
    health_check: String,
    health_check_firewall: String,
}

fn paths(c: &Cluster, n: &Names) -> Paths {
    let p = &c.project;
    Paths {
        forwarding_rule: format!(
            "projects/{p}/{}/forwardingRules/{}",
            c.region, n.forwarding_rule
        ),
        backend_service: format!("projects/{p}/{}/backendServices/{}", c.region, n.backend),
        firewall: format!("projects/{p}/global/firewalls/{}", n.backend),
        health_check: format!("projects/{p}/global/healthChecks/{}", n.health_check),
        health_check_firewall: format!("projects/{p}/global/firewalls/{}", n.health_check_firewall),
    }
}

/// Makes (or updates) the load balancer of `spec` in cluster `key` at `at_ms`.
///
/// # Errors
/// The cluster is gone, or its subnet has no free address.
pub fn ensure(
    world: &mut World,
    key: &str,
    spec: &LoadBalancerSpec,
    at_ms: u64,
) -> Result<LoadBalancerStatus, String> {
    let c = cluster(world, key)?;
    let n = Names::new(&spec.kube_system_uid, &spec.namespace, &spec.name);
    let p = paths(&c, &n);
    let service = format!("{}/{}", spec.namespace, spec.name);
    resources::put(
        world,
        &p.health_check,
        resources::health_check(&n.health_check),
        at_ms,
    );
    let hc_sources: Vec<String> = resources::HEALTH_CHECK_SOURCES
        .iter()
        .map(|s| s.to_string())
        .collect();
    let hc_rule = resources::firewall(
        &n.health_check_firewall,
        resources::shared_description(),
        &c.network,
        &hc_sources,
        &[resources::HEALTH_CHECK_PORT],
        &c.node_tag,
        None,
    );
    resources::put(world, &p.health_check_firewall, hc_rule, at_ms);
    let mut backends = Vec::new();
    for zone in &c.zones {
        let rel = format!(
            "projects/{}/zones/{zone}/networkEndpointGroups/{}",
            c.project, n.backend
        );
        let neg = json!({
            "kind": "compute#networkEndpointGroup",
            "name": n.backend,
            "description": resources::description(&service, None),
            "networkEndpointType": "GCE_VM_IP",
            "network": link(&c.network),
            "subnetwork": link(&c.subnet),
            "size": 0,
        });
        resources::put(world, &rel, neg, at_ms);
        backends.push(json!({"group": link(&rel), "balancingMode": "CONNECTION"}));
    }
    let backend_service = json!({
        "kind": "compute#backendService",
        "name": n.backend,
        "description": resources::description(&service, None),
        "backends": backends,
        "healthChecks": [link(&p.health_check)],
        "protocol": "TCP",
        "loadBalancingScheme": "INTERNAL",
        "network": link(&c.network),
        "sessionAffinity": "NONE",
        "timeoutSec": 30,
        "connectionDraining": {"drainingTimeoutSec": 0},
        "fingerprint": "",
    });
    if resources::put(world, &p.backend_service, backend_service, at_ms)
        && world.resources[&p.backend_service]["fingerprint"] == ""
    {
        let f = world.new_fingerprint();
        world
            .resources
            .get_mut(&p.backend_service)
            .expect("just put")["fingerprint"] = json!(f);
    }
    let ip = match world.resources.get(&p.forwarding_rule) {
        Some(fr) => fr["IPAddress"].as_str().unwrap_or_default().to_string(),
        None => allocate_address(world, &c.project, &c.subnet, None).map_err(|e| e.message)?,
    };
    let ports: Vec<String> = spec.ports.iter().map(u16::to_string).collect();
    let mut rule = json!({
        "kind": "compute#forwardingRule",
        "name": n.forwarding_rule,
        "description": resources::description(&service, Some(&ip)),
        "IPAddress": ip,
        "IPProtocol": "TCP",
        "ports": ports,
        "loadBalancingScheme": "INTERNAL",
        "network": link(&c.network),
        "subnetwork": link(&c.subnet),
        "backendService": link(&p.backend_service),
        "networkTier": "PREMIUM",
    });
    if spec.global_access {
        rule["allowGlobalAccess"] = json!(true);
    }
    resources::put(world, &p.forwarding_rule, rule, at_ms);
    let sources = if spec.source_ranges.is_empty() {
        vec!["0.0.0.0/0".to_string()]
    } else {
        spec.source_ranges.clone()
    };
    let traffic = resources::firewall(
        &n.backend,
        resources::description(&service, Some(&ip)),
        &c.network,
        &sources,
        &spec.ports,
        &c.node_tag,
        Some(&ip),
    );
    resources::put(world, &p.firewall, traffic, at_ms);
    let annotations = [
        ("tcp-forwarding-rule", &n.forwarding_rule),
        ("backend-service", &n.backend),
        ("firewall-rule", &n.backend),
        ("healthcheck", &n.health_check),
        ("firewall-rule-for-hc", &n.health_check_firewall),
    ]
    .into_iter()
    .map(|(k, v)| (format!("service.kubernetes.io/{k}"), v.clone()))
    .collect();
    Ok(LoadBalancerStatus { ip, annotations })
}

/// Deletes the load balancer of Service `spec` in cluster `key`, and the
/// shared health check and its rule when no other load balancer of the
/// cluster is left.
///
/// # Errors
/// Never yet (a cluster that is gone leaves nothing to find by its network).
pub fn ensure_deleted(
    world: &mut World,
    key: &str,
    spec: &LoadBalancerSpec,
    _at_ms: u64,
) -> Result<(), String> {
    let n = Names::new(&spec.kube_system_uid, &spec.namespace, &spec.name);
    let project = key.split('/').nth(1).unwrap_or_default();
    let mine = |rel: &str| {
        let parts: Vec<&str> = rel.split('/').collect();
        let name = parts.last().copied().unwrap_or_default();
        parts.get(1) == Some(&project)
            && match parts[parts.len().saturating_sub(2)] {
                "forwardingRules" => name == n.forwarding_rule,
                "backendServices" | "networkEndpointGroups" => name == n.backend,
                "firewalls" => name == n.backend,
                _ => false,
            }
    };
    world.resources.retain(|rel, _| !mine(rel));
    let others = world.resources.keys().any(|rel| {
        let name = refs::name_of(rel);
        rel.contains("/forwardingRules/")
            && name.starts_with(&format!("k8s2-tcp-{}-", &n.cluster_prefix[5..]))
    });
    if !others {
        world.resources.remove(&format!(
            "projects/{project}/global/healthChecks/{}",
            n.health_check
        ));
        world.resources.remove(&format!(
            "projects/{project}/global/firewalls/{}",
            n.health_check_firewall
        ));
    }
    Ok(())
}

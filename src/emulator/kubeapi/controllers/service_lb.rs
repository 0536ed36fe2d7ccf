//! Kubernetes' service controller for GKE internal LoadBalancer Services
//! (in GKE, ingress-gce's L4 controller): a Service of type LoadBalancer
//! whose `networking.gke.io/load-balancer-type` (or older
//! `cloud.google.com/load-balancer-type`) is `Internal` / `internal` gets a
//! load balancer from the cloud ([`LoadBalancers::ensure`]) after
//! [`LOAD_BALANCER_PROVISIONING`] (scaled): its address in
//! `status.loadBalancer.ingress`, the finalizer [`FINALIZER`] and the
//! annotations naming what was made. A change of the Service is applied
//! after the same delay. A Service being deleted, or no longer an internal
//! LoadBalancer, loses its load balancer after [`LOAD_BALANCER_TEARDOWN`],
//! and only then its finalizer.
//!
//! Its work queue is `Store::observed`: the resource version of each
//! Service it last acted on; a Service changed since is due at its change
//! time plus the delay.
//!
//! [`LoadBalancers::ensure`]: super::super::cloud::LoadBalancers::ensure

use std::time::Duration;

use serde_json::{json, Value};

use super::super::cloud::{
    LoadBalancerSpec, LoadBalancerStatus, LOAD_BALANCER_PROVISIONING, LOAD_BALANCER_TEARDOWN,
};
use super::super::finalizers;
use super::super::meta::meta_str;
use super::super::store::{key, Entry, Store};
use super::super::watch::Event;
use super::{At, InCluster};

/// The finalizer of GKE's L4 ILB controller (subsetting).
pub const FINALIZER: &str = "gke.networking.io/l4-ilb-v2";

/// The annotations GKE writes on the Service, naming what it made.
pub const ANNOTATIONS: &[&str] = &[
    "service.kubernetes.io/tcp-forwarding-rule",
    "service.kubernetes.io/backend-service",
    "service.kubernetes.io/firewall-rule",
    "service.kubernetes.io/healthcheck",
    "service.kubernetes.io/firewall-rule-for-hc",
];

const TYPE_ANNOTATIONS: &[&str] = &[
    "networking.gke.io/load-balancer-type",
    "cloud.google.com/load-balancer-type",
];

const GLOBAL_ACCESS: &str = "networking.gke.io/internal-load-balancer-allow-global-access";

/// Keeps internal LoadBalancer Services and their load balancers in step.
#[derive(Debug)]
pub struct ServiceLoadBalancers;

/// Whether `svc` asks for a GKE internal load balancer.
pub fn wants_internal_lb(svc: &Value) -> bool {
    svc["spec"]["type"] == "LoadBalancer"
        && TYPE_ANNOTATIONS.iter().any(|a| {
            matches!(
                svc["metadata"]["annotations"][*a].as_str(),
                Some("Internal" | "internal")
            )
        })
}

fn has_finalizer(svc: &Value) -> bool {
    finalizers::finalizers(svc).contains(&FINALIZER)
}

fn work_key(key: &str) -> String {
    format!("service-lb/{key}")
}

/// The Services this controller has yet to act on, with the moment each is due.
fn pending(store: &Store, latency_scale: f64) -> Vec<(u64, &str, &Entry)> {
    let scale = if latency_scale.is_finite() && latency_scale > 0.0 {
        latency_scale
    } else {
        0.0
    };
    store
        .objects
        .range("/services/".to_string()..)
        .take_while(|(k, _)| k.starts_with("/services/"))
        .filter(|(_, e)| wants_internal_lb(&e.object) || has_finalizer(&e.object))
        .filter(|(k, e)| {
            store.observed.get(&work_key(k)).map(String::as_str)
                != meta_str(&e.object, "resourceVersion")
        })
        .map(|(k, e)| {
            let removing = finalizers::is_deleting(&e.object) || !wants_internal_lb(&e.object);
            let delay: Duration = if removing {
                LOAD_BALANCER_TEARDOWN
            } else {
                LOAD_BALANCER_PROVISIONING
            };
            let due = e.changed_ms + delay.mul_f64(scale).as_millis() as u64;
            (due, k.as_str(), e)
        })
        .collect()
}

/// What the cloud needs to know of `svc`.
fn spec_of(store: &Store, svc: &Value) -> LoadBalancerSpec {
    let kube_system_uid = store
        .get(&key("/namespaces", None, "kube-system"))
        .and_then(|e| meta_str(&e.object, "uid"))
        .unwrap_or("")
        .to_string();
    let ports = svc["spec"]["ports"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|p| p["protocol"].as_str().unwrap_or("TCP") == "TCP")
        .filter_map(|p| p["port"].as_u64().and_then(|n| u16::try_from(n).ok()))
        .collect();
    let source_ranges = svc["spec"]["loadBalancerSourceRanges"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_string)
        .collect();
    LoadBalancerSpec {
        namespace: meta_str(svc, "namespace").unwrap_or("").to_string(),
        name: meta_str(svc, "name").unwrap_or("").to_string(),
        kube_system_uid,
        ports,
        source_ranges,
        global_access: svc["metadata"]["annotations"][GLOBAL_ACCESS].as_str() == Some("true"),
    }
}

/// `svc` showing `status` (or, without one, no load balancer at all).
fn show(svc: &Value, status: Option<&LoadBalancerStatus>) -> Value {
    let mut svc = svc.clone();
    let mut list: Vec<Value> = finalizers::finalizers(&svc)
        .into_iter()
        .filter(|f| *f != FINALIZER)
        .map(|f| json!(f))
        .collect();
    if status.is_some() {
        list.push(json!(FINALIZER));
    }
    let meta = &mut svc["metadata"];
    if list.is_empty() {
        if let Some(m) = meta.as_object_mut() {
            m.remove("finalizers");
        }
    } else {
        meta["finalizers"] = Value::Array(list);
    }
    if let Some(a) = meta["annotations"].as_object_mut() {
        for name in ANNOTATIONS {
            a.remove(*name);
        }
    }
    match status {
        Some(s) => {
            for (k, v) in &s.annotations {
                meta["annotations"][k] = json!(v);
            }
            svc["status"]["loadBalancer"] = json!({"ingress": [{"ip": s.ip, "ipMode": "VIP"}]});
        }
        None => svc["status"]["loadBalancer"] = json!({}),
    }
    svc
}

impl InCluster for ServiceLoadBalancers {
    fn name(&self) -> &'static str {
        "service-load-balancers"
    }

    fn next_due(&self, store: &Store, at: &At) -> Option<u64> {
        at.cloud.as_ref()?;
        pending(store, at.latency_scale)
            .into_iter()
            .map(|(due, _, _)| due)
            .filter(|due| *due > at.now_ms)
            .min()
    }

    fn reconcile(&self, store: &mut Store, at: &At) -> Vec<Event> {
        let Some(cloud) = at.cloud.as_ref() else {
            return Vec::new();
        };
        let Some(provider) = cloud.provider() else {
            return Vec::new();
        };
        let due: Vec<(String, Value)> = pending(store, at.latency_scale)
            .into_iter()
            .filter(|(due, _, _)| *due <= at.now_ms)
            .map(|(_, k, e)| (k.to_string(), e.object.clone()))
            .collect();
        let mut events = Vec::new();
        for (k, svc) in due {
            let spec = spec_of(store, &svc);
            let removing = finalizers::is_deleting(&svc) || !wants_internal_lb(&svc);
            let wanted = if removing {
                provider
                    .ensure_deleted(&cloud.key, &spec, at.now_ms)
                    .map(|()| None)
            } else {
                provider.ensure(&cloud.key, &spec, at.now_ms).map(Some)
            };
            let done = match wanted {
                Ok(status) => {
                    let shown = show(&svc, status.as_ref());
                    if shown == svc {
                        Vec::new()
                    } else {
                        store.write(&k, shown, at.now_ms)
                    }
                }
                Err(e) => {
                    tracing::warn!(service = %k, error = %e, "emulated GKE could not reconcile the load balancer");
                    Vec::new()
                }
            };
            events.extend(done);
            // Acted on this version (also after a failure: a later change retries).
            match store
                .get(&k)
                .and_then(|e| meta_str(&e.object, "resourceVersion"))
            {
                Some(rv) => {
                    let rv = rv.to_string();
                    store.observed.insert(work_key(&k), rv);
                }
                None => {
                    store.observed.remove(&work_key(&k));
                }
            }
        }
        events
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_internal_load_balancers_are_wanted_and_global_access_needs_exactly_true() {
        let svc = |t: &str, a: Value| json!({"metadata": {"name": "s", "namespace": "n", "annotations": a}, "spec": {"type": t, "ports": [{"port": 15443}, {"port": 53, "protocol": "UDP"}]}});
        assert!(wants_internal_lb(&svc(
            "LoadBalancer",
            json!({"networking.gke.io/load-balancer-type": "Internal"})
        )));
        assert!(wants_internal_lb(&svc(
            "LoadBalancer",
            json!({"cloud.google.com/load-balancer-type": "internal"})
        )));
        assert!(!wants_internal_lb(&svc(
            "ClusterIP",
            json!({"networking.gke.io/load-balancer-type": "Internal"})
        )));
        assert!(!wants_internal_lb(&svc("LoadBalancer", json!({}))));
        let store = Store::default();
        let on = spec_of(&store, &svc("LoadBalancer", json!({GLOBAL_ACCESS: "true"})));
        let off = spec_of(&store, &svc("LoadBalancer", json!({GLOBAL_ACCESS: "True"})));
        assert!(on.global_access && !off.global_access);
        assert_eq!(on.ports, [15443]);
    }
}

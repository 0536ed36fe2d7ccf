//! Defaulting as the real API server does it, for the kinds meshform and
//! its users apply: Services (cluster IP from the cluster's services range,
//! ports, node ports, traffic policies), Deployments and Pods (pod spec and
//! containers), Secrets (`type`), Namespaces (name label, `kubernetes`
//! finalizer, phase); CRDs get their `status`.
//!
//! Defaulting only fills what is absent, so applying it again changes
//! nothing; it runs after server-side apply merged the applied
//! configuration, so the applier never owns a defaulted field.

use std::collections::BTreeSet;
use std::net::Ipv4Addr;

use serde_json::{json, Map, Value};

use super::crd;
use super::meta::{self, meta_str};
use super::status::Failure;
use super::store::Store;

/// The first and last node port (`--service-node-port-range`).
pub const NODE_PORTS: (i64, i64) = (30000, 32767);

/// An IPv4 CIDR block: base address and prefix length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    /// The base address.
    pub base: u32,
    /// The prefix length (0–32).
    pub prefix: u8,
}

impl Cidr {
    /// Parses `a.b.c.d/n` (host bits are cleared).
    pub fn parse(s: &str) -> Option<Cidr> {
        let (addr, len) = s.trim().split_once('/')?;
        let addr: Ipv4Addr = addr.parse().ok()?;
        let prefix: u8 = len.parse().ok().filter(|p| *p <= 32)?;
        let mask = if prefix == 0 {
            0
        } else {
            u32::MAX << (32 - prefix)
        };
        Some(Cidr {
            base: u32::from(addr) & mask,
            prefix,
        })
    }

    /// The usable service addresses: all but the network and broadcast ones.
    fn hosts(&self) -> impl Iterator<Item = Ipv4Addr> {
        let size = 1u64 << (32 - self.prefix as u32);
        let base = self.base as u64;
        (1..size.saturating_sub(1)).map(move |i| Ipv4Addr::from((base + i) as u32))
    }

    /// The first usable address (the `kubernetes` Service's).
    pub fn first_host(&self) -> Ipv4Addr {
        self.hosts()
            .next()
            .unwrap_or_else(|| Ipv4Addr::from(self.base))
    }

    /// Whether `ip` lies in the block.
    pub fn contains(&self, ip: Ipv4Addr) -> bool {
        let mask = if self.prefix == 0 {
            0
        } else {
            u32::MAX << (32 - self.prefix)
        };
        u32::from(ip) & mask == self.base
    }
}

impl std::fmt::Display for Cidr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", Ipv4Addr::from(self.base), self.prefix)
    }
}

/// What defaulting needs from the cluster: its services range, and the
/// stored objects (to allocate addresses and node ports not yet taken).
#[derive(Debug)]
pub struct Context<'a> {
    /// The cluster's services range.
    pub services: Cidr,
    /// The cluster's objects.
    pub store: &'a Store,
    /// `now` as an RFC 3339 timestamp (CRD conditions).
    pub now: &'a str,
    /// The stored version of the object, on updates: as the real server's
    /// `patchAllocatedValues`, an update that leaves out the cluster IP or a
    /// node port keeps the allocated one.
    pub old: Option<&'a Value>,
}

/// Fills the defaults of an object of `group`/`plural`.
///
/// # Errors
/// 422 when no cluster IP or node port is left, or a requested one is
/// outside the range.
pub fn apply(
    group: &str,
    plural: &str,
    object: &mut Value,
    ctx: &Context<'_>,
) -> Result<(), Failure> {
    match (group, plural) {
        ("", "namespaces") => namespace(object),
        ("", "services") => service(object, ctx)?,
        ("", "secrets") => secret(object),
        ("", "pods") => {
            if let Some(spec) = object.get_mut("spec") {
                pod_spec(spec);
            }
        }
        ("apps", "deployments") => deployment(object),
        ("apiextensions.k8s.io", "customresourcedefinitions") => {
            if object.get("status").is_none() {
                object["status"] = crd::status(object, ctx.now);
            } else {
                object["status"]["acceptedNames"] = object["spec"]["names"].clone();
            }
        }
        _ => {}
    }
    Ok(())
}

/// Sets `map[key]` to `value` when absent or null.
fn fill(map: &mut Map<String, Value>, key: &str, value: Value) {
    if map.get(key).is_none_or(Value::is_null) {
        map.insert(key.to_string(), value);
    }
}

/// `object[key]` as a map, created when absent.
fn child<'a>(object: &'a mut Value, key: &str) -> Option<&'a mut Map<String, Value>> {
    let map = object.as_object_mut()?;
    let entry = map.entry(key).or_insert_with(|| json!({}));
    if entry.is_null() {
        *entry = json!({});
    }
    entry.as_object_mut()
}

fn namespace(object: &mut Value) {
    let name = meta_str(object, "name").unwrap_or("").to_string();
    let m = meta::metadata_mut(object);
    let labels = m.entry("labels").or_insert_with(|| json!({}));
    if !labels.is_object() {
        *labels = json!({});
    }
    labels["kubernetes.io/metadata.name"] = json!(name);
    if let Some(spec) = child(object, "spec") {
        fill(spec, "finalizers", json!(["kubernetes"]));
    }
    if object.get("status").is_none() {
        object["status"] = json!({"phase": "Active"});
    }
}

/// `type: Opaque`, and `stringData` written into `data` (base64), as the
/// real server stores it.
fn secret(object: &mut Value) {
    use base64::Engine as _;
    if object.get("type").is_none_or(Value::is_null) {
        object["type"] = json!("Opaque");
    }
    let Some(string_data) = object.as_object_mut().and_then(|m| m.remove("stringData")) else {
        return;
    };
    if let (Some(strings), Some(data)) = (string_data.as_object(), child(object, "data")) {
        for (k, v) in strings {
            let text = v.as_str().unwrap_or("");
            data.insert(
                k.clone(),
                json!(base64::engine::general_purpose::STANDARD.encode(text)),
            );
        }
    }
}

fn service(object: &mut Value, ctx: &Context<'_>) -> Result<(), Failure> {
    let name = meta_str(object, "name").unwrap_or("").to_string();
    let namespace = meta_str(object, "namespace").unwrap_or("").to_string();
    let Some(spec) = child(object, "spec") else {
        return Ok(());
    };
    fill(spec, "type", json!("ClusterIP"));
    let kind = spec["type"].as_str().unwrap_or("ClusterIP").to_string();
    fill(spec, "sessionAffinity", json!("None"));
    if kind != "ExternalName" {
        let ip = match spec.get("clusterIP").and_then(Value::as_str) {
            Some(ip) if !ip.is_empty() => {
                let unchanged = ctx.old.and_then(|o| o["spec"]["clusterIP"].as_str()) == Some(ip);
                if ip != "None" && !unchanged {
                    check_requested_ip(ip, ctx, &name, &namespace)?;
                }
                ip.to_string()
            }
            _ => match ctx.old.and_then(|o| o["spec"]["clusterIP"].as_str()) {
                Some(kept) if !kept.is_empty() => kept.to_string(),
                _ => allocate_ip(ctx)?.to_string(),
            },
        };
        spec.insert("clusterIP".into(), json!(ip));
        fill(spec, "clusterIPs", json!([ip]));
        fill(spec, "ipFamilies", json!(["IPv4"]));
        fill(spec, "ipFamilyPolicy", json!("SingleStack"));
        fill(spec, "internalTrafficPolicy", json!("Cluster"));
    }
    let node_ports = kind == "NodePort" || kind == "LoadBalancer";
    if node_ports {
        fill(spec, "externalTrafficPolicy", json!("Cluster"));
    }
    if kind == "LoadBalancer" {
        fill(spec, "allocateLoadBalancerNodePorts", json!(true));
    }
    let allocate_node_ports = node_ports
        && spec
            .get("allocateLoadBalancerNodePorts")
            .and_then(Value::as_bool)
            .unwrap_or(true);
    let mut taken = used_node_ports(ctx.store, &namespace, &name);
    if let Some(ports) = spec.get_mut("ports").and_then(Value::as_array_mut) {
        for port in ports.iter_mut().filter_map(Value::as_object_mut) {
            fill(port, "protocol", json!("TCP"));
            if let Some(p) = port.get("port").cloned() {
                fill(port, "targetPort", p);
            }
            if allocate_node_ports && port.get("nodePort").is_none_or(Value::is_null) {
                let kept = ctx
                    .old
                    .and_then(|o| o["spec"]["ports"].as_array())
                    .and_then(|old| {
                        old.iter().find(|p| {
                            p["port"] == port["port"]
                                && p["protocol"].as_str().unwrap_or("TCP")
                                    == port["protocol"].as_str().unwrap_or("TCP")
                        })
                    })
                    .and_then(|p| p["nodePort"].as_i64());
                if let Some(kept) = kept {
                    port.insert("nodePort".into(), json!(kept));
                    continue;
                }
                let free = (NODE_PORTS.0..=NODE_PORTS.1)
                    .find(|p| !taken.contains(p))
                    .ok_or_else(|| {
                        Failure::invalid(format!(
                            "Service \"{name}\" is invalid: spec.ports[0].nodePort: Internal error: range is full"
                        ))
                    })?;
                taken.insert(free);
                port.insert("nodePort".into(), json!(free));
            }
        }
    }
    if object.get("status").is_none() {
        object["status"] = json!({"loadBalancer": {}});
    }
    Ok(())
}

fn check_requested_ip(ip: &str, ctx: &Context<'_>, name: &str, ns: &str) -> Result<(), Failure> {
    let invalid = |why: &str| {
        Failure::invalid(format!(
            "Service \"{name}\" is invalid: spec.clusterIPs: Invalid value: []string{{\"{ip}\"}}: {why}"
        ))
    };
    let addr: Ipv4Addr = ip
        .parse()
        .map_err(|_| invalid("must be a valid IP address"))?;
    if !ctx.services.contains(addr) {
        return Err(invalid(&format!(
            "failed to allocate IP {ip}: the provided IP ({ip}) is not in the valid range. The range of valid IPs is {}",
            ctx.services
        )));
    }
    let taken = ctx.store.list("/services", None).into_iter().any(|e| {
        e.object["spec"]["clusterIP"].as_str() == Some(ip)
            && (meta_str(&e.object, "name") != Some(name)
                || meta_str(&e.object, "namespace") != Some(ns))
    });
    if taken {
        return Err(invalid(&format!(
            "failed to allocate IP {ip}: provided IP is already allocated"
        )));
    }
    Ok(())
}

fn allocate_ip(ctx: &Context<'_>) -> Result<Ipv4Addr, Failure> {
    let used: BTreeSet<String> = ctx
        .store
        .list("/services", None)
        .into_iter()
        .filter_map(|e| e.object["spec"]["clusterIP"].as_str().map(str::to_string))
        .collect();
    ctx.services
        .hosts()
        .find(|ip| !used.contains(&ip.to_string()))
        .ok_or_else(|| {
            Failure::internal(format!(
                "failed to allocate a serviceIP: range is full ({})",
                ctx.services
            ))
        })
}

fn used_node_ports(store: &Store, namespace: &str, name: &str) -> BTreeSet<i64> {
    store
        .list("/services", None)
        .into_iter()
        .filter(|e| {
            meta_str(&e.object, "name") != Some(name)
                || meta_str(&e.object, "namespace") != Some(namespace)
        })
        .flat_map(|e| {
            e.object["spec"]["ports"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .filter_map(|p| p["nodePort"].as_i64())
        .collect()
}

fn deployment(object: &mut Value) {
    let Some(spec) = child(object, "spec") else {
        return;
    };
    fill(spec, "replicas", json!(1));
    fill(spec, "revisionHistoryLimit", json!(10));
    fill(spec, "progressDeadlineSeconds", json!(600));
    let strategy = spec.entry("strategy").or_insert_with(|| json!({}));
    if let Some(s) = strategy.as_object_mut() {
        fill(s, "type", json!("RollingUpdate"));
        if s["type"] == "RollingUpdate" {
            let rolling = s.entry("rollingUpdate").or_insert_with(|| json!({}));
            if let Some(r) = rolling.as_object_mut() {
                fill(r, "maxUnavailable", json!("25%"));
                fill(r, "maxSurge", json!("25%"));
            }
        }
    }
    if let Some(pod) = spec.get_mut("template").and_then(|t| t.get_mut("spec")) {
        pod_spec(pod);
    }
}

fn pod_spec(spec: &mut Value) {
    let Some(map) = spec.as_object_mut() else {
        return;
    };
    fill(map, "restartPolicy", json!("Always"));
    fill(map, "terminationGracePeriodSeconds", json!(30));
    fill(map, "dnsPolicy", json!("ClusterFirst"));
    fill(map, "schedulerName", json!("default-scheduler"));
    fill(map, "securityContext", json!({}));
    for list in ["containers", "initContainers"] {
        if let Some(containers) = map.get_mut(list).and_then(Value::as_array_mut) {
            for c in containers.iter_mut().filter_map(Value::as_object_mut) {
                container(c);
            }
        }
    }
}

fn container(c: &mut Map<String, Value>) {
    fill(c, "terminationMessagePath", json!("/dev/termination-log"));
    fill(c, "terminationMessagePolicy", json!("File"));
    let image = c.get("image").and_then(Value::as_str).unwrap_or("");
    fill(c, "imagePullPolicy", json!(pull_policy(image)));
    if let Some(ports) = c.get_mut("ports").and_then(Value::as_array_mut) {
        for p in ports.iter_mut().filter_map(Value::as_object_mut) {
            fill(p, "protocol", json!("TCP"));
        }
    }
}

/// `Always` for `:latest` or an image without tag or digest, else `IfNotPresent`.
pub fn pull_policy(image: &str) -> &'static str {
    if image.contains('@') {
        return "IfNotPresent";
    }
    let last = image.rsplit('/').next().unwrap_or(image);
    match last.split_once(':') {
        Some((_, "latest")) | None => "Always",
        Some(_) => "IfNotPresent",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(store: &Store) -> Context<'_> {
        Context {
            services: Cidr::parse("10.96.0.0/24").unwrap(),
            store,
            now: "t",
            old: None,
        }
    }

    #[test]
    fn a_minimal_load_balancer_service_gets_what_the_api_server_fills() {
        let store = Store::default();
        let mut svc = json!({"metadata": {"name": "gw", "namespace": "d"},
            "spec": {"type": "LoadBalancer", "selector": {"a": "b"}, "ports": [{"port": 80}]}});
        apply("", "services", &mut svc, &ctx(&store)).unwrap();
        let spec = &svc["spec"];
        assert_eq!(spec["clusterIP"], "10.96.0.1");
        assert_eq!(spec["clusterIPs"], json!(["10.96.0.1"]));
        assert_eq!(spec["ports"][0]["protocol"], "TCP");
        assert_eq!(spec["ports"][0]["targetPort"], 80);
        assert_eq!(spec["ports"][0]["nodePort"], 30000);
        assert_eq!(spec["sessionAffinity"], "None");
        assert_eq!(spec["ipFamilyPolicy"], "SingleStack");
        assert_eq!(spec["externalTrafficPolicy"], "Cluster");
        assert_eq!(spec["allocateLoadBalancerNodePorts"], true);
        let again = svc.clone();
        apply("", "services", &mut svc, &ctx(&store)).unwrap();
        assert_eq!(svc, again, "defaulting is idempotent");
    }

    #[test]
    fn secrets_are_opaque_and_store_string_data_as_data() {
        let store = Store::default();
        let mut s = json!({"stringData": {"a": "b"}, "data": {"c": "ZA=="}});
        apply("", "secrets", &mut s, &ctx(&store)).unwrap();
        assert_eq!(
            s,
            json!({"type": "Opaque", "data": {"a": "Yg==", "c": "ZA=="}})
        );
    }

    #[test]
    fn an_update_without_cluster_ip_or_node_port_keeps_the_allocated_ones() {
        let store = Store::default();
        let old = json!({"spec": {"type": "LoadBalancer", "clusterIP": "10.96.0.9",
            "ports": [{"port": 80, "protocol": "TCP", "nodePort": 31999}]}});
        let mut new = json!({"spec": {"type": "LoadBalancer", "ports": [{"port": 80}]}});
        let ctx = Context {
            old: Some(&old),
            ..ctx(&store)
        };
        apply("", "services", &mut new, &ctx).unwrap();
        assert_eq!(new["spec"]["clusterIP"], "10.96.0.9");
        assert_eq!(new["spec"]["ports"][0]["nodePort"], 31999);
    }

    #[test]
    fn a_cluster_ip_outside_the_range_is_invalid() {
        let store = Store::default();
        let mut svc = json!({"metadata": {"name": "x"}, "spec": {"clusterIP": "10.0.0.5"}});
        assert_eq!(
            apply("", "services", &mut svc, &ctx(&store))
                .unwrap_err()
                .code,
            422
        );
    }

    #[test]
    fn deployments_get_pod_template_defaults() {
        let store = Store::default();
        let mut d = json!({"spec": {"template": {"spec": {"containers": [
            {"name": "a", "image": "nginx", "ports": [{"containerPort": 80}]},
            {"name": "b", "image": "reg.io:5000/x/istio:1.24"}]}}}});
        apply("apps", "deployments", &mut d, &ctx(&store)).unwrap();
        assert_eq!(d["spec"]["replicas"], 1);
        assert_eq!(d["spec"]["strategy"]["rollingUpdate"]["maxSurge"], "25%");
        let pod = &d["spec"]["template"]["spec"];
        assert_eq!(pod["dnsPolicy"], "ClusterFirst");
        assert_eq!(pod["containers"][0]["imagePullPolicy"], "Always");
        assert_eq!(pod["containers"][1]["imagePullPolicy"], "IfNotPresent");
        assert_eq!(pod["containers"][0]["ports"][0]["protocol"], "TCP");
    }
}

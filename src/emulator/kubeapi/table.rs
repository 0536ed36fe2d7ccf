//! The `Table` response (`Accept: application/json;as=Table;v=v1;g=meta.k8s.io`)
//! that `kubectl get` asks for, with each kind's usual columns.

use serde_json::{json, Value};

use super::meta;
use super::resources::ResourceType;

/// Whether the `Accept` header asks for a `meta.k8s.io` Table.
pub fn wanted(accept: &str) -> bool {
    accept.split(',').any(|media| {
        let parts: Vec<&str> = media.split(';').map(str::trim).collect();
        parts.contains(&"as=Table")
            && parts.contains(&"g=meta.k8s.io")
            && parts.iter().any(|p| *p == "v=v1" || *p == "v=v1beta1")
    })
}

/// `(name, type, format, description, priority)` of one column.
type Column = (&'static str, &'static str, &'static str, &'static str, u8);

const NAME: Column = (
    "Name",
    "string",
    "name",
    "Name must be unique within a namespace.",
    0,
);
const AGE: Column = (
    "Age",
    "string",
    "",
    "CreationTimestamp is a timestamp representing the server time when this object was created.",
    0,
);

fn columns(rt: &ResourceType) -> Vec<Column> {
    match (rt.group.as_str(), rt.plural.as_str()) {
        ("", "namespaces") => vec![
            NAME,
            ("Status", "string", "", "The status of the namespace", 0),
            AGE,
        ],
        ("", "services") => vec![
            NAME,
            ("Type", "string", "", "Type of the service.", 0),
            ("Cluster-IP", "string", "", "Cluster IP of the service.", 0),
            ("External-IP", "string", "", "External IP of the service.", 0),
            ("Port(s)", "string", "", "Ports of the service.", 0),
            AGE,
            ("Selector", "string", "", "Selector of the service.", 1),
        ],
        ("apps", "deployments") => vec![
            NAME,
            ("Ready", "string", "", "Number of the pod with ready state", 0),
            ("Up-to-date", "string", "", "Total number of non-terminated pods targeted by this deployment that have the desired template spec.", 0),
            ("Available", "string", "", "Total number of available pods (ready for at least minReadySeconds) targeted by this deployment.", 0),
            AGE,
            ("Containers", "string", "", "Names of each container in the template.", 1),
            ("Images", "string", "", "Images referenced by each container in the template.", 1),
            ("Selector", "string", "", "Label selector for pods.", 1),
        ],
        ("", "secrets") => vec![
            NAME,
            ("Type", "string", "", "The type of the secret", 0),
            ("Data", "string", "", "The number of data in the secret", 0),
            AGE,
        ],
        ("", "configmaps") => vec![
            NAME,
            ("Data", "string", "", "Number of data in configmap", 0),
            AGE,
        ],
        ("", "serviceaccounts") => vec![
            NAME,
            ("Secrets", "string", "", "Number of secrets in the service account", 0),
            AGE,
        ],
        ("apiextensions.k8s.io", "customresourcedefinitions") => vec![
            NAME,
            ("Created At", "date", "", "CreationTimestamp of the object.", 0),
        ],
        _ => vec![NAME, AGE],
    }
}

/// Kubernetes' `duration.HumanDuration` of the time since `creation`.
pub fn age(creation: Option<&str>, now_ms: u64) -> String {
    let Some(created) = creation.and_then(|c| humantime::parse_rfc3339(c).ok()) else {
        return "<unknown>".into();
    };
    let created_ms = created
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    let secs = now_ms.saturating_sub(created_ms) / 1000;
    let (m, h, d) = (secs / 60, secs / 3600, secs / 86400);
    match secs {
        s if s < 120 => format!("{s}s"),
        _ if m < 10 => match secs % 60 {
            0 => format!("{m}m"),
            s => format!("{m}m{s}s"),
        },
        _ if m < 180 => format!("{m}m"),
        _ if h < 8 => match m % 60 {
            0 => format!("{h}h"),
            r => format!("{h}h{r}m"),
        },
        _ if h < 48 => format!("{h}h"),
        _ if h < 192 => match h % 24 {
            0 => format!("{d}d"),
            r => format!("{d}d{r}h"),
        },
        _ if d < 730 => format!("{d}d"),
        _ if d < 2920 => match d % 365 {
            0 => format!("{}y", d / 365),
            r => format!("{}y{r}d", d / 365),
        },
        _ => format!("{}y", d / 365),
    }
}

fn count(v: &Value) -> usize {
    v.as_object()
        .map(|m| m.len())
        .or_else(|| v.as_array().map(Vec::len))
        .unwrap_or(0)
}

fn ports(spec: &Value) -> String {
    let list: Vec<String> = spec["ports"]
        .as_array()
        .map(|ps| {
            ps.iter()
                .map(|p| {
                    let proto = p["protocol"].as_str().unwrap_or("TCP");
                    match p["nodePort"].as_i64() {
                        Some(n) => format!("{}:{n}/{proto}", p["port"]),
                        None => format!("{}/{proto}", p["port"]),
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    if list.is_empty() {
        "<none>".into()
    } else {
        list.join(",")
    }
}

fn external_ip(object: &Value) -> String {
    let spec = &object["spec"];
    let kind = spec["type"].as_str().unwrap_or("ClusterIP");
    let mut ips: Vec<String> = spec["externalIPs"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    match kind {
        "ExternalName" => return spec["externalName"].as_str().unwrap_or("").to_string(),
        "LoadBalancer" => {
            if let Some(ingress) = object["status"]["loadBalancer"]["ingress"].as_array() {
                ips.extend(ingress.iter().filter_map(|i| {
                    i["ip"]
                        .as_str()
                        .or_else(|| i["hostname"].as_str())
                        .map(str::to_string)
                }));
            }
            if ips.is_empty() {
                return "<pending>".into();
            }
        }
        _ => {}
    }
    if ips.is_empty() {
        "<none>".into()
    } else {
        ips.join(",")
    }
}

fn selector(map: &Value) -> String {
    match map.as_object() {
        Some(m) if !m.is_empty() => m
            .iter()
            .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("")))
            .collect::<Vec<_>>()
            .join(","),
        _ => "<none>".into(),
    }
}

fn cells(rt: &ResourceType, o: &Value, now_ms: u64) -> Vec<Value> {
    let name = json!(meta::meta_str(o, "name").unwrap_or(""));
    let age = json!(age(meta::meta_str(o, "creationTimestamp"), now_ms));
    let num = |v: &Value| v.as_i64().unwrap_or(0);
    match (rt.group.as_str(), rt.plural.as_str()) {
        ("", "namespaces") => vec![
            name,
            json!(o["status"]["phase"].as_str().unwrap_or("Active")),
            age,
        ],
        ("", "services") => {
            let spec = &o["spec"];
            vec![
                name,
                json!(spec["type"].as_str().unwrap_or("ClusterIP")),
                json!(spec["clusterIP"].as_str().unwrap_or("<none>")),
                json!(external_ip(o)),
                json!(ports(spec)),
                age,
                json!(selector(&spec["selector"])),
            ]
        }
        ("apps", "deployments") => {
            let (spec, status) = (&o["spec"], &o["status"]);
            let containers = spec["template"]["spec"]["containers"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            let join = |f: &str| {
                containers
                    .iter()
                    .map(|c| c[f].as_str().unwrap_or("").to_string())
                    .collect::<Vec<_>>()
                    .join(",")
            };
            vec![
                name,
                json!(format!(
                    "{}/{}",
                    num(&status["readyReplicas"]),
                    spec["replicas"].as_i64().unwrap_or(1)
                )),
                json!(num(&status["updatedReplicas"])),
                json!(num(&status["availableReplicas"])),
                age,
                json!(join("name")),
                json!(join("image")),
                json!(selector(&spec["selector"]["matchLabels"])),
            ]
        }
        ("", "secrets") => vec![
            name,
            json!(o["type"].as_str().unwrap_or("Opaque")),
            json!(count(&o["data"]) + count(&o["stringData"])),
            age,
        ],
        ("", "configmaps") => vec![
            name,
            json!(count(&o["data"]) + count(&o["binaryData"])),
            age,
        ],
        ("", "serviceaccounts") => vec![name, json!(count(&o["secrets"])), age],
        ("apiextensions.k8s.io", "customresourcedefinitions") => {
            vec![
                name,
                json!(meta::meta_str(o, "creationTimestamp").unwrap_or("")),
            ]
        }
        _ => vec![name, age],
    }
}

/// The row object for `includeObject`: the object, its metadata, or none.
fn row_object(object: &Value, include: &str) -> Option<Value> {
    match include {
        "None" => None,
        "Object" => Some(object.clone()),
        _ => Some(json!({
            "kind": "PartialObjectMetadata",
            "apiVersion": "meta.k8s.io/v1",
            "metadata": object["metadata"],
        })),
    }
}

/// A `meta.k8s.io/v1` Table of `objects` (already presented).
pub fn table(
    rt: &ResourceType,
    objects: &[Value],
    include: &str,
    resource_version: &str,
    now_ms: u64,
) -> Value {
    let column_definitions: Vec<Value> = columns(rt)
        .into_iter()
        .map(|(name, ty, format, description, priority)| {
            json!({"name": name, "type": ty, "format": format,
                   "description": description, "priority": priority})
        })
        .collect();
    let rows: Vec<Value> = objects
        .iter()
        .map(|o| {
            let mut row = json!({"cells": cells(rt, o, now_ms)});
            if let Some(obj) = row_object(o, include) {
                row["object"] = obj;
            }
            row
        })
        .collect();
    json!({
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {"resourceVersion": resource_version},
        "columnDefinitions": column_definitions,
        "rows": rows,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::emulator::kubeapi::resources::{built_in, find};

    #[test]
    fn kubectl_accept_header_is_recognised() {
        assert!(wanted("application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json"));
        assert!(!wanted("application/json"));
    }

    #[test]
    fn services_show_type_ips_and_ports() {
        let types = built_in();
        let rt = find(&types, "", "v1", "services").unwrap();
        let svc = json!({"metadata": {"name": "gw", "creationTimestamp": "1970-01-01T00:00:00Z"},
            "spec": {"type": "LoadBalancer", "clusterIP": "10.96.0.7",
                     "ports": [{"port": 15443, "nodePort": 31234, "protocol": "TCP"}]},
            "status": {"loadBalancer": {}}});
        let t = table(rt, &[svc], "Object", "5", 90_000);
        let cells = &t["rows"][0]["cells"];
        assert_eq!(cells[1], "LoadBalancer");
        assert_eq!(cells[2], "10.96.0.7");
        assert_eq!(cells[3], "<pending>");
        assert_eq!(cells[4], "15443:31234/TCP");
        assert_eq!(cells[5], "90s");
        assert_eq!(t["rows"][0]["object"]["metadata"]["name"], "gw");
    }

    #[test]
    fn ages_read_like_kubectl() {
        let at = |s: u64| age(Some("1970-01-01T00:00:00Z"), s * 1000);
        assert_eq!(at(5), "5s");
        assert_eq!(at(185), "3m5s");
        assert_eq!(at(3600), "60m");
        assert_eq!(at(4 * 3600 + 60), "4h1m");
        assert_eq!(at(3 * 86400), "3d");
    }
}

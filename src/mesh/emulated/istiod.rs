//! istiod itself: its Deployment (`istiod[-<rev>]`, image
//! `<hub>/pilot:<tag>`, `CLUSTER_ID` = the cluster's name in the mesh, the
//! plugged-in CA mounted from the optional Secret `cacerts` at
//! `/etc/cacerts`) and its Service (xDS 15010, xDS over TLS 15012, the
//! webhooks on 443 → 15017, monitoring 15014).
//!
//! As in Istio's chart, istiod gets no network in its environment: it
//! learns its own from the `topology.istio.io/network` label of
//! `istio-system`, and the proxies get theirs from the injector (see
//! `config.rs`).

use serde_json::{json, Value};

use super::labels::{metadata, Component};
use super::overlay::{Overlay, NAMESPACE};

/// The Pod labels the Service and the Deployment select: `app: istiod`
/// with the revision, or `istio: pilot` for the default revision.
fn selector(o: &Overlay) -> Value {
    match &o.revision {
        Some(r) => json!({"app": "istiod", "istio.io/rev": r}),
        None => json!({"istio": "pilot"}),
    }
}

fn field_env(name: &str, path: &str) -> Value {
    json!({"name": name, "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": path}}})
}

fn env(o: &Overlay) -> Vec<Value> {
    let value = |name: &str, value: &str| json!({"name": name, "value": value});
    vec![
        value("REVISION", o.rev_label()),
        value("PILOT_CERT_PROVIDER", "istiod"),
        field_env("POD_NAME", "metadata.name"),
        field_env("POD_NAMESPACE", "metadata.namespace"),
        field_env("SERVICE_ACCOUNT", "spec.serviceAccountName"),
        value("KUBECONFIG", "/var/run/secrets/remote/config"),
        value("PILOT_ENABLE_ANALYSIS", "false"),
        value("CLUSTER_ID", &o.cluster_name),
    ]
}

fn deployment(o: &Overlay) -> Value {
    let name = o.istiod();
    let labels = json!({"app": "istiod", "istio": "pilot", "app.kubernetes.io/name": "istiod"});
    let mut pod_labels = json!({
        "app": "istiod",
        "istio.io/rev": o.rev_label(),
        "istio": if o.revision.is_some() { "istiod" } else { "pilot" },
        "sidecar.istio.io/inject": "false",
    });
    if let (Some(p), Some(s)) = (pod_labels.as_object_mut(), selector(o).as_object()) {
        p.extend(s.clone());
    }
    let port = |n: u16, name: &str| json!({"containerPort": n, "name": name, "protocol": "TCP"});
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": metadata(o, &name, Some(NAMESPACE), Component::Pilot, labels),
        "spec": {
            "replicas": 1,
            "strategy": {"rollingUpdate": {"maxSurge": "100%", "maxUnavailable": "25%"}},
            "selector": {"matchLabels": selector(o)},
            "template": {
                "metadata": {
                    "labels": pod_labels,
                    "annotations": {"prometheus.io/port": "15014", "prometheus.io/scrape": "true",
                                    "sidecar.istio.io/inject": "false"},
                },
                "spec": {
                    "serviceAccountName": name,
                    "containers": [{
                        "name": "discovery",
                        "image": o.pilot_image(),
                        "args": ["discovery", "--monitoringAddr=:15014",
                                 "--log_output_level=default:info", "--domain", "cluster.local",
                                 "--keepaliveMaxServerConnectionAge", "30m"],
                        "ports": [port(8080, "http-debug"), port(15010, "grpc-xds"),
                                  port(15012, "tls-xds"), port(15017, "https-webhooks"),
                                  port(15014, "http-monitoring")],
                        "readinessProbe": {
                            "httpGet": {"path": "/ready", "port": 8080},
                            "initialDelaySeconds": 1, "periodSeconds": 3, "timeoutSeconds": 5,
                        },
                        "env": env(o),
                        "resources": {"requests": {"cpu": "500m", "memory": "2048Mi"}},
                        "volumeMounts": [
                            {"name": "istio-token", "mountPath": "/var/run/secrets/tokens", "readOnly": true},
                            {"name": "local-certs", "mountPath": "/var/run/secrets/istio-dns"},
                            {"name": "cacerts", "mountPath": "/etc/cacerts", "readOnly": true},
                            {"name": "istio-kubeconfig", "mountPath": "/var/run/secrets/remote", "readOnly": true},
                        ],
                    }],
                    "volumes": [
                        {"name": "local-certs", "emptyDir": {"medium": "Memory"}},
                        {"name": "istio-token", "projected": {"sources": [{"serviceAccountToken": {
                            "audience": "istio-ca", "expirationSeconds": 43200, "path": "istio-token"}}]}},
                        {"name": "cacerts", "secret": {"secretName": "cacerts", "optional": true}},
                        {"name": "istio-kubeconfig", "secret": {"secretName": "istio-kubeconfig", "optional": true}},
                    ],
                },
            },
        },
    })
}

fn service(o: &Overlay) -> Value {
    let port = |n: u16, name: &str, target: u16| json!({"port": n, "name": name, "targetPort": target, "protocol": "TCP"});
    let mut selected = selector(o);
    selected["app"] = json!("istiod");
    json!({
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": metadata(o, &o.istiod(), Some(NAMESPACE), Component::Pilot,
                             json!({"app": "istiod", "istio": "pilot"})),
        "spec": {
            "ports": [port(15010, "grpc-xds", 15010), port(15012, "https-dns", 15012),
                      port(443, "https-webhook", 15017), port(15014, "http-monitoring", 15014)],
            "selector": selected,
        },
    })
}

/// The Service and the Deployment of istiod.
pub fn render(o: &Overlay) -> Vec<Value> {
    vec![service(o), deployment(o)]
}

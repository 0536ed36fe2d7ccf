//! An emulated GKE cluster with a Kubernetes client, and internal
//! LoadBalancer Services on it.

use std::time::Duration;

use k8s_openapi::api::core::v1::Service;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::Api;
use meshform::emulator::kubeapi::KubeEndpoint;
use serde_json::{json, Value};

/// Creates the private cluster `c1` in europe-west2-a on network `vpc`,
/// subnet `eu` (with secondary ranges `pods` and `services`) over raw
/// HTTP, waits until it runs, and returns it with a client of its API.
pub async fn cluster(base: &str, project: &str) -> (Value, kube::Client) {
    let http = reqwest::Client::new();
    let url = format!("{base}/v1/projects/{project}/locations/europe-west2-a/clusters");
    let body = json!({"cluster": {"name": "c1", "network": "vpc", "subnetwork": "eu",
        "initialNodeCount": 1,
        "ipAllocationPolicy": {"useIpAliases": true, "clusterSecondaryRangeName": "pods",
                               "servicesSecondaryRangeName": "services"},
        "privateClusterConfig": {"enablePrivateNodes": true, "masterIpv4CidrBlock": "172.16.0.32/28"}}});
    let resp = http.post(&url).json(&body).send().await.expect("create");
    assert_eq!(
        resp.status().as_u16(),
        200,
        "{}",
        resp.text().await.unwrap_or_default()
    );
    let mut found = Value::Null;
    for _ in 0..500 {
        let c: Value = http
            .get(format!("{url}/c1"))
            .send()
            .await
            .expect("get")
            .json()
            .await
            .expect("json");
        if c["status"] == "RUNNING" {
            found = c;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(found["status"], "RUNNING");
    use base64::Engine as _;
    let ca = base64::engine::general_purpose::STANDARD
        .decode(
            found["masterAuth"]["clusterCaCertificate"]
                .as_str()
                .expect("ca"),
        )
        .expect("base64");
    let endpoint = KubeEndpoint {
        address: found["endpoint"].as_str().expect("endpoint").to_string(),
        ca_pem: String::from_utf8(ca).expect("pem"),
    };
    let _ = tokio_rustls::rustls::crypto::ring::default_provider().install_default();
    let mut config = kube::Config::new(endpoint.url().parse().expect("url"));
    config.root_cert = Some(vec![endpoint.ca_der().expect("der")]);
    config.auth_info = serde_json::from_value(json!({"token": "ya29.test"})).expect("auth");
    (found, kube::Client::try_from(config).expect("client"))
}

/// Service `name` of type LoadBalancer, internal, with the global-access
/// annotation `global_access`, source ranges `ranges`, ports 15443 and 15021.
pub fn internal_lb_service(name: &str, global_access: &str, ranges: Value) -> Service {
    serde_json::from_value(json!({
        "metadata": {"name": name, "annotations": {
            "networking.gke.io/load-balancer-type": "Internal",
            "networking.gke.io/internal-load-balancer-allow-global-access": global_access}},
        "spec": {"type": "LoadBalancer", "selector": {"app": name},
                 "loadBalancerSourceRanges": ranges,
                 "ports": [{"name": "tls", "port": 15443}, {"name": "status-port", "port": 15021}]}
    }))
    .expect("service")
}

/// Waits (up to 10 s) until Service `name` shows a load balancer address;
/// returns it with the Service's metadata then.
pub async fn eventually_ingress(services: &Api<Service>, name: &str) -> (String, ObjectMeta) {
    for _ in 0..500 {
        let s = services.get(name).await.expect("get service");
        let ip = s
            .status
            .and_then(|st| st.load_balancer)
            .and_then(|lb| lb.ingress)
            .and_then(|i| i.first().and_then(|i| i.ip.clone()));
        if let Some(ip) = ip {
            return (ip, s.metadata);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("Service {name} got no load balancer address");
}

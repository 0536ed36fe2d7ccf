//! What the tests of this binary share: an emulator, the official clients,
//! request bodies, and raw HTTP.

use google_cloud_compute_v1::client::{
    Firewalls, GlobalOperations, Networks, RegionOperations, Routers, Subnetworks,
};
use google_cloud_compute_v1::model;
use google_cloud_gax::error::rpc::Code;
use meshform::emulator::{Emulator, EmulatorConfig};
use serde_json::Value;

use crate::common::listen;

/// The project every test works in.
pub const PROJECT: &str = "demo-project";

/// An emulator on loopback over `dir`, with latencies scaled to 0.1 %.
pub async fn start(dir: &tempfile::TempDir) -> Emulator {
    let mut config = EmulatorConfig::new(dir.path());
    config.latency_scale = 0.001;
    Emulator::start(config, listen())
        .await
        .expect("emulator starts")
}

/// The official clients the tests use, all pointed at one emulator.
pub struct Clients {
    /// `Networks`.
    pub networks: Networks,
    /// `Subnetworks`.
    pub subnets: Subnetworks,
    /// `Routers`.
    pub routers: Routers,
    /// `Firewalls`.
    pub firewalls: Firewalls,
    /// `GlobalOperations`.
    pub global_ops: GlobalOperations,
    /// `RegionOperations`.
    pub region_ops: RegionOperations,
}

/// [`Clients`] for the emulator at `url`.
pub async fn clients(url: &str) -> Clients {
    Clients {
        networks: official_client!(Networks, url),
        subnets: official_client!(Subnetworks, url),
        routers: official_client!(Routers, url),
        firewalls: official_client!(Firewalls, url),
        global_ops: official_client!(GlobalOperations, url),
        region_ops: official_client!(RegionOperations, url),
    }
}

/// A custom-mode network with regional routing.
pub fn network(name: &str) -> model::Network {
    model::Network::new()
        .set_name(name)
        .set_auto_create_subnetworks(false)
        .set_routing_config(
            model::NetworkRoutingConfig::new()
                .set_routing_mode(model::network_routing_config::RoutingMode::Regional),
        )
}

/// A subnet `name` of network `net` with primary range `cidr`.
pub fn subnet(name: &str, net: &str, cidr: &str) -> model::Subnetwork {
    model::Subnetwork::new()
        .set_name(name)
        .set_network(format!("projects/{PROJECT}/global/networks/{net}"))
        .set_ip_cidr_range(cidr)
}

/// Inserts [`network`] `name` and waits for its operation.
pub async fn create_network(c: &Clients, name: &str) -> model::Operation {
    let op = c
        .networks
        .insert()
        .set_project(PROJECT)
        .set_body(network(name))
        .send()
        .await
        .expect("network insert");
    c.global_ops
        .wait()
        .set_project(PROJECT)
        .set_operation(op.name.clone().expect("operation name"))
        .send()
        .await
        .expect("wait")
}

/// Inserts `body` in `region` and waits for its operation.
pub async fn create_subnet(
    c: &Clients,
    region: &str,
    body: model::Subnetwork,
) -> Result<model::Operation, google_cloud_gax::error::Error> {
    let op = c
        .subnets
        .insert()
        .set_project(PROJECT)
        .set_region(region)
        .set_body(body)
        .send()
        .await?;
    c.region_ops
        .wait()
        .set_project(PROJECT)
        .set_region(region)
        .set_operation(op.name.clone().expect("operation name"))
        .send()
        .await
}

/// The secondary range `pods` (10.16.48.0/20).
pub fn pods_range() -> model::SubnetworkSecondaryRange {
    model::SubnetworkSecondaryRange::new()
        .set_range_name("pods")
        .set_ip_cidr_range("10.16.48.0/20")
}

/// The gRPC code of a client error, if the service answered.
pub fn code(err: &google_cloud_gax::error::Error) -> Option<Code> {
    err.status().map(|s| s.code)
}

/// Sends `method url` with an optional JSON body; the status and the JSON answer.
pub async fn raw(
    client: &reqwest::Client,
    method: reqwest::Method,
    url: String,
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = client.request(method, url);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.expect("request");
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

/// A valid `requestId` (a UUID).
pub const REQUEST_ID: &str = "6f1c2a8e-3b7d-4c59-9e0f-1a2b3c4d5e6f";

/// Subnet `name` in us-central1.
pub async fn get_subnet(c: &Clients, name: &str) -> model::Subnetwork {
    c.subnets
        .get()
        .set_project(PROJECT)
        .set_region("us-central1")
        .set_subnetwork(name)
        .send()
        .await
        .expect("get subnet")
}

/// Waits for `op` in us-central1.
pub async fn wait_region(c: &Clients, op: model::Operation) -> model::Operation {
    c.region_ops
        .wait()
        .set_project(PROJECT)
        .set_region("us-central1")
        .set_operation(op.name.expect("operation name"))
        .send()
        .await
        .expect("wait")
}

/// The `google.rpc.ErrorInfo` of a service error: reason, domain and metadata.
pub fn error_info(
    err: &google_cloud_gax::error::Error,
) -> Option<(String, String, std::collections::HashMap<String, String>)> {
    err.status()?.details.iter().find_map(|d| match d {
        google_cloud_gax::error::rpc::StatusDetails::ErrorInfo(i) => {
            Some((i.reason.clone(), i.domain.clone(), i.metadata.clone()))
        }
        _ => None,
    })
}

//! `network.*`: custom-mode VPC networks (global).

use google_cloud_compute_v1::model::network_routing_config::RoutingMode;
use google_cloud_compute_v1::model::{Network, NetworkRoutingConfig};
use google_cloud_gax::options::RequestOptionsBuilder;
use serde_json::json;

use super::operation::Scope;
use super::{found, ids, request_id, GcpError, Provider};
use crate::resource::attr::str as str_attr;
use crate::resource::desired::object;
use crate::resource::{Attrs, Ids, Live};

fn routing(attrs: &Attrs) -> NetworkRoutingConfig {
    NetworkRoutingConfig::new().set_routing_mode(RoutingMode::from(str_attr(attrs, "routing_mode")))
}

pub(super) async fn read(p: &Provider, name: &str) -> Result<Option<Live>, GcpError> {
    let got = p
        .networks
        .get()
        .set_project(&p.project)
        .set_network(name)
        .send()
        .await;
    let Some(n) = found(got, &format!("reading network {name}"))? else {
        return Ok(None);
    };
    let mode = n
        .routing_config
        .as_ref()
        .and_then(|r| r.routing_mode.as_ref())
        .and_then(|m| m.name())
        .unwrap_or("REGIONAL");
    let attrs = json!({
        "name": n.name,
        "auto_create_subnetworks": n.auto_create_subnetworks.unwrap_or(false),
        "routing_mode": mode,
        "mtu": n.mtu.unwrap_or(1460),
    });
    Ok(Some(Live {
        ids: ids(n.id, n.self_link),
        attrs: object(attrs),
        deleting: None,
    }))
}

pub(super) async fn create(p: &Provider, attrs: &Attrs) -> Result<Ids, GcpError> {
    let name = str_attr(attrs, "name");
    let body = Network::new()
        .set_name(name)
        .set_auto_create_subnetworks(false)
        .set_mtu(attrs["mtu"].as_i64().unwrap_or(1460) as i32)
        .set_routing_config(routing(attrs));
    let ctx = format!("creating network {name}");
    let sent = p
        .networks
        .insert()
        .set_project(&p.project)
        .set_request_id(request_id())
        .set_body(body)
        .with_idempotency(true)
        .send();
    p.finish(Scope::Global, &ctx, sent).await
}

pub(super) async fn update(p: &Provider, attrs: &Attrs) -> Result<Ids, GcpError> {
    let name = str_attr(attrs, "name");
    let ctx = format!("updating network {name}");
    let sent = p
        .networks
        .patch()
        .set_project(&p.project)
        .set_network(name)
        .set_request_id(request_id())
        .set_body(
            Network::new()
                .set_routing_config(routing(attrs))
                .set_mtu(attrs["mtu"].as_i64().unwrap_or(1460) as i32),
        )
        .with_idempotency(true)
        .send();
    p.finish(Scope::Global, &ctx, sent).await
}

pub(super) async fn delete(p: &Provider, name: &str) -> Result<(), GcpError> {
    let ctx = format!("deleting network {name}");
    let sent = p
        .networks
        .delete()
        .set_project(&p.project)
        .set_network(name)
        .set_request_id(request_id())
        .with_idempotency(true)
        .send();
    p.finish(Scope::Global, &ctx, sent).await.map(|_| ())
}

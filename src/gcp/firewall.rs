//! `firewall.*`: VPC firewall rules (global). `allow`/`deny` entries are
//! `PROTOCOL[:PORTS]` strings, e.g. `tcp:22` or `tcp:80,443`.

use google_cloud_compute_v1::model::firewall::{Allowed, Denied, Direction};
use google_cloud_compute_v1::model::Firewall;
use google_cloud_gax::options::RequestOptionsBuilder;
use serde_json::json;

use super::operation::Scope;
use super::{found, ids, last_segment, request_id, GcpError, Provider};
use crate::resource::attr::{str as str_attr, strings};
use crate::resource::desired::object;
use crate::resource::{Attrs, Ids, Live};

/// `tcp:80,443` → (`tcp`, [`80`, `443`]).
fn split_spec(spec: &str) -> (String, Vec<String>) {
    match spec.split_once(':') {
        Some((proto, ports)) => (
            proto.to_string(),
            ports.split(',').map(str::to_string).collect(),
        ),
        None => (spec.to_string(), vec![]),
    }
}

fn join_spec(proto: Option<&str>, ports: &[String]) -> String {
    let proto = proto.unwrap_or_default();
    if ports.is_empty() {
        proto.to_string()
    } else {
        format!("{proto}:{}", ports.join(","))
    }
}

fn body(p: &Provider, attrs: &Attrs) -> Firewall {
    let allowed = strings(attrs, "allow").into_iter().map(|s| {
        let (proto, ports) = split_spec(&s);
        Allowed::new().set_ip_protocol(proto).set_ports(ports)
    });
    let denied = strings(attrs, "deny").into_iter().map(|s| {
        let (proto, ports) = split_spec(&s);
        Denied::new().set_ip_protocol(proto).set_ports(ports)
    });
    Firewall::new()
        .set_name(str_attr(attrs, "name"))
        .set_network(p.network_path(str_attr(attrs, "network")))
        .set_direction(Direction::from(str_attr(attrs, "direction")))
        .set_priority(
            attrs
                .get("priority")
                .and_then(|v| v.as_i64())
                .unwrap_or(1000) as i32,
        )
        .set_allowed(allowed.collect::<Vec<_>>())
        .set_denied(denied.collect::<Vec<_>>())
        .set_source_ranges(strings(attrs, "source_ranges"))
        .set_source_tags(strings(attrs, "source_tags"))
        .set_destination_ranges(strings(attrs, "destination_ranges"))
        .set_target_tags(strings(attrs, "target_tags"))
        .set_description(str_attr(attrs, "description"))
}

pub(super) async fn read(p: &Provider, name: &str) -> Result<Option<Live>, GcpError> {
    let got = p
        .firewalls
        .get()
        .set_project(&p.project)
        .set_firewall(name)
        .send()
        .await;
    let Some(f) = found(got, &format!("reading firewall rule {name}"))? else {
        return Ok(None);
    };
    let allow: Vec<String> = f
        .allowed
        .iter()
        .map(|a| join_spec(a.ip_protocol.as_deref(), &a.ports))
        .collect();
    let deny: Vec<String> = f
        .denied
        .iter()
        .map(|a| join_spec(a.ip_protocol.as_deref(), &a.ports))
        .collect();
    let attrs = object(json!({
        "name": f.name,
        "network": f.network.as_deref().map(last_segment),
        "direction": f.direction.as_ref().and_then(|d| d.name()).unwrap_or("INGRESS"),
        "priority": f.priority.unwrap_or(1000),
        "allow": allow,
        "deny": deny,
        "source_ranges": f.source_ranges,
        "source_tags": f.source_tags,
        "destination_ranges": f.destination_ranges,
        "target_tags": f.target_tags,
        "description": f.description.unwrap_or_default(),
    }));
    Ok(Some(Live {
        ids: ids(f.id, f.self_link),
        attrs,
        deleting: None,
    }))
}

pub(super) async fn create(p: &Provider, attrs: &Attrs) -> Result<Ids, GcpError> {
    let name = str_attr(attrs, "name");
    let ctx = format!("creating firewall rule {name}");
    let sent = p
        .firewalls
        .insert()
        .set_project(&p.project)
        .set_request_id(request_id())
        .set_body(body(p, attrs))
        .with_idempotency(true)
        .send();
    p.finish(Scope::Global, &ctx, sent).await
}

pub(super) async fn update(p: &Provider, attrs: &Attrs) -> Result<Ids, GcpError> {
    let name = str_attr(attrs, "name");
    let ctx = format!("updating firewall rule {name}");
    let sent = p
        .firewalls
        .patch()
        .set_project(&p.project)
        .set_firewall(name)
        .set_request_id(request_id())
        .set_body(body(p, attrs))
        .with_idempotency(true)
        .send();
    p.finish(Scope::Global, &ctx, sent).await
}

pub(super) async fn delete(p: &Provider, name: &str) -> Result<(), GcpError> {
    let ctx = format!("deleting firewall rule {name}");
    let sent = p
        .firewalls
        .delete()
        .set_project(&p.project)
        .set_firewall(name)
        .set_request_id(request_id())
        .with_idempotency(true)
        .send();
    p.finish(Scope::Global, &ctx, sent).await.map(|_| ())
}

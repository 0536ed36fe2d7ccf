//! `router.*`: a Cloud Router per region carrying one Cloud NAT for all
//! subnet ranges with auto-allocated addresses.

use google_cloud_compute_v1::model::router_nat::{
    NatIpAllocateOption, SourceSubnetworkIpRangesToNat,
};
use google_cloud_compute_v1::model::router_nat_log_config::Filter;
use google_cloud_compute_v1::model::{Router, RouterNat, RouterNatLogConfig};
use google_cloud_gax::options::RequestOptionsBuilder;
use serde_json::json;

use super::operation::Scope;
use super::{found, ids, last_segment, request_id, GcpError, Provider};
use crate::resource::attr::{int, str as str_attr};
use crate::resource::desired::object;
use crate::resource::{Attrs, Ids, Live};

fn nat(attrs: &Attrs) -> RouterNat {
    let log = str_attr(attrs, "nat_log");
    let log_config = if log == "NONE" {
        RouterNatLogConfig::new().set_enable(false)
    } else {
        RouterNatLogConfig::new()
            .set_enable(true)
            .set_filter(Filter::from(log))
    };
    RouterNat::new()
        .set_name(str_attr(attrs, "nat_name"))
        .set_source_subnetwork_ip_ranges_to_nat(SourceSubnetworkIpRangesToNat::from(str_attr(
            attrs,
            "nat_source_ranges",
        )))
        .set_nat_ip_allocate_option(NatIpAllocateOption::from(str_attr(
            attrs,
            "nat_ip_allocation",
        )))
        .set_min_ports_per_vm(int(attrs, "nat_min_ports_per_vm"))
        .set_udp_idle_timeout_sec(int(attrs, "nat_udp_idle_timeout_sec"))
        .set_tcp_established_idle_timeout_sec(int(attrs, "nat_tcp_established_idle_timeout_sec"))
        .set_log_config(log_config)
}

pub(super) async fn read(p: &Provider, region: &str, name: &str) -> Result<Option<Live>, GcpError> {
    let got = p
        .routers
        .get()
        .set_project(&p.project)
        .set_region(region)
        .set_router(name)
        .send()
        .await;
    let Some(r) = found(got, &format!("reading router {name} in {region}"))? else {
        return Ok(None);
    };
    let n = r.nats.first().cloned().unwrap_or_default();
    let log = n
        .log_config
        .as_ref()
        .filter(|l| l.enable == Some(true))
        .and_then(|l| l.filter.as_ref())
        .and_then(|f| f.name())
        .unwrap_or("NONE");
    let attrs = object(json!({
        "name": r.name,
        "region": r.region.as_deref().map(last_segment),
        "network": r.network.as_deref().map(last_segment),
        "nat_name": n.name,
        "nat_source_ranges": n.source_subnetwork_ip_ranges_to_nat.as_ref().and_then(|s| s.name()),
        "nat_ip_allocation": n.nat_ip_allocate_option.as_ref().and_then(|s| s.name()),
        "nat_min_ports_per_vm": n.min_ports_per_vm.unwrap_or(64),
        "nat_log": log,
        "nat_udp_idle_timeout_sec": n.udp_idle_timeout_sec.unwrap_or(30),
        "nat_tcp_established_idle_timeout_sec": n.tcp_established_idle_timeout_sec.unwrap_or(1200),
    }));
    Ok(Some(Live {
        ids: ids(r.id, r.self_link),
        attrs,
        deleting: None,
    }))
}

pub(super) async fn create(p: &Provider, attrs: &Attrs) -> Result<Ids, GcpError> {
    let (name, region) = (str_attr(attrs, "name"), str_attr(attrs, "region"));
    let body = Router::new()
        .set_name(name)
        .set_network(p.network_path(str_attr(attrs, "network")))
        .set_nats([nat(attrs)]);
    let ctx = format!("creating router {name} in {region}");
    let sent = p
        .routers
        .insert()
        .set_project(&p.project)
        .set_region(region)
        .set_request_id(request_id())
        .set_body(body)
        .with_idempotency(true)
        .send();
    p.finish(Scope::Region(region), &ctx, sent).await
}

pub(super) async fn update(p: &Provider, attrs: &Attrs) -> Result<Ids, GcpError> {
    let (name, region) = (str_attr(attrs, "name"), str_attr(attrs, "region"));
    let ctx = format!("updating router {name} in {region}");
    let sent = p
        .routers
        .patch()
        .set_project(&p.project)
        .set_region(region)
        .set_router(name)
        .set_request_id(request_id())
        .set_body(Router::new().set_nats([nat(attrs)]))
        .with_idempotency(true)
        .send();
    p.finish(Scope::Region(region), &ctx, sent).await
}

pub(super) async fn delete(p: &Provider, region: &str, name: &str) -> Result<(), GcpError> {
    let ctx = format!("deleting router {name} in {region}");
    let sent = p
        .routers
        .delete()
        .set_project(&p.project)
        .set_region(region)
        .set_router(name)
        .set_request_id(request_id())
        .with_idempotency(true)
        .send();
    p.finish(Scope::Region(region), &ctx, sent)
        .await
        .map(|_| ())
}

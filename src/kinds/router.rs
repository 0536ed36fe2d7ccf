//! `router.*`: a Cloud Router per region carrying one Cloud NAT for all
//! subnet ranges with auto-allocated addresses.

use google_cloud_compute_v1::model::router_nat::{
    NatIpAllocateOption, SourceSubnetworkIpRangesToNat,
};
use google_cloud_compute_v1::model::router_nat_log_config::Filter;
use google_cloud_compute_v1::model::{Router as ApiRouter, RouterNat, RouterNatLogConfig};
use google_cloud_gax::options::RequestOptionsBuilder;
use serde::{Deserialize, Serialize};

use super::{forces_replacement, updatable, Api, Applied, Field, Kind, Observed, ResourceKind};
use crate::cloud::{Cloud, CloudError};
use crate::gcp::{found, ids, last_segment, request_id, InFlight, Scope};

/// The kind.
pub struct Router;

/// A router's managed attributes, with its one NAT.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RouterSpec {
    /// Its name.
    pub name: String,
    /// Its region.
    pub region: String,
    /// The network's name.
    pub network: String,
    /// The NAT's name.
    pub nat_name: String,
    /// Which subnet ranges are NATed.
    pub nat_source_ranges: String,
    /// How NAT addresses are allocated.
    pub nat_ip_allocation: String,
    /// Minimum ports per VM.
    pub nat_min_ports_per_vm: i32,
    /// The log filter, or `NONE`.
    pub nat_log: String,
    /// UDP idle timeout (seconds).
    pub nat_udp_idle_timeout_sec: i32,
    /// TCP established idle timeout (seconds).
    pub nat_tcp_established_idle_timeout_sec: i32,
}

fn nat(spec: &RouterSpec) -> RouterNat {
    let log_config = if spec.nat_log == "NONE" {
        RouterNatLogConfig::new().set_enable(false)
    } else {
        RouterNatLogConfig::new()
            .set_enable(true)
            .set_filter(Filter::from(spec.nat_log.as_str()))
    };
    RouterNat::new()
        .set_name(&spec.nat_name)
        .set_source_subnetwork_ip_ranges_to_nat(SourceSubnetworkIpRangesToNat::from(
            spec.nat_source_ranges.as_str(),
        ))
        .set_nat_ip_allocate_option(NatIpAllocateOption::from(spec.nat_ip_allocation.as_str()))
        .set_min_ports_per_vm(spec.nat_min_ports_per_vm)
        .set_udp_idle_timeout_sec(spec.nat_udp_idle_timeout_sec)
        .set_tcp_established_idle_timeout_sec(spec.nat_tcp_established_idle_timeout_sec)
        .set_log_config(log_config)
}

impl Kind for Router {
    type Spec = RouterSpec;
    const KIND: ResourceKind = ResourceKind::Router;
    const API: Api = Api::Compute;
    const FIELDS: &'static [Field] = &[
        forces_replacement("name"),
        forces_replacement("region"),
        forces_replacement("network"),
        updatable("nat_name"),
        updatable("nat_source_ranges"),
        updatable("nat_ip_allocation"),
        updatable("nat_min_ports_per_vm"),
        updatable("nat_log"),
        updatable("nat_udp_idle_timeout_sec"),
        updatable("nat_tcp_established_idle_timeout_sec"),
    ];
    const LIVES_IN: &'static [ResourceKind] = &[ResourceKind::Network];

    fn in_flight(spec: &RouterSpec, project: &str) -> InFlight {
        InFlight::Region {
            region: spec.region.clone(),
            link: format!(
                "projects/{project}/regions/{}/routers/{}",
                spec.region, spec.name
            ),
        }
    }

    async fn read(
        cloud: &Cloud,
        spec: &RouterSpec,
    ) -> Result<Option<Observed<RouterSpec>>, CloudError> {
        let p = &cloud.gcp;
        let (name, region) = (&spec.name, &spec.region);
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
        let enum_name = |n: Option<&str>| n.unwrap_or_default().to_string();
        Ok(Some(Observed {
            ids: ids(r.id, r.self_link),
            spec: RouterSpec {
                name: r.name.unwrap_or_default(),
                region: r.region.as_deref().map(last_segment).unwrap_or_default(),
                network: r.network.as_deref().map(last_segment).unwrap_or_default(),
                nat_name: n.name.clone().unwrap_or_default(),
                nat_source_ranges: enum_name(
                    n.source_subnetwork_ip_ranges_to_nat
                        .as_ref()
                        .and_then(|s| s.name()),
                ),
                nat_ip_allocation: enum_name(
                    n.nat_ip_allocate_option.as_ref().and_then(|s| s.name()),
                ),
                nat_min_ports_per_vm: n.min_ports_per_vm.unwrap_or(64),
                nat_log: log.to_string(),
                nat_udp_idle_timeout_sec: n.udp_idle_timeout_sec.unwrap_or(30),
                nat_tcp_established_idle_timeout_sec: n
                    .tcp_established_idle_timeout_sec
                    .unwrap_or(1200),
            },
            outputs: Default::default(),
            deleting: None,
        }))
    }

    async fn create(cloud: &Cloud, spec: &RouterSpec) -> Result<Applied, CloudError> {
        let p = &cloud.gcp;
        let body = ApiRouter::new()
            .set_name(&spec.name)
            .set_network(p.network_path(&spec.network))
            .set_nats([nat(spec)]);
        let ctx = format!("creating router {} in {}", spec.name, spec.region);
        let sent = p
            .routers
            .insert()
            .set_project(&p.project)
            .set_region(&spec.region)
            .set_request_id(request_id())
            .set_body(body)
            .with_idempotency(true)
            .send();
        Ok(p.finish(Scope::Region(&spec.region), &ctx, sent)
            .await?
            .into())
    }

    async fn update(
        cloud: &Cloud,
        _before: &RouterSpec,
        after: &RouterSpec,
    ) -> Result<Applied, CloudError> {
        let p = &cloud.gcp;
        let ctx = format!("updating router {} in {}", after.name, after.region);
        let sent = p
            .routers
            .patch()
            .set_project(&p.project)
            .set_region(&after.region)
            .set_router(&after.name)
            .set_request_id(request_id())
            .set_body(ApiRouter::new().set_nats([nat(after)]))
            .with_idempotency(true)
            .send();
        Ok(p.finish(Scope::Region(&after.region), &ctx, sent)
            .await?
            .into())
    }

    async fn delete(cloud: &Cloud, spec: &RouterSpec) -> Result<(), CloudError> {
        let p = &cloud.gcp;
        let ctx = format!("deleting router {} in {}", spec.name, spec.region);
        let sent = p
            .routers
            .delete()
            .set_project(&p.project)
            .set_region(&spec.region)
            .set_router(&spec.name)
            .set_request_id(request_id())
            .with_idempotency(true)
            .send();
        p.finish(Scope::Region(&spec.region), &ctx, sent).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_field_has_a_rule() {
        super::super::assert_every_field_has_a_rule::<Router>(&RouterSpec {
            name: "r".into(),
            region: "europe-west2".into(),
            network: "vpc".into(),
            nat_name: "n".into(),
            nat_source_ranges: "ALL_SUBNETWORKS_ALL_IP_RANGES".into(),
            nat_ip_allocation: "AUTO_ONLY".into(),
            nat_min_ports_per_vm: 64,
            nat_log: "NONE".into(),
            nat_udp_idle_timeout_sec: 30,
            nat_tcp_established_idle_timeout_sec: 1200,
        });
    }
}

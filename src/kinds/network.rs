//! `network.*`: custom-mode VPC networks (global).

use google_cloud_compute_v1::model::network_routing_config::RoutingMode;
use google_cloud_compute_v1::model::{Network as ApiNetwork, NetworkRoutingConfig};
use google_cloud_gax::options::RequestOptionsBuilder;
use serde::{Deserialize, Serialize};

use super::{forces_replacement, updatable, Api, Applied, Field, Kind, Observed, ResourceKind};
use crate::cloud::{Cloud, CloudError};
use crate::gcp::{found, ids, request_id, InFlight, Scope};

/// The kind.
pub struct Network;

/// A network's managed attributes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NetworkSpec {
    /// Its name.
    pub name: String,
    /// Always false: meshform makes custom-mode networks.
    pub auto_create_subnetworks: bool,
    /// `REGIONAL` or `GLOBAL`.
    pub routing_mode: String,
    /// The MTU.
    pub mtu: i32,
}

fn routing(spec: &NetworkSpec) -> NetworkRoutingConfig {
    NetworkRoutingConfig::new().set_routing_mode(RoutingMode::from(spec.routing_mode.as_str()))
}

impl Kind for Network {
    type Spec = NetworkSpec;
    const KIND: ResourceKind = ResourceKind::Network;
    const API: Api = Api::Compute;
    /// networks.patch changes `routingConfig` and `mtu`.
    const FIELDS: &'static [Field] = &[
        forces_replacement("name"),
        forces_replacement("auto_create_subnetworks"),
        updatable("routing_mode"),
        updatable("mtu"),
    ];

    fn in_flight(spec: &NetworkSpec, project: &str) -> InFlight {
        InFlight::Global(format!("projects/{project}/global/networks/{}", spec.name))
    }

    async fn read(
        cloud: &Cloud,
        spec: &NetworkSpec,
    ) -> Result<Option<Observed<NetworkSpec>>, CloudError> {
        let p = &cloud.gcp;
        let name = &spec.name;
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
        Ok(Some(Observed {
            ids: ids(n.id, n.self_link),
            spec: NetworkSpec {
                name: n.name.unwrap_or_default(),
                auto_create_subnetworks: n.auto_create_subnetworks.unwrap_or(false),
                routing_mode: mode.to_string(),
                mtu: n.mtu.unwrap_or(1460),
            },
            outputs: Default::default(),
            deleting: None,
        }))
    }

    async fn create(cloud: &Cloud, spec: &NetworkSpec) -> Result<Applied, CloudError> {
        let p = &cloud.gcp;
        let body = ApiNetwork::new()
            .set_name(&spec.name)
            .set_auto_create_subnetworks(false)
            .set_mtu(spec.mtu)
            .set_routing_config(routing(spec));
        let ctx = format!("creating network {}", spec.name);
        let sent = p
            .networks
            .insert()
            .set_project(&p.project)
            .set_request_id(request_id())
            .set_body(body)
            .with_idempotency(true)
            .send();
        Ok(p.finish(Scope::Global, &ctx, sent).await?.into())
    }

    async fn update(
        cloud: &Cloud,
        _before: &NetworkSpec,
        after: &NetworkSpec,
    ) -> Result<Applied, CloudError> {
        let p = &cloud.gcp;
        let ctx = format!("updating network {}", after.name);
        let sent = p
            .networks
            .patch()
            .set_project(&p.project)
            .set_network(&after.name)
            .set_request_id(request_id())
            .set_body(
                ApiNetwork::new()
                    .set_routing_config(routing(after))
                    .set_mtu(after.mtu),
            )
            .with_idempotency(true)
            .send();
        Ok(p.finish(Scope::Global, &ctx, sent).await?.into())
    }

    async fn delete(cloud: &Cloud, spec: &NetworkSpec) -> Result<(), CloudError> {
        let p = &cloud.gcp;
        let ctx = format!("deleting network {}", spec.name);
        let sent = p
            .networks
            .delete()
            .set_project(&p.project)
            .set_network(&spec.name)
            .set_request_id(request_id())
            .with_idempotency(true)
            .send();
        p.finish(Scope::Global, &ctx, sent).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_field_has_a_rule() {
        super::super::assert_every_field_has_a_rule::<Network>(&NetworkSpec {
            name: "vpc".into(),
            auto_create_subnetworks: false,
            routing_mode: "GLOBAL".into(),
            mtu: 1460,
        });
    }
}

//! `eastwest_gateway.*`: one cluster's Istio east-west gateway, as a
//! tracked group of objects (see `object_group`): what istioctl (or the
//! emulated stand-in) renders for the gateway's IstioOperator component,
//! plus meshform's `cross-network-gateway`. Its Service is an internal
//! LoadBalancer, so GKE makes a load balancer for it outside the cluster:
//! apply waits until the Service has its internal address (an output), and
//! the gateway is deleted before its cluster, waiting until the Service is
//! gone and GKE's forwarding rule with it ([`Kind::LEAVES_CLOUD_RESOURCES`]).

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::object_group::{self, Objects, Place};
use super::{
    forces_replacement, updatable, Api, Applied, Field, Kind, Limits, Observed, ResourceKind,
};
use crate::cloud::{Cloud, CloudError};
use crate::kube::ObjectRef;
use crate::mesh::gateway::GATEWAY_NAME;
use crate::mesh::GatewayValues;
use crate::plan::names::zone_region;
use crate::resource::outputs::Known;
use crate::resource::{Ids, Outputs};

/// The kind.
pub struct EastwestGateway;

/// The annotation where GKE names the forwarding rule it made for a Service.
pub const FORWARDING_RULE_ANNOTATION: &str = "service.kubernetes.io/tcp-forwarding-rule";

/// The output holding the gateway's internal load-balancer address.
pub const OUTPUT_ADDRESS: &str = "address";

/// An east-west gateway's managed attributes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EastwestGatewaySpec {
    /// The cluster it is in.
    pub cluster: String,
    /// That cluster's location.
    pub location: String,
    /// The digest of that cluster's CA: a new cluster is a new gateway.
    pub cluster_ca: Known<String>,
    /// What it is rendered from.
    pub values: GatewayValues,
    /// What rendered it (istioctl and its version, or the emulated stand-in).
    pub generator: String,
    /// How many objects of which kinds.
    pub summary: String,
    /// Every object: `apiVersion/Kind/namespace/name` → digest in the object store.
    pub objects: Objects,
}

/// The reference of the gateway's Service.
pub fn service_ref() -> ObjectRef {
    ObjectRef {
        api_version: "v1".into(),
        kind: "Service".into(),
        namespace: crate::resource::desired::ISTIO_NAMESPACE.into(),
        name: GATEWAY_NAME.into(),
    }
}

/// The first internal address in a Service's `status.loadBalancer.ingress`.
pub fn address_of(service: &Value) -> Option<String> {
    service["status"]["loadBalancer"]["ingress"]
        .as_array()?
        .iter()
        .find_map(|i| i["ip"].as_str())
        .map(str::to_string)
}

fn place(spec: &EastwestGatewaySpec) -> Place<'_> {
    Place {
        location: &spec.location,
        cluster: &spec.cluster,
    }
}

/// Applies the gateway and waits for its load balancer's address.
async fn apply(
    cloud: &Cloud,
    spec: &EastwestGatewaySpec,
    before: Option<&Objects>,
) -> Result<Applied, CloudError> {
    object_group::apply(cloud, place(spec), &spec.objects, before).await?;
    crate::progress::note("waiting for the internal load balancer's address");
    let service = service_ref();
    cloud
        .kube
        .wait_for(
            &spec.location,
            &spec.cluster,
            &service,
            "given an address",
            |o| o.and_then(address_of).is_some(),
        )
        .await?;
    let live = cloud
        .kube
        .read_manifest(&spec.location, &spec.cluster, &service)
        .await?;
    let address = live.as_ref().and_then(address_of).unwrap_or_default();
    crate::progress::note(format!("internal address {address}"));
    Ok(Applied {
        ids: Ids::default(),
        outputs: Outputs::from([(OUTPUT_ADDRESS.to_string(), json!(address))]),
    })
}

impl Kind for EastwestGateway {
    type Spec = EastwestGatewaySpec;
    const KIND: ResourceKind = ResourceKind::EastwestGateway;
    const API: Api = Api::Kubernetes;
    const FIELDS: &'static [Field] = &[
        forces_replacement("cluster"),
        forces_replacement("location"),
        forces_replacement("cluster_ca"),
        updatable("values"),
        updatable("generator"),
        updatable("summary"),
        updatable("objects"),
    ];
    const LIVES_IN: &'static [ResourceKind] = &[ResourceKind::Cluster, ResourceKind::Namespace];
    const OUTPUTS: &'static [&'static str] = &[OUTPUT_ADDRESS];
    const LEAVES_CLOUD_RESOURCES: bool = true;
    const LIMITS: Limits = Limits {
        create: 15,
        update: 15,
        delete: 15,
    };

    async fn read(
        cloud: &Cloud,
        spec: &EastwestGatewaySpec,
    ) -> Result<Option<Observed<EastwestGatewaySpec>>, CloudError> {
        let Some(found) = object_group::read(cloud, place(spec), &spec.objects).await? else {
            return Ok(None);
        };
        let address = found
            .live
            .get(&service_ref().to_string())
            .and_then(address_of);
        Ok(Some(Observed {
            ids: Ids::default(),
            spec: EastwestGatewaySpec {
                cluster_ca: Known::Value(found.cluster_ca),
                summary: object_group::summary(found.objects.keys()),
                objects: found.objects,
                ..spec.clone()
            },
            outputs: address
                .map(|a| Outputs::from([(OUTPUT_ADDRESS.to_string(), json!(a))]))
                .unwrap_or_default(),
            deleting: None,
        }))
    }

    async fn create(cloud: &Cloud, spec: &EastwestGatewaySpec) -> Result<Applied, CloudError> {
        apply(cloud, spec, None).await
    }

    async fn update(
        cloud: &Cloud,
        before: &EastwestGatewaySpec,
        after: &EastwestGatewaySpec,
    ) -> Result<Applied, CloudError> {
        apply(cloud, after, Some(&before.objects)).await
    }

    /// Deleted even when its cluster goes next: the Service's load balancer
    /// is GKE's, outside the cluster. A cluster already gone took the
    /// Service with it (the sweep removes what GKE left).
    async fn delete(cloud: &Cloud, spec: &EastwestGatewaySpec) -> Result<(), CloudError> {
        if cloud
            .kube
            .connect(&spec.location, &spec.cluster)
            .await?
            .is_none()
        {
            return Ok(());
        }
        let rule = cloud
            .kube
            .read_manifest(&spec.location, &spec.cluster, &service_ref())
            .await?
            .and_then(|s| {
                s["metadata"]["annotations"][FORWARDING_RULE_ANNOTATION]
                    .as_str()
                    .map(str::to_string)
            });
        object_group::delete(cloud, place(spec), &spec.objects).await?;
        if let Some(rule) = rule {
            let region = zone_region(&spec.location).unwrap_or(&spec.location);
            crate::progress::note(format!("waiting until forwarding rule {rule} is gone"));
            cloud.gcp.wait_forwarding_rule_gone(region, &rule).await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_field_has_a_rule() {
        super::super::assert_every_field_has_a_rule::<EastwestGateway>(&EastwestGatewaySpec {
            cluster: "c1".into(),
            location: "europe-west2-a".into(),
            cluster_ca: Known::Value("sha256:ca".into()),
            values: GatewayValues {
                version: "1.31.1".into(),
                revision: None,
                hub: None,
                tag: None,
                network: "n".into(),
                global_access: true,
                source_ranges: vec![],
            },
            generator: "emulated".into(),
            summary: String::new(),
            objects: Objects::new(),
        });
    }

    #[test]
    fn the_address_is_the_first_ingress_ip() {
        let s =
            json!({"status": {"loadBalancer": {"ingress": [{"ip": "10.0.0.7", "ipMode": "VIP"}]}}});
        assert_eq!(address_of(&s).as_deref(), Some("10.0.0.7"));
        assert_eq!(address_of(&json!({"status": {"loadBalancer": {}}})), None);
    }
}

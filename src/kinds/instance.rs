//! `instance.*`: the bastion host, a VM without an external address in one
//! region's subnet. Any change replaces it.

use google_cloud_compute_v1::model::metadata::Items;
use google_cloud_compute_v1::model::{
    AttachedDisk, AttachedDiskInitializeParams, Instance as ApiInstance, Metadata,
    NetworkInterface, Tags,
};
use google_cloud_gax::options::RequestOptionsBuilder;
use serde::{Deserialize, Serialize};

use super::{forces_replacement, Api, Applied, Field, Kind, Observed, ResourceKind};
use crate::cloud::{Cloud, CloudError};
use crate::gcp::{found, ids, last_segment, request_id, InFlight, Scope};

/// The kind.
pub struct Instance;

/// An instance's managed attributes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InstanceSpec {
    /// Its name.
    pub name: String,
    /// Its zone.
    pub zone: String,
    /// The machine type's name.
    pub machine_type: String,
    /// The network's name.
    pub network: String,
    /// The subnet's name.
    pub subnet: String,
    /// The subnet's region.
    pub region: String,
    /// Network tags.
    pub tags: Vec<String>,
    /// The boot image.
    pub image: String,
    /// Always false: reached through IAP.
    pub external_ip: bool,
}

impl Kind for Instance {
    type Spec = InstanceSpec;
    const KIND: ResourceKind = ResourceKind::Instance;
    const API: Api = Api::Compute;
    const FIELDS: &'static [Field] = &[
        forces_replacement("name"),
        forces_replacement("zone"),
        forces_replacement("machine_type"),
        forces_replacement("network"),
        forces_replacement("subnet"),
        forces_replacement("region"),
        forces_replacement("tags"),
        forces_replacement("image"),
        forces_replacement("external_ip"),
    ];
    const LIVES_IN: &'static [ResourceKind] = &[ResourceKind::Network, ResourceKind::Subnet];

    fn in_flight(spec: &InstanceSpec, project: &str) -> InFlight {
        InFlight::Zone {
            zone: spec.zone.clone(),
            link: format!(
                "projects/{project}/zones/{}/instances/{}",
                spec.zone, spec.name
            ),
        }
    }

    async fn read(
        cloud: &Cloud,
        given: &InstanceSpec,
    ) -> Result<Option<Observed<InstanceSpec>>, CloudError> {
        let p = &cloud.gcp;
        let (name, zone) = (&given.name, &given.zone);
        let got = p
            .instances
            .get()
            .set_project(&p.project)
            .set_zone(zone)
            .set_instance(name)
            .send()
            .await;
        let Some(i) = found(got, &format!("reading instance {name} in {zone}"))? else {
            return Ok(None);
        };
        let nic = i.network_interfaces.first().cloned().unwrap_or_default();
        let segment = |s: Option<&str>| s.map(last_segment).unwrap_or_default();
        Ok(Some(Observed {
            ids: ids(i.id, i.self_link),
            spec: InstanceSpec {
                name: i.name.unwrap_or_default(),
                zone: segment(i.zone.as_deref()),
                machine_type: segment(i.machine_type.as_deref()),
                network: segment(nic.network.as_deref()),
                subnet: segment(nic.subnetwork.as_deref()),
                // The API does not report the region or the boot image of a
                // running instance: these are what meshform asked for.
                region: given.region.clone(),
                image: given.image.clone(),
                tags: i.tags.map(|t| t.items).unwrap_or_default(),
                external_ip: !nic.access_configs.is_empty(),
            },
            outputs: Default::default(),
            deleting: None,
        }))
    }

    async fn create(cloud: &Cloud, spec: &InstanceSpec) -> Result<Applied, CloudError> {
        let p = &cloud.gcp;
        let (name, zone) = (&spec.name, &spec.zone);
        let body = ApiInstance::new()
            .set_name(name)
            .set_machine_type(format!("zones/{zone}/machineTypes/{}", spec.machine_type))
            .set_disks([AttachedDisk::new()
                .set_boot(true)
                .set_auto_delete(true)
                .set_initialize_params(
                    AttachedDiskInitializeParams::new().set_source_image(&spec.image),
                )])
            // No access config: no external address.
            .set_network_interfaces([NetworkInterface::new().set_subnetwork(format!(
                "projects/{}/regions/{}/subnetworks/{}",
                p.project, spec.region, spec.subnet
            ))])
            .set_tags(Tags::new().set_items(spec.tags.clone()))
            .set_metadata(
                Metadata::new()
                    .set_items([Items::new().set_key("enable-oslogin").set_value("TRUE")]),
            );
        let ctx = format!("creating instance {name} in {zone}");
        let sent = p
            .instances
            .insert()
            .set_project(&p.project)
            .set_zone(zone)
            .set_request_id(request_id())
            .set_body(body)
            .with_idempotency(true)
            .send();
        Ok(p.finish(Scope::Zone(zone), &ctx, sent).await?.into())
    }

    async fn update(
        _cloud: &Cloud,
        _before: &InstanceSpec,
        _after: &InstanceSpec,
    ) -> Result<Applied, CloudError> {
        Err(CloudError::Attributes {
            kind: Self::KIND,
            message: "every instance field forces replacement; it cannot be updated".into(),
        })
    }

    async fn delete(cloud: &Cloud, spec: &InstanceSpec) -> Result<(), CloudError> {
        let p = &cloud.gcp;
        let ctx = format!("deleting instance {} in {}", spec.name, spec.zone);
        let sent = p
            .instances
            .delete()
            .set_project(&p.project)
            .set_zone(&spec.zone)
            .set_instance(&spec.name)
            .set_request_id(request_id())
            .with_idempotency(true)
            .send();
        p.finish(Scope::Zone(&spec.zone), &ctx, sent).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_field_has_a_rule() {
        super::super::assert_every_field_has_a_rule::<Instance>(&InstanceSpec {
            name: "bastion".into(),
            zone: "europe-west2-a".into(),
            machine_type: "e2-micro".into(),
            network: "vpc".into(),
            subnet: "eu".into(),
            region: "europe-west2".into(),
            tags: vec![],
            image: "debian-12".into(),
            external_ip: false,
        });
    }
}

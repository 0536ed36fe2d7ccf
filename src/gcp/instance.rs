//! `instance.*`: the bastion host, a VM without an external address in one
//! region's subnet. Any change replaces it.

use google_cloud_compute_v1::model::metadata::Items;
use google_cloud_compute_v1::model::{
    AttachedDisk, AttachedDiskInitializeParams, Instance, Metadata, NetworkInterface, Tags,
};
use google_cloud_gax::options::RequestOptionsBuilder;
use serde_json::json;

use super::operation::Scope;
use super::{found, ids, last_segment, request_id, GcpError, Provider};
use crate::resource::attr::{str as str_attr, strings};
use crate::resource::desired::object;
use crate::resource::{Attrs, Ids, Live};

pub(super) async fn read(
    p: &Provider,
    zone: &str,
    name: &str,
    given: &Attrs,
) -> Result<Option<Live>, GcpError> {
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
    let subnet = nic
        .subnetwork
        .as_deref()
        .map(last_segment)
        .unwrap_or_default();
    let attrs = object(json!({
        "name": i.name,
        "zone": i.zone.as_deref().map(last_segment),
        "machine_type": i.machine_type.as_deref().map(last_segment),
        "network": nic.network.as_deref().map(last_segment),
        "subnet": subnet,
        // The API does not report the region or the boot image of a running
        // instance: these are what meshform asked for.
        "region": given.get("region"),
        "image": given.get("image"),
        "tags": i.tags.map(|t| t.items).unwrap_or_default(),
        "external_ip": !nic.access_configs.is_empty(),
    }));
    Ok(Some(Live {
        ids: ids(i.id, i.self_link),
        attrs,
        deleting: None,
    }))
}

pub(super) async fn create(p: &Provider, attrs: &Attrs) -> Result<Ids, GcpError> {
    let (name, zone) = (str_attr(attrs, "name"), str_attr(attrs, "zone"));
    let region = str_attr(attrs, "region");
    let tags = strings(attrs, "tags");
    let body = Instance::new()
        .set_name(name)
        .set_machine_type(format!(
            "zones/{zone}/machineTypes/{}",
            str_attr(attrs, "machine_type")
        ))
        .set_disks([AttachedDisk::new()
            .set_boot(true)
            .set_auto_delete(true)
            .set_initialize_params(
                AttachedDiskInitializeParams::new().set_source_image(str_attr(attrs, "image")),
            )])
        // No access config: no external address.
        .set_network_interfaces([NetworkInterface::new().set_subnetwork(format!(
            "projects/{}/regions/{region}/subnetworks/{}",
            p.project,
            str_attr(attrs, "subnet")
        ))])
        .set_tags(Tags::new().set_items(tags))
        .set_metadata(
            Metadata::new().set_items([Items::new().set_key("enable-oslogin").set_value("TRUE")]),
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
    p.finish(Scope::Zone(zone), &ctx, sent).await
}

pub(super) async fn delete(p: &Provider, zone: &str, name: &str) -> Result<(), GcpError> {
    let ctx = format!("deleting instance {name} in {zone}");
    let sent = p
        .instances
        .delete()
        .set_project(&p.project)
        .set_zone(zone)
        .set_instance(name)
        .set_request_id(request_id())
        .with_idempotency(true)
        .send();
    p.finish(Scope::Zone(zone), &ctx, sent).await.map(|_| ())
}

//! `subnet.*`: regional subnets with pod and service secondary ranges.
//! Patches carry the current fingerprint; Private Google Access has its own
//! method (`setPrivateIpGoogleAccess`).

use google_cloud_compute_v1::model::{
    Subnetwork, SubnetworkSecondaryRange, SubnetworksSetPrivateIpGoogleAccessRequest,
};
use google_cloud_gax::options::RequestOptionsBuilder;
use serde_json::{json, Value};

use super::operation::Scope;
use super::{api, found, ids, last_segment, request_id, GcpError, Provider};
use crate::resource::attr::str as str_attr;
use crate::resource::desired::{object, sort_secondary_ranges};
use crate::resource::{Attrs, Ids, Live};

fn secondary(attrs: &Attrs) -> Vec<SubnetworkSecondaryRange> {
    attrs["secondary_ranges"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| {
            SubnetworkSecondaryRange::new()
                .set_range_name(r["name"].as_str().unwrap_or_default())
                .set_ip_cidr_range(r["cidr"].as_str().unwrap_or_default())
        })
        .collect()
}

fn pga(attrs: &Attrs) -> bool {
    attrs["private_ip_google_access"].as_bool().unwrap_or(true)
}

pub(super) async fn read(p: &Provider, region: &str, name: &str) -> Result<Option<Live>, GcpError> {
    let got = p
        .subnetworks
        .get()
        .set_project(&p.project)
        .set_region(region)
        .set_subnetwork(name)
        .send()
        .await;
    let Some(s) = found(got, &format!("reading subnet {name} in {region}"))? else {
        return Ok(None);
    };
    Ok(Some(Live {
        ids: ids(s.id, s.self_link.clone()),
        attrs: attrs_of(&s),
        deleting: None,
    }))
}

fn attrs_of(s: &Subnetwork) -> Attrs {
    let mut ranges: Vec<Value> = s
        .secondary_ip_ranges
        .iter()
        .map(|r| json!({"name": r.range_name, "cidr": r.ip_cidr_range}))
        .collect();
    sort_secondary_ranges(&mut ranges);
    object(json!({
        "name": s.name,
        "region": s.region.as_deref().map(last_segment),
        "network": s.network.as_deref().map(last_segment),
        "ip_cidr_range": s.ip_cidr_range,
        "secondary_ranges": ranges,
        "private_ip_google_access": s.private_ip_google_access.unwrap_or(false),
    }))
}

pub(super) async fn create(p: &Provider, attrs: &Attrs) -> Result<Ids, GcpError> {
    let (name, region) = (str_attr(attrs, "name"), str_attr(attrs, "region"));
    let body = Subnetwork::new()
        .set_name(name)
        .set_network(p.network_path(str_attr(attrs, "network")))
        .set_ip_cidr_range(str_attr(attrs, "ip_cidr_range"))
        .set_secondary_ip_ranges(secondary(attrs))
        .set_private_ip_google_access(pga(attrs));
    let ctx = format!("creating subnet {name} in {region}");
    let sent = p
        .subnetworks
        .insert()
        .set_project(&p.project)
        .set_region(region)
        .set_request_id(request_id())
        .set_body(body)
        .with_idempotency(true)
        .send();
    p.finish(Scope::Region(region), &ctx, sent).await
}

pub(super) async fn update(p: &Provider, before: &Attrs, after: &Attrs) -> Result<Ids, GcpError> {
    let (name, region) = (str_attr(after, "name"), str_attr(after, "region"));
    let ctx = format!("updating subnet {name} in {region}");
    let mut result = None;
    if before.get("secondary_ranges") != after.get("secondary_ranges") {
        // The fingerprint must be the current one, so read it right before the patch.
        let current = p
            .subnetworks
            .get()
            .set_project(&p.project)
            .set_region(region)
            .set_subnetwork(name)
            .send()
            .await
            .map_err(api(&ctx))?;
        let mut body = Subnetwork::new().set_secondary_ip_ranges(secondary(after));
        body.fingerprint = current.fingerprint;
        let sent = p
            .subnetworks
            .patch()
            .set_project(&p.project)
            .set_region(region)
            .set_subnetwork(name)
            .set_request_id(request_id())
            .set_body(body)
            .with_idempotency(true)
            .send();
        result = Some(p.finish(Scope::Region(region), &ctx, sent).await?);
    }
    if before.get("private_ip_google_access") != after.get("private_ip_google_access") {
        let sent = p
            .subnetworks
            .set_private_ip_google_access()
            .set_project(&p.project)
            .set_region(region)
            .set_subnetwork(name)
            .set_request_id(request_id())
            .set_body(
                SubnetworksSetPrivateIpGoogleAccessRequest::new()
                    .set_private_ip_google_access(pga(after)),
            )
            .with_idempotency(true)
            .send();
        result = Some(p.finish(Scope::Region(region), &ctx, sent).await?);
    }
    Ok(result.unwrap_or_default())
}

pub(super) async fn delete(p: &Provider, region: &str, name: &str) -> Result<(), GcpError> {
    let ctx = format!("deleting subnet {name} in {region}");
    let sent = p
        .subnetworks
        .delete()
        .set_project(&p.project)
        .set_region(region)
        .set_subnetwork(name)
        .set_request_id(request_id())
        .with_idempotency(true)
        .send();
    p.finish(Scope::Region(region), &ctx, sent)
        .await
        .map(|_| ())
}

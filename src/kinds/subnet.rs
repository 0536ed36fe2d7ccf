//! `subnet.*`: regional subnets with pod and service secondary ranges.
//! Patches carry the current fingerprint; Private Google Access has its own
//! method (`setPrivateIpGoogleAccess`).

use google_cloud_compute_v1::model::{
    Subnetwork, SubnetworkSecondaryRange, SubnetworksSetPrivateIpGoogleAccessRequest,
};
use google_cloud_gax::options::RequestOptionsBuilder;
use serde::{Deserialize, Serialize};

use super::{forces_replacement, updatable, Api, Applied, Field, Kind, Observed, ResourceKind};
use crate::cloud::{Cloud, CloudError};
use crate::gcp::{api, found, ids, last_segment, request_id, InFlight, Scope};

/// The kind.
pub struct Subnet;

/// A subnet's managed attributes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SubnetSpec {
    /// Its name.
    pub name: String,
    /// Its region.
    pub region: String,
    /// The network's name.
    pub network: String,
    /// The primary range.
    pub ip_cidr_range: String,
    /// Secondary ranges, in name order (a set to the API).
    pub secondary_ranges: Vec<SecondaryRange>,
    /// Private Google Access.
    pub private_ip_google_access: bool,
}

/// A named secondary range.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct SecondaryRange {
    /// Its name.
    pub name: String,
    /// Its CIDR.
    pub cidr: String,
}

/// Secondary ranges are a set to the API: compare them in name order.
pub fn sort_secondary_ranges(ranges: &mut [SecondaryRange]) {
    ranges.sort_by(|a, b| a.name.cmp(&b.name));
}

fn secondary(spec: &SubnetSpec) -> Vec<SubnetworkSecondaryRange> {
    spec.secondary_ranges
        .iter()
        .map(|r| {
            SubnetworkSecondaryRange::new()
                .set_range_name(&r.name)
                .set_ip_cidr_range(&r.cidr)
        })
        .collect()
}

fn spec_of(s: &Subnetwork) -> SubnetSpec {
    let mut ranges: Vec<SecondaryRange> = s
        .secondary_ip_ranges
        .iter()
        .map(|r| SecondaryRange {
            name: r.range_name.clone().unwrap_or_default(),
            cidr: r.ip_cidr_range.clone().unwrap_or_default(),
        })
        .collect();
    sort_secondary_ranges(&mut ranges);
    SubnetSpec {
        name: s.name.clone().unwrap_or_default(),
        region: s.region.as_deref().map(last_segment).unwrap_or_default(),
        network: s.network.as_deref().map(last_segment).unwrap_or_default(),
        ip_cidr_range: s.ip_cidr_range.clone().unwrap_or_default(),
        secondary_ranges: ranges,
        private_ip_google_access: s.private_ip_google_access.unwrap_or(false),
    }
}

impl Kind for Subnet {
    type Spec = SubnetSpec;
    const KIND: ResourceKind = ResourceKind::Subnet;
    const API: Api = Api::Compute;
    const FIELDS: &'static [Field] = &[
        forces_replacement("name"),
        forces_replacement("region"),
        forces_replacement("network"),
        forces_replacement("ip_cidr_range"),
        updatable("secondary_ranges"),
        updatable("private_ip_google_access"),
    ];
    const LIVES_IN: &'static [ResourceKind] = &[ResourceKind::Network];

    fn in_flight(spec: &SubnetSpec, project: &str) -> InFlight {
        InFlight::Region {
            region: spec.region.clone(),
            link: format!(
                "projects/{project}/regions/{}/subnetworks/{}",
                spec.region, spec.name
            ),
        }
    }

    async fn read(
        cloud: &Cloud,
        spec: &SubnetSpec,
    ) -> Result<Option<Observed<SubnetSpec>>, CloudError> {
        let p = &cloud.gcp;
        let (name, region) = (&spec.name, &spec.region);
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
        Ok(Some(Observed {
            ids: ids(s.id, s.self_link.clone()),
            spec: spec_of(&s),
            outputs: Default::default(),
            deleting: None,
        }))
    }

    async fn create(cloud: &Cloud, spec: &SubnetSpec) -> Result<Applied, CloudError> {
        let p = &cloud.gcp;
        let body = Subnetwork::new()
            .set_name(&spec.name)
            .set_network(p.network_path(&spec.network))
            .set_ip_cidr_range(&spec.ip_cidr_range)
            .set_secondary_ip_ranges(secondary(spec))
            .set_private_ip_google_access(spec.private_ip_google_access);
        let ctx = format!("creating subnet {} in {}", spec.name, spec.region);
        let sent = p
            .subnetworks
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
        before: &SubnetSpec,
        after: &SubnetSpec,
    ) -> Result<Applied, CloudError> {
        let p = &cloud.gcp;
        let (name, region) = (&after.name, &after.region);
        let ctx = format!("updating subnet {name} in {region}");
        let mut result = None;
        if before.secondary_ranges != after.secondary_ranges {
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
        if before.private_ip_google_access != after.private_ip_google_access {
            let sent = p
                .subnetworks
                .set_private_ip_google_access()
                .set_project(&p.project)
                .set_region(region)
                .set_subnetwork(name)
                .set_request_id(request_id())
                .set_body(
                    SubnetworksSetPrivateIpGoogleAccessRequest::new()
                        .set_private_ip_google_access(after.private_ip_google_access),
                )
                .with_idempotency(true)
                .send();
            result = Some(p.finish(Scope::Region(region), &ctx, sent).await?);
        }
        Ok(result.unwrap_or_default().into())
    }

    async fn delete(cloud: &Cloud, spec: &SubnetSpec) -> Result<(), CloudError> {
        let p = &cloud.gcp;
        let ctx = format!("deleting subnet {} in {}", spec.name, spec.region);
        let sent = p
            .subnetworks
            .delete()
            .set_project(&p.project)
            .set_region(&spec.region)
            .set_subnetwork(&spec.name)
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
        super::super::assert_every_field_has_a_rule::<Subnet>(&SubnetSpec {
            name: "eu".into(),
            region: "europe-west2".into(),
            network: "vpc".into(),
            ip_cidr_range: "10.0.0.0/20".into(),
            secondary_ranges: vec![],
            private_ip_google_access: true,
        });
    }
}

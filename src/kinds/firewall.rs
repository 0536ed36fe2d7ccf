//! `firewall.*`: VPC firewall rules (global). `allow`/`deny` entries are
//! `PROTOCOL[:PORTS]` strings, e.g. `tcp:22` or `tcp:80,443`.

use google_cloud_compute_v1::model::firewall::{Allowed, Denied, Direction};
use google_cloud_compute_v1::model::Firewall as ApiFirewall;
use google_cloud_gax::options::RequestOptionsBuilder;
use serde::{Deserialize, Serialize};

use super::{forces_replacement, updatable, Api, Applied, Field, Kind, Observed, ResourceKind};
use crate::cloud::{Cloud, CloudError};
use crate::gcp::{found, ids, last_segment, request_id, InFlight, Provider, Scope};

/// The kind.
pub struct Firewall;

/// A firewall rule's managed attributes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FirewallSpec {
    /// Its name.
    pub name: String,
    /// The network's name.
    pub network: String,
    /// `INGRESS` or `EGRESS`.
    pub direction: String,
    /// Priority, 0–65535.
    pub priority: i32,
    /// Allowed `PROTOCOL[:PORTS]`.
    pub allow: Vec<String>,
    /// Denied `PROTOCOL[:PORTS]`.
    pub deny: Vec<String>,
    /// Source CIDRs.
    pub source_ranges: Vec<String>,
    /// Source network tags.
    pub source_tags: Vec<String>,
    /// Destination CIDRs.
    pub destination_ranges: Vec<String>,
    /// Target network tags.
    pub target_tags: Vec<String>,
    /// Description.
    pub description: String,
}

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

fn body(p: &Provider, spec: &FirewallSpec) -> ApiFirewall {
    let allowed = spec.allow.iter().map(|s| {
        let (proto, ports) = split_spec(s);
        Allowed::new().set_ip_protocol(proto).set_ports(ports)
    });
    let denied = spec.deny.iter().map(|s| {
        let (proto, ports) = split_spec(s);
        Denied::new().set_ip_protocol(proto).set_ports(ports)
    });
    ApiFirewall::new()
        .set_name(&spec.name)
        .set_network(p.network_path(&spec.network))
        .set_direction(Direction::from(spec.direction.as_str()))
        .set_priority(spec.priority)
        .set_allowed(allowed.collect::<Vec<_>>())
        .set_denied(denied.collect::<Vec<_>>())
        .set_source_ranges(spec.source_ranges.clone())
        .set_source_tags(spec.source_tags.clone())
        .set_destination_ranges(spec.destination_ranges.clone())
        .set_target_tags(spec.target_tags.clone())
        .set_description(&spec.description)
}

impl Kind for Firewall {
    type Spec = FirewallSpec;
    const KIND: ResourceKind = ResourceKind::Firewall;
    const API: Api = Api::Compute;
    const FIELDS: &'static [Field] = &[
        forces_replacement("name"),
        forces_replacement("network"),
        forces_replacement("direction"),
        updatable("priority"),
        updatable("allow"),
        updatable("deny"),
        updatable("source_ranges"),
        updatable("source_tags"),
        updatable("destination_ranges"),
        updatable("target_tags"),
        updatable("description"),
    ];
    const LIVES_IN: &'static [ResourceKind] = &[ResourceKind::Network];

    fn in_flight(spec: &FirewallSpec, project: &str) -> InFlight {
        InFlight::Global(format!("projects/{project}/global/firewalls/{}", spec.name))
    }

    async fn read(
        cloud: &Cloud,
        spec: &FirewallSpec,
    ) -> Result<Option<Observed<FirewallSpec>>, CloudError> {
        let p = &cloud.gcp;
        let name = &spec.name;
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
        let allow = f
            .allowed
            .iter()
            .map(|a| join_spec(a.ip_protocol.as_deref(), &a.ports))
            .collect();
        let deny = f
            .denied
            .iter()
            .map(|a| join_spec(a.ip_protocol.as_deref(), &a.ports))
            .collect();
        Ok(Some(Observed {
            ids: ids(f.id, f.self_link),
            spec: FirewallSpec {
                name: f.name.unwrap_or_default(),
                network: f.network.as_deref().map(last_segment).unwrap_or_default(),
                direction: f
                    .direction
                    .as_ref()
                    .and_then(|d| d.name())
                    .unwrap_or("INGRESS")
                    .to_string(),
                priority: f.priority.unwrap_or(1000),
                allow,
                deny,
                source_ranges: f.source_ranges,
                source_tags: f.source_tags,
                destination_ranges: f.destination_ranges,
                target_tags: f.target_tags,
                description: f.description.unwrap_or_default(),
            },
            outputs: Default::default(),
            deleting: None,
        }))
    }

    async fn create(cloud: &Cloud, spec: &FirewallSpec) -> Result<Applied, CloudError> {
        let p = &cloud.gcp;
        let ctx = format!("creating firewall rule {}", spec.name);
        let sent = p
            .firewalls
            .insert()
            .set_project(&p.project)
            .set_request_id(request_id())
            .set_body(body(p, spec))
            .with_idempotency(true)
            .send();
        Ok(p.finish(Scope::Global, &ctx, sent).await?.into())
    }

    async fn update(
        cloud: &Cloud,
        _before: &FirewallSpec,
        after: &FirewallSpec,
    ) -> Result<Applied, CloudError> {
        let p = &cloud.gcp;
        let ctx = format!("updating firewall rule {}", after.name);
        let sent = p
            .firewalls
            .patch()
            .set_project(&p.project)
            .set_firewall(&after.name)
            .set_request_id(request_id())
            .set_body(body(p, after))
            .with_idempotency(true)
            .send();
        Ok(p.finish(Scope::Global, &ctx, sent).await?.into())
    }

    async fn delete(cloud: &Cloud, spec: &FirewallSpec) -> Result<(), CloudError> {
        let p = &cloud.gcp;
        let ctx = format!("deleting firewall rule {}", spec.name);
        let sent = p
            .firewalls
            .delete()
            .set_project(&p.project)
            .set_firewall(&spec.name)
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
        super::super::assert_every_field_has_a_rule::<Firewall>(&FirewallSpec {
            name: "allow-iap".into(),
            network: "vpc".into(),
            direction: "INGRESS".into(),
            priority: 1000,
            allow: vec!["tcp:22".into()],
            deny: vec![],
            source_ranges: vec![],
            source_tags: vec![],
            destination_ranges: vec![],
            target_tags: vec![],
            description: String::new(),
        });
    }

    #[test]
    fn protocol_and_ports_round_trip() {
        assert_eq!(
            split_spec("tcp:80,443"),
            ("tcp".into(), vec!["80".into(), "443".into()])
        );
        assert_eq!(join_spec(Some("icmp"), &[]), "icmp");
    }
}

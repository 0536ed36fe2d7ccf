//! `gke_leftovers.*`: what GKE made on the network for one cluster's
//! LoadBalancer Services — forwarding rules, regional backend services,
//! `GCE_VM_IP` NEGs, health checks and firewall rules — and may leave
//! behind when the cluster goes first (MESH.md, "GKE internal passthrough
//! load balancer"). Leftovers block the network's delete.
//!
//! A bookkeeping resource: creating it calls nothing; its delete is the
//! **sweep**, run after the cluster's delete ([`Kind::SWEEPS_AFTER`]) and
//! after the deletes of everything that lived in the cluster, however they
//! ended. Pieces are recognised only by GKE's names and the cluster's
//! identity, never by a guess: the firewall rules GKE made for the cluster
//! target its node tag (`gke-<name>-<id8>-node`, an output of the cluster)
//! and are named `k8s2-<uid8>-…`, where `uid8` stands for the cluster
//! (ingress-gce's L4 namer); every piece of that cluster is named
//! `k8s2-<uid8>-…` or `k8s2-<protocol>-<uid8>-…` on the same network. While
//! the cluster exists its pieces belong to its Services, so a sweep of a
//! cluster that stays removes nothing.

use std::collections::BTreeSet;
use std::fmt;

use google_cloud_gax::options::RequestOptionsBuilder;
use google_cloud_gax::paginator::Paginator;
use serde::{Deserialize, Serialize};

use super::{
    forces_replacement, observed, Api, Applied, Field, Kind, Limits, Observed, ResourceKind,
};
use crate::cloud::{Cloud, CloudError};
use crate::gcp::{api, last_segment, request_id, GcpError, Provider, Scope};
use crate::resource::outputs::Known;
use crate::resource::Ids;

/// The kind.
pub struct GkeLeftovers;

/// Whose leftovers, and what a read found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GkeLeftoversSpec {
    /// The cluster's name.
    pub cluster: String,
    /// The cluster's location (zone or region).
    pub location: String,
    /// The region its load balancers are in.
    pub region: String,
    /// The network's name.
    pub network: String,
    /// The cluster's node tag (an output of the cluster).
    pub node_tag: Known<String>,
    /// What GKE made for the cluster and is on the network now, e.g.
    /// `forwarding rule europe-west2/k8s2-tcp-…`: reported, never asked for.
    pub found: Vec<String>,
}

/// The collections GKE's L4 load balancers use, in the order a sweep
/// deletes them (users before what they use).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Collection {
    ForwardingRule,
    BackendService,
    Neg,
    HealthCheck,
    Firewall,
}

impl Collection {
    fn label(self) -> &'static str {
        match self {
            Collection::ForwardingRule => "forwarding rule",
            Collection::BackendService => "backend service",
            Collection::Neg => "network endpoint group",
            Collection::HealthCheck => "health check",
            Collection::Firewall => "firewall rule",
        }
    }
}

/// One piece GKE made: its collection, scope (region, zone, or `global`)
/// and name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Piece {
    collection: Collection,
    scope: String,
    name: String,
}

impl fmt::Display for Piece {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {}/{}",
            self.collection.label(),
            self.scope,
            self.name
        )
    }
}

/// The `uid8` of the L4 namer in a GKE firewall rule's name: `k8s2-<uid8>-…`.
fn uid_of_rule(name: &str) -> Option<&str> {
    let mut parts = name.split('-');
    (parts.next() == Some("k8s2"))
        .then(|| parts.next())
        .flatten()
        .filter(|u| u.len() == 8)
}

/// Whether `name` is one of the pieces the L4 namer names for `uid8`:
/// `k8s2-<uid8>-…`, or `k8s2-<protocol>-<uid8>-…` for a forwarding rule.
fn named_for(name: &str, uid8: &str) -> bool {
    let Some(rest) = name.strip_prefix("k8s2-") else {
        return false;
    };
    if rest.starts_with(&format!("{uid8}-")) {
        return true;
    }
    ["tcp-", "udp-", "l3-"].iter().any(|p| {
        rest.strip_prefix(p)
            .is_some_and(|r| r.starts_with(&format!("{uid8}-")))
    })
}

/// Every piece on `network` GKE made for the cluster whose nodes carry `node_tag`.
async fn find(
    p: &Provider,
    spec: &GkeLeftoversSpec,
    node_tag: &str,
) -> Result<Vec<Piece>, GcpError> {
    let on_network = |link: &Option<String>| {
        link.as_deref().map(last_segment).as_deref() == Some(spec.network.as_str())
    };
    let firewalls = p.list_firewalls().await?;
    let uids: BTreeSet<String> = firewalls
        .iter()
        .filter(|f| on_network(&f.network) && f.target_tags.iter().any(|t| t == node_tag))
        .filter_map(|f| f.name.as_deref().and_then(uid_of_rule).map(str::to_string))
        .collect();
    if uids.is_empty() {
        return Ok(Vec::new());
    }
    let ours = |name: &Option<String>| {
        name.as_deref()
            .is_some_and(|n| uids.iter().any(|u| named_for(n, u)))
    };
    let piece = |collection, scope: &str, name: &Option<String>| Piece {
        collection,
        scope: scope.to_string(),
        name: name.clone().unwrap_or_default(),
    };
    let mut found: Vec<Piece> = firewalls
        .iter()
        .filter(|f| on_network(&f.network) && ours(&f.name))
        .map(|f| piece(Collection::Firewall, "global", &f.name))
        .collect();
    let mut pages = p
        .forwarding_rules
        .list()
        .set_project(&p.project)
        .set_region(&spec.region)
        .by_page();
    while let Some(page) = pages.next().await {
        for fr in page.map_err(api("listing forwarding rules"))?.items {
            if on_network(&fr.network) && ours(&fr.name) {
                found.push(piece(Collection::ForwardingRule, &spec.region, &fr.name));
            }
        }
    }
    let mut pages = p
        .backend_services
        .list()
        .set_project(&p.project)
        .set_region(&spec.region)
        .by_page();
    while let Some(page) = pages.next().await {
        for bs in page.map_err(api("listing backend services"))?.items {
            if ours(&bs.name) {
                found.push(piece(Collection::BackendService, &spec.region, &bs.name));
            }
        }
    }
    let mut pages = p.negs.aggregated_list().set_project(&p.project).by_page();
    while let Some(page) = pages.next().await {
        for (scope, list) in page.map_err(api("listing network endpoint groups"))?.items {
            let zone = scope.trim_start_matches("zones/").to_string();
            for neg in list.network_endpoint_groups {
                if on_network(&neg.network) && ours(&neg.name) {
                    found.push(piece(Collection::Neg, &zone, &neg.name));
                }
            }
        }
    }
    let mut pages = p.health_checks.list().set_project(&p.project).by_page();
    while let Some(page) = pages.next().await {
        for hc in page.map_err(api("listing health checks"))?.items {
            if ours(&hc.name) {
                found.push(piece(Collection::HealthCheck, "global", &hc.name));
            }
        }
    }
    found.sort();
    Ok(found)
}

/// Deletes one piece and waits for it; gone already is done.
async fn remove(p: &Provider, piece: &Piece) -> Result<(), GcpError> {
    let ctx = format!("sweeping {piece}");
    let (project, name, scope) = (&p.project, &piece.name, piece.scope.as_str());
    let sent = match piece.collection {
        Collection::ForwardingRule => {
            p.finish(
                Scope::Region(scope),
                &ctx,
                p.forwarding_rules
                    .delete()
                    .set_project(project)
                    .set_region(scope)
                    .set_forwarding_rule(name)
                    .set_request_id(request_id())
                    .with_idempotency(true)
                    .send(),
            )
            .await
        }
        Collection::BackendService => {
            p.finish(
                Scope::Region(scope),
                &ctx,
                p.backend_services
                    .delete()
                    .set_project(project)
                    .set_region(scope)
                    .set_backend_service(name)
                    .set_request_id(request_id())
                    .with_idempotency(true)
                    .send(),
            )
            .await
        }
        Collection::Neg => {
            p.finish(
                Scope::Zone(scope),
                &ctx,
                p.negs
                    .delete()
                    .set_project(project)
                    .set_zone(scope)
                    .set_network_endpoint_group(name)
                    .set_request_id(request_id())
                    .with_idempotency(true)
                    .send(),
            )
            .await
        }
        Collection::HealthCheck => {
            p.finish(
                Scope::Global,
                &ctx,
                p.health_checks
                    .delete()
                    .set_project(project)
                    .set_health_check(name)
                    .set_request_id(request_id())
                    .with_idempotency(true)
                    .send(),
            )
            .await
        }
        Collection::Firewall => {
            p.finish(
                Scope::Global,
                &ctx,
                p.firewalls
                    .delete()
                    .set_project(project)
                    .set_firewall(name)
                    .set_request_id(request_id())
                    .with_idempotency(true)
                    .send(),
            )
            .await
        }
    };
    match sent {
        Err(e) if e.is_not_found() => Ok(()),
        other => other.map(|_| ()),
    }
}

impl Kind for GkeLeftovers {
    type Spec = GkeLeftoversSpec;
    const KIND: ResourceKind = ResourceKind::GkeLeftovers;
    const API: Api = Api::Compute;
    const FIELDS: &'static [Field] = &[
        forces_replacement("cluster"),
        forces_replacement("location"),
        forces_replacement("region"),
        forces_replacement("network"),
        forces_replacement("node_tag"),
        observed("found"),
    ];
    const SWEEPS_AFTER: &'static [ResourceKind] = &[ResourceKind::Cluster];
    const LIMITS: Limits = Limits {
        create: 5,
        update: 5,
        delete: 20,
    };

    async fn read(
        cloud: &Cloud,
        spec: &GkeLeftoversSpec,
    ) -> Result<Option<Observed<GkeLeftoversSpec>>, CloudError> {
        let found = match spec.node_tag.value() {
            Ok(tag) => find(&cloud.gcp, spec, tag).await?,
            Err(_) => Vec::new(),
        };
        Ok(Some(Observed {
            ids: Ids::default(),
            spec: GkeLeftoversSpec {
                found: found.iter().map(Piece::to_string).collect(),
                ..spec.clone()
            },
            outputs: Default::default(),
            deleting: None,
        }))
    }

    async fn create(_cloud: &Cloud, _spec: &GkeLeftoversSpec) -> Result<Applied, CloudError> {
        Ok(Applied::default())
    }

    async fn update(
        _cloud: &Cloud,
        _before: &GkeLeftoversSpec,
        _after: &GkeLeftoversSpec,
    ) -> Result<Applied, CloudError> {
        Ok(Applied::default())
    }

    async fn delete(cloud: &Cloud, spec: &GkeLeftoversSpec) -> Result<(), CloudError> {
        let Ok(tag) = spec.node_tag.value() else {
            return Ok(());
        };
        if cloud
            .kube
            .cluster_stays(&spec.location, &spec.cluster)
            .await?
        {
            crate::progress::note(format!(
                "cluster {} stays: its load balancers belong to its Services, nothing to sweep",
                spec.cluster
            ));
            return Ok(());
        }
        let pieces = find(&cloud.gcp, spec, tag).await?;
        if pieces.is_empty() {
            crate::progress::note("nothing left behind");
        }
        for piece in &pieces {
            remove(&cloud.gcp, piece).await?;
            crate::progress::note(format!("swept {piece}"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_field_has_a_rule() {
        super::super::assert_every_field_has_a_rule::<GkeLeftovers>(&GkeLeftoversSpec {
            cluster: "c1".into(),
            location: "europe-west2-a".into(),
            region: "europe-west2".into(),
            network: "vpc".into(),
            node_tag: Known::Value("gke-c1-01234567-node".into()),
            found: vec![],
        });
    }

    #[test]
    fn pieces_are_recognised_by_the_l4_namers_names_only() {
        assert_eq!(
            uid_of_rule("k8s2-ab12cd34-istio-system-istio-eastw-x1y2z3w4"),
            Some("ab12cd34")
        );
        assert_eq!(
            uid_of_rule("k8s2-ab12cd34-l4-shared-hc-fw"),
            Some("ab12cd34")
        );
        assert_eq!(uid_of_rule("gke-c1-01234567-all"), None);
        assert!(named_for(
            "k8s2-tcp-ab12cd34-istio-system-istio-eastw-x1y2z3w4",
            "ab12cd34"
        ));
        assert!(named_for("k8s2-ab12cd34-l4-shared-hc", "ab12cd34"));
        assert!(!named_for(
            "k8s2-tcp-ffffffff-istio-system-istio-eastw-x1y2z3w4",
            "ab12cd34"
        ));
        assert!(!named_for("my-k8s2-ab12cd34-rule", "ab12cd34"));
        assert!(!named_for("k8s2-ab12cd345-x", "ab12cd34"));
    }

    #[test]
    fn a_sweep_deletes_users_before_what_they_use() {
        let mut pieces = [
            Piece {
                collection: Collection::Firewall,
                scope: "global".into(),
                name: "a".into(),
            },
            Piece {
                collection: Collection::HealthCheck,
                scope: "global".into(),
                name: "b".into(),
            },
            Piece {
                collection: Collection::ForwardingRule,
                scope: "r".into(),
                name: "c".into(),
            },
            Piece {
                collection: Collection::BackendService,
                scope: "r".into(),
                name: "d".into(),
            },
        ];
        pieces.sort();
        let order: Vec<Collection> = pieces.iter().map(|p| p.collection).collect();
        assert_eq!(
            order,
            [
                Collection::ForwardingRule,
                Collection::BackendService,
                Collection::HealthCheck,
                Collection::Firewall
            ]
        );
        assert_eq!(pieces[0].to_string(), "forwarding rule r/c");
    }
}

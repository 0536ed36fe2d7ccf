//! The checks of `meshform verify`, as pure functions of the facts read
//! (`facts.rs`): each says what it found and, when it fails, what is wrong
//! and what to do.

use std::net::Ipv4Addr;
use std::time::SystemTime;

use serde::Serialize;

use super::facts::{ClusterFacts, Facts, GkeFacts, KubeFacts};
use super::firewall::{decide, Flow};
use crate::kinds::remote_secret::{CLUSTER_ANNOTATION, LABEL};
use crate::kube::manifest::rolled_out;
use crate::mesh::ca;
use crate::mesh::gateway::{GLOBAL_ACCESS_ANNOTATION, INTERNAL_ANNOTATION};

/// Istio's port for cross-network (mTLS passthrough) traffic.
pub const CROSS_NETWORK_PORT: u16 = 15443;
/// istiod's webhook port, which the control plane must reach on the nodes.
pub const WEBHOOK_PORT: u16 = 15017;

/// Whether a check holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// It holds.
    Pass,
    /// It does not.
    Fail,
}

/// One line of the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    /// A cluster (`istio-cluster1`) or a pair (`istio-cluster1 -> istio-cluster2`).
    pub subject: String,
    /// What is checked.
    pub check: &'static str,
    /// Whether it holds.
    pub result: Outcome,
    /// What was found, and for a failure what to do.
    pub why: String,
}

fn pass(subject: &str, check: &'static str, why: impl Into<String>) -> Check {
    Check {
        subject: subject.to_string(),
        check,
        result: Outcome::Pass,
        why: why.into(),
    }
}

fn fail(subject: &str, check: &'static str, why: impl Into<String>) -> Check {
    Check {
        subject: subject.to_string(),
        check,
        result: Outcome::Fail,
        why: why.into(),
    }
}

fn judged(subject: &str, check: &'static str, r: Result<String, String>) -> Check {
    match r {
        Ok(why) => pass(subject, check, why),
        Err(why) => fail(subject, check, why),
    }
}

/// Every check over `facts`, at `now`, trusting the mesh roots
/// `trusted_roots` (fingerprints from state; empty when unknown).
pub fn run(facts: &Facts, trusted_roots: &[String], now: SystemTime) -> Vec<Check> {
    let mut out = Vec::new();
    for c in &facts.clusters {
        out.extend(cluster_checks(facts, c, trusted_roots, now));
    }
    for a in &facts.clusters {
        for b in facts.clusters.iter().filter(|b| b.name != a.name) {
            out.extend(pair_checks(facts, a, b));
        }
    }
    out
}

fn multi_region(facts: &Facts) -> bool {
    let mut regions: Vec<&str> = facts.clusters.iter().map(|c| c.region.as_str()).collect();
    regions.sort_unstable();
    regions.dedup();
    regions.len() > 1
}

/// The node tags of a cluster: meshform's and GKE's.
fn node_tags(c: &ClusterFacts) -> Vec<String> {
    let mut tags = vec![c.plan_node_tag.clone()];
    tags.extend(c.gke.as_ref().map(|g| g.node_tag.clone()));
    tags
}

fn cluster_checks(
    facts: &Facts,
    c: &ClusterFacts,
    trusted_roots: &[String],
    now: SystemTime,
) -> Vec<Check> {
    let s = c.name.as_str();
    let mut out = vec![judged(s, "cluster running", running(c))];
    if c.gke.is_none() {
        return out;
    }
    out.push(judged(s, "webhook firewall", webhook(facts, c)));
    let Some(mesh) = &facts.mesh else {
        return out;
    };
    let kube = match &c.kube {
        Ok(k) => k,
        Err(why) => {
            out.push(fail(s, "kubernetes api", why.clone()));
            return out;
        }
    };
    out.push(judged(s, "istiod", istiod(kube, &mesh.istiod)));
    out.push(judged(s, "plugged-in ca", plugged_in(kube)));
    out.push(judged(
        s,
        "cacerts chain",
        chain(facts, c, kube, trusted_roots, now),
    ));
    out.push(judged(
        s,
        "intermediate expiry",
        expiry(kube, mesh.reissue_window, now),
    ));
    out.push(judged(s, "gateway address", gateway_address(c, kube)));
    out.push(judged(s, "gateway annotations", annotations(facts, kube)));
    if multi_region(facts) {
        out.push(judged(s, "gateway global access", global_access(kube)));
    }
    if let Some(settings) = &mesh.samples {
        let found = kube.samples.clone().unwrap_or_default();
        let judged_samples = super::samples::check(settings, &c.mesh_name, &found);
        out.push(judged(s, "samples", judged_samples));
    }
    out
}

fn running(c: &ClusterFacts) -> Result<String, String> {
    match &c.gke {
        None => Err(format!("GKE has no cluster {} in {}", c.name, c.location)),
        Some(g) if g.status == "RUNNING" => Ok("RUNNING".into()),
        Some(g) => Err(format!("GKE reports {}", g.status)),
    }
}

fn webhook(facts: &Facts, c: &ClusterFacts) -> Result<String, String> {
    let tags = node_tags(c);
    let verdict = decide(
        &facts.firewalls,
        &Flow {
            network: &facts.network,
            source: c.master_cidr,
            target_tags: &tags,
            destination: None,
            protocol: "tcp",
            port: WEBHOOK_PORT,
        },
    );
    let what = format!(
        "tcp:{WEBHOOK_PORT} from the control plane ({}) to the nodes",
        c.master_cidr
    );
    if verdict.allowed {
        Ok(format!("{what}: {verdict}"))
    } else {
        Err(format!(
            "{what}: {verdict}; Istio's webhook cannot be called (run meshform apply)"
        ))
    }
}

fn istiod(kube: &KubeFacts, name: &str) -> Result<String, String> {
    let Some(d) = &kube.istiod else {
        return Err(format!(
            "no Deployment {name} in istio-system (run meshform apply)"
        ));
    };
    let status = &d["status"];
    let ready = format!(
        "{}/{} replicas available",
        status["availableReplicas"].as_i64().unwrap_or(0),
        d["spec"]["replicas"].as_i64().unwrap_or(1)
    );
    if rolled_out(Some(d)) {
        Ok(format!("Deployment {name} Available, {ready}"))
    } else {
        Err(format!("Deployment {name} is not Available: {ready}"))
    }
}

fn plugged_in(kube: &KubeFacts) -> Result<String, String> {
    match (&kube.cacerts, kube.istio_ca_secret) {
        (None, _) => Err(
            "no Secret cacerts in istio-system: istiod signs with a CA of its own (run meshform apply)"
                .into(),
        ),
        (Some(_), true) => Err(
            "istio-ca-secret exists: istiod made its own CA instead of using cacerts (it started before cacerts existed); delete istio-ca-secret and restart istiod"
                .into(),
        ),
        (Some(_), false) => Ok("cacerts present, no istio-ca-secret".into()),
    }
}

fn chain(
    facts: &Facts,
    c: &ClusterFacts,
    kube: &KubeFacts,
    trusted_roots: &[String],
    now: SystemTime,
) -> Result<String, String> {
    let Some(files) = &kube.cacerts else {
        return Err("no Secret cacerts".into());
    };
    let get = |f: &str| files.get(f).cloned().unwrap_or_default();
    let (cert, roots, cert_chain) = (
        get("ca-cert.pem"),
        get("root-cert.pem"),
        get("cert-chain.pem"),
    );
    ca::verify_chain(&cert, &roots, now).map_err(|e| format!("ca-cert.pem: {e}"))?;
    let mine = ca::fingerprints(&roots);
    if !trusted_roots.is_empty() && !mine.iter().any(|r| trusted_roots.contains(r)) {
        return Err(format!(
            "root-cert.pem holds {}, not the mesh's root {} (cacerts from another root: run meshform apply)",
            short(&mine),
            short(trusted_roots)
        ));
    }
    if ca::fingerprints(&cert_chain).first() != ca::fingerprints(&cert).first() {
        return Err("cert-chain.pem does not start with ca-cert.pem".into());
    }
    // Every cluster must trust the same roots.
    for other in facts.clusters.iter().filter(|o| o.name != c.name) {
        let Ok(k) = &other.kube else { continue };
        let Some(theirs) = k.cacerts.as_ref().and_then(|f| f.get("root-cert.pem")) else {
            continue;
        };
        if ca::fingerprints(theirs) != mine {
            return Err(format!(
                "root-cert.pem ({}) differs from {}'s ({}): the clusters do not trust each other",
                short(&mine),
                other.name,
                short(&ca::fingerprints(theirs))
            ));
        }
    }
    Ok(format!(
        "ca-cert.pem is signed by the mesh's root {}",
        short(&mine)
    ))
}

/// `sha256:0123456789ab…` for each fingerprint.
fn short(fingerprints: &[String]) -> String {
    fingerprints
        .iter()
        .map(|f| format!("{}…", &f[..f.len().min(19)]))
        .collect::<Vec<_>>()
        .join(", ")
}

fn expiry(
    kube: &KubeFacts,
    window: std::time::Duration,
    now: SystemTime,
) -> Result<String, String> {
    let cert = kube
        .cacerts
        .as_ref()
        .and_then(|f| f.get("ca-cert.pem"))
        .ok_or("no ca-cert.pem")?;
    let info = ca::inspect(cert).map_err(|e| e.to_string())?;
    let days = window.as_secs() / 86_400;
    if info.expires > now + window {
        Ok(format!(
            "the intermediate expires {}, after the {days}-day re-issue window",
            info.not_after
        ))
    } else {
        Err(format!(
            "the intermediate expires {}, within the {days}-day re-issue window: run meshform apply to re-issue it",
            info.not_after
        ))
    }
}

fn gateway_address(c: &ClusterFacts, kube: &KubeFacts) -> Result<String, String> {
    let gw = kube
        .gateway
        .as_ref()
        .ok_or("no Service istio-eastwestgateway in istio-system (run meshform apply)")?;
    let address = gw
        .address
        .as_deref()
        .ok_or("the gateway's load balancer has no address yet")?;
    match address.parse::<Ipv4Addr>() {
        Ok(ip) if c.subnet.contains(&ip) => Ok(format!(
            "internal address {address} in {} ({})",
            c.subnet, c.region
        )),
        _ => Err(format!(
            "address {address} is not in the subnet {}: the load balancer is not internal",
            c.subnet
        )),
    }
}

fn annotations(facts: &Facts, kube: &KubeFacts) -> Result<String, String> {
    let gw = kube.gateway.as_ref().ok_or("no gateway Service")?;
    let get = |k: &str| gw.annotations.get(k).map(String::as_str);
    match get(INTERNAL_ANNOTATION) {
        Some("Internal") => {}
        Some(v) => {
            return Err(format!(
                "{INTERNAL_ANNOTATION}: {v:?}; GKE makes an internal load balancer only for \"Internal\""
            ))
        }
        None => {
            return Err(format!(
                "{INTERNAL_ANNOTATION} is missing: GKE makes an external load balancer"
            ))
        }
    }
    if !multi_region(facts) {
        return Ok(format!("{INTERNAL_ANNOTATION}: \"Internal\""));
    }
    match get(GLOBAL_ACCESS_ANNOTATION) {
        Some("true") => Ok(format!(
            "{INTERNAL_ANNOTATION}: \"Internal\", {GLOBAL_ACCESS_ANNOTATION}: \"true\""
        )),
        Some(v) => Err(format!(
            "{GLOBAL_ACCESS_ANNOTATION}: {v:?}; GKE turns global access on only for exactly \"true\", and the peers are in other regions"
        )),
        None => Err(format!(
            "{GLOBAL_ACCESS_ANNOTATION} is missing, and the peers are in other regions"
        )),
    }
}

fn global_access(kube: &KubeFacts) -> Result<String, String> {
    let gw = kube.gateway.as_ref().ok_or("no gateway Service")?;
    match &gw.forwarding_rule {
        None => Err("GKE has not named a forwarding rule for the gateway yet".into()),
        Some((name, None)) => Err(format!("forwarding rule {name} does not exist")),
        Some((name, Some(true))) => Ok(format!("forwarding rule {name} allows global access")),
        Some((name, Some(false))) => Err(format!(
            "forwarding rule {name} does not allow global access: clients in other regions cannot reach the gateway"
        )),
    }
}

fn pair_checks(facts: &Facts, a: &ClusterFacts, b: &ClusterFacts) -> Vec<Check> {
    let s = format!("{} -> {}", a.name, b.name);
    let mut out = Vec::new();
    let Some(b_gke) = &b.gke else {
        return out;
    };
    out.push(judged(
        &s,
        "control plane access",
        control_plane(a, b, b_gke),
    ));
    if facts.mesh.is_none() {
        return out;
    }
    out.push(judged(
        &s,
        "gateway firewall",
        gateway_firewall(facts, a, b),
    ));
    if let Ok(kube) = &a.kube {
        out.push(judged(&s, "remote secret", remote_secret(kube, b, b_gke)));
    }
    out
}

fn control_plane(a: &ClusterFacts, b: &ClusterFacts, gke: &GkeFacts) -> Result<String, String> {
    if a.region != b.region && !gke.master_global_access {
        return Err(format!(
            "{} has no master global access: {}'s istiod in {} cannot reach its private endpoint (run meshform apply)",
            b.name, a.name, a.region
        ));
    }
    match gke.authorized.iter().find(|n| n.contains(&a.pod_range)) {
        Some(n) => Ok(format!(
            "{}'s pod range {} is authorized by {n} on {}{}",
            a.name,
            a.pod_range,
            b.name,
            if a.region != b.region { ", with master global access" } else { "" }
        )),
        None => Err(format!(
            "{}'s pod range {} is not in {}'s authorized networks: its istiod cannot read {} (run meshform apply)",
            a.name, a.pod_range, b.name, b.name
        )),
    }
}

fn gateway_firewall(facts: &Facts, a: &ClusterFacts, b: &ClusterFacts) -> Result<String, String> {
    let tags = node_tags(b);
    let destination = b
        .kube
        .as_ref()
        .ok()
        .and_then(|k| k.gateway.as_ref())
        .and_then(|g| g.address.as_deref())
        .and_then(|a| a.parse().ok());
    let verdict = decide(
        &facts.firewalls,
        &Flow {
            network: &facts.network,
            source: a.pod_range,
            target_tags: &tags,
            destination,
            protocol: "tcp",
            port: CROSS_NETWORK_PORT,
        },
    );
    let what = format!(
        "tcp:{CROSS_NETWORK_PORT} from {}'s pods ({}) to {}'s gateway",
        a.name, a.pod_range, b.name
    );
    if verdict.allowed {
        Ok(format!("{what}: {verdict}"))
    } else {
        Err(format!("{what}: {verdict}"))
    }
}

fn remote_secret(kube: &KubeFacts, b: &ClusterFacts, gke: &GkeFacts) -> Result<String, String> {
    let name = format!("istio-remote-secret-{}", b.mesh_name);
    let secret = kube.remote_secrets.get(&b.mesh_name).ok_or_else(|| {
        format!(
            "no Secret {name} in istio-system: istiod does not read {} (run meshform apply)",
            b.name
        )
    })?;
    if !secret.labelled {
        return Err(format!(
            "{name} lacks the label {LABEL}: \"true\": istiod ignores it"
        ));
    }
    if secret.annotated_for.as_deref() != Some(b.mesh_name.as_str()) {
        return Err(format!(
            "{name}'s {CLUSTER_ANNOTATION} is {:?}, not {:?}",
            secret.annotated_for.as_deref().unwrap_or(""),
            b.mesh_name
        ));
    }
    if secret.keys != [b.mesh_name.clone()] {
        return Err(format!(
            "{name} must have one data key, {:?}; it has {:?}",
            b.mesh_name, secret.keys
        ));
    }
    let want = format!("https://{}", gke.endpoint);
    let mut stale = Vec::new();
    if secret.server.as_deref() != Some(want.as_str()) {
        stale.push(format!(
            "its server is {}, not {}'s private endpoint {want}",
            secret.server.as_deref().unwrap_or("missing"),
            b.name
        ));
    }
    if secret.ca_pem.as_deref().map(str::trim) != Some(gke.ca_pem.trim()) {
        stale.push(format!(
            "its CA is not {}'s current CA (was the cluster replaced?)",
            b.name
        ));
    }
    if !stale.is_empty() {
        return Err(format!(
            "{}: run meshform apply to rebuild it",
            stale.join("; ")
        ));
    }
    secret
        .token
        .clone()
        .map_err(|e| format!("its token: {e}"))?;
    Ok(format!(
        "{name}: {}'s private endpoint and CA; the token reads {}",
        b.name, b.name
    ))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::time::Duration;

    use super::*;
    use crate::verify::facts::{GatewayFacts, MeshFacts, RemoteSecretFacts};
    use crate::verify::firewall::Rule;

    fn cluster(name: &str, region: &str, subnet: &str, pods: &str) -> ClusterFacts {
        ClusterFacts {
            region: region.into(),
            name: name.into(),
            mesh_name: name.into(),
            location: format!("{region}-a"),
            subnet: subnet.parse().unwrap(),
            pod_range: pods.parse().unwrap(),
            master_cidr: "172.16.0.32/28".parse().unwrap(),
            plan_node_tag: format!("{name}-node"),
            gke: Some(GkeFacts {
                status: "RUNNING".into(),
                endpoint: format!("10.0.0.{}", name.len()),
                ca_pem: format!("CA of {name}"),
                node_tag: format!("gke-{name}-1234-node"),
                master_global_access: true,
                authorized: vec!["10.16.0.0/16".parse().unwrap()],
            }),
            kube: Ok(KubeFacts {
                gateway: Some(GatewayFacts {
                    address: Some(subnet.replace(".0/20", ".3")),
                    annotations: BTreeMap::from([
                        (INTERNAL_ANNOTATION.into(), "Internal".into()),
                        (GLOBAL_ACCESS_ANNOTATION.into(), "true".into()),
                    ]),
                    forwarding_rule: Some(("k8s2-tcp-x".into(), Some(true))),
                }),
                ..Default::default()
            }),
        }
    }

    fn facts(clusters: Vec<ClusterFacts>) -> Facts {
        Facts {
            network: "vpc".into(),
            clusters,
            firewalls: vec![Rule {
                name: "mesh".into(),
                network: "vpc".into(),
                priority: 1000,
                deny: false,
                ingress: true,
                disabled: false,
                protocols: vec![("tcp".into(), vec![])],
                source_ranges: vec![
                    "10.0.0.0/8".parse().unwrap(),
                    "172.16.0.0/12".parse().unwrap(),
                ],
                destination_ranges: vec![],
                target_tags: vec![],
                target_service_accounts: vec![],
            }],
            mesh: Some(MeshFacts {
                istiod: "istiod".into(),
                reissue_window: Duration::from_secs(30 * 86_400),
                samples: None,
            }),
        }
    }

    fn two() -> Facts {
        facts(vec![
            cluster("c1", "europe-west2", "172.20.0.0/20", "10.16.32.0/20"),
            cluster("c2", "us-central1", "172.21.0.0/20", "10.16.48.0/20"),
        ])
    }

    fn find<'a>(checks: &'a [Check], subject: &str, check: &str) -> &'a Check {
        checks
            .iter()
            .find(|c| c.subject == subject && c.check == check)
            .unwrap_or_else(|| panic!("no {check} for {subject} in {checks:#?}"))
    }

    #[test]
    fn one_region_needs_no_global_access_and_several_need_exactly_true() {
        let mut one = two();
        one.clusters.truncate(1);
        let checks = run(&one, &[], SystemTime::now());
        assert!(!checks.iter().any(|c| c.check == "gateway global access"));
        if let Ok(k) = &mut one.clusters[0].kube {
            k.gateway
                .as_mut()
                .unwrap()
                .annotations
                .remove(GLOBAL_ACCESS_ANNOTATION);
        }
        let checks = run(&one, &[], SystemTime::now());
        assert_eq!(
            find(&checks, "c1", "gateway annotations").result,
            Outcome::Pass
        );

        let mut f = two();
        if let Ok(k) = &mut f.clusters[1].kube {
            let gw = k.gateway.as_mut().unwrap();
            gw.annotations
                .insert(GLOBAL_ACCESS_ANNOTATION.into(), "True".into());
            gw.forwarding_rule = Some(("k8s2-tcp-x".into(), Some(false)));
        }
        let checks = run(&f, &[], SystemTime::now());
        let a = find(&checks, "c2", "gateway annotations");
        assert_eq!(a.result, Outcome::Fail);
        assert!(a.why.contains("\"True\""), "{}", a.why);
        let g = find(&checks, "c2", "gateway global access");
        assert!(g.why.contains("does not allow global access"), "{}", g.why);
    }

    #[test]
    fn a_gateway_address_outside_the_subnet_is_not_internal() {
        let mut f = two();
        if let Ok(k) = &mut f.clusters[0].kube {
            k.gateway.as_mut().unwrap().address = Some("34.1.2.3".into());
        }
        let checks = run(&f, &[], SystemTime::now());
        let c = find(&checks, "c1", "gateway address");
        assert_eq!(c.result, Outcome::Fail);
        assert!(
            c.why.contains("not in the subnet 172.20.0.0/20"),
            "{}",
            c.why
        );
    }

    #[test]
    fn control_plane_access_needs_global_access_across_regions_and_the_pod_range() {
        let mut f = two();
        f.clusters[1].gke.as_mut().unwrap().master_global_access = false;
        let checks = run(&f, &[], SystemTime::now());
        let c = find(&checks, "c1 -> c2", "control plane access");
        assert!(
            c.why.contains("c2 has no master global access"),
            "{}",
            c.why
        );
        // Same region: global access is not needed.
        f.clusters[1].region = "europe-west2".into();
        let checks = run(&f, &[], SystemTime::now());
        assert_eq!(
            find(&checks, "c1 -> c2", "control plane access").result,
            Outcome::Pass
        );
        f.clusters[1].gke.as_mut().unwrap().authorized = vec!["172.20.0.0/20".parse().unwrap()];
        let checks = run(&f, &[], SystemTime::now());
        let c = find(&checks, "c1 -> c2", "control plane access");
        assert!(
            c.why
                .contains("10.16.32.0/20 is not in c2's authorized networks"),
            "{}",
            c.why
        );
    }

    #[test]
    fn a_remote_secret_must_have_istiods_label_annotation_key_and_the_peers_endpoint_and_ca() {
        let good = RemoteSecretFacts {
            labelled: true,
            annotated_for: Some("c2".into()),
            keys: vec!["c2".into()],
            server: Some("https://10.0.0.2".into()),
            ca_pem: Some("CA of c2".into()),
            token: Ok(()),
        };
        let verdict = |secret: RemoteSecretFacts| {
            let mut f = two();
            if let Ok(k) = &mut f.clusters[0].kube {
                k.remote_secrets.insert("c2".into(), secret);
            }
            find(
                &run(&f, &[], SystemTime::now()),
                "c1 -> c2",
                "remote secret",
            )
            .clone()
        };
        assert_eq!(verdict(good.clone()).result, Outcome::Pass);
        for (bad, why) in [
            (
                RemoteSecretFacts {
                    labelled: false,
                    ..good.clone()
                },
                "lacks the label istio/multiCluster",
            ),
            (
                RemoteSecretFacts {
                    annotated_for: None,
                    ..good.clone()
                },
                "networking.istio.io/cluster is \"\"",
            ),
            (
                RemoteSecretFacts {
                    keys: vec!["c2".into(), "x".into()],
                    ..good.clone()
                },
                "must have one data key",
            ),
            (
                RemoteSecretFacts {
                    server: Some("https://10.9.9.9".into()),
                    ..good.clone()
                },
                "not c2's private endpoint https://10.0.0.2",
            ),
            (
                RemoteSecretFacts {
                    ca_pem: Some("old CA".into()),
                    ..good.clone()
                },
                "its CA is not c2's current CA",
            ),
            (
                RemoteSecretFacts {
                    token: Err("c2 does not accept the token".into()),
                    ..good.clone()
                },
                "its token: c2 does not accept the token",
            ),
        ] {
            let c = verdict(bad);
            assert_eq!(c.result, Outcome::Fail, "{why}");
            assert!(c.why.contains(why), "{} lacks {why}", c.why);
        }
        let mut f = two();
        if let Ok(k) = &mut f.clusters[0].kube {
            k.remote_secrets.clear();
        }
        let c = find(
            &run(&f, &[], SystemTime::now()),
            "c1 -> c2",
            "remote secret",
        )
        .clone();
        assert!(
            c.why.contains("no Secret istio-remote-secret-c2"),
            "{}",
            c.why
        );
    }

    #[test]
    fn istiod_with_its_own_ca_is_named() {
        let mut f = two();
        if let Ok(k) = &mut f.clusters[0].kube {
            k.cacerts = Some(BTreeMap::new());
            k.istio_ca_secret = true;
        }
        let c = find(&run(&f, &[], SystemTime::now()), "c1", "plugged-in ca").clone();
        assert!(c.why.contains("istio-ca-secret exists"), "{}", c.why);
    }
}

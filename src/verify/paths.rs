//! Reachability as a path table: for every ordered pair of clusters, whether
//! a pod of the first reaches the second's east-west gateway (tcp:15443) and
//! its control plane (tcp:443), asked of Google's Network Management API
//! (Connectivity Tests) — on the emulator the same API answers from its
//! network model. Each answer becomes a row (the hops, and the rule or cause
//! that decides) and a check.

use std::net::Ipv4Addr;

use futures::stream::{self, StreamExt};
use google_cloud_networkmanagement_v1::model::step::State;
use google_cloud_networkmanagement_v1::model::{ConnectivityTest, Endpoint, FirewallInfo, Step};
use serde::Serialize;

use super::checks::{Check, Outcome, CROSS_NETWORK_PORT};
use super::facts::{ClusterFacts, Facts};
use crate::cloud::Cloud;
use crate::gcp::last_segment;
use crate::resource::outputs::digest;

/// The port of a GKE control plane.
pub const CONTROL_PLANE_PORT: u16 = 443;
/// How many Connectivity Tests run at once.
const IN_FLIGHT: usize = 8;

/// Where a path ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    /// The peer's east-west gateway, at its internal load balancer's address.
    Gateway(Ipv4Addr),
    /// The peer's control plane (`projects/p/locations/l/clusters/c`).
    ControlPlane(String),
}

/// One path to ask about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Question {
    /// The source cluster's name.
    pub from: String,
    /// The peer's name.
    pub to: String,
    /// A pod address of the source cluster.
    pub source: Ipv4Addr,
    /// Where it goes.
    pub destination: Destination,
}

impl Question {
    /// What the path reaches, for people.
    pub fn target(&self) -> String {
        match &self.destination {
            Destination::Gateway(ip) => format!("gateway {ip}:{CROSS_NETWORK_PORT}"),
            Destination::ControlPlane(_) => format!("control plane :{CONTROL_PLANE_PORT}"),
        }
    }

    fn check(&self) -> &'static str {
        match self.destination {
            Destination::Gateway(_) => "path to gateway",
            Destination::ControlPlane(_) => "path to control plane",
        }
    }

    /// The Connectivity Test's id: at most 40 characters, stable for the
    /// same question, so an interrupted run's test is found and replaced.
    pub fn test_id(&self) -> String {
        let key = format!("{}>{}>{:?}", self.from, self.to, self.destination);
        let hex = digest(key.as_bytes());
        let kind = match self.destination {
            Destination::Gateway(_) => "gw",
            Destination::ControlPlane(_) => "cp",
        };
        format!("meshform-verify-{kind}-{}", &hex["sha256:".len()..][..16])
    }

    /// The Connectivity Test that asks it, in `project` on `network`.
    pub fn test(&self, project: &str, network: &str) -> ConnectivityTest {
        let network = format!("projects/{project}/global/networks/{network}");
        let source = Endpoint::new()
            .set_ip_address(self.source.to_string())
            .set_network(network.clone())
            .set_project_id(project);
        let destination = match &self.destination {
            Destination::Gateway(ip) => Endpoint::new()
                .set_ip_address(ip.to_string())
                .set_port(i32::from(CROSS_NETWORK_PORT))
                .set_network(network)
                .set_project_id(project),
            Destination::ControlPlane(cluster) => Endpoint::new()
                .set_gke_master_cluster(cluster.clone())
                .set_port(i32::from(CONTROL_PLANE_PORT))
                .set_project_id(project),
        };
        ConnectivityTest::new()
            .set_description(format!(
                "meshform verify: a pod of {} to the {} of {}",
                self.from,
                self.target(),
                self.to
            ))
            .set_source(source)
            .set_destination(destination)
            .set_protocol("TCP")
    }
}

/// One row of the path table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Path {
    /// The source cluster.
    pub from: String,
    /// The peer.
    pub to: String,
    /// What it reaches (`gateway 172.21.0.3:15443`, `control plane :443`).
    pub target: String,
    /// `reachable`, `unreachable`, `ambiguous`, `undetermined`, or `error`.
    pub result: String,
    /// The rule or cause that decides.
    pub decided_by: String,
    /// The hops, from the source.
    pub hops: Vec<String>,
}

impl Path {
    /// Whether the path is open.
    pub fn reachable(&self) -> bool {
        self.result == "reachable"
    }

    /// The path as a check of the report.
    pub fn check(&self, question: &Question) -> Check {
        let subject = format!("{} -> {}", self.from, self.to);
        let why = if self.reachable() {
            format!("{}: decided by {}", self.target, self.decided_by)
        } else {
            format!("{} {}: {}", self.target, self.result, self.decided_by)
        };
        Check {
            subject,
            check: question.check(),
            result: if self.reachable() {
                Outcome::Pass
            } else {
                Outcome::Fail
            },
            why,
        }
    }
}

/// A pod address of a cluster: the second host of its pod range.
fn pod_address(c: &ClusterFacts) -> Ipv4Addr {
    c.pod_range.hosts().nth(1).unwrap_or(c.pod_range.addr())
}

/// The questions for every ordered pair of `facts`' clusters whose peer
/// exists: its control plane, and its gateway once it has an address.
pub fn questions(facts: &Facts, project: &str) -> Vec<Question> {
    let mut out = Vec::new();
    for a in &facts.clusters {
        for b in facts.clusters.iter().filter(|b| b.name != a.name) {
            if b.gke.is_none() {
                continue;
            }
            let gateway = b
                .kube
                .as_ref()
                .ok()
                .and_then(|k| k.gateway.as_ref())
                .and_then(|g| g.address.as_deref())
                .and_then(|ip| ip.parse().ok());
            let ask = |destination| Question {
                from: a.name.clone(),
                to: b.name.clone(),
                source: pod_address(a),
                destination,
            };
            if facts.mesh.is_some() {
                if let Some(ip) = gateway {
                    out.push(ask(Destination::Gateway(ip)));
                }
            }
            out.push(ask(Destination::ControlPlane(format!(
                "projects/{project}/locations/{}/clusters/{}",
                b.location, b.name
            ))));
        }
    }
    out
}

fn firewall_text(f: &FirewallInfo) -> String {
    let action = f.action.to_ascii_lowercase();
    let name = if f.display_name.is_empty() {
        "an implied rule"
    } else {
        &f.display_name
    };
    format!("{name} ({action}, priority {})", f.priority)
}

/// One hop in words.
fn hop(step: &Step) -> Option<String> {
    let text = match &step.state {
        State::StartFromPrivateNetwork | State::StartFromInstance | State::StartFromGkePod => {
            let range = step
                .network()
                .map(|n| n.matched_ip_range.clone())
                .filter(|r| !r.is_empty());
            match range {
                Some(r) => format!("pod range {r}"),
                None => "source".to_string(),
            }
        }
        State::ApplyEgressFirewallRule => format!("egress {}", firewall_text(step.firewall()?)),
        State::ApplyIngressFirewallRule => {
            format!("ingress {}", firewall_text(step.firewall()?))
        }
        State::ApplyRoute => {
            let r = step.route()?;
            format!("route {} ({})", r.dest_ip_range, r.display_name)
        }
        State::ApplyForwardingRule => {
            format!("forwarding rule {}", step.forwarding_rule()?.display_name)
        }
        State::AnalyzeLoadBalancerBackend => "load balancer backends".to_string(),
        State::ArriveAtInstance => "instance".to_string(),
        State::Deliver => match step.deliver() {
            Some(d) => format!(
                "delivered to {}",
                target_name(d.target.name(), &d.resource_uri)
            ),
            None => "delivered".to_string(),
        },
        State::Drop => match step.drop() {
            Some(d) => format!("dropped: {}", d.cause.name().unwrap_or("unknown cause")),
            None => "dropped".to_string(),
        },
        _ => return None,
    };
    Some(text)
}

fn target_name(kind: Option<&str>, uri: &str) -> String {
    let kind = match kind {
        Some("GKE_MASTER") => "control plane",
        Some("INSTANCE") => "backends",
        Some(other) => other,
        None => "target",
    };
    if uri.is_empty() {
        kind.to_string()
    } else {
        format!("{kind} {}", last_segment(uri))
    }
}

/// The row of `question` from the analysed `test`.
pub fn describe(question: &Question, test: &ConnectivityTest) -> Path {
    let details = test.reachability_details.as_ref();
    let result = details
        .and_then(|d| d.result.name())
        .unwrap_or("UNDETERMINED")
        .to_ascii_lowercase();
    let steps: Vec<&Step> = details
        .and_then(|d| d.traces.first())
        .map(|t| t.steps.iter().collect())
        .unwrap_or_default();
    let hops = steps.iter().filter_map(|s| hop(s)).collect();
    let last_firewall = steps.iter().rev().find_map(|s| s.firewall());
    let decided_by = match steps.last() {
        Some(s) if s.state == State::Drop => {
            let cause = s.drop().and_then(|d| d.cause.name()).unwrap_or("DROP");
            match (cause, last_firewall) {
                ("FIREWALL_RULE", Some(f)) => format!("firewall {}", firewall_text(f)),
                _ => drop_reason(cause),
            }
        }
        Some(s) if s.state == State::Deliver => match last_firewall {
            Some(f) if matches!(question.destination, Destination::Gateway(_)) => {
                format!("firewall {}", firewall_text(f))
            }
            _ => "GKE: the control plane accepts the source (global access, authorised networks)"
                .to_string(),
        },
        _ => details
            .and_then(|d| d.error.as_ref())
            .map(|e| e.message.clone())
            .unwrap_or_else(|| "no trace".into()),
    };
    Path {
        from: question.from.clone(),
        to: question.to.clone(),
        target: question.target(),
        result,
        decided_by,
        hops,
    }
}

/// What a drop cause means and what to do about it.
fn drop_reason(cause: &str) -> String {
    let fix = match cause {
        "FORWARDING_RULE_REGION_MISMATCH" => {
            "the forwarding rule has no global access; set the Service's annotation networking.gke.io/internal-load-balancer-allow-global-access to \"true\""
        }
        "GKE_CONTROL_PLANE_REGION_MISMATCH" => {
            "the control plane has no global access; run `meshform apply` to enable master global access"
        }
        "GKE_MASTER_UNAUTHORIZED_ACCESS" => {
            "the source is not in the control plane's authorised networks; run `meshform apply` to authorise the peer's pod range"
        }
        "GKE_CLUSTER_NOT_RUNNING" => "the cluster is not RUNNING",
        "NO_ROUTE" => "no route to the destination",
        "FORWARDING_RULE_NO_INSTANCES" => "the load balancer has no backends",
        "FORWARDING_RULE_MISMATCH" => "the forwarding rule does not serve tcp:15443",
        _ => "",
    };
    if fix.is_empty() {
        cause.to_string()
    } else {
        format!("{cause}: {fix}")
    }
}

/// Asks every question of the Network Management API, a few at a time;
/// a question that cannot be asked is a row with result `error`.
pub async fn ask(cloud: &Cloud, network: &str, questions: &[Question]) -> Vec<Path> {
    let project = cloud.gcp.project().to_string();
    let answers = stream::iter(questions.iter().map(|q| {
        let test = q.test(&project, network);
        async move {
            match cloud.gcp.run_connectivity_test(&q.test_id(), test).await {
                Ok(t) => describe(q, &t),
                Err(e) => Path {
                    from: q.from.clone(),
                    to: q.to.clone(),
                    target: q.target(),
                    result: "error".into(),
                    decided_by: format!("{e}; check that networkmanagement.googleapis.com is enabled (`gcloud services enable networkmanagement.googleapis.com`)"),
                    hops: Vec::new(),
                },
            }
        }
    }))
    .buffered(IN_FLIGHT)
    .collect()
    .await;
    answers
}

/// The path table: a line per path (from, to, target, result, what
/// decides), then its hops, indented.
pub fn table(paths: &[Path]) -> String {
    let mut rows = vec![["FROM", "TO", "TARGET", "RESULT", "DECIDED BY"]
        .map(String::from)
        .to_vec()];
    rows.extend(paths.iter().map(|p| {
        vec![
            p.from.clone(),
            p.to.clone(),
            p.target.clone(),
            p.result.clone(),
            p.decided_by.clone(),
        ]
    }));
    let lines = super::columns(&rows);
    let mut out = String::new();
    for (i, line) in lines.iter().enumerate() {
        out += line;
        out.push('\n');
        if i > 0 && !paths[i - 1].hops.is_empty() {
            out += &format!("    {}\n", paths[i - 1].hops.join(" → "));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use google_cloud_networkmanagement_v1::model::reachability_details::Result as Reachability;
    use google_cloud_networkmanagement_v1::model::{
        DropInfo, ReachabilityDetails, RouteInfo, Trace,
    };

    fn question() -> Question {
        Question {
            from: "istio-cluster2".into(),
            to: "istio-cluster1".into(),
            source: "10.16.48.2".parse().unwrap(),
            destination: Destination::Gateway("172.20.0.3".parse().unwrap()),
        }
    }

    fn analysed(result: Reachability, steps: Vec<Step>) -> ConnectivityTest {
        ConnectivityTest::new().set_reachability_details(
            ReachabilityDetails::new()
                .set_result(result)
                .set_traces([Trace::new().set_steps(steps)]),
        )
    }

    fn firewall(name: &str, action: &str, priority: i32) -> Step {
        Step::new()
            .set_state(State::ApplyIngressFirewallRule)
            .set_firewall(
                FirewallInfo::new()
                    .set_display_name(name)
                    .set_action(action)
                    .set_priority(priority),
            )
    }

    #[test]
    fn a_firewall_drop_is_decided_by_the_rule_that_denied() {
        let test = analysed(
            Reachability::Unreachable,
            vec![
                Step::new().set_state(State::ApplyRoute).set_route(
                    RouteInfo::new()
                        .set_dest_ip_range("172.20.0.0/20")
                        .set_display_name("subnet route of eu-ilb-subnet"),
                ),
                firewall("block-mesh", "DENY", 900),
                Step::new()
                    .set_state(State::Drop)
                    .set_drop(DropInfo::new().set_cause(
                        google_cloud_networkmanagement_v1::model::drop_info::Cause::FirewallRule,
                    )),
            ],
        );
        let path = describe(&question(), &test);
        assert_eq!(path.result, "unreachable");
        assert_eq!(path.decided_by, "firewall block-mesh (deny, priority 900)");
        assert_eq!(
            path.hops,
            [
                "route 172.20.0.0/20 (subnet route of eu-ilb-subnet)",
                "ingress block-mesh (deny, priority 900)",
                "dropped: FIREWALL_RULE",
            ]
        );
        let check = path.check(&question());
        assert_eq!(check.result, Outcome::Fail);
        assert_eq!(check.check, "path to gateway");
    }

    #[test]
    fn other_drops_say_what_to_do() {
        let test = analysed(
            Reachability::Unreachable,
            vec![Step::new().set_state(State::Drop).set_drop(DropInfo::new().set_cause(
                google_cloud_networkmanagement_v1::model::drop_info::Cause::ForwardingRuleRegionMismatch,
            ))],
        );
        let path = describe(&question(), &test);
        assert!(
            path.decided_by.contains("allow-global-access"),
            "{}",
            path.decided_by
        );
    }

    #[test]
    fn a_delivered_path_to_a_gateway_is_decided_by_its_ingress_rule() {
        let test = analysed(
            Reachability::Reachable,
            vec![
                firewall("k8s2-abc", "ALLOW", 1000),
                Step::new().set_state(State::Deliver),
            ],
        );
        let path = describe(&question(), &test);
        assert!(path.reachable());
        assert_eq!(path.decided_by, "firewall k8s2-abc (allow, priority 1000)");
        assert_eq!(path.check(&question()).result, Outcome::Pass);
    }

    #[test]
    fn test_ids_are_short_stable_and_distinct() {
        let q = question();
        let mut other = question();
        other.destination = Destination::ControlPlane("projects/p/locations/l/clusters/c".into());
        assert_eq!(q.test_id(), question().test_id());
        assert_ne!(q.test_id(), other.test_id());
        assert!(q.test_id().len() <= 40);
        assert!(q.test_id().starts_with("meshform-verify-gw-"));
    }
}

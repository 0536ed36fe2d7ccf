//! Whether a network's VPC firewall rules let a flow in, decided as Google
//! Cloud decides it: of the enabled ingress rules on the network that apply
//! to the target, the one with the highest priority (lowest number) that
//! matches wins, a deny before an allow of the same priority; when none
//! matches, the implied rule denies (priority 65535). Every rule on the
//! network counts, not only meshform's.
//!
//! A flow's source is a whole range (a peer's pod range). An allow decides
//! only when one of its source ranges holds all of it; a deny decides as
//! soon as one of its source ranges overlaps it (some pods are cut off).
//! Source tags and service accounts select VM primary addresses, not pod
//! ranges, so they never match a pod range; rules aimed at target service
//! accounts are not judged to apply to nodes (meshform does not know their
//! service account).

use std::net::Ipv4Addr;

use google_cloud_compute_v1::model::firewall::Direction;
use google_cloud_compute_v1::model::Firewall;
use ipnet::Ipv4Net;

use crate::gcp::last_segment;

/// The priority of the implied deny-ingress rule.
pub const IMPLIED_DENY_PRIORITY: i32 = 65535;

/// One firewall rule, as far as the decision needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    /// Its name.
    pub name: String,
    /// The network's name.
    pub network: String,
    /// 0 (first) to 65535.
    pub priority: i32,
    /// A deny rule (else an allow rule).
    pub deny: bool,
    /// An ingress rule (else egress).
    pub ingress: bool,
    /// Switched off.
    pub disabled: bool,
    /// `(protocol, port ranges)`; no ranges means every port.
    pub protocols: Vec<(String, Vec<(u16, u16)>)>,
    /// Source ranges (IPv4 only; others never match a pod range).
    pub source_ranges: Vec<Ipv4Net>,
    /// Destination ranges; empty means any.
    pub destination_ranges: Vec<Ipv4Net>,
    /// Target tags; with no target service accounts either, every instance.
    pub target_tags: Vec<String>,
    /// Target service accounts.
    pub target_service_accounts: Vec<String>,
}

impl Rule {
    /// The rule as the compute API returns it.
    pub fn from_api(f: &Firewall) -> Rule {
        let deny = !f.denied.is_empty();
        let entries: Vec<(Option<&String>, &Vec<String>)> = if deny {
            f.denied
                .iter()
                .map(|d| (d.ip_protocol.as_ref(), &d.ports))
                .collect()
        } else {
            f.allowed
                .iter()
                .map(|a| (a.ip_protocol.as_ref(), &a.ports))
                .collect()
        };
        let nets = |v: &[String]| v.iter().filter_map(|s| parse_net(s)).collect();
        Rule {
            name: f.name.clone().unwrap_or_default(),
            network: f.network.as_deref().map(last_segment).unwrap_or_default(),
            priority: f.priority.unwrap_or(1000),
            deny,
            ingress: f
                .direction
                .as_ref()
                .is_none_or(|d| *d == Direction::Ingress),
            disabled: f.disabled.unwrap_or(false),
            protocols: entries
                .into_iter()
                .map(|(p, ports)| {
                    (
                        p.cloned().unwrap_or_default().to_ascii_lowercase(),
                        ports.iter().filter_map(|p| parse_ports(p)).collect(),
                    )
                })
                .collect(),
            source_ranges: nets(&f.source_ranges),
            destination_ranges: nets(&f.destination_ranges),
            target_tags: f.target_tags.clone(),
            target_service_accounts: f.target_service_accounts.clone(),
        }
    }
}

/// `10.0.0.0/8` or a single address.
fn parse_net(s: &str) -> Option<Ipv4Net> {
    s.parse::<Ipv4Net>()
        .ok()
        .or_else(|| s.parse::<Ipv4Addr>().ok().map(Ipv4Net::from))
}

/// `443` or `15000-16000`.
fn parse_ports(s: &str) -> Option<(u16, u16)> {
    match s.split_once('-') {
        Some((a, b)) => Some((a.trim().parse().ok()?, b.trim().parse().ok()?)),
        None => {
            let p = s.trim().parse().ok()?;
            Some((p, p))
        }
    }
}

/// Traffic to judge: from a source range to instances with some tags.
#[derive(Debug, Clone, Copy)]
pub struct Flow<'a> {
    /// The network.
    pub network: &'a str,
    /// Where it comes from.
    pub source: Ipv4Net,
    /// The network tags of the instances it reaches.
    pub target_tags: &'a [String],
    /// The address it is sent to, when known (a load balancer's).
    pub destination: Option<Ipv4Addr>,
    /// `tcp` or `udp`.
    pub protocol: &'a str,
    /// The port.
    pub port: u16,
}

/// What decided a flow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// Whether it gets in.
    pub allowed: bool,
    /// The deciding rule; `None` for the implied deny.
    pub rule: Option<String>,
    /// The deciding rule's priority.
    pub priority: i32,
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let how = if self.allowed { "allowed" } else { "denied" };
        match &self.rule {
            Some(r) => write!(f, "{how} by {r} (priority {})", self.priority),
            None => write!(f, "{how} by the implied deny-ingress rule (priority 65535)"),
        }
    }
}

fn protocol_matches(rule: &Rule, protocol: &str, port: u16) -> bool {
    let number = match protocol {
        "tcp" => "6",
        "udp" => "17",
        _ => "",
    };
    rule.protocols.iter().any(|(p, ports)| {
        (p == "all" || p == protocol || p == number)
            && (ports.is_empty() || ports.iter().any(|(lo, hi)| (*lo..=*hi).contains(&port)))
    })
}

fn applies_to_target(rule: &Rule, flow: &Flow<'_>) -> bool {
    if !rule.target_service_accounts.is_empty() {
        return false;
    }
    rule.target_tags.is_empty()
        || rule
            .target_tags
            .iter()
            .any(|t| flow.target_tags.contains(t))
}

fn destination_matches(rule: &Rule, flow: &Flow<'_>) -> bool {
    if rule.destination_ranges.is_empty() {
        return true;
    }
    match flow.destination {
        Some(d) => rule.destination_ranges.iter().any(|r| r.contains(&d)),
        // An unknown destination: a deny may hit it, an allow cannot be
        // relied on.
        None => rule.deny,
    }
}

/// Decides `flow` by `rules` (every rule of the project; those of other
/// networks are ignored).
pub fn decide(rules: &[Rule], flow: &Flow<'_>) -> Verdict {
    let mut candidates: Vec<&Rule> = rules
        .iter()
        .filter(|r| {
            r.ingress
                && !r.disabled
                && r.network == flow.network
                && applies_to_target(r, flow)
                && destination_matches(r, flow)
                && protocol_matches(r, flow.protocol, flow.port)
        })
        .collect();
    candidates.sort_by_key(|r| (r.priority, !r.deny, r.name.clone()));
    for rule in candidates {
        let decides = if rule.deny {
            rule.source_ranges.iter().any(|s| overlaps(s, &flow.source))
        } else {
            rule.source_ranges.iter().any(|s| s.contains(&flow.source))
        };
        if decides {
            return Verdict {
                allowed: !rule.deny,
                rule: Some(rule.name.clone()),
                priority: rule.priority,
            };
        }
    }
    Verdict {
        allowed: false,
        rule: None,
        priority: IMPLIED_DENY_PRIORITY,
    }
}

fn overlaps(a: &Ipv4Net, b: &Ipv4Net) -> bool {
    a.contains(&b.network()) || b.contains(&a.network())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(name: &str, priority: i32, deny: bool, sources: &[&str], ports: &str) -> Rule {
        Rule {
            name: name.into(),
            network: "vpc".into(),
            priority,
            deny,
            ingress: true,
            disabled: false,
            protocols: vec![("tcp".into(), parse_ports(ports).into_iter().collect())],
            source_ranges: sources.iter().map(|s| s.parse().unwrap()).collect(),
            destination_ranges: vec![],
            target_tags: vec![],
            target_service_accounts: vec![],
        }
    }

    fn flow(tags: &[String]) -> Flow<'_> {
        Flow {
            network: "vpc",
            source: "10.16.48.0/20".parse().unwrap(),
            target_tags: tags,
            destination: Some("172.20.0.5".parse().unwrap()),
            protocol: "tcp",
            port: 15443,
        }
    }

    #[test]
    fn the_highest_priority_matching_rule_decides_and_a_deny_wins_a_tie() {
        let tags = vec!["gke-c1-node".to_string()];
        let allow = rule("k8s2-allow", 1000, false, &["10.16.48.0/20"], "15443");
        assert_eq!(
            decide(std::slice::from_ref(&allow), &flow(&tags)).to_string(),
            "allowed by k8s2-allow (priority 1000)"
        );
        let deny = rule("block-mesh", 900, true, &["10.0.0.0/8"], "15000-16000");
        let v = decide(&[allow.clone(), deny.clone()], &flow(&tags));
        assert!(!v.allowed);
        assert_eq!(v.rule.as_deref(), Some("block-mesh"));
        let tie = Rule {
            priority: 1000,
            ..deny.clone()
        };
        assert!(!decide(&[allow.clone(), tie], &flow(&tags)).allowed);
        let lower = Rule {
            priority: 1100,
            ..deny
        };
        assert!(decide(&[allow, lower], &flow(&tags)).allowed);
    }

    #[test]
    fn without_a_matching_allow_the_implied_rule_denies() {
        let tags = vec!["gke-c1-node".to_string()];
        let wrong_port = rule("web", 1000, false, &["0.0.0.0/0"], "443");
        let part = rule("half", 1000, false, &["10.16.48.0/21"], "15443");
        let other_net = Rule {
            network: "other".into(),
            ..rule("x", 1, false, &["0.0.0.0/0"], "15443")
        };
        let off = Rule {
            disabled: true,
            ..rule("off", 1, false, &["0.0.0.0/0"], "15443")
        };
        let v = decide(&[wrong_port, part, other_net, off], &flow(&tags));
        assert_eq!(
            v.to_string(),
            "denied by the implied deny-ingress rule (priority 65535)"
        );
    }

    #[test]
    fn a_deny_that_touches_part_of_the_range_decides() {
        let tags = vec!["gke-c1-node".to_string()];
        let allow = rule("allow", 1000, false, &["10.0.0.0/8"], "15443");
        let deny = rule("deny-some", 100, true, &["10.16.50.0/24"], "");
        assert!(!decide(&[allow, deny], &flow(&tags)).allowed);
    }

    #[test]
    fn target_tags_destination_ranges_and_all_protocols() {
        let tags = vec!["gke-c1-node".to_string()];
        let elsewhere = Rule {
            target_tags: vec!["bastion".into()],
            ..rule("ssh", 1, true, &["0.0.0.0/0"], "")
        };
        let all = Rule {
            protocols: vec![("all".into(), vec![])],
            destination_ranges: vec!["172.20.0.0/20".parse().unwrap()],
            target_tags: vec!["gke-c1-node".into()],
            ..rule("all", 1000, false, &["10.16.0.0/16"], "")
        };
        let v = decide(&[elsewhere, all.clone()], &flow(&tags));
        assert_eq!(v.rule.as_deref(), Some("all"), "{v}");
        let mut to_nodes = flow(&tags);
        to_nodes.destination = None;
        assert!(
            !decide(&[all], &to_nodes).allowed,
            "an allow limited to destinations it cannot be sure of"
        );
    }

    #[test]
    fn rules_read_from_the_api() {
        use google_cloud_compute_v1::model::firewall::{Allowed, Denied};
        let api = Firewall::new()
            .set_name("deny-15443")
            .set_network("projects/p/global/networks/vpc")
            .set_priority(500)
            .set_direction(Direction::Ingress)
            .set_denied([Denied::new().set_ip_protocol("tcp").set_ports(["15443"])])
            .set_source_ranges(["10.16.48.0/20"]);
        let r = Rule::from_api(&api);
        assert!(r.deny && r.ingress && r.network == "vpc" && r.priority == 500);
        assert_eq!(r.protocols, vec![("tcp".to_string(), vec![(15443, 15443)])]);
        let allow = Firewall::new()
            .set_name("a")
            .set_allowed([Allowed::new().set_ip_protocol("all")])
            .set_source_ranges(["35.191.0.0/16", "130.211.0.0/22"]);
        let r = Rule::from_api(&allow);
        assert!(!r.deny && r.ingress && r.priority == 1000 && r.source_ranges.len() == 2);
    }
}

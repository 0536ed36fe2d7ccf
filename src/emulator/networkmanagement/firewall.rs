//! VPC firewall rules as Google Cloud applies them to one packet: of the
//! enabled rules of the network in the packet's direction that apply to the
//! instance and match the packet, the highest priority (lowest number) wins,
//! a deny before an allow of the same priority; when none matches, the
//! implied rules decide (ingress denied, egress allowed, priority 65535).
//! Source tags and source service accounts match only instances' primary
//! addresses, never an alias (pod) range.

use std::net::Ipv4Addr;

use ipnet::Ipv4Net;
use serde_json::{json, Value};

use crate::emulator::refs;
use crate::emulator::world::World;

/// Which way the packet goes through the instance's firewall.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Into the instance.
    Ingress,
    /// Out of the instance.
    Egress,
}

impl Direction {
    fn name(self) -> &'static str {
        match self {
            Direction::Ingress => "INGRESS",
            Direction::Egress => "EGRESS",
        }
    }
}

/// One packet at one instance's firewall.
pub struct Packet<'a> {
    /// The network's link.
    pub network: &'a str,
    /// Ingress or egress.
    pub direction: Direction,
    /// Source address.
    pub source: Ipv4Addr,
    /// Destination address.
    pub destination: Ipv4Addr,
    /// `tcp`, `udp`, …
    pub protocol: &'a str,
    /// Destination port.
    pub port: u16,
    /// The network tags of the instance whose firewall it is.
    pub instance_tags: &'a [String],
    /// That instance's service account.
    pub instance_service_account: Option<&'a str>,
}

/// The rule that decided, as a Connectivity Test's `FirewallInfo`, and
/// whether it allows the packet.
pub struct Decision {
    /// Whether the packet passes.
    pub allowed: bool,
    /// The `FirewallInfo` of the deciding rule.
    pub info: Value,
}

fn nets(rule: &Value, field: &str) -> Vec<Ipv4Net> {
    rule[field]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .filter_map(|s| {
            s.parse::<Ipv4Net>()
                .ok()
                .or_else(|| s.parse::<Ipv4Addr>().ok().map(Ipv4Net::from))
        })
        .collect()
}

fn strings(rule: &Value, field: &str) -> Vec<String> {
    rule[field]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_string)
        .collect()
}

fn protocol_matches(entries: &Value, protocol: &str, port: u16) -> bool {
    let number = match protocol {
        "tcp" => "6",
        "udp" => "17",
        _ => "",
    };
    entries.as_array().into_iter().flatten().any(|e| {
        let p = e["IPProtocol"]
            .as_str()
            .unwrap_or_default()
            .to_ascii_lowercase();
        let ports = strings(e, "ports");
        (p == "all" || p == protocol || p == number)
            && (ports.is_empty()
                || ports.iter().any(|r| {
                    let (lo, hi) = r.split_once('-').unwrap_or((r, r));
                    match (lo.trim().parse::<u16>(), hi.trim().parse::<u16>()) {
                        (Ok(lo), Ok(hi)) => (lo..=hi).contains(&port),
                        _ => false,
                    }
                }))
    })
}

fn applies_to_instance(rule: &Value, packet: &Packet<'_>) -> bool {
    let accounts = strings(rule, "targetServiceAccounts");
    if !accounts.is_empty() {
        return packet
            .instance_service_account
            .is_some_and(|sa| accounts.iter().any(|a| a == sa));
    }
    let tags = strings(rule, "targetTags");
    tags.is_empty() || tags.iter().any(|t| packet.instance_tags.contains(t))
}

fn matches(rule: &Value, packet: &Packet<'_>) -> bool {
    let entries = if rule["denied"].is_array() {
        &rule["denied"]
    } else {
        &rule["allowed"]
    };
    let sources = nets(rule, "sourceRanges");
    let destinations = nets(rule, "destinationRanges");
    let source_ok = match packet.direction {
        // Source tags and accounts never match an alias address; a rule
        // with none of the three matches every source.
        Direction::Ingress => {
            sources.iter().any(|n| n.contains(&packet.source))
                || (sources.is_empty()
                    && strings(rule, "sourceTags").is_empty()
                    && strings(rule, "sourceServiceAccounts").is_empty())
        }
        Direction::Egress => {
            sources.is_empty() || sources.iter().any(|n| n.contains(&packet.source))
        }
    };
    let destination_ok =
        destinations.is_empty() || destinations.iter().any(|n| n.contains(&packet.destination));
    source_ok && destination_ok && protocol_matches(entries, packet.protocol, packet.port)
}

/// Decides `packet` by the firewall rules of `world` in `project`.
pub fn decide(world: &World, project: &str, packet: &Packet<'_>) -> Decision {
    let prefix = format!("projects/{project}/global/firewalls/");
    let winner = world
        .resources
        .iter()
        .filter(|(rel, _)| rel.starts_with(&prefix))
        .map(|(_, rule)| rule)
        .filter(|r| {
            refs::to_rel(r["network"].as_str().unwrap_or_default(), project)
                == refs::to_rel(packet.network, project)
        })
        .filter(|r| r["direction"].as_str().unwrap_or("INGRESS") == packet.direction.name())
        .filter(|r| !r["disabled"].as_bool().unwrap_or(false))
        .filter(|r| applies_to_instance(r, packet) && matches(r, packet))
        .min_by_key(|r| {
            (
                r["priority"].as_i64().unwrap_or(1000),
                !r["denied"].is_array(),
            )
        });
    match winner {
        Some(rule) => Decision {
            allowed: !rule["denied"].is_array(),
            info: json!({
                "displayName": rule["name"],
                "uri": refs::to_rel(rule["selfLink"].as_str().unwrap_or_default(), project),
                "direction": packet.direction.name(),
                "action": if rule["denied"].is_array() { "DENY" } else { "ALLOW" },
                "priority": rule["priority"].as_i64().unwrap_or(1000),
                "networkUri": refs::to_rel(rule["network"].as_str().unwrap_or_default(), project),
                "targetTags": rule["targetTags"].as_array().cloned().unwrap_or_default(),
                "targetServiceAccounts": rule["targetServiceAccounts"].as_array().cloned().unwrap_or_default(),
                "firewallRuleType": "VPC_FIREWALL_RULE",
            }),
        },
        None => {
            let allowed = packet.direction == Direction::Egress;
            Decision {
                allowed,
                info: json!({
                    "displayName": if allowed { "implied-allow-egress" } else { "implied-deny-ingress" },
                    "direction": packet.direction.name(),
                    "action": if allowed { "ALLOW" } else { "DENY" },
                    "priority": 65535,
                    "networkUri": packet.network,
                    "firewallRuleType": "IMPLIED_VPC_FIREWALL_RULE",
                }),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn world(rules: &[Value]) -> World {
        let mut w = World::default();
        for r in rules {
            let name = r["name"].as_str().unwrap();
            w.resources
                .insert(format!("projects/p/global/firewalls/{name}"), r.clone());
        }
        w
    }

    fn packet<'a>(tags: &'a [String], direction: Direction) -> Packet<'a> {
        Packet {
            network: "projects/p/global/networks/vpc",
            direction,
            source: "10.16.32.2".parse().unwrap(),
            destination: "172.21.0.3".parse().unwrap(),
            protocol: "tcp",
            port: 15443,
            instance_tags: tags,
            instance_service_account: None,
        }
    }

    fn rule(name: &str, priority: i64, deny: bool, sources: &[&str]) -> Value {
        let mut r = json!({
            "name": name,
            "network": "https://compute.googleapis.com/compute/v1/projects/p/global/networks/vpc",
            "priority": priority,
            "direction": "INGRESS",
            "sourceRanges": sources,
            "targetTags": ["node"],
        });
        let key = if deny { "denied" } else { "allowed" };
        r[key] = json!([{"IPProtocol": "tcp", "ports": ["15443"]}]);
        r
    }

    #[test]
    fn the_highest_priority_match_wins_and_deny_beats_allow_at_equal_priority() {
        let tags = vec!["node".to_string()];
        let w = world(&[
            rule("allow", 1000, false, &["10.16.32.0/20"]),
            rule("deny", 1000, true, &["10.16.0.0/16"]),
        ]);
        let d = decide(&w, "p", &packet(&tags, Direction::Ingress));
        assert!(!d.allowed);
        assert_eq!(d.info["displayName"], "deny");
        let w = world(&[
            rule("allow", 900, false, &["10.16.32.0/20"]),
            rule("deny", 1000, true, &["10.16.0.0/16"]),
        ]);
        assert!(decide(&w, "p", &packet(&tags, Direction::Ingress)).allowed);
    }

    #[test]
    fn without_a_matching_rule_ingress_is_denied_and_egress_allowed() {
        let other = vec!["other".to_string()];
        let w = world(&[rule("allow", 1000, false, &["10.16.32.0/20"])]);
        let d = decide(&w, "p", &packet(&other, Direction::Ingress));
        assert!(!d.allowed);
        assert_eq!(d.info["displayName"], "implied-deny-ingress");
        assert_eq!(d.info["priority"], 65535);
        assert!(decide(&w, "p", &packet(&other, Direction::Egress)).allowed);
    }

    #[test]
    fn source_tags_never_match_a_pod_address() {
        let tags = vec!["node".to_string()];
        let mut r = rule("by-tag", 1000, false, &[]);
        r["sourceTags"] = json!(["node"]);
        let d = decide(&world(&[r]), "p", &packet(&tags, Direction::Ingress));
        assert!(!d.allowed);
    }
}

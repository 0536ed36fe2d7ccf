//! Checks of `[bastion]`: its name, zone, machine type and tags, and that a
//! firewall rule lets Identity-Aware Proxy reach it over SSH.

use std::net::Ipv4Addr;

use ipnet::Ipv4Net;

use super::cluster::machine_type_help;
use super::{Checker, Parts};
use crate::plan::firewall_spec::parse_spec;
use crate::plan::model::{Bastion, Direction, FirewallRule};
use crate::plan::names::{looks_like_machine_type, looks_like_region, zone_region};

/// The range IAP's TCP forwarding connects from.
pub(crate) fn iap_range() -> Ipv4Net {
    Ipv4Net::new(Ipv4Addr::new(35, 235, 240, 0), 20).expect("valid prefix length")
}

/// The name meshform suggests for the IAP SSH rule.
const IAP_RULE_NAME: &str = "allow-iap-ssh";

pub(super) fn bastion(c: &mut Checker<'_>, parts: &Parts) {
    let Some(bastion) = &parts.bastion else {
        return;
    };
    c.name("bastion.name".into(), "bastion name", &bastion.name);

    let regions: Vec<&str> = parts.regions.iter().map(|(_, r)| r.name.as_str()).collect();
    let example = regions
        .first()
        .map_or("\"europe-west2-a\"".to_owned(), |r| format!("\"{r}-a\""));
    let zone = &bastion.zone;
    let zones_of_plan = format!(
        "use a zone of one of the plan's regions ({}), e.g. {example}",
        regions.join(", ")
    );
    match zone_region(zone) {
        Some(r) if regions.contains(&r) => {}
        Some(r) => c.push(
            "bastion.zone".into(),
            format!(
                "bastion zone \"{zone}\" is in region \"{r}\", which is not a [[region]] of the \
                 plan"
            ),
            format!("the bastion lives in a subnet of the plan: {zones_of_plan}"),
        ),
        None if looks_like_region(zone) => c.push(
            "bastion.zone".into(),
            format!("bastion zone \"{zone}\" is a region, not a zone"),
            format!("a VM lives in one zone: use e.g. \"{zone}-a\""),
        ),
        None => c.push(
            "bastion.zone".into(),
            format!("bastion zone \"{zone}\" is not a zone name"),
            format!("zones are a region and a letter: {zones_of_plan}"),
        ),
    }

    if !looks_like_machine_type(&bastion.machine_type) {
        c.push(
            "bastion.machine_type".into(),
            format!(
                "\"{}\" is not a Compute Engine machine type",
                bastion.machine_type
            ),
            machine_type_help(&bastion.machine_type),
        );
    }
    for (k, tag) in bastion.tags.iter().enumerate() {
        c.name(format!("bastion.tags[{k}]"), "network tag", tag);
    }

    // A rule that could not be read might be the IAP rule: say nothing then.
    if parts.all_firewalls
        && !parts
            .firewalls
            .iter()
            .any(|(_, rule)| allows_iap_ssh(rule, &bastion.tags))
    {
        iap_rule_missing(c, parts, bastion);
    }
}

fn iap_rule_missing(c: &mut Checker<'_>, parts: &Parts, bastion: &Bastion) {
    let tag = bastion.tags.first().map_or("bastion", String::as_str);
    let tags = if bastion.tags.is_empty() {
        "it has no tags".to_owned()
    } else {
        let list: Vec<String> = bastion.tags.iter().map(|t| format!("\"{t}\"")).collect();
        format!("targeting one of its tags: {}", list.join(", "))
    };
    let existing = parts.firewalls.iter().any(|(_, r)| r.name == IAP_RULE_NAME);
    let mut intro = if existing {
        format!("make firewall rule \"{IAP_RULE_NAME}\" read")
    } else {
        "add the IAP SSH rule".to_owned()
    };
    if bastion.tags.is_empty() {
        intro.push_str(&format!(" and give the bastion `tags = [\"{tag}\"]`"));
    }
    let help = format!(
        "{intro}:\n        [[firewall]]\n        name = \"{IAP_RULE_NAME}\"\n        \
         source_ranges = [\"{}\"]\n        allow = [\"tcp:22\"]\n        \
         target_tags = [\"{tag}\"]",
        iap_range()
    );
    c.push(
        "bastion.tags".into(),
        format!(
            "no firewall rule lets IAP reach bastion \"{}\" over SSH (INGRESS, tcp:22 from {}, \
             {tags})",
            bastion.name,
            iap_range()
        ),
        help,
    );
}

/// Whether `rule` lets IAP's range reach port 22 of an instance with one of
/// `tags`. A rule without target tags applies to every instance.
fn allows_iap_ssh(rule: &FirewallRule, tags: &[String]) -> bool {
    let iap = iap_range();
    rule.direction == Direction::Ingress
        && (rule.target_tags.is_empty() || rule.target_tags.iter().any(|t| tags.contains(t)))
        && rule.source_ranges.iter().any(|r| r.trunc().contains(&iap))
        && rule.allow.iter().any(|spec| {
            parse_spec(spec).is_ok_and(|s| {
                match s.protocol.as_str() {
                    "tcp" | "all" | "6" => {}
                    _ => return false,
                }
                s.ports.is_empty()
                    || s.ports.iter().any(|p| {
                        let (lo, hi) = p.split_once('-').unwrap_or((p, p));
                        lo.parse::<u16>().is_ok_and(|lo| lo <= 22)
                            && hi.parse::<u16>().is_ok_and(|hi| hi >= 22)
                    })
            })
        })
}

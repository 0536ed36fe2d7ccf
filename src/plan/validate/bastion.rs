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

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::plan::parse::tests::{errors, BASE};

    /// The whole rendered output, for checking help texts.
    fn rendered(text: &str) -> String {
        crate::plan::parse(Path::new("p.toml"), text)
            .unwrap_err()
            .to_string()
    }

    /// The IAP SSH rule for tag `bastion` (lines 11 to 15 after [`BASE`]).
    const IAP_RULE: &str = r#"[[firewall]]
name = "allow-iap-ssh"
source_ranges = ["35.235.240.0/20"]
allow = ["tcp:22"]
target_tags = ["bastion"]
"#;

    /// [`BASE`], the IAP rule, then `bastion` from line 16.
    fn with_bastion(bastion: &str) -> String {
        format!(
            "{BASE}{IAP_RULE}{}",
            bastion.strip_prefix('\n').unwrap_or(bastion)
        )
    }

    #[test]
    fn a_bastion_with_the_iap_rule_is_valid() {
        let text = with_bastion("[bastion]\nname = \"bastion\"\nzone = \"europe-west2-a\"\n");
        assert_eq!(errors(&text), Vec::<String>::new());
        let plan = crate::plan::parse(Path::new("p.toml"), &text).unwrap();
        let bastion = plan.bastion.unwrap();
        assert_eq!(bastion.tags, ["bastion"]);
        assert_eq!(bastion.machine_type, "e2-small");
    }

    #[test]
    fn bastion_name_tags_and_machine_type() {
        assert_eq!(
            errors(&with_bastion(
                r#"
[bastion]
name = "Bastion"
zone = "europe-west2-a"
machine_type = "small"
tags = ["bastion", "ssh_ok"]
"#
            )),
            [
                "17:8: bastion name \"Bastion\" starts with 'B'; it must start with a lowercase letter",
                "19:16: \"small\" is not a Compute Engine machine type",
                "20:20: network tag \"ssh_ok\" contains '_'; only lowercase letters, digits and hyphens are allowed",
            ]
        );
    }

    #[test]
    fn bastion_zone_is_a_zone_of_a_plan_region() {
        let cases = [
            (
                "us-central1-a",
                "bastion zone \"us-central1-a\" is in region \"us-central1\", which is not a [[region]] of the plan",
                "help: the bastion lives in a subnet of the plan: use a zone of one of the plan's regions (europe-west2), e.g. \"europe-west2-a\"",
            ),
            (
                "europe-west2",
                "bastion zone \"europe-west2\" is a region, not a zone",
                "help: a VM lives in one zone: use e.g. \"europe-west2-a\"",
            ),
            (
                "london",
                "bastion zone \"london\" is not a zone name",
                "help: zones are a region and a letter: use a zone of one of the plan's regions (europe-west2), e.g. \"europe-west2-a\"",
            ),
        ];
        for (zone, message, help) in cases {
            let text = with_bastion(&format!("[bastion]\nname = \"b\"\nzone = \"{zone}\"\n"));
            assert_eq!(errors(&text), [format!("18:8: {message}")]);
            assert!(rendered(&text).contains(help), "{}", rendered(&text));
        }
    }

    #[test]
    fn a_bastion_needs_the_iap_ssh_rule() {
        let text = format!("{BASE}[bastion]\nname = \"bastion\"\nzone = \"europe-west2-a\"\n");
        assert_eq!(
            errors(&text),
            ["11:1: no firewall rule lets IAP reach bastion \"bastion\" over SSH (INGRESS, tcp:22 from 35.235.240.0/20, targeting one of its tags: \"bastion\")"]
        );
        assert!(rendered(&text).contains(
            "  help: add the IAP SSH rule:
        [[firewall]]
        name = \"allow-iap-ssh\"
        source_ranges = [\"35.235.240.0/20\"]
        allow = [\"tcp:22\"]
        target_tags = [\"bastion\"]
"
        ));
        // The rule exists but targets another tag: it is pointed at.
        let text =
            with_bastion("[bastion]\nname = \"b\"\nzone = \"europe-west2-a\"\ntags = [\"jump\"]\n");
        assert_eq!(
            errors(&text),
            ["19:8: no firewall rule lets IAP reach bastion \"b\" over SSH (INGRESS, tcp:22 from 35.235.240.0/20, targeting one of its tags: \"jump\")"]
        );
        assert!(rendered(&text)
            .contains("help: make firewall rule \"allow-iap-ssh\" read:\n        [[firewall]]"));
        assert!(rendered(&text).contains("target_tags = [\"jump\"]"));
        // No tags at all.
        let text = with_bastion("[bastion]\nname = \"b\"\nzone = \"europe-west2-a\"\ntags = []\n");
        assert_eq!(
            errors(&text),
            ["19:8: no firewall rule lets IAP reach bastion \"b\" over SSH (INGRESS, tcp:22 from 35.235.240.0/20, it has no tags)"]
        );
        assert!(rendered(&text).contains(
            "help: make firewall rule \"allow-iap-ssh\" read and give the bastion `tags = [\"bastion\"]`:"
        ));
    }

    #[test]
    fn rules_that_do_and_do_not_let_iap_in() {
        let rule = |body: &str| {
            format!(
                "{BASE}[[firewall]]\nname = \"r\"\n{body}\n[bastion]\nname = \"b\"\nzone = \"europe-west2-a\"\n"
            )
        };
        for good in [
            "source_ranges = [\"35.235.240.0/20\"]\nallow = [\"tcp:20-30\"]",
            "source_ranges = [\"0.0.0.0/0\"]\nallow = [\"udp:53\", \"tcp:80,22\"]\ntarget_tags = [\"bastion\"]",
            // No target tags: the rule applies to every instance.
            "source_ranges = [\"35.235.240.0/20\"]\nallow = [\"all\"]",
        ] {
            assert_eq!(errors(&rule(good)), Vec::<String>::new(), "{good}");
        }
        for bad in [
            "source_ranges = [\"35.235.240.0/21\"]\nallow = [\"tcp:22\"]",
            "source_ranges = [\"35.235.240.0/20\"]\nallow = [\"tcp:2222\"]",
            "source_ranges = [\"35.235.240.0/20\"]\nallow = [\"udp:22\"]",
            "source_ranges = [\"35.235.240.0/20\"]\nallow = [\"tcp:22\"]\ntarget_tags = [\"web\"]",
            "source_tags = [\"bastion\"]\nallow = [\"tcp:22\"]",
            "direction = \"EGRESS\"\ndestination_ranges = [\"35.235.240.0/20\"]\nallow = [\"tcp:22\"]",
            "source_ranges = [\"35.235.240.0/20\"]\ndeny = [\"tcp:22\"]",
        ] {
            let errors = errors(&rule(bad));
            assert_eq!(errors.len(), 1, "{bad}: {errors:?}");
            assert!(errors[0].contains("no firewall rule lets IAP reach"), "{bad}: {errors:?}");
        }
    }

    #[test]
    fn an_unreadable_firewall_rule_might_be_the_iap_rule() {
        assert_eq!(
            errors(
                &with_bastion("[bastion]\nname = \"b\"\nzone = \"europe-west2-a\"\n").replace(
                    "allow = [\"tcp:22\"]",
                    "allow = [\"tcp:22\"]\npriority = -1",
                )
            ),
            ["15:12: firewall[0].priority must be from 0 to 65535, found -1"]
        );
        assert_eq!(
            errors(&with_bastion("[bastion]\nname = \"b\"\nzone = \"europe-west2-a\"\n").replace(
                "\"35.235.240.0/20\"",
                "\"35.235.240.0\"",
            )),
            ["13:18: firewall[0].source_ranges[0] \"35.235.240.0\" is not an IPv4 CIDR range: the prefix length is missing"]
        );
    }

    #[test]
    fn unknown_and_missing_bastion_keys() {
        let text = with_bastion(
            "[bastion]\nname = \"b\"\nzones = \"europe-west2-a\"\ntag = [\"bastion\"]\n",
        );
        assert_eq!(
            errors(&text),
            [
                "16:1: bastion is missing required key \"zone\"",
                "18:1: unknown key \"zones\" in bastion",
                "19:1: unknown key \"tag\" in bastion",
            ]
        );
        let out = rendered(&text);
        assert!(out.contains("help: did you mean \"zone\"?"), "{out}");
        assert!(out.contains("help: did you mean \"tags\"?"), "{out}");
        assert!(rendered(&format!("{BASE}[bastoin]\nname = \"b\"\n"))
            .contains("unknown top-level key \"bastoin\"\n  help: did you mean \"bastion\"?"));
        let text = BASE.replace("[network]", "bastion = \"b\"\n[network]");
        assert_eq!(
            errors(&text),
            ["2:11: bastion must be a table, found a string"]
        );
        assert!(rendered(&text).contains("help: write it as a `[bastion]` section"));
    }
}

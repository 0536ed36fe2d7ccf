//! Semantic checks on the typed parts of a plan: names, CIDRs, overlaps,
//! duplicates, NAT and firewall rules.
//!
//! Checks run on every section that deserialized, so one run reports problems
//! across the whole file even when some sections have shape errors. Findings name
//! the offending value by key path (e.g. `region[1].subnet.pod_range.cidr`);
//! [`super::parse`] turns them into file:line:column diagnostics.

use ipnet::Ipv4Net;

use super::firewall_spec::parse_spec;
use super::model::{Direction, FirewallRule, Network, Region};
use super::names::MAX_NAME_LEN;
use super::names::{gcp_name_problem, looks_like_region, project_id_problem, suggest_name};
use super::spans::SpanIndex;

/// The sections of a plan that deserialized, with their index in the file.
#[derive(Debug, Default)]
pub(crate) struct Parts {
    pub project: Option<String>,
    pub network: Option<Network>,
    pub regions: Vec<(usize, Region)>,
    pub firewalls: Vec<(usize, FirewallRule)>,
}

/// One semantic problem, located by key path.
#[derive(Debug)]
pub(crate) struct Finding {
    /// Key path of the offending value.
    pub path: String,
    pub message: String,
    pub help: String,
    /// Another place the message refers to, and how to introduce it, e.g.
    /// `("region[0].name", "first defined at")`.
    pub related: Option<(String, &'static str)>,
}

/// Collects findings; knows where values are, to order "earlier" and "later".
struct Checker<'a> {
    spans: &'a SpanIndex,
    findings: Vec<Finding>,
}

impl Checker<'_> {
    fn push(&mut self, path: String, message: String, help: String) {
        self.findings.push(Finding {
            path,
            message,
            help,
            related: None,
        });
    }

    fn push_related(
        &mut self,
        path: String,
        message: String,
        help: String,
        related: (String, &'static str),
    ) {
        self.findings.push(Finding {
            path,
            message,
            help,
            related: Some(related),
        });
    }

    /// Reports `name` at `path` if it breaks GCP's name rule.
    fn name(&mut self, path: String, what: &str, name: &str) {
        if let Some(problem) = gcp_name_problem(name) {
            let mut help = "GCP names match [a-z]([-a-z0-9]*[a-z0-9])? and have at most 63 \
                            characters"
                .to_owned();
            if let Some(s) = suggest_name(name, MAX_NAME_LEN) {
                help.push_str(&format!("; try \"{s}\""));
            }
            self.push(path, format!("{what} \"{name}\" {problem}"), help);
        }
    }

    /// Reports `net` at `path` if it has host bits set.
    fn cidr(&mut self, path: String, what: &str, net: &Ipv4Net) {
        if net.trunc() != *net {
            self.push(
                path,
                format!("{what} {net} has host bits set"),
                format!(
                    "a range starts at its network address: write \"{}\"",
                    net.trunc()
                ),
            );
        }
    }

    /// Reports every repeated key after its first occurrence.
    fn duplicates(&mut self, items: &[(String, String)], what: &str, help: &str) {
        for (i, (path, key)) in items.iter().enumerate() {
            if let Some((first, _)) = items[..i].iter().find(|(_, k)| k == key) {
                self.push_related(
                    path.clone(),
                    format!("duplicate {what} \"{key}\""),
                    help.to_owned(),
                    (first.clone(), "first defined at"),
                );
            }
        }
    }
}

/// Runs every semantic check on `parts`; `spans` locates values to decide which
/// of two overlapping ranges comes later in the file.
pub(crate) fn check(parts: &Parts, spans: &SpanIndex) -> Vec<Finding> {
    let mut c = Checker {
        spans,
        findings: Vec::new(),
    };
    if let Some(project) = &parts.project {
        if let Some(problem) = project_id_problem(project) {
            let mut help = "project ids match [a-z][-a-z0-9]{4,28}[a-z0-9]; copy the id \
                            (not the display name) from `gcloud projects list`"
                .to_owned();
            if let Some(s) = suggest_name(project, 30).filter(|s| s.len() >= 6) {
                help.push_str(&format!(", e.g. \"{s}\""));
            }
            c.push(
                "project".into(),
                format!("project id \"{project}\" {problem}"),
                help,
            );
        }
    }
    if let Some(network) = &parts.network {
        c.name("network.name".into(), "network name", &network.name);
    }
    regions(&mut c, parts);
    overlaps(&mut c, &parts.regions);
    firewalls(&mut c, &parts.firewalls);
    c.findings
}

fn regions(c: &mut Checker<'_>, parts: &Parts) {
    let mut region_names = Vec::new();
    let mut subnet_names = Vec::new();
    for (i, region) in &parts.regions {
        let at = |rest: &str| format!("region[{i}].{rest}");
        if !looks_like_region(&region.name) {
            let mut help = "use a GCP region name such as \"europe-west2\" or \"us-central1\" \
                            (`gcloud compute regions list`)"
                .to_owned();
            if let Some((prefix, _)) = region.name.rsplit_once('-') {
                if looks_like_region(prefix) {
                    help = format!("\"{}\" is a zone; its region is \"{prefix}\"", region.name);
                }
            }
            c.push(
                at("name"),
                format!("\"{}\" is not a GCP region name", region.name),
                help,
            );
        } else if let Some(network) = &parts.network {
            let router = region.router_name(&network.name);
            if gcp_name_problem(&network.name).is_none() && router.len() > MAX_NAME_LEN {
                c.push(
                    at("name"),
                    format!(
                        "the Cloud Router name \"{router}\" derived from network \"{}\" and \
                         region \"{}\" is {} characters long; at most {MAX_NAME_LEN} are allowed",
                        network.name,
                        region.name,
                        router.len()
                    ),
                    "shorten the network name".into(),
                );
            }
        }
        region_names.push((at("name"), region.name.clone()));

        let subnet = &region.subnet;
        c.name(at("subnet.name"), "subnet name", &subnet.name);
        subnet_names.push((at("subnet.name"), subnet.name.clone()));
        c.cidr(at("subnet.cidr"), "subnet range", &subnet.cidr);
        for (key, what, range) in [
            ("pod_range", "pod range", &subnet.pod_range),
            ("service_range", "service range", &subnet.service_range),
        ] {
            c.name(
                at(&format!("subnet.{key}.name")),
                &format!("{what} name"),
                &range.name,
            );
            c.cidr(at(&format!("subnet.{key}.cidr")), what, &range.cidr);
        }
        c.duplicates(
            &[
                (at("subnet.pod_range.name"), subnet.pod_range.name.clone()),
                (
                    at("subnet.service_range.name"),
                    subnet.service_range.name.clone(),
                ),
            ],
            "secondary range name",
            "give the pod range and the service range of a subnet different names",
        );

        let ports = region.nat.min_ports_per_vm;
        if !ports.is_power_of_two() {
            let below = 1u32 << (31 - ports.leading_zeros());
            let above = below.saturating_mul(2).min(65536);
            c.push(
                at("nat.min_ports_per_vm"),
                format!("min_ports_per_vm must be a power of two, found {ports}"),
                format!("use {below} or {above}"),
            );
        }
    }
    c.duplicates(
        &region_names,
        "region",
        "declare each region once; one [[region]] holds its subnet and NAT \
         (its Cloud Router name would collide too)",
    );
    c.duplicates(
        &subnet_names,
        "subnet name",
        "give every subnet its own name",
    );
}

/// A range that must not overlap any other.
struct Range {
    path: String,
    label: String,
    net: Ipv4Net,
}

fn overlaps(c: &mut Checker<'_>, regions: &[(usize, Region)]) {
    let mut ranges = Vec::new();
    for (i, region) in regions {
        let s = &region.subnet;
        for (key, what, net) in [
            ("cidr", "subnet range", s.cidr),
            ("pod_range.cidr", "pod range", s.pod_range.cidr),
            ("service_range.cidr", "service range", s.service_range.cidr),
        ] {
            ranges.push(Range {
                path: format!("region[{i}].subnet.{key}"),
                label: format!("{what} {net} of region \"{}\"", region.name),
                net: net.trunc(),
            });
        }
    }
    for (j, b) in ranges.iter().enumerate() {
        for a in &ranges[..j] {
            if !(a.net.contains(&b.net.network()) || b.net.contains(&a.net.network())) {
                continue;
            }
            let (earlier, later) = if c.spans.start(&b.path) >= c.spans.start(&a.path) {
                (a, b)
            } else {
                (b, a)
            };
            c.push_related(
                later.path.clone(),
                format!("{} overlaps {}", later.label, earlier.label),
                "give each range its own block of addresses; ranges must not overlap \
                 anywhere in the plan"
                    .into(),
                (earlier.path.clone(), "defined at"),
            );
        }
    }
}

fn firewalls(c: &mut Checker<'_>, rules: &[(usize, FirewallRule)]) {
    let mut names = Vec::new();
    for (i, rule) in rules {
        let at = |rest: &str| format!("firewall[{i}].{rest}");
        let name = &rule.name;
        c.name(at("name"), "firewall rule name", name);
        names.push((at("name"), name.clone()));
        for (key, tags) in [
            ("source_tags", &rule.source_tags),
            ("target_tags", &rule.target_tags),
        ] {
            for (k, tag) in tags.iter().enumerate() {
                c.name(at(&format!("{key}[{k}]")), "network tag", tag);
            }
        }
        for (key, nets) in [
            ("source_ranges", &rule.source_ranges),
            ("destination_ranges", &rule.destination_ranges),
        ] {
            for (k, net) in nets.iter().enumerate() {
                c.cidr(at(&format!("{key}[{k}]")), "range", net);
            }
        }

        match (rule.allow.is_empty(), rule.deny.is_empty()) {
            (true, true) => c.push(
                format!("firewall[{i}]"),
                format!("firewall rule \"{name}\" neither allows nor denies anything"),
                "add `allow = [\"tcp:22\"]` or `deny = [...]` with the traffic it is for".into(),
            ),
            (false, false) => c.push(
                at("deny"),
                format!("firewall rule \"{name}\" has both allow and deny"),
                "a rule either allows or denies: split it into two rules".into(),
            ),
            _ => {}
        }
        for (key, specs) in [("allow", &rule.allow), ("deny", &rule.deny)] {
            for (k, spec) in specs.iter().enumerate() {
                if let Err(e) = parse_spec(spec) {
                    c.push(at(&format!("{key}[{k}]")), e.message, e.help);
                }
            }
        }

        match rule.direction {
            Direction::Ingress => {
                if rule.source_ranges.is_empty() && rule.source_tags.is_empty() {
                    c.push(
                        format!("firewall[{i}]"),
                        format!("ingress rule \"{name}\" has no source_ranges or source_tags"),
                        "GCP would apply it to traffic from anywhere; if that is meant, write \
                         `source_ranges = [\"0.0.0.0/0\"]`, otherwise list the sources"
                            .into(),
                    );
                }
                if !rule.destination_ranges.is_empty() {
                    c.push(
                        at("destination_ranges"),
                        format!("ingress rule \"{name}\" has destination_ranges"),
                        "destination_ranges only apply to EGRESS rules: remove them or set \
                         `direction = \"EGRESS\"`"
                            .into(),
                    );
                }
            }
            Direction::Egress => {
                for (key, empty) in [
                    ("source_ranges", rule.source_ranges.is_empty()),
                    ("source_tags", rule.source_tags.is_empty()),
                ] {
                    if !empty {
                        c.push(
                            at(key),
                            format!("egress rule \"{name}\" has {key}"),
                            format!(
                                "{key} only apply to INGRESS rules: remove them or set \
                                 `direction = \"INGRESS\"`"
                            ),
                        );
                    }
                }
            }
        }
    }
    c.duplicates(
        &names,
        "firewall rule name",
        "give every firewall rule its own name",
    );
}

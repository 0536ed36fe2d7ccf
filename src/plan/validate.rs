//! Semantic checks on the typed parts of a plan: names, CIDRs, overlaps,
//! duplicates, NAT and firewall rules.
//!
//! Checks run on every section that deserialized, so one run reports problems
//! across the whole file even when some sections have shape errors. Findings name
//! the offending value by key path (e.g. `region[1].subnet.pod_range.cidr`);
//! [`super::parse`] turns them into file:line:column diagnostics.

use ipnet::Ipv4Net;

use super::firewall_spec::parse_spec;
use super::mesh::Mesh;
use super::model::{Bastion, Direction, FirewallRule, Network, Region, TimeoutSettings};
use super::names::MAX_NAME_LEN;
use super::names::{gcp_name_problem, looks_like_region, project_id_problem, suggest_name};
use super::spans::SpanIndex;

mod bastion;
mod cluster;
mod mesh;

/// The sections of a plan that deserialized, with their index in the file.
#[derive(Debug, Default)]
pub(crate) struct Parts {
    pub project: Option<String>,
    pub network: Option<Network>,
    pub regions: Vec<(usize, Region)>,
    pub firewalls: Vec<(usize, FirewallRule)>,
    /// Whether every `[[firewall]]` of the file is in `firewalls` (checks that
    /// look for a rule are skipped when one could not be read).
    pub all_firewalls: bool,
    pub bastion: Option<Bastion>,
    pub mesh: Option<Mesh>,
    pub samples: Option<crate::plan::mesh::Samples>,
    pub state: Option<crate::plan::StateSection>,
    pub timeouts: Option<TimeoutSettings>,
    /// The folder of the plan file (brought CA files are read from it).
    pub plan_dir: std::path::PathBuf,
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
    cluster::clusters(&mut c, parts);
    overlaps(&mut c, &parts.regions);
    firewalls(&mut c, &parts.firewalls);
    bastion::bastion(&mut c, parts);
    mesh::mesh(&mut c, parts);
    if let Some(state) = &parts.state {
        let given = format!(
            "gs://{}/{}/x.json",
            state.bucket,
            state.prefix.trim_matches('/')
        );
        if let Err(e) = crate::state::StateLocation::parse(&given) {
            c.push(
                "state.bucket".into(),
                format!("bucket \"{}\": {}", state.bucket, e.problem),
                "name an existing bucket, e.g. bucket = \"my-team-meshform-state\"".into(),
            );
        }
    }
    timeouts(&mut c, parts.timeouts.as_ref());
    c.findings
}

/// Every `[timeouts]` value is a positive duration such as "45m".
fn timeouts(c: &mut Checker<'_>, settings: Option<&TimeoutSettings>) {
    for (kind, verbs) in settings.into_iter().flat_map(TimeoutSettings::by_kind) {
        for (verb, text) in verbs.into_iter().flat_map(|v| v.by_verb()) {
            let Some(text) = text else { continue };
            let problem = match humantime::parse_duration(text) {
                Ok(d) if d.is_zero() => Some("is zero".to_string()),
                Ok(_) => None,
                Err(e) => Some(format!("is not a duration ({e})")),
            };
            if let Some(problem) = problem {
                c.push(
                    format!("timeouts.{kind}.{verb}"),
                    format!("timeout \"{text}\" {problem}"),
                    format!("write a duration such as {verb} = \"45m\", \"1h30m\" or \"90s\""),
                );
            }
        }
    }
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

/// Every range of the plan that must not overlap another: each region's
/// subnet, pod and service ranges and each cluster's control plane /28 (other
/// control plane ranges are reported as not being a /28 instead).
fn plan_ranges(regions: &[(usize, Region)]) -> Vec<Range> {
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
        if let Some(cluster) = region.cluster.as_ref() {
            let net = cluster.master_cidr;
            if net.prefix_len() == 28 {
                ranges.push(Range {
                    path: format!("region[{i}].cluster.master_cidr"),
                    label: format!("control plane range {net} of cluster \"{}\"", cluster.name),
                    net: net.trunc(),
                });
            }
        }
    }
    ranges
}

fn overlaps(c: &mut Checker<'_>, regions: &[(usize, Region)]) {
    let ranges = plan_ranges(regions);
    let taken: Vec<Ipv4Net> = ranges.iter().map(|r| r.net).collect();
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
            let mut help = "give each range its own block of addresses; ranges must not \
                            overlap anywhere in the plan"
                .to_owned();
            if later.path.ends_with("master_cidr") {
                help.push_str(&cluster::free_master_hint(&taken));
            }
            c.push_related(
                later.path.clone(),
                format!("{} overlaps {}", later.label, earlier.label),
                help,
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

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::plan::parse::tests::{errors, errors_with_base, BASE};

    /// The whole rendered output, for checking help texts.
    fn rendered(text: &str) -> String {
        crate::plan::parse(Path::new("p.toml"), text)
            .unwrap_err()
            .to_string()
    }

    /// [`BASE`] with `from` replaced by `to`.
    fn base_with(from: &str, to: &str) -> String {
        assert!(BASE.contains(from), "{from}");
        BASE.replace(from, to)
    }

    #[test]
    fn project_id_rule() {
        let text = base_with("meshform-demo", "demo");
        assert_eq!(
            errors(&text),
            ["1:11: project id \"demo\" is 4 characters long; it must have 6 to 30"]
        );
        assert!(rendered(&base_with("meshform-demo", "My_Project"))
            .contains("copy the id (not the display name) from `gcloud projects list`, e.g. \"my-project\""));
    }

    #[test]
    fn resource_names_follow_the_gcp_rule() {
        let text = BASE
            .replace("name = \"vpc\"", "name = \"VPC\"")
            .replace("name = \"eu\"", "name = \"eu-\"")
            .replace("name = \"pods\"", "name = \"1pods\"")
            .replace("name = \"svc\"", &format!("name = \"{}\"", "s".repeat(64)));
        assert_eq!(
            errors(&text),
            [
                "3:8: network name \"VPC\" starts with 'V'; it must start with a lowercase letter",
                "7:8: subnet name \"eu-\" ends with '-'; it must end with a letter or digit",
                "9:22: pod range name \"1pods\" starts with '1'; it must start with a lowercase letter",
                "10:26: service range name \"ssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssss\" is 64 characters long; at most 63 are allowed",
            ]
        );
        assert!(rendered(&text).contains(
            "help: GCP names match [a-z]([-a-z0-9]*[a-z0-9])? and have at most 63 characters; try \"vpc\""
        ));
    }

    #[test]
    fn firewall_names_and_tags_follow_the_gcp_rule() {
        assert_eq!(
            errors_with_base(
                r#"
[[firewall]]
name = "Allow SSH"
allow = ["tcp:22"]
source_tags = ["web_servers"]
target_tags = ["bastion", ""]
"#
            ),
            [
                "12:8: firewall rule name \"Allow SSH\" starts with 'A'; it must start with a lowercase letter",
                "14:16: network tag \"web_servers\" contains '_'; only lowercase letters, digits and hyphens are allowed",
                "15:27: network tag \"\" is empty",
            ]
        );
    }

    #[test]
    fn host_bits_suggest_the_network_address() {
        let text = base_with("10.0.0.0/20", "10.0.0.1/20");
        assert_eq!(
            errors(&text),
            ["8:8: subnet range 10.0.0.1/20 has host bits set"]
        );
        assert!(rendered(&text)
            .contains("help: a range starts at its network address: write \"10.0.0.0/20\""));
        assert_eq!(
            errors_with_base(
                r#"
[[firewall]]
name = "ssh"
allow = ["tcp:22"]
source_ranges = ["35.235.240.0/20", "35.235.240.7/20"]
"#
            ),
            ["14:37: range 35.235.240.7/20 has host bits set"]
        );
    }

    #[test]
    fn overlapping_ranges_point_at_the_later_one_and_name_both() {
        let text = errors_with_base(
            r#"
[[region]]
name = "us-central1"
[region.subnet]
name = "us"
pod_range = { name = "pods", cidr = "10.0.8.0/21" }
cidr = "10.16.4.0/24"
service_range = { name = "svc", cidr = "10.18.0.0/24" }
"#,
        );
        assert_eq!(
            text,
            [
                "15:37: pod range 10.0.8.0/21 of region \"us-central1\" overlaps subnet range 10.0.0.0/20 of region \"europe-west2\" (defined at 8:8)",
                "16:8: subnet range 10.16.4.0/24 of region \"us-central1\" overlaps pod range 10.16.0.0/20 of region \"europe-west2\" (defined at 9:37)",
            ]
        );
        let out = rendered(&format!(
            "{BASE}[[region]]\nname = \"us-central1\"\n[region.subnet]\nname = \"us\"\ncidr = \"10.17.0.0/16\"\n\
             pod_range = {{ name = \"p\", cidr = \"10.20.0.0/20\" }}\nservice_range = {{ name = \"s\", cidr = \"10.21.0.0/24\" }}\n"
        ));
        assert!(out.contains(
            "error: p.toml:15:8: subnet range 10.17.0.0/16 of region \"us-central1\" overlaps service range 10.17.0.0/24 of region \"europe-west2\" (defined at 10:40)\n  \
             help: give each range its own block of addresses; ranges must not overlap anywhere in the plan"
        ), "{out}");
    }

    #[test]
    fn duplicate_regions_and_names() {
        assert_eq!(
            errors_with_base(
                r#"
[[region]]
name = "europe-west2"
[region.subnet]
name = "eu"
cidr = "10.1.0.0/20"
pod_range = { name = "pods", cidr = "10.2.0.0/20" }
service_range = { name = "pods", cidr = "10.3.0.0/24" }
[[firewall]]
name = "ssh"
allow = ["tcp:22"]
source_ranges = ["0.0.0.0/0"]
[[firewall]]
name = "ssh"
allow = ["tcp:22"]
source_tags = ["bastion"]
"#
            ),
            [
                "12:8: duplicate region \"europe-west2\" (first defined at 5:8)",
                "14:8: duplicate subnet name \"eu\" (first defined at 7:8)",
                "17:26: duplicate secondary range name \"pods\" (first defined at 16:22)",
                "23:8: duplicate firewall rule name \"ssh\" (first defined at 19:8)",
            ]
        );
    }

    #[test]
    fn region_names_must_look_like_gcp_regions() {
        assert_eq!(
            errors(&base_with("europe-west2", "Europe West")),
            ["5:8: \"Europe West\" is not a GCP region name"]
        );
        assert!(rendered(&base_with("\"europe-west2\"", "\"europe-west2-a\""))
            .contains("5:8: \"europe-west2-a\" is not a GCP region name\n  help: \"europe-west2-a\" is a zone; its region is \"europe-west2\""));
    }

    #[test]
    fn derived_router_names_must_fit_in_63_characters() {
        let long = "n".repeat(50);
        assert_eq!(
            errors(&base_with("name = \"vpc\"", &format!("name = \"{long}\""))),
            [format!(
                "5:8: the Cloud Router name \"{long}-europe-west2-router\" derived from network \"{long}\" and region \"europe-west2\" is 70 characters long; at most 63 are allowed"
            )]
        );
    }

    #[test]
    fn nat_min_ports_must_be_a_power_of_two() {
        let text = format!("{BASE}[region.nat]\nmin_ports_per_vm = 1000\n");
        assert_eq!(
            errors(&text),
            ["12:20: min_ports_per_vm must be a power of two, found 1000"]
        );
        assert!(rendered(&text).contains("help: use 512 or 1024"));
    }

    #[test]
    fn a_firewall_rule_allows_or_denies() {
        assert_eq!(
            errors_with_base(
                r#"
[[firewall]]
name = "nothing"
source_ranges = ["10.0.0.0/8"]
[[firewall]]
name = "both"
source_ranges = ["10.0.0.0/8"]
allow = ["tcp:22"]
deny = ["udp:53"]
"#
            ),
            [
                "11:1: firewall rule \"nothing\" neither allows nor denies anything",
                "18:8: firewall rule \"both\" has both allow and deny",
            ]
        );
    }

    #[test]
    fn every_bad_protocol_spec_is_reported() {
        assert_eq!(
            errors_with_base(
                r#"
[[firewall]]
name = "web"
source_ranges = ["10.0.0.0/8"]
allow = ["tcp:80,443", "icmp:8", "tcp:8080-80", "gre"]
"#
            ),
            [
                "14:24: \"icmp:8\" gives ports, but only tcp, udp and sctp have ports",
                "14:34: bad port \"8080-80\" in \"tcp:8080-80\": the range ends before it starts",
                "14:49: unknown protocol \"gre\" in \"gre\"",
            ]
        );
    }

    #[test]
    fn ingress_needs_explicit_sources() {
        let text = format!("{BASE}[[firewall]]\nname = \"web\"\nallow = [\"tcp:80\"]\n");
        assert_eq!(
            errors(&text),
            ["11:1: ingress rule \"web\" has no source_ranges or source_tags"]
        );
        assert!(rendered(&text).contains(
            "help: GCP would apply it to traffic from anywhere; if that is meant, write `source_ranges = [\"0.0.0.0/0\"]`"
        ));
    }

    #[test]
    fn ranges_and_tags_must_match_the_direction() {
        assert_eq!(
            errors_with_base(
                r#"
[[firewall]]
name = "in"
allow = ["tcp:80"]
source_tags = ["web"]
destination_ranges = ["10.0.0.0/8"]
[[firewall]]
name = "out"
direction = "EGRESS"
deny = ["all"]
source_ranges = ["10.0.0.0/8"]
source_tags = ["web"]
destination_ranges = ["0.0.0.0/0"]
"#
            ),
            [
                "15:22: ingress rule \"in\" has destination_ranges",
                "20:17: egress rule \"out\" has source_ranges",
                "21:15: egress rule \"out\" has source_tags",
            ]
        );
    }
}

//! Reading a plan file: TOML syntax, then shape (per [`super::schema`]), then the
//! typed sections, then semantic checks, with every problem reported at its
//! file:line:column.

use std::path::Path;

use serde::de::DeserializeOwned;
use toml::de::{DeTable, DeValue, ValueDeserializer};
use toml::Spanned;

use super::diagnostic::{Diagnostic, Diagnostics, Source};
use super::mesh::Mesh;
use super::model::{Plan, Region};
use super::schema;
use super::shape::Shape;
use super::spans::SpanIndex;
use super::validate::{self, Finding, Parts};
use super::PlanError;

/// Parses and validates plan text read from `path` (used only in messages).
pub(crate) fn parse(path: &Path, text: &str) -> Result<Plan, PlanError> {
    let src = Source::new(path, text);
    let mut root = match DeTable::parse(text) {
        Ok(root) => root,
        Err(e) => {
            let d = src.diagnostic(
                e.span().unwrap_or(0..0),
                format!("invalid TOML: {}", e.message().trim_end()),
                "fix the TOML syntax here; the rest of the plan is checked once the file parses",
            );
            return Err(PlanError::Invalid(Diagnostics(vec![d])));
        }
    };
    let shape = Shape::check(&src, &mut root, schema::ROOT);
    let root = root.into_inner();

    let mut diagnostics = Vec::new();
    let mut parts = Parts::default();
    if let Some(v) = root.get("project").filter(|_| shape.is_intact("project")) {
        parts.project = typed(&src, v, &mut diagnostics);
    }
    if let Some(v) = root.get("network").filter(|_| shape.is_intact("network")) {
        parts.network = typed(&src, v, &mut diagnostics);
    }
    parts.regions = regions(&src, &shape, &root, &mut diagnostics);
    parts.firewalls = elements(&src, &shape, &root, "firewall", &mut diagnostics);
    parts.all_firewalls =
        parts.firewalls.len() == root.get("firewall").map_or(0, |v| array_len(v.get_ref()));
    if let Some(v) = root.get("bastion").filter(|_| shape.is_intact("bastion")) {
        parts.bastion = typed(&src, v, &mut diagnostics);
    }
    if let Some(v) = root.get("timeouts").filter(|_| shape.is_intact("timeouts")) {
        parts.timeouts = typed(&src, v, &mut diagnostics);
    }
    if let Some(v) = root.get("state").filter(|_| shape.is_intact("state")) {
        parts.state = typed(&src, v, &mut diagnostics);
    }
    if let Some(v) = root.get("samples").filter(|_| shape.is_intact("samples")) {
        parts.samples = typed(&src, v, &mut diagnostics);
    }
    if let Some(v) = root.get("mesh").filter(|_| shape.is_intact("mesh")) {
        parts.mesh = typed::<Mesh>(&src, v, &mut diagnostics).map(|m| m.beside(path));
    }
    parts.plan_dir = path.parent().map(Path::to_path_buf).unwrap_or_default();

    let findings = validate::check(&parts, &shape.spans);
    diagnostics.extend(shape.diagnostics.iter().cloned());
    diagnostics.extend(findings.iter().map(|f| locate(&src, &shape.spans, f)));

    if diagnostics.is_empty() {
        if let (Some(project), Some(network)) = (parts.project, parts.network) {
            return Ok(Plan {
                project,
                network,
                regions: parts.regions.into_iter().map(|(_, r)| r).collect(),
                firewalls: parts.firewalls.into_iter().map(|(_, f)| f).collect(),
                bastion: parts.bastion,
                mesh: parts.mesh,
                samples: parts.samples,
                state: parts.state,
                timeouts: parts.timeouts.unwrap_or_default(),
            });
        }
    }
    diagnostics.sort_by_key(|d| (d.line, d.column));
    Err(PlanError::Invalid(Diagnostics(diagnostics)))
}

/// Deserializes every intact element of the array of tables `key` (`[[key]]`),
/// each with its index in the file.
fn elements<T: DeserializeOwned>(
    src: &Source<'_>,
    shape: &Shape<'_>,
    root: &DeTable<'_>,
    key: &str,
    diagnostics: &mut Vec<Diagnostic>,
) -> Vec<(usize, T)> {
    let Some(items) = root.get(key).and_then(|v| v.get_ref().as_array()) else {
        return Vec::new();
    };
    items
        .iter()
        .enumerate()
        .filter(|(i, _)| shape.is_intact(&format!("{key}[{i}]")))
        .filter_map(|(i, item)| typed(src, item, diagnostics).map(|t| (i, t)))
        .collect()
}

/// Deserializes every `[[region]]`. A region whose only shape errors are in
/// its `[region.cluster]` is read without the cluster, so its subnet and NAT
/// are still checked.
fn regions(
    src: &Source<'_>,
    shape: &Shape<'_>,
    root: &DeTable<'_>,
    diagnostics: &mut Vec<Diagnostic>,
) -> Vec<(usize, Region)> {
    let Some(items) = root.get("region").and_then(|v| v.get_ref().as_array()) else {
        return Vec::new();
    };
    let mut regions = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let path = format!("region[{i}]");
        let region = if shape.is_intact(&path) {
            typed(src, item, diagnostics)
        } else if shape.is_intact_apart_from(&path, &format!("{path}.cluster")) {
            let mut item = item.clone();
            if let DeValue::Table(t) = item.get_mut() {
                t.remove("cluster");
            }
            typed(src, &item, diagnostics)
        } else {
            None
        };
        regions.extend(region.map(|r| (i, r)));
    }
    regions
}

/// The number of items of an array value (0 for anything else).
fn array_len(value: &DeValue<'_>) -> usize {
    value.as_array().map_or(0, |a| a.len())
}

/// Deserializes one section; a serde error (only possible if the schema and the
/// model disagree) becomes a diagnostic at the value.
fn typed<T: DeserializeOwned>(
    src: &Source<'_>,
    value: &Spanned<DeValue<'_>>,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<T> {
    match T::deserialize(ValueDeserializer::from(value.clone())) {
        Ok(t) => Some(t),
        Err(e) => {
            let span = e.span().unwrap_or_else(|| value.span());
            diagnostics.push(src.diagnostic(span, e.message().trim_end().to_owned(), ""));
            None
        }
    }
}

/// Turns a finding's key path into a file position.
fn locate(src: &Source<'_>, spans: &SpanIndex, f: &Finding) -> Diagnostic {
    let mut message = f.message.clone();
    if let Some((path, intro)) = &f.related {
        let (line, column) = src.line_column(spans.start(path));
        message.push_str(&format!(" ({intro} {line}:{column})"));
    }
    src.diagnostic(spans.locate(&f.path), message, f.help.clone())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::plan::{
        AuthorizedNetwork, Bastion, Cluster, ControlPlaneAccess, FirewallRule, NodePool,
        ReleaseChannel,
    };

    /// Every diagnostic of `text` as `"LINE:COL: message"`, in file order. A
    /// leading newline is dropped, so snippets can start on the line after `r#"`.
    pub(crate) fn errors(text: &str) -> Vec<String> {
        let text = text.strip_prefix('\n').unwrap_or(text);
        match parse(Path::new("plan.toml"), text) {
            Ok(_) => Vec::new(),
            Err(PlanError::Invalid(d)) => {
                d.0.iter()
                    .map(|d| format!("{}:{}: {}", d.line, d.column, d.message))
                    .collect()
            }
            Err(e) => panic!("unexpected error {e}"),
        }
    }

    /// A minimal valid plan of exactly 10 lines; text appended to it starts on line 11.
    pub(crate) const BASE: &str = r#"project = "meshform-demo"
[network]
name = "vpc"
[[region]]
name = "europe-west2"
[region.subnet]
name = "eu"
cidr = "10.0.0.0/20"
pod_range = { name = "pods", cidr = "10.16.0.0/20" }
service_range = { name = "svc", cidr = "10.17.0.0/24" }
"#;

    /// [`errors`] of [`BASE`] followed by `extra` (which starts on line 11).
    pub(crate) fn errors_with_base(extra: &str) -> Vec<String> {
        errors(&format!(
            "{BASE}{}",
            extra.strip_prefix('\n').unwrap_or(extra)
        ))
    }

    #[test]
    fn the_base_plan_is_valid() {
        assert_eq!(BASE.lines().count(), 10);
        assert_eq!(errors(BASE), Vec::<String>::new());
    }

    #[test]
    fn the_vpc_example_loads_cleanly() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("plans/vpc.toml");
        let plan = super::super::load(&path).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(plan.project, "meshform-demo");
        assert_eq!(plan.network.name, "cross-region-vpc");
        let regions: Vec<_> = plan.regions.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(regions, ["europe-west2", "us-central1"]);
        assert_eq!(plan.regions[1].nat.min_ports_per_vm, 64);
        assert_eq!(plan.firewalls[0].name, "allow-iap-ssh");
    }

    #[test]
    fn the_tutorial_loads_cleanly() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("plans/tutorial.toml");
        let plan = super::super::load(&path).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(plan.project, "meshform-demo");
        assert_eq!(plan.network.name, "cross-region-vpc");
        assert_eq!(
            plan.network.routing_mode,
            crate::plan::RoutingMode::Regional
        );
        let subnets: Vec<_> = plan
            .regions
            .iter()
            .map(|r| {
                let s = &r.subnet;
                (
                    r.name.as_str(),
                    s.name.as_str(),
                    s.cidr.to_string(),
                    s.pod_range.cidr.to_string(),
                    s.service_range.cidr.to_string(),
                    r.nat.enabled,
                )
            })
            .collect();
        assert_eq!(
            subnets,
            [
                (
                    "europe-west2",
                    "eu-ilb-subnet",
                    "172.20.0.0/20".to_owned(),
                    "10.16.32.0/20".to_owned(),
                    "172.16.5.0/24".to_owned(),
                    true
                ),
                (
                    "us-central1",
                    "us-ilb-subnet",
                    "172.21.0.0/20".to_owned(),
                    "10.16.48.0/20".to_owned(),
                    "172.16.6.0/24".to_owned(),
                    true
                ),
            ]
        );
        let clusters: Vec<_> = plan
            .regions
            .iter()
            .map(|r| r.cluster.as_ref().expect("every region has a cluster"))
            .collect();
        let summary: Vec<_> = clusters
            .iter()
            .map(|c| {
                (
                    c.name.as_str(),
                    c.location.as_str(),
                    c.master_cidr.to_string(),
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                (
                    "istio-cluster1",
                    "europe-west2-a",
                    "172.16.0.32/28".to_owned()
                ),
                (
                    "istio-cluster2",
                    "us-central1-a",
                    "172.16.0.64/28".to_owned()
                ),
            ]
        );
        for c in clusters {
            assert!(c.private_endpoint);
            assert_eq!(c.access_mode(), ControlPlaneAccess::Dns);
            assert_eq!(c.release_channel, ReleaseChannel::Rapid);
            assert_eq!(c.node_pool.machine_type, "n1-standard-2");
            assert_eq!(c.node_pool.count, 3);
            assert!(c.authorized_networks.is_empty());
        }
        assert_eq!(plan.firewalls[0].name, "allow-iap-ssh");
        let bastion = plan.bastion.expect("the tutorial has a bastion");
        assert_eq!(bastion.zone, "europe-west2-a");
        assert_eq!(bastion.tags, ["bastion"]);
    }

    #[test]
    fn a_missing_file_is_a_read_error() {
        let err = super::super::load(Path::new("plans/does-not-exist.toml")).unwrap_err();
        assert!(matches!(err, PlanError::Read { .. }));
        assert_eq!(
            err.to_string(),
            "cannot read plan file plans/does-not-exist.toml"
        );
    }

    #[test]
    fn malformed_toml_reports_the_parser_position() {
        assert_eq!(
            errors(
                r#"
project = "p"
[network
name = "vpc"
"#
            ),
            ["2:9: invalid TOML: unclosed table, expected `]`"]
        );
        assert_eq!(
            errors("project = \"a\"\nproject = \"b\"\n"),
            ["2:1: invalid TOML: duplicate key"]
        );
    }

    #[test]
    fn one_run_reports_errors_from_every_section() {
        let errors = errors(
            r#"
project = "Meshform"
[network]
name = "cross_region"
mtu = 9000
[[region]]
name = "europe-west2"
[region.subnet]
name = "eu"
cidr = "10.0.0.1/20"
pod_range = { name = "pods", cdir = "10.16.0.0/20" }
service_range = { name = "svc", cidr = "10.17.0.0/24" }
[[region]]
name = "us_central1"
[region.subnet]
name = "us"
cidr = "10.1.0.0/20"
pod_range = { name = "pods", cidr = "10.16.0.0/20" }
service_range = { name = "svc", cidr = "10.1.8.0/24" }
[[firewall]]
name = "ssh"
allow = ["tpc:22"]
"#,
        );
        assert_eq!(
            errors,
            [
                "1:11: project id \"Meshform\" starts with 'M'; it must start with a lowercase letter",
                "3:8: network name \"cross_region\" contains '_'; only lowercase letters, digits and hyphens are allowed",
                "4:7: network.mtu must be from 1300 to 8896, found 9000",
                "10:13: region[0].subnet.pod_range is missing required key \"cidr\"",
                "10:30: unknown key \"cdir\" in region[0].subnet.pod_range",
                "13:8: \"us_central1\" is not a GCP region name",
                "18:40: service range 10.1.8.0/24 of region \"us_central1\" overlaps subnet range 10.1.0.0/20 of region \"us_central1\" (defined at 16:8)",
                "19:1: ingress rule \"ssh\" has no source_ranges or source_tags",
                "21:10: unknown protocol \"tpc\" in \"tpc:22\"",
            ]
        );
    }

    #[test]
    fn rendered_diagnostics_of_a_bad_plan() {
        let err = parse(
            Path::new("plans/bad.toml"),
            r#"project = "meshform-demo"
[network]
name = "cross-region-vpc"
routing_mode = "regional"

[[region]]
name = "europe-west2"

[region.subnet]
name = "eu-ilb-subnet"
cidr = "172.20.0.0/20"
pod_range = { name = "eu-pods", cidr = "10.16.32.0/20" }
service_range = { name = "eu-services", cidr = "172.16.5.0/24" }

[region.nat]
min_ports_per_vm = 100

[[region]]
name = "us-central1"

[region.subnet]
name = "us-ilb-subnet"
cidr = "172.21.0.1/20"
pod_range = { name = "us-pods", cidr = "172.20.8.0/21" }
service_range = { name = "us-services", cidr = "172.16.6.0/24" }

[[firewall]]
name = "allow-iap-ssh"
source_ranges = ["35.235.240.0/20"]
allow = ["tcp:22"]
deny = ["icmp"]
target_tag = ["bastion"]
"#,
        )
        .unwrap_err();
        insta::assert_snapshot!(err.to_string());
    }

    /// Every key of the schema is a field of the model and the other way round:
    /// a fully populated plan survives a round trip through TOML, and its TOML
    /// uses every key the schema knows.
    #[test]
    fn schema_matches_model() {
        let mut plan = parse(Path::new("base.toml"), BASE).unwrap();
        plan.firewalls.push(FirewallRule {
            name: "all-fields".into(),
            direction: crate::plan::Direction::Egress,
            priority: 900,
            allow: vec![],
            deny: vec!["tcp:22".into()],
            source_ranges: vec![],
            source_tags: vec![],
            destination_ranges: vec!["10.0.0.0/8".parse().unwrap()],
            target_tags: vec!["web".into()],
            description: "d".into(),
        });
        plan.firewalls.push(FirewallRule {
            name: "allow-iap-ssh".into(),
            direction: crate::plan::Direction::Ingress,
            priority: 1000,
            allow: vec!["tcp:22".into()],
            deny: vec![],
            source_ranges: vec!["35.235.240.0/20".parse().unwrap()],
            source_tags: vec![],
            destination_ranges: vec![],
            target_tags: vec!["jump".into()],
            description: String::new(),
        });
        // Two clusters, so that both operator_cidr and proxy_url can be set.
        let cluster = Cluster {
            name: "c1".into(),
            location: "europe-west2".into(),
            master_cidr: "172.16.0.0/28".parse().unwrap(),
            release_channel: ReleaseChannel::Stable,
            private_endpoint: false,
            access: Some(ControlPlaneAccess::Public),
            operator_cidr: Some("203.0.113.7/32".parse().unwrap()),
            proxy_url: None,
            authorized_networks: vec![AuthorizedNetwork {
                name: "office".into(),
                cidr: "198.51.100.0/24".parse().unwrap(),
            }],
            node_pool: NodePool {
                machine_type: "n1-standard-2".into(),
                count: 1,
                disk_size_gb: 50,
                image_type: "UBUNTU_CONTAINERD".into(),
            },
            mesh: crate::plan::ClusterMesh {
                name: Some("east".into()),
                network: Some("net-east".into()),
            },
        };
        plan.regions[0].cluster = Some(cluster.clone());
        let mut us = plan.regions[0].clone();
        us.name = "us-central1".into();
        us.subnet.name = "us".into();
        us.subnet.cidr = "10.1.0.0/20".parse().unwrap();
        us.subnet.pod_range.cidr = "10.18.0.0/20".parse().unwrap();
        us.subnet.service_range.cidr = "10.19.0.0/24".parse().unwrap();
        us.cluster = Some(Cluster {
            name: "c2".into(),
            location: "us-central1-b".into(),
            master_cidr: "172.16.0.16/28".parse().unwrap(),
            private_endpoint: true,
            access: Some(ControlPlaneAccess::Proxy),
            operator_cidr: None,
            proxy_url: Some("socks5://localhost:1080".into()),
            mesh: Default::default(),
            ..cluster
        });
        plan.regions.push(us);
        plan.bastion = Some(Bastion {
            name: "jump".into(),
            zone: "us-central1-c".into(),
            machine_type: "e2-micro".into(),
            tags: vec!["jump".into()],
            image: "projects/debian-cloud/global/images/family/debian-12".into(),
        });
        let every = crate::plan::VerbTimeouts {
            create: Some("45m".into()),
            update: Some("1h".into()),
            delete: Some("30m".into()),
        };
        // Every kind of the registry has its [timeouts.KIND].
        plan.timeouts = crate::plan::TimeoutSettings(
            crate::kinds::ResourceKind::ALL
                .iter()
                .map(|k| (*k, every.clone()))
                .collect(),
        );
        // A brought root, so that its keys are written too.
        let dir = tempfile::tempdir().unwrap();
        let root = crate::mesh::ca::issue_root(
            crate::plan::KeyType::EcdsaP256,
            3650,
            std::time::SystemTime::now(),
        )
        .unwrap();
        std::fs::write(dir.path().join("root.pem"), &root.cert_pem).unwrap();
        std::fs::write(dir.path().join("root-key.pem"), &root.key.0).unwrap();
        plan.mesh = Some(crate::plan::Mesh {
            id: "mesh1".into(),
            istio_version: "1.30.5".into(),
            revision: Some("1-30".into()),
            hub: Some("registry.example.com/istio".into()),
            tag: Some("1.30.5-distroless".into()),
            trust_domain: "mesh.example.com".into(),
            ca: crate::plan::MeshCa {
                key_type: crate::plan::KeyType::EcdsaP256,
                root_validity_days: 3650,
                intermediate_validity_days: 365,
                reissue_window_days: 20,
                root_cert: Some(dir.path().join("root.pem")),
                root_key: Some(dir.path().join("root-key.pem")),
                brought_fingerprint: Some(crate::mesh::ca::fingerprint(&root.cert_pem).unwrap()),
            },
            gateway_source_ranges: vec!["10.100.0.0/16".parse().unwrap()],
        });
        plan.samples = Some(crate::plan::Samples {
            enabled: true,
            namespace: "demo".into(),
        });
        plan.state = Some(crate::plan::StateSection {
            bucket: "team-state".into(),
            prefix: "envs".into(),
        });
        let text = toml::to_string(&plan).unwrap();
        assert_eq!(
            parse(Path::new("roundtrip.toml"), &text).unwrap_or_else(|e| panic!("{e}\n{text}")),
            plan
        );

        fn keys(fields: &[schema::Field], out: &mut Vec<&'static str>) {
            for f in fields {
                out.push(f.name);
                match &f.kind {
                    schema::Kind::Table(inner)
                    | schema::Kind::Tables { fields: inner, .. }
                    | schema::Kind::TablePerResource(inner) => keys(inner, out),
                    _ => {}
                }
            }
        }
        let mut all = Vec::new();
        keys(schema::ROOT, &mut all);
        for key in all {
            assert!(
                text.contains(&format!("{key} ="))
                    || text.contains(&format!("{key}]"))
                    || text.contains(&format!("[{key}.")),
                "schema key {key} is not in the model:\n{text}"
            );
        }
    }
}

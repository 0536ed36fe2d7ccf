//! The shape of a plan file as data: which keys each table has, their types, and
//! which are required. [`super::shape`] checks a parsed TOML document against it so
//! that every unknown key, missing field, wrong type and bad enum value is reported,
//! not only the first one serde meets.
//!
//! This must describe the same shape as [`super::model`]; the test
//! `schema_matches_model` in `parse.rs` fails when they drift apart.

/// One key of a table.
pub(crate) struct Field {
    /// The TOML key.
    pub name: &'static str,
    /// What its value must be.
    pub kind: Kind,
    /// Whether the key must be present.
    pub required: bool,
    /// A TOML line showing a good value, used in help texts.
    pub example: &'static str,
}

/// The type a value must have.
pub(crate) enum Kind {
    /// Any string (names are checked later, on the typed plan).
    Str,
    /// `true` or `false`.
    Bool,
    /// An integer in `min..=max`.
    Int { min: i64, max: i64 },
    /// One of a fixed set of strings.
    Enum(&'static [&'static str]),
    /// A string that parses as an IPv4 network, `a.b.c.d/len`.
    Cidr,
    /// A table with these keys.
    Table(&'static [Field]),
    /// A table whose keys are resource kinds (`[timeouts.cluster]`), each a
    /// table with these keys.
    TablePerResource(&'static [Field]),
    /// An array whose items are all of this kind.
    ArrayOf(&'static Kind),
    /// An array of tables (`[[name]]`), at least `min` of them.
    Tables {
        fields: &'static [Field],
        min: usize,
    },
}

const fn req(name: &'static str, kind: Kind, example: &'static str) -> Field {
    Field {
        name,
        kind,
        required: true,
        example,
    }
}

const fn opt(name: &'static str, kind: Kind, example: &'static str) -> Field {
    Field {
        name,
        kind,
        required: false,
        example,
    }
}

const U32_MAX: i64 = u32::MAX as i64;

/// The top level of a plan file.
pub(crate) const ROOT: &[Field] = &[
    req("project", Kind::Str, r#"project = "my-project-id""#),
    req("network", Kind::Table(NETWORK), "[network]"),
    req(
        "region",
        Kind::Tables {
            fields: REGION,
            min: 1,
        },
        "[[region]]",
    ),
    opt(
        "firewall",
        Kind::Tables {
            fields: FIREWALL,
            min: 0,
        },
        "[[firewall]]",
    ),
    opt("bastion", Kind::Table(BASTION), "[bastion]"),
    opt("mesh", Kind::Table(MESH), "[mesh]"),
    opt("samples", Kind::Table(SAMPLES), "[samples]"),
    opt("state", Kind::Table(STATE), "[state]"),
    opt(
        "timeouts",
        Kind::TablePerResource(VERB_TIMEOUTS),
        "[timeouts]",
    ),
];

/// `[timeouts.KIND]`.
pub(crate) const VERB_TIMEOUTS: &[Field] = &[
    opt("create", Kind::Str, r#"create = "45m""#),
    opt("update", Kind::Str, r#"update = "1h""#),
    opt("delete", Kind::Str, r#"delete = "45m""#),
];

/// `[network]`.
pub(crate) const NETWORK: &[Field] = &[
    req("name", Kind::Str, r#"name = "my-vpc""#),
    opt(
        "routing_mode",
        Kind::Enum(&["REGIONAL", "GLOBAL"]),
        r#"routing_mode = "REGIONAL""#,
    ),
    opt(
        "mtu",
        Kind::Int {
            min: 1300,
            max: 8896,
        },
        "mtu = 1460",
    ),
];

/// `[[region]]`.
pub(crate) const REGION: &[Field] = &[
    req("name", Kind::Str, r#"name = "europe-west2""#),
    req("subnet", Kind::Table(SUBNET), "[region.subnet]"),
    opt("nat", Kind::Table(NAT), "[region.nat]"),
    opt("cluster", Kind::Table(CLUSTER), "[region.cluster]"),
];

/// `[region.subnet]`.
pub(crate) const SUBNET: &[Field] = &[
    req("name", Kind::Str, r#"name = "my-subnet""#),
    req("cidr", Kind::Cidr, r#"cidr = "10.0.0.0/20""#),
    req(
        "pod_range",
        Kind::Table(SECONDARY_RANGE),
        r#"pod_range = { name = "pods", cidr = "10.16.0.0/20" }"#,
    ),
    req(
        "service_range",
        Kind::Table(SECONDARY_RANGE),
        r#"service_range = { name = "services", cidr = "10.17.0.0/24" }"#,
    ),
    opt(
        "private_google_access",
        Kind::Bool,
        "private_google_access = true",
    ),
];

/// `pod_range` and `service_range` of a subnet.
pub(crate) const SECONDARY_RANGE: &[Field] = &[
    req("name", Kind::Str, r#"name = "pods""#),
    req("cidr", Kind::Cidr, r#"cidr = "10.16.0.0/20""#),
];

/// `[region.nat]`.
pub(crate) const NAT: &[Field] = &[
    opt("enabled", Kind::Bool, "enabled = true"),
    opt(
        "min_ports_per_vm",
        Kind::Int { min: 2, max: 65536 },
        "min_ports_per_vm = 64",
    ),
    opt(
        "log",
        Kind::Enum(&["NONE", "ERRORS_ONLY", "TRANSLATIONS_ONLY", "ALL"]),
        r#"log = "ERRORS_ONLY""#,
    ),
    opt(
        "udp_idle_timeout_sec",
        Kind::Int {
            min: 1,
            max: U32_MAX,
        },
        "udp_idle_timeout_sec = 30",
    ),
    opt(
        "tcp_established_idle_timeout_sec",
        Kind::Int {
            min: 1,
            max: U32_MAX,
        },
        "tcp_established_idle_timeout_sec = 1200",
    ),
];

/// `[[firewall]]`.
pub(crate) const FIREWALL: &[Field] = &[
    req("name", Kind::Str, r#"name = "allow-ssh""#),
    opt(
        "direction",
        Kind::Enum(&["INGRESS", "EGRESS"]),
        r#"direction = "INGRESS""#,
    ),
    opt(
        "priority",
        Kind::Int { min: 0, max: 65535 },
        "priority = 1000",
    ),
    opt("allow", Kind::ArrayOf(&Kind::Str), r#"allow = ["tcp:22"]"#),
    opt("deny", Kind::ArrayOf(&Kind::Str), r#"deny = ["tcp:22"]"#),
    opt(
        "source_ranges",
        Kind::ArrayOf(&Kind::Cidr),
        r#"source_ranges = ["10.0.0.0/8"]"#,
    ),
    opt(
        "source_tags",
        Kind::ArrayOf(&Kind::Str),
        r#"source_tags = ["web"]"#,
    ),
    opt(
        "destination_ranges",
        Kind::ArrayOf(&Kind::Cidr),
        r#"destination_ranges = ["10.0.0.0/8"]"#,
    ),
    opt(
        "target_tags",
        Kind::ArrayOf(&Kind::Str),
        r#"target_tags = ["web"]"#,
    ),
    opt(
        "description",
        Kind::Str,
        r#"description = "why this rule exists""#,
    ),
];

/// `[region.cluster]`.
pub(crate) const CLUSTER: &[Field] = &[
    req("name", Kind::Str, r#"name = "istio-cluster1""#),
    req("location", Kind::Str, r#"location = "europe-west2-a""#),
    req(
        "master_cidr",
        Kind::Cidr,
        r#"master_cidr = "172.16.0.32/28""#,
    ),
    opt(
        "release_channel",
        Kind::Enum(&["RAPID", "REGULAR", "STABLE"]),
        r#"release_channel = "REGULAR""#,
    ),
    opt("private_endpoint", Kind::Bool, "private_endpoint = true"),
    opt(
        "access",
        Kind::Enum(&["dns", "public", "proxy"]),
        r#"access = "dns""#,
    ),
    opt(
        "operator_cidr",
        Kind::Cidr,
        r#"operator_cidr = "203.0.113.7/32""#,
    ),
    opt(
        "proxy_url",
        Kind::Str,
        r#"proxy_url = "socks5://localhost:1080""#,
    ),
    opt(
        "authorized_networks",
        Kind::ArrayOf(&Kind::Table(AUTHORIZED_NETWORK)),
        r#"authorized_networks = [{ name = "office", cidr = "203.0.113.0/24" }]"#,
    ),
    opt(
        "node_pool",
        Kind::Table(NODE_POOL),
        "[region.cluster.node_pool]",
    ),
    opt("mesh", Kind::Table(CLUSTER_MESH), "[region.cluster.mesh]"),
];

/// `[region.cluster.mesh]`.
pub(crate) const CLUSTER_MESH: &[Field] = &[
    opt("name", Kind::Str, r#"name = "cluster1""#),
    opt("network", Kind::Str, r#"network = "network1""#),
];

/// `[mesh]`.
pub(crate) const MESH: &[Field] = &[
    req("id", Kind::Str, r#"id = "mesh1""#),
    req("istio_version", Kind::Str, r#"istio_version = "1.31.1""#),
    opt("revision", Kind::Str, r#"revision = "1-31""#),
    opt("hub", Kind::Str, r#"hub = "docker.io/istio""#),
    opt("tag", Kind::Str, r#"tag = "1.31.1""#),
    opt(
        "trust_domain",
        Kind::Str,
        r#"trust_domain = "cluster.local""#,
    ),
    opt("ca", Kind::Table(MESH_CA), "[mesh.ca]"),
    opt(
        "gateway_source_ranges",
        Kind::ArrayOf(&Kind::Cidr),
        r#"gateway_source_ranges = ["10.100.0.0/16"]"#,
    ),
];

/// `[state]`.
pub(crate) const STATE: &[Field] = &[
    req("bucket", Kind::Str, r#"bucket = "my-team-meshform-state""#),
    opt("prefix", Kind::Str, r#"prefix = "meshform""#),
];

/// `[samples]`.
pub(crate) const SAMPLES: &[Field] = &[
    opt("enabled", Kind::Bool, "enabled = true"),
    opt("namespace", Kind::Str, r#"namespace = "sample""#),
];

/// `[mesh.ca]`.
pub(crate) const MESH_CA: &[Field] = &[
    opt(
        "key_type",
        Kind::Enum(&["rsa-4096", "ecdsa-p256"]),
        r#"key_type = "rsa-4096""#,
    ),
    opt(
        "root_validity_days",
        Kind::Int { min: 1, max: 36500 },
        "root_validity_days = 3650",
    ),
    opt(
        "intermediate_validity_days",
        Kind::Int { min: 1, max: 36500 },
        "intermediate_validity_days = 3650",
    ),
    opt(
        "reissue_window_days",
        Kind::Int { min: 0, max: 36500 },
        "reissue_window_days = 30",
    ),
    opt("root_cert", Kind::Str, r#"root_cert = "ca/root-cert.pem""#),
    opt("root_key", Kind::Str, r#"root_key = "ca/root-key.pem""#),
];

/// One entry of `authorized_networks`.
pub(crate) const AUTHORIZED_NETWORK: &[Field] = &[
    req("name", Kind::Str, r#"name = "office""#),
    req("cidr", Kind::Cidr, r#"cidr = "203.0.113.0/24""#),
];

/// Node image types GKE offers (case-sensitive).
pub(crate) const IMAGE_TYPES: &[&str] = &[
    "COS_CONTAINERD",
    "UBUNTU_CONTAINERD",
    "COS",
    "UBUNTU",
    "WINDOWS_LTSC_CONTAINERD",
];

/// `[region.cluster.node_pool]`.
pub(crate) const NODE_POOL: &[Field] = &[
    opt(
        "machine_type",
        Kind::Str,
        r#"machine_type = "e2-standard-4""#,
    ),
    opt("count", Kind::Int { min: 1, max: 1000 }, "count = 3"),
    opt(
        "disk_size_gb",
        Kind::Int {
            min: 10,
            max: U32_MAX,
        },
        "disk_size_gb = 100",
    ),
    opt(
        "image_type",
        Kind::Enum(IMAGE_TYPES),
        r#"image_type = "COS_CONTAINERD""#,
    ),
];

/// `[bastion]`.
pub(crate) const BASTION: &[Field] = &[
    req("name", Kind::Str, r#"name = "bastion""#),
    req("zone", Kind::Str, r#"zone = "europe-west2-a""#),
    opt("machine_type", Kind::Str, r#"machine_type = "e2-small""#),
    opt("tags", Kind::ArrayOf(&Kind::Str), r#"tags = ["bastion"]"#),
    opt(
        "image",
        Kind::Str,
        r#"image = "projects/debian-cloud/global/images/family/debian-12""#,
    ),
];

//! The typed plan file: what the user wants, after parsing and validation.
//!
//! The TOML shape is one table per part of the architecture in DESIGN.md.
//! Sections for clusters (`[region.cluster]`), the mesh (`[mesh]`) and the
//! bastion host (`[bastion]`) are added by later work without changing the
//! ones below.

use ipnet::Ipv4Net;
use serde::{Deserialize, Serialize};

/// A whole plan file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Plan {
    /// Google Cloud project id every resource lives in.
    pub project: String,
    /// The custom-mode VPC.
    pub network: Network,
    /// One entry per region: its subnet and its NAT.
    #[serde(rename = "region", default)]
    pub regions: Vec<Region>,
    /// Firewall rules the user declares (meshform adds derived ones later).
    #[serde(rename = "firewall", default)]
    pub firewalls: Vec<FirewallRule>,
    /// A small VM without an external address, reached over IAP, from which
    /// private control planes can be reached.
    #[serde(default)]
    pub bastion: Option<Bastion>,
    /// The Istio mesh over the clusters (`[mesh]`).
    #[serde(default)]
    pub mesh: Option<super::mesh::Mesh>,
    /// Sample workloads in every cluster of the mesh (`[samples]`).
    #[serde(default)]
    pub samples: Option<super::mesh::Samples>,
    /// Where the state lives when not in a local file (`[state]`).
    #[serde(default)]
    pub state: Option<StateSection>,
    /// Time limits per kind of resource, in Terraform's manner (`[timeouts]`).
    #[serde(default, skip_serializing_if = "TimeoutSettings::is_empty")]
    pub timeouts: TimeoutSettings,
}

/// `[state]`: the plan's state in a Cloud Storage bucket, as object
/// `gs://BUCKET/PREFIX/<plan file stem>.json` (`--state` wins over it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StateSection {
    /// The bucket.
    pub bucket: String,
    /// The folder of state objects in it.
    #[serde(default = "default_state_prefix")]
    pub prefix: String,
}

fn default_state_prefix() -> String {
    "meshform".into()
}

/// `[timeouts]`: how long a create, update or delete of each kind may take
/// before meshform gives up on it (the operation may go on in the cloud;
/// the next run joins it), one `[timeouts.KIND]` table per kind of the
/// registry. Durations are written like `"45m"` or `"1h30m"`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TimeoutSettings(
    pub std::collections::BTreeMap<crate::kinds::ResourceKind, VerbTimeouts>,
);

impl TimeoutSettings {
    /// Whether no limit is set.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The settings by kind name, as written in the plan file.
    pub fn by_kind(&self) -> impl Iterator<Item = (&'static str, Option<&VerbTimeouts>)> {
        self.0.iter().map(|(k, v)| (k.as_str(), Some(v)))
    }
}

/// The limits of one kind; an absent one keeps meshform's default.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerbTimeouts {
    /// Limit on a create (e.g. `"45m"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub create: Option<String>,
    /// Limit on an in-place update.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update: Option<String>,
    /// Limit on a delete.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delete: Option<String>,
}

impl VerbTimeouts {
    /// The settings by verb.
    pub fn by_verb(&self) -> [(&'static str, Option<&str>); 3] {
        [
            ("create", self.create.as_deref()),
            ("update", self.update.as_deref()),
            ("delete", self.delete.as_deref()),
        ]
    }
}

/// The VPC network (`[network]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Network {
    /// Network name (GCP name rule).
    pub name: String,
    /// Dynamic routing mode of the network's Cloud Routers.
    #[serde(default)]
    pub routing_mode: RoutingMode,
    /// Maximum transmission unit in bytes, 1300..=8896.
    #[serde(default = "default_mtu")]
    pub mtu: u32,
}

/// `routing_mode` of a network: where Cloud Routers advertise routes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RoutingMode {
    /// Routes are learned only in the router's own region (the default).
    #[default]
    Regional,
    /// Routes are learned in every region.
    Global,
}

impl RoutingMode {
    /// The compute API's enum string.
    pub fn as_api(self) -> &'static str {
        match self {
            RoutingMode::Regional => "REGIONAL",
            RoutingMode::Global => "GLOBAL",
        }
    }
}

fn default_mtu() -> u32 {
    1460
}

/// One region of the architecture (`[[region]]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Region {
    /// GCP region name, e.g. `europe-west2`.
    pub name: String,
    /// The region's subnet.
    pub subnet: Subnet,
    /// Cloud Router + Cloud NAT settings; NAT is on unless `enabled = false`.
    #[serde(default)]
    pub nat: Nat,
    /// The region's private GKE cluster, if any.
    #[serde(default)]
    pub cluster: Option<Cluster>,
}

/// A regional subnet with the pod and service secondary ranges GKE uses.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Subnet {
    /// Subnet name.
    pub name: String,
    /// Primary range (nodes, VMs, internal load balancers).
    pub cidr: Ipv4Net,
    /// Secondary range for pods.
    pub pod_range: SecondaryRange,
    /// Secondary range for services.
    pub service_range: SecondaryRange,
    /// Private Google Access; on unless set to false.
    #[serde(default = "default_true")]
    pub private_google_access: bool,
}

/// A named secondary range of a subnet.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecondaryRange {
    /// Range name, unique within the subnet.
    pub name: String,
    /// The range.
    pub cidr: Ipv4Net,
}

/// Cloud NAT options of a region (`[region.nat]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Nat {
    /// Create a Cloud Router with Cloud NAT in this region.
    #[serde(default = "default_true")]
    pub enabled: bool,
    /// Minimum NAT ports per VM (a power of two, 2..=65536); GCP's default is 64.
    #[serde(default = "default_min_ports")]
    pub min_ports_per_vm: u32,
    /// What NAT logs.
    #[serde(default)]
    pub log: NatLog,
    /// Idle timeout of UDP mappings in seconds.
    #[serde(default = "default_udp_idle")]
    pub udp_idle_timeout_sec: u32,
    /// Idle timeout of established TCP connections in seconds.
    #[serde(default = "default_tcp_established_idle")]
    pub tcp_established_idle_timeout_sec: u32,
}

impl Default for Nat {
    fn default() -> Self {
        Nat {
            enabled: true,
            min_ports_per_vm: default_min_ports(),
            log: NatLog::default(),
            udp_idle_timeout_sec: default_udp_idle(),
            tcp_established_idle_timeout_sec: default_tcp_established_idle(),
        }
    }
}

/// NAT logging: off, errors only, translations only, or all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum NatLog {
    /// Logging disabled.
    #[default]
    None,
    /// Log errors only.
    ErrorsOnly,
    /// Log successful translations only.
    TranslationsOnly,
    /// Log everything.
    All,
}

fn default_true() -> bool {
    true
}
fn default_min_ports() -> u32 {
    64
}
fn default_udp_idle() -> u32 {
    30
}
fn default_tcp_established_idle() -> u32 {
    1200
}

/// A VPC firewall rule (`[[firewall]]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FirewallRule {
    /// Rule name.
    pub name: String,
    /// Traffic direction.
    #[serde(default)]
    pub direction: Direction,
    /// Priority, 0..=65535; lower wins. GCP's default is 1000.
    #[serde(default = "default_priority")]
    pub priority: u32,
    /// Allowed traffic, each `PROTOCOL` or `PROTOCOL:PORTS`, e.g. `tcp:22`, `tcp:8000-8080`, `icmp`.
    #[serde(default)]
    pub allow: Vec<String>,
    /// Denied traffic, same syntax as `allow`; a rule has `allow` or `deny`, not both.
    #[serde(default)]
    pub deny: Vec<String>,
    /// Source CIDRs (ingress).
    #[serde(default)]
    pub source_ranges: Vec<Ipv4Net>,
    /// Source network tags (ingress).
    #[serde(default)]
    pub source_tags: Vec<String>,
    /// Destination CIDRs (egress).
    #[serde(default)]
    pub destination_ranges: Vec<Ipv4Net>,
    /// Instances the rule applies to; empty means all instances.
    #[serde(default)]
    pub target_tags: Vec<String>,
    /// Free text shown in the console.
    #[serde(default)]
    pub description: String,
}

fn default_priority() -> u32 {
    1000
}

/// Firewall rule direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Direction {
    /// Incoming traffic (the default).
    #[default]
    Ingress,
    /// Outgoing traffic.
    Egress,
}

impl Direction {
    /// The compute API's enum string.
    pub fn as_api(self) -> &'static str {
        match self {
            Direction::Ingress => "INGRESS",
            Direction::Egress => "EGRESS",
        }
    }
}

impl NatLog {
    /// The compute API's `logConfig.filter`, or `None` when logging is off.
    pub fn as_api_filter(self) -> Option<&'static str> {
        match self {
            NatLog::None => None,
            NatLog::ErrorsOnly => Some("ERRORS_ONLY"),
            NatLog::TranslationsOnly => Some("TRANSLATIONS_ONLY"),
            NatLog::All => Some("ALL"),
        }
    }
}

impl Region {
    /// Name of the Cloud Router meshform creates in this region.
    pub fn router_name(&self, network: &str) -> String {
        format!("{network}-{}-router", self.name)
    }
    /// Name of the Cloud NAT on that router.
    pub fn nat_name(&self, network: &str) -> String {
        format!("{network}-{}-nat", self.name)
    }
}

/// A private GKE cluster in a region (`[region.cluster]`).
///
/// meshform derives the rest: private nodes, IP aliases from the subnet's
/// pod and service ranges, control-plane global access when the plan has
/// more than one region, authorized networks, Workload Identity and the
/// firewall rule for Istio's webhook.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cluster {
    /// Cluster name (GKE: `[a-z]([-a-z0-9]*[a-z0-9])?`, at most 40 characters).
    pub name: String,
    /// A zone of the region (zonal cluster) or the region itself (regional cluster).
    pub location: String,
    /// The control plane's /28 in RFC 1918 space.
    pub master_cidr: Ipv4Net,
    /// GKE release channel.
    #[serde(default)]
    pub release_channel: ReleaseChannel,
    /// Give the control plane only a private endpoint (on by default).
    #[serde(default = "default_true")]
    pub private_endpoint: bool,
    /// How meshform reaches the control plane; default `dns` with a private
    /// endpoint, `public` without.
    #[serde(default)]
    pub access: Option<ControlPlaneAccess>,
    /// The operator's address range, required with `access = "public"`.
    #[serde(default)]
    pub operator_cidr: Option<Ipv4Net>,
    /// Proxy URL, required with `access = "proxy"` (e.g. an IAP tunnel to the bastion).
    #[serde(default)]
    pub proxy_url: Option<String>,
    /// Extra authorized networks, beyond the ones meshform derives.
    #[serde(default)]
    pub authorized_networks: Vec<AuthorizedNetwork>,
    /// The node pool.
    #[serde(default)]
    pub node_pool: NodePool,
    /// Its place in the mesh (`[region.cluster.mesh]`).
    #[serde(default)]
    pub mesh: super::mesh::ClusterMesh,
}

/// GKE release channels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ReleaseChannel {
    /// Newest versions first.
    Rapid,
    /// The default channel.
    #[default]
    Regular,
    /// Slowest, most proven versions.
    Stable,
}

impl ReleaseChannel {
    /// The container API's enum name.
    pub fn as_api(self) -> &'static str {
        match self {
            ReleaseChannel::Rapid => "RAPID",
            ReleaseChannel::Regular => "REGULAR",
            ReleaseChannel::Stable => "STABLE",
        }
    }
}

/// How meshform (and kubectl with `meshform kubeconfig`) reaches a control plane.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ControlPlaneAccess {
    /// GKE's DNS-based endpoint, authenticated with Google credentials.
    Dns,
    /// The public endpoint, restricted to authorized networks that include `operator_cidr`.
    Public,
    /// Through `proxy_url`, e.g. a tunnel to a bastion host in the VPC.
    Proxy,
}

/// An extra authorized network of a control plane.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthorizedNetwork {
    /// A label shown in the console.
    pub name: String,
    /// The range allowed to reach the control plane.
    pub cidr: Ipv4Net,
}

/// The cluster's node pool (`[region.cluster.node_pool]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodePool {
    /// Compute Engine machine type of the nodes.
    #[serde(default = "default_machine_type")]
    pub machine_type: String,
    /// Nodes per zone of the cluster's location.
    #[serde(default = "default_node_count")]
    pub count: u32,
    /// Boot disk size in GB (at least 10).
    #[serde(default = "default_disk_size")]
    pub disk_size_gb: u32,
    /// Node image type.
    #[serde(default = "default_image_type")]
    pub image_type: String,
}

impl Default for NodePool {
    fn default() -> Self {
        NodePool {
            machine_type: default_machine_type(),
            count: default_node_count(),
            disk_size_gb: default_disk_size(),
            image_type: default_image_type(),
        }
    }
}

fn default_machine_type() -> String {
    "e2-standard-4".into()
}
fn default_node_count() -> u32 {
    3
}
fn default_disk_size() -> u32 {
    100
}
fn default_image_type() -> String {
    "COS_CONTAINERD".into()
}

/// The bastion host (`[bastion]`): a VM without an external address in one
/// region's subnet, reachable by SSH through IAP.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bastion {
    /// Instance name.
    pub name: String,
    /// Zone; its region must be one of the plan's regions.
    pub zone: String,
    /// Machine type.
    #[serde(default = "default_bastion_machine_type")]
    pub machine_type: String,
    /// Network tags; the IAP SSH firewall rule targets one of them.
    #[serde(default = "default_bastion_tags")]
    pub tags: Vec<String>,
    /// Boot image.
    #[serde(default = "default_bastion_image")]
    pub image: String,
}

fn default_bastion_machine_type() -> String {
    "e2-small".into()
}
fn default_bastion_tags() -> Vec<String> {
    vec!["bastion".into()]
}
fn default_bastion_image() -> String {
    "projects/debian-cloud/global/images/family/debian-12".into()
}

impl Cluster {
    /// The access mode in effect: the explicit one, else `dns` with a private
    /// endpoint and `public` without.
    pub fn access_mode(&self) -> ControlPlaneAccess {
        self.access.unwrap_or(if self.private_endpoint {
            ControlPlaneAccess::Dns
        } else {
            ControlPlaneAccess::Public
        })
    }
}

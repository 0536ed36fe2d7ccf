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

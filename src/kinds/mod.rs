//! Resource kinds: one module per kind holds everything about it (typed
//! spec, field rules, API, what it lives in, outputs, read / create /
//! update / delete), and `registry!` below is the only place that lists
//! them all. Adding a kind is one file and one registry line; a kind
//! missing from a `match` on [`ResourceKind`] does not compile.

pub mod ca_entry;
mod kind;

pub mod cacerts;

pub mod cluster;
pub mod eastwest_gateway;
pub mod firewall;
pub mod gke_leftovers;
pub mod instance;
pub mod intermediate_ca;
pub mod istio;
pub mod istio_reader;
pub mod namespace;
pub mod network;
pub mod object_group;
pub mod remote_secret;
pub mod root_ca;
pub mod router;
pub mod samples;
pub mod subnet;

pub use kind::{
    assert_every_field_has_a_rule, attrs_of, forces_replacement, observed, spec_of, updatable, Api,
    Applied, Behaviour, Field, FieldRule, Kind, Limits, Observed, Registered, Spec,
};

use serde::{Deserialize, Serialize};
use std::fmt;

/// Declares [`ResourceKind`] and its [`Behaviour`] lookup from one list.
macro_rules! registry {
    ($( $(#[doc = $doc:literal])* $variant:ident = $name:literal => $kind:ty; )*) => {
        /// Every kind of resource meshform manages.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum ResourceKind {
            $( $(#[doc = $doc])* $variant, )*
        }

        impl ResourceKind {
            /// All kinds, in display order.
            pub const ALL: &'static [ResourceKind] = &[$(ResourceKind::$variant,)*];

            /// The kind as it appears in addresses.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(ResourceKind::$variant => $name,)*
                }
            }

            /// Everything the engine needs to know about this kind.
            pub fn behaviour(self) -> &'static dyn Behaviour {
                match self {
                    $(ResourceKind::$variant => {
                        const B: Registered<$kind> = Registered::new();
                        &B
                    })*
                }
            }
        }
    };
}

registry! {
    /// A custom-mode VPC network (global).
    Network = "network" => network::Network;
    /// A regional subnet with secondary ranges.
    Subnet = "subnet" => subnet::Subnet;
    /// A regional Cloud Router carrying one Cloud NAT.
    Router = "router" => router::Router;
    /// A VPC firewall rule (global).
    Firewall = "firewall" => firewall::Firewall;
    /// A private GKE cluster with its node pool.
    Cluster = "cluster" => cluster::Cluster;
    /// A Compute Engine VM (the bastion host).
    Instance = "instance" => instance::Instance;
    /// A Kubernetes namespace in one cluster.
    Namespace = "namespace" => namespace::Namespace;
    /// The mesh's root certificate authority (local, beside the state).
    RootCa = "root_ca" => root_ca::RootCa;
    /// One cluster's intermediate CA, signed by the root (local).
    IntermediateCa = "intermediate_ca" => intermediate_ca::IntermediateCa;
    /// Istio's plugged-in CA Secret `cacerts` in one cluster.
    Cacerts = "cacerts" => cacerts::Cacerts;
    /// Istio's control plane in one cluster: a tracked group of objects.
    Istio = "istio" => istio::Istio;
    /// One cluster's east-west gateway on an internal load balancer.
    EastwestGateway = "eastwest_gateway" => eastwest_gateway::EastwestGateway;
    /// What GKE made on the network for one cluster's load balancers: swept
    /// after the cluster is deleted.
    GkeLeftovers = "gke_leftovers" => gke_leftovers::GkeLeftovers;
    /// The identity other clusters' istiods read one cluster with.
    IstioReader = "istio_reader" => istio_reader::IstioReader;
    /// In one cluster, the Secret through which its istiod reads another.
    RemoteSecret = "remote_secret" => remote_secret::RemoteSecret;
    /// `[samples]` in one cluster: sleep, httpbin and its cluster's Service.
    Samples = "samples" => samples::Samples;
}

impl ResourceKind {
    /// The rule of `field`: a field the kind does not list forces
    /// replacement, the safe default.
    pub fn field_rule(self, field: &str) -> FieldRule {
        self.field(field)
            .map_or(FieldRule::ForcesReplacement, |f| f.rule)
    }

    /// The declaration of `field`, if the kind has it.
    pub fn field(self, field: &str) -> Option<Field> {
        self.behaviour()
            .fields()
            .iter()
            .find(|f| f.name == field)
            .copied()
    }

    /// The API the kind talks to.
    pub fn api(self) -> Api {
        self.behaviour().api()
    }
}

impl fmt::Display for ResourceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

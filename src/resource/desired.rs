//! From a validated plan file to the desired resources (pure).

use serde_json::Value;
use std::collections::BTreeMap;

use super::outputs::Known;
use super::{Attrs, ResourceKind};
use crate::address::Address;
use crate::kinds::cluster::{
    sort_authorized_networks, AuthorizedNetwork, ClusterSpec, OUTPUT_CA_DIGEST, OUTPUT_NODE_TAG,
};
use crate::kinds::firewall::FirewallSpec;
use crate::kinds::gke_leftovers::GkeLeftoversSpec;
use crate::kinds::instance::InstanceSpec;
use crate::kinds::namespace::NamespaceSpec;
use crate::kinds::network::NetworkSpec;
use crate::kinds::router::RouterSpec;
use crate::kinds::subnet::{sort_secondary_ranges, SecondaryRange, SubnetSpec};
use crate::kinds::{self, attrs_of, Kind};
use crate::kube::{ClusterConnection, Connections};
use crate::plan::authorized::{derived_authorized_networks, Derivation};
use crate::plan::{Bastion, Cluster, ControlPlaneAccess, Plan, Region};

/// One resource the plan file asks for.
#[derive(Debug, Clone, PartialEq)]
pub struct DesiredResource {
    /// Its address in graph, state and change set.
    pub address: Address,
    /// The attributes meshform will set.
    pub attrs: Attrs,
    /// Resources that must exist before this one.
    pub deps: Vec<Address>,
    /// Why meshform chose the values the user did not write, by field.
    pub notes: BTreeMap<String, String>,
}

impl DesiredResource {
    /// A resource of kind `K` named `name` with `spec`, built after `deps`.
    pub fn of<K: Kind>(name: impl Into<String>, spec: &K::Spec, deps: Vec<Address>) -> Self {
        DesiredResource {
            address: Address::new(K::KIND, name),
            attrs: attrs_of(spec),
            deps,
            notes: BTreeMap::new(),
        }
    }

    pub(crate) fn note(mut self, field: &str, why: impl Into<String>) -> Self {
        self.notes.insert(field.to_string(), why.into());
        self
    }
}

/// The NAT source setting meshform uses: every range of every subnet in the region.
pub const NAT_SOURCE_RANGES: &str = "ALL_SUBNETWORKS_ALL_IP_RANGES";
/// The NAT address setting meshform uses: Google allocates external IPs.
pub const NAT_IP_ALLOCATION: &str = "AUTO_ONLY";

/// All resources of `plan`, dependencies before dependants; a mesh's root
/// as if nothing were rotating (planning decides the roots from state with
/// [`desired_resources_with`]).
pub fn desired_resources(plan: &Plan) -> Vec<DesiredResource> {
    let roots = plan.mesh.as_ref().map(|m| {
        super::roots::RootPlan::steady(
            &super::desired_mesh::wanted_root(m),
            super::roots::FIRST_ROOT,
        )
    });
    desired_resources_with(plan, roots.as_ref())
}

/// All resources of `plan`, the mesh's roots as `roots` says.
pub fn desired_resources_with(
    plan: &Plan,
    roots: Option<&super::roots::RootPlan>,
) -> Vec<DesiredResource> {
    let net = &plan.network;
    let network = Address::new(ResourceKind::Network, &net.name);
    let mut out: Vec<DesiredResource> = roots
        .map(super::desired_mesh::root_resources)
        .unwrap_or_default();
    out.push(DesiredResource::of::<kinds::network::Network>(
        &net.name,
        &NetworkSpec {
            name: net.name.clone(),
            auto_create_subnetworks: false,
            routing_mode: net.routing_mode.as_api().to_string(),
            mtu: net.mtu as i32,
        },
        vec![],
    ));
    for region in &plan.regions {
        let subnet = Address::new(ResourceKind::Subnet, &region.name);
        out.push(DesiredResource::of::<kinds::subnet::Subnet>(
            &region.name,
            &subnet_spec(&net.name, region),
            vec![network.clone()],
        ));
        if region.nat.enabled {
            out.push(DesiredResource::of::<kinds::router::Router>(
                &region.name,
                &router_spec(&net.name, region),
                vec![network.clone(), subnet.clone()],
            ));
        }
        if let Some(cluster) = &region.cluster {
            out.extend(cluster_resources(plan, region, cluster, &network, &subnet));
            if let (Some(mesh), Some(roots)) = (&plan.mesh, roots) {
                out.extend(super::desired_mesh::cluster_mesh_resources(
                    mesh,
                    roots,
                    &plan.regions,
                    region,
                    cluster,
                ));
                if let Some(samples) = plan.samples() {
                    out.extend(super::desired_mesh::samples_resources(
                        mesh, samples, region, cluster,
                    ));
                }
            }
        }
    }
    if plan.mesh.is_some() && roots.is_some() {
        out.extend(super::desired_mesh::remote_secrets(&plan.regions));
    }
    for rule in &plan.firewalls {
        let ranges = |r: &[ipnet::Ipv4Net]| r.iter().map(|c| c.to_string()).collect::<Vec<_>>();
        out.push(DesiredResource::of::<kinds::firewall::Firewall>(
            &rule.name,
            &FirewallSpec {
                name: rule.name.clone(),
                network: net.name.clone(),
                direction: rule.direction.as_api().to_string(),
                priority: rule.priority as i32,
                allow: rule.allow.clone(),
                deny: rule.deny.clone(),
                source_ranges: ranges(&rule.source_ranges),
                source_tags: rule.source_tags.clone(),
                destination_ranges: ranges(&rule.destination_ranges),
                target_tags: rule.target_tags.clone(),
                description: rule.description.clone(),
            },
            vec![network.clone()],
        ));
    }
    if let Some(bastion) = &plan.bastion {
        out.push(bastion_resource(plan, bastion, &network));
    }
    out
}

fn subnet_spec(network: &str, region: &Region) -> SubnetSpec {
    let s = &region.subnet;
    let mut secondary = vec![
        SecondaryRange {
            name: s.pod_range.name.clone(),
            cidr: s.pod_range.cidr.to_string(),
        },
        SecondaryRange {
            name: s.service_range.name.clone(),
            cidr: s.service_range.cidr.to_string(),
        },
    ];
    sort_secondary_ranges(&mut secondary);
    SubnetSpec {
        name: s.name.clone(),
        region: region.name.clone(),
        network: network.to_string(),
        ip_cidr_range: s.cidr.to_string(),
        secondary_ranges: secondary,
        private_ip_google_access: s.private_google_access,
    }
}

fn router_spec(network: &str, region: &Region) -> RouterSpec {
    let nat = &region.nat;
    RouterSpec {
        name: region.router_name(network),
        region: region.name.clone(),
        network: network.to_string(),
        nat_name: region.nat_name(network),
        nat_source_ranges: NAT_SOURCE_RANGES.to_string(),
        nat_ip_allocation: NAT_IP_ALLOCATION.to_string(),
        nat_min_ports_per_vm: nat.min_ports_per_vm as i32,
        nat_log: nat.log.as_api_filter().unwrap_or("NONE").to_string(),
        nat_udp_idle_timeout_sec: nat.udp_idle_timeout_sec as i32,
        nat_tcp_established_idle_timeout_sec: nat.tcp_established_idle_timeout_sec as i32,
    }
}

/// The fields of a JSON object literal as [`Attrs`].
pub fn object(v: Value) -> Attrs {
    match v {
        Value::Object(map) => map.into_iter().collect(),
        _ => unreachable!("attribute literals are objects"),
    }
}

/// The node tag meshform gives a cluster's nodes, so that its firewall rules
/// can target them before GKE's own tags are known.
pub fn node_tag(cluster: &str) -> String {
    format!("{cluster}-node")
}

/// The name of the firewall rule for a cluster's Istio webhook.
pub fn webhook_rule_name(cluster: &str) -> String {
    format!("{cluster}-istio-webhook")
}

/// The namespace Istio's control plane lives in.
pub const ISTIO_NAMESPACE: &str = "istio-system";

fn cluster_resources(
    plan: &Plan,
    region: &Region,
    cluster: &Cluster,
    network: &Address,
    subnet: &Address,
) -> Vec<DesiredResource> {
    let address = Address::new(ResourceKind::Cluster, &region.name);
    let mode = cluster.access_mode();
    let derived = derived_authorized_networks(&plan.regions, &region.name, cluster);
    let mut authorized: Vec<AuthorizedNetwork> = derived
        .iter()
        .map(|d| (&d.name, d.cidr))
        .chain(
            cluster
                .authorized_networks
                .iter()
                .map(|n| (&n.name, n.cidr)),
        )
        .map(|(name, cidr)| AuthorizedNetwork {
            name: name.clone(),
            cidr: cidr.to_string(),
        })
        .collect();
    sort_authorized_networks(&mut authorized);
    let pool = &cluster.node_pool;
    let multi_region = plan.regions.len() > 1;
    let spec = ClusterSpec {
        name: cluster.name.clone(),
        location: cluster.location.clone(),
        network: plan.network.name.clone(),
        subnet: region.subnet.name.clone(),
        master_cidr: cluster.master_cidr.to_string(),
        private_nodes: true,
        private_endpoint: cluster.private_endpoint,
        master_global_access: multi_region,
        authorized_networks: authorized,
        pods_range: region.subnet.pod_range.name.clone(),
        services_range: region.subnet.service_range.name.clone(),
        workload_pool: format!("{}.svc.id.goog", plan.project),
        release_channel: cluster.release_channel.as_api().to_string(),
        dns_endpoint_external_traffic: mode == ControlPlaneAccess::Dns,
        node_machine_type: pool.machine_type.clone(),
        node_count: pool.count as i32,
        node_disk_size_gb: pool.disk_size_gb as i32,
        node_image_type: pool.image_type.clone(),
        node_tags: vec![node_tag(&cluster.name)],
    };
    let peer_names: Vec<&str> = derived
        .iter()
        .filter_map(|d| match &d.derivation {
            Derivation::PeerPods { cluster } => Some(cluster.as_str()),
            _ => None,
        })
        .collect();
    let mut why_authorized = format!(
        "derived: every subnet's primary range{}",
        if peer_names.is_empty() {
            String::new()
        } else {
            format!(
                " + the pod ranges of {} (istiod reads peer API servers)",
                peer_names.join(", ")
            )
        }
    );
    if mode == ControlPlaneAccess::Public {
        why_authorized.push_str(" + operator_cidr (access = \"public\")");
    }
    if !cluster.authorized_networks.is_empty() {
        why_authorized.push_str(" + authorized_networks from the plan file");
    }
    let cluster_resource = DesiredResource::of::<kinds::cluster::Cluster>(&region.name, &spec, vec![network.clone(), subnet.clone()])
        .note("private_nodes", "derived: nodes get internal addresses only")
        .note(
            "master_global_access",
            if multi_region {
                "derived: the plan has more than one region, and a private control plane is reachable only from its own region without it"
            } else {
                "derived: one region only"
            },
        )
        .note("authorized_networks", why_authorized)
        .note("pods_range", "derived: IP aliases from the subnet's pod range")
        .note("services_range", "derived: IP aliases from the subnet's service range")
        .note("workload_pool", "derived: Workload Identity")
        .note(
            "dns_endpoint_external_traffic",
            match mode {
                ControlPlaneAccess::Dns => "derived: access = \"dns\": meshform reaches the control plane by its DNS endpoint",
                ControlPlaneAccess::Public => "derived: access = \"public\"",
                ControlPlaneAccess::Proxy => "derived: access = \"proxy\"",
            },
        )
        .note("node_tags", "derived: the Istio webhook firewall rule targets this tag");

    let webhook = DesiredResource::of::<kinds::firewall::Firewall>(
        webhook_rule_name(&cluster.name),
        &FirewallSpec {
            name: webhook_rule_name(&cluster.name),
            network: plan.network.name.clone(),
            direction: "INGRESS".into(),
            priority: 1000,
            allow: vec!["tcp:15017".into()],
            deny: vec![],
            source_ranges: vec![cluster.master_cidr.to_string()],
            source_tags: vec![],
            destination_ranges: vec![],
            target_tags: vec![node_tag(&cluster.name)],
            description: format!("Istio webhook: control plane of {} to its nodes", cluster.name),
        },
        vec![network.clone()],
    )
    .note(
        "allow",
        "derived: GKE's own rules let the control plane reach nodes on 443 and 10250 only; Istio's webhook listens on 15017",
    );

    let namespace = DesiredResource::of::<kinds::namespace::Namespace>(
        format!("{}.{ISTIO_NAMESPACE}", region.name),
        &NamespaceSpec {
            name: ISTIO_NAMESPACE.into(),
            cluster: cluster.name.clone(),
            location: cluster.location.clone(),
            cluster_ca: Known::after(address.clone(), OUTPUT_CA_DIGEST),
            labels: BTreeMap::from([(
                "topology.istio.io/network".to_string(),
                cluster.mesh_network().0,
            )]),
        },
        vec![address.clone()],
    );
    let namespace = match cluster.mesh_network().1 {
        Some(why) => namespace.note("labels", why),
        None => namespace,
    };
    let leftovers = DesiredResource::of::<kinds::gke_leftovers::GkeLeftovers>(
        &region.name,
        &GkeLeftoversSpec {
            cluster: cluster.name.clone(),
            location: cluster.location.clone(),
            region: region.name.clone(),
            network: plan.network.name.clone(),
            node_tag: Known::after(address.clone(), OUTPUT_NODE_TAG),
            found: vec![],
        },
        vec![network.clone(), subnet.clone(), address],
    )
    .note(
        "found",
        "swept after the cluster is deleted: what GKE made on the network for its LoadBalancer Services and left behind (MESH.md)",
    );
    vec![cluster_resource, webhook, namespace, leftovers]
}

fn access_name(mode: ControlPlaneAccess) -> &'static str {
    match mode {
        ControlPlaneAccess::Dns => "dns",
        ControlPlaneAccess::Public => "public",
        ControlPlaneAccess::Proxy => "proxy",
    }
}

/// How meshform reaches each cluster of `plan`: its access mode and proxy.
pub fn connections(plan: &Plan) -> Connections {
    plan.regions
        .iter()
        .filter_map(|r| r.cluster.as_ref())
        .map(|c| {
            let conn = ClusterConnection {
                location: c.location.clone(),
                name: c.name.clone(),
                access: access_name(c.access_mode()).to_string(),
                proxy_url: c.proxy_url.clone(),
            };
            (conn.key(), conn)
        })
        .collect()
}

fn bastion_resource(plan: &Plan, bastion: &Bastion, network: &Address) -> DesiredResource {
    let region = plan
        .regions
        .iter()
        .find(|r| bastion.zone.starts_with(&format!("{}-", r.name)))
        .expect("validation puts the bastion's zone in a plan region");
    DesiredResource::of::<kinds::instance::Instance>(
        &bastion.name,
        &InstanceSpec {
            name: bastion.name.clone(),
            zone: bastion.zone.clone(),
            machine_type: bastion.machine_type.clone(),
            network: plan.network.name.clone(),
            subnet: region.subnet.name.clone(),
            region: region.name.clone(),
            tags: bastion.tags.clone(),
            image: bastion.image.clone(),
            external_ip: false,
        },
        vec![
            network.clone(),
            Address::new(ResourceKind::Subnet, &region.name),
        ],
    )
    .note(
        "external_ip",
        "derived: reached by SSH through IAP, never from the internet",
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const TWO_CLUSTERS: &str = r#"
project = "meshform-demo"
[network]
name = "vpc"
[[region]]
name = "europe-west2"
subnet = { name = "eu", cidr = "172.20.0.0/20", pod_range = { name = "eu-pods", cidr = "10.16.32.0/20" }, service_range = { name = "eu-svc", cidr = "172.16.5.0/24" } }
cluster = { name = "c1", location = "europe-west2-a", master_cidr = "172.16.0.32/28", authorized_networks = [{ name = "office", cidr = "198.51.100.0/24" }] }
[[region]]
name = "us-central1"
subnet = { name = "us", cidr = "172.21.0.0/20", pod_range = { name = "us-pods", cidr = "10.16.48.0/20" }, service_range = { name = "us-svc", cidr = "172.16.6.0/24" } }
cluster = { name = "c2", location = "us-central1-a", master_cidr = "172.16.0.64/28" }
"#;

    fn find<'a>(all: &'a [DesiredResource], address: &str) -> &'a DesiredResource {
        all.iter()
            .find(|d| d.address.to_string() == address)
            .unwrap()
    }

    #[test]
    fn clusters_get_the_derived_settings_with_their_reasons() {
        let plan: Plan = toml::from_str(TWO_CLUSTERS).unwrap();
        let all = desired_resources(&plan);
        let c1 = find(&all, "cluster.europe-west2");
        assert_eq!(c1.attrs["master_global_access"], json!(true));
        assert_eq!(c1.attrs["private_nodes"], json!(true));
        assert_eq!(c1.attrs["pods_range"], json!("eu-pods"));
        assert_eq!(
            c1.attrs["workload_pool"],
            json!("meshform-demo.svc.id.goog")
        );
        assert_eq!(
            c1.attrs["authorized_networks"],
            json!([
                {"name": "pods-c2", "cidr": "10.16.48.0/20"},
                {"name": "subnet-europe-west2", "cidr": "172.20.0.0/20"},
                {"name": "subnet-us-central1", "cidr": "172.21.0.0/20"},
                {"name": "office", "cidr": "198.51.100.0/24"},
            ])
        );
        assert!(c1.notes["authorized_networks"]
            .contains("the pod ranges of c2 (istiod reads peer API servers)"));
        assert!(c1.notes["master_global_access"].contains("more than one region"));
        assert_eq!(c1.attrs["dns_endpoint_external_traffic"], json!(true));
        let deps: Vec<String> = c1.deps.iter().map(|d| d.to_string()).collect();
        assert_eq!(deps, ["network.vpc", "subnet.europe-west2"]);
    }

    #[test]
    fn each_cluster_gets_a_webhook_rule_and_an_istio_namespace() {
        let plan: Plan = toml::from_str(TWO_CLUSTERS).unwrap();
        let all = desired_resources(&plan);
        let rule = find(&all, "firewall.c2-istio-webhook");
        assert_eq!(rule.attrs["allow"], json!(["tcp:15017"]));
        assert_eq!(rule.attrs["source_ranges"], json!(["172.16.0.64/28"]));
        assert_eq!(rule.attrs["target_tags"], json!(["c2-node"]));
        assert_eq!(
            find(&all, "cluster.us-central1").attrs["node_tags"],
            json!(["c2-node"])
        );
        assert!(rule.notes["allow"].contains("443 and 10250 only"));
        let ns = find(&all, "namespace.us-central1.istio-system");
        assert_eq!(ns.attrs["cluster"], json!("c2"));
        assert_eq!(ns.deps[0].to_string(), "cluster.us-central1");
    }

    #[test]
    fn a_single_region_cluster_has_no_global_access() {
        let mut plan: Plan = toml::from_str(TWO_CLUSTERS).unwrap();
        plan.regions.truncate(1);
        let all = desired_resources(&plan);
        assert_eq!(
            find(&all, "cluster.europe-west2").attrs["master_global_access"],
            json!(false)
        );
    }

    const MESH: &str = r#"
[mesh]
id = "mesh1"
istio_version = "1.31.1"
gateway_source_ranges = ["10.100.0.0/16"]
"#;

    #[test]
    fn gateways_get_global_access_and_their_peers_ranges_with_the_reasons() {
        let plan: Plan = toml::from_str(&format!("{TWO_CLUSTERS}{MESH}")).unwrap();
        let all = desired_resources(&plan);
        let gw = find(&all, "eastwest_gateway.europe-west2");
        assert_eq!(gw.attrs["values"]["global_access"], json!(true));
        assert_eq!(
            gw.attrs["values"]["source_ranges"],
            json!(["172.21.0.0/20", "10.16.48.0/20", "10.100.0.0/16"])
        );
        assert_eq!(gw.attrs["values"]["network"], json!("c1-network"));
        let why = &gw.notes["values"];
        assert!(
            why.contains("global access, because the mesh's clusters are in 2 regions"),
            "{why}"
        );
        assert!(
            why.contains("the node and pod ranges of c2 + [mesh] gateway_source_ranges"),
            "{why}"
        );
        let deps: Vec<String> = gw.deps.iter().map(|d| d.to_string()).collect();
        assert_eq!(
            deps,
            [
                "cluster.europe-west2",
                "namespace.europe-west2.istio-system",
                "istio.europe-west2"
            ]
        );
    }

    #[test]
    fn a_one_region_mesh_gets_no_global_access() {
        let mut plan: Plan = toml::from_str(&format!("{TWO_CLUSTERS}{MESH}")).unwrap();
        plan.regions.truncate(1);
        let all = desired_resources(&plan);
        let gw = find(&all, "eastwest_gateway.europe-west2");
        assert_eq!(gw.attrs["values"]["global_access"], json!(false));
        assert_eq!(
            gw.attrs["values"]["source_ranges"],
            json!(["10.100.0.0/16"])
        );
        assert!(gw.notes["values"].contains("no global access: the mesh has one region"));
    }

    #[test]
    fn every_cluster_has_its_leftovers_swept_after_it() {
        let plan: Plan = toml::from_str(TWO_CLUSTERS).unwrap();
        let all = desired_resources(&plan);
        let l = find(&all, "gke_leftovers.us-central1");
        assert_eq!(l.attrs["cluster"], json!("c2"));
        assert_eq!(l.attrs["network"], json!("vpc"));
        assert_eq!(
            l.attrs["node_tag"],
            json!({"known_after_apply": {"address": "cluster.us-central1", "output": "node_tag"}})
        );
        let deps: Vec<String> = l.deps.iter().map(|d| d.to_string()).collect();
        assert_eq!(
            deps,
            ["network.vpc", "subnet.us-central1", "cluster.us-central1"]
        );
    }
}

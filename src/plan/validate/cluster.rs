//! Checks of `[region.cluster]`: names, location, the control plane's /28,
//! how meshform reaches the control plane, authorized networks, the node pool,
//! and the NAT the private nodes need.

use std::net::Ipv4Addr;

use axum::http::Uri;
use ipnet::Ipv4Net;

use super::{plan_ranges, Checker, Parts};
use crate::plan::model::{Cluster, ControlPlaneAccess, Region};
use crate::plan::names::{
    cluster_name_problem, looks_like_machine_type, looks_like_region, suggest_name, zone_region,
    MAX_CLUSTER_NAME_LEN,
};

/// GKE's limit on a control plane's authorized networks, derived ones included.
pub(super) const MAX_AUTHORIZED_NETWORKS: usize = 50;

/// The RFC 1918 blocks a control plane range must be in.
fn private_blocks() -> [Ipv4Net; 3] {
    [
        Ipv4Net::new(Ipv4Addr::new(10, 0, 0, 0), 8),
        Ipv4Net::new(Ipv4Addr::new(172, 16, 0, 0), 12),
        Ipv4Net::new(Ipv4Addr::new(192, 168, 0, 0), 16),
    ]
    .map(|n| n.expect("valid prefix length"))
}

/// The first /28 in 172.16.0.0/12 that overlaps none of `taken`.
pub(super) fn free_master_range(taken: &[Ipv4Net]) -> Option<Ipv4Net> {
    let start = u32::from(Ipv4Addr::new(172, 16, 0, 0));
    (0..1u32 << 16)
        .filter_map(|k| Ipv4Net::new(Ipv4Addr::from(start + 16 * k), 28).ok())
        .find(|c| {
            !taken
                .iter()
                .any(|t| t.contains(&c.network()) || c.contains(&t.network()))
        })
}

/// `, e.g. "172.16.0.0/28" is free` for a help text, or nothing.
pub(super) fn free_master_hint(taken: &[Ipv4Net]) -> String {
    free_master_range(taken)
        .map(|n| format!(", e.g. \"{n}\" is free"))
        .unwrap_or_default()
}

/// The name of an access mode as written in the plan file.
fn mode_name(mode: ControlPlaneAccess) -> &'static str {
    match mode {
        ControlPlaneAccess::Dns => "dns",
        ControlPlaneAccess::Public => "public",
        ControlPlaneAccess::Proxy => "proxy",
    }
}

pub(super) fn clusters(c: &mut Checker<'_>, parts: &Parts) {
    let clusters: Vec<(usize, &Region, &Cluster)> = parts
        .regions
        .iter()
        .filter_map(|(i, r)| r.cluster.as_ref().map(|cl| (*i, r, cl)))
        .collect();
    let taken: Vec<Ipv4Net> = plan_ranges(&parts.regions)
        .into_iter()
        .map(|r| r.net)
        .collect();
    let mut names = Vec::new();
    for (i, region, cluster) in &clusters {
        let at = |rest: &str| format!("region[{i}].cluster.{rest}");
        if let Some(problem) = cluster_name_problem(&cluster.name) {
            let mut help = format!(
                "GKE cluster names match [a-z]([-a-z0-9]*[a-z0-9])? and have at most \
                 {MAX_CLUSTER_NAME_LEN} characters"
            );
            if let Some(s) = suggest_name(&cluster.name, MAX_CLUSTER_NAME_LEN) {
                help.push_str(&format!("; try \"{s}\""));
            }
            c.push(
                at("name"),
                format!("cluster name \"{}\" {problem}", cluster.name),
                help,
            );
        }
        names.push((at("name"), cluster.name.clone()));

        location(c, &at("location"), region, cluster);
        master_range(c, &at("master_cidr"), cluster, &taken);
        access(c, &at, cluster);
        let derived = Derived {
            subnets: parts.regions.len(),
            pod_ranges: clusters.len() - 1,
            operator: cluster.access_mode() == ControlPlaneAccess::Public
                && cluster.operator_cidr.is_some(),
        };
        authorized_networks(c, &at, cluster, &derived);

        let machine_type = &cluster.node_pool.machine_type;
        if !looks_like_machine_type(machine_type) {
            c.push(
                at("node_pool.machine_type"),
                format!("\"{machine_type}\" is not a Compute Engine machine type"),
                machine_type_help(machine_type),
            );
        }

        if !region.nat.enabled {
            c.push(
                format!("region[{i}].nat.enabled"),
                format!(
                    "region \"{}\" has cluster \"{}\" but its NAT is disabled",
                    region.name, cluster.name
                ),
                "private nodes have no external IP addresses and pull images and updates \
                 through Cloud NAT: remove `enabled = false` from [region.nat]"
                    .into(),
            );
        }
    }
    c.duplicates(
        &names,
        "cluster name",
        "give every cluster its own name; kubeconfig contexts and remote secrets are keyed by it",
    );
}

/// Help for a machine type that does not look like one.
pub(super) fn machine_type_help(machine_type: &str) -> String {
    let lower = machine_type.to_ascii_lowercase();
    if lower != machine_type && looks_like_machine_type(&lower) {
        return format!("machine types are lowercase: write \"{lower}\"");
    }
    "machine types look like \"e2-standard-4\" or \"n1-standard-2\" \
     (`gcloud compute machine-types list --zones ZONE`)"
        .into()
}

/// `location` is the region itself (regional cluster) or one of its zones.
fn location(c: &mut Checker<'_>, path: &str, region: &Region, cluster: &Cluster) {
    let (loc, r) = (&cluster.location, &region.name);
    let region_ok = looks_like_region(r);
    if loc == r || (region_ok && zone_region(loc) == Some(r.as_str())) {
        return;
    }
    let fix = if region_ok {
        format!("use a zone of {r} such as \"{r}-a\" for a zonal cluster, or \"{r}\" for a regional one")
    } else {
        "use a zone of the region, e.g. \"europe-west2-a\", or the region itself".to_owned()
    };
    if !region_ok && (zone_region(loc).is_some() || looks_like_region(loc)) {
        // Only the region's own name is wrong, and that is reported already.
        return;
    }
    let (message, help) = match zone_region(loc) {
        Some(other) => (
            format!(
                "cluster location \"{loc}\" is a zone of region \"{other}\", but the cluster \
                 is declared in region \"{r}\""
            ),
            format!("{fix}; or move the [region.cluster] to the [[region]] named \"{other}\""),
        ),
        None if looks_like_region(loc) => (
            format!("cluster location \"{loc}\" is not region \"{r}\" or one of its zones"),
            fix,
        ),
        None => (
            format!("cluster location \"{loc}\" is not a zone or region name"),
            fix,
        ),
    };
    c.push(path.to_owned(), message, help);
}

/// `master_cidr` is a /28 without host bits in RFC 1918 space (overlaps are
/// checked with every other range in `overlaps`).
fn master_range(c: &mut Checker<'_>, path: &str, cluster: &Cluster, taken: &[Ipv4Net]) {
    let net = cluster.master_cidr;
    let what = format!("control plane range {net} of cluster \"{}\"", cluster.name);
    let as_28 = Ipv4Net::new(net.addr(), 28)
        .expect("28 is a valid prefix length")
        .trunc();
    if net.prefix_len() != 28 {
        let mut help = format!("use \"{as_28}\", the /28 that contains {}", net.addr());
        if taken
            .iter()
            .any(|t| t.contains(&as_28.network()) || as_28.contains(&t.network()))
        {
            help.push_str(&format!(
                "; but that overlaps another range of the plan{}",
                free_master_hint(taken)
            ));
        }
        c.push(
            path.to_owned(),
            format!("{what} is a /{}; GKE needs a /28", net.prefix_len()),
            help,
        );
    } else if net.trunc() != net {
        c.push(
            path.to_owned(),
            format!("{what} has host bits set"),
            format!("a range starts at its network address: write \"{as_28}\""),
        );
    }
    if !private_blocks().iter().any(|b| b.contains(&as_28)) {
        c.push(
            path.to_owned(),
            format!("{what} is not in private (RFC 1918) address space"),
            format!(
                "use a /28 in 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16{}",
                free_master_hint(taken)
            ),
        );
    }
}

/// `access`, `private_endpoint`, `operator_cidr` and `proxy_url` fit together.
fn access(c: &mut Checker<'_>, at: &dyn Fn(&str) -> String, cluster: &Cluster) {
    let mode = cluster.access_mode();
    let name = &cluster.name;
    let described = match cluster.access {
        Some(m) => format!("access = \"{}\"", mode_name(m)),
        None => format!(
            "access = \"{}\" (the default with private_endpoint = {})",
            mode_name(mode),
            cluster.private_endpoint
        ),
    };
    // Where the mode is decided: the explicit key, else private_endpoint.
    let mode_path = if cluster.access.is_some() {
        at("access")
    } else {
        at("private_endpoint")
    };
    match mode {
        ControlPlaneAccess::Public => {
            if cluster.private_endpoint {
                c.push(
                    at("access"),
                    format!(
                        "cluster \"{name}\" has access = \"public\" but private_endpoint = true: \
                         a control plane with only a private endpoint has no public endpoint"
                    ),
                    "use access = \"dns\" (GKE's DNS endpoint, reached with Google \
                     credentials) or access = \"proxy\" with a proxy_url; or set \
                     private_endpoint = false"
                        .into(),
                );
            }
            if cluster.operator_cidr.is_none() {
                c.push(
                    mode_path,
                    format!(
                        "cluster \"{name}\" is reached over its public endpoint ({described}) \
                         but has no operator_cidr"
                    ),
                    "add `operator_cidr = \"203.0.113.7/32\"` with your public IP as a /32 \
                     (e.g. from `curl ifconfig.me`); only authorized networks reach a public \
                     endpoint"
                        .into(),
                );
            }
        }
        ControlPlaneAccess::Proxy => match &cluster.proxy_url {
            None => c.push(
                mode_path,
                format!("cluster \"{name}\" has access = \"proxy\" but no proxy_url"),
                "add `proxy_url = \"socks5://localhost:1080\"`, e.g. for an SSH tunnel \
                 through the bastion: `gcloud compute ssh BASTION --zone ZONE \
                 --tunnel-through-iap -- -N -D 1080`"
                    .into(),
            ),
            Some(url) => {
                if let Some(problem) = proxy_url_problem(url) {
                    c.push(
                        at("proxy_url"),
                        format!("proxy_url \"{url}\" {problem}"),
                        "write scheme://host:port with scheme http, https or socks5, e.g. \
                         \"socks5://localhost:1080\" or \"http://127.0.0.1:8888\""
                            .into(),
                    );
                }
            }
        },
        ControlPlaneAccess::Dns => {}
    }
    if let Some(op) = &cluster.operator_cidr {
        if mode == ControlPlaneAccess::Public {
            c.cidr(at("operator_cidr"), "operator range", op);
        } else {
            c.push(
                at("operator_cidr"),
                format!(
                    "operator_cidr is only used with access = \"public\", but cluster \
                     \"{name}\" has {described}"
                ),
                "remove operator_cidr, or set access = \"public\" and private_endpoint = false"
                    .into(),
            );
        }
    }
    if cluster.proxy_url.is_some() && mode != ControlPlaneAccess::Proxy {
        c.push(
            at("proxy_url"),
            format!(
                "proxy_url is only used with access = \"proxy\", but cluster \"{name}\" has \
                 {described}"
            ),
            "remove proxy_url, or set access = \"proxy\"".into(),
        );
    }
}

/// Why `url` is not a usable proxy URL (`http`, `https` or `socks5`, with a
/// host and a port, nothing else), or `None`.
pub(super) fn proxy_url_problem(url: &str) -> Option<String> {
    let Ok(uri) = url.parse::<Uri>() else {
        return Some("is not a URL".into());
    };
    let Some(scheme) = uri.scheme_str() else {
        return Some("has no scheme".into());
    };
    if !["http", "https", "socks5"]
        .iter()
        .any(|s| s.eq_ignore_ascii_case(scheme))
    {
        return Some(format!(
            "has scheme \"{scheme}\"; only http, https and socks5 proxies are supported"
        ));
    }
    if uri.host().is_none_or(str::is_empty) {
        return Some("has no host".into());
    }
    // `Uri` accepts any digits as a port but only reports ports that fit a u16.
    let host_port = uri.authority().map_or("", |a| a.as_str());
    let host_port = host_port.rsplit_once('@').map_or(host_port, |(_, hp)| hp);
    let port = match host_port.rsplit_once(']') {
        Some((_, rest)) => rest.strip_prefix(':'),
        None => host_port.rsplit_once(':').map(|(_, p)| p),
    };
    match port.filter(|p| !p.is_empty()) {
        None => return Some("has no port".into()),
        Some(p) if p.parse::<u16>().map_or(true, |n| n == 0) => {
            return Some(format!("has port {p}; ports are from 1 to 65535"));
        }
        Some(_) => {}
    }
    if uri.query().is_some() || !matches!(uri.path(), "" | "/") {
        return Some("has a path or query; a proxy URL is only scheme://host:port".into());
    }
    None
}

/// The authorized networks meshform adds to a control plane by itself.
struct Derived {
    /// One per region's subnet primary range.
    subnets: usize,
    /// The pod range of every other cluster.
    pod_ranges: usize,
    /// `operator_cidr`, with public access.
    operator: bool,
}

impl Derived {
    fn count(&self) -> usize {
        self.subnets + self.pod_ranges + usize::from(self.operator)
    }

    fn describe(&self) -> String {
        let plural =
            |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
        let mut parts = vec![
            plural(
                self.subnets,
                "subnet primary range",
                "subnet primary ranges",
            ),
            plural(
                self.pod_ranges,
                "pod range of another cluster",
                "pod ranges of other clusters",
            ),
        ];
        if self.operator {
            parts.push("operator_cidr".into());
        }
        parts.join(", ")
    }
}

fn authorized_networks(
    c: &mut Checker<'_>,
    at: &dyn Fn(&str) -> String,
    cluster: &Cluster,
    derived: &Derived,
) {
    let listed = &cluster.authorized_networks;
    for (k, network) in listed.iter().enumerate() {
        if network.name.trim().is_empty() {
            c.push(
                at(&format!("authorized_networks[{k}].name")),
                "authorized network name is empty".into(),
                "give it a label shown in the console, e.g. `name = \"office\"`".into(),
            );
        }
        c.cidr(
            at(&format!("authorized_networks[{k}].cidr")),
            "authorized network",
            &network.cidr,
        );
    }
    let total = listed.len() + derived.count();
    if total > MAX_AUTHORIZED_NETWORKS {
        let first_over = MAX_AUTHORIZED_NETWORKS.saturating_sub(derived.count());
        let path = if first_over < listed.len() {
            at(&format!("authorized_networks[{first_over}]"))
        } else {
            at("authorized_networks")
        };
        c.push(
            path,
            format!(
                "cluster \"{}\" would have {total} authorized networks: {} listed and {} \
                 derived by meshform ({}); GKE allows at most {MAX_AUTHORIZED_NETWORKS}",
                cluster.name,
                listed.len(),
                derived.count(),
                derived.describe()
            ),
            format!(
                "remove at least {} of the listed networks, or merge neighbouring ones into \
                 a larger range",
                total - MAX_AUTHORIZED_NETWORKS
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::proxy_url_problem;
    use crate::plan::parse::tests::{errors, errors_with_base, BASE};

    /// The whole rendered output, for checking help texts.
    fn rendered(text: &str) -> String {
        crate::plan::parse(Path::new("p.toml"), text)
            .unwrap_err()
            .to_string()
    }

    /// [`BASE`] plus a cluster (lines 11 to 14) plus `extra` (from line 15).
    fn with_cluster(extra: &str) -> String {
        format!(
            "{BASE}[region.cluster]\nname = \"c1\"\nlocation = \"europe-west2-a\"\n\
             master_cidr = \"172.16.0.32/28\"\n{}",
            extra.strip_prefix('\n').unwrap_or(extra)
        )
    }

    /// A second region `us-central1` (lines `first`..`first + 6`) whose cluster
    /// starts with `cluster` lines.
    fn us_region(cluster: &str) -> String {
        format!(
            "[[region]]\nname = \"us-central1\"\n[region.subnet]\nname = \"us\"\n\
             cidr = \"10.1.0.0/20\"\npod_range = {{ name = \"pods\", cidr = \"10.18.0.0/20\" }}\n\
             service_range = {{ name = \"svc\", cidr = \"10.19.0.0/24\" }}\n[region.cluster]\n{}",
            cluster.strip_prefix('\n').unwrap_or(cluster)
        )
    }

    #[test]
    fn a_minimal_cluster_is_valid() {
        assert_eq!(errors(&with_cluster("")), Vec::<String>::new());
        let plan = crate::plan::parse(Path::new("p.toml"), &with_cluster("")).unwrap();
        let cluster = plan.regions[0].cluster.as_ref().unwrap();
        assert_eq!(cluster.access_mode(), crate::plan::ControlPlaneAccess::Dns);
        assert_eq!(cluster.node_pool.machine_type, "e2-standard-4");
    }

    #[test]
    fn cluster_names_follow_the_gke_rule_and_are_unique() {
        let long = "c".repeat(41);
        let text = format!(
            "{}{}",
            with_cluster("").replace("\"c1\"", &format!("\"{long}\"")),
            us_region(&format!(
                "name = \"{long}\"\nlocation = \"us-central1\"\nmaster_cidr = \"172.16.0.48/28\"\n"
            ))
        );
        assert_eq!(
            errors(&text),
            [
                "12:8: cluster name \"ccccccccccccccccccccccccccccccccccccccccc\" is 41 characters long; at most 40 are allowed",
                "23:8: cluster name \"ccccccccccccccccccccccccccccccccccccccccc\" is 41 characters long; at most 40 are allowed",
                "23:8: duplicate cluster name \"ccccccccccccccccccccccccccccccccccccccccc\" (first defined at 12:8)",
            ]
        );
        assert!(rendered(&text).contains(
            "help: GKE cluster names match [a-z]([-a-z0-9]*[a-z0-9])? and have at most 40 \
             characters; try \"cccccccccccccccccccccccccccccccccccccccc\""
        ));
        assert_eq!(
            errors(&with_cluster("").replace("\"c1\"", "\"Istio_1\"")),
            ["12:8: cluster name \"Istio_1\" starts with 'I'; it must start with a lowercase letter"]
        );
    }

    #[test]
    fn location_is_the_region_or_one_of_its_zones() {
        for good in ["europe-west2", "europe-west2-a", "europe-west2-c"] {
            let text = with_cluster("").replace("\"europe-west2-a\"", &format!("\"{good}\""));
            assert_eq!(errors(&text), Vec::<String>::new(), "{good}");
        }
        let cases = [
            (
                "us-central1-a",
                "cluster location \"us-central1-a\" is a zone of region \"us-central1\", but the cluster is declared in region \"europe-west2\"",
                "use a zone of europe-west2 such as \"europe-west2-a\" for a zonal cluster, or \"europe-west2\" for a regional one; or move the [region.cluster] to the [[region]] named \"us-central1\"",
            ),
            (
                "us-central1",
                "cluster location \"us-central1\" is not region \"europe-west2\" or one of its zones",
                "use a zone of europe-west2 such as \"europe-west2-a\" for a zonal cluster, or \"europe-west2\" for a regional one",
            ),
            (
                "europe-west2-A",
                "cluster location \"europe-west2-A\" is not a zone or region name",
                "use a zone of europe-west2 such as \"europe-west2-a\"",
            ),
        ];
        for (location, message, help) in cases {
            let text = with_cluster("").replace("\"europe-west2-a\"", &format!("\"{location}\""));
            assert_eq!(errors(&text), [format!("13:12: {message}")]);
            assert!(rendered(&text).contains(help), "{}", rendered(&text));
        }
    }

    #[test]
    fn master_cidr_is_a_private_28_without_host_bits() {
        let with_master = |cidr: &str| with_cluster("").replace("172.16.0.32/28", cidr);
        assert_eq!(
            errors(&with_master("172.16.0.40/24")),
            ["14:15: control plane range 172.16.0.40/24 of cluster \"c1\" is a /24; GKE needs a /28"]
        );
        assert!(rendered(&with_master("172.16.0.40/24"))
            .contains("help: use \"172.16.0.32/28\", the /28 that contains 172.16.0.40\n"));
        assert!(rendered(&with_master("10.17.0.8/24")).contains(
            "help: use \"10.17.0.0/28\", the /28 that contains 10.17.0.8; but that overlaps \
             another range of the plan, e.g. \"172.16.0.0/28\" is free"
        ));
        assert_eq!(
            errors(&with_master("172.16.0.33/28")),
            ["14:15: control plane range 172.16.0.33/28 of cluster \"c1\" has host bits set"]
        );
        assert!(rendered(&with_master("172.16.0.33/28"))
            .contains("help: a range starts at its network address: write \"172.16.0.32/28\""));
        assert_eq!(
            errors(&with_master("100.64.0.0/28")),
            ["14:15: control plane range 100.64.0.0/28 of cluster \"c1\" is not in private (RFC 1918) address space"]
        );
        assert!(rendered(&with_master("100.64.0.0/28")).contains(
            "help: use a /28 in 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16, e.g. \"172.16.0.0/28\" is free"
        ));
        for private in ["10.200.0.0/28", "192.168.3.16/28", "172.31.255.240/28"] {
            assert_eq!(
                errors(&with_master(private)),
                Vec::<String>::new(),
                "{private}"
            );
        }
    }

    #[test]
    fn master_cidr_overlaps_nothing_else_in_the_plan() {
        // Overlaps the service range of its own region.
        let text = with_cluster("").replace("172.16.0.32/28", "10.17.0.16/28");
        assert_eq!(
            errors(&text),
            ["14:15: control plane range 10.17.0.16/28 of cluster \"c1\" overlaps service range 10.17.0.0/24 of region \"europe-west2\" (defined at 10:40)"]
        );
        assert!(rendered(&text).contains(
            "ranges must not overlap anywhere in the plan, e.g. \"172.16.0.0/28\" is free"
        ));
        // Overlaps another cluster's control plane, and a subnet of another region.
        let text = format!(
            "{}{}",
            with_cluster(""),
            us_region(
                "name = \"c2\"\nlocation = \"us-central1-a\"\nmaster_cidr = \"172.16.0.32/28\"\n"
            )
        )
        .replace("10.1.0.0/20", "172.16.0.0/24");
        assert_eq!(
            errors(&text),
            [
                "19:8: subnet range 172.16.0.0/24 of region \"us-central1\" overlaps control plane range 172.16.0.32/28 of cluster \"c1\" (defined at 14:15)",
                "25:15: control plane range 172.16.0.32/28 of cluster \"c2\" overlaps control plane range 172.16.0.32/28 of cluster \"c1\" (defined at 14:15)",
                "25:15: control plane range 172.16.0.32/28 of cluster \"c2\" overlaps subnet range 172.16.0.0/24 of region \"us-central1\" (defined at 19:8)",
            ]
        );
    }

    #[test]
    fn public_access_needs_operator_cidr_and_a_public_endpoint() {
        let text = with_cluster("access = \"public\"\n");
        assert_eq!(
            errors(&text),
            [
                "15:10: cluster \"c1\" has access = \"public\" but private_endpoint = true: a control plane with only a private endpoint has no public endpoint",
                "15:10: cluster \"c1\" is reached over its public endpoint (access = \"public\") but has no operator_cidr",
            ]
        );
        let out = rendered(&text);
        assert!(
            out.contains(
                "help: use access = \"dns\" (GKE's DNS endpoint, reached with Google credentials) \
             or access = \"proxy\" with a proxy_url; or set private_endpoint = false"
            ),
            "{out}"
        );
        assert!(out.contains(
            "help: add `operator_cidr = \"203.0.113.7/32\"` with your public IP as a /32 (e.g. \
             from `curl ifconfig.me`)"
        ), "{out}");
        // Without a private endpoint, public access is the default.
        assert_eq!(
            errors(&with_cluster("private_endpoint = false\n")),
            ["15:20: cluster \"c1\" is reached over its public endpoint (access = \"public\" (the default with private_endpoint = false)) but has no operator_cidr"]
        );
        assert_eq!(
            errors(&with_cluster(
                "private_endpoint = false\noperator_cidr = \"203.0.113.7/32\"\n"
            )),
            Vec::<String>::new()
        );
        assert_eq!(
            errors(&with_cluster(
                "private_endpoint = false\noperator_cidr = \"203.0.113.7/24\"\n"
            )),
            ["16:17: operator range 203.0.113.7/24 has host bits set"]
        );
    }

    #[test]
    fn proxy_access_needs_a_good_proxy_url() {
        let text = with_cluster("access = \"proxy\"\n");
        assert_eq!(
            errors(&text),
            ["15:10: cluster \"c1\" has access = \"proxy\" but no proxy_url"]
        );
        assert!(rendered(&text).contains(
            "help: add `proxy_url = \"socks5://localhost:1080\"`, e.g. for an SSH tunnel through \
             the bastion: `gcloud compute ssh BASTION --zone ZONE --tunnel-through-iap -- -N -D 1080`"
        ));
        let text = with_cluster("access = \"proxy\"\nproxy_url = \"localhost:1080\"\n");
        assert_eq!(
            errors(&text),
            ["16:13: proxy_url \"localhost:1080\" has no scheme"]
        );
        assert!(rendered(&text).contains(
            "help: write scheme://host:port with scheme http, https or socks5, e.g. \
             \"socks5://localhost:1080\" or \"http://127.0.0.1:8888\""
        ));
        assert_eq!(
            errors(&with_cluster(
                "access = \"proxy\"\nproxy_url = \"http://127.0.0.1:8888\"\n"
            )),
            Vec::<String>::new()
        );
    }

    #[test]
    fn proxy_urls() {
        for good in [
            "socks5://localhost:1080",
            "http://127.0.0.1:8888",
            "https://proxy.example.com:3128/",
            "HTTP://proxy:80",
            "socks5://[::1]:1080",
            "http://user:secret@proxy:8080",
        ] {
            assert_eq!(proxy_url_problem(good), None, "{good}");
        }
        for (bad, why) in [
            ("", "is not a URL"),
            ("socks5://local host:1080", "is not a URL"),
            ("localhost:1080", "has no scheme"),
            ("/proxy", "has no scheme"),
            (
                "ftp://proxy:21",
                "has scheme \"ftp\"; only http, https and socks5 proxies are supported",
            ),
            (
                "socks4://proxy:1080",
                "has scheme \"socks4\"; only http, https and socks5 proxies are supported",
            ),
            ("http://:8080", "has no host"),
            ("http://proxy", "has no port"),
            ("http://proxy:", "has no port"),
            ("socks5://[::1]", "has no port"),
            ("http://proxy:0", "has port 0; ports are from 1 to 65535"),
            (
                "http://proxy:65536",
                "has port 65536; ports are from 1 to 65535",
            ),
            (
                "http://proxy:8080/path",
                "has a path or query; a proxy URL is only scheme://host:port",
            ),
            (
                "http://proxy:8080?x=1",
                "has a path or query; a proxy URL is only scheme://host:port",
            ),
        ] {
            assert_eq!(proxy_url_problem(bad).as_deref(), Some(why), "{bad}");
        }
    }

    #[test]
    fn settings_of_another_access_mode_are_refused() {
        let text = with_cluster(
            "operator_cidr = \"203.0.113.7/32\"\nproxy_url = \"socks5://localhost:1080\"\n",
        );
        assert_eq!(
            errors(&text),
            [
                "15:17: operator_cidr is only used with access = \"public\", but cluster \"c1\" has access = \"dns\" (the default with private_endpoint = true)",
                "16:13: proxy_url is only used with access = \"proxy\", but cluster \"c1\" has access = \"dns\" (the default with private_endpoint = true)",
            ]
        );
        let out = rendered(&text);
        assert!(out.contains(
            "help: remove operator_cidr, or set access = \"public\" and private_endpoint = false"
        ));
        assert!(out.contains("help: remove proxy_url, or set access = \"proxy\""));
        assert_eq!(
            errors(&with_cluster(
                "access = \"proxy\"\nproxy_url = \"socks5://localhost:1080\"\noperator_cidr = \"203.0.113.7/32\"\n"
            )),
            ["17:17: operator_cidr is only used with access = \"public\", but cluster \"c1\" has access = \"proxy\""]
        );
    }

    #[test]
    fn authorized_networks_are_named_ranges_without_host_bits() {
        assert_eq!(
            errors(&with_cluster(
                r#"
authorized_networks = [
  { name = "office", cidr = "203.0.113.0/24" },
  { name = " ", cidr = "198.51.100.1/24" },
]
"#
            )),
            [
                "17:12: authorized network name is empty",
                "17:24: authorized network 198.51.100.1/24 has host bits set",
            ]
        );
    }

    #[test]
    fn authorized_networks_count_the_derived_ones_against_gkes_limit() {
        let list = |n: u32| {
            let items: Vec<String> = (0..n)
                .map(|k| format!("  {{ name = \"n{k}\", cidr = \"198.51.{k}.0/24\" }},\n"))
                .collect();
            format!("authorized_networks = [\n{}]\n", items.concat())
        };
        // One region: 1 derived, so 49 listed are fine and 50 are one too many.
        assert_eq!(errors(&with_cluster(&list(49))), Vec::<String>::new());
        let text = with_cluster(&list(50));
        assert_eq!(
            errors(&text),
            ["65:3: cluster \"c1\" would have 51 authorized networks: 50 listed and 1 derived by meshform (1 subnet primary range, 0 pod ranges of other clusters); GKE allows at most 50"]
        );
        assert!(rendered(&text).contains(
            "help: remove at least 1 of the listed networks, or merge neighbouring ones into a \
             larger range"
        ));
        // Two regions with clusters and public access: 2 + 1 + 1 derived.
        let text = format!(
            "{}{}",
            with_cluster(&format!(
                "private_endpoint = false\noperator_cidr = \"203.0.113.7/32\"\n{}",
                list(47)
            )),
            us_region(
                "name = \"c2\"\nlocation = \"us-central1-a\"\nmaster_cidr = \"172.16.0.48/28\"\n"
            )
        );
        assert_eq!(
            errors(&text),
            ["64:3: cluster \"c1\" would have 51 authorized networks: 47 listed and 4 derived by meshform (2 subnet primary ranges, 1 pod range of another cluster, operator_cidr); GKE allows at most 50"]
        );
    }

    #[test]
    fn node_pool_settings() {
        let text = with_cluster(
            r#"
release_channel = "rapid"
[region.cluster.node_pool]
machine_type = "E2-standard-4"
count = 0
disk_size_gb = 5
image_type = "cos_containerd"
"#,
        );
        assert_eq!(
            errors(&text),
            [
                "15:19: region[0].cluster.release_channel has no value \"rapid\"",
                "17:16: \"E2-standard-4\" is not a Compute Engine machine type",
                "18:9: region[0].cluster.node_pool.count must be from 1 to 1000, found 0",
                "19:16: region[0].cluster.node_pool.disk_size_gb must be at least 10, found 5",
                "20:14: region[0].cluster.node_pool.image_type has no value \"cos_containerd\"",
            ]
        );
        let out = rendered(&text);
        for help in [
            "help: did you mean \"RAPID\"? allowed values: \"RAPID\", \"REGULAR\", \"STABLE\"",
            "help: machine types are lowercase: write \"e2-standard-4\"",
            "help: use a value from 1 to 1000, e.g. `count = 3`",
            "help: use a value at least 10, e.g. `disk_size_gb = 100`",
            "help: did you mean \"COS_CONTAINERD\"? allowed values: \"COS_CONTAINERD\", \
             \"UBUNTU_CONTAINERD\", \"COS\", \"UBUNTU\", \"WINDOWS_LTSC_CONTAINERD\"",
        ] {
            assert!(out.contains(help), "{help}\n{out}");
        }
        let text = with_cluster(
            "[region.cluster.node_pool]\nmachine_type = \"standard\"\ncount = 1001\nimage_type = \"UBUNTU_CONTAINER\"\n",
        );
        assert_eq!(
            errors(&text),
            [
                "16:16: \"standard\" is not a Compute Engine machine type",
                "17:9: region[0].cluster.node_pool.count must be from 1 to 1000, found 1001",
                "18:14: region[0].cluster.node_pool.image_type has no value \"UBUNTU_CONTAINER\"",
            ]
        );
        let out = rendered(&text);
        assert!(out.contains(
            "help: machine types look like \"e2-standard-4\" or \"n1-standard-2\" \
             (`gcloud compute machine-types list --zones ZONE`)"
        ));
        assert!(out.contains("help: did you mean \"UBUNTU_CONTAINERD\"?"));
    }

    #[test]
    fn a_cluster_needs_the_regions_nat() {
        let text = with_cluster("").replace(
            "[region.cluster]",
            "[region.nat]\nenabled = false\n[region.cluster]",
        );
        assert_eq!(
            errors(&text),
            ["12:11: region \"europe-west2\" has cluster \"c1\" but its NAT is disabled"]
        );
        assert!(rendered(&text).contains(
            "help: private nodes have no external IP addresses and pull images and updates \
             through Cloud NAT: remove `enabled = false` from [region.nat]"
        ));
        // Without a cluster, NAT may be off.
        assert_eq!(
            errors_with_base("[region.nat]\nenabled = false\n"),
            Vec::<String>::new()
        );
    }

    #[test]
    fn unknown_keys_in_cluster_tables() {
        let text = with_cluster(
            r#"
releas_channel = "RAPID"
authorized_networks = [{ name = "office", cidr = "203.0.113.0/24", cdir = "x" }]
[region.cluster.node_pool]
machine_typ = "e2-standard-4"
nodes = 3
"#,
        );
        assert_eq!(
            errors(&text),
            [
                "15:1: unknown key \"releas_channel\" in region[0].cluster",
                "16:68: unknown key \"cdir\" in region[0].cluster.authorized_networks[0]",
                "18:1: unknown key \"machine_typ\" in region[0].cluster.node_pool",
                "19:1: unknown key \"nodes\" in region[0].cluster.node_pool",
            ]
        );
        let out = rendered(&text);
        assert!(
            out.contains("help: did you mean \"release_channel\"?"),
            "{out}"
        );
        assert!(out.contains("help: did you mean \"cidr\"?"), "{out}");
        assert!(
            out.contains("help: did you mean \"machine_type\"?"),
            "{out}"
        );
        assert!(
            out.contains(
                "help: the keys allowed here are: machine_type, count, disk_size_gb, image_type"
            ),
            "{out}"
        );
    }

    #[test]
    fn a_broken_cluster_does_not_hide_the_rest_of_its_region() {
        let text = with_cluster("")
            .replace("master_cidr = \"172.16.0.32/28\"\n", "")
            .replace("10.0.0.0/20", "10.0.0.1/20");
        assert_eq!(
            errors(&text),
            [
                "8:8: subnet range 10.0.0.1/20 has host bits set",
                "11:1: region[0].cluster is missing required key \"master_cidr\"",
            ]
        );
        assert_eq!(
            errors(&with_cluster("authorized_networks = [{ name = \"x\" }]\n")),
            ["15:24: region[0].cluster.authorized_networks[0] is missing required key \"cidr\""]
        );
    }
}

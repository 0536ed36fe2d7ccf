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
        c.push(
            path.to_owned(),
            format!("{what} is a /{}; GKE needs a /28", net.prefix_len()),
            format!("use \"{as_28}\", the /28 that contains {}", net.addr()),
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
    match uri.port_u16() {
        None => return Some("has no port".into()),
        Some(0) => return Some("has port 0".into()),
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

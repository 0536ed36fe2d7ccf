//! Checks of `[region.cluster]`, one job per file: this file walks the
//! clusters and checks what is about the cluster as a whole (its name, the
//! NAT its private nodes need); the rest is in
//!
//! - `location.rs`: the zone or region the cluster is in;
//! - `control_plane_range.rs`: the control plane's /28 (`master_cidr`);
//! - `control_plane_access.rs`: how meshform reaches the control plane
//!   (`access`, `private_endpoint`, `operator_cidr`, `proxy_url`);
//! - `authorized_networks.rs`: the listed networks and GKE's limit on them;
//! - `node_pool.rs`: the node pool's machine type.

mod authorized_networks;
mod control_plane_access;
mod control_plane_range;
mod location;
mod node_pool;

use ipnet::Ipv4Net;

use super::{plan_ranges, Checker, Parts};
use crate::plan::authorized::derived_authorized_networks;
use crate::plan::model::{Cluster, Region};
use crate::plan::names::{cluster_name_problem, suggest_name, MAX_CLUSTER_NAME_LEN};

pub(super) use control_plane_range::free_master_hint;
pub(super) use node_pool::machine_type_help;

/// Checks every `[region.cluster]` of the plan.
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

        location::location(c, &at("location"), region, cluster);
        control_plane_range::master_range(c, &at("master_cidr"), cluster, &taken);
        control_plane_access::access(c, &at, cluster);
        let derived = derived_authorized_networks(
            parts.regions.iter().map(|(_, r)| r),
            &region.name,
            cluster,
        );
        authorized_networks::authorized_networks(c, &at, cluster, &derived);

        node_pool::node_pool(c, &at, cluster);

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

#[cfg(test)]
mod test_support {

    use std::path::Path;

    pub(super) use crate::plan::parse::tests::{errors, errors_with_base, BASE};

    /// The whole rendered output, for checking help texts.
    pub(super) fn rendered(text: &str) -> String {
        crate::plan::parse(Path::new("p.toml"), text)
            .unwrap_err()
            .to_string()
    }

    /// [`BASE`] plus a cluster (lines 11 to 14) plus `extra` (from line 15).
    pub(super) fn with_cluster(extra: &str) -> String {
        format!(
            "{BASE}[region.cluster]\nname = \"c1\"\nlocation = \"europe-west2-a\"\n\
             master_cidr = \"172.16.0.32/28\"\n{}",
            extra.strip_prefix('\n').unwrap_or(extra)
        )
    }

    /// A second region `us-central1` (lines `first`..`first + 6`) whose cluster
    /// starts with `cluster` lines.
    pub(super) fn us_region(cluster: &str) -> String {
        format!(
            "[[region]]\nname = \"us-central1\"\n[region.subnet]\nname = \"us\"\n\
             cidr = \"10.1.0.0/20\"\npod_range = {{ name = \"pods\", cidr = \"10.18.0.0/20\" }}\n\
             service_range = {{ name = \"svc\", cidr = \"10.19.0.0/24\" }}\n[region.cluster]\n{}",
            cluster.strip_prefix('\n').unwrap_or(cluster)
        )
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::test_support::*;

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

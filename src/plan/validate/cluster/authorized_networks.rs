//! A control plane's authorized networks: the listed ones are named ranges,
//! and with the ones meshform derives they stay within GKE's limit.

use super::super::Checker;
use crate::plan::authorized::{Derivation, DerivedNetwork};
use crate::plan::model::Cluster;

/// GKE's limit on a control plane's authorized networks, derived ones included.
pub(super) const MAX_AUTHORIZED_NETWORKS: usize = 50;

/// "3 subnet primary ranges, 1 pod range of another cluster, operator_cidr".
fn describe(derived: &[DerivedNetwork]) -> String {
    let count = |f: fn(&Derivation) -> bool| derived.iter().filter(|d| f(&d.derivation)).count();
    let plural =
        |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    let mut parts = vec![
        plural(
            count(|d| *d == Derivation::Subnet),
            "subnet primary range",
            "subnet primary ranges",
        ),
        plural(
            count(|d| matches!(d, Derivation::PeerPods { .. })),
            "pod range of another cluster",
            "pod ranges of other clusters",
        ),
    ];
    if count(|d| *d == Derivation::Operator) > 0 {
        parts.push("operator_cidr".into());
    }
    parts.join(", ")
}

/// The listed networks are named ranges without host bits, and listed plus
/// `derived` are at most [`MAX_AUTHORIZED_NETWORKS`].
pub(super) fn authorized_networks(
    c: &mut Checker<'_>,
    at: &dyn Fn(&str) -> String,
    cluster: &Cluster,
    derived: &[DerivedNetwork],
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
    let total = listed.len() + derived.len();
    if total > MAX_AUTHORIZED_NETWORKS {
        let first_over = MAX_AUTHORIZED_NETWORKS.saturating_sub(derived.len());
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
                derived.len(),
                describe(derived)
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
    use super::super::test_support::*;

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
}

//! The control plane's range (`master_cidr`): a /28 in private address
//! space, and which /28 is still free to suggest.

use std::net::Ipv4Addr;

use ipnet::Ipv4Net;

use super::super::Checker;
use crate::plan::model::Cluster;

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
fn free_master_range(taken: &[Ipv4Net]) -> Option<Ipv4Net> {
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
pub(in crate::plan::validate) fn free_master_hint(taken: &[Ipv4Net]) -> String {
    free_master_range(taken)
        .map(|n| format!(", e.g. \"{n}\" is free"))
        .unwrap_or_default()
}

/// `master_cidr` is a /28 without host bits in RFC 1918 space (overlaps are
/// checked with every other range in `overlaps`).
pub(super) fn master_range(c: &mut Checker<'_>, path: &str, cluster: &Cluster, taken: &[Ipv4Net]) {
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

#[cfg(test)]
mod tests {
    use super::super::test_support::*;

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
}

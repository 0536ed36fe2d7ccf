//! A cluster's `location`: its region, or one of the region's zones.

use super::super::Checker;
use crate::plan::model::{Cluster, Region};
use crate::plan::names::{looks_like_region, zone_region};

/// `location` is the region itself (regional cluster) or one of its zones.
pub(super) fn location(c: &mut Checker<'_>, path: &str, region: &Region, cluster: &Cluster) {
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

#[cfg(test)]
mod tests {
    use super::super::test_support::*;

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
}

//! A cluster's node pool: its machine type looks like one. (Counts, disk
//! sizes and image types are checked where the plan file is parsed.)

use super::super::Checker;
use crate::plan::model::Cluster;
use crate::plan::names::looks_like_machine_type;

/// `node_pool.machine_type` looks like a Compute Engine machine type.
pub(super) fn node_pool(c: &mut Checker<'_>, at: &dyn Fn(&str) -> String, cluster: &Cluster) {
    let machine_type = &cluster.node_pool.machine_type;
    if !looks_like_machine_type(machine_type) {
        c.push(
            at("node_pool.machine_type"),
            format!("\"{machine_type}\" is not a Compute Engine machine type"),
            machine_type_help(machine_type),
        );
    }
}

/// Help for a machine type that does not look like one.
pub(in crate::plan::validate) fn machine_type_help(machine_type: &str) -> String {
    let lower = machine_type.to_ascii_lowercase();
    if lower != machine_type && looks_like_machine_type(&lower) {
        return format!("machine types are lowercase: write \"{lower}\"");
    }
    "machine types look like \"e2-standard-4\" or \"n1-standard-2\" \
     (`gcloud compute machine-types list --zones ZONE`)"
        .into()
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;

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
}

//! Checks of `[mesh]` and each `[region.cluster.mesh]`: the Istio version,
//! names Istio and Kubernetes accept, CA validities, and a brought root
//! (read from its files: a CA, its key, not expiring before the intermediates).

use std::time::{Duration, SystemTime};

use super::{Checker, Parts};
use crate::mesh::ca;
use crate::plan::mesh::{release_line, Mesh, SUPPORTED_LINES};
use crate::plan::names::{dns1123_label_problem, dns1123_subdomain_problem};
use crate::resource::Material;

const DNS_HELP: &str =
    "use lowercase letters, digits and '-', starting and ending with a letter or digit \
     (at most 63 characters)";

pub(super) fn mesh(c: &mut Checker<'_>, parts: &Parts) {
    samples(c, parts);
    let Some(mesh) = &parts.mesh else {
        return;
    };
    label(c, "mesh.id", "mesh id", &mesh.id);
    version(c, mesh);
    if let Some(rev) = &mesh.revision {
        label(c, "mesh.revision", "revision", rev);
    }
    if let Some(problem) = dns1123_subdomain_problem(&mesh.trust_domain) {
        c.push(
            "mesh.trust_domain".into(),
            format!("trust domain \"{}\" {problem}", mesh.trust_domain),
            "a trust domain is a DNS name such as \"cluster.local\" or \"mesh.example.com\"".into(),
        );
    }
    clusters(c, parts);
    validities(c, mesh);
    brought_root(c, mesh);
}

/// `[samples]` needs a mesh, and a namespace of its own.
fn samples(c: &mut Checker<'_>, parts: &Parts) {
    let Some(samples) = &parts.samples else {
        return;
    };
    if parts.mesh.is_none() && samples.enabled {
        c.push(
            "samples".into(),
            "[samples] needs a mesh: the samples run in the mesh's clusters with sidecars".into(),
            "add a [mesh] section, or set enabled = false in [samples]".into(),
        );
    }
    label(c, "samples.namespace", "namespace", &samples.namespace);
    let reserved = [
        "istio-system",
        "kube-system",
        "kube-public",
        "kube-node-lease",
        "default",
    ];
    if reserved.contains(&samples.namespace.as_str()) {
        c.push(
            "samples.namespace".into(),
            format!("the samples cannot use namespace \"{}\"", samples.namespace),
            "use a namespace of their own, e.g. namespace = \"sample\" (destroy deletes it)".into(),
        );
    }
}

fn label(c: &mut Checker<'_>, path: &str, what: &str, value: &str) {
    if let Some(problem) = dns1123_label_problem(value) {
        c.push(
            path.into(),
            format!("{what} \"{value}\" {problem}"),
            DNS_HELP.into(),
        );
    }
}

fn version(c: &mut Checker<'_>, mesh: &Mesh) {
    let v = &mesh.istio_version;
    let lines = SUPPORTED_LINES.join(" and ");
    match release_line(v) {
        None => c.push(
            "mesh.istio_version".into(),
            format!("Istio version \"{v}\" is not a pinned version"),
            format!(
                "pin a patch release of a supported line ({lines}), e.g. istio_version = \"1.31.1\""
            ),
        ),
        Some(line) if !SUPPORTED_LINES.contains(&line.as_str()) => c.push(
            "mesh.istio_version".into(),
            format!("Istio {v} is not of a supported release line"),
            format!("meshform supports Istio {lines}; e.g. istio_version = \"1.31.1\""),
        ),
        Some(_) => {}
    }
}

fn clusters(c: &mut Checker<'_>, parts: &Parts) {
    let clusters: Vec<(usize, &crate::plan::Cluster)> = parts
        .regions
        .iter()
        .filter_map(|(i, r)| r.cluster.as_ref().map(|cl| (*i, cl)))
        .collect();
    if clusters.is_empty() && !parts.regions.is_empty() {
        c.push(
            "mesh".into(),
            "the mesh has no cluster: no [[region]] has a [region.cluster]".into(),
            "add a [region.cluster] to at least one region, or remove [mesh]".into(),
        );
    }
    let mut names = Vec::new();
    for (i, cluster) in clusters {
        let at = |rest: &str| format!("region[{i}].cluster.mesh.{rest}");
        if let Some(n) = &cluster.mesh.name {
            label(c, &at("name"), "mesh cluster name", n);
        }
        if let Some(n) = &cluster.mesh.network {
            label(c, &at("network"), "network", n);
        }
        names.push((at("name"), cluster.mesh_name().to_string()));
    }
    c.duplicates(
        &names,
        "cluster name in the mesh",
        "istiod tells clusters apart by this name: give each [region.cluster.mesh] its own name",
    );
}

fn validities(c: &mut Checker<'_>, mesh: &Mesh) {
    let ca = &mesh.ca;
    if ca.root_cert.is_none() && ca.intermediate_validity_days > ca.root_validity_days {
        c.push(
            "mesh.ca.intermediate_validity_days".into(),
            format!(
                "intermediates valid for {} days would outlive the root ({} days)",
                ca.intermediate_validity_days, ca.root_validity_days
            ),
            format!(
                "set intermediate_validity_days to at most {}",
                ca.root_validity_days
            ),
        );
    }
    if ca.reissue_window_days >= ca.intermediate_validity_days {
        c.push(
            "mesh.ca.reissue_window_days".into(),
            format!(
                "a re-issue window of {} days is not shorter than the intermediates' validity \
                 ({} days): every plan would re-issue them",
                ca.reissue_window_days, ca.intermediate_validity_days
            ),
            "make the window shorter than intermediate_validity_days, e.g. reissue_window_days = 30"
                .into(),
        );
    }
}

fn brought_root(c: &mut Checker<'_>, mesh: &Mesh) {
    let ca = &mesh.ca;
    let (cert_path, key_path) = match (&ca.root_cert, &ca.root_key) {
        (None, None) => return,
        (Some(cert), Some(key)) => (cert, key),
        (Some(_), None) | (None, Some(_)) => {
            let missing = if ca.root_key.is_none() {
                "root_key"
            } else {
                "root_cert"
            };
            c.push(
                format!("mesh.ca.{}", if missing == "root_key" { "root_cert" } else { "root_key" }),
                format!("a brought root needs both root_cert and root_key; {missing} is missing"),
                format!("add {missing} = \"PATH\" (PEM), or remove the other to let meshform make the root"),
            );
            return;
        }
    };
    let read = |path: &std::path::Path| std::fs::read(path);
    let cert = match read(cert_path) {
        Ok(b) => String::from_utf8_lossy(&b).into_owned(),
        Err(e) => {
            c.push(
                "mesh.ca.root_cert".into(),
                format!("cannot read root certificate {}: {e}", cert_path.display()),
                "paths are relative to the plan file's folder".into(),
            );
            return;
        }
    };
    let key = match read(key_path) {
        Ok(b) => Material(b),
        Err(e) => {
            c.push(
                "mesh.ca.root_key".into(),
                format!("cannot read root key {}: {e}", key_path.display()),
                "paths are relative to the plan file's folder".into(),
            );
            return;
        }
    };
    let info = match ca::inspect(&cert) {
        Ok(info) => info,
        Err(e) => {
            c.push(
                "mesh.ca.root_cert".into(),
                format!("{}: {e}", cert_path.display()),
                "give the root certificate in PEM (-----BEGIN CERTIFICATE-----)".into(),
            );
            return;
        }
    };
    if !info.is_ca || !info.signs_certificates {
        c.push(
            "mesh.ca.root_cert".into(),
            format!(
                "{} ({}) is not a CA certificate (it needs basicConstraints CA:true and keyUsage keyCertSign)",
                cert_path.display(),
                info.subject
            ),
            "bring the root CA's certificate, not a leaf or server certificate".into(),
        );
    }
    match ca::key_matches(&cert, &key) {
        Ok(true) => {}
        Ok(false) => c.push(
            "mesh.ca.root_key".into(),
            format!(
                "{} is not the key of root certificate {}",
                key_path.display(),
                cert_path.display()
            ),
            "give the private key that belongs to root_cert".into(),
        ),
        Err(e) => c.push(
            "mesh.ca.root_key".into(),
            format!("{}: {e}", key_path.display()),
            "give the key unencrypted in PEM (PKCS#8, PKCS#1 or SEC1)".into(),
        ),
    }
    let needed =
        SystemTime::now() + Duration::from_secs(u64::from(ca.intermediate_validity_days) * 86_400);
    if info.expires < needed {
        c.push(
            "mesh.ca.root_cert".into(),
            format!(
                "root certificate {} expires {}, before intermediates issued now ({} days) would",
                cert_path.display(),
                info.not_after,
                ca.intermediate_validity_days
            ),
            "bring a root that lives longer, or shorten intermediate_validity_days".into(),
        );
    }
}

#[cfg(test)]
mod tests {
    use crate::plan::parse::tests::errors_with_base;

    const CLUSTER: &str = r#"
[region.cluster]
name = "c1"
location = "europe-west2-a"
master_cidr = "172.16.0.32/28"
"#;

    fn errors(mesh: &str) -> Vec<String> {
        errors_with_base(&format!("{CLUSTER}{mesh}"))
    }

    #[test]
    fn a_good_mesh_is_accepted() {
        assert_eq!(
            errors("[mesh]\nid = \"mesh1\"\nistio_version = \"1.31.1\"\n"),
            Vec::<String>::new()
        );
    }

    #[test]
    fn samples_need_a_mesh_and_a_namespace_of_their_own() {
        let e = errors("[samples]\nnamespace = \"sample\"\n");
        assert_eq!(e.len(), 1, "{e:?}");
        assert!(e[0].contains("[samples] needs a mesh"), "{e:?}");
        assert_eq!(errors("[samples]\nenabled = false\n"), Vec::<String>::new());
        let e = errors(
            "[mesh]\nid = \"mesh1\"\nistio_version = \"1.31.1\"\n[samples]\nnamespace = \"istio-system\"\n",
        );
        assert_eq!(e.len(), 1, "{e:?}");
        assert!(
            e[0].starts_with("19:13:") && e[0].contains("cannot use namespace \"istio-system\""),
            "{e:?}"
        );
        assert_eq!(
            errors("[mesh]\nid = \"mesh1\"\nistio_version = \"1.31.1\"\n[samples]\n"),
            Vec::<String>::new()
        );
    }

    #[test]
    fn versions_outside_the_supported_lines_name_them() {
        let e = errors("[mesh]\nid = \"mesh1\"\nistio_version = \"1.29.3\"\n");
        assert_eq!(e.len(), 1, "{e:?}");
        assert!(
            e[0].starts_with("17:17:") && e[0].contains("Istio 1.29.3"),
            "{e:?}"
        );
        let e = errors("[mesh]\nid = \"mesh1\"\nistio_version = \"1.31\"\n");
        assert!(e[0].contains("not a pinned version"), "{e:?}");
    }

    #[test]
    fn names_must_be_dns_1123_labels() {
        let e = errors(
            "[region.cluster.mesh]\nname = \"Cluster_1\"\n[mesh]\nid = \"Mesh 1\"\nistio_version = \"1.30.5\"\nrevision = \"1.30\"\n",
        );
        assert_eq!(e.len(), 3, "{e:?}");
        assert!(
            e[0].starts_with("16:8:") && e[0].contains("\"Cluster_1\""),
            "{e:?}"
        );
        assert!(e[1].contains("mesh id \"Mesh 1\""), "{e:?}");
        assert!(e[2].contains("revision \"1.30\""), "{e:?}");
    }

    #[test]
    fn validities_must_fit() {
        let e = errors(
            "[mesh]\nid = \"m\"\nistio_version = \"1.31.1\"\n[mesh.ca]\nroot_validity_days = 100\nintermediate_validity_days = 200\nreissue_window_days = 300\n",
        );
        assert_eq!(e.len(), 2, "{e:?}");
        assert!(e[0].contains("outlive the root"), "{e:?}");
        assert!(e[1].contains("not shorter"), "{e:?}");
    }

    #[test]
    fn a_brought_root_must_be_a_ca_with_its_key_that_lives_long_enough() {
        use crate::mesh::ca;
        use crate::plan::KeyType;
        let dir = tempfile::tempdir().unwrap();
        let now = std::time::SystemTime::now();
        let root = ca::issue_root(KeyType::EcdsaP256, 100, now).unwrap();
        let other = ca::issue_root(KeyType::EcdsaP256, 100, now).unwrap();
        let write = |name: &str, bytes: &[u8]| {
            let p = dir.path().join(name);
            std::fs::write(&p, bytes).unwrap();
            p.display().to_string()
        };
        let cert = write("root.pem", root.cert_pem.as_bytes());
        let wrong_key = write("other-key.pem", &other.key.0);
        let e = errors(&format!(
            "[mesh]\nid = \"m\"\nistio_version = \"1.31.1\"\n[mesh.ca]\nroot_cert = \"{cert}\"\nroot_key = \"{wrong_key}\"\nintermediate_validity_days = 365\nreissue_window_days = 30\n"
        ));
        assert_eq!(e.len(), 2, "{e:?}");
        assert!(
            e.iter()
                .any(|m| m.contains("is not the key of root certificate")),
            "{e:?}"
        );
        assert!(
            e.iter()
                .any(|m| m.contains("before intermediates issued now (365 days)")),
            "{e:?}"
        );

        let leaf = ca::issue_intermediate(KeyType::EcdsaP256, 10, "c", &root, now).unwrap();
        let leaf_cert = write("inter.pem", leaf.cert_pem.as_bytes());
        let leaf_key = write("inter-key.pem", &leaf.key.0);
        // An intermediate is a CA; a missing key file is reported.
        let e = errors(&format!(
            "[mesh]\nid = \"m\"\nistio_version = \"1.31.1\"\n[mesh.ca]\nroot_cert = \"{leaf_cert}\"\nroot_key = \"{}\"\nintermediate_validity_days = 5\nreissue_window_days = 1\n",
            leaf_key.replace("inter-key", "missing")
        ));
        assert!(
            e.iter().any(|m| m.contains("cannot read root key")),
            "{e:?}"
        );
        let e = errors(&format!(
            "[mesh]\nid = \"m\"\nistio_version = \"1.31.1\"\n[mesh.ca]\nroot_cert = \"{cert}\"\nintermediate_validity_days = 5\nreissue_window_days = 1\n"
        ));
        assert!(e[0].contains("root_key is missing"), "{e:?}");
        let not_ca = write("not-a-cert.pem", b"hello");
        let e = errors(&format!(
            "[mesh]\nid = \"m\"\nistio_version = \"1.31.1\"\n[mesh.ca]\nroot_cert = \"{not_ca}\"\nroot_key = \"{leaf_key}\"\nintermediate_validity_days = 5\nreissue_window_days = 1\n"
        ));
        assert!(e[0].contains("not a PEM X.509 certificate"), "{e:?}");
    }
}

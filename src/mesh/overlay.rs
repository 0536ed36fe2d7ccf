//! The IstioOperator overlay of one cluster's control plane: the file handed
//! to `istioctl manifest generate -f`, rendered from [`ControlPlaneValues`]
//! with the tera template `templates/istio-operator.yaml` (compiled in).
//!
//! The overlay is read by istioctl only (MESH.md: the in-cluster operator was
//! removed in Istio 1.24); it is never applied to a cluster.

use std::sync::OnceLock;

use tera::{Context, Tera};

use super::ControlPlaneValues;

/// The template's name and text.
const TEMPLATE: (&str, &str) = (
    "istio-operator.yaml",
    include_str!("../../templates/istio-operator.yaml"),
);

fn tera() -> &'static Tera {
    static TERA: OnceLock<Tera> = OnceLock::new();
    TERA.get_or_init(|| {
        let mut t = Tera::default();
        t.add_raw_templates([TEMPLATE])
            .expect("the bundled IstioOperator template parses");
        t
    })
}

/// The overlay could not be rendered.
#[derive(Debug, thiserror::Error)]
pub enum OverlayError {
    /// The template failed (a bug in meshform: the values always fill it).
    #[error("rendering the IstioOperator overlay: {0}\n  help: this is a bug in meshform; please report it with the plan file")]
    Render(String),
}

/// The IstioOperator overlay (`install.istio.io/v1alpha1`) for `values`:
/// profile `default`, the revision, hub and tag when set, the trust domain,
/// DNS capture and auto-allocation in every proxy's metadata, and the mesh
/// ID, cluster name and network of a multi-primary, multi-network mesh
/// (MESH.md). Every string is quoted, so any value gives valid YAML. The
/// pinned version is annotated (`meshform.dev/istio-version`) for the
/// emulated stand-in, which has no version of its own.
///
/// # Errors
/// [`OverlayError::Render`] only if the bundled template is broken.
pub fn render_overlay(values: &ControlPlaneValues) -> Result<String, OverlayError> {
    let context =
        Context::from_serialize(values).map_err(|e| OverlayError::Render(format!("{e:?}")))?;
    tera()
        .render(TEMPLATE.0, &context)
        .map_err(|e| OverlayError::Render(format!("{e:?}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    fn parse(yaml: &str) -> Value {
        serde_saphyr::from_str(yaml).unwrap_or_else(|e| panic!("{e}\n{yaml}"))
    }

    #[test]
    fn overlay_has_every_value_of_a_multi_network_control_plane() {
        let overlay = parse(&render_overlay(&ControlPlaneValues::example()).unwrap());
        assert_eq!(
            overlay,
            json!({
                "apiVersion": "install.istio.io/v1alpha1",
                "kind": "IstioOperator",
                "metadata": {"annotations": {"meshform.dev/istio-version": "1.31.1"}},
                "spec": {
                    "profile": "default",
                    "meshConfig": {
                        "trustDomain": "cluster.local",
                        "defaultConfig": {"proxyMetadata": {
                            "ISTIO_META_DNS_CAPTURE": "true",
                            "ISTIO_META_DNS_AUTO_ALLOCATE": "true",
                        }},
                    },
                    "values": {
                        "global": {
                            "meshID": "mesh1",
                            "multiCluster": {"clusterName": "istio-cluster1"},
                            "network": "network-europe-west2",
                        },
                        "pilot": {"env": {"ISTIO_MULTIROOT_MESH": "true"}},
                    },
                },
            })
        );
    }

    #[test]
    fn overlay_of_the_tutorials_first_cluster() {
        let values = ControlPlaneValues {
            revision: Some("1-31-1".into()),
            ..ControlPlaneValues::example()
        };
        insta::assert_snapshot!(render_overlay(&values).unwrap());
    }

    #[test]
    fn revision_hub_and_tag_appear_only_when_set() {
        let values = ControlPlaneValues {
            revision: Some("1-31-1".into()),
            hub: Some("europe-docker.pkg.dev/p/istio".into()),
            tag: Some("1.31.1-distroless".into()),
            ..ControlPlaneValues::example()
        };
        let overlay = parse(&render_overlay(&values).unwrap());
        assert_eq!(overlay["spec"]["revision"], "1-31-1");
        assert_eq!(overlay["spec"]["hub"], "europe-docker.pkg.dev/p/istio");
        assert_eq!(overlay["spec"]["tag"], "1.31.1-distroless");
    }

    #[test]
    fn values_with_yaml_syntax_stay_strings() {
        let nasty = "a: b # \"quoted\" 'single' \\ {x} [y] & *z !t %\n---\n... \u{7}é";
        let values = ControlPlaneValues {
            revision: Some("true".into()),
            tag: Some("1.31".into()),
            mesh_id: nasty.into(),
            cluster_name: "- item".into(),
            network: "null".into(),
            trust_domain: "~".into(),
            ..ControlPlaneValues::example()
        };
        let overlay = parse(&render_overlay(&values).unwrap());
        assert_eq!(overlay["spec"]["revision"], "true");
        assert_eq!(overlay["spec"]["tag"], "1.31");
        assert_eq!(overlay["spec"]["values"]["global"]["meshID"], nasty);
        assert_eq!(
            overlay["spec"]["values"]["global"]["multiCluster"]["clusterName"],
            "- item"
        );
        assert_eq!(overlay["spec"]["values"]["global"]["network"], "null");
        assert_eq!(overlay["spec"]["meshConfig"]["trustDomain"], "~");
    }
}

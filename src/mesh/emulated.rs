//! The built-in, emulated stand-in for `istioctl manifest generate`, used
//! against the embedded emulator (no download, no istioctl).
//!
//! It renders a representative control plane of meshform's own making (not
//! Istio's charts), in the shape istioctl prints: one YAML stream, CRDs
//! first, then cluster-scoped RBAC, then the objects in `istio-system`,
//! then the webhook configurations. Files, one part each:
//!
//! - `overlay.rs`: reading the IstioOperator overlay; the release lines.
//! - `labels.rs`: the metadata every object carries.
//! - `crds.rs`: CustomResourceDefinitions of Istio's configuration kinds.
//! - `rbac.rs`: istiod's ServiceAccount, ClusterRole, Role and bindings.
//! - `config.rs`: the mesh config and injector ConfigMaps.
//! - `istiod.rs`: istiod's Deployment and Service.
//! - `webhooks.rs`: the injection and validation webhook configurations.
//! - `gateway.rs`: an `ingressGateways` component (the east-west gateway):
//!   its ServiceAccount, Role, RoleBinding, Deployment and Service.
//!
//! What istiod does once it runs (making its own CA when `cacerts` is
//! missing) is the emulated cluster's part: see
//! `emulator/kubeapi/controllers/`.

mod config;
mod crds;
mod gateway;
mod istiod;
mod labels;
mod overlay;
mod rbac;
mod webhooks;

#[cfg(test)]
mod tests;

/// The annotation of the overlay (and of every rendered object) that
/// carries the Istio version, e.g. `1.31.1`: istioctl knows its own version,
/// the stand-in is told it here.
pub const VERSION_ANNOTATION: &str = "meshform.dev/istio-version";

/// The label (value `"true"`) on every object the stand-in renders.
pub const EMULATED_LABEL: &str = "meshform.dev/emulated";

/// The release lines the stand-in renders.
pub const SUPPORTED_LINES: &[&str] = &["1.30", "1.31"];

/// The stand-in could not read the overlay.
#[derive(Debug, thiserror::Error)]
#[error("emulated istioctl: {0}")]
pub struct EmulatedError(pub String);

/// What `istioctl manifest generate -f OVERLAY` prints, emulated: a YAML
/// stream of a representative control plane for `overlay_yaml`.
///
/// The overlay is an `install.istio.io/v1alpha1` `IstioOperator`; the
/// stand-in reads `metadata.name`, `spec.revision`, `spec.hub`, `spec.tag`,
/// `spec.meshConfig.trustDomain`,
/// `spec.meshConfig.defaultConfig.proxyMetadata` and
/// `spec.values.global.{meshID, multiCluster.clusterName, network}`,
/// `spec.profile` (`empty`: no control plane) and
/// `spec.components.ingressGateways` (name, label, `k8s.env`,
/// `k8s.serviceAnnotations`, `k8s.service`), and ignores the rest.
///
/// **Contract with the overlay renderer**: istioctl knows its own version,
/// the stand-in does not, so the overlay must carry it as
/// `metadata.annotations["meshform.dev/istio-version"]` ([`VERSION_ANNOTATION`]),
/// e.g. `1.31.1`. Only the lines in [`SUPPORTED_LINES`] are rendered. The
/// version picks the object set of its line (1.30 renders one object more:
/// `istiod-default-validator`, so a move to 1.31 prunes it) and is the
/// default image tag, so a patch release changes istiod's image.
///
/// Every object is labelled `meshform.dev/emulated: "true"` and
/// `install.operator.istio.io/owning-resource` (the overlay's name, else
/// `unknown`), and annotated with the version. With a revision, istiod's
/// objects are named `istiod-<rev>`, `istio-<rev>` and so on. The output is
/// deterministic: the same overlay gives the same bytes.
///
/// # Errors
/// An overlay that is not YAML or not an IstioOperator, one without the
/// version annotation, a version outside the supported lines, a field of
/// the wrong type, or a revision that cannot be part of a name.
pub fn manifest_generate(overlay_yaml: &str) -> Result<String, EmulatedError> {
    let objects = render(&overlay::Overlay::parse(overlay_yaml)?)?;
    serde_saphyr::to_string_multiple(&objects)
        .map_err(|e| EmulatedError(format!("could not write the manifest: {e}")))
}

/// The objects of the control plane for `o`, in the order they are printed.
fn render(o: &overlay::Overlay) -> Result<Vec<serde_json::Value>, EmulatedError> {
    let mut objects = Vec::new();
    if o.has_control_plane() {
        objects.extend(crds::render(o));
        objects.extend(rbac::render(o));
        objects.extend(config::render(o)?);
        objects.extend(istiod::render(o));
        objects.extend(webhooks::render(o));
    }
    for g in &o.gateways {
        objects.extend(gateway::render(o, g));
    }
    Ok(objects)
}

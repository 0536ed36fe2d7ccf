//! The IstioOperator overlay as the stand-in reads it: the few fields it
//! renders from, checked, with Istio's defaults filled in.

use serde_json::{Map, Value};

use super::{EmulatedError, VERSION_ANNOTATION};

/// The namespace the control plane is rendered into.
pub const NAMESPACE: &str = "istio-system";

/// An Istio release line the stand-in renders.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Line {
    /// 1.30.x: also renders `istiod-default-validator`.
    V1_30,
    /// 1.31.x.
    V1_31,
}

impl Line {
    /// The line of `version` (`MAJOR.MINOR.PATCH`, optionally `-suffix`).
    fn of(version: &str) -> Result<Line, EmulatedError> {
        let core = version.split_once('-').map_or(version, |(c, _)| c);
        let parts: Vec<&str> = core.split('.').collect();
        let numeric = parts.len() == 3
            && parts
                .iter()
                .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
        if !numeric {
            return Err(EmulatedError(format!(
                "metadata.annotations[\"{VERSION_ANNOTATION}\"] is {version:?}, not an Istio version such as 1.31.1"
            )));
        }
        match (parts[0], parts[1]) {
            ("1", "30") => Ok(Line::V1_30),
            ("1", "31") => Ok(Line::V1_31),
            _ => Err(EmulatedError(format!(
                "Istio {version} is not supported: the emulated istioctl renders the lines 1.30 and 1.31 only; pin a 1.30.x or 1.31.x version"
            ))),
        }
    }
}

/// What the stand-in renders from: the overlay's values with Istio's
/// defaults (hub `docker.io/istio`, tag = version, trust domain
/// `cluster.local`, cluster name `Kubernetes`).
#[derive(Debug, Clone, PartialEq)]
pub struct Overlay {
    /// `metadata.name` of the IstioOperator, else `unknown` (the value of
    /// `install.operator.istio.io/owning-resource`).
    pub owner: String,
    /// The Istio version (from the version annotation).
    pub version: String,
    /// Its release line.
    pub line: Line,
    /// `spec.revision`, when set.
    pub revision: Option<String>,
    /// `spec.hub`, default `docker.io/istio`.
    pub hub: String,
    /// `spec.tag`, default the version.
    pub tag: String,
    /// `spec.meshConfig.trustDomain`, default `cluster.local`.
    pub trust_domain: String,
    /// `spec.meshConfig.defaultConfig.proxyMetadata` (string values).
    pub proxy_metadata: Map<String, Value>,
    /// `spec.values.global.meshID`, when set.
    pub mesh_id: Option<String>,
    /// `spec.values.global.multiCluster.clusterName`, default `Kubernetes`.
    pub cluster_name: String,
    /// `spec.values.global.network`, when set.
    pub network: Option<String>,
    /// `spec.profile`, default `default`; `empty` renders no control plane.
    pub profile: String,
    /// The enabled `spec.components.ingressGateways`, as written.
    pub gateways: Vec<Value>,
}

/// The string at `path` of `root`; `None` when absent or null.
fn string_at(root: &Value, path: &[&str]) -> Result<Option<String>, EmulatedError> {
    let value = path.iter().try_fold(root, |v, k| v.get(k));
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(EmulatedError(format!(
            "{} is {other}, not a string: quote it in the overlay",
            path.join(".")
        ))),
    }
}

impl Overlay {
    /// Reads `yaml`, an `install.istio.io/v1alpha1` `IstioOperator`.
    ///
    /// # Errors
    /// Not YAML, not an IstioOperator, no version annotation, a version
    /// outside the supported lines, a field of the wrong type, or a
    /// revision that is not an RFC 1123 label.
    pub fn parse(yaml: &str) -> Result<Overlay, EmulatedError> {
        let root: Value = serde_saphyr::from_str(yaml)
            .map_err(|e| EmulatedError(format!("the overlay is not YAML: {e}")))?;
        let api_version = string_at(&root, &["apiVersion"])?;
        let kind = string_at(&root, &["kind"])?;
        if api_version.as_deref() != Some("install.istio.io/v1alpha1")
            || kind.as_deref() != Some("IstioOperator")
        {
            return Err(EmulatedError(format!(
                "the overlay is {} {}, not an install.istio.io/v1alpha1 IstioOperator",
                api_version.as_deref().unwrap_or("(no apiVersion)"),
                kind.as_deref().unwrap_or("(no kind)"),
            )));
        }
        let version = string_at(&root, &["metadata", "annotations", VERSION_ANNOTATION])?
            .ok_or_else(|| {
                EmulatedError(format!(
                    "the overlay has no metadata.annotations[\"{VERSION_ANNOTATION}\"]: the stand-in needs the Istio version there"
                ))
            })?;
        let line = Line::of(&version)?;
        let revision = string_at(&root, &["spec", "revision"])?.filter(|r| !r.is_empty());
        if let Some(r) = &revision {
            if crate::plan::names::dns1123_label_problem(r).is_some() || r.len() > 50 {
                return Err(EmulatedError(format!(
                    "spec.revision {r:?} must be a lowercase RFC 1123 label of at most 50 characters (it becomes part of object names)"
                )));
            }
        }
        let global = ["spec", "values", "global"];
        let at = |tail: &[&str]| {
            let path: Vec<&str> = global.iter().chain(tail).copied().collect();
            string_at(&root, &path)
        };
        let proxy_metadata = match &root["spec"]["meshConfig"]["defaultConfig"]["proxyMetadata"] {
            Value::Null => Map::new(),
            Value::Object(m) if m.values().all(Value::is_string) => m.clone(),
            _ => {
                return Err(EmulatedError(
                    "spec.meshConfig.defaultConfig.proxyMetadata must map names to strings".into(),
                ))
            }
        };
        let gateways = match &root["spec"]["components"]["ingressGateways"] {
            Value::Null => Vec::new(),
            Value::Array(list) => list
                .iter()
                .filter(|g| g["enabled"] != Value::Bool(false))
                .cloned()
                .collect(),
            _ => {
                return Err(EmulatedError(
                    "spec.components.ingressGateways must be a list".into(),
                ))
            }
        };
        for g in &gateways {
            if !g["name"].is_string() {
                return Err(EmulatedError(
                    "every spec.components.ingressGateways entry needs a name".into(),
                ));
            }
        }
        Ok(Overlay {
            profile: string_at(&root, &["spec", "profile"])?
                .filter(|p| !p.is_empty())
                .unwrap_or_else(|| "default".into()),
            gateways,
            owner: string_at(&root, &["metadata", "name"])?
                .filter(|n| !n.is_empty())
                .unwrap_or_else(|| "unknown".into()),
            hub: string_at(&root, &["spec", "hub"])?
                .filter(|h| !h.is_empty())
                .unwrap_or_else(|| "docker.io/istio".into()),
            tag: string_at(&root, &["spec", "tag"])?
                .filter(|t| !t.is_empty())
                .unwrap_or_else(|| version.clone()),
            trust_domain: string_at(&root, &["spec", "meshConfig", "trustDomain"])?
                .filter(|t| !t.is_empty())
                .unwrap_or_else(|| "cluster.local".into()),
            proxy_metadata,
            mesh_id: at(&["meshID"])?.filter(|m| !m.is_empty()),
            cluster_name: at(&["multiCluster", "clusterName"])?
                .filter(|c| !c.is_empty())
                .unwrap_or_else(|| "Kubernetes".into()),
            network: at(&["network"])?.filter(|n| !n.is_empty()),
            version,
            line,
            revision,
        })
    }

    /// The value of the `istio.io/rev` label: the revision, or `default`.
    pub fn rev_label(&self) -> &str {
        self.revision.as_deref().unwrap_or("default")
    }

    /// `base`, or `base-<revision>` when a revision is set.
    pub fn suffixed(&self, base: &str) -> String {
        match &self.revision {
            Some(r) => format!("{base}-{r}"),
            None => base.to_string(),
        }
    }

    /// The name of istiod's Deployment, Service, ServiceAccount and Role.
    pub fn istiod(&self) -> String {
        self.suffixed("istiod")
    }

    /// Whether the profile installs a control plane (`empty` does not).
    pub fn has_control_plane(&self) -> bool {
        self.profile != "empty"
    }

    /// The image of istiod: `<hub>/pilot:<tag>`.
    pub fn pilot_image(&self) -> String {
        format!("{}/pilot:{}", self.hub, self.tag)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn overlay(version: &str, spec: &str) -> String {
        format!(
            "apiVersion: install.istio.io/v1alpha1\nkind: IstioOperator\nmetadata:\n  annotations:\n    {VERSION_ANNOTATION}: \"{version}\"\nspec:\n{spec}"
        )
    }

    #[test]
    fn defaults_fill_what_the_overlay_leaves_out() {
        let o = Overlay::parse(&overlay("1.31.1", "  profile: minimal\n")).unwrap();
        assert_eq!(o.line, Line::V1_31);
        assert_eq!(o.owner, "unknown");
        assert_eq!(o.pilot_image(), "docker.io/istio/pilot:1.31.1");
        assert_eq!(o.trust_domain, "cluster.local");
        assert_eq!(o.cluster_name, "Kubernetes");
        assert_eq!((&o.mesh_id, &o.network, &o.revision), (&None, &None, &None));
        assert_eq!(o.istiod(), "istiod");
        assert_eq!(o.rev_label(), "default");
    }

    #[test]
    fn versions_must_name_a_supported_line() {
        assert_eq!(
            Overlay::parse(&overlay("1.30.5", "  tag: x\n"))
                .unwrap()
                .line,
            Line::V1_30
        );
        assert!(Overlay::parse(&overlay("1.31.0-beta.1", "  tag: x\n")).is_ok());
        for bad in ["1.31", "latest", "1.31.x"] {
            let err = Overlay::parse(&overlay(bad, "  tag: x\n")).unwrap_err();
            assert!(err.0.contains("not an Istio version"), "{bad}: {err}");
        }
    }

    #[test]
    fn a_revision_must_be_a_label_and_fields_must_be_strings() {
        let err = Overlay::parse(&overlay("1.31.1", "  revision: Canary_1\n")).unwrap_err();
        assert!(err.0.contains("spec.revision"), "{err}");
        let err = Overlay::parse(&overlay("1.31.1", "  tag: 1.31\n")).unwrap_err();
        assert!(err.0.contains("spec.tag is 1.31, not a string"), "{err}");
        let err = Overlay::parse("apiVersion: v1\nkind: ConfigMap\n").unwrap_err();
        assert!(err
            .0
            .contains("not an install.istio.io/v1alpha1 IstioOperator"));
    }
}

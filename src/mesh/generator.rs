//! The generator of a control plane's Kubernetes objects: istioctl of the
//! pinned version, or the built-in emulated stand-in when running against
//! the embedded emulator. Both take the same IstioOperator overlay and their
//! output goes through the same YAML stream parser.

use std::path::Path;

use serde_json::Value;

use super::emulated::{self, EmulatedError};
use super::gateway::{render_gateway_overlay, GatewayValues};
use super::istioctl::{self, Istioctl, IstioctlError, Progress, Sources};
use super::manifest::{self, ManifestError};
use super::overlay::{render_overlay, OverlayError};
use super::ControlPlaneValues;

/// What renders the control plane's objects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Generator {
    /// `istioctl manifest generate` of this binary.
    Istioctl(Istioctl),
    /// The built-in stand-in ([`emulated::manifest_generate`]), standing in
    /// for istioctl `version`.
    Emulated {
        /// The Istio version it stands in for.
        version: String,
    },
}

/// The objects could not be generated.
#[derive(Debug, thiserror::Error)]
pub enum GeneratorError {
    /// The overlay could not be rendered.
    #[error(transparent)]
    Overlay(#[from] OverlayError),
    /// istioctl could not be found, downloaded or run.
    #[error(transparent)]
    Istioctl(#[from] IstioctlError),
    /// The emulated stand-in refused the overlay.
    #[error("{0}\n  help: this is a bug in meshform's emulated istioctl; please report it")]
    Emulated(#[from] EmulatedError),
    /// The generator's output is not a stream of Kubernetes objects.
    #[error("reading the output of {generator}: {source}")]
    Manifest {
        /// [`Generator::describe`].
        generator: String,
        /// Why.
        #[source]
        source: ManifestError,
    },
    /// The values are for another Istio version than the generator's.
    #[error("the control plane pins Istio {values}, but the generator is {generator}\n  help: this is a bug in meshform: the generator is located for the plan's version; please report it")]
    VersionMismatch {
        /// The version in the values.
        values: String,
        /// [`Generator::describe`].
        generator: String,
    },
}

impl Generator {
    /// The generator for Istio `version`: the emulated stand-in when running
    /// against the emulator (`emulator`) and no istioctl is given; otherwise
    /// an istioctl found as [`istioctl::locate()`] says, with the user's PATH,
    /// cache folder and `MESHFORM_ISTIO_RELEASES_URL` ([`Sources::from_env`]).
    ///
    /// # Errors
    /// See [`istioctl::locate()`].
    pub async fn locate(
        explicit: Option<&Path>,
        emulator: bool,
        version: &str,
        progress: Progress<'_>,
    ) -> Result<Generator, GeneratorError> {
        Self::locate_in(explicit, emulator, version, &Sources::from_env(), progress).await
    }

    /// [`Generator::locate`] with the places to look in given.
    ///
    /// # Errors
    /// See [`istioctl::locate()`].
    pub async fn locate_in(
        explicit: Option<&Path>,
        emulator: bool,
        version: &str,
        sources: &Sources,
        progress: Progress<'_>,
    ) -> Result<Generator, GeneratorError> {
        if emulator && explicit.is_none() {
            return Ok(Generator::Emulated {
                version: version.to_string(),
            });
        }
        let found = istioctl::locate(explicit, version, sources, progress).await?;
        Ok(Generator::Istioctl(found))
    }

    /// The Istio version it generates.
    pub fn version(&self) -> &str {
        match self {
            Generator::Istioctl(i) => &i.version,
            Generator::Emulated { version } => version,
        }
    }

    /// One line for plan output: `istioctl 1.31.1 (/path/to/istioctl)` or
    /// `emulated istioctl 1.31.1 (built-in stand-in, no download)`.
    pub fn describe(&self) -> String {
        match self {
            Generator::Istioctl(i) => format!("istioctl {} ({})", i.version, i.path.display()),
            Generator::Emulated { version } => {
                format!("emulated istioctl {version} (built-in stand-in, no download)")
            }
        }
    }

    /// The Kubernetes objects of the control plane `values` describes, in
    /// the generator's order: the overlay rendered, handed to istioctl (or
    /// the stand-in), and its YAML stream parsed.
    ///
    /// Cancellation: dropping the future kills a running istioctl.
    ///
    /// # Errors
    /// `values` pins another version than the generator's; istioctl fails;
    /// its output is not a stream of Kubernetes objects.
    pub async fn generate(
        &self,
        values: &ControlPlaneValues,
    ) -> Result<Vec<Value>, GeneratorError> {
        self.generate_from(&values.version, &render_overlay(values)?)
            .await
    }

    /// The Kubernetes objects of the east-west gateway `values` describes
    /// (its IstioOperator component, as `gen-eastwest-gateway.sh` makes it).
    ///
    /// # Errors
    /// As [`Generator::generate`].
    pub async fn generate_gateway(
        &self,
        values: &GatewayValues,
    ) -> Result<Vec<Value>, GeneratorError> {
        self.generate_from(&values.version, &render_gateway_overlay(values)?)
            .await
    }

    async fn generate_from(
        &self,
        version: &str,
        overlay: &str,
    ) -> Result<Vec<Value>, GeneratorError> {
        if !istioctl::version::same_version(version, self.version()) {
            return Err(GeneratorError::VersionMismatch {
                values: version.to_string(),
                generator: self.describe(),
            });
        }
        let stream = match self {
            Generator::Istioctl(i) => i.manifest_generate(overlay).await?,
            Generator::Emulated { .. } => emulated::manifest_generate(overlay)?,
        };
        manifest::parse_stream(&stream).map_err(|source| GeneratorError::Manifest {
            generator: self.describe(),
            source,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kube::ObjectRef;
    use crate::mesh::istioctl::fixture::{fake_istioctl, quiet};

    fn nowhere() -> Sources {
        Sources {
            search_path: None,
            releases_url: "http://127.0.0.1:9".into(),
            cache_dir: None,
        }
    }

    #[tokio::test]
    async fn emulator_without_istioctl_uses_the_stand_in() {
        let g = Generator::locate_in(None, true, "1.31.1", &nowhere(), &quiet)
            .await
            .unwrap();
        assert_eq!(
            g.describe(),
            "emulated istioctl 1.31.1 (built-in stand-in, no download)"
        );
        match g.generate(&ControlPlaneValues::example()).await {
            Ok(objects) => assert!(!objects.is_empty()),
            Err(e) => assert!(matches!(e, GeneratorError::Emulated(_)), "{e:?}"),
        }
    }

    #[tokio::test]
    async fn istioctl_given_with_the_emulator_is_used() {
        let dir = tempfile::tempdir().unwrap();
        let path = fake_istioctl(dir.path(), &[]);
        let g = Generator::locate_in(Some(&path), true, "1.31.1", &nowhere(), &quiet)
            .await
            .unwrap();
        assert_eq!(
            g.describe(),
            format!("istioctl 1.31.1 ({})", path.display())
        );
    }

    #[tokio::test]
    async fn istioctl_output_is_parsed_into_objects() {
        let dir = tempfile::tempdir().unwrap();
        let path = fake_istioctl(dir.path(), &[]);
        let g = Generator::locate_in(Some(&path), false, "1.31.1", &nowhere(), &quiet)
            .await
            .unwrap();
        let objects = g.generate(&ControlPlaneValues::example()).await.unwrap();
        let refs: Vec<String> = objects
            .iter()
            .map(|o| ObjectRef::of(o).unwrap().to_string())
            .collect();
        assert_eq!(
            refs,
            [
                "v1/ServiceAccount/istio-system/istio-reader-service-account",
                "v1/ConfigMap/istio-system/istio",
                "apps/v1/Deployment/istio-system/istiod",
            ]
        );
        let env = &objects[2]["spec"]["template"]["spec"]["containers"][0]["env"];
        assert_eq!(env[0]["value"], "istio-cluster1");
        assert_eq!(env[1]["value"], "network-europe-west2");
    }

    #[test]
    fn futures_can_run_on_any_thread() {
        fn send<T: Send>(_: T) {}
        let g = Generator::Emulated {
            version: "1.31.1".into(),
        };
        let values = ControlPlaneValues::example();
        send(g.generate(&values));
        send(Generator::locate(None, true, "1.31.1", &quiet));
    }

    #[tokio::test]
    async fn values_of_another_version_are_refused() {
        let g = Generator::Emulated {
            version: "1.31.1".into(),
        };
        let values = ControlPlaneValues {
            version: "1.30.5".into(),
            ..ControlPlaneValues::example()
        };
        let err = g.generate(&values).await.unwrap_err();
        assert!(
            matches!(err, GeneratorError::VersionMismatch { .. }),
            "{err:?}"
        );
    }
}

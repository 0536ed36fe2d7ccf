//! The mesh layer's own machinery (not resource kinds): the values of each
//! cluster's Istio control plane, the IstioOperator overlay rendered from
//! them, the generator that turns the overlay into Kubernetes objects
//! (`istioctl manifest generate` of the pinned version, or the built-in
//! emulated stand-in), and the parsing of its YAML stream.
//!
//! - [`values`]: what one control plane is rendered from;
//! - [`overlay`]: the IstioOperator overlay (tera template `templates/istio-operator.yaml`);
//! - [`gateway`]: the east-west gateway's values and overlay (`templates/eastwest-gateway.yaml`);
//! - [`istioctl`]: istioctl of the pinned version: found, downloaded (verified, cached), run;
//! - [`emulated`]: the built-in stand-in for `istioctl manifest generate`;
//! - [`manifest`]: a YAML stream read into objects; their references and digests;
//! - [`generator`]: values → overlay → istioctl or stand-in → objects.

pub mod ca;
pub mod emulated;
pub mod gateway;
pub mod generator;
pub mod istioctl;
pub mod manifest;
pub mod overlay;
pub mod values;

pub use gateway::GatewayValues;
pub use generator::{Generator, GeneratorError};
pub use values::ControlPlaneValues;

//! The mesh layer's own machinery (not resource kinds): the values of each
//! cluster's Istio control plane, the IstioOperator overlay rendered from
//! them, the generator that turns the overlay into Kubernetes objects
//! (`istioctl manifest generate` of the pinned version, or the built-in
//! emulated stand-in), and the parsing of its YAML stream.

pub mod ca;
pub mod emulated;
pub mod values;

pub use values::ControlPlaneValues;

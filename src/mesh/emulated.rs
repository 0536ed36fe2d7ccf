//! The built-in, emulated stand-in for `istioctl manifest generate`, used
//! against the embedded emulator (no download, no istioctl).

/// The stand-in could not read the overlay.
#[derive(Debug, thiserror::Error)]
#[error("emulated istioctl: {0}")]
pub struct EmulatedError(pub String);

/// What `istioctl manifest generate -f OVERLAY` prints, emulated: a YAML
/// stream of a representative control plane for `overlay_yaml`.
///
/// # Errors
/// An overlay that is not an IstioOperator.
pub fn manifest_generate(overlay_yaml: &str) -> Result<String, EmulatedError> {
    Err(EmulatedError(format!(
        "not written yet ({} bytes of overlay)",
        overlay_yaml.len()
    )))
}

//! istioctl of the pinned Istio version, which renders each cluster's control
//! plane (`istioctl manifest generate -f OVERLAY`, no cluster contacted).
//!
//! - [`version`]: reading `istioctl version --remote=false` (pure);
//! - [`run`]: running a binary: its version, `manifest generate`;
//! - [`release`]: Istio's release files, checksum, verified download and cache;
//! - [`mod@locate`]: the order in which an istioctl is looked for.

mod error;
pub mod locate;
pub mod release;
pub mod run;
pub mod version;

#[cfg(test)]
pub(crate) mod fixture;
#[cfg(test)]
mod tests;

pub use error::IstioctlError;
pub use locate::{locate, Sources};
pub use run::Istioctl;

/// Where messages for the user go while istioctl is being found (a
/// download starting, its verification): the caller's printer.
pub type Progress<'a> = &'a (dyn Fn(&str) + Send + Sync);

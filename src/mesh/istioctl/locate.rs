//! Finding an istioctl of the pinned version: the one given with
//! `--istioctl`, else `istioctl` on PATH if its version matches, else the
//! cached download, else Istio's release (downloaded, verified, cached).

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use super::release::{self, RELEASES_URL, RELEASES_URL_ENV};
use super::version::same_version;
use super::{Istioctl, IstioctlError, Progress};

/// Where istioctl is looked for, downloaded from and cached. Tests build
/// their own, so they never touch the real PATH, network or home.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sources {
    /// The PATH searched for `istioctl` (`None`: none is searched).
    pub search_path: Option<OsString>,
    /// The base URL of Istio's release downloads.
    pub releases_url: String,
    /// The folder holding `<version>/istioctl` (`None`: no cache, so no
    /// download either).
    pub cache_dir: Option<PathBuf>,
}

impl Sources {
    /// The user's: `PATH`, [`RELEASES_URL`] unless
    /// `MESHFORM_ISTIO_RELEASES_URL` is set, and
    /// `<user cache dir>/meshform/istioctl` (e.g. `~/.cache/meshform/istioctl`).
    pub fn from_env() -> Sources {
        Sources {
            search_path: std::env::var_os("PATH"),
            releases_url: std::env::var(RELEASES_URL_ENV)
                .ok()
                .filter(|u| !u.is_empty())
                .unwrap_or_else(|| RELEASES_URL.to_string()),
            cache_dir: dirs::cache_dir().map(|d| d.join("meshform").join("istioctl")),
        }
    }
}

/// An istioctl of `version`, found in this order:
///
/// 1. `explicit` (`--istioctl PATH`): it must report `version`, or it is
///    refused;
/// 2. the first `istioctl` on the search path, if it reports `version`
///    (otherwise it is passed over, with a log line saying why);
/// 3. the cached download `<cache>/<version>/istioctl`;
/// 4. Istio's release for this platform, verified against its published
///    SHA-256 and cached (see [`release::download`]).
///
/// `progress` receives what the user should see (a download starting, and
/// its verification).
///
/// # Errors
/// An explicit istioctl of another version, or that cannot be run; an
/// invalid version; no cache folder; any download or verification failure.
#[tracing::instrument(level = "debug", skip(sources, progress))]
pub async fn locate(
    explicit: Option<&Path>,
    version: &str,
    sources: &Sources,
    progress: Progress<'_>,
) -> Result<Istioctl, IstioctlError> {
    if let Some(path) = explicit {
        let found = Istioctl::probe(path).await?;
        return if same_version(&found.version, version) {
            Ok(found)
        } else {
            Err(IstioctlError::WrongVersion {
                path: path.to_path_buf(),
                found: found.version,
                wanted: version.to_string(),
            })
        };
    }
    release::check_version(version)?;

    if let Some(path) = sources.search_path.as_deref().and_then(on_path) {
        match Istioctl::probe(&path).await {
            Ok(found) if same_version(&found.version, version) => return Ok(found),
            Ok(found) => tracing::info!(
                path = %path.display(),
                found = %found.version,
                wanted = version,
                "istioctl on PATH is of another version; not using it"
            ),
            Err(e) => tracing::info!(
                path = %path.display(),
                error = %e,
                "istioctl on PATH cannot be run; not using it"
            ),
        }
    }

    let cache_dir = sources
        .cache_dir
        .as_deref()
        .ok_or(IstioctlError::NoCacheDir)?;
    let cached = release::cached_binary(cache_dir, version);
    if cached.is_file() {
        match Istioctl::probe(&cached).await {
            Ok(found) if same_version(&found.version, version) => return Ok(found),
            Ok(found) => tracing::warn!(
                path = %cached.display(),
                found = %found.version,
                "cached istioctl reports another version; downloading it again"
            ),
            Err(e) => tracing::warn!(
                path = %cached.display(),
                error = %e,
                "cached istioctl cannot be run; downloading it again"
            ),
        }
    }

    let platform = release::this_platform()?;
    release::download(
        &sources.releases_url,
        version,
        platform,
        cache_dir,
        progress,
    )
    .await
}

/// The first executable file named `istioctl` in the folders of `path`.
fn on_path(path: &std::ffi::OsStr) -> Option<PathBuf> {
    std::env::split_paths(path)
        .filter(|dir| !dir.as_os_str().is_empty())
        .map(|dir| dir.join("istioctl"))
        .find(|candidate| is_executable(candidate))
}

#[cfg(unix)]
fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(not(unix))]
fn is_executable(path: &Path) -> bool {
    path.is_file()
}

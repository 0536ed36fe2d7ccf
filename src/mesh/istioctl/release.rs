//! Istio's official istioctl release: its file names, its published
//! checksum, and the verified download into meshform's cache.
//!
//! Istio publishes, for each version (istio/istio `release/downloadIstioCtl.sh`;
//! istio/release-builder `pkg/build/archive.go`):
//!
//! - `<base>/<ver>/istioctl-<ver>-<platform>.tar.gz`, a gzipped tar holding
//!   one file, `istioctl`; platforms `linux-amd64`, `linux-arm64`,
//!   `linux-armv7`, `osx` (Intel) and `osx-arm64`;
//! - beside it `….tar.gz.sha256`: the hex SHA-256 and the file name,
//!   `<hex> <name>` (release-builder writes one space; `sha256sum`'s two
//!   spaces or `*name` are read too).
//!
//! The archive is used only when it matches that checksum; it is then
//! unpacked to `<cache>/<ver>/istioctl` (0755) through a temporary file and a
//! rename, so a crash never leaves half a binary, and nothing is cached when
//! anything is wrong.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;

use sha2::{Digest, Sha256};

use super::{Istioctl, IstioctlError, Progress};

/// Where Istio's releases are downloaded from.
pub const RELEASES_URL: &str = "https://github.com/istio/istio/releases/download";

/// The environment variable that replaces [`RELEASES_URL`] (a mirror, or a
/// test's loopback server).
pub const RELEASES_URL_ENV: &str = "MESHFORM_ISTIO_RELEASES_URL";

/// No istioctl archive comes near this (they are about 30 MB).
const MAX_ARCHIVE_BYTES: u64 = 512 * 1024 * 1024;

/// A `.sha256` file is one line.
const MAX_CHECKSUM_BYTES: u64 = 4096;

/// No istioctl binary comes near this (they are about 100 MB).
const MAX_BINARY_BYTES: u64 = 1024 * 1024 * 1024;

/// Refuses versions that could not safely be part of a URL or a path:
/// only ASCII letters, digits, `.`, `-`, `_` and `+`, starting with a digit
/// or a letter.
///
/// # Errors
/// [`IstioctlError::InvalidVersion`].
pub fn check_version(version: &str) -> Result<(), IstioctlError> {
    let ok = version
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric())
        && version
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || ".-_+".contains(c));
    if ok {
        Ok(())
    } else {
        Err(IstioctlError::InvalidVersion(version.to_string()))
    }
}

/// Istio's name for a platform (`std::env::consts::OS` and `ARCH`), as
/// `downloadIstioCtl.sh` chooses it; `None` where Istio publishes none.
pub fn platform(os: &str, arch: &str) -> Option<&'static str> {
    match (os, arch) {
        ("linux", "x86_64") => Some("linux-amd64"),
        ("linux", "aarch64") => Some("linux-arm64"),
        ("linux", "arm") => Some("linux-armv7"),
        ("macos", "x86_64") => Some("osx"),
        ("macos", "aarch64") => Some("osx-arm64"),
        _ => None,
    }
}

/// Istio's name for this machine.
///
/// # Errors
/// [`IstioctlError::UnsupportedPlatform`].
pub fn this_platform() -> Result<&'static str, IstioctlError> {
    let (os, arch) = (std::env::consts::OS, std::env::consts::ARCH);
    platform(os, arch).ok_or_else(|| IstioctlError::UnsupportedPlatform {
        os: os.to_string(),
        arch: arch.to_string(),
    })
}

/// `istioctl-<ver>-<platform>.tar.gz`.
pub fn archive_name(version: &str, platform: &str) -> String {
    format!("istioctl-{version}-{platform}.tar.gz")
}

/// The archive's URL under `releases_url` (no trailing `/` needed).
pub fn archive_url(releases_url: &str, version: &str, platform: &str) -> String {
    format!(
        "{}/{version}/{}",
        releases_url.trim_end_matches('/'),
        archive_name(version, platform)
    )
}

/// Where the istioctl of `version` is cached under `cache_dir`.
pub fn cached_binary(cache_dir: &Path, version: &str) -> PathBuf {
    cache_dir.join(version).join("istioctl")
}

/// The SHA-256 a `.sha256` file publishes for `archive`: its first word,
/// 64 hex digits, followed (if at all) by `archive`'s name.
///
/// # Errors
/// Why the file cannot be used, in words.
pub fn parse_checksum(text: &str, archive: &str) -> Result<[u8; 32], String> {
    let mut words = text.split_whitespace();
    let Some(hex) = words.next() else {
        return Err("the file is empty".into());
    };
    let hash = decode_hex(hex)
        .ok_or_else(|| format!("{hex:?} is not a SHA-256 in hex (64 hex digits)"))?;
    if let Some(name) = words.next() {
        let name = name.trim_start_matches('*');
        let name = name.rsplit('/').next().unwrap_or(name);
        if name != archive {
            return Err(format!("it is the checksum of {name}, not of {archive}"));
        }
    }
    Ok(hash)
}

fn decode_hex(hex: &str) -> Option<[u8; 32]> {
    if hex.len() != 64 || !hex.is_ascii() {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(out)
}

fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Downloads Istio's istioctl `version` for `platform` from `releases_url`,
/// verifies it against its published `.sha256`, and caches it at
/// [`cached_binary`]. The cached binary must then report `version`.
///
/// Idempotent: a second download replaces the cached file atomically.
/// Cancellation: dropping the future leaves at most a temporary file, never
/// a half-written `istioctl`.
///
/// # Errors
/// A network error or error status; no usable `.sha256` or a mismatch
/// (nothing is cached); an archive without `istioctl`; the cache cannot be
/// written; the binary reports another version (it is removed).
#[tracing::instrument(level = "debug", skip(cache_dir, progress))]
pub async fn download(
    releases_url: &str,
    version: &str,
    platform: &str,
    cache_dir: &Path,
    progress: Progress<'_>,
) -> Result<Istioctl, IstioctlError> {
    check_version(version)?;
    let url = archive_url(releases_url, version, platform);
    let checksum_url = format!("{url}.sha256");
    let client = reqwest::Client::builder()
        .user_agent(concat!("meshform/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(Duration::from_secs(30))
        .read_timeout(Duration::from_secs(60))
        .build()
        .map_err(|source| IstioctlError::Download {
            url: url.clone(),
            source,
        })?;

    let checksum_text = match fetch(&client, &checksum_url, MAX_CHECKSUM_BYTES).await? {
        Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        Err(status) => {
            return Err(IstioctlError::ChecksumMissing {
                url: checksum_url,
                reason: format!(
                    "the server answered {status} (is {version} an Istio release with an istioctl for {platform}?)"
                ),
            })
        }
    };
    let archive = archive_name(version, platform);
    let expected = parse_checksum(&checksum_text, &archive).map_err(|reason| {
        IstioctlError::ChecksumMissing {
            url: checksum_url.clone(),
            reason,
        }
    })?;

    progress(&format!("downloading istioctl {version} from {url}"));
    let bytes = match fetch(&client, &url, MAX_ARCHIVE_BYTES).await? {
        Ok(bytes) => bytes,
        Err(status) => {
            return Err(IstioctlError::HttpStatus {
                url,
                version: version.to_string(),
                status,
            })
        }
    };
    let actual: [u8; 32] = Sha256::digest(&bytes).into();
    if actual != expected {
        return Err(IstioctlError::ChecksumMismatch {
            url,
            expected: to_hex(&expected),
            actual: to_hex(&actual),
        });
    }

    let dir = cache_dir.join(version);
    let installed = {
        let (dir, url) = (dir.clone(), url.clone());
        tokio::task::spawn_blocking(move || install(&bytes, &dir, &url))
            .await
            .expect("the unpacking task does not panic")?
    };
    let istioctl = match Istioctl::probe(&installed).await {
        Ok(found) if super::version::same_version(&found.version, version) => found,
        Ok(found) => {
            let _ = std::fs::remove_file(&installed);
            return Err(IstioctlError::DownloadedWrongVersion {
                url,
                found: found.version,
                wanted: version.to_string(),
            });
        }
        Err(e) => {
            let _ = std::fs::remove_file(&installed);
            return Err(e);
        }
    };
    progress(&format!(
        "istioctl {version}: sha256 {} verified, cached at {}",
        to_hex(&actual),
        installed.display()
    ));
    Ok(istioctl)
}

/// GETs `url`, at most `limit` bytes: the body, or the error status.
async fn fetch(
    client: &reqwest::Client,
    url: &str,
    limit: u64,
) -> Result<Result<Vec<u8>, reqwest::StatusCode>, IstioctlError> {
    let failed = |source| IstioctlError::Download {
        url: url.to_string(),
        source,
    };
    let mut response = client.get(url).send().await.map_err(failed)?;
    let status = response.status();
    if !status.is_success() {
        return Ok(Err(status));
    }
    let too_large = || IstioctlError::TooLarge {
        url: url.to_string(),
        limit,
    };
    if response.content_length().is_some_and(|n| n > limit) {
        return Err(too_large());
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(failed)? {
        if (body.len() + chunk.len()) as u64 > limit {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Ok(body))
}

/// Unpacks the `istioctl` of a verified archive to `dir/istioctl`, 0755,
/// through a temporary file in `dir` that is synced and renamed.
fn install(archive: &[u8], dir: &Path, url: &str) -> Result<PathBuf, IstioctlError> {
    let bad = |reason: String| IstioctlError::Archive {
        url: url.to_string(),
        reason,
    };
    let write = |path: &Path| {
        let path = path.to_path_buf();
        move |source| IstioctlError::Write { path, source }
    };
    let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(archive));
    let entries = tar.entries().map_err(|e| bad(e.to_string()))?;
    for entry in entries {
        let entry = entry.map_err(|e| bad(e.to_string()))?;
        let is_file = matches!(
            entry.header().entry_type(),
            tar::EntryType::Regular | tar::EntryType::Continuous
        );
        let path = entry.path().map_err(|e| bad(e.to_string()))?;
        if !is_file || path.file_name().and_then(|n| n.to_str()) != Some("istioctl") {
            continue;
        }
        let size = entry.size();
        if size > MAX_BINARY_BYTES {
            return Err(bad(format!("its istioctl is {size} bytes")));
        }
        let mut binary = Vec::with_capacity(size as usize);
        entry
            .take(MAX_BINARY_BYTES)
            .read_to_end(&mut binary)
            .map_err(|e| bad(e.to_string()))?;

        std::fs::create_dir_all(dir).map_err(write(dir))?;
        let mut tmp = tempfile::Builder::new()
            .prefix(".istioctl-")
            .tempfile_in(dir)
            .map_err(write(dir))?;
        std::io::Write::write_all(&mut tmp, &binary).map_err(write(tmp.path()))?;
        set_executable(tmp.as_file()).map_err(write(tmp.path()))?;
        tmp.as_file().sync_all().map_err(write(tmp.path()))?;
        let target = dir.join("istioctl");
        tmp.persist(&target).map_err(|e| IstioctlError::Write {
            path: target.clone(),
            source: e.error,
        })?;
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
        return Ok(target);
    }
    Err(bad("it has no file named istioctl".into()))
}

#[cfg(unix)]
fn set_executable(file: &std::fs::File) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    file.set_permissions(std::fs::Permissions::from_mode(0o755))
}

#[cfg(not(unix))]
fn set_executable(_file: &std::fs::File) -> std::io::Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEX: &str = "392ac51d42400d92eafdca631906a329d5d2caf319ce79c34a83e35ad7611a0e";

    #[test]
    fn names_follow_istios_release_layout() {
        assert_eq!(platform("linux", "x86_64"), Some("linux-amd64"));
        assert_eq!(platform("linux", "aarch64"), Some("linux-arm64"));
        assert_eq!(platform("macos", "x86_64"), Some("osx"));
        assert_eq!(platform("macos", "aarch64"), Some("osx-arm64"));
        assert_eq!(platform("windows", "x86_64"), None);
        assert_eq!(
            archive_url(RELEASES_URL, "1.31.1", "linux-amd64"),
            "https://github.com/istio/istio/releases/download/1.31.1/istioctl-1.31.1-linux-amd64.tar.gz"
        );
        assert_eq!(
            archive_url("http://127.0.0.1:9/", "1.31.1", "osx"),
            "http://127.0.0.1:9/1.31.1/istioctl-1.31.1-osx.tar.gz"
        );
        assert_eq!(
            cached_binary(Path::new("/c/meshform/istioctl"), "1.31.1"),
            Path::new("/c/meshform/istioctl/1.31.1/istioctl")
        );
    }

    #[test]
    fn versions_that_could_escape_a_path_are_refused() {
        assert!(check_version("1.31.1").is_ok());
        assert!(check_version("1.31.0-beta.1").is_ok());
        for bad in ["", "../1.31.1", "1.31/..", ".1", "1 31", "1.31.1?x"] {
            assert!(check_version(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn checksum_file_in_its_published_forms() {
        let name = "istioctl-1.31.1-linux-amd64.tar.gz";
        let want = decode_hex(HEX).unwrap();
        for text in [
            format!("{HEX} {name}\n"),
            format!("{HEX}  {name}\n"),
            format!("{HEX} *{name}"),
            format!("{HEX} ./out/{name}"),
            format!("{}\n", HEX.to_uppercase()),
        ] {
            assert_eq!(parse_checksum(&text, name), Ok(want), "{text}");
        }
    }

    #[test]
    fn unusable_checksum_files_say_why() {
        let name = "istioctl-1.31.1-linux-amd64.tar.gz";
        assert_eq!(parse_checksum(" \n", name), Err("the file is empty".into()));
        assert!(parse_checksum("<html>Not Found</html>", name)
            .unwrap_err()
            .contains("not a SHA-256"));
        assert!(
            parse_checksum(&format!("{HEX} istioctl-1.31.1-osx.tar.gz"), name)
                .unwrap_err()
                .contains("not of istioctl-1.31.1-linux-amd64.tar.gz")
        );
        assert!(parse_checksum(&HEX[..63], name).is_err());
    }
}

//! What can go wrong finding, downloading or running istioctl.

use std::path::PathBuf;

/// istioctl could not be found, downloaded or run.
#[derive(Debug, thiserror::Error)]
pub enum IstioctlError {
    /// The version asked for cannot name a release (it would not be safe in a
    /// URL or a path).
    #[error("{0:?} is not an Istio version\n  help: pin a release version such as 1.31.1")]
    InvalidVersion(String),
    /// The istioctl given with `--istioctl` is of another version.
    #[error("{path} is istioctl {found}, but the plan pins Istio {wanted}\n  help: pass an istioctl {wanted} with --istioctl, or leave --istioctl out to use Istio's {wanted} release (downloaded, verified and cached)")]
    WrongVersion {
        /// The binary.
        path: PathBuf,
        /// The version it reports.
        found: String,
        /// The pinned version.
        wanted: String,
    },
    /// A program could not be started.
    #[error("cannot run `{command}`: {source}\n  help: check that {program} exists and is an executable istioctl", program = path.display())]
    Spawn {
        /// The binary.
        path: PathBuf,
        /// The command line.
        command: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// istioctl ran and failed.
    #[error("`{command}` failed ({status})\n{stderr}\n  help: the lines above are the end of istioctl's stderr; run the command by hand to see all of it{kept}", kept = overlay.as_ref().map(|p| format!(" (the overlay is kept at {} for that)", p.display())).unwrap_or_default())]
    Failed {
        /// The command line.
        command: String,
        /// How it exited.
        status: std::process::ExitStatus,
        /// The last lines istioctl wrote to stderr, indented.
        stderr: String,
        /// The overlay file it was given, kept so the command can be rerun.
        overlay: Option<PathBuf>,
    },
    /// `istioctl version` printed nothing that names a client version.
    #[error("`{command}` printed no client version: {output:?}\n  help: check that {program} is istioctl", program = path.display())]
    VersionUnreadable {
        /// The binary.
        path: PathBuf,
        /// The command line.
        command: String,
        /// The start of what it printed.
        output: String,
    },
    /// Istio publishes no istioctl for this machine.
    #[error("Istio publishes no istioctl for {os}/{arch}\n  help: build or find an istioctl of the pinned version and pass it with --istioctl")]
    UnsupportedPlatform {
        /// `std::env::consts::OS`.
        os: String,
        /// `std::env::consts::ARCH`.
        arch: String,
    },
    /// No cache folder is known for this user.
    #[error("no cache folder for the istioctl download (no home directory?)\n  help: set XDG_CACHE_HOME or HOME, or pass an istioctl with --istioctl")]
    NoCacheDir,
    /// A download failed on the way.
    #[error("downloading {url}: {source}\n  help: check the network (and HTTPS_PROXY), or download istioctl yourself and pass it with --istioctl")]
    Download {
        /// What was being downloaded.
        url: String,
        /// Why.
        #[source]
        source: reqwest::Error,
    },
    /// The server answered a download with an error status.
    #[error("downloading {url}: the server answered {status}\n  help: check that Istio {version} exists (https://github.com/istio/istio/releases), or pass an istioctl with --istioctl")]
    HttpStatus {
        /// What was being downloaded.
        url: String,
        /// The pinned version.
        version: String,
        /// The answer.
        status: reqwest::StatusCode,
    },
    /// The download is larger than any istioctl archive.
    #[error("downloading {url}: more than {limit} bytes, far more than an istioctl archive\n  help: check {env}, or pass an istioctl with --istioctl", env = super::release::RELEASES_URL_ENV)]
    TooLarge {
        /// What was being downloaded.
        url: String,
        /// The limit in bytes.
        limit: u64,
    },
    /// The release's `.sha256` file is missing or unusable: nothing is run
    /// or cached without a checksum.
    #[error("no usable checksum at {url}: {reason}; istioctl was not installed\n  help: an istioctl download is only used when its published .sha256 matches; download and check it yourself and pass it with --istioctl")]
    ChecksumMissing {
        /// The `.sha256` file.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The archive does not match its published checksum: nothing is cached.
    #[error("{url} does not match its published checksum (expected sha256 {expected}, got {actual}); istioctl was not installed\n  help: run the same command again; if it persists, the download is being tampered with or corrupted on the way")]
    ChecksumMismatch {
        /// The archive.
        url: String,
        /// The published sha256 (hex).
        expected: String,
        /// The downloaded archive's sha256 (hex).
        actual: String,
    },
    /// The verified archive could not be read, or holds no `istioctl`.
    #[error("{url} holds no readable istioctl: {reason}\n  help: download the release yourself and pass its istioctl with --istioctl")]
    Archive {
        /// The archive.
        url: String,
        /// What is wrong.
        reason: String,
    },
    /// The downloaded istioctl reports another version than its release.
    #[error("the istioctl downloaded from {url} reports version {found}, not {wanted}; it was not kept\n  help: check {env}, or pass an istioctl {wanted} with --istioctl", env = super::release::RELEASES_URL_ENV)]
    DownloadedWrongVersion {
        /// The archive.
        url: String,
        /// The version it reports.
        found: String,
        /// The pinned version.
        wanted: String,
    },
    /// A file of the cache or a temporary file could not be written.
    #[error("writing {path}: {source}\n  help: check the permissions and free space of {path}", path = path.display())]
    Write {
        /// The file or folder.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

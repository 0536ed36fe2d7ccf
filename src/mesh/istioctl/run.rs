//! Running an istioctl binary: reading its client version, and
//! `istioctl manifest generate -f OVERLAY`.

use std::ffi::OsStr;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use tokio::process::Command;

use super::version::{parse_client_version, VERSION_ARGS};
use super::IstioctlError;

/// How many of istioctl's last stderr lines an error shows.
const STDERR_LINES: usize = 20;

/// An istioctl binary and the client version it reported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Istioctl {
    /// The binary.
    pub path: PathBuf,
    /// Its client version, as `istioctl version` reported it.
    pub version: String,
}

impl Istioctl {
    /// Reads the client version of the istioctl at `path` with
    /// `istioctl version --remote=false -o json` (no cluster is contacted).
    ///
    /// # Errors
    /// It cannot be started, fails, or prints no client version.
    pub async fn probe(path: &Path) -> Result<Istioctl, IstioctlError> {
        let args: Vec<&OsStr> = VERSION_ARGS.iter().map(OsStr::new).collect();
        let output = run(path, &args).await?;
        let stdout = String::from_utf8_lossy(&output.stdout);
        match parse_client_version(&stdout) {
            Some(version) => Ok(Istioctl {
                path: path.to_path_buf(),
                version,
            }),
            None => Err(IstioctlError::VersionUnreadable {
                path: path.to_path_buf(),
                command: command_line(path, &args),
                output: stdout.chars().take(200).collect(),
            }),
        }
    }

    /// `istioctl manifest generate -f OVERLAY`: the YAML stream of the
    /// control plane the IstioOperator `overlay` describes. The overlay is
    /// written to a private temporary file (0600), removed afterwards
    /// unless istioctl fails. No
    /// cluster is contacted (`--cluster-specific` is off by default).
    ///
    /// Cancellation: dropping the future kills istioctl.
    ///
    /// # Errors
    /// The overlay cannot be written; istioctl cannot be started or exits
    /// non-zero (the error holds the command line and its last stderr lines;
    /// the overlay file is then kept, so the command can be rerun by hand).
    pub async fn manifest_generate(&self, overlay: &str) -> Result<String, IstioctlError> {
        let file = overlay_file(overlay)?;
        let args = [
            OsStr::new("manifest"),
            OsStr::new("generate"),
            OsStr::new("-f"),
            file.path().as_os_str(),
        ];
        match run(&self.path, &args).await {
            Ok(output) => Ok(String::from_utf8_lossy(&output.stdout).into_owned()),
            Err(IstioctlError::Failed {
                command,
                status,
                stderr,
                overlay: _,
            }) => Err(IstioctlError::Failed {
                command,
                status,
                stderr,
                overlay: file.keep().ok().map(|(_, path)| path),
            }),
            Err(e) => Err(e),
        }
    }
}

/// `overlay` in a new private temporary file.
fn overlay_file(overlay: &str) -> Result<tempfile::NamedTempFile, IstioctlError> {
    let write_err = |source| IstioctlError::Write {
        path: std::env::temp_dir(),
        source,
    };
    let mut file = tempfile::Builder::new()
        .prefix("meshform-istio-operator-")
        .suffix(".yaml")
        .tempfile()
        .map_err(write_err)?;
    file.write_all(overlay.as_bytes()).map_err(write_err)?;
    file.flush().map_err(write_err)?;
    Ok(file)
}

/// Runs `path args…` to completion, stdin closed; the output when it exits 0.
async fn run(path: &Path, args: &[&OsStr]) -> Result<Output, IstioctlError> {
    let command = command_line(path, args);
    tracing::debug!(%command, "running istioctl");
    let output = spawn_with_retry(path, args)
        .await
        .map_err(|source| IstioctlError::Spawn {
            path: path.to_path_buf(),
            command: command.clone(),
            source,
        })?;
    if output.status.success() {
        Ok(output)
    } else {
        Err(IstioctlError::Failed {
            command,
            status: output.status,
            stderr: stderr_tail(&String::from_utf8_lossy(&output.stderr)),
            overlay: None,
        })
    }
}

/// Starts and waits for the process. A binary written a moment ago may be
/// refused with "text file busy" while another thread's fork still holds
/// its write handle: that is retried a few times.
async fn spawn_with_retry(path: &Path, args: &[&OsStr]) -> std::io::Result<Output> {
    let mut attempt = 0;
    loop {
        let result = Command::new(path)
            .args(args)
            .stdin(std::process::Stdio::null())
            .kill_on_drop(true)
            .output()
            .await;
        match result {
            Err(e) if e.kind() == std::io::ErrorKind::ExecutableFileBusy && attempt < 10 => {
                attempt += 1;
                tokio::time::sleep(Duration::from_millis(20 * attempt)).await;
            }
            other => return other,
        }
    }
}

/// The command as a shell would take it: arguments with spaces or quotes
/// single-quoted.
pub(super) fn command_line(path: &Path, args: &[&OsStr]) -> String {
    std::iter::once(path.as_os_str())
        .chain(args.iter().copied())
        .map(|a| {
            let a = a.to_string_lossy();
            let plain = !a.is_empty()
                && a.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_./=:,@+%".contains(c));
            if plain {
                a.into_owned()
            } else {
                format!("'{}'", a.replace('\'', r"'\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The last [`STDERR_LINES`] lines of `stderr`, indented, with a line saying
/// how many were left out.
fn stderr_tail(stderr: &str) -> String {
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    if lines.is_empty() {
        return "    (nothing on stderr)".to_string();
    }
    let skip = lines.len().saturating_sub(STDERR_LINES);
    let mut out = Vec::new();
    if skip > 0 {
        out.push(format!("    … {skip} earlier lines of stderr left out"));
    }
    out.extend(lines[skip..].iter().map(|l| format!("    {l}")));
    out.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_line_quotes_what_a_shell_would_split() {
        let args = [OsStr::new("-f"), OsStr::new("/tmp/a b/it's.yaml")];
        assert_eq!(
            command_line(Path::new("/usr/bin/istioctl"), &args),
            r"/usr/bin/istioctl -f '/tmp/a b/it'\''s.yaml'"
        );
    }

    #[test]
    fn stderr_keeps_the_last_lines() {
        let stderr: String = (1..=25).map(|i| format!("line {i}\n")).collect();
        let tail = stderr_tail(&stderr);
        assert!(tail.starts_with("    … 5 earlier lines"), "{tail}");
        assert!(tail.ends_with("    line 25"), "{tail}");
        assert!(!tail.contains("line 5\n"), "{tail}");
        assert_eq!(stderr_tail(""), "    (nothing on stderr)");
    }
}

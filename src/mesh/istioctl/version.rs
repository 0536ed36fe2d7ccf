//! What `istioctl version --remote=false` prints, read without a cluster.
//!
//! istioctl's `version` command (istio/istio `pkg/version/cobra.go`,
//! `istioctl/pkg/version/version.go`) prints, with `--remote=false`:
//!
//! - `-o json`: `{"clientVersion": {"version": "1.31.1", "revision": …,
//!   "golang_version": …, "status": …, "tag": …}}` (indented);
//! - `--short` (istioctl's default): `client version: 1.31.1`;
//! - `--short=false`: `client version: version.BuildInfo{Version:"1.31.1", …}`.
//!
//! meshform asks for JSON and reads any of the three.

/// The arguments that make istioctl print its client version as JSON
/// without contacting a cluster.
pub const VERSION_ARGS: [&str; 4] = ["version", "--remote=false", "-o", "json"];

/// The client version in `output` of `istioctl version --remote=false`, in
/// any of its forms; `None` when there is none.
pub fn parse_client_version(output: &str) -> Option<String> {
    from_json(output).or_else(|| from_text(output))
}

fn from_json(output: &str) -> Option<String> {
    let start = output.find('{')?;
    let mut stream =
        serde_json::Deserializer::from_str(&output[start..]).into_iter::<serde_json::Value>();
    let value = stream.next()?.ok()?;
    let version = value["clientVersion"]["version"].as_str()?.trim();
    (!version.is_empty()).then(|| version.to_string())
}

fn from_text(output: &str) -> Option<String> {
    output.lines().find_map(|line| {
        let rest = line.trim().strip_prefix("client version:")?.trim();
        let version = match rest.strip_prefix("version.BuildInfo{Version:\"") {
            Some(long) => long.split('"').next()?,
            None => rest.split_whitespace().next()?,
        };
        (!version.is_empty()).then(|| version.to_string())
    })
}

/// Whether a reported version is the pinned one (a leading `v` on either
/// side is ignored).
pub fn same_version(reported: &str, pinned: &str) -> bool {
    reported.trim().trim_start_matches('v') == pinned.trim().trim_start_matches('v')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_form() {
        let out = r#"{
  "clientVersion": {
    "version": "1.31.1",
    "revision": "4c6a9d0ee64f3c1b09e3e2c1fbd1c38d0a0b7a5e",
    "golang_version": "go1.25.1",
    "status": "Clean",
    "tag": "1.31.1"
  }
}
"#;
        assert_eq!(parse_client_version(out).as_deref(), Some("1.31.1"));
    }

    #[test]
    fn json_after_a_warning_line() {
        let out =
            "2026-09-30T10:00:00Z warn something\n{\"clientVersion\": {\"version\": \"1.30.5\"}}\n";
        assert_eq!(parse_client_version(out).as_deref(), Some("1.30.5"));
    }

    #[test]
    fn short_form() {
        assert_eq!(
            parse_client_version("client version: 1.31.1\n").as_deref(),
            Some("1.31.1")
        );
    }

    #[test]
    fn long_form() {
        let out = "client version: version.BuildInfo{Version:\"1.31.1\", GitRevision:\"abc\", GolangVersion:\"go1.25.1\", BuildStatus:\"Clean\", GitTag:\"1.31.1\"}\n";
        assert_eq!(parse_client_version(out).as_deref(), Some("1.31.1"));
    }

    #[test]
    fn nothing_to_read() {
        assert_eq!(parse_client_version(""), None);
        assert_eq!(parse_client_version("Usage: foo\n"), None);
        assert_eq!(parse_client_version("{\"meshVersion\": []}"), None);
    }

    #[test]
    fn versions_compare_without_a_leading_v() {
        assert!(same_version("1.31.1", "1.31.1"));
        assert!(same_version("v1.31.1", "1.31.1 "));
        assert!(!same_version("1.31.10", "1.31.1"));
    }
}

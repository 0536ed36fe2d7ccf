//! The environment that points Google's own tools (gcloud, kubectl through
//! gke-gcloud-auth-plugin) at an emulator, printed as `export` lines in the
//! manner of `gcloud beta emulators … env-init`.

use std::path::Path;

/// The access token gcloud presents to the emulator (any non-empty token is
/// accepted, as any valid Google token is by the real APIs).
pub const GCLOUD_TOKEN: &str = "meshform-emulator-token";

/// `(name, value)` pairs for an emulator at `url` (e.g.
/// `http://127.0.0.1:8085`), project `project`, and gcloud's configuration in
/// `config_dir` (kept apart from the user's own gcloud configuration).
pub fn gcloud_env(url: &str, project: &str, config_dir: &Path) -> Vec<(&'static str, String)> {
    let base = url.trim_end_matches('/');
    vec![
        (
            "CLOUDSDK_API_ENDPOINT_OVERRIDES_COMPUTE",
            format!("{base}/compute/v1/"),
        ),
        (
            "CLOUDSDK_API_ENDPOINT_OVERRIDES_CONTAINER",
            format!("{base}/"),
        ),
        (
            "CLOUDSDK_API_ENDPOINT_OVERRIDES_SERVICEUSAGE",
            format!("{base}/"),
        ),
        (
            "CLOUDSDK_API_ENDPOINT_OVERRIDES_NETWORKMANAGEMENT",
            format!("{base}/"),
        ),
        (
            "CLOUDSDK_API_ENDPOINT_OVERRIDES_SECRETMANAGER",
            format!("{base}/"),
        ),
        (
            "CLOUDSDK_API_ENDPOINT_OVERRIDES_STORAGE",
            format!("{base}/storage/v1/"),
        ),
        ("CLOUDSDK_AUTH_ACCESS_TOKEN", GCLOUD_TOKEN.to_string()),
        ("CLOUDSDK_CORE_PROJECT", project.to_string()),
        ("CLOUDSDK_CONFIG", config_dir.display().to_string()),
        ("CLOUDSDK_CORE_DISABLE_PROMPTS", "1".to_string()),
        ("CLOUDSDK_CORE_DISABLE_USAGE_REPORTING", "1".to_string()),
        (
            "CLOUDSDK_COMPONENT_MANAGER_DISABLE_UPDATE_CHECK",
            "1".to_string(),
        ),
    ]
}

/// The pairs as shell `export` lines, values quoted for sh.
pub fn exports(vars: &[(&'static str, String)]) -> String {
    vars.iter()
        .map(|(k, v)| format!("export {k}='{}'\n", v.replace('\'', r"'\''")))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exports_point_compute_container_and_service_usage_at_the_emulator() {
        let text = exports(&gcloud_env(
            "http://127.0.0.1:8085/",
            "meshform-demo",
            Path::new("/tmp/g"),
        ));
        assert!(text.contains(
            "export CLOUDSDK_API_ENDPOINT_OVERRIDES_COMPUTE='http://127.0.0.1:8085/compute/v1/'\n"
        ));
        assert!(text.contains(
            "export CLOUDSDK_API_ENDPOINT_OVERRIDES_CONTAINER='http://127.0.0.1:8085/'\n"
        ));
        assert!(text.contains(
            "export CLOUDSDK_API_ENDPOINT_OVERRIDES_SECRETMANAGER='http://127.0.0.1:8085/'\n"
        ));
        assert!(text.contains(
            "export CLOUDSDK_API_ENDPOINT_OVERRIDES_STORAGE='http://127.0.0.1:8085/storage/v1/'\n"
        ));
        assert!(text.contains("export CLOUDSDK_CORE_PROJECT='meshform-demo'\n"));
        assert!(text.contains("export CLOUDSDK_CONFIG='/tmp/g'\n"));
    }
}

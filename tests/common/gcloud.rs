//! Google's `gcloud` pointed at an emulator: a fresh, empty configuration
//! folder per command set, the project, an access token, the endpoint
//! overrides, and no prompts, update checks or usage reports.

use std::process::Stdio;

use serde_json::Value;

use super::Run;

/// The project every gcloud command uses.
pub const PROJECT: &str = "meshform-demo";

/// gcloud against one emulator.
pub struct Gcloud {
    config: tempfile::TempDir,
    url: String,
}

/// The environment that points gcloud at the emulator at `url`
/// (`http://127.0.0.1:PORT`), with `config` as `CLOUDSDK_CONFIG`: exactly
/// what `meshform emulator env` prints.
pub fn env(url: &str, config: &std::path::Path) -> Vec<(String, String)> {
    meshform::emulator::tool_env::gcloud_env(url, PROJECT, config)
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
}

impl Gcloud {
    /// gcloud for the emulator at `url`. Panics, naming the Debian package,
    /// when gcloud is not installed.
    pub fn new(url: &str) -> Gcloud {
        let found = std::process::Command::new("gcloud")
            .arg("--version")
            .env("CLOUDSDK_CORE_DISABLE_PROMPTS", "1")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        assert!(
            found.is_ok_and(|s| s.success()),
            "gcloud is missing: install the Debian package google-cloud-cli \
             (apt-get install google-cloud-cli, from Google's apt repository)"
        );
        Gcloud {
            config: tempfile::tempdir().expect("temp dir"),
            url: url.to_string(),
        }
    }

    /// Runs `gcloud ARGS` and returns its output.
    pub async fn run(&self, args: &[&str]) -> Run {
        let mut c = tokio::process::Command::new("gcloud");
        c.args(args)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.config.path())
            .envs(env(&self.url, self.config.path()))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        Run(c.output().await.expect("gcloud runs"))
    }

    /// Runs `gcloud ARGS`, which must succeed.
    pub async fn ok(&self, args: &[&str]) -> Run {
        self.run(args).await.expect(0)
    }

    /// Runs `gcloud ARGS --format=json`, which must succeed, and parses what it prints.
    pub async fn json(&self, args: &[&str]) -> Value {
        let mut full = args.to_vec();
        full.push("--format=json");
        let run = self.ok(&full).await;
        serde_json::from_str(&run.stdout())
            .unwrap_or_else(|e| panic!("gcloud printed no JSON ({e}):\n{}", run.stdout()))
    }
}

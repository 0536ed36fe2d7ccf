//! Shared set-up for the integration tests: an emulator on loopback, a
//! temporary folder for plan and state, and the `meshform` binary.

#![allow(dead_code, unused_macros)]

pub mod gcloud;
pub mod gcs;
pub mod gke;

use meshform::emulator::{Emulator, EmulatorConfig, FaultConfig};
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};

/// Loopback on a port the system picks.
pub fn listen() -> std::net::SocketAddr {
    ([127, 0, 0, 1], 0).into()
}

/// Credentials for Google's clients against the emulator (none).
pub fn anonymous() -> google_cloud_auth::credentials::Credentials {
    google_cloud_auth::credentials::anonymous::Builder::new().build()
}

/// One of Google's official clients, of type `$t`, pointed at the emulator at `$url`.
macro_rules! official_client {
    ($t:ty, $url:expr) => {
        <$t>::builder()
            .with_endpoint($url)
            .with_credentials($crate::common::anonymous())
            .build()
            .await
            .expect("client")
    };
}

/// The `meshform` binary under test: this build's, or the one named by
/// `MESHFORM_TEST_BIN` (to measure another build with the same tests, e.g.
/// the crash matrix before and after a change).
pub fn meshform_bin() -> PathBuf {
    std::env::var_os("MESHFORM_TEST_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_meshform")))
}

/// Copies `plans/<plan>` into `dir` and returns the copy.
pub fn copy_plan(dir: &Path, plan: &str) -> PathBuf {
    let src = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("plans")
        .join(plan);
    let copy = dir.join(plan);
    std::fs::copy(src, &copy).unwrap();
    copy
}

/// A test world: emulator + temp dir with a copy of a plan file.
pub struct World {
    pub dir: tempfile::TempDir,
    pub plan: PathBuf,
    pub emulator: Emulator,
}

/// Options of the emulator under test.
pub fn config(dir: &Path, latency_scale: f64, faults: FaultConfig) -> EmulatorConfig {
    let mut c = EmulatorConfig::new(dir.join("emulator"));
    c.latency_scale = latency_scale;
    c.faults = faults;
    c
}

impl World {
    /// A world with `plans/<name>` copied in and a fast emulator.
    pub async fn new(plan: &str) -> World {
        World::with(plan, 0.002, FaultConfig::default()).await
    }

    /// A world with the given emulator latency and faults.
    pub async fn with(plan: &str, latency_scale: f64, faults: FaultConfig) -> World {
        let dir = tempfile::tempdir().unwrap();
        let copy = copy_plan(dir.path(), plan);
        let emulator = Emulator::start(
            config(dir.path(), latency_scale, faults),
            ([127, 0, 0, 1], 0).into(),
        )
        .await
        .unwrap();
        World {
            dir,
            plan: copy,
            emulator,
        }
    }

    /// Restarts the emulator on the same world with other faults.
    pub async fn restart_emulator(self, faults: FaultConfig) -> World {
        self.restart_with(0.002, faults).await
    }

    /// Restarts the emulator on the same world with another latency and faults.
    pub async fn restart_with(self, latency_scale: f64, faults: FaultConfig) -> World {
        let World {
            dir,
            plan,
            emulator,
        } = self;
        emulator.shutdown().await;
        let emulator = Emulator::start(
            config(dir.path(), latency_scale, faults),
            ([127, 0, 0, 1], 0).into(),
        )
        .await
        .unwrap();
        World {
            dir,
            plan,
            emulator,
        }
    }

    /// The state file the commands use.
    pub fn state(&self) -> PathBuf {
        self.dir.path().join("state.json")
    }

    /// A `meshform` command against this world (state and emulator URL set).
    pub fn command(&self, args: &[&str]) -> tokio::process::Command {
        let mut c = tokio::process::Command::new(meshform_bin());
        c.args(args)
            .arg("--state")
            .arg(self.state())
            .arg("--emulator-url")
            .arg(self.emulator.url())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        c
    }

    /// Runs `meshform ARGS PLAN` and returns its output.
    pub async fn run(&self, args: &[&str]) -> Run {
        let mut full: Vec<&str> = args.to_vec();
        full.push(self.plan.to_str().unwrap());
        Run(self.command(&full).output().await.unwrap())
    }

    /// `meshform state list` of this world's state: the addresses.
    pub async fn state_list(&self) -> Vec<String> {
        let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_meshform"))
            .args(["state", "list", "--state"])
            .arg(self.state())
            .output()
            .await
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(str::to_string)
            .collect()
    }

    /// Rewrites the plan file by replacing `from` with `to` (which must occur).
    pub fn edit_plan(&self, from: &str, to: &str) {
        let text = std::fs::read_to_string(&self.plan).unwrap();
        assert!(text.contains(from), "plan has no {from:?}");
        std::fs::write(&self.plan, text.replacen(from, to, 1)).unwrap();
    }

    /// meshform's own Kubernetes client of cluster `name` in `location`
    /// (the operator's identity, reaching the DNS endpoint).
    pub async fn kube_admin(&self, location: &str, name: &str) -> kube::Client {
        use meshform::gcp::{Provider, Target};
        use meshform::kube::{build_client, TokenSource, EMULATOR_TOKEN};
        let gcp = Provider::connect("meshform-demo", &Target::Emulator(self.emulator.url()))
            .await
            .unwrap();
        let endpoint = gcp.cluster_endpoint(location, name, "dns").await.unwrap();
        build_client(
            name,
            &endpoint,
            None,
            TokenSource::Static(EMULATOR_TOKEN.into()),
        )
        .unwrap()
    }

    /// Resource names in the emulator, sorted.
    pub fn cloud(&self) -> Vec<String> {
        let mut v = self.emulator.resource_names();
        v.sort();
        v
    }
}

/// A finished command.
pub struct Run(pub Output);

impl Run {
    pub fn code(&self) -> i32 {
        self.0.status.code().unwrap_or(-1)
    }
    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.0.stdout).into_owned()
    }
    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.0.stderr).into_owned()
    }
    /// Asserts exit status `code`, showing both streams otherwise.
    pub fn expect(self, code: i32) -> Run {
        assert_eq!(
            self.code(),
            code,
            "exit {} instead of {code}\n--- stdout\n{}\n--- stderr\n{}",
            self.code(),
            self.stdout(),
            self.stderr()
        );
        self
    }
}

/// The six resources of plans/vpc.toml as the emulator names them.
pub const VPC_CLOUD: [&str; 6] = [
    "firewalls/allow-iap-ssh",
    "networks/cross-region-vpc",
    "regions/europe-west2/routers/cross-region-vpc-europe-west2-router",
    "regions/europe-west2/subnetworks/eu-ilb-subnet",
    "regions/us-central1/routers/cross-region-vpc-us-central1-router",
    "regions/us-central1/subnetworks/us-ilb-subnet",
];

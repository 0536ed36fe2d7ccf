//! Command-line arguments (clap).

use clap::{Args, Parser, Subcommand};
use std::net::SocketAddr;
use std::path::PathBuf;

/// Provision a private, multi-region service mesh on Google Cloud.
#[derive(Debug, Parser)]
#[command(name = "meshform", version, about, propagate_version = true)]
pub struct Cli {
    /// The command.
    #[command(subcommand)]
    pub command: Command,
    /// istioctl to run for Istio's manifests (default: PATH if its version
    /// matches the plan, else Istio's release download, verified and cached).
    #[arg(long, global = true, value_name = "PATH")]
    pub istioctl: Option<PathBuf>,
}

/// Where state lives and which cloud to talk to.
#[derive(Debug, Args, Clone)]
pub struct Target {
    /// State file, or object in a bucket: `gs://BUCKET/PATH.json`
    /// (default: `[state]` of the plan file, else `state/<plan file stem>.json`).
    #[arg(long, value_name = "PATH|gs://BUCKET/PATH")]
    pub state: Option<String>,
    /// Use the embedded emulator, its world kept in emulator/ beside the state file.
    #[arg(long, conflicts_with = "emulator_url")]
    pub emulator: bool,
    /// Use an emulator started with `meshform emulator serve`.
    #[arg(long, value_name = "URL")]
    pub emulator_url: Option<String>,
    /// How long to wait for the state lock, e.g. 30s or 5m (default: fail at once).
    #[arg(long, value_name = "DURATION", default_value = "0s", value_parser = humantime::parse_duration)]
    pub lock_timeout: std::time::Duration,
    /// How many resources to work on at once.
    #[arg(long, value_name = "N", default_value_t = 16, value_parser = clap::value_parser!(u16).range(1..))]
    pub parallelism: u16,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check a plan file; nothing is sent to the cloud.
    Validate {
        /// The plan file.
        plan: PathBuf,
    },
    /// Show what apply would change.
    Plan {
        /// The plan file.
        plan: PathBuf,
        /// Save the change set to FILE for `meshform apply FILE`.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        /// Print the change set as JSON.
        #[arg(long)]
        json: bool,
        /// Exit 0 when there are no changes, 2 when there are, 1 on error.
        #[arg(long)]
        detailed_exitcode: bool,
        /// Plan deleting everything in state.
        #[arg(long)]
        destroy: bool,
        /// Plan the next phase of a root CA rotation.
        #[arg(long)]
        rotate_root: bool,
        /// State, cloud and concurrency options.
        #[command(flatten)]
        target: Target,
    },
    /// Make the cloud match a plan file, or apply a saved plan exactly.
    Apply {
        /// A plan file, or a change set saved by `plan --out`.
        plan: PathBuf,
        /// Apply without asking for confirmation.
        #[arg(long)]
        auto_approve: bool,
        /// Take the next phase of a root CA rotation (one phase per apply).
        #[arg(long)]
        rotate_root: bool,
        /// State, cloud and concurrency options.
        #[command(flatten)]
        target: Target,
    },
    /// Delete everything meshform created for a plan file.
    Destroy {
        /// The plan file.
        plan: PathBuf,
        /// Destroy without asking for confirmation.
        #[arg(long)]
        auto_approve: bool,
        /// State, cloud and concurrency options.
        #[command(flatten)]
        target: Target,
    },
    /// Show the state of a plan file, or a saved plan.
    Show {
        /// A plan file or a change set saved by `plan --out`.
        file: PathBuf,
        /// Print JSON.
        #[arg(long)]
        json: bool,
        /// State file or `gs://BUCKET/PATH.json` (default: as for `plan`).
        #[arg(long, value_name = "PATH|gs://BUCKET/PATH")]
        state: Option<String>,
    },
    /// Read the state.
    #[command(subcommand)]
    State(StateCommand),
    /// Remove the lock of a state in a bucket left by a process that was
    /// killed (storage cannot know it died). Refuses another lock's id.
    ForceUnlock {
        /// The lock id the "state is locked" message names.
        lock_id: String,
        /// The plan file whose state to unlock.
        plan: Option<PathBuf>,
        /// `gs://BUCKET/PATH.json` (instead of a plan file).
        #[arg(long, value_name = "gs://BUCKET/PATH")]
        state: Option<String>,
    },
    /// Write a kubeconfig with one context per cluster of a plan file.
    Kubeconfig {
        /// The plan file.
        plan: PathBuf,
        /// Where to write it (default: the state file's name with .kubeconfig; - for stdout).
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        /// State, cloud and concurrency options.
        #[command(flatten)]
        target: Target,
    },
    /// Check that the mesh is wired: trust, gateways, firewall, control-plane
    /// access, remote secrets and the network paths (Connectivity Tests),
    /// per cluster and per pair of clusters. Exits 1 when a check fails.
    Verify {
        /// The plan file.
        plan: PathBuf,
        /// Print the checks as JSON.
        #[arg(long)]
        json: bool,
        /// Also send a request from every cluster's `sleep` to every other
        /// cluster's `httpbin` ([samples]); on the emulator the verdict is
        /// modelled, as no real traffic flows.
        #[arg(long)]
        traffic: bool,
        /// State, cloud and concurrency options.
        #[command(flatten)]
        target: Target,
    },
    /// Print the resource graph of a plan file in Graphviz DOT.
    Graph {
        /// The plan file.
        plan: PathBuf,
    },
    /// The GCP emulator.
    #[command(subcommand)]
    Emulator(EmulatorCommand),
}

/// `meshform state …`.
#[derive(Debug, Subcommand)]
pub enum StateCommand {
    /// List the addresses in state.
    List {
        /// The plan file whose state to read.
        plan: Option<PathBuf>,
        /// State file or `gs://BUCKET/PATH.json` (instead of a plan file).
        #[arg(long, value_name = "PATH|gs://BUCKET/PATH")]
        state: Option<String>,
    },
    /// Show one resource in state.
    Show {
        /// The resource address, e.g. subnet.europe-west2.
        address: String,
        /// The plan file whose state to read.
        plan: Option<PathBuf>,
        /// State file or `gs://BUCKET/PATH.json` (instead of a plan file).
        #[arg(long, value_name = "PATH|gs://BUCKET/PATH")]
        state: Option<String>,
    },
    /// Move the state and its secrets to a bucket (secrets to Secret
    /// Manager) or back to a local file, under the locks of both; the
    /// source is removed only once the copy reads back the same. Run it
    /// again to finish a migration that was stopped.
    Migrate {
        /// The plan file whose state to move (its project holds the secrets).
        plan: PathBuf,
        /// Where to: `gs://BUCKET/PATH.json`, or a local path.
        #[arg(long, value_name = "PATH|gs://BUCKET/PATH")]
        to: String,
        /// State (the source), cloud and lock options.
        #[command(flatten)]
        target: Target,
    },
}

/// `meshform emulator …`.
#[derive(Debug, Subcommand)]
pub enum EmulatorCommand {
    /// Print the `export` lines that point gcloud and kubectl at a running
    /// emulator, like `gcloud beta emulators … env-init`.
    Env {
        /// The emulator's URL, as `emulator serve` printed it.
        #[arg(long, default_value = "http://127.0.0.1:8085")]
        url: String,
        /// The project gcloud uses.
        #[arg(long, default_value = "meshform-demo")]
        project: String,
        /// gcloud's configuration folder, kept apart from yours (default:
        /// `meshform-gcloud` in the system's temporary folder).
        #[arg(long)]
        gcloud_config: Option<PathBuf>,
    },
    /// Serve the emulator until interrupted.
    Serve {
        /// Address to listen on (loopback).
        #[arg(long, default_value = "127.0.0.1:8085")]
        listen: SocketAddr,
        /// Folder of the emulator's persisted world.
        #[arg(long, default_value = "state/emulator")]
        data: PathBuf,
        /// Factor on emulated operation durations (1.0 = real-cloud-like).
        #[arg(long, default_value_t = 0.02)]
        latency_scale: f64,
        /// Fraction of requests answered 429 or 503.
        #[arg(long, default_value_t = 0.0)]
        fault_rate: f64,
        /// Fraction of operations that end with an error.
        #[arg(long, default_value_t = 0.0)]
        operation_failure_rate: f64,
        /// Seed of the fault injection.
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// The project of the `export` lines printed for gcloud.
        #[arg(long, default_value = "meshform-demo")]
        project: String,
        /// Answer this API as not enabled (403 SERVICE_DISABLED), e.g.
        /// `container.googleapis.com`; repeatable.
        #[arg(long = "disabled-service", value_name = "SERVICE")]
        disabled_services: Vec<String>,
        /// Answer this project as nonexistent; repeatable.
        #[arg(long = "missing-project", value_name = "PROJECT")]
        missing_projects: Vec<String>,
    },
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn arguments_are_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn istioctl_is_accepted_before_or_after_the_command() {
        for args in [
            ["meshform", "--istioctl", "/opt/istioctl", "plan", "p.toml"],
            ["meshform", "plan", "p.toml", "--istioctl", "/opt/istioctl"],
        ] {
            let cli = Cli::try_parse_from(args).unwrap();
            assert_eq!(
                cli.istioctl.as_deref(),
                Some(std::path::Path::new("/opt/istioctl"))
            );
        }
        let cli = Cli::try_parse_from(["meshform", "graph", "p.toml"]).unwrap();
        assert_eq!(cli.istioctl, None);
    }
}

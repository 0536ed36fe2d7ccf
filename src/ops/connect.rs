//! Choosing the cloud: the real one, the embedded emulator, or an emulator
//! started with `meshform emulator serve`.

use std::path::{Path, PathBuf};

use crate::cloud::{Cloud, CloudError};
use crate::emulator::{Emulator, EmulatorConfig, FaultConfig};
use crate::gcp::{GcpError, Provider, Target};
use crate::kube::Kube;
use crate::state::{BucketObject, ManagerSecrets, ObjectStore, SecretStore};

/// Which cloud a command talks to.
#[derive(Debug, Clone, PartialEq)]
pub enum TargetChoice {
    /// Google Cloud with Application Default Credentials.
    Cloud,
    /// The embedded emulator, its world kept in this folder.
    Embedded(PathBuf),
    /// An emulator already running at this URL.
    Url(String),
}

impl TargetChoice {
    /// The embedded emulator's folder for a state file: `emulator/` beside it.
    pub fn embedded_for(state_path: &Path) -> TargetChoice {
        let dir = state_path.parent().unwrap_or(Path::new("."));
        TargetChoice::Embedded(dir.join("emulator"))
    }
}

/// Latency and faults of the embedded emulator, from `MESHFORM_EMULATOR_*`
/// environment variables (see the README).
#[derive(Debug, Clone, PartialEq)]
pub struct EmulatorSettings {
    /// Factor on the emulated operation durations.
    pub latency_scale: f64,
    /// Injected faults.
    pub faults: FaultConfig,
}

impl EmulatorSettings {
    /// Reads `MESHFORM_EMULATOR_LATENCY_SCALE` (default 0.02),
    /// `MESHFORM_EMULATOR_FAULT_RATE`, `MESHFORM_EMULATOR_OPERATION_FAILURE_RATE`
    /// (default 0) and `MESHFORM_EMULATOR_SEED` (default 0).
    pub fn from_env() -> EmulatorSettings {
        fn var<T: std::str::FromStr>(name: &str, default: T) -> T {
            std::env::var(name)
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(default)
        }
        EmulatorSettings {
            latency_scale: var("MESHFORM_EMULATOR_LATENCY_SCALE", 0.02),
            faults: FaultConfig {
                seed: var("MESHFORM_EMULATOR_SEED", 0),
                retryable_rate: var("MESHFORM_EMULATOR_FAULT_RATE", 0.0),
                operation_failure_rate: var("MESHFORM_EMULATOR_OPERATION_FAILURE_RATE", 0.0),
            },
        }
    }
}

/// The cloud clients plus the embedded emulator serving them, if any; the
/// emulator stops when this is shut down.
pub struct Connection {
    /// Google Cloud and Kubernetes clients.
    pub cloud: Cloud,
    emulator: Option<Emulator>,
}

impl Connection {
    /// Connects to `target` for `project`, starting the embedded emulator
    /// on a loopback port when asked; local resources live beside the state
    /// file at `state_path`, and secrets too unless the state is the bucket
    /// object `remote`: they are then in the project's Secret Manager.
    ///
    /// # Errors
    /// The emulator cannot start, or the clients cannot be built.
    pub async fn open(
        project: &str,
        target: &TargetChoice,
        state_path: &Path,
        remote: Option<&BucketObject>,
    ) -> Result<Connection, CloudError> {
        let (gcp_target, emulator) = match target {
            TargetChoice::Cloud => (Target::Cloud, None),
            TargetChoice::Url(url) => (Target::Emulator(url.clone()), None),
            TargetChoice::Embedded(dir) => {
                let settings = EmulatorSettings::from_env();
                let mut config = EmulatorConfig::new(dir.clone());
                config.latency_scale = settings.latency_scale;
                config.faults = settings.faults;
                config.apply_env();
                let emulator = Emulator::start(config, ([127, 0, 0, 1], 0).into())
                    .await
                    .map_err(|e| GcpError::Client {
                        service: "embedded emulator",
                        message: e.to_string(),
                    })?;
                (Target::Emulator(emulator.url()), Some(emulator))
            }
        };
        let gcp = Provider::connect(project, &gcp_target).await?;
        let kube = Kube::new(&gcp)?;
        let secrets = match remote {
            None => SecretStore::beside(state_path),
            Some(object) => SecretStore::Manager(ManagerSecrets::new(
                gcp.secret_manager().clone(),
                project,
                &object.to_string(),
            )),
        };
        Ok(Connection {
            cloud: Cloud {
                gcp,
                kube,
                secrets,
                objects: ObjectStore::beside(state_path),
            },
            emulator,
        })
    }

    /// The embedded emulator, when one runs.
    pub fn emulator(&self) -> Option<&Emulator> {
        self.emulator.as_ref()
    }

    /// Stops the embedded emulator (its world is already on disk).
    pub async fn close(self) {
        if let Some(e) = self.emulator {
            e.shutdown().await;
        }
    }
}

//! The state lock: an OS file lock on `STATE.lock`, whose content names the
//! holder. The OS releases it when the holder dies, so a crashed apply never
//! leaves a stale lock behind.

use serde::{Deserialize, Serialize};
use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

/// Who holds a lock.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LockHolder {
    /// Host name of the holder.
    pub host: String,
    /// Process id of the holder.
    pub pid: u32,
    /// When it took the lock (RFC 3339).
    pub time: String,
    /// The command it runs, e.g. `apply`.
    pub operation: String,
}

impl std::fmt::Display for LockHolder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} (pid {} on {}, since {})",
            self.operation, self.pid, self.host, self.time
        )
    }
}

/// The lock could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another process holds it.
    #[error("state is locked: {path} is held by {holder}\n  help: wait for that {op} to finish, or pass --lock-timeout 5m to wait for it", op = .holder.as_ref().map(|h| h.operation.as_str()).unwrap_or("command"), holder = .holder.as_ref().map(|h| h.to_string()).unwrap_or_else(|| "another meshform process".into()))]
    Held {
        /// The lock file.
        path: PathBuf,
        /// What the lock file says about its holder, if readable.
        holder: Option<LockHolder>,
    },
    /// The lock file could not be opened or locked.
    #[error("cannot lock {path}: {source}")]
    Io {
        /// The lock file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}

/// A held state lock; released on drop.
#[derive(Debug)]
pub struct StateLock {
    file: File,
    path: PathBuf,
}

impl StateLock {
    /// Takes the lock for the state file at `state_path`.
    ///
    /// With `timeout` zero it fails at once when the lock is held; otherwise it
    /// retries until the timeout, calling `on_wait` once with the holder so the
    /// caller can say what it is waiting for.
    ///
    /// # Errors
    /// [`LockError::Held`] naming the holder, or [`LockError::Io`].
    pub fn acquire(
        state_path: &Path,
        operation: &str,
        timeout: Duration,
        mut on_wait: impl FnMut(&LockHolder),
    ) -> Result<StateLock, LockError> {
        let path = lock_path(state_path);
        let io = |source| LockError::Io {
            path: path.clone(),
            source,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let start = Instant::now();
        let mut told = false;
        loop {
            let mut file = OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .mode(0o600)
                .open(&path)
                .map_err(io)?;
            match file.try_lock() {
                Ok(()) => {
                    let holder = LockHolder {
                        host: gethostname::gethostname().to_string_lossy().into_owned(),
                        pid: std::process::id(),
                        time: humantime::format_rfc3339_seconds(SystemTime::now()).to_string(),
                        operation: operation.to_string(),
                    };
                    file.set_len(0).map_err(io)?;
                    file.rewind().map_err(io)?;
                    file.write_all(
                        serde_json::to_string(&holder)
                            .expect("serializes")
                            .as_bytes(),
                    )
                    .map_err(io)?;
                    return Ok(StateLock { file, path });
                }
                Err(TryLockError::WouldBlock) => {
                    let holder = read_holder(&mut file);
                    if start.elapsed() >= timeout {
                        return Err(LockError::Held {
                            path: path.clone(),
                            holder,
                        });
                    }
                    if !told {
                        if let Some(h) = &holder {
                            on_wait(h);
                        }
                        told = true;
                    }
                    std::thread::sleep(Duration::from_millis(200));
                }
                Err(TryLockError::Error(e)) => return Err(io(e)),
            }
        }
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for StateLock {
    fn drop(&mut self) {
        let _ = self.file.set_len(0);
        let _ = self.file.unlock();
    }
}

fn read_holder(file: &mut File) -> Option<LockHolder> {
    let mut text = String::new();
    file.read_to_string(&mut text).ok()?;
    serde_json::from_str(&text).ok()
}

/// The lock file of the state file at `state_path`: `STATE.lock`.
pub fn lock_path(state_path: &Path) -> PathBuf {
    let mut name = state_path.file_name().unwrap_or_default().to_os_string();
    name.push(".lock");
    state_path.with_file_name(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_lock_fails_at_once_naming_the_holder() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("vpc.json");
        let _held = StateLock::acquire(&state, "apply", Duration::ZERO, |_| {}).unwrap();
        let err = StateLock::acquire(&state, "plan", Duration::ZERO, |_| {}).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("state is locked"), "{msg}");
        assert!(
            msg.contains(&format!("apply (pid {}", std::process::id())),
            "{msg}"
        );
        assert!(msg.contains("--lock-timeout"), "{msg}");
    }

    #[test]
    fn lock_is_free_again_after_drop_and_waiters_get_it() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("vpc.json");
        let held = StateLock::acquire(&state, "apply", Duration::ZERO, |_| {}).unwrap();
        let releaser = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(300));
            drop(held);
        });
        let mut waited_for = None;
        let lock = StateLock::acquire(&state, "destroy", Duration::from_secs(10), |h| {
            waited_for = Some(h.operation.clone())
        });
        releaser.join().unwrap();
        assert!(lock.is_ok());
        assert_eq!(waited_for.as_deref(), Some("apply"));
    }
}

//! The state lock across machines: an object `PATH.json.lock` beside the
//! state object, created only if absent (`ifGenerationMatch=0`), holding who
//! (user, host, pid), what (the command), when, and a lock id. It is
//! removed at the end only if it is still ours (same id, same generation).
//! Storage cannot know that a holder died: a lock left by a killed process
//! stays until `meshform force-unlock LOCK_ID` removes it.

use std::time::{Duration, Instant, SystemTime};

use serde::{Deserialize, Serialize};

use super::bucket::{Bucket, BucketError};
use super::location::BucketObject;

/// What a lock object says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BucketLockInfo {
    /// The lock id (`force-unlock` takes it).
    pub id: String,
    /// The user who took it.
    pub user: String,
    /// The host it was taken on.
    pub host: String,
    /// The process id.
    pub pid: u32,
    /// The command, e.g. `apply`.
    pub operation: String,
    /// When (RFC 3339).
    pub time: String,
}

impl BucketLockInfo {
    /// A lock for `operation` by this process, with a fresh id.
    pub fn new(operation: &str) -> BucketLockInfo {
        let b: [u8; 8] = rand::random();
        BucketLockInfo {
            id: b.iter().map(|x| format!("{x:02x}")).collect(),
            user: std::env::var("USER")
                .or_else(|_| std::env::var("LOGNAME"))
                .unwrap_or_else(|_| "unknown".into()),
            host: gethostname::gethostname().to_string_lossy().into_owned(),
            pid: std::process::id(),
            operation: operation.to_string(),
            time: humantime::format_rfc3339_seconds(SystemTime::now()).to_string(),
        }
    }

    /// How long ago it was taken.
    pub fn age(&self) -> Option<Duration> {
        let at = humantime::parse_rfc3339(&self.time).ok()?;
        SystemTime::now().duration_since(at).ok()
    }
}

impl std::fmt::Display for BucketLockInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let age = self
            .age()
            .map(|a| {
                let secs = a.as_secs();
                format!(
                    ", {} ago",
                    humantime::format_duration(Duration::from_secs(secs))
                )
            })
            .unwrap_or_default();
        write!(
            f,
            "{} by {}@{} (pid {}), since {}{age}, lock id {}",
            self.operation, self.user, self.host, self.pid, self.time, self.id
        )
    }
}

/// The lock could not be taken or released.
#[derive(Debug, thiserror::Error)]
pub enum BucketLockError {
    /// Someone holds it.
    #[error("state is locked: {object} is held by {holder}\n  help: wait for that {op} to finish, or pass --lock-timeout 5m to wait for it. Storage cannot tell whether the holder still runs: if it was killed, run `meshform force-unlock {id} --state {state}`", op = .holder.operation, id = .holder.id)]
    Held {
        /// The lock object.
        object: String,
        /// The state object.
        state: String,
        /// Who holds it.
        holder: BucketLockInfo,
    },
    /// `force-unlock` was given another lock's id.
    #[error("{object} is held with lock id {held}, not {given}: nothing removed\n  help: check the id in the message that named the holder")]
    WrongId {
        /// The lock object.
        object: String,
        /// The id held.
        held: String,
        /// The id given.
        given: String,
    },
    /// `force-unlock` found no lock.
    #[error("{0} is not locked: nothing to remove")]
    NotLocked(String),
    /// A bucket call failed.
    #[error(transparent)]
    Bucket(#[from] BucketError),
}

/// A held lock; [`BucketLock::release`] removes it.
#[derive(Debug)]
pub struct BucketLock {
    object: BucketObject,
    info: BucketLockInfo,
    generation: i64,
}

/// The lock object of the state object `state`.
pub fn lock_object(state: &BucketObject) -> BucketObject {
    state.with_suffix(".lock")
}

async fn read_info(
    bucket: &Bucket,
    object: &BucketObject,
) -> Result<Option<(BucketLockInfo, i64)>, BucketError> {
    let Some((bytes, generation)) = bucket.read(object).await? else {
        return Ok(None);
    };
    let info = serde_json::from_slice(&bytes).unwrap_or_else(|_| BucketLockInfo {
        id: "unreadable".into(),
        user: "?".into(),
        host: "?".into(),
        pid: 0,
        operation: "a command".into(),
        time: String::new(),
    });
    Ok(Some((info, generation)))
}

impl BucketLock {
    /// Takes the lock of `state` for `operation`, waiting up to `timeout`
    /// (calling `on_wait` once with the holder).
    ///
    /// # Errors
    /// [`BucketLockError::Held`] naming the holder, or a bucket failure.
    pub async fn acquire(
        bucket: &Bucket,
        state: &BucketObject,
        operation: &str,
        timeout: Duration,
        mut on_wait: impl FnMut(&BucketLockInfo),
    ) -> Result<BucketLock, BucketLockError> {
        let object = lock_object(state);
        let info = BucketLockInfo::new(operation);
        let body = serde_json::to_string_pretty(&info).expect("serializes");
        let start = Instant::now();
        let mut told = false;
        loop {
            match bucket.write(&object, body.clone(), 0).await {
                Ok(generation) => {
                    return Ok(BucketLock {
                        object,
                        info,
                        generation,
                    })
                }
                Err(BucketError::Conflict { .. }) => {}
                Err(e) => return Err(e.into()),
            }
            // Held: by whom? (It may have gone in between: then try again.)
            let Some((holder, _)) = read_info(bucket, &object).await? else {
                continue;
            };
            if start.elapsed() >= timeout {
                return Err(BucketLockError::Held {
                    object: object.to_string(),
                    state: state.to_string(),
                    holder,
                });
            }
            if !told {
                on_wait(&holder);
                told = true;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    /// The lock's id.
    pub fn id(&self) -> &str {
        &self.info.id
    }

    /// Removes the lock if it is still ours: same id, same generation.
    ///
    /// # Errors
    /// A bucket failure; a lock someone else holds now is left alone.
    pub async fn release(self, bucket: &Bucket) -> Result<(), BucketError> {
        match read_info(bucket, &self.object).await? {
            Some((info, generation))
                if info.id == self.info.id && generation == self.generation =>
            {
                bucket.delete(&self.object, generation).await
            }
            _ => {
                tracing::warn!(lock = %self.object, "the lock is no longer ours; left as it is");
                Ok(())
            }
        }
    }
}

/// Removes the lock of `state` if its id is `id` (`meshform force-unlock`).
///
/// # Errors
/// No lock, another id, or a bucket failure.
pub async fn force_unlock(
    bucket: &Bucket,
    state: &BucketObject,
    id: &str,
) -> Result<BucketLockInfo, BucketLockError> {
    let object = lock_object(state);
    let Some((info, generation)) = read_info(bucket, &object).await? else {
        return Err(BucketLockError::NotLocked(state.to_string()));
    };
    if info.id != id {
        return Err(BucketLockError::WrongId {
            object: object.to_string(),
            held: info.id,
            given: id.to_string(),
        });
    }
    bucket.delete(&object, generation).await?;
    Ok(info)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_holder_is_named_with_its_age_and_id() {
        let mut info = BucketLockInfo::new("apply");
        info.time = humantime::format_rfc3339_seconds(SystemTime::now() - Duration::from_secs(90))
            .to_string();
        let text = info.to_string();
        assert!(text.starts_with("apply by "), "{text}");
        assert!(
            text.contains("1m 30s ago") || text.contains("1m 31s ago"),
            "{text}"
        );
        assert!(text.ends_with(&format!("lock id {}", info.id)), "{text}");
        assert_eq!(info.id.len(), 16);
    }
}

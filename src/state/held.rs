//! Taking a state's lock and its store together, wherever the state lives:
//! a file with its OS lock, or an object in a bucket with its lock object.

use std::path::Path;
use std::time::Duration;

use super::bucket::Bucket;
use super::bucket_lock::{BucketLock, BucketLockError};
use super::location::BucketObject;
use super::{LockError, StateError, StateLock, StateStore};

/// A held state lock. A file's lock is released when dropped (the OS does
/// it even for a killed process); a bucket's by [`HeldLock::release`], or
/// when dropped, as far as the runtime allows.
#[derive(Debug)]
pub enum HeldLock {
    /// The lock of a state file.
    File(StateLock),
    /// The lock object of a state object.
    Bucket(Option<Box<(BucketLock, Bucket)>>),
}

impl HeldLock {
    /// Releases the lock.
    pub async fn release(mut self) {
        if let HeldLock::Bucket(held) = &mut self {
            if let Some(held) = held.take() {
                let (lock, bucket) = *held;
                release(lock, &bucket).await;
            }
        }
    }
}

async fn release(lock: BucketLock, bucket: &Bucket) {
    let id = lock.id().to_string();
    if let Err(e) = lock.release(bucket).await {
        tracing::warn!(error = %e, lock_id = %id, "could not remove the state lock; `meshform force-unlock` removes it");
    }
}

impl Drop for HeldLock {
    fn drop(&mut self) {
        let HeldLock::Bucket(held) = self else {
            return;
        };
        let Some(held) = held.take() else {
            return;
        };
        let (lock, bucket) = *held;
        // Dropped without release (an error on the way out): remove the
        // lock now if this runtime can wait here.
        match tokio::runtime::Handle::try_current() {
            Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
                tokio::task::block_in_place(|| h.block_on(release(lock, &bucket)));
            }
            _ => {
                tracing::warn!(lock_id = %lock.id(), "the state lock was left in the bucket; `meshform force-unlock` removes it")
            }
        }
    }
}

/// The lock could not be taken, or the bucket reached.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// The state file's lock.
    #[error(transparent)]
    File(#[from] LockError),
    /// The state object's lock.
    #[error(transparent)]
    Bucket(#[from] BucketLockError),
    /// The state.
    #[error(transparent)]
    State(#[from] StateError),
}

/// Locks the state (the file at `path`, or the object `remote` with `path`
/// as its local place) for `operation`, waiting up to `timeout` and
/// calling `on_wait` once with who holds it, and returns its store.
///
/// # Errors
/// The lock is held, or the bucket cannot be reached.
pub async fn lock(
    path: &Path,
    remote: Option<&BucketObject>,
    operation: &str,
    timeout: Duration,
    mut on_wait: impl FnMut(String),
) -> Result<(StateStore, HeldLock), OpenError> {
    let Some(object) = remote else {
        let lock = StateLock::acquire(path, operation, timeout, |h| on_wait(h.to_string()))?;
        return Ok((StateStore::new(path), HeldLock::File(lock)));
    };
    let bucket = Bucket::connect().await.map_err(StateError::from)?;
    let lock = BucketLock::acquire(&bucket, object, operation, timeout, |h| {
        on_wait(h.to_string())
    })
    .await?;
    match bucket.versioning(&object.bucket).await {
        Ok(true) => {}
        Ok(false) => tracing::warn!(
            "bucket {} has no object versioning: an earlier state cannot be restored if one is ever lost; turn it on with `gcloud storage buckets update gs://{} --versioning`",
            object.bucket,
            object.bucket
        ),
        Err(e) => tracing::warn!(error = %e, "could not read whether bucket {} keeps versions", object.bucket),
    }
    let store = StateStore::in_bucket(bucket.clone(), object.clone(), path);
    Ok((store, HeldLock::Bucket(Some(Box::new((lock, bucket))))))
}

/// The store of a state, without its lock (for reading it).
///
/// # Errors
/// The bucket cannot be reached.
pub async fn store(path: &Path, remote: Option<&BucketObject>) -> Result<StateStore, StateError> {
    match remote {
        None => Ok(StateStore::new(path)),
        Some(object) => {
            let bucket = Bucket::connect().await?;
            Ok(StateStore::in_bucket(bucket, object.clone(), path))
        }
    }
}

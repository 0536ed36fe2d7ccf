//! The state (what meshform last applied) in a file or in a Cloud Storage
//! bucket, its lock (a file lock, or a lock object across machines), and
//! the stores of sensitive material and rendered objects beside it.
//!
//! - `file.rs`: the state and its store (load, save: atomic file writes, or
//!   object writes conditional on the generation read).
//! - `location.rs`: where state lives (`gs://BUCKET/PATH.json` or a path).
//! - `bucket.rs`: Cloud Storage reads, conditional writes and deletes.
//! - `group_commit.rs`: the state while an apply runs, saved after every
//!   change, changes that finish together sharing a save.
//! - `lock.rs` and `bucket_lock.rs`: the two locks; `held.rs` takes the
//!   right one with its store.
//! - `secrets.rs`: the secret store, in files beside a local state
//!   (`secret_files.rs`) or in Secret Manager for a state in a bucket
//!   (`secret_manager.rs`).
//! - `objects.rs`: the object store of rendered manifests.

mod bucket;
mod bucket_lock;
mod file;
mod group_commit;
mod held;
mod location;
mod lock;
mod objects;
mod secret_files;
mod secret_manager;
mod secrets;

pub use bucket::{Bucket, BucketError, EMULATOR_HOST_VAR};
pub use bucket_lock::{force_unlock, lock_object, BucketLock, BucketLockError, BucketLockInfo};
pub use file::{write_private, State, StateError, StateResource, StateStore, STATE_VERSION};
pub use group_commit::SavedState;
pub use held::{lock, store, HeldLock, OpenError};
pub use location::{BucketObject, LocationError, StateLocation};
pub use lock::{LockError, LockHolder, StateLock};
pub use objects::{ObjectError, ObjectStore};
pub use secret_files::FileSecrets;
pub use secret_manager::ManagerSecrets;
pub use secrets::{Exported, SecretError, SecretStore};

//! The state file (what meshform last applied), the lock beside it, and
//! the store of sensitive material beside it.

mod file;
mod lock;
mod objects;
mod secrets;

pub use file::{write_private, State, StateError, StateResource, StateStore, STATE_VERSION};
pub use lock::{LockError, LockHolder, StateLock};
pub use objects::{ObjectError, ObjectStore};
pub use secrets::{SecretError, SecretStore};

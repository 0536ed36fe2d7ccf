//! The state file (what meshform last applied) and the lock beside it.

mod file;
mod lock;

pub use file::{write_private, State, StateError, StateResource, StateStore, STATE_VERSION};
pub use lock::{LockError, LockHolder, StateLock};

//! `meshform state migrate`: moves a state and its secrets to another place
//! (a local file ⇄ an object in a bucket, whose secrets are in Secret
//! Manager), under the locks of both, and removes the source only once the
//! copy reads back the same.
//!
//! Every step can be run again: a migration killed half-way is finished by
//! the same command. The order keeps one whole copy at every moment:
//!
//! 1. secrets copied to the destination's store and read back;
//! 2. the state written to the destination (only where there is none) and
//!    read back byte for byte;
//! 3. the rendered objects copied beside the destination's local place;
//! 4. the source state removed, then the source's secrets and objects.

use std::path::Path;
use std::time::Duration;

use super::connect::{Connection, TargetChoice};
use crate::cloud::CloudError;
use crate::state::{
    self, BucketObject, Exported, ManagerSecrets, ObjectStore, OpenError, SecretError, SecretStore,
    StateError, StateStore,
};

/// One end of a migration: the local place and, for a bucket, the object.
#[derive(Debug, Clone, Copy)]
pub struct StateEnd<'a> {
    /// The state file, or a bucket state's local place.
    pub local: &'a Path,
    /// The object, when the state is in a bucket.
    pub remote: Option<&'a BucketObject>,
}

impl StateEnd<'_> {
    /// Where it is, for people: a path or `gs://…`.
    pub fn name(&self) -> String {
        match self.remote {
            Some(o) => o.to_string(),
            None => self.local.display().to_string(),
        }
    }
}

/// What a migration did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrateReport {
    /// Resources in the state moved.
    pub resources: usize,
    /// Sensitive values moved.
    pub values: usize,
    /// Secret-store entries (the CAs) moved.
    pub entries: usize,
    /// Where the secrets are now.
    pub secrets_at: String,
    /// An earlier, interrupted migration had already written the copy.
    pub resumed: bool,
}

/// A migration that cannot go on; the source is then left whole.
#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    /// A lock is held, or a bucket unreachable.
    #[error(transparent)]
    Open(#[from] Box<OpenError>),
    /// Reading or writing a state.
    #[error(transparent)]
    State(#[from] StateError),
    /// Reading or writing secrets.
    #[error(transparent)]
    Secrets(#[from] SecretError),
    /// Connecting to the cloud (for Secret Manager).
    #[error(transparent)]
    Cloud(#[from] CloudError),
    /// Reading or writing the rendered objects.
    #[error(transparent)]
    Objects(#[from] crate::state::ObjectError),
    /// The migration is refused; nothing was changed.
    #[error("{0}")]
    Refused(String),
}

/// Moves the state at `from` to `to` (see the module doc), waiting up to
/// `lock_timeout` for each lock.
///
/// # Errors
/// A lock is held, the destination holds another state, or a read, write
/// or check failed; the source is then left whole.
pub async fn migrate(
    from: StateEnd<'_>,
    to: StateEnd<'_>,
    project: &str,
    target: &TargetChoice,
    lock_timeout: Duration,
    mut on_wait: impl FnMut(String),
) -> Result<MigrateReport, MigrateError> {
    if from.name() == to.name() {
        return Err(MigrateError::Refused(format!(
            "the state is already at {}",
            to.name()
        )));
    }
    let (source, source_lock) = state::lock(
        from.local,
        from.remote,
        "migrate",
        lock_timeout,
        &mut on_wait,
    )
    .await
    .map_err(Box::new)?;
    let (destination, destination_lock) =
        match state::lock(to.local, to.remote, "migrate", lock_timeout, &mut on_wait)
            .await
            .map_err(Box::new)
        {
            Ok(held) => held,
            Err(e) => {
                source_lock.release().await;
                return Err(e.into());
            }
        };
    let connection = match (from.remote, to.remote) {
        (None, None) => None,
        _ => Some(Connection::open(project, target, from.local, from.remote).await?),
    };
    let stores = secret_stores(connection.as_ref(), project, from, to);
    let result = run(&source, &destination, &stores, from, to).await;
    if let Some(c) = connection {
        c.close().await;
    }
    destination_lock.release().await;
    source_lock.release().await;
    result
}

/// The secret stores of the two ends.
fn secret_stores(
    connection: Option<&Connection>,
    project: &str,
    from: StateEnd<'_>,
    to: StateEnd<'_>,
) -> (SecretStore, SecretStore) {
    let store = |end: StateEnd<'_>| match (end.remote, connection) {
        (Some(object), Some(c)) => SecretStore::Manager(ManagerSecrets::new(
            c.cloud.gcp.secret_manager().clone(),
            project,
            &object.to_string(),
        )),
        _ => SecretStore::beside(end.local),
    };
    (store(from), store(to))
}

async fn run(
    source: &StateStore,
    destination: &StateStore,
    (from_secrets, to_secrets): &(SecretStore, SecretStore),
    from: StateEnd<'_>,
    to: StateEnd<'_>,
) -> Result<MigrateReport, MigrateError> {
    let bytes = source.read_bytes().await?;
    let there = destination.read_bytes().await?;
    let (bytes, resumed) = match (bytes, there) {
        (Some(bytes), None) => (bytes, false),
        (Some(bytes), Some(there)) if there == bytes => (bytes, true),
        (Some(_), Some(_)) => {
            let other = destination.load().await?;
            return Err(MigrateError::Refused(format!(
                "{} already holds a state (lineage {}, serial {}): meshform does not overwrite it\n  help: migrate to an empty place, or remove that state first if it is not needed",
                to.name(),
                other.lineage,
                other.serial
            )));
        }
        (None, Some(_)) => {
            // An earlier migration removed the source state and was
            // stopped before its secrets: finish that.
            let left = from_secrets.export().await?;
            from_secrets.clear().await?;
            ObjectStore::beside(from.local).remove_all()?;
            let state = destination.load().await?;
            return Ok(MigrateReport {
                resources: state.resources.len(),
                values: left.values.len(),
                entries: left.entries.len(),
                secrets_at: to_secrets.describe(),
                resumed: true,
            });
        }
        (None, None) => {
            return Err(MigrateError::Refused(format!(
                "there is no state at {} to migrate\n  help: name the state to move with --state, or the plan file whose state it is",
                from.name()
            )))
        }
    };
    // The state must be one meshform reads before anything moves.
    let state = source.load().await?;
    let secrets = from_secrets.export().await?;
    to_secrets.import(&secrets).await?;
    check_copy(&secrets, to_secrets).await?;
    if !resumed {
        let text = String::from_utf8(bytes.clone())
            .map_err(|_| MigrateError::Refused(format!("{} is not UTF-8 text", from.name())))?;
        destination.write(&text, state.serial).await?;
    }
    if destination.read_bytes().await?.as_deref() != Some(&bytes[..]) {
        return Err(MigrateError::Refused(format!(
            "the copy at {} does not read back the same: the source {} is left as it was",
            to.name(),
            from.name()
        )));
    }
    ObjectStore::beside(from.local).copy_to(&ObjectStore::beside(to.local))?;
    source.remove().await?;
    from_secrets.clear().await?;
    ObjectStore::beside(from.local).remove_all()?;
    Ok(MigrateReport {
        resources: state.resources.len(),
        values: secrets.values.len(),
        entries: secrets.entries.len(),
        secrets_at: to_secrets.describe(),
        resumed,
    })
}

/// Every value and entry of `exported` reads back from `store` the same.
async fn check_copy(exported: &Exported, store: &SecretStore) -> Result<(), MigrateError> {
    for value in &exported.values {
        if &store.get(&value.reference()).await? != value {
            return Err(MigrateError::Refused(format!(
                "the copy of {} in {} does not read back the same",
                value.reference(),
                store.describe()
            )));
        }
    }
    for (name, value) in &exported.entries {
        if store.get_entry(name).await?.as_ref() != Some(value) {
            return Err(MigrateError::Refused(format!(
                "the copy of entry {name} in {} does not read back the same",
                store.describe()
            )));
        }
    }
    Ok(())
}

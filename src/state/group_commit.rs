//! The state while an apply runs: every finished change is recorded and
//! saved before its step counts as done, with group commit — while one
//! save is being written, the changes that finish queue up and the next
//! save holds them all, so a hundred steps finishing together cost a few
//! writes, not a hundred, and no step waits for more than two.

use tokio::sync::Mutex;

use super::{State, StateError, StateStore};

/// A state being applied, with its store.
#[derive(Debug)]
pub struct SavedState<'a> {
    store: &'a StateStore,
    /// The state, and how many changes were recorded in it.
    state: Mutex<(State, u64)>,
    /// Held while a save is written; how many changes are saved.
    saved: Mutex<u64>,
}

impl<'a> SavedState<'a> {
    /// `state`, saved to `store`.
    pub fn new(store: &'a StateStore, state: State) -> Self {
        SavedState {
            store,
            state: Mutex::new((state, 0)),
            saved: Mutex::new(0),
        }
    }

    /// Reads the state.
    pub async fn read<R>(&self, f: impl FnOnce(&State) -> R) -> R {
        f(&self.state.lock().await.0)
    }

    /// Changes the state with `change` (which says whether it changed
    /// anything) and returns once a save that holds the change is written.
    ///
    /// # Errors
    /// The save fails.
    pub async fn update(&self, change: impl FnOnce(&mut State) -> bool) -> Result<(), StateError> {
        let mine = {
            let mut s = self.state.lock().await;
            if !change(&mut s.0) {
                return Ok(());
            }
            s.1 += 1;
            s.1
        };
        let mut saved = self.saved.lock().await;
        if *saved >= mine {
            return Ok(());
        }
        let (json, serial, upto) = {
            let mut s = self.state.lock().await;
            let json = StateStore::prepare(&mut s.0);
            (json, s.0.serial, s.1)
        };
        self.store.write(&json, serial).await?;
        *saved = upto;
        Ok(())
    }

    /// The state.
    pub fn into_inner(self) -> State {
        self.state.into_inner().0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn changes_finishing_together_share_saves_and_every_one_is_saved() {
        let dir = tempfile::tempdir().unwrap();
        let store = StateStore::new(dir.path().join("s.json"));
        let saved = SavedState::new(&store, State::new());
        let updates = (0..50).map(|i| {
            let saved = &saved;
            async move {
                saved
                    .update(|s| {
                        s.lineage.push_str(&format!("+{i}"));
                        true
                    })
                    .await
                    .unwrap();
            }
        });
        futures::future::join_all(updates).await;
        let on_disk = store.load().await.unwrap();
        // Every change is in the saved state...
        for i in 0..50 {
            assert!(on_disk.lineage.contains(&format!("+{i}")));
        }
        // ...written fewer times than there were changes.
        assert!(
            on_disk.serial >= 1 && on_disk.serial < 50,
            "{}",
            on_disk.serial
        );
        assert_eq!(saved.into_inner().serial, on_disk.serial);
        // A change that changes nothing saves nothing.
        let again = SavedState::new(&store, on_disk.clone());
        again.update(|_| false).await.unwrap();
        assert_eq!(store.load().await.unwrap().serial, on_disk.serial);
    }
}

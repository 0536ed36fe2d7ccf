//! Group commit of the world to its files (`world.json`, and
//! `connectivity.json` for the Connectivity Tests).
//!
//! A request that changed the world takes a ticket while it still holds
//! the world's lock, lets the lock go, and then waits until a save that
//! includes its change is on disk, so nothing it acknowledges can be lost
//! when the emulator is killed. One waiting request at a time does the
//! saving (the leader): it locks the world only to serialise it, writes the
//! file with the lock released, and its save covers every change made
//! before it serialised; the requests that queued behind it meanwhile need
//! one more save between them, not one each. Under load the world is thus
//! serialised once per round instead of once per change, and no request
//! waits on the world's lock while a file is written.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

use super::world::{write_file, World};
use super::EmulatorError;

/// The saves of one file of the world: the tickets handed out and the
/// newest save on disk.
#[derive(Debug)]
pub struct Saves {
    dir: PathBuf,
    file: &'static str,
    /// The part of the world the file holds, serialised.
    part: fn(&World) -> Vec<u8>,
    /// The newest change's ticket; only advanced with the world locked.
    changed: AtomicU64,
    round: Mutex<Round>,
    finished: Condvar,
    /// What the saves cost, since start or the last reset (`changes` is
    /// derived from `changed` and `changed_at_reset`).
    stats: Mutex<SaveStats>,
    changed_at_reset: AtomicU64,
}

/// What the world's saves cost (for the benchmark).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SaveStats {
    /// Changes made to the world.
    pub changes: u64,
    /// Saves written.
    pub saves: u64,
    /// Time spent serialising, with the world locked.
    pub serialise: Duration,
    /// Time spent writing the file, with the world free.
    pub write: Duration,
    /// Size of the largest save, bytes.
    pub largest: usize,
}

/// Where the saving stands.
#[derive(Debug, Default)]
struct Round {
    /// Every ticket up to this one is on disk.
    saved: u64,
    /// A leader is saving now.
    saving: bool,
}

impl Saves {
    /// The saves of `part` of the world to `dir/file`.
    pub fn new(dir: PathBuf, file: &'static str, part: fn(&World) -> Vec<u8>) -> Saves {
        Saves {
            dir,
            file,
            part,
            changed: AtomicU64::new(0),
            round: Mutex::new(Round::default()),
            finished: Condvar::new(),
            stats: Mutex::new(SaveStats::default()),
            changed_at_reset: AtomicU64::new(0),
        }
    }

    /// A ticket for a change to the world. Call it while holding the
    /// world's lock, after the change, and [`Saves::wait`] for the ticket
    /// after letting the lock go.
    pub fn ticket(&self) -> u64 {
        self.changed.fetch_add(1, Ordering::SeqCst) + 1
    }

    /// What the saves cost since start or the last [`Saves::reset_stats`].
    pub fn stats(&self) -> SaveStats {
        let changes =
            self.changed.load(Ordering::SeqCst) - self.changed_at_reset.load(Ordering::SeqCst);
        SaveStats {
            changes,
            ..*lock(&self.stats)
        }
    }

    /// Starts counting [`Saves::stats`] from zero.
    pub fn reset_stats(&self) {
        *lock(&self.stats) = SaveStats::default();
        self.changed_at_reset
            .store(self.changed.load(Ordering::SeqCst), Ordering::SeqCst);
    }

    /// Blocks until `ticket`'s change is on disk, saving the world itself
    /// when no other request is.
    ///
    /// # Errors
    /// [`EmulatorError::Io`] when this request's save failed; the previous
    /// file is then intact and the next save tries again.
    pub fn wait(&self, ticket: u64, world: &Mutex<World>) -> Result<(), EmulatorError> {
        let mut round = lock(&self.round);
        loop {
            if round.saved >= ticket {
                return Ok(());
            }
            if !round.saving {
                break;
            }
            round = self.finished.wait(round).unwrap_or_else(|p| p.into_inner());
        }
        round.saving = true;
        drop(round);
        let result = self.save(world);
        let mut round = lock(&self.round);
        round.saving = false;
        if let Ok(upto) = result {
            round.saved = round.saved.max(upto);
        }
        drop(round);
        self.finished.notify_all();
        result.map(|_| ())
    }

    /// Serialises the world under its lock and writes it without; returns
    /// the newest ticket the file holds.
    fn save(&self, world: &Mutex<World>) -> Result<u64, EmulatorError> {
        let (bytes, upto, serialised) = {
            let world = lock(world);
            let start = Instant::now();
            let bytes = (self.part)(&world);
            (bytes, self.changed.load(Ordering::SeqCst), start.elapsed())
        };
        let start = Instant::now();
        write_file(&self.dir, self.file, &bytes)?;
        let mut stats = lock(&self.stats);
        stats.saves += 1;
        stats.serialise += serialised;
        stats.write += start.elapsed();
        stats.largest = stats.largest.max(bytes.len());
        Ok(upto)
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::emulator::world::WORLD_FILE;
    use std::sync::Arc;

    fn world_saves(dir: &std::path::Path) -> Saves {
        Saves::new(dir.to_path_buf(), WORLD_FILE, World::to_bytes)
    }

    #[test]
    fn a_waited_ticket_is_on_disk() {
        let dir = tempfile::tempdir().expect("tempdir");
        let world = Mutex::new(World::default());
        let saves = world_saves(dir.path());
        let ticket = {
            let mut w = world.lock().unwrap();
            w.new_id();
            saves.ticket()
        };
        saves.wait(ticket, &world).expect("saved");
        assert_eq!(
            World::load(dir.path()).expect("load"),
            *world.lock().unwrap()
        );
    }

    #[test]
    fn concurrent_changes_share_saves_and_all_land() {
        let dir = tempfile::tempdir().expect("tempdir");
        let world = Arc::new(Mutex::new(World::default()));
        let saves = Arc::new(world_saves(dir.path()));
        let threads: Vec<_> = (0..8)
            .map(|t| {
                let (world, saves) = (world.clone(), saves.clone());
                std::thread::spawn(move || {
                    for i in 0..50 {
                        let ticket = {
                            let mut w = world.lock().unwrap();
                            w.resources
                                .insert(format!("r/{t}/{i}"), serde_json::json!(i));
                            saves.ticket()
                        };
                        saves.wait(ticket, &world).expect("saved");
                        // What this thread was told is saved is in the file.
                        let on_disk = World::load(saves.dir.as_path()).expect("load");
                        assert!(on_disk.resources.contains_key(&format!("r/{t}/{i}")));
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().expect("no panic");
        }
        assert_eq!(World::load(dir.path()).expect("load").resources.len(), 400);
        let stats = saves.stats();
        assert_eq!(stats.changes, 400);
        assert!(stats.saves >= 1 && stats.saves <= 400, "{stats:?}");
    }
}

//! Group commit: writers queue their applied entries; one committer thread
//! writes everything queued as one durable transaction, then releases the
//! acks of that whole batch. While one batch is being made durable the next
//! one gathers, so throughput grows with the number of writers.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use crate::durable::{Dirty, Durable};
use crate::error::StoreError;
use crate::record::Entry;

/// Counters of the committer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CommitStats {
    /// Durable transactions committed.
    pub commits: u64,
    /// Entries they held (entries / commits is the mean batch size).
    pub entries: u64,
    /// The largest batch.
    pub largest_batch: u64,
}

#[derive(Default)]
struct State {
    pending: Vec<Arc<Entry>>,
    durable: u64,
    failed: Option<String>,
    stop: bool,
    final_checkpoint: bool,
    stats: CommitStats,
}

/// Called by the committer after each durable commit (and once when it
/// fails), outside every lock.
pub type CommitHook = Arc<dyn Fn() + Send + Sync>;

/// The queue between writers and the committer, and the durable watermark.
pub(crate) struct CommitQueue {
    state: Mutex<State>,
    failed: AtomicBool,
    work: Condvar,
    done: Condvar,
    hook: Mutex<Option<CommitHook>>,
}

impl CommitQueue {
    pub(crate) fn new(durable: u64) -> Self {
        Self {
            state: Mutex::new(State {
                durable,
                ..State::default()
            }),
            failed: AtomicBool::new(false),
            work: Condvar::new(),
            done: Condvar::new(),
            hook: Mutex::new(None),
        }
    }

    /// Set the hook run after each commit (replacing any other).
    pub(crate) fn set_hook(&self, hook: CommitHook) {
        *self.hook.lock().unwrap_or_else(PoisonError::into_inner) = Some(hook);
    }

    /// Clear the hook if it is still `hook` (a successor's stays).
    pub(crate) fn unhook(&self, hook: &CommitHook) {
        let mut current = self.hook.lock().unwrap_or_else(PoisonError::into_inner);
        if current.as_ref().is_some_and(|set| Arc::ptr_eq(set, hook)) {
            *current = None;
        }
    }

    /// Release the waiters, then run the hook (its own clone: a hook that
    /// sets another hook does not deadlock).
    fn committed(&self) {
        self.done.notify_all();
        let hook = self
            .hook
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        if let Some(hook) = hook {
            hook();
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // The state is plain counters and a queue: valid even if a holder panicked.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The failure that stopped the committer, if any.
    pub(crate) fn failure(&self) -> Option<StoreError> {
        if !self.failed.load(Ordering::Acquire) {
            return None;
        }
        let reason = self.lock().failed.clone().unwrap_or_default();
        Some(StoreError::Failed { reason })
    }

    /// Queue an applied entry for the next batch.
    pub(crate) fn push(&self, entry: Arc<Entry>) {
        self.lock().pending.push(entry);
        self.work.notify_one();
    }

    /// Mark `version` visible without writing (the in-memory store).
    pub(crate) fn advance(&self, version: u64) {
        let mut state = self.lock();
        state.durable = state.durable.max(version);
        state.stats.entries += 1;
        drop(state);
        self.committed();
    }

    /// The highest version that is durable (visible, for an in-memory store).
    pub(crate) fn durable(&self) -> u64 {
        self.lock().durable
    }

    pub(crate) fn stats(&self) -> CommitStats {
        self.lock().stats
    }

    /// Block until `version` is durable, or fail if the committer failed.
    pub(crate) fn wait_durable(&self, version: u64) -> Result<(), StoreError> {
        let mut state = self.lock();
        loop {
            if state.durable >= version {
                return Ok(());
            }
            if let Some(reason) = &state.failed {
                return Err(StoreError::Failed {
                    reason: reason.clone(),
                });
            }
            state = self
                .done
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }

    /// Block until the durable version passes `after` or `timeout` elapses;
    /// returns the durable version.
    pub(crate) fn wait_beyond(&self, after: u64, timeout: Duration) -> Result<u64, StoreError> {
        let deadline = Instant::now() + timeout;
        let mut state = self.lock();
        loop {
            if state.durable > after {
                return Ok(state.durable);
            }
            if let Some(reason) = &state.failed {
                return Err(StoreError::Failed {
                    reason: reason.clone(),
                });
            }
            let now = Instant::now();
            if now >= deadline {
                return Ok(state.durable);
            }
            state = self
                .done
                .wait_timeout(state, deadline - now)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }

    /// Ask the committer to finish what is queued and stop; with
    /// `checkpoint`, to write the records table up to date as well (a
    /// store handed over to a successor leaves that to it).
    pub(crate) fn stop(&self, checkpoint: bool) {
        let mut state = self.lock();
        state.stop = true;
        state.final_checkpoint = checkpoint;
        drop(state);
        self.work.notify_all();
    }

    /// The committer thread's loop; `dirty` holds what the records table
    /// lacks so far. Checkpoints every `every` entries and (if asked) on
    /// stop; returns the checkpoint state after a clean stop, nothing after
    /// a failed commit.
    pub(crate) fn run(&self, durable: &Durable, mut dirty: Dirty, every: u64) -> Option<Dirty> {
        let mut batch = Vec::new();
        loop {
            let stopping = {
                let mut state = self.lock();
                while state.pending.is_empty() && !state.stop {
                    state = self
                        .work
                        .wait(state)
                        .unwrap_or_else(PoisonError::into_inner);
                }
                std::mem::swap(&mut batch, &mut state.pending);
                state.stop.then_some(state.final_checkpoint)
            };
            let checkpoint_now = stopping == Some(true) && dirty.entries() > 0;
            if batch.is_empty() && !checkpoint_now {
                return Some(dirty);
            }
            dirty.note(&batch);
            let due = dirty.entries() >= every || checkpoint_now;
            let result = durable.write_batch(&batch, due.then_some(&mut dirty));
            let mut state = self.lock();
            match result {
                Ok(()) => {
                    let last = batch.last().map_or(state.durable, |e| e.version);
                    state.durable = last;
                    if batch.is_empty() {
                        // The final checkpoint alone; nothing was waiting on it.
                        continue;
                    }
                    state.stats.commits += 1;
                    state.stats.entries += batch.len() as u64;
                    state.stats.largest_batch = state.stats.largest_batch.max(batch.len() as u64);
                    batch.clear();
                }
                Err(err) => {
                    tracing::error!(error = %err, path = %durable.path().display(), "store commit failed; no further update is acknowledged");
                    state.failed = Some(err.to_string());
                    self.failed.store(true, Ordering::Release);
                    drop(state);
                    self.committed();
                    return None;
                }
            }
            drop(state);
            self.committed();
        }
    }
}

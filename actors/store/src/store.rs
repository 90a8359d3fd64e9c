//! `Store`: the scene behind a lock, made durable by the group committer.
//! An update is acknowledged only once the transaction holding it is durable
//! (redb, `Durability::Immediate`); reads return only durable state.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use redb::StorageBackend;

use crate::audit::{self, AuditEntry, AuditQuery};
use crate::commit::{CommitHook, CommitQueue, CommitStats};
use crate::durable::{Dirty, Durable};
use crate::error::StoreError;
use crate::handover;
use crate::history::HistoryLimits;
use crate::protocol::{CatchUp, Changes};
use crate::record::{Author, Entry};
use crate::reduce::Rejection;
use crate::scene::{Replay, Scene, TopicSnapshot};
use crate::topic::Topic;

/// How a store is set up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StoreConfig {
    /// How many entries each topic's history keeps for `replay_since`.
    pub history: HistoryLimits,
    /// Entries between two checkpoints of the records table (at least 1):
    /// the most a reopen has to redo from the log.
    pub checkpoint_every: u64,
}

impl Default for StoreConfig {
    fn default() -> Self {
        Self {
            history: HistoryLimits::default(),
            checkpoint_every: 16_384,
        }
    }
}

/// The answer to an update.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Outcome {
    /// Applied, and durable, at `version`.
    Ack {
        /// The global version the update got.
        version: u64,
    },
    /// Not applied; nothing changed.
    Reject {
        /// Why.
        reason: Rejection,
        /// The store's version when it said no: a writer that catches up to
        /// it (by replay) may retry with it as `expected_version`.
        current_version: u64,
    },
}

struct Locked {
    scene: Scene,
    last_timestamp: u64,
    /// The audit log of an in-memory store (a durable one reads its file).
    memory_log: Vec<Arc<Entry>>,
}

struct Inner {
    locked: Mutex<Locked>,
    queue: CommitQueue,
    durable: Option<Durable>,
}

impl Inner {
    /// An inner with nothing in it: what a dropped store keeps once it has
    /// handed its own over.
    fn empty() -> Self {
        Self {
            locked: Mutex::new(Locked {
                scene: Scene::new(HistoryLimits::uniform(1)),
                last_timestamp: 0,
                memory_log: Vec::new(),
            }),
            queue: CommitQueue::new(0),
            durable: None,
        }
    }
}

/// The authoritative scene store. `Sync`: share it between writer threads.
pub struct Store {
    inner: Arc<Inner>,
    committer: Option<JoinHandle<Option<Dirty>>>,
    /// The directory and config it was opened with (a durable store on a file).
    home: Option<(PathBuf, StoreConfig)>,
    /// Hand over instead of closing when dropped (see [`Store::hand_over_on_drop`]).
    hand_over: AtomicBool,
    /// Opened from a predecessor's hand-over rather than from the file.
    handed_over: bool,
}

impl Store {
    /// A store that lives in memory only: acks are immediate, nothing survives.
    pub fn in_memory(config: StoreConfig) -> Store {
        Self::start(Scene::new(config.history), None, config)
    }

    /// Open (or create) the durable store in `dir`: every acknowledged update
    /// is there, and no half-applied one.
    pub fn open(dir: &Path, config: StoreConfig) -> Result<Store, StoreError> {
        let began = std::time::Instant::now();
        if let Some(parked) = handover::take(dir, config) {
            tracing::debug!(
                ms = began.elapsed().as_secs_f64() * 1e3,
                version = parked.scene.version(),
                "store handed over by the previous instance"
            );
            let mut store = Self::start(parked.scene, Some((parked.durable, parked.dirty)), config);
            store.lock()?.last_timestamp = parked.last_timestamp;
            store.home = Some((parked.dir, config));
            store.handed_over = true;
            return Ok(store);
        }
        let durable = Durable::create(dir)?;
        let opened = began.elapsed();
        let (scene, dirty) = durable.load(config.history)?;
        tracing::debug!(
            open_ms = opened.as_secs_f64() * 1e3,
            load_ms = (began.elapsed() - opened).as_secs_f64() * 1e3,
            version = scene.version(),
            "store file opened and loaded"
        );
        let mut store = Self::start(scene, Some((durable, dirty)), config);
        store.home = Some((dir.to_owned(), config));
        Ok(store)
    }

    /// When this store is dropped rather than closed, hand its open file,
    /// its scene and its checkpoint state to the next [`Store::open`] of the
    /// same directory and config in this process (within
    /// [`HANDOVER_WAIT`](crate::HANDOVER_WAIT)), instead of closing: an actor instance restarted
    /// after a crash then starts without waiting for the old one to close
    /// the file and without reloading it. Everything handed over is durable
    /// (the committer has written all it was given); a store whose commit
    /// failed or whose scene a panicking writer left half-changed is closed
    /// as usual. Unclaimed, it is closed after the wait. The store actor
    /// sets this at start; its orderly stop clears it.
    pub fn hand_over_on_drop(&self, yes: bool) {
        self.hand_over.store(yes, Ordering::Relaxed);
    }

    /// Whether [`Store::open`] took this store from a predecessor's
    /// hand-over instead of loading it from the file.
    pub fn was_handed_over(&self) -> bool {
        self.handed_over
    }

    /// Open (or create) a durable store on any redb storage backend — a
    /// simulated disk in the power-loss tests; `label` names it in errors.
    /// Everything [`Store::open`] promises holds as far as the backend
    /// keeps what `sync_data` made durable.
    pub fn open_on(
        label: &Path,
        backend: impl StorageBackend,
        config: StoreConfig,
    ) -> Result<Store, StoreError> {
        let durable = Durable::create_on(label, backend)?;
        let (scene, dirty) = durable.load(config.history)?;
        Ok(Self::start(scene, Some((durable, dirty)), config))
    }

    /// Open the existing store in `dir` (never creating one).
    pub fn open_existing(dir: &Path, config: StoreConfig) -> Result<Store, StoreError> {
        let durable = Durable::open_existing(dir)?;
        let (scene, dirty) = durable.load(config.history)?;
        Ok(Self::start(scene, Some((durable, dirty)), config))
    }

    fn start(scene: Scene, durable: Option<(Durable, Dirty)>, config: StoreConfig) -> Store {
        let every = config.checkpoint_every.max(1);
        let (durable, dirty) = match durable {
            Some((d, dirty)) => (Some(d), Some(dirty)),
            None => (None, None),
        };
        let inner = Arc::new(Inner {
            queue: CommitQueue::new(scene.version()),
            locked: Mutex::new(Locked {
                scene,
                last_timestamp: 0,
                memory_log: Vec::new(),
            }),
            durable,
        });
        let committer = dirty.map(|dirty| {
            let inner = Arc::clone(&inner);
            std::thread::Builder::new()
                .name("warden-store-commit".into())
                .spawn(move || {
                    let durable = inner.durable.as_ref()?;
                    inner.queue.run(durable, dirty, every)
                })
                .expect("invariant: the OS can start the committer thread")
        });
        Store {
            inner,
            committer,
            home: None,
            hand_over: AtomicBool::new(false),
            handed_over: false,
        }
    }

    fn lock(&self) -> Result<MutexGuard<'_, Locked>, StoreError> {
        if let Some(err) = self.inner.queue.failure() {
            return Err(err);
        }
        self.inner.locked.lock().map_err(|_| StoreError::Failed {
            reason: "a writer panicked while applying an update".into(),
        })
    }

    /// Apply `payload` to `topic` as `author`, if no record it writes changed
    /// after `expected_version`. Returns once the update is durable.
    pub fn apply_delta(
        &self,
        topic: Topic,
        payload: impl Into<Arc<Value>>,
        expected_version: u64,
        author: &Author,
    ) -> Result<Outcome, StoreError> {
        self.write(|locked, timestamp| {
            locked
                .scene
                .apply_delta(topic, payload, expected_version, author, timestamp)
        })
    }

    /// Replace `topic` with the snapshot `payload` (`{target: {key: value}}`)
    /// at `version`, which must exceed the store's version.
    pub fn seed_snapshot(
        &self,
        topic: Topic,
        payload: impl Into<Arc<Value>>,
        version: u64,
    ) -> Result<Outcome, StoreError> {
        self.write(|locked, timestamp| {
            locked
                .scene
                .seed_snapshot(topic, payload, version, timestamp)
        })
    }

    /// [`Store::apply_delta`] without waiting: an `Ack` here means applied
    /// and queued for the commit; it is durable (and may be acknowledged to
    /// the writer) once [`Store::version`] reaches its version.
    pub fn apply_delta_queued(
        &self,
        topic: Topic,
        payload: impl Into<Arc<Value>>,
        expected_version: u64,
        author: &Author,
    ) -> Result<Outcome, StoreError> {
        self.queue_write(|locked, timestamp| {
            locked
                .scene
                .apply_delta(topic, payload, expected_version, author, timestamp)
        })
    }

    fn write(
        &self,
        apply: impl FnOnce(&mut Locked, u64) -> Result<Arc<Entry>, Rejection>,
    ) -> Result<Outcome, StoreError> {
        let outcome = self.queue_write(apply)?;
        if let Outcome::Ack { version } = outcome {
            self.inner.queue.wait_durable(version)?;
        }
        Ok(outcome)
    }

    fn queue_write(
        &self,
        apply: impl FnOnce(&mut Locked, u64) -> Result<Arc<Entry>, Rejection>,
    ) -> Result<Outcome, StoreError> {
        let version = {
            let mut locked = self.lock()?;
            let timestamp = now_ms().max(locked.last_timestamp);
            let entry = match apply(&mut locked, timestamp) {
                Ok(entry) => entry,
                Err(reason) => {
                    let current_version = locked.scene.version();
                    return Ok(Outcome::Reject {
                        reason,
                        current_version,
                    });
                }
            };
            locked.last_timestamp = timestamp;
            let version = entry.version;
            if self.inner.durable.is_some() {
                // Queued under the scene lock, so batches hold versions in order.
                self.inner.queue.push(entry);
            } else {
                locked.memory_log.push(entry);
                self.inner.queue.advance(version);
            }
            version
        };
        Ok(Outcome::Ack { version })
    }

    /// The global version of the latest durable update.
    pub fn version(&self) -> u64 {
        self.inner.queue.durable()
    }

    /// Run `hook` on the committer's thread after every durable commit
    /// (and once if the committer fails), in place of any hook set before.
    /// Keep it short: the next commit waits for it. This is how an owner
    /// learns of commits without a thread of its own waiting on them.
    pub fn set_commit_hook(&self, hook: CommitHook) {
        self.inner.queue.set_hook(hook);
    }

    /// Stop running `hook` — unless another has replaced it since (an
    /// abandoned instance letting go must not unhook its successor).
    pub fn unhook_commits(&self, hook: &CommitHook) {
        self.inner.queue.unhook(hook);
    }

    /// Block until the version passes `after` or `timeout` elapses; returns
    /// the version. Watchers call this, then `replay_since`.
    pub fn wait_beyond(&self, after: u64, timeout: Duration) -> Result<u64, StoreError> {
        self.inner.queue.wait_beyond(after, timeout)
    }

    /// Run `read` on the scene, then wait until everything it saw is durable.
    fn read<T>(&self, read: impl FnOnce(&Scene) -> T) -> Result<T, StoreError> {
        let (value, version) = {
            let locked = self.lock()?;
            (read(&locked.scene), locked.scene.version())
        };
        self.inner.queue.wait_durable(version)?;
        Ok(value)
    }

    /// The records of `topic` now.
    pub fn snapshot(&self, topic: Topic) -> Result<TopicSnapshot, StoreError> {
        self.read(|scene| scene.snapshot(topic))
    }

    /// The entries of `topic` after `since`, or a baseline if the cursor
    /// fell off the history.
    pub fn replay_since(&self, topic: Topic, since: u64) -> Result<Replay, StoreError> {
        self.read(|scene| scene.replay_since(topic, since))
    }

    /// Catch a client up on `topics` as of one version: per topic the deltas
    /// after `since`, or a baseline (always one when `since` is `None`).
    pub fn catch_up(&self, topics: &[Topic], since: Option<u64>) -> Result<CatchUp, StoreError> {
        self.read(|scene| CatchUp {
            version: scene.version(),
            topics: topics
                .iter()
                .map(|t| {
                    let replay = match since {
                        Some(since) => scene.replay_since(*t, since),
                        None => Replay::Baseline(scene.snapshot(*t)),
                    };
                    (*t, replay)
                })
                .collect(),
        })
    }

    /// Every durable change after `since`, all topics in version order; topics
    /// whose history no longer reaches back are named in `compacted`.
    pub fn changes_since(&self, since: u64) -> Result<Changes, StoreError> {
        self.read(|scene| {
            let mut changes = Changes {
                version: scene.version(),
                entries: Vec::new(),
                compacted: Vec::new(),
            };
            for topic in Topic::ALL {
                match scene.deltas_since(topic, since) {
                    Some(entries) => changes.entries.extend(entries),
                    None => changes.compacted.push(topic),
                }
            }
            changes.entries.sort_by_key(|e| e.version);
            changes
        })
    }

    /// Per topic: the compaction point and how many entries the history holds.
    pub fn history_state(&self) -> Result<Vec<(Topic, u64, usize)>, StoreError> {
        self.read(|scene| {
            Topic::ALL
                .iter()
                .map(|t| (*t, scene.compacted_at(*t), scene.history_len(*t)))
                .collect()
        })
    }

    /// The audit lines of the durable updates `query` selects, in version order.
    pub fn audit(&self, query: &AuditQuery) -> Result<Vec<AuditEntry>, StoreError> {
        let Some(durable) = &self.inner.durable else {
            let locked = self.lock()?;
            return Ok(locked
                .memory_log
                .iter()
                .filter(|e| query.matches(e))
                .flat_map(|e| audit::lines(e))
                .collect());
        };
        let reader = durable.reader()?;
        let mut out = Vec::new();
        match &query.actor {
            Some(actor) => {
                for entry in reader.entries_by_actor(actor, query.from, query.to)? {
                    out.extend(audit::lines(&entry));
                }
            }
            None => reader.for_each_entry(query.from, query.to, |entry| {
                out.extend(audit::lines(&entry));
                Ok(())
            })?,
        }
        Ok(out)
    }

    /// The group committer's counters.
    pub fn commit_stats(&self) -> CommitStats {
        self.inner.queue.stats()
    }

    /// Stop the committer after it has written everything queued; reports a
    /// commit failure if there was one.
    pub fn close(mut self) -> Result<(), StoreError> {
        self.hand_over.store(false, Ordering::Relaxed);
        self.shutdown();
        match self.inner.queue.failure() {
            Some(err) => Err(err),
            None => Ok(()),
        }
    }

    /// Stop the committer once it has written everything queued; the
    /// checkpoint state it leaves (none after a failed commit).
    fn shutdown(&mut self) -> Option<Dirty> {
        let handle = self.committer.take()?;
        let handing_over = self.hand_over.load(Ordering::Relaxed);
        self.inner.queue.stop(!handing_over);
        match handle.join() {
            Ok(dirty) => dirty,
            Err(_) => {
                tracing::error!("the store committer thread panicked");
                None
            }
        }
    }

    /// Park this (stopped) store for its successor, if it is whole.
    fn hand_over(&mut self, dirty: Dirty) {
        let Some((dir, config)) = self.home.take() else {
            return;
        };
        let inner = std::mem::replace(&mut self.inner, Arc::new(Inner::empty()));
        // Nobody else holds it once the committer is gone; if someone did,
        // it closes as usual when they let go.
        let Ok(inner) = Arc::try_unwrap(inner) else {
            return;
        };
        let durable_version = inner.queue.durable();
        if inner.queue.failure().is_some() {
            return;
        }
        // Poisoned: a writer panicked mid-update; the next open reloads.
        let Ok(locked) = inner.locked.into_inner() else {
            return;
        };
        let Some(durable) = inner.durable else {
            return;
        };
        if locked.scene.version() != durable_version {
            return;
        }
        handover::park(handover::Parked {
            dir,
            config,
            scene: locked.scene,
            durable,
            dirty,
            last_timestamp: locked.last_timestamp,
        });
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        let dirty = self.shutdown();
        if let Some(dirty) = dirty
            && self.hand_over.load(Ordering::Relaxed)
        {
            self.hand_over(dirty);
        }
    }
}

/// Milliseconds since the Unix epoch.
fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

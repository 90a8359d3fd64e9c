//! The pure core of the store: records, the global version, and the history
//! rings, with `apply_delta`, `seed_snapshot` and `replay_since`. No I/O, no
//! clock: the caller passes the timestamp, so the same inputs give the same
//! scene, which is what replaying the durable log relies on.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::ReplayError;
use crate::history::{History, HistoryLimits};
use crate::record::{Author, Entry, EntryKind, Stamp};
use crate::records::{TopicRecords, Write};
use crate::reduce::{self, Rejection};
use crate::topic::Topic;

/// The records of one topic as of a global version: the baseline a client
/// relists from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TopicSnapshot {
    /// The topic.
    pub topic: Topic,
    /// The global version this snapshot is current at.
    pub version: u64,
    /// Every record of the topic.
    pub records: TopicRecords,
}

impl TopicSnapshot {
    /// Bring the snapshot forward by one entry of its topic, as a client
    /// applying `notify` deltas does.
    pub fn apply(&mut self, entry: &Entry) {
        self.records
            .apply_changes(&entry.changes, entry.stamp(), &entry.author());
        self.version = self.version.max(entry.version);
    }
}

/// What `replay_since` gives a cursor.
#[derive(Clone, Debug, PartialEq)]
pub enum Replay {
    /// The topic's entries after the cursor, oldest first (possibly none).
    Deltas(Vec<Arc<Entry>>),
    /// The cursor fell off the history (or is ahead of the store): relist
    /// from this snapshot and resume from its version.
    Baseline(TopicSnapshot),
}

/// The largest version a store reaches: 2^53 − 1, the largest integer that
/// every JSON client (JavaScript's numbers included) reads exactly. Seeds
/// above it and updates past it are refused, so versions never wrap.
pub const MAX_VERSION: u64 = (1 << 53) - 1;

/// The scene: every topic's records, the global version and the histories.
#[derive(Clone, Debug)]
pub struct Scene {
    records: [TopicRecords; 3],
    history: [History; 3],
    version: u64,
}

impl Scene {
    /// An empty scene at version 0.
    pub fn new(limits: HistoryLimits) -> Self {
        Self {
            records: Default::default(),
            history: std::array::from_fn(|i| History::new(limits.for_index(i))),
            version: 0,
        }
    }

    /// A scene rebuilt from stored parts: the records, the global version,
    /// and per topic its compaction point and the tail of its log.
    pub(crate) fn restore(
        limits: HistoryLimits,
        version: u64,
        records: [TopicRecords; 3],
        tails: [(u64, Vec<Arc<Entry>>); 3],
    ) -> Self {
        let mut i = 0;
        let history = tails.map(|(compacted_at, entries)| {
            let h = History::restored(limits.for_index(i), compacted_at, entries);
            i += 1;
            h
        });
        Self {
            records,
            history,
            version,
        }
    }

    /// The global version: the version of the latest applied update.
    pub fn version(&self) -> u64 {
        self.version
    }

    /// The current records of `topic`.
    pub fn records(&self, topic: Topic) -> &TopicRecords {
        &self.records[topic.index()]
    }

    /// A snapshot of `topic` at the current version.
    pub fn snapshot(&self, topic: Topic) -> TopicSnapshot {
        TopicSnapshot {
            topic,
            version: self.version,
            records: self.records[topic.index()].clone(),
        }
    }

    /// Cursors of `topic` below this version must relist.
    pub fn compacted_at(&self, topic: Topic) -> u64 {
        self.history[topic.index()].compacted_at()
    }

    /// How many entries `topic`'s history holds.
    pub fn history_len(&self, topic: Topic) -> usize {
        self.history[topic.index()].len()
    }

    /// Apply a delta with optimistic concurrency: rejected (changing nothing)
    /// if a record it writes changed after `expected_version`.
    pub fn apply_delta(
        &mut self,
        topic: Topic,
        payload: impl Into<Arc<Value>>,
        expected_version: u64,
        author: &Author,
        timestamp: u64,
    ) -> Result<Arc<Entry>, Rejection> {
        if self.version >= MAX_VERSION {
            return Err(Rejection::Invalid {
                field: "version".into(),
                message: format!("the store has reached its largest version, {MAX_VERSION}"),
            });
        }
        let stamp = Stamp {
            version: self.version + 1,
            timestamp,
        };
        self.apply_stamped(topic, payload.into(), expected_version, author, stamp)
    }

    fn apply_stamped(
        &mut self,
        topic: Topic,
        payload: Arc<Value>,
        expected_version: u64,
        author: &Author,
        stamp: Stamp,
    ) -> Result<Arc<Entry>, Rejection> {
        if expected_version > self.version {
            return Err(Rejection::Ahead {
                expected_version,
                current_version: self.version,
            });
        }
        let prev = &self.records[topic.index()];
        let writes = reduce::reduce(topic, prev, &payload)?;
        if let Some((write, record_version)) = prev.guard(&writes)
            && record_version > expected_version
        {
            return Err(Rejection::Stale {
                target: write.target.clone(),
                key: write.key.clone(),
                record_version,
                expected_version,
            });
        }
        Ok(self.commit(
            topic,
            EntryKind::Delta,
            stamp,
            author,
            expected_version,
            payload,
            writes,
        ))
    }

    /// Replace `topic` with a whole snapshot `{target: {key: value}}` at
    /// `version`, which must exceed the global version. The topic's history
    /// restarts there: older cursors get a baseline.
    pub fn seed_snapshot(
        &mut self,
        topic: Topic,
        payload: impl Into<Arc<Value>>,
        version: u64,
        timestamp: u64,
    ) -> Result<Arc<Entry>, Rejection> {
        if version > MAX_VERSION {
            return Err(Rejection::Invalid {
                field: "version".into(),
                message: format!(
                    "{version} is above the largest version, {MAX_VERSION} (the largest \
                     integer every JSON client reads exactly)"
                ),
            });
        }
        if version <= self.version {
            return Err(Rejection::SeedNotAhead {
                version,
                current_version: self.version,
            });
        }
        let payload = payload.into();
        let writes = reduce::seed_writes(topic, &self.records[topic.index()], &payload)?;
        let stamp = Stamp { version, timestamp };
        let before = self.version;
        Ok(self.commit(
            topic,
            EntryKind::Seed,
            stamp,
            &Author::seed(),
            before,
            payload,
            writes,
        ))
    }

    #[allow(clippy::too_many_arguments)]
    fn commit(
        &mut self,
        topic: Topic,
        kind: EntryKind,
        stamp: Stamp,
        author: &Author,
        expected_version: u64,
        payload: Arc<Value>,
        writes: Vec<Write>,
    ) -> Arc<Entry> {
        let changes = self.records[topic.index()].apply(writes, stamp, author);
        let entry = Arc::new(Entry {
            version: stamp.version,
            timestamp: stamp.timestamp,
            topic,
            kind,
            actor_id: author.actor_id.clone(),
            origin: author.origin.clone(),
            expected_version,
            payload,
            changes,
        });
        let history = &mut self.history[topic.index()];
        match kind {
            EntryKind::Delta => history.push(Arc::clone(&entry)),
            EntryKind::Seed => history.reset(stamp.version),
        }
        self.version = stamp.version;
        entry
    }

    /// The entries of `topic` after `since`, or a baseline when the cursor
    /// fell off the history or is ahead of the store.
    pub fn replay_since(&self, topic: Topic, since: u64) -> Replay {
        match self.deltas_since(topic, since) {
            Some(entries) => Replay::Deltas(entries),
            None => Replay::Baseline(self.snapshot(topic)),
        }
    }

    /// The entries of `topic` after `since`, or `None` when the cursor fell
    /// off the history (or is ahead of the store).
    pub fn deltas_since(&self, topic: Topic, since: u64) -> Option<Vec<Arc<Entry>>> {
        if since > self.version {
            return None;
        }
        self.history[topic.index()].since(since)
    }

    /// Re-apply a logged entry with its own stamp and check that it makes
    /// exactly the changes it logged.
    pub fn replay(&mut self, entry: &Entry) -> Result<Arc<Entry>, ReplayError> {
        let version = entry.version;
        let replayed = match entry.kind {
            EntryKind::Delta => {
                if version != self.version + 1 {
                    return Err(ReplayError::Gap {
                        version,
                        previous: self.version,
                    });
                }
                self.apply_stamped(
                    entry.topic,
                    Arc::clone(&entry.payload),
                    entry.expected_version,
                    &entry.author(),
                    entry.stamp(),
                )
            }
            EntryKind::Seed => self.seed_snapshot(
                entry.topic,
                Arc::clone(&entry.payload),
                version,
                entry.timestamp,
            ),
        }
        .map_err(|rejection| ReplayError::Rejected { version, rejection })?;
        if replayed.changes != entry.changes {
            return Err(ReplayError::Diverged { version });
        }
        Ok(replayed)
    }
}

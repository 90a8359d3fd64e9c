//! The resumable history of one topic: a ring buffer of the latest entries
//! and the compaction point below which a cursor must relist (etcd's
//! "compacted", Kubernetes' 410 Gone).

use std::collections::VecDeque;
use std::sync::Arc;

use crate::record::Entry;

/// How many entries each topic's history keeps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HistoryLimits {
    /// Entries kept for `layers`.
    pub layers: usize,
    /// Entries kept for `dims`.
    pub dims: usize,
    /// Entries kept for `camera`.
    pub camera: usize,
}

impl HistoryLimits {
    /// The same limit for every topic (at least 1).
    pub fn uniform(entries: usize) -> Self {
        Self {
            layers: entries,
            dims: entries,
            camera: entries,
        }
    }

    pub(crate) fn for_index(&self, index: usize) -> usize {
        match index {
            0 => self.layers,
            1 => self.dims,
            _ => self.camera,
        }
        .max(1)
    }
}

impl Default for HistoryLimits {
    fn default() -> Self {
        Self::uniform(4096)
    }
}

/// A ring buffer of a topic's latest entries, oldest first.
#[derive(Clone, Debug)]
pub(crate) struct History {
    entries: VecDeque<Arc<Entry>>,
    limit: usize,
    compacted_at: u64,
}

impl History {
    pub(crate) fn new(limit: usize) -> Self {
        Self {
            entries: VecDeque::with_capacity(limit.min(1024)),
            limit: limit.max(1),
            compacted_at: 0,
        }
    }

    /// A history that starts after `compacted_at`, holding `entries` (oldest first).
    pub(crate) fn restored(limit: usize, compacted_at: u64, entries: Vec<Arc<Entry>>) -> Self {
        let mut history = Self::new(limit);
        history.compacted_at = compacted_at;
        for entry in entries {
            history.push(entry);
        }
        history
    }

    /// Append the newest entry, pruning the oldest past the limit.
    pub(crate) fn push(&mut self, entry: Arc<Entry>) {
        if self.entries.len() == self.limit
            && let Some(pruned) = self.entries.pop_front()
        {
            self.compacted_at = pruned.version;
        }
        self.entries.push_back(entry);
    }

    /// The compaction point and the entries, leaving the history empty.
    pub(crate) fn take(&mut self) -> (u64, VecDeque<Arc<Entry>>) {
        (self.compacted_at, std::mem::take(&mut self.entries))
    }

    /// Forget everything up to and including `version` (a seed replaced the topic).
    pub(crate) fn reset(&mut self, version: u64) {
        self.entries.clear();
        self.compacted_at = version;
    }

    /// Cursors below this version fell off the history and must relist.
    pub(crate) fn compacted_at(&self) -> u64 {
        self.compacted_at
    }

    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// The entries after `since`, or `None` when `since` is below the compaction point.
    pub(crate) fn since(&self, since: u64) -> Option<Vec<Arc<Entry>>> {
        if since < self.compacted_at {
            return None;
        }
        let start = self.entries.partition_point(|e| e.version <= since);
        Some(self.entries.range(start..).cloned().collect())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::*;
    use crate::record::EntryKind;
    use crate::topic::Topic;

    fn entry(version: u64) -> Arc<Entry> {
        Arc::new(Entry {
            version,
            timestamp: 0,
            topic: Topic::Camera,
            kind: EntryKind::Delta,
            actor_id: Arc::from("a"),
            origin: Arc::from("t"),
            expected_version: 0,
            payload: Arc::new(Value::Null),
            changes: Vec::new(),
        })
    }

    fn versions(entries: Option<Vec<Arc<Entry>>>) -> Option<Vec<u64>> {
        entries.map(|es| es.iter().map(|e| e.version).collect())
    }

    #[test]
    fn pruning_moves_the_compaction_point() {
        let mut h = History::new(3);
        for v in [2, 4, 6, 8] {
            h.push(entry(v));
        }
        assert_eq!(h.compacted_at(), 2);
        assert_eq!(
            versions(h.since(1)),
            None,
            "a cursor that missed version 2 must relist"
        );
        assert_eq!(versions(h.since(2)), Some(vec![4, 6, 8]));
        assert_eq!(versions(h.since(5)), Some(vec![6, 8]));
        assert_eq!(versions(h.since(8)), Some(vec![]));
        h.reset(9);
        assert_eq!(versions(h.since(8)), None);
        assert_eq!(versions(h.since(9)), Some(vec![]));
    }
}

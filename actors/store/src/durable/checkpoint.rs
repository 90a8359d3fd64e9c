//! The records changed since the last checkpoint, coalesced per record (the
//! last change wins), waiting to be written to the `records` table.

use std::collections::HashMap;

use crate::record::{Entry, Record};
use crate::topic::Topic;

type Key = (Topic, String, String);

/// Records changed since the last checkpoint; `None` for deleted ones.
#[derive(Default)]
pub(crate) struct Dirty {
    records: HashMap<Key, Option<Record>>,
    version: u64,
    entries: u64,
}

impl Dirty {
    /// Start counting after the checkpoint at `version`.
    pub(crate) fn new(version: u64) -> Self {
        Self {
            version,
            ..Self::default()
        }
    }

    /// Note the changes of `entries` (in version order).
    pub(crate) fn note(&mut self, entries: &[std::sync::Arc<Entry>]) {
        for entry in entries {
            self.note_one(entry);
        }
    }

    /// Note the changes of one entry (the next in version order).
    pub(crate) fn note_one(&mut self, entry: &Entry) {
        {
            for change in &entry.changes {
                let record = change.new.as_ref().map(|value| Record {
                    confirmed_value: value.clone(),
                    version: entry.version,
                    actor_id: entry.actor_id.clone(),
                    origin: entry.origin.clone(),
                    timestamp: entry.timestamp,
                });
                self.records.insert(
                    (entry.topic, change.target.clone(), change.key.clone()),
                    record,
                );
            }
            self.version = entry.version;
            self.entries += 1;
        }
    }

    /// Entries noted since the last checkpoint.
    pub(crate) fn entries(&self) -> u64 {
        self.entries
    }

    /// The version the records table will be at once these are written.
    pub(crate) fn version(&self) -> u64 {
        self.version
    }

    /// Take the records to write, in key order; the count restarts.
    pub(crate) fn drain(&mut self) -> Vec<(Key, Option<Record>)> {
        self.entries = 0;
        let mut rows: Vec<_> = self.records.drain().collect();
        rows.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        rows
    }
}

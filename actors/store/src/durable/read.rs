//! Reading the store file through one read transaction: meta values, the
//! records, a topic's log tail, and the whole log merged in version order.

use std::iter::Peekable;
use std::sync::Arc;

use redb::{ReadOnlyTable, ReadTransaction, ReadableTable, ReadableTableMetadata};

use super::codec;
use super::{FORMAT, LOG, META, RECORDS};
use crate::error::{StorageContext, StoreError};
use crate::record::{Entry, EntryKind};
use crate::records::TopicRecords;
use crate::topic::Topic;

type LogRange = redb::Range<'static, (u8, u64), &'static [u8]>;

/// A consistent read view of the store file.
pub(crate) struct LogReader {
    meta: ReadOnlyTable<&'static str, u64>,
    log: ReadOnlyTable<(u8, u64), &'static [u8]>,
    records: ReadOnlyTable<(u8, &'static str, &'static str), &'static [u8]>,
}

impl LogReader {
    pub(crate) fn new(txn: ReadTransaction) -> Result<Self, StoreError> {
        let missing = |e: redb::TableError| match e {
            redb::TableError::TableDoesNotExist(name) => StoreError::Corrupt {
                what: format!("the file has no `{name}` table (not a warden store?)"),
            },
            other => StoreError::Storage {
                context: "open table",
                source: other.into(),
            },
        };
        Ok(Self {
            meta: txn.open_table(META).map_err(missing)?,
            log: txn.open_table(LOG).map_err(missing)?,
            records: txn.open_table(RECORDS).map_err(missing)?,
        })
    }

    fn meta(&self, key: &str) -> Result<Option<u64>, StoreError> {
        Ok(self.meta.get(key).context("read meta")?.map(|g| g.value()))
    }

    /// Check the format marker.
    pub(crate) fn check_format(&self) -> Result<(), StoreError> {
        match self.meta("format")? {
            Some(FORMAT) => Ok(()),
            Some(found) => Err(StoreError::Format {
                found,
                supported: FORMAT,
            }),
            None => Err(StoreError::Corrupt {
                what: "the file has no format marker (not a warden store?)".into(),
            }),
        }
    }

    /// The version the `records` table is at.
    pub(crate) fn checkpoint(&self) -> Result<u64, StoreError> {
        Ok(self.meta("checkpoint")?.unwrap_or(0))
    }

    /// How many entries the log holds.
    pub(crate) fn log_len(&self) -> Result<u64, StoreError> {
        self.log.len().context("count log")
    }

    fn topic_range(&self, topic: Topic, from: u64, to: u64) -> Result<LogRange, StoreError> {
        let code = topic.code();
        self.log
            .range((code, from)..=(code, to))
            .context("read log")
    }

    /// The highest version in the log (0 when empty).
    pub(crate) fn last_version(&self) -> Result<u64, StoreError> {
        let mut last = 0;
        for topic in Topic::ALL {
            if let Some(row) = self.topic_range(topic, 0, u64::MAX)?.next_back() {
                let (key, _) = row.context("read log")?;
                last = last.max(key.value().1);
            }
        }
        Ok(last)
    }

    /// Every stored record, by topic.
    pub(crate) fn records(&self) -> Result<[TopicRecords; 3], StoreError> {
        let mut out: [TopicRecords; 3] = Default::default();
        for row in self.records.iter().context("read records")? {
            let (key, value) = row.context("read records")?;
            let (code, target, name) = key.value();
            let topic = codec::topic(code, "records")?;
            let record = codec::decode_record(topic, target, name, value.value())?;
            out[topic.index()].insert(target.to_owned(), name.to_owned(), record);
        }
        Ok(out)
    }

    /// The newest `limit` entries of `topic` up to version `to` since its
    /// last seed (oldest first), and the compaction point below them.
    pub(crate) fn tail(
        &self,
        topic: Topic,
        to: u64,
        limit: usize,
    ) -> Result<(u64, Vec<Arc<Entry>>), StoreError> {
        let mut newest_first = Vec::new();
        let mut compacted_at = 0;
        for row in self.topic_range(topic, 0, to)?.rev() {
            let (key, value) = row.context("read log")?;
            let version = key.value().1;
            if newest_first.len() == limit {
                compacted_at = version;
                break;
            }
            let entry = codec::decode_entry(topic, version, value.value())?;
            if entry.kind == EntryKind::Seed {
                compacted_at = version;
                break;
            }
            newest_first.push(Arc::new(entry));
        }
        newest_first.reverse();
        Ok((compacted_at, newest_first))
    }

    /// Visit the entries with versions `from..=to`, all topics, in version order.
    pub(crate) fn for_each_entry(
        &self,
        from: u64,
        to: u64,
        mut visit: impl FnMut(Entry) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let mut ranges: Vec<(Topic, Peekable<LogRange>)> = Vec::new();
        for topic in Topic::ALL {
            ranges.push((topic, self.topic_range(topic, from, to)?.peekable()));
        }
        loop {
            // Pick the range whose next row has the lowest version.
            let mut best: Option<(usize, u64)> = None;
            for (i, (_, range)) in ranges.iter_mut().enumerate() {
                match range.peek() {
                    Some(Ok((key, _))) => {
                        let version = key.value().1;
                        if best.is_none_or(|(_, v)| version < v) {
                            best = Some((i, version));
                        }
                    }
                    Some(Err(_)) => best = Some((i, 0)),
                    None => {}
                }
            }
            let Some((i, _)) = best else {
                return Ok(());
            };
            let (topic, range) = &mut ranges[i];
            if let Some(row) = range.next() {
                let (key, value) = row.context("read log")?;
                visit(codec::decode_entry(*topic, key.value().1, value.value())?)?;
            }
        }
    }

    /// The entries of `actor` with versions `from..=to`, in version order
    /// (a scan of the log: audit queries are rare, writes are not).
    pub(crate) fn entries_by_actor(
        &self,
        actor: &str,
        from: u64,
        to: u64,
    ) -> Result<Vec<Entry>, StoreError> {
        let mut out = Vec::new();
        self.for_each_entry(from, to, |entry| {
            if &*entry.actor_id == actor {
                out.push(entry);
            }
            Ok(())
        })?;
        Ok(out)
    }
}

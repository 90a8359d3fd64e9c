//! The redb file: tables, opening and creating, loading the scene, and
//! writing a batch of entries as one durable transaction.
//!
//! Tables: `meta` (format, checkpoint), `log` ((topic, version) → entry JSON:
//! the append-only log, which is also the audit log) and `records` ((topic,
//! target, key) → record JSON: the state as of the checkpoint version).
//!
//! An update is durable once its log row is: one row per update, in one
//! transaction per batch, so an update is never half there. The records
//! table is a checkpoint — rewritten every `StoreConfig::checkpoint_every` entries and
//! on close — so that a batch dirties only the log's few tail pages; opening
//! reads the checkpoint and redoes the logged changes after it.

mod checkpoint;
mod codec;
mod read;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use redb::{Database, Durability, ReadableDatabase, ReadableTable, TableDefinition};

use crate::error::{StorageContext, StoreError};
use crate::history::{History, HistoryLimits};
use crate::record::{Entry, EntryKind};
use crate::scene::Scene;
use crate::topic::Topic;

pub(crate) use checkpoint::Dirty;
pub(crate) use read::LogReader;

/// The file inside the data directory.
pub const FILE_NAME: &str = "store.redb";
/// A new store file while it is made (renamed to [`FILE_NAME`] once whole).
pub const CREATING_FILE_NAME: &str = "store.redb.creating";
/// The format this build writes and reads.
pub(crate) const FORMAT: u64 = 1;

const META: TableDefinition<'_, &str, u64> = TableDefinition::new("meta");
const LOG: TableDefinition<'_, (u8, u64), &[u8]> = TableDefinition::new("log");
const RECORDS: TableDefinition<'_, (u8, &str, &str), &[u8]> = TableDefinition::new("records");

/// The redb page cache: the scene lives in memory, so a small cache does.
const CACHE_BYTES: usize = 64 << 20;

/// An open store file.
pub(crate) struct Durable {
    db: Database,
    path: PathBuf,
}

impl Durable {
    /// Open the store in `dir`, creating the directory and the file if needed.
    pub(crate) fn create(dir: &Path) -> Result<Self, StoreError> {
        std::fs::create_dir_all(dir).map_err(|source| StoreError::CreateDir {
            path: dir.to_owned(),
            source,
        })?;
        let path = dir.join(FILE_NAME);
        if !path.exists() {
            Self::create_new(dir, &path)?;
        }
        Self::create_at(&path)
    }

    /// Open or create the redb file at `path` and its tables.
    fn create_at(path: &Path) -> Result<Self, StoreError> {
        let db = Database::builder()
            .set_cache_size(CACHE_BYTES)
            .create(path)
            .map_err(|source| StoreError::Open {
                path: path.to_owned(),
                source,
            })?;
        let durable = Self {
            db,
            path: path.to_owned(),
        };
        durable.init()?;
        Ok(durable)
    }

    /// Make a new store file appear whole or not at all. A power cut while
    /// redb writes a new file's header leaves a file that is not a redb
    /// database, which no later start could open (tests/power_cut.rs found
    /// it): so the file is built and committed under [`CREATING_FILE_NAME`],
    /// then renamed into place and the directory synced. A half-made file
    /// from an earlier cut is thrown away; it never held an acknowledged
    /// update.
    fn create_new(dir: &Path, path: &Path) -> Result<(), StoreError> {
        let partial = dir.join(CREATING_FILE_NAME);
        let failed = |source| StoreError::Create {
            path: path.to_owned(),
            source,
        };
        match std::fs::remove_file(&partial) {
            Err(err) if err.kind() != std::io::ErrorKind::NotFound => return Err(failed(err)),
            _ => {}
        }
        // init's commit is durable: redb syncs the file before it returns.
        drop(Self::create_at(&partial)?);
        std::fs::rename(&partial, path).map_err(failed)?;
        std::fs::File::open(dir)
            .and_then(|dir| dir.sync_all())
            .map_err(failed)
    }

    /// Open (or create) the store on any redb storage backend; `label`
    /// names it in errors (a backend has no path).
    pub(crate) fn create_on(
        label: &Path,
        backend: impl redb::StorageBackend,
    ) -> Result<Self, StoreError> {
        let db = Database::builder()
            .set_cache_size(CACHE_BYTES)
            .create_with_backend(backend)
            .map_err(|source| StoreError::Open {
                path: label.to_owned(),
                source,
            })?;
        let durable = Self {
            db,
            path: label.to_owned(),
        };
        durable.init()?;
        Ok(durable)
    }

    /// Open the store in `dir`, which must exist (inspection never creates one).
    pub(crate) fn open_existing(dir: &Path) -> Result<Self, StoreError> {
        let path = dir.join(FILE_NAME);
        if !path.is_file() {
            return Err(StoreError::Missing {
                path: dir.to_owned(),
            });
        }
        let db = Database::builder()
            .set_cache_size(CACHE_BYTES)
            .open(&path)
            .map_err(|source| StoreError::Open {
                path: path.clone(),
                source,
            })?;
        let durable = Self { db, path };
        durable.reader()?.check_format()?;
        Ok(durable)
    }

    /// The file's path.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Create the tables and the format marker on a new file; check it on an old one.
    fn init(&self) -> Result<(), StoreError> {
        // A file made before holds the tables and its format marker: reading
        // them is enough, and spares every start a durable commit and its
        // syncs.
        match self.reader().and_then(|reader| reader.check_format()) {
            Ok(()) => return Ok(()),
            // A table or the marker is missing: a new file, made below.
            Err(StoreError::Corrupt { .. }) => {}
            Err(err) => return Err(err),
        }
        let txn = self.db.begin_write().context("begin init")?;
        {
            let mut meta = txn.open_table(META).context("open meta")?;
            let format = meta
                .get("format")
                .context("read format")?
                .map(|g| g.value());
            match format {
                Some(found) if found != FORMAT => {
                    return Err(StoreError::Format {
                        found,
                        supported: FORMAT,
                    });
                }
                Some(_) => {}
                None => {
                    meta.insert("format", FORMAT).context("write format")?;
                    meta.insert("checkpoint", 0).context("write checkpoint")?;
                }
            }
            txn.open_table(LOG).context("open log")?;
            txn.open_table(RECORDS).context("open records")?;
        }
        txn.commit().context("commit init")
    }

    /// A consistent read view of the file.
    pub(crate) fn reader(&self) -> Result<LogReader, StoreError> {
        let txn = self.db.begin_read().context("begin read")?;
        LogReader::new(txn)
    }

    /// Rebuild the scene: the checkpointed records, the logged changes after
    /// the checkpoint redone on them, and per topic the tail of its log as
    /// history. Returns the scene and the records changed since the
    /// checkpoint — which the next checkpoint must write, or they would be
    /// lost from the records table once the checkpoint moves past them.
    pub(crate) fn load(&self, limits: HistoryLimits) -> Result<(Scene, Dirty), StoreError> {
        let reader = self.reader()?;
        let checkpoint = reader.checkpoint()?;
        let version = reader.last_version()?;
        if version > crate::scene::MAX_VERSION {
            return Err(StoreError::Corrupt {
                what: format!(
                    "the log ends at version {version}, above the largest version {}",
                    crate::scene::MAX_VERSION
                ),
            });
        }
        if checkpoint > version {
            return Err(StoreError::Corrupt {
                what: format!(
                    "the checkpoint is at version {checkpoint}, past the log's end at {version}"
                ),
            });
        }
        let mut records = reader.records()?;
        let mut dirty = Dirty::new(checkpoint);
        // Each topic's history window as far as the redo reaches.
        let mut recent = Topic::ALL.map(|topic| History::new(limits.for_index(topic.index())));
        reader.for_each_entry(checkpoint + 1, u64::MAX, |entry| {
            records[entry.topic.index()].apply_changes(
                &entry.changes,
                entry.stamp(),
                &entry.author(),
            );
            dirty.note_one(&entry);
            let window = &mut recent[entry.topic.index()];
            match entry.kind {
                EntryKind::Seed => window.reset(entry.version),
                _ => window.push(Arc::new(entry)),
            }
            Ok(())
        })?;
        // The history tails: the redone entries, and what they leave of each
        // window read back from before the checkpoint (rows decoded once —
        // decoding was most of a restart).
        let mut tails: [(u64, Vec<Arc<Entry>>); 3] = Default::default();
        for topic in Topic::ALL {
            let limit = limits.for_index(topic.index());
            let (compacted_at, entries) = recent[topic.index()].take();
            // Versions start at 1: a window with no compaction point is not
            // whole yet (nothing fell out of it and no seed reset it).
            tails[topic.index()] = if compacted_at > 0 {
                (compacted_at, entries.into())
            } else {
                let (compacted_at, mut older) =
                    reader.tail(topic, checkpoint, limit - entries.len())?;
                older.extend(entries);
                (compacted_at, older)
            };
        }
        Ok((Scene::restore(limits, version, records, tails), dirty))
    }

    /// Write `entries` (in version order) in one transaction and return once
    /// it is durable; with `checkpoint`, also write the records it holds and
    /// move the checkpoint to the batch's last version.
    pub(crate) fn write_batch(
        &self,
        entries: &[Arc<Entry>],
        checkpoint: Option<&mut Dirty>,
    ) -> Result<(), StoreError> {
        let mut txn = self.db.begin_write().context("begin commit")?;
        txn.set_durability(Durability::Immediate)
            .context("set durability")?;
        // Every commit records redb's allocator state (and commits in two
        // phases), so that opening the file after a crash loads that state
        // instead of walking the whole file to rebuild it — which grew with
        // the file to most of a child store's restart (docs/STORE.md).
        txn.set_quick_repair(true);
        {
            let mut log = txn.open_table(LOG).context("open log")?;
            let mut row = Vec::with_capacity(512);
            for entry in entries {
                row.clear();
                codec::encode_into(&mut row, &**entry);
                log.insert((entry.topic.code(), entry.version), row.as_slice())
                    .context("write log")?;
            }
            if let Some(dirty) = checkpoint {
                let mut records = txn.open_table(RECORDS).context("open records")?;
                for ((topic, target, key), record) in dirty.drain() {
                    let key = (topic.code(), target.as_str(), key.as_str());
                    match record {
                        Some(record) => records
                            .insert(key, codec::encode(&record).as_slice())
                            .map(drop),
                        None => records.remove(key).map(drop),
                    }
                    .context("write records")?;
                }
                let mut meta = txn.open_table(META).context("open meta")?;
                meta.insert("checkpoint", dirty.version())
                    .context("write checkpoint")?;
            }
        }
        txn.commit().context("commit")
    }

    /// Run redb's own integrity check (checksums, allocator state).
    pub(crate) fn check_integrity(&mut self) -> Result<bool, StoreError> {
        self.db.check_integrity().context("integrity check")
    }
}

#[cfg(test)]
mod tests;

//! The authoritative scene store: records keyed `(scope, target, key)` with a
//! global version that only goes up, optimistic concurrency, per-topic
//! history with compaction (a baseline when a cursor falls off), pure
//! reducers for `layers`, `dims` and `camera`, an append-only audit log,
//! redb durability with group commit, and the client protocol as a pure
//! state machine.
//!
//! The model is etcd's and Kubernetes': a version is a point in one global
//! history; a watcher resumes from the version it last saw and gets every
//! change after it, or — when that part of the history is compacted — a
//! baseline to relist from.

pub mod actor;
mod audit;
pub mod bench;
mod commit;
mod durable;
mod error;
mod handover;
mod history;
mod inspect;
pub mod protocol;
mod record;
mod records;
mod reduce;
mod scene;
mod store;
mod topic;
mod verify;

pub use audit::{AuditEntry, AuditQuery};
pub use commit::{CommitHook, CommitStats};
pub use durable::{CREATING_FILE_NAME, FILE_NAME};
pub use error::{ReplayError, StoreError, UnknownTopic};
pub use handover::HANDOVER_WAIT;
pub use history::HistoryLimits;
pub use inspect::{HistoryRow, InspectReport, RecordRow, inspect, report};
pub use record::{Author, Change, Entry, EntryKind, Record, Stamp};
pub use records::{TopicRecords, Write};
pub use redb::StorageBackend;
pub use reduce::{
    CAMERA_KEYS, DEFAULT_RANGE, LAYER_KEYS, MAX_NDIM, ORDER_KEY, ORDER_TARGET, Rejection, reduce,
    seed_writes, steps,
};
pub use scene::{MAX_VERSION, Replay, Scene, TopicSnapshot};
pub use store::{Outcome, Store, StoreConfig};
pub use topic::Topic;
pub use verify::{VerifyReport, verify};

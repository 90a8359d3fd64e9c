//! The crate's errors: opening and writing the store, reading its file,
//! replaying its log. Rejected updates are not errors (see `Rejection`).

use std::path::PathBuf;

use crate::reduce::Rejection;

/// A topic name that is not `layers`, `dims` or `camera`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown topic `{0}` (expected layers, dims or camera)")]
pub struct UnknownTopic(pub String);

/// A logged entry that does not replay to what was logged.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ReplayError {
    /// Deltas take consecutive versions; this one skips or repeats one.
    #[error("entry {version} does not follow version {previous}")]
    Gap {
        /// The entry's version.
        version: u64,
        /// The scene's version before it.
        previous: u64,
    },
    /// The reducer rejects the logged delta.
    #[error("entry {version} is rejected on replay: {rejection}")]
    Rejected {
        /// The entry's version.
        version: u64,
        /// Why.
        rejection: Rejection,
    },
    /// The reducer accepts it but makes other changes than the log recorded.
    #[error("entry {version} replays to other changes than it logged")]
    Diverged {
        /// The entry's version.
        version: u64,
    },
}

/// Why the store could not open, read or write.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// There is no store in this directory (for commands that never create one).
    #[error("no store at {path} (expected the file {file})", file = path.join(crate::durable::FILE_NAME).display())]
    Missing {
        /// The directory given.
        path: PathBuf,
    },
    /// The data directory could not be created.
    #[error("cannot create the data directory {path}: {source}")]
    CreateDir {
        /// The directory.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A new store file could not be made durable under its name.
    #[error("cannot create the store file {path}: {source}")]
    Create {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// redb could not open the file (locked by another process, not a redb file, ...).
    #[error("cannot open the store file {path}: {source}")]
    Open {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: redb::DatabaseError,
    },
    /// A read or write of the database failed.
    #[error("store {context}: {source}")]
    Storage {
        /// What the store was doing.
        context: &'static str,
        /// The cause.
        source: redb::Error,
    },
    /// The file holds something this store cannot read.
    #[error("corrupt store: {what}")]
    Corrupt {
        /// What is wrong and where.
        what: String,
    },
    /// The file was written by a newer or unknown format.
    #[error("store format {found} is not supported (this build reads format {supported})")]
    Format {
        /// The format in the file.
        found: u64,
        /// The format this build writes.
        supported: u64,
    },
    /// An earlier commit failed; nothing after it was acknowledged, and the
    /// store must be reopened.
    #[error("the store failed an earlier commit and accepts no more updates: {reason}")]
    Failed {
        /// The first failure.
        reason: String,
    },
}

impl StoreError {
    /// Wrap a redb error with what the store was doing.
    pub(crate) fn storage(context: &'static str) -> impl FnOnce(redb::Error) -> StoreError {
        move |source| StoreError::Storage { context, source }
    }
}

/// Wrap any redb error type into `StoreError::Storage`.
pub(crate) trait StorageContext<T> {
    /// Attach `context` to the error.
    fn context(self, context: &'static str) -> Result<T, StoreError>;
}

impl<T, E: Into<redb::Error>> StorageContext<T> for Result<T, E> {
    fn context(self, context: &'static str) -> Result<T, StoreError> {
        self.map_err(|e| StoreError::storage(context)(e.into()))
    }
}

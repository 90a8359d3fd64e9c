//! The acks log: one line `VERSION SCOPE TARGET KEY VALUE_JSON` per
//! acknowledged update, written and flushed to the OS the moment the ack is
//! released — so a bench killed at any instant leaves a log whose every line
//! must be in the store.

use std::fs::{File, OpenOptions};
use std::io::{self, Write as _};
use std::path::Path;
use std::sync::{Mutex, PoisonError};

use super::workload::Update;

/// An append-only acks log file.
pub struct AcksLog {
    file: Mutex<File>,
}

impl AcksLog {
    /// Open `path` for appending (creating it).
    pub fn append_to(path: &Path) -> io::Result<Self> {
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        Ok(Self {
            file: Mutex::new(file),
        })
    }

    /// Write one ack line with a single `write` call (unbuffered: once it
    /// returns the line is in the OS, and survives the process being killed).
    pub(crate) fn append(&self, version: u64, update: &Update) -> io::Result<()> {
        let line = format!(
            "{version} {} {} {} {}\n",
            update.topic, update.target, update.key, update.value
        );
        let mut file = self.file.lock().unwrap_or_else(PoisonError::into_inner);
        file.write_all(line.as_bytes())?;
        file.flush()
    }
}

//! A store handed from a dying actor instance to its successor in the same
//! process: the open redb file, the scene and the checkpoint state, parked
//! by directory for a few seconds. Closing a 90 MB store (its last
//! checkpoint, redb's close, freeing the scene) and opening it again (redb's
//! open, decoding the records and every topic's history) was most of an
//! in-process store restart; a handed-over store starts at once, with the
//! same durable state a reload would give.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use crate::durable::{Dirty, Durable};
use crate::scene::Scene;
use crate::store::StoreConfig;

/// How long a parked store waits for a successor before it is closed.
pub const HANDOVER_WAIT: Duration = Duration::from_secs(3);

/// A stopped store, whole and durable, waiting for its successor.
pub(crate) struct Parked {
    pub(crate) dir: PathBuf,
    pub(crate) config: StoreConfig,
    pub(crate) scene: Scene,
    pub(crate) durable: Durable,
    pub(crate) dirty: Dirty,
    pub(crate) last_timestamp: u64,
}

static PARKED: Mutex<Vec<(u64, PathBuf, Parked)>> = Mutex::new(Vec::new());
static NEXT: AtomicU64 = AtomicU64::new(0);

/// The directory as the key: the same directory however it was named.
fn key(dir: &Path) -> PathBuf {
    std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_owned())
}

fn remove(matches: impl Fn(u64, &Path) -> bool) -> Option<Parked> {
    let mut parked = PARKED.lock().unwrap_or_else(PoisonError::into_inner);
    let at = parked.iter().position(|(id, dir, _)| matches(*id, dir))?;
    Some(parked.swap_remove(at).2)
}

/// Park `store` for [`take`]; a thread closes it if nobody takes it within
/// [`HANDOVER_WAIT`].
pub(crate) fn park(store: Parked) {
    let id = NEXT.fetch_add(1, Ordering::Relaxed);
    let dir = key(&store.dir);
    PARKED
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push((id, dir, store));
    let reaper = std::thread::Builder::new()
        .name("warden-store-handover".into())
        .spawn(move || {
            std::thread::sleep(HANDOVER_WAIT);
            if let Some(store) = remove(|parked, _| parked == id) {
                tracing::debug!(dir = %store.dir.display(), "no successor took the store; closing it");
                close(store);
            }
        });
    if reaper.is_err()
        && let Some(store) = remove(|parked, _| parked == id)
    {
        // Without a reaper nobody would close it: close it now.
        close(store);
    }
}

/// Close a parked store as its own close would have: the records table
/// brought up to date (the checkpoint its stop left to the successor).
fn close(mut store: Parked) {
    if store.dirty.entries() > 0
        && let Err(err) = store.durable.write_batch(&[], Some(&mut store.dirty))
    {
        // Nothing is lost: the next open redoes the log after the checkpoint.
        tracing::warn!(dir = %store.dir.display(), error = %err, "the closing checkpoint failed");
    }
}

/// The store parked for `dir`, if its config is `config`. One parked with
/// another config is closed, so that the caller can open the file.
pub(crate) fn take(dir: &Path, config: StoreConfig) -> Option<Parked> {
    let dir = key(dir);
    let store = remove(|_, parked| parked == dir)?;
    if store.config == config {
        Some(store)
    } else {
        close(store);
        None
    }
}

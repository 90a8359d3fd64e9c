//! A thread that waits for the store's commits and wakes the actor, so that
//! acks and notifies go out as soon as an update is durable — the actor
//! itself never waits for an fsync.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use warden_kernel::Waker;

use crate::store::Store;

/// How long one wait lasts before the stop flag is looked at again.
const POLL: Duration = Duration::from_millis(50);

/// See the module documentation. Stops (and is joined) when dropped.
pub(crate) struct CommitWatch {
    stop: Arc<AtomicBool>,
    store: Arc<Store>,
    thread: Option<JoinHandle<()>>,
}

impl CommitWatch {
    pub(crate) fn start(store: Arc<Store>, waker: Waker) -> std::io::Result<Self> {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let watched = Arc::clone(&store);
        let thread = std::thread::Builder::new()
            .name("warden-store-watch".into())
            .spawn(move || {
                let mut seen = store.version();
                while !flag.load(Ordering::Acquire) {
                    match store.wait_beyond(seen, POLL) {
                        Ok(version) if version > seen => {
                            seen = version;
                            waker.wake();
                        }
                        Ok(_) => {}
                        Err(err) => {
                            // The committer failed: the actor finds out on
                            // its next write; wake it so it does now.
                            tracing::error!(%err, "the store's commits stopped");
                            waker.wake();
                            return;
                        }
                    }
                }
            })?;
        Ok(CommitWatch {
            stop,
            store: watched,
            thread: Some(thread),
        })
    }
}

impl Drop for CommitWatch {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        // Not a wait's length (POLL) later: the store's successor waits for
        // this thread to let go of it.
        self.store.release_waiters();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

//! The actor learns of the store's commits from the committer itself: a
//! hook on the committer's thread wakes the actor after each durable
//! commit, so acks and notifies go out as soon as an update is durable —
//! the actor never waits for an fsync, and no thread of its own waits for
//! the committer (one thread and one wake-up less per commit than a
//! watcher thread).

use std::sync::Arc;

use warden_kernel::Waker;

use crate::commit::CommitHook;
use crate::store::Store;

/// See the module documentation. Unhooks itself when dropped: the store
/// may outlive this instance (it is handed over to the successor).
pub(crate) struct CommitWatch {
    store: Arc<Store>,
    hook: CommitHook,
}

impl CommitWatch {
    pub(crate) fn start(store: Arc<Store>, waker: Waker) -> Self {
        let hook: CommitHook = Arc::new(move || waker.wake());
        store.set_commit_hook(Arc::clone(&hook));
        CommitWatch { store, hook }
    }
}

impl Drop for CommitWatch {
    fn drop(&mut self) {
        self.store.unhook_commits(&self.hook);
    }
}

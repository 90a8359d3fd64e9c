//! The glue an endpoint needs between the state machine and a `Store`:
//! carry out the store-bound actions, and watch the store for commits. The
//! WebSocket endpoint adds only sockets and a clock.

use std::time::Duration;

use super::{Action, Changes, Input};
use crate::error::StoreError;
use crate::store::Store;

/// Carry out a store-bound action (`Apply`, `CatchUp`) and return the input
/// that answers it; `Send` and `Close` are the endpoint's and give `None`.
/// `Apply` blocks until the update is durable: run it off the socket loop.
pub fn execute(store: &Store, action: Action) -> Option<Input> {
    match action {
        Action::Apply {
            session,
            request_id,
            topic,
            payload,
            expected_version,
            author,
        } => {
            let result = store.apply_delta(topic, payload, expected_version, &author);
            Some(Input::Applied {
                session,
                request_id,
                result: result.map_err(|e| e.to_string()),
            })
        }
        Action::CatchUp {
            session,
            seq,
            topics,
            since,
        } => Some(Input::CaughtUp {
            session,
            seq,
            result: store.catch_up(&topics, since).map_err(|e| e.to_string()),
        }),
        Action::Send { .. } | Action::Close { .. } => None,
    }
}

/// Follows the store's durable version and yields the changes to feed as
/// `Input::Committed`, each starting where the last ended.
#[derive(Debug)]
pub struct Watcher {
    seen: u64,
}

impl Watcher {
    /// Start following after the store's current version.
    pub fn new(store: &Store) -> Self {
        Self {
            seen: store.version(),
        }
    }

    /// The version everything up to has been yielded.
    pub fn seen(&self) -> u64 {
        self.seen
    }

    /// Wait up to `timeout` for new commits; the changes since the last call,
    /// or `None` if there were none.
    pub fn poll(
        &mut self,
        store: &Store,
        timeout: Duration,
    ) -> Result<Option<Changes>, StoreError> {
        let version = store.wait_beyond(self.seen, timeout)?;
        if version <= self.seen {
            return Ok(None);
        }
        let changes = store.changes_since(self.seen)?;
        self.seen = changes.version;
        Ok(Some(changes))
    }
}

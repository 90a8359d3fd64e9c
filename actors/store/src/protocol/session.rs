//! One client session as the protocol keeps it: identity, subscription,
//! cursor (every change of its topics up to here has been sent), updates in
//! flight, acks held until the notify stream reaches their version, and
//! whether it is catching up or live.

use std::collections::HashSet;
use std::sync::Arc;

use crate::record::{Author, Entry};
use crate::topic::Topic;

use super::ConnId;
use super::messages::ServerMessage;

/// Catching up (a `CatchUp` is in flight) or live.
#[derive(Debug)]
pub(crate) enum Phase {
    /// Waiting for the catch-up; live entries are buffered meanwhile.
    CatchingUp {
        /// Entries committed while catching up (subscribed topics only).
        buffered: Vec<Arc<Entry>>,
        /// The highest committed version seen while catching up.
        through: u64,
        /// A topic fell off the history meanwhile: catch up again after.
        again: bool,
        /// A new session's first catch-up (baselines are `fresh`, not `compacted`).
        fresh: bool,
    },
    /// Notified of every commit.
    Live,
}

impl Phase {
    pub(crate) fn catching_up(fresh: bool) -> Self {
        Phase::CatchingUp {
            buffered: Vec::new(),
            through: 0,
            again: false,
            fresh,
        }
    }
}

/// A session.
#[derive(Debug)]
pub(crate) struct Session {
    pub(crate) id: String,
    pub(crate) author: Author,
    pub(crate) topics: Vec<Topic>,
    pub(crate) token: String,
    /// The connection it is on, or `None` while parked (resumable).
    pub(crate) conn: Option<ConnId>,
    /// When it was parked (ms), for the resume TTL.
    pub(crate) parked_since: u64,
    pub(crate) phase: Phase,
    /// How many catch-ups were asked for: answers to older ones are stale.
    pub(crate) catch_ups: u64,
    pub(crate) cursor: u64,
    pub(crate) in_flight: HashSet<String>,
    /// Acks waiting for the cursor to reach their version (0: send when live).
    pub(crate) held_acks: Vec<(u64, ServerMessage)>,
}

impl Session {
    /// Whether the session is notified of `topic`.
    pub(crate) fn follows(&self, topic: Topic) -> bool {
        self.topics.contains(&topic)
    }

    /// The held acks whose version the cursor has reached, in order.
    pub(crate) fn releasable_acks(&mut self) -> Vec<ServerMessage> {
        if !matches!(self.phase, Phase::Live) || self.conn.is_none() {
            return Vec::new();
        }
        let cursor = self.cursor;
        let (ready, held): (Vec<_>, Vec<_>) =
            self.held_acks.drain(..).partition(|(v, _)| *v <= cursor);
        self.held_acks = held;
        ready.into_iter().map(|(_, m)| m).collect()
    }
}

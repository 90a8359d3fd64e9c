//! The client protocol as a pure state machine ("sans I/O"): the endpoint
//! feeds it `Input`s (a connection opened, a text frame, a store answer, a
//! commit, a clock tick) and carries out the `Action`s it returns (send a
//! frame, apply an update, catch a session up, close). No sockets, no clock,
//! no store inside: every behaviour is testable by feeding inputs.
//!
//! Guarantees: notifies reach a session in increasing versions with no gap;
//! a session's `state.ack` for version v comes after its notifies up to v;
//! heartbeats carry the session's cursor (a bookmark to resume from); a
//! resume replays from the cursor, or sends a `notify.scene` baseline when
//! the cursor fell off the history.

mod driver;
mod machine;
mod messages;
mod session;

use std::sync::Arc;

use serde_json::Value;

use crate::record::{Author, Entry};
use crate::scene::Replay;
use crate::store::Outcome;
use crate::topic::Topic;

pub use driver::{Watcher, execute};
pub use machine::Protocol;
pub use messages::{
    AckError, BaselineReason, ClientMessage, Notify, NotifyChange, Resume, ServerMessage,
};

/// A snapshot's records as JSON text, `{target: {key: value}}`.
pub fn snapshot_json(snapshot: &crate::scene::TopicSnapshot) -> String {
    serde_json::to_string(&messages::snapshot_values(snapshot)).unwrap_or_else(|_| "{}".into())
}

/// The endpoint's handle for one connection.
pub type ConnId = u64;

/// Timings and limits of the protocol.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProtocolConfig {
    /// A heartbeat (bookmark) is sent after this long without another frame (ms).
    pub heartbeat_ms: u64,
    /// A connection silent this long is closed (ms).
    pub idle_timeout_ms: u64,
    /// A parked session can be resumed for this long (ms).
    pub resume_ttl_ms: u64,
    /// Updates a session may have in flight.
    pub max_in_flight: usize,
    /// The largest client frame accepted (bytes).
    pub max_frame_bytes: usize,
}

impl Default for ProtocolConfig {
    fn default() -> Self {
        Self {
            heartbeat_ms: 5_000,
            idle_timeout_ms: 20_000,
            resume_ttl_ms: 300_000,
            max_in_flight: 64,
            max_frame_bytes: 1 << 20,
        }
    }
}

/// What a catch-up found: per topic, the deltas after the cursor or a
/// baseline, all as of one global `version` (see `Store::catch_up`).
#[derive(Clone, Debug, PartialEq)]
pub struct CatchUp {
    /// The version everything here is current at.
    pub version: u64,
    /// Per requested topic.
    pub topics: Vec<(Topic, Replay)>,
}

/// Durable changes since the last `Changes` (see `Store::changes_since`).
#[derive(Clone, Debug, PartialEq)]
pub struct Changes {
    /// Everything up to this version is covered.
    pub version: u64,
    /// The entries, all topics, in version order.
    pub entries: Vec<Arc<Entry>>,
    /// Topics whose history no longer reached back: their entries are
    /// missing here, and sessions following them must catch up.
    pub compacted: Vec<Topic>,
}

/// An input to the state machine.
#[derive(Clone, Debug, PartialEq)]
pub enum Input {
    /// A connection opened.
    Connected {
        /// Its handle.
        conn: ConnId,
        /// Whether its sessions may send `state.update` (the endpoint
        /// decides: an admin token, or writes opened by the config); a
        /// read-only connection's updates are refused as `forbidden`.
        may_write: bool,
        /// The time (ms, any monotonic origin).
        now_ms: u64,
    },
    /// A text frame arrived.
    Frame {
        /// The connection.
        conn: ConnId,
        /// The frame.
        text: String,
        /// The time.
        now_ms: u64,
    },
    /// A connection closed.
    Disconnected {
        /// The connection.
        conn: ConnId,
        /// The time.
        now_ms: u64,
    },
    /// The store answered an `Action::Apply`.
    Applied {
        /// The session that asked.
        session: String,
        /// The update's request id.
        request_id: String,
        /// The outcome, or the store error's message.
        result: Result<Outcome, String>,
    },
    /// The store answered an `Action::CatchUp`.
    CaughtUp {
        /// The session.
        session: String,
        /// The request's `seq` (only the latest request's answer counts).
        seq: u64,
        /// What it found, or the store error's message.
        result: Result<CatchUp, String>,
    },
    /// New durable changes (fed in order, each starting where the last ended).
    Committed(Changes),
    /// Time passed.
    Tick {
        /// The time.
        now_ms: u64,
    },
}

/// An action for the endpoint to carry out.
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    /// Send a frame.
    Send {
        /// The connection.
        conn: ConnId,
        /// The frame.
        message: ServerMessage,
    },
    /// Apply an update, then feed back `Input::Applied`.
    Apply {
        /// The session asking.
        session: String,
        /// Its request id.
        request_id: String,
        /// The topic.
        topic: Topic,
        /// The delta.
        payload: Value,
        /// The version the client had seen.
        expected_version: u64,
        /// The session's actor, with origin `session:<id>`.
        author: Author,
    },
    /// Catch a session up, then feed back `Input::CaughtUp`.
    CatchUp {
        /// The session.
        session: String,
        /// Numbers the session's catch-ups; echo it in `Input::CaughtUp`.
        seq: u64,
        /// Its topics.
        topics: Vec<Topic>,
        /// The cursor to replay from, or `None` for a fresh baseline.
        since: Option<u64>,
    },
    /// Close the connection (the machine already forgot it).
    Close {
        /// The connection.
        conn: ConnId,
        /// Why.
        reason: String,
    },
}

#[cfg(test)]
mod tests;

//! The client protocol's frames: JSON objects tagged by `type`. Clients send
//! `session.hello`, `state.update`, `session.heartbeat`, `session.goodbye`;
//! the server sends `session.welcome`, `state.ack`, `notify.layers|dims|camera`,
//! `notify.scene` (a baseline), `session.heartbeat` (a bookmark) and
//! `session.error`. `docs/PROTOCOL.md` specifies them with examples.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::record::Entry;
use crate::reduce::Rejection;
use crate::scene::TopicSnapshot;
use crate::topic::Topic;

/// A frame from a client.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", deny_unknown_fields)]
pub enum ClientMessage {
    /// Open (or resume) a session.
    #[serde(rename = "session.hello")]
    Hello {
        /// Who the client is; every update it makes is recorded under it.
        actor_id: String,
        /// Resume a session: its token and the last version the client applied.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        resume: Option<Resume>,
        /// The topics to be notified of (all when absent).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        topics: Option<Vec<Topic>>,
    },
    /// Ask for an update.
    #[serde(rename = "state.update")]
    Update {
        /// Echoed in the `state.ack`; unique among the session's updates in flight.
        request_id: String,
        /// The topic.
        topic: Topic,
        /// The version the client has seen; stale records reject the update.
        expected_version: u64,
        /// The delta for the topic's reducer.
        payload: Value,
    },
    /// The client is alive (any frame counts; this one carries nothing else).
    #[serde(rename = "session.heartbeat")]
    Heartbeat {},
    /// Close the session for good (its resume token stops working).
    #[serde(rename = "session.goodbye")]
    Goodbye {},
}

/// What a client resumes from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Resume {
    /// The `resume_token` of the session's last `session.welcome`.
    pub token: String,
    /// The last version the client applied (a notify's or heartbeat's `version`).
    pub cursor: u64,
}

/// Why a baseline was sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BaselineReason {
    /// A new session: the whole scene.
    Fresh,
    /// The cursor fell off the topic's history (etcd's "compacted", HTTP 410).
    Compacted,
}

/// One record's new confirmed value in a notify (`null`: the record was
/// removed; a record's value is never `null`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NotifyChange {
    /// The record's target.
    pub target: String,
    /// The record's key.
    pub key: String,
    /// The confirmed value.
    pub value: Option<Value>,
}

/// The body of a `notify.<topic>` delta.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Notify {
    /// The update's global version; notifies come in increasing versions.
    pub version: u64,
    /// When it was stamped (ms since the Unix epoch).
    pub timestamp: u64,
    /// The actor that made it.
    pub actor_id: String,
    /// Where it came from.
    pub origin: String,
    /// The records it changed.
    pub changes: Vec<NotifyChange>,
}

/// Why an update was refused, in a `state.ack` with `ok: false`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AckError {
    /// `invalid`, `stale`, `ahead`, `duplicate_request`, `too_many_in_flight`, `store_failed`.
    pub code: String,
    /// A sentence saying what was wrong.
    pub message: String,
    /// The offending field of the payload, for `invalid`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

/// A frame from the server.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum ServerMessage {
    /// The session is open.
    #[serde(rename = "session.welcome")]
    Welcome {
        /// The session's id (kept across resumes).
        session_id: String,
        /// The token to resume with (a new one on every welcome).
        resume_token: String,
        /// Whether the session was resumed (false: a new session).
        resumed: bool,
        /// The topics the session is notified of.
        topics: Vec<Topic>,
        /// The server sends a heartbeat at least this often (ms).
        heartbeat_ms: u64,
        /// The connection is closed after this long without a client frame (ms).
        idle_timeout_ms: u64,
    },
    /// The answer to a `state.update`.
    #[serde(rename = "state.ack")]
    Ack {
        /// The update's `request_id`.
        request_id: String,
        /// Applied (and durable) or not.
        ok: bool,
        /// The version it got, when `ok`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        version: Option<u64>,
        /// Why not, when not `ok`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<AckError>,
        /// The store's version when it refused, when not `ok`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        current_version: Option<u64>,
    },
    /// A delta of `layers`.
    #[serde(rename = "notify.layers")]
    NotifyLayers(Notify),
    /// A delta of `dims`.
    #[serde(rename = "notify.dims")]
    NotifyDims(Notify),
    /// A delta of `camera`.
    #[serde(rename = "notify.camera")]
    NotifyCamera(Notify),
    /// A baseline: replace these topics' state; resume from `version`.
    #[serde(rename = "notify.scene")]
    Scene {
        /// The version the baseline is current at.
        version: u64,
        /// Why it was sent.
        reason: BaselineReason,
        /// Per topic, its records' values: `{target: {key: value}}`.
        topics: BTreeMap<Topic, BTreeMap<String, BTreeMap<String, Value>>>,
    },
    /// A bookmark: every change up to `version` has been sent.
    #[serde(rename = "session.heartbeat")]
    Heartbeat {
        /// The session's cursor: resume from here.
        version: u64,
    },
    /// A protocol error (a bad frame, a frame out of order).
    #[serde(rename = "session.error")]
    Error {
        /// `bad_frame`, `protocol`, `bad_actor_id`, `frame_too_large`, `idle`.
        code: String,
        /// What was wrong.
        message: String,
    },
}

impl ServerMessage {
    /// The `notify.<topic>` frame of an entry.
    pub fn notify(entry: &Entry) -> ServerMessage {
        let body = Notify {
            version: entry.version,
            timestamp: entry.timestamp,
            actor_id: entry.actor_id.to_string(),
            origin: entry.origin.to_string(),
            changes: entry
                .changes
                .iter()
                .map(|c| NotifyChange {
                    target: c.target.clone(),
                    key: c.key.clone(),
                    value: c.new.clone(),
                })
                .collect(),
        };
        match entry.topic {
            Topic::Layers => ServerMessage::NotifyLayers(body),
            Topic::Dims => ServerMessage::NotifyDims(body),
            Topic::Camera => ServerMessage::NotifyCamera(body),
        }
    }

    /// A `state.ack` refusing `request_id` for `rejection`.
    pub fn rejected(
        request_id: String,
        rejection: &Rejection,
        current_version: u64,
    ) -> ServerMessage {
        let field = match rejection {
            Rejection::Invalid { field, .. } => Some(field.clone()),
            _ => None,
        };
        ServerMessage::Ack {
            request_id,
            ok: false,
            version: None,
            error: Some(AckError {
                code: rejection.code().to_owned(),
                message: rejection.to_string(),
                field,
            }),
            current_version: Some(current_version),
        }
    }

    /// A `session.error`.
    pub fn error(code: &str, message: impl Into<String>) -> ServerMessage {
        ServerMessage::Error {
            code: code.to_owned(),
            message: message.into(),
        }
    }
}

/// The values of a snapshot, `{target: {key: value}}`, as a baseline carries them.
pub(crate) fn snapshot_values(
    snapshot: &TopicSnapshot,
) -> BTreeMap<String, BTreeMap<String, Value>> {
    snapshot
        .records
        .targets()
        .map(|(target, keys)| {
            let keys = keys
                .iter()
                .map(|(k, r)| (k.clone(), r.confirmed_value.clone()))
                .collect();
            (target.to_owned(), keys)
        })
        .collect()
}

//! `Protocol`: the state machine over every connection and session — the
//! handshake and resume tokens, updates and their acks, notify fan-out in
//! version order, catch-up with baselines, heartbeats and idle timeouts.
//! The notify stream itself is `machine/stream.rs`.

mod stream;

use std::collections::BTreeMap;

use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::{Rng, SeedableRng};
use serde_json::Value;

use super::messages::{ClientMessage, Resume, ServerMessage};
use super::session::{Phase, Session};
use super::{Action, ConnId, Input, ProtocolConfig};
use crate::record::Author;
use crate::store::Outcome;
use crate::topic::Topic;

/// The longest `actor_id` and `request_id` accepted, in bytes.
const MAX_ID_LEN: usize = 128;

struct Conn {
    session: Option<String>,
    may_write: bool,
    last_seen_ms: u64,
    last_sent_ms: u64,
}

/// The protocol state machine. Feed it `Input`s; carry out its `Action`s.
pub struct Protocol {
    config: ProtocolConfig,
    rng: ChaCha20Rng,
    next_session: u64,
    now_ms: u64,
    conns: BTreeMap<ConnId, Conn>,
    sessions: BTreeMap<String, Session>,
    tokens: BTreeMap<String, String>,
    out: Vec<Action>,
}

impl Protocol {
    /// A machine with no connections. `token_seed` seeds the resume tokens'
    /// generator (the endpoint passes OS randomness; tests a constant).
    pub fn new(config: ProtocolConfig, token_seed: [u8; 32]) -> Self {
        Self {
            config,
            rng: ChaCha20Rng::from_seed(token_seed),
            next_session: 1,
            now_ms: 0,
            conns: BTreeMap::new(),
            sessions: BTreeMap::new(),
            tokens: BTreeMap::new(),
            out: Vec::new(),
        }
    }

    /// Open connections.
    pub fn connections(&self) -> usize {
        self.conns.len()
    }

    /// Sessions, live or parked.
    pub fn sessions(&self) -> usize {
        self.sessions.len()
    }

    /// Handle one input; returns what to do, in order.
    pub fn handle(&mut self, input: Input) -> Vec<Action> {
        match input {
            Input::Connected {
                conn,
                may_write,
                now_ms,
            } => {
                self.advance(now_ms);
                let c = Conn {
                    session: None,
                    may_write,
                    last_seen_ms: now_ms,
                    last_sent_ms: now_ms,
                };
                self.conns.insert(conn, c);
            }
            Input::Frame { conn, text, now_ms } => {
                self.advance(now_ms);
                self.frame(conn, &text);
            }
            Input::Disconnected { conn, now_ms } => {
                self.advance(now_ms);
                self.forget(conn);
            }
            Input::Applied {
                session,
                request_id,
                result,
            } => self.applied(&session, request_id, result),
            Input::CaughtUp {
                session,
                seq,
                result,
            } => {
                let current = self
                    .sessions
                    .get(&session)
                    .is_some_and(|s| s.catch_ups == seq);
                match result {
                    // An answer to a catch-up that a later one replaced.
                    _ if !current => {}
                    Ok(catch_up) => self.caught_up(&session, catch_up),
                    Err(message) => {
                        if let Some(conn) = self.sessions.get(&session).and_then(|s| s.conn) {
                            self.fail(conn, "store_failed", message);
                        }
                    }
                }
            }
            Input::Committed(changes) => self.committed(changes),
            Input::Tick { now_ms } => {
                self.advance(now_ms);
                self.tick();
            }
        }
        std::mem::take(&mut self.out)
    }

    fn advance(&mut self, now_ms: u64) {
        self.now_ms = self.now_ms.max(now_ms);
    }

    fn send(&mut self, conn: ConnId, message: ServerMessage) {
        if let Some(c) = self.conns.get_mut(&conn) {
            c.last_sent_ms = self.now_ms;
            self.out.push(Action::Send { conn, message });
        }
    }

    /// Send an error, close the connection and park its session.
    fn fail(&mut self, conn: ConnId, code: &str, message: String) {
        self.send(conn, ServerMessage::error(code, message.clone()));
        self.forget(conn);
        self.out.push(Action::Close {
            conn,
            reason: format!("{code}: {message}"),
        });
    }

    /// Drop a connection; its session (if any) is parked for resuming.
    fn forget(&mut self, conn: ConnId) {
        let Some(c) = self.conns.remove(&conn) else {
            return;
        };
        if let Some(session) = c.session.and_then(|id| self.sessions.get_mut(&id))
            && session.conn == Some(conn)
        {
            session.conn = None;
            session.parked_since = self.now_ms;
        }
    }

    fn frame(&mut self, conn: ConnId, text: &str) {
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        c.last_seen_ms = self.now_ms;
        let session = c.session.clone();
        if text.len() > self.config.max_frame_bytes {
            let limit = self.config.max_frame_bytes;
            return self.fail(
                conn,
                "frame_too_large",
                format!("{} bytes, over the {limit} byte limit", text.len()),
            );
        }
        let message = match serde_json::from_str::<ClientMessage>(text) {
            Ok(message) => message,
            Err(err) if session.is_none() => return self.fail(conn, "bad_frame", err.to_string()),
            Err(err) => return self.send(conn, ServerMessage::error("bad_frame", err.to_string())),
        };
        match (message, session) {
            (
                ClientMessage::Hello {
                    actor_id,
                    resume,
                    topics,
                },
                None,
            ) => self.hello(conn, actor_id, resume, topics),
            (ClientMessage::Hello { .. }, Some(_)) => {
                self.fail(conn, "protocol", "session.hello sent twice".into())
            }
            (_, None) => self.fail(conn, "protocol", "send session.hello first".into()),
            (
                ClientMessage::Update {
                    request_id,
                    topic,
                    expected_version,
                    payload,
                },
                Some(id),
            ) => {
                self.update(conn, &id, request_id, topic, expected_version, payload);
            }
            (ClientMessage::Heartbeat {}, Some(_)) => {}
            (ClientMessage::Goodbye {}, Some(id)) => {
                if let Some(s) = self.sessions.remove(&id) {
                    self.tokens.remove(&s.token);
                }
                self.conns.remove(&conn);
                self.out.push(Action::Close {
                    conn,
                    reason: "goodbye".into(),
                });
            }
        }
    }

    fn token(&mut self) -> String {
        let (a, b) = (self.rng.next_u64(), self.rng.next_u64());
        format!("{a:016x}{b:016x}")
    }

    fn hello(
        &mut self,
        conn: ConnId,
        actor_id: String,
        resume: Option<Resume>,
        topics: Option<Vec<Topic>>,
    ) {
        if actor_id.is_empty()
            || actor_id.len() > MAX_ID_LEN
            || actor_id.chars().any(char::is_control)
        {
            return self.fail(
                conn,
                "bad_actor_id",
                format!("actor_id must be 1..={MAX_ID_LEN} bytes without control characters"),
            );
        }
        let mut topics = topics.unwrap_or_else(|| Topic::ALL.to_vec());
        topics.sort();
        topics.dedup();
        let resumable = resume.as_ref().and_then(|r| {
            let id = self.tokens.get(&r.token)?;
            let session = self.sessions.get(id)?;
            (*session.author.actor_id == *actor_id).then(|| (id.clone(), r.cursor))
        });
        let token = self.token();
        let (id, since) = match resumable {
            Some((id, cursor)) => {
                let old = self.sessions.get(&id).and_then(|s| s.conn);
                if let Some(old) = old {
                    self.fail(
                        old,
                        "protocol",
                        "the session was resumed on another connection".into(),
                    );
                }
                (id, Some(cursor))
            }
            None => {
                let id = format!("s-{}", self.next_session);
                self.next_session += 1;
                let session = Session {
                    id: id.clone(),
                    author: Author::new(&actor_id, &format!("session:{id}")),
                    topics: Vec::new(),
                    token: String::new(),
                    conn: None,
                    parked_since: 0,
                    phase: Phase::Live,
                    catch_ups: 0,
                    cursor: 0,
                    in_flight: Default::default(),
                    held_acks: Vec::new(),
                };
                self.sessions.insert(id.clone(), session);
                (id, None)
            }
        };
        let Some(session) = self.sessions.get_mut(&id) else {
            return;
        };
        self.tokens.remove(&session.token);
        self.tokens.insert(token.clone(), id.clone());
        session.token = token.clone();
        session.conn = Some(conn);
        session.topics = topics.clone();
        session.phase = Phase::catching_up(since.is_none());
        session.catch_ups += 1;
        let seq = session.catch_ups;
        if let Some(c) = self.conns.get_mut(&conn) {
            c.session = Some(id.clone());
        }
        let welcome = ServerMessage::Welcome {
            session_id: id.clone(),
            resume_token: token,
            resumed: since.is_some(),
            topics: topics.clone(),
            heartbeat_ms: self.config.heartbeat_ms,
            idle_timeout_ms: self.config.idle_timeout_ms,
        };
        self.send(conn, welcome);
        self.out.push(Action::CatchUp {
            session: id,
            seq,
            topics,
            since,
        });
    }

    fn update(
        &mut self,
        conn: ConnId,
        id: &str,
        request_id: String,
        topic: Topic,
        expected_version: u64,
        payload: Value,
    ) {
        let max = self.config.max_in_flight;
        let may_write = self.conns.get(&conn).is_some_and(|c| c.may_write);
        let Some(session) = self.sessions.get_mut(id) else {
            return;
        };
        let refusal = if !may_write {
            Some((
                "forbidden",
                "this connection may only read: updates need the admin token (in \
                 session.hello's `token` or an Authorization header on the upgrade)"
                    .to_owned(),
            ))
        } else if request_id.is_empty() || request_id.len() > MAX_ID_LEN {
            Some((
                "invalid",
                format!("request_id must be 1..={MAX_ID_LEN} bytes"),
            ))
        } else if session.in_flight.contains(&request_id) {
            Some((
                "duplicate_request",
                format!("request {request_id:?} is already in flight"),
            ))
        } else if session.in_flight.len() >= max {
            Some((
                "too_many_in_flight",
                format!("{max} updates are already in flight"),
            ))
        } else {
            None
        };
        if let Some((code, message)) = refusal {
            let field = (code == "invalid").then(|| "request_id".to_owned());
            let error = super::AckError {
                code: code.into(),
                message,
                field,
            };
            let ack = ServerMessage::Ack {
                request_id,
                ok: false,
                version: None,
                error: Some(error),
                current_version: None,
            };
            return self.send(conn, ack);
        }
        session.in_flight.insert(request_id.clone());
        let author = session.author.clone();
        self.out.push(Action::Apply {
            session: id.to_owned(),
            request_id,
            topic,
            payload,
            expected_version,
            author,
        });
    }

    fn applied(&mut self, id: &str, request_id: String, result: Result<Outcome, String>) {
        let Some(session) = self.sessions.get_mut(id) else {
            return;
        };
        session.in_flight.remove(&request_id);
        let (version, ack) = match result {
            Ok(Outcome::Ack { version }) => {
                let ack = ServerMessage::Ack {
                    request_id,
                    ok: true,
                    version: Some(version),
                    error: None,
                    current_version: None,
                };
                (version, ack)
            }
            Ok(Outcome::Reject {
                reason,
                current_version,
            }) => (
                0,
                ServerMessage::rejected(request_id, &reason, current_version),
            ),
            Err(message) => {
                let error = super::AckError {
                    code: "store_failed".into(),
                    message,
                    field: None,
                };
                (
                    0,
                    ServerMessage::Ack {
                        request_id,
                        ok: false,
                        version: None,
                        error: Some(error),
                        current_version: None,
                    },
                )
            }
        };
        session.held_acks.push((version, ack));
        self.release_acks(id);
    }
}

//! The notify stream of every session: catching a session up (deltas or
//! a baseline, then what was buffered meanwhile), fanning commits out in
//! version order, releasing acks once the cursor reaches them, and the
//! clock's work: heartbeats, idle timeouts, resume-token expiry.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::Protocol;
use crate::protocol::messages::{BaselineReason, ServerMessage, snapshot_values};
use crate::protocol::session::Phase;
use crate::protocol::{Action, CatchUp, Changes, ConnId};
use crate::record::Entry;
use crate::scene::Replay;

impl Protocol {
    pub(super) fn release_acks(&mut self, id: &str) {
        let Some(session) = self.sessions.get_mut(id) else {
            return;
        };
        let (conn, ready) = (session.conn, session.releasable_acks());
        if let Some(conn) = conn {
            for ack in ready {
                self.send(conn, ack);
            }
        }
    }

    pub(super) fn caught_up(&mut self, id: &str, catch_up: CatchUp) {
        let Some(session) = self.sessions.get_mut(id) else {
            return;
        };
        let (
            Some(conn),
            Phase::CatchingUp {
                buffered,
                through,
                again,
                fresh,
            },
        ) = (session.conn, &mut session.phase)
        else {
            return;
        };
        let (buffered, through, again, fresh) =
            (std::mem::take(buffered), *through, *again, *fresh);
        let mut baseline = BTreeMap::new();
        let mut deltas: Vec<Arc<Entry>> = Vec::new();
        for (topic, replay) in catch_up.topics {
            match replay {
                Replay::Baseline(snapshot) => {
                    baseline.insert(topic, snapshot_values(&snapshot));
                }
                Replay::Deltas(entries) => deltas.extend(entries),
            }
        }
        deltas.sort_by_key(|e| e.version);
        let mut messages = Vec::new();
        if !baseline.is_empty() {
            let reason = if fresh {
                BaselineReason::Fresh
            } else {
                BaselineReason::Compacted
            };
            messages.push(ServerMessage::Scene {
                version: catch_up.version,
                reason,
                topics: baseline,
            });
        }
        messages.extend(deltas.iter().map(|e| ServerMessage::notify(e)));
        session.cursor = catch_up.version;
        if again {
            // Entries are missing from the buffer: catch up once more from here.
            session.phase = Phase::catching_up(false);
            session.catch_ups += 1;
            let (seq, topics, cursor) = (session.catch_ups, session.topics.clone(), session.cursor);
            for m in messages {
                self.send(conn, m);
            }
            self.out.push(Action::CatchUp {
                session: id.to_owned(),
                seq,
                topics,
                since: Some(cursor),
            });
            return;
        }
        messages.extend(
            buffered
                .iter()
                .filter(|e| e.version > catch_up.version)
                .map(|e| ServerMessage::notify(e)),
        );
        session.cursor = catch_up.version.max(through);
        session.phase = Phase::Live;
        for m in messages {
            self.send(conn, m);
        }
        self.release_acks(id);
    }

    pub(super) fn committed(&mut self, changes: Changes) {
        let ids: Vec<String> = self.sessions.keys().cloned().collect();
        for id in ids {
            let Some(session) = self.sessions.get_mut(&id) else {
                continue;
            };
            let Some(conn) = session.conn else { continue };
            let lost = changes.compacted.iter().any(|t| session.follows(*t));
            match &mut session.phase {
                Phase::CatchingUp {
                    buffered,
                    through,
                    again,
                    ..
                } => {
                    buffered.extend(
                        changes
                            .entries
                            .iter()
                            .filter(|e| session.topics.contains(&e.topic))
                            .cloned(),
                    );
                    *through = (*through).max(changes.version);
                    *again |= lost;
                }
                Phase::Live if lost => {
                    session.phase = Phase::catching_up(false);
                    session.catch_ups += 1;
                    let (seq, topics, cursor) =
                        (session.catch_ups, session.topics.clone(), session.cursor);
                    self.out.push(Action::CatchUp {
                        session: id.clone(),
                        seq,
                        topics,
                        since: Some(cursor),
                    });
                }
                Phase::Live => {
                    let cursor = session.cursor;
                    let notifies: Vec<ServerMessage> = changes
                        .entries
                        .iter()
                        .filter(|e| e.version > cursor && session.follows(e.topic))
                        .map(|e| ServerMessage::notify(e))
                        .collect();
                    session.cursor = cursor.max(changes.version);
                    for m in notifies {
                        self.send(conn, m);
                    }
                    self.release_acks(&id);
                }
            }
        }
    }

    /// Heartbeats (bookmarks) for quiet live sessions, idle connections
    /// closed, parked sessions past their resume TTL forgotten.
    pub(super) fn tick(&mut self) {
        let now = self.now_ms;
        let conns: Vec<(ConnId, Option<String>, u64, u64)> = self
            .conns
            .iter()
            .map(|(id, c)| (*id, c.session.clone(), c.last_seen_ms, c.last_sent_ms))
            .collect();
        for (conn, session, seen, sent) in conns {
            if now.saturating_sub(seen) > self.config.idle_timeout_ms {
                self.fail(conn, "idle", format!("no frame for {} ms", now - seen));
                continue;
            }
            let live = session
                .as_ref()
                .and_then(|id| self.sessions.get(id))
                .filter(|s| matches!(s.phase, Phase::Live));
            if let Some(cursor) = live.map(|s| s.cursor)
                && now.saturating_sub(sent) >= self.config.heartbeat_ms
            {
                self.send(conn, ServerMessage::Heartbeat { version: cursor });
            }
        }
        let ttl = self.config.resume_ttl_ms;
        let expired: Vec<String> = self
            .sessions
            .values()
            .filter(|s| s.conn.is_none() && now.saturating_sub(s.parked_since) > ttl)
            .map(|s| s.id.clone())
            .collect();
        for id in expired {
            if let Some(s) = self.sessions.remove(&id) {
                self.tokens.remove(&s.token);
            }
        }
    }
}

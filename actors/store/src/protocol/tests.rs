//! Protocol tests: the state machine driven against a real in-memory store,
//! through the same `execute` and `Watcher` an endpoint uses.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{Value, json};

use super::*;
use crate::history::HistoryLimits;
use crate::store::{Store, StoreConfig};

mod doc_examples;
mod limits;
mod resume;

struct Harness {
    store: Store,
    proto: Protocol,
    watcher: Watcher,
    inbox: BTreeMap<ConnId, Vec<ServerMessage>>,
    closed: Vec<(ConnId, String)>,
    now: u64,
}

impl Harness {
    fn new(history: usize) -> Self {
        let store = Store::in_memory(StoreConfig {
            history: HistoryLimits::uniform(history),
            ..StoreConfig::default()
        });
        let watcher = Watcher::new(&store);
        Self {
            store,
            proto: Protocol::new(ProtocolConfig::default(), [7; 32]),
            watcher,
            inbox: BTreeMap::new(),
            closed: Vec::new(),
            now: 1_000,
        }
    }

    fn feed(&mut self, input: Input) {
        let mut queue = vec![input];
        while let Some(input) = queue.pop() {
            for action in self.proto.handle(input) {
                match action {
                    Action::Send { conn, message } => {
                        self.inbox.entry(conn).or_default().push(message)
                    }
                    Action::Close { conn, reason } => self.closed.push((conn, reason)),
                    action => queue.extend(execute(&self.store, action)),
                }
            }
        }
    }

    /// Deliver the store's new commits, as the endpoint's watcher loop does.
    fn pump(&mut self) {
        if let Some(changes) = self
            .watcher
            .poll(&self.store, Duration::ZERO)
            .unwrap_or_else(|e| panic!("{e}"))
        {
            self.feed(Input::Committed(changes));
        }
    }

    fn send(&mut self, conn: ConnId, frame: Value) {
        self.now += 1;
        self.feed(Input::Frame {
            conn,
            text: frame.to_string(),
            now_ms: self.now,
        });
    }

    fn connect(&mut self, conn: ConnId, hello: Value) {
        self.feed(Input::Connected {
            conn,
            may_write: true,
            now_ms: self.now,
        });
        self.send(conn, hello);
    }

    fn take(&mut self, conn: ConnId) -> Vec<ServerMessage> {
        self.inbox.remove(&conn).unwrap_or_default()
    }

    fn update(&mut self, conn: ConnId, id: &str, topic: &str, expected: u64, payload: Value) {
        let frame = json!({"type": "state.update", "request_id": id, "topic": topic, "expected_version": expected, "payload": payload});
        self.send(conn, frame);
    }
}

fn welcome(messages: &[ServerMessage]) -> (String, String, bool) {
    match messages.first() {
        Some(ServerMessage::Welcome {
            session_id,
            resume_token,
            resumed,
            ..
        }) => (session_id.clone(), resume_token.clone(), *resumed),
        other => panic!("expected a welcome first, got {other:?}"),
    }
}

fn versions(messages: &[ServerMessage]) -> Vec<u64> {
    messages
        .iter()
        .filter_map(|m| match m {
            ServerMessage::NotifyLayers(n)
            | ServerMessage::NotifyDims(n)
            | ServerMessage::NotifyCamera(n) => Some(n.version),
            _ => None,
        })
        .collect()
}

fn add_layer(id: &str) -> Value {
    json!({"op": "add", "id": id})
}

#[test]
fn handshake_gives_a_session_token_and_a_fresh_baseline() {
    let mut h = Harness::new(16);
    h.store
        .apply_delta(
            Topic::Layers,
            add_layer("bg"),
            0,
            &Author::new("seed", "test"),
        )
        .ok();
    h.pump();
    h.connect(1, json!({"type": "session.hello", "actor_id": "alice"}));
    let got = h.take(1);
    let (session, token, resumed) = welcome(&got);
    assert_eq!(session, "s-1");
    assert_eq!(token.len(), 32);
    assert!(!resumed);
    match &got[1] {
        ServerMessage::Scene {
            version,
            reason,
            topics,
        } => {
            assert_eq!((*version, *reason), (1, BaselineReason::Fresh));
            assert_eq!(topics[&Topic::Layers]["bg"]["opacity"], json!(1.0));
            assert!(
                topics.contains_key(&Topic::Camera),
                "every followed topic is in the baseline"
            );
        }
        other => panic!("expected a notify.scene baseline, got {other:?}"),
    }
}

#[test]
fn an_ack_follows_the_notify_of_its_version_and_every_session_is_notified() {
    let mut h = Harness::new(16);
    h.connect(1, json!({"type": "session.hello", "actor_id": "alice"}));
    h.connect(2, json!({"type": "session.hello", "actor_id": "bob"}));
    h.take(1);
    h.take(2);
    h.update(1, "r1", "layers", 0, add_layer("l1"));
    assert!(
        h.take(1).is_empty(),
        "the ack waits for the notify of its version"
    );
    h.pump();
    let alice = h.take(1);
    assert!(
        matches!(&alice[0], ServerMessage::NotifyLayers(n) if n.version == 1 && n.actor_id == "alice" && n.origin == "session:s-1")
    );
    assert!(
        matches!(&alice[1], ServerMessage::Ack { request_id, ok: true, version: Some(1), .. } if request_id == "r1")
    );
    assert_eq!(versions(&h.take(2)), vec![1]);
}

#[test]
fn stale_and_invalid_updates_get_error_acks_and_change_nothing() {
    let mut h = Harness::new(16);
    h.connect(1, json!({"type": "session.hello", "actor_id": "alice"}));
    h.connect(2, json!({"type": "session.hello", "actor_id": "bob"}));
    h.update(1, "a", "layers", 0, add_layer("l1"));
    h.pump();
    h.update(
        1,
        "b",
        "layers",
        1,
        json!({"op": "set", "id": "l1", "opacity": 0.5}),
    );
    h.pump();
    h.take(1);
    h.take(2);
    h.update(
        2,
        "c",
        "layers",
        1,
        json!({"op": "set", "id": "l1", "opacity": 0.9}),
    );
    h.update(
        2,
        "d",
        "layers",
        2,
        json!({"op": "set", "id": "l1", "opacity": 9}),
    );
    h.pump();
    let bob = h.take(2);
    match &bob[..] {
        [
            ServerMessage::Ack {
                request_id: c,
                ok: false,
                error: Some(stale),
                current_version: Some(2),
                ..
            },
            ServerMessage::Ack {
                request_id: d,
                ok: false,
                error: Some(invalid),
                ..
            },
        ] => {
            assert_eq!((c.as_str(), stale.code.as_str()), ("c", "stale"));
            assert_eq!(
                (d.as_str(), invalid.code.as_str(), invalid.field.as_deref()),
                ("d", "invalid", Some("opacity"))
            );
        }
        other => panic!("expected two error acks, got {other:?}"),
    }
    assert_eq!(h.store.version(), 2);
    let opacity = h
        .store
        .snapshot(Topic::Layers)
        .ok()
        .and_then(|s| s.records.value("l1", "opacity").cloned());
    assert_eq!(opacity, Some(json!(0.5)));
}

#[test]
fn heartbeats_carry_the_cursor_and_silence_closes() {
    let mut h = Harness::new(16);
    h.connect(
        1,
        json!({"type": "session.hello", "actor_id": "alice", "topics": ["camera"]}),
    );
    h.take(1);
    h.update(1, "r", "layers", 0, add_layer("l1"));
    h.pump();
    let got = h.take(1);
    assert_eq!(versions(&got), Vec::<u64>::new(), "layers are not followed");
    assert!(matches!(&got[..], [ServerMessage::Ack { ok: true, .. }]));
    h.now += ProtocolConfig::default().heartbeat_ms;
    h.feed(Input::Tick { now_ms: h.now });
    assert_eq!(
        h.take(1),
        vec![ServerMessage::Heartbeat { version: 1 }],
        "the bookmark passes unfollowed versions"
    );
    h.now += ProtocolConfig::default().idle_timeout_ms + 1;
    h.feed(Input::Tick { now_ms: h.now });
    assert!(matches!(&h.take(1)[..], [ServerMessage::Error { code, .. }] if code == "idle"));
    assert_eq!(h.closed.len(), 1);
    assert_eq!(h.proto.connections(), 0);
    assert_eq!(h.proto.sessions(), 1, "the session is parked for resuming");
}

#[test]
fn frames_out_of_order_or_malformed_are_errors() {
    let mut h = Harness::new(4);
    h.connect(1, json!({"type": "state.update", "request_id": "r", "topic": "layers", "expected_version": 0, "payload": {}}));
    assert!(matches!(&h.take(1)[..], [ServerMessage::Error { code, .. }] if code == "protocol"));
    h.feed(Input::Connected {
        conn: 2,
        may_write: true,
        now_ms: h.now,
    });
    h.feed(Input::Frame {
        conn: 2,
        text: "{not json".into(),
        now_ms: h.now,
    });
    assert!(matches!(&h.take(2)[..], [ServerMessage::Error { code, .. }] if code == "bad_frame"));
    h.connect(3, json!({"type": "session.hello", "actor_id": "carol"}));
    h.take(3);
    h.send(3, json!({"type": "session.heartbeat", "extra": 1}));
    match &h.take(3)[..] {
        [ServerMessage::Error { code, message }] => {
            assert_eq!(code, "bad_frame");
            assert!(message.contains("extra"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    h.send(3, json!({"type": "session.hello", "actor_id": "carol"}));
    assert!(matches!(&h.take(3)[..], [ServerMessage::Error { code, .. }] if code == "protocol"));
    h.connect(4, json!({"type": "session.hello", "actor_id": ""}));
    assert!(
        matches!(&h.take(4)[..], [ServerMessage::Error { code, .. }] if code == "bad_actor_id")
    );
    assert_eq!(
        h.closed.iter().map(|(c, _)| *c).collect::<Vec<_>>(),
        vec![1, 2, 3, 4]
    );
}

#[test]
fn duplicate_request_ids_in_flight_are_refused() {
    let mut h = Harness::new(4);
    h.connect(1, json!({"type": "session.hello", "actor_id": "alice"}));
    h.take(1);
    // Hold the apply: feed the machine directly, without executing actions.
    let frame = json!({"type": "state.update", "request_id": "same", "topic": "layers", "expected_version": 0, "payload": add_layer("a")});
    let first = h.proto.handle(Input::Frame {
        conn: 1,
        text: frame.to_string(),
        now_ms: h.now,
    });
    assert!(matches!(&first[..], [Action::Apply { .. }]));
    let second = h.proto.handle(Input::Frame {
        conn: 1,
        text: frame.to_string(),
        now_ms: h.now,
    });
    assert!(
        matches!(&second[..], [Action::Send { message: ServerMessage::Ack { error: Some(e), .. }, .. }] if e.code == "duplicate_request" && e.field.is_none()),
        "only an invalid request id names its field: {second:?}"
    );
}

#[test]
fn a_read_only_connection_reads_but_its_updates_are_forbidden() {
    let mut h = Harness::new(16);
    h.feed(Input::Connected {
        conn: 1,
        may_write: false,
        now_ms: h.now,
    });
    h.send(1, json!({"type": "session.hello", "actor_id": "viewer"}));
    let got = h.take(1);
    welcome(&got);
    h.update(1, "r-1", "layers", 0, add_layer("bg"));
    h.pump();
    let got = h.take(1);
    let [
        ServerMessage::Ack {
            request_id,
            ok: false,
            error: Some(error),
            ..
        },
    ] = &got[..]
    else {
        panic!("expected one refusal, got {got:?}");
    };
    assert_eq!(request_id, "r-1");
    assert_eq!(error.code, "forbidden");
    assert!(error.message.contains("admin token"), "{}", error.message);
    assert_eq!(h.store.version(), 0, "nothing was written");
    // A writer on another connection is notified; the reader sees it too.
    h.connect(2, json!({"type": "session.hello", "actor_id": "admin"}));
    h.take(2);
    h.update(2, "r-2", "layers", 0, add_layer("bg"));
    h.pump();
    assert_eq!(versions(&h.take(1)), vec![1]);
}

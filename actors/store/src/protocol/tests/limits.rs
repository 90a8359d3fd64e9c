//! The protocol's limits at their exact edges (each was a surviving
//! mutant of `cargo mutants`: `>` for `>=`, `||` for `&&`), and an ack
//! whose answer arrives after its connection dropped.

use serde_json::json;

use super::{Harness, versions, welcome};
use crate::protocol::{Action, Input, Protocol, ProtocolConfig, ServerMessage, execute};

const MAX_ID: usize = 128;

fn errors(messages: &[ServerMessage]) -> Vec<String> {
    messages
        .iter()
        .filter_map(|m| match m {
            ServerMessage::Error { code, .. } => Some(code.clone()),
            _ => None,
        })
        .collect()
}

/// `{"type":"session.heartbeat"}` padded with blanks to exactly `len` bytes.
fn heartbeat_of(len: usize) -> String {
    let frame = r#"{"type":"session.heartbeat"}"#;
    format!("{frame}{}", " ".repeat(len - frame.len()))
}

#[test]
fn a_frame_of_exactly_the_limit_is_read_and_one_byte_more_is_refused() {
    let mut h = Harness::new(4);
    h.proto = Protocol::new(
        ProtocolConfig {
            max_frame_bytes: 256,
            ..ProtocolConfig::default()
        },
        [7; 32],
    );
    h.connect(1, json!({"type": "session.hello", "actor_id": "alice"}));
    h.take(1);
    for (len, refused) in [(255, false), (256, false), (257, true)] {
        h.feed(Input::Frame {
            conn: 1,
            text: heartbeat_of(len),
            now_ms: h.now,
        });
        let got = h.take(1);
        assert_eq!(
            errors(&got) == ["frame_too_large"],
            refused,
            "a frame of {len} bytes: {got:?}"
        );
        assert_eq!(h.closed.is_empty(), !refused, "{len} bytes");
    }
}

#[test]
fn actor_ids_are_one_to_128_bytes_without_control_characters() {
    let mut h = Harness::new(4);
    let cases = [
        (String::new(), false),
        ("a".to_owned(), true),
        ("a".repeat(MAX_ID), true),
        ("a".repeat(MAX_ID + 1), false),
        ("tab\there".to_owned(), false),
        ("nul\0".to_owned(), false),
    ];
    for (conn, (actor_id, ok)) in (1..).zip(cases) {
        h.connect(conn, json!({"type": "session.hello", "actor_id": actor_id}));
        let got = h.take(conn);
        if ok {
            welcome(&got);
        } else {
            assert_eq!(errors(&got), ["bad_actor_id"], "{actor_id:?}: {got:?}");
        }
    }
    // Every good hello holds a connection and a session; every bad one was closed.
    assert_eq!(h.proto.connections(), 2);
    assert_eq!(h.proto.sessions(), 2);
    assert_eq!(h.closed.len(), 4);
}

#[test]
fn request_ids_are_one_to_128_bytes_and_a_refusal_names_the_field() {
    let mut h = Harness::new(16);
    h.connect(1, json!({"type": "session.hello", "actor_id": "alice"}));
    h.take(1);
    let set = |zoom: u32| json!({"op": "set", "target": "main", "zoom": zoom});
    for (n, (request_id, ok)) in [
        (String::new(), false),
        ("r".repeat(MAX_ID), true),
        ("r".repeat(MAX_ID + 1), false),
    ]
    .into_iter()
    .enumerate()
    {
        let expected = h.store.version();
        h.update(1, &request_id, "camera", expected, set(n as u32 + 1));
        h.pump();
        let got = h.take(1);
        let ack = got
            .iter()
            .find_map(|m| match m {
                ServerMessage::Ack { ok, error, .. } => Some((*ok, error.clone())),
                _ => None,
            })
            .unwrap_or_else(|| panic!("no ack for {request_id:?}: {got:?}"));
        assert_eq!(ack.0, ok, "{request_id:?}: {got:?}");
        if !ok {
            let error = ack.1.unwrap_or_else(|| panic!("no error: {got:?}"));
            assert_eq!(error.code, "invalid");
            assert_eq!(error.field.as_deref(), Some("request_id"));
        }
    }
    assert_eq!(h.store.version(), 1, "only the good request was applied");
}

#[test]
fn an_answer_that_arrives_after_the_disconnect_is_acked_on_resume() {
    let mut h = Harness::new(16);
    h.connect(1, json!({"type": "session.hello", "actor_id": "alice"}));
    let (_, token, _) = welcome(&h.take(1));
    let frame = json!({"type": "state.update", "request_id": "r1", "topic": "camera", "expected_version": 0, "payload": {"op": "set", "target": "main", "zoom": 2}});
    let mut actions = h.proto.handle(Input::Frame {
        conn: 1,
        text: frame.to_string(),
        now_ms: h.now,
    });
    assert!(
        matches!(&actions[..], [Action::Apply { .. }]),
        "{actions:?}"
    );
    // The store commits; its notify reaches the live session (cursor 1)...
    let answer = actions
        .pop()
        .and_then(|apply| execute(&h.store, apply))
        .unwrap_or_else(|| panic!("the apply has an answer"));
    h.pump();
    assert_eq!(versions(&h.take(1)), vec![1]);
    assert_eq!(h.watcher.seen(), 1, "the watcher has yielded version 1");
    // ...then the connection drops, and only then does the answer arrive.
    assert!(
        h.proto
            .handle(Input::Disconnected {
                conn: 1,
                now_ms: h.now,
            })
            .is_empty()
    );
    h.feed(answer);
    h.connect(2, json!({"type": "session.hello", "actor_id": "alice", "resume": {"token": token, "cursor": 1}}));
    let got = h.take(2);
    assert!(welcome(&got).2, "resumed: {got:?}");
    assert!(
        got.iter().any(|m| matches!(m, ServerMessage::Ack { request_id, ok: true, version: Some(1), .. } if request_id == "r1")),
        "the ack held for the parked session is delivered on resume: {got:?}"
    );
    // The resumed session writes on; the watcher follows the store.
    h.update(
        2,
        "r2",
        "camera",
        1,
        json!({"op": "set", "target": "main", "zoom": 3}),
    );
    h.pump();
    assert_eq!(h.watcher.seen(), 2);
    assert_eq!(versions(&h.take(2)), vec![2]);
}

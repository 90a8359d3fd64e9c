//! Resuming: replay after a disconnect (with an ack that was in flight),
//! compacted baselines, and a live session whose topic was compacted under it.

use serde_json::json;

use super::{Harness, versions, welcome};
use crate::protocol::{Action, BaselineReason, Input, ProtocolConfig, ServerMessage, Watcher};
use crate::record::Author;
use crate::topic::Topic;

#[test]
fn resume_replays_what_was_missed_and_an_ack_in_flight() {
    let mut h = Harness::new(16);
    h.connect(1, json!({"type": "session.hello", "actor_id": "alice"}));
    let (session, token, _) = welcome(&h.take(1));
    h.update(
        1,
        "r1",
        "camera",
        0,
        json!({"op": "set", "target": "main", "zoom": 2}),
    );
    // The connection drops before the store answers.
    let mut actions = h.proto.handle(Input::Disconnected {
        conn: 1,
        now_ms: h.now,
    });
    assert!(actions.is_empty());
    actions.clear();
    h.pump();
    h.store
        .apply_delta(
            Topic::Dims,
            json!({"op": "ndim", "target": "main", "ndim": 2}),
            1,
            &Author::new("bob", "t"),
        )
        .ok();
    h.pump();
    h.connect(3, json!({"type": "session.hello", "actor_id": "alice", "resume": {"token": token, "cursor": 0}}));
    let got = h.take(3);
    let (resumed_id, new_token, resumed) = welcome(&got);
    assert!(resumed);
    assert_eq!(resumed_id, session);
    assert_ne!(new_token, token, "tokens rotate on every welcome");
    assert_eq!(versions(&got), vec![1, 2]);
    assert!(
        matches!(got.last(), Some(ServerMessage::Ack { request_id, ok: true, version: Some(1), .. }) if request_id == "r1")
    );
    // The old token no longer resumes: a new session with a fresh baseline.
    h.connect(4, json!({"type": "session.hello", "actor_id": "alice", "resume": {"token": token, "cursor": 2}}));
    let got = h.take(4);
    assert!(!welcome(&got).2);
    assert!(matches!(
        &got[1],
        ServerMessage::Scene {
            reason: BaselineReason::Fresh,
            ..
        }
    ));
}

#[test]
fn a_cursor_that_fell_off_the_history_gets_a_compacted_baseline() {
    let mut h = Harness::new(2);
    h.connect(1, json!({"type": "session.hello", "actor_id": "alice"}));
    let (_, token, _) = welcome(&h.take(1));
    h.feed(Input::Disconnected {
        conn: 1,
        now_ms: h.now,
    });
    let bob = Author::new("bob", "t");
    for i in 0..5 {
        h.store
            .apply_delta(
                Topic::Camera,
                json!({"op": "set", "target": "main", "zoom": i + 1}),
                i,
                &bob,
            )
            .ok();
    }
    h.pump();
    h.connect(2, json!({"type": "session.hello", "actor_id": "alice", "resume": {"token": token, "cursor": 1}}));
    let got = h.take(2);
    assert!(welcome(&got).2);
    match &got[1] {
        ServerMessage::Scene {
            version: 5,
            reason: BaselineReason::Compacted,
            topics,
        } => {
            assert_eq!(topics[&Topic::Camera]["main"]["zoom"], json!(5.0));
            assert!(
                !topics.contains_key(&Topic::Layers),
                "only the compacted topic is relisted"
            );
        }
        other => panic!("expected a compacted baseline, got {other:?}"),
    }
    h.now += ProtocolConfig::default().heartbeat_ms;
    h.feed(Input::Tick { now_ms: h.now });
    assert_eq!(h.take(2), vec![ServerMessage::Heartbeat { version: 5 }]);
}

#[test]
fn a_live_session_catches_up_when_its_topic_was_compacted_under_it() {
    let mut h = Harness::new(2);
    h.connect(1, json!({"type": "session.hello", "actor_id": "alice"}));
    h.take(1);
    let bob = Author::new("bob", "t");
    for i in 0..4 {
        h.store
            .apply_delta(
                Topic::Camera,
                json!({"op": "set", "target": "v", "zoom": i + 1}),
                i,
                &bob,
            )
            .ok();
    }
    // The watcher fell behind: its changes say camera was compacted.
    let changes = h.store.changes_since(0).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(changes.compacted, vec![Topic::Camera]);
    h.watcher = Watcher::new(&h.store);
    h.feed(Input::Committed(changes));
    assert!(matches!(
        &h.take(1)[..],
        [ServerMessage::Scene {
            version: 4,
            reason: BaselineReason::Compacted,
            ..
        }]
    ));
}

/// Resuming twice in quick succession, the first catch-up's answer arriving
/// while the second is still pending: it must be ignored, or the new
/// connection would replay from the old cursor and notifies go backwards.
#[test]
fn a_stale_catch_up_answer_is_ignored() {
    let mut h = Harness::new(16);
    h.connect(1, json!({"type": "session.hello", "actor_id": "alice"}));
    let (_, token, _) = welcome(&h.take(1));
    let bob = Author::new("bob", "t");
    for i in 0..3 {
        h.store
            .apply_delta(
                Topic::Camera,
                json!({"op": "set", "target": "v", "zoom": i + 1}),
                i,
                &bob,
            )
            .ok();
    }
    h.pump();
    h.take(1);
    h.feed(Input::Disconnected {
        conn: 1,
        now_ms: h.now,
    });
    // Two resumes, neither catch-up answered yet: from cursor 0, then from 3.
    let mut pending = Vec::new();
    let mut token = token;
    for (conn, cursor) in [(2, 0), (3, 3)] {
        h.proto.handle(Input::Connected {
            conn,
            may_write: true,
            now_ms: h.now,
        });
        let hello = json!({"type": "session.hello", "actor_id": "alice", "resume": {"token": token, "cursor": cursor}});
        for action in h.proto.handle(Input::Frame {
            conn,
            text: hello.to_string(),
            now_ms: h.now,
        }) {
            match action {
                Action::Send {
                    message: ServerMessage::Welcome { resume_token, .. },
                    ..
                } => token = resume_token,
                Action::CatchUp { .. } => pending.push(action),
                _ => {}
            }
        }
    }
    assert_eq!(pending.len(), 2);
    // The answers arrive oldest first.
    for action in pending {
        h.feed(crate::protocol::execute(&h.store, action).unwrap_or_else(|| panic!("an answer")));
    }
    assert_eq!(
        versions(&h.take(3)),
        Vec::<u64>::new(),
        "nothing after cursor 3, and no replay from 0"
    );
    h.store
        .apply_delta(
            Topic::Camera,
            json!({"op": "set", "target": "v", "zoom": 9}),
            3,
            &bob,
        )
        .ok();
    h.pump();
    assert_eq!(versions(&h.take(3)), vec![4]);
}

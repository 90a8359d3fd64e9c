//! The examples of `docs/PROTOCOL.md`, pinned byte for byte.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::protocol::{BaselineReason, ClientMessage, Notify, NotifyChange, ServerMessage};
use crate::topic::Topic;

/// The examples of `docs/PROTOCOL.md`, byte for byte: client frames parse,
/// server frames serialise exactly so.
#[test]
fn the_documented_examples_are_exact() {
    let client = [
        r#"{"type":"session.hello","actor_id":"alice"}"#,
        r#"{"type":"session.hello","actor_id":"alice","resume":{"token":"5f0c8a1e3b7d9c2a4e6f8b0d1c3e5a7b","cursor":41},"topics":["layers","camera"]}"#,
        r#"{"type":"state.update","request_id":"r-17","topic":"layers","expected_version":41,"payload":{"op":"set","id":"bg","opacity":0.5}}"#,
        r#"{"type":"session.heartbeat"}"#,
        r#"{"type":"session.goodbye"}"#,
    ];
    for text in client {
        let parsed: ClientMessage =
            serde_json::from_str(text).unwrap_or_else(|e| panic!("{text}: {e}"));
        // Compared as JSON values: payload keys have no order.
        assert_eq!(
            serde_json::to_value(&parsed).ok(),
            serde_json::from_str::<Value>(text).ok()
        );
    }
    let stale = crate::reduce::Rejection::Stale {
        target: "bg".into(),
        key: "opacity".into(),
        record_version: 42,
        expected_version: 41,
    };
    let invalid = crate::reduce::Rejection::invalid("opacity", "1.5 is outside 0..=1");
    let notify = ServerMessage::NotifyLayers(Notify {
        version: 42,
        timestamp: 1_763_700_000_000,
        actor_id: "alice".into(),
        origin: "session:s-1".into(),
        changes: vec![NotifyChange {
            target: "bg".into(),
            key: "opacity".into(),
            value: Some(json!(0.5)),
        }],
    });
    let mut camera = BTreeMap::new();
    camera.insert(
        "main".to_owned(),
        BTreeMap::from([("zoom".to_owned(), json!(2.0))]),
    );
    let server = [
        (
            ServerMessage::Welcome {
                session_id: "s-1".into(),
                resume_token: "5f0c8a1e3b7d9c2a4e6f8b0d1c3e5a7b".into(),
                resumed: false,
                topics: Topic::ALL.to_vec(),
                heartbeat_ms: 5000,
                idle_timeout_ms: 20000,
            },
            r#"{"type":"session.welcome","session_id":"s-1","resume_token":"5f0c8a1e3b7d9c2a4e6f8b0d1c3e5a7b","resumed":false,"topics":["layers","dims","camera"],"heartbeat_ms":5000,"idle_timeout_ms":20000}"#,
        ),
        (
            ServerMessage::Ack {
                request_id: "r-17".into(),
                ok: true,
                version: Some(42),
                error: None,
                current_version: None,
            },
            r#"{"type":"state.ack","request_id":"r-17","ok":true,"version":42}"#,
        ),
        (
            ServerMessage::rejected("r-18".into(), &stale, 45),
            r#"{"type":"state.ack","request_id":"r-18","ok":false,"error":{"code":"stale","message":"stale: bg/opacity changed at version 42, after expected_version 41"},"current_version":45}"#,
        ),
        (
            ServerMessage::rejected("r-19".into(), &invalid, 45),
            r#"{"type":"state.ack","request_id":"r-19","ok":false,"error":{"code":"invalid","message":"field `opacity`: 1.5 is outside 0..=1","field":"opacity"},"current_version":45}"#,
        ),
        (
            notify,
            r#"{"type":"notify.layers","version":42,"timestamp":1763700000000,"actor_id":"alice","origin":"session:s-1","changes":[{"target":"bg","key":"opacity","value":0.5}]}"#,
        ),
        (
            ServerMessage::Scene {
                version: 45,
                reason: BaselineReason::Compacted,
                topics: BTreeMap::from([(Topic::Camera, camera)]),
            },
            r#"{"type":"notify.scene","version":45,"reason":"compacted","topics":{"camera":{"main":{"zoom":2.0}}}}"#,
        ),
        (
            ServerMessage::Heartbeat { version: 45 },
            r#"{"type":"session.heartbeat","version":45}"#,
        ),
        (
            ServerMessage::error("protocol", "send session.hello first"),
            r#"{"type":"session.error","code":"protocol","message":"send session.hello first"}"#,
        ),
    ];
    for (message, text) in server {
        assert_eq!(serde_json::to_string(&message).ok().as_deref(), Some(text));
        let back: ServerMessage =
            serde_json::from_str(text).unwrap_or_else(|e| panic!("{text}: {e}"));
        assert_eq!(back, message);
    }
}

//! Clients on the wire, against the real `warden run`: a WebSocket client
//! (tokio-tungstenite) through the store protocol written from
//! docs/PROTOCOL.md — reading, writing with the token, refusals, bad frames,
//! resume across a store kill in both placements with nothing acknowledged
//! lost, three clients on the same and different records — seed 003's HTTP
//! API over perception, the SSE topic stream, and the Python reader of the
//! shared-memory export.
#![allow(clippy::unwrap_used)]

#[path = "support/process.rs"]
mod support;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write as _};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use support::{eventually, get_json, http, post, run};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

const TOKEN: &str = "wire-token-31";

fn system(store_placement: &str, shm_instance: &str) -> String {
    format!(
        r#"
[supervisor]
max_restarts = 100
within_secs = 10

[actors.store]
kind = "store"
placement = "{store_placement}"
data = "scene"

[actors.perception]
kind = "perception"
placement = "process"
size = "320x240"
fps = 10
shm_instance = "{shm_instance}"

[actors.compositor]
kind = "compositor"
placement = "inprocess"
size = "160x90"
fps = 10
images = ""
audio = ""
"#
    )
}

/// The last `n` lines of `text`.
fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

fn start(store_placement: &str, shm_instance: &str) -> support::Running {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    file.write_all(system(store_placement, shm_instance).as_bytes())
        .unwrap();
    let running = run(&["--config", file.path().to_str().unwrap()], Some(TOKEN));
    assert!(
        eventually(Duration::from_secs(20), || get_json(
            &running.url("/api/perception/tracks")
        )
        .0 == 200),
        "perception publishes"
    );
    running
}

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

fn ws_url(running: &support::Running) -> String {
    running.url("/ws").replacen("http://", "ws://", 1)
}

async fn connect(
    running: &support::Running,
    header: Option<(&'static str, String)>,
) -> Result<Ws, String> {
    let mut request = ws_url(running).into_client_request().unwrap();
    if let Some((name, value)) = header {
        request.headers_mut().insert(name, value.parse().unwrap());
    }
    match tokio_tungstenite::connect_async(request).await {
        Ok((ws, _)) => Ok(ws),
        Err(err) => Err(err.to_string()),
    }
}

async fn send(ws: &mut Ws, frame: Value) {
    ws.send(Message::text(frame.to_string())).await.unwrap();
}

/// The next text frame as JSON (`None`: closed, or nothing within 10 s).
async fn next(ws: &mut Ws) -> Option<Value> {
    loop {
        match tokio::time::timeout(Duration::from_secs(10), ws.next()).await {
            Ok(Some(Ok(Message::Text(text)))) => return Some(serde_json::from_str(&text).unwrap()),
            Ok(Some(Ok(Message::Ping(_) | Message::Pong(_)))) => continue,
            _ => return None,
        }
    }
}

/// Frames until one of `kind` (with `request_id` if given); the others are returned too.
async fn until(ws: &mut Ws, kind: &str, request_id: Option<&str>) -> (Value, Vec<Value>) {
    let mut before = Vec::new();
    loop {
        let frame = next(ws)
            .await
            .unwrap_or_else(|| panic!("no {kind} came; before it: {before:?}"));
        if frame["type"] == kind && request_id.is_none_or(|id| frame["request_id"] == id) {
            return (frame, before);
        }
        before.push(frame);
    }
}

async fn hello(ws: &mut Ws, actor: &str, token: Option<&str>) -> (Value, Value) {
    let mut frame = json!({"type": "session.hello", "actor_id": actor});
    if let Some(token) = token {
        frame["token"] = json!(token);
    }
    send(ws, frame).await;
    let welcome = next(ws).await.unwrap();
    assert_eq!(welcome["type"], "session.welcome", "{welcome}");
    let baseline = next(ws).await.unwrap();
    assert_eq!(baseline["type"], "notify.scene", "{baseline}");
    (welcome, baseline)
}

fn update(id: &str, topic: &str, expected: u64, payload: Value) -> Value {
    json!({"type": "state.update", "request_id": id, "topic": topic, "expected_version": expected, "payload": payload})
}

#[tokio::test(flavor = "current_thread")]
async fn the_store_protocol_over_websocket_reads_writes_and_refuses() {
    let running = start("process", &format!("wire-a-{}", std::process::id()));

    // A page from another origin may not open the socket.
    let refused = connect(&running, Some(("origin", "http://evil.example".into()))).await;
    assert!(
        refused.as_ref().is_err_and(|e| e.contains("403")),
        "{refused:?}"
    );
    let own = running.base.clone();
    connect(&running, Some(("origin", own))).await.unwrap();

    // A reader: the seeded scene as a baseline; its updates are forbidden.
    let mut reader = connect(&running, None).await.unwrap();
    let (welcome, baseline) = hello(&mut reader, "reader", None).await;
    assert_eq!(baseline["reason"], "fresh");
    assert!(
        baseline["topics"]["layers"]["bars"].is_object(),
        "{baseline}"
    );
    assert!(welcome["resume_token"].as_str().unwrap().len() == 32);
    let version = baseline["version"].as_u64().unwrap();
    send(
        &mut reader,
        update(
            "r-1",
            "layers",
            version,
            json!({"op": "set", "id": "bars", "visible": false}),
        ),
    )
    .await;
    let (ack, _) = until(&mut reader, "state.ack", Some("r-1")).await;
    assert_eq!(ack["ok"], false);
    assert_eq!(ack["error"]["code"], "forbidden", "{ack}");

    // A writer with the token in its hello (the store never sees it).
    let mut writer = connect(&running, None).await.unwrap();
    let (_, baseline) = hello(&mut writer, "writer", Some(TOKEN)).await;
    let version = baseline["version"].as_u64().unwrap();
    send(
        &mut writer,
        update(
            "w-1",
            "layers",
            version,
            json!({"op": "set", "id": "bars", "visible": false}),
        ),
    )
    .await;
    let (ack, before) = until(&mut writer, "state.ack", Some("w-1")).await;
    assert_eq!(ack["ok"], true, "{ack}");
    let acked = ack["version"].as_u64().unwrap();
    assert!(
        before
            .iter()
            .any(|f| f["type"] == "notify.layers" && f["version"] == acked),
        "the notify comes before its ack: {before:?}"
    );
    let (notify, _) = until(&mut reader, "notify.layers", None).await;
    assert_eq!(notify["version"], acked);
    assert_eq!(notify["changes"][0]["value"], false);
    assert_eq!(notify["actor_id"], "writer");

    // The live picture follows the store.
    assert!(
        eventually(Duration::from_secs(5), || {
            get_json(&running.url("/api/compositor")).1["scene_version"]
                .as_u64()
                .is_some_and(|v| v >= acked)
        }),
        "the compositor saw version {acked}"
    );

    // Stale, invalid, malformed and binary frames: refused, connection kept.
    // (`bars/visible` changed after `version`; per record, so the same key.)
    send(
        &mut writer,
        update(
            "w-2",
            "layers",
            version,
            json!({"op": "set", "id": "bars", "visible": true}),
        ),
    )
    .await;
    let (ack, _) = until(&mut writer, "state.ack", Some("w-2")).await;
    assert_eq!(ack["error"]["code"], "stale", "{ack}");
    send(
        &mut writer,
        update(
            "w-3",
            "layers",
            acked,
            json!({"op": "set", "id": "bars", "opacity": 1.5}),
        ),
    )
    .await;
    let (ack, _) = until(&mut writer, "state.ack", Some("w-3")).await;
    assert_eq!(ack["error"]["code"], "invalid", "{ack}");
    assert_eq!(ack["error"]["field"], "opacity");
    writer.send(Message::text("not json")).await.unwrap();
    let (error, _) = until(&mut writer, "session.error", None).await;
    assert_eq!(error["code"], "bad_frame");
    writer.send(Message::binary(vec![1, 2, 3])).await.unwrap();
    let (error, _) = until(&mut writer, "session.error", None).await;
    assert_eq!(error["code"], "bad_frame");
    assert!(error["message"].as_str().unwrap().contains("binary"));

    // The token in the upgrade's Authorization header works as well.
    let mut header_writer = connect(&running, Some(("authorization", format!("Bearer {TOKEN}"))))
        .await
        .unwrap();
    let (_, baseline) = hello(&mut header_writer, "header", None).await;
    let version = baseline["version"].as_u64().unwrap();
    send(
        &mut header_writer,
        update(
            "h-1",
            "camera",
            version,
            json!({"op": "set", "target": "main", "zoom": 1.5}),
        ),
    )
    .await;
    let (ack, _) = until(&mut header_writer, "state.ack", Some("h-1")).await;
    assert_eq!(ack["ok"], true, "{ack}");

    // Over the 1 MiB limit: frame_too_large, then the connection closes.
    let big = "x".repeat(1_200_000);
    header_writer
        .send(Message::text(
            json!({"type": "session.heartbeat", "pad": big}).to_string(),
        ))
        .await
        .unwrap();
    let (error, _) = until(&mut header_writer, "session.error", None).await;
    assert_eq!(error["code"], "frame_too_large", "{error}");
    assert!(next(&mut header_writer).await.is_none(), "closed after it");

    // Goodbye ends the session.
    send(&mut writer, json!({"type": "session.goodbye"})).await;
    let stats = get_json(&running.url("/api/ws")).1;
    assert!(stats["accepted"].as_u64().unwrap() >= 4, "{stats}");
    assert_eq!(stats["refused_origin"], 1, "{stats}");
}

#[tokio::test(flavor = "current_thread")]
async fn three_clients_on_the_same_and_different_records() {
    let running = start("inprocess", &format!("wire-b-{}", std::process::id()));
    let mut clients = Vec::new();
    for name in ["a", "b", "c"] {
        let mut ws = connect(&running, None).await.unwrap();
        let (_, baseline) = hello(&mut ws, name, Some(TOKEN)).await;
        clients.push((ws, baseline["version"].as_u64().unwrap()));
    }
    let version = clients[0].1;
    // a and b write the same record from the same version; c another one.
    for (i, payload) in [
        (
            "layers",
            json!({"op": "set", "id": "camera", "opacity": 0.25}),
        ),
        (
            "layers",
            json!({"op": "set", "id": "camera", "opacity": 0.75}),
        ),
        (
            "camera",
            json!({"op": "set", "target": "main", "zoom": 2.0}),
        ),
    ]
    .into_iter()
    .enumerate()
    {
        let ws = &mut clients[i].0;
        send(ws, update(&format!("u{i}"), payload.0, version, payload.1)).await;
        // One at a time, so the order is known: a first, then b, then c.
        let (ack, _) = until(ws, "state.ack", Some(&format!("u{i}"))).await;
        match i {
            0 => assert_eq!(ack["ok"], true, "{ack}"),
            1 => assert_eq!(ack["error"]["code"], "stale", "b lost to a: {ack}"),
            _ => assert_eq!(
                ack["ok"], true,
                "a different record does not conflict: {ack}"
            ),
        }
    }
    // Every client's copy agrees.
    let mut fresh = connect(&running, None).await.unwrap();
    let (_, baseline) = hello(&mut fresh, "check", None).await;
    assert_eq!(baseline["topics"]["layers"]["camera"]["opacity"], 0.25);
    assert_eq!(baseline["topics"]["camera"]["main"]["zoom"], 2.0);
    // Over the store's 1 MiB limit (an in-process store sees the frame).
    let big = "x".repeat(1_100_000);
    fresh
        .send(Message::text(
            json!({"type": "session.heartbeat", "pad": big}).to_string(),
        ))
        .await
        .unwrap();
    let (error, _) = until(&mut fresh, "session.error", None).await;
    assert_eq!(error["code"], "frame_too_large", "{error}");
    assert!(next(&mut fresh).await.is_none(), "closed after it");
}

/// A burst of updates while the store actor is killed: the client resumes
/// with its token and cursor after every disconnect, and every update it
/// saw acknowledged is in the store afterwards.
async fn resume_across_a_store_kill(placement: &str) {
    let running = start(
        placement,
        &format!("wire-k-{placement}-{}", std::process::id()),
    );
    let mut ws = connect(&running, None).await.unwrap();
    let (welcome, baseline) = hello(&mut ws, "burst", Some(TOKEN)).await;
    let mut token = welcome["resume_token"].as_str().unwrap().to_string();
    let mut cursor = baseline["version"].as_u64().unwrap();
    let mut acked: BTreeMap<String, u64> = BTreeMap::new();
    let mut disconnects = 0;
    let mut next_id = 0;
    let total = 60;
    let mut killed = false;
    while next_id < total {
        // Send the next update (a layer of its own, so none conflicts).
        let id = format!("l{next_id}");
        send(
            &mut ws,
            update(&id, "layers", cursor, json!({"op": "add", "id": id})),
        )
        .await;
        next_id += 1;
        if next_id == 20 && !killed {
            let (status, body) = post(&running.url("/api/actors/store/kill"), Some(TOKEN));
            assert_eq!(status, 202, "{body}");
            killed = true;
        }
        // Read what has come: notifies move the cursor, acks are logged.
        let mut closed = false;
        loop {
            match tokio::time::timeout(Duration::from_millis(30), ws.next()).await {
                Err(_quiet) => break,
                Ok(Some(Ok(Message::Text(text)))) => {
                    let frame: Value = serde_json::from_str(&text).unwrap();
                    match frame["type"].as_str().unwrap() {
                        "state.ack" if frame["ok"] == true => {
                            acked.insert(
                                frame["request_id"].as_str().unwrap().into(),
                                frame["version"].as_u64().unwrap(),
                            );
                        }
                        "notify.layers" | "notify.dims" | "notify.camera" | "notify.scene"
                        | "session.heartbeat" => {
                            cursor = cursor.max(frame["version"].as_u64().unwrap());
                        }
                        "session.welcome" => token = frame["resume_token"].as_str().unwrap().into(),
                        "session.error" => assert_eq!(frame["code"], "store_failed", "{frame}"),
                        _ => {}
                    }
                }
                Ok(Some(Ok(Message::Close(_)) | Err(_)) | None) => {
                    closed = true;
                    break;
                }
                Ok(Some(Ok(_))) => {}
            }
        }
        if closed {
            disconnects += 1;
            // Resume with the token and cursor, retrying while the store restarts.
            ws = loop {
                if let Ok(mut again) = connect(&running, None).await {
                    send(&mut again, json!({"type": "session.hello", "actor_id": "burst", "token": TOKEN, "resume": {"token": token, "cursor": cursor}})).await;
                    match next(&mut again).await {
                        Some(w) if w["type"] == "session.welcome" => {
                            token = w["resume_token"].as_str().unwrap().into();
                            break again;
                        }
                        _ => {}
                    }
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            };
        }
    }
    // Drain the last acks.
    while let Ok(Some(Ok(Message::Text(text)))) =
        tokio::time::timeout(Duration::from_secs(2), ws.next()).await
    {
        let frame: Value = serde_json::from_str(&text).unwrap();
        if frame["type"] == "state.ack" && frame["ok"] == true {
            acked.insert(
                frame["request_id"].as_str().unwrap().into(),
                frame["version"].as_u64().unwrap(),
            );
        }
    }
    assert!(
        killed && disconnects >= 1,
        "the kill landed during the burst ({disconnects} disconnects)"
    );
    assert!(
        acked.len() >= 20,
        "most updates were acknowledged: {}",
        acked.len()
    );
    // Every acknowledged layer is in a fresh baseline.
    let mut check = connect(&running, None).await.unwrap();
    let (_, baseline) = hello(&mut check, "check", None).await;
    let layers = &baseline["topics"]["layers"];
    let lost: Vec<&String> = acked
        .keys()
        .filter(|id| !layers[id.as_str()].is_object())
        .collect();
    assert!(lost.is_empty(), "acknowledged and lost: {lost:?}");
}

#[tokio::test(flavor = "current_thread")]
async fn resume_across_a_store_kill_loses_nothing_acknowledged_in_process() {
    resume_across_a_store_kill("inprocess").await;
}

#[tokio::test(flavor = "current_thread")]
async fn resume_across_a_store_kill_loses_nothing_acknowledged_as_a_child() {
    resume_across_a_store_kill("process").await;
}

#[test]
fn seed_003s_api_the_topic_stream_and_the_shared_memory_reader() {
    let instance = format!("wire-p-{}", std::process::id());
    let running = start("inprocess", &instance);
    for path in ["/api/perception/detections", "/api/perception/tracks"] {
        let (status, body) = get_json(&running.url(path));
        assert_eq!(status, 200, "{path}: {body}");
        assert_eq!(body["status"], "success");
        assert!(body["data"]["frame_id"].as_u64().unwrap() > 0);
        assert_eq!(body["data"]["crc32"].as_str().unwrap().len(), 8);
    }
    let tracks = get_json(&running.url("/api/perception/tracks")).1;
    assert!(
        tracks["data"]["tracks"][0]["bbox"]["w"].as_f64().unwrap() > 0.0,
        "{tracks}"
    );
    assert!(
        eventually(Duration::from_secs(5), || get_json(
            &running.url("/api/timeline/predictions")
        )
        .0 == 200),
        "timelines come at 1 Hz"
    );
    let predictions = get_json(&running.url("/api/timeline/predictions")).1;
    assert!(predictions["data"]["timelines"].is_array(), "{predictions}");
    assert!(
        eventually(Duration::from_secs(5), || get_json(
            &running.url("/api/health")
        )
        .0 == 200),
        "healthy: {}",
        get_json(&running.url("/api/health")).1
    );
    let health = get_json(&running.url("/api/health")).1;
    assert_eq!(health["status"], "healthy");
    assert_eq!(health["checks"]["tracks_fresh"], true);
    let stats = get_json(&running.url("/api/perception/stats")).1;
    assert!(stats["data"]["fps"].as_f64().unwrap() > 5.0, "{stats}");
    assert_eq!(stats["data"]["crc_failures"], 0);

    // Commands: the token, the request id, the field named when refused.
    let (status, body) = post(&running.url("/api/timeline/refresh"), None);
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["status"], "error");
    let send = |path: &str, body: &str| {
        let mut response = http()
            .post(&running.url(path))
            .header("Authorization", &format!("Bearer {TOKEN}"))
            .send(body)
            .unwrap();
        let status = response.status().as_u16();
        let text = response.body_mut().read_to_string().unwrap();
        (status, serde_json::from_str::<Value>(&text).unwrap())
    };
    let (status, body) = send("/api/timeline/refresh", r#"{"request_id":"t-1"}"#);
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["request_id"], "t-1");
    let (status, body) = send(
        "/api/perception/config",
        r#"{"request_id":"c-1","timeline_hz":2}"#,
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["request_id"], "c-1");
    let (status, body) = send("/api/perception/config", r#"{"fps":0}"#);
    assert_eq!(status, 400, "{body}");
    assert!(body["message"].as_str().unwrap().contains("fps"), "{body}");
    let (status, body) = send("/api/perception/config", r#"{"fsp":3}"#);
    assert_eq!(status, 400, "{body}");
    assert!(body["message"].as_str().unwrap().contains("fsp"), "{body}");

    // The topic stream: both topics' events, as JSON.
    let mut response = http()
        .get(&running.url("/api/topics/stream?topics=perception.tracks,store.notify"))
        .call()
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let mut lines = BufReader::new(response.body_mut().as_reader()).lines();
    let mut events = BTreeMap::new();
    while !events.contains_key("perception.tracks") {
        let line = lines.next().unwrap().unwrap();
        if let Some(topic) = line.strip_prefix("event: ") {
            let data = lines.next().unwrap().unwrap();
            let value: Value = serde_json::from_str(data.strip_prefix("data: ").unwrap()).unwrap();
            events.insert(topic.to_string(), value);
        }
    }
    assert!(
        events["perception.tracks"]["tracks"].is_array(),
        "{events:?}"
    );
    let (status, body) = get_json(&running.url("/api/topics/stream?topics=store.session"));
    assert_eq!(status, 400, "{body}");
    // `max_hz` thins a stream to the latest value at that rate: the
    // compositor's per-frame figures (10 fps here) at 2 a second.
    let count_for = |query: &str, secs: f64| {
        let mut response = http()
            .get(&running.url(&format!(
                "/api/topics/stream?topics=compositor.stats{query}"
            )))
            .call()
            .unwrap();
        let mut lines = BufReader::new(response.body_mut().as_reader()).lines();
        let start = std::time::Instant::now();
        let mut frames = Vec::new();
        while start.elapsed().as_secs_f64() < secs {
            let line = lines.next().unwrap().unwrap();
            if let Some(data) = line.strip_prefix("data: ") {
                let value: Value = serde_json::from_str(data).unwrap();
                frames.push(value["frame"].as_u64().unwrap());
            }
        }
        frames
    };
    let every = count_for("", 3.0);
    let thinned = count_for("&max_hz=2", 3.0);
    assert!(every.len() >= 20, "every frame's figures: {every:?}");
    assert!(
        (4..=8).contains(&thinned.len()),
        "at 2 a second for 3 s: {thinned:?}"
    );
    assert!(
        thinned.windows(2).all(|w| w[1] > w[0] + 1),
        "later frames, skipping: {thinned:?}"
    );
    for bad in ["0", "-1", "NaN", "5000"] {
        let (status, body) = get_json(&running.url(&format!(
            "/api/topics/stream?topics=compositor.stats&max_hz={bad}"
        )));
        assert_eq!(status, 400, "max_hz={bad}: {body}");
        assert!(body.to_string().contains("max_hz"), "{body}");
    }
    let topics = get_json(&running.url("/api/topics")).1;
    assert!(
        topics["topics"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["topic"] == "perception.tracks" && t["published"].as_u64().unwrap() > 0)
    );

    // The Python reader over shared memory while the actor publishes.
    let Ok(python) = std::process::Command::new("python3")
        .arg("--version")
        .output()
    else {
        eprintln!("SKIPPED the shared-memory reader: no python3 on this machine");
        return;
    };
    assert!(python.status.success());
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/shm_reader.py");
    let out = std::process::Command::new("python3")
        .args([
            script,
            "--instance",
            &instance,
            "--reads",
            "100000",
            "--json",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["invalid"], 0, "{report}");
    assert!(report["distinct_frames"].as_u64().unwrap() >= 1, "{report}");
    let out = std::process::Command::new("python3")
        .args([
            script,
            "--instance",
            &instance,
            "--kind",
            "tracks",
            "--frames",
            "3",
            "--json",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let frames: Vec<Value> = out
        .stdout
        .lines()
        .map(|l| serde_json::from_str(&l.unwrap()).unwrap())
        .collect();
    assert_eq!(frames.len(), 3);
    assert!(
        frames
            .windows(2)
            .all(|w| w[1]["frame_id"].as_u64() > w[0]["frame_id"].as_u64())
    );
    let path = format!("/dev/shm/warden-{instance}-tracks");
    assert!(std::path::Path::new(&path).exists());
    let status = running.terminate();
    assert!(status.success(), "{status:?}");
    assert!(
        !std::path::Path::new(&path).exists(),
        "the segments are removed at shutdown"
    );
}

/// `(METHOD, path)` of every `.route("path", web::method())` in a source file.
fn routes_in(source: &str) -> Vec<(String, String)> {
    let flat: String = source.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut found = Vec::new();
    let mut rest = flat.as_str();
    while let Some(at) = rest.find(".route(") {
        rest = &rest[at + ".route(".len()..];
        let Some(path) = rest.trim_start().strip_prefix('"') else {
            continue;
        };
        let Some(end) = path.find('"') else { continue };
        let after = &path[end + 1..];
        let Some(method) = after
            .trim_start_matches([',', ' '])
            .strip_prefix("web::")
            .and_then(|m| m.split_once("()"))
            .map(|(m, _)| m.to_string())
        else {
            continue;
        };
        found.push((method, path[..end].to_string()));
    }
    found
}

#[test]
fn the_openapi_document_covers_every_route_and_matches_what_the_server_answers() {
    let running = start("inprocess", "openapi");
    let (status, doc) = get_json(&running.url("/api/openapi.json"));
    assert_eq!(status, 200);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let paths = doc["paths"].as_object().unwrap();

    // Every route the server registers is documented (the sources are
    // scanned, so a new route without an annotation fails here).
    let root = env!("CARGO_MANIFEST_DIR");
    let mut registered = Vec::new();
    for file in ["kernel/src/admin.rs", "web/src/routes.rs"] {
        let source = std::fs::read_to_string(format!("{root}/{file}")).unwrap();
        registered.extend(routes_in(&source));
    }
    // (A route registered in two arms — with and without its actor — counts once.)
    registered.sort();
    registered.dedup();
    assert!(registered.len() >= 25, "scanned {registered:?}");
    for (method, path) in &registered {
        assert!(
            paths.get(path).and_then(|item| item.get(method)).is_some(),
            "{method} {path} is served but not in /api/openapi.json"
        );
    }

    // Every documented operation answers, without credentials and with the
    // fewest parameters, with one of its documented statuses.
    let agent = http();
    let mut checked = 0;
    for (path, item) in paths {
        for (method, op) in item.as_object().unwrap() {
            let url = running.url(&path.replace("{name}", "store"));
            let response = match method.as_str() {
                "get" => agent.get(&url).call(),
                "post" => agent.post(&url).send_empty(),
                other => panic!("{other} {path}: no method of ours"),
            }
            .unwrap_or_else(|err| panic!("{method} {path}: {err}"));
            let code = response.status().as_u16().to_string();
            let documented = op["responses"].as_object().unwrap();
            assert!(
                documented.contains_key(&code),
                "{method} {path} answered {code}, documented {:?}",
                documented.keys().collect::<Vec<_>>()
            );
            if op.get("security").is_some() {
                assert_eq!(code, "401", "{method} {path} without the token");
            }
            checked += 1;
        }
    }
    assert!(
        checked >= registered.len(),
        "{checked} operations documented, {} served",
        registered.len()
    );
    eprintln!("openapi: {checked} operations answered as documented");

    // The document is valid OpenAPI, per a maintained validator.
    let python = std::env::var("WARDEN_OPENAPI_PYTHON")
        .or_else(|_| std::env::var("WARDEN_PYTHON"))
        .ok();
    let required = std::env::var_os("WARDEN_REQUIRE_OPENAPI_VALIDATOR").is_some();
    let validated = python.as_deref().and_then(|python| {
        let mut child = std::process::Command::new(python)
            .args([
                "-c",
                "import json, sys\n\
                 from openapi_spec_validator import validate\n\
                 validate(json.load(sys.stdin))\n\
                 print('valid')",
            ])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .ok()?;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(doc.to_string().as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr).to_string();
        if stderr.contains("No module named 'openapi_spec_validator'") {
            return None;
        }
        assert!(
            out.status.success(),
            "openapi-spec-validator rejects /api/openapi.json:\n{stderr}"
        );
        Some(())
    });
    match validated {
        Some(()) => eprintln!("openapi: validated by openapi-spec-validator"),
        None if required => {
            panic!("WARDEN_REQUIRE_OPENAPI_VALIDATOR is set but openapi-spec-validator is missing")
        }
        None => eprintln!(
            "openapi: SKIPPED the validator (set WARDEN_PYTHON to a Python with \
             openapi-spec-validator; .ci/run installs it)"
        ),
    }
    assert!(running.terminate().success());
}

#[tokio::test(flavor = "current_thread")]
async fn a_client_that_does_not_read_is_disconnected_and_the_others_go_on() {
    let running = start("inprocess", &format!("wire-slow-{}", std::process::id()));

    // The silent client: a tiny receive buffer, a hello, then it never reads.
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let addr: std::net::SocketAddr = running.base.trim_start_matches("http://").parse().unwrap();
    let stream = socket.connect(addr).await.unwrap();
    let (mut silent, _) = tokio_tungstenite::client_async(
        ws_url(&running),
        tokio_tungstenite::MaybeTlsStream::Plain(stream),
    )
    .await
    .unwrap();
    send(
        &mut silent,
        json!({"type": "session.hello", "actor_id": "silent"}),
    )
    .await;

    // A writer that does read: updates in windows of 64, each to its own
    // camera record (no conflicts), every one notified to the silent client.
    let mut writer = connect(&running, None).await.unwrap();
    let (_, baseline) = hello(&mut writer, "writer", Some(TOKEN)).await;
    let base = baseline["version"].as_u64().unwrap();
    let mut acked = 0usize;
    let mut closed_slow = 0;
    let started = std::time::Instant::now();
    'burst: for window in 0..2000 {
        for i in 0..64 {
            let n = window * 64 + i;
            let view = format!("view-{n:06}-{}", "x".repeat(100));
            send(
                &mut writer,
                update(
                    &format!("u{n}"),
                    "camera",
                    base,
                    json!({"op": "set", "target": view, "zoom": 1.5}),
                ),
            )
            .await;
        }
        let mut answers = 0;
        while answers < 64 {
            let frame = next(&mut writer)
                .await
                .expect("the writer keeps being served");
            if frame["type"] == "state.ack" {
                assert_eq!(frame["ok"], true, "{frame}");
                answers += 1;
            }
        }
        acked += answers;
        if window % 10 == 9 {
            let (_, stats) = get_json(&running.url("/api/ws"));
            closed_slow = stats["closed_slow"].as_u64().unwrap();
            if closed_slow >= 1 {
                break 'burst;
            }
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "the silent client was not disconnected after {acked} updates"
        );
    }
    assert_eq!(
        closed_slow, 1,
        "the silent client, and only it, was closed as slow"
    );
    // What waits for it on the server is bounded: its queue (1024 frames),
    // actix-ws's channel (32) and the sockets' buffers; it was closed long
    // before the burst could end.
    eprintln!("slow client closed after {acked} updates");
    // The silent client finds the close when it finally reads, after the
    // frames that fit its buffers.
    let mut saw_close = false;
    while let Ok(Some(message)) = tokio::time::timeout(Duration::from_secs(10), silent.next()).await
    {
        match message {
            Ok(Message::Close(frame)) => {
                let reason = frame.map(|f| f.reason.to_string()).unwrap_or_default();
                assert!(reason.contains("slow"), "{reason}");
                saw_close = true;
                break;
            }
            Ok(_) => {}
            Err(_) => break,
        }
    }
    eprintln!("the silent client saw the close frame: {saw_close}");
    // The writer was never held up: its session is still open and writes.
    send(
        &mut writer,
        update(
            "after",
            "camera",
            base,
            json!({"op": "set", "target": "after", "zoom": 2.0}),
        ),
    )
    .await;
    let (ack, _) = until(&mut writer, "state.ack", Some("after")).await;
    assert_eq!(ack["ok"], true);
    assert!(running.terminate().success());
}

/// The documented frames the fuzzer mutates.
fn fuzz_examples() -> Vec<Value> {
    vec![
        json!({"type": "session.hello", "actor_id": "fuzz", "token": TOKEN}),
        json!({"type": "state.update", "request_id": "r-1", "topic": "layers", "expected_version": 1,
            "payload": {"op": "set", "id": "bg", "opacity": 0.5}}),
        json!({"type": "state.update", "request_id": "r-2", "topic": "camera", "expected_version": 0,
            "payload": {"op": "set", "target": "main", "zoom": 2.0, "center": [0.5, 0.5]}}),
        json!({"type": "state.update", "request_id": "r-3", "topic": "layers", "expected_version": 0,
            "payload": {"op": "reorder", "order": ["bg", "bars"]}}),
        json!({"type": "state.query", "request_id": "q-1", "topic": "layers"}),
        json!({"type": "session.heartbeat"}),
    ]
}

/// A small deterministic generator (xorshift), so a failure replays.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// One hostile frame: mutated examples, random text, binary, deep nesting,
/// lone surrogates, huge numbers, a 10 MiB frame.
fn hostile_frame(rng: &mut Rng, round: usize) -> Message {
    let examples = fuzz_examples();
    let mut frame = examples[rng.below(examples.len())].clone();
    let pick = if round == 150 { 5 } else { rng.below(10) };
    match pick {
        0 => {
            let bytes: Vec<u8> = (0..rng.below(200)).map(|_| rng.next() as u8).collect();
            Message::binary(bytes)
        }
        1 => Message::text(
            (0..rng.below(100))
                .map(|_| char::from_u32(rng.below(0x3000) as u32).unwrap_or('?'))
                .collect::<String>(),
        ),
        2 => {
            // Truncated JSON.
            let text = frame.to_string();
            let cut = rng.below(text.len().max(1));
            Message::text(text[..cut].to_string())
        }
        3 => Message::text(format!(
            "{}{}",
            "[".repeat(10_000 + rng.below(10_000)),
            "]".repeat(rng.below(100))
        )),
        4 => {
            // A lone surrogate escape in a string field.
            let text = frame.to_string().replacen(":\"", ":\"\\ud800", 1);
            Message::text(text)
        }
        5 if round == 150 => Message::text(format!(
            "{{\"type\":\"state.update\",\"request_id\":\"big\",\"topic\":\"layers\",\"expected_version\":0,\"payload\":{{\"op\":\"set\",\"id\":\"{}\"}}}}",
            "x".repeat(10 << 20)
        )),
        6 => {
            // A field removed.
            if let Some(object) = frame.as_object_mut() {
                let keys: Vec<String> = object.keys().cloned().collect();
                object.remove(&keys[rng.below(keys.len())]);
            }
            Message::text(frame.to_string())
        }
        7 => {
            // A field of another type, or a huge number.
            if let Some(object) = frame.as_object_mut() {
                let keys: Vec<String> = object.keys().cloned().collect();
                let key = keys[rng.below(keys.len())].clone();
                let value = [
                    json!(1e308),
                    json!(-1),
                    json!(u64::MAX),
                    json!(null),
                    json!([]),
                    json!({"nested": {"deeper": true}}),
                    json!("\u{0}"),
                ][rng.below(7)]
                .clone();
                object.insert(key, value);
            }
            Message::text(frame.to_string())
        }
        8 => {
            // An unknown field, or an unknown type.
            frame["surprise"] = json!(rng.next());
            if rng.below(2) == 0 {
                frame["type"] = json!(format!("state.{}", rng.next()));
            }
            Message::text(frame.to_string())
        }
        _ => Message::text(frame.to_string()),
    }
}

/// What the server may answer a hostile frame with.
const ERROR_CODES: [&str; 7] = [
    "bad_frame",
    "protocol",
    "bad_actor_id",
    "frame_too_large",
    "idle",
    "store_failed",
    "forbidden",
];

async fn fuzz_websocket(placement: &str, seed: u64) {
    let running = start(
        placement,
        &format!("wire-fuzz-{placement}-{}", std::process::id()),
    );
    let mut rng = Rng(seed);
    let (mut errors, mut acks, mut closes) = (0, 0, 0);
    let mut ws: Option<Ws> = None;
    for round in 0..300 {
        if ws.is_none() {
            let mut fresh = connect(&running, None).await.unwrap();
            hello(&mut fresh, "fuzz", Some(TOKEN)).await;
            ws = Some(fresh);
        }
        let socket = ws.as_mut().unwrap();
        let frame = hostile_frame(&mut rng, round);
        let described = match &frame {
            Message::Text(text) => format!("text of {} bytes: {:.120}", text.len(), text.as_str()),
            other => format!("{other:?}").chars().take(120).collect(),
        };
        if socket.send(frame).await.is_err() {
            ws = None;
            closes += 1;
            continue;
        }
        // Every answer until the server has nothing more to say.
        loop {
            match tokio::time::timeout(Duration::from_millis(100), socket.next()).await {
                Err(_quiet) => break,
                Ok(Some(Ok(Message::Text(text)))) => {
                    let answer: Value = serde_json::from_str(&text)
                        .unwrap_or_else(|err| panic!("not JSON from the server ({err}): {text}"));
                    match answer["type"].as_str() {
                        Some("session.error") => {
                            let code = answer["code"].as_str().unwrap_or_default();
                            assert!(ERROR_CODES.contains(&code), "{described}: {answer}");
                            errors += 1;
                        }
                        Some("state.ack") => acks += 1,
                        Some(kind)
                            if kind.starts_with("notify.") || kind.starts_with("session.") => {}
                        Some("state.result") => {}
                        _ => panic!("{described}: an undocumented answer {answer}"),
                    }
                }
                Ok(Some(Ok(Message::Ping(_) | Message::Pong(_)))) => {}
                Ok(Some(Ok(Message::Close(_))) | None | Some(Err(_))) => {
                    ws = None;
                    closes += 1;
                    break;
                }
                Ok(Some(Ok(other))) => panic!("{described}: a non-text answer {other:?}"),
            }
        }
    }
    eprintln!(
        "ws fuzz ({placement}, seed {seed}): {errors} session errors, {acks} acks, {closes} closes"
    );
    assert!(errors > 50, "the fuzzer reached the parser: {errors}");
    // The server and the store live, and a well-behaved client still works.
    assert_eq!(get_json(&running.url("/healthz")).0, 200);
    let mut fine = connect(&running, None).await.unwrap();
    let (_, baseline) = hello(&mut fine, "after-fuzz", Some(TOKEN)).await;
    let version = baseline["version"].as_u64().unwrap();
    send(
        &mut fine,
        update(
            "after",
            "camera",
            version,
            json!({"op": "set", "target": "after", "zoom": 3.0}),
        ),
    )
    .await;
    let (ack, _) = until(&mut fine, "state.ack", Some("after")).await;
    assert_eq!(ack["ok"], true, "{ack}");
    drop(fine);
    drop(ws);
    // Stopped, the store's files verify.
    let data = running.dir.path().join("scene");
    let mut running = running;
    let pid = nix::unistd::Pid::from_raw(running.child.id() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
    let status = support::wait_exit(&mut running.child, Duration::from_secs(15));
    assert!(
        status.is_some_and(|s| s.success()),
        "{status:?}; its stderr ended with:\n{}",
        tail(&running.stderr.lock().unwrap(), 60)
    );
    let out = support::warden()
        .args(["store", "verify", "--data"])
        .arg(&data)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "warden store verify after the fuzz: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test(flavor = "current_thread")]
async fn hostile_websocket_frames_get_their_error_and_the_store_stays_consistent_in_process() {
    fuzz_websocket("inprocess", 0x5eed_0001).await;
}

#[tokio::test(flavor = "current_thread")]
async fn hostile_websocket_frames_get_their_error_and_the_store_stays_consistent_as_a_child() {
    fuzz_websocket("process", 0x5eed_0002).await;
}

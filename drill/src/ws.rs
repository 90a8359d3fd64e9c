//! Scene writers over `/ws` during the drill: each session owns one layer
//! and sets its opacity again and again, one update in flight, logging
//! every ack (session, request id, version, value) to the acks file as it
//! arrives. Sessions resume after every disconnect (the drill also drops
//! them on purpose) and check that notifies arrive in order with no gap.

use std::fs::File;
use std::io::Write as _;
use std::net::TcpStream;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tungstenite::{Message, WebSocket};

use crate::plan::Rng;
use crate::readers::Liveness;

/// One acknowledged update, as the acks file holds it (one JSON per line).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Ack {
    /// The session's actor id.
    pub actor: String,
    /// Its request id.
    pub request_id: String,
    /// The version the store gave it.
    pub version: u64,
    /// The layer it set.
    pub layer: String,
    /// The opacity it set.
    pub opacity: f64,
}

/// The writers' counts.
#[derive(Debug, Default, Serialize)]
pub struct WsCounts {
    /// Sessions writing.
    pub sessions: usize,
    /// Updates sent.
    pub updates: u64,
    /// Acknowledged (and logged).
    pub acked: u64,
    /// Refused with a documented code (`stale`, `store_failed`, ...).
    pub refused: u64,
    /// In flight when the store or the kernel died and the session could
    /// not resume: applied or not, the acks check decides nothing from them.
    pub unknown: u64,
    /// No ack within the deadline while the kernel ran, or an undocumented answer.
    pub lost: u64,
    /// The first loss, in words.
    pub first_loss: Option<String>,
    /// Connections opened after the first.
    pub reconnects: u64,
    /// Of which resumed the session (same session, catch-up from the cursor).
    pub resumed: u64,
    /// Connections the drill dropped on purpose.
    pub dropped: u64,
    /// Notifies received.
    pub notifies: u64,
    /// Notifies out of order or after a gap.
    pub notify_gaps: u64,
    /// The first gap, in words.
    pub first_gap: Option<String>,
}

/// What the writers share with the drill.
pub struct WsShared {
    /// The counts.
    pub counts: Mutex<WsCounts>,
    acks: Mutex<File>,
}

impl WsShared {
    /// Writers that log their acks to `acks`.
    pub fn new(acks: File, sessions: usize) -> Self {
        WsShared {
            counts: Mutex::new(WsCounts {
                sessions,
                ..WsCounts::default()
            }),
            acks: Mutex::new(acks),
        }
    }

    fn count(&self, f: impl FnOnce(&mut WsCounts)) {
        f(&mut self.counts.lock().unwrap_or_else(|e| e.into_inner()));
    }

    fn lose(&self, what: String) {
        self.count(|c| {
            c.lost += 1;
            c.first_loss.get_or_insert(what);
        });
    }

    fn log(&self, ack: &Ack) {
        let mut line = serde_json::to_vec(ack).unwrap_or_default();
        line.push(b'\n');
        let mut file = self.acks.lock().unwrap_or_else(|e| e.into_inner());
        if file.write_all(&line).and_then(|()| file.flush()).is_err() {
            drop(file);
            self.lose(format!("cannot log the ack of {}", ack.request_id));
        }
    }
}

/// A session's view of the versions it followed: notifies must come in
/// strictly increasing versions with no gap (the writers follow every topic,
/// so every version is a notify); a baseline (`notify.scene`) sets it.
#[derive(Debug, Default)]
pub struct Cursor {
    at: Option<u64>,
}

impl Cursor {
    /// The version the session holds.
    pub fn at(&self) -> Option<u64> {
        self.at
    }

    /// A baseline at `version`.
    pub fn baseline(&mut self, version: u64) {
        self.at = Some(version);
    }

    /// A notify at `version`: a gap or a disorder, in words.
    pub fn notify(&mut self, version: u64) -> Result<(), String> {
        let result = match self.at {
            None => Err(format!("notify {version} before any baseline")),
            Some(at) if version == at + 1 => Ok(()),
            Some(at) if version <= at => Err(format!("notify {version} after {at}: out of order")),
            Some(at) => Err(format!(
                "notify {version} after {at}: versions {}..={} missing",
                at + 1,
                version - 1
            )),
        };
        self.at = Some(self.at.map_or(version, |at| at.max(version)));
        result
    }

    /// A bookmark: every change up to `version` has been sent.
    pub fn heartbeat(&mut self, version: u64) -> Result<(), String> {
        match self.at {
            Some(at) if version > at => {
                self.at = Some(version);
                Err(format!(
                    "heartbeat at {version} while the session holds {at}: versions missing"
                ))
            }
            _ => Ok(()),
        }
    }
}

struct Pending {
    request_id: String,
    opacity: f64,
    sent: Instant,
    ticket: u64,
    add: bool,
}

/// How long an update may wait for its ack while the kernel runs.
pub const ACK_DEADLINE: Duration = Duration::from_secs(10);

fn connect(addr: &str) -> anyhow::Result<WebSocket<TcpStream>> {
    let target = addr.parse()?;
    let socket = TcpStream::connect_timeout(&target, Duration::from_secs(2))?;
    socket.set_read_timeout(Some(Duration::from_secs(5)))?;
    socket.set_write_timeout(Some(Duration::from_secs(5)))?;
    let (ws, _) = tungstenite::client(format!("ws://{addr}/ws"), socket)
        .map_err(|err| anyhow::anyhow!("WebSocket handshake: {err}"))?;
    ws.get_ref()
        .set_read_timeout(Some(Duration::from_millis(100)))?;
    Ok(ws)
}

/// One writer: session `index`, until told to stop.
pub fn writer(
    index: usize,
    addr: String,
    token: String,
    live: Arc<Liveness>,
    shared: Arc<WsShared>,
    seed: u64,
) {
    let actor = format!("drill-w{index}");
    let layer = format!("drill{index}");
    let mut rng = Rng::new(seed);
    let mut ws: Option<WebSocket<TcpStream>> = None;
    let mut resume: Option<String> = None;
    let mut cursor = Cursor::default();
    let mut pending: Option<Pending> = None;
    let mut layer_ready = false;
    let mut ready = false;
    let mut n = 0u64;
    let mut connections = 0u64;
    let mut down_since: Option<Instant> = None;
    while !live.stopping() {
        let Some(socket) = ws.as_mut() else {
            if live.down.load(Ordering::SeqCst) {
                std::thread::sleep(Duration::from_millis(20));
                continue;
            }
            let ticket = live.ticket();
            match connect(&addr) {
                Ok(mut socket) => {
                    let mut hello =
                        json!({"type": "session.hello", "actor_id": actor, "token": token});
                    if let (Some(token), Some(at)) = (&resume, cursor.at()) {
                        hello["resume"] = json!({"token": token, "cursor": at});
                    }
                    if socket.send(Message::text(hello.to_string())).is_ok() {
                        connections += 1;
                        if connections > 1 {
                            shared.count(|c| c.reconnects += 1);
                        }
                        ws = Some(socket);
                        ready = false;
                        down_since = None;
                    }
                }
                Err(err) => {
                    let since = *down_since.get_or_insert_with(Instant::now);
                    if !live.excused(ticket) && since.elapsed() > ACK_DEADLINE {
                        shared.lose(format!("{actor}: cannot connect for {ACK_DEADLINE:?} while the kernel ran: {err}"));
                        down_since = None;
                    }
                    std::thread::sleep(Duration::from_millis(50));
                }
            }
            continue;
        };
        // Send when nothing is in flight.
        if ready && pending.is_none() {
            let (request_id, frame, opacity, add) = if layer_ready {
                n += 1;
                let opacity = ((n % 999) + 1) as f64 / 1000.0;
                let id = format!("{actor}-{n}");
                let payload = json!({"op": "set", "id": layer, "opacity": opacity});
                (id, payload, opacity, false)
            } else {
                n += 1;
                (
                    format!("{actor}-add{n}"),
                    json!({"op": "add", "id": layer}),
                    0.0,
                    true,
                )
            };
            let update = json!({"type": "state.update", "request_id": request_id, "topic": "layers",
                "expected_version": cursor.at().unwrap_or(0), "payload": frame});
            if socket.send(Message::text(update.to_string())).is_err() {
                ws = None;
                continue;
            }
            shared.count(|c| c.updates += 1);
            pending = Some(Pending {
                request_id,
                opacity,
                sent: Instant::now(),
                ticket: live.ticket(),
                add,
            });
        }
        if let Some(p) = &pending
            && p.sent.elapsed() > ACK_DEADLINE
        {
            if live.excused(p.ticket) {
                shared.count(|c| c.unknown += 1);
            } else {
                shared.lose(format!(
                    "{actor}: no ack for {} within {ACK_DEADLINE:?}",
                    p.request_id
                ));
            }
            pending = None;
            ws = None;
            continue;
        }
        let text = match socket.read() {
            Ok(Message::Text(text)) => text,
            Ok(Message::Close(_)) => {
                ws = None;
                continue;
            }
            Ok(_) => continue,
            Err(tungstenite::Error::Io(err))
                if matches!(
                    err.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                continue;
            }
            Err(_) => {
                ws = None;
                continue;
            }
        };
        let frame: Value = match serde_json::from_str(text.as_str()) {
            Ok(frame) => frame,
            Err(err) => {
                shared.lose(format!(
                    "{actor}: a frame that is not JSON ({err}): {}",
                    text.as_str()
                ));
                continue;
            }
        };
        let version = frame["version"].as_u64();
        match frame["type"].as_str().unwrap_or_default() {
            "session.welcome" => {
                resume = frame["resume_token"].as_str().map(str::to_string);
                if frame["resumed"] == true {
                    shared.count(|c| c.resumed += 1);
                    ready = true;
                } else if let Some(p) = pending.take() {
                    // A new session: the update in flight is applied or not,
                    // nobody will say which.
                    let _ = p;
                    shared.count(|c| c.unknown += 1);
                }
            }
            "notify.scene" => {
                cursor.baseline(version.unwrap_or(0));
                ready = true;
            }
            t if t.starts_with("notify.") => {
                shared.count(|c| c.notifies += 1);
                if let Err(gap) = cursor.notify(version.unwrap_or(0)) {
                    shared.count(|c| {
                        c.notify_gaps += 1;
                        c.first_gap.get_or_insert(format!("{actor}: {gap}"));
                    });
                }
            }
            "session.heartbeat" => {
                if let Err(gap) = cursor.heartbeat(version.unwrap_or(0)) {
                    shared.count(|c| {
                        c.notify_gaps += 1;
                        c.first_gap.get_or_insert(format!("{actor}: {gap}"));
                    });
                }
            }
            "state.ack" => {
                let Some(p) = pending.take_if(|p| frame["request_id"] == p.request_id.as_str())
                else {
                    continue;
                };
                let code = frame["error"]["code"].as_str().unwrap_or_default();
                if frame["ok"] == true {
                    if p.add {
                        layer_ready = true;
                        continue;
                    }
                    let ack = Ack {
                        actor: actor.clone(),
                        request_id: p.request_id,
                        version: version.unwrap_or(0),
                        layer: layer.clone(),
                        opacity: p.opacity,
                    };
                    shared.log(&ack);
                    shared.count(|c| c.acked += 1);
                    if rng.chance(0.02) {
                        // Drop the connection: the next one resumes.
                        shared.count(|c| c.dropped += 1);
                        ws = None;
                    }
                } else if p.add && code == "invalid" {
                    // The layer is there already (a previous kernel's add).
                    layer_ready = true;
                } else if matches!(
                    code,
                    "stale" | "store_failed" | "too_many_in_flight" | "duplicate_request"
                ) {
                    shared.count(|c| c.refused += 1);
                } else {
                    shared.lose(format!("{actor}: {} refused: {frame}", p.request_id));
                }
            }
            "session.error" if frame["code"] == "store_failed" => {
                // The store restarted: reconnect; the resume token is gone with it.
                ws = None;
            }
            _ => shared.lose(format!("{actor}: unexpected {frame}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cursor_accepts_consecutive_versions_and_names_a_gap_or_a_disorder() {
        let mut c = Cursor::default();
        assert!(c.notify(3).is_err(), "a notify before the baseline");
        c.baseline(10);
        assert_eq!(c.notify(11), Ok(()));
        assert_eq!(c.heartbeat(11), Ok(()));
        let gap = c.notify(14).expect_err("12 and 13 are missing");
        assert!(gap.contains("12..=13"), "{gap}");
        assert!(c.notify(14).expect_err("a repeat").contains("out of order"));
        assert_eq!(c.notify(15), Ok(()));
        assert!(
            c.heartbeat(20).is_err(),
            "a bookmark past what was notified"
        );
        assert_eq!(c.at(), Some(20));
        c.baseline(3);
        assert_eq!(c.notify(4), Ok(()), "a baseline resets the cursor");
    }

    #[test]
    fn an_ack_line_round_trips() {
        let ack = Ack {
            actor: "drill-w1".into(),
            request_id: "drill-w1-9".into(),
            version: 42,
            layer: "drill1".into(),
            opacity: 0.25,
        };
        let line = serde_json::to_string(&ack).expect("serializes");
        assert_eq!(serde_json::from_str::<Ack>(&line).expect("parses"), ack);
    }
}

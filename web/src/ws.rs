//! `GET /ws`: the store's client protocol (docs/PROTOCOL.md) over
//! WebSocket. This layer only moves frames: every text frame goes to the
//! store actor (`StoreMsg::Frame`, in whatever process it runs) in order,
//! and what the store says back arrives on the `store.session` topic, which
//! one router task hands to each connection's bounded queue.
//!
//! - **Who may write**: a connection may send `state.update` when the
//!   upgrade carried `Authorization: Bearer <admin token>`, when its
//!   `session.hello` carries `"token": "<admin token>"` (taken out before the
//!   store sees the frame), or when `[kernel] open_writes` is set; otherwise
//!   the store refuses its updates as `forbidden`.
//! - **Origin**: an upgrade whose `Origin` is neither this server nor one of
//!   `[kernel] allowed_origins` is refused (403): a page from elsewhere
//!   cannot drive the store through a visitor's browser.
//! - **Backpressure**: a connection whose queue is full (the client does not
//!   read) is closed with a reason; the server never buffers more than the
//!   queue for it.
//! - **A store restart** closes every connection opened before it with
//!   `session.error` `store_failed`; the client resumes with its token and
//!   cursor (after a restart the store has forgotten tokens, so it gets a
//!   fresh baseline: nothing acknowledged is lost, it is all in it).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Duration;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use actix_ws::{AggregatedMessage, CloseCode, CloseReason};
use serde::Serialize;
use serde_json::{Value, json};
use tokio::sync::mpsc;
use warden_kernel::{ActorRef, CallError, Kernel};
use warden_store::actor::{SESSION_TOPIC, SessionOut, StoreActor, StoreMsg, StoreReply};
use warden_store::protocol::ConnId;

/// Frames one connection may have waiting to be sent before it counts as
/// not reading and is closed.
pub const QUEUE: usize = 1024;
/// The largest WebSocket message taken off the wire (the store's own limit,
/// 1 MiB by default, answers `frame_too_large` below this).
const MAX_MESSAGE: usize = 2 << 20;
/// How often the router checks the store's generation.
const WATCH: Duration = Duration::from_millis(100);
/// A send the client does not take within this long ends the connection.
const SEND: Duration = Duration::from_secs(5);

async fn send_text(session: &mut actix_ws::Session, text: String) -> bool {
    matches!(
        tokio::time::timeout(SEND, session.text(text)).await,
        Ok(Ok(()))
    )
}

async fn close_with(session: actix_ws::Session, code: CloseCode, reason: &str) {
    let reason = CloseReason {
        code,
        description: Some(reason.chars().take(120).collect()),
    };
    let _ = tokio::time::timeout(SEND, session.close(Some(reason))).await;
}

enum Out {
    Text(String),
    Close(String),
}

struct Entry {
    tx: mpsc::Sender<Out>,
    /// Why the router closed the connection, when it did.
    kicked: Arc<OnceLock<String>>,
    /// The store generation that took the `Open` (0: not opened yet).
    generation: u64,
}

/// Counters of the WebSocket layer (in `GET /api/ws`).
#[derive(Clone, Debug, Default, Serialize, utoipa::ToSchema)]
pub struct WsStats {
    /// Connections open now.
    pub open: usize,
    /// Connections accepted since the server started.
    pub accepted: u64,
    /// Upgrades refused for their origin.
    pub refused_origin: u64,
    /// Connections closed because they did not read.
    pub closed_slow: u64,
    /// Connections closed because the store restarted.
    pub closed_restart: u64,
    /// Client frames handed to the store.
    pub frames_in: u64,
    /// Frames sent to clients.
    pub frames_out: u64,
}

/// The WebSocket endpoint of one kernel's store actor.
pub struct WsHub {
    store: ActorRef<StoreActor>,
    token: String,
    open_writes: bool,
    allowed_origins: Vec<String>,
    next: AtomicU64,
    conns: Mutex<HashMap<ConnId, Entry>>,
    accepted: AtomicU64,
    refused_origin: AtomicU64,
    closed_slow: AtomicU64,
    closed_restart: AtomicU64,
    frames_in: AtomicU64,
    frames_out: AtomicU64,
}

impl std::fmt::Debug for WsHub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WsHub")
            .field("store", &self.store.name())
            .finish_non_exhaustive()
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

fn error_frame(code: &str, message: &str) -> String {
    json!({"type": "session.error", "code": code, "message": message}).to_string()
}

impl WsHub {
    /// The endpoint for store actor `store`; spawns its router on the
    /// current actix runtime.
    pub fn start(
        kernel: &Kernel,
        store: ActorRef<StoreActor>,
        token: String,
        open_writes: bool,
        allowed_origins: Vec<String>,
    ) -> Arc<Self> {
        let hub = Arc::new(WsHub {
            store,
            token,
            open_writes,
            allowed_origins,
            next: AtomicU64::new(1),
            conns: Mutex::new(HashMap::new()),
            accepted: AtomicU64::new(0),
            refused_origin: AtomicU64::new(0),
            closed_slow: AtomicU64::new(0),
            closed_restart: AtomicU64::new(0),
            frames_in: AtomicU64::new(0),
            frames_out: AtomicU64::new(0),
        });
        actix_rt::spawn(router(Arc::downgrade(&hub), kernel.clone()));
        hub
    }

    /// The counters now.
    pub fn stats(&self) -> WsStats {
        WsStats {
            open: lock(&self.conns).len(),
            accepted: self.accepted.load(Ordering::Relaxed),
            refused_origin: self.refused_origin.load(Ordering::Relaxed),
            closed_slow: self.closed_slow.load(Ordering::Relaxed),
            closed_restart: self.closed_restart.load(Ordering::Relaxed),
            frames_in: self.frames_in.load(Ordering::Relaxed),
            frames_out: self.frames_out.load(Ordering::Relaxed),
        }
    }

    /// Hand the store's frames to their connections.
    fn route(&self, out: SessionOut) {
        let mut conns = lock(&self.conns);
        for frame in out.frames {
            let Some(entry) = conns.get(&frame.conn) else {
                continue;
            };
            if let Some(text) = frame.text
                && entry.tx.try_send(Out::Text(text)).is_err()
            {
                let entry = conns.remove(&frame.conn);
                self.kick(
                    frame.conn,
                    entry,
                    &format!("slow: {QUEUE} frames waited for the client to read them"),
                );
                self.closed_slow.fetch_add(1, Ordering::Relaxed);
                continue;
            }
            if let Some(reason) = frame.close
                && let Some(entry) = conns.remove(&frame.conn)
            {
                // A full queue cannot take the close: the reason goes the other way.
                if entry.tx.try_send(Out::Close(reason.clone())).is_err() {
                    let _ = entry.kicked.set(reason);
                }
            }
        }
    }

    /// Close a connection from this side: the store forgets it, the socket
    /// task sees its queue end and closes with `reason`.
    fn kick(&self, conn: ConnId, entry: Option<Entry>, reason: &str) {
        if let Some(entry) = entry {
            let _ = entry.kicked.set(reason.to_string());
            if entry.generation > 0 {
                let _ = self.store.try_tell(StoreMsg::Close { conn });
            }
        }
    }

    /// Close every connection the store's generation `before` took.
    fn close_older(&self, generation: u64, reason: &str) {
        let mut conns = lock(&self.conns);
        let old: Vec<ConnId> = conns
            .iter()
            .filter(|(_, e)| e.generation > 0 && e.generation < generation)
            .map(|(conn, _)| *conn)
            .collect();
        for conn in old {
            if let Some(entry) = conns.remove(&conn) {
                let _ = entry.kicked.set(reason.to_string());
                self.closed_restart.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    fn close_all(&self, reason: &str) {
        let mut conns = lock(&self.conns);
        for (conn, entry) in conns.drain() {
            let _ = entry.kicked.set(reason.to_string());
            if entry.generation > 0 {
                let _ = self.store.try_tell(StoreMsg::Close { conn });
            }
        }
    }

    fn origin_allowed(&self, req: &HttpRequest) -> Result<(), String> {
        let Some(origin) = req.headers().get(header::ORIGIN) else {
            return Ok(()); // not a browser: nothing to protect against
        };
        let origin = origin
            .to_str()
            .map_err(|_| "the Origin header is not text".to_string())?;
        let info = req.connection_info();
        let host = info.host();
        let own = [format!("http://{host}"), format!("https://{host}")];
        if own.iter().any(|o| o.eq_ignore_ascii_case(origin))
            || self
                .allowed_origins
                .iter()
                .any(|o| o.eq_ignore_ascii_case(origin))
        {
            Ok(())
        } else {
            Err(format!(
                "origin {origin} may not open /ws on {host}: only this server's own pages may, \
                 and those in [kernel] allowed_origins"
            ))
        }
    }

    /// Take the admin token out of a `session.hello` (the store never sees
    /// it); answers the frame to forward and whether the token was right.
    fn hello_token(&self, text: &str) -> (Option<String>, bool) {
        if !text.contains("\"token\"") {
            return (None, false);
        }
        let Ok(Value::Object(mut hello)) = serde_json::from_str::<Value>(text) else {
            return (None, false);
        };
        match hello.remove("token") {
            Some(Value::String(token)) => {
                let ok = token_matches(&token, &self.token);
                (Some(Value::Object(hello).to_string()), ok)
            }
            Some(_) => (Some(Value::Object(hello).to_string()), false),
            None => (None, false),
        }
    }
}

/// Constant-time comparison of a presented token with ours.
fn token_matches(presented: &str, ours: &str) -> bool {
    let (a, b) = (presented.trim().as_bytes(), ours.trim().as_bytes());
    !b.is_empty()
        && a.len() == b.len()
        && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The router: `store.session` → each connection's queue; closes the
/// connections of a store instance that is gone.
async fn router(hub: std::sync::Weak<WsHub>, kernel: Kernel) {
    let Some(name) = hub.upgrade().map(|h| h.store.name().to_string()) else {
        return;
    };
    let frames = kernel.subscribe::<SessionOut>(SESSION_TOPIC, 1 << 16);
    let mut generation = kernel.status(&name).map_or(0, |s| s.generation);
    let mut lost = 0;
    loop {
        let next = tokio::time::timeout(WATCH, frames.recv()).await;
        let Some(hub) = hub.upgrade() else {
            return;
        };
        match next {
            Ok(Ok(out)) => {
                if out.generation > generation {
                    generation = out.generation;
                    hub.close_older(
                        generation,
                        "store_failed: the store actor restarted; resume with your token and cursor",
                    );
                }
                if out.generation == generation {
                    hub.route(out);
                }
            }
            Ok(Err(err)) => {
                tracing::error!(%err, "a malformed store.session value");
                hub.close_all("store_failed: frames for this connection were lost; resume");
            }
            Err(_idle) => {}
        }
        if frames.dropped() != lost {
            lost = frames.dropped();
            hub.close_all("store_failed: frames for this connection were lost; resume");
        }
        let now = kernel.status(&name).map_or(generation, |s| s.generation);
        if now > generation {
            generation = now;
            hub.close_older(
                generation,
                "store_failed: the store actor restarted; resume with your token and cursor",
            );
        }
    }
}

/// `GET /ws`.
#[utoipa::path(get, path = "/ws", tag = "store",
    description = "Upgrade to the store protocol (docs/PROTOCOL.md): text frames, session.hello first. Reading is open; state.update needs the admin token in the hello or `Authorization: Bearer` here, unless `[kernel] open_writes`.",
    responses((status = 101, description = "switching protocols"),
        (status = 400, description = "not a WebSocket upgrade", body = serde_json::Value),
        (status = 403, description = "the Origin is neither this server nor an allowed one", body = serde_json::Value),
        (status = 404, description = "the config names no store actor", body = serde_json::Value)))]
pub(crate) async fn upgrade(
    req: HttpRequest,
    body: web::Payload,
    hub: web::Data<WsHub>,
) -> HttpResponse {
    if let Err(reason) = hub.origin_allowed(&req) {
        hub.refused_origin.fetch_add(1, Ordering::Relaxed);
        return HttpResponse::Forbidden().json(json!({ "error": reason }));
    }
    let header_writer = warden_kernel::admin::authorized(&req, &hub.token);
    let (response, session, stream) = match actix_ws::handle(&req, body) {
        Ok(parts) => parts,
        Err(err) => {
            return HttpResponse::BadRequest()
                .json(json!({ "error": format!("/ws needs a WebSocket upgrade: {err}") }));
        }
    };
    let conn = hub.next.fetch_add(1, Ordering::Relaxed);
    let (tx, rx) = mpsc::channel(QUEUE);
    let kicked = Arc::new(OnceLock::new());
    lock(&hub.conns).insert(
        conn,
        Entry {
            tx,
            kicked: Arc::clone(&kicked),
            generation: 0,
        },
    );
    hub.accepted.fetch_add(1, Ordering::Relaxed);
    let hub = hub.into_inner();
    actix_rt::spawn(async move {
        let stream = stream
            .max_frame_size(MAX_MESSAGE)
            .aggregate_continuations()
            .max_continuation_size(MAX_MESSAGE);
        let opened = serve(&hub, conn, header_writer, session, stream, rx, &kicked).await;
        lock(&hub.conns).remove(&conn);
        if opened {
            let _ = hub.store.tell(StoreMsg::Close { conn }).await;
        }
    });
    response
}

/// One connection's loop; answers whether the store was told of it.
async fn serve(
    hub: &WsHub,
    conn: ConnId,
    header_writer: bool,
    mut session: actix_ws::Session,
    mut stream: actix_ws::AggregatedMessageStream,
    mut rx: mpsc::Receiver<Out>,
    kicked: &OnceLock<String>,
) -> bool {
    let mut opened = false;
    loop {
        tokio::select! {
            message = stream.recv() => match message {
                None => return opened,
                Some(Err(err)) => {
                    let (code, text) = match err {
                        actix_ws::ProtocolError::Overflow => (
                            "frame_too_large",
                            format!("a message over {MAX_MESSAGE} bytes"),
                        ),
                        other => ("bad_frame", format!("not a WebSocket frame: {other}")),
                    };
                    send_text(&mut session, error_frame(code, &text)).await;
                    close_with(session, CloseCode::Policy, code).await;
                    return opened;
                }
                Some(Ok(AggregatedMessage::Text(text))) => {
                    let mut text = text.to_string();
                    if !opened {
                        let (stripped, token_ok) = hub.hello_token(&text);
                        if let Some(stripped) = stripped {
                            text = stripped;
                        }
                        let may_write = hub.open_writes || header_writer || token_ok;
                        match hub.store.call(StoreMsg::Open { conn, may_write }).await {
                            Ok(StoreReply::Accepted { generation }) => {
                                if let Some(entry) = lock(&hub.conns).get_mut(&conn) {
                                    entry.generation = generation;
                                }
                                opened = true;
                            }
                            other => {
                                let why = match other {
                                    Err(err) => err.to_string(),
                                    Ok(reply) => format!("unexpected {reply:?}"),
                                };
                                send_text(&mut session, error_frame("store_failed", &format!("the store cannot take the connection: {why}"))).await;
                                close_with(session, CloseCode::Again, "store_failed").await;
                                return opened;
                            }
                        }
                    }
                    hub.frames_in.fetch_add(1, Ordering::Relaxed);
                    let len = text.len();
                    match hub.store.call(StoreMsg::Frame { conn, text }).await {
                        Ok(_) => {}
                        // A store in a child process takes what fits one
                        // message of the transport (63 KiB), below its own
                        // `max_frame_bytes`: the same answer as over it.
                        Err(CallError::Rejected { reason, .. }) if reason.contains("inline limit") => {
                            let text = error_frame(
                                "frame_too_large",
                                &format!("{len} bytes: a store in a child process takes frames that fit one transport message ({reason})"),
                            );
                            send_text(&mut session, text).await;
                            close_with(session, CloseCode::Size, "frame_too_large").await;
                            return opened;
                        }
                        Err(err) => {
                            let text = error_frame("store_failed", &format!("the store did not take the frame: {err}; resume"));
                            send_text(&mut session, text).await;
                            close_with(session, CloseCode::Again, "store_failed").await;
                            return opened;
                        }
                    }
                }
                Some(Ok(AggregatedMessage::Binary(_))) => {
                    let text = error_frame("bad_frame", "binary frames are not part of the protocol: send JSON text frames");
                    if !send_text(&mut session, text).await {
                        return opened;
                    }
                }
                Some(Ok(AggregatedMessage::Ping(bytes))) => {
                    if !matches!(tokio::time::timeout(SEND, session.pong(&bytes)).await, Ok(Ok(()))) {
                        return opened;
                    }
                }
                Some(Ok(AggregatedMessage::Pong(_))) => {}
                Some(Ok(AggregatedMessage::Close(_))) => {
                    close_with(session, CloseCode::Normal, "goodbye").await;
                    return opened;
                }
            },
            out = rx.recv() => match out {
                Some(Out::Text(text)) => {
                    hub.frames_out.fetch_add(1, Ordering::Relaxed);
                    if !send_text(&mut session, text).await {
                        return opened;
                    }
                }
                Some(Out::Close(reason)) => {
                    close_with(session, CloseCode::Normal, &reason).await;
                    // The store closed it: it has already forgotten the connection.
                    return false;
                }
                None => {
                    let reason = kicked.get().cloned().unwrap_or_else(|| "closed by the server".into());
                    if reason.starts_with("store_failed") {
                        let message = reason.trim_start_matches("store_failed: ");
                        send_text(&mut session, error_frame("store_failed", message)).await;
                        close_with(session, CloseCode::Again, "store_failed").await;
                    } else {
                        close_with(session, CloseCode::Policy, &reason).await;
                    }
                    return false;
                }
            }
        }
    }
}

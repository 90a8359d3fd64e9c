//! The sending half of a kernel↔child connection, with flow control.
//!
//! ipc-channel blocks a sender once ~212 KB (~278 small messages) wait in the
//! socket for a receiver that stopped reading. A `Link` therefore sends data
//! (calls, tells, replies, publishes) only while the bytes the peer has not
//! yet acknowledged fit a credit window well below that; beyond it, data
//! waits in a bounded backlog that drains as credit returns. Nothing ever
//! blocks on the peer, and a backlog that does not drain is reported by
//! [`Link::stalled_for`] so that the kernel can kill the child.
//!
//! Control messages (heartbeats, releases, credit, shutdown) bypass the window:
//! they are few and small, and they must flow for the window to reopen.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use ipc_channel::ipc::{IpcBytesSender, IpcSender};

use crate::bootstrap::Wire;
use crate::codec::{CodecError, encode_envelope};
use crate::envelope::{Body, Envelope};
use crate::frame::SharedFrame;

/// Bytes charged per message on top of its length, for the socket's own
/// per-message overhead (measured: ~278 small messages fill 212 KB).
const PER_MESSAGE_OVERHEAD: u64 = 1024;

/// Default credit window: a bit over half the default socket buffer.
pub const DEFAULT_WINDOW: u64 = 128 * 1024;

/// What a message of `len` encoded bytes costs against the window.
pub fn message_cost(len: usize) -> u64 {
    len as u64 + PER_MESSAGE_OVERHEAD
}

/// Why a send did not happen.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    /// The backlog is full: the peer is not keeping up.
    #[error("the link's backlog is full ({0} messages waiting): the receiver is not keeping up")]
    Full(usize),
    /// The link is closed (the peer is gone or was killed).
    #[error("link closed: {0}")]
    Closed(String),
    /// The message could not be encoded.
    #[error(transparent)]
    Codec(#[from] CodecError),
}

/// Counters for diagnostics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LinkStats {
    /// Envelopes sent.
    pub sent: u64,
    /// Bytes sent and not yet acknowledged by the peer.
    pub in_flight: u64,
    /// Data messages waiting for the window to reopen.
    pub backlog: usize,
}

struct State {
    seq: u64,
    sent_messages: u64,
    backlog: VecDeque<(Body, u64, Vec<SharedFrame>)>,
    blocked_since: Option<Instant>,
    closed: Option<String>,
}

/// Flow-control counters, shared without the lock: the receiving thread
/// updates them on every message, and must not wait behind a sender that
/// holds the lock across its `sendmsg`.
#[derive(Default)]
struct Credit {
    /// Bytes (with overhead) this side has sent; written under the lock.
    sent: AtomicU64,
    /// Of those, how many the peer says it has consumed.
    peer_consumed: AtomicU64,
    /// Bytes of the peer's messages this side has consumed.
    consumed: AtomicU64,
    /// `consumed` as last reported to the peer.
    reported: AtomicU64,
    /// Whether the backlog holds anything.
    backlogged: AtomicBool,
}

/// The channel a link sends on: envelopes framed by ipc-channel's own
/// serialization ([`Wire::Frame`]), or raw bytes.
pub enum LinkSender {
    /// A typed channel (child → kernel).
    Typed(IpcSender<Wire>),
    /// A bytes channel (kernel → child): one copy less on each side.
    Bytes(IpcBytesSender),
}

impl std::fmt::Debug for LinkSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            LinkSender::Typed(_) => "LinkSender::Typed",
            LinkSender::Bytes(_) => "LinkSender::Bytes",
        })
    }
}

impl From<IpcSender<Wire>> for LinkSender {
    fn from(tx: IpcSender<Wire>) -> Self {
        LinkSender::Typed(tx)
    }
}

impl From<IpcBytesSender> for LinkSender {
    fn from(tx: IpcBytesSender) -> Self {
        LinkSender::Bytes(tx)
    }
}

impl LinkSender {
    fn send(&self, bytes: Vec<u8>) -> Result<(), String> {
        match self {
            LinkSender::Typed(tx) => tx
                .send(Wire::Frame(serde_bytes::ByteBuf::from(bytes)))
                .map_err(|err| err.to_string()),
            LinkSender::Bytes(tx) => tx.send(&bytes).map_err(|err| err.to_string()),
        }
    }
}

/// The sending half of a connection (see the module documentation).
pub struct Link {
    tx: LinkSender,
    sender: String,
    window: u64,
    backlog_cap: usize,
    state: Mutex<State>,
    credit: Credit,
}

impl std::fmt::Debug for Link {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Link")
            .field("sender", &self.sender)
            .field("stats", &self.stats())
            .finish()
    }
}

impl Link {
    /// A link that sends as `sender`, with a credit `window` in bytes and at
    /// most `backlog_cap` data messages waiting.
    pub fn new(
        tx: impl Into<LinkSender>,
        sender: impl Into<String>,
        window: u64,
        backlog_cap: usize,
    ) -> Self {
        Link {
            tx: tx.into(),
            sender: sender.into(),
            window: window.max(message_cost(crate::MAX_MESSAGE_BYTES)),
            backlog_cap,
            state: Mutex::new(State {
                seq: 0,
                sent_messages: 0,
                backlog: VecDeque::new(),
                blocked_since: None,
                closed: None,
            }),
            credit: Credit::default(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn in_flight(&self) -> u64 {
        let sent = self.credit.sent.load(Ordering::Acquire);
        sent.saturating_sub(self.credit.peer_consumed.load(Ordering::Acquire))
    }

    fn fits(&self, encoded_len: usize) -> bool {
        self.in_flight() + message_cost(encoded_len) <= self.window
    }

    /// Send a data message now if the window allows, else queue it. `keep`
    /// holds the frames the message refers to until it is on the wire, so
    /// that their release never overtakes it.
    pub fn send(&self, body: Body, span: u64, keep: Vec<SharedFrame>) -> Result<(), LinkError> {
        let mut state = self.lock();
        if let Some(reason) = &state.closed {
            return Err(LinkError::Closed(reason.clone()));
        }
        if state.backlog.is_empty() {
            match self.try_send_data(&mut state, body, span)? {
                None => return Ok(()),
                Some(body) => {
                    state.blocked_since.get_or_insert_with(Instant::now);
                    state.backlog.push_back((body, span, keep));
                    self.credit.backlogged.store(true, Ordering::Release);
                    return Ok(());
                }
            }
        }
        if state.backlog.len() >= self.backlog_cap {
            return Err(LinkError::Full(state.backlog.len()));
        }
        state.backlog.push_back((body, span, keep));
        Ok(())
    }

    /// Whether a data message with `data_len` payload bytes and `frames`
    /// frame handles fits the window now.
    pub fn has_room(&self, data_len: usize, frames: usize) -> bool {
        self.fits(data_len + frames * 32 + 128 + self.sender.len())
    }

    /// Send a data message now, without checking the window: for a caller
    /// that checked [`Link::has_room`] and keeps its own queue.
    pub fn send_now(&self, body: Body, span: u64) -> Result<(), LinkError> {
        let mut state = self.lock();
        if let Some(reason) = &state.closed {
            return Err(LinkError::Closed(reason.clone()));
        }
        let bytes = self.encode(&mut state, body, span)?;
        self.transmit(&mut state, bytes)
    }

    /// Send a control message now, outside the window.
    pub fn send_control(&self, body: Body) -> Result<(), LinkError> {
        let mut state = self.lock();
        if let Some(reason) = &state.closed {
            return Err(LinkError::Closed(reason.clone()));
        }
        let bytes = self.encode(&mut state, body, 0)?;
        self.transmit(&mut state, bytes)
    }

    /// Account for an envelope received from the peer (`len` encoded bytes):
    /// take its credit, drain the backlog, and return credit if the peer
    /// has sent a lot without hearing from us. Takes the lock only when
    /// there is something to send.
    pub fn on_receive(&self, envelope: &Envelope, len: usize) -> Result<(), LinkError> {
        let consumed = self
            .credit
            .consumed
            .fetch_add(message_cost(len), Ordering::AcqRel)
            + message_cost(len);
        let sent = self.credit.sent.load(Ordering::Acquire);
        self.credit
            .peer_consumed
            .fetch_max(envelope.credit.min(sent), Ordering::AcqRel);
        let owe_credit = consumed - self.credit.reported.load(Ordering::Acquire) >= self.window / 4;
        if !owe_credit && !self.credit.backlogged.load(Ordering::Acquire) {
            return Ok(());
        }
        let mut state = self.lock();
        if state.closed.is_some() {
            return Ok(());
        }
        while let Some((body, span, keep)) = state.backlog.pop_front() {
            if let Some(body) = self.try_send_data(&mut state, body, span)? {
                state.backlog.push_front((body, span, keep));
                break;
            }
        }
        if state.backlog.is_empty() {
            state.blocked_since = None;
            self.credit.backlogged.store(false, Ordering::Release);
        }
        let consumed = self.credit.consumed.load(Ordering::Acquire);
        if consumed - self.credit.reported.load(Ordering::Acquire) >= self.window / 4 {
            let bytes = self.encode(&mut state, Body::Credit, 0)?;
            self.transmit(&mut state, bytes)?;
        }
        Ok(())
    }

    /// How long data has been waiting for the peer to make room, if it is.
    pub fn stalled_for(&self, now: Instant) -> Option<Duration> {
        self.lock()
            .blocked_since
            .map(|since| now.saturating_duration_since(since))
    }

    /// Counters.
    pub fn stats(&self) -> LinkStats {
        let state = self.lock();
        LinkStats {
            sent: state.sent_messages,
            in_flight: self.in_flight(),
            backlog: state.backlog.len(),
        }
    }

    /// Refuse all further sends and drop the backlog, returning it.
    pub fn close(&self, reason: impl Into<String>) -> Vec<Body> {
        let mut state = self.lock();
        state.closed.get_or_insert_with(|| reason.into());
        self.credit.backlogged.store(false, Ordering::Release);
        state.backlog.drain(..).map(|(body, _, _)| body).collect()
    }

    fn try_send_data(
        &self,
        state: &mut State,
        body: Body,
        span: u64,
    ) -> Result<Option<Body>, LinkError> {
        if !self.fits(encoded_len_bound(&body) + self.sender.len()) {
            return Ok(Some(body));
        }
        let bytes = self.encode(state, body, span)?;
        self.transmit(state, bytes)?;
        Ok(None)
    }

    fn encode(&self, state: &mut State, body: Body, span: u64) -> Result<Vec<u8>, LinkError> {
        state.seq += 1;
        let credit = self.credit.consumed.load(Ordering::Acquire);
        let envelope = Envelope {
            seq: state.seq,
            sender: self.sender.clone(),
            span,
            credit,
            body,
        };
        match encode_envelope(&envelope) {
            Ok(bytes) => {
                self.credit.reported.fetch_max(credit, Ordering::AcqRel);
                Ok(bytes)
            }
            Err(err) => {
                state.seq -= 1;
                Err(err.into())
            }
        }
    }

    fn transmit(&self, state: &mut State, bytes: Vec<u8>) -> Result<(), LinkError> {
        let cost = message_cost(bytes.len());
        match self.tx.send(bytes) {
            Ok(()) => {
                self.credit.sent.fetch_add(cost, Ordering::AcqRel);
                state.sent_messages += 1;
                Ok(())
            }
            Err(err) => {
                let reason = format!("send failed: {err}");
                state.closed = Some(reason.clone());
                Err(LinkError::Closed(reason))
            }
        }
    }
}

/// An upper bound of the encoded size of an envelope around `body`, not
/// counting the sender's name: varint headers never exceed 10 bytes each.
fn encoded_len_bound(body: &Body) -> usize {
    const HEADER: usize = 64;
    let payload = |payload: &crate::envelope::WirePayload| {
        payload.data.len() + 10 + payload.frames.len() * 32 + 10
    };
    HEADER
        + match body {
            Body::Call { payload: p, .. } | Body::Tell { payload: p } => payload(p),
            Body::Publish { topic, payload: p } => topic.len() + 10 + payload(p),
            Body::Reply { outcome, .. } => match outcome {
                crate::envelope::Outcome::Ok(p) => payload(p),
                crate::envelope::Outcome::Err { reason, .. } => reason.len() + 20,
            },
            Body::StartFailed { reason } | Body::Exiting { reason, .. } => reason.len() + 20,
            _ => 32,
        }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::decode_envelope;
    use crate::envelope::WirePayload;
    use ipc_channel::ipc;

    fn tell(n: usize) -> Body {
        Body::Tell {
            payload: WirePayload {
                data: vec![n as u8; 200],
                frames: vec![],
            },
        }
    }

    fn read(rx: &ipc::IpcReceiver<Wire>) -> (Envelope, usize) {
        match rx.recv().unwrap() {
            Wire::Frame(bytes) => (decode_envelope(&bytes).unwrap(), bytes.len()),
            _ => panic!("expected a frame"),
        }
    }

    /// The hazard: ipc-channel blocks after ~278 messages queued for a
    /// receiver that never reads. The link must return from every send.
    #[test]
    fn a_receiver_that_never_reads_never_blocks_the_sender() {
        let (tx, _rx) = ipc::channel::<Wire>().unwrap();
        let link = Link::new(tx, "kernel", DEFAULT_WINDOW, 256);
        let started = Instant::now();
        let mut full = 0;
        for n in 0..10_000 {
            match link.send(tell(n), 0, Vec::new()) {
                Ok(()) => {}
                Err(LinkError::Full(_)) => full += 1,
                Err(other) => panic!("{other}"),
            }
        }
        assert!(started.elapsed() < Duration::from_secs(5), "a send blocked");
        let stats = link.stats();
        assert!(stats.sent < 278, "sent {} into a dead socket", stats.sent);
        assert_eq!(stats.backlog, 256);
        assert_eq!(full, 10_000 - 256 - stats.sent as usize);
        assert!(link.stalled_for(Instant::now()).is_some());
        // Control messages still go out.
        link.send_control(Body::Heartbeat { n: 1 }).unwrap();
    }

    #[test]
    fn credit_from_the_peer_drains_the_backlog_in_order() {
        let (tx, rx) = ipc::channel::<Wire>().unwrap();
        let (back_tx, _back_rx) = ipc::channel::<Wire>().unwrap();
        let link = Link::new(tx, "kernel", DEFAULT_WINDOW, 10_000);
        let peer = Link::new(back_tx, "child", DEFAULT_WINDOW, 10_000);
        for n in 0..1000 {
            link.send(tell(n), 0, Vec::new()).unwrap();
        }
        let mut seen = 0u64;
        while seen < 1000 {
            let (envelope, len) = read(&rx);
            if let Body::Tell { .. } = envelope.body {
                seen += 1;
                assert_eq!(envelope.seq, seen, "in order, without gaps");
            }
            peer.on_receive(&envelope, len).unwrap();
            // The peer's credit reaches the link on its next message.
            let credit = Envelope {
                seq: 0,
                sender: "child".into(),
                span: 0,
                credit: peer.credit.consumed.load(Ordering::Acquire),
                body: Body::Credit,
            };
            link.on_receive(&credit, 10).unwrap();
        }
        assert_eq!(link.stats().backlog, 0);
        assert!(link.stalled_for(Instant::now()).is_none());
    }

    #[test]
    fn a_send_to_a_dead_receiver_closes_the_link() {
        let (tx, rx) = ipc::channel::<Wire>().unwrap();
        drop(rx);
        let link = Link::new(tx, "kernel", DEFAULT_WINDOW, 8);
        assert!(matches!(
            link.send(tell(1), 0, Vec::new()),
            Err(LinkError::Closed(_))
        ));
        assert!(matches!(
            link.send(tell(2), 0, Vec::new()),
            Err(LinkError::Closed(_))
        ));
    }
}

//! One instance's envelopes between the kernel and the node hosting it.
//!
//! Each end holds a [`Link`] to its local peer (the node: its child; the
//! kernel's end: the kernel's reader) and a subject to publish on. From the
//! local peer, flow-control credit is taken and slot releases are applied
//! to the local pool; every other envelope becomes one *hop*: its body with
//! the frame handles emptied, its frames' bytes after it, and a sequence
//! number. From the remote end, a hop's frames are copied into slots of the
//! local pool and its body goes to the local peer like any envelope.
//!
//! A NATS message carries at most the server's `max_payload`: a larger hop
//! (a 4K frame is 33 MB) is cut into chunks, sent in order on the same
//! subject and joined on arrival. NATS keeps one publisher's messages in
//! order; a hop that arrives out of sequence means the server dropped one
//! (a slow consumer), and the tunnel reports it as a fault — the instance
//! is replaced and idempotent calls are re-sent, as for any link fault.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use bincode::{Decode, Encode};
use bytes::Bytes;
use warden_transport::{
    Body, CallOutcome, Link, LinkError, Outcome, SharedFrame, WirePayload, decode_envelope,
};

use crate::wire::Frames;

const TAG_WHOLE: u8 = 0;
const TAG_CHUNK: u8 = 1;
const TAG_EXIT: u8 = 2;

/// What precedes a hop's frames.
#[derive(Encode, Decode)]
struct Head {
    seq: u64,
    span: u64,
    body: Body,
    /// The length of each frame that follows, in order.
    frames: Vec<u64>,
}

/// How an instance ended, as its node saw it (node → kernel, last message).
#[derive(Clone, Debug, Encode, Decode)]
pub(crate) struct ExitReport {
    /// In words.
    pub(crate) status: String,
    /// The exit code, if it exited rather than being killed.
    pub(crate) code: Option<i32>,
}

/// The payload a body carries, if any.
fn payload_mut(body: &mut Body) -> Option<&mut WirePayload> {
    match body {
        Body::Call { payload, .. }
        | Body::Tell { payload }
        | Body::Publish { payload, .. }
        | Body::Request { payload, .. }
        | Body::PeerTell { payload, .. }
        | Body::Deliver { payload, .. }
        | Body::Reply {
            outcome: Outcome::Ok(payload),
            ..
        }
        | Body::Response {
            outcome: CallOutcome::Ok(payload),
            ..
        } => Some(payload),
        _ => None,
    }
}

/// Whether a body is data (windowed on the local link) or control.
fn is_data(body: &Body) -> bool {
    matches!(
        body,
        Body::Call { .. }
            | Body::Tell { .. }
            | Body::Reply { .. }
            | Body::Publish { .. }
            | Body::Request { .. }
            | Body::Response { .. }
            | Body::PeerTell { .. }
            | Body::Deliver { .. }
    )
}

fn codec() -> bincode::config::Configuration {
    bincode::config::standard()
}

/// Publishes one direction of a tunnel, in order.
pub(crate) struct Outbox {
    client: async_nats::Client,
    runtime: tokio::runtime::Handle,
    subject: async_nats::Subject,
    /// The largest NATS message the server takes.
    limit: usize,
    seq: Mutex<u64>,
}

impl Outbox {
    pub(crate) fn new(
        client: async_nats::Client,
        runtime: tokio::runtime::Handle,
        subject: String,
    ) -> Self {
        // Headroom for the protocol line; at least 64 KiB per chunk.
        let limit = (client.server_info().max_payload.saturating_sub(512)).max(64 * 1024);
        Outbox {
            client,
            runtime,
            subject: subject.into(),
            limit,
            seq: Mutex::new(0),
        }
    }

    fn publish(&self, message: Bytes) -> Result<(), String> {
        let client = self.client.clone();
        let subject = self.subject.clone();
        self.runtime
            .block_on(async move { client.publish(subject, message).await })
            .map_err(|err| format!("cannot publish on NATS: {err}"))
    }

    /// Send `body` with `frames`' bytes (the caller releases the frames
    /// after this returns).
    fn send_hop(&self, span: u64, body: Body, frames: &[SharedFrame]) -> Result<(), String> {
        let mut seq = self.seq.lock().unwrap_or_else(PoisonError::into_inner);
        *seq += 1;
        let head = Head {
            seq: *seq,
            span,
            body,
            frames: frames.iter().map(|f| f.len() as u64).collect(),
        };
        let head = bincode::encode_to_vec(&head, codec())
            .map_err(|err| format!("cannot encode a hop: {err}"))?;
        let total = 5 + head.len() + frames.iter().map(SharedFrame::len).sum::<usize>();
        let mut message = Vec::with_capacity(total);
        message.push(TAG_WHOLE);
        message.extend_from_slice(&(head.len() as u32).to_le_bytes());
        message.extend_from_slice(&head);
        for frame in frames {
            message.extend_from_slice(frame.as_slice());
        }
        if message.len() <= self.limit {
            return self.publish(Bytes::from(message));
        }
        let whole = Bytes::from(message);
        let body = whole.slice(1..);
        let step = self.limit - 9;
        let count = body.len().div_ceil(step) as u32;
        for index in 0..count {
            let start = index as usize * step;
            let part = body.slice(start..(start + step).min(body.len()));
            let mut chunk = Vec::with_capacity(9 + part.len());
            chunk.push(TAG_CHUNK);
            chunk.extend_from_slice(&index.to_le_bytes());
            chunk.extend_from_slice(&count.to_le_bytes());
            chunk.extend_from_slice(&part);
            self.publish(Bytes::from(chunk))?;
        }
        Ok(())
    }

    /// The node's last word on an instance.
    pub(crate) fn send_exit(&self, report: &ExitReport) -> Result<(), String> {
        let _order = self.seq.lock().unwrap_or_else(PoisonError::into_inner);
        let mut message = vec![TAG_EXIT];
        message.extend(
            bincode::encode_to_vec(report, codec())
                .map_err(|err| format!("cannot encode an exit report: {err}"))?,
        );
        self.publish(Bytes::from(message))
    }
}

/// What arrived from the remote end.
pub(crate) enum Arrived {
    /// Nothing yet for the local peer (a chunk), or an envelope handed over.
    Nothing,
    /// The instance ended (node → kernel only).
    Exit(ExitReport),
}

/// Joins chunks and checks sequence numbers (one per direction).
#[derive(Default)]
struct Inbox {
    parts: Vec<u8>,
    next_chunk: u32,
    last_seq: u64,
}

/// One end of a tunnel (see the module documentation).
pub(crate) struct TunnelEnd<F: Frames> {
    pub(crate) link: Arc<Link>,
    pub(crate) frames: Arc<F>,
    release: Box<dyn Fn(u32, u32, u64) -> Result<(), String> + Send + Sync>,
    pub(crate) out: Outbox,
    inbox: Mutex<Inbox>,
    /// Hops each way, for the status.
    pub(crate) hops_out: AtomicU64,
    pub(crate) hops_in: AtomicU64,
}

impl<F: Frames> TunnelEnd<F> {
    pub(crate) fn new(
        link: Arc<Link>,
        frames: Arc<F>,
        release: impl Fn(u32, u32, u64) -> Result<(), String> + Send + Sync + 'static,
        out: Outbox,
    ) -> Self {
        TunnelEnd {
            link,
            frames,
            release: Box::new(release),
            out,
            inbox: Mutex::new(Inbox::default()),
            hops_out: AtomicU64::new(0),
            hops_in: AtomicU64::new(0),
        }
    }

    /// An envelope from the local peer: take its credit, apply a release
    /// here, send anything else across. An error is the local peer's fault
    /// (malformed, a bad handle) or the network's.
    pub(crate) fn on_local(&self, bytes: &[u8]) -> Result<(), String> {
        let envelope = decode_envelope(bytes).map_err(|err| format!("malformed frame: {err}"))?;
        let _ = self.link.on_receive(&envelope, bytes.len());
        let mut body = envelope.body;
        match body {
            Body::Credit => return Ok(()),
            Body::Release { pool, slot, seq } => return (self.release)(pool, slot, seq),
            _ => {}
        }
        let frames = match payload_mut(&mut body) {
            Some(payload) => {
                let handles = std::mem::take(&mut payload.frames);
                handles
                    .into_iter()
                    .map(|handle| self.frames.import(handle))
                    .collect::<Result<Vec<_>, _>>()?
            }
            None => Vec::new(),
        };
        self.hops_out.fetch_add(1, Ordering::Relaxed);
        self.out.send_hop(envelope.span, body, &frames)
        // `frames` drop here: the local slots go back to their owner.
    }

    /// A message whose frames found no slot here: a call or request is
    /// answered with the failure (back across, as its peer would have),
    /// a reply or response becomes the failure, and a tell or a topic
    /// value is dropped (at most once, latest value wins).
    fn refuse(&self, span: u64, body: Body, reason: String) -> Result<Arrived, String> {
        use warden_transport::FailureKind;
        tracing::warn!(kind = body.kind(), %reason, "a message's frames found no slot; refused");
        let (local, back) = match body {
            Body::Call { id, .. } => (
                None,
                Some(Body::Reply {
                    id,
                    outcome: Outcome::Err {
                        kind: FailureKind::Failed,
                        reason,
                    },
                }),
            ),
            Body::Request { id, .. } => (
                None,
                Some(Body::Response {
                    id,
                    outcome: CallOutcome::Failed(reason),
                }),
            ),
            Body::Reply { id, .. } => (
                Some(Body::Reply {
                    id,
                    outcome: Outcome::Err {
                        kind: FailureKind::Failed,
                        reason,
                    },
                }),
                None,
            ),
            Body::Response { id, .. } => (
                Some(Body::Response {
                    id,
                    outcome: CallOutcome::Failed(reason),
                }),
                None,
            ),
            _ => (None, None),
        };
        if let Some(back) = back {
            self.out.send_hop(span, back, &[])?;
        }
        if let Some(local) = local {
            match self.link.send(local, span, Vec::new()) {
                Ok(()) | Err(LinkError::Closed(_)) => {}
                Err(err) => return Err(err.to_string()),
            }
        }
        Ok(Arrived::Nothing)
    }

    /// A NATS message from the remote end.
    pub(crate) fn on_remote(&self, message: &[u8]) -> Result<Arrived, String> {
        let (&tag, rest) = message
            .split_first()
            .ok_or_else(|| "an empty message on the tunnel".to_string())?;
        let mut inbox = self.inbox.lock().unwrap_or_else(PoisonError::into_inner);
        let joined;
        let hop: &[u8] = match tag {
            TAG_WHOLE => {
                if inbox.next_chunk != 0 {
                    return Err("a whole message inside a chunked one".into());
                }
                rest
            }
            TAG_CHUNK => {
                if rest.len() < 8 {
                    return Err("a truncated chunk header".into());
                }
                let index = u32::from_le_bytes([rest[0], rest[1], rest[2], rest[3]]);
                let count = u32::from_le_bytes([rest[4], rest[5], rest[6], rest[7]]);
                if index != inbox.next_chunk || index >= count {
                    return Err(format!(
                        "chunk {index} of {count} arrived where chunk {} was due: a message was lost",
                        inbox.next_chunk
                    ));
                }
                if inbox.parts.len() + rest.len() > warden_transport::MAX_MESSAGE_BYTES + (64 << 20)
                {
                    return Err("a chunked message beyond any frame's size".into());
                }
                inbox.parts.extend_from_slice(&rest[8..]);
                if index + 1 < count {
                    inbox.next_chunk = index + 1;
                    return Ok(Arrived::Nothing);
                }
                inbox.next_chunk = 0;
                joined = std::mem::take(&mut inbox.parts);
                &joined
            }
            TAG_EXIT => {
                let (report, _) = bincode::decode_from_slice::<ExitReport, _>(rest, codec())
                    .map_err(|err| format!("a malformed exit report: {err}"))?;
                return Ok(Arrived::Exit(report));
            }
            other => return Err(format!("unknown message tag {other} on the tunnel")),
        };
        if hop.len() < 4 {
            return Err("a truncated hop".into());
        }
        let head_len = u32::from_le_bytes([hop[0], hop[1], hop[2], hop[3]]) as usize;
        let head_bytes = hop
            .get(4..4 + head_len)
            .ok_or_else(|| "a hop shorter than its header says".to_string())?;
        let (head, used) = bincode::decode_from_slice::<Head, _>(head_bytes, codec())
            .map_err(|err| format!("a malformed hop: {err}"))?;
        if used != head_len {
            return Err("trailing bytes in a hop's header".into());
        }
        if head.seq != inbox.last_seq + 1 {
            return Err(format!(
                "hop {} arrived after hop {}: NATS dropped a message (slow consumer?)",
                head.seq, inbox.last_seq
            ));
        }
        inbox.last_seq = head.seq;
        drop(inbox);
        let mut body = head.body;
        let mut at = 4 + head_len;
        let mut keep = Vec::with_capacity(head.frames.len());
        for len in head.frames {
            let end = usize::try_from(len)
                .ok()
                .and_then(|len| at.checked_add(len))
                .filter(|&end| end <= hop.len())
                .ok_or_else(|| "a hop's frame runs past its end".to_string())?;
            keep.push(SharedFrame::copy_from_slice(&hop[at..end]));
            at = end;
        }
        if at != hop.len() {
            return Err("trailing bytes after a hop's frames".into());
        }
        match payload_mut(&mut body) {
            Some(payload) => {
                if !payload.frames.is_empty() {
                    return Err("a hop carries frame handles of the other host".into());
                }
                let exported = keep
                    .iter()
                    .map(|frame| self.frames.export(frame))
                    .collect::<Result<Vec<_>, _>>();
                match exported {
                    Ok(handles) => payload.frames = handles,
                    // No room for its frames here (the pool's slots are
                    // held): the message is refused as it would be on one
                    // host, not the tunnel broken.
                    Err(reason) => return self.refuse(head.span, body, reason),
                }
            }
            None if !keep.is_empty() => return Err("frames on a body that carries none".into()),
            None => {}
        }
        self.hops_in.fetch_add(1, Ordering::Relaxed);
        let sent = if is_data(&body) {
            self.link.send(body, head.span, keep)
        } else {
            self.link.send_control(body)
        };
        match sent {
            Ok(()) => Ok(Arrived::Nothing),
            Err(LinkError::Closed(_)) => Ok(Arrived::Nothing),
            Err(err) => Err(err.to_string()),
        }
    }
}

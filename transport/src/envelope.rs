//! The envelope: every message between the kernel and a child process is one
//! `Envelope` — a sequence number, the sender's actor name, the span id of the
//! caller, a flow-control credit, and a body.

use bincode::{Decode, Encode};

/// Where a large buffer lives while it crosses a process boundary: a slot of
/// the actor's shared-memory pool, the slot's lease sequence, and the length
/// in use. A few bytes on the wire instead of the buffer itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Encode, Decode)]
pub struct FrameHandle {
    /// Slot index in the pool (both halves numbered together).
    pub slot: u32,
    /// The lease sequence the allocator stamped when it handed the slot out.
    pub seq: u64,
    /// Bytes in use, at most the pool's slot size.
    pub len: u64,
}

/// A serialized application value (an actor's message or reply) together with
/// the shared frames it refers to by index.
#[derive(Clone, Debug, Default, PartialEq, Eq, Encode, Decode)]
pub struct WirePayload {
    /// The value, bincode-encoded by the application layer.
    pub data: Vec<u8>,
    /// Frames referenced from `data`, in order of their index.
    pub frames: Vec<FrameHandle>,
}

/// Why a call failed, as carried back to the caller.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Encode, Decode)]
pub enum FailureKind {
    /// The actor refused the request (bad input); the actor is healthy.
    Rejected,
    /// The actor failed while handling it (an error or a panic).
    Failed,
}

/// The outcome of one call.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub enum Outcome {
    /// The reply value.
    Ok(WirePayload),
    /// A failure with its kind and a human-readable reason.
    Err {
        /// Rejected or failed.
        kind: FailureKind,
        /// What went wrong, for the caller and the logs.
        reason: String,
    },
}

/// Kernel-level fault injection, handled by the host rather than the actor,
/// so that drills can exercise any actor in every placement.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Encode, Decode)]
pub enum InjectedFault {
    /// Panic inside the host's handling path, as if the actor had panicked.
    Panic,
    /// Stop answering anything (heartbeats included) until killed.
    Hang,
}

/// What an envelope carries.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub enum Body {
    /// A request that expects exactly one `Reply` with the same `id`.
    Call {
        /// Caller-chosen id, unique among the calls in flight to this actor.
        id: u64,
        /// The request.
        payload: WirePayload,
    },
    /// A fire-and-forget message.
    Tell {
        /// The message.
        payload: WirePayload,
    },
    /// The answer to a `Call`.
    Reply {
        /// The call's id.
        id: u64,
        /// The answer.
        outcome: Outcome,
    },
    /// Liveness probe from the kernel, answered in mailbox order.
    Heartbeat {
        /// Heartbeat counter.
        n: u64,
    },
    /// The answer to a `Heartbeat`; proves the actor's loop is turning.
    HeartbeatAck {
        /// The counter of the heartbeat it answers.
        n: u64,
        /// The instance's mailbox depth when it answered.
        queued: u32,
    },
    /// The child handled this many tells since it last said so (mailbox accounting).
    TellsDone {
        /// How many.
        count: u32,
    },
    /// A value published on a topic by the actor.
    Publish {
        /// Topic name.
        topic: String,
        /// The encoded value.
        payload: WirePayload,
    },
    /// The receiver is done with a frame the peer allocated.
    Release {
        /// Slot index.
        slot: u32,
        /// The lease sequence being released.
        seq: u64,
    },
    /// The child's actor started and is ready for messages.
    Ready,
    /// The child's actor could not start.
    StartFailed {
        /// Why.
        reason: String,
    },
    /// The child is about to exit on its own (a panic, a fatal error, an
    /// exit the actor asked for) and will run no more actor code.
    Exiting {
        /// Why.
        reason: String,
        /// The exit code it is about to exit with.
        code: i32,
    },
    /// The kernel asks the child to stop its actor and exit cleanly.
    Shutdown,
    /// Kernel diagnostics: inject a fault in the host.
    Inject(InjectedFault),
    /// Flow control only: carries `credit` and nothing else.
    Credit,
}

/// One message on a kernel↔child link.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct Envelope {
    /// Per-direction sequence number, starting at 1, without gaps.
    pub seq: u64,
    /// The sending actor's name (the kernel sends as `"kernel"`).
    pub sender: String,
    /// The caller's tracing span id (0 when none), so that logs on both
    /// sides of the boundary can be joined.
    pub span: u64,
    /// Cumulative bytes of the peer's envelopes the sender has consumed;
    /// the peer's send window is measured against it.
    pub credit: u64,
    /// The content.
    pub body: Body,
}

impl Body {
    /// A short name for logs and metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            Body::Call { .. } => "call",
            Body::Tell { .. } => "tell",
            Body::Reply { .. } => "reply",
            Body::Heartbeat { .. } => "heartbeat",
            Body::HeartbeatAck { .. } => "heartbeat_ack",
            Body::TellsDone { .. } => "tells_done",
            Body::Publish { .. } => "publish",
            Body::Release { .. } => "release",
            Body::Ready => "ready",
            Body::StartFailed { .. } => "start_failed",
            Body::Exiting { .. } => "exiting",
            Body::Shutdown => "shutdown",
            Body::Inject(_) => "inject",
            Body::Credit => "credit",
        }
    }
}

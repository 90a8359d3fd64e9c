//! The envelope: every message between the kernel and a child process is one
//! `Envelope` — a sequence number, the sender's actor name, the span id of the
//! caller, a flow-control credit, and a body.

use bincode::{Decode, Encode};

/// Where a large buffer lives while it crosses a process boundary: a pool
/// (by the id the kernel gave it), a slot of it, the slot's lease sequence,
/// and the length in use. A few bytes on the wire instead of the buffer.
///
/// The pool is usually the link's own (the actor's), but a frame made by
/// one child and sent to another crosses as a handle on the producer's
/// pool, which the consumer maps too: no copy anywhere.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Encode, Decode)]
pub struct FrameHandle {
    /// The pool's id (see `SlotPool::id`).
    pub pool: u32,
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
    /// Delay every call and tell handled from now on by this many
    /// milliseconds (slow replies; heartbeats still answered); 0 clears it.
    Stall(u32),
    /// (Child placement only.) Write bytes that decode as no envelope on
    /// the channel to the kernel, as a corrupt or compromised child would.
    Garbage,
    /// (Child placement only.) Send one message over the transport's limit
    /// ([`crate::MAX_MESSAGE_BYTES`]).
    Oversize,
    /// (Child placement only.) Exit at once with this code, as a child
    /// whose own code called `exit`.
    Exit(u8),
    /// (Child placement only.) Shut down every socket to the kernel and
    /// keep running: the channel is closed, the process lingers.
    Linger,
}

impl InjectedFault {
    /// Whether only a child process can do this (it acts on the channel or
    /// the process).
    pub fn child_only(self) -> bool {
        matches!(
            self,
            InjectedFault::Garbage
                | InjectedFault::Oversize
                | InjectedFault::Exit(_)
                | InjectedFault::Linger
        )
    }
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
    /// The receiver is done with a frame the peer allocated (or, for a
    /// child, lent by the kernel from another actor's pool).
    Release {
        /// The pool's id.
        pool: u32,
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
    /// Child → kernel: a call from this actor to another one, by name. The
    /// kernel answers with exactly one `Response` carrying the same `id`.
    Request {
        /// Chosen by the child, unique among its requests in flight.
        id: u64,
        /// The actor called.
        target: String,
        /// The actor kind the caller expects (checked by the kernel).
        kind: String,
        /// The request.
        payload: WirePayload,
        /// The deadline in milliseconds (0: the target's `call_timeout_ms`).
        timeout_ms: u64,
        /// Whether the target may receive it twice (re-sent after a restart).
        idempotent: bool,
    },
    /// Kernel → child: the outcome of a `Request`.
    Response {
        /// The request's id.
        id: u64,
        /// The answer or the typed failure.
        outcome: CallOutcome,
    },
    /// Child → kernel: a fire-and-forget message to another actor.
    PeerTell {
        /// The actor told.
        target: String,
        /// The actor kind the caller expects.
        kind: String,
        /// The message.
        payload: WirePayload,
    },
    /// Child → kernel: forward the values published on `topic` to this
    /// instance, keeping at most `capacity` waiting (oldest dropped).
    Subscribe {
        /// The topic.
        topic: String,
        /// Values kept waiting at most.
        capacity: u32,
    },
    /// Child → kernel: an event of the actor's own for the supervisor's
    /// log (a renderer that demoted itself, say).
    Event {
        /// What happened, in one word.
        kind: String,
        /// In words.
        detail: String,
    },
    /// Kernel → child: a value published on a topic the child subscribed to.
    Deliver {
        /// The topic.
        topic: String,
        /// The value.
        payload: WirePayload,
    },
    /// Kernel → child, just before `Shutdown` when the actor is being
    /// moved: answer with `Handover` (the actor's `snapshot`).
    Snapshot,
    /// Child → kernel: the state its actor hands to the next instance
    /// (empty: none), sent before it stops.
    Handover {
        /// The actor's own encoding of its state.
        state: Vec<u8>,
    },
}

/// The outcome of an actor-to-actor call, with every failure a caller can
/// see (`warden_kernel::CallError`, in wire form).
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub enum CallOutcome {
    /// The reply value.
    Ok(WirePayload),
    /// No answer within the deadline (ms).
    Timeout(u64),
    /// The instance died with the call in flight (not idempotent).
    Restarting,
    /// The target is stopped for good.
    Stopped,
    /// The target (or its mailbox, or the kernel) refused the request.
    Rejected(String),
    /// The target failed while handling it.
    Failed(String),
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
            Body::Request { .. } => "request",
            Body::Response { .. } => "response",
            Body::PeerTell { .. } => "peer_tell",
            Body::Subscribe { .. } => "subscribe",
            Body::Deliver { .. } => "deliver",
            Body::Event { .. } => "event",
            Body::Snapshot => "snapshot",
            Body::Handover { .. } => "handover",
        }
    }
}

//! The bottom layer of Warden: how a message and a large buffer get from the
//! kernel to a child process and back, and nothing about actors or concerns.
//!
//! - [`envelope`]: every message is an [`Envelope`] with a sequence number,
//!   the sender's name, the caller's span id and a flow-control credit;
//! - [`codec`]: bincode 2 with a hard inline limit ([`MAX_MESSAGE_BYTES`]);
//! - [`SharedFrame`]: an `Arc` in-process, a slot of a pre-faulted
//!   shared-memory [`SlotPool`] across processes;
//! - [`bootstrap`]: spawning a child from `/proc/self/exe` and the
//!   `IpcOneShotServer` handshake, with a deadline;
//! - [`Link`]: the sending half of a connection, with a credit window so a
//!   send never blocks on a stalled receiver;
//! - [`Lent`]: frames of other actors' pools lent to a child, held until it
//!   releases them;
//! - [`Heartbeat`]: liveness bookkeeping.

pub mod bootstrap;
pub mod codec;
pub mod envelope;
mod frame;
mod heartbeat;
mod lent;
mod link;
mod pool;

pub use codec::{
    CodecError, MAX_FRAMES_PER_MESSAGE, MAX_MESSAGE_BYTES, MAX_PAYLOAD_BYTES, Payload,
    decode_envelope, decode_value, encode_envelope, encode_value,
};
pub use envelope::{
    Body, CallOutcome, Envelope, FailureKind, FrameHandle, InjectedFault, Outcome, WirePayload,
};
pub use frame::{FrameBuf, SharedFrame};
pub use heartbeat::{Heartbeat, Liveness};
pub use lent::Lent;
pub use link::{DEFAULT_WINDOW, Link, LinkError, LinkSender, LinkStats, message_cost};
pub use pool::{HeldSlot, PoolError, PoolSpec, ReleaseSink, Side, SlotPool};

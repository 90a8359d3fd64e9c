//! How an actor reaches other actors and topics through its host: the
//! kernel's directory and bus directly when in-process, envelopes over the
//! link when in a child (the kernel routes them the same way).

use std::sync::Arc;
use std::time::Duration;

use warden_transport::Payload;

use crate::bus::Queue;
use crate::call_error::CallError;

/// One actor-to-actor request.
#[derive(Debug)]
pub(crate) struct PeerRequest {
    /// Numbers the request within the calling instance.
    pub(crate) id: u64,
    /// The actor asked.
    pub(crate) target: String,
    /// The kind the caller expects it to be.
    pub(crate) kind: &'static str,
    /// The encoded request.
    pub(crate) payload: Payload,
    /// May it be delivered twice.
    pub(crate) idempotent: bool,
    /// Its deadline (`None`: the target's `call_timeout_ms`).
    pub(crate) timeout: Option<Duration>,
    /// The calling span.
    pub(crate) span: u64,
}

/// See the module documentation.
pub(crate) trait Peers: Send + Sync {
    /// Send a request; its answer reaches the instance later (`Ctx::answer`).
    /// An error is the answer, given at once (nothing was sent).
    fn request(&self, request: PeerRequest) -> Result<(), CallError>;
    /// Send a tell (at most once; failures are counted and logged).
    fn tell(&self, target: &str, kind: &'static str, payload: Payload);
    /// A queue that receives `topic`'s values from now on.
    fn subscribe(&self, topic: &str, capacity: usize) -> Arc<Queue>;
}

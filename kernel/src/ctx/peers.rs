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
    /// A way for the actor's other threads to have `Actor::wake` called.
    fn waker(&self) -> Waker;
}

/// Has the host call [`crate::Actor::wake`] soon, from any thread: for an
/// actor's own background work (a watcher, a download) to hand results to
/// the actor without the actor ever waiting. Wakes are coalesced.
#[derive(Clone)]
pub struct Waker(Arc<dyn Fn() + Send + Sync>);

impl Waker {
    pub(crate) fn new(wake: impl Fn() + Send + Sync + 'static) -> Self {
        Waker(Arc::new(wake))
    }

    /// Ask for `Actor::wake` to run soon (between messages).
    pub fn wake(&self) {
        (self.0)();
    }
}

impl std::fmt::Debug for Waker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Waker")
    }
}

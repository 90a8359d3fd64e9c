//! `Ctx`: what the kernel offers an actor while it runs — publishing on
//! topics, large buffers, requests and tells to other actors, topic
//! subscriptions, the clock, its identity, cancellation, its span. The same
//! API in both placements; only what stands behind it differs (the
//! [`Outlet`] and [`Peers`] of each host).

mod peers;

use std::collections::HashMap;
use std::marker::PhantomData;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde::Serialize;
use serde::de::DeserializeOwned;
use warden_transport::{FrameBuf, Payload, PoolError, SlotPool, decode_value, encode_value};

use crate::actor::Actor;
use crate::bus::Subscription;
use crate::call_error::{CallError, TellError};
use crate::route::CallResult;

pub use peers::Waker;
pub(crate) use peers::{PeerRequest, Peers};

/// Where published values go: the kernel's bus in-process, the link to the
/// kernel in a child process.
pub(crate) trait Outlet: Send + Sync {
    fn publish(&self, topic: &str, payload: Payload) -> Result<(), PublishError>;
    /// Put an event of the actor's own in the supervisor's log.
    fn event(&self, kind: &str, detail: &str);
}

/// Why a publish failed.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    /// The value could not be encoded.
    #[error("cannot publish on {topic}: {reason}")]
    Invalid {
        /// The topic.
        topic: String,
        /// Why.
        reason: String,
    },
    /// The link to the kernel is backed up; the value was dropped.
    #[error("cannot publish on {topic}: {reason}")]
    Backpressure {
        /// The topic.
        topic: String,
        /// Why.
        reason: String,
    },
}

/// A request to another actor whose reply has not been taken yet. Take it
/// with [`Ctx::reply`]; it arrives between messages (the host then calls
/// [`Actor::wake`]), never while the actor waits — an actor never waits.
#[must_use = "a request's reply is only seen through Ctx::reply"]
pub struct Pending<R> {
    id: u64,
    target: Arc<str>,
    _reply: PhantomData<fn() -> R>,
}

impl<R> Pending<R> {
    /// The actor asked.
    pub fn target(&self) -> &str {
        &self.target
    }

    /// The request's number within this instance.
    pub fn id(&self) -> u64 {
        self.id
    }
}

impl<R> std::fmt::Debug for Pending<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pending")
            .field("id", &self.id)
            .field("target", &self.target)
            .finish()
    }
}

fn publish<T: Serialize + ?Sized>(
    outlet: &dyn Outlet,
    topic: &str,
    value: &T,
) -> Result<(), PublishError> {
    let payload = encode_value(value).map_err(|err| PublishError::Invalid {
        topic: topic.to_string(),
        reason: err.to_string(),
    })?;
    outlet.publish(topic, payload)
}

fn buffer(pool: Option<&Arc<SlotPool>>, len: usize) -> FrameBuf {
    if let Some(pool) = pool {
        match pool.alloc(len) {
            Ok(buf) => return buf,
            Err(PoolError::Exhausted { .. }) | Err(PoolError::TooLarge { .. }) => {
                tracing::debug!(
                    len,
                    "shared-memory pool cannot serve this buffer; using the heap"
                );
            }
            Err(err) => tracing::warn!(%err, "shared-memory pool error; using the heap"),
        }
    }
    FrameBuf::heap(len)
}

/// Publishing from the actor's own threads (see [`Ctx::publisher`]).
/// Cheap to clone; lives no longer than it is useful (a value published by
/// an instance the kernel has replaced goes nowhere).
#[derive(Clone)]
pub struct Publisher {
    outlet: Arc<dyn Outlet>,
    pool: Option<Arc<SlotPool>>,
}

impl std::fmt::Debug for Publisher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Publisher")
    }
}

impl Publisher {
    /// As [`Ctx::publish`].
    pub fn publish<T: Serialize + ?Sized>(
        &self,
        topic: &str,
        value: &T,
    ) -> Result<(), PublishError> {
        publish(self.outlet.as_ref(), topic, value)
    }

    /// As [`Ctx::buffer`].
    pub fn buffer(&self, len: usize) -> FrameBuf {
        buffer(self.pool.as_ref(), len)
    }

    /// As [`Ctx::report`].
    pub fn report(&self, kind: &str, detail: &str) {
        self.outlet.event(kind, detail);
    }
}

/// Replies not taken within this long are dropped (the request was abandoned).
const UNCLAIMED: Duration = Duration::from_secs(60);

/// The actor's handle on the kernel.
pub struct Ctx {
    name: Arc<str>,
    pid: u32,
    generation: u64,
    started: Instant,
    outlet: Arc<dyn Outlet>,
    peers: Arc<dyn Peers>,
    pool: Option<Arc<SlotPool>>,
    cancelled: Arc<AtomicBool>,
    span: tracing::Span,
    next_request: u64,
    replies: HashMap<u64, (Instant, CallResult)>,
}

impl std::fmt::Debug for Ctx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ctx")
            .field("name", &self.name)
            .field("generation", &self.generation)
            .finish()
    }
}

/// What a host passes to [`Ctx::new`].
pub(crate) struct CtxParts {
    pub(crate) name: Arc<str>,
    pub(crate) generation: u64,
    pub(crate) outlet: Arc<dyn Outlet>,
    pub(crate) peers: Arc<dyn Peers>,
    pub(crate) pool: Option<Arc<SlotPool>>,
    pub(crate) cancelled: Arc<AtomicBool>,
    pub(crate) span: tracing::Span,
}

impl Ctx {
    pub(crate) fn new(parts: CtxParts) -> Self {
        Ctx {
            name: parts.name,
            pid: std::process::id(),
            generation: parts.generation,
            started: Instant::now(),
            outlet: parts.outlet,
            peers: parts.peers,
            pool: parts.pool,
            cancelled: parts.cancelled,
            span: parts.span,
            next_request: 0,
            replies: HashMap::new(),
        }
    }

    /// The actor's name (its `[actors.NAME]` table).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Which start of this actor this is: 1 for the first, +1 per restart.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// The process id of the process running the actor.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// The clock.
    pub fn now(&self) -> Instant {
        Instant::now()
    }

    /// Time since this instance started.
    pub fn uptime(&self) -> Duration {
        self.started.elapsed()
    }

    /// The instance's tracing span (`actor`, `generation`, `pid`).
    pub fn span(&self) -> &tracing::Span {
        &self.span
    }

    /// True once the kernel has given up on this instance (it was declared
    /// hung or killed). Long-running work should check it and return.
    pub fn is_cancelled(&self) -> bool {
        self.cancelled.load(Ordering::Relaxed)
    }

    /// Publish `value` on `topic` (latest-state: slow subscribers lose the
    /// oldest values, never the newest).
    pub fn publish<T: Serialize + ?Sized>(
        &mut self,
        topic: &str,
        value: &T,
    ) -> Result<(), PublishError> {
        publish(self.outlet.as_ref(), topic, value)
    }

    /// A writable buffer of `len` bytes for a large value (a frame). In a
    /// child process it is a slot of the actor's shared-memory pool when one
    /// is configured and free, so that it crosses to the kernel — and on to
    /// another child — without a copy; otherwise it is heap memory.
    pub fn buffer(&mut self, len: usize) -> FrameBuf {
        buffer(self.pool.as_ref(), len)
    }

    /// Put an event in the supervisor's log (`/api/events`), under this
    /// actor's name: something an operator should see that is not a
    /// failure of the instance (a renderer that demoted itself, say).
    pub fn report(&self, kind: &str, detail: &str) {
        self.outlet.event(kind, detail);
    }

    /// Publishing and buffers for the actor's own threads (a render loop
    /// that must not wait for the actor's messages): the same topics and
    /// the same shared-memory pool as [`Ctx::publish`] and [`Ctx::buffer`].
    pub fn publisher(&self) -> Publisher {
        Publisher {
            outlet: Arc::clone(&self.outlet),
            pool: self.pool.clone(),
        }
    }

    /// Ask actor `target` (of kind `B`) without waiting, with its configured
    /// deadline. The reply — or a typed [`CallError`]: `Timeout`,
    /// `Restarting`, `Stopped`, `Rejected`, `Failed` — arrives later; take
    /// it with [`Ctx::reply`]. Idempotent requests (per `B::idempotent`) are
    /// re-sent to a restarted target, as for any caller.
    pub fn request<B: Actor>(&mut self, target: &str, msg: &B::Msg) -> Pending<B::Reply> {
        self.request_with::<B>(target, msg, None)
    }

    /// [`Ctx::request`] with an explicit deadline.
    pub fn request_timeout<B: Actor>(
        &mut self,
        target: &str,
        msg: &B::Msg,
        timeout: Duration,
    ) -> Pending<B::Reply> {
        self.request_with::<B>(target, msg, Some(timeout))
    }

    fn request_with<B: Actor>(
        &mut self,
        target: &str,
        msg: &B::Msg,
        timeout: Option<Duration>,
    ) -> Pending<B::Reply> {
        self.next_request += 1;
        let id = self.next_request;
        let pending = Pending {
            id,
            target: Arc::from(target),
            _reply: PhantomData,
        };
        let sent = encode_value(msg)
            .map_err(|err| CallError::Rejected {
                actor: target.to_string(),
                reason: err.to_string(),
            })
            .and_then(|payload| {
                self.peers.request(PeerRequest {
                    id,
                    target: target.to_string(),
                    kind: B::KIND,
                    payload,
                    idempotent: B::idempotent(msg),
                    timeout,
                    span: self.span.id().map_or(0, |id| id.into_u64()),
                })
            });
        if let Err(err) = sent {
            self.answer(id, Err(err));
        }
        pending
    }

    /// The reply to `pending`, once it has arrived (taken: a second call
    /// returns `None`).
    pub fn reply<R: DeserializeOwned>(
        &mut self,
        pending: &Pending<R>,
    ) -> Option<Result<R, CallError>> {
        let (_, result) = self.replies.remove(&pending.id)?;
        Some(result.and_then(|payload| {
            decode_value(payload).map_err(|err| CallError::Failed {
                actor: pending.target.to_string(),
                reason: format!("malformed reply: {err}"),
            })
        }))
    }

    /// Whether replies are waiting to be taken.
    pub fn has_replies(&self) -> bool {
        !self.replies.is_empty()
    }

    /// Send `msg` to actor `target` (of kind `B`) without a reply. At most
    /// once: a tell the target's full mailbox refuses, or that dies with an
    /// instance, is dropped and counted. Only a message that cannot be
    /// encoded is an error here.
    pub fn tell<B: Actor>(&mut self, target: &str, msg: &B::Msg) -> Result<(), TellError> {
        let payload = encode_value(msg).map_err(|err| TellError::Invalid {
            actor: target.to_string(),
            reason: err.to_string(),
        })?;
        self.peers.tell(target, B::KIND, payload);
        Ok(())
    }

    /// Follow `topic`: its values land in a queue of `capacity` (the oldest
    /// dropped first), read without waiting (`latest`, `try_recv`); the host
    /// calls [`Actor::wake`] when values arrive. Lasts as long as the
    /// instance.
    pub fn subscribe<T: DeserializeOwned>(
        &mut self,
        topic: &str,
        capacity: usize,
    ) -> Subscription<T> {
        Subscription::new(topic, self.peers.subscribe(topic, capacity.max(1)))
    }

    /// A handle that has the host call [`Actor::wake`] soon, for the
    /// actor's own background threads (see [`Waker`]).
    pub fn waker(&self) -> Waker {
        self.peers.waker()
    }

    /// A reply arrived (the host calls this).
    pub(crate) fn answer(&mut self, id: u64, result: CallResult) {
        let now = Instant::now();
        if self.replies.len() >= 64 {
            self.replies
                .retain(|_, (at, _)| now.saturating_duration_since(*at) < UNCLAIMED);
        }
        self.replies.insert(id, (now, result));
    }
}

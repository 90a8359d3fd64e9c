//! `Ctx`: what the kernel offers an actor while it runs — publishing on
//! topics, large buffers, the clock, its identity, cancellation, its span.
//! The same API in both placements; only what stands behind it differs.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde::Serialize;
use warden_transport::{FrameBuf, Payload, PoolError, SlotPool, encode_value};

/// Where published values go: the kernel's bus in-process, the link to the
/// kernel in a child process.
pub(crate) trait Outlet: Send + Sync {
    fn publish(&self, topic: &str, payload: Payload) -> Result<(), PublishError>;
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

/// The actor's handle on the kernel.
pub struct Ctx {
    name: Arc<str>,
    pid: u32,
    generation: u64,
    started: Instant,
    outlet: Arc<dyn Outlet>,
    pool: Option<Arc<SlotPool>>,
    cancelled: Arc<AtomicBool>,
    span: tracing::Span,
}

impl std::fmt::Debug for Ctx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ctx")
            .field("name", &self.name)
            .field("generation", &self.generation)
            .finish()
    }
}

impl Ctx {
    pub(crate) fn new(
        name: Arc<str>,
        generation: u64,
        outlet: Arc<dyn Outlet>,
        pool: Option<Arc<SlotPool>>,
        cancelled: Arc<AtomicBool>,
        span: tracing::Span,
    ) -> Self {
        Ctx {
            name,
            pid: std::process::id(),
            generation,
            started: Instant::now(),
            outlet,
            pool,
            cancelled,
            span,
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
        let payload = encode_value(value).map_err(|err| PublishError::Invalid {
            topic: topic.to_string(),
            reason: err.to_string(),
        })?;
        self.outlet.publish(topic, payload)
    }

    /// A writable buffer of `len` bytes for a large value (a frame). In a
    /// child process it is a slot of the actor's shared-memory pool when one
    /// is configured and free, so that it crosses to the kernel without a
    /// copy; otherwise it is heap memory.
    pub fn buffer(&mut self, len: usize) -> FrameBuf {
        if let Some(pool) = &self.pool {
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
}

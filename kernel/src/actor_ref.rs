//! `ActorRef<A>`: the typed handle callers use. It cannot tell, and does not
//! need to, which placement answers.

use std::marker::PhantomData;
use std::sync::Arc;
use std::time::{Duration, Instant};

use warden_transport::{decode_value, encode_value};

use crate::actor::Actor;
use crate::call_error::{CallError, TellError};
use crate::route::{Reply, Route};

/// A typed, cloneable handle on a supervised actor.
pub struct ActorRef<A: Actor> {
    route: Arc<Route>,
    timeout: Duration,
    _actor: PhantomData<fn() -> A>,
}

impl<A: Actor> Clone for ActorRef<A> {
    fn clone(&self) -> Self {
        ActorRef {
            route: Arc::clone(&self.route),
            timeout: self.timeout,
            _actor: PhantomData,
        }
    }
}

impl<A: Actor> std::fmt::Debug for ActorRef<A> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ActorRef")
            .field("actor", &self.route.name)
            .finish()
    }
}

impl<A: Actor> ActorRef<A> {
    pub(crate) fn new(route: Arc<Route>, timeout: Duration) -> Self {
        ActorRef {
            route,
            timeout,
            _actor: PhantomData,
        }
    }

    /// The actor's name.
    pub fn name(&self) -> &str {
        &self.route.name
    }

    /// Calls and tells accepted and not yet answered.
    pub fn mailbox_depth(&self) -> usize {
        self.route.depth()
    }

    /// Call with the actor's configured deadline (`call_timeout_ms`).
    pub async fn call(&self, msg: A::Msg) -> Result<A::Reply, CallError> {
        self.call_timeout(msg, self.timeout).await
    }

    /// Call with an explicit deadline.
    pub async fn call_timeout(
        &self,
        msg: A::Msg,
        timeout: Duration,
    ) -> Result<A::Reply, CallError> {
        let started = Instant::now();
        let result = self.call_inner(msg, timeout).await;
        let metrics = &self.route.metrics;
        metrics.latency.observe(started.elapsed().as_secs_f64());
        match &result {
            Ok(_) => {
                metrics.calls_ok.inc();
            }
            Err(err) => metrics.call_failed(err.label()),
        }
        result
    }

    async fn call_inner(&self, msg: A::Msg, timeout: Duration) -> Result<A::Reply, CallError> {
        let idempotent = A::idempotent(&msg);
        let payload = encode_value(&msg).map_err(|err| CallError::Rejected {
            actor: self.name().to_string(),
            reason: err.to_string(),
        })?;
        // The route answers `Timeout` itself once the deadline passes.
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.route
            .call(payload, idempotent, timeout, Reply::Waiter(tx));
        let payload = match rx.await {
            Ok(result) => result?,
            Err(_) => return Err(CallError::Stopped(self.name().to_string())),
        };
        decode_value(payload).map_err(|err| CallError::Failed {
            actor: self.name().to_string(),
            reason: format!("malformed reply: {err}"),
        })
    }

    /// Send without waiting for a reply; waits (up to the call deadline) for
    /// mailbox room if the mailbox is full. Delivery is at most once: a tell
    /// in flight when an instance dies is lost with it.
    pub async fn tell(&self, msg: A::Msg) -> Result<(), TellError> {
        let deadline = Instant::now() + self.timeout;
        let mut msg = Some(msg);
        loop {
            match self.try_tell_inner(&mut msg) {
                Err(TellError::Full(_)) if Instant::now() < deadline => {
                    self.route.wait_for_room(deadline).await;
                }
                other => return other,
            }
        }
    }

    /// Send without waiting at all: `TellError::Full` when the mailbox is full.
    pub fn try_tell(&self, msg: A::Msg) -> Result<(), TellError> {
        self.try_tell_inner(&mut Some(msg))
    }

    fn try_tell_inner(&self, msg: &mut Option<A::Msg>) -> Result<(), TellError> {
        let Some(value) = msg.as_ref() else {
            return Ok(());
        };
        let payload = encode_value(value).map_err(|err| TellError::Invalid {
            actor: self.name().to_string(),
            reason: err.to_string(),
        })?;
        self.route.tell(payload)?;
        *msg = None;
        Ok(())
    }
}

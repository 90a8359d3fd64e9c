//! The route to one actor: it outlives every instance of the actor and holds
//! the table of calls in flight, the queue of messages waiting for an
//! instance (or for flow-control room), and the current instance's host.
//!
//! When an instance dies, its calls in flight are re-sent to the next
//! instance if idempotent, and answered `Restarting` otherwise; messages that
//! never reached it wait for the next one. Nothing is silently lost, and
//! nothing is delivered twice unless the actor said that is safe.
//!
//! Deadlines are kept here too, in one ordered set swept every few
//! milliseconds by the kernel, instead of one timer per call. The route
//! knows nothing of placements: it delivers through the [`Host`] trait.

mod calls;
mod delivery;

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use tokio::sync::Notify;
use warden_transport::Payload;

use crate::call_error::{CallError, TellError};
use crate::host::Host;
use crate::liveness::Beats;
use crate::metrics::ActorMetrics;

use calls::{CallEntry, Calls};
pub(crate) use calls::{CallResult, Reply};

/// How often deadlines are checked: a call's timeout fires within this of its deadline.
pub(crate) const DEADLINE_SWEEP: Duration = Duration::from_millis(5);

enum Queued {
    Call(u64),
    Tell(Payload),
}

/// What waits and where it goes. Held while delivering, so that messages
/// reach an instance in the order they were accepted.
struct Flow {
    queue: VecDeque<Queued>,
    queued_tells: usize,
    generation: u64,
    host: Option<Arc<dyn Host>>,
    stopped: Option<String>,
    blocked_since: Option<Instant>,
    /// Tells delivered to the current instance and not yet handled.
    tells: usize,
}

/// See the module documentation.
pub(crate) struct Route {
    pub(crate) name: Arc<str>,
    mailbox: usize,
    resend_limit: u32,
    /// Lock order: `flow` before `calls`. The calls lock is held only
    /// briefly, so that answers (on a reader thread or a host's) never wait
    /// behind a send.
    flow: Mutex<Flow>,
    calls: Mutex<Calls>,
    /// Mirrors `Flow::blocked_since.is_some()`, read without the lock.
    blocked: AtomicBool,
    /// The current instance's heartbeat answers.
    pub(crate) beats: Beats,
    /// Signalled whenever mailbox room frees up, if anyone waits for it.
    room: Notify,
    room_waiters: AtomicUsize,
    pub(crate) metrics: Arc<ActorMetrics>,
}

impl Route {
    pub(crate) fn new(name: Arc<str>, mailbox: usize, metrics: Arc<ActorMetrics>) -> Arc<Self> {
        Arc::new(Route {
            name,
            mailbox,
            resend_limit: 3,
            flow: Mutex::new(Flow {
                queue: VecDeque::new(),
                queued_tells: 0,
                generation: 0,
                host: None,
                stopped: None,
                blocked_since: None,
                tells: 0,
            }),
            calls: Mutex::new(Calls::new()),
            blocked: AtomicBool::new(false),
            beats: Beats::default(),
            room: Notify::new(),
            room_waiters: AtomicUsize::new(0),
            metrics,
        })
    }

    fn notify_room(&self) {
        if self.room_waiters.load(Ordering::Acquire) > 0 {
            self.room.notify_waiters();
        }
    }

    /// Wait until mailbox room may have freed up, or `deadline`.
    pub(crate) async fn wait_for_room(&self, deadline: Instant) {
        self.room_waiters.fetch_add(1, Ordering::AcqRel);
        let notified = self.room.notified();
        // Re-check after registering, so that a release in between is not missed.
        if self.depth() < self.mailbox {
            self.room_waiters.fetch_sub(1, Ordering::AcqRel);
            return;
        }
        let _ = tokio::time::timeout_at(deadline.into(), notified).await;
        self.room_waiters.fetch_sub(1, Ordering::AcqRel);
    }

    // Every update below leaves the state consistent at each statement
    // boundary that can panic, so a poisoned lock is still usable.
    fn flow(&self) -> MutexGuard<'_, Flow> {
        self.flow.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn calls(&self) -> MutexGuard<'_, Calls> {
        self.calls.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn depth_locked(&self, flow: &Flow) -> usize {
        self.calls().len() + flow.queued_tells + flow.tells
    }

    /// Calls and tells accepted and not yet answered or handled.
    pub(crate) fn depth(&self) -> usize {
        let flow = self.flow();
        self.depth_locked(&flow)
    }

    /// Start a call that must be answered within `timeout`. `reply` gets
    /// exactly one answer: the reply, a typed error at once (stopped, mailbox
    /// full), or `Timeout` once the deadline passed.
    pub(crate) fn call(&self, payload: Payload, idempotent: bool, timeout: Duration, reply: Reply) {
        let refused = {
            let mut flow = self.flow();
            if flow.stopped.is_some() {
                Some((CallError::Stopped(self.name.to_string()), reply))
            } else {
                let accepted = {
                    let mut calls = self.calls();
                    if calls.len() + flow.queued_tells + flow.tells >= self.mailbox {
                        Err(reply)
                    } else {
                        Ok(calls.insert(reply, payload, idempotent, timeout, current_span()))
                    }
                };
                match accepted {
                    Ok(id) => {
                        flow.queue.push_back(Queued::Call(id));
                        self.flush_locked(&mut flow);
                        None
                    }
                    Err(reply) => Some((
                        CallError::Rejected {
                            actor: self.name.to_string(),
                            reason: format!("mailbox full ({} messages)", self.mailbox),
                        },
                        reply,
                    )),
                }
            }
        };
        // Answered outside the locks: a callback may call into other routes.
        if let Some((err, reply)) = refused {
            reply.send(Err(err));
        }
    }

    /// Enqueue a fire-and-forget message, or refuse if the mailbox is full.
    pub(crate) fn tell(&self, payload: Payload) -> Result<(), TellError> {
        let mut flow = self.flow();
        if flow.stopped.is_some() {
            return Err(TellError::Stopped(self.name.to_string()));
        }
        if self.depth_locked(&flow) >= self.mailbox {
            return Err(TellError::Full(self.name.to_string()));
        }
        flow.queue.push_back(Queued::Tell(payload));
        flow.queued_tells += 1;
        self.flush_locked(&mut flow);
        Ok(())
    }

    /// Answer every call whose deadline passed with `Timeout`.
    pub(crate) fn expire(&self, now: Instant) {
        // Queued ids of expired calls stay in the queue; delivery skips them.
        let expired = self.calls().expired(now);
        if expired.is_empty() {
            return;
        }
        for entry in expired {
            let ms = entry.timeout.as_millis() as u64;
            entry.reply.send(Err(CallError::Timeout {
                actor: self.name.to_string(),
                ms,
            }));
        }
        self.notify_room();
    }

    /// An instance answered call `id`. Answers from an instance that is no
    /// longer current, or to calls no longer waiting, are dropped.
    pub(crate) fn complete(&self, generation: u64, id: u64, result: CallResult) -> bool {
        self.answer(generation, id, result).is_some()
    }

    /// [`Route::complete`], saying whom the answer went to: `Some(true)` a
    /// caller awaiting it in the kernel (`ActorRef::call`), `Some(false)`
    /// another actor, `None` nobody (answered already, or not this
    /// instance's).
    pub(crate) fn answer(&self, generation: u64, id: u64, result: CallResult) -> Option<bool> {
        let entry = {
            let mut calls = self.calls();
            match calls.table.get(&id) {
                Some(entry) if entry.sent_to == Some(generation) => calls.remove(id),
                _ => None,
            }
        };
        let entry = entry?;
        let waiter = matches!(entry.reply, Reply::Waiter(_));
        entry.reply.send(result);
        self.notify_room();
        Some(waiter)
    }

    /// Instance `generation` handled `count` tells.
    pub(crate) fn tells_done(&self, generation: u64, count: usize) {
        {
            let mut flow = self.flow();
            if flow.generation == generation {
                flow.tells = flow.tells.saturating_sub(count);
            }
        }
        self.notify_room();
    }

    /// Instance `generation` answered heartbeat `n`.
    pub(crate) fn beat(&self, generation: u64, n: u64) {
        self.beats.ack(generation, n, crate::clock::now_us());
    }

    /// Instance `generation` is ready: deliver what waits.
    pub(crate) fn attach(&self, generation: u64, host: Arc<dyn Host>) {
        self.beats.reset(generation);
        let mut flow = self.flow();
        flow.generation = generation;
        flow.host = Some(host);
        flow.tells = 0;
        self.set_blocked(&mut flow, None);
        self.flush_locked(&mut flow);
    }

    /// Deliver what waits, as far as the instance takes it (after credit
    /// returns). Cheap when nothing is blocked.
    pub(crate) fn flush_if_blocked(&self) {
        if self.blocked.load(Ordering::Relaxed) {
            let mut flow = self.flow();
            self.flush_locked(&mut flow);
        }
    }

    /// Since when queued messages have been waiting for flow-control room.
    pub(crate) fn blocked_since(&self) -> Option<Instant> {
        if !self.blocked.load(Ordering::Relaxed) {
            return None;
        }
        self.flow().blocked_since
    }

    fn set_blocked(&self, flow: &mut Flow, since: Option<Instant>) {
        flow.blocked_since = since;
        self.blocked.store(since.is_some(), Ordering::Relaxed);
    }

    /// Deliver nothing more to instance `generation`, which is being stopped
    /// gracefully: what arrives from now on waits for the next instance.
    pub(crate) fn hold(&self, generation: u64) {
        let mut flow = self.flow();
        if flow.generation == generation {
            flow.host = None;
            self.set_blocked(&mut flow, None);
        }
    }

    /// Calls and tells delivered to instance `generation` and not yet
    /// answered or handled.
    pub(crate) fn in_flight(&self, generation: u64) -> usize {
        let flow = self.flow();
        let tells = if flow.generation == generation {
            flow.tells
        } else {
            0
        };
        let calls = self
            .calls()
            .table
            .values()
            .filter(|entry| entry.sent_to == Some(generation))
            .count();
        tells + calls
    }

    /// Instance `generation` is gone: re-send or answer its calls in flight.
    pub(crate) fn detach(&self, generation: u64) {
        let mut restarting = Vec::new();
        let resent = {
            let mut flow = self.flow();
            if flow.generation == generation {
                flow.host = None;
                self.set_blocked(&mut flow, None);
                // Tells in flight died with the instance (at most once).
                flow.tells = 0;
            }
            let mut calls = self.calls();
            let mut ids: Vec<u64> = calls
                .table
                .iter()
                .filter(|(_, entry)| entry.sent_to == Some(generation))
                .map(|(id, _)| *id)
                .collect();
            ids.sort_unstable();
            let mut resend = Vec::new();
            for id in ids {
                let Some(entry) = calls.table.get_mut(&id) else {
                    continue;
                };
                if entry.idempotent && entry.resends < self.resend_limit && entry.payload.is_some()
                {
                    entry.resends += 1;
                    entry.sent_to = None;
                    resend.push(id);
                } else if let Some(entry) = calls.remove(id) {
                    restarting.push(entry);
                }
            }
            // Re-sent calls go first, in their original order.
            for id in resend.iter().rev() {
                flow.queue.push_front(Queued::Call(*id));
            }
            resend.len()
        };
        self.metrics.resent.inc_by(resent as u64);
        for entry in restarting {
            entry
                .reply
                .send(Err(CallError::Restarting(self.name.to_string())));
        }
        self.notify_room();
    }

    /// Permanently stop: everything waiting is answered `Stopped`.
    pub(crate) fn stop(&self, reason: &str) {
        let calls: Vec<CallEntry> = {
            let mut flow = self.flow();
            flow.stopped = Some(reason.to_string());
            flow.host = None;
            flow.queue.clear();
            flow.queued_tells = 0;
            self.set_blocked(&mut flow, None);
            self.calls().drain()
        };
        for entry in calls {
            entry
                .reply
                .send(Err(CallError::Stopped(self.name.to_string())));
        }
        self.notify_room();
    }

    /// Accept messages again after a permanent stop (an admin restart).
    pub(crate) fn reopen(&self) {
        self.flow().stopped = None;
    }
}

/// The id of the caller's current tracing span, or 0.
fn current_span() -> u64 {
    tracing::Span::current().id().map_or(0, |id| id.into_u64())
}

#[cfg(test)]
#[path = "route_tests.rs"]
mod tests;

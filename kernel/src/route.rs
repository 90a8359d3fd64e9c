//! The route to one actor: it outlives every instance of the actor and holds
//! the table of calls in flight, the queue of messages waiting for an
//! instance (or for flow-control room), and the current instance's delivery.
//!
//! When an instance dies, its calls in flight are re-sent to the next
//! instance if idempotent, and answered `Restarting` otherwise; messages that
//! never reached it wait for the next one. Nothing is silently lost, and
//! nothing is delivered twice unless the actor said that is safe.
//!
//! Deadlines are kept here too, in one ordered set swept every few
//! milliseconds by the kernel, instead of one timer per call.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use tokio::sync::{Notify, oneshot};
use warden_transport::Payload;

use crate::call_error::{CallError, TellError};
use crate::instance::inprocess::ToHost;
use crate::instance::process::ProcessConn;
use crate::metrics::ActorMetrics;

/// What a call resolves to.
pub(crate) type CallResult = Result<Payload, CallError>;

/// How often deadlines are checked: a call's timeout fires within this of its deadline.
pub(crate) const DEADLINE_SWEEP: Duration = Duration::from_millis(5);

/// How messages reach the current instance.
#[derive(Clone)]
pub(crate) enum Delivery {
    InProcess(actix::Recipient<ToHost>),
    Process(Arc<ProcessConn>),
}

/// The result of one delivery attempt.
pub(crate) enum Sent {
    Yes,
    /// No room now (flow control); try again when credit returns.
    NotNow,
    /// The instance is gone; the host will detach it.
    Gone,
    /// This message can never be delivered (it was refused locally).
    Refused(String),
}

struct CallEntry {
    reply: oneshot::Sender<CallResult>,
    payload: Option<Payload>,
    idempotent: bool,
    resends: u32,
    sent_to: Option<u64>,
    deadline: Instant,
    timeout: Duration,
    /// The caller's tracing span, carried to the instance (0: none).
    span: u64,
}

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
    delivery: Option<Delivery>,
    stopped: Option<String>,
    blocked_since: Option<Instant>,
    /// Tells delivered to the current instance and not yet handled.
    tells: usize,
}

/// The table of calls. Held only briefly, so that replies (on the reader
/// thread or the host's) never wait behind a send.
struct Calls {
    next_id: u64,
    table: HashMap<u64, CallEntry>,
    deadlines: BTreeSet<(Instant, u64)>,
}

impl Calls {
    fn remove(&mut self, id: u64) -> Option<CallEntry> {
        let entry = self.table.remove(&id)?;
        self.deadlines.remove(&(entry.deadline, id));
        Some(entry)
    }
}

/// See the module documentation.
pub(crate) struct Route {
    pub(crate) name: Arc<str>,
    mailbox: usize,
    resend_limit: u32,
    /// Lock order: `flow` before `calls`.
    flow: Mutex<Flow>,
    calls: Mutex<Calls>,
    /// Mirrors `State::blocked_since.is_some()`, read without the lock.
    blocked: AtomicBool,
    /// Latest heartbeat answered, and when (µs on the kernel clock).
    pub(crate) beat_n: AtomicU64,
    /// The instance whose heartbeat acks count (see [`Route::beat`]).
    pub(crate) beat_generation: AtomicU64,
    pub(crate) beat_at_us: AtomicU64,
    /// Signalled whenever mailbox room frees up, if anyone waits for it.
    room: Notify,
    room_waiters: std::sync::atomic::AtomicUsize,
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
                delivery: None,
                stopped: None,
                blocked_since: None,
                tells: 0,
            }),
            calls: Mutex::new(Calls {
                next_id: 1,
                table: HashMap::new(),
                deadlines: BTreeSet::new(),
            }),
            blocked: AtomicBool::new(false),
            beat_n: AtomicU64::new(0),
            beat_generation: AtomicU64::new(0),
            beat_at_us: AtomicU64::new(0),
            room: Notify::new(),
            room_waiters: std::sync::atomic::AtomicUsize::new(0),
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
        self.calls().table.len() + flow.queued_tells + flow.tells
    }

    /// Calls and tells accepted and not yet answered or handled.
    pub(crate) fn depth(&self) -> usize {
        let flow = self.flow();
        self.depth_locked(&flow)
    }

    /// Start a call that must be answered within `timeout`; the receiver
    /// yields its result (a `Timeout` error once the deadline passed).
    pub(crate) fn call(
        &self,
        payload: Payload,
        idempotent: bool,
        timeout: Duration,
    ) -> Result<oneshot::Receiver<CallResult>, CallError> {
        let (tx, rx) = oneshot::channel();
        let mut flow = self.flow();
        if flow.stopped.is_some() {
            return Err(CallError::Stopped(self.name.to_string()));
        }
        let id = {
            let mut calls = self.calls();
            if calls.table.len() + flow.queued_tells + flow.tells >= self.mailbox {
                return Err(CallError::Rejected {
                    actor: self.name.to_string(),
                    reason: format!("mailbox full ({} messages)", self.mailbox),
                });
            }
            let id = calls.next_id;
            calls.next_id += 1;
            let deadline = Instant::now() + timeout;
            calls.deadlines.insert((deadline, id));
            calls.table.insert(
                id,
                CallEntry {
                    reply: tx,
                    payload: Some(payload),
                    idempotent,
                    resends: 0,
                    sent_to: None,
                    deadline,
                    timeout,
                    span: current_span(),
                },
            );
            id
        };
        flow.queue.push_back(Queued::Call(id));
        self.flush_locked(&mut flow);
        Ok(rx)
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
        let expired: Vec<CallEntry> = {
            let mut calls = self.calls();
            let mut expired = Vec::new();
            while let Some(&(deadline, id)) = calls.deadlines.first() {
                if deadline > now {
                    break;
                }
                calls.deadlines.pop_first();
                if let Some(entry) = calls.table.remove(&id) {
                    expired.push(entry);
                }
            }
            expired
        };
        if expired.is_empty() {
            return;
        }
        for entry in expired {
            let _ = entry.reply.send(Err(CallError::Timeout {
                actor: self.name.to_string(),
                ms: entry.timeout.as_millis() as u64,
            }));
        }
        self.notify_room();
    }

    /// An instance answered call `id`. Answers from an instance that is no
    /// longer current, or to calls no longer waiting, are dropped.
    pub(crate) fn complete(&self, generation: u64, id: u64, result: CallResult) -> bool {
        let entry = {
            let mut calls = self.calls();
            match calls.table.get(&id) {
                Some(entry) if entry.sent_to == Some(generation) => calls.remove(id),
                _ => None,
            }
        };
        match entry {
            Some(entry) => {
                let _ = entry.reply.send(result);
                self.notify_room();
                true
            }
            None => false,
        }
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

    /// A heartbeat was answered.
    pub(crate) fn beat(&self, generation: u64, n: u64) {
        // Heartbeats are numbered per instance: a late ack from an instance
        // that was replaced must not count for its successor.
        if generation != self.beat_generation.load(Ordering::Relaxed) {
            return;
        }
        self.beat_n.fetch_max(n, Ordering::Relaxed);
        self.beat_at_us
            .store(crate::clock::now_us(), Ordering::Relaxed);
    }

    /// Instance `generation` is ready: deliver what waits.
    pub(crate) fn attach(&self, generation: u64, delivery: Delivery) {
        let mut flow = self.flow();
        flow.generation = generation;
        flow.delivery = Some(delivery);
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

    /// Instance `generation` is gone: re-send or answer its calls in flight.
    pub(crate) fn detach(&self, generation: u64) {
        let mut restarting = Vec::new();
        let resent = {
            let mut flow = self.flow();
            if flow.generation == generation {
                flow.delivery = None;
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
            let _ = entry
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
            flow.delivery = None;
            flow.queue.clear();
            flow.queued_tells = 0;
            self.set_blocked(&mut flow, None);
            let mut calls = self.calls();
            calls.deadlines.clear();
            calls.table.drain().map(|(_, entry)| entry).collect()
        };
        for entry in calls {
            let _ = entry
                .reply
                .send(Err(CallError::Stopped(self.name.to_string())));
        }
        self.notify_room();
    }

    /// Accept messages again after a permanent stop (an admin restart).
    pub(crate) fn reopen(&self) {
        self.flow().stopped = None;
    }

    fn flush_locked(&self, flow: &mut Flow) {
        let Some(delivery) = flow.delivery.clone() else {
            return;
        };
        let generation = flow.generation;
        while let Some(front) = flow.queue.pop_front() {
            let outcome = match &front {
                Queued::Tell(payload) => Some(deliver_tell(&delivery, payload)),
                Queued::Call(id) => self.deliver_call(&delivery, generation, *id),
            };
            match outcome {
                Some(Sent::Yes) => {
                    if matches!(front, Queued::Tell(_)) {
                        flow.queued_tells -= 1;
                        flow.tells += 1;
                    }
                }
                // The call timed out while it waited.
                None => {}
                Some(outcome @ (Sent::NotNow | Sent::Gone)) => {
                    flow.queue.push_front(front);
                    if matches!(outcome, Sent::NotNow) && flow.blocked_since.is_none() {
                        self.set_blocked(flow, Some(Instant::now()));
                    }
                    return;
                }
                Some(Sent::Refused(reason)) => match front {
                    Queued::Call(id) => {
                        if let Some(entry) = self.calls().remove(id) {
                            let _ = entry.reply.send(Err(CallError::Rejected {
                                actor: self.name.to_string(),
                                reason,
                            }));
                        }
                    }
                    Queued::Tell(_) => {
                        flow.queued_tells -= 1;
                        tracing::warn!(actor = %self.name, %reason, "tell dropped");
                    }
                },
            }
        }
        if flow.blocked_since.is_some() {
            self.set_blocked(flow, None);
        }
    }

    /// Deliver call `id` (None: it is no longer waiting). It is marked sent
    /// *before* the send, so that a reply racing back finds it, and unmarked
    /// if the send did not happen.
    fn deliver_call(&self, delivery: &Delivery, generation: u64, id: u64) -> Option<Sent> {
        let (payload, span) = {
            let mut calls = self.calls();
            let entry = calls.table.get_mut(&id)?;
            entry.sent_to = Some(generation);
            let payload = if entry.idempotent {
                entry.payload.clone()
            } else {
                entry.payload.take()
            };
            (payload, entry.span)
        };
        let Some(payload) = payload else {
            return Some(Sent::Refused("internal: call has no payload".into()));
        };
        let (outcome, unsent) = match delivery {
            Delivery::InProcess(host) => match host.try_send(ToHost::Call {
                generation,
                id,
                span,
                payload,
            }) {
                Ok(()) => (Sent::Yes, None),
                Err(
                    actix::prelude::SendError::Full(ToHost::Call { payload, .. })
                    | actix::prelude::SendError::Closed(ToHost::Call { payload, .. }),
                ) => (Sent::Gone, Some(payload)),
                Err(_) => (Sent::Gone, None),
            },
            Delivery::Process(conn) => match conn.send_call(id, &payload, span) {
                Sent::Yes => (Sent::Yes, None),
                other => (other, Some(payload)),
            },
        };
        if !matches!(outcome, Sent::Yes) {
            let mut calls = self.calls();
            if let Some(entry) = calls.table.get_mut(&id) {
                entry.sent_to = None;
                if entry.payload.is_none() {
                    entry.payload = unsent;
                }
            }
        }
        Some(outcome)
    }
}

/// The id of the caller's current tracing span, or 0.
fn current_span() -> u64 {
    tracing::Span::current().id().map_or(0, |id| id.into_u64())
}

fn deliver_tell(delivery: &Delivery, payload: &Payload) -> Sent {
    match delivery {
        Delivery::InProcess(host) => match host.try_send(ToHost::Tell(payload.clone())) {
            Ok(()) => Sent::Yes,
            Err(_) => Sent::Gone,
        },
        Delivery::Process(conn) => conn.send_tell(payload),
    }
}

//! The route to one actor: it outlives every instance of the actor and holds
//! the table of calls in flight, the queue of messages waiting for an
//! instance (or for flow-control room), and the current instance's delivery.
//!
//! When an instance dies, its calls in flight are re-sent to the next
//! instance if idempotent, and answered `Restarting` otherwise; messages that
//! never reached it wait for the next one. Nothing is silently lost, and
//! nothing is delivered twice unless the actor said that is safe.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use tokio::sync::{Notify, oneshot};
use warden_transport::Payload;

use crate::call_error::{CallError, TellError};
use crate::instance::inprocess::ToHost;
use crate::instance::process::ProcessConn;
use crate::metrics::ActorMetrics;

/// What a call resolves to.
pub(crate) type CallResult = Result<Payload, CallError>;

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
}

enum Queued {
    Call(u64),
    Tell(Payload),
}

struct State {
    next_id: u64,
    calls: HashMap<u64, CallEntry>,
    queue: VecDeque<Queued>,
    generation: u64,
    delivery: Option<Delivery>,
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
    state: Mutex<State>,
    /// Latest heartbeat answered, and when (µs on the kernel clock).
    pub(crate) beat_n: AtomicU64,
    pub(crate) beat_at_us: AtomicU64,
    /// Signalled whenever mailbox room frees up.
    pub(crate) room: Notify,
    pub(crate) metrics: Arc<ActorMetrics>,
}

impl Route {
    pub(crate) fn new(name: Arc<str>, mailbox: usize, metrics: Arc<ActorMetrics>) -> Arc<Self> {
        Arc::new(Route {
            name,
            mailbox,
            resend_limit: 3,
            state: Mutex::new(State {
                next_id: 1,
                calls: HashMap::new(),
                queue: VecDeque::new(),
                generation: 0,
                delivery: None,
                stopped: None,
                blocked_since: None,
                tells: 0,
            }),
            beat_n: AtomicU64::new(0),
            beat_at_us: AtomicU64::new(0),
            room: Notify::new(),
            metrics,
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Every update below leaves the state consistent at each statement
        // boundary that can panic, so a poisoned lock is still usable.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn depth_locked(&self, state: &State) -> usize {
        state.calls.len()
            + state
                .queue
                .iter()
                .filter(|q| matches!(q, Queued::Tell(_)))
                .count()
            + state.tells
    }

    /// Calls and tells accepted and not yet answered or handled.
    pub(crate) fn depth(&self) -> usize {
        let state = self.lock();
        self.depth_locked(&state)
    }

    /// Start a call; the receiver yields its result.
    pub(crate) fn call(
        &self,
        payload: Payload,
        idempotent: bool,
    ) -> Result<(u64, oneshot::Receiver<CallResult>), CallError> {
        let (tx, rx) = oneshot::channel();
        let mut state = self.lock();
        if let Some(reason) = &state.stopped {
            let _ = reason;
            return Err(CallError::Stopped(self.name.to_string()));
        }
        if self.depth_locked(&state) >= self.mailbox {
            return Err(CallError::Rejected {
                actor: self.name.to_string(),
                reason: format!("mailbox full ({} messages)", self.mailbox),
            });
        }
        let id = state.next_id;
        state.next_id += 1;
        state.calls.insert(
            id,
            CallEntry {
                reply: tx,
                payload: Some(payload),
                idempotent,
                resends: 0,
                sent_to: None,
            },
        );
        state.queue.push_back(Queued::Call(id));
        self.flush_locked(&mut state);
        Ok((id, rx))
    }

    /// Enqueue a fire-and-forget message, or refuse if the mailbox is full.
    pub(crate) fn tell(&self, payload: Payload) -> Result<(), TellError> {
        let mut state = self.lock();
        if state.stopped.is_some() {
            return Err(TellError::Stopped(self.name.to_string()));
        }
        if self.depth_locked(&state) >= self.mailbox {
            return Err(TellError::Full(self.name.to_string()));
        }
        state.queue.push_back(Queued::Tell(payload));
        self.flush_locked(&mut state);
        Ok(())
    }

    /// The caller gave up on call `id` (its deadline passed).
    pub(crate) fn abandon(&self, id: u64) {
        let removed = {
            let mut state = self.lock();
            let removed = state.calls.remove(&id).is_some();
            if removed {
                state
                    .queue
                    .retain(|q| !matches!(q, Queued::Call(c) if *c == id));
            }
            removed
        };
        if removed {
            self.room.notify_waiters();
        }
    }

    /// An instance answered call `id`. Answers from an instance that is no
    /// longer current, or to calls no longer waiting, are dropped.
    pub(crate) fn complete(&self, generation: u64, id: u64, result: CallResult) -> bool {
        let entry = {
            let mut state = self.lock();
            match state.calls.get(&id) {
                Some(entry) if entry.sent_to == Some(generation) => state.calls.remove(&id),
                _ => None,
            }
        };
        match entry {
            Some(entry) => {
                let _ = entry.reply.send(result);
                self.room.notify_waiters();
                true
            }
            None => false,
        }
    }

    /// Instance `generation` handled `count` tells.
    pub(crate) fn tells_done(&self, generation: u64, count: usize) {
        {
            let mut state = self.lock();
            if state.generation == generation {
                state.tells = state.tells.saturating_sub(count);
            }
        }
        self.room.notify_waiters();
    }

    /// A heartbeat was answered.
    pub(crate) fn beat(&self, n: u64) {
        self.beat_n.fetch_max(n, Ordering::Relaxed);
        self.beat_at_us
            .store(crate::clock::now_us(), Ordering::Relaxed);
    }

    /// Instance `generation` is ready: deliver what waits.
    pub(crate) fn attach(&self, generation: u64, delivery: Delivery) {
        let mut state = self.lock();
        state.generation = generation;
        state.delivery = Some(delivery);
        state.tells = 0;
        state.blocked_since = None;
        self.flush_locked(&mut state);
    }

    /// Deliver what waits, as far as the instance takes it (after credit returns).
    pub(crate) fn flush(&self) {
        let mut state = self.lock();
        self.flush_locked(&mut state);
    }

    /// Since when queued messages have been waiting for flow-control room.
    pub(crate) fn blocked_since(&self) -> Option<Instant> {
        self.lock().blocked_since
    }

    /// Instance `generation` is gone: re-send or answer its calls in flight.
    pub(crate) fn detach(&self, generation: u64) {
        let mut restarting = Vec::new();
        let resent = {
            let mut state = self.lock();
            if state.generation == generation {
                state.delivery = None;
                state.blocked_since = None;
                // Tells in flight died with the instance (at most once).
                state.tells = 0;
            }
            let mut ids: Vec<u64> = state
                .calls
                .iter()
                .filter(|(_, entry)| entry.sent_to == Some(generation))
                .map(|(id, _)| *id)
                .collect();
            ids.sort_unstable();
            let mut resend = Vec::new();
            for id in ids {
                let Some(entry) = state.calls.get_mut(&id) else {
                    continue;
                };
                if entry.idempotent && entry.resends < self.resend_limit && entry.payload.is_some()
                {
                    entry.resends += 1;
                    entry.sent_to = None;
                    resend.push(id);
                } else if let Some(entry) = state.calls.remove(&id) {
                    restarting.push(entry);
                }
            }
            // Re-sent calls go first, in their original order.
            for id in resend.iter().rev() {
                state.queue.push_front(Queued::Call(*id));
            }
            resend.len()
        };
        self.metrics.resent.inc_by(resent as u64);
        for entry in restarting {
            let _ = entry
                .reply
                .send(Err(CallError::Restarting(self.name.to_string())));
        }
        self.room.notify_waiters();
    }

    /// Permanently stop: everything waiting is answered `Stopped`.
    pub(crate) fn stop(&self, reason: &str) {
        let calls: Vec<CallEntry> = {
            let mut state = self.lock();
            state.stopped = Some(reason.to_string());
            state.delivery = None;
            state.queue.clear();
            state.calls.drain().map(|(_, entry)| entry).collect()
        };
        for entry in calls {
            let _ = entry
                .reply
                .send(Err(CallError::Stopped(self.name.to_string())));
        }
        self.room.notify_waiters();
    }

    /// Accept messages again after a permanent stop (an admin restart).
    pub(crate) fn reopen(&self) {
        self.lock().stopped = None;
    }

    fn flush_locked(&self, state: &mut State) {
        let Some(delivery) = state.delivery.clone() else {
            return;
        };
        let generation = state.generation;
        while let Some(front) = state.queue.pop_front() {
            let outcome = match &front {
                Queued::Tell(payload) => self.deliver_tell(&delivery, payload),
                Queued::Call(id) => {
                    let Some(entry) = state.calls.get_mut(id) else {
                        continue; // abandoned by its caller
                    };
                    let outcome = deliver_call(&delivery, generation, *id, entry);
                    if let Sent::Yes = outcome {
                        entry.sent_to = Some(generation);
                        if !entry.idempotent {
                            entry.payload = None;
                        }
                    }
                    outcome
                }
            };
            match outcome {
                Sent::Yes => {
                    if matches!(front, Queued::Tell(_)) {
                        state.tells += 1;
                    }
                }
                Sent::NotNow | Sent::Gone => {
                    state.queue.push_front(front);
                    if matches!(outcome, Sent::NotNow) {
                        state.blocked_since.get_or_insert_with(Instant::now);
                    }
                    return;
                }
                Sent::Refused(reason) => {
                    if let Queued::Call(id) = front
                        && let Some(entry) = state.calls.remove(&id)
                    {
                        let _ = entry.reply.send(Err(CallError::Rejected {
                            actor: self.name.to_string(),
                            reason,
                        }));
                    } else {
                        tracing::warn!(actor = %self.name, %reason, "tell dropped");
                    }
                }
            }
        }
        state.blocked_since = None;
    }

    fn deliver_tell(&self, delivery: &Delivery, payload: &Payload) -> Sent {
        match delivery {
            Delivery::InProcess(host) => match host.try_send(ToHost::Tell(payload.clone())) {
                Ok(()) => Sent::Yes,
                Err(_) => Sent::Gone,
            },
            Delivery::Process(conn) => conn.send_tell(payload),
        }
    }
}

fn deliver_call(delivery: &Delivery, generation: u64, id: u64, entry: &mut CallEntry) -> Sent {
    let Some(payload) = entry.payload.as_ref() else {
        return Sent::Refused("internal: call has no payload".into());
    };
    match delivery {
        Delivery::InProcess(host) => {
            let payload = if entry.idempotent {
                payload.clone()
            } else {
                entry.payload.take().unwrap_or_default()
            };
            match host.try_send(ToHost::Call {
                generation,
                id,
                payload,
            }) {
                Ok(()) => Sent::Yes,
                Err(err) => {
                    if let actix::prelude::SendError::Full(ToHost::Call { payload, .. })
                    | actix::prelude::SendError::Closed(ToHost::Call { payload, .. }) = err
                    {
                        entry.payload = Some(payload);
                    }
                    Sent::Gone
                }
            }
        }
        Delivery::Process(conn) => conn.send_call(id, payload),
    }
}

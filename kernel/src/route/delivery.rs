//! Delivery: the queue's front goes to the current instance's host, in
//! order, until the host has no room (flow control) or is gone. A call is
//! marked sent before its send, so that a reply racing back finds it.

use std::time::Instant;

use super::{Flow, Queued, Route};
use crate::call_error::CallError;
use crate::host::{Host, Sent};

impl Route {
    /// Deliver from the queue's front while the host takes it; on the
    /// first message it cannot take, put it back and note since when
    /// delivery is blocked (flow control) or stop (the instance is gone).
    pub(super) fn flush_locked(&self, flow: &mut Flow) {
        let Some(host) = flow.host.clone() else {
            return;
        };
        let generation = flow.generation;
        while let Some(front) = flow.queue.pop_front() {
            let (outcome, front) = match front {
                Queued::Tell(payload) => match host.tell(payload) {
                    Sent::Yes => {
                        flow.queued_tells -= 1;
                        flow.tells += 1;
                        continue;
                    }
                    Sent::NotNow(payload) => (Blocked::NotNow, Queued::Tell(payload)),
                    Sent::Gone(payload) => (Blocked::Gone, Queued::Tell(payload)),
                    Sent::Refused(reason) => {
                        flow.queued_tells -= 1;
                        tracing::warn!(actor = %self.name, %reason, "tell dropped");
                        continue;
                    }
                },
                Queued::Call(id) => match self.deliver_call(host.as_ref(), generation, id) {
                    // Delivered, refused (answered), or it timed out while it waited.
                    None => continue,
                    Some(blocked) => (blocked, Queued::Call(id)),
                },
            };
            flow.queue.push_front(front);
            if matches!(outcome, Blocked::NotNow) && flow.blocked_since.is_none() {
                self.set_blocked(flow, Some(Instant::now()));
            }
            return;
        }
        if flow.blocked_since.is_some() {
            self.set_blocked(flow, None);
        }
    }

    /// Deliver call `id`; `Some` when it must wait. It is marked sent
    /// *before* the send, so that a reply racing back finds it, and unmarked
    /// if the send did not happen.
    fn deliver_call(&self, host: &dyn Host, generation: u64, id: u64) -> Option<Blocked> {
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
            self.refuse(id, "internal: call has no payload".into());
            return None;
        };
        let (blocked, unsent) = match host.call(generation, id, span, payload) {
            Sent::Yes => return None,
            Sent::NotNow(payload) => (Blocked::NotNow, payload),
            Sent::Gone(payload) => (Blocked::Gone, payload),
            Sent::Refused(reason) => {
                self.refuse(id, reason);
                return None;
            }
        };
        let mut calls = self.calls();
        if let Some(entry) = calls.table.get_mut(&id) {
            entry.sent_to = None;
            if entry.payload.is_none() {
                entry.payload = Some(unsent);
            }
        }
        Some(blocked)
    }

    fn refuse(&self, id: u64, reason: String) {
        let entry = self.calls().remove(id);
        if let Some(entry) = entry {
            entry.reply.send(Err(CallError::Rejected {
                actor: self.name.to_string(),
                reason,
            }));
        }
    }
}

/// Why delivery stopped.
enum Blocked {
    /// No room now (flow control); try again when credit returns.
    NotNow,
    /// The instance is gone; the proxy will detach it.
    Gone,
}

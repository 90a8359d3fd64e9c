//! The table of one actor's calls accepted and not yet answered: who waits
//! for each (a task awaiting a channel, or a callback that passes the
//! answer on to a calling actor), its payload while it may still be
//! (re-)sent, which instance it went to, and its deadline, kept in one
//! ordered set so that one sweep answers every call whose time is up.

use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, Instant};

use tokio::sync::oneshot;
use warden_transport::Payload;

use crate::call_error::CallError;

/// What a call resolves to.
pub(crate) type CallResult = Result<Payload, CallError>;

/// Who waits for a call's answer. Called exactly once.
pub(crate) enum Reply {
    /// A caller awaiting the answer (`ActorRef::call`).
    Waiter(oneshot::Sender<CallResult>),
    /// Passed on by the kernel (an actor's request to another actor): it
    /// may run on any thread, and must not block.
    Callback(Box<dyn FnOnce(CallResult) + Send>),
}

impl Reply {
    /// Answer.
    pub(crate) fn send(self, result: CallResult) {
        match self {
            Reply::Waiter(tx) => {
                let _ = tx.send(result);
            }
            Reply::Callback(callback) => callback(result),
        }
    }
}

impl std::fmt::Debug for Reply {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Reply::Waiter(_) => "Reply::Waiter",
            Reply::Callback(_) => "Reply::Callback",
        })
    }
}

pub(crate) struct CallEntry {
    pub(crate) reply: Reply,
    /// Kept while it may be re-sent (idempotent) or until it is sent.
    pub(crate) payload: Option<Payload>,
    pub(crate) idempotent: bool,
    pub(crate) resends: u32,
    /// The instance it was delivered to, if it was.
    pub(crate) sent_to: Option<u64>,
    pub(crate) deadline: Instant,
    pub(crate) timeout: Duration,
    /// The caller's tracing span, carried to the instance (0: none).
    pub(crate) span: u64,
}

/// See the module documentation.
pub(crate) struct Calls {
    next_id: u64,
    pub(crate) table: HashMap<u64, CallEntry>,
    deadlines: BTreeSet<(Instant, u64)>,
}

impl Calls {
    pub(crate) fn new() -> Self {
        Calls {
            next_id: 1,
            table: HashMap::new(),
            deadlines: BTreeSet::new(),
        }
    }

    /// Accept a call; returns its id.
    pub(crate) fn insert(
        &mut self,
        reply: Reply,
        payload: Payload,
        idempotent: bool,
        timeout: Duration,
        span: u64,
    ) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        let deadline = Instant::now() + timeout;
        self.deadlines.insert((deadline, id));
        self.table.insert(
            id,
            CallEntry {
                reply,
                payload: Some(payload),
                idempotent,
                resends: 0,
                sent_to: None,
                deadline,
                timeout,
                span,
            },
        );
        id
    }

    pub(crate) fn remove(&mut self, id: u64) -> Option<CallEntry> {
        let entry = self.table.remove(&id)?;
        self.deadlines.remove(&(entry.deadline, id));
        Some(entry)
    }

    /// Remove and return every call whose deadline is at or before `now`.
    pub(crate) fn expired(&mut self, now: Instant) -> Vec<CallEntry> {
        let mut expired = Vec::new();
        while let Some(&(deadline, id)) = self.deadlines.first() {
            if deadline > now {
                break;
            }
            self.deadlines.pop_first();
            if let Some(entry) = self.table.remove(&id) {
                expired.push(entry);
            }
        }
        expired
    }

    /// Remove and return every call.
    pub(crate) fn drain(&mut self) -> Vec<CallEntry> {
        self.deadlines.clear();
        self.table.drain().map(|(_, entry)| entry).collect()
    }

    pub(crate) fn len(&self) -> usize {
        self.table.len()
    }
}

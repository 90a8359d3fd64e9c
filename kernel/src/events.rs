//! Supervisor events: every transition of every actor, with an id that only
//! goes up, kept in a bounded ring for the admin API and logged with `tracing`.

use std::collections::VecDeque;
use std::sync::{Mutex, PoisonError};

use serde::Serialize;

/// One transition.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Event {
    /// Increasing id, from 1.
    pub id: u64,
    /// Wall-clock time, milliseconds since the Unix epoch.
    pub unix_ms: u64,
    /// The actor concerned (`"supervisor"` for escalation and shutdown).
    pub actor: String,
    /// What happened: `starting`, `started`, `start_failed`, `exited`,
    /// `hung`, `stalled`, `killed`, `restarting`, `stopped`, `escalated`, `shutdown`.
    pub kind: String,
    /// Details in words (exit reason, delay, …).
    pub detail: String,
    /// The instance's process id, when there is one.
    pub pid: Option<u32>,
    /// The instance's generation (0 when not about an instance).
    pub generation: u64,
}

/// The ring of recent events.
#[derive(Debug)]
pub(crate) struct EventLog {
    inner: Mutex<(u64, VecDeque<Event>)>,
    capacity: usize,
}

impl EventLog {
    /// Keep the last `capacity` events.
    pub(crate) fn new(capacity: usize) -> Self {
        EventLog {
            inner: Mutex::new((0, VecDeque::new())),
            capacity: capacity.max(1),
        }
    }

    /// Record an event (and log it).
    pub(crate) fn push(
        &self,
        actor: &str,
        kind: &str,
        detail: impl Into<String>,
        pid: Option<u32>,
        generation: u64,
    ) {
        let detail = detail.into();
        match kind {
            "exited" | "hung" | "stalled" | "start_failed" | "killed" | "demoted" => {
                tracing::warn!(actor, event = kind, %detail, pid, generation, "supervisor")
            }
            "escalated" => tracing::error!(actor, event = kind, %detail, "supervisor"),
            _ => tracing::info!(actor, event = kind, %detail, pid, generation, "supervisor"),
        }
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        inner.0 += 1;
        let event = Event {
            id: inner.0,
            unix_ms: crate::clock::unix_ms(),
            actor: actor.to_string(),
            kind: kind.to_string(),
            detail,
            pid,
            generation,
        };
        inner.1.push_back(event);
        if inner.1.len() > self.capacity {
            inner.1.pop_front();
        }
    }

    /// Events with an id above `since`, oldest first.
    pub(crate) fn since(&self, since: u64) -> Vec<Event> {
        let inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        inner
            .1
            .iter()
            .filter(|event| event.id > since)
            .cloned()
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_increase_and_the_ring_is_bounded() {
        let log = EventLog::new(3);
        for n in 0..5 {
            log.push("a", "started", format!("{n}"), None, n);
        }
        let all = log.since(0);
        assert_eq!(all.iter().map(|e| e.id).collect::<Vec<_>>(), vec![3, 4, 5]);
        assert_eq!(log.since(4).len(), 1);
    }
}

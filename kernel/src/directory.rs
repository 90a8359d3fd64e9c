//! The directory of actors by name: how a request or a tell from one actor
//! reaches another, whatever the placements of the two. Both hosts route
//! through it — an in-process actor directly, a child's requests on the
//! kernel side of its link — so the behaviour is the same in all four
//! combinations: the target's route applies its deadlines, its restart
//! semantics (`Restarting`, or the idempotent re-send) and its mailbox bound.

use std::sync::Arc;
use std::time::{Duration, Instant};

use indexmap::IndexMap;
use warden_transport::Payload;

use crate::call_error::CallError;
use crate::route::{Reply, Route};

/// One actor, as callers find it.
pub(crate) struct Entry {
    pub(crate) kind: String,
    pub(crate) route: Arc<Route>,
    pub(crate) call_timeout: Duration,
}

/// See the module documentation.
#[derive(Default)]
pub(crate) struct Directory {
    entries: IndexMap<String, Entry>,
}

impl Directory {
    pub(crate) fn insert(
        &mut self,
        name: &str,
        kind: &str,
        route: Arc<Route>,
        call_timeout: Duration,
    ) {
        self.entries.insert(
            name.to_string(),
            Entry {
                kind: kind.to_string(),
                route,
                call_timeout,
            },
        );
    }

    fn resolve(&self, target: &str, kind: &str) -> Result<&Entry, String> {
        let entry = self
            .entries
            .get(target)
            .ok_or_else(|| format!("no actor named {target:?}"))?;
        if entry.kind != kind {
            return Err(format!(
                "actor {target:?} is a {}, not a {kind}",
                entry.kind
            ));
        }
        Ok(entry)
    }

    /// Call `target` (expected of `kind`); `reply` gets exactly one answer.
    pub(crate) fn request(
        &self,
        target: &str,
        kind: &str,
        payload: Payload,
        idempotent: bool,
        timeout: Option<Duration>,
        reply: Reply,
    ) {
        let entry = match self.resolve(target, kind) {
            Ok(entry) => entry,
            Err(reason) => {
                reply.send(Err(CallError::Rejected {
                    actor: target.to_string(),
                    reason,
                }));
                return;
            }
        };
        let metrics = Arc::clone(&entry.route.metrics);
        let started = Instant::now();
        let counted = Reply::Callback(Box::new(move |result| {
            metrics.latency.observe(started.elapsed().as_secs_f64());
            match &result {
                Ok(_) => {
                    metrics.calls_ok.inc();
                }
                Err(err) => metrics.call_failed(err.label()),
            }
            reply.send(result);
        }));
        entry.route.call(
            payload,
            idempotent,
            timeout.unwrap_or(entry.call_timeout),
            counted,
        );
    }

    /// Tell `target` (expected of `kind`): at most once; a refusal is
    /// counted (`warden_calls_total{outcome="tell_dropped"}`) and logged.
    pub(crate) fn tell(&self, from: &str, target: &str, kind: &str, payload: Payload) {
        let refused = match self.resolve(target, kind) {
            Ok(entry) => match entry.route.tell(payload) {
                Ok(()) => return,
                Err(err) => {
                    entry.route.metrics.call_failed("tell_dropped");
                    err.to_string()
                }
            },
            Err(reason) => reason,
        };
        tracing::debug!(actor = from, target, %refused, "tell between actors dropped");
    }
}

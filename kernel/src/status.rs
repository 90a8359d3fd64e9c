//! What the admin API shows of each actor: state, pid, restarts, last exit,
//! mailbox depth, heartbeat age and uptime.

use std::sync::{Mutex, PoisonError};
use std::time::Instant;

use serde::Serialize;

use crate::config::Placement;

/// An actor's lifecycle state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum State {
    /// Being started for the first time.
    Starting,
    /// Serving messages.
    Running,
    /// Down, about to be started again.
    Restarting,
    /// Stopped and not coming back (normal end, shutdown, or not restartable).
    Stopped,
    /// Ended abnormally and not coming back.
    Failed,
}

/// The admin view of one actor.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ActorStatus {
    /// Name.
    pub name: String,
    /// Kind.
    pub kind: String,
    /// Placement.
    pub placement: Placement,
    /// State.
    pub state: State,
    /// The node it runs on (remote placement; `null` otherwise).
    pub node: Option<String>,
    /// The child's pid (on its node, for a remote actor), or the kernel's
    /// for in-process actors.
    pub pid: u32,
    /// Restarts so far.
    pub restarts: u64,
    /// How the last instance ended, in words (`null` if none ended yet).
    pub last_exit: Option<String>,
    /// Messages accepted and not yet answered.
    pub mailbox_depth: usize,
    /// Milliseconds since the last heartbeat answer (`null` before the first).
    pub heartbeat_age_ms: Option<u64>,
    /// Milliseconds since the current instance became ready (0 when not running).
    pub uptime_ms: u64,
    /// The current instance's generation.
    pub generation: u64,
    /// A child process actor's standby: exec'd and connected, waiting to
    /// become its next instance (`null` in-process, with `standby = false`,
    /// or while one is being spawned).
    pub standby_pid: Option<u32>,
}

/// The mutable part, kept by the proxy.
#[derive(Clone, Debug)]
pub(crate) struct Tracked {
    /// Where it runs now (a move changes it).
    pub(crate) placement: Placement,
    pub(crate) node: Option<String>,
    pub(crate) state: State,
    pub(crate) pid: u32,
    pub(crate) restarts: u64,
    pub(crate) last_exit: Option<String>,
    pub(crate) ready_at: Option<Instant>,
    pub(crate) generation: u64,
}

/// Shared between the proxy (writer) and the admin API (reader).
#[derive(Debug)]
pub(crate) struct StatusCell(Mutex<Tracked>);

impl StatusCell {
    pub(crate) fn new(placement: Placement) -> Self {
        StatusCell(Mutex::new(Tracked {
            placement,
            node: None,
            state: State::Starting,
            pid: 0,
            restarts: 0,
            last_exit: None,
            ready_at: None,
            generation: 0,
        }))
    }

    pub(crate) fn update(&self, change: impl FnOnce(&mut Tracked)) {
        change(&mut self.0.lock().unwrap_or_else(PoisonError::into_inner));
    }

    pub(crate) fn get(&self) -> Tracked {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

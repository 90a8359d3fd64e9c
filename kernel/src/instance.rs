//! The two ways an actor instance runs: on its own thread in the kernel
//! process, or in a child process. The proxy treats both alike.

pub(crate) mod inprocess;
pub(crate) mod process;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// What happened to an instance, as reported to its proxy.
#[derive(Debug)]
pub(crate) enum InstanceEvent {
    /// `Actor::start` succeeded; messages may flow.
    Ready,
    /// `Actor::start` failed.
    StartFailed(String),
    /// The in-process instance ended (panic, fatal error, exit).
    Ended(crate::core::End),
    /// The child announced it is about to exit, why, and with which code.
    Exiting(String, i32),
    /// The child broke the protocol (malformed frame, bad handle): kill it.
    Fault(String),
    /// The child's channel closed.
    Disconnected,
    /// The child process was reaped.
    Exited {
        /// How it ended, in words.
        status: String,
        /// Its exit code, if it exited rather than being killed by a signal.
        code: Option<i32>,
    },
}

/// An event tagged with the generation of the instance it concerns.
#[derive(Debug, actix::Message)]
#[rtype(result = "()")]
pub(crate) struct Tagged {
    pub(crate) generation: u64,
    pub(crate) event: InstanceEvent,
}

/// A flag the kernel sets when it gives up on an instance.
#[derive(Clone, Debug, Default)]
pub(crate) struct Cancel(Arc<AtomicBool>);

impl Cancel {
    pub(crate) fn cancel(&self) {
        self.0.store(true, Ordering::Relaxed);
    }
    pub(crate) fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
    pub(crate) fn flag(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.0)
    }
}

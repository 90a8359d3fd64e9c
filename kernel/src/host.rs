//! How the kernel runs an instance, whatever its placement. Each placement
//! is one file under `host/` with a [`Placer`] (start an instance) and a
//! [`Host`] (reach and control the running instance). The route delivers
//! through `Host`, the proxy controls through it, and neither knows which
//! placement stands behind it: a new placement is a new file.

pub(crate) mod inprocess;
pub(crate) mod process;
pub(crate) mod remote;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use actix::{Message, Recipient};
use tokio::sync::oneshot;
use warden_transport::{InjectedFault, Payload, SlotPool};

use crate::config::{ActorSpec, Placement};
use crate::error::StartError;
use crate::proxy::Shared;
use crate::registry::Factory;
use crate::route::Route;

/// The result of handing a message to an instance. A message that was not
/// taken comes back, to wait for room or for the next instance.
pub(crate) enum Sent {
    /// Taken.
    Yes,
    /// No room now (flow control); try again when credit returns.
    NotNow(Payload),
    /// The instance is gone; its proxy will detach it.
    Gone(Payload),
    /// This message can never be delivered (refused before sending).
    Refused(String),
}

/// What a kill did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Killed {
    /// The instance runs no more actor code: replace it now (how it was
    /// killed, for the exit reason, when it says more than the reason).
    Now(Option<&'static str>),
    /// It ends at its next message boundary and reports `Ended`; one that
    /// is stuck in its current message must be abandoned (`kill(true)`).
    AtBoundary,
}

/// A running instance, as the route and the proxy reach it.
pub(crate) trait Host: Send + Sync {
    /// The process running it.
    fn pid(&self) -> u32;
    /// Whether its end is reported by an `Exited` event (a process to reap)
    /// after whatever it says; otherwise what it says is the end.
    fn reports_exit(&self) -> bool;
    /// How the instance came to be, for the "started" event (" (spawned)").
    fn started_how(&self) -> &'static str {
        ""
    }
    /// The node it runs on (remote placement).
    fn node(&self) -> Option<String> {
        None
    }
    /// Deliver call `id` (of instance `generation`, the caller's `span`).
    fn call(&self, generation: u64, id: u64, span: u64, payload: Payload) -> Sent;
    /// Deliver a fire-and-forget message.
    fn tell(&self, payload: Payload) -> Sent;
    /// Send heartbeat `n`; the answer comes back through `Route::beat`.
    fn heartbeat(&self, n: u64);
    /// Kernel diagnostics: inject a fault into the host.
    fn inject(&self, fault: InjectedFault);
    /// End the instance abnormally; `abandon`: at once, whatever it is doing.
    fn kill(&self, abandon: bool) -> Killed;
    /// Ask the instance to stop gracefully (`handover`: a move, so its
    /// actor's snapshot comes first, as an `InstanceEvent::Handover`).
    /// `Some`: resolves once it has (the caller bounds the wait); `None`:
    /// its exit is reported as an instance event.
    fn stop(&self, handover: bool) -> Option<oneshot::Receiver<()>>;
    /// The instance is finished as far as the kernel is concerned: it must
    /// answer nothing more. Returns a check to run a little later (a child
    /// that lingers is killed then).
    fn retire(&self) -> Option<Box<dyn FnOnce() + Send>>;
}

/// Everything needed to start one instance.
pub(crate) struct Launch {
    pub(crate) spec: Arc<ActorSpec>,
    pub(crate) factory: Arc<dyn Factory>,
    pub(crate) generation: u64,
    pub(crate) route: Arc<Route>,
    pub(crate) shared: Arc<Shared>,
    /// The actor's shared-memory pool (process placement), kept across restarts.
    pub(crate) pool: Option<Arc<SlotPool>>,
    /// What the instance it replaces handed over (a move), for `Actor::restore`.
    pub(crate) handover: Option<Arc<[u8]>>,
    /// Where the instance reports readiness and its end.
    pub(crate) events: Recipient<Tagged>,
    /// Where the launch's result goes.
    pub(crate) done: Recipient<Launched>,
}

/// The result of a launch: a host whose instance is starting (it reports
/// `Ready` or `StartFailed` as an instance event), or why none was started.
#[derive(Message)]
#[rtype(result = "()")]
pub(crate) struct Launched {
    pub(crate) generation: u64,
    pub(crate) result: Result<Arc<dyn Host>, StartError>,
}

/// Starts instances of one placement.
pub(crate) trait Placer: Send + Sync {
    /// Start an instance; the result arrives as `Launched` on `launch.done`.
    fn launch(&self, launch: Launch) -> Result<(), StartError>;
    /// Whether instances use the actor's shared-memory pool.
    fn uses_pool(&self) -> bool;
}

/// The placer for `placement`: the one place a placement is matched.
pub(crate) fn placer(placement: Placement) -> &'static dyn Placer {
    match placement {
        Placement::Inprocess => &inprocess::InProcessPlacer,
        Placement::Process => &process::ProcessPlacer,
        Placement::Remote => &remote::RemotePlacer,
    }
}

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
    /// The stopping instance handed its state over (a move; may be empty).
    Handover(Vec<u8>),
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
#[derive(Debug, Message)]
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

/// How long a finished child may linger before it is killed.
pub(crate) const LINGER: Duration = Duration::from_secs(2);

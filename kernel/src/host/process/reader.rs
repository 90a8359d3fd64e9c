//! The reader thread of one child: the only receiver on its channel. It
//! turns envelopes into replies, heartbeat answers, publishes, releases,
//! requests and tells to other actors and subscriptions; anything malformed
//! or out of protocol is the child's fault and gets it killed.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use actix::Recipient;
use ipc_channel::ipc::IpcReceiver;
use warden_transport::bootstrap::Wire;
use warden_transport::{Body, CallOutcome, Outcome, decode_envelope};

use crate::bus::Bus;
use crate::directory::Directory;
use crate::host::inprocess::call_result;
use crate::host::process::ProcessConn;
use crate::host::{InstanceEvent, Launch, Tagged};
use crate::route::{CallResult, Reply, Route};

/// How long the reader busy-polls for the next reply after answering a
/// caller in the kernel before it blocks: a reply that arrives within it
/// costs no thread wake-up.
const SPIN: Duration = Duration::from_micros(60);

/// How many readers may busy-poll at once: one CPU fewer than the machine
/// has, so that there is always a CPU for the children (and callers) whose
/// messages the spinners wait for. With one CPU (a 1-CPU container, a
/// pinned process) none: the spinning reader would hold the very CPU the
/// child needs to reply (measured with `taskset -c 0 warden bench ipc`, a
/// call took 80 µs spinning, 18 µs not). With two CPUs one: a child↔child
/// call has two readers waiting at once (the caller's, for more, and the
/// callee's, for the answer), and both spinning left the two children no
/// CPU to answer on. `WARDEN_BLOCKING_READER` set (to anything) forces the
/// blocking reader (the test suite runs the conformance cases with each
/// reader, since a machine with several CPUs would otherwise only ever
/// test the spinning one).
fn spin_budget() -> usize {
    static BUDGET: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *BUDGET.get_or_init(|| {
        if std::env::var_os(crate::BLOCKING_READER_ENV).is_some() {
            return 0;
        }
        std::thread::available_parallelism().map_or(0, |n| n.get() - 1)
    })
}

/// Readers busy-polling now (at most [`spin_budget`]).
static SPINNING: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// A place among the spinning readers, given back when dropped.
struct SpinTurn;

impl SpinTurn {
    fn take() -> Option<SpinTurn> {
        let budget = spin_budget();
        SPINNING
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |spinning| {
                (spinning < budget).then_some(spinning + 1)
            })
            .ok()
            .map(|_| SpinTurn)
    }
}

impl Drop for SpinTurn {
    fn drop(&mut self) {
        SPINNING.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Whether a message answered a caller in the kernel (after which the
/// reader spins a while for the next answer: see [`Reader::next`]).
enum Answered {
    KernelCaller,
    NoKernelCaller,
}

/// See the module documentation.
pub(crate) struct Reader {
    rx: IpcReceiver<Wire>,
    conn: Arc<ProcessConn>,
    route: Arc<Route>,
    bus: Arc<Bus>,
    directory: Arc<Directory>,
    shared: Arc<crate::proxy::Shared>,
    events: Recipient<Tagged>,
    generation: u64,
}

impl Reader {
    pub(crate) fn new(rx: IpcReceiver<Wire>, conn: Arc<ProcessConn>, launch: &Launch) -> Self {
        Reader {
            rx,
            conn,
            route: Arc::clone(&launch.route),
            bus: Arc::clone(&launch.shared.bus),
            directory: Arc::clone(&launch.shared.directory),
            shared: Arc::clone(&launch.shared),
            events: launch.events.clone(),
            generation: launch.generation,
        }
    }

    fn report(&self, event: InstanceEvent) {
        self.events.do_send(Tagged {
            generation: self.generation,
            event,
        });
    }

    /// The next message. Within a spin period of answering a caller in the
    /// kernel, poll instead of blocking: such callers call in bursts
    /// (`ActorRef::call` in a loop, a request handler's calls), and a reply
    /// that lands within the period costs no wake-up of this thread.
    /// Otherwise block: a reply to another actor goes on to its child
    /// through a socket, whose wake-ups are cheap (the kernel runs the woken
    /// thread where the waker is about to sleep), and spinning readers only
    /// take the CPUs the children need — measured on this 2-CPU VM
    /// (`warden bench actors`), a child↔child call took 60–105 µs with the
    /// readers spinning on every message and 19–25 µs with them blocking,
    /// while a kernel→child call took 41–45 µs spinning and 85–94 µs not.
    fn next(&self, spin_until: Option<Instant>) -> Result<Wire, String> {
        if let Some(until) = spin_until
            && self.conn.spin
            && let Some(_turn) = SpinTurn::take()
        {
            while Instant::now() < until {
                // A zero timeout is one poll(2); try_recv would be three
                // syscalls (it toggles O_NONBLOCK around the recvmsg).
                match self.rx.try_recv_timeout(Duration::ZERO) {
                    Ok(wire) => return Ok(wire),
                    Err(ipc_channel::TryRecvError::Empty) => std::hint::spin_loop(),
                    Err(ipc_channel::TryRecvError::IpcError(err)) => {
                        return Err(format!("{err:?}"));
                    }
                }
            }
        }
        self.rx.recv().map_err(|err| format!("{err:?}"))
    }

    pub(crate) fn run(self) {
        let mut spin_until = None;
        loop {
            let wire = match self.next(spin_until) {
                Ok(wire) => wire,
                Err(_) => {
                    // Disconnected (or an OS error on the socket): the child is gone.
                    self.report(InstanceEvent::Disconnected);
                    return;
                }
            };
            spin_until = None;
            let bytes = match wire {
                Wire::Frame(bytes) => bytes,
                _ => {
                    self.report(InstanceEvent::Fault("handshake message after start".into()));
                    return;
                }
            };
            let envelope = match decode_envelope(&bytes) {
                Ok(envelope) => envelope,
                Err(err) => {
                    self.report(InstanceEvent::Fault(format!(
                        "malformed frame from the child: {err}"
                    )));
                    return;
                }
            };
            let _ = self.conn.link.on_receive(&envelope, bytes.len());
            match self.dispatch(envelope.body, envelope.span) {
                Ok(Answered::KernelCaller) => spin_until = Some(Instant::now() + SPIN),
                Ok(Answered::NoKernelCaller) => {}
                Err(fault) => {
                    self.report(InstanceEvent::Fault(fault));
                    return;
                }
            }
            self.conn
                .handled
                .fetch_add(1, std::sync::atomic::Ordering::Release);
            self.route.flush_if_blocked();
            if !self.conn.forwarder.is_empty() {
                self.conn.forwarder.pump();
            }
        }
    }

    fn dispatch(&self, body: Body, span: u64) -> Result<Answered, String> {
        let frames = &self.conn.frames;
        match body {
            Body::Reply { id, outcome } => {
                let result = match outcome {
                    Outcome::Ok(wire) => Ok(crate::wire::import(frames, wire)?),
                    Outcome::Err { kind, reason } => Err((kind, reason)),
                };
                let answered =
                    self.route
                        .answer(self.generation, id, call_result(&self.route.name, result));
                if answered == Some(true) {
                    return Ok(Answered::KernelCaller);
                }
            }
            Body::HeartbeatAck { n, .. } => self.route.beat(self.generation, n),
            Body::TellsDone { count } => self.route.tells_done(self.generation, count as usize),
            Body::Publish { topic, payload } => {
                let payload = crate::wire::import(frames, payload)?;
                self.bus.publish(&topic, payload);
            }
            Body::Release { pool, slot, seq } => match &frames.pool {
                Some(own) if own.id() == pool => {
                    own.release(slot, seq).map_err(|err| err.to_string())?;
                }
                _ => frames
                    .lent
                    .release(pool, slot, seq)
                    .map_err(|err| err.to_string())?,
            },
            Body::Request {
                id,
                target,
                kind,
                payload,
                timeout_ms,
                idempotent,
            } => {
                let payload = crate::wire::import(frames, payload)?;
                let conn = Arc::downgrade(&self.conn);
                let _span = tracing::debug_span!("request", id, caller_span = span).entered();
                self.directory.request(
                    &target,
                    &kind,
                    payload,
                    idempotent,
                    (timeout_ms > 0).then(|| Duration::from_millis(timeout_ms)),
                    Reply::Callback(Box::new(move |result| {
                        if let Some(conn) = conn.upgrade() {
                            respond(&conn, id, result);
                        }
                    })),
                );
            }
            Body::PeerTell {
                target,
                kind,
                payload,
            } => {
                let payload = crate::wire::import(frames, payload)?;
                self.directory
                    .tell(&self.route.name, &target, &kind, payload);
            }
            Body::Subscribe { topic, capacity } => {
                self.conn
                    .forwarder
                    .subscribe(&self.bus, &topic, capacity as usize);
            }
            Body::Event { kind, detail } => {
                // Bounded by the child; a long one is cut, not refused.
                let kind: String = kind.chars().take(64).collect();
                let detail: String = detail.chars().take(1024).collect();
                self.shared
                    .events
                    .push(&self.route.name, &kind, detail, None, self.generation);
            }
            Body::Ready => self.report(InstanceEvent::Ready),
            Body::StartFailed { reason } => self.report(InstanceEvent::StartFailed(reason)),
            Body::Exiting { reason, code } => self.report(InstanceEvent::Exiting(reason, code)),
            Body::Handover { state } => self.report(InstanceEvent::Handover(state)),
            Body::Credit => {}
            other => return Err(format!("unexpected {} from the child", other.kind())),
        }
        Ok(Answered::NoKernelCaller)
    }
}

/// Send the answer to a child's request back to it. Runs on whichever
/// thread answered (a target's reader, an in-process host, the deadline
/// sweep); the link never blocks.
fn respond(conn: &ProcessConn, id: u64, result: CallResult) {
    let (outcome, keep) = match result {
        Ok(payload) => match crate::wire::export(&conn.frames, &payload) {
            Ok(wire) => (CallOutcome::Ok(wire), payload.frames),
            Err(reason) => (CallOutcome::Failed(reason), Vec::new()),
        },
        Err(err) => (err.into_outcome(), Vec::new()),
    };
    if let Err(err) = conn.link.send(Body::Response { id, outcome }, 0, keep) {
        tracing::debug!(%err, id, "an answer to a child's request was not sent");
    }
}

#[cfg(test)]
mod tests {
    use super::{SPINNING, SpinTurn, spin_budget};
    use std::sync::atomic::Ordering;

    /// No more readers spin at once than the budget allows (one CPU fewer
    /// than the machine has), and a turn given back is free again.
    #[test]
    fn spin_turns_stay_within_the_budget() {
        assert_eq!(
            SPINNING.load(Ordering::Acquire),
            0,
            "no reader runs in unit tests"
        );
        let budget = spin_budget();
        assert!(
            budget < std::thread::available_parallelism().map_or(1, |n| n.get()),
            "a budget of {budget} leaves no CPU for the children"
        );
        let turns: Vec<SpinTurn> = (0..budget).map_while(|_| SpinTurn::take()).collect();
        assert_eq!(turns.len(), budget, "the budget's turns were refused");
        assert!(
            SpinTurn::take().is_none(),
            "a turn beyond the budget was given"
        );
        drop(turns);
        assert_eq!(
            SPINNING.load(Ordering::Acquire),
            0,
            "turns were not given back"
        );
        if budget > 0 {
            assert!(SpinTurn::take().is_some(), "a freed turn was refused");
        }
    }
}

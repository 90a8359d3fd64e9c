//! The process host, kernel side: a child running `warden worker`, the link
//! to it, a reader thread that turns its envelopes into replies, heartbeats
//! and publishes, and a watcher thread that reaps it and records how it ended.
//!
//! Nothing here ever blocks on the child: sends are credit-windowed (see
//! `warden_transport::Link`), the reader is the only receiver, and the
//! process is killed, never waited for, when it misbehaves.

use std::ffi::OsString;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use actix::Recipient;
use bincode::{Decode, Encode};
use ipc_channel::ipc::IpcReceiver;
use warden_transport::bootstrap::{self, ChildCommand, Connected, Wire};
use warden_transport::{
    Body, DEFAULT_WINDOW, HeldSlot, Link, Outcome, Payload, PoolSpec, ReleaseSink, SlotPool,
    WirePayload, decode_envelope,
};

use crate::bus::Bus;
use crate::instance::inprocess::call_result;
use crate::instance::{InstanceEvent, Tagged};
use crate::route::{Route, Sent};

/// How long the reader busy-polls for a reply while calls are in flight
/// before it blocks: a reply that arrives within it costs no thread wake-up.
const SPIN: Duration = Duration::from_micros(60);

/// Whether busy-polling can pay off: only with another CPU for the child to
/// answer on. With one (a 1-CPU container, a pinned process) the spinning
/// reader would hold the very CPU the child needs to reply: measured with
/// `taskset -c 0 warden bench ipc`, a call took 80 µs spinning, 18 µs not.
fn spin_pays() -> bool {
    static MANY: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *MANY.get_or_init(|| std::thread::available_parallelism().is_ok_and(|n| n.get() > 1))
}

/// What the kernel tells a new child about itself (bincode, inside `Wire::Setup`).
#[derive(Debug, Encode, Decode)]
pub(crate) struct WorkerInit {
    pub(crate) name: String,
    pub(crate) kind: String,
    pub(crate) generation: u64,
    pub(crate) config_toml: String,
    pub(crate) tick_ms: Option<u64>,
    pub(crate) pool: Option<PoolSpec>,
    pub(crate) first_seq: u64,
    pub(crate) held: Vec<HeldSlot>,
}

/// Releases of the child's slots go over the link.
struct LinkReleases(Arc<Link>);

impl ReleaseSink for LinkReleases {
    fn release(&self, slot: u32, seq: u64) {
        if let Err(err) = self.0.send_control(Body::Release { slot, seq }) {
            tracing::debug!(%err, slot, seq, "release not sent (child gone)");
        }
    }
}

/// The kernel's end of a connected child, shared by the route (sending) and
/// the reader thread (receiving).
pub(crate) struct ProcessConn {
    pub(crate) link: Arc<Link>,
    pool: Option<Arc<SlotPool>>,
    /// Calls sent and not yet answered (the reader spins while non-zero).
    awaiting: AtomicU64,
}

impl ProcessConn {
    fn send(&self, payload: &Payload, span: u64, body: impl FnOnce(WirePayload) -> Body) -> Sent {
        if !self.link.has_room(payload.data.len(), payload.frames.len()) {
            return Sent::NotNow;
        }
        let wire = match crate::wire::export(self.pool.as_ref(), payload) {
            Ok(wire) => wire,
            Err(reason) => return Sent::Refused(reason),
        };
        match self.link.send_now(body(wire), span) {
            Ok(()) => Sent::Yes,
            Err(warden_transport::LinkError::Codec(err)) => Sent::Refused(err.to_string()),
            Err(_) => Sent::Gone,
        }
    }

    pub(crate) fn send_call(&self, id: u64, payload: &Payload, span: u64) -> Sent {
        let sent = self.send(payload, span, |payload| Body::Call { id, payload });
        if let Sent::Yes = sent {
            self.awaiting.fetch_add(1, Ordering::Relaxed);
        }
        sent
    }

    pub(crate) fn send_tell(&self, payload: &Payload) -> Sent {
        self.send(payload, 0, |payload| Body::Tell { payload })
    }
}

/// A running child.
pub(crate) struct ProcessInstance {
    pub(crate) pid: u32,
    pub(crate) conn: Arc<ProcessConn>,
    exited: Arc<AtomicBool>,
}

impl ProcessInstance {
    /// Whether the watcher has reaped the child.
    pub(crate) fn reaped(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.exited)
    }

    /// SIGKILL the child unless it has already been reaped.
    pub(crate) fn kill(&self) {
        if !self.exited.load(Ordering::Acquire) {
            let pid = nix::unistd::Pid::from_raw(self.pid as i32);
            let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL);
        }
    }

    /// Ask the child to stop its actor and exit.
    pub(crate) fn request_shutdown(&self) {
        let _ = self.conn.link.send_control(Body::Shutdown);
    }
}

/// How to start children.
#[derive(Clone, Debug)]
pub(crate) struct WorkerCommand {
    pub(crate) program: PathBuf,
    pub(crate) args: Vec<OsString>,
    pub(crate) env: Vec<(OsString, OsString)>,
}

/// Spawn and connect a child (blocking: run it on the spawner thread).
pub(crate) fn spawn_child(
    command: &WorkerCommand,
    name: &str,
    kind: &str,
    init: &WorkerInit,
    pool: Option<&Arc<SlotPool>>,
    deadline: Duration,
) -> Result<Connected, String> {
    let mut args = command.args.clone();
    args.extend(["--actor".into(), kind.into(), "--name".into(), name.into()]);
    let child = ChildCommand {
        program: command.program.clone(),
        args,
        env: command.env.clone(),
    };
    let mut connected = bootstrap::spawn(&child, deadline).map_err(|err| err.to_string())?;
    let init_bytes = bincode::encode_to_vec(init, bincode::config::standard())
        .map_err(|err| format!("cannot encode the start parameters: {err}"))?;
    let setup = Wire::Setup {
        pool: pool.map(|pool| pool.region()),
        init: serde_bytes::ByteBuf::from(init_bytes),
    };
    if let Err(err) = connected.setup.send(setup) {
        let _ = connected.child.kill();
        let _ = connected.child.wait();
        return Err(format!(
            "child {} did not take its setup: {err}",
            connected.pid
        ));
    }
    Ok(connected)
}

/// Wire up a connected child: link, reader thread, watcher thread.
pub(crate) fn attach(
    connected: Connected,
    generation: u64,
    name: &str,
    pool: Option<Arc<SlotPool>>,
    route: Arc<Route>,
    bus: Arc<Bus>,
    events: Recipient<Tagged>,
) -> Result<ProcessInstance, String> {
    let Connected {
        mut child,
        pid,
        to_child,
        from_child,
        ..
    } = connected;
    let link = Arc::new(Link::new(to_child, "kernel", DEFAULT_WINDOW, 0));
    if let Some(pool) = &pool {
        pool.set_sink(Some(Arc::new(LinkReleases(Arc::clone(&link)))));
    }
    let conn = Arc::new(ProcessConn {
        link,
        pool,
        awaiting: AtomicU64::new(0),
    });
    let exited = Arc::new(AtomicBool::new(false));

    let reader = Reader {
        rx: from_child,
        conn: Arc::clone(&conn),
        route,
        bus,
        events: events.clone(),
        generation,
    };
    let spawned = std::thread::Builder::new()
        .name(format!("warden-read-{name}"))
        .spawn(move || reader.run());
    if let Err(err) = spawned {
        let _ = child.kill();
        let _ = child.wait();
        return Err(format!("cannot start the reader thread: {err}"));
    }

    let watcher_exited = Arc::clone(&exited);
    let spawned = std::thread::Builder::new()
        .name(format!("warden-wait-{name}"))
        .spawn(move || {
            let event = match child.wait() {
                Ok(status) => InstanceEvent::Exited {
                    status: bootstrap::describe_exit(status),
                    code: status.code(),
                },
                Err(err) => InstanceEvent::Exited {
                    status: format!("could not be waited for: {err}"),
                    code: None,
                },
            };
            watcher_exited.store(true, Ordering::Release);
            events.do_send(Tagged { generation, event });
        });
    if let Err(err) = spawned {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid as i32),
            nix::sys::signal::Signal::SIGKILL,
        );
        return Err(format!("cannot start the watcher thread: {err}"));
    }
    Ok(ProcessInstance { pid, conn, exited })
}

struct Reader {
    rx: IpcReceiver<Wire>,
    conn: Arc<ProcessConn>,
    route: Arc<Route>,
    bus: Arc<Bus>,
    events: Recipient<Tagged>,
    generation: u64,
}

impl Reader {
    fn report(&self, event: InstanceEvent) {
        self.events.do_send(Tagged {
            generation: self.generation,
            event,
        });
    }

    /// The next message. While calls are in flight, or a message arrived
    /// within the last spin period, poll instead of blocking: a reply that
    /// lands within it costs no thread wake-up (calls come in bursts).
    fn next(&self, last: Instant) -> Result<Wire, String> {
        let busy = self.conn.awaiting.load(Ordering::Relaxed) > 0;
        if spin_pays() && (busy || last.elapsed() < SPIN) {
            let started = Instant::now();
            while started.elapsed() < SPIN {
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

    fn run(self) {
        let mut last = Instant::now();
        loop {
            let wire = match self.next(last) {
                Ok(wire) => wire,
                Err(_) => {
                    // Disconnected (or an OS error on the socket): the child is gone.
                    self.report(InstanceEvent::Disconnected);
                    return;
                }
            };
            last = Instant::now();
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
            if let Err(fault) = self.dispatch(envelope.body) {
                self.report(InstanceEvent::Fault(fault));
                return;
            }
            self.route.flush_if_blocked();
        }
    }

    fn dispatch(&self, body: Body) -> Result<(), String> {
        match body {
            Body::Reply { id, outcome } => {
                let result = match outcome {
                    Outcome::Ok(wire) => Ok(crate::wire::import(self.conn.pool.as_ref(), wire)?),
                    Outcome::Err { kind, reason } => Err((kind, reason)),
                };
                self.conn.awaiting.fetch_sub(1, Ordering::Relaxed);
                self.route
                    .complete(self.generation, id, call_result(&self.route.name, result));
            }
            Body::HeartbeatAck { n, .. } => self.route.beat(self.generation, n),
            Body::TellsDone { count } => self.route.tells_done(self.generation, count as usize),
            Body::Publish { topic, payload } => {
                let payload = crate::wire::import(self.conn.pool.as_ref(), payload)?;
                self.bus.publish(&topic, payload);
            }
            Body::Release { slot, seq } => match &self.conn.pool {
                Some(pool) => pool.release(slot, seq).map_err(|err| err.to_string())?,
                None => return Err("release from a child without a pool".into()),
            },
            Body::Ready => self.report(InstanceEvent::Ready),
            Body::StartFailed { reason } => self.report(InstanceEvent::StartFailed(reason)),
            Body::Exiting { reason, code } => self.report(InstanceEvent::Exiting(reason, code)),
            Body::Credit => {}
            other => return Err(format!("unexpected {} from the child", other.kind())),
        }
        Ok(())
    }
}

//! The process placement, kernel side: a child running `warden worker`, the
//! link to it, a reader thread that turns its envelopes into replies,
//! heartbeats, publishes and requests to other actors (`process/reader.rs`),
//! the topics it follows (`process/forward.rs`), the frames crossing its
//! link (`process/frames.rs`), and a watcher thread that reaps it and
//! records how it ended.
//!
//! Nothing here ever blocks on the child: sends are credit-windowed (see
//! `warden_transport::Link`), the reader is the only receiver, and the
//! process is killed, never waited for, when it misbehaves.

mod forward;
mod frames;
pub(crate) mod reader;

use std::collections::HashMap;
use std::ffi::OsString;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use bincode::{Decode, Encode};
use tokio::sync::oneshot;
use warden_transport::bootstrap::{self, ChildCommand, Connected, Wire};
use warden_transport::{
    Body, DEFAULT_WINDOW, HeldSlot, InjectedFault, Link, Payload, PoolSpec, ReleaseSink,
    WirePayload,
};

use crate::config::ActorSpec;
use crate::error::StartError;
use crate::host::{Host, InstanceEvent, Killed, Launch, Launched, Placer, Sent, Tagged};

pub(crate) use forward::Forwarder;
pub(crate) use frames::KernelFrames;

/// Data messages (replies to the child's requests) that may wait on the
/// kernel's side of a link for credit before the child counts as stalled.
pub(crate) const BACKLOG: usize = 4096;

/// What the kernel tells a new child about itself (bincode, inside `Wire::Setup`).
#[derive(Debug, Encode, Decode)]
pub(crate) struct WorkerInit {
    pub(crate) name: String,
    pub(crate) kind: String,
    pub(crate) generation: u64,
    pub(crate) config_toml: String,
    pub(crate) tick_ms: Option<u64>,
    pub(crate) pool: Option<PoolSpec>,
    pub(crate) pool_id: u32,
    pub(crate) first_seq: u64,
    pub(crate) held: Vec<HeldSlot>,
    /// What the instance it replaces handed over (a move).
    pub(crate) handover: Option<Vec<u8>>,
}

impl WorkerInit {
    /// What a child started by `launch` (here or on a node) is told.
    pub(crate) fn for_launch(launch: &Launch) -> Result<WorkerInit, StartError> {
        let spec = &launch.spec;
        let generation = launch.generation;
        Ok(WorkerInit {
            name: spec.name.clone(),
            kind: spec.kind.clone(),
            generation,
            config_toml: toml::to_string(&spec.config)
                .map_err(|err| StartError::Config(err.to_string()))?,
            tick_ms: spec.tick.map(|tick| tick.as_millis() as u64),
            pool: launch.pool.as_ref().map(|pool| pool.spec()),
            pool_id: launch.pool.as_ref().map_or(0, |pool| pool.id()),
            first_seq: generation << 40,
            held: launch
                .pool
                .as_ref()
                .map(|pool| pool.held_for_next_peer())
                .unwrap_or_default(),
            handover: launch.handover.as_deref().map(<[u8]>::to_vec),
        })
    }
}

/// Releases of the child's slots go over the link.
pub(crate) struct LinkReleases(pub(crate) Arc<Link>);

impl ReleaseSink for LinkReleases {
    fn release(&self, pool: u32, slot: u32, seq: u64) {
        if let Err(err) = self.0.send_control(Body::Release { pool, slot, seq }) {
            tracing::debug!(%err, slot, seq, "release not sent (child gone)");
        }
    }
}

/// The kernel's side of a child's link (a node's, for its children), the
/// releases of the actor's pool going over it.
pub(crate) fn kernel_link(
    to_child: ipc_channel::ipc::IpcBytesSender,
    pool: Option<&Arc<warden_transport::SlotPool>>,
) -> Arc<Link> {
    let link = Arc::new(Link::new(to_child, "kernel", DEFAULT_WINDOW, BACKLOG));
    if let Some(pool) = pool {
        pool.set_sink(Some(Arc::new(LinkReleases(Arc::clone(&link)))));
    }
    link
}

/// How to start children.
#[derive(Clone, Debug)]
pub(crate) struct WorkerCommand {
    pub(crate) program: PathBuf,
    pub(crate) args: Vec<OsString>,
    pub(crate) env: Vec<(OsString, OsString)>,
}

/// Starts child processes.
pub(crate) struct ProcessPlacer;

impl Placer for ProcessPlacer {
    fn launch(&self, launch: Launch) -> Result<(), StartError> {
        let generation = launch.generation;
        let init = WorkerInit::for_launch(&launch)?;
        crate::spawner::run(move || {
            let standby = launch.spec.standby;
            let result = connect_child(&launch, &init)
                .and_then(|(connected, how)| attach(connected, &launch, how));
            let refill = standby && result.is_ok();
            launch.done.do_send(Launched { generation, result });
            if refill {
                Standbys::refill_later(&launch);
            }
        })
        .map_err(StartError::Internal)
    }

    fn uses_pool(&self) -> bool {
        true
    }
}

/// The kernel's end of a connected child, shared by the route (sending),
/// the reader thread (receiving) and the forwarder.
pub(crate) struct ProcessConn {
    pub(crate) link: Arc<Link>,
    pub(crate) frames: KernelFrames,
    pub(crate) forwarder: Arc<Forwarder>,
    /// Envelopes the reader has read and dispatched (a remote instance's
    /// end waits for it to reach what the tunnel delivered before it
    /// reports the instance's end).
    pub(crate) handled: AtomicU64,
    /// Whether the reader may busy-poll for answers: not when they come
    /// over the network (hundreds of µs away), where spinning only takes
    /// a CPU from the tunnel.
    pub(crate) spin: bool,
}

impl ProcessConn {
    /// Wire up a connected instance's channels: the kernel's link (its
    /// pool's releases go over it) and the reader thread.
    pub(crate) fn open(
        launch: &Launch,
        to_child: ipc_channel::ipc::IpcBytesSender,
        setup: ipc_channel::ipc::IpcSender<Wire>,
        from_child: ipc_channel::ipc::IpcReceiver<Wire>,
    ) -> Result<Arc<Self>, StartError> {
        let link = kernel_link(to_child, launch.pool.as_ref());
        let conn = Arc::new_cyclic(|me| ProcessConn {
            link,
            frames: KernelFrames::new(
                launch.pool.clone(),
                setup,
                launch.route.metrics.copies.clone(),
            ),
            forwarder: Forwarder::new(me.clone()),
            handled: AtomicU64::new(0),
            spin: launch.spec.placement != crate::config::Placement::Remote,
        });
        let reader = reader::Reader::new(from_child, Arc::clone(&conn), launch);
        std::thread::Builder::new()
            .name(format!("warden-read-{}", launch.spec.name))
            .spawn(move || reader.run())
            .map_err(|err| {
                StartError::Internal(format!("cannot start the reader thread: {err}"))
            })?;
        Ok(conn)
    }

    /// A fire-and-forget message.
    pub(crate) fn tell(&self, payload: Payload) -> Sent {
        self.send(payload, 0, |payload| Body::Tell { payload })
    }

    /// A control message (heartbeat, fault, shutdown); a gone peer is the
    /// watcher's news, not the sender's.
    pub(crate) fn control(&self, body: Body) {
        let _ = self.link.send_control(body);
    }

    /// Ask the child to stop (`handover`: its actor's snapshot first, which
    /// the reader reports before the child's end).
    pub(crate) fn stop(&self, handover: bool) {
        if handover {
            self.control(Body::Snapshot);
        }
        self.control(Body::Shutdown);
    }

    /// Send call `id`.
    pub(crate) fn call(&self, id: u64, span: u64, payload: Payload) -> Sent {
        self.send(payload, span, |payload| Body::Call { id, payload })
    }

    pub(crate) fn send(
        &self,
        payload: Payload,
        span: u64,
        body: impl FnOnce(WirePayload) -> Body,
    ) -> Sent {
        if !self.link.has_room(payload.data.len(), payload.frames.len()) {
            return Sent::NotNow(payload);
        }
        let wire = match crate::wire::export(&self.frames, &payload) {
            Ok(wire) => wire,
            Err(reason) => return Sent::Refused(reason),
        };
        match self.link.send_now(body(wire), span) {
            Ok(()) => Sent::Yes,
            Err(warden_transport::LinkError::Codec(err)) => Sent::Refused(err.to_string()),
            Err(_) => Sent::Gone(payload),
        }
    }
}

/// A running child.
pub(crate) struct ProcessInstance {
    pid: u32,
    conn: Arc<ProcessConn>,
    exited: Arc<AtomicBool>,
    how: Started,
}

impl Host for ProcessInstance {
    fn pid(&self) -> u32 {
        self.pid
    }

    fn reports_exit(&self) -> bool {
        true
    }

    fn started_how(&self) -> &'static str {
        match self.how {
            Started::Spawned => " (spawned)",
            Started::Standby => " (from its standby)",
        }
    }

    fn call(&self, _generation: u64, id: u64, span: u64, payload: Payload) -> Sent {
        self.conn.call(id, span, payload)
    }

    fn tell(&self, payload: Payload) -> Sent {
        self.conn.tell(payload)
    }

    fn heartbeat(&self, n: u64) {
        self.conn.control(Body::Heartbeat { n });
    }

    fn inject(&self, fault: InjectedFault) {
        self.conn.control(Body::Inject(fault));
    }

    /// SIGKILL: once it is sent the child runs no more actor code, so the
    /// replacement need not wait while the OS tears down its memory
    /// (milliseconds for a large pool); the watcher still reaps it.
    fn kill(&self, _abandon: bool) -> Killed {
        if !self.exited.load(Ordering::Acquire) {
            let pid = nix::unistd::Pid::from_raw(self.pid as i32);
            let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL);
        }
        Killed::Now(Some("killed by SIGKILL"))
    }

    fn stop(&self, handover: bool) -> Option<oneshot::Receiver<()>> {
        self.conn.stop(handover);
        None
    }

    /// A child that said it exits, or was killed, must be reaped soon; one
    /// that lingers is killed. What it was lent goes back to its producers.
    fn retire(&self) -> Option<Box<dyn FnOnce() + Send>> {
        self.conn.frames.lent.clear();
        let (reaped, pid) = (Arc::clone(&self.exited), self.pid);
        Some(Box::new(move || {
            if !reaped.load(Ordering::Acquire) {
                tracing::warn!(pid, "a finished child did not exit; killing it");
                let _ = nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(pid as i32),
                    nix::sys::signal::Signal::SIGKILL,
                );
            }
        }))
    }
}

/// Exec a child for actor `spec` and complete the handshake (blocking:
/// run it on the spawner thread). It waits for its setup.
fn spawn_child(command: &WorkerCommand, spec: &ActorSpec) -> Result<Connected, StartError> {
    let mut args = command.args.clone();
    args.extend([
        "--actor".into(),
        spec.kind.clone().into(),
        "--name".into(),
        spec.name.clone().into(),
    ]);
    let child = ChildCommand {
        program: command.program.clone(),
        args,
        env: command.env.clone(),
    };
    bootstrap::spawn(&child, spec.start_timeout).map_err(|err| StartError::Spawn(err.to_string()))
}

/// A connected child holding its setup: the actor's standby if one is
/// waiting and takes it, else a child spawned now.
fn connect_child(launch: &Launch, init: &WorkerInit) -> Result<(Connected, Started), StartError> {
    let init_bytes = bincode::encode_to_vec(init, bincode::config::standard())
        .map_err(|err| StartError::Config(format!("cannot encode the start parameters: {err}")))?;
    let setup = || Wire::Setup {
        pool: launch.pool.as_ref().map(|pool| pool.region()),
        init: serde_bytes::ByteBuf::from(init_bytes.clone()),
    };
    if let Some(mut standby) = launch.shared.standbys.take(&launch.spec.name) {
        match standby.setup.send(setup()) {
            Ok(()) => return Ok((standby, Started::Standby)),
            Err(err) => {
                tracing::debug!(actor = %launch.spec.name, pid = standby.pid, %err, "the standby did not take its setup; spawning");
                let _ = standby.child.kill();
                let _ = standby.child.wait();
            }
        }
    }
    let mut connected = spawn_child(&launch.shared.worker, &launch.spec)?;
    if let Err(err) = connected.setup.send(setup()) {
        let _ = connected.child.kill();
        let _ = connected.child.wait();
        return Err(StartError::Spawn(format!(
            "child {} did not take its setup: {err}",
            connected.pid
        )));
    }
    Ok((connected, Started::Spawned))
}

/// How a child instance came to be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Started {
    /// Exec'd and connected during the start.
    Spawned,
    /// Taken from the actor's standby: exec and handshake were done ahead.
    Standby,
}

/// How long after a start its actor's next standby is spawned: the new
/// instance gets the CPU for its own start first.
const REFILL_DELAY: Duration = Duration::from_millis(200);

/// One child per process actor, exec'd and connected ahead of need and
/// waiting for its setup, so that a restart skips the exec, the dynamic
/// loader and the handshake (`standby = true`, the default). A standby
/// holds nothing of the actor's: its pool, config and generation arrive
/// with the setup. One found dead when needed is reaped and replaced by a
/// fresh spawn; all are killed and reaped when the kernel is dropped.
#[derive(Default)]
pub(crate) struct Standbys {
    ready: Mutex<HashMap<String, Connected>>,
    /// The kernel is stopping: no more standbys.
    closed: AtomicBool,
}

impl Standbys {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Connected>> {
        self.ready.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// `name`'s standby, if one is waiting and alive.
    fn take(&self, name: &str) -> Option<Connected> {
        let mut standby = self.lock().remove(name)?;
        match standby.child.try_wait() {
            Ok(None) => Some(standby),
            Ok(Some(status)) => {
                tracing::warn!(actor = name, pid = standby.pid, status = %bootstrap::describe_exit(status), "the actor's standby child had exited; spawning");
                None
            }
            Err(err) => {
                tracing::warn!(actor = name, pid = standby.pid, %err, "cannot check the actor's standby child; spawning");
                let _ = standby.child.kill();
                let _ = standby.child.wait();
                None
            }
        }
    }

    /// Kill and reap `name`'s standby, if one waits (the actor moved away).
    pub(crate) fn discard(&self, name: &str) {
        let standby = self.lock().remove(name);
        if let Some(mut standby) = standby {
            let _ = standby.child.kill();
            let _ = standby.child.wait();
        }
    }

    /// The pid of `name`'s standby, if one is waiting.
    pub(crate) fn pid(&self, name: &str) -> Option<u32> {
        self.lock().get(name).map(|standby| standby.pid)
    }

    /// Spawn `launch`'s actor a standby a little later, on the standby
    /// spawner thread, unless one is there by then or the kernel is gone.
    fn refill_later(launch: &Launch) {
        let shared = Arc::downgrade(&launch.shared);
        let spec = Arc::clone(&launch.spec);
        let command = launch.shared.worker.clone();
        let delayed = std::thread::Builder::new()
            .name("warden-standby-delay".into())
            .spawn(move || {
                std::thread::sleep(REFILL_DELAY);
                let queued = crate::spawner::run_standby(move || {
                    let Some(shared) = shared.upgrade() else {
                        return;
                    };
                    if shared.standbys.lock().contains_key(&spec.name) {
                        return;
                    }
                    match spawn_child(&command, &spec) {
                        Ok(connected) => shared.standbys.put(&spec.name, connected),
                        Err(err) => {
                            tracing::warn!(actor = %spec.name, %err, "cannot spawn a standby child; the next restart spawns one")
                        }
                    }
                });
                if let Err(err) = queued {
                    tracing::debug!(%err, "no standby spawned");
                }
            });
        if let Err(err) = delayed {
            tracing::debug!(%err, "no standby spawned (no thread)");
        }
    }
}

impl Standbys {
    /// Keep `connected` as `name`'s standby (killed at once if the kernel
    /// is stopping or one is already there).
    fn put(&self, name: &str, connected: Connected) {
        let mut ready = self.lock();
        let extra = if self.closed.load(Ordering::Acquire) || ready.contains_key(name) {
            Some(connected)
        } else {
            ready.insert(name.to_string(), connected)
        };
        drop(ready);
        if let Some(mut extra) = extra {
            let _ = extra.child.kill();
            let _ = extra.child.wait();
        }
    }

    /// Kill and reap every standby; none is kept after (the kernel is stopping).
    pub(crate) fn clear(&self) {
        self.closed.store(true, Ordering::Release);
        let all: Vec<Connected> = self.lock().drain().map(|(_, standby)| standby).collect();
        for mut standby in all {
            let _ = standby.child.kill();
            let _ = standby.child.wait();
        }
    }
}

impl Drop for Standbys {
    fn drop(&mut self) {
        self.clear();
    }
}

/// Wire up a connected child: link, reader thread, watcher thread.
fn attach(
    connected: Connected,
    launch: &Launch,
    how: Started,
) -> Result<Arc<dyn Host>, StartError> {
    let Connected {
        mut child,
        pid,
        setup,
        to_child,
        from_child,
    } = connected;
    let generation = launch.generation;
    let name = &launch.spec.name;
    let exited = Arc::new(AtomicBool::new(false));
    let conn = match ProcessConn::open(launch, to_child, setup, from_child) {
        Ok(conn) => conn,
        Err(err) => {
            let _ = child.kill();
            let _ = child.wait();
            return Err(err);
        }
    };

    let watcher_exited = Arc::clone(&exited);
    let events = launch.events.clone();
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
        return Err(StartError::Internal(format!(
            "cannot start the watcher thread: {err}"
        )));
    }
    Ok(Arc::new(ProcessInstance {
        pid,
        conn,
        exited,
        how,
    }))
}

//! The child side of a process host: `warden worker --actor KIND …`.
//!
//! The child dies with its parent, connects to the kernel's one-shot server,
//! receives its setup (config, shared-memory pool), starts the actor and then
//! serves envelopes in order on its main thread — calls, tells, heartbeats,
//! releases, answers to its own requests, values of the topics it follows —
//! ticking between them. Replies go back on the same thread, so a call costs
//! one wake-up on each side. Any panic ends the process after the kernel has
//! been told why; the kernel restarts it.

pub(crate) mod frames;
pub(crate) mod peers;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use ipc_channel::ipc::IpcBytesReceiver;
use warden_transport::bootstrap::{self, Wire};
use warden_transport::{
    Body, CallOutcome, DEFAULT_WINDOW, Envelope, FailureKind, InjectedFault, Link, Outcome,
    SlotPool, decode_envelope,
};

use crate::actor::Actor;
use crate::call_error::CallError;
use crate::core::{Core, EXIT_FAILURE, End};
use crate::ctx::{Ctx, CtxParts};
use crate::host::process::WorkerInit;
use crate::wire::{export, import};

use frames::ChildFrames;
use peers::{LinkOutlet, LinkPeers, LinkReleases};

/// Exit code when the actor could not start.
pub const EXIT_START_FAILED: i32 = 2;
/// Exit code when the kernel link broke the protocol or could not be set up.
pub const EXIT_PROTOCOL: i32 = 3;

/// The child's command-line arguments after `warden worker`.
#[derive(Clone, Debug)]
pub struct WorkerArgs {
    /// The actor kind to host.
    pub kind: String,
    /// The actor's name (for logs; the setup message is authoritative).
    pub name: String,
    /// The kernel's one-shot server.
    pub bootstrap: String,
    /// The kernel's pid.
    pub parent_pid: u32,
    /// Test hook: break the protocol on purpose after becoming ready, so
    /// tests can prove the kernel survives a misbehaving child.
    pub misbehave: Option<Misbehave>,
}

/// Ways a child can break the protocol (for tests of the kernel's defences).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Misbehave {
    /// Send bytes that are not an envelope.
    Garbage,
    /// Release a slot that was never leased.
    BadRelease,
    /// Exit before connecting to the kernel.
    ExitEarly,
    /// After the handshake, send a stream of hostile messages from the
    /// given seed (mixed with the generation, so each instance differs and
    /// a run replays): random
    /// bytes of any length, and well-formed envelopes that are wrong —
    /// replies to no call, releases and frame handles of slots it does not
    /// hold, requests to actors that do not exist, subscriptions with huge
    /// capacities, repeated `Ready`s, oversized names. Then serve normally.
    Fuzz(u64),
}

impl std::str::FromStr for Misbehave {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, String> {
        match text {
            "garbage" => Ok(Misbehave::Garbage),
            "bad-release" => Ok(Misbehave::BadRelease),
            "exit-early" => Ok(Misbehave::ExitEarly),
            other => match other.strip_prefix("fuzz-").map(str::parse) {
                Some(Ok(seed)) => Ok(Misbehave::Fuzz(seed)),
                _ => Err(format!(
                    "unknown misbehaviour {other:?} (garbage, bad-release, exit-early, fuzz-SEED)"
                )),
            },
        }
    }
}

static WORKER_PROCESS: AtomicBool = AtomicBool::new(false);

/// Whether this process is a child hosting one actor (`warden worker`): its
/// instance's end is the process's end, so nothing can be handed from one
/// instance to the next inside it.
pub fn is_worker_process() -> bool {
    WORKER_PROCESS.load(Ordering::Relaxed)
}

/// Run the child for actor kind `A`; returns the process exit code.
pub(crate) fn run<A: Actor>(args: &WorkerArgs) -> i32 {
    WORKER_PROCESS.store(true, Ordering::Relaxed);
    if let Err(err) = bootstrap::die_with_parent(args.parent_pid) {
        tracing::error!(%err, "worker cannot bind its life to the kernel's");
        return EXIT_PROTOCOL;
    }
    if args.misbehave == Some(Misbehave::ExitEarly) {
        return 9;
    }
    let parent = match bootstrap::connect(&args.bootstrap) {
        Ok(parent) => parent,
        Err(err) => {
            tracing::error!(%err, "worker cannot connect to the kernel");
            return EXIT_PROTOCOL;
        }
    };
    A::warm_up();
    // A standby child waits here until the kernel needs it, without a
    // deadline: it dies with the kernel (`die_with_parent`), and a kernel
    // that drops its end ends the wait.
    let (pool_region, init) = match parent.setup.recv() {
        Ok(Wire::Setup { pool, init }) => (pool, init),
        Ok(_) => {
            tracing::error!("worker expected its setup from the kernel");
            return EXIT_PROTOCOL;
        }
        Err(err) => {
            tracing::debug!(?err, "worker got no setup from the kernel");
            return EXIT_PROTOCOL;
        }
    };
    let init: WorkerInit = match bincode::decode_from_slice(&init, bincode::config::standard()) {
        Ok((init, _)) => init,
        Err(err) => {
            tracing::error!(%err, "malformed setup from the kernel");
            return EXIT_PROTOCOL;
        }
    };
    let raw = parent.to_parent.clone();
    let link = Arc::new(Link::new(
        parent.to_parent,
        init.name.clone(),
        DEFAULT_WINDOW,
        1 << 16,
    ));
    let fail_start = |reason: String| {
        tracing::error!(actor = %init.name, %reason, "actor failed to start");
        let _ = link.send_control(Body::StartFailed { reason });
        EXIT_START_FAILED
    };
    let sink = Arc::new(LinkReleases(Arc::clone(&link)));
    let pool = match (pool_region, init.pool) {
        (Some(region), Some(spec)) => {
            match SlotPool::attach(region, spec, init.pool_id, init.first_seq) {
                Ok(pool) => {
                    if let Err(err) = pool.hold_for_peer(&init.held) {
                        return fail_start(err.to_string());
                    }
                    pool.set_sink(Some(sink.clone()));
                    Some(pool)
                }
                Err(err) => return fail_start(err.to_string()),
            }
        }
        (None, None) => None,
        _ => return fail_start("setup names a pool without its region, or the reverse".into()),
    };
    let config: toml::Table = match toml::from_str(&init.config_toml) {
        Ok(config) => config,
        Err(err) => return fail_start(format!("malformed config from the kernel: {err}")),
    };
    let span = tracing::info_span!(
        "actor",
        actor = %init.name,
        generation = init.generation,
        placement = "process",
        pid = std::process::id()
    );
    let frames = Arc::new(ChildFrames::new(pool.clone(), parent.setup, sink));
    let peers = Arc::new(LinkPeers::new(
        Arc::clone(&link),
        Arc::clone(&frames),
        parent.wake.clone(),
    ));
    let ctx = Ctx::new(CtxParts {
        name: Arc::from(init.name.as_str()),
        generation: init.generation,
        outlet: Arc::new(LinkOutlet {
            link: Arc::clone(&link),
            frames: Arc::clone(&frames),
        }),
        peers: peers.clone(),
        pool,
        cancelled: Arc::new(AtomicBool::new(false)),
        span,
    });
    let core = match Core::<A>::start(&config, ctx, init.handover.as_deref()) {
        Ok(core) => core,
        Err(reason) => return fail_start(reason),
    };
    if link.send_control(Body::Ready).is_err() {
        return EXIT_PROTOCOL;
    }
    match args.misbehave {
        Some(Misbehave::Garbage) => {
            let _ = raw.send(Wire::Frame(serde_bytes::ByteBuf::from(vec![0xFF; 48])));
        }
        Some(Misbehave::BadRelease) => {
            let _ = link.send_control(Body::Release {
                pool: init.pool_id,
                slot: 9999,
                seq: 1,
            });
        }
        Some(Misbehave::Fuzz(seed)) => {
            let seed = seed ^ init.generation.wrapping_mul(0x9E37_79B9_7F4A_7C15);
            tracing::warn!(seed, "injected: hostile messages to the kernel");
            hostile_messages(&raw, &link, init.pool_id, seed);
        }
        Some(Misbehave::ExitEarly) | None => {}
    }
    let mut worker = Worker {
        core,
        raw,
        link,
        frames,
        peers,
        tells_done: 0,
        woken: false,
        ticker: None,
    };
    if let Some(period) = init.tick_ms.map(Duration::from_millis) {
        worker.ticker = Some(start_ticker(parent.wake.clone(), period));
    }
    worker.serve(&parent.from_parent)
}

struct Worker<A: Actor> {
    core: Core<A>,
    /// The channel to the kernel below the link (for the injected channel faults).
    raw: ipc_channel::ipc::IpcSender<Wire>,
    link: Arc<Link>,
    frames: Arc<ChildFrames>,
    peers: Arc<LinkPeers>,
    /// Tells handled and not yet reported to the kernel.
    tells_done: u32,
    /// Answers or topic values arrived since the actor last woke.
    woken: bool,
    /// Set while a tick waits in the queue (so at most one ever does).
    ticker: Option<Arc<AtomicBool>>,
}

/// A thread that puts an empty message — a tick — into the child's own
/// queue every `period`, so that ticks are handled in order with messages by
/// one blocking receive. At most one tick waits at a time: a busy or hung
/// actor never fills its queue with ticks.
fn start_ticker(wake: ipc_channel::ipc::IpcBytesSender, period: Duration) -> Arc<AtomicBool> {
    let pending = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&pending);
    let started = std::thread::Builder::new()
        .name("warden-tick".into())
        .spawn(move || {
            loop {
                std::thread::sleep(period);
                if !flag.swap(true, Ordering::AcqRel) && wake.send(&[]).is_err() {
                    return;
                }
            }
        });
    if let Err(err) = started {
        tracing::error!(%err, "cannot start the tick thread; the actor will not tick");
    }
    pending
}

impl<A: Actor> Worker<A> {
    fn serve(&mut self, rx: &IpcBytesReceiver) -> i32 {
        loop {
            // Once the queue is empty: wake the actor for what arrived, and
            // report handled tells in one message (spending no syscall on
            // it when there is nothing to do).
            let ready = if self.tells_done == 0 && !self.woken {
                None
            } else {
                match rx.try_recv() {
                    Ok(bytes) => Some(Ok(bytes)),
                    Err(ipc_channel::TryRecvError::Empty) => {
                        if self.woken {
                            self.woken = false;
                            if let Some(end) = self.core.wake() {
                                return self.exit(end);
                            }
                        }
                        self.report_tells();
                        continue;
                    }
                    Err(ipc_channel::TryRecvError::IpcError(err)) => Some(Err(err)),
                }
            };
            let bytes = match ready.unwrap_or_else(|| rx.recv()) {
                Ok(bytes) => bytes,
                // The kernel is gone; PR_SET_PDEATHSIG would end us anyway.
                Err(_) => return 0,
            };
            if bytes.is_empty() {
                if let Some(pending) = &self.ticker {
                    pending.store(false, Ordering::Release);
                }
                if let Some(end) = self.core.tick() {
                    return self.exit(end);
                }
                continue;
            }
            if bytes[..] == [peers::WAKE] {
                self.peers.woken.store(false, Ordering::Release);
                self.woken = true;
                continue;
            }
            let envelope = match decode_envelope(&bytes) {
                Ok(envelope) => envelope,
                Err(err) => {
                    return self.protocol(&format!("malformed frame from the kernel: {err}"));
                }
            };
            let _ = self.link.on_receive(&envelope, bytes.len());
            if let Some(code) = self.dispatch(envelope) {
                return code;
            }
        }
    }

    fn dispatch(&mut self, envelope: Envelope) -> Option<i32> {
        match envelope.body {
            Body::Call { id, payload } => {
                let _span = tracing::debug_span!("call", id, caller_span = envelope.span).entered();
                let (outcome, end) = match import(self.frames.as_ref(), payload) {
                    Ok(payload) => {
                        let handled = self.core.call(payload);
                        (handled.outcome, handled.end)
                    }
                    Err(reason) => return Some(self.protocol(&reason)),
                };
                let (outcome, keep) = match outcome.and_then(|payload| {
                    export(self.frames.as_ref(), &payload)
                        .map(|wire| (wire, payload.frames))
                        .map_err(|reason| (FailureKind::Failed, reason))
                }) {
                    Ok((wire, keep)) => (Outcome::Ok(wire), keep),
                    Err((kind, reason)) => (Outcome::Err { kind, reason }, Vec::new()),
                };
                if let Err(err) = self
                    .link
                    .send(Body::Reply { id, outcome }, envelope.span, keep)
                {
                    tracing::warn!(%err, "reply not sent");
                }
                end.map(|end| self.exit(end))
            }
            Body::Tell { payload } => match import(self.frames.as_ref(), payload) {
                Ok(payload) => {
                    let end = self.core.tell(payload);
                    self.tells_done += 1;
                    end.map(|end| self.exit(end))
                }
                Err(reason) => Some(self.protocol(&reason)),
            },
            Body::Response { id, outcome } => {
                let target = self.peers.target_of(id);
                let result = match outcome {
                    CallOutcome::Ok(wire) => match import(self.frames.as_ref(), wire) {
                        Ok(payload) => Ok(payload),
                        Err(reason) => return Some(self.protocol(&reason)),
                    },
                    failure => Err(CallError::from_outcome(&target, &failure).unwrap_or_else(
                        || CallError::Failed {
                            actor: target.clone(),
                            reason: "internal: an empty failure".into(),
                        },
                    )),
                };
                self.core.answer(id, result);
                self.woken = true;
                None
            }
            Body::Deliver { topic, payload } => match import(self.frames.as_ref(), payload) {
                Ok(payload) => {
                    self.peers.deliver(&topic, payload);
                    self.woken = true;
                    None
                }
                Err(reason) => Some(self.protocol(&reason)),
            },
            Body::Heartbeat { n } => {
                let _ = self.link.send_control(Body::HeartbeatAck { n, queued: 0 });
                None
            }
            Body::Release { pool, slot, seq } => match &self.frames.pool {
                Some(own) if own.id() == pool => match own.release(slot, seq) {
                    Ok(()) => None,
                    Err(err) => Some(self.protocol(&err.to_string())),
                },
                _ => Some(self.protocol(&format!("release of pool {pool}, which is not ours"))),
            },
            Body::Snapshot => {
                let mut state = self.core.snapshot();
                if state.len() + 1024 > warden_transport::MAX_MESSAGE_BYTES {
                    tracing::warn!(
                        bytes = state.len(),
                        "the snapshot exceeds a message: nothing handed over"
                    );
                    state.clear();
                }
                let _ = self.link.send_control(Body::Handover { state });
                None
            }
            Body::Shutdown => {
                self.core.stop();
                Some(0)
            }
            Body::Inject(InjectedFault::Panic) => {
                let reason = crate::core::injected_panic();
                Some(self.exit(End::failure(format!("panicked: {reason}"))))
            }
            Body::Inject(InjectedFault::Hang) => loop {
                // Answer nothing, ever; the kernel's heartbeat check kills us.
                std::thread::sleep(Duration::from_secs(3600));
            },
            Body::Inject(InjectedFault::Stall(ms)) => {
                self.core.set_stall(ms);
                None
            }
            Body::Inject(InjectedFault::Garbage) => {
                // Bytes no envelope starts with: the kernel must kill us.
                let _ = self
                    .raw
                    .send(Wire::Frame(serde_bytes::ByteBuf::from(vec![0xFF; 48])));
                None
            }
            Body::Inject(InjectedFault::Oversize) => {
                let bytes = vec![0u8; warden_transport::MAX_MESSAGE_BYTES + 1];
                let _ = self
                    .raw
                    .send(Wire::Frame(serde_bytes::ByteBuf::from(bytes)));
                None
            }
            Body::Inject(InjectedFault::Exit(code)) => {
                tracing::warn!(code, "injected: the child exits");
                std::process::exit(i32::from(code));
            }
            Body::Inject(InjectedFault::Linger) => {
                linger();
            }
            Body::Credit => None,
            other => Some(self.protocol(&format!("unexpected {} from the kernel", other.kind()))),
        }
    }

    fn report_tells(&mut self) {
        if self.tells_done > 0 {
            let _ = self.link.send_control(Body::TellsDone {
                count: self.tells_done,
            });
            self.tells_done = 0;
        }
    }

    fn exit(&self, end: End) -> i32 {
        let _ = self.link.send_control(Body::Exiting {
            reason: end.reason.clone(),
            code: end.code,
        });
        if end.code != 0 {
            tracing::warn!(reason = %end.reason, code = end.code, "actor instance ends");
        }
        end.code
    }

    fn protocol(&self, reason: &str) -> i32 {
        tracing::error!(%reason, "protocol error on the kernel link");
        let _ = self.link.send_control(Body::Exiting {
            reason: format!("protocol error: {reason}"),
            code: EXIT_PROTOCOL,
        });
        EXIT_PROTOCOL
    }
}

/// The injected `Linger`: shut down every socket this process holds (the
/// channels to the kernel; their descriptors stay open, so nothing reuses
/// them) and keep running until killed.
fn linger() -> ! {
    tracing::warn!("injected: the child closes its channel and lingers");
    if let Ok(entries) = std::fs::read_dir("/proc/self/fd") {
        for entry in entries.flatten() {
            let is_socket = std::fs::read_link(entry.path())
                .map(|target| target.to_string_lossy().starts_with("socket:"))
                .unwrap_or(false);
            if let (true, Ok(fd)) = (
                is_socket,
                entry.file_name().to_string_lossy().parse::<i32>(),
            ) {
                let _ = nix::sys::socket::shutdown(fd, nix::sys::socket::Shutdown::Both);
            }
        }
    }
    loop {
        std::thread::sleep(Duration::from_secs(3600));
    }
}

/// The code a child exits with after a panic or fatal error.
pub const EXIT_PANIC: i32 = EXIT_FAILURE;

/// The `fuzz-SEED` misbehaviour's messages (see [`Misbehave::Fuzz`]).
fn hostile_messages(raw: &ipc_channel::ipc::IpcSender<Wire>, link: &Link, pool: u32, seed: u64) {
    use warden_transport::{FrameHandle, WirePayload};
    // SplitMix64 of the seed, so that neighbouring seeds diverge at once.
    let mut state = {
        let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        (z ^ (z >> 31)) | 1
    };
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for _ in 0..64 {
        let n = next();
        let bytes = |len: usize, next: &mut dyn FnMut() -> u64| -> Vec<u8> {
            (0..len).map(|_| next() as u8).collect()
        };
        let payload = WirePayload {
            data: bytes((n % 64) as usize, &mut next),
            frames: (0..(n >> 8) % 3)
                .map(|_| FrameHandle {
                    pool: if next() % 2 == 0 { pool } else { next() as u32 },
                    slot: next() as u32,
                    seq: next(),
                    len: next(),
                })
                .collect(),
        };
        let body = match (n >> 16) % 12 {
            0 => {
                let len = [0, 1, 47, 65_537, 200_000][(n >> 24) as usize % 5];
                let _ = raw.send(Wire::Frame(serde_bytes::ByteBuf::from(bytes(
                    len, &mut next,
                ))));
                continue;
            }
            1 => Body::Reply {
                id: next(),
                outcome: Outcome::Ok(payload),
            },
            2 => Body::Release {
                pool,
                slot: next() as u32,
                seq: next(),
            },
            3 => Body::Request {
                id: next(),
                target: "x".repeat((n % 5000) as usize),
                kind: "probe".into(),
                payload,
                timeout_ms: next(),
                idempotent: n % 2 == 0,
            },
            4 => Body::Subscribe {
                topic: format!("fuzz.{}", next()),
                capacity: u32::MAX,
            },
            5 => Body::Ready,
            6 => Body::HeartbeatAck {
                n: next(),
                queued: u32::MAX,
            },
            7 => Body::TellsDone { count: u32::MAX },
            8 => Body::Publish {
                topic: "fft.bars".into(),
                payload,
            },
            9 => Body::PeerTell {
                target: "compositor".into(),
                kind: "nonsense".into(),
                payload,
            },
            10 => Body::Event {
                kind: "k".repeat((n % 300) as usize),
                detail: "d".repeat((n % 70_000) as usize),
            },
            _ => Body::Response {
                id: next(),
                outcome: CallOutcome::Failed("from a child".into()),
            },
        };
        if link.send_control(body).is_err() {
            return;
        }
    }
}

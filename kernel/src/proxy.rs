//! The proxy: one actix actor per configured actor, living as long as the
//! kernel. It starts instances (in-process or child), watches them
//! (heartbeats, flow-control stalls, exits), kills them when they misbehave,
//! and tells the supervisor when one ended on its own. The supervisor
//! decides what happens next; the proxy does it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;
use tokio::sync::oneshot;
use warden_transport::bootstrap::Connected;
use warden_transport::{Body, Heartbeat, InjectedFault, Liveness, SlotPool};

use crate::bus::Bus;
use crate::config::{ActorSpec, Placement};
use crate::events::EventLog;
use crate::instance::inprocess::{BusOutlet, InProcInit, InProcInstance, ToHost};
use crate::instance::process::{self, ProcessInstance, WorkerCommand, WorkerInit};
use crate::instance::{Cancel, InstanceEvent, Tagged};
use crate::metrics::Metrics;
use crate::registry::Factory;
use crate::route::{Delivery, Route};
use crate::status::{State, StatusCell};

/// What every proxy shares.
pub(crate) struct Shared {
    pub(crate) bus: Arc<Bus>,
    pub(crate) metrics: Arc<Metrics>,
    pub(crate) events: EventLog,
    pub(crate) worker: WorkerCommand,
}

/// An instance ended on its own (not because the supervisor stopped it).
#[derive(Message, Debug, Clone)]
#[rtype(result = "()")]
pub(crate) struct ChildExit {
    pub(crate) name: String,
    pub(crate) generation: u64,
    pub(crate) reason: String,
    pub(crate) normal: bool,
}

/// Start a new instance; resolves once it is ready.
#[derive(Message)]
#[rtype(result = "Result<Started, String>")]
pub(crate) struct Start;

/// A started instance.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Started {
    pub(crate) pid: u32,
    pub(crate) generation: u64,
}

/// Stop the instance gracefully (killing it after the shutdown timeout);
/// resolves with how it ended.
#[derive(Message)]
#[rtype(result = "String")]
pub(crate) struct Stop;

/// End the instance abnormally: SIGKILL for a child, an injected panic in-process.
#[derive(Message)]
#[rtype(result = "()")]
pub(crate) struct Kill {
    pub(crate) reason: String,
}

/// Kernel diagnostics: inject a fault into the instance.
#[derive(Message)]
#[rtype(result = "()")]
pub(crate) struct Inject(pub(crate) InjectedFault);

#[derive(Message)]
#[rtype(result = "()")]
struct Spawned {
    generation: u64,
    result: Result<Connected, String>,
}

#[derive(Message)]
#[rtype(result = "()")]
struct InProcStopped {
    generation: u64,
    timed_out: bool,
}

enum Instance {
    InProc(InProcInstance),
    Process(ProcessInstance),
}

/// Why the current instance is ending, as far as the kernel knows.
#[derive(Default)]
struct Ending {
    /// The kernel's own reason when it killed the instance.
    killed_for: Option<String>,
    /// What the child said before exiting.
    said: Option<String>,
    /// A graceful stop was requested.
    stopping: bool,
    /// The channel closed and the reader drained it (the exit status follows).
    disconnected: bool,
    /// The exit status, when it arrived before the reader finished draining
    /// the channel (the watcher and the reader race).
    exited: Option<(String, Option<i32>)>,
}

pub(crate) struct Proxy {
    spec: ActorSpec,
    factory: Arc<dyn Factory>,
    route: Arc<Route>,
    status: Arc<StatusCell>,
    shared: Arc<Shared>,
    supervisor: Option<Recipient<ChildExit>>,
    pool: Option<Arc<SlotPool>>,
    generation: u64,
    starting: bool,
    instance: Option<Instance>,
    ending: Ending,
    heartbeat: Heartbeat,
    missed: u32,
    start_waiter: Option<oneshot::Sender<Result<Started, String>>>,
    stop_waiter: Option<oneshot::Sender<String>>,
    timers: Vec<SpawnHandle>,
    ticker: Option<SpawnHandle>,
}

impl Proxy {
    pub(crate) fn new(
        spec: ActorSpec,
        factory: Arc<dyn Factory>,
        route: Arc<Route>,
        status: Arc<StatusCell>,
        shared: Arc<Shared>,
    ) -> Self {
        let heartbeat = Heartbeat::new(spec.heartbeat, spec.heartbeat_misses, Instant::now());
        Proxy {
            spec,
            factory,
            route,
            status,
            shared,
            supervisor: None,
            pool: None,
            generation: 0,
            starting: false,
            instance: None,
            ending: Ending::default(),
            heartbeat,
            missed: 0,
            start_waiter: None,
            stop_waiter: None,
            timers: Vec::new(),
            ticker: None,
        }
    }

    pub(crate) fn set_supervisor(&mut self, supervisor: Recipient<ChildExit>) {
        self.supervisor = Some(supervisor);
    }

    fn name(&self) -> &str {
        &self.spec.name
    }

    fn pid(&self) -> Option<u32> {
        match &self.instance {
            Some(Instance::Process(child)) => Some(child.pid),
            Some(Instance::InProc(_)) => Some(std::process::id()),
            None => None,
        }
    }

    fn event(&self, kind: &str, detail: impl Into<String>) {
        self.shared
            .events
            .push(self.name(), kind, detail, self.pid(), self.generation);
    }

    fn clear_timers(&mut self, ctx: &mut Context<Self>) {
        for handle in self.timers.drain(..) {
            ctx.cancel_future(handle);
        }
        if let Some(handle) = self.ticker.take() {
            ctx.cancel_future(handle);
        }
    }

    fn start_instance(&mut self, ctx: &mut Context<Self>) -> Result<(), String> {
        let generation = self.generation;
        let events = ctx.address().recipient::<Tagged>();
        match self.spec.placement {
            Placement::Inprocess => {
                let instance = self.factory.start_inprocess(InProcInit {
                    config: self.spec.config.clone(),
                    generation,
                    tick: self.spec.tick,
                    route: Arc::clone(&self.route),
                    events,
                    outlet: Arc::new(BusOutlet(Arc::clone(&self.shared.bus))),
                    cancel: Cancel::default(),
                });
                self.instance = Some(Instance::InProc(instance));
            }
            Placement::Process => {
                if self.pool.is_none()
                    && let Some(spec) = self.spec.pool
                {
                    self.pool = Some(SlotPool::create(spec).map_err(|err| err.to_string())?);
                }
                let held = self
                    .pool
                    .as_ref()
                    .map(|pool| pool.held_for_next_peer())
                    .unwrap_or_default();
                let config_toml = toml::to_string(&self.spec.config)
                    .map_err(|err| format!("cannot encode the actor's config: {err}"))?;
                let init = WorkerInit {
                    name: self.spec.name.clone(),
                    kind: self.spec.kind.clone(),
                    generation,
                    config_toml,
                    tick_ms: self.spec.tick.map(|tick| tick.as_millis() as u64),
                    pool: self.spec.pool,
                    first_seq: generation << 40,
                    held,
                };
                let command = self.shared.worker.clone();
                let pool = self.pool.clone();
                let deadline = self.spec.start_timeout;
                let (name, kind) = (self.spec.name.clone(), self.spec.kind.clone());
                let addr = ctx.address();
                crate::spawner::run(move || {
                    let result = process::spawn_child(
                        &command,
                        &name,
                        &kind,
                        &init,
                        pool.as_ref(),
                        deadline,
                    );
                    addr.do_send(Spawned { generation, result });
                })?;
            }
        }
        let timeout = self.spec.start_timeout;
        self.timers.push(ctx.run_later(timeout, move |proxy, ctx| {
            if proxy.starting && proxy.generation == generation {
                proxy.kill_for(
                    format!("did not become ready within {} ms", timeout.as_millis()),
                    true,
                    ctx,
                );
            }
        }));
        Ok(())
    }

    fn on_ready(&mut self, ctx: &mut Context<Self>) {
        let delivery = match &self.instance {
            Some(Instance::InProc(instance)) => Delivery::InProcess(instance.host.clone()),
            Some(Instance::Process(child)) => Delivery::Process(Arc::clone(&child.conn)),
            None => return,
        };
        self.starting = false;
        let pid = self.pid().unwrap_or(0);
        self.heartbeat = Heartbeat::new(
            self.spec.heartbeat,
            self.spec.heartbeat_misses,
            Instant::now(),
        );
        self.missed = 0;
        self.route
            .beat_generation
            .store(self.generation, std::sync::atomic::Ordering::Relaxed);
        self.route
            .beat_n
            .store(0, std::sync::atomic::Ordering::Relaxed);
        self.route.attach(self.generation, delivery);
        let generation = self.generation;
        self.status.update(|status| {
            status.state = State::Running;
            status.pid = pid;
            status.ready_at = Some(Instant::now());
            status.generation = generation;
        });
        self.event(
            "started",
            format!("{} instance ready", self.spec.placement.as_str()),
        );
        self.ticker = Some(ctx.run_interval(self.spec.heartbeat, |proxy, ctx| proxy.check(ctx)));
        if let Some(waiter) = self.start_waiter.take() {
            let _ = waiter.send(Ok(Started { pid, generation }));
        }
    }

    /// The heartbeat tick: send the next heartbeat, judge the last ones.
    fn check(&mut self, ctx: &mut Context<Self>) {
        if self.starting || self.instance.is_none() || self.ending.killed_for.is_some() {
            return;
        }
        let n = self.heartbeat.next_beat();
        match &self.instance {
            Some(Instance::InProc(instance)) => {
                let _ = instance.host.try_send(ToHost::Beat(n));
            }
            Some(Instance::Process(child)) => {
                let _ = child.conn.link.send_control(Body::Heartbeat { n });
            }
            None => {}
        }
        let now = Instant::now();
        let acked = self.route.beat_n.load(std::sync::atomic::Ordering::Relaxed);
        let at = crate::clock::at_us(
            self.route
                .beat_at_us
                .load(std::sync::atomic::Ordering::Relaxed),
        );
        self.heartbeat.ack(acked, at);
        self.route.metrics.mailbox.set(self.route.depth() as i64);
        match self.heartbeat.check(now) {
            Liveness::Alive => self.missed = 0,
            Liveness::Late { missed } => {
                if missed > self.missed {
                    self.route
                        .metrics
                        .heartbeat_misses
                        .inc_by(u64::from(missed - self.missed));
                    self.missed = missed;
                }
            }
            Liveness::Dead { silent_for } => {
                self.route.metrics.heartbeat_misses.inc();
                self.event(
                    "hung",
                    format!(
                        "no heartbeat answered for {} ms (limit {} ms)",
                        silent_for.as_millis(),
                        self.heartbeat.limit().as_millis()
                    ),
                );
                self.kill_for(
                    format!(
                        "hung: no heartbeat answered for {} ms",
                        silent_for.as_millis()
                    ),
                    true,
                    ctx,
                );
                return;
            }
        }
        if let Some(since) = self.route.blocked_since() {
            let waited = now.saturating_duration_since(since);
            if waited > self.heartbeat.limit() {
                self.event(
                    "stalled",
                    format!(
                        "messages waited {} ms for the child to read",
                        waited.as_millis()
                    ),
                );
                self.kill_for(
                    format!(
                        "stalled: the child did not read its messages for {} ms",
                        waited.as_millis()
                    ),
                    true,
                    ctx,
                );
            }
        }
    }

    /// End the instance for `reason`. `abandon`: an in-process instance is
    /// given up at once (it may be stuck); otherwise it gets an injected panic.
    fn kill_for(&mut self, reason: String, abandon: bool, ctx: &mut Context<Self>) {
        if self.ending.killed_for.is_some() {
            return;
        }
        self.ending.killed_for = Some(reason.clone());
        match &self.instance {
            Some(Instance::Process(child)) => {
                // Once SIGKILL is sent the child runs no more actor code: the
                // replacement need not wait while the OS tears down its memory
                // (milliseconds for a large pool); the watcher still reaps it.
                child.kill();
                self.finish(format!("{reason}; killed by SIGKILL"), false, ctx);
            }
            Some(Instance::InProc(instance)) => {
                if abandon {
                    instance.abandon();
                    self.finish(reason, false, ctx);
                } else {
                    // A panic at the next message boundary; an instance
                    // stuck in its current message is abandoned after the
                    // hang limit, as the heartbeat check would have done.
                    instance.kill();
                    let generation = self.generation;
                    let limit = self.heartbeat.limit();
                    ctx.run_later(limit, move |proxy, ctx| {
                        if proxy.generation != generation || proxy.ending.killed_for.is_none() {
                            return;
                        }
                        if let Some(Instance::InProc(instance)) = &proxy.instance {
                            instance.abandon();
                            proxy.finish(
                                format!(
                                    "{reason}; still in its current message after {} ms, abandoned",
                                    limit.as_millis()
                                ),
                                false,
                                ctx,
                            );
                        }
                    });
                }
            }
            None => {
                // Still spawning: the spawn result will find `killed_for` set.
            }
        }
    }

    /// The instance is gone: clean up, then tell whoever is waiting.
    fn finish(&mut self, reason: String, normal: bool, ctx: &mut Context<Self>) {
        let generation = self.generation;
        self.clear_timers(ctx);
        match &self.instance {
            Some(Instance::InProc(instance)) => instance.cancel.cancel(),
            Some(Instance::Process(child)) => {
                // A child that said it exits, or was killed, must be reaped
                // soon; one that lingers is killed.
                let (reaped, pid) = (child.reaped(), child.pid);
                ctx.run_later(Duration::from_secs(2), move |_, _| {
                    if !reaped.load(std::sync::atomic::Ordering::Acquire) {
                        tracing::warn!(pid, "a finished child did not exit; killing it");
                        let _ = nix::sys::signal::kill(
                            nix::unistd::Pid::from_raw(pid as i32),
                            nix::sys::signal::Signal::SIGKILL,
                        );
                    }
                });
            }
            None => {}
        }
        self.instance = None;
        self.starting = false;
        self.route.detach(generation);
        if let Some(pool) = &self.pool {
            pool.peer_restarted();
        }
        let kind = if self.ending.stopping {
            "stopped"
        } else {
            "exited"
        };
        self.ending = Ending::default();
        self.status.update(|status| {
            status.last_exit = Some(reason.clone());
            status.ready_at = None;
            status.state = State::Restarting;
        });
        self.shared
            .events
            .push(&self.spec.name, kind, reason.clone(), None, generation);
        if let Some(waiter) = self.start_waiter.take() {
            let _ = waiter.send(Err(reason));
        } else if let Some(waiter) = self.stop_waiter.take() {
            let _ = waiter.send(reason);
        } else if let Some(supervisor) = &self.supervisor {
            supervisor.do_send(ChildExit {
                name: self.spec.name.clone(),
                generation,
                reason,
                normal,
            });
        }
    }

    fn on_exited(&mut self, status: String, code: Option<i32>, ctx: &mut Context<Self>) {
        let ours = self.ending.killed_for.take();
        let said = self.ending.said.take();
        let stopping = self.ending.stopping;
        let normal = code == Some(0) && ours.is_none();
        let reason = match (ours, said) {
            (Some(ours), _) => format!("{ours}; {status}"),
            (None, Some(said)) if code != Some(0) || stopping => format!("{said} ({status})"),
            (None, Some(_)) | (None, None) => status,
        };
        let reason = if stopping && normal {
            format!("stopped ({reason})")
        } else {
            reason
        };
        self.finish(reason, normal, ctx);
    }
}

impl Actor for Proxy {
    type Context = Context<Self>;
}

impl Handler<Start> for Proxy {
    type Result = ResponseFuture<Result<Started, String>>;

    fn handle(&mut self, _: Start, ctx: &mut Self::Context) -> Self::Result {
        if self.instance.is_some() || self.starting {
            let name = self.spec.name.clone();
            return Box::pin(async move { Err(format!("{name} is already running")) });
        }
        self.generation += 1;
        self.starting = true;
        self.ending = Ending::default();
        let first = self.generation == 1;
        if !first {
            self.route.metrics.restarts.inc();
            self.status.update(|status| {
                status.restarts += 1;
                status.state = State::Restarting;
            });
        }
        self.event("starting", format!("generation {}", self.generation));
        let (tx, rx) = oneshot::channel();
        self.start_waiter = Some(tx);
        if let Err(reason) = self.start_instance(ctx) {
            self.starting = false;
            self.start_waiter = None;
            return Box::pin(async move { Err(reason) });
        }
        Box::pin(async move { rx.await.unwrap_or_else(|_| Err("start abandoned".into())) })
    }
}

impl Handler<Stop> for Proxy {
    type Result = ResponseFuture<String>;

    fn handle(&mut self, _: Stop, ctx: &mut Self::Context) -> Self::Result {
        if self.instance.is_none() && !self.starting {
            return Box::pin(async { "not running".to_string() });
        }
        let (tx, rx) = oneshot::channel();
        self.stop_waiter = Some(tx);
        if let Some(waiter) = self.start_waiter.take() {
            let _ = waiter.send(Err("stopped while starting".into()));
        }
        self.ending.stopping = true;
        let generation = self.generation;
        let timeout = self.spec.shutdown_timeout;
        match &self.instance {
            Some(Instance::Process(child)) => {
                child.request_shutdown();
                self.timers.push(ctx.run_later(timeout, move |proxy, ctx| {
                    if proxy.generation == generation && proxy.instance.is_some() {
                        proxy.kill_for(
                            format!("did not stop within {} ms", timeout.as_millis()),
                            true,
                            ctx,
                        );
                    }
                }));
            }
            Some(Instance::InProc(instance)) => {
                let (done_tx, done_rx) = oneshot::channel();
                let _ = instance.host.try_send(ToHost::Stop(done_tx));
                let addr = ctx.address();
                actix::spawn(async move {
                    let timed_out = tokio::time::timeout(timeout, done_rx).await.is_err();
                    addr.do_send(InProcStopped {
                        generation,
                        timed_out,
                    });
                });
            }
            None => {
                // Spawning: it will be killed when the spawn result arrives.
                self.ending.killed_for = Some("stopped while starting".into());
            }
        }
        Box::pin(async move { rx.await.unwrap_or_else(|_| "stop abandoned".into()) })
    }
}

impl Handler<InProcStopped> for Proxy {
    type Result = ();

    fn handle(&mut self, msg: InProcStopped, ctx: &mut Self::Context) {
        if msg.generation != self.generation || self.instance.is_none() {
            return;
        }
        if msg.timed_out {
            if let Some(Instance::InProc(instance)) = &self.instance {
                instance.abandon();
            }
            let reason = format!(
                "did not stop within {} ms; abandoned its thread",
                self.spec.shutdown_timeout.as_millis()
            );
            self.finish(reason, false, ctx);
        } else {
            self.finish("stopped".into(), true, ctx);
        }
    }
}

impl Handler<Kill> for Proxy {
    type Result = ();

    fn handle(&mut self, msg: Kill, ctx: &mut Self::Context) {
        if self.instance.is_some() {
            self.event("killed", msg.reason.clone());
            self.kill_for(msg.reason, false, ctx);
        }
    }
}

impl Handler<Inject> for Proxy {
    type Result = ();

    fn handle(&mut self, msg: Inject, _: &mut Self::Context) {
        match &self.instance {
            Some(Instance::InProc(instance)) => {
                let _ = instance.host.try_send(ToHost::Inject(msg.0));
            }
            Some(Instance::Process(child)) => {
                let _ = child.conn.link.send_control(Body::Inject(msg.0));
            }
            None => {}
        }
    }
}

impl Handler<Spawned> for Proxy {
    type Result = ();

    fn handle(&mut self, msg: Spawned, ctx: &mut Self::Context) {
        if msg.generation != self.generation || !self.starting {
            if let Ok(mut connected) = msg.result {
                let _ = connected.child.kill();
                let _ = connected.child.wait();
            }
            return;
        }
        let connected = match msg.result {
            Ok(connected) => connected,
            Err(reason) => {
                let reason = format!("start failed: {reason}");
                self.event("start_failed", reason.clone());
                self.finish(reason, false, ctx);
                return;
            }
        };
        let attached = process::attach(
            connected,
            self.generation,
            &self.spec.name,
            self.pool.clone(),
            Arc::clone(&self.route),
            Arc::clone(&self.shared.bus),
            ctx.address().recipient(),
        );
        match attached {
            Ok(child) => {
                self.instance = Some(Instance::Process(child));
                if let Some(reason) = self.ending.killed_for.take() {
                    self.kill_for(reason, true, ctx);
                }
            }
            Err(reason) => {
                let reason = format!("start failed: {reason}");
                self.event("start_failed", reason.clone());
                self.finish(reason, false, ctx);
            }
        }
    }
}

impl Handler<Tagged> for Proxy {
    type Result = ();

    fn handle(&mut self, msg: Tagged, ctx: &mut Self::Context) {
        if msg.generation != self.generation || self.instance.is_none() {
            if let InstanceEvent::Exited { status, .. } = &msg.event {
                tracing::debug!(actor = %self.spec.name, generation = msg.generation, %status, "reaped a finished child");
            }
            return;
        }
        match msg.event {
            InstanceEvent::Ready => {
                if self.starting {
                    self.on_ready(ctx);
                }
            }
            InstanceEvent::StartFailed(reason) => {
                let reason = format!("start failed: {reason}");
                self.event("start_failed", reason.clone());
                match &self.instance {
                    // The child exits by itself; its exit status completes the story.
                    Some(Instance::Process(_)) => self.ending.said = Some(reason),
                    _ => self.finish(reason, false, ctx),
                }
            }
            InstanceEvent::Ended(end) => self.finish(end.reason, end.code == 0, ctx),
            InstanceEvent::Exiting(reason, code) => {
                // It runs no more actor code: replace it now (see kill_for).
                self.finish(
                    format!("{reason} (exited with code {code})"),
                    code == 0,
                    ctx,
                );
            }
            InstanceEvent::Fault(reason) => {
                self.event("killed", format!("protocol fault: {reason}"));
                self.kill_for(format!("protocol fault: {reason}"), true, ctx);
            }
            InstanceEvent::Disconnected => {
                self.ending.disconnected = true;
                if let Some((status, code)) = self.ending.exited.take() {
                    self.on_exited(status, code, ctx);
                    return;
                }
                let generation = self.generation;
                // The exit status normally follows within a millisecond; a
                // child that closed its channel but lingers is killed.
                self.timers.push(
                    ctx.run_later(Duration::from_millis(500), move |proxy, ctx| {
                        if proxy.generation == generation && proxy.instance.is_some() {
                            proxy.kill_for("closed its channel but did not exit".into(), true, ctx);
                        }
                    }),
                );
            }
            InstanceEvent::Exited { status, code } => {
                if self.ending.disconnected {
                    self.on_exited(status, code, ctx);
                } else {
                    // Let the reader deliver what the child sent before it
                    // exited (its last reply, why it is exiting); the channel
                    // closes right after, and then the story is complete.
                    self.ending.exited = Some((status, code));
                    let generation = self.generation;
                    self.timers.push(ctx.run_later(
                        Duration::from_millis(200),
                        move |proxy, ctx| {
                            if proxy.generation == generation
                                && let Some((status, code)) = proxy.ending.exited.take()
                            {
                                proxy.on_exited(status, code, ctx);
                            }
                        },
                    ));
                }
            }
        }
    }
}

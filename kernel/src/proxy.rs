//! The proxy: one actix actor per configured actor, living as long as the
//! kernel. It starts instances through the placement's [`Placer`], watches
//! them (heartbeats, flow-control stalls, exits — `proxy/watch.rs`), kills
//! them when they misbehave, and tells the supervisor when one ended on its
//! own. The supervisor decides what happens next; the proxy does it. The
//! message handlers are in `proxy/handlers.rs`.
//!
//! [`Placer`]: crate::host::Placer

mod handlers;
mod watch;

use std::sync::Arc;
use std::time::Instant;

use actix::prelude::*;
use tokio::sync::oneshot;
use warden_transport::{Heartbeat, InjectedFault, SlotPool};

use crate::bus::Bus;
use crate::config::ActorSpec;
use crate::directory::Directory;
use crate::error::StartError;
use crate::events::EventLog;
use crate::host::process::{Standbys, WorkerCommand};
use crate::host::{Host, InstanceEvent, Killed, LINGER, Launch};
use crate::metrics::Metrics;
use crate::registry::Factory;
use crate::route::Route;
use crate::status::{State, StatusCell};

/// What every proxy shares.
pub(crate) struct Shared {
    pub(crate) bus: Arc<Bus>,
    pub(crate) directory: Arc<Directory>,
    pub(crate) metrics: Arc<Metrics>,
    pub(crate) events: EventLog,
    pub(crate) worker: WorkerCommand,
    /// Children waiting to become process actors' next instances.
    pub(crate) standbys: Standbys,
    /// The NATS connection, when the config has a `[cluster]`.
    pub(crate) cluster: Option<Arc<crate::cluster::Cluster>>,
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
#[rtype(result = "Result<Started, StartError>")]
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

/// Take another placement; the next instance starts there.
#[derive(Message)]
#[rtype(result = "()")]
pub(crate) struct Relocate {
    pub(crate) placement: crate::config::Placement,
    pub(crate) nodes: Vec<String>,
}

/// Kernel diagnostics: inject a fault into the instance.
#[derive(Message)]
#[rtype(result = "()")]
pub(crate) struct Inject(pub(crate) InjectedFault);

/// Why the current instance is ending, as far as the kernel knows.
#[derive(Default)]
struct Ending {
    /// The kernel's own reason when it killed the instance.
    killed_for: Option<String>,
    /// What the child said before exiting.
    said: Option<String>,
    /// A graceful stop was requested.
    stopping: bool,
    /// The stop is a move's: a `Handover` from the instance is expected
    /// (one that comes otherwise is ignored: a crash hands nothing over).
    handing_over: bool,
    /// The channel closed and the reader drained it (the exit status follows).
    disconnected: bool,
    /// The exit status, when it arrived before the reader finished draining
    /// the channel (the watcher and the reader race).
    exited: Option<(String, Option<i32>)>,
    /// Why a start failed, for the one waiting for it.
    start_error: Option<StartError>,
}

pub(crate) struct Proxy {
    spec: Arc<ActorSpec>,
    /// Gives the actor's pool its id (pools are numbered from 1).
    pool_id: u32,
    factory: Arc<dyn Factory>,
    route: Arc<Route>,
    status: Arc<StatusCell>,
    shared: Arc<Shared>,
    supervisor: Option<Recipient<ChildExit>>,
    pool: Option<Arc<SlotPool>>,
    generation: u64,
    starting: bool,
    /// When the current start began (the "started" event says how long it took).
    start_began: Instant,
    instance: Option<Arc<dyn Host>>,
    /// Events of the instance being launched that arrived before its host
    /// did (its thread or its reader may report before `Launched` lands).
    early: Vec<InstanceEvent>,
    ending: Ending,
    heartbeat: Heartbeat,
    missed: u32,
    start_waiter: Option<oneshot::Sender<Result<Started, StartError>>>,
    stop_waiter: Option<oneshot::Sender<String>>,
    timers: Vec<SpawnHandle>,
    ticker: Option<SpawnHandle>,
    /// The next graceful stop is a move: the instance hands its state over.
    handover_wanted: bool,
    /// What the moved instance handed over, given to each start until one
    /// is ready.
    handover: Option<Arc<[u8]>>,
}

impl Proxy {
    pub(crate) fn new(
        spec: ActorSpec,
        pool_id: u32,
        factory: Arc<dyn Factory>,
        route: Arc<Route>,
        status: Arc<StatusCell>,
        shared: Arc<Shared>,
    ) -> Self {
        let heartbeat = Heartbeat::new(spec.heartbeat, spec.heartbeat_misses, Instant::now());
        Proxy {
            spec: Arc::new(spec),
            pool_id,
            factory,
            route,
            status,
            shared,
            supervisor: None,
            pool: None,
            generation: 0,
            starting: false,
            start_began: Instant::now(),
            instance: None,
            early: Vec::new(),
            ending: Ending::default(),
            heartbeat,
            missed: 0,
            start_waiter: None,
            stop_waiter: None,
            timers: Vec::new(),
            ticker: None,
            handover_wanted: false,
            handover: None,
        }
    }

    pub(crate) fn set_supervisor(&mut self, supervisor: Recipient<ChildExit>) {
        self.supervisor = Some(supervisor);
    }

    fn name(&self) -> &str {
        &self.spec.name
    }

    fn pid(&self) -> Option<u32> {
        self.instance.as_ref().map(|host| host.pid())
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

    fn start_instance(&mut self, ctx: &mut Context<Self>) -> Result<(), StartError> {
        let generation = self.generation;
        let placer = crate::host::placer(self.spec.placement);
        if placer.uses_pool()
            && self.pool.is_none()
            && let Some(spec) = self.spec.pool
        {
            self.pool = Some(
                SlotPool::create(spec, self.pool_id)
                    .map_err(|err| StartError::Pool(err.to_string()))?,
            );
        }
        self.early.clear();
        placer.launch(Launch {
            spec: Arc::clone(&self.spec),
            factory: Arc::clone(&self.factory),
            generation,
            route: Arc::clone(&self.route),
            shared: Arc::clone(&self.shared),
            pool: self.pool.clone(),
            handover: self.handover.clone(),
            events: ctx.address().recipient(),
            done: ctx.address().recipient(),
        })?;
        let timeout = self.spec.start_timeout;
        self.timers.push(ctx.run_later(timeout, move |proxy, ctx| {
            if proxy.starting && proxy.generation == generation {
                let err = StartError::Timeout(timeout.as_millis() as u64);
                proxy.ending.start_error = Some(err.clone());
                proxy.kill_for(err.to_string(), true, ctx);
                if proxy.instance.is_none() {
                    // Still launching: give up on it now.
                    proxy.finish(
                        format!("did not become ready within {} ms", timeout.as_millis()),
                        false,
                        ctx,
                    );
                }
            }
        }));
        Ok(())
    }

    fn on_ready(&mut self, ctx: &mut Context<Self>) {
        let Some(host) = self.instance.clone() else {
            return;
        };
        self.starting = false;
        self.handover = None;
        let pid = host.pid();
        self.heartbeat = Heartbeat::new(
            self.spec.heartbeat,
            self.spec.heartbeat_misses,
            Instant::now(),
        );
        self.missed = 0;
        let took = self.start_began.elapsed();
        let how = host.started_how();
        let node = host.node();
        let on_node = node
            .as_ref()
            .map(|node| format!(" on node {node}"))
            .unwrap_or_default();
        self.route.attach(self.generation, host);
        let generation = self.generation;
        self.status.update(|status| {
            status.state = State::Running;
            status.node = node;
            status.pid = pid;
            status.ready_at = Some(Instant::now());
            status.generation = generation;
        });
        self.route.metrics.start_time(took);
        self.event(
            "started",
            format!(
                "{} instance ready in {:.1} ms{how}{on_node}",
                self.spec.placement.as_str(),
                took.as_secs_f64() * 1e3
            ),
        );
        self.ticker = Some(ctx.run_interval(self.spec.heartbeat, |proxy, ctx| proxy.check(ctx)));
        if let Some(waiter) = self.start_waiter.take() {
            let _ = waiter.send(Ok(Started { pid, generation }));
        }
    }

    /// End the instance for `reason`. `abandon`: an in-process instance is
    /// given up at once (it may be stuck); otherwise it gets an injected panic.
    fn kill_for(&mut self, reason: String, abandon: bool, ctx: &mut Context<Self>) {
        if self.ending.killed_for.is_some() {
            return;
        }
        self.ending.killed_for = Some(reason.clone());
        let Some(host) = self.instance.clone() else {
            // Still launching: the launch result will find `killed_for` set.
            return;
        };
        match host.kill(abandon) {
            Killed::Now(how) => {
                let reason = match how {
                    Some(how) => format!("{reason}; {how}"),
                    None => reason,
                };
                self.finish(reason, false, ctx);
            }
            Killed::AtBoundary => {
                // An instance stuck in its current message is abandoned
                // after the hang limit, as the heartbeat check would have.
                let generation = self.generation;
                let limit = self.heartbeat.limit();
                ctx.run_later(limit, move |proxy, ctx| {
                    if proxy.generation != generation || proxy.ending.killed_for.is_none() {
                        return;
                    }
                    if let Some(host) = proxy.instance.clone() {
                        host.kill(true);
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
    }

    /// The instance is gone: clean up, then tell whoever is waiting.
    fn finish(&mut self, reason: String, normal: bool, ctx: &mut Context<Self>) {
        let generation = self.generation;
        self.clear_timers(ctx);
        if let Some(host) = self.instance.take()
            && let Some(check) = host.retire()
        {
            ctx.run_later(LINGER, move |_, _| check());
        }
        self.starting = false;
        self.handover_wanted = false;
        self.early.clear();
        self.route.detach(generation);
        if let Some(pool) = &self.pool {
            pool.peer_restarted();
        }
        let kind = if self.ending.stopping {
            "stopped"
        } else {
            "exited"
        };
        let start_error = self.ending.start_error.take();
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
            let _ = waiter.send(Err(start_error.unwrap_or(StartError::Ended(reason))));
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

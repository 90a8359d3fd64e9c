//! The supervisor: OTP semantics over the proxies. It starts children in
//! order, applies the restart type and strategy when one ends, counts
//! restarts against the intensity and escalates when it is exceeded (every
//! child is stopped and the kernel is told why), and stops everything in
//! reverse start order on shutdown. Restarts run one procedure at a time;
//! exits that arrive meanwhile wait their turn.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Instant;

use actix::prelude::*;
use tokio::sync::watch;

use crate::config::{Restart, SupervisorConfig};
use crate::error::{KernelError, StartError};
use crate::proxy::{ChildExit, Proxy, Shared, Start, Started, Stop};
use crate::restart_policy::{BACKOFF_RESET, Intensity, affected, backoff, should_restart};
use crate::route::Route;
use crate::status::{State, StatusCell};

pub(crate) struct Child {
    pub(crate) name: String,
    pub(crate) restart: Restart,
    pub(crate) proxy: Addr<Proxy>,
    pub(crate) route: Arc<Route>,
    pub(crate) status: Arc<StatusCell>,
    /// Should be running (false once it ended for good).
    wanted: bool,
    generation: u64,
    started_at: Option<Instant>,
    quick_failures: u32,
    last_exits: VecDeque<String>,
}

impl Child {
    pub(crate) fn new(
        name: String,
        restart: Restart,
        proxy: Addr<Proxy>,
        route: Arc<Route>,
        status: Arc<StatusCell>,
    ) -> Self {
        Child {
            name,
            restart,
            proxy,
            route,
            status,
            wanted: true,
            generation: 0,
            started_at: None,
            quick_failures: 0,
            last_exits: VecDeque::new(),
        }
    }
}

/// Start every child in order; fails (after stopping those started) if one cannot start.
#[derive(Message)]
#[rtype(result = "Result<(), KernelError>")]
pub(crate) struct Boot;

/// Stop every child in reverse start order.
#[derive(Message)]
#[rtype(result = "()")]
pub(crate) struct Shutdown;

/// An operator restart of one child (stop, then start); resolves with the new pid.
#[derive(Message)]
#[rtype(result = "Result<u32, KernelError>")]
pub(crate) struct AdminRestart(pub(crate) String);

type AdminReply = tokio::sync::oneshot::Sender<Result<u32, KernelError>>;

enum Work {
    Exit(ChildExit),
    StartFailed { index: usize, reason: String },
    Admin(String, AdminReply),
}

#[derive(Message)]
#[rtype(result = "()")]
struct Done {
    started: Vec<(usize, Started)>,
    failed: Option<(usize, StartError)>,
    admin: Option<(AdminReply, Result<u32, KernelError>)>,
}

pub(crate) struct Supervisor {
    config: SupervisorConfig,
    children: Vec<Child>,
    intensity: Intensity,
    busy: bool,
    work: VecDeque<Work>,
    stopped: bool,
    shared: Arc<Shared>,
    escalation: watch::Sender<Option<String>>,
}

impl Supervisor {
    pub(crate) fn new(
        config: SupervisorConfig,
        children: Vec<Child>,
        shared: Arc<Shared>,
        escalation: watch::Sender<Option<String>>,
    ) -> Self {
        let intensity = Intensity::new(config.max_restarts, config.within);
        Supervisor {
            config,
            children,
            intensity,
            busy: false,
            work: VecDeque::new(),
            stopped: false,
            shared,
            escalation,
        }
    }

    fn index(&self, name: &str) -> Option<usize> {
        self.children.iter().position(|child| child.name == name)
    }

    fn next_work(&mut self, ctx: &mut Context<Self>) {
        while !self.busy && !self.stopped {
            let Some(work) = self.work.pop_front() else {
                return;
            };
            match work {
                Work::Exit(exit) => self.on_exit(exit, ctx),
                Work::StartFailed { index, reason } => self.on_failure(index, reason, false, ctx),
                Work::Admin(name, reply) => self.admin_restart(name, reply, ctx),
            }
        }
    }

    fn on_exit(&mut self, exit: ChildExit, ctx: &mut Context<Self>) {
        let Some(index) = self.index(&exit.name) else {
            return;
        };
        if self.children[index].generation != exit.generation {
            return; // a stale report about an instance already replaced
        }
        self.on_failure(index, exit.reason, exit.normal, ctx);
    }

    fn on_failure(&mut self, index: usize, reason: String, normal: bool, ctx: &mut Context<Self>) {
        let child = &mut self.children[index];
        child.last_exits.push_back(reason.clone());
        if child.last_exits.len() > 5 {
            child.last_exits.pop_front();
        }
        let ran_for = child.started_at.map(|at| at.elapsed());
        child.quick_failures = match ran_for {
            Some(ran) if ran < BACKOFF_RESET => child.quick_failures + 1,
            _ => 0,
        };
        if !should_restart(child.restart, normal) {
            child.wanted = false;
            let state = if normal {
                State::Stopped
            } else {
                State::Failed
            };
            child.status.update(|status| status.state = state);
            child.route.stop(&reason);
            self.shared.events.push(
                &child.name,
                "stopped",
                format!(
                    "{} child not restarted after: {reason}",
                    child.restart.as_str()
                ),
                None,
                child.generation,
            );
            return;
        }
        if !self.intensity.admit(Instant::now()) {
            let child = &self.children[index];
            let reason = format!(
                "{} exceeded the restart intensity ({} restarts within {} s, max {}); last exits: {}",
                child.name,
                self.intensity.count(),
                self.config.within.as_secs(),
                self.config.max_restarts,
                child
                    .last_exits
                    .iter()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join("; ")
            );
            self.escalate(reason, ctx);
            return;
        }
        // The first quick failure restarts at once; a streak of them backs off.
        let delay = backoff(
            self.children[index].quick_failures.saturating_sub(1),
            self.config.backoff_initial,
            self.config.backoff_max,
        );
        let targets = affected(self.config.strategy, index, self.children.len(), |i| {
            self.children[i].wanted
        });
        self.shared.events.push(
            &self.children[index].name,
            "restarting",
            format!(
                "{} restarts {} after {} ms",
                self.config.strategy.as_str(),
                targets
                    .iter()
                    .map(|i| self.children[*i].name.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                delay.as_millis()
            ),
            None,
            self.children[index].generation,
        );
        self.busy = true;
        let stop: Vec<Addr<Proxy>> = targets
            .iter()
            .rev()
            .filter(|i| **i != index)
            .map(|i| self.children[*i].proxy.clone())
            .collect();
        // OTP: a temporary child is never restarted, not even when a
        // sibling's failure takes it down under one_for_all/rest_for_one.
        let failed_name = self.children[index].name.clone();
        let mut retired = Vec::new();
        for &i in &targets {
            let child = &mut self.children[i];
            if i != index && child.restart == Restart::Temporary {
                child.wanted = false;
                retired.push(Arc::clone(&child.status));
                let reason = format!("stopped with {failed_name}; temporary, not restarted");
                child.route.stop(&reason);
                self.shared
                    .events
                    .push(&child.name, "stopped", reason, None, child.generation);
            }
        }
        let start: Vec<(usize, Addr<Proxy>)> = targets
            .iter()
            .filter(|i| **i == index || self.children[**i].wanted)
            .map(|i| (*i, self.children[*i].proxy.clone()))
            .collect();
        let me = ctx.address();
        actix::spawn(async move {
            for proxy in stop {
                let _ = proxy.send(Stop).await;
            }
            for status in retired {
                status.update(|status| status.state = State::Stopped);
            }
            if !delay.is_zero() {
                actix_rt::time::sleep(delay).await;
            }
            let (started, failed) = start_in_order(start).await;
            me.do_send(Done {
                started,
                failed,
                admin: None,
            });
        });
    }

    fn admin_restart(&mut self, name: String, reply: AdminReply, ctx: &mut Context<Self>) {
        let Some(index) = self.index(&name) else {
            let _ = reply.send(Err(KernelError::UnknownActor(name)));
            return;
        };
        self.busy = true;
        let child = &mut self.children[index];
        child.wanted = true;
        child.route.reopen();
        self.shared.events.push(
            &name,
            "restarting",
            "operator restart",
            None,
            child.generation,
        );
        let proxy = child.proxy.clone();
        let me = ctx.address();
        actix::spawn(async move {
            let _ = proxy.send(Stop).await;
            let (started, failed) = start_in_order(vec![(index, proxy)]).await;
            let result = match (&failed, started.first()) {
                (Some((_, err)), _) => Err(KernelError::Start {
                    actor: name.clone(),
                    source: err.clone(),
                }),
                (None, Some(_)) => Ok(0),
                (None, None) => Err(KernelError::Internal(format!("{name} was not started"))),
            };
            me.do_send(Done {
                started,
                failed,
                admin: Some((reply, result)),
            });
        });
    }

    fn escalate(&mut self, reason: String, ctx: &mut Context<Self>) {
        self.shared
            .events
            .push("supervisor", "escalated", reason.clone(), None, 0);
        self.stopped = true;
        self.busy = true;
        let proxies: Vec<(Addr<Proxy>, Arc<Route>, Arc<StatusCell>)> = self
            .children
            .iter()
            .rev()
            .map(|c| (c.proxy.clone(), Arc::clone(&c.route), Arc::clone(&c.status)))
            .collect();
        let escalation = self.escalation.clone();
        let _ = ctx;
        actix::spawn(async move {
            stop_all(proxies, "the supervisor escalated").await;
            let _ = escalation.send(Some(reason));
        });
    }
}

async fn start_in_order(
    start: Vec<(usize, Addr<Proxy>)>,
) -> (Vec<(usize, Started)>, Option<(usize, StartError)>) {
    let mut started = Vec::new();
    for (index, proxy) in start {
        match proxy.send(Start).await {
            Ok(Ok(instance)) => started.push((index, instance)),
            Ok(Err(err)) => return (started, Some((index, err))),
            Err(err) => {
                let err = StartError::Internal(format!("proxy unreachable: {err}"));
                return (started, Some((index, err)));
            }
        }
    }
    (started, None)
}

async fn stop_all(children: Vec<(Addr<Proxy>, Arc<Route>, Arc<StatusCell>)>, why: &str) {
    for (proxy, route, status) in children {
        let _ = proxy.send(Stop).await;
        route.stop(why);
        status.update(|status| {
            if status.state != State::Failed {
                status.state = State::Stopped;
            }
        });
    }
}

impl Actor for Supervisor {
    type Context = Context<Self>;
}

impl Handler<Boot> for Supervisor {
    type Result = ResponseActFuture<Self, Result<(), KernelError>>;

    fn handle(&mut self, _: Boot, _: &mut Self::Context) -> Self::Result {
        self.busy = true;
        let start: Vec<(usize, Addr<Proxy>)> = self
            .children
            .iter()
            .enumerate()
            .map(|(i, c)| (i, c.proxy.clone()))
            .collect();
        Box::pin(
            async move { start_in_order(start).await }
                .into_actor(self)
                .then(|(started, failed), act, _| {
                    let now = Instant::now();
                    for (index, instance) in &started {
                        act.children[*index].started_at = Some(now);
                        act.children[*index].generation = instance.generation;
                    }
                    let stop: Vec<_> = started
                        .iter()
                        .rev()
                        .map(|(i, _)| {
                            let c = &act.children[*i];
                            (c.proxy.clone(), Arc::clone(&c.route), Arc::clone(&c.status))
                        })
                        .collect();
                    let failure = failed.map(|(index, source)| {
                        act.stopped = true;
                        KernelError::Boot {
                            actor: act.children[index].name.clone(),
                            source,
                        }
                    });
                    async move {
                        match failure {
                            Some(reason) => {
                                stop_all(stop, "boot failed").await;
                                Err(reason)
                            }
                            None => Ok(()),
                        }
                    }
                    .into_actor(act)
                })
                .map(|result, act, ctx| {
                    act.busy = false;
                    act.next_work(ctx);
                    result
                }),
        )
    }
}

impl Handler<ChildExit> for Supervisor {
    type Result = ();

    fn handle(&mut self, msg: ChildExit, ctx: &mut Self::Context) {
        self.work.push_back(Work::Exit(msg));
        self.next_work(ctx);
    }
}

impl Handler<AdminRestart> for Supervisor {
    type Result = ResponseFuture<Result<u32, KernelError>>;

    fn handle(&mut self, msg: AdminRestart, ctx: &mut Self::Context) -> Self::Result {
        let (tx, rx) = tokio::sync::oneshot::channel();
        if self.stopped {
            let _ = tx.send(Err(KernelError::Stopped(
                "it escalated or the kernel shut down".into(),
            )));
        } else {
            self.work.push_back(Work::Admin(msg.0, tx));
            self.next_work(ctx);
        }
        Box::pin(async move {
            rx.await
                .unwrap_or_else(|_| Err(KernelError::Internal("restart abandoned".into())))
        })
    }
}

impl Handler<Done> for Supervisor {
    type Result = ();

    fn handle(&mut self, msg: Done, ctx: &mut Self::Context) {
        let now = Instant::now();
        for (index, instance) in &msg.started {
            let child = &mut self.children[*index];
            child.started_at = Some(now);
            child.generation = instance.generation;
            child.wanted = true;
        }
        if let Some((reply, result)) = msg.admin {
            let result =
                result.map(|_| msg.started.first().map(|(_, s)| s.pid).unwrap_or_default());
            let _ = reply.send(result);
        }
        self.busy = false;
        if let Some((index, err)) = msg.failed {
            self.children[index].started_at = Some(now);
            self.work.push_front(Work::StartFailed {
                index,
                reason: format!("failed to start: {err}"),
            });
        }
        self.next_work(ctx);
    }
}

impl Handler<Shutdown> for Supervisor {
    type Result = ResponseActFuture<Self, ()>;

    fn handle(&mut self, _: Shutdown, _: &mut Self::Context) -> Self::Result {
        self.stopped = true;
        self.shared.events.push(
            "supervisor",
            "shutdown",
            "stopping every actor in reverse start order",
            None,
            0,
        );
        let children: Vec<_> = self
            .children
            .iter()
            .rev()
            .map(|c| (c.proxy.clone(), Arc::clone(&c.route), Arc::clone(&c.status)))
            .collect();
        Box::pin(async move { stop_all(children, "the kernel shut down").await }.into_actor(self))
    }
}

//! The proxy's messages: start, stop, kill, inject (from the supervisor and
//! the kernel), the launch result, and the instance's own events.

use std::time::Duration;

use actix::prelude::*;
use tokio::sync::oneshot;

use super::{Ending, Inject, Kill, Proxy, Start, Started, Stop};
use crate::error::StartError;
use crate::host::{InstanceEvent, Launched, Tagged};
use crate::status::State;

#[derive(Message)]
#[rtype(result = "()")]
pub(super) struct InProcStopped {
    generation: u64,
    timed_out: bool,
}

impl Handler<Start> for Proxy {
    type Result = ResponseFuture<Result<Started, StartError>>;

    fn handle(&mut self, _: Start, ctx: &mut Self::Context) -> Self::Result {
        if self.instance.is_some() || self.starting {
            let name = self.spec.name.clone();
            return Box::pin(async move { Err(StartError::AlreadyRunning(name)) });
        }
        self.generation += 1;
        self.starting = true;
        self.start_began = std::time::Instant::now();
        self.ending = Ending::default();
        if self.generation > 1 {
            self.route.metrics.restarts.inc();
            self.status.update(|status| {
                status.restarts += 1;
                status.state = State::Restarting;
            });
        }
        self.event("starting", format!("generation {}", self.generation));
        let (tx, rx) = oneshot::channel();
        self.start_waiter = Some(tx);
        if let Err(err) = self.start_instance(ctx) {
            self.starting = false;
            self.start_waiter = None;
            return Box::pin(async move { Err(err) });
        }
        Box::pin(async move {
            rx.await
                .unwrap_or_else(|_| Err(StartError::Internal("start abandoned".into())))
        })
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
            let _ = waiter.send(Err(StartError::Stopped));
        }
        self.ending.stopping = true;
        let generation = self.generation;
        match self.instance.clone() {
            // A running instance is drained first: nothing new goes to it,
            // and what it was sent is answered before it is told to stop
            // (bounded by half the shutdown timeout). What arrives
            // meanwhile waits for the next instance: an admin restart or a
            // move loses no call and re-sends none.
            Some(_) if !self.starting => {
                self.route.hold(generation);
                let route = std::sync::Arc::clone(&self.route);
                let addr = ctx.address();
                let limit = self.spec.shutdown_timeout / 2;
                actix::spawn(async move {
                    let deadline = tokio::time::Instant::now() + limit;
                    while route.in_flight(generation) > 0 && tokio::time::Instant::now() < deadline
                    {
                        tokio::time::sleep(Duration::from_millis(1)).await;
                    }
                    addr.do_send(Drained { generation });
                });
            }
            _ => self.stop_now(ctx),
        }
        Box::pin(async move { rx.await.unwrap_or_else(|_| "stop abandoned".into()) })
    }
}

impl Handler<InProcStopped> for Proxy {
    type Result = ();

    fn handle(&mut self, msg: InProcStopped, ctx: &mut Self::Context) {
        if msg.generation != self.generation {
            return;
        }
        let Some(host) = self.instance.clone() else {
            return;
        };
        if msg.timed_out {
            host.kill(true);
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

/// A stopping instance has answered what it was sent (or the drain's
/// bound passed): tell it to stop now.
#[derive(Message)]
#[rtype(result = "()")]
pub(crate) struct Drained {
    generation: u64,
}

impl Handler<Drained> for Proxy {
    type Result = ();

    fn handle(&mut self, msg: Drained, ctx: &mut Self::Context) {
        if msg.generation == self.generation && self.ending.stopping && self.instance.is_some() {
            self.stop_now(ctx);
        }
    }
}

impl Proxy {
    /// Ask the instance to stop; killed if it does not within the shutdown timeout.
    fn stop_now(&mut self, ctx: &mut Context<Self>) {
        let generation = self.generation;
        let timeout = self.spec.shutdown_timeout;
        self.ending.handing_over = std::mem::take(&mut self.handover_wanted);
        match self.instance.clone() {
            Some(host) => match host.stop(self.ending.handing_over) {
                // It says when it has stopped; the wait is bounded.
                Some(done) => {
                    let addr = ctx.address();
                    actix::spawn(async move {
                        let timed_out = tokio::time::timeout(timeout, done).await.is_err();
                        addr.do_send(InProcStopped {
                            generation,
                            timed_out,
                        });
                    });
                }
                // Its exit is reported as an instance event; it is killed
                // if that does not come in time.
                None => {
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
            },
            None => {
                // Launching: it will be killed when the launch result arrives.
                self.ending.killed_for = Some("stopped while starting".into());
            }
        }
    }
}

impl Handler<super::Relocate> for Proxy {
    type Result = ();

    fn handle(&mut self, msg: super::Relocate, _: &mut Self::Context) {
        use crate::config::Placement;
        let mut spec = (*self.spec).clone();
        let from = spec.placement;
        spec.placement = msg.placement;
        spec.standby = msg.placement == Placement::Process;
        spec.nodes = msg.nodes;
        if from == Placement::Process && msg.placement != Placement::Process {
            self.shared.standbys.discard(&spec.name);
        }
        let to = match spec.nodes.as_slice() {
            [] => msg.placement.as_str().to_string(),
            nodes => format!("{} ({})", msg.placement.as_str(), nodes.join(", ")),
        };
        self.event("moving", format!("from {} to {to}", from.as_str()));
        self.handover_wanted = true;
        self.spec = std::sync::Arc::new(spec);
        self.status
            .update(|status| status.placement = msg.placement);
    }
}

impl Handler<Inject> for Proxy {
    type Result = ();

    fn handle(&mut self, msg: Inject, _: &mut Self::Context) {
        if let Some(host) = &self.instance {
            host.inject(msg.0);
        }
    }
}

impl Handler<Launched> for Proxy {
    type Result = ();

    fn handle(&mut self, msg: Launched, ctx: &mut Self::Context) {
        if msg.generation != self.generation || !self.starting || self.instance.is_some() {
            // A launch given up on (a stop, a start timeout): end it.
            if let Ok(host) = msg.result {
                host.kill(true);
                if let Some(check) = host.retire() {
                    check();
                }
            }
            return;
        }
        match msg.result {
            Ok(host) => {
                self.instance = Some(host);
                if let Some(reason) = self.ending.killed_for.take() {
                    self.kill_for(reason, true, ctx);
                    return;
                }
                // What the instance said before its host arrived.
                for event in std::mem::take(&mut self.early) {
                    self.on_event(event, ctx);
                    if self.instance.is_none() {
                        break;
                    }
                }
            }
            Err(err) => {
                let reason = format!("start failed: {err}");
                self.event("start_failed", reason.clone());
                self.ending.start_error = Some(err);
                self.finish(reason, false, ctx);
            }
        }
    }
}

impl Handler<Tagged> for Proxy {
    type Result = ();

    fn handle(&mut self, msg: Tagged, ctx: &mut Self::Context) {
        if msg.generation != self.generation {
            if let InstanceEvent::Exited { status, .. } = &msg.event {
                tracing::debug!(actor = %self.spec.name, generation = msg.generation, %status, "reaped a finished child");
            }
            return;
        }
        if self.instance.is_none() {
            if self.starting {
                self.early.push(msg.event);
            }
            return;
        }
        self.on_event(msg.event, ctx);
    }
}

impl Proxy {
    fn on_event(&mut self, event: InstanceEvent, ctx: &mut Context<Self>) {
        match event {
            InstanceEvent::Ready => {
                if self.starting {
                    self.on_ready(ctx);
                }
            }
            InstanceEvent::StartFailed(why) => {
                let reason = format!("start failed: {why}");
                self.event("start_failed", reason.clone());
                self.ending.start_error = Some(StartError::Actor(why));
                // A child exits by itself after saying so; its exit status
                // completes the story. Any other instance is done now.
                match &self.instance {
                    Some(host) if host.reports_exit() => self.ending.said = Some(reason),
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
            InstanceEvent::Handover(state) => {
                // Kept for the next instance (the move's), if there is any.
                if !state.is_empty() && std::mem::take(&mut self.ending.handing_over) {
                    self.event(
                        "handover",
                        format!("{} bytes of state for the next instance", state.len()),
                    );
                    self.handover = Some(std::sync::Arc::from(state));
                }
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

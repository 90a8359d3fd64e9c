//! The in-process host: the actor runs inside an actix actor on its own
//! `Arbiter` (thread), so heavy work never stalls the kernel. Panics are
//! caught by the core and end the instance; the proxy then restarts it on a
//! fresh arbiter. A hung instance is abandoned: its cancel flag is set, its
//! arbiter is told to stop, and a new one takes over.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use actix::prelude::*;
use warden_transport::{FailureKind, InjectedFault, Payload};

use crate::actor::Actor as Concern;
use crate::call_error::CallError;
use crate::core::{Core, End};
use crate::ctx::{Ctx, Outlet, PublishError};
use crate::instance::{Cancel, InstanceEvent, Tagged};
use crate::route::{CallResult, Route};

/// Messages from the kernel to an in-process host.
#[derive(Message)]
#[rtype(result = "()")]
pub(crate) enum ToHost {
    Call {
        generation: u64,
        id: u64,
        /// The caller's tracing span (0: none).
        span: u64,
        payload: Payload,
    },
    Tell(Payload),
    Beat(u64),
    Inject(InjectedFault),
    Stop(tokio::sync::oneshot::Sender<()>),
}

/// Publishes go straight to the kernel's bus.
pub(crate) struct BusOutlet(pub(crate) Arc<crate::bus::Bus>);

impl Outlet for BusOutlet {
    fn publish(&self, topic: &str, payload: Payload) -> Result<(), PublishError> {
        self.0.publish(topic, payload);
        Ok(())
    }
}

/// Turn a core outcome into what the caller sees.
pub(crate) fn call_result(
    actor: &str,
    outcome: Result<Payload, (FailureKind, String)>,
) -> CallResult {
    outcome.map_err(|(kind, reason)| match kind {
        FailureKind::Rejected => CallError::Rejected {
            actor: actor.to_string(),
            reason,
        },
        FailureKind::Failed => CallError::Failed {
            actor: actor.to_string(),
            reason,
        },
    })
}

/// Everything needed to start an in-process instance.
pub(crate) struct InProcInit {
    pub(crate) config: toml::Table,
    pub(crate) generation: u64,
    pub(crate) tick: Option<Duration>,
    pub(crate) route: Arc<Route>,
    pub(crate) events: Recipient<Tagged>,
    pub(crate) outlet: Arc<dyn Outlet>,
    pub(crate) cancel: Cancel,
}

/// A running in-process instance, as the proxy holds it.
pub(crate) struct InProcInstance {
    pub(crate) arbiter: Arbiter,
    pub(crate) host: Recipient<ToHost>,
    pub(crate) cancel: Cancel,
    /// Set by a kill: the host panics (injected) before it handles anything
    /// more, instead of after everything already queued.
    kill: Arc<AtomicBool>,
}

impl InProcInstance {
    /// End the instance as soon as its current message is handled: an
    /// injected panic at the next message boundary (the queue behind it is
    /// not run; its calls are re-sent or answered `Restarting`).
    pub(crate) fn kill(&self) {
        self.kill.store(true, Ordering::Relaxed);
        let _ = self.host.try_send(ToHost::Inject(InjectedFault::Panic));
    }

    /// Give up on the instance: it must not answer anything any more.
    pub(crate) fn abandon(&self) {
        self.cancel.cancel();
        self.arbiter.stop();
    }
}

/// Start `A` on a new arbiter. Readiness is reported through `init.events`.
pub(crate) fn start<A: Concern>(init: InProcInit) -> InProcInstance {
    let arbiter = Arbiter::new();
    let cancel = init.cancel.clone();
    let kill = Arc::new(AtomicBool::new(false));
    let host = InProcHost::<A> {
        core: None,
        init: Some(init),
        generation: 0,
        route: None,
        events: None,
        cancel: cancel.clone(),
        kill: Arc::clone(&kill),
        done: false,
    };
    let addr = InProcHost::start_in_arbiter(&arbiter.handle(), move |_| host);
    InProcInstance {
        arbiter,
        host: addr.recipient(),
        cancel,
        kill,
    }
}

struct InProcHost<A: Concern> {
    core: Option<Box<Core<A>>>,
    init: Option<InProcInit>,
    generation: u64,
    route: Option<Arc<Route>>,
    events: Option<Recipient<Tagged>>,
    cancel: Cancel,
    kill: Arc<AtomicBool>,
    done: bool,
}

impl<A: Concern> InProcHost<A> {
    fn report(&self, event: InstanceEvent) {
        if let Some(events) = &self.events {
            events.do_send(Tagged {
                generation: self.generation,
                event,
            });
        }
    }

    fn end(&mut self, end: End, ctx: &mut Context<Self>) {
        self.done = true;
        self.report(InstanceEvent::Ended(end));
        ctx.stop();
        Arbiter::current().stop();
    }
}

impl<A: Concern> Actor for InProcHost<A> {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        // The route bounds the mailbox itself; actix's own bound would only
        // refuse heartbeats.
        ctx.set_mailbox_capacity(1 << 20);
        let Some(init) = self.init.take() else {
            return;
        };
        self.generation = init.generation;
        self.route = Some(Arc::clone(&init.route));
        self.events = Some(init.events.clone());
        let name: Arc<str> = Arc::clone(&init.route.name);
        let span = tracing::info_span!(
            "actor",
            actor = %name,
            generation = init.generation,
            placement = "inprocess",
            pid = std::process::id()
        );
        let cx = Ctx::new(
            name,
            init.generation,
            init.outlet,
            None,
            init.cancel.flag(),
            span,
        );
        match Core::<A>::start(&init.config, cx) {
            Ok(core) => {
                self.core = Some(Box::new(core));
                if let Some(period) = init.tick {
                    ctx.run_interval(period, |host, ctx| {
                        if host.done || host.cancel.is_cancelled() {
                            return;
                        }
                        if let Some(end) = host.core.as_mut().and_then(|core| core.tick()) {
                            host.end(end, ctx);
                        }
                    });
                }
                self.report(InstanceEvent::Ready);
            }
            Err(reason) => {
                self.done = true;
                self.report(InstanceEvent::StartFailed(reason));
                ctx.stop();
                Arbiter::current().stop();
            }
        }
    }
}

impl<A: Concern> Handler<ToHost> for InProcHost<A> {
    type Result = ();

    fn handle(&mut self, msg: ToHost, ctx: &mut Self::Context) {
        if self.done || self.cancel.is_cancelled() {
            if let ToHost::Stop(done) = msg {
                let _ = done.send(());
            }
            return;
        }
        let killed = self.kill.load(Ordering::Relaxed) && !matches!(msg, ToHost::Stop(_));
        let msg = if killed {
            ToHost::Inject(InjectedFault::Panic)
        } else {
            msg
        };
        let (Some(core), Some(route)) = (self.core.as_mut(), self.route.clone()) else {
            return;
        };
        match msg {
            ToHost::Call {
                generation,
                id,
                span,
                payload,
            } => {
                let _span = tracing::debug_span!("call", id, caller_span = span).entered();
                let handled = core.call(payload);
                route.complete(generation, id, call_result(&route.name, handled.outcome));
                if let Some(end) = handled.end {
                    self.end(end, ctx);
                }
            }
            ToHost::Tell(payload) => {
                let end = core.tell(payload);
                route.tells_done(self.generation, 1);
                if let Some(end) = end {
                    self.end(end, ctx);
                }
            }
            ToHost::Beat(n) => route.beat(self.generation, n),
            ToHost::Inject(InjectedFault::Panic) => {
                let reason = match crate::panics::guarded(|| -> () {
                    std::panic::panic_any("injected panic (kernel diagnostics)")
                }) {
                    Err(panic) => crate::core::panic_message(&*panic),
                    Ok(()) => unreachable!("panic_any returned"),
                };
                self.end(End::failure(format!("panicked: {reason}")), ctx);
            }
            ToHost::Inject(InjectedFault::Hang) => {
                // Hang like real code would, but give the thread back once
                // the kernel has abandoned this instance.
                while !self.cancel.is_cancelled() {
                    std::thread::sleep(Duration::from_millis(5));
                }
            }
            ToHost::Stop(done) => {
                core.stop();
                self.done = true;
                let _ = done.send(());
                ctx.stop();
                Arbiter::current().stop();
            }
        }
    }
}

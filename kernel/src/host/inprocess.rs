//! The in-process placement: the actor runs inside an actix actor on its own
//! `Arbiter` (thread), so heavy work never stalls the kernel. Panics are
//! caught by the core and end the instance; the proxy then restarts it on a
//! fresh arbiter. A hung instance is abandoned: its cancel flag is set, its
//! arbiter is told to stop, and a new one takes over.
//!
//! Its peers are the kernel's own directory and bus: a request to another
//! actor goes straight to that actor's route, and the answer comes back to
//! this host as a message.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use actix::prelude::*;
use tokio::sync::oneshot;
use warden_transport::{FailureKind, InjectedFault, Payload};

use crate::actor::Actor as Concern;
use crate::bus::{Bus, Queue};
use crate::call_error::CallError;
use crate::core::{Core, End};
use crate::ctx::{Ctx, CtxParts, Outlet, PeerRequest, Peers, PublishError, Waker};
use crate::directory::Directory;
use crate::error::StartError;
use crate::host::{Cancel, Host, InstanceEvent, Killed, Launch, Launched, Placer, Sent, Tagged};
use crate::route::{CallResult, Reply, Route};

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
    /// The answer to the actor's request `id`.
    Answer {
        id: u64,
        result: CallResult,
    },
    /// Values arrived on a subscription.
    Wake,
    /// Stop gracefully; `handover`: hand the actor's snapshot over first.
    Stop {
        done: oneshot::Sender<()>,
        handover: bool,
    },
}

/// Publishes go straight to the kernel's bus, events to its log.
pub(crate) struct BusOutlet {
    shared: Arc<crate::proxy::Shared>,
    name: Arc<str>,
    generation: u64,
}

impl Outlet for BusOutlet {
    fn publish(&self, topic: &str, payload: Payload) -> Result<(), PublishError> {
        self.shared.bus.publish(topic, payload);
        Ok(())
    }

    fn event(&self, kind: &str, detail: &str) {
        self.shared.events.push(
            &self.name,
            kind,
            detail,
            Some(std::process::id()),
            self.generation,
        );
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

/// Starts in-process instances.
pub(crate) struct InProcessPlacer;

impl Placer for InProcessPlacer {
    fn launch(&self, launch: Launch) -> Result<(), StartError> {
        let done = launch.done.clone();
        let generation = launch.generation;
        let factory = Arc::clone(&launch.factory);
        let host: Arc<dyn Host> = factory.start_inprocess(launch);
        done.do_send(Launched {
            generation,
            result: Ok(host),
        });
        Ok(())
    }

    fn uses_pool(&self) -> bool {
        false
    }
}

/// A running in-process instance.
pub(crate) struct InProcInstance {
    arbiter: Arbiter,
    host: Recipient<ToHost>,
    cancel: Cancel,
    /// Set by a kill: the host panics (injected) before it handles anything
    /// more, instead of after everything already queued.
    kill: Arc<AtomicBool>,
}

impl InProcInstance {
    fn abandon(&self) {
        self.cancel.cancel();
        self.arbiter.stop();
    }
}

impl Host for InProcInstance {
    fn pid(&self) -> u32 {
        std::process::id()
    }

    fn reports_exit(&self) -> bool {
        false
    }

    fn call(&self, generation: u64, id: u64, span: u64, payload: Payload) -> Sent {
        match self.host.try_send(ToHost::Call {
            generation,
            id,
            span,
            payload,
        }) {
            Ok(()) => Sent::Yes,
            Err(
                SendError::Full(ToHost::Call { payload, .. })
                | SendError::Closed(ToHost::Call { payload, .. }),
            ) => Sent::Gone(payload),
            Err(_) => Sent::Refused("internal: the host returned another message".into()),
        }
    }

    fn tell(&self, payload: Payload) -> Sent {
        match self.host.try_send(ToHost::Tell(payload)) {
            Ok(()) => Sent::Yes,
            Err(
                SendError::Full(ToHost::Tell(payload)) | SendError::Closed(ToHost::Tell(payload)),
            ) => Sent::Gone(payload),
            Err(_) => Sent::Refused("internal: the host returned another message".into()),
        }
    }

    fn heartbeat(&self, n: u64) {
        let _ = self.host.try_send(ToHost::Beat(n));
    }

    fn inject(&self, fault: InjectedFault) {
        let _ = self.host.try_send(ToHost::Inject(fault));
    }

    /// A kill ends the instance as soon as its current message is handled:
    /// an injected panic at the next message boundary (the queue behind it
    /// is not run; its calls are re-sent or answered `Restarting`). An
    /// instance stuck in a message is abandoned: it must answer nothing more.
    fn kill(&self, abandon: bool) -> Killed {
        if abandon {
            self.abandon();
            Killed::Now(None)
        } else {
            self.kill.store(true, Ordering::Relaxed);
            let _ = self.host.try_send(ToHost::Inject(InjectedFault::Panic));
            Killed::AtBoundary
        }
    }

    fn stop(&self, handover: bool) -> Option<oneshot::Receiver<()>> {
        let (done_tx, done_rx) = oneshot::channel();
        let _ = self.host.try_send(ToHost::Stop {
            done: done_tx,
            handover,
        });
        Some(done_rx)
    }

    fn retire(&self) -> Option<Box<dyn FnOnce() + Send>> {
        self.cancel.cancel();
        None
    }
}

/// Start `A` on a new arbiter. Readiness is reported through `launch.events`.
pub(crate) fn start<A: Concern>(launch: Launch) -> Arc<InProcInstance> {
    let arbiter = Arbiter::new();
    let cancel = Cancel::default();
    let kill = Arc::new(AtomicBool::new(false));
    let host = InProcHost::<A> {
        core: None,
        launch: Some(launch),
        generation: 0,
        route: None,
        events: None,
        cancel: cancel.clone(),
        kill: Arc::clone(&kill),
        woken: Arc::new(AtomicBool::new(false)),
        done: false,
    };
    let addr = InProcHost::start_in_arbiter(&arbiter.handle(), move |_| host);
    Arc::new(InProcInstance {
        arbiter,
        host: addr.recipient(),
        cancel,
        kill,
    })
}

/// Requests, tells and subscriptions of an in-process actor.
struct LocalPeers {
    name: Arc<str>,
    directory: Arc<Directory>,
    bus: Arc<Bus>,
    host: Recipient<ToHost>,
    /// Set while a `Wake` waits in the host's mailbox (at most one does).
    woken: Arc<AtomicBool>,
}

impl Peers for LocalPeers {
    fn request(&self, request: PeerRequest) -> Result<(), CallError> {
        let host = self.host.clone();
        let id = request.id;
        self.directory.request(
            &request.target,
            request.kind,
            request.payload,
            request.idempotent,
            request.timeout,
            Reply::Callback(Box::new(move |result| {
                host.do_send(ToHost::Answer { id, result });
            })),
        );
        Ok(())
    }

    fn tell(&self, target: &str, kind: &'static str, payload: Payload) {
        self.directory.tell(&self.name, target, kind, payload);
    }

    fn subscribe(&self, topic: &str, capacity: usize) -> Arc<Queue> {
        let waker = self.waker();
        self.bus
            .subscribe_queue(topic, capacity, Some(Box::new(move || waker.wake())))
    }

    fn waker(&self) -> Waker {
        let (host, woken) = (self.host.clone(), Arc::clone(&self.woken));
        Waker::new(move || {
            if !woken.swap(true, Ordering::AcqRel) {
                host.do_send(ToHost::Wake);
            }
        })
    }
}

struct InProcHost<A: Concern> {
    core: Option<Box<Core<A>>>,
    launch: Option<Launch>,
    generation: u64,
    route: Option<Arc<Route>>,
    events: Option<Recipient<crate::host::Tagged>>,
    cancel: Cancel,
    kill: Arc<AtomicBool>,
    woken: Arc<AtomicBool>,
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
        let Some(launch) = self.launch.take() else {
            return;
        };
        self.generation = launch.generation;
        self.route = Some(Arc::clone(&launch.route));
        self.events = Some(launch.events.clone());
        let name: Arc<str> = Arc::clone(&launch.route.name);
        let span = tracing::info_span!(
            "actor",
            actor = %name,
            generation = launch.generation,
            placement = "inprocess",
            pid = std::process::id()
        );
        let peers = Arc::new(LocalPeers {
            name: Arc::clone(&name),
            directory: Arc::clone(&launch.shared.directory),
            bus: Arc::clone(&launch.shared.bus),
            host: ctx.address().recipient(),
            woken: Arc::clone(&self.woken),
        });
        let cx = Ctx::new(CtxParts {
            name,
            generation: launch.generation,
            outlet: Arc::new(BusOutlet {
                shared: Arc::clone(&launch.shared),
                name: Arc::clone(&launch.route.name),
                generation: launch.generation,
            }),
            peers,
            pool: None,
            cancelled: self.cancel.flag(),
            span,
        });
        match Core::<A>::start(&launch.spec.config, cx, launch.handover.as_deref()) {
            Ok(core) => {
                self.core = Some(Box::new(core));
                if let Some(period) = launch.spec.tick {
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
            if let ToHost::Stop { done, .. } = msg {
                let _ = done.send(());
            }
            return;
        }
        let killed = self.kill.load(Ordering::Relaxed) && !matches!(msg, ToHost::Stop { .. });
        let msg = if killed {
            ToHost::Inject(InjectedFault::Panic)
        } else {
            msg
        };
        let (Some(core), Some(route)) = (self.core.as_mut(), self.route.clone()) else {
            return;
        };
        let end = match msg {
            ToHost::Call {
                generation,
                id,
                span,
                payload,
            } => {
                let _span = tracing::debug_span!("call", id, caller_span = span).entered();
                let handled = core.call(payload);
                route.complete(generation, id, call_result(&route.name, handled.outcome));
                handled.end
            }
            ToHost::Tell(payload) => {
                let end = core.tell(payload);
                route.tells_done(self.generation, 1);
                end
            }
            ToHost::Beat(n) => {
                route.beat(self.generation, n);
                None
            }
            ToHost::Answer { id, result } => {
                core.answer(id, result);
                core.wake()
            }
            ToHost::Wake => {
                self.woken.store(false, Ordering::Release);
                core.wake()
            }
            ToHost::Inject(InjectedFault::Panic) => {
                let reason = crate::core::injected_panic();
                Some(End::failure(format!("panicked: {reason}")))
            }
            ToHost::Inject(InjectedFault::Hang) => {
                // Hang like real code would, but give the thread back once
                // the kernel has abandoned this instance.
                while !self.cancel.is_cancelled() {
                    std::thread::sleep(Duration::from_millis(5));
                }
                None
            }
            ToHost::Inject(InjectedFault::Stall(ms)) => {
                core.set_stall(ms);
                None
            }
            // A child's faults: `Kernel::inject` refuses them here.
            ToHost::Inject(
                InjectedFault::Garbage
                | InjectedFault::Oversize
                | InjectedFault::Exit(_)
                | InjectedFault::Linger,
            ) => None,
            ToHost::Stop { done, handover } => {
                let state = handover.then(|| core.snapshot());
                core.stop();
                if let Some(state) = state {
                    self.report(InstanceEvent::Handover(state));
                }
                self.done = true;
                let _ = done.send(());
                ctx.stop();
                Arbiter::current().stop();
                None
            }
        };
        if let Some(end) = end {
            self.end(end, ctx);
        }
    }
}

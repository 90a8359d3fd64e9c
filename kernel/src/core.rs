//! The part of hosting that is the same in both placements: decode a message,
//! run the actor with panics caught, encode the reply, and say whether the
//! instance must end. The in-process host and the child worker both wrap it.

use std::time::Duration;

use warden_transport::{FailureKind, Payload, decode_value, encode_value};

use crate::actor::{Actor, ActorError};
use crate::ctx::Ctx;
use crate::route::CallResult;

/// Exit code of an instance that panicked or failed fatally (EX_SOFTWARE).
pub(crate) const EXIT_FAILURE: i32 = 70;

/// Why an instance ends.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct End {
    /// The exit code it ends with (0: normal).
    pub(crate) code: i32,
    /// What happened, for people.
    pub(crate) reason: String,
}

impl End {
    pub(crate) fn failure(reason: String) -> Self {
        End {
            code: EXIT_FAILURE,
            reason,
        }
    }
}

/// The result of handling one message.
pub(crate) struct Handled {
    /// The reply, or the failure to report to the caller.
    pub(crate) outcome: Result<Payload, (FailureKind, String)>,
    /// Set when the instance must end after this message.
    pub(crate) end: Option<End>,
}

pub(crate) use crate::panics::message as panic_message;

/// Raise the kernel's diagnostic panic inside the actor guard (so it is
/// counted as the actor's, not the kernel's); returns its message.
pub(crate) fn injected_panic() -> String {
    match crate::panics::guarded(|| -> () {
        std::panic::panic_any("injected panic (kernel diagnostics)")
    }) {
        Err(panic) => panic_message(&*panic),
        Ok(()) => "injected panic (kernel diagnostics)".to_string(),
    }
}

/// Deserialize an actor's own config table.
pub(crate) fn parse_config<A: Actor>(table: &toml::Table) -> Result<A::Config, String> {
    let config = toml::Value::Table(table.clone())
        .try_into::<A::Config>()
        .map_err(|err| err.to_string().trim_end().to_string())?;
    A::validate(&config).map_err(|problem| problem.to_string())?;
    Ok(config)
}

/// A running actor and its context.
pub(crate) struct Core<A: Actor> {
    actor: A,
    ctx: Ctx,
    /// An injected stall: every message waits this long first.
    stall: Duration,
}

fn ends(err: &ActorError) -> Option<End> {
    match err {
        ActorError::Fatal(reason) => Some(End::failure(format!("fatal error: {reason}"))),
        ActorError::Exit(code) => Some(End {
            code: *code,
            reason: format!("exited with code {code}"),
        }),
        ActorError::Rejected(_) | ActorError::Failed(_) => None,
    }
}

impl<A: Actor> Core<A> {
    /// Run `Actor::start`, panics caught, then `Actor::restore` with the
    /// state a moved instance handed over, if any.
    pub(crate) fn start(
        config: &toml::Table,
        mut ctx: Ctx,
        handover: Option<&[u8]>,
    ) -> Result<Self, String> {
        let config = parse_config::<A>(config)?;
        let mut core = match crate::panics::guarded(|| A::start(config, &mut ctx)) {
            Ok(Ok(actor)) => Core {
                actor,
                ctx,
                stall: Duration::ZERO,
            },
            Ok(Err(err)) => return Err(err.to_string()),
            Err(panic) => {
                return Err(format!("panicked in start: {}", panic_message(&*panic)));
            }
        };
        if let Some(state) = handover {
            let restored = crate::panics::guarded(|| core.actor.restore(state, &mut core.ctx));
            let detail = match restored {
                Ok(Ok(())) => format!(
                    "restored {} bytes of the moved instance's state",
                    state.len()
                ),
                Ok(Err(err)) => {
                    format!("the moved instance's state was refused ({err}); started fresh")
                }
                Err(panic) => format!(
                    "panicked restoring the moved instance's state ({}); started fresh",
                    panic_message(&*panic)
                ),
            };
            core.ctx.report("handover", &detail);
        }
        Ok(core)
    }

    /// Run `Actor::snapshot` (a move), panics caught and logged: the state
    /// for the next instance, empty when there is none.
    pub(crate) fn snapshot(&mut self) -> Vec<u8> {
        match crate::panics::guarded(|| self.actor.snapshot(&mut self.ctx)) {
            Ok(state) => state.unwrap_or_default(),
            Err(panic) => {
                tracing::warn!(actor = %self.ctx.name(), panic = %panic_message(&*panic), "panicked in snapshot: nothing handed over");
                Vec::new()
            }
        }
    }

    /// Kernel diagnostics: delay every message from now on by `ms` (0: none).
    pub(crate) fn set_stall(&mut self, ms: u32) {
        self.stall = Duration::from_millis(u64::from(ms));
    }

    /// Handle a call.
    pub(crate) fn call(&mut self, payload: Payload) -> Handled {
        if !self.stall.is_zero() {
            std::thread::sleep(self.stall);
        }
        let msg: A::Msg = match decode_value(payload) {
            Ok(msg) => msg,
            Err(err) => {
                return Handled {
                    outcome: Err((FailureKind::Rejected, format!("malformed request: {err}"))),
                    end: None,
                };
            }
        };
        let _span = self.ctx.span().clone().entered();
        let result = crate::panics::guarded(|| self.actor.handle(msg, &mut self.ctx));
        match result {
            Ok(Ok(reply)) => match encode_value(&reply) {
                Ok(payload) => Handled {
                    outcome: Ok(payload),
                    end: None,
                },
                Err(err) => Handled {
                    outcome: Err((
                        FailureKind::Failed,
                        format!("cannot encode the reply: {err}"),
                    )),
                    end: None,
                },
            },
            Ok(Err(err)) => {
                let end = ends(&err);
                let kind = match err {
                    ActorError::Rejected(_) => FailureKind::Rejected,
                    _ => FailureKind::Failed,
                };
                let reason = match &err {
                    ActorError::Rejected(reason) | ActorError::Failed(reason) => reason.clone(),
                    other => format!("the instance ended: {other}"),
                };
                Handled {
                    outcome: Err((kind, reason)),
                    end,
                }
            }
            Err(panic) => {
                let reason = format!("panicked: {}", panic_message(&*panic));
                Handled {
                    outcome: Err((FailureKind::Failed, reason.clone())),
                    end: Some(End::failure(reason)),
                }
            }
        }
    }

    /// Handle a tell; its errors are logged, since nobody waits for them.
    pub(crate) fn tell(&mut self, payload: Payload) -> Option<End> {
        let handled = self.call(payload);
        if let Err((_, reason)) = &handled.outcome {
            tracing::warn!(actor = %self.ctx.name(), %reason, "a told message failed");
        }
        handled.end
    }

    /// Run `Actor::tick`, panics caught.
    pub(crate) fn tick(&mut self) -> Option<End> {
        let _span = self.ctx.span().clone().entered();
        crate::panics::guarded(|| self.actor.tick(&mut self.ctx))
            .err()
            .map(|panic| End::failure(format!("panicked in tick: {}", panic_message(&*panic))))
    }

    /// A reply to one of the actor's requests arrived.
    pub(crate) fn answer(&mut self, id: u64, result: CallResult) {
        self.ctx.answer(id, result);
    }

    /// Run `Actor::wake`, panics caught.
    pub(crate) fn wake(&mut self) -> Option<End> {
        let _span = self.ctx.span().clone().entered();
        crate::panics::guarded(|| self.actor.wake(&mut self.ctx))
            .err()
            .map(|panic| End::failure(format!("panicked in wake: {}", panic_message(&*panic))))
    }

    /// Run `Actor::stop`, panics caught and logged.
    pub(crate) fn stop(&mut self) {
        if let Err(panic) = crate::panics::guarded(|| self.actor.stop(&mut self.ctx)) {
            tracing::warn!(actor = %self.ctx.name(), panic = %panic_message(&*panic), "panicked in stop");
        }
    }
}

//! The actor contract: what a concern implements to be hosted by the kernel,
//! in-process or in a child process, without knowing which.

use serde::Serialize;
use serde::de::DeserializeOwned;
use warden_transport::PoolSpec;

use crate::ctx::Ctx;

/// An actor: a named, stateful handler of messages, started from its config.
///
/// `handle` runs one message at a time. Returning an error answers the caller
/// with that error and keeps the actor running, except [`ActorError::Fatal`]
/// and [`ActorError::Exit`], which end the instance like a panic does; the
/// supervisor then applies its restart policy. A panic is caught and treated
/// as a failure of the instance.
pub trait Actor: Sized + Send + 'static {
    /// The kind name, as used in `[actors.NAME] kind = "…"`.
    const KIND: &'static str;
    /// The actor's own configuration keys (`deny_unknown_fields`, please).
    type Config: DeserializeOwned + Send + 'static;
    /// Requests.
    type Msg: Serialize + DeserializeOwned + Send + Clone + 'static;
    /// Replies.
    type Reply: Serialize + DeserializeOwned + Send + 'static;

    /// Build the actor. An error here is a start failure.
    fn start(config: Self::Config, ctx: &mut Ctx) -> Result<Self, ActorError>;

    /// Handle one message.
    fn handle(&mut self, msg: Self::Msg, ctx: &mut Ctx) -> Result<Self::Reply, ActorError>;

    /// Called at the rate the config gives (`tick_ms`), between messages.
    fn tick(&mut self, _ctx: &mut Ctx) {}

    /// Called once on graceful shutdown.
    fn stop(&mut self, _ctx: &mut Ctx) {}

    /// Called between messages when replies to the actor's requests
    /// (`Ctx::request`) or values on its subscriptions (`Ctx::subscribe`)
    /// have arrived — at most once per batch of arrivals.
    fn wake(&mut self, _ctx: &mut Ctx) {}

    /// Check the actor's own config beyond what its types say (ranges,
    /// combinations of keys). `warden check-config` and every start run it;
    /// the error names the key within the actor's table.
    fn validate(_config: &Self::Config) -> Result<(), ConfigProblem> {
        Ok(())
    }

    /// The shared-memory pool the actor needs in a child process when its
    /// table sets none (`shm_slots`, `shm_slot_bytes`): without one, large
    /// frames cannot cross. Sized from the actor's own config.
    fn pool_hint(_config: &Self::Config) -> Option<PoolSpec> {
        None
    }

    /// How often `tick` runs when the table sets no `tick_ms`: an actor
    /// that plays against the clock (audio, a camera) asks for its rate.
    fn tick_hint(_config: &Self::Config) -> Option<std::time::Duration> {
        None
    }

    /// Work a child of this kind may do before it knows its config: a
    /// standby child (see `standby` in docs/CONFIG.md) runs it while it
    /// waits to be needed, so that a later `start` finds it done (load
    /// drivers, probe devices, warm process-wide caches). It must not
    /// depend on config, hold resources an instance owns, or fail.
    fn warm_up() {}

    /// The state to hand to the next instance when the kernel *moves* the
    /// actor (`POST /api/actors/NAME/move`, the dashboard's move menu):
    /// called once, after the last message and before `stop`, in the old
    /// placement. The bytes reach the new instance's [`Actor::restore`]
    /// whatever the two placements are. `None` (the default): nothing to
    /// hand over (state that lives in files, or none). Crashes and plain
    /// restarts hand nothing over: a fresh instance starts from its config.
    fn snapshot(&mut self, _ctx: &mut Ctx) -> Option<Vec<u8>> {
        None
    }

    /// Take over what the moved instance's [`Actor::snapshot`] gave: called
    /// after `start` and before the first message. An error is logged as a
    /// `handover` event and the instance carries on as started (fresh).
    fn restore(&mut self, _state: &[u8], _ctx: &mut Ctx) -> Result<(), ActorError> {
        Ok(())
    }

    /// Whether `msg` may be delivered twice. Idempotent calls in flight when
    /// an instance dies are re-sent to the next instance; others are
    /// answered [`crate::CallError::Restarting`].
    fn idempotent(_msg: &Self::Msg) -> bool {
        false
    }
}

/// How `handle` (or `start`) can fail.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ActorError {
    /// The request is invalid; the caller gets `CallError::Rejected`.
    #[error("rejected: {0}")]
    Rejected(String),
    /// The request could not be served; the caller gets `CallError::Failed`.
    #[error("failed: {0}")]
    Failed(String),
    /// The instance cannot go on; it is ended and the supervisor decides.
    #[error("fatal: {0}")]
    Fatal(String),
    /// The instance ends with an exit code (0 is a normal exit).
    #[error("exit with code {0}")]
    Exit(i32),
}

/// What is wrong with one key of an actor's own config.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{key}: {message}")]
pub struct ConfigProblem {
    /// The key within the actor's table (`fps`, `generator.bpm`).
    pub key: String,
    /// What is wrong with it.
    pub message: String,
}

impl ConfigProblem {
    /// A problem with `key`.
    pub fn new(key: impl Into<String>, message: impl Into<String>) -> Self {
        ConfigProblem {
            key: key.into(),
            message: message.into(),
        }
    }
}

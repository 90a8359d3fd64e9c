//! The kernel's typed errors: why an instance did not start, and what a
//! caller of the kernel's API (the admin API, the binary) can branch on.

/// Why an instance could not be started.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum StartError {
    /// An instance is already running or starting.
    #[error("{0} is already running")]
    AlreadyRunning(String),
    /// Its shared-memory pool could not be created.
    #[error("cannot create its shared-memory pool: {0}")]
    Pool(String),
    /// Its configuration could not be passed to the child.
    #[error("cannot encode its config: {0}")]
    Config(String),
    /// The child process could not be started or connected.
    #[error("cannot start the child process: {0}")]
    Spawn(String),
    /// `Actor::start` returned an error or panicked.
    #[error("start failed: {0}")]
    Actor(String),
    /// It did not become ready in time (and was killed).
    #[error("did not become ready within {0} ms")]
    Timeout(u64),
    /// A stop was asked for while it was starting.
    #[error("stopped while starting")]
    Stopped,
    /// It ended before it became ready.
    #[error("ended while starting: {0}")]
    Ended(String),
    /// The kernel could not carry the start out (a thread, a channel).
    #[error("{0}")]
    Internal(String),
}

/// Kernel-level failures.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum KernelError {
    /// No actor of that name is configured.
    #[error("no actor named {0:?}")]
    UnknownActor(String),
    /// The actor exists but is of another kind.
    #[error("actor {name:?} is a {actual}, not a {expected}")]
    WrongKind {
        /// The actor.
        name: String,
        /// The kind asked for.
        expected: String,
        /// Its kind.
        actual: String,
    },
    /// The system could not start: which actor, and why.
    #[error("boot failed: {actor} failed to start: {source}")]
    Boot {
        /// The actor that did not start.
        actor: String,
        /// Why.
        source: StartError,
    },
    /// An actor could not be (re)started.
    #[error("{actor} could not be started: {source}")]
    Start {
        /// The actor.
        actor: String,
        /// Why.
        source: StartError,
    },
    /// The supervisor has stopped (it escalated, or the kernel shut down).
    #[error("the supervisor has stopped: {0}")]
    Stopped(String),
    /// The actor cannot take this request in its placement (a fault only a
    /// child process can inject, asked of an in-process actor).
    #[error("{actor}: {reason}")]
    Unsupported {
        /// The actor.
        actor: String,
        /// Why, in words.
        reason: String,
    },
    /// The admin API could not listen.
    #[error("cannot serve the admin API on {addr}: {reason}")]
    Bind {
        /// The address.
        addr: String,
        /// Why.
        reason: String,
    },
    /// The kernel's own machinery failed (an actor mailbox, a thread).
    #[error("internal error: {0}")]
    Internal(String),
}

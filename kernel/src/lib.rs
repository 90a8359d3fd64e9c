//! Warden's kernel: the actor contract, the hosts (in-process and child
//! process, behind one trait), the supervisor with OTP semantics, calls and
//! topics between actors, configuration, and the admin HTTP API. It knows no
//! concern; the binary registers actor types.
//!
//! Start with [`Actor`] (what a concern implements), [`Kernel::boot`] (how a
//! system starts) and [`ActorRef`] (how callers talk to an actor).

pub mod actor;
mod actor_ref;
pub mod admin;
mod admin_doc;
mod bus;
mod call_error;
mod clock;
mod cluster;
pub mod config;
mod core;
mod ctx;
mod directory;
mod error;
mod events;
mod host;
mod kernel;
mod liveness;
mod metrics;
pub mod node;
pub mod panics;
pub mod probe;
mod proxy;
mod registry;
mod restart_policy;
mod route;
mod spawner;
mod status;
mod supervisor;
mod wire;
pub mod worker;

pub use actor::{Actor, ActorError, ConfigProblem};
pub use actor_ref::ActorRef;
pub use bus::{Bus, Subscription, TopicCounters};
pub use call_error::{CallError, TellError};
pub use config::{ConfigError, KernelConfig, Placement, Restart, Strategy};
pub use ctx::{Ctx, Pending, PublishError, Publisher, Waker};
pub use error::{KernelError, StartError};
pub use events::Event;
pub use kernel::{Kernel, KernelOptions};
pub use metrics::Metrics;
pub use registry::Registry;
pub use status::{ActorStatus, State};
pub use warden_transport::{FrameBuf, InjectedFault, PoolSpec, SharedFrame};

/// An environment variable that, set to anything, makes the kernel read
/// its children's channels with the blocking reader only (no busy-polling),
/// as on a one-CPU machine; for tests of that path.
pub const BLOCKING_READER_ENV: &str = "WARDEN_BLOCKING_READER";

//! The registry of actor kinds the binary knows. The kernel knows no concern:
//! the binary registers each `Actor` type, and the registry turns it into the
//! type-erased operations the kernel needs (validate a config, start an
//! in-process instance, run a child).

use std::marker::PhantomData;
use std::sync::Arc;

use indexmap::IndexMap;

use warden_transport::PoolSpec;

use crate::actor::Actor;
use crate::host::{Host, Launch, inprocess};
use crate::worker::{self, WorkerArgs};

pub(crate) trait Factory: Send + Sync {
    /// Check the actor's own keys; returns what it asks of the kernel.
    fn validate(&self, table: &toml::Table) -> Result<Hints, ConfigFault>;
    fn start_inprocess(&self, launch: Launch) -> Arc<dyn Host>;
    fn run_worker(&self, args: &WorkerArgs) -> i32;
}

/// Why an actor's own table was refused.
pub(crate) enum ConfigFault {
    /// It does not deserialize (toml's message names the key).
    Parse(String),
    /// A value is out of range (the actor names the key).
    Invalid(crate::actor::ConfigProblem),
}

/// What an actor kind asks of the kernel when its table does not say.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Hints {
    pub(crate) pool: Option<PoolSpec>,
    pub(crate) tick: Option<std::time::Duration>,
}

struct Typed<A>(PhantomData<fn() -> A>);

impl<A: Actor> Factory for Typed<A> {
    fn validate(&self, table: &toml::Table) -> Result<Hints, ConfigFault> {
        let config = toml::Value::Table(table.clone())
            .try_into::<A::Config>()
            .map_err(|err| ConfigFault::Parse(err.to_string().trim_end().to_string()))?;
        A::validate(&config).map_err(ConfigFault::Invalid)?;
        Ok(Hints {
            pool: A::pool_hint(&config),
            tick: A::tick_hint(&config),
        })
    }

    fn start_inprocess(&self, launch: Launch) -> Arc<dyn Host> {
        inprocess::start::<A>(launch)
    }

    fn run_worker(&self, args: &WorkerArgs) -> i32 {
        worker::run::<A>(args)
    }
}

/// The actor kinds a binary can host.
#[derive(Clone, Default)]
pub struct Registry {
    factories: IndexMap<&'static str, Arc<dyn Factory>>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry")
            .field("kinds", &self.kinds())
            .finish()
    }
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// A registry with the kernel's own actors (the `probe`).
    pub fn with_builtins() -> Self {
        let mut registry = Self::new();
        registry.register::<crate::probe::Probe>();
        registry
    }

    /// Register actor type `A` under `A::KIND`.
    pub fn register<A: Actor>(&mut self) -> &mut Self {
        self.factories
            .insert(A::KIND, Arc::new(Typed::<A>(PhantomData)));
        self
    }

    /// Registered kinds, in registration order.
    pub fn kinds(&self) -> Vec<&'static str> {
        self.factories.keys().copied().collect()
    }

    pub(crate) fn get(&self, kind: &str) -> Option<Arc<dyn Factory>> {
        self.factories.get(kind).cloned()
    }

    /// Run the child side of a process host (`warden worker`); returns the
    /// process exit code.
    pub fn run_worker(&self, args: &WorkerArgs) -> i32 {
        match self.get(&args.kind) {
            Some(factory) => factory.run_worker(args),
            None => {
                tracing::error!(kind = %args.kind, known = ?self.kinds(), "worker asked for an unknown actor kind");
                worker::EXIT_PROTOCOL
            }
        }
    }
}

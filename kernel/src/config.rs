//! The kernel's configuration: TOML parsed into raw structs that deny unknown
//! keys, then validated once into typed settings. Every error names its key.

use std::net::SocketAddr;
use std::time::Duration;

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use warden_transport::PoolSpec;

use crate::registry::Registry;

mod actor_spec;
mod cluster;
mod errors;

use actor_spec::actor_spec;
pub use cluster::ClusterConfig;
use cluster::RawCluster;
use errors::toml_error;

/// The admin address when the config names none.
pub const DEFAULT_ADMIN_ADDR: &str = "127.0.0.1:7878";

/// Where an actor runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Placement {
    /// On its own thread (actix `Arbiter`) inside the kernel process.
    Inprocess,
    /// In a child process: the same binary, re-executed as `warden worker`.
    Process,
    /// In a child process of a `warden node` on another host, reached over
    /// NATS (`[cluster] nats_url`; the actor's `node` or `nodes`).
    Remote,
}

impl Placement {
    /// Whether `nodes` fit this placement: a remote actor names at least
    /// one node, each a node name; a local one names none. The error is
    /// the key it is about (`node`) and what is wrong.
    pub(crate) fn check_nodes(self, nodes: &[String]) -> Result<(), (&'static str, String)> {
        if let Some(bad) = nodes.iter().find(|node| !crate::cluster::is_token(node)) {
            return Err((
                "node",
                format!("{bad:?} is not a node name (1 to 64 of a-z, 0-9, '_', '-')"),
            ));
        }
        match (self, nodes.is_empty()) {
            (Placement::Remote, true) => Err((
                "node",
                "placement = \"remote\" needs `node = \"NAME\"` or `nodes = [...]`".into(),
            )),
            (Placement::Inprocess | Placement::Process, false) => Err((
                "node",
                format!(
                    "only a remote actor runs on a node (placement is {:?})",
                    self.as_str()
                ),
            )),
            _ => Ok(()),
        }
    }

    /// The config spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Placement::Inprocess => "inprocess",
            Placement::Process => "process",
            Placement::Remote => "remote",
        }
    }
}

/// When a child is restarted (OTP's restart types).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Restart {
    /// Always.
    Permanent,
    /// Only after an abnormal exit.
    Transient,
    /// Never.
    Temporary,
}

impl Strategy {
    /// The config spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Strategy::OneForOne => "one_for_one",
            Strategy::OneForAll => "one_for_all",
            Strategy::RestForOne => "rest_for_one",
        }
    }
}

impl Restart {
    /// The config spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Restart::Permanent => "permanent",
            Restart::Transient => "transient",
            Restart::Temporary => "temporary",
        }
    }
}

/// Which children a failure restarts (OTP's strategies).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Strategy {
    /// Only the failed child.
    OneForOne,
    /// Every child.
    OneForAll,
    /// The failed child and every child started after it.
    RestForOne,
}

/// A configuration error: the key and what is wrong with it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{key}: {message}")]
pub struct ConfigError {
    /// Dotted path of the key (`actors.probe.placement`), or `config` for syntax errors.
    pub key: String,
    /// What is wrong.
    pub message: String,
}

impl ConfigError {
    pub(crate) fn new(key: impl Into<String>, message: impl Into<String>) -> Self {
        ConfigError {
            key: key.into(),
            message: message.into(),
        }
    }
}

/// Admin HTTP settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AdminConfig {
    /// Bind address.
    pub addr: SocketAddr,
    /// Bearer token for mutating endpoints (`None`: the kernel makes one up at start).
    pub token: Option<String>,
    /// Let clients change the scene (WebSocket `state.update`) and send
    /// perception commands without the token (`[kernel] open_writes`).
    pub open_writes: bool,
    /// Web origins besides the server's own allowed to open `/ws`
    /// (`[kernel] allowed_origins`, e.g. `["http://localhost:5173"]`).
    pub allowed_origins: Vec<String>,
}

/// Supervisor settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SupervisorConfig {
    /// Restart strategy.
    pub strategy: Strategy,
    /// More than this many restarts…
    pub max_restarts: u32,
    /// …within this window escalate.
    pub within: Duration,
    /// Default heartbeat period.
    pub heartbeat: Duration,
    /// Default number of silent periods before an instance counts as hung.
    pub heartbeat_misses: u32,
    /// First restart delay after a quick failure (the very first restart is immediate).
    pub backoff_initial: Duration,
    /// Longest restart delay.
    pub backoff_max: Duration,
}

/// One actor as configured.
#[derive(Clone, Debug, PartialEq)]
pub struct ActorSpec {
    /// Its name (the `[actors.NAME]` table).
    pub name: String,
    /// Its kind (a registered `Actor::KIND`).
    pub kind: String,
    /// Where it runs.
    pub placement: Placement,
    /// When it is restarted.
    pub restart: Restart,
    /// How long a graceful stop may take before it is killed.
    pub shutdown_timeout: Duration,
    /// Default deadline of calls to it.
    pub call_timeout: Duration,
    /// Bound of its mailbox (calls and tells waiting or in flight).
    pub mailbox: usize,
    /// Tick period, if it ticks.
    pub tick: Option<Duration>,
    /// Shared-memory pool (process placement only).
    pub pool: Option<PoolSpec>,
    /// Heartbeat period.
    pub heartbeat: Duration,
    /// Silent periods before it counts as hung.
    pub heartbeat_misses: u32,
    /// How long a start (spawn, handshake, `Actor::start`) may take.
    pub start_timeout: Duration,
    /// Keep a standby child, exec'd and connected ahead, for its next
    /// instance (process placement; `standby`, default true).
    pub standby: bool,
    /// The nodes it may run on, in order of preference (remote placement:
    /// `node = "a"` or `nodes = ["a", "b"]`; empty otherwise).
    pub nodes: Vec<String>,
    /// The actor's own keys.
    pub config: toml::Table,
}

/// The whole validated configuration.
#[derive(Clone, Debug, PartialEq)]
pub struct KernelConfig {
    /// Admin HTTP.
    pub admin: AdminConfig,
    /// Supervisor.
    pub supervisor: SupervisorConfig,
    /// Actors in start order.
    pub actors: Vec<ActorSpec>,
    /// The cluster, when `[cluster]` is written.
    pub cluster: Option<ClusterConfig>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    kernel: RawKernel,
    #[serde(default)]
    supervisor: RawSupervisor,
    #[serde(default)]
    actors: IndexMap<String, toml::Table>,
    cluster: Option<RawCluster>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawKernel {
    admin_addr: Option<String>,
    admin_token: Option<String>,
    start_timeout_ms: Option<u64>,
    #[serde(default)]
    open_writes: bool,
    #[serde(default)]
    allowed_origins: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawSupervisor {
    strategy: Strategy,
    max_restarts: u32,
    within_secs: u64,
    heartbeat_ms: u64,
    heartbeat_misses: u32,
    backoff_initial_ms: u64,
    backoff_max_ms: u64,
}

impl Default for RawSupervisor {
    fn default() -> Self {
        RawSupervisor {
            strategy: Strategy::OneForOne,
            max_restarts: 10,
            within_secs: 10,
            heartbeat_ms: 200,
            heartbeat_misses: 3,
            backoff_initial_ms: 10,
            backoff_max_ms: 1000,
        }
    }
}

impl KernelConfig {
    /// Parse and validate a TOML document against the registered actor kinds.
    pub fn from_toml(text: &str, registry: &Registry) -> Result<Self, ConfigError> {
        let raw: RawConfig = toml::from_str(text).map_err(|err| toml_error(text, &err))?;
        let kernel = raw.kernel;
        let sup = raw.supervisor;

        let addr_text = kernel.admin_addr.as_deref().unwrap_or(DEFAULT_ADMIN_ADDR);
        let addr = addr_text.parse::<SocketAddr>().map_err(|err| {
            ConfigError::new(
                "kernel.admin_addr",
                format!("{addr_text:?} is not an address: {err}"),
            )
        })?;
        let token = match kernel.admin_token {
            Some(token) if token.trim().is_empty() => {
                return Err(ConfigError::new("kernel.admin_token", "must not be empty"));
            }
            other => other,
        };
        for origin in &kernel.allowed_origins {
            let scheme_ok = origin.starts_with("http://") || origin.starts_with("https://");
            if !scheme_ok || origin.ends_with('/') || origin.matches('/').count() != 2 {
                return Err(ConfigError::new(
                    "kernel.allowed_origins",
                    format!("{origin:?} is not an origin (scheme://host[:port], no path)"),
                ));
            }
        }
        let start_timeout = Duration::from_millis(kernel.start_timeout_ms.unwrap_or(10_000));
        at_least(
            "kernel.start_timeout_ms",
            start_timeout.as_millis() as u64,
            100,
        )?;

        at_least("supervisor.heartbeat_ms", sup.heartbeat_ms, 10)?;
        at_least(
            "supervisor.heartbeat_misses",
            sup.heartbeat_misses as u64,
            1,
        )?;
        at_least("supervisor.within_secs", sup.within_secs, 1)?;
        if sup.backoff_max_ms < sup.backoff_initial_ms {
            return Err(ConfigError::new(
                "supervisor.backoff_max_ms",
                format!(
                    "must not be below backoff_initial_ms ({} < {})",
                    sup.backoff_max_ms, sup.backoff_initial_ms
                ),
            ));
        }
        let supervisor = SupervisorConfig {
            strategy: sup.strategy,
            max_restarts: sup.max_restarts,
            within: Duration::from_secs(sup.within_secs),
            heartbeat: Duration::from_millis(sup.heartbeat_ms),
            heartbeat_misses: sup.heartbeat_misses,
            backoff_initial: Duration::from_millis(sup.backoff_initial_ms),
            backoff_max: Duration::from_millis(sup.backoff_max_ms),
        };

        let mut actors = Vec::with_capacity(raw.actors.len());
        for (name, table) in raw.actors {
            actors.push(actor_spec(
                name,
                table,
                &supervisor,
                start_timeout,
                registry,
            )?);
        }
        let cluster = raw.cluster.map(RawCluster::validated).transpose()?;
        if cluster.is_none()
            && let Some(remote) = actors.iter().find(|a| a.placement == Placement::Remote)
        {
            return Err(ConfigError::new(
                format!("actors.{}.placement", remote.name),
                "\"remote\" needs a [cluster] table with nats_url (docs/CLUSTER.md)",
            ));
        }
        Ok(KernelConfig {
            cluster,
            admin: AdminConfig {
                addr,
                token,
                open_writes: kernel.open_writes,
                allowed_origins: kernel.allowed_origins,
            },
            supervisor,
            actors,
        })
    }

    /// The spec of the actor called `name`.
    pub fn actor(&self, name: &str) -> Option<&ActorSpec> {
        self.actors.iter().find(|spec| spec.name == name)
    }
}

pub(crate) fn at_least(key: &str, value: u64, min: u64) -> Result<(), ConfigError> {
    if value < min {
        return Err(ConfigError::new(
            key,
            format!("must be at least {min} (got {value})"),
        ));
    }
    Ok(())
}

#[cfg(test)]
#[path = "config_tests.rs"]
mod tests;

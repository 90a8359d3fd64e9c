//! The kernel's configuration: TOML parsed into raw structs that deny unknown
//! keys, then validated once into typed settings. Every error names its key.

use std::net::SocketAddr;
use std::time::Duration;

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use warden_transport::PoolSpec;

use crate::registry::Registry;

/// The admin address when the config names none.
pub const DEFAULT_ADMIN_ADDR: &str = "127.0.0.1:7878";

/// Where an actor runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Placement {
    /// On its own thread (actix `Arbiter`) inside the kernel process.
    Inprocess,
    /// In a child process: the same binary, re-executed as `warden worker`.
    Process,
}

impl Placement {
    /// The config spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Placement::Inprocess => "inprocess",
            Placement::Process => "process",
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
    fn new(key: impl Into<String>, message: impl Into<String>) -> Self {
        ConfigError {
            key: key.into(),
            message: message.into(),
        }
    }
}

/// A TOML error as a `ConfigError` naming the dotted key: toml reports the
/// byte span of the offending key or value; the key is the text before `=`
/// on that line and its table the last `[header]` above it. Syntax errors
/// without a key keep the whole report under `config`.
fn toml_error(text: &str, err: &toml::de::Error) -> ConfigError {
    let Some(span) = err.span() else {
        let report = err.to_string();
        let one_line: Vec<&str> = report.lines().map(str::trim).collect();
        return ConfigError::new("config", one_line.join(" "));
    };
    let start = span.start.min(text.len());
    let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
    let line_no = text[..start].matches('\n').count() + 1;
    let line_end = text[start..].find('\n').map_or(text.len(), |i| start + i);
    let line = &text[line_start..line_end];
    let column = text[line_start..start].chars().count() + 1;
    let fallback = || {
        ConfigError::new(
            "config",
            format!(
                "{} (line {line_no}, column {column})",
                err.message().trim_end()
            ),
        )
    };
    let table = text[..line_start]
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| l.starts_with('[') && !l.starts_with("[["))
        .map(|l| l.trim_matches(|c| c == '[' || c == ']').trim().to_owned());
    if let Some(header) = line
        .trim()
        .strip_prefix('[')
        .and_then(|l| l.strip_suffix(']'))
    {
        // The error is about a table itself (`[kernal]`).
        let header = header.trim_matches(|c| c == '[' || c == ']').trim();
        return ConfigError::new(
            header,
            format!("{} (line {line_no})", err.message().trim_end()),
        );
    }
    let key = line
        .split_once('=')
        .map(|(k, _)| k.trim().trim_matches('"'));
    let dotted = match (table, key) {
        (Some(table), Some(key)) if !key.is_empty() => format!("{table}.{key}"),
        (Some(table), _) => table,
        (None, Some(key)) if !key.is_empty() => key.to_owned(),
        _ => return fallback(),
    };
    ConfigError::new(
        dotted,
        format!("{} (line {line_no})", err.message().trim_end()),
    )
}

/// An error from an actor's own config keys, named by its dotted key:
/// toml reports a bad value as "…\nin `key`" and an unknown key as
/// "unknown field `key`, …".
fn actor_key_error(prefix: &str, message: &str) -> ConfigError {
    let between_ticks = |text: &str| {
        let rest = text.split_once('`')?.1;
        Some(rest.split_once('`')?.0.to_owned())
    };
    if let Some((what, place)) = message.rsplit_once("\nin ")
        && let Some(key) = between_ticks(place)
    {
        return ConfigError::new(format!("{prefix}.{key}"), what.trim_end());
    }
    if let Some(rest) = message.strip_prefix("unknown field ")
        && let Some(key) = between_ticks(rest)
    {
        return ConfigError::new(format!("{prefix}.{key}"), message);
    }
    ConfigError::new(prefix, message)
}

/// Admin HTTP settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AdminConfig {
    /// Bind address.
    pub addr: SocketAddr,
    /// Bearer token for mutating endpoints (`None`: the kernel makes one up at start).
    pub token: Option<String>,
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
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawKernel {
    admin_addr: Option<String>,
    admin_token: Option<String>,
    start_timeout_ms: Option<u64>,
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

/// The kernel's own keys inside `[actors.NAME]`; every other key belongs to the actor.
const ACTOR_KERNEL_KEYS: &[&str] = &[
    "kind",
    "placement",
    "restart",
    "shutdown_timeout_ms",
    "call_timeout_ms",
    "mailbox",
    "tick_ms",
    "shm_slots",
    "shm_slot_bytes",
    "heartbeat_ms",
    "heartbeat_misses",
];

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
        Ok(KernelConfig {
            admin: AdminConfig { addr, token },
            supervisor,
            actors,
        })
    }

    /// The spec of the actor called `name`.
    pub fn actor(&self, name: &str) -> Option<&ActorSpec> {
        self.actors.iter().find(|spec| spec.name == name)
    }
}

fn at_least(key: &str, value: u64, min: u64) -> Result<(), ConfigError> {
    if value < min {
        return Err(ConfigError::new(
            key,
            format!("must be at least {min} (got {value})"),
        ));
    }
    Ok(())
}

fn actor_spec(
    name: String,
    mut table: toml::Table,
    supervisor: &SupervisorConfig,
    start_timeout: Duration,
    registry: &Registry,
) -> Result<ActorSpec, ConfigError> {
    let prefix = format!("actors.{name}");
    if name.is_empty()
        || name.len() > 64
        || !name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
    {
        return Err(ConfigError::new(
            prefix,
            "actor names use 1 to 64 of a-z, 0-9, '_' and '-'",
        ));
    }
    let mut kernel_keys = toml::Table::new();
    for key in ACTOR_KERNEL_KEYS {
        if let Some(value) = table.remove(*key) {
            kernel_keys.insert((*key).to_string(), value);
        }
    }
    fn get<T: serde::de::DeserializeOwned>(
        keys: &toml::Table,
        prefix: &str,
        key: &str,
    ) -> Result<Option<T>, ConfigError> {
        keys.get(key)
            .map(|value| {
                value.clone().try_into::<T>().map_err(|err| {
                    ConfigError::new(format!("{prefix}.{key}"), err.to_string().trim_end())
                })
            })
            .transpose()
    }
    let kind: String = get(&kernel_keys, &prefix, "kind")?.unwrap_or_else(|| name.clone());
    let Some(factory) = registry.get(&kind) else {
        let key = if kernel_keys.contains_key("kind") {
            format!("{prefix}.kind")
        } else {
            prefix.clone()
        };
        return Err(ConfigError::new(
            key,
            format!(
                "unknown actor kind {kind:?}; known kinds: {}",
                registry.kinds().join(", ")
            ),
        ));
    };
    let placement = get(&kernel_keys, &prefix, "placement")?.unwrap_or(Placement::Inprocess);
    let restart = get(&kernel_keys, &prefix, "restart")?.unwrap_or(Restart::Permanent);
    let ms = |key: &str, default: u64, min: u64| -> Result<Duration, ConfigError> {
        let value: u64 = get(&kernel_keys, &prefix, key)?.unwrap_or(default);
        at_least(&format!("{prefix}.{key}"), value, min)?;
        Ok(Duration::from_millis(value))
    };
    let shutdown_timeout = ms("shutdown_timeout_ms", 5_000, 1)?;
    let call_timeout = ms("call_timeout_ms", 5_000, 1)?;
    let heartbeat = ms("heartbeat_ms", supervisor.heartbeat.as_millis() as u64, 10)?;
    let tick = get::<u64>(&kernel_keys, &prefix, "tick_ms")?
        .map(|value| {
            at_least(&format!("{prefix}.tick_ms"), value, 1)?;
            Ok(Duration::from_millis(value))
        })
        .transpose()?;
    let heartbeat_misses: u32 =
        get(&kernel_keys, &prefix, "heartbeat_misses")?.unwrap_or(supervisor.heartbeat_misses);
    at_least(
        &format!("{prefix}.heartbeat_misses"),
        heartbeat_misses as u64,
        1,
    )?;
    let mailbox: usize = get(&kernel_keys, &prefix, "mailbox")?.unwrap_or(1024);
    at_least(&format!("{prefix}.mailbox"), mailbox as u64, 1)?;

    let slots: Option<u32> = get(&kernel_keys, &prefix, "shm_slots")?;
    let slot_bytes: Option<usize> = get(&kernel_keys, &prefix, "shm_slot_bytes")?;
    let pool = match (slots, slot_bytes) {
        (None, None) => None,
        (Some(slots), Some(slot_bytes)) => {
            Some(PoolSpec { slots, slot_bytes }.validated().map_err(|err| {
                // A slot count out of range is about shm_slots; a zero or
                // oversized slot (the region limit) is about shm_slot_bytes.
                let key = if (1..=1024).contains(&slots) {
                    "shm_slot_bytes"
                } else {
                    "shm_slots"
                };
                ConfigError::new(format!("{prefix}.{key}"), err.to_string())
            })?)
        }
        (Some(_), None) => {
            return Err(ConfigError::new(
                format!("{prefix}.shm_slot_bytes"),
                "required when shm_slots is set",
            ));
        }
        (None, Some(_)) => {
            return Err(ConfigError::new(
                format!("{prefix}.shm_slots"),
                "required when shm_slot_bytes is set",
            ));
        }
    };

    factory
        .validate(&table)
        .map_err(|message| actor_key_error(&prefix, &message))?;

    Ok(ActorSpec {
        name,
        kind,
        placement,
        restart,
        shutdown_timeout,
        call_timeout,
        mailbox,
        tick,
        pool,
        heartbeat,
        heartbeat_misses,
        start_timeout,
        config: table,
    })
}

#[cfg(test)]
#[path = "config_tests.rs"]
mod tests;

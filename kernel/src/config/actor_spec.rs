//! One `[actors.NAME]` table: the kernel's keys read and checked, the rest
//! handed to the actor kind's own validation (which may also ask for a
//! shared-memory pool).

use std::time::Duration;

use warden_transport::PoolSpec;

use super::errors::actor_key_error;
use super::{ActorSpec, ConfigError, Placement, Restart, SupervisorConfig, at_least};
use crate::registry::{ConfigFault, Registry};

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
    "standby",
    "node",
    "nodes",
];

pub(super) fn actor_spec(
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
        // Without a `kind` key the table's name is taken as the kind; a key
        // that looks like a misspelt `kind` is the likelier mistake.
        let hint = if kernel_keys.contains_key("kind") {
            String::new()
        } else {
            let mut keys: Vec<&String> = table.keys().collect();
            keys.sort();
            match keys.iter().find(|k| k.contains("kind") || close_to_kind(k)) {
                Some(typo) => format!(" (there is no `kind` key: is {typo:?} a misspelt `kind`?)"),
                None => " (there is no `kind` key, so the name was taken as the kind)".into(),
            }
        };
        return Err(ConfigError::new(
            key,
            format!(
                "unknown actor kind {kind:?}; known kinds: {}{hint}",
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
    // A standby child is a process placement's; in-process it means nothing.
    let standby: bool =
        get(&kernel_keys, &prefix, "standby")?.unwrap_or(true) && placement == Placement::Process;
    let node: Option<String> = get(&kernel_keys, &prefix, "node")?;
    let listed: Option<Vec<String>> = get(&kernel_keys, &prefix, "nodes")?;
    let nodes = match (node, listed) {
        (Some(_), Some(_)) => {
            return Err(ConfigError::new(
                format!("{prefix}.nodes"),
                "give `node` or `nodes`, not both",
            ));
        }
        (Some(node), None) => vec![node],
        (None, Some(nodes)) => nodes,
        (None, None) => Vec::new(),
    };
    if let Err((_, message)) = placement.check_nodes(&nodes) {
        // The key the user wrote (`nodes` when that is the one given).
        let key = match (nodes.is_empty(), kernel_keys.contains_key("nodes")) {
            (false, true) => "nodes",
            _ => "node",
        };
        return Err(ConfigError::new(format!("{prefix}.{key}"), message));
    }
    let mailbox: usize = get(&kernel_keys, &prefix, "mailbox")?.unwrap_or(1024);
    at_least(&format!("{prefix}.mailbox"), mailbox as u64, 1)?;

    // The actor's own keys first: an unknown key (a misspelt `shm_slots`,
    // say) is named as such, not as the pair it broke.
    let hints = factory.validate(&table).map_err(|fault| match fault {
        ConfigFault::Parse(message) => actor_key_error(&prefix, &message),
        ConfigFault::Invalid(problem) => {
            ConfigError::new(format!("{prefix}.{}", problem.key), problem.message)
        }
    })?;

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

    // Keys set in the table win; otherwise what the actor kind asks for.
    let tick = tick.or(hints.tick);
    let pool = match pool {
        Some(pool) => Some(pool),
        None => hints
            .pool
            .map(|hint| {
                hint.validated()
                    .map_err(|err| ConfigError::new(prefix.clone(), err.to_string()))
            })
            .transpose()?,
    };

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
        standby,
        nodes,
        config: table,
    })
}

/// Whether `key` is one edit (a letter changed, added or dropped, or two
/// swapped) away from `kind`.
fn close_to_kind(key: &str) -> bool {
    let (a, b): (Vec<char>, Vec<char>) = (key.chars().collect(), "kind".chars().collect());
    match a.len() as isize - b.len() as isize {
        0 => {
            let diff: Vec<usize> = (0..a.len()).filter(|&i| a[i] != b[i]).collect();
            diff.len() == 1
                || diff.len() == 2
                    && diff[1] == diff[0] + 1
                    && a[diff[0]] == b[diff[1]]
                    && a[diff[1]] == b[diff[0]]
        }
        1 => (0..a.len()).any(|i| [&a[..i], &a[i + 1..]].concat() == b),
        -1 => (0..b.len()).any(|i| [&b[..i], &b[i + 1..]].concat() == a),
        _ => false,
    }
}

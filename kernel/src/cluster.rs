//! Past one machine: the kernel's and the nodes' connection to NATS, the
//! subjects they use, and the tunnel that carries one instance's envelopes
//! between the kernel and the `warden node` hosting it (docs/CLUSTER.md).
//!
//! A remote instance is a child process of a node, served by the same
//! `warden worker` code as a local child. Each end of the tunnel talks to a
//! local peer over the usual ipc link — the node to its child, the kernel's
//! end to the kernel's own reader — and terminates there what is local:
//! flow-control credit and the release of shared-memory slots. Everything
//! else crosses as one NATS message per envelope ([`tunnel`]), frames
//! inline: a frame leaves one host's pool and lands in a slot of the other's.

pub(crate) mod tunnel;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use futures_util::StreamExt as _;
use serde::{Deserialize, Serialize};

use crate::config::ClusterConfig;

/// Whether `text` is usable as one NATS subject token here (an actor, node
/// or prefix name): 1 to 64 of a-z, 0-9, '_' and '-'.
pub(crate) fn is_token(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= 64
        && text
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
}

/// The subjects of one cluster (all under its prefix).
#[derive(Clone, Debug)]
pub(crate) struct Subjects {
    prefix: String,
}

impl Subjects {
    pub(crate) fn new(prefix: &str) -> Self {
        Subjects {
            prefix: prefix.to_string(),
        }
    }
    /// Requests to start an instance on `node`.
    pub(crate) fn start(&self, node: &str) -> String {
        format!("{}.node.{node}.start", self.prefix)
    }
    /// Kill requests to `node`.
    pub(crate) fn control(&self, node: &str) -> String {
        format!("{}.node.{node}.ctl", self.prefix)
    }
    /// `node`'s heartbeats.
    pub(crate) fn beat(&self, node: &str) -> String {
        format!("{}.node.{node}.beat", self.prefix)
    }
    /// The actor kinds the kernel may start on `node` (JSON list of
    /// kinds): the node keeps a standby child of each, so that a failover
    /// or a move there skips the exec and the kind's warm-up.
    pub(crate) fn warm(&self, node: &str) -> String {
        format!("{}.node.{node}.warm", self.prefix)
    }
    /// Every node's heartbeats.
    pub(crate) fn beats(&self) -> String {
        format!("{}.node.*.beat", self.prefix)
    }
    /// Generation fences, to every node.
    pub(crate) fn fence(&self) -> String {
        format!("{}.fence", self.prefix)
    }
    /// Kernel → instance (`down`) or instance → kernel (`up`), of kernel
    /// `kernel`'s actor `actor`, instance `generation`, start attempt
    /// `attempt` (a start that timed out and is carried out late by its
    /// node talks on subjects nobody listens to).
    pub(crate) fn instance(
        &self,
        kernel: &str,
        actor: &str,
        generation: u64,
        attempt: u32,
        dir: &str,
    ) -> String {
        format!(
            "{}.inst.{kernel}.{actor}.{generation}-{attempt}.{dir}",
            self.prefix
        )
    }
}

/// What a node says of itself every beat (JSON).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct NodeBeat {
    /// Its name.
    pub(crate) name: String,
    /// Its pid on its host.
    pub(crate) pid: u32,
    /// Its host's name.
    pub(crate) host: String,
    /// CPUs it may use.
    pub(crate) cpus: usize,
    /// Instances it hosts now (`actor/generation`).
    pub(crate) instances: Vec<String>,
    /// Instances it can host at most.
    pub(crate) capacity: usize,
    /// Actor kinds it keeps a standby child of.
    #[serde(default)]
    pub(crate) standbys: Vec<String>,
}

/// A node as the kernel last heard it.
#[derive(Clone, Debug)]
pub(crate) struct NodeSeen {
    pub(crate) at: Instant,
    pub(crate) beat: NodeBeat,
    /// A start on it failed at this time (no responders): skipped until it
    /// beats again after that.
    pub(crate) failed_at: Option<Instant>,
}

/// Connect options from the config (credentials and TLS passed through).
pub(crate) async fn connect(
    config: &ClusterConfig,
    name: &str,
) -> Result<async_nats::Client, String> {
    let mut options = async_nats::ConnectOptions::new()
        .name(name)
        .retry_on_initial_connect()
        .connection_timeout(Duration::from_secs(3))
        // Tunnels carry frames: a deep client queue rather than an error.
        .client_capacity(65_536)
        .subscription_capacity(65_536);
    if let Some(creds) = &config.creds {
        options = options
            .credentials_file(creds)
            .await
            .map_err(|err| format!("cluster.creds {}: {err}", creds.display()))?;
    }
    if let (Some(user), Some(password)) = (&config.user, &config.password) {
        options = options.user_and_password(user.clone(), password.clone());
    }
    if let Some(token) = &config.token {
        options = options.token(token.clone());
    }
    if config.tls_required {
        options = options.require_tls(true);
    }
    if let Some(ca) = &config.tls_ca {
        options = options.add_root_certificates(ca.clone());
    }
    let urls: Vec<async_nats::ServerAddr> = config
        .nats_url
        .split(',')
        .map(|url| {
            url.trim()
                .parse()
                .map_err(|err| format!("cluster.nats_url {url:?}: {err}"))
        })
        .collect::<Result<_, _>>()?;
    // `retry_on_initial_connect` would wait forever for a server that is
    // not there; the first connection gets a bound of its own.
    let connecting = options.connect(urls.as_slice());
    match tokio::time::timeout(Duration::from_secs(5), connecting).await {
        Ok(Ok(client)) => {
            // Wait until the connection is up (or say why not).
            for _ in 0..100 {
                if client.connection_state() == async_nats::connection::State::Connected {
                    return Ok(client);
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(format!(
                "no NATS server answers at {} (is nats-server running? docs/CLUSTER.md)",
                config.nats_url
            ))
        }
        Ok(Err(err)) => Err(format!(
            "cannot connect to NATS at {}: {err}",
            config.nats_url
        )),
        Err(_) => Err(format!(
            "no NATS server answers at {} within 5 s (is nats-server running? docs/CLUSTER.md)",
            config.nats_url
        )),
    }
}

/// The kernel's side of the cluster: its NATS client on a runtime of its
/// own (the kernel's threads never wait on the network), and the nodes it
/// has heard.
pub(crate) struct Cluster {
    /// `None` only while dropping.
    runtime: Option<tokio::runtime::Runtime>,
    pub(crate) client: async_nats::Client,
    pub(crate) subjects: Subjects,
    pub(crate) config: ClusterConfig,
    /// This kernel among the kernels sharing the nodes (its instances'
    /// generations count from 1 again after a restart).
    pub(crate) id: String,
    nodes: Arc<Mutex<HashMap<String, NodeSeen>>>,
}

impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cluster")
            .field("nats_url", &self.config.nats_url)
            .finish()
    }
}

impl Cluster {
    /// Connect and start following the nodes' heartbeats. `warm`: the
    /// actor kinds each node may be asked to start, told to it whenever it
    /// joins (or comes back as a new process).
    pub(crate) fn connect(
        config: &ClusterConfig,
        warm: HashMap<String, Vec<String>>,
    ) -> Result<Arc<Self>, String> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("warden-nats")
            .enable_all()
            .build()
            .map_err(|err| format!("cannot start the cluster runtime: {err}"))?;
        let client = runtime.block_on(connect(config, "warden-kernel"))?;
        let subjects = Subjects::new(&config.prefix);
        let nodes: Arc<Mutex<HashMap<String, NodeSeen>>> = Arc::default();
        let mut beats = runtime
            .block_on(client.subscribe(subjects.beats()))
            .map_err(|err| format!("cannot follow the nodes' heartbeats: {err}"))?;
        let table = Arc::clone(&nodes);
        let hints = client.clone();
        let warm_subjects = subjects.clone();
        runtime.spawn(async move {
            while let Some(message) = beats.next().await {
                let Ok(beat) = serde_json::from_slice::<NodeBeat>(&message.payload) else {
                    tracing::warn!(subject = %message.subject, "a malformed node heartbeat; ignored");
                    continue;
                };
                let name = beat.name.clone();
                let fresh = {
                let mut nodes = table.lock().unwrap_or_else(PoisonError::into_inner);
                let now = Instant::now();
                let pid = beat.pid;
                let entry = nodes.entry(beat.name.clone());
                let fresh = match &entry {
                    std::collections::hash_map::Entry::Occupied(seen) => seen.get().beat.pid != pid,
                    std::collections::hash_map::Entry::Vacant(_) => true,
                };
                match entry {
                    std::collections::hash_map::Entry::Occupied(mut seen) => {
                        let seen = seen.get_mut();
                        seen.at = now;
                        seen.beat = beat;
                        if seen.failed_at.is_some_and(|at| now.duration_since(at) > Duration::from_millis(300)) {
                            seen.failed_at = None;
                        }
                    }
                    std::collections::hash_map::Entry::Vacant(slot) => {
                        tracing::info!(node = %beat.name, host = %beat.host, "a node joined");
                        slot.insert(NodeSeen {
                            at: now,
                            beat,
                            failed_at: None,
                        });
                    }
                }
                fresh
                };
                if fresh
                    && let Some(kinds) = warm.get(&name)
                    && let Ok(bytes) = serde_json::to_vec(kinds)
                {
                    let _ = hints.publish(warm_subjects.warm(&name), bytes.into()).await;
                }
            }
        });
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        Ok(Arc::new(Cluster {
            id: format!("k{:x}{:x}", std::process::id(), nanos & 0xffff_ffff_ffff),
            runtime: Some(runtime),
            client,
            subjects,
            config: config.clone(),
            nodes,
        }))
    }

    /// The cluster's runtime.
    pub(crate) fn runtime(&self) -> &tokio::runtime::Runtime {
        self.runtime
            .as_ref()
            .expect("invariant: the runtime is taken only by Drop")
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, NodeSeen>> {
        self.nodes.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether `node` has beaten within the node timeout and not failed a
    /// start since.
    pub(crate) fn is_up(&self, node: &str) -> bool {
        self.lock().get(node).is_some_and(|seen| {
            seen.at.elapsed() <= self.config.node_timeout && seen.failed_at.is_none()
        })
    }

    /// How long `node` has been silent (`None`: never heard).
    pub(crate) fn silent_for(&self, node: &str) -> Option<Duration> {
        self.lock().get(node).map(|seen| seen.at.elapsed())
    }

    /// A start on `node` found nobody there.
    pub(crate) fn mark_failed(&self, node: &str) {
        if let Some(seen) = self.lock().get_mut(node) {
            seen.failed_at = Some(Instant::now());
        }
    }

    /// Wait up to `within` for `node` to be up (a kernel that boots beside
    /// its nodes hears their first beats within a beat period).
    pub(crate) fn wait_for(&self, nodes: &[String], within: Duration) -> Option<String> {
        let deadline = Instant::now() + within;
        loop {
            if let Some(up) = nodes.iter().find(|node| self.is_up(node)) {
                return Some(up.clone());
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Every node heard, for the status: name, silent for, instances.
    pub(crate) fn nodes(&self) -> Vec<(String, Duration, NodeBeat)> {
        let mut nodes: Vec<_> = self
            .lock()
            .iter()
            .map(|(name, seen)| (name.clone(), seen.at.elapsed(), seen.beat.clone()))
            .collect();
        nodes.sort_by(|a, b| a.0.cmp(&b.0));
        nodes
    }
}

impl Drop for Cluster {
    /// The kernel may drop its last handle inside an async context (or one
    /// of the cluster's own tasks), where a runtime must not block.
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

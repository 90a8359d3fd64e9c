//! The `store` actor: owns the durable scene store (its directory from the
//! config) and the client protocol machine. Client connections (the
//! WebSocket layer, in whatever process) hand it frames; its answers leave
//! on the `store.session` topic. Every durable change is published on
//! `store.notify` so that other actors follow the scene. A restart in either
//! placement reopens the same files: nothing acknowledged is lost.

mod sessions;
mod watch;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use warden_kernel::{Actor, ActorError, ConfigProblem, Ctx};

use crate::error::StoreError;
use crate::history::HistoryLimits;
use crate::protocol::{ConnId, ProtocolConfig};
use crate::record::Author;
use crate::store::{Outcome, Store, StoreConfig};
use crate::topic::Topic;

use sessions::Sessions;
pub use sessions::{OutFrame, SessionOut};
use watch::CommitWatch;

/// Frames for client connections.
pub const SESSION_TOPIC: &str = "store.session";
/// Every durable change.
pub const NOTIFY_TOPIC: &str = "store.notify";

/// How long a start keeps trying to open files another instance of this
/// actor (one being torn down) still holds.
const OPEN_PATIENCE: Duration = Duration::from_secs(3);

/// `[actors.NAME]` keys of a `store` actor (every one has a default).
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StoreActorConfig {
    /// The store's directory (created if missing; relative to the working directory).
    pub data: PathBuf,
    /// Entries each topic's history keeps for resuming clients.
    pub history: usize,
    /// Entries between checkpoints of the records table.
    pub checkpoint_every: u64,
    /// A session is sent a heartbeat (bookmark) after this long without a frame (ms).
    pub heartbeat_ms: u64,
    /// A connection silent this long is closed (ms).
    pub idle_timeout_ms: u64,
    /// A parked session can be resumed for this long (ms).
    pub resume_ttl_ms: u64,
    /// Updates one session may have in flight.
    pub max_in_flight: usize,
    /// The largest client frame accepted (bytes).
    pub max_frame_bytes: usize,
    /// Give an empty store the scene the compositor draws: the layers
    /// `slideshow`, `bars`, `camera`, `boxes` (bottom to top), the camera
    /// `main`, and the `dims` view `slideshow` (the slideshow's position).
    pub seed: bool,
}

impl Default for StoreActorConfig {
    fn default() -> Self {
        let protocol = ProtocolConfig::default();
        let store = StoreConfig::default();
        StoreActorConfig {
            data: PathBuf::from("warden-data/scene"),
            history: store.history.layers,
            checkpoint_every: store.checkpoint_every,
            heartbeat_ms: protocol.heartbeat_ms,
            idle_timeout_ms: protocol.idle_timeout_ms,
            resume_ttl_ms: protocol.resume_ttl_ms,
            max_in_flight: protocol.max_in_flight,
            max_frame_bytes: protocol.max_frame_bytes,
            seed: true,
        }
    }
}

/// The slideshow's `dims` axis runs 0..=this (a source longer than that
/// wraps round).
pub const SLIDESHOW_STEPS: u64 = 1_000_000;

/// The layers an empty store is given (`seed`), bottom to top.
pub const SEED_LAYERS: [&str; 4] = ["slideshow", "bars", "camera", "boxes"];

/// Seed an empty store (nothing happens to one that holds anything).
fn seed(store: &Store) -> Result<(), StoreError> {
    if store.version() > 0 {
        return Ok(());
    }
    let author = Author::seed();
    let mut version = 0;
    let mut deltas: Vec<(Topic, serde_json::Value)> = SEED_LAYERS
        .iter()
        .map(|id| {
            (
                Topic::Layers,
                serde_json::json!({"op": "add", "id": id, "visible": true, "opacity": 1.0}),
            )
        })
        .collect();
    deltas.push((
        Topic::Camera,
        serde_json::json!({"op": "set", "target": "main", "zoom": 1.0, "center": [0.5, 0.5]}),
    ));
    // The slideshow's position: the compositor keeps it here, so that a
    // restarted compositor resumes, and a client can move it.
    deltas.push((
        Topic::Dims,
        serde_json::json!({"op": "ndim", "target": "slideshow", "ndim": 1}),
    ));
    deltas.push((
        Topic::Dims,
        serde_json::json!({"op": "range", "target": "slideshow", "axis": 0, "range": [0, SLIDESHOW_STEPS, 1]}),
    ));
    for (topic, delta) in deltas {
        match store.apply_delta(topic, delta, version, &author)? {
            Outcome::Ack { version: acked } => version = acked,
            Outcome::Reject { reason, .. } => {
                return Err(StoreError::Failed {
                    reason: format!("the seed scene was refused: {reason}"),
                });
            }
        }
    }
    Ok(())
}

impl StoreActorConfig {
    fn protocol(&self) -> ProtocolConfig {
        ProtocolConfig {
            heartbeat_ms: self.heartbeat_ms,
            idle_timeout_ms: self.idle_timeout_ms,
            resume_ttl_ms: self.resume_ttl_ms,
            max_in_flight: self.max_in_flight,
            max_frame_bytes: self.max_frame_bytes,
        }
    }

    fn store(&self) -> StoreConfig {
        StoreConfig {
            history: HistoryLimits::uniform(self.history),
            checkpoint_every: self.checkpoint_every,
        }
    }
}

/// One record change, as `store.notify` carries it (values as JSON text).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SceneChange {
    /// The update's version.
    pub version: u64,
    /// `layers`, `dims` or `camera`.
    pub topic: String,
    /// The record's target.
    pub target: String,
    /// The record's key.
    pub key: String,
    /// The new value as JSON (`None`: the record was removed).
    pub value_json: Option<String>,
}

/// A `store.notify` value: what became durable, in version order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StoreNotify {
    /// Everything up to this version is durable.
    pub version: u64,
    /// The changes since the previous notify.
    pub changes: Vec<SceneChange>,
    /// Topics whose history was compacted past the previous notify: re-read
    /// them with `Snapshot`.
    pub compacted: Vec<String>,
}

/// Requests.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum StoreMsg {
    /// A client connection opened.
    Open {
        /// Its handle (unique among open connections).
        conn: ConnId,
        /// Whether it may send `state.update` (else refused as `forbidden`).
        may_write: bool,
    },
    /// A text frame from a client (`session.hello`, `state.update`,
    /// `session.heartbeat`, `session.goodbye`; `docs/PROTOCOL.md`).
    Frame {
        /// The connection.
        conn: ConnId,
        /// The frame.
        text: String,
    },
    /// A client connection closed.
    Close {
        /// The connection.
        conn: ConnId,
    },
    /// Apply an update and answer once it is durable (for actors and
    /// tools; clients use sessions).
    Update {
        /// `layers`, `dims` or `camera`.
        topic: String,
        /// The delta, as JSON.
        payload_json: String,
        /// The version the writer has seen.
        expected_version: u64,
        /// Who writes.
        actor_id: String,
    },
    /// One topic's records now (idempotent).
    Snapshot {
        /// `layers`, `dims` or `camera`.
        topic: String,
    },
    /// Version, records, history windows and the audit tail (idempotent).
    Inspect {
        /// Audit entries of the last this many versions.
        tail: u64,
    },
    /// Connections, sessions and counters (idempotent).
    Status,
}

/// Replies.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum StoreReply {
    /// The frame was taken; answers follow on `store.session`.
    Accepted {
        /// The store instance that took it.
        generation: u64,
    },
    /// An update's outcome: acked (durable) at a version, or refused.
    Updated {
        /// Applied.
        ok: bool,
        /// Its version when applied, else the store's.
        version: u64,
        /// Why not, when not applied.
        reason: Option<String>,
    },
    /// A topic's records as JSON `{target: {key: value}}`, at a version.
    Snapshot {
        /// The version.
        version: u64,
        /// The records.
        records_json: String,
    },
    /// `warden store inspect --json`'s report, as JSON.
    Inspect(String),
    /// State.
    Status(StoreStatus),
}

/// What `Status` answers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StoreStatus {
    /// The durable version.
    pub version: u64,
    /// Client connections open.
    pub connections: usize,
    /// Sessions held (live or parked).
    pub sessions: usize,
    /// Updates applied, waiting for their commit.
    pub pending_acks: usize,
    /// Commits (batches) written.
    pub commits: u64,
    /// The store's directory.
    pub data: String,
}

/// See the module documentation.
pub struct StoreActor {
    // Dropped first: unhooks the actor from the store's commits.
    _watch: CommitWatch,
    sessions: Sessions,
    store: Arc<Store>,
    data: PathBuf,
    generation: u64,
    last_tick: Instant,
}

fn topic(name: &str) -> Result<Topic, ActorError> {
    Topic::ALL
        .into_iter()
        .find(|t| t.as_str() == name)
        .ok_or_else(|| {
            ActorError::Rejected(format!("unknown topic {name:?} (layers, dims or camera)"))
        })
}

fn failed(err: StoreError) -> ActorError {
    ActorError::Failed(err.to_string())
}

/// Open the store, waiting for a previous instance to let go of the files.
fn open(config: &StoreActorConfig) -> Result<Store, StoreError> {
    let began = Instant::now();
    let deadline = began + OPEN_PATIENCE;
    let mut waits = 0u32;
    loop {
        match Store::open(&config.data, config.store()) {
            Ok(store) => {
                tracing::debug!(
                    ms = began.elapsed().as_secs_f64() * 1e3,
                    waits,
                    "store opened"
                );
                return Ok(store);
            }
            Err(err) if Instant::now() < deadline && err.to_string().contains("already open") => {
                // The previous instance's files are released as soon as its
                // process is gone or its committer has stopped: look often.
                waits += 1;
                std::thread::sleep(Duration::from_millis(2));
            }
            Err(err) => return Err(err),
        }
    }
}

fn token_seed() -> [u8; 32] {
    let mut seed = [0u8; 32];
    // The resume tokens' generator: OS randomness, or the clock if that fails.
    let filled = std::fs::File::open("/dev/urandom")
        .and_then(|mut urandom| std::io::Read::read_exact(&mut urandom, &mut seed));
    if filled.is_err() {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        seed[..16].copy_from_slice(&nanos.to_le_bytes());
    }
    seed
}

impl StoreActor {
    /// Publish what the sessions produced, and what became durable.
    fn flush(&mut self, ctx: &mut Ctx) {
        let changes = match self.sessions.committed() {
            Ok(changes) => changes,
            Err(err) => {
                tracing::error!(%err, "the store cannot read its commits");
                None
            }
        };
        if let Some(changes) = changes {
            let notify = StoreNotify {
                version: changes.version,
                changes: changes
                    .entries
                    .iter()
                    .flat_map(|entry| {
                        entry.changes.iter().map(|change| SceneChange {
                            version: entry.version,
                            topic: entry.topic.as_str().to_string(),
                            target: change.target.clone(),
                            key: change.key.clone(),
                            value_json: change.new.as_ref().map(|v| v.to_string()),
                        })
                    })
                    .collect(),
                compacted: changes
                    .compacted
                    .iter()
                    .map(|t| t.as_str().to_string())
                    .collect(),
            };
            if let Err(err) = ctx.publish(NOTIFY_TOPIC, &notify) {
                tracing::warn!(%err, "store.notify not published");
            }
        }
        let frames = self.sessions.take_out();
        if frames.is_empty() {
            return;
        }
        let out = SessionOut {
            generation: self.generation,
            frames,
        };
        if let Err(err) = ctx.publish(SESSION_TOPIC, &out) {
            // The frames are lost: their sessions must not go on as if not.
            tracing::error!(%err, "frames for clients could not be published; closing their connections");
            let mut conns: Vec<ConnId> = out.frames.iter().map(|f| f.conn).collect();
            conns.sort_unstable();
            conns.dedup();
            for conn in conns {
                self.sessions.closed(conn);
            }
            self.sessions.take_out();
        }
    }

    fn status(&self) -> StoreStatus {
        StoreStatus {
            version: self.store.version(),
            connections: self.sessions.connections(),
            sessions: self.sessions.sessions(),
            pending_acks: self.sessions.pending(),
            commits: self.store.commit_stats().commits,
            data: self.data.display().to_string(),
        }
    }
}

impl Actor for StoreActor {
    const KIND: &'static str = "store";
    type Config = StoreActorConfig;
    type Msg = StoreMsg;
    type Reply = StoreReply;

    fn validate(config: &StoreActorConfig) -> Result<(), ConfigProblem> {
        let at_least = |key: &str, value: u64, min: u64| {
            if value < min {
                Err(ConfigProblem::new(
                    key,
                    format!("must be at least {min} (got {value})"),
                ))
            } else {
                Ok(())
            }
        };
        if config.data.as_os_str().is_empty() {
            return Err(ConfigProblem::new("data", "must name a directory"));
        }
        at_least("history", config.history as u64, 1)?;
        at_least("checkpoint_every", config.checkpoint_every, 1)?;
        at_least("heartbeat_ms", config.heartbeat_ms, 10)?;
        at_least(
            "idle_timeout_ms",
            config.idle_timeout_ms,
            config.heartbeat_ms + 1,
        )?;
        at_least("max_in_flight", config.max_in_flight as u64, 1)?;
        at_least("max_frame_bytes", config.max_frame_bytes as u64, 1024)?;
        Ok(())
    }

    fn start(config: StoreActorConfig, ctx: &mut Ctx) -> Result<Self, ActorError> {
        let store = Arc::new(open(&config).map_err(|err| {
            ActorError::Fatal(format!(
                "cannot open the store in {}: {err}",
                config.data.display()
            ))
        })?);
        if config.seed {
            seed(&store).map_err(|err| ActorError::Fatal(err.to_string()))?;
        }
        // A crash of this instance hands the open store to its successor;
        // an orderly stop (below) closes it. Not in a child: the process
        // ends with the instance, and the next child is better served by a
        // closed file with its checkpoint.
        store.hand_over_on_drop(!warden_kernel::worker::is_worker_process());
        let watch = CommitWatch::start(Arc::clone(&store), ctx.waker());
        Ok(StoreActor {
            _watch: watch,
            sessions: Sessions::new(Arc::clone(&store), config.protocol(), token_seed()),
            store,
            data: config.data,
            generation: ctx.generation(),
            last_tick: Instant::now(),
        })
    }

    fn handle(&mut self, msg: StoreMsg, ctx: &mut Ctx) -> Result<StoreReply, ActorError> {
        let accepted = StoreReply::Accepted {
            generation: self.generation,
        };
        let session = matches!(
            msg,
            StoreMsg::Open { .. } | StoreMsg::Frame { .. } | StoreMsg::Close { .. }
        );
        let reply = match msg {
            StoreMsg::Open { conn, may_write } => {
                self.sessions.opened(conn, may_write);
                accepted
            }
            StoreMsg::Frame { conn, text } => {
                self.sessions.frame(conn, text);
                accepted
            }
            StoreMsg::Close { conn } => {
                self.sessions.closed(conn);
                accepted
            }
            StoreMsg::Update {
                topic: name,
                payload_json,
                expected_version,
                actor_id,
            } => {
                let topic = topic(&name)?;
                let payload: serde_json::Value = serde_json::from_str(&payload_json)
                    .map_err(|err| ActorError::Rejected(format!("payload is not JSON: {err}")))?;
                if actor_id.is_empty() || actor_id.len() > 128 {
                    return Err(ActorError::Rejected(
                        "actor_id must be 1 to 128 bytes".into(),
                    ));
                }
                let author = Author::new(&actor_id, &format!("actor:{}", ctx.name()));
                let outcome = self
                    .store
                    .apply_delta(topic, payload, expected_version, &author)
                    .map_err(failed)?;
                match outcome {
                    Outcome::Ack { version } => StoreReply::Updated {
                        ok: true,
                        version,
                        reason: None,
                    },
                    Outcome::Reject {
                        reason,
                        current_version,
                    } => StoreReply::Updated {
                        ok: false,
                        version: current_version,
                        reason: Some(reason.to_string()),
                    },
                }
            }
            StoreMsg::Snapshot { topic: name } => {
                let topic = topic(&name)?;
                let snapshot = self.store.snapshot(topic).map_err(failed)?;
                let values = crate::protocol::snapshot_json(&snapshot);
                StoreReply::Snapshot {
                    version: self.store.version(),
                    records_json: values,
                }
            }
            StoreMsg::Inspect { tail } => {
                let (report, _) = crate::report(&self.store, false, tail).map_err(failed)?;
                let json = serde_json::to_string(&report)
                    .map_err(|err| ActorError::Failed(err.to_string()))?;
                StoreReply::Inspect(json)
            }
            StoreMsg::Status => StoreReply::Status(self.status()),
        };
        // Frames for clients go out now; what an `Update` made durable goes
        // out when the committer's hook wakes the actor (right after).
        if session {
            self.flush(ctx);
        }
        Ok(reply)
    }

    fn tick(&mut self, ctx: &mut Ctx) {
        if self.last_tick.elapsed() >= Duration::from_millis(50) {
            self.last_tick = Instant::now();
            self.sessions.tick();
        }
        self.flush(ctx);
    }

    fn wake(&mut self, ctx: &mut Ctx) {
        self.flush(ctx);
    }

    fn stop(&mut self, _ctx: &mut Ctx) {
        self.store.hand_over_on_drop(false);
        tracing::info!(version = self.store.version(), "store actor stopping");
    }

    fn idempotent(msg: &StoreMsg) -> bool {
        matches!(
            msg,
            StoreMsg::Snapshot { .. } | StoreMsg::Inspect { .. } | StoreMsg::Status
        )
    }

    fn tick_hint(_config: &StoreActorConfig) -> Option<Duration> {
        Some(Duration::from_millis(50))
    }
}

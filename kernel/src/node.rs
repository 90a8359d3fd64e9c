//! `warden node`: a process that joins a cluster over NATS and hosts actor
//! instances for a kernel on another host (docs/CLUSTER.md).
//!
//! Each instance is a child process running `warden worker`, exactly as a
//! kernel's local child, with its pool made here. The node is the kernel's
//! stand-in towards it — a link, the pool's kernel side, a reader — and
//! passes everything else through a tunnel (`cluster/tunnel.rs`).
//!
//! It beats every 250 ms on `node.NAME.beat` (its capacity and instances).
//! An instance is killed when its kernel asks, when a newer generation of
//! the same actor starts anywhere (the fence), when its kernel has been
//! silent for the fence interval the kernel gave (the kernel keeps each of
//! its instances alive with an empty message on its down subject every
//! 200 ms, from the start on), and when this node itself
//! was frozen longer than that (SIGSTOP, a VM pause): a node cut off from
//! its kernel never serves beside the instance that replaced it.

use std::collections::HashMap;
use std::ffi::OsString;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use futures_util::StreamExt as _;
use warden_transport::SlotPool;
use warden_transport::bootstrap::{self, ChildCommand, Connected, Wire};

use crate::cluster::tunnel::{ExitReport, Outbox, TunnelEnd};
use crate::cluster::{NodeBeat, Subjects, connect, is_token};
use crate::config::ClusterConfig;
use crate::host::process::{KernelFrames, WorkerInit, kernel_link};
use crate::host::remote::{Control, StartReply, StartRequest};

/// The `nats-server` executable, if installed: on `PATH`, or in
/// `/usr/sbin` (Debian's package, outside a non-root user's `PATH`). The
/// drill, the bench and the tests start one on loopback.
pub fn nats_server() -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/usr/local/sbin"].map(PathBuf::from))
        .map(|dir| dir.join("nats-server"))
        .find(|candidate| candidate.is_file())
}

/// How often a node beats.
pub const BEAT: Duration = Duration::from_millis(250);

/// How long a start waits for the instance it replaces to be reaped
/// before it gives up the actor's kept pool for a new one.
const REAP_WAIT: Duration = Duration::from_millis(1000);

/// How long a child whose channel closed may take to exit before it is
/// killed (the kernel's own grace for a local child).
const LINGER_GRACE: Duration = Duration::from_millis(500);

/// What `warden node` needs.
#[derive(Clone, Debug)]
pub struct NodeOptions {
    /// The node's name (one subject token).
    pub name: String,
    /// NATS and subjects (`nats_url`, prefix, credentials).
    pub cluster: ClusterConfig,
    /// Instances it hosts at most.
    pub capacity: usize,
    /// How to start a child (`/proc/self/exe worker`).
    pub worker_program: PathBuf,
    /// See `worker_program`.
    pub worker_args: Vec<OsString>,
    /// Extra environment for children.
    pub worker_env: Vec<(OsString, OsString)>,
}

struct Hosted {
    generation: u64,
    attempt: u32,
    pid: u32,
    /// ms since the node started when the kernel was last heard.
    heard_ms: Arc<AtomicU64>,
    fence: Duration,
    /// Why it is being killed (set once).
    killed: Arc<Mutex<Option<String>>>,
}

impl Hosted {
    fn kill(&self, why: &str) {
        let mut killed = self.killed.lock().unwrap_or_else(PoisonError::into_inner);
        if killed.is_none() {
            *killed = Some(why.to_string());
            tracing::warn!(
                pid = self.pid,
                generation = self.generation,
                reason = why,
                "killing an instance"
            );
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(self.pid as i32),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
    }
}

/// (kernel id, actor name).
type InstanceKey = (String, String);

/// A pool kept for an actor's next instance here, and since when its last
/// instance ended (`None`: one runs).
type KeptPool = (Arc<SlotPool>, Option<Instant>);

struct Node {
    options: NodeOptions,
    client: async_nats::Client,
    subjects: Subjects,
    runtime: tokio::runtime::Handle,
    hosted: Mutex<HashMap<InstanceKey, Hosted>>,
    /// One child per actor kind hosted here, exec'd and connected ahead and
    /// waiting for its setup, so that the next start of that kind (a
    /// failover or a move to this node) skips the exec and the handshake.
    standbys: Mutex<HashMap<String, Connected>>,
    /// Each actor's pool, kept across its restarts here as the kernel keeps
    /// its own (creating one writes every page: tens of ms for 64 MB), and
    /// dropped a minute after its last instance ended.
    pools: Mutex<HashMap<InstanceKey, KeptPool>>,
    epoch: Instant,
}

impl Node {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<InstanceKey, Hosted>> {
        self.hosted.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn now_ms(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64
    }
}

/// Run a node until SIGINT/SIGTERM; its children die with it.
pub fn run(options: NodeOptions) -> Result<(), String> {
    if !is_token(&options.name) {
        return Err(format!(
            "--name {:?}: a node name is 1 to 64 of a-z, 0-9, '_' and '-'",
            options.name
        ));
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("warden-node")
        .enable_all()
        .build()
        .map_err(|err| format!("cannot start the runtime: {err}"))?;
    let result = runtime.block_on(serve(options, runtime.handle().clone()));
    runtime.shutdown_background();
    result
}

async fn serve(options: NodeOptions, runtime: tokio::runtime::Handle) -> Result<(), String> {
    let client = connect(&options.cluster, &format!("warden-node-{}", options.name)).await?;
    let subjects = Subjects::new(&options.cluster.prefix);
    let sub_err = |err: async_nats::SubscribeError| format!("cannot subscribe: {err}");
    let mut starts = client
        .subscribe(subjects.start(&options.name))
        .await
        .map_err(sub_err)?;
    let mut controls = client
        .subscribe(subjects.control(&options.name))
        .await
        .map_err(sub_err)?;
    let mut fences = client.subscribe(subjects.fence()).await.map_err(sub_err)?;
    let mut warms = client
        .subscribe(subjects.warm(&options.name))
        .await
        .map_err(sub_err)?;
    client
        .flush()
        .await
        .map_err(|err| format!("cannot reach NATS: {err}"))?;
    tracing::info!(node = %options.name, nats = %options.cluster.nats_url, capacity = options.capacity, "node up");
    eprintln!(
        "warden node {}: joined {} (subjects {}.*), hosting up to {} instances",
        options.name, options.cluster.nats_url, options.cluster.prefix, options.capacity
    );
    let node = Arc::new(Node {
        subjects,
        client,
        options,
        runtime,
        hosted: Mutex::new(HashMap::new()),
        standbys: Mutex::new(HashMap::new()),
        pools: Mutex::new(HashMap::new()),
        epoch: Instant::now(),
    });
    let mut beat = tokio::time::interval(BEAT);
    beat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_beat = Instant::now();
    let mut sigterm = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .map_err(|err| format!("cannot watch SIGTERM: {err}"))?;
    loop {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => break,
            _ = sigterm.recv() => break,
            _ = beat.tick() => {
                let frozen = last_beat.elapsed();
                last_beat = Instant::now();
                node.watchdog(frozen);
                node.beat().await;
            }
            Some(message) = starts.next() => {
                let Some(reply) = message.reply.clone() else { continue };
                let starter = Arc::clone(&node);
                // Children are forked on the kernel crate's spawner thread,
                // which lives as long as the node (PR_SET_PDEATHSIG).
                let (tx, rx) = tokio::sync::oneshot::channel();
                let queued = crate::spawner::run(move || {
                    let _ = tx.send(starter.start(&message.payload));
                });
                let answer: StartReply = match queued {
                    Ok(()) => rx.await.unwrap_or_else(|_| Err("the spawner thread is gone".into())),
                    Err(err) => Err(err),
                };
                let bytes = bincode::encode_to_vec(&answer, bincode::config::standard()).unwrap_or_default();
                let _ = node.client.publish(reply, bytes.into()).await;
            }
            Some(message) = controls.next() => node.on_kill(&message.payload),
            Some(message) = fences.next() => node.on_fence(&message.payload),
            Some(message) = warms.next() => node.on_warm(&message.payload),
        }
    }
    eprintln!("warden node {}: stopping", node.options.name);
    for (_, mut standby) in node
        .standbys
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .drain()
    {
        let _ = standby.child.kill();
        let _ = standby.child.wait();
    }
    for hosted in node.lock().values() {
        hosted.kill("the node is stopping");
    }
    let _ = node.client.flush().await;
    Ok(())
}

impl Node {
    /// A kernel's kill of its instance (generation, attempt); anything that
    /// does not decode is ignored.
    fn on_kill(&self, payload: &[u8]) {
        let Ok((kill, _)) =
            bincode::decode_from_slice::<Control, _>(payload, bincode::config::standard())
        else {
            return;
        };
        let hosted = self.lock();
        if let Some(instance) = hosted.get(&(kill.kernel, kill.name))
            && instance.generation == kill.generation
            && instance.attempt == kill.attempt
        {
            instance.kill("killed by its kernel");
        }
    }

    /// A start elsewhere: an older generation of that kernel's actor, or
    /// another attempt at the same one, must not serve.
    fn on_fence(&self, payload: &[u8]) {
        let Ok((fence, _)) =
            bincode::decode_from_slice::<Control, _>(payload, bincode::config::standard())
        else {
            return;
        };
        let hosted = self.lock();
        if let Some(instance) = hosted.get(&(fence.kernel, fence.name))
            && (instance.generation, instance.attempt) != (fence.generation, fence.attempt)
            && instance.generation <= fence.generation
        {
            instance.kill(&format!(
                "fenced: generation {} started elsewhere",
                fence.generation
            ));
        }
    }

    /// A kernel names the kinds it may start here: keep a standby of each
    /// (at most 32 kinds; a kind this binary does not know fails to spawn
    /// and is logged).
    fn on_warm(self: &Arc<Self>, payload: &[u8]) {
        let Ok(kinds) = serde_json::from_slice::<Vec<String>>(payload) else {
            tracing::warn!("a malformed list of kinds to keep warm; ignored");
            return;
        };
        for kind in kinds.iter().filter(|kind| is_token(kind)).take(32) {
            self.refill_later(kind);
        }
    }

    /// Kill what must not serve any more (see the module documentation).
    fn watchdog(&self, since_last_beat: Duration) {
        let now = self.now_ms();
        for ((_, name), hosted) in self.lock().iter() {
            if since_last_beat > hosted.fence {
                hosted.kill(&format!(
                    "fenced: this node was frozen for {} ms",
                    since_last_beat.as_millis()
                ));
                continue;
            }
            let silent = now.saturating_sub(hosted.heard_ms.load(Ordering::Acquire));
            if silent > hosted.fence.as_millis() as u64 {
                tracing::warn!(actor = %name, silent, "the kernel is silent");
                hosted.kill(&format!("fenced: its kernel was silent for {silent} ms"));
            }
        }
    }

    async fn beat(&self) {
        let beat = self.beat_now();
        let Ok(bytes) = serde_json::to_vec(&beat) else {
            return;
        };
        let _ = self
            .client
            .publish(self.subjects.beat(&self.options.name), bytes.into())
            .await;
    }

    fn beat_now(&self) -> NodeBeat {
        let hosted = self.lock();
        NodeBeat {
            name: self.options.name.clone(),
            pid: std::process::id(),
            host: std::fs::read_to_string("/proc/sys/kernel/hostname")
                .map(|name| name.trim().to_string())
                .unwrap_or_default(),
            cpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
            instances: hosted
                .iter()
                .map(|((_, name), h)| format!("{name}/{}", h.generation))
                .collect(),
            capacity: self.options.capacity,
            standbys: self
                .standbys
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .keys()
                .cloned()
                .collect(),
        }
    }

    /// A `warden worker` child for actor kind `kind`, connected and waiting
    /// for its setup (on the spawner thread).
    fn spawn_worker(&self, kind: &str, name: &str) -> Result<Connected, String> {
        let mut args = self.options.worker_args.clone();
        args.extend([
            "--actor".into(),
            kind.to_string().into(),
            "--name".into(),
            name.to_string().into(),
        ]);
        let command = ChildCommand {
            program: self.options.worker_program.clone(),
            args,
            env: self.options.worker_env.clone(),
        };
        bootstrap::spawn(&command, Duration::from_secs(10)).map_err(|err| err.to_string())
    }

    /// The pool of actor `key`: the one its last instance here used if
    /// the size matches, else a new one.
    fn pool_for(
        &self,
        key: &InstanceKey,
        spec: warden_transport::PoolSpec,
        id: u32,
    ) -> Result<Arc<SlotPool>, String> {
        // The instance this one replaces was just killed, but its child
        // shares the pool's peer half until it is reaped, and its end
        // starts a new peer epoch: the new instance may take the pool only
        // after that (or it would see its own first handles refused as a
        // replaced instance's). A child not reaped in time costs a new pool.
        let deadline = Instant::now() + REAP_WAIT;
        let mut pools = loop {
            let pools = self.pools.lock().unwrap_or_else(PoisonError::into_inner);
            let running = pools.get(key).is_some_and(|(_, ended)| ended.is_none());
            if !running || Instant::now() >= deadline {
                break pools;
            }
            drop(pools);
            std::thread::sleep(Duration::from_millis(2));
        };
        // A minute after its last instance ended, a pool is let go.
        pools.retain(|_, (_, ended)| ended.is_none_or(|at| at.elapsed() < Duration::from_secs(60)));
        if let Some((pool, ended)) = pools.get_mut(key)
            && ended.is_some()
            && pool.spec() == spec
            && pool.id() == id
        {
            *ended = None;
            return Ok(Arc::clone(pool));
        }
        if pools.get(key).is_some_and(|(_, ended)| ended.is_none()) {
            tracing::warn!(actor = %key.1, "the replaced instance was not reaped in time: a new pool");
        }
        let pool = SlotPool::create(spec, id).map_err(|err| err.to_string())?;
        pools.insert(key.clone(), (Arc::clone(&pool), None));
        Ok(pool)
    }

    /// `kind`'s standby, if one waits and is alive.
    fn take_standby(&self, kind: &str) -> Option<Connected> {
        let mut standby = self
            .standbys
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(kind)?;
        match standby.child.try_wait() {
            Ok(None) => Some(standby),
            _ => {
                let _ = standby.child.kill();
                let _ = standby.child.wait();
                None
            }
        }
    }

    /// Spawn a standby for `kind` a little later (the new instance gets the
    /// CPU for its own start first), unless one is there by then.
    fn refill_later(self: &Arc<Self>, kind: &str) {
        let node = Arc::clone(self);
        let kind = kind.to_string();
        let delayed = std::thread::Builder::new()
            .name("warden-node-standby".into())
            .spawn(move || {
                std::thread::sleep(Duration::from_millis(200));
                let queued = crate::spawner::run_standby(move || {
                    let waiting = node
                        .standbys
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .contains_key(&kind);
                    if waiting {
                        return;
                    }
                    match node.spawn_worker(&kind, "standby") {
                        Ok(standby) => {
                            let extra = node
                                .standbys
                                .lock()
                                .unwrap_or_else(PoisonError::into_inner)
                                .insert(kind.clone(), standby);
                            if let Some(mut extra) = extra {
                                let _ = extra.child.kill();
                                let _ = extra.child.wait();
                            }
                        }
                        Err(err) => tracing::warn!(%kind, %err, "cannot spawn a standby"),
                    }
                });
                if let Err(err) = queued {
                    tracing::debug!(%err, "no standby spawned");
                }
            });
        if let Err(err) = delayed {
            tracing::debug!(%err, "no standby spawned (no thread)");
        }
    }

    /// Start an instance (on the spawner thread).
    fn start(self: &Arc<Self>, request: &[u8]) -> StartReply {
        let (request, _) =
            bincode::decode_from_slice::<StartRequest, _>(request, bincode::config::standard())
                .map_err(|err| format!("a malformed start request: {err}"))?;
        let (init, _) =
            bincode::decode_from_slice::<WorkerInit, _>(&request.init, bincode::config::standard())
                .map_err(|err| format!("malformed start parameters: {err}"))?;
        if !is_token(&request.name) || init.name != request.name {
            return Err(format!("{:?} is not an actor name", request.name));
        }
        let key = (request.kernel.clone(), request.name.clone());
        if !is_token(&request.kernel) {
            return Err(format!("{:?} is not a kernel id", request.kernel));
        }
        {
            let hosted = self.lock();
            if let Some(old) = hosted.get(&key) {
                if old.generation > request.generation
                    || (old.generation == request.generation && old.attempt == request.attempt)
                {
                    return Err(format!(
                        "generation {} of {} already runs here (asked for {})",
                        old.generation, request.name, request.generation
                    ));
                }
                old.kill("replaced by a newer generation");
            }
            if hosted.len() >= self.options.capacity && !hosted.contains_key(&key) {
                return Err(format!(
                    "node {} is full ({} instances)",
                    self.options.name, self.options.capacity
                ));
            }
        }
        let pool = match init.pool {
            Some(spec) => Some(self.pool_for(&key, spec, init.pool_id)?),
            None => None,
        };
        let generation = request.generation;
        let heard_ms = Arc::new(AtomicU64::new(self.now_ms()));
        let down_subject = self.subjects.instance(
            &request.kernel,
            &request.name,
            generation,
            request.attempt,
            "down",
        );
        let client = self.client.clone();
        let mut down = self
            .runtime
            .block_on(async {
                let sub = client.subscribe(down_subject).await?;
                client.flush().await?;
                Ok::<_, Box<dyn std::error::Error + Send + Sync>>(sub)
            })
            .map_err(|err| format!("cannot subscribe: {err}"))?;

        let child_init = WorkerInit {
            held: pool
                .as_ref()
                .map(|pool| pool.held_for_next_peer())
                .unwrap_or_default(),
            ..init
        };
        let init_bytes = bincode::encode_to_vec(&child_init, bincode::config::standard())
            .map_err(|err| err.to_string())?;
        let setup_message = || Wire::Setup {
            pool: pool.as_ref().map(|pool| pool.region()),
            init: serde_bytes::ByteBuf::from(init_bytes.clone()),
        };
        let standby = self.take_standby(&request.kind).and_then(|mut standby| {
            match standby.setup.send(setup_message()) {
                Ok(()) => Some(standby),
                Err(_) => {
                    let _ = standby.child.kill();
                    let _ = standby.child.wait();
                    None
                }
            }
        });
        let connected = match standby {
            Some(standby) => standby,
            None => {
                let mut fresh = self.spawn_worker(&request.kind, &request.name)?;
                if let Err(err) = fresh.setup.send(setup_message()) {
                    let _ = fresh.child.kill();
                    let _ = fresh.child.wait();
                    return Err(format!("the child did not take its setup: {err}"));
                }
                fresh
            }
        };
        self.refill_later(&request.kind);
        let Connected {
            mut child,
            pid,
            setup,
            to_child,
            from_child,
        } = connected;
        let link = kernel_link(to_child, pool.as_ref());
        let frames = Arc::new(KernelFrames::new(pool.clone(), setup, Default::default()));
        let own = Arc::clone(&frames);
        let release = move |pool_id: u32, slot: u32, seq: u64| match &own.pool {
            Some(pool) if pool.id() == pool_id => {
                pool.release(slot, seq).map_err(|e| e.to_string())
            }
            _ => own
                .lent
                .release(pool_id, slot, seq)
                .map_err(|e| e.to_string()),
        };
        let out = Outbox::new(
            self.client.clone(),
            self.runtime.clone(),
            self.subjects.instance(
                &request.kernel,
                &request.name,
                generation,
                request.attempt,
                "up",
            ),
        );
        let tunnel = Arc::new(TunnelEnd::new(link, frames, release, out));
        let killed: Arc<Mutex<Option<String>>> = Arc::default();
        self.lock().insert(
            key.clone(),
            Hosted {
                generation,
                attempt: request.attempt,
                pid,
                heard_ms: Arc::clone(&heard_ms),
                fence: Duration::from_millis(request.fence_ms.max(300)),
                killed: Arc::clone(&killed),
            },
        );

        // Child → kernel.
        let reader_tunnel = Arc::clone(&tunnel);
        let reader_killed = Arc::clone(&killed);
        let reaped = Arc::new(AtomicBool::new(false));
        let reader_reaped = Arc::clone(&reaped);
        let reader = std::thread::Builder::new()
            .name(format!("warden-node-read-{}", request.name))
            .spawn(move || {
                while let Ok(wire) = from_child.recv() {
                    let fault = match wire {
                        Wire::Frame(bytes) => reader_tunnel.on_local(&bytes).err(),
                        _ => Some("a handshake message after the start".to_string()),
                    };
                    if let Some(fault) = fault {
                        let mut killed =
                            reader_killed.lock().unwrap_or_else(PoisonError::into_inner);
                        if killed.is_none() {
                            *killed = Some(format!("protocol fault: {fault}"));
                            let _ = nix::sys::signal::kill(
                                nix::unistd::Pid::from_raw(pid as i32),
                                nix::sys::signal::Signal::SIGKILL,
                            );
                        }
                        return;
                    }
                }
                // The channel closed: the child exits now, or it lingers
                // (its sockets shut, the process alive) and is killed, as
                // the kernel does with a local child.
                let deadline = Instant::now() + LINGER_GRACE;
                while !reader_reaped.load(Ordering::Acquire) && Instant::now() < deadline {
                    std::thread::sleep(Duration::from_millis(5));
                }
                if !reader_reaped.load(Ordering::Acquire) {
                    let mut killed = reader_killed.lock().unwrap_or_else(PoisonError::into_inner);
                    if killed.is_none() {
                        *killed = Some("closed its channel but did not exit".into());
                        let _ = nix::sys::signal::kill(
                            nix::unistd::Pid::from_raw(pid as i32),
                            nix::sys::signal::Signal::SIGKILL,
                        );
                    }
                }
            })
            .map_err(|err| format!("cannot start a reader thread: {err}"))?;

        // Kernel → child.
        let down_tunnel = Arc::clone(&tunnel);
        let down_killed = Arc::clone(&killed);
        let node = Arc::clone(self);
        let (stop_tx, mut stop_rx) = tokio::sync::oneshot::channel::<()>();
        self.runtime.spawn(async move {
            loop {
                let message = tokio::select! {
                    _ = &mut stop_rx => break,
                    message = down.next() => match message {
                        Some(message) => message,
                        None => break,
                    },
                };
                heard_ms.store(node.now_ms(), Ordering::Release);
                if message.payload.is_empty() {
                    continue; // the kernel's keepalive
                }
                if let Err(fault) = down_tunnel.on_remote(&message.payload) {
                    let mut killed = down_killed.lock().unwrap_or_else(PoisonError::into_inner);
                    if killed.is_none() {
                        *killed = Some(format!("tunnel fault from the kernel: {fault}"));
                        let _ = nix::sys::signal::kill(
                            nix::unistd::Pid::from_raw(pid as i32),
                            nix::sys::signal::Signal::SIGKILL,
                        );
                    }
                    break;
                }
            }
            let _ = down.unsubscribe().await;
        });

        // The child's end: reported after what it sent before it.
        let node = Arc::clone(self);
        let name = request.name.clone();
        let key_at_end = key;
        let pool_at_end = pool.clone();
        std::thread::Builder::new()
            .name(format!("warden-node-wait-{name}"))
            .spawn(move || {
                let status = child.wait();
                reaped.store(true, Ordering::Release);
                let _ = reader.join();
                let (mut status, code) = match status {
                    Ok(status) => (bootstrap::describe_exit(status), status.code()),
                    Err(err) => (format!("could not be waited for: {err}"), None),
                };
                if let Some(why) = killed
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .as_ref()
                {
                    status = format!("{status}: {why}");
                }
                tracing::info!(actor = %name, generation, %status, "instance ended");
                let _ = stop_tx.send(());
                let _ = tunnel.out.send_exit(&ExitReport { status, code });
                let mut hosted = node.lock();
                if hosted
                    .get(&key_at_end)
                    .is_some_and(|h| h.generation == generation)
                {
                    hosted.remove(&key_at_end);
                }
                drop(hosted);
                if let Some(pool) = &pool_at_end {
                    pool.peer_restarted();
                    if let Some((kept, ended)) = node
                        .pools
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .get_mut(&key_at_end)
                        && Arc::ptr_eq(kept, pool)
                    {
                        *ended = Some(Instant::now());
                    }
                }
            })
            .map_err(|err| format!("cannot start a watcher thread: {err}"))?;
        tracing::info!(actor = %request.name, generation, pid, "instance started");
        Ok(pid)
    }
}

//! The remote placement, kernel side: an instance in a child process of a
//! `warden node` on another host, reached over NATS (docs/CLUSTER.md).
//!
//! The kernel drives it exactly as a local child: a [`ProcessConn`] with its
//! link, its reader thread and its frames. What stands where the child's
//! channels would be is the kernel's end of a tunnel (`cluster/tunnel.rs`):
//! in-process ipc channels to the conn, a NATS subject each way to the
//! node. The tunnel's end attaches the actor's pool as a child would, so a
//! frame from the node lands in a slot of it and the kernel sees what it
//! sees from a local child.
//!
//! The node is chosen from the actor's `nodes`, in order, among those heard
//! within the node timeout; a node that has no responder is skipped. A lost
//! node (no heartbeat for the node timeout) ends its instances here, and
//! every start publishes a fence: a node still running an older generation
//! of the actor (one that was cut off and came back) kills it.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use bincode::{Decode, Encode};
use futures_util::StreamExt as _;
use ipc_channel::ipc;
use tokio::sync::oneshot;
use warden_transport::bootstrap::Wire;
use warden_transport::{Body, DEFAULT_WINDOW, InjectedFault, Link, Payload, SlotPool};

use crate::cluster::Cluster;
use crate::cluster::tunnel::{Arrived, Outbox, TunnelEnd};
use crate::error::StartError;
use crate::host::process::{ProcessConn, WorkerInit};
use crate::host::{Host, InstanceEvent, Killed, Launch, Launched, Placer, Sent, Tagged};
use crate::worker::frames::ChildFrames;
use crate::worker::peers::LinkReleases;

/// Kernel → node: start an instance (bincode, on `node.NAME.start`).
#[derive(Debug, Encode, Decode)]
pub(crate) struct StartRequest {
    /// The kernel's id (`Cluster::id`).
    pub(crate) kernel: String,
    pub(crate) name: String,
    pub(crate) kind: String,
    pub(crate) generation: u64,
    /// Tells this start from an earlier one of the same generation.
    pub(crate) attempt: u32,
    /// A [`WorkerInit`], bincode.
    pub(crate) init: Vec<u8>,
    /// Kill the instance when the kernel is silent this long (ms).
    pub(crate) fence_ms: u64,
}

/// Node → kernel: the instance's pid on the node, or why it did not start.
pub(crate) type StartReply = Result<u32, String>;

/// Kernel → node, on `node.NAME.ctl` (kill) and `fence` (every node):
/// end `name`'s instance (`generation`, `attempt`) (kill), or every
/// instance of `name` but that one and newer (fence).
#[derive(Debug, Encode, Decode)]
pub(crate) struct Control {
    pub(crate) kernel: String,
    pub(crate) name: String,
    pub(crate) generation: u64,
    pub(crate) attempt: u32,
}

/// A number that tells one start attempt from another.
fn next_attempt() -> u32 {
    static COUNT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    nanos ^ COUNT.fetch_add(0x9E37_79B9, Ordering::Relaxed)
}

/// Starts instances on nodes.
pub(crate) struct RemotePlacer;

impl Placer for RemotePlacer {
    fn launch(&self, launch: Launch) -> Result<(), StartError> {
        let cluster = launch.shared.cluster.clone().ok_or_else(|| {
            StartError::Config("placement = \"remote\" needs a [cluster] table".into())
        })?;
        let spec = Arc::clone(&launch.spec);
        let generation = launch.generation;
        let init = WorkerInit::for_launch(&launch)?;
        // Not the spawner thread: nothing is forked here, and a start that
        // waits on the network must not hold up local children's starts.
        std::thread::Builder::new()
            .name(format!("warden-place-{}", spec.name))
            .spawn(move || {
                let result = start(&cluster, &launch, &init);
                launch.done.do_send(Launched { generation, result });
            })
            .map(|_| ())
            .map_err(|err| StartError::Internal(format!("cannot start a placement thread: {err}")))
    }

    fn uses_pool(&self) -> bool {
        true
    }
}

/// Try the actor's nodes in order (those heard lately first).
fn start(
    cluster: &Arc<Cluster>,
    launch: &Launch,
    init: &WorkerInit,
) -> Result<Arc<dyn Host>, StartError> {
    let spec = &launch.spec;
    let deadline = Instant::now() + spec.start_timeout;
    if cluster
        .wait_for(
            &spec.nodes,
            cluster.config.node_timeout.min(spec.start_timeout),
        )
        .is_none()
    {
        let heard: Vec<String> = spec
            .nodes
            .iter()
            .map(|node| match cluster.silent_for(node) {
                Some(silent) => format!("{node} (silent for {} ms)", silent.as_millis()),
                None => format!("{node} (never heard)"),
            })
            .collect();
        return Err(StartError::Spawn(format!(
            "no node of {} is up on {} (start `warden node --name NODE`; docs/CLUSTER.md)",
            heard.join(", "),
            cluster.config.nats_url
        )));
    }
    let mut failures = Vec::new();
    let (up, down): (Vec<&String>, Vec<&String>) =
        spec.nodes.iter().partition(|node| cluster.is_up(node));
    for node in up.into_iter().chain(down) {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        // A node answers a start once its child is forked (milliseconds);
        // one that does not within a node timeout is stopped or gone.
        let bound = left.min(cluster.config.node_timeout.max(Duration::from_secs(2)));
        match start_on(cluster, launch, init, node, bound) {
            Ok(host) => return Ok(host),
            Err((err, nobody)) => {
                if nobody {
                    cluster.mark_failed(node);
                }
                tracing::warn!(actor = %spec.name, node = %node, %err, "cannot start the actor on this node");
                failures.push(format!("{node}: {err}"));
            }
        }
    }
    Err(StartError::Spawn(format!(
        "no node could start it: {}",
        failures.join("; ")
    )))
}

/// Start on `node`. The error says whether nobody answered there.
fn start_on(
    cluster: &Arc<Cluster>,
    launch: &Launch,
    init: &WorkerInit,
    node: &str,
    within: Duration,
) -> Result<Arc<dyn Host>, (String, bool)> {
    let spec = &launch.spec;
    let generation = launch.generation;
    let attempt = next_attempt();
    let fail = |err: String| (err, false);
    let (setup_tx, setup_rx) =
        ipc::channel::<Wire>().map_err(|err| fail(format!("ipc channel: {err}")))?;
    let (to_child_tx, to_child_rx) =
        ipc::bytes_channel().map_err(|err| fail(format!("ipc channel: {err}")))?;
    let (from_child_tx, from_child_rx) =
        ipc::channel::<Wire>().map_err(|err| fail(format!("ipc channel: {err}")))?;
    // The tunnel's end is the kernel's child, as far as the kernel knows.
    let link = Arc::new(Link::new(
        from_child_tx,
        spec.name.clone(),
        DEFAULT_WINDOW,
        1 << 16,
    ));
    let sink = Arc::new(LinkReleases(Arc::clone(&link)));
    let pool = match (&launch.pool, init.pool) {
        (Some(pool), Some(pool_spec)) => {
            let attached = SlotPool::attach(pool.region(), pool_spec, pool.id(), init.first_seq)
                .map_err(|err| fail(err.to_string()))?;
            attached
                .hold_for_peer(&init.held)
                .map_err(|err| fail(err.to_string()))?;
            attached.set_sink(Some(sink.clone()));
            Some(attached)
        }
        _ => None,
    };
    let frames = Arc::new(ChildFrames::new(pool.clone(), setup_rx, sink));
    let own = pool.clone();
    let release = move |pool_id: u32, slot: u32, seq: u64| match &own {
        Some(own) if own.id() == pool_id => own.release(slot, seq).map_err(|err| err.to_string()),
        _ => Err(format!(
            "release of pool {pool_id}, which is not the actor's"
        )),
    };
    let subjects = &cluster.subjects;
    let out = Outbox::new(
        cluster.client.clone(),
        cluster.runtime().handle().clone(),
        subjects.instance(&cluster.id, &spec.name, generation, attempt, "down"),
    );
    let tunnel = Arc::new(TunnelEnd::new(link, frames, release, out));

    // Listen before the node can speak.
    let client = cluster.client.clone();
    let up_subject = subjects.instance(&cluster.id, &spec.name, generation, attempt, "up");
    let mut up = cluster
        .runtime()
        .block_on(async {
            let sub = client.subscribe(up_subject).await?;
            client.flush().await?;
            Ok::<_, Box<dyn std::error::Error + Send + Sync>>(sub)
        })
        .map_err(|err| fail(format!("cannot subscribe: {err}")))?;

    let init_bytes = bincode::encode_to_vec(init, bincode::config::standard())
        .map_err(|err| fail(format!("cannot encode the start parameters: {err}")))?;
    let heartbeat_bound = spec.heartbeat * (spec.heartbeat_misses + 2);
    let request = StartRequest {
        kernel: cluster.id.clone(),
        name: spec.name.clone(),
        kind: spec.kind.clone(),
        generation,
        attempt,
        init: init_bytes,
        fence_ms: (cluster.config.node_timeout + heartbeat_bound).as_millis() as u64,
    };
    let request = bincode::encode_to_vec(&request, bincode::config::standard())
        .map_err(|err| fail(format!("cannot encode the start request: {err}")))?;
    let start_subject = subjects.start(node);
    let reply = cluster.runtime().block_on(async {
        let asked = client.request(start_subject, request.into());
        tokio::time::timeout(within, asked).await
    });
    let reply = match reply {
        Err(_) => {
            // Should the node carry the start out later (it was stopped,
            // say), the kill that follows the request ends it at once.
            let control = Control {
                kernel: cluster.id.clone(),
                name: spec.name.clone(),
                generation,
                attempt,
            };
            if let Ok(bytes) = bincode::encode_to_vec(&control, bincode::config::standard()) {
                let subject = subjects.control(node);
                let _ = cluster.runtime().block_on(async {
                    client.publish(subject, bytes.into()).await?;
                    client.flush().await.map_err(|err| err.to_string())?;
                    Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
                });
            }
            return Err((format!("no answer within {} ms", within.as_millis()), false));
        }
        Ok(Err(err)) => {
            let nobody = err.kind() == async_nats::RequestErrorKind::NoResponders;
            return Err((
                if nobody {
                    "no node of that name is listening".to_string()
                } else {
                    format!("the start request failed: {err}")
                },
                nobody,
            ));
        }
        Ok(Ok(message)) => message,
    };
    let pid = match bincode::decode_from_slice::<StartReply, _>(
        &reply.payload,
        bincode::config::standard(),
    ) {
        Ok((Ok(pid), _)) => pid,
        Ok((Err(reason), _)) => return Err(fail(format!("the node refused: {reason}"))),
        Err(err) => return Err(fail(format!("a malformed answer from the node: {err}"))),
    };
    // Any older instance of this actor, wherever it is, must stop now.
    let fence = bincode::encode_to_vec(
        &Control {
            kernel: cluster.id.clone(),
            name: spec.name.clone(),
            generation,
            attempt,
        },
        bincode::config::standard(),
    )
    .unwrap_or_default();
    let fence_subject = subjects.fence();
    let _ = cluster
        .runtime()
        .block_on(async { client.publish(fence_subject, fence.into()).await });

    let conn = ProcessConn::open(launch, to_child_tx.clone(), setup_tx, from_child_rx)
        .map_err(|err| fail(err.to_string()))?;
    let ended = Arc::new(AtomicBool::new(false));
    let report = {
        let events = launch.events.clone();
        let ended = Arc::clone(&ended);
        move |event: InstanceEvent| {
            if !ended.swap(true, Ordering::AcqRel) {
                events.do_send(Tagged {
                    generation,
                    event: InstanceEvent::Disconnected,
                });
                events.do_send(Tagged { generation, event });
            }
        }
    };

    // Kernel → node: whatever the conn sends, until it is retired.
    let pump_tunnel = Arc::clone(&tunnel);
    let pump_events = launch.events.clone();
    std::thread::Builder::new()
        .name(format!("warden-tunnel-{}", spec.name))
        .spawn(move || {
            while let Ok(bytes) = to_child_rx.recv() {
                if bytes.is_empty() {
                    return; // retired
                }
                if let Err(fault) = pump_tunnel.on_local(&bytes) {
                    pump_events.do_send(Tagged {
                        generation,
                        event: InstanceEvent::Fault(format!("tunnel to the node: {fault}")),
                    });
                    return;
                }
            }
        })
        .map_err(|err| fail(format!("cannot start the tunnel thread: {err}")))?;

    // Node → kernel, and the node's liveness. The instance's end is
    // reported once the reader has dispatched what came before it (its
    // last replies, why it exits), as a local child's is after its channel
    // drained: else a call it answered could be answered `Restarting`, or
    // re-sent to the next instance.
    let drain_conn = Arc::clone(&conn);
    let drain_link = Arc::clone(&tunnel.link);
    let drained = move || {
        let sent = drain_link.stats().sent;
        let conn = Arc::clone(&drain_conn);
        async move {
            let deadline = Instant::now() + Duration::from_millis(500);
            while conn.handled.load(Ordering::Acquire) < sent && Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        }
    };
    let (cancel_tx, mut cancel_rx) = oneshot::channel::<()>();
    // The kernel's keepalive to the node, for as long as the instance is
    // its: an empty message on the instance's down subject every 200 ms.
    // The node fences an instance whose kernel is silent (a dead kernel's
    // instances must not hold a store's files for long), and the kernel
    // says nothing else while an instance starts — which can take longer
    // than the fence interval when the start waits for the files of the
    // instance it replaces (a store after its kernel died).
    let keepalive_client = cluster.client.clone();
    let keepalive_subject = subjects.instance(&cluster.id, &spec.name, generation, attempt, "down");
    let mut ticks = 0u64;
    let watched = Arc::clone(cluster);
    let node_name = node.to_string();
    let node_timeout = cluster.config.node_timeout;
    cluster.runtime().spawn(async move {
        let mut check = tokio::time::interval(Duration::from_millis(100));
        loop {
            tokio::select! {
                _ = &mut cancel_rx => break,
                message = up.next() => {
                    let Some(message) = message else {
                        report(InstanceEvent::Exited { status: "the NATS subscription ended".into(), code: None });
                        break;
                    };
                    match tunnel.on_remote(&message.payload) {
                        Ok(Arrived::Nothing) => {}
                        Ok(Arrived::Exit(exit)) => {
                            drained().await;
                            report(InstanceEvent::Exited { status: format!("{} (on node {node_name})", exit.status), code: exit.code });
                            break;
                        }
                        Err(fault) => {
                            tunnel.link.close("tunnel fault");
                            report(InstanceEvent::Exited { status: format!("tunnel fault from node {node_name}: {fault}"), code: None });
                            break;
                        }
                    }
                }
                _ = check.tick() => {
                    ticks += 1;
                    if ticks.is_multiple_of(2) {
                        let _ = keepalive_client
                            .publish(keepalive_subject.clone(), bytes::Bytes::new())
                            .await;
                    }
                    let silent = watched.silent_for(&node_name).unwrap_or(Duration::MAX);
                    if silent > node_timeout {
                        drained().await;
                        report(InstanceEvent::Exited {
                            status: format!("node {node_name} lost: no heartbeat for {} ms", silent.as_millis()),
                            code: None,
                        });
                        break;
                    }
                }
            }
        }
        let _ = up.unsubscribe().await;
    });
    tracing::info!(actor = %spec.name, generation, node, pid, "started on a node");
    Ok(Arc::new(RemoteInstance {
        pid,
        node: node.to_string(),
        name: spec.name.clone(),
        generation,
        attempt,
        conn,
        cluster: Arc::clone(cluster),
        wake: Mutex::new(Some(to_child_tx)),
        cancel: Mutex::new(Some(cancel_tx)),
        ended,
    }))
}

/// A running remote instance.
pub(crate) struct RemoteInstance {
    pid: u32,
    node: String,
    name: String,
    generation: u64,
    attempt: u32,
    conn: Arc<ProcessConn>,
    cluster: Arc<Cluster>,
    /// The pump's queue, to end it at retirement (an empty message).
    wake: Mutex<Option<ipc::IpcBytesSender>>,
    cancel: Mutex<Option<oneshot::Sender<()>>>,
    ended: Arc<AtomicBool>,
}

impl RemoteInstance {
    fn control(&self, subject: String) {
        let control = Control {
            kernel: self.cluster.id.clone(),
            name: self.name.clone(),
            generation: self.generation,
            attempt: self.attempt,
        };
        let Ok(bytes) = bincode::encode_to_vec(&control, bincode::config::standard()) else {
            return;
        };
        let client = self.cluster.client.clone();
        self.cluster.runtime().spawn(async move {
            let _ = client.publish(subject, bytes.into()).await;
            let _ = client.flush().await;
        });
    }
}

impl Host for RemoteInstance {
    fn pid(&self) -> u32 {
        self.pid
    }

    fn reports_exit(&self) -> bool {
        true
    }

    fn node(&self) -> Option<String> {
        Some(self.node.clone())
    }

    fn call(&self, _generation: u64, id: u64, span: u64, payload: Payload) -> Sent {
        self.conn.call(id, span, payload)
    }

    fn tell(&self, payload: Payload) -> Sent {
        self.conn.tell(payload)
    }

    fn heartbeat(&self, n: u64) {
        self.conn.control(Body::Heartbeat { n });
    }

    fn inject(&self, fault: InjectedFault) {
        self.conn.control(Body::Inject(fault));
    }

    /// SIGKILL on the node. Whether or not the node hears it, the instance
    /// serves no more: the kernel stops listening to its subject, and the
    /// next start fences it.
    fn kill(&self, _abandon: bool) -> Killed {
        self.ended.store(true, Ordering::Release);
        self.control(self.cluster.subjects.control(&self.node));
        Killed::Now(Some("SIGKILL sent through its node"))
    }

    fn stop(&self, handover: bool) -> Option<oneshot::Receiver<()>> {
        self.conn.stop(handover);
        None
    }

    fn retire(&self) -> Option<Box<dyn FnOnce() + Send>> {
        self.conn.frames.lent.clear();
        if let Some(cancel) = self
            .cancel
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
        {
            let _ = cancel.send(());
        }
        if let Some(wake) = self
            .wake
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
        {
            let _ = wake.send(&[]);
        }
        self.conn.link.close("retired");
        let lingering = !self.ended.swap(true, Ordering::AcqRel);
        if lingering {
            // It has not said it ended: make sure it does.
            self.control(self.cluster.subjects.control(&self.node));
        }
        None
    }
}

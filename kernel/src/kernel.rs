//! The kernel: boots the configured actors under the supervisor, hands out
//! typed refs, answers the admin API's questions, and shuts down in reverse
//! start order. It knows no concern: only the registry does.

use std::ffi::OsString;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use actix::prelude::*;
use indexmap::IndexMap;
use serde::de::DeserializeOwned;
use tokio::sync::watch;
use warden_transport::InjectedFault;

use crate::actor::Actor as Concern;
use crate::actor_ref::ActorRef;
use crate::bus::{Bus, Subscription};
use crate::config::{ActorSpec, KernelConfig, Restart};
use crate::directory::Directory;
use crate::error::KernelError;
use crate::events::{Event, EventLog};
use crate::host::process::{Standbys, WorkerCommand};
use crate::metrics::Metrics;
use crate::proxy::{Inject, Kill, Proxy, Shared};
use crate::registry::Registry;
use crate::route::Route;
use crate::status::{ActorStatus, State, StatusCell};
use crate::supervisor::{AdminRestart, Boot, Child, Shutdown, Supervisor};

/// Runtime options that are not configuration (tests point them elsewhere).
#[derive(Clone, Debug)]
pub struct KernelOptions {
    /// The executable children run (default `/proc/self/exe`, this very binary).
    pub worker_program: PathBuf,
    /// Arguments that select the worker mode (default `["worker"]`).
    pub worker_args: Vec<OsString>,
    /// Extra environment variables for children (default none).
    pub worker_env: Vec<(OsString, OsString)>,
}

impl Default for KernelOptions {
    fn default() -> Self {
        KernelOptions {
            worker_program: PathBuf::from("/proc/self/exe"),
            worker_args: vec![OsString::from("worker")],
            worker_env: Vec::new(),
        }
    }
}

struct Cell {
    spec: ActorSpec,
    route: Arc<Route>,
    status: Arc<StatusCell>,
    proxy: Addr<Proxy>,
}

struct Inner {
    config: KernelConfig,
    shared: Arc<Shared>,
    cells: IndexMap<String, Cell>,
    supervisor: Addr<Supervisor>,
    escalation: watch::Receiver<Option<String>>,
    booted: Instant,
}

/// A running kernel. Cheap to clone; every clone is the same kernel.
#[derive(Clone)]
pub struct Kernel {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Kernel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Kernel")
            .field("actors", &self.inner.cells.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Kernel {
    /// Start every configured actor in order and wait until each is ready.
    /// Must run inside an actix `System`.
    pub async fn boot(
        config: KernelConfig,
        registry: &Registry,
        options: KernelOptions,
    ) -> Result<Kernel, KernelError> {
        crate::clock::epoch();
        let metrics = Arc::new(Metrics::new());
        let mut directory = Directory::default();
        let mut prepared = Vec::new();
        for spec in &config.actors {
            let factory = registry.get(&spec.kind).ok_or_else(|| {
                KernelError::Internal(format!("actor kind {:?} is not registered", spec.kind))
            })?;
            let name: Arc<str> = Arc::from(spec.name.as_str());
            let route = Route::new(name, spec.mailbox, Arc::new(metrics.actor(&spec.name)));
            directory.insert(
                &spec.name,
                &spec.kind,
                Arc::clone(&route),
                spec.call_timeout,
            );
            prepared.push((
                spec.clone(),
                factory,
                route,
                Arc::new(StatusCell::new(spec.placement)),
            ));
        }
        // The cluster's client runs a runtime of its own, which must not be
        // started from inside this one.
        // Each node is told the kinds it may be asked to start (a standby
        // of each waits there for a failover or a move).
        let mut warm: std::collections::HashMap<String, Vec<String>> =
            std::collections::HashMap::new();
        for spec in config
            .actors
            .iter()
            .filter(|spec| spec.placement == crate::config::Placement::Remote)
        {
            for node in &spec.nodes {
                let kinds = warm.entry(node.clone()).or_default();
                if !kinds.contains(&spec.kind) {
                    kinds.push(spec.kind.clone());
                }
            }
        }
        let cluster = match config.cluster.clone() {
            Some(cluster) => Some(
                std::thread::spawn(move || crate::cluster::Cluster::connect(&cluster, warm))
                    .join()
                    .map_err(|_| {
                        KernelError::Internal("the cluster connect thread panicked".into())
                    })?
                    .map_err(KernelError::Internal)?,
            ),
            None => None,
        };
        let shared = Arc::new(Shared {
            bus: Arc::new(Bus::new(Arc::clone(&metrics))),
            directory: Arc::new(directory),
            metrics,
            events: EventLog::new(10_000),
            worker: WorkerCommand {
                program: options.worker_program,
                args: options.worker_args,
                env: options.worker_env,
            },
            standbys: Standbys::default(),
            cluster,
        });
        let (escalation_tx, escalation) = watch::channel(None);
        let mut cells = IndexMap::new();
        let sup_shared = Arc::clone(&shared);
        let sup_config = config.supervisor.clone();
        let supervisor = Supervisor::create(|ctx| {
            let mut children = Vec::new();
            for (index, (spec, factory, route, status)) in prepared.into_iter().enumerate() {
                let mut proxy = Proxy::new(
                    spec.clone(),
                    // Pools are numbered from 1: a handle never names pool 0.
                    index as u32 + 1,
                    factory,
                    Arc::clone(&route),
                    Arc::clone(&status),
                    Arc::clone(&sup_shared),
                );
                proxy.set_supervisor(ctx.address().recipient());
                let proxy = proxy.start();
                children.push(Child::new(
                    spec.name.clone(),
                    spec.restart,
                    proxy.clone(),
                    Arc::clone(&route),
                    Arc::clone(&status),
                ));
                cells.insert(
                    spec.name.clone(),
                    Cell {
                        spec,
                        route,
                        status,
                        proxy,
                    },
                );
            }
            Supervisor::new(sup_config, children, sup_shared, escalation_tx)
        });
        // One sweeper for every call deadline, instead of a timer per call.
        let routes: Vec<std::sync::Weak<Route>> =
            cells.values().map(|c| Arc::downgrade(&c.route)).collect();
        actix_rt::spawn(async move {
            loop {
                actix_rt::time::sleep(crate::route::DEADLINE_SWEEP).await;
                let now = Instant::now();
                let mut alive = false;
                for route in routes.iter().filter_map(std::sync::Weak::upgrade) {
                    alive = true;
                    route.expire(now);
                }
                if !alive {
                    return;
                }
            }
        });
        supervisor.send(Boot).await.map_err(|err| {
            KernelError::Internal(format!("the supervisor is unreachable: {err}"))
        })??;
        Ok(Kernel {
            inner: Arc::new(Inner {
                config,
                shared,
                cells,
                supervisor,
                escalation,
                booted: Instant::now(),
            }),
        })
    }

    fn cell(&self, name: &str) -> Result<&Cell, KernelError> {
        self.inner
            .cells
            .get(name)
            .ok_or_else(|| KernelError::UnknownActor(name.to_string()))
    }

    /// The validated configuration the kernel runs.
    pub fn config(&self) -> &KernelConfig {
        &self.inner.config
    }

    /// A typed ref on actor `name`, which must be of kind `A::KIND`.
    pub fn actor<A: Concern>(&self, name: &str) -> Result<ActorRef<A>, KernelError> {
        let cell = self.cell(name)?;
        if cell.spec.kind != A::KIND {
            return Err(KernelError::WrongKind {
                name: name.to_string(),
                expected: A::KIND.to_string(),
                actual: cell.spec.kind.clone(),
            });
        }
        Ok(ActorRef::new(
            Arc::clone(&cell.route),
            cell.spec.call_timeout,
        ))
    }

    /// The metrics (`/metrics`), to register the binary's own families.
    pub fn metrics(&self) -> &Metrics {
        &self.inner.shared.metrics
    }

    /// The topics.
    pub fn bus(&self) -> &Bus {
        &self.inner.shared.bus
    }

    /// Subscribe to `topic` with a queue of `capacity` values.
    pub fn subscribe<T: DeserializeOwned>(&self, topic: &str, capacity: usize) -> Subscription<T> {
        self.inner.shared.bus.subscribe(topic, capacity)
    }

    /// One actor's status.
    pub fn status(&self, name: &str) -> Result<ActorStatus, KernelError> {
        let cell = self.cell(name)?;
        let tracked = cell.status.get();
        let beat_at = cell.route.beats.latest().at_us;
        let heartbeat_age_ms = (tracked.state == State::Running && beat_at > 0)
            .then(|| crate::clock::now_us().saturating_sub(beat_at) / 1000);
        Ok(ActorStatus {
            name: cell.spec.name.clone(),
            kind: cell.spec.kind.clone(),
            placement: tracked.placement,
            node: tracked.node,
            state: tracked.state,
            pid: tracked.pid,
            restarts: tracked.restarts,
            last_exit: tracked.last_exit,
            mailbox_depth: cell.route.depth(),
            heartbeat_age_ms,
            uptime_ms: tracked
                .ready_at
                .map_or(0, |at| at.elapsed().as_millis() as u64),
            generation: tracked.generation,
            standby_pid: self.inner.shared.standbys.pid(name),
        })
    }

    /// Every actor's status, in start order.
    pub fn statuses(&self) -> Vec<ActorStatus> {
        self.inner
            .cells
            .keys()
            .filter_map(|name| self.status(name).ok())
            .collect()
    }

    /// Ready: every permanent actor is running.
    pub fn ready(&self) -> bool {
        self.escalation().is_none()
            && self.inner.cells.values().all(|cell| {
                cell.spec.restart != Restart::Permanent || cell.status.get().state == State::Running
            })
    }

    /// Supervisor events after `since`.
    pub fn events_since(&self, since: u64) -> Vec<Event> {
        self.inner.shared.events.since(since)
    }

    /// The Prometheus exposition.
    pub fn metrics_text(&self) -> String {
        for cell in self.inner.cells.values() {
            cell.route.metrics.mailbox.set(cell.route.depth() as i64);
        }
        self.inner.shared.metrics.render()
    }

    /// Time since boot.
    pub fn uptime(&self) -> std::time::Duration {
        self.inner.booted.elapsed()
    }

    /// Restart actor `name` (stop, then start); returns the new pid.
    pub async fn restart(&self, name: &str) -> Result<u32, KernelError> {
        self.cell(name)?;
        self.inner
            .supervisor
            .send(AdminRestart(name.to_string()))
            .await
            .map_err(|err| KernelError::Internal(format!("the supervisor is unreachable: {err}")))?
    }

    /// The cluster as the kernel hears it (`null` without a `[cluster]`).
    pub fn cluster_status(&self) -> serde_json::Value {
        let Some(cluster) = &self.inner.shared.cluster else {
            return serde_json::Value::Null;
        };
        let timeout = cluster.config.node_timeout;
        let nodes: Vec<serde_json::Value> = cluster
            .nodes()
            .into_iter()
            .map(|(name, silent, beat)| {
                serde_json::json!({
                    "name": name,
                    "host": beat.host,
                    "pid": beat.pid,
                    "cpus": beat.cpus,
                    "capacity": beat.capacity,
                    "instances": beat.instances,
                    "standbys": beat.standbys,
                    "silent_ms": silent.as_millis() as u64,
                    "up": silent <= timeout,
                })
            })
            .collect();
        serde_json::json!({
            "nats_url": cluster.config.nats_url,
            "kernel_id": cluster.id,
            "subject_prefix": cluster.config.prefix,
            "node_timeout_ms": timeout.as_millis() as u64,
            "nodes": nodes,
        })
    }

    /// Move actor `name` to another placement while it runs: the proxy
    /// takes the new placement, then the instance is stopped gracefully
    /// (it answers what it was sent first) and started in its new place.
    /// Calls that arrive meanwhile wait in its mailbox and go to the new
    /// instance: none is lost or answered twice. Returns the new pid.
    pub async fn relocate(
        &self,
        name: &str,
        placement: crate::config::Placement,
        nodes: Vec<String>,
    ) -> Result<u32, KernelError> {
        use crate::config::Placement;
        let cell = self.cell(name)?;
        let refuse = |reason: String| {
            Err(KernelError::Unsupported {
                actor: name.to_string(),
                reason,
            })
        };
        if placement == Placement::Remote && self.inner.shared.cluster.is_none() {
            return refuse("the config has no [cluster]: no node to move to".into());
        }
        if let Err((_, reason)) = placement.check_nodes(&nodes) {
            return refuse(reason);
        }
        cell.proxy
            .send(crate::proxy::Relocate { placement, nodes })
            .await
            .map_err(|err| KernelError::Internal(format!("the proxy is unreachable: {err}")))?;
        self.restart(name).await
    }

    /// Kill actor `name`'s instance: SIGKILL for a child, an injected panic
    /// in-process. The supervisor restarts it as for any failure.
    pub fn kill(&self, name: &str, reason: &str) -> Result<(), KernelError> {
        self.cell(name)?.proxy.do_send(Kill {
            reason: reason.to_string(),
        });
        Ok(())
    }

    /// Kernel diagnostics: inject a fault into actor `name`'s host.
    pub fn inject(&self, name: &str, fault: InjectedFault) -> Result<(), KernelError> {
        let cell = self.cell(name)?;
        let placement = cell.status.get().placement;
        if fault.child_only() && placement == crate::config::Placement::Inprocess {
            return Err(KernelError::Unsupported {
                actor: name.to_string(),
                reason: format!(
                    "{fault:?} is a child process's fault; this actor runs {}",
                    placement.as_str()
                ),
            });
        }
        cell.proxy.do_send(Inject(fault));
        Ok(())
    }

    /// Why the supervisor escalated, if it did.
    pub fn escalation(&self) -> Option<String> {
        self.inner.escalation.borrow().clone()
    }

    /// Wait until the supervisor escalates; resolves with the reason.
    pub async fn escalated(&self) -> String {
        let mut rx = self.inner.escalation.clone();
        loop {
            if let Some(reason) = rx.borrow_and_update().clone() {
                return reason;
            }
            if rx.changed().await.is_err() {
                return "the supervisor is gone".to_string();
            }
        }
    }

    /// Stop every actor in reverse start order.
    pub async fn shutdown(&self) {
        let _ = self.inner.supervisor.send(Shutdown).await;
        self.inner.shared.standbys.clear();
    }
}

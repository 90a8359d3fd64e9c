//! The call drill (`warden drill --calls`). The calling process is the
//! kernel: it boots the configured system, keeps every actor busy with
//! verified calls of its kind (`calls/load.rs`), and kills each actor in
//! every way (SIGKILL/injected panic, panic, hang) round after round. It
//! reports per actor its kind and placement, the faults injected, restarts
//! seen, recovery times, calls sent/answered/refused/lost and, for stores,
//! acknowledged writes lost; it exits non-zero if any call or acked write
//! was lost, a fault went unrecovered, a recovery broke its bound, or the
//! kernel itself panicked or escalated.

mod load;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde::Serialize;
use warden_kernel::config::ActorSpec;
use warden_kernel::probe::ProbeMsg;
use warden_kernel::{InjectedFault, Kernel, KernelConfig, KernelOptions, Registry, State};

use crate::check::quantile;
use load::{Load, Target};

/// How long a restart may take before the drill calls it a failure (the
/// benchmark's target is ~10 ms; this bound is for a loaded CI machine).
const RESTART_BOUND: Duration = Duration::from_millis(1000);

/// An instance must run this long between faults so that restarts are
/// never delayed by backoff (see the supervisor's backoff reset).
const SETTLE: Duration = Duration::from_millis(600);

/// What the call drill runs.
pub struct CallOptions {
    /// The system (every actor is loaded and struck).
    pub config: KernelConfig,
    /// The actor kinds it may name.
    pub registry: Registry,
    /// How the kernel runs (children's environment, …).
    pub kernel: KernelOptions,
    /// Rounds: each strikes every actor with every fault.
    pub rounds: u32,
    /// Concurrent callers per actor.
    pub callers: u32,
    /// The cluster's nodes, for the remote placement's node kills (one per
    /// round: the node under the first remote actor is SIGKILLed, every
    /// remote actor on it must answer from another node, and it is started
    /// again).
    pub nodes: Option<Box<dyn Nodes>>,
}

/// The nodes of a remote call drill.
pub trait Nodes: Send {
    /// SIGKILL node `name` (its children die with it).
    fn kill(&mut self, name: &str);
    /// Start node `name` again, without blocking (it joins within a
    /// second; the drill paces its faults longer than that).
    fn start(&mut self, name: &str) -> anyhow::Result<()>;
}

#[derive(Clone, Copy, Debug)]
enum Fault {
    Kill,
    Panic,
    Hang,
}

impl Fault {
    const ALL: [Fault; 3] = [Fault::Kill, Fault::Panic, Fault::Hang];
}

/// One actor's part of the call drill.
#[derive(Debug, Serialize, Default)]
pub struct ActorReport {
    /// Its kind.
    pub kind: String,
    /// `process` or `inprocess`.
    pub placement: String,
    /// Faults struck.
    pub faults: u32,
    /// Of those, kills of the node it ran on (remote placement).
    pub node_kills: u32,
    /// Restarts the supervisor made.
    pub restarts: u64,
    /// Faults recovered from.
    pub recovered: u32,
    /// Faults not recovered from.
    pub unrecovered: u32,
    /// Recoveries over their bound.
    pub over_bound: u32,
    /// Recovery median (ms).
    pub recovery_ms_p50: f64,
    /// Recovery max (ms).
    pub recovery_ms_max: f64,
    /// Calls sent.
    pub calls_sent: u64,
    /// Calls answered (and checked).
    pub calls_answered: u64,
    /// Calls refused with a typed error.
    pub calls_refused: u64,
    /// Calls lost.
    pub calls_lost: u64,
    /// A store's acknowledged writes missing afterwards.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub acks_lost: Option<u64>,
    /// The first lost call, in words.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_loss: Option<String>,
    /// How the load adapted to what the actor offers (a refusal it got).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub load_adapted: Option<String>,
    #[serde(skip)]
    recoveries: Vec<f64>,
}

impl ActorReport {
    /// One fault struck and how (if) it was recovered from.
    fn record(
        &mut self,
        actor: &str,
        round: u32,
        fault: &str,
        recovery: Option<Duration>,
        bound: Duration,
    ) {
        self.faults += 1;
        match recovery {
            Some(took) => {
                let ms = took.as_secs_f64() * 1000.0;
                self.recovered += 1;
                self.recoveries.push(ms);
                if took > bound {
                    self.over_bound += 1;
                }
                tracing::info!(actor, round, fault, ms, "recovered");
            }
            None => {
                self.unrecovered += 1;
                tracing::error!(actor, round, fault, "not recovered");
            }
        }
    }
}

/// The call drill's result.
#[derive(Debug, Serialize)]
pub struct CallReport {
    /// Nothing lost, every fault recovered within its bound, no escalation.
    pub ok: bool,
    /// Rounds run.
    pub rounds: u32,
    /// Calls lost.
    pub lost: u64,
    /// Acknowledged writes lost.
    pub acks_lost: u64,
    /// Panics outside any actor.
    pub kernel_crashes: u64,
    /// Why the supervisor escalated, if it did.
    pub escalated: Option<String>,
    /// Per actor.
    pub actors: BTreeMap<String, ActorReport>,
}

/// Inject `fault` and wait until a new instance answers; returns the recovery time.
async fn inject(
    kernel: &Kernel,
    spec: &ActorSpec,
    target: Option<&Target>,
    fault: Fault,
    bound: Duration,
) -> Option<Duration> {
    let name = spec.name.as_str();
    let before = kernel.status(name).ok()?.generation;
    let started = Instant::now();
    match (fault, target.and_then(Target::probe)) {
        (Fault::Kill, _) => kernel.kill(name, "drill: kill").ok()?,
        (Fault::Panic, Some(probe)) => {
            let probe = probe.clone();
            actix_rt::spawn(
                async move { probe.call(ProbeMsg::Panic("drill: panic".into())).await },
            );
        }
        (Fault::Hang, Some(probe)) => {
            let probe = probe.clone();
            actix_rt::spawn(async move { probe.call(ProbeMsg::Hang).await });
        }
        (Fault::Panic, None) => kernel.inject(name, InjectedFault::Panic).ok()?,
        (Fault::Hang, None) => kernel.inject(name, InjectedFault::Hang).ok()?,
    }
    recovered(kernel, name, target, before, started, bound).await
}

/// Wait until an instance of `name` newer than `before` runs and answers.
async fn recovered(
    kernel: &Kernel,
    name: &str,
    target: Option<&Target>,
    before: u64,
    started: Instant,
    bound: Duration,
) -> Option<Duration> {
    let give_up = started + bound.max(Duration::from_secs(10));
    loop {
        let status = kernel.status(name).ok()?;
        if status.generation > before && status.state == State::Running {
            match target {
                None => return Some(started.elapsed()),
                Some(target) => {
                    if target.ping(Duration::from_secs(2)).await.is_ok()
                        && kernel.status(name).ok()?.generation > before
                    {
                        return Some(started.elapsed());
                    }
                }
            }
        }
        if Instant::now() > give_up || kernel.escalation().is_some() {
            return None;
        }
        actix_rt::time::sleep(Duration::from_micros(500)).await;
    }
}

/// SIGKILL the node under the first remote actor; every remote actor it
/// hosted must answer from another node within the hang bound. The node
/// is started again for the next round.
async fn kill_a_node(
    kernel: &Kernel,
    config: &KernelConfig,
    targets: &BTreeMap<String, Target>,
    nodes: &mut dyn Nodes,
    reports: &mut BTreeMap<String, ActorReport>,
    round: u32,
) -> anyhow::Result<()> {
    let remote: Vec<&ActorSpec> = config
        .actors
        .iter()
        .filter(|spec| spec.placement == warden_kernel::Placement::Remote)
        .collect();
    let Some(node) = remote
        .iter()
        .find_map(|spec| kernel.status(&spec.name).ok()?.node)
    else {
        return Ok(());
    };
    let struck: Vec<(&ActorSpec, u64)> = remote
        .iter()
        .filter_map(|spec| {
            let status = kernel.status(&spec.name).ok()?;
            (status.node.as_deref() == Some(node.as_str())).then_some((*spec, status.generation))
        })
        .collect();
    let started = Instant::now();
    nodes.kill(&node);
    // The other node starts them one after another (it forks on one
    // thread): each may take a restart's bound after the hang bound.
    let count = struck.len() as u32;
    for (spec, before) in struck {
        let bound = spec.heartbeat * (spec.heartbeat_misses + 1) + RESTART_BOUND * count;
        let recovery = recovered(
            kernel,
            &spec.name,
            targets.get(&spec.name),
            before,
            started,
            bound,
        )
        .await;
        let report = reports.entry(spec.name.clone()).or_default();
        report.node_kills += 1;
        report.record(
            &spec.name,
            round,
            &format!("node {node} killed"),
            recovery,
            bound,
        );
    }
    nodes.start(&node)
}

/// Boot, drill, report.
pub fn run(args: CallOptions) -> anyhow::Result<CallReport> {
    let CallOptions {
        config,
        registry,
        kernel: options,
        ..
    } = args;
    let pace = config.supervisor.within.as_secs_f64()
        / f64::from(config.supervisor.max_restarts.max(1))
        * 1.2;
    let pace = SETTLE.max(Duration::from_secs_f64(pace));
    let rounds = args.rounds.max(1);
    let mut nodes = args.nodes;
    actix_rt::System::new().block_on(async move {
        let kernel = Kernel::boot(config.clone(), &registry, options).await?;
        let stop = Arc::new(AtomicBool::new(false));
        let mut loads = BTreeMap::new();
        let mut targets = BTreeMap::new();
        let mut tasks = Vec::new();
        for spec in &config.actors {
            if let Some(target) = Target::of(&kernel, spec) {
                let load = Arc::new(Load::default());
                for id in 0..args.callers {
                    tasks.push(actix_rt::spawn(load::caller(target.clone(), id, Arc::clone(&load), Arc::clone(&stop))));
                }
                loads.insert(spec.name.clone(), load);
                targets.insert(spec.name.clone(), target);
            }
        }
        let mut reports: BTreeMap<String, ActorReport> = BTreeMap::new();
        let restarts_before: BTreeMap<String, u64> = kernel
            .statuses()
            .into_iter()
            .map(|s| (s.name, s.restarts))
            .collect();
        'rounds: for round in 1..=rounds {
            for spec in &config.actors {
                for fault in Fault::ALL {
                    if kernel.escalation().is_some() {
                        // Nothing restarts any more: the report says why.
                        break 'rounds;
                    }
                    let bound = match fault {
                        Fault::Hang => spec.heartbeat * (spec.heartbeat_misses + 1) + RESTART_BOUND,
                        _ => RESTART_BOUND,
                    };
                    let recovery = inject(&kernel, spec, targets.get(&spec.name), fault, bound).await;
                    let fault = format!("{fault:?}");
                    reports.entry(spec.name.clone()).or_default().record(&spec.name, round, &fault, recovery, bound);
                    actix_rt::time::sleep(pace).await;
                }
            }
            if let Some(nodes) = nodes.as_mut() {
                kill_a_node(&kernel, &config, &targets, nodes.as_mut(), &mut reports, round).await?;
                actix_rt::time::sleep(pace.max(Duration::from_millis(1500))).await;
            }
        }
        stop.store(true, Ordering::Relaxed);
        for task in tasks {
            let _ = task.await;
        }
        let escalated = kernel.escalation();
        for spec in &config.actors {
            let report = reports.entry(spec.name.clone()).or_default();
            report.kind = spec.kind.clone();
            report.placement = spec.placement.as_str().to_string();
            if let (Some(Target::Store(store)), Some(load)) = (targets.get(&spec.name), loads.get(&spec.name))
                && escalated.is_none()
            {
                report.acks_lost = Some(match load::lost_acks(store, load).await {
                    Ok(lost) => lost,
                    Err(err) => {
                        tracing::error!(actor = %spec.name, %err, "cannot check the acknowledged writes");
                        u64::MAX
                    }
                });
            }
        }
        for status in kernel.statuses() {
            let report = reports.entry(status.name.clone()).or_default();
            report.restarts = status.restarts - restarts_before.get(&status.name).copied().unwrap_or(0);
            report.recoveries.sort_by(f64::total_cmp);
            report.recovery_ms_p50 = quantile(&report.recoveries, 0.5);
            report.recovery_ms_max = report.recoveries.last().copied().unwrap_or(0.0);
            if let Some(load) = loads.get(&status.name) {
                report.calls_sent = load.sent.load(Ordering::Relaxed);
                report.calls_answered = load.answered.load(Ordering::Relaxed);
                report.calls_refused = load.refused.load(Ordering::Relaxed);
                report.calls_lost = load.lost.load(Ordering::Relaxed);
                report.first_loss = load.first_loss.lock().unwrap_or_else(|e| e.into_inner()).clone();
                report.load_adapted = load.adapted.lock().unwrap_or_else(|e| e.into_inner()).clone();
            }
        }
        kernel.shutdown().await;
        let lost = reports.values().map(|r| r.calls_lost).sum();
        let acks_lost = reports.values().filter_map(|r| r.acks_lost).fold(0u64, u64::saturating_add);
        let kernel_crashes = warden_kernel::panics::outside_actors();
        let ok = lost == 0
            && acks_lost == 0
            && kernel_crashes == 0
            && escalated.is_none()
            && reports.values().all(|r| r.unrecovered == 0 && r.over_bound == 0);
        anyhow::Ok(CallReport {
            ok,
            rounds,
            lost,
            acks_lost,
            kernel_crashes,
            escalated,
            actors: reports,
        })
    })
}

impl CallReport {
    /// The report as a table.
    pub fn table(&self) -> String {
        use std::fmt::Write as _;
        let report = self;
        let mut out = String::new();
        let _ = writeln!(
            out,
            "{:<22} {:<12} {:<10} {:>6} {:>8} {:>12} {:>12} {:>9} {:>9} {:>8} {:>5}",
            "ACTOR",
            "KIND",
            "PLACEMENT",
            "FAULTS",
            "RESTARTS",
            "RECOVERY p50",
            "max",
            "SENT",
            "ANSWERED",
            "REFUSED",
            "LOST"
        );
        for (name, r) in &report.actors {
            let _ = writeln!(
                out,
                "{:<22} {:<12} {:<10} {:>6} {:>8} {:>9.2} ms {:>9.2} ms {:>9} {:>9} {:>8} {:>5}",
                name,
                r.kind,
                r.placement,
                r.faults,
                r.restarts,
                r.recovery_ms_p50,
                r.recovery_ms_max,
                r.calls_sent,
                r.calls_answered,
                r.calls_refused,
                r.calls_lost
            );
            if r.unrecovered > 0 || r.over_bound > 0 {
                let _ = writeln!(
                    out,
                    "  {name}: {} faults not recovered, {} over the bound",
                    r.unrecovered, r.over_bound
                );
            }
            if let Some(lost) = r.acks_lost.filter(|lost| *lost > 0) {
                let _ = writeln!(out, "  {name}: {lost} acknowledged writes missing");
            }
            if let Some(loss) = &r.first_loss {
                let _ = writeln!(out, "  {name}: first lost call: {loss}");
            }
            if let Some(adapted) = &r.load_adapted {
                let _ = writeln!(out, "  {name}: {adapted}");
            }
        }
        let _ = writeln!(
            out,
            "drill: {} rounds, {} calls lost, {} acknowledged writes lost, {} kernel crashes{} — {}",
            report.rounds,
            report.lost,
            report.acks_lost,
            report.kernel_crashes,
            report
                .escalated
                .as_ref()
                .map(|r| format!(", escalated: {r}"))
                .unwrap_or_default(),
            if report.ok { "PASS" } else { "FAIL" }
        );
        out
    }
}

//! `warden drill` — restart drills under load. The drill process is the
//! kernel: it boots the configured system, keeps every probe busy with
//! verified calls (small echoes and shared-memory frames), and kills each
//! actor in every way (SIGKILL/injected panic, panic, hang) round after round.
//! It reports per actor the faults injected, restarts seen, recovery times
//! and calls sent/answered/lost, and exits non-zero if any call was lost, a
//! fault went unrecovered, a recovery broke its bound, or the kernel itself
//! panicked or escalated.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde::Serialize;
use warden_kernel::config::ActorSpec;
use warden_kernel::probe::{Probe, ProbeMsg, ProbeReply, checksum};
use warden_kernel::{
    ActorRef, InjectedFault, Kernel, KernelConfig, KernelOptions, SharedFrame, State,
};

const DRILL_CONFIG: &str = include_str!("../drill.toml");

/// How long a restart may take before the drill calls it a failure (the
/// benchmark's target is ~10 ms; this bound is for a loaded CI machine).
const RESTART_BOUND: Duration = Duration::from_millis(1000);

/// An instance must run this long between faults so that restarts are
/// never delayed by backoff (see the supervisor's backoff reset).
const SETTLE: Duration = Duration::from_millis(600);

/// Arguments of `warden drill`.
#[derive(clap::Args)]
pub(crate) struct Args {
    /// The system to drill (TOML); a built-in two-probe system when omitted.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Rounds: each round injects every fault into every actor once.
    #[arg(long, default_value_t = 3)]
    rounds: u32,
    /// Concurrent callers per probe actor.
    #[arg(long, default_value_t = 4)]
    callers: u32,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    json: bool,
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

#[derive(Default)]
struct Load {
    sent: AtomicU64,
    answered: AtomicU64,
    lost: AtomicU64,
    first_loss: std::sync::Mutex<Option<String>>,
}

#[derive(Serialize, Default)]
struct ActorReport {
    placement: String,
    faults: u32,
    restarts: u64,
    recovered: u32,
    unrecovered: u32,
    over_bound: u32,
    recovery_ms_p50: f64,
    recovery_ms_max: f64,
    calls_sent: u64,
    calls_answered: u64,
    calls_lost: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    first_loss: Option<String>,
    #[serde(skip)]
    recoveries: Vec<f64>,
}

#[derive(Serialize)]
struct Report {
    ok: bool,
    rounds: u32,
    lost: u64,
    kernel_crashes: u64,
    escalated: Option<String>,
    actors: BTreeMap<String, ActorReport>,
}

async fn caller(probe: ActorRef<Probe>, id: u32, load: Arc<Load>, stop: Arc<AtomicBool>) {
    let frame = SharedFrame::from_vec((0..65_536u32).map(|i| (i * 7 + id) as u8).collect());
    let sum = checksum(&frame);
    let mut seq = 0u64;
    while !stop.load(Ordering::Relaxed) {
        seq += 1;
        load.sent.fetch_add(1, Ordering::Relaxed);
        let (msg, expect) = if seq.is_multiple_of(8) {
            (
                ProbeMsg::EchoFrame {
                    frame: frame.clone(),
                    checksum: true,
                },
                None,
            )
        } else {
            let text = format!("{}:{id}:{seq}", probe.name());
            (ProbeMsg::Echo(text.clone()), Some(text))
        };
        let result = probe.call_timeout(msg, Duration::from_secs(20)).await;
        let verdict = match (&result, expect) {
            (Ok(ProbeReply::Echo { text, .. }), Some(expected)) if *text == expected => Ok(()),
            (
                Ok(ProbeReply::Frame {
                    checksum: seen,
                    frame: back,
                }),
                None,
            ) if *seen == sum && *back == frame => Ok(()),
            _ => Err(format!("{result:?}")),
        };
        match verdict {
            Ok(()) => {
                load.answered.fetch_add(1, Ordering::Relaxed);
            }
            Err(what) => {
                // A call refused at once never suspends: give the drill's
                // other tasks their turn before trying again.
                actix_rt::time::sleep(Duration::from_millis(1)).await;
                load.lost.fetch_add(1, Ordering::Relaxed);
                load.first_loss
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .get_or_insert(what);
            }
        }
    }
}

/// Inject `fault` and wait until a new instance answers; returns the recovery time.
async fn inject(
    kernel: &Kernel,
    spec: &ActorSpec,
    probe: Option<&ActorRef<Probe>>,
    fault: Fault,
    bound: Duration,
) -> Option<Duration> {
    let name = spec.name.as_str();
    let before = kernel.status(name).ok()?.generation;
    let started = Instant::now();
    match (fault, probe) {
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
    let give_up = started + bound.max(Duration::from_secs(10));
    loop {
        let status = kernel.status(name).ok()?;
        if status.generation > before && status.state == State::Running {
            match probe {
                None => return Some(started.elapsed()),
                Some(probe) => {
                    if let Ok(ProbeReply::Echo { generation, .. }) = probe
                        .call_timeout(ProbeMsg::Echo("recovered?".into()), Duration::from_secs(2))
                        .await
                        && generation > before
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

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// Boot, drill, report.
pub(crate) fn run(args: Args) -> anyhow::Result<ExitCode> {
    let registry = super::setup::registry();
    let config = match &args.config {
        Some(path) => super::setup::load_config(Some(path), &registry)?,
        None => KernelConfig::from_toml(DRILL_CONFIG, &registry)?,
    };
    let pace = config.supervisor.within.as_secs_f64()
        / f64::from(config.supervisor.max_restarts.max(1))
        * 1.2;
    let pace = SETTLE.max(Duration::from_secs_f64(pace));
    let rounds = args.rounds.max(1);
    // Faults are injected on purpose: their backtraces are noise, and
    // symbolising one would be counted as recovery time.
    super::logging::quiet_backtraces();
    let options = KernelOptions {
        worker_env: vec![("RUST_BACKTRACE".into(), "0".into())],
        ..KernelOptions::default()
    };
    let report = actix_rt::System::new().block_on(async move {
        let kernel = Kernel::boot(config.clone(), &registry, options).await?;
        let stop = Arc::new(AtomicBool::new(false));
        let mut loads = BTreeMap::new();
        let mut probes = BTreeMap::new();
        let mut tasks = Vec::new();
        for spec in &config.actors {
            if let Ok(probe) = kernel.actor::<Probe>(&spec.name) {
                let load = Arc::new(Load::default());
                for id in 0..args.callers {
                    tasks.push(actix_rt::spawn(caller(probe.clone(), id, Arc::clone(&load), Arc::clone(&stop))));
                }
                loads.insert(spec.name.clone(), load);
                probes.insert(spec.name.clone(), probe);
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
                    let recovery = inject(&kernel, spec, probes.get(&spec.name), fault, bound).await;
                    let report = reports.entry(spec.name.clone()).or_default();
                    report.faults += 1;
                    match recovery {
                        Some(took) => {
                            report.recovered += 1;
                            report.recoveries.push(took.as_secs_f64() * 1000.0);
                            if took > bound {
                                report.over_bound += 1;
                            }
                            tracing::info!(actor = %spec.name, round, ?fault, ms = took.as_secs_f64() * 1000.0, "recovered");
                        }
                        None => {
                            report.unrecovered += 1;
                            tracing::error!(actor = %spec.name, round, ?fault, "not recovered");
                        }
                    }
                    actix_rt::time::sleep(pace).await;
                }
            }
        }
        stop.store(true, Ordering::Relaxed);
        for task in tasks {
            let _ = task.await;
        }
        let escalated = kernel.escalation();
        for status in kernel.statuses() {
            let report = reports.entry(status.name.clone()).or_default();
            report.placement = status.placement.as_str().to_string();
            report.restarts = status.restarts - restarts_before.get(&status.name).copied().unwrap_or(0);
            report.recoveries.sort_by(f64::total_cmp);
            report.recovery_ms_p50 = percentile(&report.recoveries, 0.5);
            report.recovery_ms_max = report.recoveries.last().copied().unwrap_or(0.0);
            if let Some(load) = loads.get(&status.name) {
                report.calls_sent = load.sent.load(Ordering::Relaxed);
                report.calls_answered = load.answered.load(Ordering::Relaxed);
                report.calls_lost = load.lost.load(Ordering::Relaxed);
                report.first_loss = load.first_loss.lock().unwrap_or_else(|e| e.into_inner()).clone();
            }
        }
        kernel.shutdown().await;
        let lost = reports.values().map(|r| r.calls_lost).sum();
        let kernel_crashes = warden_kernel::panics::outside_actors();
        let ok = lost == 0
            && kernel_crashes == 0
            && escalated.is_none()
            && reports.values().all(|r| r.unrecovered == 0 && r.over_bound == 0);
        anyhow::Ok(Report {
            ok,
            rounds,
            lost,
            kernel_crashes,
            escalated,
            actors: reports,
        })
    })?;

    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        print_table(&report);
    }
    Ok(if report.ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn print_table(report: &Report) {
    println!(
        "{:<18} {:<10} {:>6} {:>8} {:>12} {:>12} {:>10} {:>10} {:>6}",
        "ACTOR",
        "PLACEMENT",
        "FAULTS",
        "RESTARTS",
        "RECOVERY p50",
        "max",
        "SENT",
        "ANSWERED",
        "LOST"
    );
    for (name, r) in &report.actors {
        println!(
            "{:<18} {:<10} {:>6} {:>8} {:>9.2} ms {:>9.2} ms {:>10} {:>10} {:>6}",
            name,
            r.placement,
            r.faults,
            r.restarts,
            r.recovery_ms_p50,
            r.recovery_ms_max,
            r.calls_sent,
            r.calls_answered,
            r.calls_lost
        );
        if r.unrecovered > 0 || r.over_bound > 0 {
            println!(
                "  {name}: {} faults not recovered, {} over the bound",
                r.unrecovered, r.over_bound
            );
        }
        if let Some(loss) = &r.first_loss {
            println!("  {name}: first lost call: {loss}");
        }
    }
    println!(
        "drill: {} rounds, {} calls lost, {} kernel crashes{} — {}",
        report.rounds,
        report.lost,
        report.kernel_crashes,
        report
            .escalated
            .as_ref()
            .map(|r| format!(", escalated: {r}"))
            .unwrap_or_default(),
        if report.ok { "PASS" } else { "FAIL" }
    );
}

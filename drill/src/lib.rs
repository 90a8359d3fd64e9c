//! The whole-system drill (`warden drill`): the system runs as it does for
//! a user — `warden run` in a child process of the drill, with its admin
//! server, its store on disk and its live compositor — while the drill
//! loads it through its real interfaces (WebSocket writers logging every
//! ack, HTTP readers, the MJPEG and SSE streams) and strikes it with faults
//! in an order drawn from a seed: SIGKILL, panic, hang, stall, garbage and
//! oversize messages on a child's channel, a child that exits with an
//! error, a child that closes its channel and lingers, the kernel itself
//! SIGKILLed and started again on the same store, and the supervisor's
//! intensity exceeded on purpose. Then it checks that nothing was lost:
//! every acked update is in the store's audit log, every request answered
//! or refused as documented, notifies without gaps, frame intervals within
//! their bound outside the fault windows, no descriptor, child, shared
//! memory or memory growth, every fault recovered within its bound.
//!
//! The modules are the parts: [`plan`] (the seeded fault order), [`system`]
//! (the kernel process and what it holds), [`http`], [`readers`], [`ws`]
//! (the load) and [`check`] (the oracles). [`calls`] is the call drill
//! (`warden drill --calls`), in which the drilling process is the kernel.
//! `warden drill` only parses its arguments and prints the reports.

pub mod calls;
pub mod check;
pub mod http;
pub mod plan;
pub mod probe;
pub mod readers;
pub mod system;
pub mod ws;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use serde::Serialize;
use serde_json::Value;

use check::{Ledger, Window};
use http::Http;
use plan::{Candidate, Fault, Rng};
use readers::Liveness;
use system::{Holdings, Prepared, Rewrite, System};

/// What to drill and how hard.
#[derive(Clone, Debug)]
pub struct Options {
    /// The `warden` binary (it runs `warden run` and `warden store`).
    pub exe: PathBuf,
    /// The config to drill (TOML).
    pub config: String,
    /// Where it came from, in words.
    pub config_name: String,
    /// The passes: as written, and/or every placement flipped.
    pub flips: Vec<bool>,
    /// Set the supervisor's intensity (max restarts, within seconds).
    pub intensity: Option<(u32, u32)>,
    /// Set every compositor's size.
    pub size: Option<String>,
    /// Actor faults in all (spread over the passes).
    pub faults: u32,
    /// A soak: keep striking until this long has passed (over all passes).
    pub minutes: Option<f64>,
    /// The seed of the fault order.
    pub seed: u64,
    /// WebSocket writers.
    pub sessions: usize,
    /// HTTP reading clients.
    pub readers: usize,
    /// Kernel SIGKILLs per pass.
    pub kernel_kills: u32,
    /// Exceed the supervisor's intensity at the end of each pass.
    pub escalate: bool,
    /// Progress lines on stderr.
    pub progress: bool,
    /// A last pass with every child actor on the nodes of this cluster.
    pub remote: Option<Arc<Cluster>>,
}

/// The cluster of a remote pass: a NATS server and nodes `a` and `b`, which
/// the drill SIGKILLs and starts again.
pub struct Cluster {
    /// The server's URL.
    pub url: String,
    /// The nodes.
    pub nodes: std::sync::Mutex<Box<dyn calls::Nodes + Send>>,
}

impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cluster").field("url", &self.url).finish()
    }
}

/// The nodes of a remote pass, hosting its child actors in turn.
const NODES: [&str; 2] = ["a", "b"];

/// Recovery figures of one group of faults.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Stats {
    /// Faults injected.
    pub faults: u64,
    /// Recovered within the give-up time.
    pub recovered: u64,
    /// Not recovered.
    pub unrecovered: u64,
    /// Recovered, but later than the bound.
    pub over_bound: u64,
    /// Recovery time percentiles (ms), over the faults that restart.
    pub recovery_ms_p50: f64,
    /// p99.
    pub recovery_ms_p99: f64,
    /// Max.
    pub recovery_ms_max: f64,
    /// Instance starts measured by the kernel (start → ready, the part of a
    /// recovery after the fault is detected), per actor: count …
    pub starts: u64,
    /// … p50 (ms) …
    pub start_ms_p50: f64,
    /// … p99 …
    pub start_ms_p99: f64,
    /// … max.
    pub start_ms_max: f64,
    #[serde(skip)]
    samples: Vec<f64>,
    #[serde(skip)]
    start_samples: Vec<f64>,
}

impl Stats {
    fn record(&mut self, recovery: Option<Duration>, bound: Duration, restarts: bool) {
        self.faults += 1;
        match recovery {
            Some(took) => {
                self.recovered += 1;
                if took > bound {
                    self.over_bound += 1;
                }
                if restarts {
                    self.samples.push(took.as_secs_f64() * 1000.0);
                }
            }
            None => self.unrecovered += 1,
        }
    }

    fn finish(&mut self) {
        self.samples.sort_by(f64::total_cmp);
        self.recovery_ms_p50 = check::quantile(&self.samples, 0.5);
        self.recovery_ms_p99 = check::quantile(&self.samples, 0.99);
        self.recovery_ms_max = self.samples.last().copied().unwrap_or(0.0);
        self.start_samples.sort_by(f64::total_cmp);
        self.starts = self.start_samples.len() as u64;
        self.start_ms_p50 = check::quantile(&self.start_samples, 0.5);
        self.start_ms_p99 = check::quantile(&self.start_samples, 0.99);
        self.start_ms_max = self.start_samples.last().copied().unwrap_or(0.0);
    }

    fn merge(&mut self, other: &Stats) {
        self.start_samples.extend_from_slice(&other.start_samples);
        self.faults += other.faults;
        self.recovered += other.recovered;
        self.unrecovered += other.unrecovered;
        self.over_bound += other.over_bound;
        self.samples.extend_from_slice(&other.samples);
    }
}

/// The supervisor's intensity exceeded on purpose.
#[derive(Debug, Default, Serialize)]
pub struct Escalation {
    /// Kills it took.
    pub kills: u32,
    /// `warden run`'s exit code (the promise: 1).
    pub exit_code: Option<i32>,
    /// Whether its log names the escalation.
    pub logged: bool,
    /// Whether `warden run` started again on the same store and every actor ran.
    pub restarted_clean: bool,
    /// How long that start took (ms).
    pub restart_ms: f64,
}

/// One pass: the system with one set of placements.
#[derive(Debug, Default, Serialize)]
pub struct Pass {
    /// `as written`, `flipped` or `remote`.
    pub label: String,
    /// Node SIGKILLs (a remote pass) and how long until every actor the
    /// node hosted answered from the other one (ms).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub node_kills_ms: Vec<f64>,
    /// Each actor's placement in this pass.
    pub placements: BTreeMap<String, String>,
    /// Actor faults injected.
    pub faults: u64,
    /// Kernel SIGKILLs and how long each took to be ready again (ms).
    pub kernel_restarts_ms: Vec<f64>,
    /// Unplanned exits of the kernel.
    pub kernel_crashes: u64,
    /// The readers.
    pub http: readers::HttpCounts,
    /// The writers.
    pub ws: ws::WsCounts,
    /// Acks logged, and of those missing from the store afterwards.
    pub acks: u64,
    /// Acks missing.
    pub lost_acks: u64,
    /// The first missing ack, in words.
    pub first_lost_ack: Option<String>,
    /// `warden store verify` passed on the store afterwards.
    pub store_verified: Option<bool>,
    /// The largest frame interval outside the fault windows (ms), its bound, and the samples held to it.
    pub dt_max_ms: f64,
    /// 1.25 frame periods.
    pub dt_bound_ms: f64,
    /// Samples held to the bound.
    pub dt_samples: usize,
    /// The frame with the largest interval: how long after its deadline
    /// it started, and how long the step before it took (ms).
    pub dt_worst: Option<(f64, f64)>,
    /// The largest frame interval outside the fault windows counting the
    /// frames the machine probe excused (ms).
    pub dt_max_with_stalls_ms: f64,
    /// Wake-ups of the drill's own real-time probe later than 4 ms: the
    /// machine held a real-time thread off its CPU (docs/DRILL.md).
    pub machine_stalls: usize,
    /// The longest of them (ms).
    pub machine_stall_max_ms: f64,
    /// What the kernel held at the start and end of each of its lives.
    pub holdings: Vec<(Holdings, Holdings)>,
    /// Leaks, in words.
    pub leaks: Vec<String>,
    /// Supervisor events read (`/api/events`).
    pub events: u64,
    /// Faults matched to their instance's `exited` event.
    pub exits_accounted: u64,
    /// Faults without their exit event and exits without a fault.
    pub unaccounted: u64,
    /// The intensity exceeded on purpose.
    pub escalation: Option<Escalation>,
    /// Failures, in words.
    pub failures: Vec<String>,
    /// The kernel's log.
    pub kernel_log: String,
}

/// The drill's result.
#[derive(Debug, Default, Serialize)]
pub struct Report {
    /// Nothing lost, nothing hung, nothing leaked, every bound kept.
    pub ok: bool,
    /// The seed (replay with `--seed`).
    pub seed: u64,
    /// The config drilled.
    pub config: String,
    /// Faults injected in all: actor faults, kernel kills, escalations.
    pub faults: u64,
    /// Of which recovered.
    pub recovered: u64,
    /// Recovery percentiles (ms) over every fault that restarts something.
    pub recovery_ms_p50: f64,
    /// p99.
    pub recovery_ms_p99: f64,
    /// Max.
    pub recovery_ms_max: f64,
    /// Per fault kind.
    pub by_kind: BTreeMap<String, Stats>,
    /// Per actor and placement (`store (process)`).
    pub by_actor: BTreeMap<String, Stats>,
    /// Requests and updates lost or hung.
    pub lost_calls: u64,
    /// Acked updates missing from the store.
    pub lost_acks: u64,
    /// Notify gaps or disorders.
    pub notify_gaps: u64,
    /// The largest frame interval outside fault windows (ms), over the passes.
    pub dt_max_ms: f64,
    /// Its bound.
    pub dt_bound_ms: f64,
    /// Unplanned kernel exits.
    pub kernel_crashes: u64,
    /// Faults without their instance's `exited` supervisor event, and
    /// exits without a fault.
    pub unaccounted: u64,
    /// Leaks, in words.
    pub leaks: Vec<String>,
    /// Everything that failed, in words.
    pub failures: Vec<String>,
    /// The passes.
    pub passes: Vec<Pass>,
    /// Wall time (s).
    pub seconds: f64,
}

/// How long an actor must run between faults so that the supervisor's
/// backoff never delays a restart (it resets after a calm run).
const SETTLE: Duration = Duration::from_millis(600);
/// The bound on a restart that is not a hang (a loaded CI machine; the
/// targets, tens of ms, are in the report's percentiles).
const RESTART_BOUND: Duration = Duration::from_millis(1000);
/// After this long without a new instance a fault is unrecovered.
const GIVE_UP: Duration = Duration::from_secs(15);

/// Run the drill.
pub fn run(options: &Options) -> anyhow::Result<Report> {
    let started = Instant::now();
    let mut rng = Rng::new(options.seed);
    let mut report = Report {
        seed: options.seed,
        config: options.config_name.clone(),
        ..Report::default()
    };
    let kinds: Vec<(bool, bool)> = options
        .flips
        .iter()
        .map(|&flip| (flip, false))
        .chain(options.remote.is_some().then_some((false, true)))
        .collect();
    let passes = kinds.len().max(1) as u32;
    for (i, &(flip, remote)) in kinds.iter().enumerate() {
        let faults = options.faults / passes + u32::from((i as u32) < options.faults % passes);
        let soak = options
            .minutes
            .map(|m| Duration::from_secs_f64(m * 60.0 / f64::from(passes)));
        let pass_seed = rng.next_u64();
        let mut by_kind = BTreeMap::new();
        let mut by_actor = BTreeMap::new();
        let pass = run_pass(
            options,
            flip,
            remote,
            faults,
            soak,
            pass_seed,
            &mut by_kind,
            &mut by_actor,
        )
        .with_context(|| format!("pass {}", i + 1))?;
        for (k, s) in by_kind {
            report.by_kind.entry(k).or_default().merge(&s);
        }
        for (k, s) in by_actor {
            report.by_actor.entry(k).or_default().merge(&s);
        }
        report.passes.push(pass);
    }
    let mut all = Stats::default();
    for stats in report.by_kind.values_mut() {
        all.merge(stats);
        stats.finish();
    }
    for stats in report.by_actor.values_mut() {
        stats.finish();
    }
    all.finish();
    report.faults = all.faults;
    report.recovered = all.recovered;
    report.recovery_ms_p50 = all.recovery_ms_p50;
    report.recovery_ms_p99 = all.recovery_ms_p99;
    report.recovery_ms_max = all.recovery_ms_max;
    for pass in &report.passes {
        report.lost_calls += pass.http.lost + pass.ws.lost;
        report.lost_acks += pass.lost_acks;
        report.notify_gaps += pass.ws.notify_gaps;
        report.unaccounted += pass.unaccounted;
        report.dt_max_ms = report.dt_max_ms.max(pass.dt_max_ms);
        report.dt_bound_ms = report.dt_bound_ms.max(pass.dt_bound_ms);
        report.kernel_crashes += pass.kernel_crashes;
        report
            .leaks
            .extend(pass.leaks.iter().map(|l| format!("{}: {l}", pass.label)));
        report
            .failures
            .extend(pass.failures.iter().map(|f| format!("{}: {f}", pass.label)));
        if let Some(first) = &pass.http.first_loss {
            report
                .failures
                .push(format!("{}: first lost request: {first}", pass.label));
        }
        if let Some(first) = &pass.ws.first_loss {
            report
                .failures
                .push(format!("{}: first lost update: {first}", pass.label));
        }
        if let Some(first) = &pass.ws.first_gap {
            report
                .failures
                .push(format!("{}: first notify gap: {first}", pass.label));
        }
        if let Some(first) = &pass.first_lost_ack {
            report
                .failures
                .push(format!("{}: first lost ack: {first}", pass.label));
        }
    }
    for (kind, stats) in &report.by_kind {
        if stats.unrecovered > 0 || stats.over_bound > 0 {
            report.failures.push(format!(
                "{kind}: {} not recovered, {} over the bound",
                stats.unrecovered, stats.over_bound
            ));
        }
    }
    report.ok = report.failures.is_empty() && report.leaks.is_empty() && report.faults > 0;
    report.seconds = started.elapsed().as_secs_f64();
    Ok(report)
}

/// Loads running against one kernel.
struct Loads {
    live: Arc<Liveness>,
    readers: Arc<readers::Shared>,
    writers: Option<Arc<ws::WsShared>>,
    threads: Vec<JoinHandle<()>>,
}

impl Loads {
    fn start(
        options: &Options,
        sys: &System,
        token: &str,
        prepared: &Prepared,
        acks: &Path,
        seed: u64,
    ) -> anyhow::Result<Loads> {
        let live = Arc::new(Liveness::default());
        let readers = Arc::new(readers::Shared::default());
        let kinds: Vec<String> = prepared.actors.iter().map(|a| a.kind.clone()).collect();
        let mut threads = Vec::new();
        let paths = readers::endpoints(&kinds);
        for i in 0..options.readers {
            let http = Http::new(&sys.addr, token, readers::DEADLINE);
            let (paths, live, shared) = (paths.clone(), Arc::clone(&live), Arc::clone(&readers));
            threads.push(std::thread::spawn(move || {
                readers::reader(http, paths, i * 3, live, shared)
            }));
        }
        if kinds.iter().any(|k| k == "compositor") {
            let (addr, live, shared) = (sys.addr.clone(), Arc::clone(&live), Arc::clone(&readers));
            threads.push(std::thread::spawn(move || {
                readers::streamer(
                    addr,
                    "/api/stream.mjpeg".into(),
                    live,
                    shared,
                    readers::mjpeg_counter(),
                )
            }));
        }
        let topics: Vec<&str> = [
            ("compositor", "compositor.stats"),
            ("fft", "fft.bars"),
            ("perception", "perception.tracks"),
            ("store", "store.notify"),
        ]
        .into_iter()
        .filter(|(kind, _)| kinds.iter().any(|k| k == kind))
        .map(|(_, topic)| topic)
        .collect();
        if !topics.is_empty() {
            let path = format!("/api/topics/stream?topics={}", topics.join(","));
            let (addr, live, shared) = (sys.addr.clone(), Arc::clone(&live), Arc::clone(&readers));
            threads.push(std::thread::spawn(move || {
                readers::streamer(addr, path, live, shared, readers::sse_parser())
            }));
        }
        let mut writers = None;
        if kinds.iter().any(|k| k == "store") && options.sessions > 0 {
            let file = std::fs::File::create(acks)
                .with_context(|| format!("cannot create {}", acks.display()))?;
            let shared = Arc::new(ws::WsShared::new(file, options.sessions));
            let mut rng = Rng::new(seed);
            for i in 0..options.sessions {
                let (addr, token, live, shared) = (
                    sys.addr.clone(),
                    token.to_string(),
                    Arc::clone(&live),
                    Arc::clone(&shared),
                );
                let seed = rng.next_u64();
                threads.push(std::thread::spawn(move || {
                    ws::writer(i, addr, token, live, shared, seed)
                }));
            }
            writers = Some(shared);
        }
        Ok(Loads {
            live,
            readers,
            writers,
            threads,
        })
    }

    fn stop(self) -> (readers::HttpCounts, ws::WsCounts, Vec<readers::FrameSample>) {
        self.live.stop.store(true, Ordering::SeqCst);
        for thread in self.threads {
            let _ = thread.join();
        }
        fn take<T: Default>(m: &std::sync::Mutex<T>) -> T {
            std::mem::take(&mut *m.lock().unwrap_or_else(|e| e.into_inner()))
        }
        let http = take(&self.readers.counts);
        let frames = take(&self.readers.frames);
        let ws = self.writers.map(|w| take(&w.counts)).unwrap_or_default();
        (http, ws, frames)
    }
}

/// An actor's status from the admin API.
struct Status {
    generation: u64,
    state: String,
    pid: u32,
    /// The node it runs on (remote).
    node: Option<String>,
}

fn status(http: &Http, name: &str) -> Option<Status> {
    let v = http.json(&format!("/api/actors/{name}")).ok()?;
    Some(Status {
        generation: v["generation"].as_u64()?,
        state: v["state"].as_str()?.to_string(),
        pid: v["pid"].as_u64()? as u32,
        node: v["node"].as_str().map(str::to_string),
    })
}

fn progress(options: &Options, line: std::fmt::Arguments<'_>) {
    if options.progress {
        eprintln!("drill: {line}");
    }
}

/// Strike `name` with `fault`; the recovery time (a stall: the time the
/// stall lasted, the actor not restarted), or why it failed.
fn strike(
    admin: &Http,
    name: &str,
    fault: Fault,
    hang_bound: Duration,
    ledger: &mut Ledger,
) -> Result<Option<Duration>, String> {
    let before =
        status(admin, name).ok_or_else(|| format!("{name}: no status before the fault"))?;
    let started = Instant::now();
    let post = |path: String| -> Result<(), String> {
        match admin.post(&path) {
            Ok(r) if (200..300).contains(&r.status) => Ok(()),
            Ok(r) => Err(format!(
                "POST {path}: {} {}",
                r.status,
                String::from_utf8_lossy(&r.body)
            )),
            Err(err) => Err(format!("POST {path}: {err}")),
        }
    };
    match fault {
        Fault::Kill => post(format!("/api/actors/{name}/kill"))?,
        Fault::Sigkill => nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(before.pid as i32),
            nix::sys::signal::Signal::SIGKILL,
        )
        .map_err(|err| format!("SIGKILL {}: {err}", before.pid))?,
        Fault::Panic => post(format!("/api/actors/{name}/panic"))?,
        Fault::Hang => post(format!("/api/actors/{name}/hang"))?,
        Fault::Stall => {
            post(format!("/api/actors/{name}/stall?ms=300"))?;
            ledger.stalled(name, before.generation);
            std::thread::sleep(Duration::from_millis(1500));
            post(format!("/api/actors/{name}/stall?ms=0"))?;
            // A stalled actor that falls behind its heartbeats is replaced
            // by the supervisor: either way it must be running again.
            let deadline = Instant::now() + GIVE_UP;
            loop {
                if status(admin, name).is_some_and(|s| s.state == "running") {
                    return Ok(Some(started.elapsed()));
                }
                if Instant::now() > deadline {
                    return Ok(None);
                }
                std::thread::sleep(Duration::from_millis(5));
            }
        }
        Fault::Garbage | Fault::Oversize | Fault::Exit | Fault::Linger => {
            post(format!("/api/actors/{name}/fault?kind={}", fault.name()))?
        }
    }
    ledger.struck(name, before.generation, fault.name());
    let give_up = started + GIVE_UP.max(hang_bound * 3);
    loop {
        if let Some(now) = status(admin, name)
            && now.generation > before.generation
            && now.state == "running"
        {
            let took = started.elapsed();
            if fault.child_only() || fault == Fault::Kill {
                // The old child must be gone (a lingering one killed).
                let deadline = Instant::now() + Duration::from_secs(3);
                while before.pid != now.pid && system::alive(before.pid) {
                    if Instant::now() > deadline && before.pid != 0 {
                        return Err(format!(
                            "{name}: the old child {} still runs after {fault:?}",
                            before.pid
                        ));
                    }
                    std::thread::sleep(Duration::from_millis(10));
                }
            }
            return Ok(Some(took));
        }
        if Instant::now() > give_up {
            return Ok(None);
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// Read the supervisor's events since the last read.
fn read_events(admin: &Http, ledger: &mut Ledger) {
    if let Ok(events) = admin.json(&format!("/api/events?since={}", ledger.since))
        && let Some(events) = events.as_array()
    {
        ledger.observe(events);
    }
}

/// End a kernel life's ledger: every fault has its exit event and every
/// exit its fault, or the pass fails saying which.
/// A remote pass's node fault: SIGKILL the node that hosts the most
/// remote actors (their children die with it), wait until each of them
/// answers from the other node, start the node again. The time until the
/// last one runs again, or why it did not.
fn kill_a_node(
    admin: &Http,
    cluster: &Cluster,
    remote: &[&system::ActorInfo],
    bound: Duration,
    ledger: &mut Ledger,
) -> Result<Duration, String> {
    let before: Vec<(&str, Status)> = remote
        .iter()
        .filter_map(|a| Some((a.name.as_str(), status(admin, &a.name)?)))
        .collect();
    let on = |node: &str| {
        before
            .iter()
            .filter(|(_, s)| s.node.as_deref() == Some(node))
            .count()
    };
    let node = NODES
        .into_iter()
        .max_by_key(|node| on(node))
        .unwrap_or(NODES[0]);
    let struck: Vec<&(&str, Status)> = before
        .iter()
        .filter(|(_, s)| s.node.as_deref() == Some(node))
        .collect();
    for (name, was) in &struck {
        ledger.struck(name, was.generation, "node_sigkill");
    }
    let started = Instant::now();
    let mut nodes = cluster
        .nodes
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    nodes.kill(node);
    let mut late = Vec::new();
    for (name, was) in &struck {
        let deadline = started + bound.max(GIVE_UP);
        loop {
            if status(admin, name).is_some_and(|s| {
                s.generation > was.generation
                    && s.state == "running"
                    && s.node.as_deref() != Some(node)
            }) {
                break;
            }
            if Instant::now() > deadline {
                late.push(*name);
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
    let took = started.elapsed();
    nodes
        .start(node)
        .map_err(|err| format!("node {node} could not start again: {err:#}"))?;
    drop(nodes);
    // It joins within a second; the next node fault may need it.
    std::thread::sleep(Duration::from_millis(1500));
    if late.is_empty() {
        Ok(took)
    } else {
        Err(format!(
            "node {node} SIGKILLed: {} did not answer from another node within {:?}",
            late.join(", "),
            bound.max(GIVE_UP)
        ))
    }
}

fn close_life(admin: &Http, ledger: &mut Ledger, pass: &mut Pass) {
    read_events(admin, ledger);
    let wrong = ledger.close();
    pass.unaccounted += wrong.len() as u64;
    let more = wrong.len().saturating_sub(10);
    pass.failures.extend(wrong.into_iter().take(10));
    if more > 0 {
        pass.failures
            .push(format!("{more} more faults and exits that do not match"));
    }
}

/// Compare what the kernel held at the start and the end of a life.
fn leaks(start: &Holdings, end: &Holdings, process_actors: usize, cache_kib: u64) -> Vec<String> {
    let mut out = Vec::new();
    if end.fds > start.fds + 16 {
        out.push(format!("descriptors {} → {}", start.fds, end.fds));
    }
    if end.memfds > start.memfds + 2 {
        out.push(format!(
            "shared-memory regions {} → {}",
            start.memfds, end.memfds
        ));
    }
    if end.dev_shm > start.dev_shm {
        out.push(format!(
            "/dev/shm entries {} → {}",
            start.dev_shm, end.dev_shm
        ));
    }
    if !end.zombies.is_empty() {
        out.push(format!("unreaped children {:?}", end.zombies));
    }
    if end.children.len() > process_actors {
        out.push(format!(
            "{} children where at most {process_actors} (child actors and their standbys) may run: {:?}",
            end.children.len(),
            end.children
        ));
    }
    // Caches fill (an in-process decoder's LRU up to its budget,
    // `cache_kib`); beyond them, growth within a quarter of the start or
    // 64 MiB is not a leak.
    if end.rss_kib > start.rss_kib + cache_kib + (64 * 1024).max(start.rss_kib / 4) {
        out.push(format!(
            "resident memory {} → {} MiB",
            start.rss_kib / 1024,
            end.rss_kib / 1024
        ));
    }
    out
}

/// What the kernel holds once transient children are reaped.
fn settled_holdings(pid: u32, process_actors: usize) -> Option<Holdings> {
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        let h = system::holdings(pid).ok()?;
        if (h.zombies.is_empty() && h.children.len() <= process_actors) || Instant::now() > deadline
        {
            return Some(h);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[allow(clippy::too_many_arguments)]
fn run_pass(
    options: &Options,
    flip: bool,
    remote: bool,
    faults: u32,
    soak: Option<Duration>,
    seed: u64,
    by_kind: &mut BTreeMap<String, Stats>,
    by_actor: &mut BTreeMap<String, Stats>,
) -> anyhow::Result<Pass> {
    let dir = tempfile::Builder::new().prefix("warden-drill-").tempdir()?;
    let addr = system::free_addr()?;
    let cluster = options.remote.as_ref().filter(|_| remote);
    let rewrite = Rewrite {
        flip,
        intensity: options.intensity,
        size: options.size.clone(),
        no_backoff: false,
        remote: cluster.map(|c| c.url.clone()),
    };
    let prepared = system::prepare(&options.config, dir.path(), &addr, &rewrite)?;
    let token = prepared
        .token
        .clone()
        .unwrap_or_else(|| format!("drill-{seed:016x}"));
    let config = dir.path().join("config.toml");
    std::fs::write(&config, &prepared.text)?;
    let log = dir.path().join("kernel.log");
    let acks = dir.path().join("acks.jsonl");
    let label = match (flip, remote) {
        (_, true) => "remote",
        (true, false) => "flipped",
        (false, false) => "as written",
    }
    .to_string();
    let mut pass = Pass {
        label: label.clone(),
        placements: prepared
            .actors
            .iter()
            .map(|a| (a.name.clone(), a.placement.clone()))
            .collect(),
        ..Pass::default()
    };
    // A child per process actor, and one more for each standby.
    let process_actors = prepared
        .actors
        .iter()
        .map(|a| usize::from(a.placement == "process") + usize::from(a.standby))
        .sum::<usize>();
    let admin = Http::new(&addr, &token, Duration::from_secs(15));
    let mut sys = System::new(&options.exe, &config, &log, &addr, &token);
    let ready_in = sys.start(&admin)?;
    progress(
        options,
        format_args!("pass {label}: `warden run` ready in {ready_in:?} on {addr}; {faults} faults"),
    );
    let loads = Loads::start(options, &sys, &token, &prepared, &acks, seed)?;
    let probe = probe::Probe::start();
    let live = Arc::clone(&loads.live);
    std::thread::sleep(Duration::from_secs(2));
    // What the kernel holds is sampled once every actor has been struck
    // about twice in this life (caches warm, pools sized), and at its end.
    let warm_after = 2 * prepared.actors.len() as u32;
    let mut life_faults = 0u32;
    let mut life_start: Option<Holdings> = None;
    // The supervisor counts every restart against one intensity: pace them.
    let pace = Duration::from_secs_f64(
        prepared.within_secs / f64::from(prepared.max_restarts.max(1)) * 1.2,
    );
    let mut rng = Rng::new(seed);
    let mut ledger = Ledger::default();
    let mut last_fault: HashMap<String, Instant> = HashMap::new();
    let mut last_restart = Instant::now() - pace;
    let mut taken: HashMap<(String, Fault), u32> = HashMap::new();
    let mut windows: Vec<Window> = Vec::new();
    let kills_at: Vec<u32> = (1..=options.kernel_kills)
        .map(|k| k * faults / (options.kernel_kills + 1))
        .collect();
    let remote_actors: Vec<&system::ActorInfo> = prepared
        .actors
        .iter()
        .filter(|a| a.placement == "remote")
        .collect();
    // A remote pass SIGKILLs a node twice, between the kernel's kills.
    let node_kills_at: Vec<u32> = if cluster.is_some() && !remote_actors.is_empty() {
        vec![faults / 4, faults * 3 / 4]
    } else {
        Vec::new()
    };
    let mut node_kills_done = 0usize;
    let started = Instant::now();
    let mut done = 0u32;
    let mut kills_done = 0usize;
    loop {
        let more = match soak {
            Some(soak) => started.elapsed() < soak || done < faults,
            None => done < faults,
        };
        if !more {
            break;
        }
        if let Some(status) = sys.exited() {
            pass.kernel_crashes += 1;
            ledger.abandon();
            pass.failures.push(format!(
                "the kernel exited on its own ({status}); its log ends:\n{}",
                sys.log_tail(3000)
            ));
            live.going_down();
            sys.start(&admin)?;
            live.up();
        }
        if let Some(cluster) = cluster
            && node_kills_at
                .get(node_kills_done)
                .is_some_and(|&at| done >= at)
        {
            node_kills_done += 1;
            let hang = Duration::from_millis(
                prepared.heartbeat_ms * u64::from(prepared.heartbeat_misses + 1),
            );
            // Found by the heartbeats (the node's or the instances'), then
            // started one after another on the other node.
            let bound =
                hang.max(Duration::from_millis(1000)) + RESTART_BOUND * remote_actors.len() as u32;
            let from = Instant::now();
            let recovery = match kill_a_node(&admin, cluster, &remote_actors, bound, &mut ledger) {
                Ok(took) => {
                    pass.node_kills_ms.push(took.as_secs_f64() * 1000.0);
                    progress(
                        options,
                        format_args!(
                            "pass {label}: node SIGKILLed, its actors answer from the other in {took:?}"
                        ),
                    );
                    Some(took)
                }
                Err(why) => {
                    pass.failures.push(why);
                    None
                }
            };
            windows.push(Window {
                from,
                to: Instant::now() + Duration::from_secs(1),
            });
            by_kind
                .entry("node_sigkill".into())
                .or_default()
                .record(recovery, bound, true);
            read_events(&admin, &mut ledger);
            last_restart = Instant::now();
            continue;
        }
        let kill_due = kills_at.get(kills_done).is_some_and(|&at| done >= at)
            || soak
                .is_some_and(|_| kills_done < options.kernel_kills as usize && rng.chance(0.005));
        if kill_due {
            kills_done += 1;
            let pid = sys.pid().unwrap_or(0);
            if let Some(end) = settled_holdings(pid, process_actors) {
                let start = life_start.take().unwrap_or_else(|| end.clone());
                pass.leaks
                    .extend(leaks(&start, &end, process_actors, prepared.cache_kib));
                pass.holdings.push((start, end));
            }
            life_faults = 0;
            close_life(&admin, &mut ledger, &mut pass);
            let children = system::holdings(pid)
                .map(|h| h.children)
                .unwrap_or_default();
            // A node fences the instances of a kernel it no longer hears.
            // Its fence: the kernel's node timeout and the actor's own
            // hang bound (host/remote.rs), and a beat of slack.
            let remote_pids: Vec<(String, u32, Duration)> = remote_actors
                .iter()
                .filter_map(|a| {
                    let fence = Duration::from_millis(
                        1000 + a.heartbeat_ms * u64::from(prepared.heartbeat_misses + 2) + 1000,
                    );
                    Some((a.name.clone(), status(&admin, &a.name)?.pid, fence))
                })
                .filter(|(_, pid, _)| *pid != 0)
                .collect();
            let from = Instant::now();
            live.going_down();
            sys.sigkill();
            let deadline = Instant::now() + Duration::from_secs(3);
            for child in &children {
                while system::alive(*child) && Instant::now() < deadline {
                    std::thread::sleep(Duration::from_millis(10));
                }
                if system::alive(*child) {
                    pass.leaks.push(format!(
                        "child {child} outlived the SIGKILLed kernel by 3 s"
                    ));
                }
            }
            let fencing = Instant::now();
            for (name, pid, fence) in &remote_pids {
                while system::alive(*pid) && fencing.elapsed() < *fence {
                    std::thread::sleep(Duration::from_millis(10));
                }
                if system::alive(*pid) {
                    pass.leaks.push(format!(
                        "{name}'s remote instance (pid {pid}) outlived the SIGKILLed kernel by {fence:?}: its node did not fence it"
                    ));
                }
            }
            // (Waiting for the fence above is the drill's, not the restart's.)
            let fenced_in = fencing.elapsed();
            sys.start(&admin)?;
            live.up();
            let took = from.elapsed().saturating_sub(fenced_in);
            windows.push(Window {
                from,
                to: Instant::now() + Duration::from_secs(1),
            });
            pass.kernel_restarts_ms.push(took.as_secs_f64() * 1000.0);
            by_kind.entry("kernel_sigkill".into()).or_default().record(
                Some(took),
                Duration::from_secs(30),
                true,
            );
            by_actor.entry("kernel".into()).or_default().record(
                Some(took),
                Duration::from_secs(30),
                true,
            );
            progress(
                options,
                format_args!("pass {label}: kernel SIGKILLed, ready again in {took:?}"),
            );
            last_restart = Instant::now();
            continue;
        }
        let now = Instant::now();
        let candidates: Vec<Candidate> = prepared
            .actors
            .iter()
            .map(|a| Candidate {
                name: a.name.clone(),
                placement: a.placement.clone(),
                ready: last_fault
                    .get(&a.name)
                    .is_none_or(|t| now.duration_since(*t) >= SETTLE),
            })
            .collect();
        let counts = taken.clone();
        let Some((index, fault)) = plan::next(&mut rng, &candidates, &|name, f| {
            counts.get(&(name.to_string(), f)).copied().unwrap_or(0)
        }) else {
            std::thread::sleep(Duration::from_millis(20));
            continue;
        };
        if fault.restarts() && last_restart.elapsed() < pace {
            std::thread::sleep(pace - last_restart.elapsed());
        }
        let actor = &prepared.actors[index];
        let actor_hang =
            Duration::from_millis(actor.heartbeat_ms * u64::from(prepared.heartbeat_misses + 1));
        let bound = match fault {
            Fault::Hang => actor_hang + RESTART_BOUND,
            Fault::Stall => Duration::from_millis(1500) + actor_hang + RESTART_BOUND,
            _ => RESTART_BOUND,
        };
        let from = Instant::now();
        let result = strike(&admin, &actor.name, fault, actor_hang, &mut ledger);
        read_events(&admin, &mut ledger);
        let to = Instant::now();
        if actor.kind == "compositor" {
            windows.push(Window {
                from,
                to: to + Duration::from_millis(300),
            });
        }
        let recovery = match result {
            Ok(recovery) => recovery,
            Err(why) => {
                pass.failures.push(why);
                None
            }
        };
        if recovery.is_none() {
            progress(
                options,
                format_args!("pass {label}: {} {fault:?}: NOT recovered", actor.name),
            );
        }
        by_kind
            .entry(fault.name().into())
            .or_default()
            .record(recovery, bound, fault.restarts());
        by_actor
            .entry(format!("{} ({})", actor.name, actor.placement))
            .or_default()
            .record(recovery, bound, fault.restarts());
        *taken.entry((actor.name.clone(), fault)).or_default() += 1;
        last_fault.insert(actor.name.clone(), Instant::now());
        if fault.restarts() {
            last_restart = Instant::now();
        }
        done += 1;
        pass.faults += 1;
        life_faults += 1;
        if life_faults == warm_after {
            life_start = sys
                .pid()
                .and_then(|pid| settled_holdings(pid, process_actors));
        }
        if done.is_multiple_of(20) {
            progress(
                options,
                format_args!(
                    "pass {label}: {done} faults, {:.0} s",
                    started.elapsed().as_secs_f64()
                ),
            );
        }
    }
    std::thread::sleep(Duration::from_secs(1));
    if let Some(end) = sys
        .pid()
        .and_then(|pid| settled_holdings(pid, process_actors))
    {
        let start = life_start.take().unwrap_or_else(|| end.clone());
        pass.leaks
            .extend(leaks(&start, &end, process_actors, prepared.cache_kib));
        pass.holdings.push((start, end));
    }
    close_life(&admin, &mut ledger, &mut pass);
    for (name, ms) in ledger.starts.drain(..) {
        if let Some(actor) = prepared.actors.iter().find(|a| a.name == name) {
            by_actor
                .entry(format!("{} ({})", actor.name, actor.placement))
                .or_default()
                .start_samples
                .push(ms);
        }
    }
    pass.events = ledger.events;
    pass.exits_accounted = ledger.accounted;
    let (http, ws, frames) = loads.stop();
    let stalls = probe.stop();
    pass.http = http;
    pass.ws = ws;
    pass.machine_stalls = stalls.len();
    pass.machine_stall_max_ms = stalls
        .iter()
        .map(|w| w.to.duration_since(w.from).as_secs_f64() * 1000.0)
        .fold(0.0, f64::max);
    if let Some(period) = prepared.frame_period_ms {
        pass.dt_bound_ms = period * 1.25;
        // Without the machine's own stalls excused: reported beside.
        pass.dt_max_with_stalls_ms = check::dt_max(&frames, &windows).0;
        windows.extend(stalls);
        let (max, held, worst) = check::dt_max(&frames, &windows);
        pass.dt_max_ms = max;
        pass.dt_samples = held;
        pass.dt_worst = worst.map(|s| (s.start_late_ms, s.previous_step_ms));
        if max > pass.dt_bound_ms {
            let why = worst.map_or_else(String::new, |s| {
                format!(
                    ": frame {} started {:.1} ms after its deadline, the step before it took {:.1} ms",
                    s.frame, s.start_late_ms, s.previous_step_ms
                )
            });
            pass.failures.push(format!(
                "a frame interval of {max:.1} ms outside the fault windows (bound {:.1} ms){why}",
                pass.dt_bound_ms
            ));
        }
        if held == 0 {
            pass.failures
                .push("no compositor.stats sample arrived outside the fault windows".into());
        }
    }
    if options.escalate {
        // Under the config's own intensity (the drill may have raised it
        // for its pace), with the backoff off so that kills can outpace it.
        let own = system::prepare(
            &options.config,
            dir.path(),
            &addr,
            &Rewrite {
                intensity: None,
                no_backoff: true,
                ..rewrite.clone()
            },
        )?;
        let own_config = dir.path().join("escalation.toml");
        std::fs::write(&own_config, &own.text)?;
        sys.terminate(Duration::from_secs(20));
        let mut storm = System::new(&options.exe, &own_config, &log, &addr, &token);
        storm.start(&admin)?;
        let mut escalation = escalate(&admin, &mut storm, &own);
        drop(storm);
        // Then the drill's system again, on the same store.
        let started = Instant::now();
        escalation.restarted_clean = sys.start(&admin).is_ok()
            && prepared
                .actors
                .iter()
                .all(|a| status(&admin, &a.name).is_some_and(|s| s.state == "running"));
        escalation.restart_ms = started.elapsed().as_secs_f64() * 1000.0;
        progress(
            options,
            format_args!("pass {label}: escalation: {escalation:?}"),
        );
        if escalation.exit_code != Some(1) || !escalation.logged || !escalation.restarted_clean {
            pass.failures
                .push(format!("the escalation drill: {escalation:?}"));
        }
        by_kind.entry("escalation".into()).or_default().record(
            escalation
                .restarted_clean
                .then(|| Duration::from_secs_f64(escalation.restart_ms / 1000.0)),
            Duration::from_secs(30),
            true,
        );
        pass.escalation = Some(escalation);
    }
    match sys.terminate(Duration::from_secs(20)) {
        Some(status) if status.success() => {}
        other => pass.failures.push(format!(
            "SIGTERM did not stop the kernel cleanly: {other:?}"
        )),
    }
    if let Some(store) = prepared.actors.iter().find_map(|a| a.data.clone()) {
        check_store(options, &store, &acks, &mut pass);
    }
    if !pass.failures.is_empty() || !pass.leaks.is_empty() {
        // Keep the evidence.
        let kept = dir.keep();
        pass.kernel_log = kept.join("kernel.log").display().to_string();
    }
    Ok(pass)
}

/// Acks against the audit log, and `warden store verify`.
fn check_store(options: &Options, store: &Path, acks: &Path, pass: &mut Pass) {
    let Ok(text) = std::fs::read_to_string(acks) else {
        return;
    };
    let acks = match check::read_acks(&text) {
        Ok(acks) => acks,
        Err(err) => {
            pass.failures.push(err.to_string());
            return;
        }
    };
    pass.acks = acks.len() as u64;
    let inspect = std::process::Command::new(&options.exe)
        .args(["store", "inspect", "--json", "--audit", "--data"])
        .arg(store)
        .output();
    match inspect {
        Ok(out) if out.status.success() => match serde_json::from_slice::<Value>(&out.stdout) {
            Ok(report) => {
                let audit = report["audit"].as_array().cloned().unwrap_or_default();
                let (lost, first) = check::lost_acks(&acks, &audit);
                pass.lost_acks = lost;
                pass.first_lost_ack = first;
            }
            Err(err) => pass.failures.push(format!("warden store inspect: {err}")),
        },
        Ok(out) => pass.failures.push(format!(
            "warden store inspect: {}",
            String::from_utf8_lossy(&out.stderr)
        )),
        Err(err) => pass
            .failures
            .push(format!("cannot run warden store inspect: {err}")),
    }
    let verify = std::process::Command::new(&options.exe)
        .args(["store", "verify", "--data"])
        .arg(store)
        .output();
    let verified = verify.as_ref().is_ok_and(|o| o.status.success());
    pass.store_verified = Some(verified);
    if !verified {
        pass.failures.push(format!(
            "warden store verify failed: {}",
            verify
                .map(|o| String::from_utf8_lossy(&o.stdout).to_string())
                .unwrap_or_default()
        ));
    }
}

/// Kill actors faster than the supervisor's intensity allows: `warden run`
/// must stop with exit code 1 naming the escalation, and start again clean
/// on the same store.
fn escalate(admin: &Http, sys: &mut System, prepared: &Prepared) -> Escalation {
    let mut e = Escalation::default();
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut i = 0usize;
    let exit = loop {
        if let Some(exit) = sys.exited() {
            break Some(exit);
        }
        if Instant::now() > deadline {
            break None;
        }
        let actor = &prepared.actors[i % prepared.actors.len()];
        i += 1;
        if let Ok(r) = admin.post(&format!("/api/actors/{}/kill", actor.name))
            && r.status == 202
        {
            e.kills += 1;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let Some(exit) = exit.or_else(|| sys.wait_exit(Duration::from_secs(10))) else {
        return e;
    };
    e.exit_code = exit.code();
    let tail = sys.log_tail(20_000);
    e.logged = tail.contains("escalat");
    let started = Instant::now();
    if sys.start(admin).is_ok() {
        e.restart_ms = started.elapsed().as_secs_f64() * 1000.0;
        e.restarted_clean = prepared
            .actors
            .iter()
            .all(|a| status(admin, &a.name).is_some_and(|s| s.state == "running"));
    }
    e
}

impl Report {
    /// The report as a table.
    pub fn table(&self) -> String {
        use std::fmt::Write as _;
        let mut out = String::new();
        let _ = writeln!(out, "drill of {} (seed {})", self.config, self.seed);
        let _ = writeln!(
            out,
            "{:<28} {:>6} {:>9} {:>8} {:>9} {:>9} {:>9}",
            "FAULT / ACTOR", "FAULTS", "RECOVERED", "OVER", "p50 ms", "p99 ms", "max ms"
        );
        let row = |out: &mut String, name: &str, s: &Stats| {
            let _ = writeln!(
                out,
                "{:<28} {:>6} {:>9} {:>8} {:>9.1} {:>9.1} {:>9.1}",
                name,
                s.faults,
                s.recovered,
                s.over_bound,
                s.recovery_ms_p50,
                s.recovery_ms_p99,
                s.recovery_ms_max
            );
        };
        for (kind, s) in &self.by_kind {
            row(&mut out, kind, s);
        }
        let _ = writeln!(out);
        for (actor, s) in &self.by_actor {
            row(&mut out, actor, s);
        }
        let _ = writeln!(
            out,
            "\n{:<28} {:>6} {:>9} {:>9} {:>9}   (the kernel's start → ready, boots included)",
            "INSTANCE STARTS", "STARTS", "p50 ms", "p99 ms", "max ms"
        );
        for (actor, s) in self.by_actor.iter().filter(|(_, s)| s.starts > 0) {
            let _ = writeln!(
                out,
                "{:<28} {:>6} {:>9.1} {:>9.1} {:>9.1}",
                actor, s.starts, s.start_ms_p50, s.start_ms_p99, s.start_ms_max
            );
        }
        for pass in &self.passes {
            let _ = writeln!(
                out,
                "\npass {}: {} faults, kernel restarts {:?} ms; HTTP {} sent, {} answered, {} refused (503), {} cut by kernel kills, {} lost; MJPEG {} frames, SSE {} events, {} stream reopens",
                pass.label,
                pass.faults,
                pass.kernel_restarts_ms
                    .iter()
                    .map(|m| m.round() as u64)
                    .collect::<Vec<_>>(),
                pass.http.sent,
                pass.http.answered,
                pass.http.refused,
                pass.http.cut,
                pass.http.lost,
                pass.http.mjpeg_frames,
                pass.http.sse_events,
                pass.http.stream_reopens,
            );
            let _ = writeln!(
                out,
                "  WS: {} sessions, {} updates, {} acked, {} refused, {} unknown (in flight at a store death), {} lost; {} reconnects ({} resumed, {} dropped on purpose), {} notifies, {} gaps; acks {} checked, {} missing; store verify {:?}",
                pass.ws.sessions,
                pass.ws.updates,
                pass.ws.acked,
                pass.ws.refused,
                pass.ws.unknown,
                pass.ws.lost,
                pass.ws.reconnects,
                pass.ws.resumed,
                pass.ws.dropped,
                pass.ws.notifies,
                pass.ws.notify_gaps,
                pass.acks,
                pass.lost_acks,
                pass.store_verified,
            );
            let _ = writeln!(
                out,
                "  frames: dt_max {:.1} ms (bound {:.1}) over {} samples outside fault windows{}",
                pass.dt_max_ms,
                pass.dt_bound_ms,
                pass.dt_samples,
                pass.dt_worst.map_or_else(String::new, |(late, step)| format!(
                    "; that frame started {late:.1} ms after its deadline, the step before it took {step:.1} ms"
                ))
            );
            let _ = writeln!(
                out,
                "  machine: {} stalls of the drill's real-time probe (max {:.1} ms); dt_max counting the frames they excused {:.1} ms",
                pass.machine_stalls, pass.machine_stall_max_ms, pass.dt_max_with_stalls_ms
            );
            let _ = writeln!(
                out,
                "  supervisor: {} events read, {} faults matched to their exit, {} unaccounted",
                pass.events, pass.exits_accounted, pass.unaccounted
            );
            if let Some(e) = &pass.escalation {
                let _ = writeln!(
                    out,
                    "  escalation: {} kills, exit code {:?}, logged {}, restarted clean {} in {:.0} ms",
                    e.kills, e.exit_code, e.logged, e.restarted_clean, e.restart_ms
                );
            }
            if let (Some((first, _)), Some((_, last))) =
                (pass.holdings.first(), pass.holdings.last())
            {
                let _ = writeln!(
                    out,
                    "  kernel holdings: fds {} → {}, memfds {} → {}, children {} → {}, RSS {} → {} MiB",
                    first.fds,
                    last.fds,
                    first.memfds,
                    last.memfds,
                    first.children.len(),
                    last.children.len(),
                    first.rss_kib / 1024,
                    last.rss_kib / 1024
                );
            }
            if !pass.kernel_log.is_empty() {
                let _ = writeln!(out, "  kept: {}", pass.kernel_log);
            }
        }
        for leak in &self.leaks {
            let _ = writeln!(out, "LEAK: {leak}");
        }
        for failure in &self.failures {
            let _ = writeln!(out, "FAIL: {failure}");
        }
        let _ = writeln!(
            out,
            "drill: {} faults, {} recovered (p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms), {} lost calls, {} lost acks, {} notify gaps, dt_max {:.1} ms (bound {:.1}), {} kernel crashes, {} leaks, {:.0} s — {}",
            self.faults,
            self.recovered,
            self.recovery_ms_p50,
            self.recovery_ms_p99,
            self.recovery_ms_max,
            self.lost_calls,
            self.lost_acks,
            self.notify_gaps,
            self.dt_max_ms,
            self.dt_bound_ms,
            self.kernel_crashes,
            self.leaks.len(),
            self.seconds,
            if self.ok { "PASS" } else { "FAIL" }
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leaks_name_what_grew() {
        let start = Holdings {
            fds: 40,
            memfds: 3,
            sockets: 10,
            children: vec![10, 11],
            zombies: vec![],
            rss_kib: 100_000,
            dev_shm: 2,
        };
        assert!(leaks(&start, &start.clone(), 2, 0).is_empty());
        let end = Holdings {
            fds: 80,
            memfds: 9,
            children: vec![10, 11, 12],
            zombies: vec![12],
            rss_kib: 200_000,
            dev_shm: 3,
            ..start.clone()
        };
        let found = leaks(&start, &end, 2, 0).join("; ");
        assert!(
            !leaks(&start, &end, 2, 200_000)
                .join("; ")
                .contains("resident"),
            "a cache budget is allowed"
        );
        for what in [
            "descriptors 40 → 80",
            "shared-memory",
            "/dev/shm",
            "unreaped children [12]",
            "3 children where at most 2",
            "resident memory",
        ] {
            assert!(found.contains(what), "{what} not in {found}");
        }
    }

    #[test]
    fn stats_count_recoveries_and_bounds() {
        let mut s = Stats::default();
        s.record(
            Some(Duration::from_millis(10)),
            Duration::from_millis(50),
            true,
        );
        s.record(
            Some(Duration::from_millis(80)),
            Duration::from_millis(50),
            true,
        );
        s.record(None, Duration::from_millis(50), true);
        s.record(
            Some(Duration::from_millis(1500)),
            Duration::from_secs(2),
            false,
        );
        s.finish();
        assert_eq!(
            (s.faults, s.recovered, s.unrecovered, s.over_bound),
            (4, 3, 1, 1)
        );
        assert_eq!(
            (s.recovery_ms_p50, s.recovery_ms_max),
            (10.0, 80.0),
            "a stall's time is no recovery"
        );
    }
}

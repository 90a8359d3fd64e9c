//! The benchmarks behind `warden bench`; the command only parses its
//! arguments and calls in here. Each figure is measured beside its
//! baseline in one process and one run, so that the ratios are fair on a
//! noisy machine.
//!
//! - [`ipc`]: the kernel's paths — call round trips (in-process vs bare
//!   actix across arbiters, out-of-process vs a raw Unix socket),
//!   large-buffer handoff vs `memcpy`, and SIGKILL-to-answered restart
//!   (from the standby child, and with `standby = false`) vs the bare
//!   spawn+handshake. [`uds_echo`] and [`floor`] are the baselines' child
//!   sides: the binary runs them when it is re-executed for them.
//! - [`actors`]: the concern actors (`actors.rs`).
//! - [`live`]: the live system of `warden run` under faults (`live.rs`).
//! - [`wire`]: the client-facing interfaces (`wire.rs`).
//! - [`render::render`]: the CPU and wgpu paths and the readback floor.

mod actors;
mod live;
pub mod remote;
pub mod render;
pub mod stats;
mod wire;

/// What the binary running the benchmarks provides: its actor kinds and
/// its embedded default config (the system `warden run` ships). The
/// baselines' child sides re-execute it (`/proc/self/exe bench uds-echo`,
/// `bench floor`).
#[derive(Clone, Copy)]
pub struct Binary {
    /// Every actor kind the binary hosts.
    pub registry: fn() -> warden_kernel::Registry,
    /// Its embedded default config.
    pub default_config: &'static str,
}

use std::io::{Read as _, Write as _};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use actix::prelude::*;
use anyhow::Context as _;
use serde::Serialize;
use warden_kernel::probe::{Probe, ProbeMsg, ProbeReply};
use warden_kernel::{ActorRef, Kernel, KernelConfig, KernelOptions, SharedFrame, State};
use warden_transport::bootstrap::{self, ChildCommand, Wire};

const CONFIG: &str = r#"
[supervisor]
heartbeat_ms = 200
max_restarts = 1000
within_secs = 10

[actors.local]
kind = "probe"
placement = "inprocess"

[actors.remote]
kind = "probe"
placement = "process"
shm_slots = 2
shm_slot_bytes = 36_000_000

# Restarts are timed on the probe as `warden run` ships it (2 × 8 MiB slots
# per direction): a dying child's pool pages are unmapped by the OS on the
# other core while its successor starts, a cost that grows with the pool.
[actors.restarted]
kind = "probe"
placement = "process"
shm_slots = 2
shm_slot_bytes = 8_388_608

# The same without a standby child: each restart execs and shakes hands,
# the path the spawn floor measures.
[actors.restarted_cold]
kind = "probe"
placement = "process"
shm_slots = 2
shm_slot_bytes = 8_388_608
standby = false
"#;

#[derive(Serialize)]
struct Results {
    process_call_p50_us: f64,
    process_call_p99_us: f64,
    uds_rtt_p50_us: f64,
    uds_rtt_p99_us: f64,
    inprocess_call_p50_us: f64,
    inprocess_call_p99_us: f64,
    actix_rtt_p50_us: f64,
    handoff_8mib_ms: f64,
    handoff_33mib_ms: f64,
    memcpy_8mib_ms: f64,
    memcpy_33mib_ms: f64,
    /// Restarts as shipped: the new instance is the actor's standby child.
    restart_p50_ms: f64,
    restart_max_ms: f64,
    external_kill_restart_p50_ms: f64,
    /// Restarts with `standby = false`: exec and handshake included.
    cold_restart_p50_ms: f64,
    cold_restart_max_ms: f64,
    spawn_floor_ms: f64,
    /// Timed out-of-process calls (after the warm-up round).
    process_calls: usize,
    /// Timed in-process calls.
    inprocess_calls: usize,
    /// Timed restarts of each kind.
    restarts: usize,
    ratios: Ratios,
    targets_met: bool,
}

#[derive(Serialize)]
struct Ratios {
    process_call_vs_uds: f64,
    inprocess_call_vs_actix: f64,
    handoff_8mib_vs_memcpy: f64,
    restart_vs_spawn_floor: f64,
    cold_restart_vs_spawn_floor: f64,
}

fn quantile(samples: &mut [Duration], q: f64) -> f64 {
    samples.sort();
    let index = ((samples.len().saturating_sub(1)) as f64 * q).round() as usize;
    samples.get(index).map_or(0.0, |d| d.as_secs_f64() * 1e6)
}

/// `warden bench run`: the live system at each of `fps`, windows of `secs`
/// with and without faults, and a slideshow soak of `soak` seconds.
pub fn live(
    bin: Binary,
    json: bool,
    secs: f64,
    fps: &[f64],
    soak: Option<f64>,
) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(
        fps.iter()
            .all(|f| f.is_finite() && (1.0..=240.0).contains(f)),
        "--fps: each rate must be 1..=240"
    );
    let report = actix_rt::System::new().block_on(live::run(bin, fps, secs, soak))?;
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!("{report}");
    }
    Ok(ExitCode::SUCCESS)
}

/// `warden bench actors`: each concern actor's paths beside its core
/// called directly.
pub fn actors(bin: Binary, json: bool) -> anyhow::Result<ExitCode> {
    // The baselines: a raw Unix-socket round trip, a memcpy of a 1080p frame.
    let mut uds_peer = UdsPeer::start()?;
    let uds = move |calls: usize, out: &mut Vec<f64>| -> anyhow::Result<()> {
        let mut samples = Vec::new();
        uds_peer.measure(calls, &mut samples)?;
        out.extend(samples.iter().map(|d| d.as_secs_f64() * 1e6));
        Ok(())
    };
    let len = 1920 * 1080 * 4;
    let source: Vec<u8> = (0..len).map(|i| (i % 253) as u8).collect();
    let mut target = vec![0u8; len];
    let mut copies = Vec::new();
    for _ in 0..31 {
        let started = Instant::now();
        target.copy_from_slice(&source);
        std::hint::black_box(&target);
        copies.push(started.elapsed());
    }
    let memcpy_ms = quantile(&mut copies, 0.5) / 1000.0;
    let results = actix_rt::System::new().block_on(actors::run(bin, uds, memcpy_ms))?;
    if json {
        println!("{}", serde_json::to_string(&results)?);
    } else {
        actors::print_table(&results);
    }
    Ok(ExitCode::SUCCESS)
}

/// `warden wire`: WebSocket acks and fan-out, seed 003's endpoints and the
/// shared-memory export, each beside its baseline.
pub fn wire(bin: Binary, json: bool, secs: f64) -> anyhow::Result<ExitCode> {
    let report = wire::run(bin, secs.clamp(1.0, 600.0))?;
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!("{report}");
    }
    Ok(ExitCode::SUCCESS)
}

/// The raw-socket baseline's child: echo length-prefixed frames on the
/// Unix socket at `path` until it closes.
pub fn uds_echo(path: &std::path::Path) -> anyhow::Result<ExitCode> {
    let mut stream = UnixStream::connect(path)
        .with_context(|| format!("cannot connect to {}", path.display()))?;
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let mut len = [0u8; 4];
        if stream.read_exact(&mut len).is_err() {
            return Ok(ExitCode::SUCCESS);
        }
        let n = u32::from_le_bytes(len) as usize;
        anyhow::ensure!(n <= buf.len(), "frame of {n} bytes is too large");
        stream.read_exact(&mut buf[..n])?;
        stream.write_all(&len)?;
        stream.write_all(&buf[..n])?;
    }
}

/// The spawn floor's child: complete the handshake with the parent's
/// one-shot server `name`, answer one message, wait for the hang-up.
pub fn floor(name: &str, parent_pid: u32) -> anyhow::Result<ExitCode> {
    bootstrap::die_with_parent(parent_pid)?;
    let parent = bootstrap::connect(name)?;
    let first = parent
        .from_parent
        .recv()
        .map_err(|err| anyhow::anyhow!("{err:?}"))?;
    parent
        .to_parent
        .send(Wire::Frame(serde_bytes::ByteBuf::from(first)))
        .map_err(|err| anyhow::anyhow!("{err:?}"))?;
    // Stay until the parent hangs up.
    while parent.from_parent.recv().is_ok() {}
    Ok(ExitCode::SUCCESS)
}

/// A child of this binary echoing on a raw Unix socket: the floor for any
/// blocking cross-process design.
struct UdsPeer {
    child: std::process::Child,
    stream: UnixStream,
    dir: PathBuf,
}

impl UdsPeer {
    fn start() -> anyhow::Result<Self> {
        let dir = tempdir()?;
        let path = dir.join("uds.sock");
        let listener = UnixListener::bind(&path)?;
        let child = std::process::Command::new("/proc/self/exe")
            .args(["bench", "uds-echo"])
            .arg(&path)
            .spawn()?;
        let (stream, _) = listener.accept()?;
        Ok(UdsPeer { child, stream, dir })
    }

    fn measure(&mut self, calls: usize, samples: &mut Vec<Duration>) -> anyhow::Result<()> {
        let message = [7u8; 16];
        let mut back = [0u8; 20];
        for _ in 0..calls {
            let started = Instant::now();
            self.stream
                .write_all(&(message.len() as u32).to_le_bytes())?;
            self.stream.write_all(&message)?;
            self.stream.read_exact(&mut back)?;
            samples.push(started.elapsed());
        }
        Ok(())
    }
}

impl Drop for UdsPeer {
    fn drop(&mut self) {
        let _ = self.stream.shutdown(std::net::Shutdown::Both);
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn tempdir() -> anyhow::Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("warden-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

/// Spawn this binary, complete the handshake, get one reply: the restart floor.
fn spawn_floor() -> anyhow::Result<Duration> {
    let command = ChildCommand {
        program: "/proc/self/exe".into(),
        args: vec!["bench".into(), "floor".into()],
        env: Vec::new(),
    };
    let started = Instant::now();
    let mut connected = bootstrap::spawn(&command, Duration::from_secs(10))?;
    connected
        .to_child
        .send(&[1u8; 16])
        .map_err(|err| anyhow::anyhow!("{err:?}"))?;
    connected
        .from_child
        .recv()
        .map_err(|err| anyhow::anyhow!("{err:?}"))?;
    let took = started.elapsed();
    drop(connected.to_child);
    let _ = connected.child.kill();
    let _ = connected.child.wait();
    Ok(took)
}

#[derive(Message)]
#[rtype(result = "u64")]
struct Ping(u64);

struct Echo;
impl Actor for Echo {
    type Context = Context<Self>;
}
impl Handler<Ping> for Echo {
    type Result = u64;
    fn handle(&mut self, msg: Ping, _: &mut Context<Self>) -> u64 {
        msg.0
    }
}

async fn actix_rtt(addr: &Addr<Echo>, calls: usize, samples: &mut Vec<Duration>) {
    for i in 0..calls as u64 {
        let started = Instant::now();
        let _ = addr.send(Ping(i)).await;
        samples.push(started.elapsed());
    }
}

async fn call_rtt(
    probe: &ActorRef<Probe>,
    calls: usize,
    samples: &mut Vec<Duration>,
) -> anyhow::Result<()> {
    for _ in 0..calls {
        let started = Instant::now();
        probe.call(ProbeMsg::Echo(String::from("x"))).await?;
        samples.push(started.elapsed());
    }
    Ok(())
}

async fn handoff(probe: &ActorRef<Probe>, len: usize, rounds: usize) -> anyhow::Result<(f64, f64)> {
    let source: Vec<u8> = (0..len).map(|i| (i % 253) as u8).collect();
    let frame = SharedFrame::from_vec(source.clone());
    let mut handoffs = Vec::new();
    for _ in 0..rounds + 1 {
        let started = Instant::now();
        let reply = probe
            .call(ProbeMsg::EchoFrame {
                frame: frame.clone(),
                checksum: false,
            })
            .await?;
        let ProbeReply::Frame { frame: back, .. } = reply else {
            anyhow::bail!("unexpected reply to EchoFrame");
        };
        anyhow::ensure!(
            back.len() == len && back[len - 1] == source[len - 1],
            "frame came back damaged"
        );
        handoffs.push(started.elapsed());
    }
    handoffs.remove(0);
    let mut target = vec![0u8; len];
    let mut copies = Vec::new();
    for _ in 0..rounds + 1 {
        let started = Instant::now();
        target.copy_from_slice(&source);
        std::hint::black_box(&target);
        copies.push(started.elapsed());
    }
    copies.remove(0);
    Ok((
        quantile(&mut handoffs, 0.5) / 1000.0,
        quantile(&mut copies, 0.5) / 1000.0,
    ))
}

/// SIGKILL the child and time until a call is answered by its replacement.
/// `external`: the signal comes from outside (as from the OOM killer), so
/// the kernel learns of the death only once the OS has torn the process
/// down; otherwise the kernel sends it (admin kill, hang), as in production.
async fn restart(
    kernel: &Kernel,
    probe: &ActorRef<Probe>,
    external: bool,
) -> anyhow::Result<Duration> {
    // Let the instance run past the backoff reset, so every restart is immediate.
    actix_rt::time::sleep(Duration::from_millis(600)).await;
    let status = kernel.status(probe.name())?;
    anyhow::ensure!(
        status.state == State::Running,
        "{} is {:?}",
        probe.name(),
        status.state
    );
    let pid = nix::unistd::Pid::from_raw(status.pid as i32);
    let started = Instant::now();
    if external {
        nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL)?;
    } else {
        kernel.kill(probe.name(), "bench: kill")?;
    }
    loop {
        if let ProbeReply::Echo { generation, .. } =
            probe.call(ProbeMsg::Echo("after".into())).await?
            && generation > status.generation
        {
            return Ok(started.elapsed());
        }
    }
}

/// Profiling aid: only time out-of-process calls, for `seconds`.
pub fn profile_process_calls(bin: Binary, seconds: u64) -> anyhow::Result<ExitCode> {
    let registry = (bin.registry)();
    let config = KernelConfig::from_toml(CONFIG, &registry)?;
    actix_rt::System::new().block_on(async move {
        let kernel = Kernel::boot(config, &registry, KernelOptions::default()).await?;
        let remote = kernel.actor::<Probe>("remote")?;
        let until = Instant::now() + Duration::from_secs(seconds);
        let mut calls = 0u64;
        while Instant::now() < until {
            remote.call(ProbeMsg::Echo(String::from("x"))).await?;
            calls += 1;
        }
        kernel.shutdown().await;
        println!(
            "{calls} calls, {:.1} µs each",
            seconds as f64 * 1e6 / calls as f64
        );
        anyhow::Ok(())
    })?;
    Ok(ExitCode::SUCCESS)
}

/// `warden bench ipc`: `calls` round trips per path, `restart_count`
/// restarts of each kind.
pub fn ipc(
    bin: Binary,
    json: bool,
    calls: usize,
    restart_count: usize,
) -> anyhow::Result<ExitCode> {
    let registry = (bin.registry)();
    let config = KernelConfig::from_toml(CONFIG, &registry)?;
    let mut uds_peer = UdsPeer::start()?;
    let results = actix_rt::System::new().block_on(async move {
        let kernel = Kernel::boot(config, &registry, KernelOptions::default()).await?;
        let local = kernel.actor::<Probe>("local")?;
        let remote = kernel.actor::<Probe>("remote")?;
        let restarted = kernel.actor::<Probe>("restarted")?;
        let restarted_cold = kernel.actor::<Probe>("restarted_cold")?;
        let arbiter = Arbiter::new();
        let echo = Echo::start_in_arbiter(&arbiter.handle(), |_| Echo);
        // Interleave the four round trips in rounds, so that every figure
        // sees the same machine (it is shared and its load changes).
        const ROUNDS: usize = 10;
        let chunk = calls.div_ceil(ROUNDS);
        let (mut uds, mut actix, mut inprocess, mut process) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for round in 0..=ROUNDS {
            let (mut u, mut a, mut i, mut p) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
            uds_peer.measure(chunk, &mut u)?;
            actix_rtt(&echo, chunk, &mut a).await;
            call_rtt(&local, chunk, &mut i).await?;
            call_rtt(&remote, chunk, &mut p).await?;
            if round > 0 {
                // Round 0 warms caches and allocators up.
                uds.extend(u);
                actix.extend(a);
                inprocess.extend(i);
                process.extend(p);
            }
        }
        drop(uds_peer);
        arbiter.stop();
        let (handoff_8, memcpy_8) = handoff(&remote, 8 << 20, 30).await?;
        let (handoff_33, memcpy_33) = handoff(&remote, 33 << 20, 10).await?;
        // Likewise: a floor sample, then a restart of each kind, in turn.
        spawn_floor()?; // page cache
        let (mut floor, mut restart_times, mut external, mut cold) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for _ in 0..restart_count {
            floor.push(spawn_floor()?);
            restart_times.push(restart(&kernel, &restarted, false).await?);
            external.push(restart(&kernel, &restarted, true).await?);
            cold.push(restart(&kernel, &restarted_cold, false).await?);
        }
        let mut restart = restart_times;
        let counts = (process.len(), inprocess.len(), restart.len());
        kernel.shutdown().await;
        let process_p50 = quantile(&mut process, 0.5);
        let uds_p50 = quantile(&mut uds, 0.5);
        let inprocess_p50 = quantile(&mut inprocess, 0.5);
        let actix_p50 = quantile(&mut actix, 0.5);
        let restart_p50 = quantile(&mut restart, 0.5) / 1000.0;
        let floor_p50 = quantile(&mut floor, 0.5) / 1000.0;
        let cold_p50 = quantile(&mut cold, 0.5) / 1000.0;
        let ratios = Ratios {
            process_call_vs_uds: process_p50 / uds_p50,
            inprocess_call_vs_actix: inprocess_p50 / actix_p50,
            handoff_8mib_vs_memcpy: handoff_8 / memcpy_8,
            restart_vs_spawn_floor: restart_p50 / floor_p50,
            cold_restart_vs_spawn_floor: cold_p50 / floor_p50,
        };
        let process_p99 = quantile(&mut process, 0.99);
        let targets_met = ratios.process_call_vs_uds <= 1.3
            && process_p99 <= 150.0
            && ratios.inprocess_call_vs_actix <= 1.3
            && ratios.handoff_8mib_vs_memcpy <= 4.0
            && ratios.cold_restart_vs_spawn_floor <= 3.0
            && restart_p50 <= 10.0;
        anyhow::Ok(Results {
            process_call_p50_us: process_p50,
            process_call_p99_us: process_p99,
            uds_rtt_p50_us: uds_p50,
            uds_rtt_p99_us: quantile(&mut uds, 0.99),
            inprocess_call_p50_us: inprocess_p50,
            inprocess_call_p99_us: quantile(&mut inprocess, 0.99),
            actix_rtt_p50_us: actix_p50,
            handoff_8mib_ms: handoff_8,
            handoff_33mib_ms: handoff_33,
            memcpy_8mib_ms: memcpy_8,
            memcpy_33mib_ms: memcpy_33,
            restart_p50_ms: restart_p50,
            restart_max_ms: quantile(&mut restart, 1.0) / 1000.0,
            external_kill_restart_p50_ms: quantile(&mut external, 0.5) / 1000.0,
            cold_restart_p50_ms: cold_p50,
            cold_restart_max_ms: quantile(&mut cold, 1.0) / 1000.0,
            spawn_floor_ms: floor_p50,
            process_calls: counts.0,
            inprocess_calls: counts.1,
            restarts: counts.2,
            ratios,
            targets_met,
        })
    })?;
    if json {
        println!("{}", serde_json::to_string(&results)?);
    } else {
        print_table(&results);
    }
    Ok(ExitCode::SUCCESS)
}

fn print_table(r: &Results) {
    let verdict = |ok: bool| if ok { "met" } else { "NOT met" };
    println!(
        "{:<34} {:>12}  {:>12}  {:>7}  target",
        "path", "measured", "baseline", "ratio"
    );
    println!(
        "{:<34} {:>9.1} µs  {:>9.1} µs  {:>7.2}  ≤ 1.3× raw UDS ({}); p99 {:.1} µs ≤ 150 µs ({})",
        "out-of-process call p50",
        r.process_call_p50_us,
        r.uds_rtt_p50_us,
        r.ratios.process_call_vs_uds,
        verdict(r.ratios.process_call_vs_uds <= 1.3),
        r.process_call_p99_us,
        verdict(r.process_call_p99_us <= 150.0)
    );
    println!(
        "{:<34} {:>9.1} µs  {:>9.1} µs  {:>7.2}  ≤ 1.3× bare actix across arbiters ({})",
        "in-process call p50",
        r.inprocess_call_p50_us,
        r.actix_rtt_p50_us,
        r.ratios.inprocess_call_vs_actix,
        verdict(r.ratios.inprocess_call_vs_actix <= 1.3)
    );
    println!(
        "{:<34} {:>9.3} ms  {:>9.3} ms  {:>7.2}  ≤ 4× memcpy ({})",
        "8 MiB handoff to a child and back",
        r.handoff_8mib_ms,
        r.memcpy_8mib_ms,
        r.ratios.handoff_8mib_vs_memcpy,
        verdict(r.ratios.handoff_8mib_vs_memcpy <= 4.0)
    );
    println!(
        "{:<34} {:>9.3} ms  {:>9.3} ms  {:>7.2}",
        "33 MiB handoff to a child and back",
        r.handoff_33mib_ms,
        r.memcpy_33mib_ms,
        r.handoff_33mib_ms / r.memcpy_33mib_ms
    );
    println!(
        "{:<34} {:>9.2} ms  {:>9.2} ms  {:>7.2}  ≤ 10 ms ({}); max {:.2} ms (the standby child takes over: below a bare spawn)",
        "kernel SIGKILL → answered call p50",
        r.restart_p50_ms,
        r.spawn_floor_ms,
        r.ratios.restart_vs_spawn_floor,
        verdict(r.restart_p50_ms <= 10.0),
        r.restart_max_ms
    );
    println!(
        "{:<34} {:>9.2} ms  {:>9.2} ms  {:>7.2}  ≤ 3× spawn+handshake ({}); max {:.2} ms",
        "… with standby = false",
        r.cold_restart_p50_ms,
        r.spawn_floor_ms,
        r.ratios.cold_restart_vs_spawn_floor,
        verdict(r.ratios.cold_restart_vs_spawn_floor <= 3.0),
        r.cold_restart_max_ms
    );
    println!(
        "{:<34} {:>9.2} ms  {:>9.2} ms  {:>7.2}  (includes the OS tearing down the dead child's pool mappings)",
        "external SIGKILL → answered p50",
        r.external_kill_restart_p50_ms,
        r.spawn_floor_ms,
        r.external_kill_restart_p50_ms / r.spawn_floor_ms
    );
    println!(
        "targets {}",
        if r.targets_met { "met" } else { "NOT all met" }
    );
}

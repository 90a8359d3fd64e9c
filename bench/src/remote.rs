//! `warden bench remote`: the remote placement on loopback, beside a bare
//! `async-nats` client on the same server (docs/CLUSTER.md).
//!
//! One run starts two `nats-server`s on loopback ports — one with
//! `max_payload` raised to 64 MiB (a 1080p frame is one message), one with
//! the default 1 MiB (a frame is chunked) — and three `warden node`s on the
//! first, then measures:
//!
//! - a call to a remote probe against a bare request-reply of the same
//!   size between two connections of this process;
//! - a 1080p RGBA frame to a remote probe and back against a bare
//!   request-reply carrying the same bytes each way (both servers);
//! - node SIGKILL → the actor answering on another node, against the
//!   bound (heartbeat × misses + the actor's remote start);
//! - moves of a running actor under four callers: the longest a call
//!   waited, lost calls (any error) and re-sent calls.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use futures_util::StreamExt as _;
use serde::Serialize;
use warden_kernel::probe::{Probe, ProbeMsg, ProbeReply};
use warden_kernel::{ActorRef, Kernel, KernelConfig, KernelOptions, Placement, SharedFrame};

use crate::Binary;
use crate::stats::{percentile, quantile};

/// 1080p RGBA.
const FRAME_BYTES: usize = 1920 * 1080 * 4;

/// p50 / p99 / max of a set of samples (ms).
#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct Spread {
    /// Median.
    pub p50: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Slowest.
    pub max: f64,
}

impl Spread {
    fn of(mut ms: Vec<f64>) -> Self {
        ms.sort_by(f64::total_cmp);
        Spread {
            p50: percentile(&ms, 0.5),
            p99: percentile(&ms, 0.99),
            max: percentile(&ms, 1.0),
        }
    }
}

/// The whole run.
#[derive(Debug, Serialize)]
pub struct Report {
    /// `nats-server --version`.
    pub server: String,
    /// Round trips per call figure.
    pub calls: usize,
    /// Bare request-reply, 16 bytes.
    pub bare_call: Spread,
    /// A remote probe's `Echo`.
    pub remote_call: Spread,
    /// remote p50 / bare p50 (target ≤ 1.5).
    pub call_ratio: f64,
    /// Frames per frame figure.
    pub frames: usize,
    /// Bare request-reply, a 1080p frame each way, max_payload 64 MiB.
    pub bare_frame: Spread,
    /// A remote probe's `EchoFrame` of a 1080p frame, max_payload 64 MiB.
    pub remote_frame: Spread,
    /// remote p50 / bare p50 (target ≤ 2).
    pub frame_ratio: f64,
    /// The same at the server's default max_payload (1 MiB: chunked).
    pub bare_frame_chunked: Spread,
    /// See `bare_frame_chunked`.
    pub remote_frame_chunked: Spread,
    /// remote p50 / bare p50, chunked.
    pub frame_ratio_chunked: f64,
    /// Node SIGKILL → answering on another node (ms, each failover).
    pub failover_ms: Vec<f64>,
    /// The remote starts those failovers took (ms, from the start events).
    pub remote_start_ms: Vec<f64>,
    /// heartbeat × misses (ms).
    pub heartbeat_bound_ms: f64,
    /// worst failover / (heartbeat bound + median start) (target ≤ 2).
    pub failover_ratio: f64,
    /// Moves performed under load.
    pub moves: usize,
    /// Each move's duration (ms, relocate call).
    pub move_ms: Vec<f64>,
    /// Calls made during the move phase.
    pub move_calls: u64,
    /// Their latency (ms): the pause a call saw is its p99 / max.
    pub move_call: Spread,
    /// Calls that got an error (target 0).
    pub lost: u64,
    /// Calls the kernel re-sent (target 0).
    pub resent: u64,
}

fn nats_server() -> anyhow::Result<PathBuf> {
    warden_kernel::node::nats_server().ok_or_else(|| {
        anyhow::anyhow!("nats-server is not installed (apt install nats-server; docs/CLUSTER.md)")
    })
}

/// Processes killed when dropped.
struct Procs(Vec<(String, Child)>);

impl Drop for Procs {
    fn drop(&mut self) {
        for (_, child) in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Procs {
    fn kill(&mut self, name: &str) {
        if let Some(index) = self.0.iter().position(|(n, _)| n == name) {
            let (_, mut child) = self.0.remove(index);
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

fn start_server(
    bin: &Path,
    dir: &Path,
    max_payload: Option<usize>,
) -> anyhow::Result<(String, Child)> {
    let port = free_port()?;
    let mut conf = format!("listen: 127.0.0.1:{port}\n");
    if let Some(max) = max_payload {
        conf.push_str(&format!("max_payload: {max}\nmax_pending: {}\n", 4 * max));
    }
    let path = dir.join(format!("nats-{port}.conf"));
    std::fs::write(&path, conf)?;
    let child = Command::new(bin)
        .arg("-c")
        .arg(&path)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        anyhow::ensure!(
            Instant::now() < deadline,
            "nats-server did not listen on {port}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    Ok((format!("nats://127.0.0.1:{port}"), child))
}

fn start_node(url: &str, name: &str) -> anyhow::Result<Child> {
    Ok(Command::new(std::env::current_exe()?)
        .args(["node", "--nats", url, "--name", name])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?)
}

fn config(url: &str, actor: &str) -> String {
    format!(
        "[supervisor]\nheartbeat_ms = 100\nheartbeat_misses = 3\nmax_restarts = 100\nwithin_secs = 10\nbackoff_initial_ms = 1\nbackoff_max_ms = 5\n\
         [cluster]\nnats_url = \"{url}\"\nnode_timeout_ms = 1000\n\
         [actors.p]\nkind = \"probe\"\nplacement = \"remote\"\n{actor}\nshm_slots = 4\nshm_slot_bytes = 8_388_608\n"
    )
}

/// Bare: `payload` each way between two connections, as one request-reply
/// when it fits the server's `max_payload`, else in chunks of it (each way
/// on a subject of its own), as the tunnel does.
async fn bare(url: &str, payload: usize, count: usize) -> anyhow::Result<Spread> {
    let probe = async_nats::connect(url).await?;
    let limit = probe.server_info().max_payload.saturating_sub(512);
    drop(probe);
    if payload > limit {
        return bare_chunked(url, payload, limit, count).await;
    }
    let responder = async_nats::connect(url).await?;
    let requester = async_nats::connect(url).await?;
    let mut requests = responder.subscribe("bench.echo").await?;
    responder.flush().await?;
    let echo = tokio::spawn(async move {
        while let Some(message) = requests.next().await {
            if let Some(reply) = message.reply {
                let _ = responder.publish(reply, message.payload).await;
            }
        }
    });
    let body = bytes::Bytes::from(vec![7u8; payload]);
    // The responder's interest may reach the requester's side of the
    // server a moment after its flush: wait for the first answer.
    let ready = Instant::now();
    while requester.request("bench.echo", body.clone()).await.is_err() {
        anyhow::ensure!(
            ready.elapsed() < Duration::from_secs(5),
            "the bare responder never answered"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let mut ms = Vec::with_capacity(count);
    for round in 0..count + count / 10 + 1 {
        let started = Instant::now();
        let answer = requester.request("bench.echo", body.clone()).await?;
        anyhow::ensure!(answer.payload.len() == payload, "a short echo");
        if round > count / 10 {
            ms.push(started.elapsed().as_secs_f64() * 1e3);
        }
    }
    echo.abort();
    Ok(Spread::of(ms))
}

async fn bare_chunked(
    url: &str,
    payload: usize,
    chunk: usize,
    count: usize,
) -> anyhow::Result<Spread> {
    let responder = async_nats::connect(url).await?;
    let requester = async_nats::connect(url).await?;
    let mut inbound = responder.subscribe("bench.in").await?;
    let mut outbound = requester.subscribe("bench.out").await?;
    responder.flush().await?;
    requester.flush().await?;
    let parts = payload.div_ceil(chunk);
    let echo = tokio::spawn(async move {
        let mut got = Vec::new();
        while let Some(message) = inbound.next().await {
            got.push(message.payload);
            if got.len() == parts {
                for part in got.drain(..) {
                    let _ = responder.publish("bench.out", part).await;
                }
                let _ = responder.flush().await;
            }
        }
    });
    let body = bytes::Bytes::from(vec![7u8; payload]);
    let mut ms = Vec::with_capacity(count);
    for round in 0..count + count / 10 + 1 {
        let started = Instant::now();
        for index in 0..parts {
            let part = body.slice(index * chunk..((index + 1) * chunk).min(payload));
            requester.publish("bench.in", part).await?;
        }
        requester.flush().await?;
        let mut back = 0;
        while back < payload {
            let message = outbound
                .next()
                .await
                .ok_or_else(|| anyhow::anyhow!("the echo ended"))?;
            back += message.payload.len();
        }
        if round > count / 10 {
            ms.push(started.elapsed().as_secs_f64() * 1e3);
        }
    }
    echo.abort();
    Ok(Spread::of(ms))
}

async fn boot(bin: &Binary, toml: &str) -> anyhow::Result<(Kernel, ActorRef<Probe>)> {
    let registry = (bin.registry)();
    let config = KernelConfig::from_toml(toml, &registry)?;
    let kernel = Kernel::boot(config, &registry, KernelOptions::default()).await?;
    let probe = kernel.actor::<Probe>("p")?;
    Ok((kernel, probe))
}

async fn remote_calls(probe: &ActorRef<Probe>, count: usize) -> anyhow::Result<Spread> {
    let mut ms = Vec::with_capacity(count);
    for round in 0..count + count / 10 + 1 {
        let started = Instant::now();
        probe
            .call(ProbeMsg::Echo("0123456789abcdef".into()))
            .await?;
        if round > count / 10 {
            ms.push(started.elapsed().as_secs_f64() * 1e3);
        }
    }
    Ok(Spread::of(ms))
}

async fn remote_frames(probe: &ActorRef<Probe>, count: usize) -> anyhow::Result<Spread> {
    let frame = SharedFrame::from_vec(vec![9u8; FRAME_BYTES]);
    let mut ms = Vec::with_capacity(count);
    for round in 0..=count {
        let started = Instant::now();
        let reply = probe
            .call(ProbeMsg::EchoFrame {
                frame: frame.clone(),
                checksum: false,
            })
            .await?;
        let ProbeReply::Frame { frame: back, .. } = reply else {
            anyhow::bail!("unexpected reply {reply:?}");
        };
        anyhow::ensure!(back.len() == FRAME_BYTES, "a short frame");
        if round > 0 {
            ms.push(started.elapsed().as_secs_f64() * 1e3);
        }
    }
    Ok(Spread::of(ms))
}

fn resent(kernel: &Kernel) -> u64 {
    kernel
        .metrics_text()
        .lines()
        .filter(|line| line.starts_with("warden_calls_resent_total") && line.contains("\"p\""))
        .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
        .sum::<f64>() as u64
}

/// The "ready in X ms" of the latest `started` event of `p`.
fn last_start_ms(kernel: &Kernel) -> Option<f64> {
    kernel
        .events_since(0)
        .iter()
        .rev()
        .find(|event| event.actor == "p" && event.kind == "started")
        .and_then(|event| {
            let after = event.detail.split("ready in ").nth(1)?;
            after.split(" ms").next()?.parse().ok()
        })
}

/// `warden bench remote`.
pub fn remote(
    bin: Binary,
    json: bool,
    calls: usize,
    frames: usize,
    failovers: usize,
    moves: usize,
) -> anyhow::Result<ExitCode> {
    let server_bin = nats_server()?;
    let version = Command::new(&server_bin)
        .arg("--version")
        .output()
        .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_string())
        .unwrap_or_default();
    let dir = tempfile::tempdir()?;
    let mut procs = Procs(Vec::new());
    let (big, server) = start_server(&server_bin, dir.path(), Some(64 << 20))?;
    procs.0.push(("server".into(), server));
    let (small, server) = start_server(&server_bin, dir.path(), None)?;
    procs.0.push(("server-small".into(), server));
    let nodes = ["a", "b", "c"];
    for name in nodes {
        procs.0.push((name.to_string(), start_node(&big, name)?));
    }
    procs.0.push(("small-a".into(), start_node(&small, "a")?));
    let system = actix_rt::System::new();
    let procs_ref = &mut procs;
    let report = system.block_on(async move {
        let procs = procs_ref;
        eprintln!("bench remote: calls");
        let bare_call = bare(&big, 16, calls).await?;
        let (kernel, probe) = boot(&bin, &config(&big, "node = \"a\"")).await?;
        let remote_call = remote_calls(&probe, calls).await?;
        eprintln!("bench remote: frames");
        let bare_frame = bare(&big, FRAME_BYTES, frames).await?;
        let remote_frame = remote_frames(&probe, frames).await?;
        kernel.shutdown().await;
        let bare_frame_chunked = bare(&small, FRAME_BYTES, frames).await?;
        let (kernel, probe) = boot(&bin, &config(&small, "node = \"a\"")).await?;
        let remote_frame_chunked = remote_frames(&probe, frames).await?;
        kernel.shutdown().await;

        eprintln!("bench remote: failovers");
        let (kernel, probe) = boot(&bin, &config(&big, "nodes = [\"a\", \"b\", \"c\"]")).await?;
        let (mut failover_ms, mut remote_start_ms) = (Vec::new(), Vec::new());
        for _ in 0..failovers {
            probe.call(ProbeMsg::Echo("before".into())).await?;
            let status = kernel.status("p")?;
            let node = status.node.clone().unwrap_or_default();
            let killed = Instant::now();
            procs.kill(&node);
            loop {
                match probe.call(ProbeMsg::Echo("after".into())).await {
                    Ok(ProbeReply::Echo { generation, .. }) if generation > status.generation => {
                        break;
                    }
                    _ => {}
                }
                anyhow::ensure!(
                    killed.elapsed() < Duration::from_secs(30),
                    "no failover within 30 s"
                );
            }
            failover_ms.push(killed.elapsed().as_secs_f64() * 1e3);
            if let Some(ms) = last_start_ms(&kernel) {
                remote_start_ms.push(ms);
            }
            procs.0.push((node.clone(), start_node(&big, &node)?));
            // Let the node join before the next kill.
            actix_rt::time::sleep(Duration::from_millis(600)).await;
        }
        kernel.shutdown().await;

        eprintln!("bench remote: moves under load");
        let (kernel, probe) = boot(&bin, &config(&big, "node = \"a\"")).await?;
        let stop = Arc::new(AtomicBool::new(false));
        let mut callers = Vec::new();
        for _ in 0..4 {
            let probe = probe.clone();
            let stop = Arc::clone(&stop);
            callers.push(actix_rt::spawn(async move {
                let (mut ms, mut lost) = (Vec::new(), 0u64);
                while !stop.load(Ordering::Relaxed) {
                    let started = Instant::now();
                    match probe.call(ProbeMsg::Echo("load".into())).await {
                        Ok(_) => ms.push(started.elapsed().as_secs_f64() * 1e3),
                        Err(_) => lost += 1,
                    }
                }
                (ms, lost)
            }));
        }
        let places: [(Placement, &[&str]); 5] = [
            (Placement::Remote, &["b"]),
            (Placement::Inprocess, &[]),
            (Placement::Remote, &["a"]),
            (Placement::Process, &[]),
            (Placement::Remote, &["c"]),
        ];
        let mut move_ms = Vec::new();
        for index in 0..moves {
            actix_rt::time::sleep(Duration::from_millis(200)).await;
            let (placement, nodes) = places[index % places.len()];
            let started = Instant::now();
            kernel
                .relocate(
                    "p",
                    placement,
                    nodes.iter().map(|n| n.to_string()).collect(),
                )
                .await?;
            move_ms.push(started.elapsed().as_secs_f64() * 1e3);
        }
        actix_rt::time::sleep(Duration::from_millis(200)).await;
        stop.store(true, Ordering::Relaxed);
        let (mut all, mut lost) = (Vec::new(), 0);
        for caller in callers {
            let (ms, l) = caller.await?;
            all.extend(ms);
            lost += l;
        }
        let resent = resent(&kernel);
        kernel.shutdown().await;

        let heartbeat_bound_ms = 100.0 * 3.0;
        let start_p50 = quantile(&mut remote_start_ms.clone(), 0.5);
        let worst = failover_ms.iter().copied().fold(0.0, f64::max);
        let ratio = |a: f64, b: f64| if b > 0.0 { a / b } else { 0.0 };
        anyhow::Ok(Report {
            server: version,
            calls,
            call_ratio: ratio(remote_call.p50, bare_call.p50),
            bare_call,
            remote_call,
            frames,
            frame_ratio: ratio(remote_frame.p50, bare_frame.p50),
            bare_frame,
            remote_frame,
            frame_ratio_chunked: ratio(remote_frame_chunked.p50, bare_frame_chunked.p50),
            bare_frame_chunked,
            remote_frame_chunked,
            failover_ratio: ratio(worst, heartbeat_bound_ms + start_p50),
            failover_ms,
            remote_start_ms,
            heartbeat_bound_ms,
            moves,
            move_ms,
            move_calls: all.len() as u64 + lost,
            move_call: Spread::of(all),
            lost,
            resent,
        })
    })?;
    drop(procs);
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", table(&report));
    }
    Ok(ExitCode::SUCCESS)
}

fn table(r: &Report) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let s = |x: &Spread| format!("{:.3} / {:.3} / {:.3}", x.p50, x.p99, x.max);
    let _ = writeln!(out, "{} on loopback; ms p50 / p99 / max", r.server);
    let _ = writeln!(out, "call ({} round trips, 16 B)", r.calls);
    let _ = writeln!(out, "  bare async-nats request-reply  {}", s(&r.bare_call));
    let _ = writeln!(
        out,
        "  remote probe call              {}",
        s(&r.remote_call)
    );
    let _ = writeln!(
        out,
        "  ratio p50 {:.2} (target ≤ 1.5); p99 {:.3} ms (target ≤ 2)",
        r.call_ratio, r.remote_call.p99
    );
    let _ = writeln!(out, "1080p frame each way ({} frames)", r.frames);
    let _ = writeln!(
        out,
        "  max_payload 64 MiB: bare {}  remote {}  ratio {:.2} (target ≤ 2)",
        s(&r.bare_frame),
        s(&r.remote_frame),
        r.frame_ratio
    );
    let _ = writeln!(
        out,
        "  max_payload 1 MiB (chunked): bare {}  remote {}  ratio {:.2}",
        s(&r.bare_frame_chunked),
        s(&r.remote_frame_chunked),
        r.frame_ratio_chunked
    );
    let _ = writeln!(
        out,
        "node SIGKILL → answering elsewhere: {:?} ms; bound {} ms heartbeat + start {:?} ms; ratio {:.2} (target ≤ 2)",
        r.failover_ms.iter().map(|x| x.round()).collect::<Vec<_>>(),
        r.heartbeat_bound_ms,
        r.remote_start_ms
            .iter()
            .map(|x| x.round())
            .collect::<Vec<_>>(),
        r.failover_ratio
    );
    let _ = writeln!(
        out,
        "{} moves under 4 callers ({:?} ms each): {} calls, latency {} (pause p99 target ≤ 50), lost {}, re-sent {}",
        r.moves,
        r.move_ms.iter().map(|x| x.round()).collect::<Vec<_>>(),
        r.move_calls,
        s(&r.move_call),
        r.lost,
        r.resent
    );
    out
}

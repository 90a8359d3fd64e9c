//! `warden bench wire` — the client-facing interfaces of the live system,
//! each beside its baseline, in one run:
//!
//! - WebSocket acked updates/s with 64 sessions over real loopback sockets
//!   (each writes its own layer, waits for its ack, writes again), with the
//!   store actor in the kernel and then in a child, beside
//!   `warden_store::bench` with 64 writer threads on a store in the same
//!   temporary directory (the same disk, no sockets, no actor); the store is
//!   the only actor of that system, so nothing else competes for the cores;
//! - notify fan-out: 200 sessions following every topic, one writer; the
//!   time from sending an update to each session's receiving its notify;
//! - seed 003's reading endpoints at 500 requests/s over four keep-alive
//!   connections, on a second system whose perception actor publishes at
//!   its default 10 fps meanwhile;
//! - the shared-memory export: publish → a spinning reader holds the frame,
//!   at 10 Hz and at 1 kHz, beside a bare `memcpy` of the frame; every read
//!   checked (the wire frame's CRC32), torn reads counted.
//!
//! The clients run on a runtime of their own thread, the kernel on the
//! actix system, as they would in separate processes.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::Context as _;
use futures_util::{SinkExt, StreamExt};
use serde::Serialize;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::Message;
use warden_kernel::{Kernel, KernelConfig, KernelOptions};
use warden_perception::actor::WireFrame;
use warden_perception::geometry::BBox;
use warden_perception::shm::{ShmReader, ShmWriter};
use warden_perception::tracker::{TrackReport, TrackState};
use warden_perception::wire::{FrameKind, TracksFrame};

use crate::Binary;
use crate::stats::percentile;

const TOKEN: &str = "bench-token";

/// Figures of one run.
#[derive(Debug, Serialize)]
pub(crate) struct Report {
    ws_sessions: usize,
    /// The store actor in the kernel process.
    ws_acks_per_s: f64,
    ws_ack_p50_ms: f64,
    ws_ack_p99_ms: f64,
    /// The store actor in a child process (the default config's placement).
    ws_child_acks_per_s: f64,
    ws_child_ack_p50_ms: f64,
    ws_child_ack_p99_ms: f64,
    store_bench_acks_per_s: f64,
    store_bench_p99_ms: f64,
    ws_ratio: f64,
    ws_child_ratio: f64,
    fanout_sessions: usize,
    fanout_updates: usize,
    fanout_p50_ms: f64,
    fanout_p99_ms: f64,
    fanout_missed: u64,
    http_rate: f64,
    http_requests: usize,
    http_p50_ms: f64,
    http_p99_ms: f64,
    http_errors: usize,
    shm: Vec<ShmFigures>,
    targets_met: bool,
}

#[derive(Debug, Serialize)]
struct ShmFigures {
    hz: f64,
    reads: u64,
    torn: u64,
    frames_seen: u64,
    latency_p50_us: f64,
    latency_p99_us: f64,
    memcpy_ns: f64,
    frame_bytes: usize,
    ratio_p50_to_memcpy: f64,
}

/// The store phase's system: the store alone (nothing else competes for
/// the two cores with the WebSocket path), placed as asked.
fn store_config(data: &std::path::Path, placement: &str) -> String {
    format!(
        r#"
[actors.store]
kind = "store"
placement = "{placement}"
data = "{}"
"#,
        data.join(format!("scene-{placement}")).display()
    )
}

/// The endpoints phase's system: perception publishing as configured by
/// default (10 fps), in a child process.
const PERCEPTION_CONFIG: &str = r#"
[actors.perception]
kind = "perception"
placement = "process"
shm_export = false
"#;

/// A kernel with the live endpoints on a free loopback port.
struct Served {
    kernel: Kernel,
    web: std::sync::Arc<warden_web::Web>,
    server: warden_kernel::admin::AdminServer,
}

impl Served {
    async fn boot(bin: Binary, text: &str) -> anyhow::Result<Self> {
        let registry = (bin.registry)();
        let config = KernelConfig::from_toml(text, &registry)?;
        let kernel = Kernel::boot(config, &registry, KernelOptions::default()).await?;
        let web = warden_web::Web::start(
            &kernel,
            warden_web::WebOptions {
                token: TOKEN.into(),
                ..Default::default()
            },
        )?;
        let server = warden_kernel::admin::serve_with(
            kernel.clone(),
            "127.0.0.1:0".parse()?,
            TOKEN.into(),
            web.routes(),
        )
        .await?;
        Ok(Served {
            kernel,
            web,
            server,
        })
    }

    async fn stop(self) {
        self.server.stop().await;
        drop(self.web);
        self.kernel.shutdown().await;
    }
}

/// Run `clients` on a runtime of their own thread (as a separate process
/// would), while the actix system serves.
async fn on_client_thread<T, F>(clients: impl FnOnce() -> F + Send + 'static) -> anyhow::Result<T>
where
    T: Send + 'static,
    F: std::future::Future<Output = anyhow::Result<T>>,
{
    let thread = std::thread::spawn(move || -> anyhow::Result<T> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let local = tokio::task::LocalSet::new();
        local.block_on(&runtime, clients())
    });
    loop {
        if thread.is_finished() {
            return thread
                .join()
                .map_err(|_| anyhow::anyhow!("the clients panicked"))?;
        }
        actix_rt::time::sleep(Duration::from_millis(50)).await;
    }
}

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn session(
    url: &str,
    actor: &str,
    token: bool,
    topics: Option<&[&str]>,
) -> anyhow::Result<(Ws, u64)> {
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await?;
    let mut hello = json!({"type": "session.hello", "actor_id": actor});
    if token {
        hello["token"] = json!(TOKEN);
    }
    if let Some(topics) = topics {
        hello["topics"] = json!(topics);
    }
    ws.send(Message::text(hello.to_string())).await?;
    loop {
        let frame = next(&mut ws).await?;
        if frame["type"] == "notify.scene" {
            return Ok((ws, frame["version"].as_u64().unwrap_or(0)));
        }
    }
}

async fn next(ws: &mut Ws) -> anyhow::Result<Value> {
    loop {
        match tokio::time::timeout(Duration::from_secs(10), ws.next()).await {
            Ok(Some(Ok(Message::Text(text)))) => return Ok(serde_json::from_str(&text)?),
            Ok(Some(Ok(_))) => {}
            Ok(Some(Err(err))) => return Err(err.into()),
            Ok(None) => anyhow::bail!("the server closed the socket"),
            Err(_) => anyhow::bail!("nothing for 10 s"),
        }
    }
}

/// Send an update and wait for its ack; the ack's version.
async fn write(
    ws: &mut Ws,
    id: &str,
    topic: &str,
    expected: u64,
    payload: Value,
) -> anyhow::Result<u64> {
    let frame = json!({"type": "state.update", "request_id": id, "topic": topic, "expected_version": expected, "payload": payload});
    ws.send(Message::text(frame.to_string())).await?;
    loop {
        let frame = next(ws).await?;
        if frame["type"] == "state.ack" && frame["request_id"] == id {
            anyhow::ensure!(frame["ok"] == true, "refused: {frame}");
            return frame["version"]
                .as_u64()
                .context("an ack without a version");
        }
    }
}

async fn throughput(url: &str, sessions: usize, secs: f64) -> anyhow::Result<(f64, Vec<f64>)> {
    // The layers first, one after another (an `add` writes the shared order).
    let (mut setup, mut version) = session(url, "setup", true, Some(&["dims"])).await?;
    for i in 0..sessions {
        version = write(
            &mut setup,
            &format!("add{i}"),
            "layers",
            version,
            json!({"op": "add", "id": format!("bench{i}")}),
        )
        .await?;
    }
    let deadline = Instant::now() + Duration::from_secs_f64(secs);
    let tasks: Vec<_> = (0..sessions)
        .map(|i| {
            let url = url.to_string();
            tokio::task::spawn_local(async move {
                // Writers follow `dims` only: the fan-out is measured on its own.
                let (mut ws, version) =
                    session(&url, &format!("w{i}"), true, Some(&["dims"])).await?;
                let layer = format!("bench{i}");
                let mut expected = version;
                let mut latencies = Vec::new();
                let mut n = 0u64;
                while Instant::now() < deadline {
                    let t0 = Instant::now();
                    let opacity = (n % 100) as f64 / 100.0;
                    expected = write(
                        &mut ws,
                        &format!("u{n}"),
                        "layers",
                        expected,
                        json!({"op": "set", "id": layer, "opacity": opacity}),
                    )
                    .await?;
                    latencies.push(t0.elapsed().as_secs_f64() * 1000.0);
                    n += 1;
                }
                anyhow::Ok(latencies)
            })
        })
        .collect();
    let started = Instant::now();
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await??);
    }
    let elapsed = started.elapsed().as_secs_f64();
    Ok((all.len() as f64 / elapsed, all))
}

async fn fanout(url: &str, readers: usize, updates: usize) -> anyhow::Result<(Vec<f64>, u64)> {
    let received: Arc<Mutex<Vec<(u64, Instant)>>> = Arc::new(Mutex::new(Vec::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::new();
    for i in 0..readers {
        let (mut ws, _) = session(url, &format!("r{i}"), false, None).await?;
        let (received, stop) = (Arc::clone(&received), Arc::clone(&stop));
        tasks.push(tokio::task::spawn_local(async move {
            while !stop.load(Ordering::Relaxed) {
                match tokio::time::timeout(Duration::from_millis(200), ws.next()).await {
                    Ok(Some(Ok(Message::Text(text)))) => {
                        let at = Instant::now();
                        if text.contains("\"notify.camera\"") {
                            let frame: Value = serde_json::from_str(&text).unwrap_or_default();
                            if let Some(v) = frame["version"].as_u64() {
                                received
                                    .lock()
                                    .unwrap_or_else(|e| e.into_inner())
                                    .push((v, at));
                            }
                        }
                    }
                    Ok(Some(Ok(_))) | Err(_) => {}
                    _ => break,
                }
            }
        }));
    }
    let (mut writer, mut version) = session(url, "fan-writer", true, Some(&["dims"])).await?;
    let mut sent: HashMap<u64, Instant> = HashMap::new();
    for n in 0..updates {
        let t0 = Instant::now();
        let zoom = 1.0 + (n % 10) as f64 / 10.0;
        version = write(
            &mut writer,
            &format!("f{n}"),
            "camera",
            version,
            json!({"op": "set", "target": "main", "zoom": zoom}),
        )
        .await?;
        sent.insert(version, t0);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.store(true, Ordering::Relaxed);
    for task in tasks {
        let _ = task.await;
    }
    let received = received.lock().unwrap_or_else(|e| e.into_inner());
    let latencies: Vec<f64> = received
        .iter()
        .filter_map(|(v, at)| {
            sent.get(v)
                .map(|t0| at.duration_since(*t0).as_secs_f64() * 1000.0)
        })
        .collect();
    let expected = (readers * updates) as u64;
    Ok((
        latencies.clone(),
        expected.saturating_sub(latencies.len() as u64),
    ))
}

/// One GET over a kept-alive connection; the status.
async fn get(stream: &mut tokio::net::TcpStream, path: &str) -> anyhow::Result<u16> {
    stream
        .write_all(format!("GET {path} HTTP/1.1\r\nHost: bench\r\n\r\n").as_bytes())
        .await?;
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        anyhow::ensure!(
            stream.read(&mut byte).await? == 1,
            "the server closed the connection"
        );
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head);
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let length: usize = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-length:")
                .map(|v| v.trim().parse().unwrap_or(0))
        })
        .unwrap_or(0);
    let mut body = vec![0u8; length];
    stream.read_exact(&mut body).await?;
    Ok(status)
}

async fn http_load(
    addr: std::net::SocketAddr,
    rate: f64,
    secs: f64,
) -> anyhow::Result<(Vec<f64>, usize)> {
    const PATHS: [&str; 4] = [
        "/api/perception/tracks",
        "/api/perception/detections",
        "/api/timeline/predictions",
        "/api/perception/stats",
    ];
    let connections = 4;
    let period = Duration::from_secs_f64(connections as f64 / rate);
    let count = (rate * secs / connections as f64) as usize;
    let tasks: Vec<_> = (0..connections)
        .map(|c| {
            tokio::task::spawn_local(async move {
                let mut stream = tokio::net::TcpStream::connect(addr).await?;
                stream.set_nodelay(true)?;
                let (mut latencies, mut errors) = (Vec::new(), 0);
                let start = Instant::now() + period.mul_f64(c as f64 / connections as f64);
                for i in 0..count {
                    tokio::time::sleep_until((start + period * i as u32).into()).await;
                    let t0 = Instant::now();
                    let status = get(&mut stream, PATHS[i % PATHS.len()]).await?;
                    latencies.push(t0.elapsed().as_secs_f64() * 1000.0);
                    if status != 200 {
                        errors += 1;
                    }
                }
                anyhow::Ok((latencies, errors))
            })
        })
        .collect();
    let (mut all, mut errors) = (Vec::new(), 0);
    for task in tasks {
        let (latencies, e) = task.await??;
        all.extend(latencies);
        errors += e;
    }
    Ok((all, errors))
}

/// Eight tracks, as the synthetic camera reports them.
fn sample_tracks() -> TracksFrame {
    let tracks = (0..8u64)
        .map(|i| TrackReport {
            id: i + 1,
            bbox: BBox::new(10.0 * i as f32, 20.0, 32.0, 48.0),
            velocity: (1.5, -0.5),
            score: 0.9,
            age: 40,
            hits: 38,
            time_since_update: 0,
            state: TrackState::Tracked,
        })
        .collect();
    TracksFrame {
        frame_id: 0,
        timestamp_ms: 0,
        tracks,
    }
}

fn unix_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

/// Publish tracks frames at `hz` while a reader spins, `reads` reads at least.
fn shm(hz: f64, reads: u64) -> anyhow::Result<ShmFigures> {
    let instance = format!("bench-{}-{}", std::process::id(), hz as u64);
    let mut writer = ShmWriter::create(&instance, FrameKind::Tracks)?;
    let reader = ShmReader::open(&instance, FrameKind::Tracks)?;
    let sample = sample_tracks();
    let bytes = sample.encode()?.len();
    let stop = Arc::new(AtomicBool::new(false));
    let publisher = {
        let stop = Arc::clone(&stop);
        std::thread::spawn(move || -> anyhow::Result<ShmWriter> {
            let period = Duration::from_secs_f64(1.0 / hz);
            let mut next = Instant::now();
            let mut frame_id = 0;
            while !stop.load(Ordering::Relaxed) {
                frame_id += 1;
                let mut tracks = sample.clone();
                tracks.frame_id = frame_id;
                let wire = tracks.encode()?;
                writer.publish(&WireFrame::new(
                    frame_id,
                    frame_id,
                    tracks.tracks.len() as u32,
                    wire,
                ))?;
                next += period;
                std::thread::sleep(next.saturating_duration_since(Instant::now()));
            }
            Ok(writer)
        })
    };
    // At least `reads` reads and at least 20 frames.
    let (mut done, mut torn, mut last, mut seen) = (0u64, 0u64, 0u64, 0u64);
    let mut latencies = Vec::new();
    let min_frames = 20;
    while done < reads || seen < min_frames {
        let seq = reader.seq();
        if seq != last {
            if let Some(snapshot) = reader.read()? {
                let at = unix_ns();
                done += 1;
                if TracksFrame::decode(&snapshot.wire).is_err() {
                    torn += 1;
                }
                if snapshot.seq != last {
                    last = snapshot.seq;
                    seen += 1;
                    latencies.push(at.saturating_sub(snapshot.published_unix_ns) as f64 / 1000.0);
                }
            }
        } else if let Some(snapshot) = reader.read()? {
            done += 1;
            if TracksFrame::decode(&snapshot.wire).is_err() {
                torn += 1;
            }
        }
    }
    stop.store(true, Ordering::Relaxed);
    let writer = publisher
        .join()
        .map_err(|_| anyhow::anyhow!("the publisher panicked"))??;
    writer.remove();
    // The baseline: a bare copy of the frame's bytes.
    let source = vec![7u8; bytes + 64];
    let mut target = vec![0u8; bytes + 64];
    let rounds = 1_000_000;
    let t0 = Instant::now();
    for _ in 0..rounds {
        target.copy_from_slice(std::hint::black_box(&source));
        std::hint::black_box(&mut target);
    }
    let memcpy_ns = t0.elapsed().as_nanos() as f64 / rounds as f64;
    latencies.sort_by(f64::total_cmp);
    let p50 = percentile(&latencies, 0.5);
    Ok(ShmFigures {
        hz,
        reads: done,
        torn,
        frames_seen: seen,
        latency_p50_us: p50,
        latency_p99_us: percentile(&latencies, 0.99),
        memcpy_ns,
        frame_bytes: bytes + 64,
        ratio_p50_to_memcpy: p50 * 1000.0 / memcpy_ns.max(1e-3),
    })
}

fn store_baseline(
    dir: &std::path::Path,
    writers: usize,
) -> anyhow::Result<warden_store::bench::BenchReport> {
    let store =
        warden_store::Store::open(&dir.join("baseline"), warden_store::StoreConfig::default())?;
    let report = warden_store::bench::run(
        &store,
        warden_store::bench::BenchConfig {
            writers,
            // A few seconds' worth, so that it sees the same noise as the
            // WebSocket phase.
            updates: (writers * 1500) as u64,
        },
        None,
        &|_| {},
    )?;
    Ok(report)
}

/// Run the bench (see the module documentation).
pub(crate) fn run(bin: Binary, secs: f64) -> anyhow::Result<Report> {
    let dir = tempfile::tempdir()?;
    eprintln!("warden bench wire: the in-process store bench, 64 writers");
    let baseline = store_baseline(dir.path(), 64)?;
    eprintln!("warden bench wire: the shared-memory export at 10 Hz and 1 kHz");
    let shm = vec![shm(10.0, 1_000_000)?, shm(1000.0, 1_000_000)?];
    let data = dir.path().to_path_buf();
    let figures = actix_rt::System::new().block_on(async move {
        let store = Served::boot(bin, &store_config(&data, "inprocess")).await?;
        let url = format!("ws://{}/ws", store.server.addr);
        let ws = on_client_thread(move || async move {
            eprintln!("warden bench wire: 64 WebSocket writers for {secs} s, the store in-process");
            let (acks_per_s, mut acks) = throughput(&url, 64, secs).await?;
            acks.sort_by(f64::total_cmp);
            anyhow::Ok((acks_per_s, acks))
        })
        .await;
        store.stop().await;
        let (acks_per_s, acks) = ws?;

        let store = Served::boot(bin, &store_config(&data, "process")).await?;
        let url = format!("ws://{}/ws", store.server.addr);
        let ws = on_client_thread(move || async move {
            eprintln!("warden bench wire: 64 WebSocket writers for {secs} s, the store in a child");
            let (acks_per_s, mut acks) = throughput(&url, 64, secs).await?;
            eprintln!("warden bench wire: fan-out to 200 sessions");
            let (mut fan, missed) = fanout(&url, 200, 100).await?;
            acks.sort_by(f64::total_cmp);
            fan.sort_by(f64::total_cmp);
            anyhow::Ok((acks_per_s, acks, fan, missed))
        })
        .await;
        store.stop().await;
        let (child_acks_per_s, child_acks, fan, missed) = ws?;

        let perception = Served::boot(bin, PERCEPTION_CONFIG).await?;
        // Perception's first frames, so the endpoints have data.
        let deadline = Instant::now() + Duration::from_secs(20);
        while perception
            .kernel
            .bus()
            .counters(warden_perception::actor::TRACKS)
            .published
            < 5
        {
            anyhow::ensure!(Instant::now() < deadline, "perception published nothing");
            actix_rt::time::sleep(Duration::from_millis(50)).await;
        }
        let addr = perception.server.addr;
        let endpoints = on_client_thread(move || async move {
            eprintln!("warden bench wire: perception endpoints at 500 requests/s");
            let (mut http, errors) = http_load(addr, 500.0, secs).await?;
            http.sort_by(f64::total_cmp);
            anyhow::Ok((http, errors))
        })
        .await;
        perception.stop().await;
        let (http, errors) = endpoints?;
        anyhow::Ok((
            (acks_per_s, acks),
            (child_acks_per_s, child_acks),
            (fan, missed),
            (http, errors),
        ))
    })?;
    let ((acks_per_s, acks), (child_acks_per_s, child_acks), (fan, missed), (http, http_errors)) =
        figures;
    let ws_ratio = acks_per_s / baseline.acks_per_sec.max(1e-9);
    let mut report = Report {
        ws_sessions: 64,
        ws_acks_per_s: acks_per_s,
        ws_ack_p50_ms: percentile(&acks, 0.5),
        ws_ack_p99_ms: percentile(&acks, 0.99),
        ws_child_acks_per_s: child_acks_per_s,
        ws_child_ack_p50_ms: percentile(&child_acks, 0.5),
        ws_child_ack_p99_ms: percentile(&child_acks, 0.99),
        store_bench_acks_per_s: baseline.acks_per_sec,
        store_bench_p99_ms: baseline.p99_ms,
        ws_ratio,
        ws_child_ratio: child_acks_per_s / baseline.acks_per_sec.max(1e-9),
        fanout_sessions: 200,
        fanout_updates: 100,
        fanout_p50_ms: percentile(&fan, 0.5),
        fanout_p99_ms: percentile(&fan, 0.99),
        fanout_missed: missed,
        http_rate: 500.0,
        http_requests: http.len(),
        http_p50_ms: percentile(&http, 0.5),
        http_p99_ms: percentile(&http, 0.99),
        http_errors,
        shm,
        targets_met: false,
    };
    report.targets_met = report.ws_ratio >= 0.7
        && report.ws_ack_p99_ms <= 10.0
        && report.fanout_p99_ms <= 20.0
        && report.fanout_missed == 0
        && report.http_p99_ms <= 2.0
        && report.http_errors == 0
        && report
            .shm
            .iter()
            .all(|s| s.latency_p99_us < 1000.0 && s.torn == 0);
    Ok(report)
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "WebSocket, {} sessions, store in-process: {:.0} acked updates/s (ack p50 {:.2} ms, p99 {:.2} ms) vs in-process store bench {:.0}/s (p99 {:.2} ms): ratio {:.2} (target >= 0.7, p99 <= 10 ms)",
            self.ws_sessions,
            self.ws_acks_per_s,
            self.ws_ack_p50_ms,
            self.ws_ack_p99_ms,
            self.store_bench_acks_per_s,
            self.store_bench_p99_ms,
            self.ws_ratio
        )?;
        writeln!(
            f,
            "WebSocket, {} sessions, store in a child: {:.0} acked updates/s (ack p50 {:.2} ms, p99 {:.2} ms): ratio {:.2}",
            self.ws_sessions,
            self.ws_child_acks_per_s,
            self.ws_child_ack_p50_ms,
            self.ws_child_ack_p99_ms,
            self.ws_child_ratio
        )?;
        writeln!(
            f,
            "fan-out, {} sessions x {} updates: update -> notify p50 {:.2} ms, p99 {:.2} ms, missed {} (target p99 <= 20 ms)",
            self.fanout_sessions,
            self.fanout_updates,
            self.fanout_p50_ms,
            self.fanout_p99_ms,
            self.fanout_missed
        )?;
        writeln!(
            f,
            "perception endpoints at {:.0} req/s: {} requests, p50 {:.3} ms, p99 {:.3} ms, {} errors (target p99 <= 2 ms)",
            self.http_rate,
            self.http_requests,
            self.http_p50_ms,
            self.http_p99_ms,
            self.http_errors
        )?;
        for s in &self.shm {
            writeln!(
                f,
                "shared memory at {:.0} Hz: {} reads, {} torn, {} frames; publish -> seen p50 {:.2} us, p99 {:.2} us; memcpy of the {}-byte frame {:.1} ns (p50 / memcpy {:.0}x) (target p99 < 1 ms, 0 torn)",
                s.hz,
                s.reads,
                s.torn,
                s.frames_seen,
                s.latency_p50_us,
                s.latency_p99_us,
                s.frame_bytes,
                s.memcpy_ns,
                s.ratio_p50_to_memcpy
            )?;
        }
        write!(
            f,
            "{}",
            if self.targets_met {
                "targets met"
            } else {
                "targets NOT all met"
            }
        )
    }
}

//! `warden bench run` — the live system of `warden run` (the embedded
//! default: five actors, 1080p) measured while faults hit it, each fault
//! window beside a no-fault window of the same length, in one run:
//!
//! - frame pacing per window from the compositor's own per-frame figures
//!   (`compositor.stats`): rate, interval p50/p99/max, late frames;
//! - faults: image_decode stalling 20 ms per request, image_decode
//!   SIGKILLed in the middle of a transition, fft and perception SIGKILLed,
//!   the store restarted, the compositor killed (its gap and resumption);
//! - the whole system's CPU (kernel and children, from `/proc`) with no
//!   viewer, and what one MJPEG viewer over HTTP adds;
//! - input → screen latencies from the frames' telemetry: bars age, a store
//!   change's wait (a change is made every second), a transition image's wait;
//! - with `--soak SECS`: memory (RSS of every process), fds and shared-memory
//!   files over a long slideshow, and memory per transition.

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use serde::Serialize;
use warden_compositor::{
    Compositor, CompositorMsg, CompositorReply, CompositorStatus, FrameSample, STATS_TOPIC,
};
use warden_kernel::{InjectedFault, Kernel, KernelConfig, KernelOptions, Placement, State};
use warden_store::actor::{StoreActor, StoreMsg, StoreReply};

use crate::Binary;
use crate::stats::percentile;

/// A frame interval over this many periods is late.
const LATE: f64 = 1.25;

/// One window's figures.
#[derive(Clone, Debug, Default, Serialize)]
pub(crate) struct Window {
    /// Frames rendered in the window.
    pub frames: u64,
    /// Frames per second.
    pub fps: f64,
    /// Frame interval percentiles and maximum (ms).
    pub dt_p50_ms: f64,
    pub dt_p99_ms: f64,
    pub dt_max_ms: f64,
    /// Intervals over 1.25 periods.
    pub late_frames: u64,
    /// Render time p99 (ms).
    pub render_p99_ms: f64,
    /// `fft.bars` arrival → on screen: the bars' age when drawn, p99 (ms).
    pub bars_age_p99_ms: f64,
    /// Store change → first frame with it, longest (ms), and how many.
    pub scene_to_screen_max_ms: f64,
    pub scene_changes: u64,
    /// Transition image ready → first frame of its transition, longest (ms).
    pub image_to_screen_max_ms: f64,
    pub transitions: u64,
    /// The longest time without any frame (ms): the compositor's own
    /// restart shows here.
    pub gap_max_ms: f64,
    /// Whole-system CPU in the window, % of one core (no-fault windows).
    pub cpu_pct: Option<f64>,
}

/// A fault window beside its no-fault window.
#[derive(Debug, Serialize)]
pub(crate) struct Scenario {
    pub name: String,
    pub baseline: Window,
    pub fault: Window,
    /// The worker back and answering after the fault (ms), when one was hit.
    pub back_ms: Option<f64>,
    /// Late frames in the fault window beyond the baseline's.
    pub late_by_worker: u64,
    /// `dt_p99 ≤ 1.1 × period` and `dt_max ≤ 1.25 × period` in both windows.
    pub pacing_met: bool,
}

/// Figures at one rate.
#[derive(Debug, Serialize)]
pub(crate) struct Rate {
    pub fps: f64,
    pub period_ms: f64,
    pub size: String,
    pub backend: String,
    pub scenarios: Vec<Scenario>,
    /// CPU with no viewer, and with one MJPEG viewer (% of one core).
    pub cpu_no_viewer_pct: f64,
    pub cpu_one_viewer_pct: f64,
    pub mjpeg_added_pct: f64,
    /// Frames the viewer's window encoded, their mean size, the encode time.
    pub viewer_frames: u64,
    pub viewer_kib_per_frame: f64,
    pub encode_p50_ms: f64,
    /// Latency targets over every window: bars ≤ 1 frame, scene and image ≤ 2.
    pub latency_met: bool,
}

/// Memory over a long slideshow.
#[derive(Debug, Serialize)]
pub(crate) struct Soak {
    pub secs: f64,
    pub rss_start_mib: f64,
    pub rss_end_mib: f64,
    pub rss_max_mib: f64,
    pub rss_growth_pct: f64,
    pub fds_start: usize,
    pub fds_end: usize,
    pub shm_files_start: usize,
    pub shm_files_end: usize,
    pub transitions: u64,
    pub kib_per_transition: f64,
    pub avg_fps: f64,
    pub dt_max_ms: f64,
    pub late_frames: u64,
}

/// Everything `warden bench run` reports.
#[derive(Debug, Serialize)]
pub(crate) struct Report {
    pub window_secs: f64,
    pub rates: Vec<Rate>,
    pub soak: Option<Soak>,
    pub targets_met: bool,
}

/// Samples of `compositor.stats` with their arrival times.
#[derive(Clone, Default)]
struct Samples(Arc<Mutex<Vec<(Instant, FrameSample)>>>);

impl Samples {
    fn take(&self) -> Vec<(Instant, FrameSample)> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

fn summarise(samples: &[(Instant, FrameSample)], period_ms: f64, secs: f64) -> Window {
    let mut dt: Vec<f64> = samples
        .iter()
        .filter(|(_, s)| s.frame > 0)
        .map(|(_, s)| s.interval_ms)
        .collect();
    dt.sort_by(f64::total_cmp);
    let mut render: Vec<f64> = samples.iter().map(|(_, s)| s.render_ms).collect();
    render.sort_by(f64::total_cmp);
    let mut bars: Vec<f64> = samples.iter().filter_map(|(_, s)| s.bars_age_ms).collect();
    bars.sort_by(f64::total_cmp);
    let scene: Vec<f64> = samples.iter().filter_map(|(_, s)| s.scene_ms).collect();
    let image: Vec<f64> = samples.iter().filter_map(|(_, s)| s.image_ms).collect();
    let gap = samples
        .windows(2)
        .map(|w| w[1].0.duration_since(w[0].0).as_secs_f64() * 1000.0)
        .fold(0.0, f64::max);
    Window {
        frames: samples.len() as u64,
        fps: samples.len() as f64 / secs,
        dt_p50_ms: percentile(&dt, 0.5),
        dt_p99_ms: percentile(&dt, 0.99),
        dt_max_ms: dt.last().copied().unwrap_or(0.0),
        late_frames: dt.iter().filter(|ms| **ms > period_ms * LATE).count() as u64,
        render_p99_ms: percentile(&render, 0.99),
        bars_age_p99_ms: percentile(&bars, 0.99),
        scene_to_screen_max_ms: scene.iter().copied().fold(0.0, f64::max),
        scene_changes: scene.len() as u64,
        image_to_screen_max_ms: image.iter().copied().fold(0.0, f64::max),
        transitions: image.len() as u64,
        gap_max_ms: gap,
        cpu_pct: None,
    }
}

/// CPU time (s) of this process and the running children.
fn cpu_seconds(kernel: &Kernel) -> f64 {
    // /proc counts in USER_HZ, which Linux fixes at 100 for user space.
    let ticks = 100.0;
    let mut pids = vec![std::process::id()];
    for status in kernel.statuses() {
        if status.placement == Placement::Process && status.pid != 0 {
            pids.push(status.pid);
        }
    }
    pids.iter()
        .filter_map(|pid| std::fs::read_to_string(format!("/proc/{pid}/stat")).ok())
        .filter_map(|stat| {
            // Fields after the command (which may hold spaces): utime is the
            // 12th, stime the 13th.
            let rest = stat.rsplit_once(')')?.1;
            let fields: Vec<&str> = rest.split_whitespace().collect();
            let utime: f64 = fields.get(11)?.parse().ok()?;
            let stime: f64 = fields.get(12)?.parse().ok()?;
            Some((utime + stime) / ticks)
        })
        .sum()
}

/// RSS (bytes) of this process and the children; their open fds.
fn memory(kernel: &Kernel) -> (u64, usize) {
    let mut pids = vec![std::process::id()];
    for status in kernel.statuses() {
        if status.placement == Placement::Process && status.pid != 0 {
            pids.push(status.pid);
        }
    }
    let rss = pids
        .iter()
        .filter_map(|pid| std::fs::read_to_string(format!("/proc/{pid}/status")).ok())
        .filter_map(|text| {
            let line = text.lines().find(|l| l.starts_with("VmRSS:"))?;
            let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
            Some(kib * 1024)
        })
        .sum();
    let fds = pids
        .iter()
        .filter_map(|pid| std::fs::read_dir(format!("/proc/{pid}/fd")).ok())
        .map(Iterator::count)
        .sum();
    (rss, fds)
}

fn shm_files() -> usize {
    std::fs::read_dir("/dev/shm").map_or(0, Iterator::count)
}

async fn status(kernel: &Kernel) -> anyhow::Result<CompositorStatus> {
    match kernel
        .actor::<Compositor>("compositor")?
        .call(CompositorMsg::Status)
        .await?
    {
        CompositorReply::Status(status) => Ok(*status),
        other => anyhow::bail!("the compositor answered {other:?}"),
    }
}

/// A store change (the bars' opacity flips between 1 and 0.999): the scene
/// latency's probe.
async fn touch_scene(kernel: &Kernel, flip: bool) -> anyhow::Result<()> {
    let store = kernel.actor::<StoreActor>("store")?;
    let version = match store.call(StoreMsg::Status).await? {
        StoreReply::Status(status) => status.version,
        other => anyhow::bail!("the store answered {other:?}"),
    };
    let opacity = if flip { 0.999 } else { 1.0 };
    store
        .call(StoreMsg::Update {
            topic: "layers".into(),
            payload_json: format!(r#"{{"op":"set","id":"bars","opacity":{opacity}}}"#),
            expected_version: version,
            actor_id: "bench".into(),
        })
        .await?;
    Ok(())
}

/// The faults, in order.
#[derive(Clone, Copy, Debug)]
enum Fault {
    None,
    Stall,
    KillImagesMidTransition,
    KillFft,
    KillPerception,
    RestartStore,
    KillCompositor,
}

impl Fault {
    const ALL: [Fault; 6] = [
        Fault::Stall,
        Fault::KillImagesMidTransition,
        Fault::KillFft,
        Fault::KillPerception,
        Fault::RestartStore,
        Fault::KillCompositor,
    ];

    fn name(self) -> &'static str {
        match self {
            Fault::None => "no fault",
            Fault::Stall => "image_decode stalls 20 ms per request",
            Fault::KillImagesMidTransition => "image_decode SIGKILLed mid-transition",
            Fault::KillFft => "fft SIGKILLed",
            Fault::KillPerception => "perception SIGKILLed",
            Fault::RestartStore => "store restarted",
            Fault::KillCompositor => "compositor killed",
        }
    }

    fn actor(self) -> Option<&'static str> {
        match self {
            Fault::None => None,
            Fault::Stall | Fault::KillImagesMidTransition => Some("image_decode"),
            Fault::KillFft => Some("fft"),
            Fault::KillPerception => Some("perception"),
            Fault::RestartStore => Some("store"),
            Fault::KillCompositor => Some("compositor"),
        }
    }
}

struct Bench {
    kernel: Kernel,
    samples: Samples,
    period_ms: f64,
    secs: f64,
}

impl Bench {
    /// Run one window with `fault` at its start; its figures and, for a
    /// kill, how long until the actor answered again.
    async fn window(&self, fault: Fault) -> anyhow::Result<(Window, Option<f64>)> {
        if let Fault::KillImagesMidTransition = fault {
            // Wait (outside the window) for a transition to be under way.
            let deadline = Instant::now() + Duration::from_secs(30);
            while status(&self.kernel).await?.transition.is_none() {
                anyhow::ensure!(Instant::now() < deadline, "no transition came");
                actix_rt::time::sleep(Duration::from_millis(5)).await;
            }
        }
        let generation = match fault.actor() {
            Some(name) => self.kernel.status(name)?.generation,
            None => 0,
        };
        let _ = self.samples.take();
        let cpu_before = cpu_seconds(&self.kernel);
        let started = Instant::now();
        match fault {
            Fault::None => {}
            Fault::Stall => self
                .kernel
                .inject("image_decode", InjectedFault::Stall(20))?,
            Fault::KillImagesMidTransition | Fault::KillFft | Fault::KillPerception => {
                self.kernel
                    .kill(fault.actor().unwrap_or(""), "bench: SIGKILL")?;
            }
            Fault::KillCompositor => self.kernel.kill("compositor", "bench: killed")?,
            Fault::RestartStore => {
                self.kernel.restart("store").await?;
            }
        }
        let mut back_ms = None;
        let mut flip = false;
        let mut next_touch = started + Duration::from_millis(500);
        while started.elapsed().as_secs_f64() < self.secs {
            if let (Some(name), None) = (fault.actor(), back_ms)
                && !matches!(fault, Fault::Stall)
            {
                let status = self.kernel.status(name)?;
                if status.generation > generation && status.state == State::Running {
                    back_ms = Some(started.elapsed().as_secs_f64() * 1000.0);
                }
            }
            if Instant::now() >= next_touch {
                flip = !flip;
                // A store restarting refuses for a moment: not a failure.
                let _ = touch_scene(&self.kernel, flip).await;
                next_touch += Duration::from_secs(1);
            }
            actix_rt::time::sleep(Duration::from_millis(10)).await;
        }
        let elapsed = started.elapsed().as_secs_f64();
        let cpu = cpu_seconds(&self.kernel) - cpu_before;
        if let Fault::Stall = fault {
            self.kernel
                .inject("image_decode", InjectedFault::Stall(0))?;
        }
        let mut window = summarise(&self.samples.take(), self.period_ms, elapsed);
        if let Fault::None = fault {
            window.cpu_pct = Some(cpu / elapsed * 100.0);
        }
        Ok((window, back_ms))
    }
}

/// Read the MJPEG stream at `addr` until `stop`, as a browser would (the
/// bytes are taken, not parsed: the bench counts the encodes at the hub);
/// the bytes read.
fn viewer(addr: std::net::SocketAddr, stop: Arc<AtomicBool>) -> anyhow::Result<u64> {
    let mut stream = TcpStream::connect(addr).context("cannot connect the viewer")?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    write!(
        stream,
        "GET /api/stream.mjpeg HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )?;
    let mut buf = vec![0u8; 1 << 20];
    let mut bytes = 0;
    while !stop.load(Ordering::Acquire) {
        let n = stream.read(&mut buf)?;
        anyhow::ensure!(n > 0, "the stream ended");
        bytes += n as u64;
    }
    Ok(bytes)
}

fn config_text(bin: Binary, data: &std::path::Path, fps: f64) -> anyhow::Result<String> {
    let mut doc: toml::Table = toml::from_str(bin.default_config)?;
    let actors = doc
        .get_mut("actors")
        .and_then(toml::Value::as_table_mut)
        .context("the default config has actors")?;
    if let Some(store) = actors.get_mut("store").and_then(toml::Value::as_table_mut) {
        store.insert(
            "data".into(),
            toml::Value::String(data.join("scene").display().to_string()),
        );
    }
    if let Some(compositor) = actors
        .get_mut("compositor")
        .and_then(toml::Value::as_table_mut)
    {
        compositor.insert("fps".into(), toml::Value::Float(fps));
    }
    Ok(toml::to_string(&doc)?)
}

/// Boot the default system at `fps`, warm up, run `body`, shut down.
async fn with_system<T>(
    bin: Binary,
    fps: f64,
    body: impl AsyncFnOnce(
        &Kernel,
        &Samples,
        std::net::SocketAddr,
        &warden_web::Web,
    ) -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    let registry = (bin.registry)();
    let data = tempfile::tempdir()?;
    let config = KernelConfig::from_toml(&config_text(bin, data.path(), fps)?, &registry)?;
    let kernel = Kernel::boot(config, &registry, KernelOptions::default()).await?;
    let web = warden_web::Web::start(&kernel, warden_web::WebOptions::default())?;
    let server = warden_kernel::admin::serve_with(
        kernel.clone(),
        "127.0.0.1:0".parse()?,
        "bench-token".into(),
        web.routes(),
    )
    .await?;
    let samples = Samples::default();
    let stats = kernel.subscribe::<FrameSample>(STATS_TOPIC, 4096);
    let sink = samples.clone();
    let collector = actix_rt::spawn(async move {
        while let Ok(sample) = stats.recv().await {
            sink.0
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push((Instant::now(), sample));
        }
    });
    // Warm up: the first image on screen and the caches filled.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let status = status(&kernel).await;
        if status
            .as_ref()
            .is_ok_and(|s| s.image.is_some() && s.pacing.frames > 90)
        {
            break;
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "the system did not warm up: {status:?}"
        );
        actix_rt::time::sleep(Duration::from_millis(50)).await;
    }
    let result = body(&kernel, &samples, server.addr, &web).await;
    collector.abort();
    server.stop().await;
    drop(web);
    kernel.shutdown().await;
    result
}

async fn rate(bin: Binary, fps: f64, secs: f64) -> anyhow::Result<Rate> {
    with_system(bin, fps, async |kernel, samples, addr, web| {
        let bench = Bench {
            kernel: kernel.clone(),
            samples: samples.clone(),
            period_ms: 1000.0 / fps,
            secs,
        };
        let first = status(kernel).await?;
        let mut scenarios = Vec::new();
        let mut cpu = Vec::new();
        for fault in Fault::ALL {
            eprintln!("warden bench run: {fps} fps, {}", fault.name());
            let (baseline, _) = bench.window(Fault::None).await?;
            cpu.extend(baseline.cpu_pct);
            let (fault_window, back_ms) = bench.window(fault).await?;
            let bound = |w: &Window| {
                w.dt_p99_ms <= bench.period_ms * 1.1 && w.dt_max_ms <= bench.period_ms * LATE
            };
            scenarios.push(Scenario {
                name: fault.name().to_string(),
                late_by_worker: fault_window
                    .late_frames
                    .saturating_sub(baseline.late_frames),
                // The compositor's own restart is a gap, not pacing.
                pacing_met: bound(&baseline)
                    && (bound(&fault_window) || matches!(fault, Fault::KillCompositor)),
                baseline,
                fault: fault_window,
                back_ms,
            });
        }
        // One viewer on the MJPEG stream, over real HTTP.
        eprintln!("warden bench run: {fps} fps, one MJPEG viewer");
        let stop = Arc::new(AtomicBool::new(false));
        let viewing = {
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || viewer(addr, stop))
        };
        actix_rt::time::sleep(Duration::from_secs(1)).await;
        let hub = web.hub().context("the default config has a compositor")?;
        let encoded = hub.stats().encoded;
        let (watched, _) = bench.window(Fault::None).await?;
        let stream = hub.stats();
        stop.store(true, Ordering::Release);
        let viewer_bytes = viewing
            .join()
            .map_err(|_| anyhow::anyhow!("the viewer panicked"))??;
        let viewer_frames = stream.encoded - encoded;
        cpu.sort_by(f64::total_cmp);
        let cpu_no_viewer_pct = percentile(&cpu, 0.5);
        let cpu_one_viewer_pct = watched.cpu_pct.unwrap_or(0.0);
        let all = scenarios
            .iter()
            .flat_map(|s| [&s.baseline, &s.fault])
            .collect::<Vec<_>>();
        let latency_met = all.iter().all(|w| {
            w.bars_age_p99_ms <= bench.period_ms
                && w.scene_to_screen_max_ms <= 2.0 * bench.period_ms
                && w.image_to_screen_max_ms <= 2.0 * bench.period_ms
        });
        Ok(Rate {
            fps,
            period_ms: bench.period_ms,
            size: format!("{}x{}", first.width, first.height),
            backend: first.backend,
            scenarios,
            cpu_no_viewer_pct,
            cpu_one_viewer_pct,
            mjpeg_added_pct: cpu_one_viewer_pct - cpu_no_viewer_pct,
            viewer_frames,
            viewer_kib_per_frame: viewer_bytes as f64 / 1024.0 / viewer_frames.max(1) as f64,
            encode_p50_ms: stream.encode_p50_ms,
            latency_met,
        })
    })
    .await
}

async fn soak(bin: Binary, secs: f64) -> anyhow::Result<Soak> {
    with_system(bin, 30.0, async |kernel, samples, _addr, _web| {
        // Memory settles over the first transitions (caches, pools): the
        // start is taken after a minute.
        eprintln!("warden bench run: soak, settling for 60 s");
        actix_rt::time::sleep(Duration::from_secs(60)).await;
        let _ = samples.take();
        let first = status(kernel).await?;
        let (rss_start, fds_start) = memory(kernel);
        let shm_start = shm_files();
        let started = Instant::now();
        let mut rss_max = rss_start;
        let mut all = Vec::new();
        while started.elapsed().as_secs_f64() < secs {
            actix_rt::time::sleep(Duration::from_secs(5)).await;
            let (rss, _) = memory(kernel);
            rss_max = rss_max.max(rss);
            all.extend(samples.take());
            eprintln!(
                "warden bench run: soak {:.0}/{secs:.0} s, RSS {:.1} MiB",
                started.elapsed().as_secs_f64(),
                rss as f64 / 1048576.0
            );
        }
        let elapsed = started.elapsed().as_secs_f64();
        let last = status(kernel).await?;
        let (rss_end, fds_end) = memory(kernel);
        let window = summarise(&all, 1000.0 / 30.0, elapsed);
        let transitions = last.transitions.saturating_sub(first.transitions);
        let mib = |b: u64| b as f64 / 1048576.0;
        Ok(Soak {
            secs: elapsed,
            rss_start_mib: mib(rss_start),
            rss_end_mib: mib(rss_end),
            rss_max_mib: mib(rss_max),
            rss_growth_pct: (rss_end as f64 / rss_start.max(1) as f64 - 1.0) * 100.0,
            fds_start,
            fds_end,
            shm_files_start: shm_start,
            shm_files_end: shm_files(),
            transitions,
            kib_per_transition: (rss_end as f64 - rss_start as f64)
                / 1024.0
                / transitions.max(1) as f64,
            avg_fps: window.fps,
            dt_max_ms: window.dt_max_ms,
            late_frames: window.late_frames,
        })
    })
    .await
}

/// Run the bench (see the module documentation).
pub(crate) async fn run(
    bin: Binary,
    rates: &[f64],
    secs: f64,
    soak_secs: Option<f64>,
) -> anyhow::Result<Report> {
    let mut measured = Vec::new();
    for fps in rates {
        measured.push(rate(bin, *fps, secs).await?);
    }
    let soak = match soak_secs {
        Some(secs) => Some(soak(bin, secs).await?),
        None => None,
    };
    let at_30 = measured.iter().filter(|r| (r.fps - 30.0).abs() < 0.5);
    let targets_met = at_30.clone().all(|r| {
        r.scenarios
            .iter()
            .all(|s| s.pacing_met && s.late_by_worker == 0)
            && r.cpu_no_viewer_pct <= 35.0
            && r.mjpeg_added_pct <= 30.0
            && r.latency_met
    }) && soak.as_ref().is_none_or(|s| {
        s.rss_growth_pct <= 5.0 && s.fds_end <= s.fds_start && s.shm_files_end <= s.shm_files_start
    });
    Ok(Report {
        window_secs: secs,
        rates: measured,
        soak,
        targets_met,
    })
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for rate in &self.rates {
            writeln!(
                f,
                "{} at {} fps ({} backend; period {:.1} ms), windows of {} s:",
                rate.size, rate.fps, rate.backend, rate.period_ms, self.window_secs
            )?;
            writeln!(
                f,
                "  {:<40} {:>7} {:>7} {:>7} {:>5} {:>8} {:>8} {:>8} {:>7} {:>8}",
                "scenario",
                "dt_p50",
                "dt_p99",
                "dt_max",
                "late",
                "bars_p99",
                "scene",
                "image",
                "gap",
                "back_ms"
            )?;
            for s in &rate.scenarios {
                for (label, w, back) in [
                    ("  (no fault beside it)", &s.baseline, None),
                    (s.name.as_str(), &s.fault, s.back_ms),
                ] {
                    writeln!(
                        f,
                        "  {:<40} {:>7.2} {:>7.2} {:>7.2} {:>5} {:>8.1} {:>8.1} {:>8.1} {:>7.1} {:>8}",
                        label,
                        w.dt_p50_ms,
                        w.dt_p99_ms,
                        w.dt_max_ms,
                        w.late_frames,
                        w.bars_age_p99_ms,
                        w.scene_to_screen_max_ms,
                        w.image_to_screen_max_ms,
                        w.gap_max_ms,
                        back.map_or("-".into(), |ms| format!("{ms:.0}"))
                    )?;
                }
            }
            writeln!(
                f,
                "  CPU: {:.1} % of a core with no viewer, {:.1} % with one MJPEG viewer (+{:.1}; {} frames of {:.0} KiB, encode p50 {:.1} ms); latency targets {}",
                rate.cpu_no_viewer_pct,
                rate.cpu_one_viewer_pct,
                rate.mjpeg_added_pct,
                rate.viewer_frames,
                rate.viewer_kib_per_frame,
                rate.encode_p50_ms,
                if rate.latency_met { "met" } else { "NOT met" }
            )?;
        }
        if let Some(s) = &self.soak {
            writeln!(
                f,
                "soak {:.0} s: RSS {:.1} → {:.1} MiB ({:+.1} %), max {:.1}; fds {} → {}; shm files {} → {}; {} transitions, {:.1} KiB each; {:.1} fps, dt_max {:.1} ms, {} late",
                s.secs,
                s.rss_start_mib,
                s.rss_end_mib,
                s.rss_growth_pct,
                s.rss_max_mib,
                s.fds_start,
                s.fds_end,
                s.shm_files_start,
                s.shm_files_end,
                s.transitions,
                s.kib_per_transition,
                s.avg_fps,
                s.dt_max_ms,
                s.late_frames
            )?;
        }
        write!(
            f,
            "targets {}",
            if self.targets_met {
                "met"
            } else {
                "NOT all met"
            }
        )
    }
}

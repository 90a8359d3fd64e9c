//! `warden bench actors` — the concern actors' paths beside their
//! baselines, in one process and one run:
//!
//! - a 1080p RGBA frame from `image_decode` (child) to `compositor` (child),
//!   beside a `memcpy` of the frame plus one child↔child round trip, with
//!   the kernel's frame copies counted (they must be 0);
//! - an actor→actor call between two children, beside a raw Unix-socket
//!   round trip (it crosses two links);
//! - calls to an actor while it is killed and restarted: how long they
//!   take at most, and that none runs into its deadline;
//! - each concern's in-process actor path beside its core called directly
//!   for the same work: decode 12 MP → 1080p, an FFT block (per hop), one
//!   durable store update, one perception frame.

use std::time::{Duration, Instant};

use serde::Serialize;
use warden_compositor::{Compositor, CompositorMsg, CompositorReply};
use warden_fft::actor::{FftActor, FftMsg, FftReply};
use warden_image::actor::{ImageDecode, ImageMsg, Scale};
use warden_kernel::probe::{Probe, ProbeMsg, ProbeReply};
use warden_kernel::{ActorRef, CallError, Kernel, KernelConfig, KernelOptions, SharedFrame};
use warden_perception::actor::{PerceptionActor, PerceptionMsg, PerceptionReply};

use crate::Binary;
use crate::stats::quantile;
use warden_store::actor::{StoreActor, StoreMsg, StoreReply};

/// The children: frames and calls between them.
const CHILDREN: &str = r#"
[supervisor]
heartbeat_ms = 500
max_restarts = 1000
within_secs = 10

[actors.images]
kind = "image_decode"
placement = "process"
heartbeat_ms = 2000
size = "1920x1080"

[actors.screen]
kind = "compositor"
placement = "process"
size = "1920x1080"
backend = "cpu"

[actors.ping]
kind = "probe"
placement = "process"

[actors.pong]
kind = "probe"
placement = "process"
"#;

/// Each concern alone in the kernel, in-process, beside its core.
const ALONE: [&str; 4] = [
    "[actors.decoder]\nkind = \"image_decode\"\nplacement = \"inprocess\"\nheartbeat_ms = 5000\ncache_bytes = 1_048_576\n",
    // The virtual clock: no playback of its own beside the measured blocks.
    "[actors.fft]\nkind = \"fft\"\nplacement = \"inprocess\"\nclock = \"virtual\"\n",
    "[actors.store]\nkind = \"store\"\nplacement = \"inprocess\"\ndata = \"@DATA@/actor\"\nseed = false\n",
    "[actors.camera]\nkind = \"perception\"\nplacement = \"inprocess\"\nscenario = \"crossing\"\nfps = 20\npublish_frames = false\n",
];

/// The perception actor's rate in [`ALONE`]; its core is paced the same.
const PERCEPTION_FPS: f32 = 20.0;

/// What `warden bench actors --json` prints.
#[derive(Serialize)]
pub(crate) struct ActorResults {
    frame_1080p_child_to_child_ms_p50: f64,
    memcpy_1080p_ms: f64,
    child_to_child_rtt_us_p50: f64,
    frame_kernel_copies: u64,
    call_child_to_child_us_p50: f64,
    call_child_to_child_us_p99: f64,
    uds_rtt_us_p50: f64,
    restart_calls: u64,
    restart_calls_max_ms: f64,
    restart_calls_timed_out: u64,
    restart_calls_restarting: u64,
    decode_12mp_actor_ms: f64,
    decode_12mp_core_ms: f64,
    fft_hop_actor_us: f64,
    fft_hop_core_us: f64,
    store_update_actor_ms: f64,
    store_update_core_ms: f64,
    store_status_call_us: f64,
    perception_frame_actor_ms: f64,
    perception_frame_core_ms: f64,
    ratios: ActorRatios,
    targets_met: bool,
}

#[derive(Serialize)]
struct ActorRatios {
    frame_vs_memcpy_plus_rtt: f64,
    call_child_to_child_vs_uds: f64,
    decode_actor_vs_core: f64,
    fft_actor_vs_core: f64,
    store_actor_vs_core: f64,
    perception_actor_vs_core: f64,
}

fn median(samples: &mut [f64]) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples.get(samples.len() / 2).copied().unwrap_or(0.0)
}

/// Poll `status` until `done` holds.
async fn until<T>(poll: impl AsyncFnMut() -> anyhow::Result<Option<T>>) -> anyhow::Result<T> {
    until_every(Duration::from_micros(200), poll).await
}

/// [`until`], polling every `period`.
async fn until_every<T>(
    period: Duration,
    mut poll: impl AsyncFnMut() -> anyhow::Result<Option<T>>,
) -> anyhow::Result<T> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(value) = poll().await? {
            return Ok(value);
        }
        anyhow::ensure!(Instant::now() < deadline, "timed out waiting for the actor");
        actix_rt::time::sleep(period).await;
    }
}

async fn fetch_frame(screen: &ActorRef<Compositor>, index: u64) -> anyhow::Result<f64> {
    let CompositorReply::Status(before) = screen
        .call(CompositorMsg::Fetch {
            from: "images".into(),
            index,
        })
        .await?
    else {
        anyhow::bail!("the compositor did not answer with its status");
    };
    let want = before.images_fetched + 1;
    until(async || {
        let CompositorReply::Status(status) = screen.call(CompositorMsg::Status).await? else {
            anyhow::bail!("no status");
        };
        if let Some(err) = &status.image_fetch_error {
            anyhow::bail!("the compositor could not fetch: {err}");
        }
        Ok((status.images_fetched >= want).then_some(status.image_fetch_ms))
    })
    .await
}

async fn ping_pong(ping: &ActorRef<Probe>, count: u32) -> anyhow::Result<Vec<f64>> {
    ping.call(ProbeMsg::PingPong {
        target: "pong".into(),
        count,
    })
    .await?;
    // Polling the prober is a call to it: at most once a millisecond, so
    // that the kernel's side of the polls (its reader spins a while after
    // each answer) does not compete with the round trips it measures.
    let nanos = until_every(Duration::from_millis(1), async || {
        match ping.call(ProbeMsg::PingResults).await? {
            ProbeReply::Latencies(done) => Ok(done),
            other => anyhow::bail!("unexpected {other:?}"),
        }
    })
    .await?;
    Ok(nanos.into_iter().map(|ns| ns as f64 / 1000.0).collect())
}

fn frame_copies(kernel: &Kernel, actor: &str) -> u64 {
    let metrics = kernel.metrics_text();
    let prefix = format!("warden_frame_copies_total{{actor=\"{actor}\"}} ");
    metrics
        .lines()
        .find_map(|line| line.strip_prefix(&prefix))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0)
}

/// Calls to `pong` while it is killed and restarted, `kills` times.
async fn calls_across_restarts(
    kernel: &Kernel,
    pong: &ActorRef<Probe>,
    kills: u32,
) -> anyhow::Result<(u64, f64, u64, u64)> {
    let mut calls = 0u64;
    let mut max_ms = 0f64;
    let (mut timed_out, mut restarting) = (0u64, 0u64);
    for round in 0..kills {
        let generation = kernel.status("pong")?.generation;
        let mut inflight = Vec::new();
        for i in 0..32 {
            let pong = pong.clone();
            inflight.push(actix_rt::spawn(async move {
                let started = Instant::now();
                let msg = if i % 2 == 0 {
                    ProbeMsg::Sleep {
                        ms: 2,
                        idempotent: false,
                    }
                } else {
                    ProbeMsg::Echo(format!("{round}:{i}"))
                };
                let result = pong.call_timeout(msg, Duration::from_secs(5)).await;
                (result.map(drop), started.elapsed())
            }));
        }
        actix_rt::time::sleep(Duration::from_millis(5)).await;
        kernel.kill("pong", "bench: kill")?;
        for task in inflight {
            let (result, took) = task.await?;
            calls += 1;
            max_ms = max_ms.max(took.as_secs_f64() * 1000.0);
            match result {
                Ok(()) => {}
                Err(CallError::Timeout { .. }) => timed_out += 1,
                Err(CallError::Restarting(_)) => restarting += 1,
                Err(other) => anyhow::bail!("a call across a restart failed: {other}"),
            }
        }
        until(async || {
            let status = kernel.status("pong")?;
            Ok(
                (status.generation > generation && status.state == warden_kernel::State::Running)
                    .then_some(()),
            )
        })
        .await?;
        actix_rt::time::sleep(Duration::from_millis(600)).await;
    }
    Ok((calls, max_ms, timed_out, restarting))
}

/// Decode a 12 MP JPEG to 1080p through the in-process actor and through
/// the core directly, alternating; medians in ms.
async fn decode_pair(decoder: &ActorRef<ImageDecode>, rounds: usize) -> anyhow::Result<(f64, f64)> {
    let jpeg = warden_image::samples::sample_bytes(0, 4000, 3000)?;
    let spec = warden_image::ScaleSpec::new(1920, 1080);
    let limits = warden_image::Limits::default();
    let bytes = SharedFrame::from_vec(jpeg.clone());
    let (mut actor, mut core) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        let started = Instant::now();
        decoder
            .call(ImageMsg::DecodeBytes {
                bytes: bytes.clone(),
                scale: Scale {
                    size: Some((1920, 1080)),
                    fit: None,
                },
            })
            .await?;
        actor.push(started.elapsed().as_secs_f64() * 1000.0);
        let started = Instant::now();
        let loaded = warden_image::load_bytes(&jpeg, &limits, Some(&spec))?;
        // The actor hands the pixels out in a buffer of their own: so does the core's caller.
        let copy = loaded.image.image.pixels().to_vec();
        core.push(started.elapsed().as_secs_f64() * 1000.0);
        drop(copy);
    }
    Ok((median(&mut actor), median(&mut core)))
}

/// Four seconds of the generator's audio, analysed per block by the actor
/// and by the core; per hop in µs.
async fn fft_pair(fft: &ActorRef<FftActor>, rounds: usize) -> anyhow::Result<(f64, f64)> {
    let generated = warden_fft::generate(&warden_fft::GeneratorConfig {
        seconds: 4.0,
        ..warden_fft::GeneratorConfig::default()
    })?;
    let mono = generated.mono();
    let bytes: Vec<u8> = mono.iter().flat_map(|s| s.to_le_bytes()).collect();
    let frame = SharedFrame::from_vec(bytes);
    let (mut actor, mut core) = (Vec::new(), Vec::new());
    for round in 0..rounds {
        // Alternate which goes first, so neither always runs right after
        // the other (its caches, the core it was woken on).
        for actor_turn in [round % 2 == 0, round % 2 != 0] {
            if actor_turn {
                let started = Instant::now();
                let reply = fft
                    .call(FftMsg::AnalyzeBlock {
                        samples: frame.clone(),
                        sample_rate: generated.sample_rate,
                    })
                    .await?;
                let took = started.elapsed().as_secs_f64() * 1e6;
                let FftReply::Block { frames, .. } = reply else {
                    anyhow::bail!("the fft actor answered {reply:?} to a block");
                };
                actor.push(took / frames.max(1) as f64);
            } else {
                let started = Instant::now();
                let mut analyzer = warden_fft::Analyzer::new(warden_fft::AnalyzerConfig::new(
                    generated.sample_rate,
                ))?;
                // Keep the last frame's bars and peaks, as the actor's
                // answer carries them.
                let (mut frames, mut bars, mut peaks) = (0u64, Vec::new(), Vec::new());
                let _ = analyzer.push(&mono, |view| {
                    frames += 1;
                    bars.clear();
                    bars.extend_from_slice(&view.frame.bars);
                    peaks.clear();
                    peaks.extend_from_slice(&view.frame.peaks);
                    Ok::<(), ()>(())
                });
                std::hint::black_box((&bars, &peaks));
                core.push(started.elapsed().as_secs_f64() * 1e6 / frames.max(1) as f64);
            }
        }
    }
    Ok((median(&mut actor), median(&mut core)))
}

/// Durable updates through the in-process store actor and straight to a
/// store, both from the update's JSON text; medians in ms. Also the median
/// of a `Status` call to the same actor (µs): the call's own cost, the hop
/// to the actor's thread and back.
async fn store_pair(
    store: &ActorRef<StoreActor>,
    dir: &std::path::Path,
    rounds: usize,
) -> anyhow::Result<(f64, f64, f64)> {
    let direct =
        warden_store::Store::open(&dir.join("core"), warden_store::StoreConfig::default())?;
    let author = warden_store::Author::new("bench", "bench");
    let (mut actor, mut core, mut hop) = (Vec::new(), Vec::new(), Vec::new());
    let (mut actor_version, mut core_version) = (0, 0);
    for i in 0..rounds {
        let payload = format!(r#"{{"op":"set","target":"main","zoom":{}}}"#, i + 1);
        let started = Instant::now();
        let reply = store
            .call(StoreMsg::Update {
                topic: "camera".into(),
                payload_json: payload.clone(),
                expected_version: actor_version,
                actor_id: "bench".into(),
            })
            .await?;
        actor.push(started.elapsed().as_secs_f64() * 1000.0);
        if let StoreReply::Updated { version, .. } = reply {
            actor_version = version;
        }
        let started = Instant::now();
        let value: serde_json::Value = serde_json::from_str(&payload)?;
        let outcome =
            direct.apply_delta(warden_store::Topic::Camera, value, core_version, &author)?;
        core.push(started.elapsed().as_secs_f64() * 1000.0);
        if let warden_store::Outcome::Ack { version } = outcome {
            core_version = version;
        }
        let started = Instant::now();
        store.call(StoreMsg::Status).await?;
        hop.push(started.elapsed().as_secs_f64() * 1e6);
    }
    direct.close()?;
    Ok((median(&mut actor), median(&mut core), median(&mut hop)))
}

/// The perception actor's time per frame (camera, pipeline, encoding,
/// publishing) beside the core's (camera, pipeline, encoding) on the same
/// scene at the same pace: one frame per slot of the actor's rate, so both
/// start each frame as a camera does, after a sleep, not with every cache
/// still warm from the frame before.
async fn perception_pair(
    camera: &ActorRef<PerceptionActor>,
    fps: f32,
) -> anyhow::Result<(f64, f64)> {
    use warden_perception::{
        FrameSource as _, Pipeline, PipelineConfig, Scenario, SyntheticCamera,
    };
    // Let the actor run past its background bootstrap and fill its window,
    // looking rarely (a look is work on its thread and the other core).
    let actor = loop {
        actix_rt::time::sleep(Duration::from_millis(250)).await;
        match camera.call(PerceptionMsg::Stats).await? {
            PerceptionReply::Stats(stats) if stats.frames >= 120 => break stats.step_ms_p50,
            PerceptionReply::Stats(_) => {}
            other => anyhow::bail!("unexpected {other:?}"),
        }
    };
    let mut config = Scenario::Crossing.config(1);
    config.frames = 160;
    config.fps = fps;
    let mut source = SyntheticCamera::new(config)?;
    let mut pipeline = Pipeline::new(&PipelineConfig::default(), fps)?;
    let period = Duration::from_secs_f32(1.0 / fps);
    let mut next = Instant::now();
    let mut samples = Vec::new();
    loop {
        next += period;
        actix_rt::time::sleep_until(next.into()).await;
        let started = Instant::now();
        let Some(frame) = source.next_frame()? else {
            break;
        };
        for output in pipeline.push(&frame)? {
            std::hint::black_box((output.detections_wire()?, output.tracks_wire()?));
        }
        samples.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    // The first frames only gather the background: compare steady frames.
    let mut steady = samples.split_off(samples.len().saturating_sub(100));
    Ok((actor, median(&mut steady)))
}

async fn boot(bin: Binary, text: &str, dir: &std::path::Path) -> anyhow::Result<Kernel> {
    let registry = (bin.registry)();
    let config = KernelConfig::from_toml(
        &format!(
            "[supervisor]\nmax_restarts = 1000\nwithin_secs = 10\n{}",
            text.replace("@DATA@", &dir.display().to_string())
        ),
        &registry,
    )?;
    let options = KernelOptions {
        worker_env: vec![("RUST_BACKTRACE".into(), "0".into())],
        ..KernelOptions::default()
    };
    Ok(Kernel::boot(config, &registry, options).await?)
}

/// Run the bench. `uds` measures raw Unix-socket round trips (µs) into
/// the vector; it runs in rounds with the actor calls, so both see the same
/// machine.
pub(crate) async fn run(
    bin: Binary,
    mut uds: impl FnMut(usize, &mut Vec<f64>) -> anyhow::Result<()>,
    memcpy_1080p_ms: f64,
) -> anyhow::Result<ActorResults> {
    let dir = tempfile::tempdir()?;
    let registry = (bin.registry)();
    let config = KernelConfig::from_toml(CHILDREN, &registry)?;
    let options = KernelOptions {
        worker_env: vec![("RUST_BACKTRACE".into(), "0".into())],
        ..KernelOptions::default()
    };
    let kernel = Kernel::boot(config, &registry, options).await?;
    let screen = kernel.actor::<Compositor>("screen")?;
    let ping = kernel.actor::<Probe>("ping")?;
    let pong = kernel.actor::<Probe>("pong")?;

    // Child↔child round trips first (they are the frame's baseline too),
    // in rounds with the raw socket's.
    ping_pong(&ping, 200).await?;
    uds(200, &mut Vec::new())?;
    let (mut calls, mut raw) = (Vec::new(), Vec::new());
    for _ in 0..10 {
        calls.extend(ping_pong(&ping, 300).await?);
        uds(300, &mut raw)?;
    }
    let call_p50 = quantile(&mut calls, 0.5);
    let call_p99 = quantile(&mut calls, 0.99);
    let uds_rtt_us_p50 = quantile(&mut raw, 0.5);

    // The frame: warm the image's cache entry and the compositor's mapping.
    for _ in 0..3 {
        fetch_frame(&screen, 0).await?;
    }
    let mut frames = Vec::new();
    for _ in 0..30 {
        frames.push(fetch_frame(&screen, 0).await?);
    }
    let frame_p50 = median(&mut frames);
    let copies = frame_copies(&kernel, "images") + frame_copies(&kernel, "screen");

    let (restart_calls, restart_max, timed_out, restarting) =
        calls_across_restarts(&kernel, &pong, 10).await?;
    kernel.shutdown().await;

    // Each concern alone, beside its core on the same quiet machine.
    let kernel = boot(bin, ALONE[0], dir.path()).await?;
    let (decode_actor, decode_core) = decode_pair(&kernel.actor("decoder")?, 7).await?;
    kernel.shutdown().await;
    let kernel = boot(bin, ALONE[1], dir.path()).await?;
    let (fft_actor, fft_core) = fft_pair(&kernel.actor("fft")?, 40).await?;
    kernel.shutdown().await;
    let kernel = boot(bin, ALONE[2], dir.path()).await?;
    let (store_actor, store_core, store_call_us) =
        store_pair(&kernel.actor("store")?, dir.path(), 300).await?;
    kernel.shutdown().await;
    let kernel = boot(bin, ALONE[3], dir.path()).await?;
    let (perception_actor, perception_core) =
        perception_pair(&kernel.actor("camera")?, PERCEPTION_FPS).await?;
    kernel.shutdown().await;

    let ratios = ActorRatios {
        frame_vs_memcpy_plus_rtt: frame_p50 / (memcpy_1080p_ms + call_p50 / 1000.0),
        call_child_to_child_vs_uds: call_p50 / uds_rtt_us_p50,
        decode_actor_vs_core: decode_actor / decode_core,
        fft_actor_vs_core: fft_actor / fft_core,
        store_actor_vs_core: store_actor / store_core,
        perception_actor_vs_core: perception_actor / perception_core,
    };
    let targets_met = ratios.frame_vs_memcpy_plus_rtt <= 2.0
        && copies == 0
        && ratios.call_child_to_child_vs_uds <= 2.2
        && timed_out == 0
        && ratios.decode_actor_vs_core <= 1.1
        && ratios.fft_actor_vs_core <= 1.1
        && ratios.store_actor_vs_core <= 1.1
        && ratios.perception_actor_vs_core <= 1.1;
    Ok(ActorResults {
        frame_1080p_child_to_child_ms_p50: frame_p50,
        memcpy_1080p_ms,
        child_to_child_rtt_us_p50: call_p50,
        frame_kernel_copies: copies,
        call_child_to_child_us_p50: call_p50,
        call_child_to_child_us_p99: call_p99,
        uds_rtt_us_p50,
        restart_calls,
        restart_calls_max_ms: restart_max,
        restart_calls_timed_out: timed_out,
        restart_calls_restarting: restarting,
        decode_12mp_actor_ms: decode_actor,
        decode_12mp_core_ms: decode_core,
        fft_hop_actor_us: fft_actor,
        fft_hop_core_us: fft_core,
        store_update_actor_ms: store_actor,
        store_update_core_ms: store_core,
        store_status_call_us: store_call_us,
        perception_frame_actor_ms: perception_actor,
        perception_frame_core_ms: perception_core,
        ratios,
        targets_met,
    })
}

/// The human-readable table of [`ActorResults`].
pub(crate) fn print_table(r: &ActorResults) {
    let verdict = |ok: bool| if ok { "met" } else { "NOT met" };
    println!(
        "{:<40} {:>12}  {:>12}  {:>7}  target",
        "path", "measured", "baseline", "ratio"
    );
    println!(
        "{:<40} {:>9.3} ms  {:>9.3} ms  {:>7.2}  ≤ 2× memcpy + a child↔child round trip ({}); {} frames copied by the kernel ({})",
        "1080p frame image_decode → compositor",
        r.frame_1080p_child_to_child_ms_p50,
        r.memcpy_1080p_ms + r.child_to_child_rtt_us_p50 / 1000.0,
        r.ratios.frame_vs_memcpy_plus_rtt,
        verdict(r.ratios.frame_vs_memcpy_plus_rtt <= 2.0),
        r.frame_kernel_copies,
        verdict(r.frame_kernel_copies == 0)
    );
    println!(
        "{:<40} {:>9.1} µs  {:>9.1} µs  {:>7.2}  ≤ 2.2× raw UDS ({}); p99 {:.1} µs",
        "actor→actor call child↔child p50",
        r.call_child_to_child_us_p50,
        r.uds_rtt_us_p50,
        r.ratios.call_child_to_child_vs_uds,
        verdict(r.ratios.call_child_to_child_vs_uds <= 2.2),
        r.call_child_to_child_us_p99
    );
    println!(
        "{:<40} {:>9.1} ms  {:>12}  {:>7}  none past its deadline ({}): {} calls, {} answered Restarting",
        "calls across 10 kills, slowest",
        r.restart_calls_max_ms,
        "",
        "",
        verdict(r.restart_calls_timed_out == 0),
        r.restart_calls,
        r.restart_calls_restarting
    );
    for (what, actor, core, ratio, unit) in [
        (
            "decode 12 MP → 1080p, in-process actor",
            r.decode_12mp_actor_ms,
            r.decode_12mp_core_ms,
            r.ratios.decode_actor_vs_core,
            "ms",
        ),
        (
            "FFT, per hop, in-process actor",
            r.fft_hop_actor_us,
            r.fft_hop_core_us,
            r.ratios.fft_actor_vs_core,
            "µs",
        ),
        (
            "durable store update, in-process actor",
            r.store_update_actor_ms,
            r.store_update_core_ms,
            r.ratios.store_actor_vs_core,
            "ms",
        ),
        (
            "perception frame, in-process actor",
            r.perception_frame_actor_ms,
            r.perception_frame_core_ms,
            r.ratios.perception_actor_vs_core,
            "ms",
        ),
    ] {
        println!(
            "{what:<40} {actor:>9.3} {unit}  {core:>9.3} {unit}  {ratio:>7.2}  ≤ 1.1× the core ({})",
            verdict(ratio <= 1.1)
        );
    }
    println!(
        "  (a Status call to the in-process store: {:.1} µs — the hop to its thread and back)",
        r.store_status_call_us
    );
    println!(
        "targets {}",
        if r.targets_met { "met" } else { "NOT all met" }
    );
}

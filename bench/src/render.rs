//! `warden bench render`: each transition at each size drawn by the CPU
//! path, by the wgpu path waiting for every frame, and by the wgpu path
//! pipelined (frame N drawn while frame N − 1 is read), beside the readback
//! floor — a bare clear, `copy_texture_to_buffer` and map of the same size
//! on the same device. Per frame: p50, p99, max and the first frame (a
//! stall at start shows there). On a software rasteriser (lavapipe) the
//! wgpu figures are that rasteriser's, and the report says so.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;
use warden_renderer::{
    ActiveTransition, AdapterSummary, BackendRequest, Compositor as _, CpuCompositor, Frame,
    RenderError, Renderer, RendererOptions, Scene, SyntheticOverlays, TransitionKind,
    TransitionSpec, TransitionTables, readback_floor,
};

use crate::stats::quantile;

/// Per-frame figures of one path (ms).
#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct Times {
    /// Median.
    pub p50: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Slowest.
    pub max: f64,
    /// The first frame.
    pub first: f64,
}

impl Times {
    fn of(times: &[Duration]) -> Self {
        let mut ms: Vec<f64> = times.iter().map(|d| d.as_secs_f64() * 1000.0).collect();
        let first = ms.first().copied().unwrap_or(0.0);
        Times {
            p50: quantile(&mut ms, 0.5),
            p99: quantile(&mut ms, 0.99),
            max: quantile(&mut ms, 1.0),
            first,
        }
    }
}

/// One transition at one size.
#[derive(Debug, Serialize)]
pub struct Case {
    /// `WxH`.
    pub size: String,
    /// The transition.
    pub transition: String,
    /// The CPU path.
    pub cpu: Times,
    /// wgpu, each frame waited for.
    pub wgpu_wait: Option<Times>,
    /// wgpu pipelined (per call: submit this frame, read the one before).
    pub wgpu_pipelined: Option<Times>,
    /// The bare readback of this size.
    pub floor: Option<Times>,
    /// cpu p50 / wgpu pipelined p50 (how many times faster the GPU path is).
    pub speedup_pipelined: Option<f64>,
    /// cpu p50 / wgpu wait p50.
    pub speedup_wait: Option<f64>,
    /// wgpu wait p50 / floor p50.
    pub wait_over_floor: Option<f64>,
    /// wgpu pipelined p50 / floor p50.
    pub pipelined_over_floor: Option<f64>,
}

/// The whole run.
#[derive(Debug, Serialize)]
pub struct Report {
    /// Frames per path and case.
    pub frames: usize,
    /// The adapter of the wgpu figures, if one opened, in words.
    pub adapter: Option<String>,
    /// The same, field by field.
    #[serde(skip)]
    pub adapter_summary: Option<AdapterSummary>,
    /// Why there are no wgpu figures, if there are none.
    pub no_wgpu: Option<String>,
    /// The wgpu figures are a software rasteriser's.
    pub software: bool,
    /// Each case.
    pub cases: Vec<Case>,
}

/// An image that is not flat (a gradient with a seed's tint), `w × h`.
fn picture(w: u32, h: u32, seed: u8) -> Arc<Frame> {
    let mut data = Vec::with_capacity(w as usize * h as usize * 4);
    for y in 0..h {
        for x in 0..w {
            data.extend_from_slice(&[
                (x * 255 / w.max(1)) as u8 ^ seed,
                (y * 255 / h.max(1)) as u8,
                seed.wrapping_mul(37),
                255,
            ]);
        }
    }
    Arc::new(Frame::from_rgba(w, h, data).expect("invariant: the size matches the data"))
}

/// The scenes of one transition: `frames` steps from its start to its end,
/// with 64 bars and 12 boxes.
fn scenes(w: u32, h: u32, kind: TransitionKind, frames: usize) -> Result<Vec<Scene>, RenderError> {
    let (from, to) = (picture(w, h, 17), picture(w, h, 101));
    let spec = TransitionSpec {
        kind,
        duration: Duration::from_millis(1500),
        easing: warden_renderer::Easing::EaseInOut,
        seed: 7,
    };
    let tables = TransitionTables::build(kind, w, h, spec.seed)?.map(Arc::new);
    let mut overlays = SyntheticOverlays::new(7, 64, 12);
    let steps = frames.saturating_sub(1).max(1);
    let dt = spec.duration / steps as u32;
    Ok((0..frames)
        .map(|i| {
            let time = i as f64 / steps as f64;
            let mut scene = Scene::new(w, h);
            scene.slideshow.image = Some(Arc::clone(&to));
            let mut t = ActiveTransition::new(Arc::clone(&from), spec, time);
            t.tables = tables.clone();
            scene.slideshow.transition = Some(t);
            let secs = time * spec.duration.as_secs_f64();
            scene.bars.bars = overlays.bars_at(secs, if i == 0 { Duration::ZERO } else { dt });
            scene.boxes.boxes = overlays.boxes_at(secs);
            scene
        })
        .collect())
}

fn timed(
    scenes: &[Scene],
    mut draw: impl FnMut(&Scene) -> Result<(), RenderError>,
) -> Result<Vec<Duration>, RenderError> {
    scenes
        .iter()
        .map(|scene| {
            let started = Instant::now();
            draw(scene)?;
            Ok(started.elapsed())
        })
        .collect()
}

fn ratio(a: f64, b: f64) -> Option<f64> {
    (b > 0.0).then(|| a / b)
}

/// Measure (see the module documentation).
pub fn measure(
    frames: usize,
    sizes: &[(u32, u32)],
    kinds: &[TransitionKind],
) -> anyhow::Result<Report> {
    let frames = frames.max(2);
    let mut gpu = match Renderer::open(RendererOptions {
        backend: BackendRequest::Wgpu,
        ..Default::default()
    }) {
        Ok(renderer) => Ok(renderer),
        Err(err) => Err(err.to_string()),
    };
    let adapter: Option<AdapterSummary> =
        gpu.as_ref().ok().and_then(|r| r.choice().adapter.clone());
    let mut report = Report {
        frames,
        software: adapter.as_ref().is_some_and(|a| a.software),
        adapter: adapter.as_ref().map(ToString::to_string),
        adapter_summary: adapter,
        no_wgpu: gpu.as_ref().err().cloned(),
        cases: Vec::new(),
    };
    let mut cpu = CpuCompositor::new();
    let mut out = Frame::empty();
    for &(w, h) in sizes {
        let floor = match &gpu {
            Ok(_) => Some(Times::of(&readback_floor(w, h, frames)?.1)),
            Err(_) => None,
        };
        for &kind in kinds {
            eprintln!("bench render: {w}x{h} {}", kind.name());
            let scenes = scenes(w, h, kind, frames)?;
            let cpu_times = Times::of(&timed(&scenes, |s| cpu.render_into(s, &mut out))?);
            let (wait, pipelined) = match gpu.as_mut() {
                Ok(renderer) => {
                    let wait = timed(&scenes, |s| renderer.render_into(s, &mut out))?;
                    let mut calls = timed(&scenes, |s| {
                        renderer.render_pipelined(s, &mut out).map(|_| ())
                    })?;
                    // The last frame is still in flight: collecting it is
                    // one more call.
                    let started = Instant::now();
                    renderer.flush(&mut out)?;
                    calls.push(started.elapsed());
                    (Some(Times::of(&wait)), Some(Times::of(&calls)))
                }
                Err(_) => (None, None),
            };
            let p50 = |t: Option<Times>| t.map(|t| t.p50);
            report.cases.push(Case {
                size: format!("{w}x{h}"),
                transition: kind.name().to_string(),
                cpu: cpu_times,
                wgpu_wait: wait,
                wgpu_pipelined: pipelined,
                floor,
                speedup_pipelined: p50(pipelined).and_then(|p| ratio(cpu_times.p50, p)),
                speedup_wait: p50(wait).and_then(|p| ratio(cpu_times.p50, p)),
                wait_over_floor: p50(wait).zip(p50(floor)).and_then(|(a, b)| ratio(a, b)),
                pipelined_over_floor: p50(pipelined)
                    .zip(p50(floor))
                    .and_then(|(a, b)| ratio(a, b)),
            });
        }
    }
    Ok(report)
}

/// The report as a table.
pub fn table(report: &Report) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    match (&report.adapter, &report.no_wgpu) {
        (Some(_), _) if report.software => {
            let a = report
                .adapter_summary
                .as_ref()
                .expect("invariant: set with the adapter");
            let _ = writeln!(
                out,
                "wgpu on {a} — a SOFTWARE rasteriser: its figures are this CPU's, through {}, not a GPU's",
                a.api
            );
        }
        (Some(a), _) => {
            let _ = writeln!(out, "wgpu on {a}");
        }
        (None, Some(why)) => {
            let _ = writeln!(out, "no wgpu figures: {why}");
        }
        (None, None) => {}
    }
    let _ = writeln!(
        out,
        "{} frames per path; ms per frame (p50 / p99 / max, first)",
        report.frames
    );
    let _ = writeln!(
        out,
        "{:<10} {:<12} {:<15} {:>8} {:>8} {:>8} {:>8}",
        "SIZE", "TRANSITION", "PATH", "p50", "p99", "max", "first"
    );
    for case in &report.cases {
        let rows = [
            ("cpu", Some(case.cpu)),
            ("wgpu wait", case.wgpu_wait),
            ("wgpu pipelined", case.wgpu_pipelined),
            ("readback floor", case.floor),
        ];
        for (path, times) in rows {
            if let Some(t) = times {
                let _ = writeln!(
                    out,
                    "{:<10} {:<12} {:<15} {:>8.2} {:>8.2} {:>8.2} {:>8.2}",
                    case.size, case.transition, path, t.p50, t.p99, t.max, t.first
                );
            }
        }
        let show = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.2}×"));
        let _ = writeln!(
            out,
            "{:<10} {:<12} cpu/pipelined {}, cpu/wait {}, wait/floor {}, pipelined/floor {}",
            "",
            "",
            show(case.speedup_pipelined),
            show(case.speedup_wait),
            show(case.wait_over_floor),
            show(case.pipelined_over_floor)
        );
    }
    out
}

/// `warden bench render`.
pub fn render(
    json: bool,
    frames: usize,
    sizes: &[(u32, u32)],
    kinds: &[TransitionKind],
) -> anyhow::Result<ExitCode> {
    let report = measure(frames, sizes, kinds)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", table(&report));
    }
    Ok(ExitCode::SUCCESS)
}

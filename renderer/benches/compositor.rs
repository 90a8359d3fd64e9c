//! Compositor benchmarks at 1080p (and 4K), each beside its floor: a
//! `memcpy` of the two input frames. CPU path on one core; wgpu on whatever
//! adapter exists (lavapipe here), readback included. Ratios are read from
//! one run (the machine is shared): see docs/BENCHMARKS.md.
//!
//! `cargo bench -p warden-renderer --bench compositor -- --measurement-time 3`

#[path = "../tests/support/scenes.rs"]
mod scenes;

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use warden_renderer::{
    Compositor, CpuCompositor, FaultInjection, Frame, GpuCompositor, Scene, SyntheticOverlays,
    TransitionKind, TransitionTables, blockflip_grid, dissolve_thresholds,
};

const HD: (u32, u32) = (1920, 1080);
const UHD: (u32, u32) = (3840, 2160);

/// A transition scene with its tables precomputed (as a worker would).
fn scene(kind: TransitionKind, (w, h): (u32, u32), overlays: bool) -> Scene {
    let mut s = scenes::transition(kind, w, h, 0.37);
    if let Some(t) = s.slideshow.transition.as_mut() {
        t.tables = TransitionTables::build(kind, w, h, t.spec.seed)
            .expect("valid size")
            .map(Arc::new);
    }
    if overlays {
        let mut o = SyntheticOverlays::new(3, 64, 50);
        s.bars.bars = o.bars_at(0.5, Duration::from_millis(16));
        s.boxes.boxes = o.boxes_at(0.5);
    }
    s
}

/// The floor: copying both input frames once.
fn memcpy_floor(c: &mut Criterion, size: (u32, u32), label: &str) {
    let s = scene(TransitionKind::Crossfade, size, false);
    let a = s
        .slideshow
        .transition
        .as_ref()
        .expect("transition")
        .from
        .clone();
    let b = s.slideshow.image.clone().expect("image");
    let mut oa = vec![0u8; a.data().len()];
    let mut ob = vec![0u8; b.data().len()];
    let mut g = c.benchmark_group(format!("floor/{label}"));
    g.throughput(Throughput::Bytes(2 * a.data().len() as u64));
    g.bench_function("memcpy_two_frames", |bench| {
        bench.iter(|| {
            oa.copy_from_slice(black_box(a.data()));
            ob.copy_from_slice(black_box(b.data()));
            black_box((&oa, &ob));
        })
    });
    g.finish();
}

fn cpu(c: &mut Criterion, size: (u32, u32), label: &str, cases: &[(&str, TransitionKind, bool)]) {
    let mut g = c.benchmark_group(format!("cpu/{label}"));
    g.throughput(Throughput::Bytes(2 * u64::from(size.0 * size.1 * 4)));
    let mut comp = CpuCompositor::new();
    let mut out = Frame::empty();
    for (name, kind, overlays) in cases {
        let s = scene(*kind, size, *overlays);
        comp.render_into(&s, &mut out).expect("warm-up");
        g.bench_function(BenchmarkId::from_parameter(name), |bench| {
            bench.iter(|| comp.render_into(black_box(&s), &mut out).expect("render"))
        });
    }
    g.finish();
}

fn gpu(c: &mut Criterion, size: (u32, u32), label: &str, cases: &[(&str, TransitionKind, bool)]) {
    let mut comp = match GpuCompositor::open_best(FaultInjection::none()) {
        Ok(g) => g,
        Err(e) => {
            eprintln!("wgpu benchmarks skipped: {e}");
            return;
        }
    };
    eprintln!("wgpu adapter: {}", comp.adapter());
    let mut g = c.benchmark_group(format!("wgpu/{label}"));
    g.throughput(Throughput::Bytes(2 * u64::from(size.0 * size.1 * 4)));
    let mut out = Frame::empty();
    for (name, kind, overlays) in cases {
        let s = scene(*kind, size, *overlays);
        comp.render_into(&s, &mut out).expect("warm-up");
        g.bench_function(BenchmarkId::from_parameter(name), |bench| {
            bench.iter(|| comp.render_into(black_box(&s), &mut out).expect("render"))
        });
    }
    g.finish();
}

fn tables(c: &mut Criterion) {
    let mut g = c.benchmark_group("tables/1080p");
    g.bench_function("dissolve_thresholds", |b| {
        b.iter(|| dissolve_thresholds(black_box(1920), 1080, 7))
    });
    g.bench_function("blockflip_grid", |b| {
        b.iter(|| blockflip_grid(black_box(1920), 1080, 7))
    });
    g.finish();
}

const HD_CASES: &[(&str, TransitionKind, bool)] = &[
    ("crossfade", TransitionKind::Crossfade, false),
    ("blockflip", TransitionKind::Blockflip, false),
    ("dissolve", TransitionKind::Dissolve, false),
    ("slide-left", TransitionKind::SlideLeft, false),
    ("zoom", TransitionKind::Zoom, false),
    ("crossfade+64bars+50boxes", TransitionKind::Crossfade, true),
];

const GPU_CASES: &[(&str, TransitionKind, bool)] = &[
    ("crossfade", TransitionKind::Crossfade, false),
    ("blockflip", TransitionKind::Blockflip, false),
    ("crossfade+64bars+50boxes", TransitionKind::Crossfade, true),
];

const UHD_CASES: &[(&str, TransitionKind, bool)] = &[
    ("crossfade", TransitionKind::Crossfade, false),
    ("crossfade+64bars+50boxes", TransitionKind::Crossfade, true),
];

fn benches(c: &mut Criterion) {
    memcpy_floor(c, HD, "1080p");
    cpu(c, HD, "1080p", HD_CASES);
    gpu(c, HD, "1080p", GPU_CASES);
    memcpy_floor(c, UHD, "4k");
    cpu(c, UHD, "4k", UHD_CASES);
    gpu(c, UHD, "4k", UHD_CASES);
    tables(c);
}

criterion_group! {
    name = compositor;
    config = Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    targets = benches
}
criterion_main!(compositor);

//! Benchmarks of the perception hot paths, each beside its floor:
//!
//! - `frame_640x480/*`: detection alone and detect + track + timelines per
//!   640×480 frame of each built-in scenario, beside `read_frame`, the bare
//!   cost of reading every byte of the frame once (no algorithm can look at
//!   the whole frame for less);
//! - `wire/*`: encoding and decoding a 25-track `TracksFrame` (with its
//!   CRC32), beside copying the same number of bytes.
//!
//! `cargo bench -p warden-perception --bench perception -- --measurement-time 3`

use std::hint::black_box;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use image::RgbImage;
use warden_perception::{
    BBox, Detector, DetectorConfig, Frame, FrameSource, Pipeline, PipelineConfig, Scenario,
    SyntheticCamera, TrackReport, TrackState, TracksFrame,
};

/// Frames rendered per scenario; the benchmark cycles through them.
const FRAMES: usize = 60;

fn frames(scenario: Scenario) -> Vec<Frame> {
    let mut cfg = scenario.config(1);
    cfg.frames = FRAMES + 40;
    let mut cam = SyntheticCamera::new(cfg).expect("valid scenario");
    let mut out = Vec::with_capacity(FRAMES + 40);
    while let Some(f) = cam.next_frame().expect("synthetic frame") {
        out.push(f);
    }
    // Skip the first seconds: the scene fills up.
    out.split_off(40)
}

/// The floor: touch every byte of the frame once.
fn read_frame(image: &RgbImage) -> u64 {
    image.as_raw().iter().map(|&b| u64::from(b)).sum()
}

fn per_frame(c: &mut Criterion) {
    let mut group = c.benchmark_group("frame_640x480");
    group.sample_size(30);
    let easy = frames(Scenario::Easy);
    group.bench_function("read_frame (floor)", |b| {
        let mut i = 0;
        b.iter(|| {
            i = (i + 1) % easy.len();
            black_box(read_frame(black_box(&easy[i].image)))
        })
    });
    group.bench_function("detect/crossing", |b| {
        let frames = frames(Scenario::Crossing);
        let cfg = DetectorConfig {
            bootstrap_frames: 1,
            ..DetectorConfig::default()
        };
        let mut det = Detector::new(cfg).expect("valid");
        let mut i = 0;
        b.iter(|| {
            i = (i + 1) % frames.len();
            det.push(&frames[i].image).expect("same size");
            black_box(det.next_detections())
        })
    });
    for scenario in Scenario::ALL {
        let frames = if scenario == Scenario::Easy {
            easy.clone()
        } else {
            frames(scenario)
        };
        // Past the bootstrap, every frame pushed comes out at once.
        let mut pipeline = Pipeline::new(&PipelineConfig::default(), 10.0).expect("valid");
        for f in &frames {
            pipeline.push(f).expect("same size");
        }
        let mut i = 0;
        group.bench_function(format!("detect+track+timelines/{scenario}"), |b| {
            b.iter(|| {
                i = (i + 1) % frames.len();
                black_box(pipeline.push(&frames[i]).expect("same size"))
            })
        });
    }
    group.finish();
}

fn wire(c: &mut Criterion) {
    let tracks: Vec<TrackReport> = (0..25)
        .map(|i| TrackReport {
            id: i,
            bbox: BBox::new(i as f32 * 20.0, 100.0, 30.0, 40.0),
            velocity: (1.5, -0.5),
            score: 0.9,
            age: 100,
            hits: 90,
            time_since_update: 0,
            state: TrackState::Tracked,
        })
        .collect();
    let frame = TracksFrame {
        frame_id: 7,
        timestamp_ms: 700,
        tracks,
    };
    let bytes = frame.encode().expect("encodable");
    let mut group = c.benchmark_group("wire");
    group.throughput(Throughput::Bytes(bytes.len() as u64));
    group.bench_function("memcpy (floor)", |b| {
        b.iter_batched_ref(
            || vec![0u8; bytes.len()],
            |dst| dst.copy_from_slice(black_box(&bytes)),
            BatchSize::SmallInput,
        )
    });
    group.bench_function("encode/tracks25", |b| b.iter(|| black_box(&frame).encode()));
    group.bench_function("decode/tracks25", |b| {
        b.iter(|| TracksFrame::decode(black_box(&bytes)))
    });
    group.finish();
}

criterion_group!(benches, per_frame, wire);
criterion_main!(benches);

//! Benchmarks of the analysis hot paths beside their baselines: one frame's
//! full analysis against the bare `realfft` call on the same frame, and a
//! whole 48 kHz stereo WAV against decoding alone and against the bare FFTs
//! of all its frames. Ratios are what matter (the machine is shared).

use std::hint::black_box;
use std::io::Cursor;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use realfft::RealFftPlanner;
use warden_fft::{
    Analyzer, AnalyzerConfig, GeneratorConfig, WavEncoding, WavSource, analyze_source, encode_wav,
    generate, window,
};

/// Consecutive windows of `frame_len` samples, `frame_len / 4` apart, from
/// the generator's drums, chords and sweep.
fn windows(frame_len: usize, count: usize) -> Vec<Vec<f32>> {
    let signal = generate(&GeneratorConfig {
        seconds: 12.0,
        channels: 1,
        ..GeneratorConfig::default()
    })
    .expect("valid generator config")
    .samples;
    let hop = frame_len / 4;
    (0..count)
        .map(|i| signal[i * hop..i * hop + frame_len].to_vec())
        .collect()
}

fn frame(c: &mut Criterion) {
    let mut group = c.benchmark_group("frame");
    for frame_len in [1024usize, 2048, 4096] {
        let frames = windows(frame_len, 400);
        let hann = window::hann(frame_len);
        let windowed: Vec<Vec<f32>> = frames
            .iter()
            .map(|f| f.iter().zip(&hann).map(|(x, w)| x * w).collect())
            .collect();

        let fft = RealFftPlanner::<f32>::new().plan_fft_forward(frame_len);
        let mut input = fft.make_input_vec();
        let mut output = fft.make_output_vec();
        let mut scratch = fft.make_scratch_vec();
        let mut i = 0;
        group.bench_function(BenchmarkId::new("bare_realfft", frame_len), |b| {
            b.iter(|| {
                // realfft uses its input as scratch, so every call refills it.
                input.copy_from_slice(&windowed[i % windowed.len()]);
                i += 1;
                fft.process_with_scratch(&mut input, &mut output, &mut scratch)
                    .expect("planned lengths");
                black_box(&output);
            })
        });

        let config = AnalyzerConfig {
            frame_len,
            hop: frame_len / 4,
            ..AnalyzerConfig::new(48_000)
        };
        let mut analyzer = Analyzer::new(config).expect("valid config");
        let mut i = 0;
        group.bench_function(BenchmarkId::new("full_analysis", frame_len), |b| {
            b.iter(|| {
                let f = analyzer
                    .analyze_window(&frames[i % frames.len()])
                    .expect("right length");
                i += 1;
                black_box(f.bars[0]);
            })
        });
    }
    group.finish();
}

fn whole_file(c: &mut Criterion) {
    const SECONDS: f64 = 10.0;
    let signal = generate(&GeneratorConfig {
        seconds: SECONDS,
        channels: 2,
        ..GeneratorConfig::default()
    })
    .expect("valid generator config");
    let mut wav = Cursor::new(Vec::new());
    encode_wav(&mut wav, &signal.samples, 48_000, 2, WavEncoding::Int16).expect("in-memory WAV");
    let wav = wav.into_inner();
    let mono = signal.mono();

    let mut group = c.benchmark_group("whole_file_48k_stereo_10s");
    group.sample_size(10);
    group.throughput(Throughput::Elements(signal.samples.len() as u64));

    group.bench_function("decode_only", |b| {
        b.iter(|| {
            let mut source =
                WavSource::from_reader(Cursor::new(&wav[..]), "bench.wav").expect("valid WAV");
            black_box(source.read_all_mono().expect("valid WAV").len())
        })
    });

    let fft = RealFftPlanner::<f32>::new().plan_fft_forward(2048);
    let (mut input, mut output, mut scratch) = (
        fft.make_input_vec(),
        fft.make_output_vec(),
        fft.make_scratch_vec(),
    );
    group.bench_function("bare_realfft_per_hop", |b| {
        b.iter(|| {
            for start in (0..mono.len().saturating_sub(2048)).step_by(512) {
                input.copy_from_slice(&mono[start..start + 2048]);
                fft.process_with_scratch(&mut input, &mut output, &mut scratch)
                    .expect("planned lengths");
            }
            black_box(&output);
        })
    });

    group.bench_function("decode_and_analyze", |b| {
        b.iter(|| {
            let mut source =
                WavSource::from_reader(Cursor::new(&wav[..]), "bench.wav").expect("valid WAV");
            let mut analyzer = Analyzer::new(AnalyzerConfig::new(48_000)).expect("valid config");
            let summary = analyze_source::<_, warden_fft::FftError>(
                &mut analyzer,
                &mut source,
                |view| {
                    black_box(view.frame.bars[0]);
                    Ok(())
                },
                |_, _| {},
            )
            .expect("valid WAV");
            black_box(summary.beats.len())
        })
    });
    group.finish();
}

criterion_group!(benches, frame, whole_file);
criterion_main!(benches);

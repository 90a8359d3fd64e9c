//! The spectrum and the bars against independent references: a naive DFT in
//! f64 (the `--spectrum` contract: |rfft(x·w)| with w = numpy.hanning(N),
//! unnormalised, bins 0..=N/2) and sines at known frequencies and levels.
#![allow(clippy::unwrap_used)]

use std::f64::consts::TAU;

use warden_fft::{Analyzer, AnalyzerConfig, FftError, window};

/// |Σ x[n]·w[n]·e^(−2πikn/N)| for k in 0..=N/2, in f64, the slow way.
fn naive_dft_magnitude(x: &[f32]) -> Vec<f64> {
    let n = x.len();
    let w = window::hann(n);
    let xw: Vec<f64> = x
        .iter()
        .zip(&w)
        .map(|(a, b)| f64::from(*a) * f64::from(*b))
        .collect();
    let cos: Vec<f64> = (0..n).map(|i| (TAU * i as f64 / n as f64).cos()).collect();
    let sin: Vec<f64> = (0..n).map(|i| (TAU * i as f64 / n as f64).sin()).collect();
    (0..=n / 2)
        .map(|k| {
            let (mut re, mut im) = (0.0, 0.0);
            for (i, v) in xw.iter().enumerate() {
                let j = (k * i) % n;
                re += v * cos[j];
                im -= v * sin[j];
            }
            re.hypot(im)
        })
        .collect()
}

/// A deterministic test signal: three sines, a click and pseudo-random noise.
fn test_signal(len: usize, rate: f64) -> Vec<f32> {
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    (0..len)
        .map(|i| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let noise = (state >> 40) as f64 / (1u64 << 24) as f64 - 0.5;
            let t = i as f64 / rate;
            let click = if i == len / 3 { 0.9 } else { 0.0 };
            (0.5 * (TAU * 440.0 * t).sin()
                + 0.2 * (TAU * 3_210.5 * t).sin()
                + 0.05 * (TAU * 97.3 * t + 0.3).sin()
                + 0.1 * noise
                + click) as f32
        })
        .collect()
}

fn assert_close(ours: &[f32], reference: &[f64], what: &str) {
    assert_eq!(ours.len(), reference.len(), "{what}: bins");
    let peak = reference.iter().copied().fold(0.0, f64::max);
    let worst = ours
        .iter()
        .zip(reference)
        .map(|(a, b)| (f64::from(*a) - b).abs())
        .fold(0.0, f64::max);
    assert!(
        worst <= 1e-4 * peak,
        "{what}: worst error {worst:e} vs peak {peak:e}"
    );
}

#[test]
fn window_spectrum_matches_a_naive_dft_for_every_frame_size() {
    for frame_len in [1024, 2048, 4096] {
        let x = test_signal(frame_len, 48_000.0);
        let config = AnalyzerConfig {
            frame_len,
            hop: frame_len / 4,
            ..AnalyzerConfig::new(48_000)
        };
        let mut analyzer = Analyzer::new(config).unwrap();
        analyzer.analyze_window(&x).unwrap();
        let ours: Vec<f32> = analyzer.spectrum().iter().map(|c| c.norm()).collect();
        assert_close(
            &ours,
            &naive_dft_magnitude(&x),
            &format!("frame {frame_len}"),
        );
    }
}

#[test]
fn streamed_frames_are_centred_zero_padded_windows() {
    // Frame n covers samples n·hop − N/2 .. n·hop + N/2 of the zero-padded stream.
    let (frame_len, hop) = (1024, 300);
    let x = test_signal(5_000, 44_100.0);
    let config = AnalyzerConfig {
        frame_len,
        hop,
        ..AnalyzerConfig::new(44_100)
    };
    let mut analyzer = Analyzer::new(config).unwrap();
    let mut padded = vec![0.0f32; frame_len / 2];
    padded.extend_from_slice(&x);
    padded.extend(std::iter::repeat_n(0.0, frame_len));
    let mut frames = 0u64;
    let mut magnitude = Vec::new();
    let mut check = |view: warden_fft::FrameView<'_>| -> Result<(), FftError> {
        let n = view.frame.seq as usize;
        assert!((view.frame.t - (n * hop) as f64 / 44_100.0).abs() < 1e-12);
        if n.is_multiple_of(4) {
            view.magnitude_into(&mut magnitude);
            let reference = naive_dft_magnitude(&padded[n * hop..n * hop + frame_len]);
            assert_close(&magnitude, &reference, &format!("frame {n}"));
        }
        frames += 1;
        Ok(())
    };
    for chunk in x.chunks(777) {
        analyzer.push(chunk, &mut check).unwrap();
    }
    analyzer.finish(&mut check).unwrap();
    assert_eq!(frames, 5_000 / 300 + 1);
}

/// Feed a steady sine long enough for the smoothing to settle; return the
/// last frame's bars.
fn bars_for_sine(hz: f64, amplitude: f64, config: AnalyzerConfig) -> (Vec<f32>, Analyzer) {
    let rate = f64::from(config.sample_rate);
    let mut analyzer = Analyzer::new(config).unwrap();
    let x: Vec<f32> = (0..(rate * 1.5) as usize)
        .map(|i| (amplitude * (TAU * hz * i as f64 / rate).sin()) as f32)
        .collect();
    let mut last = Vec::new();
    analyzer
        .push::<FftError>(&x, |view| {
            last.clone_from(&view.frame.bars);
            Ok(())
        })
        .unwrap();
    (last, analyzer)
}

#[test]
fn a_sine_lights_the_bar_that_contains_its_frequency() {
    for (frame_len, rate) in [(1024, 48_000), (2048, 44_100), (4096, 48_000)] {
        let config = AnalyzerConfig {
            frame_len,
            hop: frame_len / 4,
            bars: 32,
            ..AnalyzerConfig::new(rate)
        };
        let edges = Analyzer::new(config.clone())
            .unwrap()
            .layout()
            .edges_hz()
            .to_vec();
        for bar in [6usize, 12, 20, 27, 31] {
            let centre = f64::from(edges[bar] * edges[bar + 1]).sqrt();
            let (bars, analyzer) = bars_for_sine(centre, 1.0, config.clone());
            assert_eq!(analyzer.layout().bar_of(centre as f32), Some(bar));
            let loudest = bars
                .iter()
                .enumerate()
                .max_by(|a, b| a.1.total_cmp(b.1))
                .unwrap()
                .0;
            assert_eq!(loudest, bar, "frame {frame_len}, {centre:.1} Hz: {bars:?}");
            // Full scale reads 0 dB (top), give or take the Hann scalloping loss (< 1.5 dB).
            assert!(
                bars[bar] > 1.0 - 1.5 / 70.0,
                "{centre:.1} Hz reads {}",
                bars[bar]
            );
            // Far from the sine the spectrum is at the floor.
            assert!(bars[(bar + 16) % 32] < 0.05, "{bars:?}");
        }
    }
}

#[test]
fn bar_height_follows_the_level_in_db() {
    let config = AnalyzerConfig {
        bars: 16,
        ..AnalyzerConfig::new(48_000)
    };
    // 1 kHz sits on bin 42.67 of a 2048 FFT; use an exact bin (1031.25 Hz) for no scalloping.
    let hz = 44.0 * 48_000.0 / 2048.0;
    for db in [-6.0f64, -30.0, -60.0] {
        let (bars, analyzer) = bars_for_sine(hz, 10f64.powf(db / 20.0), config.clone());
        let bar = analyzer.layout().bar_of(hz as f32).unwrap();
        let expected = ((db + 70.0) / 70.0) as f32;
        assert!(
            (bars[bar] - expected).abs() < 0.01,
            "{db} dB reads {} (expected {expected})",
            bars[bar]
        );
    }
}

#[test]
fn a_window_of_the_wrong_length_is_an_error() {
    let mut analyzer = Analyzer::new(AnalyzerConfig::new(48_000)).unwrap();
    match analyzer.analyze_window(&[0.0; 1000]) {
        Err(FftError::WindowLength {
            expected: 2048,
            found: 1000,
        }) => {}
        other => panic!("{other:?}"),
    }
}

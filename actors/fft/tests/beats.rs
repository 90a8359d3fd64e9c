//! Beats and tempo on the generator's audio, whose beat times are known:
//! F-measure within ±50 ms and BPM within 2% across 80–180 BPM, both drum
//! patterns and all three frame sizes; no beats in silence or noise; the
//! tracker follows a tempo change.
#![allow(clippy::unwrap_used)]

use warden_fft::{
    Analyzer, AnalyzerConfig, DrumPattern, GeneratorConfig, Summary, analyze_samples, generate,
    score_beats,
};

fn analyze(mono: &[f32], rate: u32, frame_len: usize) -> Summary {
    let config = AnalyzerConfig {
        frame_len,
        hop: frame_len / 4,
        ..AnalyzerConfig::new(rate)
    };
    let mut analyzer = Analyzer::new(config).unwrap();
    analyze_samples::<()>(&mut analyzer, mono, |_| Ok(())).unwrap()
}

#[test]
fn beats_of_the_default_signal_are_found_at_every_frame_size() {
    let signal = generate(&GeneratorConfig::default()).unwrap();
    assert_eq!(signal.beats.len(), 60);
    for frame_len in [1024, 2048, 4096] {
        let summary = analyze(&signal.mono(), signal.sample_rate, frame_len);
        let score = score_beats(&summary.beats, &signal.beats, 0.05);
        assert!(score.f_measure >= 0.95, "frame {frame_len}: {score:?}");
        let bpm = summary.bpm.unwrap();
        assert!(
            (bpm / 120.0 - 1.0).abs() < 0.02,
            "frame {frame_len}: {bpm} BPM"
        );
    }
}

#[test]
fn tempo_and_beats_hold_across_80_to_180_bpm() {
    let tempi = [80.0, 93.0, 107.0, 122.0, 138.0, 151.0, 166.0, 180.0];
    for (i, &bpm) in tempi.iter().enumerate() {
        for pattern in [DrumPattern::Backbeat, DrumPattern::FourOnTheFloor] {
            let frame_len = [1024, 2048, 4096][i % 3];
            let rate = if i % 2 == 0 { 48_000 } else { 44_100 };
            let config = GeneratorConfig {
                seconds: 16.0,
                bpm,
                pattern,
                sample_rate: rate,
                seed: i as u64,
                first_beat_s: 0.1 + 0.05 * i as f64,
                ..GeneratorConfig::default()
            };
            let signal = generate(&config).unwrap();
            let summary = analyze(&signal.mono(), rate, frame_len);
            let what = format!("{bpm} BPM {pattern:?}, frame {frame_len} at {rate} Hz");
            let estimate = summary.bpm.unwrap_or_else(|| panic!("{what}: no tempo"));
            assert!(
                (estimate / bpm - 1.0).abs() < 0.02,
                "{what}: estimated {estimate}"
            );
            let score = score_beats(&summary.beats, &signal.beats, 0.05);
            assert!(score.f_measure >= 0.9, "{what}: {score:?}");
        }
    }
}

#[test]
fn off_beat_hits_are_not_beats() {
    // The backbeat pattern has a kick on the "and" of 3 every other bar and
    // hi-hats on every eighth: onsets between the beats that must be rejected.
    let signal = generate(&GeneratorConfig {
        seconds: 20.0,
        chords: false,
        sweep: false,
        ..Default::default()
    })
    .unwrap();
    let config = AnalyzerConfig::new(signal.sample_rate);
    let mut analyzer = Analyzer::new(config).unwrap();
    let mut onsets = 0;
    let summary = analyze_samples::<()>(&mut analyzer, &signal.mono(), |view| {
        onsets += usize::from(view.frame.onset);
        Ok(())
    })
    .unwrap();
    assert!(
        onsets > signal.beats.len(),
        "off-beat onsets are detected: {onsets}"
    );
    let score = score_beats(&summary.beats, &signal.beats, 0.05);
    assert!(score.precision >= 0.97, "{score:?}");
}

#[test]
fn silence_and_noise_have_no_tempo_and_hardly_any_beats() {
    let rate = 48_000;
    let silence = vec![0.0f32; rate as usize * 12];
    let summary = analyze(&silence, rate, 2048);
    assert_eq!((summary.beats.len(), summary.bpm), (0, None));
    assert_eq!(summary.frames, 12 * 48_000 / 512 + 1);

    let mut state = 99u64;
    let noise: Vec<f32> = (0..rate as usize * 12)
        .map(|_| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            ((state >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * 0.5
        })
        .collect();
    for frame_len in [1024, 2048, 4096] {
        let summary = analyze(&noise, rate, frame_len);
        assert_eq!(summary.bpm, None, "frame {frame_len}");
        assert!(
            summary.beats.len() <= 3,
            "frame {frame_len}: {} beats in 12 s of noise",
            summary.beats.len()
        );
    }
}

#[test]
fn the_tracker_follows_a_tempo_change() {
    let first = generate(&GeneratorConfig {
        seconds: 12.0,
        bpm: 100.0,
        ..Default::default()
    })
    .unwrap();
    let second = generate(&GeneratorConfig {
        seconds: 12.0,
        bpm: 140.0,
        first_beat_s: 0.0,
        seed: 9,
        ..Default::default()
    })
    .unwrap();
    let mut mono = first.mono();
    mono.extend(second.mono());
    let truth: Vec<f64> = first
        .beats
        .iter()
        .copied()
        .chain(second.beats.iter().map(|t| t + 12.0))
        .collect();
    let summary = analyze(&mono, 48_000, 2048);
    // Allow the tracker a few seconds to re-lock after the change.
    let settled = |t: &f64| !(12.0..16.0).contains(t);
    let detected: Vec<f64> = summary.beats.iter().copied().filter(settled).collect();
    let reference: Vec<f64> = truth.iter().copied().filter(settled).collect();
    let score = score_beats(&detected, &reference, 0.05);
    assert!(score.f_measure >= 0.9, "{score:?}");
    let bpm = summary.bpm.unwrap();
    assert!((bpm / 140.0 - 1.0).abs() < 0.02, "final tempo {bpm}");
}

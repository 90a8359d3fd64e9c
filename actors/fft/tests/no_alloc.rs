//! The per-frame path allocates nothing: once an analyser is built, pushing
//! audio through it (framing, FFT, bars, envelopes, onsets, tempo updates,
//! beat tracking) makes no heap allocation. Counted with a global allocator
//! wrapper; this file holds one test so no other test allocates meanwhile.
#![allow(clippy::unwrap_used)]

use std::alloc::System;

use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};
use warden_fft::{Analyzer, AnalyzerConfig, FftError, GeneratorConfig, generate};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

#[test]
fn analysing_frames_does_not_allocate() {
    let mono = generate(&GeneratorConfig {
        seconds: 12.0,
        channels: 1,
        ..Default::default()
    })
    .unwrap()
    .samples;
    for frame_len in [1024, 2048, 4096] {
        let config = AnalyzerConfig {
            frame_len,
            hop: frame_len / 4,
            ..AnalyzerConfig::new(48_000)
        };
        let mut analyzer = Analyzer::new(config).unwrap();
        let (warm, rest) = mono.split_at(48_000 * 3);
        let (mut frames, mut beats, mut tempo) = (0u64, 0u32, false);
        analyzer.push::<FftError>(warm, |_| Ok(())).unwrap();

        let region = Region::new(GLOBAL);
        // Stream the remaining 9 s in 10 ms chunks, as an actor would.
        for chunk in rest.chunks(480) {
            analyzer
                .push::<FftError>(chunk, |view| {
                    frames += 1;
                    beats += u32::from(view.frame.beat);
                    tempo |= view.frame.bpm.is_some();
                    Ok(())
                })
                .unwrap();
        }
        let stats = region.change();
        assert_eq!(
            (stats.allocations, stats.reallocations),
            (0, 0),
            "frame {frame_len}: {frames} frames allocated {} bytes",
            stats.bytes_allocated
        );
        // The run exercised the whole pipeline, tempo updates and beats included.
        assert!(
            frames >= (rest.len() / (frame_len / 4)) as u64 - 1 && beats >= 15 && tempo,
            "frame {frame_len}: {frames} frames, {beats} beats"
        );
    }
}

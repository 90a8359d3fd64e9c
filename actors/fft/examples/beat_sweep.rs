//! Beat and tempo accuracy over the generator's audio: 80–180 BPM, both drum
//! patterns, frames of 1024/2048/4096 samples at 44.1 and 48 kHz, 30 s each.
//! Prints the F-measure (±50 ms) and the BPM error of every run and the worst
//! of each; `docs/BENCHMARKS.md` quotes its output.
//!
//! `cargo run --release -p warden-fft --example beat_sweep`

use warden_fft::{
    Analyzer, AnalyzerConfig, DrumPattern, FftError, GeneratorConfig, analyze_samples, generate,
    score_beats,
};

fn main() -> Result<(), FftError> {
    let tempi = [
        80.0, 90.0, 100.0, 110.0, 120.0, 128.0, 140.0, 150.0, 160.0, 170.0, 180.0,
    ];
    let frames = [1024usize, 2048, 4096];
    let (mut worst_f, mut worst_err, mut runs) = (1.0f64, 0.0f64, 0);
    for pattern in [DrumPattern::Backbeat, DrumPattern::FourOnTheFloor] {
        for rate in [44_100u32, 48_000] {
            println!("{pattern:?} at {rate} Hz: F-measure / BPM error per frame size");
            println!("  BPM   | {:>16} | {:>16} | {:>16}", "1024", "2048", "4096");
            for (i, &bpm) in tempi.iter().enumerate() {
                let config = GeneratorConfig {
                    seconds: 30.0,
                    bpm,
                    pattern,
                    sample_rate: rate,
                    seed: 100 + i as u64,
                    first_beat_s: 0.1 + 0.03 * i as f64,
                    ..GeneratorConfig::default()
                };
                let signal = generate(&config)?;
                let mono = signal.mono();
                let mut cells = Vec::new();
                for &frame_len in &frames {
                    let config = AnalyzerConfig {
                        frame_len,
                        hop: frame_len / 4,
                        ..AnalyzerConfig::new(rate)
                    };
                    let mut analyzer = Analyzer::new(config)?;
                    let summary = analyze_samples::<FftError>(&mut analyzer, &mono, |_| Ok(()))?;
                    let f = score_beats(&summary.beats, &signal.beats, 0.05).f_measure;
                    let err = summary.bpm.map_or(1.0, |b| (b / bpm - 1.0).abs());
                    worst_f = worst_f.min(f);
                    worst_err = worst_err.max(err);
                    runs += 1;
                    cells.push(format!("{f:.3} / {:>5.2}%", 100.0 * err));
                }
                println!(
                    "  {bpm:5.1} | {:>16} | {:>16} | {:>16}",
                    cells[0], cells[1], cells[2]
                );
            }
        }
    }
    println!(
        "{runs} runs: worst F-measure {worst_f:.3}, worst BPM error {:.2}%",
        100.0 * worst_err
    );
    Ok(())
}

//! The built-in test signal: a deterministic drum pattern at a known tempo
//! (kick, snare, eighth-note hi-hats, a syncopated off-beat kick), a chord
//! progression and a slow log sweep, together with the exact beat times — the
//! ground truth the beat tests and `warden analyze --generate` rely on.

mod voices;

use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::SeedableRng;
use serde::{Deserialize, Serialize};

use crate::FftError;
use voices::{Mix, chords, hat, kick, snare, sweep, unit};

/// What to generate. Same config, same samples, on every machine.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GeneratorConfig {
    /// Length in seconds (0 < s ≤ 3600).
    pub seconds: f64,
    /// Sample rate in hertz (8 000 ..= 192 000).
    pub sample_rate: u32,
    /// 1 (mono) or 2 (stereo; hats and chords are panned).
    pub channels: u16,
    /// Tempo of the drum pattern (30 ..= 300 BPM).
    pub bpm: f64,
    /// Time of the first beat in seconds (≥ 0).
    pub first_beat_s: f64,
    /// Seed of the noise in snare and hats.
    pub seed: u64,
    /// Include the drum pattern (the beats).
    pub drums: bool,
    /// Which drum pattern.
    pub pattern: DrumPattern,
    /// Include the chord progression (one chord per bar, soft attack).
    pub chords: bool,
    /// Include a quiet log sweep from 30 Hz to 15 kHz over the whole length.
    pub sweep: bool,
}

impl Default for GeneratorConfig {
    fn default() -> Self {
        Self {
            seconds: 30.0,
            sample_rate: 48_000,
            channels: 2,
            bpm: 120.0,
            first_beat_s: 0.25,
            seed: 7,
            drums: true,
            pattern: DrumPattern::Backbeat,
            chords: true,
            sweep: true,
        }
    }
}

/// The drum patterns the generator plays (one bar = four beats).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DrumPattern {
    /// Rock backbeat: kick on 1 and 3, snare on 2 and 4, closed hi-hat on
    /// every eighth, an extra kick on the "and" of 3 in every other bar.
    #[default]
    Backbeat,
    /// Dance: kick on every beat, snare on 2 and 4, a loud open hi-hat on
    /// every off-beat (the classic double-tempo trap for tempo estimators).
    FourOnTheFloor,
}

/// Generated audio and the beat times it was built on.
#[derive(Clone, Debug, PartialEq)]
pub struct Generated {
    /// Interleaved samples in −1..1.
    pub samples: Vec<f32>,
    /// Sample rate in hertz.
    pub sample_rate: u32,
    /// Channels in `samples`.
    pub channels: u16,
    /// Time of every beat (quarter note) in seconds, ascending.
    pub beats: Vec<f64>,
    /// The tempo, in BPM.
    pub bpm: f64,
}

impl Generated {
    /// The samples mixed down to mono (the mean of the channels).
    pub fn mono(&self) -> Vec<f32> {
        let ch = usize::from(self.channels);
        self.samples
            .chunks_exact(ch)
            .map(|f| f.iter().sum::<f32>() / ch as f32)
            .collect()
    }
}

impl GeneratorConfig {
    fn validate(&self) -> Result<(), FftError> {
        if !(self.seconds > 0.0 && self.seconds <= 3600.0) {
            return Err(FftError::config(
                "seconds",
                self.seconds,
                "must be in (0, 3600]",
            ));
        }
        if !(8_000..=192_000).contains(&self.sample_rate) {
            return Err(FftError::config(
                "sample_rate",
                self.sample_rate,
                "must be 8000..=192000 Hz",
            ));
        }
        if !(1..=2).contains(&self.channels) {
            return Err(FftError::config(
                "channels",
                self.channels,
                "must be 1 or 2",
            ));
        }
        if !(30.0..=300.0).contains(&self.bpm) {
            return Err(FftError::config("bpm", self.bpm, "must be 30..=300"));
        }
        if !(self.first_beat_s >= 0.0 && self.first_beat_s < self.seconds) {
            return Err(FftError::config(
                "first_beat_s",
                self.first_beat_s,
                "must be in [0, seconds)",
            ));
        }
        Ok(())
    }
}

/// Render the configured signal.
pub fn generate(config: &GeneratorConfig) -> Result<Generated, FftError> {
    config.validate()?;
    let rate = f64::from(config.sample_rate);
    let len = (config.seconds * rate).round() as usize;
    let mut mix = Mix {
        left: vec![0.0; len],
        right: vec![0.0; len],
        rate,
    };
    let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
    let beat_s = 60.0 / config.bpm;
    let beats: Vec<f64> = (0..)
        .map(|k| config.first_beat_s + k as f64 * beat_s)
        .take_while(|&t| t < config.seconds)
        .collect();

    if config.drums {
        for (k, &t) in beats.iter().enumerate() {
            let in_bar = k % 4;
            let bar = k / 4;
            match config.pattern {
                DrumPattern::Backbeat => {
                    if in_bar % 2 == 0 {
                        kick(&mut mix, t, 0.9);
                    } else {
                        snare(&mut mix, t, 0.55, &mut rng);
                    }
                    // A syncopated kick on the "and" of beat 3 in every other bar.
                    if in_bar == 2 && bar % 2 == 1 {
                        kick(&mut mix, t + beat_s / 2.0, 0.6);
                    }
                    for half in [0.0, 0.5] {
                        let velocity = 0.12 + 0.04 * unit(&mut rng);
                        hat(&mut mix, t + half * beat_s, velocity, 0.02, &mut rng);
                    }
                }
                DrumPattern::FourOnTheFloor => {
                    kick(&mut mix, t, 0.9);
                    if in_bar % 2 == 1 {
                        snare(&mut mix, t, 0.45, &mut rng);
                    }
                    let velocity = 0.3 + 0.05 * unit(&mut rng);
                    hat(&mut mix, t + beat_s / 2.0, velocity, 0.07, &mut rng);
                }
            }
        }
    }
    if config.chords {
        chords(&mut mix, &beats, beat_s);
    }
    if config.sweep {
        sweep(&mut mix, config.seconds);
    }

    let Mix { left, right, .. } = mix;
    let peak = left
        .iter()
        .chain(&right)
        .fold(0.0f32, |m, v| m.max(v.abs()));
    let gain = if peak > 0.89 { 0.89 / peak } else { 1.0 };
    let samples = if config.channels == 1 {
        left.iter()
            .zip(&right)
            .map(|(l, r)| 0.5 * (l + r) * gain)
            .collect()
    } else {
        left.iter()
            .zip(&right)
            .flat_map(|(l, r)| [l * gain, r * gain])
            .collect()
    };
    Ok(Generated {
        samples,
        sample_rate: config.sample_rate,
        channels: config.channels,
        beats,
        bpm: config.bpm,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn is_deterministic_and_knows_its_beats() {
        let config = GeneratorConfig {
            seconds: 3.0,
            ..GeneratorConfig::default()
        };
        let a = generate(&config).unwrap();
        let b = generate(&config).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.samples.len(), 3 * 48_000 * 2);
        assert_eq!(a.beats, vec![0.25, 0.75, 1.25, 1.75, 2.25, 2.75]);
        assert!(a.samples.iter().all(|v| v.abs() <= 0.9));
        let other = generate(&GeneratorConfig { seed: 8, ..config }).unwrap();
        assert_ne!(a.samples, other.samples);
    }

    #[test]
    fn beats_carry_energy_and_silence_between_is_quieter() {
        let config = GeneratorConfig {
            seconds: 2.0,
            channels: 1,
            chords: false,
            sweep: false,
            ..Default::default()
        };
        let g = generate(&config).unwrap();
        let rms = |from: f64, to: f64| {
            let s = &g.samples[(from * 48_000.0) as usize..(to * 48_000.0) as usize];
            (s.iter().map(|v| v * v).sum::<f32>() / s.len() as f32).sqrt()
        };
        assert!(
            rms(0.25, 0.30) > 4.0 * rms(0.20, 0.25),
            "a kick starts on the beat"
        );
    }

    #[test]
    fn rejects_bad_settings_by_name() {
        for (bad, field) in [
            (
                GeneratorConfig {
                    seconds: 0.0,
                    ..Default::default()
                },
                "seconds",
            ),
            (
                GeneratorConfig {
                    channels: 3,
                    ..Default::default()
                },
                "channels",
            ),
            (
                GeneratorConfig {
                    bpm: 1000.0,
                    ..Default::default()
                },
                "bpm",
            ),
            (
                GeneratorConfig {
                    sample_rate: 100,
                    ..Default::default()
                },
                "sample_rate",
            ),
        ] {
            match generate(&bad) {
                Err(FftError::InvalidConfig { field: f, .. }) => assert_eq!(f, field),
                other => panic!("{field}: {other:?}"),
            }
        }
    }
}

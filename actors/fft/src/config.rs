//! The analyser's configuration: frame geometry, bar layout, smoothing and
//! envelope rates, and the validation that turns raw values into a config the
//! analyser can trust.

use serde::{Deserialize, Serialize};

use crate::FftError;

/// Everything the [`Analyzer`](crate::Analyzer) needs to know, in physical
/// units (hertz, seconds, decibels). Build one with
/// [`AnalyzerConfig::new`], adjust fields, and let
/// [`Analyzer::new`](crate::Analyzer::new) validate it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AnalyzerConfig {
    /// Sample rate of the incoming audio in hertz (1 000 ..= 768 000).
    pub sample_rate: u32,
    /// Samples per analysis frame: a power of two in 256 ..= 16 384
    /// (1024, 2048 and 4096 are the intended sizes).
    pub frame_len: usize,
    /// Samples between the starts of consecutive frames (1 ..= `frame_len`).
    pub hop: usize,
    /// Number of log-spaced bars (1 ..= 1024).
    pub bars: usize,
    /// Lower edge of the first bar in hertz.
    pub min_hz: f32,
    /// Upper edge of the last bar in hertz; clamped to the Nyquist frequency
    /// when the sample rate is too low to reach it.
    pub max_hz: f32,
    /// Level, in dB relative to a full-scale sine, that maps to bar height 0.
    pub db_floor: f32,
    /// Level, in dB relative to a full-scale sine, that maps to bar height 1.
    pub db_ceiling: f32,
    /// Time constant (seconds) with which a bar rises toward a louder value.
    pub attack_s: f32,
    /// Time constant (seconds) with which a bar falls toward a quieter value.
    pub decay_s: f32,
    /// How long (seconds) a peak ("ghost") envelope holds before it falls.
    pub peak_hold_s: f32,
    /// How fast a peak envelope falls once the hold is over, in bar heights
    /// per second (1.0 falls from the top to the bottom in one second).
    pub peak_fall_per_s: f32,
    /// Onset threshold above the local mean of the spectral flux, as a
    /// fraction of the recent flux maximum (0 < x < 1).
    pub onset_delta: f32,
    /// Slowest tempo the estimator considers, in BPM.
    pub min_bpm: f32,
    /// Fastest tempo the estimator considers, in BPM.
    pub max_bpm: f32,
}

impl Default for AnalyzerConfig {
    fn default() -> Self {
        Self::new(48_000)
    }
}

impl AnalyzerConfig {
    /// The defaults for audio at `sample_rate`: 2048-sample frames, a hop of
    /// 512, 64 bars from 20 Hz to 16 kHz over −70..0 dB, 10 ms attack,
    /// 150 ms decay, peaks held 0.25 s then falling 0.8 per second, tempo
    /// searched in 60..=200 BPM.
    pub fn new(sample_rate: u32) -> Self {
        Self {
            sample_rate,
            frame_len: 2048,
            hop: 512,
            bars: 64,
            min_hz: 20.0,
            max_hz: 16_000.0,
            db_floor: -70.0,
            db_ceiling: 0.0,
            attack_s: 0.010,
            decay_s: 0.150,
            peak_hold_s: 0.25,
            peak_fall_per_s: 0.8,
            onset_delta: 0.08,
            min_bpm: 60.0,
            max_bpm: 200.0,
        }
    }

    /// Frames per second of analysis output (`sample_rate / hop`).
    pub fn frame_rate(&self) -> f64 {
        f64::from(self.sample_rate) / self.hop as f64
    }

    /// The upper bar edge actually used: `max_hz`, or just under Nyquist if
    /// the sample rate cannot represent `max_hz`.
    pub fn effective_max_hz(&self) -> f32 {
        let nyquist = self.sample_rate as f32 / 2.0;
        self.max_hz.min(nyquist * 0.999)
    }

    /// Check every field; the error names the first field out of range.
    pub fn validate(&self) -> Result<(), FftError> {
        let c = self;
        if !(1_000..=768_000).contains(&c.sample_rate) {
            return Err(FftError::config(
                "sample_rate",
                c.sample_rate,
                "must be 1000..=768000 Hz",
            ));
        }
        if !c.frame_len.is_power_of_two() || !(256..=16_384).contains(&c.frame_len) {
            return Err(FftError::config(
                "frame",
                c.frame_len,
                "must be a power of two in 256..=16384 (1024, 2048 or 4096 are typical)",
            ));
        }
        if c.hop == 0 || c.hop > c.frame_len {
            return Err(FftError::config("hop", c.hop, "must be 1..=frame length"));
        }
        if c.bars == 0 || c.bars > 1024 {
            return Err(FftError::config("bars", c.bars, "must be 1..=1024"));
        }
        let nyquist = c.sample_rate as f32 / 2.0;
        if !(c.min_hz.is_finite() && c.min_hz > 0.0 && c.min_hz < nyquist * 0.5) {
            return Err(FftError::config(
                "min_hz",
                c.min_hz,
                "must be > 0 and below a quarter of the sample rate",
            ));
        }
        if !(c.max_hz.is_finite() && c.max_hz > c.min_hz) {
            return Err(FftError::config("max_hz", c.max_hz, "must be above min_hz"));
        }
        if !(c.db_floor.is_finite() && c.db_ceiling.is_finite() && c.db_ceiling > c.db_floor) {
            return Err(FftError::config(
                "db_floor",
                format!("{}..{}", c.db_floor, c.db_ceiling),
                "db_floor must be below db_ceiling, both finite",
            ));
        }
        for (field, v) in [
            ("attack_s", c.attack_s),
            ("decay_s", c.decay_s),
            ("peak_hold_s", c.peak_hold_s),
        ] {
            if !(v.is_finite() && (0.0..=60.0).contains(&v)) {
                return Err(FftError::config(field, v, "must be 0..=60 seconds"));
            }
        }
        if !(c.peak_fall_per_s.is_finite() && c.peak_fall_per_s > 0.0) {
            return Err(FftError::config(
                "peak_fall_per_s",
                c.peak_fall_per_s,
                "must be > 0",
            ));
        }
        if !(c.onset_delta.is_finite() && c.onset_delta > 0.0 && c.onset_delta < 1.0) {
            return Err(FftError::config(
                "onset_delta",
                c.onset_delta,
                "must be in (0, 1)",
            ));
        }
        if !(c.min_bpm.is_finite() && c.min_bpm >= 20.0) {
            return Err(FftError::config("min_bpm", c.min_bpm, "must be >= 20"));
        }
        if !(c.max_bpm.is_finite() && c.max_bpm > c.min_bpm * 1.5 && c.max_bpm <= 400.0) {
            return Err(FftError::config(
                "max_bpm",
                c.max_bpm,
                "must be above 1.5 x min_bpm and <= 400",
            ));
        }
        if c.frame_rate() < f64::from(c.max_bpm) / 60.0 * 4.0 {
            return Err(FftError::config(
                "hop",
                c.hop,
                "too coarse for beat tracking: need at least 4 frames per beat at max_bpm",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field_of(config: &AnalyzerConfig) -> &'static str {
        match config.validate() {
            Err(FftError::InvalidConfig { field, .. }) => field,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn defaults_are_valid_for_common_rates() {
        for rate in [8_000, 22_050, 44_100, 48_000, 96_000, 192_000] {
            AnalyzerConfig::new(rate).validate().unwrap();
        }
        assert!((AnalyzerConfig::new(48_000).frame_rate() - 93.75).abs() < 1e-12);
        assert_eq!(
            AnalyzerConfig::new(22_050).effective_max_hz(),
            22_050.0 / 2.0 * 0.999
        );
    }

    #[test]
    fn each_bad_value_names_its_field() {
        let ok = AnalyzerConfig::new(48_000);
        let cases = [
            (
                AnalyzerConfig {
                    sample_rate: 10,
                    ..ok.clone()
                },
                "sample_rate",
            ),
            (
                AnalyzerConfig {
                    frame_len: 1000,
                    ..ok.clone()
                },
                "frame",
            ),
            (
                AnalyzerConfig {
                    frame_len: 128,
                    ..ok.clone()
                },
                "frame",
            ),
            (
                AnalyzerConfig {
                    hop: 0,
                    ..ok.clone()
                },
                "hop",
            ),
            (
                AnalyzerConfig {
                    hop: 4096,
                    ..ok.clone()
                },
                "hop",
            ),
            (
                AnalyzerConfig {
                    frame_len: 8192,
                    hop: 8192,
                    ..ok.clone()
                },
                "hop",
            ),
            (
                AnalyzerConfig {
                    bars: 0,
                    ..ok.clone()
                },
                "bars",
            ),
            (
                AnalyzerConfig {
                    min_hz: -1.0,
                    ..ok.clone()
                },
                "min_hz",
            ),
            (
                AnalyzerConfig {
                    max_hz: 10.0,
                    ..ok.clone()
                },
                "max_hz",
            ),
            (
                AnalyzerConfig {
                    db_floor: 0.0,
                    ..ok.clone()
                },
                "db_floor",
            ),
            (
                AnalyzerConfig {
                    decay_s: f32::NAN,
                    ..ok.clone()
                },
                "decay_s",
            ),
            (
                AnalyzerConfig {
                    peak_fall_per_s: 0.0,
                    ..ok.clone()
                },
                "peak_fall_per_s",
            ),
            (
                AnalyzerConfig {
                    onset_delta: 1.5,
                    ..ok.clone()
                },
                "onset_delta",
            ),
            (
                AnalyzerConfig {
                    max_bpm: 70.0,
                    ..ok.clone()
                },
                "max_bpm",
            ),
        ];
        for (config, field) in cases {
            assert_eq!(field_of(&config), field, "{config:?}");
        }
        let message = AnalyzerConfig { bars: 0, ..ok }
            .validate()
            .unwrap_err()
            .to_string();
        assert_eq!(message, "invalid bars = 0: must be 1..=1024");
    }

    #[test]
    fn parses_from_toml_like_maps_and_rejects_unknown_keys() {
        let config: AnalyzerConfig =
            serde_json::from_str(r#"{"sample_rate": 44100, "bars": 32}"#).unwrap();
        assert_eq!(
            (config.sample_rate, config.bars, config.frame_len),
            (44_100, 32, 2048)
        );
        assert!(serde_json::from_str::<AnalyzerConfig>(r#"{"barz": 32}"#).is_err());
    }
}

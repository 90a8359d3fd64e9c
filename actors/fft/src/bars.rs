//! The bar layout: N log-spaced bands from `min_hz` to `max_hz`, each mapped
//! to FFT bins once at construction, and the reduction of a power spectrum
//! to bar heights in 0..1 (dB between a floor and a ceiling).

/// How one bar reads the power spectrum.
#[derive(Clone, Copy, Debug, PartialEq)]
enum BarSource {
    /// Maximum power over bins `start..end` (the bar spans at least one bin).
    Max { start: usize, end: usize },
    /// The bar is narrower than a bin, so it reads the spectrum at its centre,
    /// `bin + offset` (offset in −0.5..0.5): the parabola through the dB
    /// values of bins `bin − 1, bin, bin + 1`. For a windowed sine this puts
    /// the peak at the sine's frequency, not at the nearest bin.
    Interpolate { bin: usize, offset: f32 },
}

/// Precomputed mapping from FFT bins to log-spaced bars.
#[derive(Clone, Debug)]
pub struct BarLayout {
    edges_hz: Vec<f32>,
    sources: Vec<BarSource>,
    /// `1 / full-scale power`, so a full-scale sine reads 0 dB.
    inv_ref_power: f32,
    db_floor: f32,
    inv_db_range: f32,
}

impl BarLayout {
    /// Lay out `bars` bands log-spaced over `min_hz..max_hz` for a real FFT of
    /// `frame_len` samples at `sample_rate`. `full_scale_magnitude` is the
    /// windowed magnitude of a full-scale sine (0 dB); `db_floor..db_ceiling`
    /// maps to bar heights 0..1. Arguments are validated by the caller
    /// ([`AnalyzerConfig::validate`](crate::AnalyzerConfig::validate)).
    pub fn new(
        bars: usize,
        min_hz: f32,
        max_hz: f32,
        frame_len: usize,
        sample_rate: u32,
        full_scale_magnitude: f64,
        (db_floor, db_ceiling): (f32, f32),
    ) -> Self {
        let ratio = f64::from(max_hz) / f64::from(min_hz);
        let edges_hz: Vec<f32> = (0..=bars)
            .map(|i| (f64::from(min_hz) * ratio.powf(i as f64 / bars as f64)) as f32)
            .collect();
        let bin_hz = f64::from(sample_rate) / frame_len as f64;
        let last_bin = frame_len / 2;
        let sources = edges_hz
            .windows(2)
            .map(|e| {
                let (lo, hi) = (f64::from(e[0]), f64::from(e[1]));
                let start = ((lo / bin_hz).ceil() as usize).min(last_bin);
                let end = ((hi / bin_hz).ceil() as usize).min(last_bin + 1);
                if end > start {
                    BarSource::Max { start, end }
                } else {
                    let pos = (lo * hi).sqrt() / bin_hz;
                    let bin = (pos.round() as usize).clamp(1, last_bin - 1);
                    BarSource::Interpolate {
                        bin,
                        offset: (pos - bin as f64).clamp(-0.5, 0.5) as f32,
                    }
                }
            })
            .collect();
        let full_power = full_scale_magnitude * full_scale_magnitude;
        Self {
            edges_hz,
            sources,
            inv_ref_power: (1.0 / full_power) as f32,
            db_floor,
            inv_db_range: 1.0 / (db_ceiling - db_floor),
        }
    }

    /// Number of bars.
    pub fn len(&self) -> usize {
        self.sources.len()
    }

    /// Whether the layout has no bars (never, once validated).
    pub fn is_empty(&self) -> bool {
        self.sources.is_empty()
    }

    /// The `len() + 1` band edges in hertz; bar `i` spans `edges[i]..edges[i + 1]`.
    pub fn edges_hz(&self) -> &[f32] {
        &self.edges_hz
    }

    /// The bar whose band contains `hz`, if any.
    pub fn bar_of(&self, hz: f32) -> Option<usize> {
        self.edges_hz
            .windows(2)
            .position(|e| hz >= e[0] && hz < e[1])
    }

    /// Reduce a power spectrum (`|X[k]|²`, bins `0..=N/2`) to bar heights in
    /// 0..1, written into `out` (one per bar).
    pub fn reduce(&self, power: &[f32], out: &mut [f32]) {
        for (source, slot) in self.sources.iter().zip(out.iter_mut()) {
            let p = match *source {
                BarSource::Max { start, end } => {
                    power[start..end].iter().copied().fold(0.0, f32::max)
                }
                BarSource::Interpolate { bin, offset } => {
                    let (a, b, c) = (
                        self.db(power[bin - 1]),
                        self.db(power[bin]),
                        self.db(power[bin + 1]),
                    );
                    let db = b + offset * 0.5 * (c - a) + offset * offset * 0.5 * (a - 2.0 * b + c);
                    *slot = self.height_of_db(db.min(a.max(b).max(c) + 3.0));
                    continue;
                }
            };
            *slot = self.height_of_db(self.db(p));
        }
    }

    /// A power value in dB re full scale (−120 dB for silence).
    fn db(&self, power: f32) -> f32 {
        10.0 * (power * self.inv_ref_power + 1e-12).log10()
    }

    /// The bar height for a level in dB: mapped and clamped to 0..1.
    fn height_of_db(&self, db: f32) -> f32 {
        ((db - self.db_floor) * self.inv_db_range).clamp(0.0, 1.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout(bars: usize) -> BarLayout {
        BarLayout::new(bars, 20.0, 16_000.0, 2048, 48_000, 512.0, (-70.0, 0.0))
    }

    #[test]
    fn edges_are_log_spaced_from_min_to_max() {
        let l = layout(8);
        let e = l.edges_hz();
        assert_eq!(e.len(), 9);
        assert!((e[0] - 20.0).abs() < 1e-3 && (e[8] - 16_000.0).abs() < 0.1);
        let r = e[1] / e[0];
        for w in e.windows(2) {
            assert!((w[1] / w[0] - r).abs() < 1e-4);
        }
        assert_eq!(l.bar_of(19.0), None);
        assert_eq!(l.bar_of(25.0), Some(0));
        assert_eq!(l.bar_of(15_000.0), Some(7));
    }

    #[test]
    fn full_scale_reads_one_and_silence_reads_zero() {
        let l = layout(4);
        let mut out = [0.0; 4];
        let mut power = vec![0.0f32; 1025];
        l.reduce(&power, &mut out);
        assert_eq!(out, [0.0; 4]);
        power[100] = 512.0 * 512.0; // 2343.75 Hz, full scale
        l.reduce(&power, &mut out);
        let bar = l.bar_of(100.0 * 48_000.0 / 2048.0).unwrap();
        assert!((out[bar] - 1.0).abs() < 1e-5, "{out:?}");
        power[100] = 512.0 * 512.0 * 1e-3; // -30 dB
        l.reduce(&power, &mut out);
        assert!((out[bar] - 40.0 / 70.0).abs() < 1e-4, "{out:?}");
    }

    #[test]
    fn narrow_bars_interpolate_at_their_centre() {
        // 64 bars at 20 Hz..16 kHz: the lowest are narrower than a 23.4 Hz bin.
        let l = layout(64);
        assert!(matches!(l.sources[0], BarSource::Interpolate { .. }));
        assert!(matches!(l.sources[63], BarSource::Max { .. }));
    }
}

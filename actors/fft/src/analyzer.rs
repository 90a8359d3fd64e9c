//! The analyser: one window in, one [`BarsFrame`] out — Hann window, real FFT
//! planned once, power spectrum, bars, smoothing and peaks, onsets, tempo and
//! beats — plus the streaming front end that frames a mono sample stream.
//! Nothing on the per-frame path allocates.

use std::sync::Arc;

use realfft::num_complex::Complex;
use realfft::{RealFftPlanner, RealToComplex};

use crate::bars::BarLayout;
use crate::beat::BeatTracker;
use crate::envelope::Envelopes;
use crate::frame::BarsFrame;
use crate::framer::Framer;
use crate::onset::OnsetDetector;
use crate::tempo::{TempoEstimator, TempoUpdate};
use crate::{AnalyzerConfig, FftError, window};

/// Input samples are clamped to ±this (60 dB above full scale), so the
/// power spectrum stays finite in `f32` whatever a float WAV holds.
const SAMPLE_LIMIT: f32 = 1_000.0;

/// Everything per-window; separate from the framer so both can be borrowed.
struct Core {
    config: AnalyzerConfig,
    window: Vec<f32>,
    fft: Arc<dyn RealToComplex<f32>>,
    input: Vec<f32>,
    spectrum: Vec<Complex<f32>>,
    scratch: Vec<Complex<f32>>,
    power: Vec<f32>,
    raw_bars: Vec<f32>,
    layout: BarLayout,
    envelopes: Envelopes,
    onsets: OnsetDetector,
    tempo: TempoEstimator,
    tracker: BeatTracker,
    frame: BarsFrame,
    frames_done: u64,
}

/// Streaming spectrum, bar and beat analysis of mono audio. See the crate
/// documentation for the pipeline and the frame timing convention.
pub struct Analyzer {
    core: Core,
    framer: Framer,
}

impl std::fmt::Debug for Analyzer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Analyzer")
            .field("config", &self.core.config)
            .field("frames_done", &self.core.frames_done)
            .finish_non_exhaustive()
    }
}

/// One analysed frame as handed to a [`Analyzer::push`] callback: the output
/// frame plus read access to the frame's complex spectrum.
#[derive(Clone, Copy, Debug)]
pub struct FrameView<'a> {
    /// The `fft.bars` payload of this frame.
    pub frame: &'a BarsFrame,
    spectrum: &'a [Complex<f32>],
}

impl FrameView<'_> {
    /// The complex spectrum `rfft(x·w)`, bins `0..=N/2`, unnormalised.
    pub fn spectrum(&self) -> &[Complex<f32>] {
        self.spectrum
    }

    /// Write `|rfft(x·w)|` (bins `0..=N/2`) into `out`, replacing its contents.
    pub fn magnitude_into(&self, out: &mut Vec<f32>) {
        out.clear();
        out.extend(self.spectrum.iter().map(|c| c.norm()));
    }
}

impl Analyzer {
    /// Validate `config` and plan the FFT once.
    pub fn new(config: AnalyzerConfig) -> Result<Self, FftError> {
        config.validate()?;
        let n = config.frame_len;
        let window = window::hann(n);
        let full_scale = window::full_scale_magnitude(&window);
        let fft = RealFftPlanner::<f32>::new().plan_fft_forward(n);
        let frame_rate = config.frame_rate();
        let dt = 1.0 / frame_rate;
        let layout = BarLayout::new(
            config.bars,
            config.min_hz,
            config.effective_max_hz(),
            n,
            config.sample_rate,
            full_scale,
            (config.db_floor, config.db_ceiling),
        );
        let core = Core {
            input: fft.make_input_vec(),
            spectrum: fft.make_output_vec(),
            scratch: fft.make_scratch_vec(),
            power: vec![0.0; n / 2 + 1],
            raw_bars: vec![0.0; config.bars],
            envelopes: Envelopes::new(
                config.bars,
                dt,
                config.attack_s,
                config.decay_s,
                config.peak_hold_s,
                config.peak_fall_per_s,
            ),
            onsets: OnsetDetector::new(
                n,
                config.sample_rate,
                frame_rate,
                config.effective_max_hz(),
                full_scale,
                config.onset_delta,
            ),
            tempo: TempoEstimator::new(
                frame_rate,
                f64::from(config.min_bpm),
                f64::from(config.max_bpm),
            ),
            tracker: BeatTracker::new(frame_rate, f64::from(config.max_bpm)),
            frame: BarsFrame::with_bars(config.bars),
            frames_done: 0,
            layout,
            window,
            fft,
            config,
        };
        let framer = Framer::new(core.config.frame_len, core.config.hop);
        Ok(Self { core, framer })
    }

    /// The validated configuration.
    pub fn config(&self) -> &AnalyzerConfig {
        &self.core.config
    }

    /// The bar layout (band edges in hertz).
    pub fn layout(&self) -> &BarLayout {
        &self.core.layout
    }

    /// Frames analysed so far.
    pub fn frames_done(&self) -> u64 {
        self.core.frames_done
    }

    /// Mono samples pushed through [`Analyzer::push`] so far.
    pub fn samples_in(&self) -> u64 {
        self.framer.samples_in()
    }

    /// Analyse one window of exactly `frame_len` mono samples taken `hop`
    /// samples after the previous one; returns the frame it produced.
    pub fn analyze_window(&mut self, samples: &[f32]) -> Result<&BarsFrame, FftError> {
        self.core.analyze(samples)?;
        Ok(&self.core.frame)
    }

    /// The complex spectrum of the last analysed window (bins `0..=N/2`).
    pub fn spectrum(&self) -> &[Complex<f32>] {
        &self.core.spectrum
    }

    /// Feed mono samples; `on_frame` sees every frame they complete. Frame
    /// `n` is centred on sample `n·hop` (zeros before the stream start).
    pub fn push<E>(
        &mut self,
        samples: &[f32],
        mut on_frame: impl FnMut(FrameView<'_>) -> Result<(), E>,
    ) -> Result<(), E> {
        let core = &mut self.core;
        self.framer.push(samples, |w| {
            core.analyze_framed(w);
            on_frame(FrameView {
                frame: &core.frame,
                spectrum: &core.spectrum,
            })
        })
    }

    /// End of stream: analyse the zero-padded tail windows.
    pub fn finish<E>(
        &mut self,
        mut on_frame: impl FnMut(FrameView<'_>) -> Result<(), E>,
    ) -> Result<(), E> {
        let core = &mut self.core;
        self.framer.finish(|w| {
            core.analyze_framed(w);
            on_frame(FrameView {
                frame: &core.frame,
                spectrum: &core.spectrum,
            })
        })
    }
}

impl Core {
    fn analyze(&mut self, samples: &[f32]) -> Result<(), FftError> {
        if samples.len() != self.config.frame_len {
            return Err(FftError::WindowLength {
                expected: self.config.frame_len,
                found: samples.len(),
            });
        }
        self.analyze_framed(samples);
        Ok(())
    }

    /// `samples.len() == frame_len` is guaranteed by the caller.
    fn analyze_framed(&mut self, samples: &[f32]) {
        for ((dst, &x), &w) in self.input.iter_mut().zip(samples).zip(&self.window) {
            // Garbage in a float file (NaN, ±inf, absurd levels) must not
            // poison the filters: NaN reads as 0, the rest is clamped.
            let x = if x.is_nan() {
                0.0
            } else {
                x.clamp(-SAMPLE_LIMIT, SAMPLE_LIMIT)
            };
            *dst = x * w;
        }
        self.fft
            .process_with_scratch(&mut self.input, &mut self.spectrum, &mut self.scratch)
            .expect("invariant: the buffers were made by this FFT plan, so their lengths match");
        for (p, c) in self.power.iter_mut().zip(&self.spectrum) {
            *p = c.norm_sqr();
        }
        self.layout.reduce(&self.power, &mut self.raw_bars);
        self.envelopes.update(&self.raw_bars);

        let now = self.frames_done;
        let step = self.onsets.step(&self.power);
        match self.tempo.push(step.novelty) {
            TempoUpdate::Unchanged => {}
            TempoUpdate::Estimate(estimate) => {
                self.tracker.on_tempo(&estimate, now);
                self.frame.bpm = Some(estimate.bpm as f32);
            }
            TempoUpdate::NoTempo => {
                self.tracker.lose_tempo();
                self.frame.bpm = None;
            }
        }
        let beat = self.tracker.step(now, step.onset_prev);

        let seconds_per_frame = self.config.hop as f64 / f64::from(self.config.sample_rate);
        let f = &mut self.frame;
        f.seq = now;
        f.t = now as f64 * seconds_per_frame;
        f.bars.copy_from_slice(self.envelopes.bars());
        f.peaks.copy_from_slice(self.envelopes.peaks());
        f.onset = step.onset_prev.is_some();
        f.beat = beat.is_some();
        f.beat_t = beat.map(|frame| frame * seconds_per_frame);
        self.frames_done += 1;
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// Samples that are mostly audio-like but include the garbage a float
    /// file can hold.
    fn sample() -> impl Strategy<Value = f32> {
        prop_oneof![
            8 => -1.0f32..1.0,
            1 => Just(0.0f32),
            1 => prop_oneof![Just(f32::NAN), Just(f32::INFINITY), Just(f32::NEG_INFINITY), Just(1e30), Just(-3.5)],
        ]
    }

    #[test]
    fn garbage_samples_do_not_poison_a_long_stream() {
        // Garbage bursts in the first 3 s, then clean drums: the state recovers.
        let mut mono = crate::generate(&crate::GeneratorConfig {
            seconds: 14.0,
            channels: 1,
            ..Default::default()
        })
        .expect("valid generator config")
        .samples;
        for (i, bad) in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY, 1e30, f32::NAN]
            .into_iter()
            .enumerate()
        {
            let at = 40_000 + i * 20_011;
            mono[at..at + 64].fill(bad);
        }
        let mut analyzer = Analyzer::new(AnalyzerConfig::new(48_000)).expect("valid config");
        let mut beats = 0;
        analyzer
            .push::<()>(&mono, |view| {
                let f = view.frame;
                assert!(
                    f.bars
                        .iter()
                        .chain(&f.peaks)
                        .all(|v| (0.0..=1.0).contains(v)),
                    "frame {}",
                    f.seq
                );
                assert!(f.bpm.is_none_or(f32::is_finite) && f.beat_t.is_none_or(f64::is_finite));
                beats += usize::from(f.beat);
                Ok(())
            })
            .expect("no error from the callback");
        let bpm = analyzer
            .core
            .frame
            .bpm
            .expect("a tempo after 11 clean seconds of drums");
        assert!((bpm - 120.0).abs() < 2.4, "{bpm}");
        assert!(beats >= 18, "{beats} beats");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// Any valid configuration and any input: no panic, and every output
        /// stays in range (bars and peaks in 0..1, peaks at least the bars,
        /// times and tempo finite).
        #[test]
        fn outputs_stay_in_range(
            log_frame in 8u32..=12,
            hop_div in prop_oneof![Just(1usize), Just(2), Just(4), Just(8)],
            bars in 1usize..=128,
            rate in prop_oneof![Just(8_000u32), Just(22_050), Just(44_100), Just(48_000), Just(96_000)],
            samples in proptest::collection::vec(sample(), 0..6_000),
            chunk in 1usize..3_000,
        ) {
            let frame_len = 1usize << log_frame;
            let config = AnalyzerConfig { frame_len, hop: frame_len / hop_div, bars, ..AnalyzerConfig::new(rate) };
            let Ok(mut analyzer) = Analyzer::new(config) else {
                // Refused configurations are typed errors (a hop too coarse for beats).
                return Ok(());
            };
            let mut check = |view: FrameView<'_>| -> Result<(), TestCaseError> {
                let f = view.frame;
                prop_assert_eq!(f.bars.len(), bars);
                for (b, p) in f.bars.iter().zip(&f.peaks) {
                    prop_assert!((0.0..=1.0).contains(b) && (0.0..=1.0).contains(p) && p >= b, "{b} {p}");
                }
                prop_assert!(f.t.is_finite());
                prop_assert!(f.bpm.is_none_or(f32::is_finite));
                prop_assert!(f.beat_t.is_none_or(|t| t.is_finite() && t <= f.t));
                prop_assert!(view.spectrum().iter().all(|c| c.re.is_finite() && c.im.is_finite()));
                Ok(())
            };
            for part in samples.chunks(chunk) {
                analyzer.push(part, &mut check)?;
            }
            analyzer.finish(&mut check)?;
            prop_assert_eq!(analyzer.frames_done(), (samples.len() / (frame_len / hop_div)) as u64 + 1);
        }
    }
}

//! Audio played against the clock: the built-in generator, a pure tone, or
//! a WAV file streamed from disk, as mono samples, looping at the end (or
//! silent after it). The actor asks for the samples that became due since
//! its last tick; a stall longer than [`MAX_CATCH_UP`] is skipped rather
//! than analysed in a burst.

use std::fs::File;
use std::io::BufReader;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::{FftError, GeneratorConfig, WavSource, generate};

/// The most audio analysed in one go after a stall; older samples are skipped.
pub(crate) const MAX_CATCH_UP: Duration = Duration::from_millis(500);

/// Where the audio comes from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum AudioSource {
    /// The built-in test signal (drums at a known tempo, chords, a sweep).
    Generator(GeneratorConfig),
    /// A sine at `hz`, `amplitude` of full scale, at `sample_rate`.
    Tone {
        /// Frequency in hertz.
        hz: f32,
        /// 0..=1 of full scale.
        amplitude: f32,
        /// Samples per second.
        sample_rate: u32,
    },
    /// A WAV file (any PCM the analyser reads; stereo is mixed to mono).
    Wav(PathBuf),
}

impl AudioSource {
    /// How the source is named in status replies.
    pub fn describe(&self) -> String {
        match self {
            AudioSource::Generator(g) => format!(
                "generator ({} BPM, {} s, {} Hz)",
                g.bpm, g.seconds, g.sample_rate
            ),
            AudioSource::Tone { hz, .. } => format!("tone {hz} Hz"),
            AudioSource::Wav(path) => format!("wav {}", path.display()),
        }
    }
}

enum Samples {
    /// The generator is rendering on a thread of its own; silence meanwhile
    /// (a restart must not wait for its audio).
    Rendering(std::sync::mpsc::Receiver<Result<Vec<f32>, FftError>>),
    Memory {
        mono: Vec<f32>,
        at: usize,
    },
    Tone {
        step: f64,
        phase: f64,
        amplitude: f32,
    },
    Wav {
        path: PathBuf,
        wav: Box<WavSource<BufReader<File>>>,
        ended: bool,
    },
}

/// See the module documentation.
pub(crate) struct Player {
    samples: Samples,
    sample_rate: u32,
    looping: bool,
    started: Instant,
    /// Samples handed out so far (including skipped ones).
    consumed: u64,
    skipped: u64,
    chunk: Vec<f32>,
}

impl Player {
    /// Open `source`; the clock starts now.
    pub(crate) fn open(source: &AudioSource, looping: bool) -> Result<Self, FftError> {
        let (samples, sample_rate) = match source {
            AudioSource::Generator(config) => {
                // Checked here (a quick render of a few samples), rendered
                // in full on a thread.
                generate(&GeneratorConfig {
                    seconds: config.seconds.min(config.first_beat_s + 0.05),
                    ..config.clone()
                })?;
                let (tx, rx) = std::sync::mpsc::channel();
                let rate = config.sample_rate;
                let config = config.clone();
                std::thread::Builder::new()
                    .name("warden-fft-generate".into())
                    .spawn(move || {
                        let _ = tx.send(generate(&config).map(|generated| generated.mono()));
                    })
                    .map_err(|err| FftError::Io {
                        path: PathBuf::from("<generator thread>"),
                        source: err,
                    })?;
                (Samples::Rendering(rx), rate)
            }
            AudioSource::Tone {
                hz,
                amplitude,
                sample_rate,
            } => {
                if !(hz.is_finite() && *hz > 0.0 && *hz < *sample_rate as f32 / 2.0) {
                    return Err(FftError::config(
                        "hz",
                        hz,
                        "must be in (0, sample_rate / 2)",
                    ));
                }
                if !(amplitude.is_finite() && (0.0..=1.0).contains(amplitude)) {
                    return Err(FftError::config("amplitude", amplitude, "must be 0..=1"));
                }
                (
                    Samples::Tone {
                        step: f64::from(*hz) / f64::from(*sample_rate) * std::f64::consts::TAU,
                        phase: 0.0,
                        amplitude: *amplitude,
                    },
                    *sample_rate,
                )
            }
            AudioSource::Wav(path) => {
                let wav = WavSource::open(path)?;
                let rate = wav.info().sample_rate;
                (
                    Samples::Wav {
                        path: path.clone(),
                        wav: Box::new(wav),
                        ended: false,
                    },
                    rate,
                )
            }
        };
        Ok(Player {
            samples,
            sample_rate,
            looping,
            started: Instant::now(),
            consumed: 0,
            skipped: 0,
            chunk: Vec::new(),
        })
    }

    pub(crate) fn sample_rate(&self) -> u32 {
        self.sample_rate
    }

    /// Samples skipped after stalls.
    pub(crate) fn skipped(&self) -> u64 {
        self.skipped
    }

    /// Seconds of audio played since the clock started.
    pub(crate) fn played_s(&self) -> f64 {
        self.consumed as f64 / f64::from(self.sample_rate)
    }

    /// The samples that became due by `now`, mono.
    pub(crate) fn due(&mut self, now: Instant) -> Result<&[f32], FftError> {
        let rate = u64::from(self.sample_rate);
        let target =
            (now.saturating_duration_since(self.started).as_secs_f64() * rate as f64) as u64;
        let mut want = target.saturating_sub(self.consumed);
        let cap = (MAX_CATCH_UP.as_secs_f64() * rate as f64) as u64;
        if want > cap {
            let skip = want - cap;
            self.skip(skip)?;
            want = cap;
        }
        self.chunk.clear();
        self.fill(want as usize)?;
        self.consumed += want;
        Ok(&self.chunk)
    }

    /// The samples due at `pos` into the audio (the virtual clock): waits
    /// for the generator's audio, so the result never depends on timing.
    pub(crate) fn due_at(&mut self, pos: Duration) -> Result<&[f32], FftError> {
        if let Samples::Rendering(rx) = &self.samples {
            let mono = rx
                .recv()
                .map_err(|_| FftError::config("generator", 0, "the generator thread died"))??;
            if mono.is_empty() {
                return Err(FftError::config(
                    "seconds",
                    0,
                    "the source holds no samples",
                ));
            }
            self.samples = Samples::Memory { mono, at: 0 };
        }
        let at = self.started + pos;
        self.due(at)
    }

    /// Switch to the rendered audio once it is there.
    fn rendered(&mut self) -> Result<(), FftError> {
        if let Samples::Rendering(rx) = &self.samples {
            match rx.try_recv() {
                Ok(mono) => {
                    let mono = mono?;
                    if mono.is_empty() {
                        return Err(FftError::config(
                            "seconds",
                            0,
                            "the source holds no samples",
                        ));
                    }
                    self.samples = Samples::Memory { mono, at: 0 };
                }
                Err(std::sync::mpsc::TryRecvError::Empty) => {}
                Err(std::sync::mpsc::TryRecvError::Disconnected) => {
                    return Err(FftError::config(
                        "generator",
                        0,
                        "the generator thread died",
                    ));
                }
            }
        }
        Ok(())
    }

    fn skip(&mut self, frames: u64) -> Result<(), FftError> {
        self.skipped += frames;
        self.consumed += frames;
        match &mut self.samples {
            Samples::Rendering(_) => {}
            Samples::Memory { mono, at } => {
                *at = ((*at as u64 + frames) % mono.len() as u64) as usize;
            }
            Samples::Tone { step, phase, .. } => {
                *phase = (*phase + *step * frames as f64) % std::f64::consts::TAU;
            }
            Samples::Wav { .. } => {
                // Read and discard: WAV streams are read forward only.
                let mut left = frames as usize;
                let mut scratch = std::mem::take(&mut self.chunk);
                while left > 0 {
                    scratch.clear();
                    let before = scratch.len();
                    self.fill_into(&mut scratch, left.min(1 << 16))?;
                    left -= scratch.len() - before;
                }
                self.chunk = scratch;
            }
        }
        Ok(())
    }

    fn fill(&mut self, frames: usize) -> Result<(), FftError> {
        let mut out = std::mem::take(&mut self.chunk);
        let result = self.fill_into(&mut out, frames);
        self.chunk = out;
        result
    }

    /// Append exactly `frames` samples to `out` (silence past a non-looping end).
    fn fill_into(&mut self, out: &mut Vec<f32>, frames: usize) -> Result<(), FftError> {
        self.rendered()?;
        let looping = self.looping;
        match &mut self.samples {
            Samples::Rendering(_) => out.resize(out.len() + frames, 0.0),
            Samples::Memory { mono, at } => {
                let mut left = frames;
                while left > 0 {
                    if *at >= mono.len() {
                        if !looping {
                            out.resize(out.len() + left, 0.0);
                            return Ok(());
                        }
                        *at = 0;
                    }
                    let take = left.min(mono.len() - *at);
                    out.extend_from_slice(&mono[*at..*at + take]);
                    *at += take;
                    left -= take;
                }
            }
            Samples::Tone {
                step,
                phase,
                amplitude,
            } => {
                for _ in 0..frames {
                    out.push((phase.sin() as f32) * *amplitude);
                    *phase = (*phase + *step) % std::f64::consts::TAU;
                }
            }
            Samples::Wav { path, wav, ended } => {
                let mut left = frames;
                let mut read = Vec::new();
                while left > 0 {
                    if *ended {
                        out.resize(out.len() + left, 0.0);
                        return Ok(());
                    }
                    let got = wav.read_mono(&mut read, left)?;
                    out.extend_from_slice(&read);
                    left -= got;
                    if got == 0 {
                        if looping && wav.info().frames > 0 {
                            **wav = WavSource::open(&*path)?;
                        } else {
                            *ended = true;
                        }
                    }
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    impl Player {
        fn wait_rendered(&mut self) {
            let deadline = Instant::now() + Duration::from_secs(10);
            while matches!(self.samples, Samples::Rendering(_)) {
                self.rendered().expect("rendered");
                assert!(Instant::now() < deadline, "the generator never finished");
                std::thread::sleep(Duration::from_millis(1));
            }
        }
    }

    #[test]
    fn the_generator_plays_silence_until_its_audio_is_rendered() {
        let mut player = Player::open(
            &AudioSource::Generator(GeneratorConfig {
                seconds: 2.0,
                ..GeneratorConfig::default()
            }),
            true,
        )
        .expect("gen");
        player.wait_rendered();
        let start = player.started;
        let audio = player.due(start + Duration::from_millis(100)).expect("due");
        assert!(audio.iter().any(|s| *s != 0.0), "real audio once rendered");
    }

    #[test]
    fn the_clock_decides_how_many_samples_are_due_and_long_stalls_are_skipped() {
        let source = AudioSource::Tone {
            hz: 1000.0,
            amplitude: 0.5,
            sample_rate: 8000,
        };
        let mut player = Player::open(&source, true).expect("tone");
        let start = player.started;
        assert_eq!(player.due(start).expect("due").len(), 0);
        assert_eq!(
            player
                .due(start + Duration::from_millis(100))
                .expect("due")
                .len(),
            800
        );
        // Ten seconds later: only the last half second is analysed.
        let late = player
            .due(start + Duration::from_secs(10))
            .expect("due")
            .len();
        assert_eq!(late, 4000);
        assert_eq!(player.skipped(), 80_000 - 800 - 4000);
        assert!((player.played_s() - 10.0).abs() < 1e-9);
    }

    #[test]
    fn memory_audio_loops_or_falls_silent() {
        let mut config = GeneratorConfig {
            seconds: 0.01,
            sample_rate: 8000,
            channels: 1,
            first_beat_s: 0.0,
            ..GeneratorConfig::default()
        };
        config.chords = false;
        let mut once = Player::open(&AudioSource::Generator(config.clone()), false).expect("gen");
        once.wait_rendered();
        let start = once.started;
        let all = once
            .due(start + Duration::from_millis(30))
            .expect("due")
            .to_vec();
        assert_eq!(all.len(), 240);
        assert!(all[80..].iter().all(|s| *s == 0.0), "silent after the end");
        let mut looped = Player::open(&AudioSource::Generator(config), true).expect("gen");
        looped.wait_rendered();
        let start = looped.started;
        let again = looped
            .due(start + Duration::from_millis(30))
            .expect("due")
            .to_vec();
        assert_eq!(
            &again[80..160],
            &again[..80],
            "the second pass repeats the first"
        );
    }
}

//! The `fft` actor: audio from the built-in generator, a tone or a WAV file,
//! played against the clock (real time, looping) and analysed by the
//! [`Analyzer`]; every analysis hop's frame is published on `fft.bars`.
//! Messages change the source, the bar count and the smoothing at run time,
//! and read a snapshot. The analysis itself is the core's; this file only
//! maps messages and the clock to it.
//!
//! `t` on the topic is wall-clock time (seconds since the Unix epoch) of the
//! frame, and `seq` the frame's number on that clock at the analysis rate, so
//! both keep increasing across restarts of the actor.

mod player;

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use warden_kernel::{Actor, ActorError, ConfigProblem, Ctx, SharedFrame};

use crate::{Analyzer, AnalyzerConfig, FftError, GeneratorConfig};

pub use player::AudioSource;
use player::Player;

/// The sample rate of `source = "tone"`.
const TONE_RATE: u32 = 48_000;

/// The topic the actor publishes on.
pub const TOPIC: &str = "fft.bars";

/// `[actors.NAME]` keys of an `fft` actor (every one has a default).
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FftConfig {
    /// `"generator"` (the built-in test signal, `[actors.NAME.generator]`),
    /// `"tone"` (a sine at `tone_hz`)
    /// or `"wav"` (the file in `wav`).
    pub source: SourceKind,
    /// The WAV file when `source = "wav"`.
    pub wav: Option<std::path::PathBuf>,
    /// The pure tone's frequency when `source = "tone"` (Hz, below half the
    /// sample rate of 48 kHz).
    pub tone_hz: f32,
    /// The built-in signal's settings.
    pub generator: GeneratorConfig,
    /// Start over at the end of the audio (else silence after it).
    #[serde(rename = "loop")]
    pub looping: bool,
    /// Bars (1..=1024).
    pub bars: usize,
    /// Samples per analysis frame (a power of two, 256..=16384).
    pub frame: usize,
    /// Samples between frames: one `fft.bars` value per hop.
    pub hop: usize,
    /// Lowest bar edge in Hz.
    pub min_hz: f32,
    /// Highest bar edge in Hz.
    pub max_hz: f32,
    /// How fast a bar rises (ms).
    pub attack_ms: f32,
    /// How fast a bar falls (ms).
    pub decay_ms: f32,
    /// How long a peak ("ghost") holds (ms).
    pub peak_hold_ms: f32,
    /// How fast a peak falls once the hold is over (bar heights per second).
    pub peak_fall_per_s: f32,
    /// `wall` (played in real time, published on every hop) or `virtual`
    /// (played only as far as `AdvanceTo` says: offline, deterministic).
    pub clock: String,
}

/// Where the audio comes from at start.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SourceKind {
    /// The built-in generator.
    Generator,
    /// A WAV file.
    Wav,
    /// A pure tone at `tone_hz` (half of full scale, 48 kHz).
    Tone,
}

impl Default for FftConfig {
    fn default() -> Self {
        let analyzer = AnalyzerConfig::default();
        FftConfig {
            source: SourceKind::Generator,
            wav: None,
            tone_hz: 1000.0,
            // Four bars at 120 BPM, looped: rendered in a fraction of a second.
            generator: GeneratorConfig {
                seconds: 8.0,
                ..GeneratorConfig::default()
            },
            looping: true,
            bars: analyzer.bars,
            frame: analyzer.frame_len,
            hop: analyzer.hop,
            min_hz: analyzer.min_hz,
            max_hz: analyzer.max_hz,
            attack_ms: analyzer.attack_s * 1000.0,
            decay_ms: analyzer.decay_s * 1000.0,
            peak_hold_ms: analyzer.peak_hold_s * 1000.0,
            peak_fall_per_s: analyzer.peak_fall_per_s,
            clock: "wall".into(),
        }
    }
}

/// Run-time changes of the analysis; `None` keeps the current value.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Tuning {
    /// Bars.
    pub bars: Option<usize>,
    /// Attack (ms).
    pub attack_ms: Option<f32>,
    /// Decay (ms).
    pub decay_ms: Option<f32>,
    /// Peak hold (ms).
    pub peak_hold_ms: Option<f32>,
    /// Peak fall (bar heights per second).
    pub peak_fall_per_s: Option<f32>,
}

/// One `fft.bars` value: bars and their ghost peaks, ready to draw.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FftBars {
    /// The frame's number on the wall clock at the analysis rate (increasing).
    pub seq: u64,
    /// Wall-clock time of the frame's centre, seconds since the Unix epoch.
    pub t: f64,
    /// Position in the source, seconds.
    pub pos_s: f64,
    /// Smoothed bar heights, 0..1, lowest frequency first.
    pub bars: Vec<f32>,
    /// Peak ("ghost") envelopes, 0..1, each at least its bar.
    pub peaks: Vec<f32>,
    /// A beat was decided at this frame.
    pub beat: bool,
    /// A spectral-flux onset was confirmed at this frame.
    pub onset: bool,
    /// The tempo estimate, once there is one.
    pub bpm: Option<f32>,
}

/// Requests.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum FftMsg {
    /// Play another source from now on.
    SetSource(AudioSource),
    /// Change the bar count or the smoothing.
    Configure(Tuning),
    /// The latest frame (idempotent).
    Snapshot,
    /// Source, analysis settings and counters (idempotent).
    Status,
    /// Under the virtual clock: play up to `ms` into the audio (publishing
    /// every frame on the way, as the wall clock would) and answer the
    /// latest frame, the same for the same position every run. Refused
    /// under the wall clock.
    AdvanceTo {
        /// Position in the audio since the source started (ms).
        ms: f64,
    },
    /// Analyse a block of mono samples (`f32`, little-endian) at
    /// `sample_rate` with the actor's settings, apart from the stream it
    /// plays (idempotent): the frames it made and the last one.
    AnalyzeBlock {
        /// The samples.
        samples: SharedFrame,
        /// Their rate.
        sample_rate: u32,
    },
}

/// Replies.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub enum FftReply {
    /// The latest frame, if one was analysed yet.
    Snapshot(Option<FftBars>),
    /// The actor's state.
    Status(FftStatus),
    /// An analysed block.
    Block {
        /// Frames the block made.
        frames: u64,
        /// The last of them.
        last: Option<FftBars>,
    },
}

/// What `Status` (and the source and tuning changes) answer.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct FftStatus {
    /// The source, in words.
    pub source: String,
    /// Its sample rate.
    pub sample_rate: u32,
    /// Bars.
    pub bars: usize,
    /// Frames published per second.
    pub frame_rate: f64,
    /// Frames published by this instance.
    pub published: u64,
    /// Audio played since the source started (seconds, skips included).
    pub played_s: f64,
    /// Audio skipped after stalls (seconds).
    pub skipped_s: f64,
    /// The latest tempo estimate.
    pub bpm: Option<f32>,
}

/// See the module documentation.
pub struct FftActor {
    source: AudioSource,
    looping: bool,
    analyzer_config: AnalyzerConfig,
    analyzer: Analyzer,
    player: Player,
    /// Wall-clock time of the analyser's first sample.
    epoch_unix: f64,
    /// Wall-clock time at which the player's clock started.
    player_started_unix: f64,
    latest: Option<FftBars>,
    published: u64,
    virtual_clock: bool,
}

fn now_unix() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// An error's message with its causes, for a reply.
fn chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut cause = err.source();
    while let Some(next) = cause {
        text.push_str(": ");
        text.push_str(&next.to_string());
        cause = next.source();
    }
    text
}

fn rejected(err: FftError) -> ActorError {
    ActorError::Rejected(chain(&err))
}

impl FftConfig {
    fn analyzer(&self, sample_rate: u32) -> AnalyzerConfig {
        AnalyzerConfig {
            sample_rate,
            frame_len: self.frame,
            hop: self.hop,
            bars: self.bars,
            min_hz: self.min_hz,
            max_hz: self.max_hz,
            attack_s: self.attack_ms / 1000.0,
            decay_s: self.decay_ms / 1000.0,
            peak_hold_s: self.peak_hold_ms / 1000.0,
            peak_fall_per_s: self.peak_fall_per_s,
            ..AnalyzerConfig::new(sample_rate)
        }
    }

    fn initial_source(&self) -> Result<AudioSource, ActorError> {
        match self.source {
            SourceKind::Generator => Ok(AudioSource::Generator(self.generator.clone())),
            SourceKind::Tone => Ok(AudioSource::Tone {
                hz: self.tone_hz,
                amplitude: 0.5,
                sample_rate: TONE_RATE,
            }),
            SourceKind::Wav => self.wav.clone().map(AudioSource::Wav).ok_or_else(|| {
                ActorError::Fatal("source = \"wav\" needs the file in `wav`".into())
            }),
        }
    }
}

/// The actor's key for an analyser field the core names.
fn analyzer_key(field: &str) -> &str {
    match field {
        "attack_s" => "attack_ms",
        "decay_s" => "decay_ms",
        "peak_hold_s" => "peak_hold_ms",
        other => other,
    }
}

fn problem_of(err: FftError, prefix: &str) -> ConfigProblem {
    match &err {
        FftError::InvalidConfig { field, .. } => {
            let key = if prefix.is_empty() {
                analyzer_key(field).to_string()
            } else {
                format!("{prefix}.{field}")
            };
            ConfigProblem::new(key, err.to_string())
        }
        _ => ConfigProblem::new(
            if prefix.is_empty() { "source" } else { prefix },
            chain(&err),
        ),
    }
}

impl FftActor {
    fn play(&mut self, source: AudioSource) -> Result<(), FftError> {
        let player = Player::open(&source, self.looping)?;
        let analyzer_config = AnalyzerConfig {
            sample_rate: player.sample_rate(),
            ..self.analyzer_config.clone()
        };
        self.analyzer = Analyzer::new(analyzer_config.clone())?;
        self.analyzer_config = analyzer_config;
        self.player = player;
        self.epoch_unix = now_unix();
        self.player_started_unix = self.epoch_unix;
        self.source = source;
        Ok(())
    }

    fn status(&self) -> FftStatus {
        FftStatus {
            source: self.source.describe(),
            sample_rate: self.analyzer_config.sample_rate,
            bars: self.analyzer_config.bars,
            frame_rate: self.analyzer_config.frame_rate(),
            published: self.published,
            played_s: self.player.played_s(),
            skipped_s: self.player.skipped() as f64 / f64::from(self.player.sample_rate()),
            bpm: self.latest.as_ref().and_then(|bars| bars.bpm),
        }
    }

    /// Analyse what became due (by `now`, or at a position of the virtual
    /// clock) and publish every frame it completed.
    fn advance(&mut self, now: When, ctx: &mut Ctx) -> Result<(), FftError> {
        let rate = self.analyzer_config.frame_rate();
        let hop_s = self.analyzer_config.hop as f64 / f64::from(self.analyzer_config.sample_rate);
        let epoch = self.epoch_unix;
        let samples = match now {
            When::Wall(now) => self.player.due(now)?,
            When::Virtual(pos) => self.player.due_at(pos)?,
        };
        let mut frames = Vec::new();
        let _ = self.analyzer.push(samples, |view| {
            let frame = view.frame;
            let pos_s = frame.seq as f64 * hop_s;
            let t = epoch + pos_s;
            frames.push(FftBars {
                seq: (t * rate).round() as u64,
                t,
                pos_s,
                bars: frame.bars.clone(),
                peaks: frame.peaks.clone(),
                beat: frame.beat,
                onset: frame.onset,
                bpm: frame.bpm,
            });
            Ok::<(), ()>(())
        });
        for frame in frames {
            if let Err(err) = ctx.publish(TOPIC, &frame) {
                tracing::debug!(%err, "fft.bars not published");
            }
            self.published += 1;
            self.latest = Some(frame);
        }
        Ok(())
    }
}

/// How far to play.
enum When {
    Wall(Instant),
    Virtual(Duration),
}

impl Actor for FftActor {
    const KIND: &'static str = "fft";
    type Config = FftConfig;
    type Msg = FftMsg;
    type Reply = FftReply;

    fn validate(config: &FftConfig) -> Result<(), ConfigProblem> {
        if !matches!(config.clock.as_str(), "wall" | "virtual") {
            return Err(ConfigProblem::new(
                "clock",
                format!("{:?} is not wall or virtual", config.clock),
            ));
        }
        if config.source == SourceKind::Wav && config.wav.is_none() {
            return Err(ConfigProblem::new(
                "wav",
                "source = \"wav\" needs the file in `wav`",
            ));
        }
        if config.source == SourceKind::Tone
            && !(config.tone_hz.is_finite()
                && config.tone_hz > 0.0
                && config.tone_hz < TONE_RATE as f32 / 2.0)
        {
            return Err(ConfigProblem::new(
                "tone_hz",
                format!("{} Hz is outside (0, {})", config.tone_hz, TONE_RATE / 2),
            ));
        }
        if config.source == SourceKind::Generator {
            // A few samples' worth checks every generator key.
            let probe = GeneratorConfig {
                seconds: config
                    .generator
                    .seconds
                    .min(config.generator.first_beat_s + 0.05),
                ..config.generator.clone()
            };
            crate::generate(&probe).map_err(|err| problem_of(err, "generator"))?;
        }
        let rate = match config.source {
            SourceKind::Generator => config.generator.sample_rate,
            SourceKind::Wav | SourceKind::Tone => TONE_RATE,
        };
        config
            .analyzer(rate)
            .validate()
            .map_err(|err| problem_of(err, ""))
    }

    fn start(config: FftConfig, _ctx: &mut Ctx) -> Result<Self, ActorError> {
        let source = config.initial_source()?;
        let player =
            Player::open(&source, config.looping).map_err(|err| ActorError::Fatal(chain(&err)))?;
        let analyzer_config = config.analyzer(player.sample_rate());
        let analyzer =
            Analyzer::new(analyzer_config.clone()).map_err(|err| ActorError::Fatal(chain(&err)))?;
        let started = now_unix();
        Ok(FftActor {
            source,
            looping: config.looping,
            analyzer_config,
            analyzer,
            player,
            epoch_unix: started,
            player_started_unix: started,
            latest: None,
            published: 0,
            virtual_clock: config.clock == "virtual",
        })
    }

    fn handle(&mut self, msg: FftMsg, ctx: &mut Ctx) -> Result<FftReply, ActorError> {
        match msg {
            FftMsg::AdvanceTo { ms } => {
                if !self.virtual_clock {
                    return Err(ActorError::Rejected(
                        "AdvanceTo needs clock = \"virtual\"; this actor plays on the wall clock"
                            .into(),
                    ));
                }
                if !(ms.is_finite() && ms >= 0.0) {
                    return Err(ActorError::Rejected(format!(
                        "ms = {ms}: give a position ≥ 0"
                    )));
                }
                self.advance(When::Virtual(Duration::from_secs_f64(ms / 1000.0)), ctx)
                    .map_err(rejected)?;
                Ok(FftReply::Snapshot(self.latest.clone()))
            }
            FftMsg::SetSource(source) => {
                self.play(source).map_err(rejected)?;
                self.latest = None;
                Ok(FftReply::Status(self.status()))
            }
            FftMsg::Configure(tuning) => {
                let mut config = self.analyzer_config.clone();
                if let Some(bars) = tuning.bars {
                    config.bars = bars;
                }
                if let Some(ms) = tuning.attack_ms {
                    config.attack_s = ms / 1000.0;
                }
                if let Some(ms) = tuning.decay_ms {
                    config.decay_s = ms / 1000.0;
                }
                if let Some(ms) = tuning.peak_hold_ms {
                    config.peak_hold_s = ms / 1000.0;
                }
                if let Some(fall) = tuning.peak_fall_per_s {
                    config.peak_fall_per_s = fall;
                }
                // The analyser validates; on error nothing changes.
                let analyzer = Analyzer::new(config.clone()).map_err(rejected)?;
                // The new analyser's first frame is the next sample played.
                self.analyzer = analyzer;
                self.analyzer_config = config;
                self.epoch_unix = self.player_started_unix + self.player.played_s();
                Ok(FftReply::Status(self.status()))
            }
            FftMsg::Snapshot => Ok(FftReply::Snapshot(self.latest.clone())),
            FftMsg::AnalyzeBlock {
                samples,
                sample_rate,
            } => {
                if samples.len() % 4 != 0 {
                    return Err(ActorError::Rejected(format!(
                        "{} bytes are not whole f32 samples",
                        samples.len()
                    )));
                }
                // Read in place where the bytes are aligned f32s (the
                // common case: a heap or slot buffer); converted otherwise.
                let converted: Vec<f32>;
                let mono: &[f32] = match bytemuck::try_cast_slice::<u8, f32>(&samples) {
                    Ok(floats) if cfg!(target_endian = "little") => floats,
                    _ => {
                        converted = samples
                            .chunks_exact(4)
                            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                            .collect();
                        &converted
                    }
                };
                let mut analyzer = Analyzer::new(AnalyzerConfig {
                    sample_rate,
                    ..self.analyzer_config.clone()
                })
                .map_err(rejected)?;
                let hop_s = f64::from(analyzer.config().hop as u32) / f64::from(sample_rate);
                // The last frame is kept in buffers reused for every
                // frame: the block path allocates nothing per hop.
                let mut frames = 0u64;
                let mut last = FftBars {
                    seq: 0,
                    t: 0.0,
                    pos_s: 0.0,
                    bars: Vec::with_capacity(analyzer.config().bars),
                    peaks: Vec::with_capacity(analyzer.config().bars),
                    beat: false,
                    onset: false,
                    bpm: None,
                };
                let _ = analyzer.push(mono, |view| {
                    frames += 1;
                    let frame = view.frame;
                    last.seq = frame.seq;
                    last.t = frame.t;
                    last.pos_s = frame.seq as f64 * hop_s;
                    last.bars.clear();
                    last.bars.extend_from_slice(&frame.bars);
                    last.peaks.clear();
                    last.peaks.extend_from_slice(&frame.peaks);
                    last.beat = frame.beat;
                    last.onset = frame.onset;
                    last.bpm = frame.bpm;
                    Ok::<(), ()>(())
                });
                let last = (frames > 0).then_some(last);
                Ok(FftReply::Block { frames, last })
            }
            FftMsg::Status => Ok(FftReply::Status(self.status())),
        }
    }

    fn tick(&mut self, ctx: &mut Ctx) {
        if self.virtual_clock {
            return;
        }
        if let Err(err) = self.advance(When::Wall(Instant::now()), ctx) {
            // A WAV file that went bad while playing: say so, go silent.
            tracing::warn!(error = %chain(&err), "audio source failed; playing the generator");
            if let Err(err) = self.play(AudioSource::Generator(GeneratorConfig::default())) {
                tracing::error!(error = %chain(&err), "the generator failed too");
            }
        }
    }

    fn idempotent(msg: &FftMsg) -> bool {
        matches!(
            msg,
            FftMsg::Snapshot | FftMsg::Status | FftMsg::AnalyzeBlock { .. }
        )
    }

    fn tick_hint(_config: &FftConfig) -> Option<Duration> {
        // Hops are ≈ 11 ms apart at 48 kHz: a 5 ms tick publishes each
        // within 5 ms of its samples being due, so the bars a 60 fps frame
        // draws are at most about a frame old.
        Some(Duration::from_millis(5))
    }
}

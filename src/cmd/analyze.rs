//! `warden analyze FILE.wav [--bars N] [--frame N] [--hop N] [--json] [--spectrum]`:
//! FFT analysis of a WAV file with `warden-fft` — a summary (tempo, beats,
//! speed), or with `--json` one line per frame (`t`, `bars`, `peaks`, `beat`,
//! ...; `magnitude` too with `--spectrum`) and a last line with `beats` and
//! `bpm`. `warden analyze --generate SECONDS --out FILE.wav` writes the
//! built-in test signal instead. All the work is in the library.

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use serde::Serialize;
use warden_fft::{
    Analyzer, AnalyzerConfig, BarsFrame, DrumPattern, FrameView, GeneratorConfig, Summary,
    WavEncoding, WavInfo, WavSource, analyze_source, generate, write_wav,
};

/// Arguments of `warden analyze`.
#[derive(clap::Args)]
pub(crate) struct Args {
    /// The WAV file to analyse (integer 8/16/24/32-bit or 32-bit float PCM,
    /// any channels and rate; stereo is mixed to mono).
    #[arg(required_unless_present = "generate", conflicts_with = "generate")]
    file: Option<PathBuf>,
    /// Number of log-spaced bars from 20 Hz to 16 kHz.
    #[arg(long, default_value_t = 64)]
    bars: usize,
    /// Frame length in samples: a power of two, 1024, 2048 or 4096 typically.
    #[arg(long, default_value_t = 2048)]
    frame: usize,
    /// Hop between frames in samples [default: frame / 4, or less at low
    /// sample rates so that beat tracking gets four frames per beat].
    #[arg(long)]
    hop: Option<usize>,
    /// Print one JSON object per frame, then one with `beats` and `bpm`.
    #[arg(long)]
    json: bool,
    /// With --json: add `magnitude`, |rfft(x·w)| of the frame's mono mix with
    /// w = numpy.hanning(frame), unnormalised, bins 0..=frame/2.
    #[arg(long, requires = "json")]
    spectrum: bool,
    /// Write SECONDS of the built-in test signal (drums at a known tempo,
    /// chords, a sweep) to --out instead of analysing a file.
    #[arg(long, value_name = "SECONDS", requires = "out")]
    generate: Option<f64>,
    /// Where --generate writes its WAV file.
    #[arg(long, value_name = "FILE.wav", requires = "generate")]
    out: Option<PathBuf>,
    /// Tempo of the generated drums.
    #[arg(long, default_value_t = 120.0, requires = "generate")]
    bpm: f64,
    /// Drum pattern of the generated signal.
    #[arg(long, value_enum, default_value = "backbeat", requires = "generate")]
    pattern: Pattern,
    /// Seed of the generated noise (snare, hi-hats).
    #[arg(long, default_value_t = 7, requires = "generate")]
    seed: u64,
    /// Sample rate of the generated file.
    #[arg(long, default_value_t = 48_000, requires = "generate")]
    sample_rate: u32,
    /// Channels of the generated file (1 or 2).
    #[arg(long, default_value_t = 2, requires = "generate")]
    channels: u16,
    /// Sample encoding of the generated file.
    #[arg(long, value_enum, default_value = "int16", requires = "generate")]
    encoding: Encoding,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum Pattern {
    Backbeat,
    FourOnTheFloor,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum Encoding {
    Int16,
    Int24,
    Int32,
    Float32,
}

/// Run the subcommand.
pub(crate) fn run(args: Args) -> anyhow::Result<ExitCode> {
    let result = match (&args.file, args.generate, &args.out) {
        (_, Some(seconds), Some(out)) => write_generated(&args, seconds, out),
        (Some(file), _, _) => analyze(&args, file),
        _ => anyhow::bail!("give a WAV file to analyse, or --generate SECONDS --out FILE.wav"),
    };
    match result {
        // The reader went away (`| head`): nothing left to say.
        Err(e)
            if e.downcast_ref::<std::io::Error>()
                .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe) =>
        {
            Ok(ExitCode::SUCCESS)
        }
        other => other,
    }
}

fn write_generated(args: &Args, seconds: f64, out: &Path) -> anyhow::Result<ExitCode> {
    let config = GeneratorConfig {
        seconds,
        sample_rate: args.sample_rate,
        channels: args.channels,
        bpm: args.bpm,
        seed: args.seed,
        pattern: match args.pattern {
            Pattern::Backbeat => DrumPattern::Backbeat,
            Pattern::FourOnTheFloor => DrumPattern::FourOnTheFloor,
        },
        ..GeneratorConfig::default()
    };
    let encoding = match args.encoding {
        Encoding::Int16 => WavEncoding::Int16,
        Encoding::Int24 => WavEncoding::Int24,
        Encoding::Int32 => WavEncoding::Int32,
        Encoding::Float32 => WavEncoding::Float32,
    };
    let signal = generate(&config).context("--generate")?;
    write_wav(
        out,
        &signal.samples,
        signal.sample_rate,
        signal.channels,
        encoding,
    )?;
    if args.json {
        #[derive(Serialize)]
        struct Truth<'a> {
            out: &'a Path,
            seconds: f64,
            sample_rate: u32,
            channels: u16,
            bpm: f64,
            beats: &'a [f64],
        }
        let truth = Truth {
            out,
            seconds,
            sample_rate: signal.sample_rate,
            channels: signal.channels,
            bpm: signal.bpm,
            beats: &signal.beats,
        };
        writeln!(std::io::stdout(), "{}", serde_json::to_string(&truth)?)?;
    } else {
        writeln!(
            std::io::stdout(),
            "wrote {}: {seconds} s, {} Hz, {} ch; {} BPM, {} beats from {:.3} s",
            out.display(),
            signal.sample_rate,
            signal.channels,
            signal.bpm,
            signal.beats.len(),
            signal.beats.first().copied().unwrap_or(0.0),
        )?;
    }
    Ok(ExitCode::SUCCESS)
}

/// One `--json` frame line.
#[derive(Serialize)]
struct FrameLine<'a> {
    #[serde(flatten)]
    frame: &'a BarsFrame,
    #[serde(skip_serializing_if = "Option::is_none")]
    magnitude: Option<&'a [f32]>,
}

/// The last `--json` line.
#[derive(Serialize)]
struct SummaryLine<'a> {
    beats: &'a [f64],
    bpm: Option<f64>,
    frames: u64,
    seconds: f64,
}

/// A quarter of the frame, or less at low sample rates, where a quarter
/// frame would be too few frames per second for beat tracking (four per
/// beat at `max_bpm`).
fn default_hop(base: &AnalyzerConfig, frame: usize) -> usize {
    let per_second = f64::from(base.max_bpm) / 60.0 * 4.0;
    let finest = (f64::from(base.sample_rate) / per_second).floor() as usize;
    (frame / 4).min(finest).max(1)
}

fn analyze(args: &Args, file: &Path) -> anyhow::Result<ExitCode> {
    let mut source = WavSource::open(file)?;
    let info = source.info();
    let base = AnalyzerConfig::new(info.sample_rate);
    let config = AnalyzerConfig {
        frame_len: args.frame,
        hop: args.hop.unwrap_or_else(|| default_hop(&base, args.frame)),
        bars: args.bars,
        ..base
    };
    let mut analyzer =
        Analyzer::new(config).with_context(|| format!("cannot analyse {}", file.display()))?;
    let stdout = std::io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let mut magnitude = Vec::new();
    let mut line = Vec::new();
    let mut progress = Progress::new(info.seconds());
    let started = Instant::now();

    let on_frame = |view: FrameView<'_>| -> anyhow::Result<()> {
        if args.json {
            let magnitude = if args.spectrum {
                view.magnitude_into(&mut magnitude);
                Some(magnitude.as_slice())
            } else {
                None
            };
            line.clear();
            serde_json::to_writer(
                &mut line,
                &FrameLine {
                    frame: view.frame,
                    magnitude,
                },
            )?;
            line.push(b'\n');
            out.write_all(&line)?;
        }
        Ok(())
    };
    let summary = analyze_source(&mut analyzer, &mut source, on_frame, |read, total| {
        progress.update(
            read as f64 / f64::from(info.sample_rate),
            read as f64 / total.max(1) as f64,
        );
    })?;
    let elapsed = started.elapsed();

    if args.json {
        let line = SummaryLine {
            beats: &summary.beats,
            bpm: summary.bpm,
            frames: summary.frames,
            seconds: summary.seconds,
        };
        let mut text = serde_json::to_vec(&line)?;
        text.push(b'\n');
        out.write_all(&text)?;
    } else {
        print_summary(&mut out, file, &info, analyzer.config(), &summary, elapsed)?;
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

fn print_summary(
    out: &mut impl Write,
    file: &Path,
    info: &WavInfo,
    config: &AnalyzerConfig,
    summary: &Summary,
    elapsed: Duration,
) -> anyhow::Result<()> {
    let kind = if info.float { "float" } else { "int" };
    writeln!(
        out,
        "{}: {:.2} s, {} Hz, {} ch, {}-bit {kind}",
        file.display(),
        info.seconds(),
        info.sample_rate,
        info.channels,
        info.bits
    )?;
    writeln!(
        out,
        "analysis: frame {}, hop {} ({:.2} frames/s), {} bars {}..{} Hz",
        config.frame_len,
        config.hop,
        config.frame_rate(),
        config.bars,
        config.min_hz,
        config.effective_max_hz().round()
    )?;
    let speed = summary.seconds / elapsed.as_secs_f64().max(1e-9);
    writeln!(
        out,
        "frames: {} in {:.3} s ({speed:.0}x real time)",
        summary.frames,
        elapsed.as_secs_f64()
    )?;
    match summary.bpm {
        Some(bpm) => writeln!(out, "tempo: {bpm:.1} BPM")?,
        None => writeln!(out, "tempo: none (no clear periodicity)")?,
    }
    let first: Vec<String> = summary
        .beats
        .iter()
        .take(8)
        .map(|t| format!("{t:.3}"))
        .collect();
    let more = if summary.beats.len() > 8 { " ..." } else { "" };
    writeln!(
        out,
        "beats: {} [{}{more}]",
        summary.beats.len(),
        first.join(" ")
    )?;
    Ok(())
}

/// Progress on stderr for long files: at most one line a second, none for
/// jobs that finish within the first second.
struct Progress {
    total_s: f64,
    started: Instant,
    last: Instant,
}

impl Progress {
    fn new(total_s: f64) -> Self {
        let now = Instant::now();
        Self {
            total_s,
            started: now,
            last: now,
        }
    }

    fn update(&mut self, done_s: f64, fraction: f64) {
        let now = Instant::now();
        if now.duration_since(self.last) >= Duration::from_secs(1) {
            self.last = now;
            let speed = done_s / now.duration_since(self.started).as_secs_f64();
            eprintln!(
                "analyze: {done_s:.1} of {:.1} s ({:.0}%, {speed:.0}x real time)",
                self.total_s,
                100.0 * fraction
            );
        }
    }
}

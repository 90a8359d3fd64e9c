//! `warden perceive` — run motion detection and tracking over a synthetic
//! sequence (with exact ground truth) or a directory of images, print the
//! per-frame time and, with ground truth, the MOTChallenge scores; write
//! tracks and ground truth as MOTChallenge files. The work is in
//! `warden-perception`; this file parses, wires and prints.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use warden_perception::mot_io::considered;
use warden_perception::{
    FrameSource, ImageDirSource, MotMetrics, MotRecord, PipelineConfig, Progress, Scenario,
    SyntheticCamera, evaluate, read_mot, run_sequence, write_mot,
};

/// Arguments of `warden perceive`.
#[derive(clap::Args)]
pub(crate) struct Args {
    /// Synthetic camera with this seed (the default source, seed 1).
    #[arg(long, value_name = "SEED", conflicts_with = "frames")]
    synthetic: Option<u64>,
    /// A directory of PNG/JPEG frames, played in file-name order.
    #[arg(long, value_name = "DIR")]
    frames: Option<PathBuf>,
    /// Built-in synthetic scenario: easy, crossing, crowded or noisy.
    #[arg(
        long,
        value_name = "NAME",
        default_value = "easy",
        conflicts_with = "frames"
    )]
    scenario: String,
    /// Synthetic frame size, e.g. 640x480.
    #[arg(long, value_name = "WxH", value_parser = parse_size, conflicts_with = "frames")]
    size: Option<(u32, u32)>,
    /// Synthetic objects in the scene at once.
    #[arg(long, value_name = "N", conflicts_with = "frames")]
    objects: Option<usize>,
    /// Synthetic sensor noise, standard deviation in grey levels.
    #[arg(long, value_name = "SIGMA", conflicts_with = "frames")]
    noise: Option<f32>,
    /// Number of frames (synthetic), or the first N frames of the directory
    /// (at most 10,000,000).
    #[arg(long, value_name = "N", value_parser = frame_count)]
    frames_count: Option<usize>,
    /// Synthetic objects are already in the first frame instead of entering.
    #[arg(long, conflicts_with = "frames")]
    start_inside: bool,
    /// Frames per second (timestamps and timeline horizons).
    #[arg(long, value_name = "FPS", default_value_t = 10.0)]
    fps: f32,
    /// Ground truth in MOTChallenge format (frames numbered from 1);
    /// overrides the synthetic truth.
    #[arg(long, value_name = "FILE")]
    gt: Option<PathBuf>,
    /// Write the tracks as a MOTChallenge file.
    #[arg(long, value_name = "FILE")]
    mot_out: Option<PathBuf>,
    /// Write the ground truth used for scoring as a MOTChallenge file.
    #[arg(long, value_name = "FILE")]
    gt_out: Option<PathBuf>,
    /// IoU at which a track box matches a ground-truth box.
    #[arg(long, value_name = "IOU", default_value_t = 0.5)]
    iou: f64,
    /// Print one JSON object: frames, ms_per_frame_median, mota, idf1,
    /// precision, recall, id_switches.
    #[arg(long)]
    json: bool,
}

/// A frame count within 1..=10,000,000 (over 11 days at 10 fps).
fn frame_count(s: &str) -> Result<usize, String> {
    let n: usize = s
        .trim()
        .parse()
        .map_err(|_| format!("{s:?} is not a whole number"))?;
    if (1..=10_000_000).contains(&n) {
        Ok(n)
    } else {
        Err(format!("{n} is outside 1..=10000000"))
    }
}

/// `WxH` (the shared parser) with both sides within 16..=8192.
fn parse_size(s: &str) -> Result<(u32, u32), String> {
    let (w, h) = warden_image::parse_size(s).map_err(|e| e.to_string())?;
    if w < 16 || h < 16 || w > 8192 || h > 8192 {
        return Err(format!("{w}x{h}: each side must be within 16..=8192"));
    }
    Ok((w, h))
}

/// Run the subcommand.
pub(crate) fn run(args: Args) -> anyhow::Result<ExitCode> {
    if !(0.0..=1.0).contains(&args.iou) {
        bail!("--iou {} is outside 0..=1", args.iou);
    }
    let (mut source, description) = open_source(&args)?;
    let started = Instant::now();
    let mut last_note = Instant::now();
    let tty = std::io::stderr().is_terminal();
    let report = run_sequence(
        source.as_mut(),
        &PipelineConfig::default(),
        |p: Progress| {
            // Progress on stderr, at most once a second, only for long runs.
            if last_note.elapsed() >= Duration::from_secs(1)
                && started.elapsed() >= Duration::from_secs(1)
            {
                last_note = Instant::now();
                let of = p.total.map(|t| format!("/{t}")).unwrap_or_default();
                if tty {
                    eprint!("\rperceive: frame {}{of}", p.done);
                } else {
                    eprintln!("perceive: frame {}{of}", p.done);
                }
            }
        },
    )?;
    if tty && started.elapsed() >= Duration::from_secs(2) {
        eprintln!();
    }

    let truth = match &args.gt {
        Some(path) => {
            let records = considered(read_mot(path)?);
            // Score only the frames that were processed.
            Some(
                records
                    .into_iter()
                    .filter(|r| (r.frame as usize) <= report.frames)
                    .collect::<Vec<MotRecord>>(),
            )
        }
        None => report.truth.clone(),
    };
    if let Some(path) = &args.mot_out {
        write_mot(path, &report.tracks).with_context(|| "writing --mot-out")?;
    }
    if let Some(path) = &args.gt_out {
        let Some(truth) = &truth else {
            bail!("--gt-out: this source has no ground truth (use --synthetic or --gt)");
        };
        write_mot(path, truth).with_context(|| "writing --gt-out")?;
    }
    let metrics = truth
        .as_ref()
        .map(|t| evaluate(t, &report.tracks, args.iou));

    if args.json {
        let num = |v: Option<f64>| {
            v.filter(|x| x.is_finite())
                .map_or(serde_json::Value::Null, serde_json::Value::from)
        };
        let out = serde_json::json!({
            "frames": report.frames,
            "ms_per_frame_median": report.timing.median_ms,
            "mota": num(metrics.map(|m| m.mota)),
            "idf1": num(metrics.map(|m| m.idf1)),
            "precision": num(metrics.map(|m| m.precision)),
            "recall": num(metrics.map(|m| m.recall)),
            "id_switches": metrics.map(|m| m.id_switches),
        });
        println!("{out}");
    } else {
        print_human(&description, &report, metrics.as_ref(), &args);
    }
    Ok(ExitCode::SUCCESS)
}

/// The source the arguments name, and a line describing it.
fn open_source(args: &Args) -> anyhow::Result<(Box<dyn FrameSource>, String)> {
    if let Some(dir) = &args.frames {
        let mut src = ImageDirSource::open(dir, args.fps)?;
        if let Some(limit) = args.frames_count {
            src.truncate(limit);
        }
        let (w, h) = src.size();
        let n = src.frame_count().unwrap_or(0);
        let desc = format!(
            "{} ({n} frames, {w}x{h} at {} fps)",
            dir.display(),
            args.fps
        );
        return Ok((Box::new(src), desc));
    }
    let scenario: Scenario = args.scenario.parse()?;
    let mut cfg = scenario.config(args.synthetic.unwrap_or(1));
    cfg.fps = args.fps;
    if let Some((w, h)) = args.size {
        cfg.width = w;
        cfg.height = h;
    }
    if let Some(n) = args.objects {
        cfg.objects = n;
    }
    if let Some(sigma) = args.noise {
        cfg.noise_sigma = sigma;
    }
    if let Some(n) = args.frames_count {
        cfg.frames = n;
    }
    cfg.start_inside = args.start_inside;
    let desc = format!(
        "synthetic scenario {}, seed {}, {}x{}, {} frames at {} fps, {} objects, noise {}",
        scenario,
        cfg.seed,
        cfg.width,
        cfg.height,
        cfg.frames,
        cfg.fps,
        cfg.objects,
        cfg.noise_sigma
    );
    Ok((Box::new(SyntheticCamera::new(cfg)?), desc))
}

fn print_human(
    description: &str,
    report: &warden_perception::SequenceReport,
    metrics: Option<&MotMetrics>,
    args: &Args,
) {
    let t = &report.timing;
    println!("perceive: {description}");
    println!("frames: {}", report.frames);
    println!(
        "time per frame (detect + track + timelines): min {:.2} ms, median {:.2} ms, max {:.2} ms",
        t.min_ms, t.median_ms, t.max_ms
    );
    match metrics {
        Some(m) => {
            println!(
                "MOTA {:.3}  IDF1 {:.3}  precision {:.3}  recall {:.3}  ID switches {}",
                m.mota, m.idf1, m.precision, m.recall, m.id_switches
            );
            println!(
                "  ground truth {} boxes / {} ids, tracks {} boxes / {} ids; false positives {}, misses {}, MOTP (mean IoU) {:.3}",
                m.ground_truth,
                m.gt_ids,
                m.hypotheses,
                m.hyp_ids,
                m.false_positives,
                m.misses,
                m.motp_iou
            );
        }
        None => println!("no ground truth: pass --gt FILE (MOTChallenge) to score"),
    }
    if let Some(p) = &args.mot_out {
        println!("tracks written to {} (MOTChallenge)", p.display());
    }
    if let Some(p) = &args.gt_out {
        println!("ground truth written to {} (MOTChallenge)", p.display());
    }
}

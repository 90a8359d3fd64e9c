//! `warden render`: one transition between two images, rendered offline
//! frame by frame into `DIR/frame_0000.png` …, with the backend used and the
//! per-frame render time. Thin: parsing and printing here, the work in
//! `warden-renderer`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use warden_renderer::{
    BackendRequest, Compositor, Easing, Fit, OfflineJob, Renderer, RendererOptions, TransitionKind,
    TransitionSpec, decode_image, fit_image, parse_size, render_transition, save_png,
};

/// Arguments of `warden render`.
#[derive(clap::Args)]
pub(crate) struct Args {
    /// The first image (any format the `image` crate reads).
    #[arg(long, value_name = "IMAGE")]
    from: PathBuf,
    /// The second image; the last frame is exactly this image, fitted.
    #[arg(long, value_name = "IMAGE")]
    to: PathBuf,
    /// crossfade, slide-left|right|up|down, wipe-left|right|up|down, blockflip, dissolve, zoom.
    #[arg(long, value_name = "NAME", value_parser = parse_transition)]
    transition: TransitionKind,
    /// Frames to write (the first is the source, the last the target).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=100_000))]
    frames: u32,
    /// Canvas size (default: the size of --from).
    #[arg(long, value_name = "WxH", value_parser = parse_canvas)]
    size: Option<(u32, u32)>,
    /// Seed of the blockflip and dissolve orders and of the synthetic overlays.
    #[arg(long, value_name = "S", default_value_t = 1)]
    seed: u64,
    /// Output directory (created if missing).
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// auto (wgpu on hardware, else CPU), cpu, or wgpu (any adapter).
    #[arg(long, value_name = "auto|cpu|wgpu", default_value = "auto", value_parser = parse_backend)]
    backend: BackendRequest,
    /// Synthetic spectrum bars over the images (at most 4096).
    #[arg(long, value_name = "N", default_value_t = 0, value_parser = clap::value_parser!(u16).range(0..=4096))]
    bars: u16,
    /// Synthetic detection boxes over the images (at most 4096).
    #[arg(long, value_name = "N", default_value_t = 0, value_parser = clap::value_parser!(u16).range(0..=4096))]
    boxes: u16,
    /// linear, ease-in, ease-out, ease-in-out.
    #[arg(long, value_name = "NAME", default_value = "ease-in-out", value_parser = parse_easing)]
    easing: Easing,
    /// Transition duration in milliseconds (paces the overlays).
    #[arg(long, value_name = "MS", default_value_t = 1000)]
    duration_ms: u64,
    /// How images meet the canvas: contain, cover, stretch.
    #[arg(long, value_name = "MODE", default_value = "contain", value_parser = parse_fit)]
    fit: Fit,
}

fn parse_transition(s: &str) -> Result<TransitionKind, String> {
    TransitionKind::from_name(s).map_err(|e| e.to_string())
}

fn parse_easing(s: &str) -> Result<Easing, String> {
    Easing::from_name(s).map_err(|e| e.to_string())
}

fn parse_backend(s: &str) -> Result<BackendRequest, String> {
    BackendRequest::from_name(s).map_err(|e| e.to_string())
}

fn parse_fit(s: &str) -> Result<Fit, String> {
    s.parse::<Fit>().map_err(|e| e.to_string())
}

fn parse_canvas(s: &str) -> Result<(u32, u32), String> {
    parse_size(s).map_err(|e| e.to_string())
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Run the subcommand.
pub(crate) fn run(args: Args) -> anyhow::Result<ExitCode> {
    // Decoded and fitted by warden-image, as the image actor does.
    let from = decode_image(&args.from).context("loading --from")?;
    let to = decode_image(&args.to).context("loading --to")?;
    let (w, h) = args.size.unwrap_or(from.dimensions());
    let black = [0, 0, 0, 255];
    let from = Arc::new(fit_image(&from, w, h, args.fit, black).context("fitting --from")?);
    let to = Arc::new(fit_image(&to, w, h, args.fit, black).context("fitting --to")?);
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating --out {}", args.out.display()))?;

    let mut renderer = Renderer::open(RendererOptions {
        backend: args.backend,
        ..Default::default()
    })
    .context("opening the renderer")?;
    println!("backend: {}", renderer.choice());

    let job = OfflineJob {
        from,
        to,
        spec: TransitionSpec {
            kind: args.transition,
            duration: Duration::from_millis(args.duration_ms),
            easing: args.easing,
            seed: args.seed,
        },
        frames: args.frames,
        bars: usize::from(args.bars),
        boxes: usize::from(args.boxes),
    };
    let started = Instant::now();
    let mut last_progress = Instant::now();
    let report = render_transition(&mut renderer, &job, |i, frame| {
        let path = args.out.join(format!("frame_{i:04}.png"));
        save_png(frame, &path)?;
        let done = i + 1;
        if done == args.frames || last_progress.elapsed() >= Duration::from_secs(1) {
            eprintln!("render: {done}/{} frames written", args.frames);
            last_progress = Instant::now();
        }
        Ok(())
    })
    .context("rendering")?;

    for d in renderer.demotions() {
        println!("{d}");
    }
    let t = report.times;
    println!(
        "rendered {} frames {w}x{h} {} ({}, {} ms, seed {}) at level {} into {} in {:.1} s",
        t.count,
        args.transition,
        args.easing.name(),
        args.duration_ms,
        args.seed,
        renderer.level(),
        args.out.display(),
        started.elapsed().as_secs_f64(),
    );
    println!(
        "render time per frame: min {:.3} ms, median {:.3} ms, max {:.3} ms",
        ms(t.min),
        ms(t.median),
        ms(t.max),
    );
    match report.last_equals_target {
        Some(true) => println!("last frame equals the target: yes"),
        Some(false) => anyhow::bail!("the last frame differs from the target (a renderer bug)"),
        None => println!("last frame: target under the overlays"),
    }
    Ok(ExitCode::SUCCESS)
}

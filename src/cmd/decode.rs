//! `warden decode FILE [--size WxH] [--fit contain|cover|stretch] [--out OUT.png] [--json]`:
//! decode (and prescale) one image with `warden-image`, print the source
//! format and size, the output size and the stage timings; optionally write
//! the RGBA8 result as a PNG. All the work is in the library.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use warden_image::{Filter, Fit, Limits, ScaleSpec};

/// Arguments of `warden decode`.
#[derive(clap::Args)]
pub(crate) struct Args {
    /// The image file (JPEG, PNG, WebP, GIF, BMP or TIFF).
    file: PathBuf,
    /// Prescale to fit this size, as WIDTHxHEIGHT (for example 1920x1080).
    #[arg(long, value_name = "WxH", value_parser = parse_size)]
    size: Option<(u32, u32)>,
    /// How to fit into --size: contain, cover or stretch.
    #[arg(long, default_value = "contain", requires = "size")]
    fit: Fit,
    /// Resampling filter for --size: nearest, box, bilinear, hamming,
    /// catmull-rom, mitchell, gaussian or lanczos3.
    #[arg(long, default_value = "lanczos3", requires = "size")]
    filter: Filter,
    /// Write the RGBA8 result to this PNG file.
    #[arg(long, value_name = "OUT.png")]
    out: Option<PathBuf>,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
}

fn parse_size(text: &str) -> Result<(u32, u32), String> {
    let (width, height) = warden_image::parse_size(text).map_err(|e| e.to_string())?;
    ScaleSpec::new(width, height)
        .validate()
        .map_err(|e| e.to_string())?;
    Ok((width, height))
}

/// Run the subcommand.
pub(crate) fn run(args: Args) -> anyhow::Result<ExitCode> {
    let spec = args.size.map(|(width, height)| ScaleSpec {
        width,
        height,
        fit: args.fit,
        filter: args.filter,
    });
    let loaded = warden_image::load_file(&args.file, &Limits::default(), spec.as_ref())
        .with_context(|| args.file.display().to_string())?;
    let decoded = &loaded.image;
    let (out_width, out_height) = decoded.image.dimensions();
    let decode_ms = loaded.timings.decode.as_secs_f64() * 1e3;
    let scale_ms = loaded.timings.scale.as_secs_f64() * 1e3;

    if let Some(out) = &args.out {
        warden_image::write_png(&decoded.image, out)?;
    }

    if args.json {
        let report = serde_json::json!({
            "format": decoded.format.as_str(),
            "width": decoded.source_width,
            "height": decoded.source_height,
            "out_width": out_width,
            "out_height": out_height,
            "decode_ms": round3(decode_ms),
            "scale_ms": round3(scale_ms),
        });
        println!("{report}");
    } else {
        println!(
            "{}: {} {}x{} ({}, orientation {})",
            args.file.display(),
            decoded.format,
            decoded.source_width,
            decoded.source_height,
            decoded.source_color,
            decoded.orientation,
        );
        match &spec {
            Some(spec) => println!(
                "output {out_width}x{out_height} RGBA8 ({} into {}x{}, {})",
                spec.fit, spec.width, spec.height, spec.filter
            ),
            None => println!("output {out_width}x{out_height} RGBA8"),
        }
        println!("decode {decode_ms:.3} ms, scale {scale_ms:.3} ms");
        if let Some(out) = &args.out {
            println!("wrote {}", out.display());
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Milliseconds to three decimals (microseconds), for the JSON report.
fn round3(ms: f64) -> f64 {
    (ms * 1e3).round() / 1e3
}

//! Decode and prescale of a 12-megapixel JPEG (4000x3000, generated here at
//! start-up with `image`'s encoder, never committed) to 1920x1080, each beside
//! its baseline, with the ratio printed at the end:
//!
//! - `prescale`: `warden_image::prescale` (fast_image_resize, SIMD) against
//!   `image::imageops::resize`, both Lanczos3, same RGBA8 input, same output;
//! - `decode_prescale`: `warden_image::decode_prescaled` (decode, resize in the
//!   native RGB layout, then RGBA8) against the bare `image` pipeline
//!   (`load_from_memory` + `resize_exact` Lanczos3 + `into_rgba8`), with bare
//!   `load_from_memory` alone as the floor;
//! - `decode`: `warden_image::decode_bytes` (checks, RGBA8 output) against
//!   `image::load_from_memory` (RGB8 output) and the same + `into_rgba8`;
//! - `cache_hit`: `ImageCache::get` on a cached entry against the `stat` it
//!   makes (`std::fs::metadata`), the floor of a freshness check.
//!
//! Run: `cargo bench -p warden-image --bench decode` (a few minutes).

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::Duration;

use criterion::{Criterion, criterion_group};
use image::imageops::FilterType;
use warden_image::{Filter, Fit, ImageCache, Limits, Rgba8Image, ScaleSpec};

const SRC_W: u32 = 4000;
const SRC_H: u32 = 3000;
const OUT_W: u32 = 1920;
const OUT_H: u32 = 1080;

/// A photo-like 12 MP picture: smooth gradients, hard edges, fine noise.
fn synthetic_jpeg() -> Vec<u8> {
    let mut seed = 0x9E37_79B9_u32;
    let mut rgb = Vec::with_capacity((SRC_W * SRC_H * 3) as usize);
    for y in 0..SRC_H {
        for x in 0..SRC_W {
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            let noise = (seed & 15) as i32 - 8;
            let disc = {
                let (dx, dy) = (x as i32 - 2600, y as i32 - 1200);
                dx * dx + dy * dy < 700 * 700
            };
            let r = (x * 255 / SRC_W) as i32 + noise;
            let g = (y * 255 / SRC_H) as i32 + noise;
            let b = if disc {
                230
            } else {
                40 + ((x / 97 + y / 61) % 2) as i32 * 60
            } + noise;
            rgb.extend([r, g, b].map(|v| v.clamp(0, 255) as u8));
        }
    }
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 90)
        .encode(&rgb, SRC_W, SRC_H, image::ExtendedColorType::Rgb8)
        .expect("invariant: encoding an in-memory image succeeds");
    out
}

fn benches(c: &mut Criterion) {
    let jpeg = synthetic_jpeg();
    let limits = Limits::default();
    let decoded = warden_image::decode_bytes(&jpeg, &limits).expect("the benchmark JPEG decodes");
    let rgba: Rgba8Image = decoded.image;
    let rgba_buffer = rgba.clone().into_image_buffer();
    let spec = ScaleSpec::new(OUT_W, OUT_H).with_fit(Fit::Stretch);
    println!(
        "input: {}x{} JPEG, {} bytes; output {OUT_W}x{OUT_H}, Lanczos3",
        SRC_W,
        SRC_H,
        jpeg.len()
    );

    let mut group = c.benchmark_group("prescale");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(8));
    group.bench_function("warden_fir", |b| {
        b.iter(|| {
            warden_image::prescale(
                black_box(&rgba),
                OUT_W,
                OUT_H,
                Fit::Stretch,
                Filter::Lanczos3,
            )
            .expect("prescale succeeds")
        })
    });
    group.bench_function("image_imageops", |b| {
        b.iter(|| {
            image::imageops::resize(black_box(&rgba_buffer), OUT_W, OUT_H, FilterType::Lanczos3)
        })
    });
    group.finish();

    let mut group = c.benchmark_group("decode_prescale");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(10));
    group.bench_function("warden", |b| {
        b.iter(|| {
            warden_image::decode_prescaled(black_box(&jpeg), &limits, &spec)
                .expect("decode succeeds")
        })
    });
    group.bench_function("image_bare", |b| {
        b.iter(|| {
            image::load_from_memory(black_box(&jpeg))
                .expect("decode succeeds")
                .resize_exact(OUT_W, OUT_H, FilterType::Lanczos3)
                .into_rgba8()
        })
    });
    group.bench_function("image_decode_only", |b| {
        b.iter(|| image::load_from_memory(black_box(&jpeg)).expect("decode succeeds"))
    });
    group.finish();

    let mut group = c.benchmark_group("decode");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(6));
    group.bench_function("warden_rgba8", |b| {
        b.iter(|| warden_image::decode_bytes(black_box(&jpeg), &limits).expect("decodes"))
    });
    group.bench_function("image_rgb8", |b| {
        b.iter(|| image::load_from_memory(black_box(&jpeg)).expect("decodes"))
    });
    group.bench_function("image_rgba8", |b| {
        b.iter(|| {
            image::load_from_memory(black_box(&jpeg))
                .expect("decodes")
                .into_rgba8()
        })
    });
    group.finish();

    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("photo.jpg");
    std::fs::write(&path, &jpeg).expect("write the benchmark JPEG");
    let cache = ImageCache::new(256 << 20, limits);
    cache.get(&path, Some(&spec)).expect("first load");
    let mut group = c.benchmark_group("cache_hit");
    group
        .sample_size(50)
        .measurement_time(Duration::from_secs(3));
    group.bench_function("warden_get", |b| {
        b.iter(|| cache.get(black_box(&path), Some(&spec)).expect("hit"))
    });
    group.bench_function("stat_only", |b| {
        b.iter(|| std::fs::metadata(black_box(&path)).expect("stat"))
    });
    group.finish();
}

criterion_group!(decode_benches, benches);

/// Median time of one benchmark, in nanoseconds, from criterion's estimates.
fn median_ns(criterion_dir: &Path, group: &str, bench: &str) -> Option<f64> {
    let path = criterion_dir
        .join(group)
        .join(bench)
        .join("new/estimates.json");
    let value: serde_json::Value = serde_json::from_slice(&std::fs::read(path).ok()?).ok()?;
    value["median"]["point_estimate"].as_f64()
}

fn criterion_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("CRITERION_HOME") {
        return Some(PathBuf::from(dir));
    }
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR") {
        return Some(PathBuf::from(dir).join("criterion"));
    }
    // <target>/<profile>/deps/<bench binary>
    let exe = std::env::current_exe().ok()?;
    Some(exe.parent()?.parent()?.parent()?.join("criterion"))
}

fn print_ratios() {
    let Some(dir) = criterion_dir() else { return };
    let pairs = [
        ("prescale", "warden_fir", "image_imageops", 3.0),
        ("decode_prescale", "warden", "image_bare", 1.5),
        ("decode_prescale", "warden", "image_decode_only", 0.0),
        ("decode", "warden_rgba8", "image_rgb8", 0.0),
        ("decode", "warden_rgba8", "image_rgba8", 0.0),
        ("cache_hit", "warden_get", "stat_only", 0.0),
    ];
    println!("\nratios (baseline time / warden time, medians of this run):");
    for (group, ours, base, target) in pairs {
        if let (Some(a), Some(b)) = (median_ns(&dir, group, ours), median_ns(&dir, group, base)) {
            let target = if target > 0.0 {
                format!(" (target >= {target}x)")
            } else {
                String::new()
            };
            println!(
                "  {group:16} {ours} {:>9.3} ms vs {base} {:>9.3} ms: {:.2}x{target}",
                a / 1e6,
                b / 1e6,
                b / a
            );
        }
    }
}

fn main() {
    decode_benches();
    Criterion::default().configure_from_args().final_summary();
    print_ratios();
}

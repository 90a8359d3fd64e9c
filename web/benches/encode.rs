//! Frame encoding at 1080p, the stream's hot path: `jpeg-encoder` (SIMD,
//! what the hub uses) beside `image`'s own JPEG encoder (the obvious
//! alternative) at the same quality and subsampling, and a copy of the
//! frame (the floor: reading every byte once). PNG for `/api/frame.png`.
//!
//! `cargo bench -p warden-web --bench encode -- --measurement-time 3`

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use image::ImageEncoder;

const W: u32 = 1920;
const H: u32 = 1080;

/// A frame like the compositor's: smooth gradients (a photograph) with
/// some fine detail (bars, boxes, text-like edges).
fn frame() -> Vec<u8> {
    let mut state = 0x2545_f491_u32;
    let mut out = Vec::with_capacity((W * H * 4) as usize);
    for y in 0..H {
        for x in 0..W {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            let noise = (state & 7) as u8;
            let edge = if (x / 24 + y / 24) % 9 == 0 { 90 } else { 0 };
            out.extend_from_slice(&[
                ((x * 255 / W) as u8).wrapping_add(noise),
                ((y * 255 / H) as u8).saturating_add(edge),
                (((x + y) / 16) as u8).wrapping_add(noise),
                255,
            ]);
        }
    }
    out
}

/// A slideshow picture as the compositor shows it (one of the built-in
/// samples at 1080p).
fn slide() -> Vec<u8> {
    warden_image::samples::draw_sample(1, W, H)
        .pixels()
        .flat_map(|p| [p[0], p[1], p[2], 255])
        .collect()
}

fn encode(c: &mut Criterion) {
    let rgba = frame();
    let mut group = c.benchmark_group("encode_1080p");
    group.throughput(Throughput::Bytes(rgba.len() as u64));
    group.sample_size(20);
    group.bench_function("floor_copy", |b| {
        let mut out = vec![0u8; rgba.len()];
        b.iter(|| {
            out.copy_from_slice(black_box(&rgba));
            black_box(&out);
        })
    });
    // The dashboard's preview: shrunk to 640 px wide, then JPEG q70.
    group.bench_function("preview_640_q70", |b| {
        b.iter(|| {
            let (small, w, h) = warden_web::encode::downscale(black_box(&rgba), W, H, 640)
                .expect("downscale")
                .expect("smaller");
            black_box(warden_web::encode::jpeg(&small, w, h, 70).expect("jpeg"))
        })
    });
    group.bench_function("preview_downscale_640", |b| {
        b.iter(|| {
            black_box(
                warden_web::encode::downscale(black_box(&rgba), W, H, 640).expect("downscale"),
            )
        })
    });
    group.bench_function("jpeg_encoder_q80", |b| {
        b.iter(|| black_box(warden_web::encode::jpeg(black_box(&rgba), W, H, 80).expect("jpeg")))
    });
    // `image`'s encoder takes no alpha: the frame is made RGB first, as a
    // user of it would have to.
    group.bench_function("image_jpeg_q80", |b| {
        b.iter(|| {
            let rgb: Vec<u8> = black_box(&rgba)
                .chunks_exact(4)
                .flat_map(|p| [p[0], p[1], p[2]])
                .collect();
            let mut out = Vec::with_capacity(rgba.len() / 8);
            image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 80)
                .write_image(&rgb, W, H, image::ExtendedColorType::Rgb8)
                .expect("jpeg");
            black_box(out)
        })
    });
    for quality in [60, 90] {
        group.bench_function(format!("jpeg_encoder_q{quality}"), |b| {
            b.iter(|| {
                black_box(warden_web::encode::jpeg(black_box(&rgba), W, H, quality).expect("jpeg"))
            })
        });
    }
    let slide = slide();
    group.bench_function("jpeg_encoder_q80_slide", |b| {
        b.iter(|| black_box(warden_web::encode::jpeg(black_box(&slide), W, H, 80).expect("jpeg")))
    });
    group.bench_function("png_fast", |b| {
        b.iter(|| black_box(warden_web::encode::png(black_box(&rgba), W, H).expect("png")))
    });
    group.finish();
}

criterion_group!(benches, encode);
criterion_main!(benches);

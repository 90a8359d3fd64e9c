//! The built-in sample set: pictures drawn in code and encoded to real JPEG
//! and PNG bytes, so that a system with no images of its own still sends
//! every picture through the real decoder and resampler. Each sample is a
//! distinct composition (colour fields, rings, stripes, a sun) at the size
//! asked for; the same index and size always give the same bytes.

use std::io::Cursor;

use image::codecs::jpeg::JpegEncoder;
use image::codecs::png::{CompressionType, FilterType, PngEncoder};
use image::{ImageEncoder, RgbImage};

use crate::error::EncodeError;

/// The palettes, one per sample (cycled): sky, ground, accent.
const PALETTES: [[[u8; 3]; 3]; 8] = [
    [[24, 48, 112], [232, 140, 60], [250, 230, 120]],
    [[10, 90, 80], [200, 230, 210], [250, 80, 90]],
    [[60, 20, 90], [230, 120, 180], [120, 230, 250]],
    [[200, 220, 240], [40, 70, 50], [250, 200, 40]],
    [[90, 30, 20], [250, 180, 120], [30, 40, 60]],
    [[20, 24, 30], [70, 200, 240], [240, 240, 250]],
    [[150, 200, 90], [30, 60, 120], [250, 110, 40]],
    [[240, 210, 170], [110, 40, 60], [40, 120, 200]],
];

/// A sample's name: `sample-NN.jpg` for even indices, `.png` for odd ones.
pub fn sample_name(index: usize) -> String {
    let ext = if index.is_multiple_of(2) {
        "jpg"
    } else {
        "png"
    };
    format!("sample-{:02}.{ext}", index + 1)
}

fn mix(a: [u8; 3], b: [u8; 3], t: f32) -> [u8; 3] {
    let t = t.clamp(0.0, 1.0);
    [0, 1, 2].map(|i| (f32::from(a[i]) + (f32::from(b[i]) - f32::from(a[i])) * t).round() as u8)
}

/// Draw sample `index` at `width`×`height`.
pub fn draw_sample(index: usize, width: u32, height: u32) -> RgbImage {
    let [sky, ground, accent] = PALETTES[index % PALETTES.len()];
    let variant = index / PALETTES.len();
    let (w, h) = (width.max(1) as f32, height.max(1) as f32);
    let horizon = 0.55 + 0.1 * ((index as f32 * 1.7).sin());
    let sun = (0.25 + 0.5 * ((index as f32 * 0.9).cos() * 0.5 + 0.5), 0.3);
    let stripes = 6.0 + (index % 5) as f32 * 3.0;
    RgbImage::from_fn(width.max(1), height.max(1), |x, y| {
        let (u, v) = (x as f32 / w, y as f32 / h);
        let mut px = if v < horizon {
            mix(sky, [255, 255, 255], (v / horizon) * 0.45)
        } else {
            let band = ((u * stripes + v * 3.0 + variant as f32).sin() * 0.5 + 0.5) * 0.35;
            mix(ground, [0, 0, 0], band + (v - horizon))
        };
        let (dx, dy) = ((u - sun.0) * w / h, v - sun.1);
        let r = (dx * dx + dy * dy).sqrt();
        if r < 0.11 {
            px = mix(accent, [255, 255, 255], 0.25 - r);
        } else if (r - 0.16 - 0.02 * (index % 3) as f32).abs() < 0.006 {
            px = mix(px, accent, 0.8);
        }
        image::Rgb(px)
    })
}

/// Sample `index` encoded: JPEG (quality 90) for even indices, PNG for odd.
pub fn sample_bytes(index: usize, width: u32, height: u32) -> Result<Vec<u8>, EncodeError> {
    let picture = draw_sample(index, width, height);
    let mut out = Cursor::new(Vec::new());
    let result = if index.is_multiple_of(2) {
        JpegEncoder::new_with_quality(&mut out, 90).write_image(
            picture.as_raw(),
            picture.width(),
            picture.height(),
            image::ExtendedColorType::Rgb8,
        )
    } else {
        PngEncoder::new_with_quality(&mut out, CompressionType::Fast, FilterType::Sub).write_image(
            picture.as_raw(),
            picture.width(),
            picture.height(),
            image::ExtendedColorType::Rgb8,
        )
    };
    result.map_err(|source| EncodeError::Encode {
        detail: format!("{}: {source}", sample_name(index)),
    })?;
    Ok(out.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ImageFormat, Limits, decode_bytes};

    #[test]
    fn samples_are_real_images_that_decode_to_their_size_and_differ() {
        let mut seen = Vec::new();
        for index in 0..4 {
            let bytes = sample_bytes(index, 160, 90).expect("encode");
            let decoded = decode_bytes(&bytes, &Limits::default()).expect("decode");
            assert_eq!(decoded.image.dimensions(), (160, 90));
            let format = if index % 2 == 0 {
                ImageFormat::Jpeg
            } else {
                ImageFormat::Png
            };
            assert_eq!(decoded.format, format, "{}", sample_name(index));
            seen.push(decoded.image.pixels().to_vec());
        }
        seen.dedup();
        assert_eq!(seen.len(), 4, "every sample is its own picture");
        assert_eq!(
            sample_bytes(3, 64, 48).expect("png"),
            sample_bytes(3, 64, 48).expect("png"),
            "deterministic"
        );
    }
}

//! Conversion of a decoded image to RGBA8: tight loops for the 8-bit layouts
//! decoders produce most (RGB, grey, grey + alpha), `image`'s own conversion
//! for the rest (16-bit rounding, floats). For a 12-megapixel RGB image the
//! loop takes ~30 ms against ~35 ms for `image`'s generic path; most of either
//! is the kernel faulting in the 48 MB result.

use image::DynamicImage;

use crate::rgba::Rgba8Image;

/// Converts to RGBA8, without copying when it already is.
pub(crate) fn to_rgba8(image: DynamicImage) -> Rgba8Image {
    let (width, height) = (image.width(), image.height());
    let pixels = match image {
        DynamicImage::ImageRgba8(buffer) => return Rgba8Image::from_image_buffer(buffer),
        DynamicImage::ImageRgb8(buffer) => expand(buffer.as_raw(), 3, |src, dst| {
            dst[..3].copy_from_slice(src);
        }),
        DynamicImage::ImageLuma8(buffer) => expand(buffer.as_raw(), 1, |src, dst| {
            dst[..3].fill(src[0]);
        }),
        DynamicImage::ImageLumaA8(buffer) => expand(buffer.as_raw(), 2, |src, dst| {
            dst.copy_from_slice(&[src[0], src[0], src[0], src[1]]);
        }),
        other => return Rgba8Image::from_image_buffer(other.into_rgba8()),
    };
    Rgba8Image::new(width, height, pixels)
        .expect("invariant: one RGBA pixel is written per source pixel")
}

/// Writes one RGBA pixel (alpha preset to 255) per `channels`-byte source pixel.
fn expand(src: &[u8], channels: usize, write: impl Fn(&[u8], &mut [u8])) -> Vec<u8> {
    let mut out = vec![u8::MAX; src.len() / channels * 4];
    for (s, d) in src.chunks_exact(channels).zip(out.chunks_exact_mut(4)) {
        write(s, d);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_fast_path_matches_image_own_conversion() {
        let rgb =
            image::RgbImage::from_fn(7, 3, |x, y| image::Rgb([x as u8 * 30, y as u8 * 80, 7]));
        let rgba = DynamicImage::ImageRgb8(rgb);
        let cases = [
            rgba.clone(),
            DynamicImage::ImageLuma8(rgba.to_luma8()),
            DynamicImage::ImageLumaA8(image::GrayAlphaImage::from_fn(7, 3, |x, y| {
                image::LumaA([x as u8 * 20, y as u8 * 90])
            })),
            DynamicImage::ImageRgba8(rgba.to_rgba8()),
            DynamicImage::ImageRgb16(rgba.to_rgb16()),
        ];
        for image in cases {
            let want = image.to_rgba8().into_raw();
            let got = to_rgba8(image);
            assert_eq!(got.dimensions(), (7, 3));
            assert_eq!(got.pixels(), want.as_slice());
        }
    }
}

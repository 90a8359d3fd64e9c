//! Encoding a frame for the wire: JPEG with `jpeg-encoder` (SIMD; measured
//! against the `image` crate's encoder in `benches/encode.rs`) and PNG with
//! `image` (fast compression).

use std::io::Cursor;

use image::ImageEncoder;
use image::codecs::png::{CompressionType, FilterType, PngEncoder};

/// Why a frame could not be encoded.
#[derive(Clone, Debug, thiserror::Error)]
pub enum EncodeError {
    /// The frame is not `width × height × 4` bytes, or too large for JPEG.
    #[error("cannot encode a {width}x{height} frame of {len} bytes: {reason}")]
    Frame {
        /// Width.
        width: u32,
        /// Height.
        height: u32,
        /// Bytes given.
        len: usize,
        /// Why.
        reason: String,
    },
}

fn check(rgba: &[u8], width: u32, height: u32) -> Result<(), EncodeError> {
    if rgba.len() != width as usize * height as usize * 4 || width == 0 || height == 0 {
        return Err(EncodeError::Frame {
            width,
            height,
            len: rgba.len(),
            reason: "not width × height × 4 bytes".into(),
        });
    }
    Ok(())
}

/// RGBA8 → JPEG at `quality` (1..=100), 4:2:0.
pub fn jpeg(rgba: &[u8], width: u32, height: u32, quality: u8) -> Result<Vec<u8>, EncodeError> {
    check(rgba, width, height)?;
    let too_large = |reason: &str| EncodeError::Frame {
        width,
        height,
        len: rgba.len(),
        reason: reason.to_string(),
    };
    let w = u16::try_from(width).map_err(|_| too_large("JPEG sides stop at 65535"))?;
    let h = u16::try_from(height).map_err(|_| too_large("JPEG sides stop at 65535"))?;
    let mut out = Vec::with_capacity(rgba.len() / 8);
    let encoder = jpeg_encoder::Encoder::new(&mut out, quality.clamp(1, 100));
    encoder
        .encode(rgba, w, h, jpeg_encoder::ColorType::Rgba)
        .map_err(|err| too_large(&err.to_string()))?;
    Ok(out)
}

/// Scale an RGBA8 frame down to `max_width` (aspect kept, bilinear, SIMD);
/// `None` when it is already that narrow.
#[allow(clippy::type_complexity)]
pub fn downscale(
    rgba: &[u8],
    width: u32,
    height: u32,
    max_width: u32,
) -> Result<Option<(Vec<u8>, u32, u32)>, EncodeError> {
    use fast_image_resize::images::{Image, ImageRef};
    use fast_image_resize::{FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer};
    check(rgba, width, height)?;
    if width <= max_width || max_width == 0 {
        return Ok(None);
    }
    let out_w = max_width;
    let out_h = ((u64::from(height) * u64::from(out_w)) / u64::from(width)).max(1) as u32;
    let failed = |reason: String| EncodeError::Frame {
        width,
        height,
        len: rgba.len(),
        reason,
    };
    let src = ImageRef::new(width, height, rgba, PixelType::U8x4)
        .map_err(|err| failed(err.to_string()))?;
    let mut dst = Image::new(out_w, out_h, PixelType::U8x4);
    Resizer::new()
        .resize(
            &src,
            &mut dst,
            // An area average (box filter, scaled to the factor) is the right
            // filter for shrinking; frames are opaque, so the alpha
            // premultiply and divide passes are skipped (they were a third
            // of the time).
            &ResizeOptions::new()
                .resize_alg(ResizeAlg::Convolution(FilterType::Box))
                .use_alpha(false),
        )
        .map_err(|err| failed(err.to_string()))?;
    Ok(Some((dst.into_vec(), out_w, out_h)))
}

/// RGBA8 → PNG (fast compression).
pub fn png(rgba: &[u8], width: u32, height: u32) -> Result<Vec<u8>, EncodeError> {
    check(rgba, width, height)?;
    let mut out = Cursor::new(Vec::with_capacity(rgba.len() / 4));
    PngEncoder::new_with_quality(&mut out, CompressionType::Fast, FilterType::Sub)
        .write_image(rgba, width, height, image::ExtendedColorType::Rgba8)
        .map_err(|err| EncodeError::Frame {
            width,
            height,
            len: rgba.len(),
            reason: err.to_string(),
        })?;
    Ok(out.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn picture(w: u32, h: u32) -> Vec<u8> {
        (0..w * h)
            .flat_map(|i| [(i % w) as u8, (i / w) as u8, 128, 255])
            .collect()
    }

    #[test]
    fn both_encodings_decode_back_to_the_picture() {
        let rgba = picture(64, 48);
        let back = image::load_from_memory(&png(&rgba, 64, 48).expect("png"))
            .expect("decode")
            .to_rgba8();
        assert_eq!(back.as_raw(), &rgba, "PNG is lossless");
        let back = image::load_from_memory(&jpeg(&rgba, 64, 48, 90).expect("jpeg"))
            .expect("decode")
            .to_rgba8();
        assert_eq!(back.dimensions(), (64, 48));
        let worst = back
            .as_raw()
            .iter()
            .zip(&rgba)
            .map(|(a, b)| a.abs_diff(*b))
            .max()
            .unwrap_or(0);
        assert!(worst < 40, "JPEG at quality 90 stays close: {worst}");
    }

    #[test]
    fn a_frame_of_the_wrong_length_is_an_error() {
        assert!(jpeg(&[0; 10], 2, 2, 80).is_err());
        assert!(png(&[0; 16], 3, 2).is_err());
    }
}

//! The decode + prescale pipeline: decode in the decoder's native layout,
//! resize that (RGB stays 3 bytes per pixel, grey 1), then convert the small
//! result to RGBA8 and orient it. Same output as `decode` then `prescale`,
//! without converting and rotating the full-size image first.

use std::path::Path;
use std::time::{Duration, Instant};

use image::DynamicImage;

use crate::convert;
use crate::decode::{DecodedImage, Native, decode_native, read_file};
use crate::error::{LoadError, ScaleError};
use crate::fit::ScaleSpec;
use crate::limits::Limits;
use crate::resize::{RawImage, resize_raw};

/// How long each stage took.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Timings {
    /// Reading (for files) and decoding to the native layout.
    pub decode: Duration,
    /// Resizing, converting to RGBA8 and orienting (conversion and
    /// orientation only, when no scale was asked for).
    pub scale: Duration,
}

/// A loaded image and the time it took.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Loaded {
    /// The image; `image.image` is prescaled when a [`ScaleSpec`] was given.
    pub image: DecodedImage,
    /// Stage timings.
    pub timings: Timings,
}

/// Decodes `bytes` and, with `scale`, prescales the result.
pub fn load_bytes(
    bytes: &[u8],
    limits: &Limits,
    scale: Option<&ScaleSpec>,
) -> Result<Loaded, LoadError> {
    if let Some(spec) = scale {
        spec.validate()?;
    }
    let started = Instant::now();
    let native = decode_native(bytes, limits)?;
    finish(native, scale, started.elapsed())
}

/// Reads and decodes the file at `path` and, with `scale`, prescales it.
pub fn load_file(
    path: impl AsRef<Path>,
    limits: &Limits,
    scale: Option<&ScaleSpec>,
) -> Result<Loaded, LoadError> {
    if let Some(spec) = scale {
        spec.validate()?;
    }
    let started = Instant::now();
    let bytes = read_file(path.as_ref(), limits)?;
    let native = decode_native(&bytes, limits)?;
    drop(bytes);
    finish(native, scale, started.elapsed())
}

/// Decodes `bytes` and prescales to `spec` (the renderer's one call).
pub fn decode_prescaled(
    bytes: &[u8],
    limits: &Limits,
    spec: &ScaleSpec,
) -> Result<DecodedImage, LoadError> {
    load_bytes(bytes, limits, Some(spec)).map(|loaded| loaded.image)
}

fn finish(
    native: Native,
    scale: Option<&ScaleSpec>,
    decode: Duration,
) -> Result<Loaded, LoadError> {
    let started = Instant::now();
    let image = match scale {
        None => native.into_decoded(),
        Some(spec) => scale_native(native, spec)?,
    };
    Ok(Loaded {
        image,
        timings: Timings {
            decode,
            scale: started.elapsed(),
        },
    })
}

/// Resizes in the native layout, in stored orientation, to the size that
/// becomes the target after orientation; then RGBA8, then orientation.
fn scale_native(native: Native, spec: &ScaleSpec) -> Result<DecodedImage, ScaleError> {
    let orientation = native.orientation;
    let (shown_w, shown_h) = orientation.display_size(native.width, native.height);
    let (out_w, out_h) = spec.output_size(shown_w, shown_h);
    let (stored_w, stored_h) = orientation.display_size(out_w, out_h);

    let pixels = match native.pixels {
        DynamicImage::ImageLuma8(_)
        | DynamicImage::ImageLumaA8(_)
        | DynamicImage::ImageRgb8(_)
        | DynamicImage::ImageRgba8(_) => native.pixels,
        // 16-bit and float layouts are brought to 8 bits first.
        other => DynamicImage::ImageRgba8(other.into_rgba8()),
    };
    let channels = pixels.color().channel_count();
    let (src_w, src_h) = (pixels.width(), pixels.height());
    let resized = if (src_w, src_h) == (stored_w, stored_h) {
        pixels
    } else {
        let raw = resize_raw(
            &RawImage {
                width: src_w,
                height: src_h,
                channels,
                bytes: pixels.as_bytes(),
            },
            stored_w,
            stored_h,
            spec.fit,
            spec.filter,
        )?;
        drop(pixels);
        rebuild(channels, stored_w, stored_h, raw)?
    };
    let rgba = convert::to_rgba8(resized);
    Ok(DecodedImage {
        format: native.format,
        source_width: native.width,
        source_height: native.height,
        source_color: native.color,
        orientation,
        image: orientation.apply(rgba),
    })
}

/// Wraps a resized 8-bit buffer of `channels` channels back into an image.
fn rebuild(
    channels: u8,
    width: u32,
    height: u32,
    raw: Vec<u8>,
) -> Result<DynamicImage, ScaleError> {
    let wrong = || ScaleError::Resize {
        detail: format!("resized buffer does not hold {width}x{height}x{channels} bytes"),
    };
    Ok(match channels {
        1 => DynamicImage::ImageLuma8(
            image::GrayImage::from_raw(width, height, raw).ok_or_else(wrong)?,
        ),
        2 => DynamicImage::ImageLumaA8(
            image::GrayAlphaImage::from_raw(width, height, raw).ok_or_else(wrong)?,
        ),
        3 => DynamicImage::ImageRgb8(
            image::RgbImage::from_raw(width, height, raw).ok_or_else(wrong)?,
        ),
        _ => DynamicImage::ImageRgba8(
            image::RgbaImage::from_raw(width, height, raw).ok_or_else(wrong)?,
        ),
    })
}

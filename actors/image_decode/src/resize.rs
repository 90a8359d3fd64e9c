//! Resampling with `fast_image_resize` (SIMD: AVX2/SSE4.1/NEON picked at run
//! time): the `Filter` choice, a raw-buffer resize used by the decode
//! pipeline in the decoder's native layout, and `prescale` for RGBA8 images.

use std::fmt;
use std::str::FromStr;

use fast_image_resize::{
    FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer,
    images::{CroppedImage, Image, ImageRef},
};

use crate::error::ScaleError;
use crate::fit::{Fit, ScaleSpec};
use crate::rgba::Rgba8Image;

/// The resampling filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Filter {
    /// Nearest neighbour: fastest, blocky.
    Nearest,
    /// Box (area average): good and fast for large downscales.
    Box,
    /// Bilinear (triangle).
    Bilinear,
    /// Hamming: bilinear speed, bicubic-like downscale quality.
    Hamming,
    /// Catmull-Rom bicubic.
    CatmullRom,
    /// Mitchell-Netravali bicubic.
    Mitchell,
    /// Gaussian (sigma 0.5).
    Gaussian,
    /// Lanczos3: sharpest; the default.
    #[default]
    Lanczos3,
}

impl Filter {
    /// Every filter.
    pub const ALL: [Self; 8] = [
        Self::Nearest,
        Self::Box,
        Self::Bilinear,
        Self::Hamming,
        Self::CatmullRom,
        Self::Mitchell,
        Self::Gaussian,
        Self::Lanczos3,
    ];

    /// The lower-case name (`"lanczos3"`, `"catmull-rom"`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Nearest => "nearest",
            Self::Box => "box",
            Self::Bilinear => "bilinear",
            Self::Hamming => "hamming",
            Self::CatmullRom => "catmull-rom",
            Self::Mitchell => "mitchell",
            Self::Gaussian => "gaussian",
            Self::Lanczos3 => "lanczos3",
        }
    }

    fn algorithm(self) -> ResizeAlg {
        let filter = match self {
            Self::Nearest => return ResizeAlg::Nearest,
            Self::Box => FilterType::Box,
            Self::Bilinear => FilterType::Bilinear,
            Self::Hamming => FilterType::Hamming,
            Self::CatmullRom => FilterType::CatmullRom,
            Self::Mitchell => FilterType::Mitchell,
            Self::Gaussian => FilterType::Gaussian,
            Self::Lanczos3 => FilterType::Lanczos3,
        };
        ResizeAlg::Convolution(filter)
    }
}

impl fmt::Display for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Filter {
    type Err = ScaleError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted = s.trim().replace('_', "-");
        Self::ALL
            .into_iter()
            .find(|f| f.as_str().eq_ignore_ascii_case(&wanted))
            .ok_or_else(|| ScaleError::UnknownName {
                what: "filter",
                input: s.to_owned(),
                expected: "nearest, box, bilinear, hamming, catmull-rom, mitchell, gaussian, lanczos3",
            })
    }
}

/// A source buffer in one of the 8-bit layouts the pipeline resizes natively.
pub(crate) struct RawImage<'a> {
    pub(crate) width: u32,
    pub(crate) height: u32,
    /// 1 (grey), 2 (grey + alpha), 3 (RGB) or 4 (RGBA).
    pub(crate) channels: u8,
    pub(crate) bytes: &'a [u8],
}

/// Resizes `src` to `out_width x out_height` with `filter`; under
/// [`Fit::Cover`] the source is first cropped (centred) to the target aspect.
/// Alpha is premultiplied during filtering unless every pixel is opaque.
pub(crate) fn resize_raw(
    src: &RawImage<'_>,
    out_width: u32,
    out_height: u32,
    fit: Fit,
    filter: Filter,
) -> Result<Vec<u8>, ScaleError> {
    let pixel_type = match src.channels {
        1 => PixelType::U8,
        2 => PixelType::U8x2,
        3 => PixelType::U8x3,
        _ => PixelType::U8x4,
    };
    let fir_error = |e: &dyn std::error::Error| ScaleError::Resize {
        detail: e.to_string(),
    };
    let view =
        ImageRef::new(src.width, src.height, src.bytes, pixel_type).map_err(|e| fir_error(&e))?;
    let mut out = Image::new(out_width, out_height, pixel_type);
    let has_alpha = matches!(src.channels, 2 | 4);
    let options = ResizeOptions::new()
        .resize_alg(filter.algorithm())
        .use_alpha(has_alpha && !all_opaque(src.bytes, src.channels));
    // fir's kernels are unsafe SIMD code fed with sizes from the input; a
    // panic in them (one was found by fuzzing, see below) becomes an error.
    // `out` is dropped on that path, so no half-written image escapes.
    crate::contain::contain(|| resize_into(&view, &mut out, &options, fit)).unwrap_or_else(
        |detail| {
            Err(ScaleError::Resize {
                detail: format!("the resizer panicked: {detail}"),
            })
        },
    )?;
    Ok(out.into_vec())
}

fn resize_into(
    view: &ImageRef<'_>,
    out: &mut Image<'_>,
    options: &ResizeOptions,
    fit: Fit,
) -> Result<(), ScaleError> {
    let fir_error = |e: &dyn std::error::Error| ScaleError::Resize {
        detail: e.to_string(),
    };
    let (out_width, out_height) = (out.width(), out.height());
    let mut resizer = Resizer::new();
    if fit == Fit::Cover {
        // The crop is a view starting at column and row 0, never fir's own
        // fractional crop: with a crop offset, fir 6.1.0 can trim a zero
        // weight off the first output pixel's window (Catmull-Rom, Mitchell)
        // and then underflow computing the window starts (found by fuzzing;
        // a panic with overflow checks, wrapped indices without).
        let (left, top, width, height) =
            cover_crop(view.width(), view.height(), out_width, out_height);
        let cropped =
            CroppedImage::new(view, left, top, width, height).map_err(|e| fir_error(&e))?;
        resizer.resize(&cropped, out, options)
    } else {
        resizer.resize(view, out, options)
    }
    .map_err(|e| fir_error(&e))
}

/// The centred region of a `width x height` source with the aspect ratio of
/// `out_width x out_height`, in whole pixels: `(left, top, width, height)`.
pub(crate) fn cover_crop(
    width: u32,
    height: u32,
    out_width: u32,
    out_height: u32,
) -> (u32, u32, u32, u32) {
    let (w, h) = (u64::from(width), u64::from(height));
    let (ow, oh) = (u64::from(out_width.max(1)), u64::from(out_height.max(1)));
    let clamp = |v: u64, max: u32| u32::try_from(v.clamp(1, u64::from(max))).unwrap_or(max);
    if w * oh > ow * h {
        // Wider than the target: keep the height, crop the sides.
        let crop = clamp((h * ow + oh / 2) / oh, width);
        ((width - crop) / 2, 0, crop, height)
    } else {
        let crop = clamp((w * oh + ow / 2) / ow, height);
        (0, (height - crop) / 2, width, crop)
    }
}

/// True when the alpha channel (the last of `channels`) is 255 everywhere.
fn all_opaque(bytes: &[u8], channels: u8) -> bool {
    let n = usize::from(channels.max(1));
    bytes.chunks_exact(n).all(|px| px[n - 1] == u8::MAX)
}

/// Prescales an RGBA8 image to fit `width x height` under `fit`, with
/// `filter`. The output size follows [`crate::fit_size`].
pub fn prescale(
    image: &Rgba8Image,
    width: u32,
    height: u32,
    fit: Fit,
    filter: Filter,
) -> Result<Rgba8Image, ScaleError> {
    let spec = ScaleSpec {
        width,
        height,
        fit,
        filter,
    };
    spec.validate()?;
    let (src_w, src_h) = image.dimensions();
    let (out_w, out_h) = spec.output_size(src_w, src_h);
    if src_w == 0 || src_h == 0 {
        return Rgba8Image::new(out_w, out_h, vec![0; out_w as usize * out_h as usize * 4])
            .map_err(|e| ScaleError::Resize {
                detail: e.to_string(),
            });
    }
    let pixels = resize_raw(
        &RawImage {
            width: src_w,
            height: src_h,
            channels: 4,
            bytes: image.pixels(),
        },
        out_w,
        out_h,
        fit,
        filter,
    )?;
    Rgba8Image::new(out_w, out_h, pixels).map_err(|e| ScaleError::Resize {
        detail: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gradient(w: u32, h: u32) -> Rgba8Image {
        let mut px = Vec::with_capacity((w * h * 4) as usize);
        for y in 0..h {
            for x in 0..w {
                px.extend_from_slice(&[
                    (x * 255 / w.max(2)) as u8,
                    (y * 255 / h.max(2)) as u8,
                    128,
                    255,
                ]);
            }
        }
        Rgba8Image::new(w, h, px).unwrap()
    }

    #[test]
    fn every_fit_gives_its_documented_size() {
        let img = gradient(400, 300);
        for filter in Filter::ALL {
            let c = prescale(&img, 192, 108, Fit::Contain, filter).unwrap();
            assert_eq!(c.dimensions(), (144, 108), "{filter}");
            let c = prescale(&img, 192, 108, Fit::Cover, filter).unwrap();
            assert_eq!(c.dimensions(), (192, 108), "{filter}");
            let s = prescale(&img, 192, 108, Fit::Stretch, filter).unwrap();
            assert_eq!(s.dimensions(), (192, 108), "{filter}");
        }
    }

    #[test]
    fn a_flat_colour_stays_flat_under_every_filter() {
        let px: Vec<u8> = [10u8, 200, 30, 255].repeat(97 * 61);
        let img = Rgba8Image::new(97, 61, px).unwrap();
        for filter in Filter::ALL {
            for (w, h) in [(20, 20), (300, 100)] {
                let out = prescale(&img, w, h, Fit::Stretch, filter).unwrap();
                assert!(
                    out.pixels()
                        .chunks_exact(4)
                        .all(|p| p == [10, 200, 30, 255]),
                    "{filter} {w}x{h}"
                );
            }
        }
    }

    #[test]
    fn cover_crops_the_centre() {
        // Left third red, middle third green, right third blue; cover into a
        // square keeps only the (green) centre.
        let (w, h) = (300u32, 100u32);
        let mut px = Vec::new();
        for _ in 0..h {
            for x in 0..w {
                px.extend_from_slice(match x / 100 {
                    0 => &[255, 0, 0, 255],
                    1 => &[0, 255, 0, 255],
                    _ => &[0, 0, 255, 255],
                });
            }
        }
        let img = Rgba8Image::new(w, h, px).unwrap();
        let out = prescale(&img, 50, 50, Fit::Cover, Filter::Bilinear).unwrap();
        assert_eq!(out.dimensions(), (50, 50));
        // The crop is whole pixels: the red and blue thirds never reach it.
        assert!(out.pixels().chunks_exact(4).all(|p| p == [0, 255, 0, 255]));
    }

    #[test]
    fn cover_never_panics_for_any_size_and_filter() {
        // fir 6.1.0 underflows with its own fractional crop on these sizes
        // (Catmull-Rom, Mitchell); the whole-pixel crop view avoids it.
        for (sw, sh) in [(37, 28), (4, 1), (6, 4), (5, 20), (1, 1), (97, 3)] {
            let img = Rgba8Image::new(sw, sh, vec![200; (sw * sh * 4) as usize]).unwrap();
            for (tw, th) in [(32, 31), (3, 2), (5, 16), (1, 7), (64, 40)] {
                for filter in Filter::ALL {
                    let out = prescale(&img, tw, th, Fit::Cover, filter).unwrap();
                    assert_eq!(out.dimensions(), (tw, th));
                    assert!(
                        out.pixels().iter().all(|&v| v == 200),
                        "{sw}x{sh} {tw}x{th} {filter}"
                    );
                }
            }
        }
        assert_eq!(cover_crop(4000, 3000, 1920, 1080), (0, 375, 4000, 2250));
        assert_eq!(cover_crop(300, 100, 50, 50), (100, 0, 100, 100));
        assert_eq!(cover_crop(1, 1, 7, 3), (0, 0, 1, 1));
    }

    #[test]
    fn transparent_pixels_do_not_bleed_colour() {
        // Opaque white next to fully transparent black: with premultiplied
        // filtering the visible colour stays white, never greys.
        let mut px = Vec::new();
        for _ in 0..8 {
            for x in 0..16 {
                px.extend_from_slice(if x < 8 {
                    &[255, 255, 255, 255]
                } else {
                    &[0, 0, 0, 0]
                });
            }
        }
        let img = Rgba8Image::new(16, 8, px).unwrap();
        let out = prescale(&img, 5, 3, Fit::Stretch, Filter::Lanczos3).unwrap();
        for p in out.pixels().chunks_exact(4) {
            if p[3] > 16 {
                assert!(p[0] >= 250 && p[1] >= 250 && p[2] >= 250, "{p:?}");
            }
        }
    }

    #[test]
    fn bad_targets_are_refused() {
        let img = gradient(4, 4);
        assert!(matches!(
            prescale(&img, 0, 5, Fit::Contain, Filter::Box),
            Err(ScaleError::ZeroTarget { .. })
        ));
        assert!(matches!(
            prescale(&img, 1 << 20, 5, Fit::Stretch, Filter::Box),
            Err(ScaleError::TargetTooLarge { .. })
        ));
        assert_eq!("catmull_rom".parse::<Filter>(), Ok(Filter::CatmullRom));
        assert!("sinc".parse::<Filter>().is_err());
    }
}

//! Resampling with `fast_image_resize` (SIMD: AVX2/SSE4.1/NEON picked at run
//! time): the `Filter` choice, a raw-buffer resize used by the decode
//! pipeline in the decoder's native layout, and `prescale` for RGBA8 images.

use std::fmt;
use std::str::FromStr;

use fast_image_resize::{
    FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer,
    images::{Image, ImageRef},
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
    let mut options = ResizeOptions::new()
        .resize_alg(filter.algorithm())
        .use_alpha(has_alpha && !all_opaque(src.bytes, src.channels));
    if fit == Fit::Cover {
        options = options.fit_into_destination(Some((0.5, 0.5)));
    }
    Resizer::new()
        .resize(&view, &mut out, &options)
        .map_err(|e| fir_error(&e))?;
    Ok(out.into_vec())
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
        // The filter's support reaches one source pixel past the crop at the
        // edges; everything else is exactly the centre colour.
        for y in 0..50 {
            for x in 0..50 {
                let p = out.pixel(x, y).unwrap();
                if (1..49).contains(&x) {
                    assert_eq!(p, [0, 255, 0, 255], "({x},{y})");
                } else {
                    assert!(p[1] >= 128 && p[0] < 128 && p[2] < 128, "({x},{y}) {p:?}");
                }
            }
        }
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

//! Fit geometry: how a source size maps onto a target size under `contain`,
//! `cover` or `stretch`, and the `ScaleSpec` that names a prescale request.

use std::fmt;
use std::str::FromStr;

use crate::error::ScaleError;
use crate::resize::Filter;

/// The largest target side a prescale accepts (a hostile request for a
/// 100000-pixel-wide output is refused before allocating it).
pub const MAX_TARGET_SIDE: u32 = 32_768;

/// The largest target area a prescale accepts, in pixels: 128 megapixels,
/// 512 MiB of RGBA8 (the default decoded-bytes limit). Each side may be up to
/// [`MAX_TARGET_SIDE`], but not both at once.
pub const MAX_TARGET_PIXELS: u64 = 128 * 1024 * 1024;

/// How the source is fitted into the target size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Fit {
    /// Keep the aspect ratio and fit inside the target: the output is at most
    /// the target size, equal to it on one side (no padding is added).
    #[default]
    Contain,
    /// Keep the aspect ratio and fill the target, cropping the centre: the
    /// output is exactly the target size.
    Cover,
    /// Ignore the aspect ratio: the output is exactly the target size.
    Stretch,
}

impl Fit {
    /// Every fit mode.
    pub const ALL: [Self; 3] = [Self::Contain, Self::Cover, Self::Stretch];

    /// The lower-case name (`"contain"`, `"cover"`, `"stretch"`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Contain => "contain",
            Self::Cover => "cover",
            Self::Stretch => "stretch",
        }
    }
}

impl fmt::Display for Fit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Fit {
    type Err = ScaleError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|fit| fit.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| ScaleError::UnknownName {
                what: "fit",
                input: s.to_owned(),
                expected: "contain, cover, stretch",
            })
    }
}

/// A prescale request: target size, fit mode and filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ScaleSpec {
    /// Target width.
    pub width: u32,
    /// Target height.
    pub height: u32,
    /// How the source is fitted.
    pub fit: Fit,
    /// The resampling filter.
    pub filter: Filter,
}

impl ScaleSpec {
    /// `width x height`, `contain`, Lanczos3.
    pub fn new(width: u32, height: u32) -> Self {
        Self {
            width,
            height,
            fit: Fit::default(),
            filter: Filter::default(),
        }
    }

    /// The same request with another fit mode.
    pub fn with_fit(self, fit: Fit) -> Self {
        Self { fit, ..self }
    }

    /// The same request with another filter.
    pub fn with_filter(self, filter: Filter) -> Self {
        Self { filter, ..self }
    }

    /// Refuses a zero or oversized target.
    pub fn validate(&self) -> Result<(), ScaleError> {
        let (width, height) = (self.width, self.height);
        if width == 0 || height == 0 {
            return Err(ScaleError::ZeroTarget { width, height });
        }
        if width > MAX_TARGET_SIDE || height > MAX_TARGET_SIDE {
            return Err(ScaleError::TargetTooLarge {
                width,
                height,
                max: MAX_TARGET_SIDE,
            });
        }
        if u64::from(width) * u64::from(height) > MAX_TARGET_PIXELS {
            return Err(ScaleError::TargetAreaTooLarge {
                width,
                height,
                max_pixels: MAX_TARGET_PIXELS,
            });
        }
        Ok(())
    }

    /// The output size for a source of `src_width x src_height`.
    pub fn output_size(&self, src_width: u32, src_height: u32) -> (u32, u32) {
        fit_size(src_width, src_height, self.width, self.height, self.fit)
    }
}

/// The output size of fitting `src` into `target` under `fit`. Never zero on
/// a side when the target is not.
pub fn fit_size(src_width: u32, src_height: u32, width: u32, height: u32, fit: Fit) -> (u32, u32) {
    match fit {
        Fit::Cover | Fit::Stretch => (width, height),
        Fit::Contain => {
            if src_width == 0 || src_height == 0 {
                return (width.min(1), height.min(1));
            }
            // Compare the aspect ratios exactly in integers, then round the
            // free side: w/h against W/H is w*H against W*h.
            let (sw, sh) = (u64::from(src_width), u64::from(src_height));
            let (tw, th) = (u64::from(width), u64::from(height));
            if sw * th >= tw * sh {
                // Width-bound: out = (W, round(h * W / w)).
                let out_h = (sh * tw + sw / 2) / sw;
                (width, clamp_side(out_h, height))
            } else {
                let out_w = (sw * th + sh / 2) / sh;
                (clamp_side(out_w, width), height)
            }
        }
    }
}

fn clamp_side(side: u64, max: u32) -> u32 {
    u32::try_from(side.clamp(1, u64::from(max))).unwrap_or(max)
}

/// Parses `WIDTHxHEIGHT` (also `WIDTHXHEIGHT` and `WIDTH×HEIGHT`).
pub fn parse_size(text: &str) -> Result<(u32, u32), ScaleError> {
    let bad = || ScaleError::BadSize {
        input: text.to_owned(),
    };
    let (w, h) = text.trim().split_once(['x', 'X', '×']).ok_or_else(bad)?;
    let w: u32 = w.trim().parse().map_err(|_| bad())?;
    let h: u32 = h.trim().parse().map_err(|_| bad())?;
    Ok((w, h))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn contain_fits_inside_and_keeps_the_aspect() {
        assert_eq!(fit_size(4000, 3000, 1920, 1080, Fit::Contain), (1440, 1080));
        assert_eq!(fit_size(6000, 2000, 1920, 1080, Fit::Contain), (1920, 640));
        assert_eq!(fit_size(100, 100, 1920, 1080, Fit::Contain), (1080, 1080));
        assert_eq!(fit_size(1, 10_000, 100, 100, Fit::Contain), (1, 100));
        assert_eq!(fit_size(4000, 3000, 1920, 1080, Fit::Cover), (1920, 1080));
        assert_eq!(fit_size(4000, 3000, 1920, 1080, Fit::Stretch), (1920, 1080));
    }

    #[test]
    fn names_and_sizes_parse() {
        assert_eq!("cover".parse::<Fit>(), Ok(Fit::Cover));
        assert_eq!(" Stretch ".parse::<Fit>(), Ok(Fit::Stretch));
        let err = "fill".parse::<Fit>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown fit \"fill\" (expected one of: contain, cover, stretch)"
        );
        assert_eq!(parse_size("1920x1080"), Ok((1920, 1080)));
        assert_eq!(parse_size("640X480"), Ok((640, 480)));
        assert_eq!(parse_size("64×48"), Ok((64, 48)));
        for bad in [
            "",
            "1920",
            "x1080",
            "1920x",
            "-1x5",
            "1.5x2",
            "axb",
            "99999999999x1",
        ] {
            assert!(parse_size(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn targets_are_validated() {
        assert!(ScaleSpec::new(1920, 1080).validate().is_ok());
        assert!(matches!(
            ScaleSpec::new(0, 1080).validate(),
            Err(ScaleError::ZeroTarget { .. })
        ));
        assert!(matches!(
            ScaleSpec::new(100_000, 100_000).validate(),
            Err(ScaleError::TargetTooLarge { .. })
        ));
        // Each side within the limit, the area not: refused before any
        // buffer is allocated.
        assert!(matches!(
            ScaleSpec::new(32_768, 32_768).validate(),
            Err(ScaleError::TargetAreaTooLarge { .. })
        ));
        assert!(ScaleSpec::new(32_768, 4_096).validate().is_ok());
    }

    proptest! {
        #[test]
        fn contain_touches_the_box_and_keeps_the_aspect(
            sw in 1u32..20_000, sh in 1u32..20_000, tw in 1u32..5_000, th in 1u32..5_000,
        ) {
            let (w, h) = fit_size(sw, sh, tw, th, Fit::Contain);
            prop_assert!(w >= 1 && h >= 1 && w <= tw && h <= th);
            prop_assert!(w == tw || h == th);
            // The aspect ratio is kept to within the rounding of one pixel.
            let src = f64::from(sw) / f64::from(sh);
            let lo = f64::from(w.saturating_sub(1).max(1)) / f64::from(h + 1);
            let hi = f64::from(w + 1) / f64::from(h.saturating_sub(1).max(1));
            prop_assert!(w == 1 || h == 1 || (lo <= src && src <= hi), "{w}x{h} for {sw}x{sh}");
        }
    }
}

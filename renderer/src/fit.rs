//! Fitting an image to the canvas: contain (letterbox), cover (centre crop)
//! or stretch, resampled with the `image` crate's triangle filter. An image
//! already at the canvas size is returned untouched, byte for byte.
//!
//! Stop-gap for `warden render`: the image actor's crate (`warden-image`)
//! owns decode and prescale for the running system; this keeps the
//! renderer's offline command independent of it until it is wired in.

use image::RgbaImage;
use image::imageops::{self, FilterType};

use crate::error::RenderError;
use crate::frame::{Frame, Rgba, check_size};

/// How an image is fitted to a size.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Fit {
    /// Scaled to fit inside, centred, the rest filled with the background.
    #[default]
    Contain,
    /// Scaled to cover, centred, the overflow cropped.
    Cover,
    /// Scaled to the size exactly, aspect ratio ignored.
    Stretch,
}

impl Fit {
    /// Parses `contain`, `cover` or `stretch`.
    pub fn from_name(name: &str) -> Result<Self, RenderError> {
        match name {
            "contain" => Ok(Fit::Contain),
            "cover" => Ok(Fit::Cover),
            "stretch" => Ok(Fit::Stretch),
            _ => Err(RenderError::UnknownName {
                what: "fit",
                name: name.to_owned(),
                expected: "contain, cover, stretch".to_owned(),
            }),
        }
    }
}

impl std::str::FromStr for Fit {
    type Err = RenderError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::from_name(s)
    }
}

/// Fits `src` to `width × height`; `background` fills contain's margins.
pub fn fit_frame(
    src: &Frame,
    width: u32,
    height: u32,
    fit: Fit,
    background: Rgba,
) -> Result<Frame, RenderError> {
    check_size("fit target", width, height)?;
    if src.width() == width && src.height() == height {
        return Ok(src.clone());
    }
    let img = RgbaImage::from_raw(src.width(), src.height(), src.data().to_vec()).ok_or(
        RenderError::FrameLength {
            width: src.width(),
            height: src.height(),
            expected: src.stride() * src.height() as usize,
            actual: src.data().len(),
        },
    )?;
    let (sw, sh) = (f64::from(src.width()), f64::from(src.height()));
    let (tw, th) = (f64::from(width), f64::from(height));
    let out = match fit {
        Fit::Stretch => imageops::resize(&img, width, height, FilterType::Triangle),
        Fit::Contain => {
            let k = (tw / sw).min(th / sh);
            let (nw, nh) = scaled(sw * k, sh * k, width, height);
            let scaled = imageops::resize(&img, nw, nh, FilterType::Triangle);
            let mut canvas = RgbaImage::from_pixel(width, height, image::Rgba(background));
            imageops::replace(
                &mut canvas,
                &scaled,
                i64::from((width - nw) / 2),
                i64::from((height - nh) / 2),
            );
            canvas
        }
        Fit::Cover => {
            let k = (tw / sw).max(th / sh);
            let (nw, nh) = scaled(sw * k, sh * k, u32::MAX, u32::MAX);
            let (nw, nh) = (nw.max(width), nh.max(height));
            let scaled = imageops::resize(&img, nw, nh, FilterType::Triangle);
            imageops::crop_imm(&scaled, (nw - width) / 2, (nh - height) / 2, width, height)
                .to_image()
        }
    };
    Frame::from_rgba(width, height, out.into_raw())
}

fn scaled(w: f64, h: f64, max_w: u32, max_h: u32) -> (u32, u32) {
    let side = |v: f64, max: u32| (v.round() as u32).clamp(1, max);
    (side(w, max_w), side(h, max_h))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn src() -> Frame {
        Frame::filled(40, 20, [200, 100, 50, 255]).expect("valid")
    }

    #[test]
    fn contain_letterboxes_with_the_background() {
        let f = fit_frame(&src(), 20, 20, Fit::Contain, [0, 0, 0, 255]).expect("fits");
        assert_eq!((f.width(), f.height()), (20, 20));
        assert_eq!(f.pixel(10, 0), Some([0, 0, 0, 255]), "top margin");
        assert_eq!(f.pixel(10, 10), Some([200, 100, 50, 255]), "image");
    }

    #[test]
    fn cover_and_stretch_fill_the_canvas() {
        for fit in [Fit::Cover, Fit::Stretch] {
            let f = fit_frame(&src(), 15, 30, fit, [0; 4]).expect("fits");
            assert_eq!((f.width(), f.height()), (15, 30));
            assert!(f.data().chunks_exact(4).all(|p| p == [200, 100, 50, 255]));
        }
    }

    #[test]
    fn same_size_is_untouched_and_names_parse() {
        let s = src();
        assert_eq!(fit_frame(&s, 40, 20, Fit::Cover, [0; 4]).expect("ok"), s);
        assert_eq!(Fit::from_name("cover").expect("known"), Fit::Cover);
        assert!(Fit::from_name("fill").is_err());
        assert!(fit_frame(&s, 0, 20, Fit::Cover, [0; 4]).is_err());
    }
}

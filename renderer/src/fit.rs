//! Fitting an image to the canvas: contain (letterbox), cover (centre crop)
//! or stretch. The resampling is `warden-image`'s prescale (SIMD, Lanczos3 by
//! default) — the same one the image actor uses, so an offline render and the
//! running system fit pictures identically. This module only adds what a
//! canvas needs on top of it: contain's margins. An image already at the
//! canvas size is returned untouched, byte for byte.

pub use warden_image::Fit;
use warden_image::{Filter, Rgba8Image, prescale};

use crate::error::RenderError;
use crate::frame::{Frame, Rgba, check_size};

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
    let image = Rgba8Image::new(src.width(), src.height(), src.data().to_vec()).map_err(|_| {
        RenderError::FrameLength {
            width: src.width(),
            height: src.height(),
            expected: src.stride() * src.height() as usize,
            actual: src.data().len(),
        }
    })?;
    fit_image(&image, width, height, fit, background)
}

/// Fits a decoded image of any size (also one larger than a frame may be)
/// to `width × height`; `background` fills contain's margins.
pub fn fit_image(
    image: &Rgba8Image,
    width: u32,
    height: u32,
    fit: Fit,
    background: Rgba,
) -> Result<Frame, RenderError> {
    check_size("fit target", width, height)?;
    if image.dimensions() == (width, height) {
        return Frame::from_rgba(width, height, image.pixels().to_vec());
    }
    let scaled =
        prescale(image, width, height, fit, Filter::default()).map_err(|e| RenderError::Fit {
            detail: e.to_string(),
        })?;
    let (sw, sh) = scaled.dimensions();
    if (sw, sh) == (width, height) {
        return Frame::from_rgba(width, height, scaled.into_pixels());
    }
    // Contain: centre the scaled image on a canvas of the background.
    let mut canvas = Frame::filled(width, height, background)?;
    let (x0, y0) = ((width - sw) as usize / 2, (height - sh) as usize / 2);
    let row = sw as usize * 4;
    let stride = canvas.stride();
    let data = canvas.data_mut();
    for (y, line) in scaled.pixels().chunks_exact(row).enumerate() {
        let at = (y0 + y) * stride + x0 * 4;
        data[at..at + row].copy_from_slice(line);
    }
    Ok(canvas)
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
        assert_eq!(f.pixel(10, 19), Some([0, 0, 0, 255]), "bottom margin");
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
    fn an_image_larger_than_any_frame_is_fitted_down() {
        let (w, h) = (9000, 90);
        let big = Rgba8Image::new(w, h, [10, 20, 30, 255].repeat((w * h) as usize)).expect("sized");
        assert!(Frame::from_rgba(w, h, big.pixels().to_vec()).is_err());
        let f = fit_image(&big, 200, 100, Fit::Contain, [0, 0, 0, 255]).expect("fits");
        assert_eq!((f.width(), f.height()), (200, 100));
        assert_eq!(f.pixel(100, 50), Some([10, 20, 30, 255]));
        assert_eq!(f.pixel(100, 0), Some([0, 0, 0, 255]), "letterbox");
    }

    #[test]
    fn same_size_is_untouched_and_names_parse() {
        let s = src();
        assert_eq!(fit_frame(&s, 40, 20, Fit::Cover, [0; 4]).expect("ok"), s);
        assert_eq!("cover".parse::<Fit>().expect("known"), Fit::Cover);
        assert!("fill".parse::<Fit>().is_err());
        assert!(fit_frame(&s, 0, 20, Fit::Cover, [0; 4]).is_err());
    }
}

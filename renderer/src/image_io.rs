//! Image files in and out for the offline command and the golden tests:
//! decode with `warden-image` (every format the image actor reads, EXIF
//! orientation applied, decompression bombs refused before allocation) into a
//! `Frame`; write a `Frame` as PNG. The compositor itself never touches paths.

use std::fs::File;
use std::io::BufWriter;
use std::path::Path;

use image::ImageEncoder;
use image::codecs::png::{CompressionType, FilterType, PngEncoder};
use warden_image::{Limits, Rgba8Image, decode_file};

use crate::error::RenderError;
use crate::frame::Frame;

/// Decodes an image file (PNG, JPEG, WebP, GIF, BMP, TIFF) to RGBA8 in its
/// displayed orientation, under `warden-image`'s default limits.
pub fn load_image(path: &Path) -> Result<Frame, RenderError> {
    let image = decode_image(path)?;
    let (w, h) = image.dimensions();
    Frame::from_rgba(w, h, image.into_pixels()).map_err(|e| RenderError::ImageLoad {
        path: path.to_owned(),
        detail: e.to_string(),
    })
}

/// Decodes an image file to RGBA8 at its own size, which may exceed what a
/// frame allows (a 50-megapixel photo): fit it with [`crate::fit_image`].
pub fn decode_image(path: &Path) -> Result<Rgba8Image, RenderError> {
    decode_file(path, &Limits::default())
        .map(|decoded| decoded.image)
        .map_err(|e| RenderError::ImageLoad {
            path: path.to_owned(),
            detail: e.to_string(),
        })
}

/// Writes a frame as an RGBA PNG (fast compression).
pub fn save_png(frame: &Frame, path: &Path) -> Result<(), RenderError> {
    let err = |detail: String| RenderError::ImageSave {
        path: path.to_owned(),
        detail,
    };
    let file = File::create(path).map_err(|e| err(e.to_string()))?;
    PngEncoder::new_with_quality(
        BufWriter::new(file),
        CompressionType::Fast,
        FilterType::Adaptive,
    )
    .write_image(
        frame.data(),
        frame.width(),
        frame.height(),
        image::ExtendedColorType::Rgba8,
    )
    .map_err(|e| err(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn png_round_trips_exactly() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("f.png");
        let data: Vec<u8> = (0..7 * 3 * 4).map(|i| (i * 13) as u8).collect();
        let f = Frame::from_rgba(7, 3, data).expect("valid");
        save_png(&f, &path).expect("write");
        assert_eq!(load_image(&path).expect("read"), f);
    }

    #[test]
    fn corrupt_and_missing_files_name_the_path() {
        let dir = tempfile::tempdir().expect("tempdir");
        let bad = dir.path().join("bad.png");
        std::fs::write(&bad, b"\x89PNG\r\n\x1a\nnot really").expect("write");
        let e = load_image(&bad).expect_err("corrupt");
        assert!(e.to_string().contains("bad.png"), "{e}");
        let e = load_image(&dir.path().join("missing.jpg")).expect_err("missing");
        assert!(matches!(e, RenderError::ImageLoad { .. }), "{e}");
    }
}

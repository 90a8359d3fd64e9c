//! Writing an RGBA8 image as PNG (the `--out` of `warden decode`).

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use image::ImageEncoder;
use image::codecs::png::{CompressionType, FilterType, PngEncoder};

use crate::error::EncodeError;
use crate::rgba::Rgba8Image;

/// Encodes `image` as an 8-bit RGBA PNG into `out` (fast compression).
pub fn encode_png(image: &Rgba8Image, out: impl Write) -> Result<(), EncodeError> {
    PngEncoder::new_with_quality(out, CompressionType::Fast, FilterType::Adaptive)
        .write_image(
            image.pixels(),
            image.width(),
            image.height(),
            image::ExtendedColorType::Rgba8,
        )
        .map_err(|e| EncodeError::Encode {
            detail: e.to_string(),
        })
}

/// Writes `image` as a PNG file at `path`.
pub fn write_png(image: &Rgba8Image, path: impl AsRef<Path>) -> Result<(), EncodeError> {
    let path = path.as_ref();
    let io_error = |e: std::io::Error| EncodeError::Io {
        path: path.display().to_string(),
        detail: e.to_string(),
    };
    let file = File::create(path).map_err(io_error)?;
    let mut writer = BufWriter::new(file);
    encode_png(image, &mut writer)?;
    writer.flush().map_err(io_error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_written_png_decodes_to_the_same_pixels() {
        let pixels: Vec<u8> = (0..5 * 3 * 4).map(|i| (i * 11 % 256) as u8).collect();
        let img = Rgba8Image::new(5, 3, pixels).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.png");
        write_png(&img, &path).unwrap();
        let back = crate::decode_file(&path, &crate::Limits::default()).unwrap();
        assert_eq!(back.image, img);

        let err = write_png(&img, dir.path().join("no/such/dir/out.png")).unwrap_err();
        assert!(err.to_string().starts_with("cannot write "), "{err}");
    }
}

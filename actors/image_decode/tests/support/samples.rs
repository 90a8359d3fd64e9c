//! Small valid images of every supported format, encoded with `image`'s
//! encoders, for the hostile-input and pipeline tests (included with `#[path]`).

#![allow(dead_code, clippy::unwrap_used)]

use image::{DynamicImage, ImageFormat};

/// A deterministic RGBA image: gradients, an edge, partly transparent rows.
pub(crate) fn pattern(width: u32, height: u32) -> image::RgbaImage {
    image::RgbaImage::from_fn(width, height, |x, y| {
        let alpha = if y > height / 2 {
            128 + (x * 7 % 128) as u8
        } else {
            255
        };
        image::Rgba([
            (x * 255 / width.max(2)) as u8,
            (y * 255 / height.max(2)) as u8,
            if x > width / 2 { 220 } else { 30 },
            alpha,
        ])
    })
}

/// `pattern` encoded as `format` (JPEG and BMP without alpha).
pub(crate) fn encoded(format: ImageFormat, width: u32, height: u32) -> Vec<u8> {
    let rgba = DynamicImage::ImageRgba8(pattern(width, height));
    let image = match format {
        ImageFormat::Jpeg | ImageFormat::Bmp => DynamicImage::ImageRgb8(rgba.to_rgb8()),
        _ => rgba,
    };
    let mut out = std::io::Cursor::new(Vec::new());
    image.write_to(&mut out, format).unwrap();
    out.into_inner()
}

/// One small sample per supported format.
pub(crate) fn all_formats(width: u32, height: u32) -> Vec<(ImageFormat, Vec<u8>)> {
    [
        ImageFormat::Png,
        ImageFormat::Jpeg,
        ImageFormat::WebP,
        ImageFormat::Gif,
        ImageFormat::Bmp,
        ImageFormat::Tiff,
    ]
    .into_iter()
    .map(|f| (f, encoded(f, width, height)))
    .collect()
}

/// An EXIF block (TIFF structure) holding only the orientation tag.
pub(crate) fn exif_orientation_block(value: u16, big_endian: bool) -> Vec<u8> {
    let u16b = |v: u16| {
        if big_endian {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        }
    };
    let u32b = |v: u32| {
        if big_endian {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        }
    };
    let mut out = if big_endian {
        b"MM\0*".to_vec()
    } else {
        b"II*\0".to_vec()
    };
    out.extend_from_slice(&u32b(8));
    out.extend_from_slice(&u16b(1));
    out.extend_from_slice(&u16b(0x0112));
    out.extend_from_slice(&u16b(3));
    out.extend_from_slice(&u32b(1));
    out.extend_from_slice(&u16b(value));
    out.extend_from_slice(&[0, 0]);
    out.extend_from_slice(&u32b(0));
    out
}

/// An opaque RGB PNG of `pattern(width, height)` with an eXIf chunk holding
/// `exif`.
pub(crate) fn png_with_exif(width: u32, height: u32, exif: &[u8]) -> Vec<u8> {
    let rgb = DynamicImage::ImageRgb8(DynamicImage::ImageRgba8(pattern(width, height)).to_rgb8());
    let mut png = std::io::Cursor::new(Vec::new());
    rgb.write_to(&mut png, ImageFormat::Png).unwrap();
    let png = png.into_inner();
    // Signature (8) + IHDR chunk (25): the eXIf chunk goes right after.
    let mut chunk = Vec::new();
    chunk.extend_from_slice(&u32::try_from(exif.len()).unwrap().to_be_bytes());
    chunk.extend_from_slice(b"eXIf");
    chunk.extend_from_slice(exif);
    let mut crc = crc32fast::Hasher::new();
    crc.update(b"eXIf");
    crc.update(exif);
    chunk.extend_from_slice(&crc.finalize().to_be_bytes());
    let mut out = png[..33].to_vec();
    out.extend(chunk);
    out.extend_from_slice(&png[33..]);
    out
}

//! EXIF orientation: read from the decoder (JPEG APP1, PNG eXIf, WebP EXIF,
//! TIFF tag 274) and applied to the RGBA8 result, so every image comes out the
//! way it is meant to be seen.
//!
//! `image` 0.25 reads the tag itself (`ImageDecoder::orientation`) with a
//! small parser of the TIFF structure inside the EXIF block; it needs no second
//! parse of the file, which `kamadak-exif` would. One gap is filled here: some
//! writers store the PNG/WebP EXIF block with the JPEG `Exif\0\0` prefix, which
//! `image`'s parser rejects; the prefix is stripped and the block parsed again.

use std::fmt;

use image::ImageDecoder;
use image::metadata::Orientation as ImageOrientation;

use crate::rgba::Rgba8Image;

/// The eight EXIF orientations: how the stored pixels must be transformed to
/// be displayed upright.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Orientation {
    /// EXIF 1: as stored.
    #[default]
    Normal,
    /// EXIF 2: mirror left-right.
    FlipHorizontal,
    /// EXIF 3: rotate 180°.
    Rotate180,
    /// EXIF 4: mirror top-bottom.
    FlipVertical,
    /// EXIF 5: transpose (mirror along the main diagonal).
    Transpose,
    /// EXIF 6: rotate 90° clockwise.
    Rotate90,
    /// EXIF 7: transverse (mirror along the other diagonal).
    Transverse,
    /// EXIF 8: rotate 270° clockwise (90° counter-clockwise).
    Rotate270,
}

impl Orientation {
    /// From the EXIF value 1..=8; `None` otherwise.
    pub fn from_exif(value: u16) -> Option<Self> {
        Some(match value {
            1 => Self::Normal,
            2 => Self::FlipHorizontal,
            3 => Self::Rotate180,
            4 => Self::FlipVertical,
            5 => Self::Transpose,
            6 => Self::Rotate90,
            7 => Self::Transverse,
            8 => Self::Rotate270,
            _ => return None,
        })
    }

    /// The EXIF value 1..=8.
    pub fn exif(self) -> u16 {
        match self {
            Self::Normal => 1,
            Self::FlipHorizontal => 2,
            Self::Rotate180 => 3,
            Self::FlipVertical => 4,
            Self::Transpose => 5,
            Self::Rotate90 => 6,
            Self::Transverse => 7,
            Self::Rotate270 => 8,
        }
    }

    /// True when displaying swaps width and height (EXIF 5 to 8).
    pub fn swaps_axes(self) -> bool {
        matches!(
            self,
            Self::Transpose | Self::Rotate90 | Self::Transverse | Self::Rotate270
        )
    }

    /// The displayed size of an image stored as `width x height`.
    pub fn display_size(self, width: u32, height: u32) -> (u32, u32) {
        if self.swaps_axes() {
            (height, width)
        } else {
            (width, height)
        }
    }

    /// Transforms `image` from stored to displayed orientation.
    pub fn apply(self, image: Rgba8Image) -> Rgba8Image {
        if self == Self::Normal {
            return image;
        }
        let mut dynamic = image::DynamicImage::ImageRgba8(image.into_image_buffer());
        dynamic.apply_orientation(self.to_image());
        Rgba8Image::from_image_buffer(dynamic.into_rgba8())
    }

    fn to_image(self) -> ImageOrientation {
        match self {
            Self::Normal => ImageOrientation::NoTransforms,
            Self::FlipHorizontal => ImageOrientation::FlipHorizontal,
            Self::Rotate180 => ImageOrientation::Rotate180,
            Self::FlipVertical => ImageOrientation::FlipVertical,
            Self::Transpose => ImageOrientation::Rotate90FlipH,
            Self::Rotate90 => ImageOrientation::Rotate90,
            Self::Transverse => ImageOrientation::Rotate270FlipH,
            Self::Rotate270 => ImageOrientation::Rotate270,
        }
    }

    fn from_image(orientation: ImageOrientation) -> Self {
        Self::from_exif(u16::from(orientation.to_exif())).unwrap_or_default()
    }
}

impl fmt::Display for Orientation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Normal => "normal",
            Self::FlipHorizontal => "flip-horizontal",
            Self::Rotate180 => "rotate-180",
            Self::FlipVertical => "flip-vertical",
            Self::Transpose => "transpose",
            Self::Rotate90 => "rotate-90",
            Self::Transverse => "transverse",
            Self::Rotate270 => "rotate-270",
        })
    }
}

/// Reads the orientation a decoder reports. Broken metadata never fails the
/// decode: the pixels are still good, so it counts as `Normal`.
pub(crate) fn read(decoder: &mut dyn ImageDecoder) -> Orientation {
    match decoder.orientation() {
        Ok(ImageOrientation::NoTransforms) => {}
        Ok(found) => return Orientation::from_image(found),
        Err(err) => {
            tracing::debug!(%err, "unreadable orientation metadata; treating as normal");
            return Orientation::Normal;
        }
    }
    // The `Exif\0\0`-prefixed block some PNG/WebP writers produce.
    match decoder.exif_metadata() {
        Ok(Some(block)) => block
            .strip_prefix(b"Exif\0\0")
            .and_then(ImageOrientation::from_exif_chunk)
            .map(Orientation::from_image)
            .unwrap_or_default(),
        _ => Orientation::Normal,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Where the stored pixel `(x, y)` of a `w x h` image lands when displayed,
    /// written out from the EXIF specification's pictures.
    fn displayed_position(o: Orientation, x: u32, y: u32, w: u32, h: u32) -> (u32, u32) {
        match o {
            Orientation::Normal => (x, y),
            Orientation::FlipHorizontal => (w - 1 - x, y),
            Orientation::Rotate180 => (w - 1 - x, h - 1 - y),
            Orientation::FlipVertical => (x, h - 1 - y),
            Orientation::Transpose => (y, x),
            Orientation::Rotate90 => (h - 1 - y, x),
            Orientation::Transverse => (h - 1 - y, w - 1 - x),
            Orientation::Rotate270 => (y, w - 1 - x),
        }
    }

    #[test]
    fn every_orientation_moves_every_pixel_where_exif_says() {
        let (w, h) = (3u32, 2u32);
        let pixels: Vec<u8> = (0..w * h).flat_map(|i| [i as u8, 0, 0, 255]).collect();
        let stored = Rgba8Image::new(w, h, pixels).unwrap();
        for value in 1..=8 {
            let o = Orientation::from_exif(value).unwrap();
            assert_eq!(o.exif(), value);
            let shown = o.apply(stored.clone());
            let (dw, dh) = o.display_size(w, h);
            assert_eq!(shown.dimensions(), (dw, dh), "{o}");
            for y in 0..h {
                for x in 0..w {
                    let (sx, sy) = displayed_position(o, x, y, w, h);
                    assert_eq!(shown.pixel(sx, sy), stored.pixel(x, y), "{o} at ({x},{y})");
                }
            }
        }
        assert_eq!(Orientation::from_exif(0), None);
        assert_eq!(Orientation::from_exif(9), None);
    }
}

//! `Rgba8Image`: the one pixel type this crate hands out — 8-bit RGBA,
//! straight (not premultiplied) alpha, rows top to bottom, no padding.

use crate::error::PixelBufferError;

/// An 8-bit RGBA image: `width * height * 4` bytes, row-major, no row padding.
/// The length invariant is checked on construction and kept by every method.
#[derive(Clone, PartialEq, Eq)]
pub struct Rgba8Image {
    width: u32,
    height: u32,
    pixels: Vec<u8>,
}

impl Rgba8Image {
    /// Wraps `pixels`, checking that it holds exactly `width * height * 4` bytes.
    pub fn new(width: u32, height: u32, pixels: Vec<u8>) -> Result<Self, PixelBufferError> {
        let expected = u64::from(width)
            .saturating_mul(u64::from(height))
            .saturating_mul(4);
        let actual = pixels.len() as u64;
        if expected != actual {
            return Err(PixelBufferError {
                width,
                height,
                expected,
                actual,
            });
        }
        Ok(Self {
            width,
            height,
            pixels,
        })
    }

    /// Width in pixels.
    pub fn width(&self) -> u32 {
        self.width
    }

    /// Height in pixels.
    pub fn height(&self) -> u32 {
        self.height
    }

    /// `(width, height)`.
    pub fn dimensions(&self) -> (u32, u32) {
        (self.width, self.height)
    }

    /// The pixel bytes, `[r, g, b, a, r, g, b, a, ...]`.
    pub fn pixels(&self) -> &[u8] {
        &self.pixels
    }

    /// Takes the pixel bytes out.
    pub fn into_pixels(self) -> Vec<u8> {
        self.pixels
    }

    /// The `[r, g, b, a]` at `(x, y)`, or `None` outside the image.
    pub fn pixel(&self, x: u32, y: u32) -> Option<[u8; 4]> {
        if x >= self.width || y >= self.height {
            return None;
        }
        let at = (y as usize * self.width as usize + x as usize) * 4;
        let px = self.pixels.get(at..at + 4)?;
        Some([px[0], px[1], px[2], px[3]])
    }

    /// Bytes held by the pixel buffer (what a cache budget counts).
    pub fn byte_len(&self) -> usize {
        self.pixels.len()
    }

    /// True when every pixel has alpha 255.
    pub fn is_opaque(&self) -> bool {
        self.pixels.chunks_exact(4).all(|px| px[3] == u8::MAX)
    }

    /// Converts into `image`'s buffer type without copying.
    pub fn into_image_buffer(self) -> image::RgbaImage {
        let (width, height) = (self.width, self.height);
        image::RgbaImage::from_raw(width, height, self.pixels)
            .expect("invariant: Rgba8Image holds exactly width * height * 4 bytes")
    }

    /// Converts from `image`'s buffer type without copying.
    pub fn from_image_buffer(buffer: image::RgbaImage) -> Self {
        let (width, height) = buffer.dimensions();
        Self {
            width,
            height,
            pixels: buffer.into_raw(),
        }
    }
}

impl std::fmt::Debug for Rgba8Image {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rgba8Image")
            .field("width", &self.width)
            .field("height", &self.height)
            .field("bytes", &self.pixels.len())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn length_is_checked() {
        assert!(Rgba8Image::new(2, 3, vec![0; 24]).is_ok());
        let err = Rgba8Image::new(2, 3, vec![0; 23]).unwrap_err();
        assert_eq!(err.expected, 24);
        assert_eq!(err.actual, 23);
        assert!(Rgba8Image::new(u32::MAX, u32::MAX, Vec::new()).is_err());
        assert!(Rgba8Image::new(0, 7, Vec::new()).is_ok());
    }

    #[test]
    fn pixel_reads_row_major() {
        let pixels: Vec<u8> = (0..24).collect();
        let img = Rgba8Image::new(2, 3, pixels).unwrap();
        assert_eq!(img.pixel(0, 0), Some([0, 1, 2, 3]));
        assert_eq!(img.pixel(1, 0), Some([4, 5, 6, 7]));
        assert_eq!(img.pixel(0, 1), Some([8, 9, 10, 11]));
        assert_eq!(img.pixel(1, 2), Some([20, 21, 22, 23]));
        assert_eq!(img.pixel(2, 0), None);
        assert_eq!(img.pixel(0, 3), None);
        assert!(!img.is_opaque());
        let round = Rgba8Image::from_image_buffer(img.clone().into_image_buffer());
        assert_eq!(round, img);
    }
}

//! Limits on hostile input: input size, declared dimensions, pixel count and
//! decoded bytes, all checked against the header before any pixel buffer is
//! allocated.

use crate::error::DecodeError;
use crate::format::ImageFormat;

/// Limits applied to every decode. The defaults accept a 100-megapixel camera
/// image and refuse anything whose decoded buffer would exceed 512 MiB.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest input (file) accepted, in bytes.
    pub max_input_bytes: u64,
    /// Largest declared width.
    pub max_width: u32,
    /// Largest declared height.
    pub max_height: u32,
    /// Largest declared `width * height`.
    pub max_pixels: u64,
    /// Largest buffer the decoder may fill: checked for the decoder's native
    /// layout (for example 16-bit RGB) and for the RGBA8 result, each.
    pub max_decoded_bytes: u64,
    /// Largest allocation a decoder may make while it reads the header, before
    /// the size is known to be acceptable: bounds metadata that inflates (a
    /// PNG iCCP profile or zTXt chunk can be a decompression bomb of its own).
    /// For PNG it stays the bound of the `png` crate's own buffers (metadata
    /// and one row) for the whole decode.
    pub max_metadata_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_input_bytes: 256 * 1024 * 1024,
            max_width: 32_768,
            max_height: 32_768,
            max_pixels: 120_000_000,
            max_decoded_bytes: 512 * 1024 * 1024,
            max_metadata_bytes: 16 * 1024 * 1024,
        }
    }
}

impl Limits {
    /// Checks the input size, before reading or decoding it.
    pub fn check_input(&self, size: u64) -> Result<(), DecodeError> {
        if size == 0 {
            return Err(DecodeError::Empty);
        }
        if size > self.max_input_bytes {
            return Err(DecodeError::InputTooLarge {
                size,
                limit: self.max_input_bytes,
            });
        }
        Ok(())
    }

    /// Checks what a header declares: `width`, `height`, and the bytes the
    /// decoder's native buffer would take (`native_bytes`). Also checks the
    /// RGBA8 result (`width * height * 4`).
    pub fn check_header(
        &self,
        format: ImageFormat,
        width: u32,
        height: u32,
        native_bytes: u64,
    ) -> Result<(), DecodeError> {
        if width == 0 || height == 0 {
            return Err(DecodeError::ZeroDimension {
                format,
                width,
                height,
            });
        }
        if width > self.max_width || height > self.max_height {
            return Err(DecodeError::DimensionsTooLarge {
                format,
                width,
                height,
                max_width: self.max_width,
                max_height: self.max_height,
            });
        }
        let pixels = u64::from(width) * u64::from(height);
        if pixels > self.max_pixels {
            return Err(DecodeError::TooManyPixels {
                format,
                width,
                height,
                pixels,
                limit: self.max_pixels,
            });
        }
        let bytes = native_bytes.max(pixels.saturating_mul(4));
        if bytes > self.max_decoded_bytes {
            return Err(DecodeError::DecodedTooLarge {
                format,
                bytes,
                limit: self.max_decoded_bytes,
            });
        }
        Ok(())
    }

    /// What the decoders get while the header is read: only the metadata
    /// allocation bound, so that a dimension refusal comes from
    /// [`Limits::check_header`] with the declared size in it.
    pub(crate) fn to_header_limits(self) -> image::Limits {
        let mut limits = image::Limits::default();
        limits.max_image_width = None;
        limits.max_image_height = None;
        limits.max_alloc = Some(self.max_metadata_bytes.min(self.max_decoded_bytes));
        limits
    }

    /// The same limits in the form the `image` crate's decoders enforce
    /// themselves (a second line of defence, inside the decoders).
    pub(crate) fn to_image_limits(self) -> image::Limits {
        let mut limits = image::Limits::default();
        limits.max_image_width = Some(self.max_width);
        limits.max_image_height = Some(self.max_height);
        limits.max_alloc = Some(self.max_decoded_bytes);
        limits
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_accept_a_100_megapixel_photo_and_refuse_a_bomb() {
        let limits = Limits::default();
        assert!(
            limits
                .check_header(ImageFormat::Jpeg, 11_648, 8_736, 11_648 * 8_736 * 3)
                .is_ok()
        );
        let err = limits
            .check_header(ImageFormat::Png, 100_000, 100_000, 40_000_000_000)
            .unwrap_err();
        assert!(
            matches!(err, DecodeError::DimensionsTooLarge { .. }),
            "{err}"
        );
        assert!(err.to_string().contains("100000x100000"), "{err}");
    }

    #[test]
    fn each_limit_is_checked_and_named() {
        let limits = Limits {
            max_input_bytes: 10,
            max_width: 100,
            max_height: 50,
            max_pixels: 1_000,
            max_decoded_bytes: 3_000,
            max_metadata_bytes: 1_000,
        };
        let f = ImageFormat::Png;
        assert_eq!(limits.check_input(0), Err(DecodeError::Empty));
        assert!(matches!(
            limits.check_input(11),
            Err(DecodeError::InputTooLarge {
                size: 11,
                limit: 10
            })
        ));
        assert!(limits.check_input(10).is_ok());
        assert!(matches!(
            limits.check_header(f, 0, 5, 0),
            Err(DecodeError::ZeroDimension { .. })
        ));
        assert!(matches!(
            limits.check_header(f, 101, 1, 404),
            Err(DecodeError::DimensionsTooLarge { .. })
        ));
        assert!(matches!(
            limits.check_header(f, 1, 51, 204),
            Err(DecodeError::DimensionsTooLarge { .. })
        ));
        assert!(matches!(
            limits.check_header(f, 100, 11, 4_400),
            Err(DecodeError::TooManyPixels { pixels: 1_100, .. })
        ));
        // 750 pixels pass the pixel limit; RGBA8 takes 3000 bytes: exactly the limit.
        assert!(limits.check_header(f, 50, 15, 750).is_ok());
        // A 16-bit RGBA native buffer is twice that: refused.
        assert!(matches!(
            limits.check_header(f, 50, 15, 6_000),
            Err(DecodeError::DecodedTooLarge { bytes: 6_000, .. })
        ));
    }
}

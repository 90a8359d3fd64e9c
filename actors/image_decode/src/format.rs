//! The container formats this crate decodes, recognised by their signature
//! (magic bytes), never by the file name.

use std::fmt;

use crate::error::DecodeError;

/// A supported container format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ImageFormat {
    /// JPEG (baseline and progressive).
    Jpeg,
    /// PNG, including 16-bit, grey, palette and interlaced images.
    Png,
    /// WebP, lossy and lossless (first frame of an animation).
    WebP,
    /// GIF (first frame).
    Gif,
    /// Windows bitmap.
    Bmp,
    /// TIFF (baseline, with the compressions the `tiff` crate reads).
    Tiff,
}

impl ImageFormat {
    /// Every supported format.
    pub const ALL: [Self; 6] = [
        Self::Jpeg,
        Self::Png,
        Self::WebP,
        Self::Gif,
        Self::Bmp,
        Self::Tiff,
    ];

    /// Lower-case name, as in `warden decode --json` (`"jpeg"`, `"png"`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Jpeg => "jpeg",
            Self::Png => "png",
            Self::WebP => "webp",
            Self::Gif => "gif",
            Self::Bmp => "bmp",
            Self::Tiff => "tiff",
        }
    }

    /// Recognises the format from the first bytes of the data.
    pub fn detect(bytes: &[u8]) -> Result<Self, DecodeError> {
        if bytes.is_empty() {
            return Err(DecodeError::Empty);
        }
        match image::guess_format(bytes) {
            Ok(found) => Self::from_image(found).ok_or_else(|| DecodeError::UnsupportedFormat {
                format: format!("{found:?}"),
            }),
            Err(_) => Err(match truncated_signature(bytes) {
                Some(format) => DecodeError::Truncated {
                    format,
                    detail: format!(
                        "the file ends after {} bytes, inside the signature",
                        bytes.len()
                    ),
                },
                None => DecodeError::UnknownFormat {
                    magic: hex_prefix(bytes),
                },
            }),
        }
    }

    /// Maps `image`'s format to ours; `None` for formats we do not decode.
    fn from_image(format: image::ImageFormat) -> Option<Self> {
        match format {
            image::ImageFormat::Jpeg => Some(Self::Jpeg),
            image::ImageFormat::Png => Some(Self::Png),
            image::ImageFormat::WebP => Some(Self::WebP),
            image::ImageFormat::Gif => Some(Self::Gif),
            image::ImageFormat::Bmp => Some(Self::Bmp),
            image::ImageFormat::Tiff => Some(Self::Tiff),
            _ => None,
        }
    }

    /// The same format in `image`'s terms.
    pub(crate) fn to_image(self) -> image::ImageFormat {
        match self {
            Self::Jpeg => image::ImageFormat::Jpeg,
            Self::Png => image::ImageFormat::Png,
            Self::WebP => image::ImageFormat::WebP,
            Self::Gif => image::ImageFormat::Gif,
            Self::Bmp => image::ImageFormat::Bmp,
            Self::Tiff => image::ImageFormat::Tiff,
        }
    }
}

impl fmt::Display for ImageFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Jpeg => "JPEG",
            Self::Png => "PNG",
            Self::WebP => "WebP",
            Self::Gif => "GIF",
            Self::Bmp => "BMP",
            Self::Tiff => "TIFF",
        })
    }
}

/// Signatures of the supported formats, long enough that a shorter file
/// which starts like one is a truncated file of that format.
const SIGNATURES: [(&[u8], ImageFormat); 7] = [
    (b"RIFF", ImageFormat::WebP),
    (b"\x89PNG\r\n\x1a\n", ImageFormat::Png),
    (b"\xFF\xD8\xFF", ImageFormat::Jpeg),
    (b"GIF87a", ImageFormat::Gif),
    (b"GIF89a", ImageFormat::Gif),
    (b"II*\0", ImageFormat::Tiff),
    (b"MM\0*", ImageFormat::Tiff),
];

/// The format whose signature `bytes` is a proper prefix of (at least two
/// bytes, so that a lone `B` or `I` is not taken for one).
fn truncated_signature(bytes: &[u8]) -> Option<ImageFormat> {
    if bytes.len() < 2 {
        return None;
    }
    // WebP: "RIFF", a 4-byte size (anything), then "WEBP".
    if bytes.len() < 12 && bytes.starts_with(b"RIFF") {
        let tail = bytes.get(8..).unwrap_or_default();
        return b"WEBP".starts_with(tail).then_some(ImageFormat::WebP);
    }
    SIGNATURES
        .iter()
        .find(|(sig, _)| bytes.len() < sig.len() && sig.starts_with(bytes))
        .map(|&(_, format)| format)
}

/// The first (up to) 8 bytes as hex, for error messages.
fn hex_prefix(bytes: &[u8]) -> String {
    let shown: Vec<String> = bytes.iter().take(8).map(|b| format!("{b:02x}")).collect();
    shown.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_are_recognised() {
        let cases: [(&[u8], ImageFormat); 7] = [
            (b"\xFF\xD8\xFF\xE0rest", ImageFormat::Jpeg),
            (b"\x89PNG\r\n\x1a\n....", ImageFormat::Png),
            (b"RIFF\0\0\0\0WEBPVP8 ", ImageFormat::WebP),
            (b"GIF89a....", ImageFormat::Gif),
            (b"BM......", ImageFormat::Bmp),
            (b"II*\0....", ImageFormat::Tiff),
            (b"MM\0*....", ImageFormat::Tiff),
        ];
        for (bytes, want) in cases {
            assert_eq!(ImageFormat::detect(bytes), Ok(want), "{bytes:?}");
        }
    }

    #[test]
    fn unknown_and_unsupported_formats_are_named() {
        let err = ImageFormat::detect(b"hello, world").unwrap_err();
        assert_eq!(
            err.to_string(),
            "not an image in a known format (first bytes: 68 65 6c 6c 6f 2c 20 77)"
        );
        // QOI is recognised by `image` but not decoded here.
        let err = ImageFormat::detect(b"qoif\0\0\0\x01\0\0\0\x01\x04\0").unwrap_err();
        assert!(
            matches!(err, DecodeError::UnsupportedFormat { .. }),
            "{err}"
        );
        assert_eq!(ImageFormat::detect(b""), Err(DecodeError::Empty));
        for cut in [
            b"\x89PNG".as_slice(),
            b"\xFF\xD8",
            b"GIF8",
            b"II*",
            b"RIF",
            b"RIFF",
            b"RIFF\0\0\0\0WE",
        ] {
            let err = ImageFormat::detect(cut).unwrap_err();
            assert!(
                matches!(err, DecodeError::Truncated { .. }),
                "{cut:?}: {err}"
            );
        }
    }

    #[test]
    fn names_round_trip() {
        for f in ImageFormat::ALL {
            assert_eq!(f.as_str(), f.to_string().to_lowercase());
            assert_eq!(ImageFormat::from_image(f.to_image()), Some(f));
        }
    }
}

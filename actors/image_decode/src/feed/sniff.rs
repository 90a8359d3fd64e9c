//! Is this body an image? The first bytes' signature (magic number) decides,
//! never the URL or the `Content-Type`; it also names the mirror file's
//! extension.

use crate::format::ImageFormat;

/// The image format whose signature `bytes` starts with, if any.
pub(crate) fn sniff(bytes: &[u8]) -> Option<ImageFormat> {
    let format = if bytes.starts_with(b"\xFF\xD8\xFF") {
        ImageFormat::Jpeg
    } else if bytes.starts_with(b"\x89PNG") {
        ImageFormat::Png
    } else if bytes.starts_with(b"GIF8") {
        ImageFormat::Gif
    } else if bytes.starts_with(b"RIFF") && bytes.get(8..12) == Some(b"WEBP") {
        ImageFormat::WebP
    } else if bytes.starts_with(b"BM") {
        ImageFormat::Bmp
    } else if bytes.starts_with(b"II*\0") || bytes.starts_with(b"MM\0*") {
        ImageFormat::Tiff
    } else {
        return None;
    };
    Some(format)
}

/// The file extension the mirror gives an image of `format`.
pub(crate) fn extension(format: ImageFormat) -> &'static str {
    match format {
        ImageFormat::Jpeg => "jpg",
        ImageFormat::Png => "png",
        ImageFormat::WebP => "webp",
        ImageFormat::Gif => "gif",
        ImageFormat::Bmp => "bmp",
        ImageFormat::Tiff => "tif",
    }
}

/// Every extension [`extension`] returns.
pub(crate) const EXTENSIONS: [&str; 6] = ["jpg", "png", "webp", "gif", "bmp", "tif"];

/// The first (up to) 8 bytes as hex, for error messages.
pub(crate) fn hex_prefix(bytes: &[u8]) -> String {
    if bytes.is_empty() {
        return "none, the body is empty".to_owned();
    }
    let shown: Vec<String> = bytes.iter().take(8).map(|b| format!("{b:02x}")).collect();
    shown.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_name_the_format_and_extension() {
        let cases: [(&[u8], &str); 7] = [
            (b"\xFF\xD8\xFF\xE0....", "jpg"),
            (b"\x89PNG\r\n\x1a\n", "png"),
            (b"GIF89a..", "gif"),
            (b"RIFF\x10\0\0\0WEBPVP8 ", "webp"),
            (b"BM......", "bmp"),
            (b"II*\0....", "tif"),
            (b"MM\0*....", "tif"),
        ];
        for (bytes, want) in cases {
            let format = sniff(bytes).unwrap_or_else(|| panic!("{bytes:?} not sniffed"));
            assert_eq!(extension(format), want);
            assert!(EXTENSIONS.contains(&want));
        }
    }

    #[test]
    fn other_bodies_are_not_images() {
        for bytes in [
            b"".as_slice(),
            b"<html><body>404</body></html>",
            b"RIFF\x10\0\0\0WAVEfmt ",
            b"\xFF\xD8",
            b"{\"version\": 1}",
        ] {
            assert_eq!(sniff(bytes), None, "{bytes:?}");
        }
        assert_eq!(hex_prefix(b"<html>ABC"), "3c 68 74 6d 6c 3e 41 42");
        assert_eq!(hex_prefix(b""), "none, the body is empty");
    }
}

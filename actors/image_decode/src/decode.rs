//! Decoding: bytes or a file to an RGBA8 image in display orientation. The
//! header is read first and checked against [`Limits`] before any pixel buffer
//! is allocated; decoder panics are caught and reported as errors.

use std::io::Cursor;
use std::path::Path;

use image::{DynamicImage, ImageDecoder, ImageReader};

use crate::error::DecodeError;
use crate::format::ImageFormat;
use crate::limits::Limits;
use crate::orientation::{self, Orientation};
use crate::rgba::Rgba8Image;
use crate::{classify, convert, jpeg_markers, webp_riff};

/// A decoded image and what its file said about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodedImage {
    /// The container format.
    pub format: ImageFormat,
    /// Width as stored in the file (before orientation).
    pub source_width: u32,
    /// Height as stored in the file (before orientation).
    pub source_height: u32,
    /// The stored pixel layout, as `image` names it (`"rgb8"`, `"l16"`,
    /// `"rgba8"`, ...). Palette images are reported after expansion.
    pub source_color: &'static str,
    /// The EXIF orientation, already applied to `image`.
    pub orientation: Orientation,
    /// The pixels, RGBA8, displayed orientation (and prescaled, when the
    /// image came from [`crate::load_bytes`] with a [`crate::ScaleSpec`]).
    pub image: Rgba8Image,
}

impl AsRef<crate::rgba::Rgba8Image> for DecodedImage {
    fn as_ref(&self) -> &Rgba8Image {
        &self.image
    }
}

/// What a decoder produced before conversion: its native pixel layout.
pub(crate) struct Native {
    pub(crate) format: ImageFormat,
    pub(crate) width: u32,
    pub(crate) height: u32,
    pub(crate) color: &'static str,
    pub(crate) orientation: Orientation,
    pub(crate) pixels: DynamicImage,
}

impl Native {
    /// Converts to RGBA8 (no copy when it already is) and applies the orientation.
    pub(crate) fn into_decoded(self) -> DecodedImage {
        let rgba = convert::to_rgba8(self.pixels);
        DecodedImage {
            format: self.format,
            source_width: self.width,
            source_height: self.height,
            source_color: self.color,
            orientation: self.orientation,
            image: self.orientation.apply(rgba),
        }
    }
}

/// Decodes an image held in memory to RGBA8, orientation applied.
pub fn decode_bytes(bytes: &[u8], limits: &Limits) -> Result<DecodedImage, DecodeError> {
    decode_native(bytes, limits).map(Native::into_decoded)
}

/// Reads and decodes an image file to RGBA8, orientation applied. The file
/// size is checked against [`Limits::max_input_bytes`] before it is read.
pub fn decode_file(path: impl AsRef<Path>, limits: &Limits) -> Result<DecodedImage, DecodeError> {
    let bytes = read_file(path.as_ref(), limits)?;
    decode_bytes(&bytes, limits)
}

/// Reads a file whole, refusing it by its size before reading.
pub fn read_file(path: &Path, limits: &Limits) -> Result<Vec<u8>, DecodeError> {
    let meta = std::fs::metadata(path).map_err(|e| DecodeError::io(&e))?;
    if meta.is_dir() {
        return Err(DecodeError::Io {
            kind: std::io::ErrorKind::IsADirectory,
            detail: "it is a directory".to_owned(),
        });
    }
    limits.check_input(meta.len())?;
    let bytes = std::fs::read(path).map_err(|e| DecodeError::io(&e))?;
    // The file may have grown between the two calls.
    limits.check_input(bytes.len() as u64)?;
    Ok(bytes)
}

/// Decodes to the decoder's native layout. Every step that runs decoder code
/// is inside `catch_unwind`: a panic in a decoder crate becomes an error.
pub(crate) fn decode_native(bytes: &[u8], limits: &Limits) -> Result<Native, DecodeError> {
    limits.check_input(bytes.len() as u64)?;
    let format = ImageFormat::detect(bytes)?;
    if format == ImageFormat::Jpeg {
        // zune-jpeg (behind `image`) pads a truncated scan with grey and
        // reports success; the marker walk finds the missing end first.
        // (WebP: see `webp_riff` for why its chunks are walked.)
        jpeg_markers::check_complete(bytes)?;
    }
    if format == ImageFormat::WebP {
        webp_riff::check(bytes, limits)?;
    }
    crate::contain::contain(|| decode_unguarded(bytes, format, limits)).unwrap_or_else(|detail| {
        // The caller gets the error; logging it is the caller's choice.
        tracing::debug!(%format, %detail, "decoder panicked; input refused");
        Err(DecodeError::DecoderPanicked { format, detail })
    })
}

fn decode_unguarded(
    bytes: &[u8],
    format: ImageFormat,
    limits: &Limits,
) -> Result<Native, DecodeError> {
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format.to_image());
    reader.limits(limits.to_header_limits());
    let mut decoder = reader
        .into_decoder()
        .map_err(|e| classify::image_error(format, e))?;

    let (width, height) = decoder.dimensions();
    limits.check_header(format, width, height, decoder.total_bytes())?;
    // Now the decoder enforces the full limits itself as well.
    decoder
        .set_limits(limits.to_image_limits())
        .map_err(|e| classify::image_error(format, e))?;

    let color = color_name(decoder.color_type());
    let orientation = orientation::read(&mut decoder);
    let pixels =
        DynamicImage::from_decoder(decoder).map_err(|e| classify::image_error(format, e))?;
    Ok(Native {
        format,
        width,
        height,
        color,
        orientation,
        pixels,
    })
}

fn color_name(color: image::ColorType) -> &'static str {
    use image::ColorType as C;
    match color {
        C::L8 => "l8",
        C::La8 => "la8",
        C::Rgb8 => "rgb8",
        C::Rgba8 => "rgba8",
        C::L16 => "l16",
        C::La16 => "la16",
        C::Rgb16 => "rgb16",
        C::Rgba16 => "rgba16",
        C::Rgb32F => "rgb32f",
        C::Rgba32F => "rgba32f",
        _ => "other",
    }
}

//! Maps `image`'s errors onto [`DecodeError`]: truncated, corrupt,
//! unsupported or over a limit, with the decoder's own words as the detail.

use std::error::Error;
use std::io;

use image::ImageError;

use crate::error::DecodeError;
use crate::format::ImageFormat;

/// Phrases decoders use when the data runs out (png, gif, tiff, image-webp,
/// the BMP decoder, zune-jpeg), lower-cased.
const END_OF_DATA: [&str; 7] = [
    "unexpected eof",
    "unexpected end",
    "end of file",
    "failed to fill whole buffer",
    "no more data",
    "not enough data",
    "truncated",
];

/// Classifies an error from `image` for an input of `format`.
pub(crate) fn image_error(format: ImageFormat, error: ImageError) -> DecodeError {
    let detail = innermost_message(&error);
    match error {
        ImageError::Limits(_) => DecodeError::DecoderLimit { format, detail },
        ImageError::Unsupported(_) => DecodeError::UnsupportedFeature { format, detail },
        ImageError::IoError(ref e) if e.kind() != io::ErrorKind::UnexpectedEof => {
            DecodeError::Corrupt { format, detail }
        }
        error if ran_out_of_data(&error) => DecodeError::Truncated { format, detail },
        _ => DecodeError::Corrupt { format, detail },
    }
}

/// True when any error in the chain is an unexpected end of data.
fn ran_out_of_data(error: &(dyn Error + 'static)) -> bool {
    let mut current: Option<&(dyn Error + 'static)> = Some(error);
    while let Some(e) = current {
        if let Some(io) = e.downcast_ref::<io::Error>()
            && io.kind() == io::ErrorKind::UnexpectedEof
        {
            return true;
        }
        let text = e.to_string().to_lowercase();
        if END_OF_DATA.iter().any(|phrase| text.contains(phrase)) {
            return true;
        }
        current = e.source();
    }
    false
}

/// The message of the deepest error in the chain: `image`'s outer layers
/// only repeat the format ("Format error decoding Png: ...").
fn innermost_message(error: &(dyn Error + 'static)) -> String {
    let mut deepest = error;
    while let Some(next) = deepest.source() {
        deepest = next;
    }
    let text = deepest.to_string();
    let text = text.trim();
    if text.is_empty() {
        error.to_string()
    } else {
        text.replace('\n', " ")
    }
}

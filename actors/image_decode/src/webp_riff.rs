//! The WebP RIFF container, walked before decoding: a file shorter than its
//! header says is truncated (the bitstream decoder would call it a "corrupt
//! bitstream"), and every chunk must fit inside the container. image-webp
//! 0.2.4 allocates a metadata chunk by its declared size when it is read
//! (found by fuzzing: a 271-byte file whose EXIF chunk claimed 3.8 GB), so
//! that size is checked here first, and metadata chunks are held to
//! [`Limits::max_metadata_bytes`].

use crate::error::DecodeError;
use crate::format::ImageFormat;
use crate::limits::Limits;

/// Chunks that hold metadata, read whole into memory by image-webp.
const METADATA_CHUNKS: [&[u8; 4]; 3] = [b"EXIF", b"XMP ", b"ICCP"];

fn corrupt(detail: String) -> DecodeError {
    DecodeError::Corrupt {
        format: ImageFormat::WebP,
        detail,
    }
}

/// Checks the RIFF length against the file and each top-level chunk's
/// length against the container.
pub(crate) fn check(bytes: &[u8], limits: &Limits) -> Result<(), DecodeError> {
    let Some(size) = bytes.get(4..8) else {
        return Err(DecodeError::Truncated {
            format: ImageFormat::WebP,
            detail: format!(
                "the file ends at byte {} inside the RIFF header",
                bytes.len()
            ),
        });
    };
    let declared = u64::from(u32::from_le_bytes([size[0], size[1], size[2], size[3]])) + 8;
    let actual = bytes.len() as u64;
    if actual < declared {
        return Err(DecodeError::Truncated {
            format: ImageFormat::WebP,
            detail: format!("the RIFF header declares {declared} bytes, the file has {actual}"),
        });
    }
    // `declared <= actual`, so it fits in usize.
    let end = usize::try_from(declared).unwrap_or(bytes.len());
    let mut at = 12;
    while let Some(header) = bytes.get(at..at + 8).filter(|_| at + 8 <= end) {
        let fourcc = [header[0], header[1], header[2], header[3]];
        let length = u32::from_le_bytes([header[4], header[5], header[6], header[7]]);
        let room = end - at - 8;
        let name = String::from_utf8_lossy(&fourcc).trim_end().to_owned();
        if u64::from(length) > room as u64 {
            return Err(corrupt(format!(
                "chunk {name} at byte {at} declares {length} bytes, {room} remain in the container"
            )));
        }
        if METADATA_CHUNKS.contains(&&fourcc) && u64::from(length) > limits.max_metadata_bytes {
            return Err(DecodeError::DecoderLimit {
                format: ImageFormat::WebP,
                detail: format!(
                    "{name} chunk of {length} bytes, over the metadata limit of {}",
                    limits.max_metadata_bytes
                ),
            });
        }
        // Chunks are padded to an even length.
        at += 8 + length as usize + (length as usize & 1);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunk(fourcc: &[u8; 4], declared: u32, body: &[u8]) -> Vec<u8> {
        let mut out = fourcc.to_vec();
        out.extend_from_slice(&declared.to_le_bytes());
        out.extend_from_slice(body);
        if body.len() % 2 == 1 {
            out.push(0);
        }
        out
    }

    fn riff(chunks: &[Vec<u8>]) -> Vec<u8> {
        let body: Vec<u8> = chunks.concat();
        let mut out = b"RIFF".to_vec();
        out.extend_from_slice(&u32::try_from(body.len() + 4).unwrap().to_le_bytes());
        out.extend_from_slice(b"WEBP");
        out.extend(body);
        out
    }

    #[test]
    fn whole_files_pass_and_short_ones_are_truncated() {
        let file = riff(&[chunk(b"VP8L", 5, &[0x2F, 0, 0, 0, 0])]);
        let limits = Limits::default();
        assert!(check(&file, &limits).is_ok());
        for cut in [4, 5, 12, file.len() - 1] {
            assert!(
                matches!(
                    check(&file[..cut], &limits),
                    Err(DecodeError::Truncated { .. })
                ),
                "cut {cut}"
            );
        }
    }

    #[test]
    fn a_chunk_larger_than_its_container_is_refused_before_allocation() {
        let limits = Limits::default();
        let file = riff(&[
            chunk(b"VP8L", 5, &[0x2F, 0, 0, 0, 0]),
            chunk(b"EXIF", 0xE700_001A, &[0; 6]),
        ]);
        let err = check(&file, &limits).unwrap_err();
        assert!(matches!(err, DecodeError::Corrupt { .. }), "{err}");
        assert!(
            err.to_string()
                .contains("chunk EXIF at byte 26 declares 3875536922 bytes"),
            "{err}"
        );

        let small = Limits {
            max_metadata_bytes: 4,
            ..Limits::default()
        };
        let file = riff(&[chunk(b"XMP ", 6, &[1; 6])]);
        assert!(matches!(
            check(&file, &small),
            Err(DecodeError::DecoderLimit { .. })
        ));
        assert!(check(&file, &limits).is_ok());
    }
}

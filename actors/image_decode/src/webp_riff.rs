//! The WebP RIFF container's declared length, checked before decoding: a
//! file shorter than its header says is truncated, whatever the bitstream
//! decoder then makes of the missing tail (it reports a "corrupt bitstream").

use crate::error::DecodeError;
use crate::format::ImageFormat;

/// Fails with [`DecodeError::Truncated`] when `bytes` is shorter than the
/// RIFF header declares.
pub(crate) fn check_complete(bytes: &[u8]) -> Result<(), DecodeError> {
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
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_files_are_truncated_and_whole_ones_pass() {
        let mut file = b"RIFF\x0c\0\0\0WEBPVP8L".to_vec();
        file.extend_from_slice(&[0; 4]);
        assert!(check_complete(&file[..20]).is_ok());
        assert!(matches!(
            check_complete(&file[..19]),
            Err(DecodeError::Truncated { .. })
        ));
        assert!(matches!(
            check_complete(b"RIFF\x0c"),
            Err(DecodeError::Truncated { .. })
        ));
    }
}

//! A walk over a JPEG's marker segments, from SOI to EOI, that finds a
//! truncated file before decoding. The decoder behind `image` (zune-jpeg, in
//! its lenient mode) fills a missing scan tail with grey and reports success,
//! so truncation has to be caught here.

use crate::error::DecodeError;
use crate::format::ImageFormat;

const SOS: u8 = 0xDA;
const EOI: u8 = 0xD9;

fn truncated(detail: String) -> DecodeError {
    DecodeError::Truncated {
        format: ImageFormat::Jpeg,
        detail,
    }
}

/// Succeeds when the segments chain from the start-of-image marker to an
/// end-of-image marker inside `bytes`. Lenient about what decoders tolerate
/// (fill bytes, stray bytes between segments, data after EOI).
pub(crate) fn check_complete(bytes: &[u8]) -> Result<(), DecodeError> {
    if !bytes.starts_with(&[0xFF, 0xD8]) {
        return Err(DecodeError::Corrupt {
            format: ImageFormat::Jpeg,
            detail: "no start-of-image marker".to_owned(),
        });
    }
    let len = bytes.len();
    let mut pos = 2;
    loop {
        // Find the next marker prefix; skip anything else (decoders do too).
        match memchr::memchr(0xFF, bytes.get(pos..).unwrap_or_default()) {
            Some(skip) => pos += skip,
            None => {
                return Err(truncated(format!(
                    "the file ends at byte {len} without an end-of-image marker"
                )));
            }
        }
        while pos < len && bytes[pos] == 0xFF {
            pos += 1;
        }
        let Some(&marker) = bytes.get(pos) else {
            return Err(truncated(format!(
                "the file ends inside a marker at byte {len}"
            )));
        };
        let marker_at = pos - 1;
        pos += 1;
        match marker {
            EOI => return Ok(()),
            // Markers without a length field.
            0x00 | 0x01 | 0xD0..=0xD8 => continue,
            // Reserved codes: no writer emits these, so the bytes are damaged.
            0x02..=0xBF => {
                return Err(DecodeError::Corrupt {
                    format: ImageFormat::Jpeg,
                    detail: format!("invalid marker 0xFF{marker:02X} at byte {marker_at}"),
                });
            }
            _ => {}
        }
        let Some(length_bytes) = bytes.get(pos..pos + 2) else {
            return Err(truncated(format!(
                "the file ends in the length of the segment at byte {marker_at}"
            )));
        };
        let length = usize::from(u16::from_be_bytes([length_bytes[0], length_bytes[1]]));
        if length < 2 {
            return Err(DecodeError::Corrupt {
                format: ImageFormat::Jpeg,
                detail: format!("segment 0xFF{marker:02X} at byte {marker_at} has length {length}"),
            });
        }
        if pos + length > len {
            return Err(truncated(format!(
                "segment 0xFF{marker:02X} at byte {marker_at} needs {length} bytes, {} remain",
                len - pos
            )));
        }
        pos += length;
        if marker == SOS {
            pos = end_of_scan(bytes, pos).ok_or_else(|| {
                truncated(format!(
                    "the scan starting at byte {marker_at} ends with the file, before an end-of-image marker"
                ))
            })?;
        }
    }
}

/// Position of the first marker after entropy-coded data starting at `pos`:
/// a 0xFF followed by neither a stuffed 0x00 nor a restart marker.
fn end_of_scan(bytes: &[u8], mut pos: usize) -> Option<usize> {
    loop {
        pos += memchr::memchr(0xFF, bytes.get(pos..)?)?;
        match bytes.get(pos + 1)? {
            0x00 | 0xD0..=0xD7 | 0xFF => pos += 1,
            _ => return Some(pos),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jpeg(width: u32, height: u32) -> Vec<u8> {
        let pixels: Vec<u8> = (0..width * height * 3)
            .map(|i| (i * 7 % 251) as u8)
            .collect();
        let mut out = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 85)
            .encode(&pixels, width, height, image::ExtendedColorType::Rgb8)
            .unwrap();
        out
    }

    #[test]
    fn a_whole_file_passes_and_every_cut_is_refused() {
        let whole = jpeg(24, 16);
        check_complete(&whole).unwrap();
        for cut in 2..whole.len() - 1 {
            let err = check_complete(&whole[..cut]).unwrap_err();
            assert!(
                matches!(err, DecodeError::Truncated { .. }),
                "cut {cut}: {err}"
            );
        }
    }

    #[test]
    fn trailing_bytes_after_eoi_and_thumbnails_inside_app1_are_fine() {
        let mut with_tail = jpeg(8, 8);
        with_tail.extend_from_slice(b"trailing junk");
        check_complete(&with_tail).unwrap();

        // An APP1 segment holding a whole JPEG (an EXIF thumbnail) must be
        // skipped by its length: its EOI is not the file's EOI.
        let thumb = jpeg(4, 4);
        let main = jpeg(8, 8);
        let mut file = vec![0xFF, 0xD8, 0xFF, 0xE1];
        file.extend_from_slice(&u16::try_from(thumb.len() + 2).unwrap().to_be_bytes());
        file.extend_from_slice(&thumb);
        file.extend_from_slice(&main[2..]);
        check_complete(&file).unwrap();
        let cut = &file[..file.len() - 10];
        assert!(matches!(
            check_complete(cut),
            Err(DecodeError::Truncated { .. })
        ));
    }

    #[test]
    fn a_zero_length_segment_is_corrupt() {
        let bytes = [0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x01, 0xFF, 0xD9];
        assert!(matches!(
            check_complete(&bytes),
            Err(DecodeError::Corrupt { .. })
        ));
    }
}

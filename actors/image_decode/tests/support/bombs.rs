//! Hostile files, built by hand: headers that claim enormous sizes for every
//! format, a real PNG decompression bomb, and a PNG whose ICC profile chunk
//! inflates to hundreds of megabytes. Shared by `hostile.rs` and
//! `bomb_memory.rs` (included with `#[path]`).

#![allow(dead_code, clippy::unwrap_used)]

use std::io::Write;

/// A PNG chunk with its length and CRC.
pub(crate) fn png_chunk(kind: &[u8; 4], body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len() + 12);
    out.extend_from_slice(&u32::try_from(body.len()).unwrap().to_be_bytes());
    out.extend_from_slice(kind);
    out.extend_from_slice(body);
    let mut crc = crc32fast::Hasher::new();
    crc.update(kind);
    crc.update(body);
    out.extend_from_slice(&crc.finalize().to_be_bytes());
    out
}

fn ihdr(width: u32, height: u32, depth: u8, color: u8) -> Vec<u8> {
    let mut body = Vec::new();
    body.extend_from_slice(&width.to_be_bytes());
    body.extend_from_slice(&height.to_be_bytes());
    body.extend_from_slice(&[depth, color, 0, 0, 0]);
    png_chunk(b"IHDR", &body)
}

/// zlib stream of `len` zero bytes, compressed in 1 MiB pieces.
pub(crate) fn zlib_zeros(len: usize) -> Vec<u8> {
    let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
    let block = vec![0u8; 1 << 20];
    let mut left = len;
    while left > 0 {
        let n = left.min(block.len());
        encoder.write_all(&block[..n]).unwrap();
        left -= n;
    }
    encoder.finish().unwrap()
}

const PNG_SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";

/// A PNG whose header claims `width x height` RGBA8, with a little data.
pub(crate) fn png_header_bomb(width: u32, height: u32) -> Vec<u8> {
    let mut out = PNG_SIGNATURE.to_vec();
    out.extend(ihdr(width, height, 8, 6));
    out.extend(png_chunk(b"IDAT", &zlib_zeros(4096)));
    out.extend(png_chunk(b"IEND", b""));
    out
}

/// A complete, valid grey PNG of `width x height` zeros: tiny on disk, huge
/// decoded (the classic decompression bomb).
pub(crate) fn png_zero_bomb(width: u32, height: u32) -> Vec<u8> {
    let raw = (width as usize + 1) * height as usize; // a filter byte per row
    let mut out = PNG_SIGNATURE.to_vec();
    out.extend(ihdr(width, height, 8, 0));
    out.extend(png_chunk(b"IDAT", &zlib_zeros(raw)));
    out.extend(png_chunk(b"IEND", b""));
    out
}

/// A valid 1x1 PNG carrying an iCCP chunk that inflates to `inflated` bytes.
pub(crate) fn png_iccp_bomb(inflated: usize) -> Vec<u8> {
    let mut out = PNG_SIGNATURE.to_vec();
    out.extend(ihdr(1, 1, 8, 0));
    let mut iccp = b"bomb\0\0".to_vec();
    iccp.extend(zlib_zeros(inflated));
    out.extend(png_chunk(b"iCCP", &iccp));
    out.extend(png_chunk(b"IDAT", &zlib_zeros(2)));
    out.extend(png_chunk(b"IEND", b""));
    out
}

/// A real 8x8 JPEG whose SOF0 segment is patched to claim `width x height`.
pub(crate) fn jpeg_sof_bomb(width: u16, height: u16) -> Vec<u8> {
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 80)
        .encode(&[90u8; 8 * 8 * 3], 8, 8, image::ExtendedColorType::Rgb8)
        .unwrap();
    let sof = out.windows(2).position(|w| w == [0xFF, 0xC0]).unwrap();
    // FF C0, length (2), precision (1), height (2), width (2)
    out[sof + 5..sof + 7].copy_from_slice(&height.to_be_bytes());
    out[sof + 7..sof + 9].copy_from_slice(&width.to_be_bytes());
    out
}

/// A GIF whose logical screen is `width x height`, with one 1x1 frame.
pub(crate) fn gif_screen_bomb(width: u16, height: u16) -> Vec<u8> {
    let mut out = b"GIF89a".to_vec();
    out.extend_from_slice(&width.to_le_bytes());
    out.extend_from_slice(&height.to_le_bytes());
    out.extend_from_slice(&[0x80, 0, 0]); // global palette of 2 entries
    out.extend_from_slice(&[0, 0, 0, 255, 255, 255]);
    out.extend_from_slice(&[0x2C, 0, 0, 0, 0, 1, 0, 1, 0, 0]); // 1x1 image descriptor
    out.extend_from_slice(&[2, 2, 0x4C, 0x01, 0, 0x3B]); // LZW data, trailer
    out
}

/// A BMP (BITMAPINFOHEADER, 32 bpp) claiming `width x height`.
pub(crate) fn bmp_header_bomb(width: i32, height: i32) -> Vec<u8> {
    let mut out = b"BM".to_vec();
    out.extend_from_slice(&(54u32 + 16).to_le_bytes()); // file size (a lie)
    out.extend_from_slice(&[0, 0, 0, 0]);
    out.extend_from_slice(&54u32.to_le_bytes()); // pixel data offset
    out.extend_from_slice(&40u32.to_le_bytes());
    out.extend_from_slice(&width.to_le_bytes());
    out.extend_from_slice(&height.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes()); // planes
    out.extend_from_slice(&32u16.to_le_bytes()); // bpp
    out.extend_from_slice(&[0; 24]); // compression, sizes, resolution, palette
    out.extend_from_slice(&[0; 16]);
    out
}

/// A little-endian TIFF (grey, 8 bit, one strip) claiming `width x height`.
pub(crate) fn tiff_header_bomb(width: u32, height: u32) -> Vec<u8> {
    let entries: [(u16, u16, u32); 9] = [
        (256, 4, width),              // ImageWidth, LONG
        (257, 4, height),             // ImageLength
        (258, 3, 8),                  // BitsPerSample
        (259, 3, 1),                  // Compression: none
        (262, 3, 1),                  // Photometric: black is zero
        (273, 4, 8 + 2 + 9 * 12 + 4), // StripOffsets: right after the IFD
        (277, 3, 1),                  // SamplesPerPixel
        (278, 4, height),             // RowsPerStrip
        (279, 4, 16),                 // StripByteCounts
    ];
    let mut out = b"II*\0".to_vec();
    out.extend_from_slice(&8u32.to_le_bytes());
    out.extend_from_slice(&u16::try_from(entries.len()).unwrap().to_le_bytes());
    for (tag, kind, value) in entries {
        out.extend_from_slice(&tag.to_le_bytes());
        out.extend_from_slice(&kind.to_le_bytes());
        out.extend_from_slice(&1u32.to_le_bytes());
        if kind == 3 {
            out.extend_from_slice(&u16::try_from(value).unwrap().to_le_bytes());
            out.extend_from_slice(&[0, 0]);
        } else {
            out.extend_from_slice(&value.to_le_bytes());
        }
    }
    out.extend_from_slice(&0u32.to_le_bytes()); // no next IFD
    out.extend_from_slice(&[0; 16]);
    out
}

/// A lossless WebP (VP8L) claiming `width x height` (at most 16383 a side:
/// image-webp 0.2.4 reads the format's maximum, 16384, as 0).
pub(crate) fn webp_vp8l_bomb(width: u32, height: u32) -> Vec<u8> {
    let bits: u32 = (width - 1) | ((height - 1) << 14); // alpha 0, version 0
    let mut vp8l = vec![0x2F];
    vp8l.extend_from_slice(&bits.to_le_bytes());
    vp8l.extend_from_slice(&[0; 16]);
    let mut out = b"RIFF".to_vec();
    let riff_size = 4 + 8 + vp8l.len();
    out.extend_from_slice(&u32::try_from(riff_size).unwrap().to_le_bytes());
    out.extend_from_slice(b"WEBPVP8L");
    out.extend_from_slice(&u32::try_from(vp8l.len()).unwrap().to_le_bytes());
    out.extend_from_slice(&vp8l);
    out
}

/// Every header bomb, named, each claiming far more than the default limits.
pub(crate) fn header_bombs() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("png 100000x100000", png_header_bomb(100_000, 100_000)),
        ("jpeg 65000x65000", jpeg_sof_bomb(65_000, 65_000)),
        ("gif 65535x65535", gif_screen_bomb(65_535, 65_535)),
        ("bmp 30000x30000", bmp_header_bomb(30_000, 30_000)),
        ("tiff 100000x100000", tiff_header_bomb(100_000, 100_000)),
        ("webp 16383x16383", webp_vp8l_bomb(16_383, 16_383)),
    ]
}

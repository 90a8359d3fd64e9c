//! EXIF orientation read from every container that carries it, in both byte
//! orders, including the `Exif\0\0`-prefixed blocks some writers put in PNG;
//! the Pillow fixtures (`reference.rs`) check the pixels of all eight values
//! for PNG, JPEG, WebP and TIFF.

#![allow(clippy::unwrap_used)]

#[path = "support/samples.rs"]
mod samples;

use warden_image::{Limits, Orientation, decode_bytes};

#[test]
fn png_exif_in_both_byte_orders_and_with_the_jpeg_prefix() {
    for value in 1..=8u16 {
        let want = Orientation::from_exif(value).unwrap();
        for big_endian in [false, true] {
            let block = samples::exif_orientation_block(value, big_endian);
            let mut prefixed = b"Exif\0\0".to_vec();
            prefixed.extend_from_slice(&block);
            for exif in [block, prefixed] {
                let img =
                    decode_bytes(&samples::png_with_exif(6, 4, &exif), &Limits::default()).unwrap();
                assert_eq!(
                    img.orientation, want,
                    "value {value}, big endian {big_endian}"
                );
                assert_eq!(img.image.dimensions(), want.display_size(6, 4));
            }
        }
    }
}

#[test]
fn broken_or_absent_orientation_means_normal() {
    let cases: [&[u8]; 4] = [
        b"",
        b"MM\0*\0\0\0\x08",
        b"garbage that is not TIFF",
        &samples::exif_orientation_block(9, false),
    ];
    for exif in cases {
        let img = decode_bytes(&samples::png_with_exif(6, 4, exif), &Limits::default()).unwrap();
        assert_eq!(img.orientation, Orientation::Normal, "{exif:?}");
        assert_eq!(img.image.dimensions(), (6, 4));
    }
}

//! Hostile input: headers that claim huge sizes are refused from the header,
//! a real decompression bomb too; every truncation of every format is a typed
//! error; random damage never makes the decoder panic — over generated
//! files of every format and over the fuzz target's seed corpus (the
//! libFuzzer target's body on a stable driver).

#![allow(clippy::unwrap_used)]

#[path = "support/bombs.rs"]
mod bombs;
#[path = "support/samples.rs"]
mod samples;

use proptest::prelude::*;
use warden_image::{
    DecodeError, Filter, Fit, Limits, LoadError, ScaleSpec, decode_bytes, load_bytes,
};

fn refused_for_size(err: &DecodeError) -> bool {
    matches!(
        err,
        DecodeError::DimensionsTooLarge { .. }
            | DecodeError::TooManyPixels { .. }
            | DecodeError::DecodedTooLarge { .. }
    )
}

#[test]
fn every_header_bomb_is_refused_from_its_header() {
    for (name, bytes) in bombs::header_bombs() {
        let err = decode_bytes(&bytes, &Limits::default()).unwrap_err();
        assert!(refused_for_size(&err), "{name}: {err}");
        // The message names the declared size.
        let declared = name.split(' ').nth(1).unwrap();
        assert!(err.to_string().contains(declared), "{name}: {err}");
    }
}

#[test]
fn a_real_decompression_bomb_is_refused() {
    // 12000 x 12000 grey zeros: 144 megapixels, about 140 KB on disk.
    let bomb = bombs::png_zero_bomb(12_000, 12_000);
    assert!(bomb.len() < 1 << 20, "{} bytes", bomb.len());
    let err = decode_bytes(&bomb, &Limits::default()).unwrap_err();
    assert!(
        matches!(
            err,
            DecodeError::TooManyPixels {
                pixels: 144_000_000,
                ..
            }
        ),
        "{err}"
    );
    // Under limits that allow it, the same file is a valid image: the refusal
    // above is the limit's doing, not a broken file.
    let small = bombs::png_zero_bomb(300, 200);
    let img = decode_bytes(&small, &Limits::default()).unwrap();
    assert_eq!(img.image.dimensions(), (300, 200));
    assert!(
        img.image
            .pixels()
            .chunks_exact(4)
            .all(|p| p == [0, 0, 0, 255])
    );
}

#[test]
fn an_inflating_icc_profile_is_bounded_and_the_image_still_decodes() {
    // 256 MiB of zeros inside an iCCP chunk: the png crate stops inflating at
    // `max_metadata_bytes` and drops the profile; the pixels are fine.
    let bomb = bombs::png_iccp_bomb(256 << 20);
    let img = decode_bytes(&bomb, &Limits::default()).unwrap();
    assert_eq!(img.image.dimensions(), (1, 1));
}

#[test]
fn a_webp_chunk_larger_than_the_file_is_refused_before_allocation() {
    // Found by the fuzz target: 271 bytes whose EXIF chunk claims 3.8 GB;
    // image-webp would allocate that much when the orientation is read.
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/fuzz_webp_exif_3gb.webp"
    );
    let bytes = std::fs::read(path).unwrap();
    let err = decode_bytes(&bytes, &Limits::default()).unwrap_err();
    assert!(matches!(err, DecodeError::Corrupt { .. }), "{err}");
    assert!(
        err.to_string()
            .contains("chunk EXIF at byte 232 declares 3875536922 bytes"),
        "{err}"
    );
}

#[test]
fn cover_with_catmull_rom_on_the_fuzzed_webp_scales() {
    // Found by the fuzz target: fast_image_resize 6.1.0 underflows on a
    // fractional crop offset with Catmull-Rom; cover now crops by a view.
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/fuzz_fir_cover_underflow.webp"
    );
    let bytes = std::fs::read(path).unwrap();
    let spec = ScaleSpec::new(32, 31)
        .with_fit(Fit::Cover)
        .with_filter(warden_image::Filter::CatmullRom);
    // The image is a valid WebP: it must decode and scale, not merely fail politely.
    let loaded = load_bytes(&bytes, &Limits::default(), Some(&spec))
        .unwrap_or_else(|err| panic!("the fuzzed WebP no longer decodes: {err}"));
    assert_eq!(loaded.image.image.dimensions(), (32, 31));
}

#[test]
fn each_limit_can_be_tightened() {
    let png = samples::encoded(image::ImageFormat::Png, 100, 80);
    let cases = [
        Limits {
            max_input_bytes: 100,
            ..Limits::default()
        },
        Limits {
            max_width: 99,
            ..Limits::default()
        },
        Limits {
            max_height: 79,
            ..Limits::default()
        },
        Limits {
            max_pixels: 7_999,
            ..Limits::default()
        },
        Limits {
            max_decoded_bytes: 31_999,
            ..Limits::default()
        },
    ];
    for limits in cases {
        let err = decode_bytes(&png, &limits).unwrap_err();
        assert!(
            refused_for_size(&err) || matches!(err, DecodeError::InputTooLarge { .. }),
            "{limits:?}: {err}"
        );
    }
    assert!(
        decode_bytes(
            &png,
            &Limits {
                max_decoded_bytes: 32_000,
                ..Limits::default()
            }
        )
        .is_ok()
    );
}

#[test]
fn every_truncation_of_every_format_is_a_typed_error() {
    for (format, whole) in samples::all_formats(37, 23) {
        let full = decode_bytes(&whole, &Limits::default()).unwrap();
        for cut in 2..whole.len() {
            match decode_bytes(&whole[..cut], &Limits::default()) {
                Err(DecodeError::Truncated { .. }) => {}
                // Only trailing structure is missing (PNG's IEND chunk, GIF's
                // block terminator and trailer): every pixel is there.
                Ok(img)
                    if matches!(format, image::ImageFormat::Png | image::ImageFormat::Gif)
                        && cut >= whole.len() - 12 =>
                {
                    assert_eq!(img, full, "{format:?} cut at {cut}");
                }
                other => panic!("{format:?} cut at {cut} of {}: {other:?}", whole.len()),
            }
        }
    }
}

#[test]
fn non_images_and_other_formats_are_named() {
    let cases: [(&[u8], &str); 4] = [
        (b"", "the file is empty"),
        (
            b"hello world, not an image",
            "not an image in a known format (first bytes: 68 65",
        ),
        (
            b"qoif\0\0\0\x01\0\0\0\x01\x04\0",
            "Qoi images are not supported",
        ),
        (
            b"\0\0\x01\0\x01\0\x10\x10\0\0\x01\0\x20\0",
            "Ico images are not supported",
        ),
    ];
    for (bytes, want) in cases {
        let err = decode_bytes(bytes, &Limits::default()).unwrap_err();
        assert!(err.to_string().contains(want), "{err}");
    }
}

#[test]
fn unreadable_paths_are_io_errors() {
    let dir = tempfile::tempdir().unwrap();
    let err =
        warden_image::decode_file(dir.path().join("missing.png"), &Limits::default()).unwrap_err();
    assert!(
        matches!(
            err,
            DecodeError::Io {
                kind: std::io::ErrorKind::NotFound,
                ..
            }
        ),
        "{err}"
    );
    let err = warden_image::decode_file(dir.path(), &Limits::default()).unwrap_err();
    assert!(matches!(err, DecodeError::Io { .. }), "{err}");
    let big = dir.path().join("big.bin");
    std::fs::write(&big, vec![0u8; 2048]).unwrap();
    let limits = Limits {
        max_input_bytes: 1024,
        ..Limits::default()
    };
    let err = warden_image::decode_file(&big, &limits).unwrap_err();
    assert_eq!(
        err,
        DecodeError::InputTooLarge {
            size: 2048,
            limit: 1024
        }
    );
}

#[derive(Debug, Clone)]
enum Damage {
    Flip { at: usize, bit: u8 },
    Set { at: usize, value: u8 },
    Cut { at: usize },
    Insert { at: usize, bytes: Vec<u8> },
}

fn damage() -> impl Strategy<Value = Damage> {
    prop_oneof![
        (any::<usize>(), 0u8..8).prop_map(|(at, bit)| Damage::Flip { at, bit }),
        (any::<usize>(), any::<u8>()).prop_map(|(at, value)| Damage::Set { at, value }),
        any::<usize>().prop_map(|at| Damage::Cut { at }),
        (any::<usize>(), prop::collection::vec(any::<u8>(), 1..16))
            .prop_map(|(at, bytes)| Damage::Insert { at, bytes }),
    ]
}

fn apply(mut bytes: Vec<u8>, damage: &[Damage]) -> Vec<u8> {
    for d in damage {
        if bytes.is_empty() {
            break;
        }
        let len = bytes.len();
        match d {
            Damage::Flip { at, bit } => bytes[at % len] ^= 1 << bit,
            Damage::Set { at, value } => bytes[at % len] = *value,
            Damage::Cut { at } => bytes.truncate(at % len),
            Damage::Insert { at, bytes: more } => {
                let at = at % len;
                bytes.splice(at..at, more.iter().copied());
            }
        }
    }
    bytes
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 384, ..ProptestConfig::default() })]

    /// Damaged files of every format: a result or a typed error, never a
    /// panic (caught or not), with and without prescaling.
    #[test]
    fn damaged_files_never_panic(
        format in 0usize..6,
        damage in prop::collection::vec(damage(), 1..6),
    ) {
        let (_, whole) = samples::all_formats(29, 17).swap_remove(format);
        let bytes = apply(whole, &damage);
        let limits = Limits::default();
        if let Err(err) = decode_bytes(&bytes, &limits) {
            prop_assert!(!matches!(err, DecodeError::DecoderPanicked { .. }), "{err}");
            prop_assert!(!err.to_string().is_empty());
        }
        let spec = ScaleSpec::new(7, 5).with_fit(Fit::Cover);
        if let Err(LoadError::Decode(DecodeError::DecoderPanicked { .. })) =
            load_bytes(&bytes, &limits, Some(&spec))
        {
            prop_assert!(false, "decoder panicked while loading");
        }
    }

    /// Random bytes behind every signature.
    #[test]
    fn random_bodies_never_panic(
        magic in 0usize..7,
        body in prop::collection::vec(any::<u8>(), 0..512),
    ) {
        let signatures: [&[u8]; 7] = [
            b"\x89PNG\r\n\x1a\n", b"\xFF\xD8\xFF", b"GIF89a", b"BM", b"II*\0", b"MM\0*",
            b"RIFF\x20\0\0\0WEBPVP8L",
        ];
        let mut bytes = signatures[magic].to_vec();
        bytes.extend(body);
        if let Err(err) = decode_bytes(&bytes, &Limits::default()) {
            prop_assert!(!matches!(err, DecodeError::DecoderPanicked { .. }), "{err}");
        }
    }

    /// The `cargo fuzz` target's body on a stable driver: each file of its
    /// seed corpus (`fuzz/seeds/decode/`: every format and layout, header
    /// bombs, the fuzzer's two findings), damaged, through `decode_bytes`
    /// and `load_bytes` under the target's limits with a prescale derived
    /// from the input (every fit and filter, up- and downscaling).
    #[test]
    fn the_fuzz_seeds_damaged_never_panic(
        seed in any::<prop::sample::Index>(),
        damage in prop::collection::vec(damage(), 0..6),
    ) {
        let seeds = fuzz_seeds();
        let (name, whole) = &seeds[seed.index(seeds.len())];
        let bytes = apply(whole.clone(), &damage);
        if let Err(DecodeError::DecoderPanicked { format, detail }) = decode_bytes(&bytes, &FUZZ_LIMITS) {
            prop_assert!(false, "{name}: the {format} decoder panicked: {detail}");
        }
        let n = bytes.len();
        let spec = ScaleSpec::new(1 + (n % 97) as u32, 1 + (n % 53) as u32)
            .with_fit(Fit::ALL[n % Fit::ALL.len()])
            .with_filter(Filter::ALL[(n / 3) % Filter::ALL.len()]);
        if let Err(LoadError::Decode(DecodeError::DecoderPanicked { format, detail })) =
            load_bytes(&bytes, &FUZZ_LIMITS, Some(&spec))
        {
            prop_assert!(false, "{name}: the {format} decoder panicked while loading: {detail}");
        }
    }
}

/// The fuzz target's limits (`fuzz/fuzz_targets/decode.rs`).
const FUZZ_LIMITS: Limits = Limits {
    max_input_bytes: 1 << 20,
    max_width: 4096,
    max_height: 4096,
    max_pixels: 4 << 20,
    max_decoded_bytes: 64 << 20,
    max_metadata_bytes: 1 << 20,
};

/// The fuzz target's seed corpus, read once.
fn fuzz_seeds() -> &'static [(String, Vec<u8>)] {
    static SEEDS: std::sync::OnceLock<Vec<(String, Vec<u8>)>> = std::sync::OnceLock::new();
    SEEDS.get_or_init(|| {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds/decode");
        let mut seeds: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
            .unwrap_or_else(|err| panic!("{}: {err}", dir.display()))
            .map(|entry| {
                let path = entry.unwrap().path();
                let name = path.file_name().unwrap().to_string_lossy().into_owned();
                (name, std::fs::read(&path).unwrap())
            })
            .collect();
        seeds.sort();
        assert!(seeds.len() >= 17, "the seed corpus: {}", seeds.len());
        seeds
    })
}

//! `warden decode`, run as a real binary: every supported format, the JSON
//! contract, the fit modes, `--out`, one-line errors for bad files, and the
//! memory bound on decompression bombs (the refusal fits in a 64 MiB data
//! limit that a genuine 64 MiB decode does not).

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use warden_image::{Limits, Rgba8Image};

fn warden() -> Command {
    Command::new(env!("CARGO_BIN_EXE_warden"))
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("actors/image_decode/tests/fixtures")
        .join(name)
}

fn decode(args: &[&str]) -> Output {
    warden().arg("decode").args(args).output().unwrap()
}

fn json(out: &Output) -> serde_json::Value {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout.clone()).unwrap();
    assert_eq!(
        text.lines().count(),
        1,
        "one JSON object on one line: {text}"
    );
    serde_json::from_str(&text).unwrap()
}

/// `(value[w], value[h])` as integers.
fn pair(value: &serde_json::Value, w: &str, h: &str) -> (u64, u64) {
    (value[w].as_u64().unwrap(), value[h].as_u64().unwrap())
}

/// The one stderr line of a failed run, checked for shape.
fn one_line_error(out: &Output, file: &Path) -> String {
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let stderr = String::from_utf8(out.stderr.clone()).unwrap();
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
    assert!(
        !stderr.contains("panicked") && !stderr.contains("backtrace"),
        "{stderr}"
    );
    let prefix = format!("error: {}: ", file.display());
    assert!(stderr.starts_with(&prefix), "{stderr}");
    assert!(out.stdout.is_empty());
    stderr.trim_end().to_owned()
}

#[test]
fn every_format_decodes_with_the_json_contract() {
    let cases = [
        ("jpeg_420.jpg", "jpeg"),
        ("jpeg_progressive.jpg", "jpeg"),
        ("png_palette_trns.png", "png"),
        ("png_grey16.png", "png"),
        ("png_adam7.png", "png"),
        ("webp_lossy.webp", "webp"),
        ("webp_lossless.webp", "webp"),
        ("gif_first_frame.gif", "gif"),
        ("bmp_rgb24.bmp", "bmp"),
        ("tiff_lzw.tif", "tiff"),
    ];
    for (name, format) in cases {
        let path = fixture(name);
        let value = json(&decode(&[path.to_str().unwrap(), "--json"]));
        let object = value.as_object().unwrap();
        let mut keys: Vec<&str> = object.keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            [
                "decode_ms",
                "format",
                "height",
                "out_height",
                "out_width",
                "scale_ms",
                "width"
            ],
            "{name}"
        );
        assert_eq!(value["format"], format, "{name}");
        assert_eq!(pair(&value, "width", "height"), (40, 28), "{name}");
        assert_eq!(pair(&value, "out_width", "out_height"), (40, 28), "{name}");
        assert!(value["decode_ms"].as_f64().unwrap() >= 0.0);
        assert!(value["scale_ms"].as_f64().unwrap() >= 0.0);
    }
}

#[test]
fn size_and_fit_choose_the_output_size() {
    let path = fixture("jpeg_444.jpg"); // 40x28
    let file = path.to_str().unwrap();
    for (fit, want) in [
        ("contain", (20, 14)),
        ("cover", (20, 20)),
        ("stretch", (20, 20)),
    ] {
        let value = json(&decode(&[file, "--size", "20x20", "--fit", fit, "--json"]));
        assert_eq!(pair(&value, "out_width", "out_height"), want, "{fit}");
        assert_eq!(pair(&value, "width", "height"), (40, 28));
    }
    // EXIF orientation 6: stored 12x7, shown 7x12.
    let value = json(&decode(&[
        fixture("orient6.jpg").to_str().unwrap(),
        "--json",
    ]));
    assert_eq!(pair(&value, "width", "height"), (12, 7));
    assert_eq!(pair(&value, "out_width", "out_height"), (7, 12));

    // A target whose sides pass but whose area would need gigabytes is
    // refused before anything is decoded or allocated.
    let out = decode(&[file, "--size", "32768x32768", "--fit", "stretch"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("over the limit of 134217728 pixels"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked") && !stderr.contains("memory allocation"));
}

#[test]
fn text_output_names_format_sizes_and_times() {
    let path = fixture("png_rgba8.png");
    let out = decode(&[path.to_str().unwrap(), "--size", "10x10", "--fit", "cover"]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("PNG 40x28 (rgba8, orientation normal)"),
        "{text}"
    );
    assert!(
        text.contains("output 10x10 RGBA8 (cover into 10x10, lanczos3)"),
        "{text}"
    );
    assert!(
        text.contains("decode ") && text.contains(" ms, scale "),
        "{text}"
    );
}

#[test]
fn out_writes_the_rgba8_result_as_png() {
    let dir = tempfile::tempdir().unwrap();
    let out_png = dir.path().join("out.png");
    let src = fixture("webp_lossless.webp");
    let out = decode(&[
        src.to_str().unwrap(),
        "--size",
        "16x16",
        "--fit",
        "stretch",
        "--out",
        out_png.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let written = warden_image::decode_file(&out_png, &Limits::default()).unwrap();
    let spec = warden_image::ScaleSpec::new(16, 16).with_fit(warden_image::Fit::Stretch);
    let expected = warden_image::load_file(&src, &Limits::default(), Some(&spec)).unwrap();
    assert_eq!(written.image, expected.image.image);
}

/// CRC-32 (IEEE) for hand-made PNG chunks.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn png_chunk(kind: &[u8; 4], body: &[u8]) -> Vec<u8> {
    let mut out = u32::try_from(body.len()).unwrap().to_be_bytes().to_vec();
    out.extend_from_slice(kind);
    out.extend_from_slice(body);
    let mut crc_input = kind.to_vec();
    crc_input.extend_from_slice(body);
    out.extend_from_slice(&crc32(&crc_input).to_be_bytes());
    out
}

/// Hostile files: (name, bytes, what the error must say).
fn bad_files() -> Vec<(&'static str, Vec<u8>, &'static str)> {
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&100_000u32.to_be_bytes());
    ihdr.extend_from_slice(&100_000u32.to_be_bytes());
    ihdr.extend_from_slice(&[8, 6, 0, 0, 0]);
    let mut png_bomb = b"\x89PNG\r\n\x1a\n".to_vec();
    png_bomb.extend(png_chunk(b"IHDR", &ihdr));
    png_bomb.extend(png_chunk(
        b"IDAT",
        &[0x78, 0x9C, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01],
    ));
    png_bomb.extend(png_chunk(b"IEND", b""));

    let mut jpeg_bomb = std::fs::read(fixture("jpeg_444.jpg")).unwrap();
    let sof = jpeg_bomb
        .windows(2)
        .position(|w| w == [0xFF, 0xC0])
        .unwrap();
    jpeg_bomb[sof + 5..sof + 9].copy_from_slice(&[0xFD, 0xE8, 0xFD, 0xE8]); // 65000x65000

    let mut gif_bomb = b"GIF89a\xff\xff\xff\xff\x80\0\0\0\0\0\xff\xff\xff".to_vec();
    gif_bomb.extend_from_slice(&[0x2C, 0, 0, 0, 0, 1, 0, 1, 0, 0, 2, 2, 0x4C, 0x01, 0, 0x3B]);

    let jpeg = std::fs::read(fixture("jpeg_420.jpg")).unwrap();
    let png = std::fs::read(fixture("png_rgba8.png")).unwrap();
    let mut corrupt_png = png.clone();
    corrupt_png[40] ^= 0xFF; // inside IDAT: the CRC no longer matches
    vec![
        (
            "bomb.png",
            png_bomb,
            "PNG header declares 100000x100000, over the limit",
        ),
        (
            "bomb.jpg",
            jpeg_bomb,
            "JPEG header declares 65000x65000, over the limit",
        ),
        (
            "bomb.gif",
            gif_bomb,
            "GIF header declares 65535x65535, over the limit",
        ),
        (
            "cut.jpg",
            jpeg[..jpeg.len() / 2].to_vec(),
            "truncated JPEG data",
        ),
        (
            "cut.png",
            png[..png.len() / 2].to_vec(),
            "truncated PNG data",
        ),
        ("corrupt.png", corrupt_png, "corrupt PNG data"),
        ("empty.png", Vec::new(), "the file is empty"),
        (
            "notes.txt",
            b"not an image at all".to_vec(),
            "not an image in a known format",
        ),
        (
            "icon.ico",
            b"\0\0\x01\0\x01\0\x10\x10\0\0\x01\0\x20\0".to_vec(),
            "images are not supported",
        ),
    ]
}

#[test]
fn bad_files_fail_with_one_line_naming_the_problem() {
    let dir = tempfile::tempdir().unwrap();
    for (name, bytes, want) in bad_files() {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        for extra in [&[][..], &["--json", "--size", "64x64"][..]] {
            let mut args = vec![path.to_str().unwrap()];
            args.extend_from_slice(extra);
            let line = one_line_error(&decode(&args), &path);
            assert!(line.contains(want), "{name}: {line}");
        }
    }
    let missing = dir.path().join("missing.jpg");
    let line = one_line_error(&decode(&[missing.to_str().unwrap()]), &missing);
    assert!(line.contains("cannot read the file"), "{line}");
}

/// Runs `warden decode FILE` with the data segment (heap included) limited to
/// `kib` KiB, through the shell's `ulimit -d`.
fn decode_with_data_limit(file: &Path, kib: u32) -> Output {
    Command::new("sh")
        .arg("-c")
        .arg(format!("ulimit -d {kib} && exec \"$0\" decode \"$1\""))
        .arg(env!("CARGO_BIN_EXE_warden"))
        .arg(file)
        .output()
        .unwrap()
}

#[test]
fn bombs_are_refused_within_64_mib_of_memory() {
    let dir = tempfile::tempdir().unwrap();
    for (name, bytes, want) in bad_files()
        .into_iter()
        .filter(|(n, ..)| n.starts_with("bomb"))
    {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        let line = one_line_error(&decode_with_data_limit(&path, 64 * 1024), &path);
        assert!(line.contains(want), "{name}: {line}");
    }
    // Control: a genuine 4096x4096 RGBA image needs a 64 MiB buffer and
    // cannot be decoded under the same limit, but can with room to spare.
    let big = dir.path().join("big.png");
    let image = Rgba8Image::new(4096, 4096, vec![0; 4096 * 4096 * 4]).unwrap();
    warden_image::write_png(&image, &big).unwrap();
    drop(image);
    assert!(!decode_with_data_limit(&big, 64 * 1024).status.success());
    let roomy = decode_with_data_limit(&big, 512 * 1024);
    assert!(
        roomy.status.success(),
        "{}",
        String::from_utf8_lossy(&roomy.stderr)
    );
}

#[test]
fn bad_arguments_are_refused_by_the_parser() {
    let file = fixture("jpeg_420.jpg");
    let file = file.to_str().unwrap();
    for args in [
        vec![file, "--size", "0x10"],
        vec![file, "--size", "wide"],
        vec![file, "--size", "10x10", "--fit", "fill"],
        vec![file, "--size", "10x10", "--filter", "sinc"],
    ] {
        let out = decode(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert!(
            stderr.starts_with("error: invalid value"),
            "{args:?}: {stderr}"
        );
    }
}

//! `load_bytes` (decode + prescale in the native layout, orientation last)
//! gives what `decode_bytes` followed by `prescale` gives, for every format,
//! layout, orientation and fit.

#![allow(clippy::unwrap_used)]

#[path = "support/samples.rs"]
mod samples;

use std::path::Path;

use warden_image::{
    Filter, Fit, Limits, ScaleSpec, decode_bytes, decode_prescaled, load_bytes, load_file, prescale,
};

fn max_diff(a: &[u8], b: &[u8]) -> u8 {
    a.iter()
        .zip(b)
        .map(|(x, y)| x.abs_diff(*y))
        .max()
        .unwrap_or(0)
}

/// Compares the fused pipeline with the two-step path; returns the largest
/// channel difference.
fn compare(bytes: &[u8], spec: &ScaleSpec) -> u8 {
    let limits = Limits::default();
    let fused = load_bytes(bytes, &limits, Some(spec)).unwrap().image;
    let full = decode_bytes(bytes, &limits).unwrap();
    let two_step = prescale(&full.image, spec.width, spec.height, spec.fit, spec.filter).unwrap();
    assert_eq!(fused.image.dimensions(), two_step.dimensions(), "{spec:?}");
    assert_eq!(fused.format, full.format);
    assert_eq!(fused.orientation, full.orientation);
    assert_eq!(
        (fused.source_width, fused.source_height),
        (full.source_width, full.source_height)
    );
    max_diff(fused.image.pixels(), two_step.pixels())
}

#[test]
fn the_fused_pipeline_matches_decode_then_prescale() {
    let specs = [
        ScaleSpec::new(19, 11),
        ScaleSpec::new(19, 11).with_fit(Fit::Cover),
        ScaleSpec::new(50, 9)
            .with_fit(Fit::Stretch)
            .with_filter(Filter::Bilinear),
        ScaleSpec::new(90, 70).with_filter(Filter::CatmullRom),
        ScaleSpec::new(30, 30)
            .with_fit(Fit::Cover)
            .with_filter(Filter::Nearest),
    ];
    for (format, bytes) in samples::all_formats(61, 37) {
        for spec in &specs {
            // Same orientation, same layout after conversion: identical.
            assert_eq!(compare(&bytes, spec), 0, "{format:?} {spec:?}");
        }
    }
}

#[test]
fn orientation_after_scaling_matches_orientation_before() {
    // A smooth 200x120 picture stored under each orientation, downscaled:
    // resizing the rotated image swaps which pass (rows or columns) runs
    // first, so rounding may differ by a step or two, never more.
    for value in 1..=8 {
        let bytes = samples::png_with_exif(200, 120, &samples::exif_orientation_block(value, true));
        for spec in [
            ScaleSpec::new(64, 48),
            ScaleSpec::new(50, 50).with_fit(Fit::Cover),
            ScaleSpec::new(90, 40)
                .with_fit(Fit::Stretch)
                .with_filter(Filter::Bilinear),
        ] {
            let diff = compare(&bytes, &spec);
            assert!(diff <= 2, "orientation {value} {spec:?}: {diff}");
        }
    }
}

#[test]
fn output_size_follows_the_displayed_orientation() {
    // orient6.png stores 12x7 and displays 7x12 (rotated 90 degrees).
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let bytes = std::fs::read(dir.join("orient6.png")).unwrap();
    let img = decode_prescaled(&bytes, &Limits::default(), &ScaleSpec::new(70, 70)).unwrap();
    assert_eq!((img.source_width, img.source_height), (12, 7));
    assert_eq!(img.image.dimensions(), (41, 70));
    let stretched = decode_prescaled(
        &bytes,
        &Limits::default(),
        &ScaleSpec::new(30, 10).with_fit(Fit::Stretch),
    )
    .unwrap();
    assert_eq!(stretched.image.dimensions(), (30, 10));
}

#[test]
fn load_file_reports_stage_timings_and_refuses_bad_targets() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.jpg");
    std::fs::write(&path, samples::encoded(image::ImageFormat::Jpeg, 640, 480)).unwrap();
    let loaded = load_file(&path, &Limits::default(), Some(&ScaleSpec::new(64, 64))).unwrap();
    assert_eq!(loaded.image.image.dimensions(), (64, 48));
    assert!(loaded.timings.decode > std::time::Duration::ZERO);
    assert!(loaded.timings.scale > std::time::Duration::ZERO);
    let full = load_file(&path, &Limits::default(), None).unwrap();
    assert_eq!(full.image.image.dimensions(), (640, 480));

    let err = load_file(&path, &Limits::default(), Some(&ScaleSpec::new(0, 10))).unwrap_err();
    assert_eq!(err.to_string(), "target size 0x10 has a zero side");
}

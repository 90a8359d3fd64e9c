//! Fuzz target over the decode entry points: `decode_bytes` (decode, RGBA8,
//! orientation) and `load_bytes` (decode + prescale in the native layout).
//! Any panic is a finding: libfuzzer-sys aborts on a panic even inside the
//! library's `catch_unwind`, and a caught one (`DecoderPanicked`) is re-raised.

#![no_main]

use libfuzzer_sys::fuzz_target;
use warden_image::{DecodeError, Filter, Fit, Limits, LoadError, ScaleSpec};

/// Tight limits keep each run fast; limit refusals are themselves a path
/// under test.
const LIMITS: Limits = Limits {
    max_input_bytes: 1 << 20,
    max_width: 4096,
    max_height: 4096,
    max_pixels: 4 << 20,
    max_decoded_bytes: 64 << 20,
    max_metadata_bytes: 1 << 20,
};

fuzz_target!(|data: &[u8]| {
    if let Err(DecodeError::DecoderPanicked { format, detail }) =
        warden_image::decode_bytes(data, &LIMITS)
    {
        panic!("the {format} decoder panicked: {detail}");
    }
    // A prescale target derived from the input, so that every fit and a
    // range of sizes (up- and downscaling) are reached.
    let n = data.len();
    let fit = Fit::ALL[n % Fit::ALL.len()];
    let filter = Filter::ALL[(n / 3) % Filter::ALL.len()];
    let spec = ScaleSpec::new(1 + (n % 97) as u32, 1 + (n % 53) as u32)
        .with_fit(fit)
        .with_filter(filter);
    if let Err(LoadError::Decode(DecodeError::DecoderPanicked { format, detail })) =
        warden_image::load_bytes(data, &LIMITS, Some(&spec))
    {
        panic!("the {format} decoder panicked while loading: {detail}");
    }
});

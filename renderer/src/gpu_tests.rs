//! How test suites account for their GPU tests, so that a green run says
//! whether the wgpu path was tested at all. `cargo test` hides a passing
//! test's "skipped" line; so every GPU test reports here instead: where
//! `.ci/run` installed a driver it sets [`REQUIRE_ENV`], and a missing
//! adapter fails the test; [`LOG_ENV`] names a file that gets one line per
//! GPU test (`RAN` with the adapter, or `SKIPPED` with the reason), which
//! `.ci/run` counts and prints after the tests.

use std::fmt::Display;
use std::io::Write as _;

/// Set (to anything) where a wgpu adapter must exist: its absence fails.
pub const REQUIRE_ENV: &str = "WARDEN_REQUIRE_GPU";
/// A file to which each GPU test appends `RAN|SKIPPED <tab> test <tab> detail`.
pub const LOG_ENV: &str = "WARDEN_GPU_TEST_LOG";

/// The running test's name (libtest names each test's thread after it).
fn test_name() -> String {
    std::thread::current()
        .name()
        .unwrap_or("an unnamed test")
        .to_string()
}

fn log(outcome: &str, detail: &str) {
    let Some(path) = std::env::var_os(LOG_ENV) else {
        return;
    };
    let line = format!(
        "{outcome}\t{}\t{}\n",
        test_name(),
        detail.replace(['\t', '\n'], " ")
    );
    // One short O_APPEND write per line: lines from parallel tests never mix.
    let written = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .and_then(|mut f| f.write_all(line.as_bytes()));
    if let Err(err) = written {
        panic!(
            "cannot append to {LOG_ENV}={}: {err}",
            path.to_string_lossy()
        );
    }
}

/// The running GPU test found no adapter (`why`): it fails where
/// [`REQUIRE_ENV`] is set; otherwise it prints and logs a skip, and the
/// caller returns.
pub fn no_adapter(why: &dyn Display) {
    log("SKIPPED", &why.to_string());
    assert!(
        std::env::var_os(REQUIRE_ENV).is_none(),
        "{}: no wgpu adapter, but {REQUIRE_ENV} is set (a driver was installed): {why}",
        test_name()
    );
    eprintln!(
        "SKIPPED {}: no wgpu adapter on this machine: {why}",
        test_name()
    );
}

/// A GPU test that does not need every machine to have its backend (the
/// GL fallback): logged and printed as a skip, never a failure.
pub fn optional_backend_missing(why: &dyn Display) {
    log("SKIPPED", &why.to_string());
    eprintln!("SKIPPED {}: {why}", test_name());
}

/// The running GPU test runs on `adapter`.
pub fn ran_on(adapter: &dyn Display) {
    log("RAN", &adapter.to_string());
}

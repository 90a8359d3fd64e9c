//! Peak memory while refusing decompression bombs stays under 64 MiB.
//!
//! Each bomb is decoded in a child process (this test binary re-executed to
//! run only `bomb_child`), and the peak resident set of the children is read
//! with `getrusage(RUSAGE_CHILDREN)` once they have exited. A control child
//! that really decodes an 80 MiB image shows that the measurement sees
//! allocations of that size.

#![allow(clippy::unwrap_used)]

#[path = "support/bombs.rs"]
mod bombs;

use std::path::Path;
use std::process::Command;

use nix::sys::resource::{UsageWho, getrusage};
use warden_image::{Limits, decode_file};

const FILE_VAR: &str = "WARDEN_IMAGE_BOMB_FILE";
const EXPECT_VAR: &str = "WARDEN_IMAGE_BOMB_EXPECT";
const LIMIT_KIB: i64 = 64 * 1024;

/// The child side: decodes the file named in the environment and checks the
/// outcome the parent expects. Run only by the parent (hence `ignore`).
#[test]
#[ignore = "run by peak_memory_of_refused_bombs_stays_under_64_mib in a child process"]
fn bomb_child() {
    let path = std::env::var(FILE_VAR).unwrap();
    let expect = std::env::var(EXPECT_VAR).unwrap();
    let result = decode_file(&path, &Limits::default());
    match (expect.as_str(), &result) {
        ("refused", Err(err)) => println!("CHILD-DONE refused: {err}"),
        ("decoded", Ok(img)) => println!("CHILD-DONE decoded {:?}", img.image.dimensions()),
        _ => panic!("expected {expect}, got {result:?}"),
    }
}

/// Runs `bomb_child` on `path` in a child process; returns its stdout.
fn run_child(path: &Path, expect: &str) -> String {
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "bomb_child",
            "--ignored",
            "--nocapture",
            "--test-threads",
            "1",
        ])
        .env(FILE_VAR, path)
        .env(EXPECT_VAR, expect)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success() && stdout.contains("CHILD-DONE"),
        "child on {}: {}\n{stdout}\n{}",
        path.display(),
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

fn children_peak_kib() -> i64 {
    getrusage(UsageWho::RUSAGE_CHILDREN).unwrap().max_rss()
}

#[test]
fn peak_memory_of_refused_bombs_stays_under_64_mib() {
    let dir = tempfile::tempdir().unwrap();
    let mut bombs = bombs::header_bombs();
    bombs.push((
        "png zero bomb 12000x12000",
        bombs::png_zero_bomb(12_000, 12_000),
    ));
    bombs.push((
        "png iCCP inflating to 256 MiB",
        bombs::png_iccp_bomb(256 << 20),
    ));
    let webp = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/fuzz_webp_exif_3gb.webp"
    );
    bombs.push((
        "webp EXIF chunk claiming 3.8 GB",
        std::fs::read(webp).unwrap(),
    ));
    for (i, (name, bytes)) in bombs.iter().enumerate() {
        let path = dir.path().join(format!("bomb{i}"));
        std::fs::write(&path, bytes).unwrap();
        // The iCCP bomb is a valid 1x1 image once its profile is dropped.
        let expect = if name.contains("iCCP") {
            "decoded"
        } else {
            "refused"
        };
        let stdout = run_child(&path, expect);
        println!(
            "{name}: {}",
            stdout.lines().find(|l| l.contains("CHILD-DONE")).unwrap()
        );
    }
    let peak = children_peak_kib();
    println!("peak RSS over {} bomb children: {} KiB", bombs.len(), peak);
    assert!(peak > 0, "getrusage reported nothing");
    assert!(
        peak < LIMIT_KIB,
        "peak RSS {peak} KiB, limit {LIMIT_KIB} KiB"
    );

    // Control: a 4096x4096 image really decoded (16 MiB grey + 64 MiB RGBA)
    // must push the same measurement over the limit.
    let control = dir.path().join("control.png");
    std::fs::write(&control, bombs::png_zero_bomb(4096, 4096)).unwrap();
    run_child(&control, "decoded");
    let peak_after = children_peak_kib();
    println!("peak RSS with the control child: {peak_after} KiB");
    assert!(
        peak_after > LIMIT_KIB,
        "the control did not register: {peak_after} KiB"
    );
}

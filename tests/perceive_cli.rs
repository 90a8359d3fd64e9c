//! `warden perceive` end to end: the real binary on synthetic scenarios and
//! on a directory of PNG frames, its `--json` contract, its MOTChallenge
//! files, its errors, and (when py-motmetrics is installed) agreement with
//! that independent scorer.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::{Command, Output};

use warden_perception::{FrameSource, Scenario, SyntheticCamera, read_mot};

fn warden(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_warden"))
        .arg("perceive")
        .args(args)
        .output()
        .unwrap()
}

fn json(args: &[&str]) -> serde_json::Value {
    let out = warden(args);
    assert!(
        out.status.success(),
        "warden perceive {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn json_holds_exactly_the_contract_keys() {
    let v = json(&[
        "--scenario",
        "easy",
        "--synthetic",
        "4",
        "--frames-count",
        "120",
        "--json",
    ]);
    let mut keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "frames",
            "id_switches",
            "idf1",
            "mota",
            "ms_per_frame_median",
            "precision",
            "recall"
        ]
    );
    assert_eq!(v["frames"], 120);
    assert!(v["ms_per_frame_median"].as_f64().unwrap() > 0.0);
    assert!(v["mota"].as_f64().unwrap() >= 0.95, "{v}");
    assert!(v["idf1"].as_f64().unwrap() >= 0.90, "{v}");
    assert_eq!(v["id_switches"], 0);
}

#[test]
fn human_output_names_the_source_times_and_scores() {
    let out = warden(&[
        "--scenario",
        "crossing",
        "--synthetic",
        "2",
        "--frames-count",
        "60",
        "--size",
        "320x240",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("synthetic scenario crossing, seed 2, 320x240, 60 frames"),
        "{text}"
    );
    assert!(
        text.contains("min") && text.contains("median") && text.contains("max"),
        "{text}"
    );
    assert!(
        text.contains("MOTA") && text.contains("IDF1") && text.contains("ID switches"),
        "{text}"
    );
}

#[test]
fn mot_files_are_motchallenge_and_score_the_same_from_a_png_directory() {
    let dir = tempfile::tempdir().unwrap();
    let (tracks, gt) = (dir.path().join("tracks.txt"), dir.path().join("gt.txt"));
    let args = [
        "--scenario",
        "noisy",
        "--synthetic",
        "3",
        "--frames-count",
        "40",
        "--size",
        "320x240",
    ];
    let mut with_files = args.to_vec();
    with_files.extend([
        "--mot-out",
        tracks.to_str().unwrap(),
        "--gt-out",
        gt.to_str().unwrap(),
        "--json",
    ]);
    let synthetic = json(&with_files);

    // Lines are frame,id,x,y,w,h,conf,-1,-1,-1 with frames from 1.
    let text = std::fs::read_to_string(&gt).unwrap();
    let first: Vec<&str> = text.lines().next().unwrap().split(',').collect();
    assert_eq!(first.len(), 10);
    assert_eq!(&first[7..], ["-1", "-1", "-1"]);
    let truth = read_mot(&gt).unwrap();
    assert!(truth.iter().all(|r| (1..=40).contains(&r.frame)));
    assert!(!read_mot(&tracks).unwrap().is_empty());

    // The same frames as PNG files, scored against the written truth.
    let frames = dir.path().join("frames");
    std::fs::create_dir(&frames).unwrap();
    let mut cfg = Scenario::Noisy.config(3);
    (cfg.width, cfg.height, cfg.frames) = (320, 240, 40);
    let mut cam = SyntheticCamera::new(cfg).unwrap();
    while let Some(f) = cam.next_frame().unwrap() {
        f.image
            .save(frames.join(format!("{:06}.png", f.index + 1)))
            .unwrap();
    }
    let replayed = json(&[
        "--frames",
        frames.to_str().unwrap(),
        "--gt",
        gt.to_str().unwrap(),
        "--json",
    ]);
    for key in [
        "frames",
        "mota",
        "idf1",
        "precision",
        "recall",
        "id_switches",
    ] {
        assert_eq!(
            replayed[key], synthetic[key],
            "{key}: {replayed} vs {synthetic}"
        );
    }

    // Without ground truth the scores are null.
    let bare = json(&[
        "--frames",
        frames.to_str().unwrap(),
        "--frames-count",
        "5",
        "--json",
    ]);
    assert_eq!(bare["frames"], 5);
    assert!(
        bare["mota"].is_null() && bare["id_switches"].is_null(),
        "{bare}"
    );
}

#[test]
fn bad_inputs_are_one_line_errors() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope");
    let out = warden(&["--frames", missing.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).starts_with("error: ") && stderr(&out).contains("not a directory"),
        "{}",
        stderr(&out)
    );

    let bad_gt = dir.path().join("gt.txt");
    std::fs::write(
        &bad_gt,
        "1,1,10,10,5,5,1,-1,-1,-1\n2,1,ten,10,5,5,1,-1,-1,-1\n",
    )
    .unwrap();
    let out = warden(&["--frames-count", "5", "--gt", bad_gt.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("gt.txt:2: x \"ten\" is not a number"),
        "{}",
        stderr(&out)
    );

    let out = warden(&["--scenario", "busy"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("\"busy\" is not one of easy, crossing, crowded, noisy"),
        "{}",
        stderr(&out)
    );

    let out = warden(&["--objects", "2", "--noise=-3"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("synthetic.noise_sigma"),
        "{}",
        stderr(&out)
    );

    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let out = warden(&["--frames", empty.to_str().unwrap()]);
    assert!(
        stderr(&out).contains("no PNG or JPEG frames"),
        "{}",
        stderr(&out)
    );

    // A file that is not an image: named once, its cause said once.
    let garbage = dir.path().join("garbage");
    std::fs::create_dir(&garbage).unwrap();
    std::fs::write(garbage.join("000001.png"), b"not a png at all").unwrap();
    let out = warden(&["--frames", garbage.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("000001.png: cannot decode image") && err.lines().count() == 1,
        "{err}"
    );
    assert_eq!(err.matches("signature").count(), 1, "{err}");

    // Numbers that would exhaust memory or time are refused up front.
    let out = warden(&["--frames-count", "18446744073709551615"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("outside 1..=10000000"),
        "{}",
        stderr(&out)
    );
    let out = warden(&["--frames", garbage.to_str().unwrap(), "--fps", "1e30"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("outside (0, 1000]"),
        "{}",
        stderr(&out)
    );

    // clap rejects a malformed size before anything runs.
    let out = warden(&["--size", "10x10"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("16..=8192"), "{}", stderr(&out));
    assert!(!stderr(&out).contains("panicked"));
}

/// The independent check: py-motmetrics, when it can be imported, scores
/// `--mot-out` against `--gt-out` exactly as warden does. `.ci/run`
/// installs motmetrics and sets `WARDEN_PYTHON`, which makes the check
/// mandatory; elsewhere, without motmetrics, the test says why it skipped.
#[test]
fn mota_agrees_with_py_motmetrics_when_available() {
    let chosen = std::env::var("WARDEN_PYTHON").ok();
    let python = chosen.clone().unwrap_or_else(|| "python3".into());
    let probe = Command::new(&python)
        .args(["-c", "import motmetrics"])
        .output();
    if !probe.as_ref().is_ok_and(|o| o.status.success()) {
        // A Python named explicitly (as `.ci/run` does once it installed
        // motmetrics) must have it: the check may not silently vanish.
        assert!(
            chosen.is_none(),
            "WARDEN_PYTHON={python} cannot import motmetrics"
        );
        eprintln!(
            "skipped: `{python} -c \"import motmetrics\"` fails (pip install motmetrics, or set WARDEN_PYTHON)"
        );
        return;
    }
    let script =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("actors/perception/scripts/motmetrics_score.py");
    let dir = tempfile::tempdir().unwrap();
    let (tracks, gt) = (dir.path().join("tracks.txt"), dir.path().join("gt.txt"));
    for (scenario, seed) in [("crossing", "3"), ("crowded", "2")] {
        let ours = json(&[
            "--scenario",
            scenario,
            "--synthetic",
            seed,
            "--frames-count",
            "150",
            "--mot-out",
            tracks.to_str().unwrap(),
            "--gt-out",
            gt.to_str().unwrap(),
            "--json",
        ]);
        let out = Command::new(&python)
            .arg(&script)
            .arg(&gt)
            .arg(&tracks)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let theirs: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        for key in ["mota", "idf1", "precision", "recall"] {
            let (a, b) = (ours[key].as_f64().unwrap(), theirs[key].as_f64().unwrap());
            assert!(
                (a - b).abs() < 1e-9,
                "{scenario} {key}: warden {a}, motmetrics {b}"
            );
        }
        assert_eq!(
            ours["id_switches"].as_f64(),
            theirs["id_switches"].as_f64(),
            "{scenario}"
        );
    }
}

//! `warden analyze`, run as the real binary: the `--json` contract (one line
//! per frame with `t`, `bars`, `peaks`, `beat`; a last line with `beats` and
//! `bpm`), `--spectrum` against a naive DFT, beats against the generator's
//! known beat times, and clear errors for bad files and arguments.
#![allow(clippy::unwrap_used)]

use std::f64::consts::TAU;
use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

fn warden(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_warden"))
        .args(args)
        .output()
        .unwrap()
}

fn stdout_of(args: &[&str]) -> String {
    let out = warden(args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Generate `seconds` of test audio at `path`; returns the generator's truth line.
fn generate(path: &Path, seconds: &str, extra: &[&str]) -> Value {
    let mut args = vec![
        "analyze",
        "--generate",
        seconds,
        "--out",
        path.to_str().unwrap(),
        "--json",
    ];
    args.extend_from_slice(extra);
    serde_json::from_str(stdout_of(&args).trim()).unwrap()
}

fn lines(text: &str) -> Vec<Value> {
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

#[test]
fn json_frames_and_beats_match_the_generated_truth() {
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("drums.wav");
    let truth = generate(&wav, "20", &["--bpm", "128"]);
    let truth_beats = floats(&truth["beats"]);
    assert_eq!(truth["bpm"].as_f64(), Some(128.0));

    let out = lines(&stdout_of(&["analyze", wav.to_str().unwrap(), "--json"]));
    let (summary, frames) = out.split_last().unwrap();
    assert_eq!(frames.len(), 20 * 48_000 / 512 + 1);
    for (n, frame) in frames.iter().enumerate() {
        assert!((frame["t"].as_f64().unwrap() - n as f64 * 512.0 / 48_000.0).abs() < 1e-9);
        let (bars, peaks) = (floats(&frame["bars"]), floats(&frame["peaks"]));
        assert_eq!((bars.len(), peaks.len()), (64, 64));
        assert!(
            bars.iter()
                .zip(&peaks)
                .all(|(b, p)| (0.0..=1.0).contains(b) && p >= b && *p <= 1.0)
        );
        assert!(frame["beat"].is_boolean());
        assert!(frame.get("magnitude").is_none());
    }
    let flagged = frames
        .iter()
        .filter(|f| f["beat"] == Value::Bool(true))
        .count();
    let beats = floats(&summary["beats"]);
    assert_eq!(flagged, beats.len());

    // F-measure within ±50 ms.
    let matched = truth_beats
        .iter()
        .filter(|t| beats.iter().any(|b| (b - *t).abs() <= 0.05))
        .count();
    let precision = matched as f64 / beats.len() as f64;
    let recall = matched as f64 / truth_beats.len() as f64;
    let f = 2.0 * precision * recall / (precision + recall);
    assert!(
        f >= 0.95,
        "F = {f:.3} ({matched} of {} beats, {} detected)",
        truth_beats.len(),
        beats.len()
    );
    let bpm = summary["bpm"].as_f64().unwrap();
    assert!((bpm / 128.0 - 1.0).abs() < 0.02, "{bpm} BPM");
    assert_eq!(summary["frames"].as_u64(), Some(frames.len() as u64));
}

/// |Σ x[n]·hann[n]·e^(−2πikn/N)| in f64, hann = numpy.hanning(N).
fn naive_dft(x: &[f64]) -> Vec<f64> {
    let n = x.len();
    let xw: Vec<f64> = x
        .iter()
        .enumerate()
        .map(|(i, v)| v * (0.5 - 0.5 * (TAU * i as f64 / (n - 1) as f64).cos()))
        .collect();
    (0..=n / 2)
        .map(|k| {
            let (mut re, mut im) = (0.0, 0.0);
            for (i, v) in xw.iter().enumerate() {
                let phase = TAU * ((k * i) % n) as f64 / n as f64;
                re += v * phase.cos();
                im -= v * phase.sin();
            }
            re.hypot(im)
        })
        .collect()
}

#[test]
fn spectrum_is_the_unnormalised_hann_rfft_of_the_mono_mix() {
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("stereo.wav");
    generate(&wav, "1", &["--encoding", "float32", "--seed", "3"]);
    let (frame, hop) = (1024usize, 300usize);
    let out = lines(&stdout_of(&[
        "analyze",
        wav.to_str().unwrap(),
        "--json",
        "--spectrum",
        "--frame",
        "1024",
        "--hop",
        "300",
        "--bars",
        "16",
    ]));
    // The mono mix, zero-padded by N/2 at the start (frame n is centred on n·hop).
    let mono = warden_fft::WavSource::open(&wav)
        .unwrap()
        .read_all_mono()
        .unwrap();
    let mut padded = vec![0.0f64; frame / 2];
    padded.extend(mono.iter().map(|&v| f64::from(v)));
    padded.extend(std::iter::repeat_n(0.0, frame));
    for n in [0usize, 7, 40, 159] {
        let line = &out[n];
        assert_eq!(line["seq"].as_u64(), Some(n as u64));
        assert_eq!(floats(&line["bars"]).len(), 16);
        let ours = floats(&line["magnitude"]);
        let reference = naive_dft(&padded[n * hop..n * hop + frame]);
        assert_eq!(ours.len(), frame / 2 + 1);
        let peak = reference.iter().copied().fold(0.0, f64::max);
        let worst = ours
            .iter()
            .zip(&reference)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max);
        assert!(
            worst <= 1e-4 * peak,
            "frame {n}: error {worst:e}, peak {peak:e}"
        );
    }
}

/// At a low sample rate the default hop shrinks so that beat tracking still
/// gets four frames per beat; the file is analysed, not refused.
#[test]
fn low_sample_rates_work_with_the_default_hop() {
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("low.wav");
    // 8 s of mono 16-bit PCM at 4 kHz (below the generator's range): a
    // decaying 300 Hz click every half second (120 BPM).
    let rate = 4000u32;
    let samples: Vec<i16> = (0..rate * 8)
        .map(|i| {
            let since = f64::from(i % (rate / 2)) / f64::from(rate);
            let click = (-since * 40.0).exp() * (TAU * 300.0 * since).sin();
            (click * 20_000.0) as i16
        })
        .collect();
    let data_len = samples.len() as u32 * 2;
    let mut bytes = Vec::new();
    bytes.extend_from_slice(b"RIFF");
    bytes.extend_from_slice(&(36 + data_len).to_le_bytes());
    bytes.extend_from_slice(b"WAVEfmt ");
    bytes.extend_from_slice(&16u32.to_le_bytes());
    bytes.extend_from_slice(&1u16.to_le_bytes()); // PCM
    bytes.extend_from_slice(&1u16.to_le_bytes()); // mono
    bytes.extend_from_slice(&rate.to_le_bytes());
    bytes.extend_from_slice(&(rate * 2).to_le_bytes());
    bytes.extend_from_slice(&2u16.to_le_bytes());
    bytes.extend_from_slice(&16u16.to_le_bytes());
    bytes.extend_from_slice(b"data");
    bytes.extend_from_slice(&data_len.to_le_bytes());
    for s in samples {
        bytes.extend_from_slice(&s.to_le_bytes());
    }
    std::fs::write(&wav, bytes).unwrap();
    let out = lines(&stdout_of(&["analyze", wav.to_str().unwrap(), "--json"]));
    let last = out.last().unwrap();
    assert!(!floats(&last["beats"]).is_empty(), "{last}");
    let bpm = last["bpm"].as_f64().unwrap();
    assert!((bpm - 120.0).abs() <= 2.4, "bpm {bpm}");
    assert!(out.len() > 20, "{} frame lines", out.len());
}

#[test]
fn text_summary_names_tempo_and_beats() {
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("dance.wav");
    let note = stdout_of(&[
        "analyze",
        "--generate",
        "12",
        "--out",
        wav.to_str().unwrap(),
        "--bpm",
        "150",
        "--pattern",
        "four-on-the-floor",
        "--channels",
        "1",
        "--sample-rate",
        "44100",
        "--encoding",
        "int24",
    ]);
    assert!(
        note.starts_with("wrote ") && note.contains("150 BPM, 30 beats"),
        "{note}"
    );
    let text = stdout_of(&["analyze", wav.to_str().unwrap(), "--frame", "4096"]);
    assert!(text.contains("44100 Hz, 1 ch, 24-bit int"), "{text}");
    assert!(text.contains("frame 4096, hop 1024"), "{text}");
    assert!(
        text.contains("tempo: 150.0 BPM")
            || text.contains("tempo: 149.9 BPM")
            || text.contains("tempo: 150.1 BPM"),
        "{text}"
    );
    let beats: usize = text
        .lines()
        .find_map(|l| l.strip_prefix("beats: "))
        .unwrap()
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!((28..=31).contains(&beats), "{text}");
}

fn assert_fails(args: &[&str], code: i32, needles: &[&str]) {
    let out = warden(args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(code), "{args:?}: {stderr}");
    for needle in needles {
        assert!(
            stderr.contains(needle),
            "{args:?}: {needle:?} not in {stderr}"
        );
    }
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn bad_files_and_arguments_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.wav");
    assert_fails(
        &["analyze", missing.to_str().unwrap()],
        1,
        &["error: cannot access", "missing.wav"],
    );

    let text = dir.path().join("notes.wav");
    std::fs::write(&text, "not audio").unwrap();
    assert_fails(
        &["analyze", text.to_str().unwrap()],
        1,
        &["notes.wav: not a valid WAV file"],
    );

    let wav = dir.path().join("ok.wav");
    generate(&wav, "1", &[]);
    let bytes = std::fs::read(&wav).unwrap();
    let cut = dir.path().join("cut.wav");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    assert_fails(
        &["analyze", cut.to_str().unwrap()],
        1,
        &["cut.wav: WAV data ends early", "48000 sample frames"],
    );

    let ok = wav.to_str().unwrap();
    assert_fails(
        &["analyze", ok, "--frame", "1000"],
        1,
        &["invalid frame = 1000", "power of two"],
    );
    assert_fails(&["analyze", ok, "--bars", "0"], 1, &["invalid bars = 0"]);
    assert_fails(
        &["analyze", ok, "--hop", "5000"],
        1,
        &["invalid hop = 5000"],
    );
    assert_fails(&["analyze", ok, "--spectrum"], 2, &["--json"]);
    assert_fails(&["analyze"], 2, &["FILE"]);
    let out = dir.path().join("x.wav");
    assert_fails(
        &["analyze", "--generate", "0", "--out", out.to_str().unwrap()],
        1,
        &["invalid seconds = 0"],
    );
    assert_fails(
        &[
            "analyze",
            "--generate",
            "1",
            "--out",
            out.to_str().unwrap(),
            "--channels",
            "5",
        ],
        1,
        &["invalid channels = 5"],
    );
}

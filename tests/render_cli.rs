//! `warden render` end to end: the real binary writes every frame of every
//! transition, the last exactly the fitted target; the wgpu backend's
//! frames match the CPU backend's; `auto` reports its choice and reason;
//! bad input is one clear error line, never a panic.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use warden_renderer::{
    Backend, BackendRequest, Fit, Frame, TransitionKind, fit_frame, load_image, save_png,
    select_backend,
};

/// A 0700 runtime dir for Mesa, inside the test's temp dir.
fn runtime_dir(dir: &Path) -> PathBuf {
    let xdg = dir.join("xdg");
    std::fs::create_dir_all(&xdg).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&xdg, std::fs::Permissions::from_mode(0o700)).unwrap();
    }
    xdg
}

fn warden(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_warden"))
        .args(args)
        .env("XDG_RUNTIME_DIR", runtime_dir(dir))
        .env("RUST_LOG", "warn")
        .output()
        .unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Two inputs of different sizes and aspect ratios, drawn in code.
fn inputs(dir: &Path) -> (PathBuf, PathBuf) {
    let draw = |w: u32, h: u32, f: &dyn Fn(u32, u32) -> [u8; 4]| {
        let mut d = Vec::new();
        for y in 0..h {
            for x in 0..w {
                d.extend_from_slice(&f(x, y));
            }
        }
        Frame::from_rgba(w, h, d).unwrap()
    };
    let a = draw(120, 80, &|x, y| [(x * 2) as u8, (y * 3) as u8, 90, 255]);
    let b = draw(50, 50, &|x, y| {
        if (x / 5 + y / 5) % 2 == 0 {
            [240, 200, 20, 255]
        } else {
            [10, 60, 200, 255]
        }
    });
    let (pa, pb) = (dir.join("a.png"), dir.join("b.png"));
    save_png(&a, &pa).unwrap();
    save_png(&b, &pb).unwrap();
    (pa, pb)
}

fn frame(dir: &Path, i: u32) -> Frame {
    load_image(&dir.join(format!("frame_{i:04}.png"))).unwrap()
}

fn fitted(path: &Path, w: u32, h: u32) -> Frame {
    fit_frame(
        &load_image(path).unwrap(),
        w,
        h,
        Fit::Contain,
        [0, 0, 0, 255],
    )
    .unwrap()
}

#[test]
fn every_transition_runs_from_source_to_exact_target() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = inputs(tmp.path());
    let (fa, fb) = (fitted(&a, 64, 48), fitted(&b, 64, 48));
    for kind in TransitionKind::ALL {
        let out = tmp.path().join(kind.name());
        let o = warden(
            tmp.path(),
            &[
                "render",
                "--from",
                a.to_str().unwrap(),
                "--to",
                b.to_str().unwrap(),
                "--transition",
                kind.name(),
                "--frames",
                "4",
                "--size",
                "64x48",
                "--out",
                out.to_str().unwrap(),
                "--backend",
                "cpu",
                "--easing",
                "linear",
            ],
        );
        let stdout = text(&o.stdout);
        assert!(o.status.success(), "{kind}: {}", text(&o.stderr));
        assert!(stdout.contains("backend: cpu (forced"), "{stdout}");
        assert!(stdout.contains("render time per frame: min "), "{stdout}");
        assert!(
            stdout.contains("last frame equals the target: yes"),
            "{stdout}"
        );
        assert_eq!(frame(&out, 0), fa, "{kind}: first frame is the source");
        assert_eq!(
            frame(&out, 3),
            fb,
            "{kind}: last frame is exactly the target"
        );
        assert_ne!(frame(&out, 1), fa, "{kind}: frame 1 moved");
        assert!(!out.join("frame_0004.png").exists());
    }
}

#[test]
fn default_size_is_the_source_size() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = inputs(tmp.path());
    let out = tmp.path().join("o");
    let o = warden(
        tmp.path(),
        &[
            "render",
            "--from",
            a.to_str().unwrap(),
            "--to",
            b.to_str().unwrap(),
            "--transition",
            "zoom",
            "--frames",
            "1",
            "--out",
            out.to_str().unwrap(),
            "--backend",
            "cpu",
            "--fit",
            "cover",
        ],
    );
    assert!(o.status.success(), "{}", text(&o.stderr));
    let only = frame(&out, 0);
    assert_eq!((only.width(), only.height()), (120, 80));
    let want = fit_frame(
        &load_image(&b).unwrap(),
        120,
        80,
        Fit::Cover,
        [0, 0, 0, 255],
    )
    .unwrap();
    assert_eq!(only, want, "one frame is the target");
}

#[test]
fn wgpu_frames_match_cpu_frames_at_an_odd_width() {
    let tmp = tempfile::tempdir().unwrap();
    match select_backend(BackendRequest::Wgpu) {
        Ok(choice) => warden_renderer::gpu_tests::ran_on(&choice),
        Err(e) => {
            warden_renderer::gpu_tests::no_adapter(&e);
            return;
        }
    }
    let (a, b) = inputs(tmp.path());
    let run = |backend: &str| {
        let out = tmp.path().join(backend);
        let o = warden(
            tmp.path(),
            &[
                "render",
                "--from",
                a.to_str().unwrap(),
                "--to",
                b.to_str().unwrap(),
                "--transition",
                "blockflip",
                "--frames",
                "5",
                "--size",
                "97x61",
                "--seed",
                "9",
                "--bars",
                "20",
                "--boxes",
                "4",
                "--out",
                out.to_str().unwrap(),
                "--backend",
                backend,
            ],
        );
        assert!(o.status.success(), "{backend}: {}", text(&o.stderr));
        (out, text(&o.stdout))
    };
    let (gpu_dir, gpu_out) = run("wgpu");
    let (cpu_dir, _) = run("cpu");
    assert!(gpu_out.contains("backend: wgpu on "), "{gpu_out}");
    assert!(gpu_out.contains("at level full-shaders"), "{gpu_out}");
    for i in 0..5 {
        let d = frame(&gpu_dir, i).max_channel_diff(&frame(&cpu_dir, i));
        assert!(d.is_some_and(|d| d <= 1), "frame {i}: {d:?}");
    }
}

#[test]
fn auto_reports_its_choice_and_reason() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = inputs(tmp.path());
    let out = tmp.path().join("o");
    let o = warden(
        tmp.path(),
        &[
            "render",
            "--from",
            a.to_str().unwrap(),
            "--to",
            b.to_str().unwrap(),
            "--transition",
            "crossfade",
            "--frames",
            "2",
            "--out",
            out.to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{}", text(&o.stderr));
    let stdout = text(&o.stdout);
    let choice = select_backend(BackendRequest::Auto).unwrap();
    assert!(
        stdout.contains(&format!("backend: {choice}")),
        "{stdout} vs {choice}"
    );
    if choice.adapter.as_ref().is_none_or(|a| a.software) {
        assert_eq!(choice.backend, Backend::Cpu, "software or no adapter: CPU");
        assert!(stdout.contains("backend: cpu (auto: "), "{stdout}");
    }
}

#[test]
fn bad_input_is_one_clear_error() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, _) = inputs(tmp.path());
    let bad = tmp.path().join("bad.png");
    std::fs::write(&bad, b"\x89PNG\r\n\x1a\n garbage").unwrap();
    let out = tmp.path().join("o");
    let base = |from: &Path, transition: &str, size: &str| {
        warden(
            tmp.path(),
            &[
                "render",
                "--from",
                from.to_str().unwrap(),
                "--to",
                a.to_str().unwrap(),
                "--transition",
                transition,
                "--frames",
                "3",
                "--size",
                size,
                "--out",
                out.to_str().unwrap(),
                "--backend",
                "cpu",
            ],
        )
    };
    let o = base(&bad, "crossfade", "32x32");
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.starts_with("error: loading --from: cannot load image"),
        "{err}"
    );
    assert!(
        err.contains("bad.png") && !err.contains("panicked"),
        "{err}"
    );

    let o = base(&tmp.path().join("missing.jpg"), "crossfade", "32x32");
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o.stderr).contains("missing.jpg"));

    let o = base(&a, "fade", "32x32");
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("unknown transition \"fade\"") && err.contains("blockflip"),
        "{err}"
    );

    let o = base(&a, "crossfade", "32");
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("WIDTHxHEIGHT"), "{err}");
    assert!(!out.exists(), "nothing written on bad arguments");
}

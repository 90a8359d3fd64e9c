//! `warden run` showing the live system as users see it: the real binary,
//! its children, frames over real HTTP (PNG, JPEG, the MJPEG stream decoded
//! part by part), the compositor's figures, faults injected through the
//! admin API while the picture keeps coming, and `--frames` on disk.
#![allow(clippy::unwrap_used)]

#[path = "support/process.rs"]
mod support;

use std::io::{BufRead, BufReader, Write as _};
use std::time::Duration;

use support::{eventually, get_json, http, post, run, warden};

const TOKEN: &str = "live-token-77";

/// The whole system, small: 320×180 at 30 fps, a transition every second.
const SYSTEM: &str = r#"
[supervisor]
max_restarts = 100
within_secs = 10

[actors.store]
kind = "store"
placement = "process"
data = "scene"

[actors.image_decode]
kind = "image_decode"
placement = "process"
source = "samples"
sample_size = "640x360"
size = "320x180"

[actors.fft]
kind = "fft"
placement = "inprocess"

[actors.perception]
kind = "perception"
placement = "process"
size = "320x240"
fps = 10

[actors.compositor]
kind = "compositor"
placement = "inprocess"
size = "320x180"
fps = 30
slide_secs = 1.0
transition_ms = 600
"#;

fn config_file(text: &str) -> tempfile::NamedTempFile {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    file.write_all(text.as_bytes()).unwrap();
    file
}

fn start() -> support::Running {
    let config = config_file(SYSTEM);
    let running = run(&["--config", config.path().to_str().unwrap()], Some(TOKEN));
    assert!(
        eventually(Duration::from_secs(20), || {
            get_json(&running.url("/api/compositor")).1["frames"]
                .as_u64()
                .is_some_and(|f| f > 10)
        }),
        "frames come: {}",
        get_json(&running.url("/api/compositor")).1
    );
    running
}

fn figures(running: &support::Running) -> serde_json::Value {
    let (status, body) = get_json(&running.url("/api/compositor"));
    assert_eq!(status, 200, "{body}");
    body
}

/// GET `path` as bytes with its content type.
fn get_bytes(running: &support::Running, path: &str) -> (u16, String, Vec<u8>) {
    let mut response = http().get(&running.url(path)).call().unwrap();
    let status = response.status().as_u16();
    let kind = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let body = response
        .body_mut()
        .with_config()
        .limit(64 << 20)
        .read_to_vec()
        .unwrap();
    (status, kind, body)
}

/// Read `count` parts of a `multipart/x-mixed-replace` stream: each part's
/// `X-Frame` and its body.
fn parts(reader: &mut impl BufRead, boundary: &str, count: usize) -> Vec<(u64, Vec<u8>)> {
    let mut out = Vec::new();
    while out.len() < count {
        let mut line = String::new();
        assert!(reader.read_line(&mut line).unwrap() > 0, "the stream ended");
        if line.trim_end() != format!("--{boundary}") {
            assert!(line.trim().is_empty(), "between parts: {line:?}");
            continue;
        }
        let (mut length, mut frame) = (None, None);
        loop {
            let mut header = String::new();
            reader.read_line(&mut header).unwrap();
            let header = header.trim_end();
            if header.is_empty() {
                break;
            }
            let (name, value) = header.split_once(':').unwrap();
            match name.to_ascii_lowercase().as_str() {
                "content-length" => length = Some(value.trim().parse::<usize>().unwrap()),
                "x-frame" => frame = Some(value.trim().parse::<u64>().unwrap()),
                "content-type" => assert_eq!(value.trim(), "image/jpeg"),
                _ => {}
            }
        }
        let mut body = vec![0; length.expect("Content-Length")];
        reader.read_exact(&mut body).unwrap();
        out.push((frame.expect("X-Frame"), body));
    }
    out
}

#[test]
fn frames_the_stream_and_the_figures_over_http() {
    let running = start();

    // One frame, both encodings, decodable at the configured size.
    let (status, kind, png) = get_bytes(&running, "/api/frame.png");
    assert_eq!((status, kind.as_str()), (200, "image/png"));
    let png = image::load_from_memory(&png).unwrap();
    assert_eq!((png.width(), png.height()), (320, 180));
    let (status, kind, jpg) = get_bytes(&running, "/api/frame.jpg?quality=90");
    assert_eq!((status, kind.as_str()), (200, "image/jpeg"));
    let jpg = image::load_from_memory(&jpg).unwrap().to_rgb8();
    assert_eq!(jpg.dimensions(), (320, 180));
    let (status, _, body) = get_bytes(&running, "/api/frame.jpg?quality=0");
    assert_eq!(status, 400, "{}", String::from_utf8_lossy(&body));

    // The stream: JPEG parts, newer and newer, decodable.
    let response = http()
        .get(&running.url("/api/stream.mjpeg"))
        .call()
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let kind = response
        .headers()
        .get("content-type")
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    let boundary = kind
        .strip_prefix("multipart/x-mixed-replace; boundary=")
        .unwrap_or_else(|| panic!("{kind}"))
        .to_string();
    let mut reader = BufReader::new(response.into_body().into_reader());
    let got = parts(&mut reader, &boundary, 8);
    for pair in got.windows(2) {
        assert!(
            pair[1].0 > pair[0].0,
            "frames move on: {} then {}",
            pair[0].0,
            pair[1].0
        );
    }
    for (_, jpeg) in &got {
        let picture = image::load_from_memory(jpeg).unwrap();
        assert_eq!((picture.width(), picture.height()), (320, 180));
    }
    // A second viewer shares the encodes.
    let second = http()
        .get(&running.url("/api/stream.mjpeg"))
        .call()
        .unwrap();
    let mut second = BufReader::new(second.into_body().into_reader());
    let _ = parts(&mut second, &boundary, 2);
    let stream = figures(&running)["stream"].clone();
    assert_eq!(stream["viewers"], 2, "{stream}");
    let _ = parts(&mut reader, &boundary, 4);
    let encoded = figures(&running)["stream"]["encoded"].as_u64().unwrap();
    let rendered = figures(&running)["frames"].as_u64().unwrap();
    assert!(
        encoded <= rendered,
        "one encode per frame at most: {encoded} for {rendered}"
    );
    drop(reader);
    drop(second);
    // Nobody watches: the encoding stops.
    assert!(eventually(Duration::from_secs(10), || {
        let before = figures(&running)["stream"]["encoded"].as_u64().unwrap();
        std::thread::sleep(Duration::from_millis(300));
        figures(&running)["stream"]["encoded"].as_u64().unwrap() == before
    }));

    // The figures the issue names.
    let f = figures(&running);
    for key in [
        "backend",
        "demotion_level",
        "fps_target",
        "fps",
        "dt_p50_ms",
        "dt_p99_ms",
        "dt_max_ms",
        "late_frames",
        "image",
        "transition",
        "bars_age_ms",
        "tracks_age_ms",
        "scene_version",
    ] {
        assert!(f.get(key).is_some(), "{key} in {f}");
    }
    assert_eq!(f["fps_target"], 30.0);
    assert_eq!(
        f["backend"], "cpu",
        "a software adapter composes on the CPU"
    );
    assert!(f["scene_version"].as_u64().unwrap() > 0, "the seeded scene");
    let metrics = http()
        .get(&running.url("/metrics"))
        .call()
        .unwrap()
        .body_mut()
        .read_to_string()
        .unwrap();
    for family in [
        "warden_compositor_frame_interval_seconds_bucket",
        "warden_compositor_render_seconds_bucket",
        "warden_compositor_late_frames_total",
    ] {
        assert!(metrics.contains(family), "{family}");
    }
    metrics_pass_promtool(&running, &metrics);

    // The stall fault needs the token and a valid ms.
    let stall = running.url("/api/actors/image_decode/stall?ms=20");
    assert_eq!(post(&stall, None).0, 401);
    assert_eq!(post(&stall, Some("wrong")).0, 401);
    assert_eq!(
        post(
            &running.url("/api/actors/image_decode/stall?ms=nope"),
            Some(TOKEN)
        )
        .0,
        400
    );
    assert_eq!(
        post(
            &running.url("/api/actors/image_decode/stall?ms=600001"),
            Some(TOKEN)
        )
        .0,
        400
    );
    assert_eq!(
        post(&running.url("/api/actors/nobody/stall?ms=5"), Some(TOKEN)).0,
        404
    );
    assert_eq!(post(&stall, Some(TOKEN)).0, 200);
    assert_eq!(
        post(
            &running.url("/api/actors/image_decode/stall?ms=0"),
            Some(TOKEN)
        )
        .0,
        200
    );

    // The child-channel faults: the token, a kind the route names, a
    // child to strike; each strikes the running instance and the
    // supervisor brings up a new one.
    let fault = |actor: &str, kind: &str, token: Option<&str>| {
        post(
            &running.url(&format!("/api/actors/{actor}/fault?kind={kind}")),
            token,
        )
    };
    assert_eq!(fault("perception", "exit", None).0, 401);
    let (status, body) = fault("perception", "explode", Some(TOKEN));
    assert_eq!(status, 400, "{body}");
    assert!(body["error"].as_str().unwrap().contains("kind"), "{body}");
    assert_eq!(fault("perception", "", Some(TOKEN)).0, 400);
    let (status, body) = fault("fft", "garbage", Some(TOKEN));
    assert_eq!(status, 409, "fft runs in the kernel: {body}");
    assert_eq!(fault("nobody", "exit", Some(TOKEN)).0, 404);
    for kind in ["garbage", "oversize", "exit", "linger"] {
        let (status, body) = fault("perception", kind, Some(TOKEN));
        assert_eq!(status, 202, "{kind}: {body}");
        back(&running, "perception", body["generation"].as_u64().unwrap());
    }
    assert!(running.terminate().success());
}

/// `/metrics` says which format it serves, by `Accept`, and Prometheus's
/// own linter (`promtool check metrics`, Debian's `prometheus`, which
/// `.ci/run` installs and then requires with `WARDEN_REQUIRE_PROMTOOL=1`)
/// accepts both bodies.
fn metrics_pass_promtool(running: &support::Running, classic: &str) {
    let mut response = http().get(&running.url("/metrics")).call().unwrap();
    let kind = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_string();
    assert_eq!(kind, "text/plain; version=0.0.4; charset=utf-8");
    let again = response.body_mut().read_to_string().unwrap();
    assert!(!again.contains("# EOF") && !again.contains("# UNIT"));
    assert!(
        classic.contains("# TYPE warden_calls_total counter"),
        "{classic}"
    );
    let mut response = http()
        .get(&running.url("/metrics"))
        .header(
            "Accept",
            "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5",
        )
        .call()
        .unwrap();
    let kind = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        kind.starts_with("application/openmetrics-text; version=1.0.0"),
        "{kind}"
    );
    let open = response.body_mut().read_to_string().unwrap();
    assert!(open.ends_with("# EOF\n"), "{open}");

    // The classic body through Prometheus's own linter.
    let promtool = std::env::var_os("WARDEN_PROMTOOL").unwrap_or_else(|| "promtool".into());
    let required = std::env::var_os("WARDEN_REQUIRE_PROMTOOL").is_some_and(|v| v == "1");
    match piped(&promtool, &["check", "metrics"], &again) {
        Ok((true, said)) => assert!(said.trim().is_empty(), "promtool: {said}"),
        Ok((false, said)) => panic!("promtool check metrics: {said}"),
        Err(err) if !required => {
            eprintln!("SKIPPED promtool check metrics: {err} (apt install prometheus)")
        }
        Err(err) => panic!("WARDEN_REQUIRE_PROMTOOL=1 but promtool cannot run: {err}"),
    }
    // The OpenMetrics body through the strict OpenMetrics parser of the
    // official Python client (promtool 2.x lints classic text only).
    let python = std::env::var_os("WARDEN_METRICS_PYTHON");
    let script = "import sys\nfrom prometheus_client.openmetrics.parser import text_string_to_metric_families as p\n\
                  n = sum(1 for _ in p(sys.stdin.read()))\nprint(n)";
    match python {
        Some(python) => match piped(&python, &["-c", script], &open) {
            Ok((true, said)) => assert!(said.trim().parse::<u32>().unwrap() > 10, "{said}"),
            other => panic!("the OpenMetrics parser: {other:?}"),
        },
        None if required => panic!("WARDEN_REQUIRE_PROMTOOL=1 but no WARDEN_METRICS_PYTHON"),
        None => eprintln!(
            "SKIPPED the OpenMetrics parser: set WARDEN_METRICS_PYTHON to a Python with prometheus-client"
        ),
    }
}

/// Run `program args` with `input` on stdin: (success, stdout + stderr).
fn piped(program: &std::ffi::OsStr, args: &[&str], input: &str) -> std::io::Result<(bool, String)> {
    let mut child = std::process::Command::new(program)
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()?;
    std::io::Write::write_all(child.stdin.as_mut().unwrap(), input.as_bytes())?;
    drop(child.stdin.take());
    let out = child.wait_with_output()?;
    Ok((
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    ))
}

/// The frame count moves on by at least `frames` within 10 s.
fn frames_move_on(running: &support::Running, frames: u64, during: &str) {
    let from = figures(running)["frames"].as_u64().unwrap_or(0);
    assert!(
        eventually(Duration::from_secs(10), || figures(running)["frames"]
            .as_u64()
            .is_some_and(|now| now >= from + frames)),
        "{during}: frames stopped at {}",
        figures(running)
    );
}

fn back(running: &support::Running, name: &str, generation: u64) {
    assert!(
        eventually(Duration::from_secs(15), || {
            let status = get_json(&running.url(&format!("/api/actors/{name}"))).1;
            status["state"] == "running" && status["generation"].as_u64() > Some(generation)
        }),
        "{name} came back: {}",
        get_json(&running.url(&format!("/api/actors/{name}"))).1
    );
}

fn generation(running: &support::Running, name: &str) -> u64 {
    get_json(&running.url(&format!("/api/actors/{name}"))).1["generation"]
        .as_u64()
        .unwrap()
}

/// The image's position in the samples, from its name.
fn image_index(figures: &serde_json::Value) -> u64 {
    let name = figures["image"]
        .as_str()
        .unwrap_or_else(|| panic!("{figures}"));
    let digits: String = name.chars().filter(char::is_ascii_digit).collect();
    digits.parse::<u64>().unwrap() - 1
}

#[test]
fn the_picture_keeps_coming_while_workers_stall_die_and_restart() {
    let running = start();
    let transitions = |r: &support::Running| figures(r)["transitions"].as_u64().unwrap();

    // image_decode stalls 20 ms per request: the slideshow goes on.
    assert_eq!(
        post(
            &running.url("/api/actors/image_decode/stall?ms=20"),
            Some(TOKEN)
        )
        .0,
        200
    );
    let before = transitions(&running);
    frames_move_on(&running, 30, "image_decode stalled");
    assert!(
        eventually(Duration::from_secs(10), || transitions(&running)
            >= before + 2),
        "transitions through the stall: {}",
        figures(&running)
    );
    post(
        &running.url("/api/actors/image_decode/stall?ms=0"),
        Some(TOKEN),
    );

    // image_decode SIGKILLed in the middle of a transition.
    assert!(eventually(Duration::from_secs(10), || {
        !figures(&running)["transition"].is_null()
    }));
    let g = generation(&running, "image_decode");
    assert_eq!(
        post(&running.url("/api/actors/image_decode/kill"), Some(TOKEN)).0,
        202
    );
    frames_move_on(&running, 30, "image_decode killed");
    back(&running, "image_decode", g);
    let before = transitions(&running);
    assert!(
        eventually(Duration::from_secs(10), || transitions(&running) > before),
        "the slideshow goes on with the new image_decode: {}",
        figures(&running)
    );

    // fft and perception SIGKILLed: bars and tracks come back.
    for (name, age) in [("fft", "bars_age_ms"), ("perception", "tracks_age_ms")] {
        let g = generation(&running, name);
        assert_eq!(
            post(
                &running.url(&format!("/api/actors/{name}/kill")),
                Some(TOKEN)
            )
            .0,
            202
        );
        frames_move_on(&running, 30, name);
        back(&running, name, g);
        assert!(
            eventually(Duration::from_secs(10), || figures(&running)[age]
                .as_f64()
                .is_some_and(|ms| ms < 500.0)),
            "{age} fresh again: {}",
            figures(&running)
        );
    }

    // The store restarted: the scene is read again.
    let g = generation(&running, "store");
    assert_eq!(
        post(&running.url("/api/actors/store/restart"), Some(TOKEN)).0,
        200
    );
    frames_move_on(&running, 30, "store restarted");
    back(&running, "store", g);

    // The compositor itself killed: it comes back where the scene says.
    let shown = image_index(&figures(&running));
    let g = generation(&running, "compositor");
    assert_eq!(
        post(&running.url("/api/actors/compositor/kill"), Some(TOKEN)).0,
        202
    );
    back(&running, "compositor", g);
    assert!(eventually(Duration::from_secs(10), || {
        figures(&running)["frames"].as_u64().is_some_and(|f| f > 5)
    }));
    let resumed = image_index(&figures(&running));
    let samples = 8;
    assert!(
        resumed == shown || resumed == (shown + 1) % samples,
        "resumed at image {resumed}, was at {shown}"
    );

    // Nothing panicked in the kernel, and it is healthy.
    assert_eq!(get_json(&running.url("/healthz")).0, 200);
    let stderr = running.stderr.lock().unwrap().clone();
    assert!(!stderr.contains("kernel panic"), "{stderr}");
    assert!(running.terminate().success());
}

#[test]
fn frames_to_disk_are_deterministic_and_summarised() {
    let config = config_file(SYSTEM);
    let render = || {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("frames");
        let output = warden()
            .current_dir(dir.path())
            .args(["run", "--config", config.path().to_str().unwrap()])
            .args(["--frames", "45", "--out", out.to_str().unwrap(), "--json"])
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let summary: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
        let mut files: Vec<_> = std::fs::read_dir(&out)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        let frames: Vec<Vec<u8>> = files.iter().map(|p| std::fs::read(p).unwrap()).collect();
        (summary, files, frames, dir)
    };
    let (summary, files, first, _keep) = render();
    assert_eq!(summary["frames"], 45, "{summary}");
    assert_eq!(files.len(), 45);
    assert!(files[0].ends_with("frame-00000.png") && files[44].ends_with("frame-00044.png"));
    for key in [
        "avg_fps",
        "frame_p50_ms",
        "frame_p99_ms",
        "frame_max_ms",
        "late_frames",
    ] {
        assert!(summary[key].is_number(), "{key} in {summary}");
    }
    let picture = image::load_from_memory(&first[44]).unwrap();
    assert_eq!((picture.width(), picture.height()), (320, 180));
    // 1.5 s of a slideshow with a transition each second: not one still picture.
    assert_ne!(first[0], first[44]);
    let (_, _, second, _keep2) = render();
    for (i, (a, b)) in first.iter().zip(&second).enumerate() {
        assert!(a == b, "frame {i} differs between two runs");
    }

    // A config without a compositor says so.
    let lonely = config_file("[actors.fft]\nkind = \"fft\"\n");
    let output = warden()
        .args(["run", "--config", lonely.path().to_str().unwrap()])
        .args(["--frames", "3", "--out", "/tmp/never"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("no compositor"), "{stderr}");
}

/// The decoder over HTTP on a directory of the user's, in both placements:
/// the list in name order; each image decoded at the size and in the
/// format asked (read back by the `image` crate); the index taken modulo
/// the count; the cache answering a repeat; a corrupt file refused with
/// 422 naming it; every bad query refused with 400 naming what was wrong;
/// and the kernel still ready afterwards.
#[test]
fn images_are_decoded_at_the_size_asked_and_a_corrupt_one_is_named() {
    for placement in ["process", "inprocess"] {
        let pictures = tempfile::tempdir().unwrap();
        let picture = image::RgbImage::from_fn(64, 48, |x, y| {
            image::Rgb([(x * 4) as u8, (y * 5) as u8, 90])
        });
        picture.save(pictures.path().join("a.png")).unwrap();
        picture.save(pictures.path().join("b.jpg")).unwrap();
        std::fs::write(
            pictures.path().join("c.jpg"),
            b"\xff\xd8\xff\xe0 a JPEG that stops here",
        )
        .unwrap();
        let config = config_file(&format!(
            "[actors.image_decode]\nkind = \"image_decode\"\nplacement = \"{placement}\"\n\
             source = \"dir\"\ndir = \"{}\"\nsize = \"48x36\"\n",
            pictures.path().display()
        ));
        let running = run(&["--config", config.path().to_str().unwrap()], Some(TOKEN));
        assert!(
            eventually(Duration::from_secs(20), || {
                get_json(&running.url("/api/images")).1["names"]
                    .as_array()
                    .is_some_and(|names| names.len() == 3)
            }),
            "{placement}: the list: {}",
            get_json(&running.url("/api/images")).1
        );
        let names = get_json(&running.url("/api/images")).1["names"].clone();
        let names: Vec<&str> = names
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n.as_str().unwrap())
            .collect();
        assert!(
            names[0].ends_with("a.png")
                && names[1].ends_with("b.jpg")
                && names[2].ends_with("c.jpg"),
            "{names:?}"
        );

        let fetch = |path: &str| {
            let mut response = http().get(&running.url(path)).call().unwrap();
            let header = |name: &str| {
                response
                    .headers()
                    .get(name)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .to_string()
            };
            let heads = (
                header("content-type"),
                header("x-image-index"),
                header("x-cache"),
            );
            let status = response.status().as_u16();
            let body = response.body_mut().read_to_vec().unwrap();
            (status, heads, body)
        };
        let (status, (kind, index, _), body) = fetch("/api/images/0?size=40x30&fit=stretch");
        assert_eq!(
            (status, kind.as_str(), index.as_str()),
            (200, "image/jpeg", "0"),
            "{placement}: {}",
            String::from_utf8_lossy(&body)
        );
        let decoded = image::load_from_memory(&body).unwrap();
        assert_eq!((decoded.width(), decoded.height()), (40, 30));
        // Index 4 of 3 images is the second; PNG on request; the default size.
        let (status, (kind, index, cache), body) = fetch("/api/images/4?format=png");
        assert_eq!(
            (status, kind.as_str(), index.as_str()),
            (200, "image/png", "1")
        );
        let decoded = image::load_from_memory(&body).unwrap();
        assert_eq!(
            (decoded.width(), decoded.height()),
            (48, 36),
            "the actor's size"
        );
        assert_eq!(cache, "miss");
        assert_eq!(
            fetch("/api/images/1?format=png").1.2,
            "hit",
            "a repeat is cached"
        );

        // A child's frames travel in its shared-memory slots, sized from
        // the actor's `size`: a larger frame is refused, naming the slot.
        let (status, _, body) = fetch("/api/images/0?size=200x200");
        let body = String::from_utf8_lossy(&body);
        if placement == "process" {
            assert_eq!(status, 422, "{body}");
            assert!(body.contains("shared-memory slot"), "{body}");
        } else {
            assert_eq!(status, 200);
        }
        let (status, body) = get_json(&running.url("/api/images/2"));
        assert_eq!(status, 422, "{placement}: the corrupt file: {body}");
        assert!(body["error"].as_str().unwrap().contains("c.jpg"), "{body}");
        for (query, names) in [
            ("/api/images/x", "index"),
            ("/api/images/-1", "index"),
            ("/api/images/0?size=0x5", "size"),
            ("/api/images/0?size=huge", "size"),
            ("/api/images/0?fit=squash", "squash"),
            ("/api/images/0?format=gif", "gif"),
            ("/api/images/0?colour=red", "colour"),
        ] {
            let (status, body) = get_json(&running.url(query));
            assert_eq!(status, 400, "{placement} {query}: {body}");
            assert!(
                body["error"].as_str().unwrap().contains(names),
                "{query} names {names}: {body}"
            );
        }
        assert_eq!(get_json(&running.url("/readyz")).0, 200);
        assert!(running.terminate().success());
    }
}

/// The socket inodes `pid` holds.
fn sockets(pid: u32) -> std::collections::BTreeSet<String> {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|dir| {
            dir.flatten()
                .filter_map(|fd| std::fs::read_link(fd.path()).ok())
                .map(|target| target.to_string_lossy().into_owned())
                .filter(|target| target.starts_with("socket:"))
                .collect()
        })
        .unwrap_or_default()
}

/// No child holds a channel of a sibling's: no socket is in two children
/// (the kernel may share one with a child: a sender it handed over) — at
/// start, and after a child is replaced while
/// its siblings' channels are open (the kernel `accept`s every handshake
/// without `SOCK_CLOEXEC`, so a child closes what it inherited).
#[test]
fn a_child_holds_no_channel_of_its_siblings() {
    let running = start();
    let kernel = running.child.id();
    let check = |when: &str| {
        let children: Vec<u32> = ["store", "image_decode", "perception"]
            .iter()
            .map(|name| {
                get_json(&running.url(&format!("/api/actors/{name}"))).1["pid"]
                    .as_u64()
                    .unwrap() as u32
            })
            .collect();
        let mut owner = std::collections::HashMap::new();
        for &pid in &children {
            let held = sockets(pid);
            assert!(!held.is_empty(), "{when}: {pid} holds its channel");
            for socket in held {
                if let Some(other) = owner.insert(socket.clone(), pid) {
                    panic!(
                        "{when}: {socket} is held by {other} and {pid} (kernel {kernel}, children {children:?})"
                    );
                }
            }
        }
    };
    check("at start");
    let g = generation(&running, "store");
    assert_eq!(
        post(&running.url("/api/actors/store/kill"), Some(TOKEN)).0,
        202
    );
    back(&running, "store", g);
    check("after the store was replaced");
    assert!(running.terminate().success());
}

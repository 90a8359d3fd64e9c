//! The live system's picture, checked against what it should show: the
//! compositor on the virtual clock (deterministic) fed by real
//! image_decode, fft, perception and store actors — children where the
//! config says `process` — and each frame compared with an offline render
//! of its inputs made here from the cores.
#![allow(clippy::unwrap_used)]

#[path = "support/kernel.rs"]
mod support;

use std::time::{Duration, Instant};

use support::boot_full;
use warden_compositor::{Compositor, CompositorMsg, CompositorReply, CompositorStatus};
use warden_kernel::{ActorRef, Kernel};

/// The next frame of a compositor on the virtual clock: RGBA, its clock (ms).
async fn next_frame(compositor: &ActorRef<Compositor>) -> (Vec<u8>, f64) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        match compositor.call(CompositorMsg::RenderOnce).await {
            Ok(CompositorReply::Frame(frame)) => return (frame.rgba.to_vec(), frame.clock_ms),
            Ok(CompositorReply::Held(why)) => {
                assert!(Instant::now() < deadline, "no frame: {why}");
            }
            Ok(other) => panic!("RenderOnce answered {other:?}"),
            Err(err) => panic!("RenderOnce failed: {err}"),
        }
        actix_rt::time::sleep(Duration::from_millis(1)).await;
    }
}

async fn status(compositor: &ActorRef<Compositor>) -> CompositorStatus {
    match compositor.call(CompositorMsg::Status).await.unwrap() {
        CompositorReply::Status(status) => *status,
        other => panic!("Status answered {other:?}"),
    }
}

fn compositor(kernel: &Kernel) -> ActorRef<Compositor> {
    kernel.actor::<Compositor>("compositor").unwrap()
}

/// The largest per-channel difference of two RGBA buffers.
fn worst(a: &[u8], b: &[u8]) -> u8 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| x.abs_diff(*y))
        .max()
        .unwrap_or(0)
}

const W: u32 = 320;
const H: u32 = 180;

/// A virtual-clock compositor at 320×180 and 30 fps with `extra` keys, and
/// the `others` tables.
fn system(compositor_keys: &str, others: &str) -> String {
    format!(
        "[supervisor]\nmax_restarts = 100\nwithin_secs = 10\n\
         [actors.compositor]\nkind = \"compositor\"\nplacement = \"inprocess\"\n\
         size = \"{W}x{H}\"\nfps = 30\nclock = \"virtual\"\n{compositor_keys}\n{others}"
    )
}

/// The sample image `index` as image_decode gives it at `W × H` (drawn at
/// 640×360, encoded, decoded and prescaled by the cores, offline).
fn offline_sample(index: usize) -> Vec<u8> {
    let bytes = warden_image::samples::sample_bytes(index, 640, 360).unwrap();
    let spec = warden_image::ScaleSpec::new(W, H).with_fit(warden_image::Fit::Contain);
    let decoded =
        warden_image::decode_prescaled(&bytes, &warden_image::Limits::default(), &spec).unwrap();
    assert_eq!(decoded.image.dimensions(), (W, H));
    decoded.image.pixels().to_vec()
}

#[actix_rt::test]
async fn a_frame_after_a_transition_is_its_target_image_as_rendered_offline() {
    let kernel = boot_full(&system(
        "images = \"image_decode\"\naudio = \"\"\ncamera = \"\"\nstore = \"\"\n\
         slide_secs = 0.3\ntransition_ms = 200\ntransitions = [\"crossfade\", \"wipe-left\"]\n",
        "[actors.image_decode]\nkind = \"image_decode\"\nplacement = \"process\"\n\
         source = \"samples\"\nsample_size = \"640x360\"\n",
    ))
    .await;
    let compositor = compositor(&kernel);
    // The first image, alone.
    let (first, _) = next_frame(&compositor).await;
    assert!(worst(&first, &offline_sample(0)) <= 1, "image 0 as decoded");
    // Through the first transition (0.3 s + 0.2 s) and a little after.
    let mut frames = Vec::new();
    for _ in 0..20 {
        frames.push(next_frame(&compositor).await.0);
    }
    let s = status(&compositor).await;
    assert_eq!(s.transitions, 1, "{s:?}");
    assert!(s.transition.is_none(), "over: {s:?}");
    assert_eq!(
        s.image,
        Some(format!("sample:{}", warden_image::samples::sample_name(1)))
    );
    let (after, _) = next_frame(&compositor).await;
    let target = offline_sample(1);
    assert!(
        worst(&after, &target) <= 1,
        "the frame after the transition is image 1 within 1 per channel (worst {})",
        worst(&after, &target)
    );
    // The comparison tells images apart, and the transition was on screen.
    assert!(worst(&after, &offline_sample(0)) > 16);
    let first = offline_sample(0);
    let between = frames
        .iter()
        .filter(|f| worst(f, &target) > 8 && worst(f, &first) > 8)
        .count();
    // 200 ms at 30 fps: six frames, the eased ends close to an image.
    assert!((2..=7).contains(&between), "{between} frames of transition");
    kernel.shutdown().await;
}

/// The height (in pixels) of each bar, read from the frame's bars area
/// (the bottom 30 %, bars over black), and the bar count.
fn bar_heights(frame: &[u8], bars: usize) -> Vec<u32> {
    let (w, h) = (W as usize, H as usize);
    let top = (h as f64 * 0.7).round() as usize;
    (0..bars)
        .map(|i| {
            let x = i * w / bars; // the slot's first column is always bar
            (top..h)
                .filter(|&y| {
                    let p = &frame[(y * w + x) * 4..][..3];
                    p.iter().any(|&c| c > 24)
                })
                .count() as u32
        })
        .collect()
}

#[actix_rt::test]
async fn the_bars_follow_a_tone_into_the_bar_of_its_frequency() {
    let kernel = boot_full(&system(
        "images = \"\"\ncamera = \"\"\nstore = \"\"\naudio = \"fft\"\n",
        "[actors.fft]\nkind = \"fft\"\nplacement = \"process\"\nsource = \"tone\"\n\
         tone_hz = 1000\nclock = \"virtual\"\nbars = 32\n",
    ))
    .await;
    let compositor = compositor(&kernel);
    let layout = |hz: f32| {
        let analyzer = warden_fft::Analyzer::new(warden_fft::AnalyzerConfig {
            bars: 32,
            ..warden_fft::AnalyzerConfig::new(48_000)
        })
        .unwrap();
        analyzer.layout().bar_of(hz).unwrap()
    };
    let mut frame = Vec::new();
    for _ in 0..20 {
        frame = next_frame(&compositor).await.0;
    }
    let heights = bar_heights(&frame, 32);
    let loudest = (0..32).max_by_key(|&i| heights[i]).unwrap();
    assert!(
        loudest.abs_diff(layout(1000.0)) <= 1,
        "1 kHz lands in bar {} (±1): {heights:?}",
        layout(1000.0)
    );
    assert!(
        heights[loudest] > (H as f64 * 0.3 * 0.5) as u32,
        "{heights:?}"
    );
    // A bar far from the tone stays low.
    assert!(
        heights[layout(8000.0)] < heights[loudest] / 2,
        "{heights:?}"
    );

    // Another tone: the energy moves with it.
    let fft = kernel.actor::<warden_fft::actor::FftActor>("fft").unwrap();
    fft.call(warden_fft::actor::FftMsg::SetSource(
        warden_fft::actor::AudioSource::Tone {
            hz: 6000.0,
            amplitude: 0.5,
            sample_rate: 48_000,
        },
    ))
    .await
    .unwrap();
    for _ in 0..30 {
        frame = next_frame(&compositor).await.0;
    }
    let heights = bar_heights(&frame, 32);
    let loudest = (0..32).max_by_key(|&i| heights[i]).unwrap();
    assert!(
        loudest.abs_diff(layout(6000.0)) <= 1,
        "6 kHz lands in bar {} (±1): {heights:?}",
        layout(6000.0)
    );
    kernel.shutdown().await;
}

/// The perception tables of the boxes test: a synthetic camera at 10 fps.
const CAMERA: &str = "[actors.perception]\nkind = \"perception\"\nplacement = \"process\"\n\
    clock = \"virtual\"\nscenario = \"easy\"\nseed = 7\nsize = \"320x240\"\nfps = 10\n\
    [actors.store]\nkind = \"store\"\nplacement = \"inprocess\"\ndata = \"@DATA@\"\n";

/// The frame at 3 s of the camera system, with the boxes layer shown or hidden.
async fn camera_frame(show_boxes: bool) -> (Vec<u8>, f64) {
    let dir = tempfile::tempdir().unwrap();
    let kernel = boot_full(&system(
        "images = \"\"\naudio = \"\"\ncamera = \"perception\"\nstore = \"store\"\n\
         inset = [0.5, 0.0, 0.5, 0.5]\n",
        &CAMERA.replace("@DATA@", dir.path().join("scene").to_str().unwrap()),
    ))
    .await;
    if !show_boxes {
        let store = kernel
            .actor::<warden_store::actor::StoreActor>("store")
            .unwrap();
        let version = match store
            .call(warden_store::actor::StoreMsg::Status)
            .await
            .unwrap()
        {
            warden_store::actor::StoreReply::Status(status) => status.version,
            other => panic!("{other:?}"),
        };
        let reply = store
            .call(warden_store::actor::StoreMsg::Update {
                topic: "layers".into(),
                payload_json: r#"{"op":"set","id":"boxes","visible":false}"#.into(),
                expected_version: version,
                actor_id: "test".into(),
            })
            .await
            .unwrap();
        assert!(
            matches!(
                reply,
                warden_store::actor::StoreReply::Updated { ok: true, .. }
            ),
            "{reply:?}"
        );
    }
    let compositor = compositor(&kernel);
    let mut frame = (Vec::new(), 0.0);
    for _ in 0..90 {
        frame = next_frame(&compositor).await;
    }
    kernel.shutdown().await;
    frame
}

/// The synthetic camera's ground truth at `clock_ms` (the frame of that
/// slot at 10 fps), as the perception core makes it offline.
fn truth_at(clock_ms: f64) -> Vec<warden_perception::TruthBox> {
    let mut config = warden_perception::Scenario::Easy.config(7);
    config.width = 320;
    config.height = 240;
    config.fps = 10.0;
    config.frames = 36_000;
    let mut camera = warden_perception::SyntheticCamera::new(config).unwrap();
    let slot = (clock_ms * 10.0 / 1000.0).floor() as u64;
    use warden_perception::FrameSource as _;
    let mut frame = camera.next_frame().unwrap().unwrap();
    for _ in 0..slot {
        frame = camera.next_frame().unwrap().unwrap();
    }
    frame.truth.unwrap()
}

/// How much of the outline of `truth` (camera pixels, placed in the inset
/// and moved by `shift` frame pixels) lies on `mask` (within 2 pixels).
fn outline_coverage(mask: &[bool], truth: &warden_perception::BBox, shift: i64) -> f64 {
    let (fw, fh) = (W as i64, H as i64);
    // The inset: [0.5, 0, 0.5, 0.5] of 320×180 → x 160..320, y 0..90, for
    // a 320×240 camera.
    let map = |x: f32, y: f32| {
        (
            160 + (f64::from(x) * 160.0 / 320.0).round() as i64 + shift,
            (f64::from(y) * 90.0 / 240.0).round() as i64,
        )
    };
    let (x0, y0) = map(truth.x, truth.y);
    let (x1, y1) = map(truth.x + truth.w, truth.y + truth.h);
    let near = |x: i64, y: i64| {
        (-2..=2).any(|dy| {
            (-2..=2).any(|dx| {
                let (px, py) = (x + dx, y + dy);
                px >= 0 && py >= 0 && px < fw && py < fh && mask[(py * fw + px) as usize]
            })
        })
    };
    let mut points = Vec::new();
    for x in x0..=x1 {
        points.push((x, y0));
        points.push((x, y1));
    }
    for y in y0..=y1 {
        points.push((x0, y));
        points.push((x1, y));
    }
    points.iter().filter(|(x, y)| near(*x, *y)).count() as f64 / points.len().max(1) as f64
}

#[actix_rt::test]
async fn the_boxes_follow_the_synthetic_cameras_ground_truth() {
    let (with, clock_ms) = camera_frame(true).await;
    let (without, clock_without) = camera_frame(false).await;
    assert_eq!(clock_ms, clock_without, "the same moment of the same run");
    // Hiding the boxes is the only difference: what differs is the boxes.
    let mask: Vec<bool> = with
        .chunks_exact(4)
        .zip(without.chunks_exact(4))
        .map(|(a, b)| worst(a, b) > 24)
        .collect();
    assert!(mask.iter().any(|m| *m), "boxes were drawn");
    let truth: Vec<_> = truth_at(clock_ms)
        .into_iter()
        .filter(|t| t.visibility > 0.6 && t.bbox.w >= 24.0 && t.bbox.h >= 24.0)
        .collect();
    assert!(!truth.is_empty(), "objects in view");
    let mean = |shift: i64| {
        truth
            .iter()
            .map(|t| outline_coverage(&mask, &t.bbox, shift))
            .sum::<f64>()
            / truth.len() as f64
    };
    let placed = mean(0);
    let shifted = mean(12);
    assert!(
        placed >= 0.6,
        "the drawn boxes lie on the true outlines: {placed:.2} ({} objects)",
        truth.len()
    );
    assert!(
        shifted < placed - 0.2,
        "and not on shifted ones: {shifted:.2} vs {placed:.2}"
    );
}

#[actix_rt::test]
async fn a_store_update_changes_the_next_frames() {
    let dir = tempfile::tempdir().unwrap();
    let kernel = boot_full(&system(
        "images = \"image_decode\"\naudio = \"fft\"\ncamera = \"\"\nstore = \"store\"\n\
         slide_secs = 60\n",
        &format!(
            "[actors.image_decode]\nkind = \"image_decode\"\nplacement = \"process\"\n\
             source = \"samples\"\nsample_size = \"640x360\"\n\
             [actors.fft]\nkind = \"fft\"\nplacement = \"inprocess\"\nsource = \"tone\"\n\
             clock = \"virtual\"\n\
             [actors.store]\nkind = \"store\"\nplacement = \"process\"\ndata = \"{}\"\n",
            dir.path().join("scene").display()
        ),
    ))
    .await;
    let compositor = compositor(&kernel);
    let store = kernel
        .actor::<warden_store::actor::StoreActor>("store")
        .unwrap();
    let update = |payload: &'static str, topic: &'static str| {
        let store = store.clone();
        async move {
            let version = match store
                .call(warden_store::actor::StoreMsg::Status)
                .await
                .unwrap()
            {
                warden_store::actor::StoreReply::Status(status) => status.version,
                other => panic!("{other:?}"),
            };
            let reply = store
                .call(warden_store::actor::StoreMsg::Update {
                    topic: topic.into(),
                    payload_json: payload.into(),
                    expected_version: version,
                    actor_id: "test".into(),
                })
                .await
                .unwrap();
            assert!(
                matches!(
                    reply,
                    warden_store::actor::StoreReply::Updated { ok: true, .. }
                ),
                "{reply:?}"
            );
        }
    };
    let bars_area =
        |frame: &[u8]| -> Vec<u8> { frame[(H as usize * 7 / 10) * W as usize * 4..].to_vec() };
    let mut before = Vec::new();
    for _ in 0..10 {
        before = next_frame(&compositor).await.0;
    }
    let image = offline_sample(0);
    assert!(
        worst(&bars_area(&before), &bars_area(&image)) > 24,
        "bars drawn"
    );

    // Hide the bars: within a few frames the bars area is the image alone.
    update(r#"{"op":"set","id":"bars","visible":false}"#, "layers").await;
    let mut hidden_after = None;
    for frame_count in 1..=60 {
        let (frame, _) = next_frame(&compositor).await;
        if worst(&bars_area(&frame), &bars_area(&image)) <= 1 {
            hidden_after = Some((frame_count, frame));
            break;
        }
    }
    let (_, hidden) = hidden_after.expect("the bars went away");

    // Zoom the camera: the slideshow is magnified about the centre.
    update(r#"{"op":"set","target":"main","zoom":2.0}"#, "camera").await;
    let mut zoomed = None;
    for _ in 0..60 {
        let (frame, _) = next_frame(&compositor).await;
        if worst(&frame, &hidden) > 16 {
            zoomed = Some(frame);
            break;
        }
    }
    let zoomed = zoomed.expect("the zoom changed the picture");
    let status = status(&compositor).await;
    assert!(status.pacing.scene_changes >= 2, "{status:?}");
    // The centre stays, a point a quarter in comes from an eighth in.
    let at = |f: &[u8], x: u32, y: u32| f[((y * W + x) * 4) as usize..][..3].to_vec();
    let close = |a: Vec<u8>, b: Vec<u8>| a.iter().zip(&b).all(|(x, y)| x.abs_diff(*y) <= 24);
    assert!(close(at(&zoomed, W / 2, H / 2), at(&image, W / 2, H / 2)));
    assert!(close(
        at(&zoomed, W / 4, H / 4),
        at(&image, W / 2 - W / 8, H / 2 - H / 8)
    ));
    kernel.shutdown().await;
}

/// A moved compositor carries on where it was: the image it showed (with
/// no store to say where the slideshow stands), the timing a client set at
/// run time, in a child process and back in the kernel.
#[actix_rt::test]
async fn a_moved_compositor_resumes_its_slideshow_and_timing() {
    let kernel = boot_full(&system(
        "images = \"image_decode\"\naudio = \"\"\ncamera = \"\"\nstore = \"\"\n\
         slide_secs = 0.3\ntransition_ms = 200\ntransitions = [\"crossfade\", \"wipe-left\"]\n",
        "[actors.image_decode]\nkind = \"image_decode\"\nplacement = \"process\"\n\
         source = \"samples\"\nsample_size = \"640x360\"\n",
    ))
    .await;
    let compositor = compositor(&kernel);
    // Two transitions in: image 2 on screen.
    while status(&compositor).await.transitions < 2
        || status(&compositor).await.transition.is_some()
    {
        next_frame(&compositor).await;
    }
    let shown = Some(format!("sample:{}", warden_image::samples::sample_name(2)));
    assert_eq!(status(&compositor).await.image, shown);
    compositor
        .call(CompositorMsg::Configure {
            transitions: Some(vec!["zoom".into()]),
            transition_ms: Some(350),
            slide_secs: Some(0.7),
        })
        .await
        .unwrap();
    for to in [
        warden_kernel::Placement::Process,
        warden_kernel::Placement::Inprocess,
    ] {
        kernel.relocate("compositor", to, Vec::new()).await.unwrap();
        assert_eq!(kernel.status("compositor").unwrap().placement, to);
        let (frame, _) = next_frame(&compositor).await;
        assert!(
            worst(&frame, &offline_sample(2)) <= 1,
            "after the move to {to:?} the first frame is image 2 again"
        );
        let s = status(&compositor).await;
        assert_eq!(s.image, shown, "{s:?}");
        assert_eq!(
            (s.slide_secs, s.transition_ms, s.transition_kinds.clone()),
            (0.7, 350, vec!["zoom".to_string()]),
            "the timing set at run time moved with it"
        );
    }
    kernel.shutdown().await;
}

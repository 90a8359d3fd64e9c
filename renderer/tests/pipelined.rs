//! Pipelined rendering on the real device: each call submits its scene and
//! hands back the frame of the call before, equal to the CPU path's frame
//! of that scene; the last comes out of `flush`. Under an injected lost
//! device or validation error the ladder acts as it does unpipelined, and
//! no frame number is skipped or repeated. Skipped only without an adapter.

#[path = "support/ladder.rs"]
mod ladder;
#[path = "support/scenes.rs"]
mod scenes;

use ladder::{close, cpu, cut, session};

use warden_renderer::{
    Compositor, DemotionLevel, FaultInjection, FaultKind, Frame, NormRect, Renderer, Scene,
    TransitionKind,
};

const W: u32 = 96;
const H: u32 = 64;

/// A transition with bars and boxes, every other frame with the camera
/// inset shown (the CPU draws it over the GPU's frame).
fn scenes(n: u32) -> Vec<Scene> {
    (0..n)
        .map(|i| {
            let mut s = scenes::full(
                TransitionKind::Blockflip,
                W,
                H,
                f64::from(i) / f64::from(n - 1),
            );
            if i % 2 == 1 {
                s.camera.image = Some(scenes::image_a(32, 24));
                s.camera.rect = NormRect {
                    x: 0.6,
                    y: 0.05,
                    w: 0.3,
                    h: 0.3,
                };
            }
            s
        })
        .collect()
}

/// Every scene through `render_pipelined`, then `flush`: the frames by
/// session frame number.
fn pipelined(r: &mut Renderer, scenes: &[Scene]) -> Vec<(u64, Frame)> {
    let mut shown = Vec::new();
    for s in scenes {
        let mut out = Frame::empty();
        if let Some(n) = r.render_pipelined(s, &mut out).expect("no frame lost") {
            shown.push((n, out));
        }
    }
    let mut out = Frame::empty();
    if let Some(n) = r.flush(&mut out).expect("the last frame") {
        shown.push((n, out));
    }
    let mut again = Frame::empty();
    assert_eq!(r.flush(&mut again).expect("nothing left"), None);
    shown
}

#[test]
fn each_call_shows_the_frame_of_the_call_before_as_the_cpu_draws_it() {
    let Some(mut r) = session(FaultInjection::default()) else {
        return;
    };
    let scenes = scenes(7);
    assert!(scenes[1].camera.image.is_some(), "the inset is drawn");
    let mut out = Frame::empty();
    assert_eq!(
        r.render_pipelined(&scenes[0], &mut out).expect("submitted"),
        None
    );
    assert_eq!(
        r.render_pipelined(&scenes[1], &mut out).expect("read"),
        Some(0)
    );
    assert!(close(&out, &cpu(&scenes[0])), "frame 0, one call late");
    let shown = pipelined(&mut r, &scenes[2..]);
    let numbers: Vec<u64> = shown.iter().map(|(n, _)| *n).collect();
    assert_eq!(numbers, vec![1, 2, 3, 4, 5, 6]);
    for (n, frame) in &shown {
        assert!(close(frame, &cpu(&scenes[*n as usize])), "frame {n}");
    }
    assert_eq!(r.level(), DemotionLevel::FullShaders);
    assert!(r.demotions().is_empty());
    // A waited frame after pipelined ones is its own scene's.
    let waited = r.render(&scenes[3]).expect("waited");
    assert!(close(&waited, &cpu(&scenes[3])));
}

#[test]
fn a_lost_device_while_pipelined_skips_no_frame_and_ends_on_the_cpu() {
    let Some(mut r) = session(FaultInjection {
        lose_device_at_frame: Some(2),
        ..Default::default()
    }) else {
        return;
    };
    let scenes = scenes(6);
    let shown = pipelined(&mut r, &scenes);
    let numbers: Vec<u64> = shown.iter().map(|(n, _)| *n).collect();
    assert_eq!(
        numbers,
        vec![0, 1, 2, 3, 4, 5],
        "every frame, in order, once"
    );
    for (n, frame) in &shown {
        assert!(close(frame, &cpu(&scenes[*n as usize])), "frame {n}");
    }
    assert_eq!(r.level(), DemotionLevel::Software);
    let d = r.demotions();
    assert_eq!(d.len(), 1, "{d:?}");
    assert_eq!(d[0].cause.kind, FaultKind::DeviceLost, "{}", d[0].cause);
}

#[test]
fn a_validation_error_while_pipelined_demotes_one_level_from_its_frame_on() {
    let Some(mut r) = session(FaultInjection {
        validation_error_at_frame: Some(2),
        ..Default::default()
    }) else {
        return;
    };
    let scenes = scenes(6);
    let shown = pipelined(&mut r, &scenes);
    let numbers: Vec<u64> = shown.iter().map(|(n, _)| *n).collect();
    assert_eq!(
        numbers,
        vec![0, 1, 2, 3, 4, 5],
        "every frame, in order, once"
    );
    for (n, frame) in &shown {
        let scene = &scenes[*n as usize];
        let want = if *n < 2 { cpu(scene) } else { cpu(&cut(scene)) };
        assert!(close(frame, &want), "frame {n}");
    }
    assert_eq!(r.level(), DemotionLevel::CompositingOnly);
    let d = r.demotions();
    assert_eq!(d.len(), 1, "{d:?}");
    assert_eq!((d[0].cause.kind, d[0].frame), (FaultKind::Validation, 2));
}

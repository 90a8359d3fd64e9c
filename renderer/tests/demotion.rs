//! The demotion ladder under injected failures, on the real device: a
//! broken shader handed to the real compiler, a real `Device::destroy`, a
//! real invalid command. Each demotes the whole session, is reported with
//! its level and cause, redraws the failed frame at the new level, and
//! holds for every later frame. Skipped only when no adapter exists.

#[path = "support/ladder.rs"]
mod ladder;
#[path = "support/scenes.rs"]
mod scenes;

use ladder::{close, cpu, cut, session};

use warden_renderer::{
    Compositor, DemotionLevel, FaultInjection, FaultKind, Scene, ShaderModuleName, TransitionKind,
};

const W: u32 = 64;
const H: u32 = 40;

#[test]
fn broken_transition_shader_demotes_to_compositing_only() {
    let Some(mut r) = session(FaultInjection {
        break_shader: Some(ShaderModuleName::Slideshow),
        ..Default::default()
    }) else {
        return;
    };
    assert_eq!(r.level(), DemotionLevel::FullShaders);
    for t in [0.3, 0.7, 1.0] {
        let s = scenes::full(TransitionKind::Crossfade, W, H, t);
        let f = r.render(&s).expect("drawn at the lower level");
        assert!(close(&f, &cpu(&cut(&s))), "a cut at the midpoint, t = {t}");
    }
    assert_eq!(r.level(), DemotionLevel::CompositingOnly);
    let d = r.demotions();
    assert_eq!(d.len(), 1, "one demotion for the whole session: {d:?}");
    assert_eq!(
        (d[0].from, d[0].to, d[0].frame),
        (
            DemotionLevel::FullShaders,
            DemotionLevel::CompositingOnly,
            0
        )
    );
    assert_eq!(
        d[0].cause.kind,
        FaultKind::ShaderCompile(ShaderModuleName::Slideshow)
    );
    assert!(!d[0].cause.detail.is_empty());
}

#[test]
fn lost_device_demotes_to_software_and_stays_there() {
    let Some(mut r) = session(FaultInjection {
        lose_device_at_frame: Some(2),
        ..Default::default()
    }) else {
        return;
    };
    let scenes: Vec<Scene> = (0..5)
        .map(|i| scenes::full(TransitionKind::Blockflip, W, H, f64::from(i) / 4.0))
        .collect();
    for (i, s) in scenes.iter().enumerate() {
        let f = r.render(s).expect("no frame lost");
        assert!(close(&f, &cpu(s)), "frame {i}");
        let want = if i < 2 {
            DemotionLevel::FullShaders
        } else {
            DemotionLevel::Software
        };
        assert_eq!(r.level(), want, "after frame {i}");
    }
    let d = r.demotions();
    assert_eq!(d.len(), 1, "{d:?}");
    assert_eq!(d[0].cause.kind, FaultKind::DeviceLost, "{}", d[0].cause);
    assert_eq!((d[0].to, d[0].frame), (DemotionLevel::Software, 2));
    // The last frame of the transition is still exactly the target.
    let last = r.render(&scenes::transition(TransitionKind::Blockflip, W, H, 1.0));
    assert_eq!(
        last.expect("cpu").data(),
        scenes::image_b(W, H).data(),
        "software path ends on the target"
    );
}

#[test]
fn validation_error_demotes_one_level_and_later_frames_stay_there() {
    let Some(mut r) = session(FaultInjection {
        validation_error_at_frame: Some(1),
        ..Default::default()
    }) else {
        return;
    };
    let s0 = scenes::full(TransitionKind::Dissolve, W, H, 0.2);
    let f0 = r.render(&s0).expect("frame 0");
    assert!(close(&f0, &cpu(&s0)));
    assert_eq!(r.level(), DemotionLevel::FullShaders);
    for t in [0.4, 0.6, 1.0] {
        let s = scenes::full(TransitionKind::Dissolve, W, H, t);
        let f = r.render(&s).expect("redrawn");
        assert!(close(&f, &cpu(&cut(&s))), "cut at t = {t}");
    }
    let d = r.demotions();
    assert_eq!(d.len(), 1, "{d:?}");
    assert_eq!(d[0].cause.kind, FaultKind::Validation);
    assert!(
        d[0].cause.detail.to_lowercase().contains("scissor"),
        "wgpu's own message: {}",
        d[0].cause.detail
    );
    assert_eq!(
        (d[0].from, d[0].to, d[0].frame),
        (
            DemotionLevel::FullShaders,
            DemotionLevel::CompositingOnly,
            1
        )
    );
}

#[test]
fn two_failures_in_one_frame_walk_the_whole_ladder() {
    let Some(mut r) = session(FaultInjection {
        break_shader: Some(ShaderModuleName::Blit),
        validation_error_at_frame: Some(0),
        ..Default::default()
    }) else {
        return;
    };
    let s = scenes::full(TransitionKind::WipeLeft, W, H, 0.45);
    let f = r.render(&s).expect("drawn in software");
    assert_eq!(f.data(), cpu(&s).data(), "the CPU path drew it");
    assert_eq!(r.level(), DemotionLevel::Software);
    let kinds: Vec<(DemotionLevel, FaultKind)> =
        r.demotions().iter().map(|d| (d.to, d.cause.kind)).collect();
    assert_eq!(
        kinds,
        vec![
            (DemotionLevel::CompositingOnly, FaultKind::Validation),
            (
                DemotionLevel::Software,
                FaultKind::ShaderCompile(ShaderModuleName::Blit)
            ),
        ]
    );
}

#[test]
fn broken_overlay_shader_skips_straight_to_software() {
    let Some(mut r) = session(FaultInjection {
        break_shader: Some(ShaderModuleName::Overlay),
        ..Default::default()
    }) else {
        return;
    };
    let s = scenes::full(TransitionKind::SlideUp, W, H, 0.5);
    let f = r.render(&s).expect("software");
    assert_eq!(f.data(), cpu(&s).data());
    let d = r.demotions();
    assert_eq!(d.len(), 1);
    assert_eq!(
        (d[0].to, d[0].cause.kind),
        (
            DemotionLevel::Software,
            FaultKind::ShaderCompile(ShaderModuleName::Overlay)
        )
    );
}

#[test]
fn a_healthy_session_never_demotes() {
    let Some(mut r) = session(FaultInjection::none()) else {
        return;
    };
    for kind in TransitionKind::ALL {
        let s = scenes::full(kind, W, H, 0.5);
        let f = r.render(&s).expect("gpu");
        assert!(close(&f, &cpu(&s)), "{kind}");
    }
    assert!(r.demotions().is_empty());
    assert_eq!(r.level(), DemotionLevel::FullShaders);
}

//! The wgpu path against the CPU path on the adapter this machine has
//! (lavapipe in CI): same scenes, at most 1 apart per channel; every
//! transition's last frame equal to its target; odd widths read back right.
//! Skipped, with the reason printed, only when no adapter exists at all.

#[path = "support/scenes.rs"]
mod scenes;

use warden_renderer::{
    Compositor, CpuCompositor, FaultInjection, Frame, GpuCompositor, LayerProps, RenderError,
    Scene, TransitionKind, Viewport,
};

fn gpu() -> Option<GpuCompositor> {
    match GpuCompositor::open_best(FaultInjection::none()) {
        Ok(g) => {
            eprintln!("wgpu adapter: {}", g.adapter());
            warden_renderer::gpu_tests::ran_on(g.adapter());
            Some(g)
        }
        Err(RenderError::NoAdapter(why)) => {
            warden_renderer::gpu_tests::no_adapter(&why);
            None
        }
        Err(e) => panic!("an adapter exists but the device failed to open: {e}"),
    }
}

fn assert_close(gpu: &Frame, cpu: &Frame, what: &str) {
    let diff = gpu.max_channel_diff(cpu).expect("same size");
    eprintln!("{what}: max diff {diff}");
    assert!(diff <= 1, "{what}: wgpu and CPU differ by {diff}");
}

#[test]
fn every_transition_is_bit_identical_and_ends_on_its_target() {
    let Some(mut g) = gpu() else { return };
    let mut c = CpuCompositor::new();
    let (w, h) = (97, 61);
    let target = scenes::image_b(w, h);
    for kind in TransitionKind::ALL {
        for t in [0.0, 0.13, 0.5, 0.77, 1.0] {
            let s = scenes::transition(kind, w, h, t);
            let (gf, cf) = (g.render(&s).expect("gpu"), c.render(&s).expect("cpu"));
            // Transitions are integer arithmetic on both paths: bit-identical.
            let diff = gf.max_channel_diff(&cf).expect("same size");
            assert_eq!(diff, 0, "{kind} at {t}: wgpu and CPU differ by {diff}");
            // And through a zoomed, panned viewport: still bit-identical.
            let mut zoomed = s.clone();
            zoomed.slideshow.viewport = Viewport {
                zoom: 1.7,
                center: [0.35, 0.6],
            };
            let (gz, cz) = (
                g.render(&zoomed).expect("gpu"),
                c.render(&zoomed).expect("cpu"),
            );
            let diff = gz.max_channel_diff(&cz).expect("same size");
            assert_eq!(diff, 0, "{kind} at {t}, zoomed: differ by {diff}");
            if t == 1.0 {
                assert_eq!(gf.data(), target.data(), "{kind}: wgpu last frame");
                assert_eq!(cf.data(), target.data(), "{kind}: cpu last frame");
            }
        }
    }
}

/// A slideshow of many images of one size: after the first few, each new
/// image is written over the texture of the one that left (no texture made
/// per image), and every frame still matches the CPU path — the reused
/// texture never shows the image it held before.
#[test]
fn a_long_slideshow_reuses_image_textures_and_never_shows_a_stale_one() {
    let Some(mut g) = gpu() else { return };
    let mut c = CpuCompositor::new();
    let (w, h) = (64, 40);
    let images: Vec<_> = (0..8)
        .map(|i| {
            let base = if i % 2 == 0 {
                scenes::image_a(w, h)
            } else {
                scenes::image_b(w, h)
            };
            // A distinct picture per image: its own Arc and its own bytes.
            let mut data = base.data().to_vec();
            for px in data.chunks_exact_mut(4) {
                px[2] = px[2].wrapping_add(29 * i as u8);
            }
            std::sync::Arc::new(Frame::from_rgba(w, h, data).expect("sized"))
        })
        .collect();
    for pair in images.windows(2) {
        for t in [0.0, 0.4, 1.0] {
            let mut s = scenes::transition(TransitionKind::Crossfade, w, h, t);
            s.slideshow.image = Some(std::sync::Arc::clone(&pair[1]));
            if let Some(tr) = s.slideshow.transition.as_mut() {
                tr.from = std::sync::Arc::clone(&pair[0]);
            }
            let (gf, cf) = (g.render(&s).expect("gpu"), c.render(&s).expect("cpu"));
            assert_eq!(gf.data(), cf.data(), "at {t}");
        }
    }
    assert!(
        g.image_textures_reused() >= 5,
        "8 images through a cache of 3: {} reused",
        g.image_textures_reused()
    );
}

#[test]
fn overlays_viewport_and_layer_order_match() {
    let Some(mut g) = gpu() else { return };
    let mut c = CpuCompositor::new();
    let (w, h) = (160, 90);
    let mut cases: Vec<(&str, Scene)> = Vec::new();
    cases.push((
        "full scene",
        scenes::full(TransitionKind::Crossfade, w, h, 0.4),
    ));
    let mut zoomed = scenes::full(TransitionKind::Blockflip, w, h, 0.6);
    zoomed.slideshow.viewport = Viewport {
        zoom: 2.3,
        center: [0.3, 0.8],
    };
    cases.push(("zoomed and panned", zoomed));
    let mut faded = scenes::full(TransitionKind::Dissolve, w, h, 0.5);
    faded.slideshow.props = LayerProps {
        visible: true,
        opacity: 0.6,
        order: 5,
    };
    faded.bars.props.opacity = 0.5;
    faded.background = [10, 40, 70, 200];
    cases.push(("slideshow at 0.6 above the bars", faded));
    let mut empty = scenes::full(TransitionKind::Zoom, w, h, 0.5);
    empty.slideshow.props.visible = false;
    cases.push(("overlays only", empty));
    for (what, s) in &cases {
        let (gf, cf) = (g.render(s).expect("gpu"), c.render(s).expect("cpu"));
        assert_close(&gf, &cf, what);
    }
}

#[test]
fn odd_widths_read_back_without_padding() {
    let Some(mut g) = gpu() else { return };
    let mut c = CpuCompositor::new();
    for (w, h) in [(1, 1), (97, 5), (1366, 12), (255, 3)] {
        let s = scenes::full(TransitionKind::SlideLeft, w, h, 0.35);
        let (gf, cf) = (g.render(&s).expect("gpu"), c.render(&s).expect("cpu"));
        assert_eq!((gf.width(), gf.height()), (w, h));
        assert_close(&gf, &cf, &format!("{w}x{h}"));
    }
}

#[test]
fn bad_scenes_are_errors_not_faults() {
    let Some(mut g) = gpu() else { return };
    let mut s = scenes::transition(TransitionKind::Crossfade, 32, 16, 0.5);
    s.slideshow.image = Some(scenes::image_b(31, 16));
    let err = g.render(&s).expect_err("size mismatch");
    assert!(matches!(err, RenderError::SizeMismatch { .. }), "{err}");
}

mod random_scenes {
    use std::sync::{Mutex, OnceLock};

    use proptest::prelude::*;
    use warden_renderer::{
        Compositor, CpuCompositor, FaultInjection, GpuCompositor, RenderError, TransitionKind,
        Viewport,
    };

    use super::scenes;

    /// One device for all cases (opening one per case would dominate).
    fn shared() -> Option<&'static Mutex<GpuCompositor>> {
        static GPU: OnceLock<Option<Mutex<GpuCompositor>>> = OnceLock::new();
        let gpu = GPU
            .get_or_init(|| match GpuCompositor::open_best(FaultInjection::none()) {
                Ok(g) => Some(Mutex::new(g)),
                Err(RenderError::NoAdapter(why)) => {
                    warden_renderer::gpu_tests::no_adapter(&why);
                    None
                }
                Err(e) => panic!("an adapter exists but the device failed to open: {e}"),
            })
            .as_ref();
        if let Some(g) = gpu {
            let g = g.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            warden_renderer::gpu_tests::ran_on(g.adapter());
        }
        gpu
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(32))]

        #[test]
        fn random_scenes_match_within_one(
            k in 0..TransitionKind::ALL.len(),
            w in 1u32..90, h in 1u32..60,
            t in 0.0f64..=1.0,
            zoom in 1.0f32..4.0, cx in 0.0f32..=1.0, cy in 0.0f32..=1.0,
            opacity in 0.0f32..=1.0, order in -1i32..3,
            bars in 0usize..20, boxes in 0usize..6,
        ) {
            let Some(gpu) = shared() else { return Ok(()) };
            let mut s = scenes::transition(TransitionKind::ALL[k], w, h, t);
            s.slideshow.viewport = Viewport { zoom, center: [cx, cy] };
            s.slideshow.props.opacity = opacity;
            s.slideshow.props.order = order;
            s.bars.bars = scenes::bars(bars);
            s.boxes.boxes = scenes::boxes(boxes);
            let g = gpu.lock().expect("not poisoned").render(&s).expect("gpu");
            let c = CpuCompositor::new().render(&s).expect("cpu");
            let d = g.max_channel_diff(&c).expect("same size");
            prop_assert!(d <= 1, "differ by {}", d);
        }
    }
}

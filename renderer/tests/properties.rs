//! Properties of the CPU path over random sizes, seeds, progress and
//! viewports: every transition ends exactly on its target under every
//! easing; every output pixel comes from the source, the target or the
//! background (except crossfade, which blends); zooming never reads
//! outside the image.

#[path = "support/scenes.rs"]
mod scenes;

use std::sync::Arc;
use std::time::Duration;

use proptest::prelude::*;
use warden_renderer::{
    ActiveTransition, Compositor, CpuCompositor, Easing, Frame, Scene, TransitionKind,
    TransitionSpec, Viewport,
};

fn kind() -> impl Strategy<Value = TransitionKind> {
    (0..TransitionKind::ALL.len()).prop_map(|i| TransitionKind::ALL[i])
}

fn easing() -> impl Strategy<Value = Easing> {
    (0..Easing::ALL.len()).prop_map(|i| Easing::ALL[i])
}

fn scene(kind: TransitionKind, easing: Easing, w: u32, h: u32, seed: u64, t: f64) -> Scene {
    let mut s = Scene::new(w, h);
    s.background = [1, 2, 3, 4];
    s.slideshow.image = Some(scenes::image_b(w, h));
    s.slideshow.transition = Some(ActiveTransition::new(
        scenes::image_a(w, h),
        TransitionSpec {
            kind,
            duration: Duration::from_millis(500),
            easing,
            seed,
        },
        t,
    ));
    s
}

fn pixels(f: &Frame) -> impl Iterator<Item = &[u8]> {
    f.data().chunks_exact(4)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn the_last_frame_is_the_target(
        kind in kind(), easing in easing(), w in 1u32..48, h in 1u32..40, seed: u64,
    ) {
        let s = scene(kind, easing, w, h, seed, 1.0);
        let f = CpuCompositor::new().render(&s).expect("renders");
        let target = scenes::image_b(w, h);
        prop_assert_eq!(f.data(), target.data());
    }

    #[test]
    fn pixels_come_from_source_target_or_background(
        kind in kind(), w in 1u32..48, h in 1u32..40, seed: u64, t in 0.0f64..=1.0,
    ) {
        prop_assume!(kind != TransitionKind::Crossfade);
        let s = scene(kind, Easing::Linear, w, h, seed, t);
        let f = CpuCompositor::new().render(&s).expect("renders");
        let (a, b) = (scenes::image_a(w, h), scenes::image_b(w, h));
        let bg = [1u8, 2, 3, 4];
        let allowed: Vec<&[u8]> = pixels(&a).chain(pixels(&b)).chain([&bg[..]]).collect();
        for p in pixels(&f) {
            prop_assert!(allowed.contains(&p), "{kind}: pixel {p:?} is from neither image");
        }
    }

    #[test]
    fn zoomed_views_stay_inside_the_image(
        w in 1u32..64, h in 1u32..48, zoom in 1.0f32..16.0, cx in 0.0f32..=1.0, cy in 0.0f32..=1.0,
    ) {
        // A unique value per pixel tells where each output pixel was read.
        let data: Vec<u8> = (0..w * h).flat_map(|i| i.to_le_bytes()).collect();
        let img = Arc::new(Frame::from_rgba(w, h, data).expect("sized"));
        let mut s = Scene::new(w, h);
        s.slideshow.image = Some(img);
        s.slideshow.viewport = Viewport { zoom, center: [cx, cy] };
        let f = CpuCompositor::new().render(&s).expect("renders");
        let mut last_x = 0;
        for (i, p) in pixels(&f).enumerate() {
            let src = u32::from_le_bytes([p[0], p[1], p[2], p[3]]);
            prop_assert!(src < w * h);
            let x = src % w;
            if (i as u32).is_multiple_of(w) { last_x = x; }
            prop_assert!(x >= last_x, "columns read left to right");
            last_x = x;
        }
    }
}

//! Golden images: a few small scenes rendered by the CPU path and, where an
//! adapter exists, the wgpu path, each compared with the PNG checked in
//! under `tests/golden/` within 1 per channel.
//!
//! Regenerate (after an intended change to the look) with
//! `WARDEN_UPDATE_GOLDEN=1 cargo test -p warden-renderer --test golden`,
//! which rewrites the PNGs from the CPU path; review them before committing.

#[path = "support/scenes.rs"]
mod scenes;

use std::path::PathBuf;

use warden_renderer::{
    Compositor, CpuCompositor, FaultInjection, Frame, GpuCompositor, LayerProps, RenderError,
    Scene, TransitionKind, Viewport, load_image, save_png,
};

const W: u32 = 96;
const H: u32 = 64;

fn cases() -> Vec<(&'static str, Scene)> {
    let mut v = vec![
        (
            "crossfade_mid",
            scenes::transition(TransitionKind::Crossfade, W, H, 0.5),
        ),
        (
            "blockflip_mid",
            scenes::transition(TransitionKind::Blockflip, W, H, 0.55),
        ),
        (
            "dissolve_mid",
            scenes::transition(TransitionKind::Dissolve, W, H, 0.5),
        ),
        (
            "zoom_overlays",
            scenes::full(TransitionKind::Zoom, W, H, 0.6),
        ),
    ];
    let mut s = scenes::full(TransitionKind::SlideLeft, W, H, 0.4);
    s.slideshow.viewport = Viewport {
        zoom: 1.7,
        center: [0.4, 0.6],
    };
    s.bars.props.opacity = 0.7;
    v.push(("slide_viewport", s));
    let mut s = scenes::full(TransitionKind::WipeDown, W, H, 0.3);
    s.slideshow.props = LayerProps {
        visible: true,
        opacity: 0.8,
        // Above every other layer (boxes are at 3 by default).
        order: 4,
    };
    s.background = [30, 10, 60, 255];
    v.push(("wipe_layer_order", s));
    v
}

fn path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(format!("{name}.png"))
}

fn check(name: &str, got: &Frame, path_name: &str) {
    let p = path(name);
    let want = load_image(&p).unwrap_or_else(|e| {
        panic!("{e}; generate it with WARDEN_UPDATE_GOLDEN=1 cargo test -p warden-renderer --test golden")
    });
    let d = got.max_channel_diff(&want);
    assert!(
        d.is_some_and(|d| d <= 1),
        "{name} on the {path_name} path differs from {} by {d:?}",
        p.display()
    );
}

#[test]
fn cpu_path_matches_the_golden_images() {
    let update = std::env::var_os("WARDEN_UPDATE_GOLDEN").is_some();
    let mut c = CpuCompositor::new();
    for (name, scene) in cases() {
        let f = c.render(&scene).expect("cpu");
        if update {
            save_png(&f, &path(name)).expect("write golden");
            eprintln!("rewrote {}", path(name).display());
        }
        check(name, &f, "cpu");
    }
}

#[test]
fn wgpu_path_matches_the_golden_images() {
    let mut g = match GpuCompositor::open_best(FaultInjection::none()) {
        Ok(g) => {
            warden_renderer::gpu_tests::ran_on(g.adapter());
            g
        }
        Err(RenderError::NoAdapter(why)) => {
            warden_renderer::gpu_tests::no_adapter(&why);
            return;
        }
        Err(e) => panic!("an adapter exists but the device failed to open: {e}"),
    };
    for (name, scene) in cases() {
        let f = g.render(&scene).expect("gpu");
        check(name, &f, "wgpu");
    }
}

//! The demotion ladder's test helpers, shared by `demotion.rs` and
//! `pipelined.rs`: a wgpu session (a skip, or a failure where CI installed
//! a driver, without an adapter), the CPU path's frame, a scene as group B
//! draws it, and the tolerance between the paths.

#![allow(dead_code)]

use warden_renderer::{
    BackendRequest, Compositor, CpuCompositor, FaultInjection, Frame, RenderError, Renderer,
    RendererOptions, Scene,
};

pub(crate) fn session(faults: FaultInjection) -> Option<Renderer> {
    match Renderer::open(RendererOptions {
        backend: BackendRequest::Wgpu,
        faults,
    }) {
        Ok(r) => {
            warden_renderer::gpu_tests::ran_on(r.choice());
            Some(r)
        }
        Err(RenderError::NoAdapter(why)) => {
            warden_renderer::gpu_tests::no_adapter(&why);
            None
        }
        Err(e) => panic!("an adapter exists but the session failed to open: {e}"),
    }
}

pub(crate) fn cpu(scene: &Scene) -> Frame {
    CpuCompositor::new().render(scene).expect("cpu")
}

/// The scene as group B draws it: the transition cut at its midpoint.
pub(crate) fn cut(scene: &Scene) -> Scene {
    let mut s = scene.clone();
    if let Some(t) = s.slideshow.transition.take()
        && t.progress_q16() < warden_renderer::PROGRESS_ONE / 2
    {
        s.slideshow.image = Some(t.from);
    }
    s
}

pub(crate) fn close(a: &Frame, b: &Frame) -> bool {
    a.max_channel_diff(b).is_some_and(|d| d <= 1)
}

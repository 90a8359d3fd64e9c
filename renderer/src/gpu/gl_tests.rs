//! The GL backend (llvmpipe here) against the CPU path: the fallback API
//! when Vulkan is absent must compile the same shaders and agree.

use std::sync::Arc;
use std::time::Duration;

use super::{FaultInjection, GpuCompositor};
use crate::compositor::Compositor;
use crate::cpu::CpuCompositor;
use crate::frame::Frame;
use crate::scene::Scene;
use crate::scene::{Bar, DetectionBox, NormRect};
use crate::transition::{ActiveTransition, Easing, TransitionKind, TransitionSpec};

fn image(w: u32, h: u32, salt: u32) -> Arc<Frame> {
    let data = (0..w * h * 4)
        .map(|i| ((i * 7 + salt * 13) % 256) as u8)
        .collect();
    Arc::new(Frame::from_rgba(w, h, data).expect("sized"))
}

/// The GL backend (llvmpipe here) is the fallback when Vulkan is absent:
/// the same shaders must compile and agree there too.
#[test]
fn gl_backend_matches_cpu_when_present() {
    let instance = wgpu::Instance::new(wgpu::InstanceDescriptor {
        backends: wgpu::Backends::GL,
        flags: wgpu::InstanceFlags::empty(),
        ..wgpu::InstanceDescriptor::new_without_display_handle()
    });
    let adapters = pollster::block_on(instance.enumerate_adapters(wgpu::Backends::GL));
    let Some(adapter) = adapters.first() else {
        crate::gpu_tests::optional_backend_missing(
            &"no GL adapter on this machine (the GL fallback is optional: CI installs Vulkan)",
        );
        return;
    };
    crate::gpu_tests::ran_on(&format!("GL: {:?}", adapter.get_info().name));
    let mut g = GpuCompositor::open(adapter, FaultInjection::none()).expect("GL device");
    let mut c = CpuCompositor::new();
    let (w, h) = (45, 31);
    for kind in TransitionKind::ALL {
        let mut s = Scene::new(w, h);
        s.slideshow.image = Some(image(w, h, 1));
        s.slideshow.transition = Some(ActiveTransition::new(
            image(w, h, 2),
            TransitionSpec {
                kind,
                duration: Duration::from_millis(100),
                easing: Easing::Linear,
                seed: 3,
            },
            0.6,
        ));
        s.bars.bars = vec![
            Bar {
                magnitude: 0.7,
                peak: 0.9,
            };
            5
        ];
        s.boxes.boxes = vec![DetectionBox {
            rect: NormRect {
                x: 0.2,
                y: 0.3,
                w: 0.5,
                h: 0.4,
            },
            track_id: 42,
        }];
        let gf = g.render(&s).expect("gl");
        let cf = c.render(&s).expect("cpu");
        let d = gf.max_channel_diff(&cf).expect("same size");
        assert!(d <= 1, "{kind} on {}: differ by {d}", g.adapter());
    }
}

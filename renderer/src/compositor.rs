//! The one `Compositor` trait both paths implement, the backends, and the
//! session's demotion level (seed 001's groups A → B → C).

use crate::error::RenderError;
use crate::frame::Frame;
use crate::scene::Scene;

/// Which implementation draws.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Backend {
    /// Integer fixed-point on one CPU core.
    Cpu,
    /// WGSL shaders on a wgpu device, read back into memory.
    Wgpu,
}

impl std::fmt::Display for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Backend::Cpu => "cpu",
            Backend::Wgpu => "wgpu",
        })
    }
}

/// How much of the GPU a session still trusts. Only ever goes down.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DemotionLevel {
    /// Group A: transition shaders on the GPU.
    FullShaders,
    /// Group B: textured blits and overlays on the GPU; a transition becomes
    /// a cut at its midpoint.
    CompositingOnly,
    /// Group C: everything on the CPU path (full transitions).
    Software,
}

impl std::fmt::Display for DemotionLevel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            DemotionLevel::FullShaders => "full-shaders",
            DemotionLevel::CompositingOnly => "compositing-only",
            DemotionLevel::Software => "software",
        })
    }
}

/// Draws scenes into frames.
pub trait Compositor {
    /// Renders `scene` into `out`, resizing it to the canvas and reusing its
    /// allocation (no per-frame allocation once the size is stable).
    fn render_into(&mut self, scene: &Scene, out: &mut Frame) -> Result<(), RenderError>;

    /// Renders `scene` into a new frame.
    fn render(&mut self, scene: &Scene) -> Result<Frame, RenderError> {
        let mut out = Frame::empty();
        self.render_into(scene, &mut out)?;
        Ok(out)
    }

    /// The level frames are drawn at now.
    fn level(&self) -> DemotionLevel;

    /// The backend that draws at this level.
    fn backend(&self) -> Backend;
}

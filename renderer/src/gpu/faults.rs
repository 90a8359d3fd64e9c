//! GPU failures as the ladder sees them, and the hooks that make each one
//! happen for real in tests: broken WGSL handed to the real compiler, a
//! real `Device::destroy`, a real invalid command caught by wgpu's
//! validation.

/// The WGSL modules, each compiled on first use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ShaderModuleName {
    /// Group A: the transition shader.
    Slideshow,
    /// Group B: the textured blit.
    Blit,
    /// Overlays (bars and boxes), needed by groups A and B.
    Overlay,
}

impl ShaderModuleName {
    /// The module's name in logs and reports.
    pub fn name(self) -> &'static str {
        match self {
            ShaderModuleName::Slideshow => "slideshow.wgsl",
            ShaderModuleName::Blit => "blit.wgsl",
            ShaderModuleName::Overlay => "overlay.wgsl",
        }
    }
}

/// What went wrong on the GPU.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FaultKind {
    /// A shader module or its pipeline failed to compile.
    ShaderCompile(ShaderModuleName),
    /// The device is gone (driver reset, `destroy`, ...).
    DeviceLost,
    /// wgpu's validation rejected a command.
    Validation,
    /// The device ran out of memory.
    OutOfMemory,
    /// Any other failure (readback, internal driver error).
    Internal,
}

impl std::fmt::Display for FaultKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FaultKind::ShaderCompile(m) => write!(f, "shader compile failure in {}", m.name()),
            FaultKind::DeviceLost => f.write_str("device lost"),
            FaultKind::Validation => f.write_str("validation error"),
            FaultKind::OutOfMemory => f.write_str("out of GPU memory"),
            FaultKind::Internal => f.write_str("internal GPU error"),
        }
    }
}

/// A GPU failure with wgpu's own message.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{kind}: {detail}")]
pub struct GpuFault {
    /// Which failure.
    pub kind: FaultKind,
    /// What wgpu or the driver said.
    pub detail: String,
}

impl GpuFault {
    pub(crate) fn new(kind: FaultKind, detail: impl Into<String>) -> Self {
        Self {
            kind,
            detail: detail.into(),
        }
    }
}

/// Test hooks: each makes one real failure happen. Frame numbers count the
/// frames the GPU compositor was asked to draw, from 0.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FaultInjection {
    /// Hand this module's compiler a syntax error.
    pub break_shader: Option<ShaderModuleName>,
    /// Call `Device::destroy` before drawing this frame.
    pub lose_device_at_frame: Option<u64>,
    /// Record a scissor rectangle outside the target in this frame.
    pub validation_error_at_frame: Option<u64>,
}

impl FaultInjection {
    /// No injected failures.
    pub fn none() -> Self {
        Self::default()
    }
}

//! Warden's compositor: a scene (slideshow with transitions and a viewport,
//! spectrum bars, detection boxes) in, an RGBA8 frame out. Two
//! implementations of one [`Compositor`] trait — an integer CPU path and a
//! wgpu path whose WGSL restates the same integer formulas — and a
//! [`Renderer`] session that picks one and demotes itself, session-wide and
//! never silently, when the GPU fails. No actors, no kernel: testable alone.

mod backend;
mod compositor;
mod cpu;
mod error;
mod fit;
mod fixed;
mod frame;
mod gpu;
pub mod gpu_tests;
mod image_io;
mod offline;
mod overlay;
mod peaks;
mod scene;
mod session;
mod stats;
mod synthetic;
mod tables;
mod transition;

pub use backend::{BackendChoice, BackendRequest, ChoiceReason, select_backend, warm_up};
pub use compositor::{Backend, Compositor, DemotionLevel};
pub use cpu::CpuCompositor;
pub use error::RenderError;
pub use fit::{Fit, fit_frame, fit_image};
pub use frame::{Frame, MAX_SIDE, Rgba, parse_size};
pub use gpu::{
    AdapterSummary, FaultInjection, FaultKind, GpuCompositor, GpuFault, ShaderModuleName,
    readback_floor,
};
pub use image_io::{decode_image, load_image, save_png};
pub use offline::{OfflineJob, OfflineReport, render_transition};
pub use peaks::PeakFall;
pub use scene::{
    Bar, Bars, BarsStyle, BoxStyle, Boxes, DetectionBox, Inset, LayerKind, LayerProps, NormRect,
    Scene, Slideshow, Viewport,
};
pub use session::{Demotion, Renderer, RendererOptions, demotion_target};
pub use stats::{FrameTimes, TimeSummary};
pub use synthetic::SyntheticOverlays;
pub use tables::{
    BlockGrid, FLIP_SPAN, TableData, TransitionTables, block_grid_dims, blockflip_grid,
    dissolve_thresholds,
};
pub use transition::{
    ActiveTransition, Easing, PROGRESS_ONE, TransitionKind, TransitionSpec, progress_q16,
};

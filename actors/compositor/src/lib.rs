//! The compositor as an actor: a [`warden_renderer::Renderer`] session fed
//! by the other actors — images from `image_decode`, bars from `fft.bars`,
//! the camera picture and its tracks from perception, layers and viewport
//! from the store — rendering on its own clock and never waiting on any of
//! them. Rendering is the renderer's; this crate keeps the inputs, paces
//! the frames and publishes them.

pub mod actor;
pub mod composer;
pub mod config;
pub mod live;
pub mod overlays;
pub mod scene_sync;
pub mod slideshow;
pub mod telemetry;

pub use actor::{Compositor, CompositorMsg, CompositorReply, CompositorStatus, RenderedFrame};
pub use config::CompositorConfig;
pub use live::{FRAME_TOPIC, LiveFrame, STATS_TOPIC};
pub use telemetry::{FrameSample, Pacing};

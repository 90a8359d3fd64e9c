//! The compositor as an actor: a [`warden_renderer::Renderer`] session on
//! the actor's own thread, configured by `[actors.NAME]` (size, rate,
//! transitions, backend). Rendering is the renderer's; this crate only maps
//! messages, config and (with the live loop) the other actors' outputs to it.

pub mod actor;
pub mod config;

pub use actor::{Compositor, CompositorMsg, CompositorReply, CompositorStatus, RenderedFrame};
pub use config::CompositorConfig;

//! The live system over HTTP, added to the kernel's admin server by the
//! binary: the latest frame as PNG or JPEG, an MJPEG stream, and the
//! compositor's figures. Frames are encoded here, in the kernel process, off
//! the compositor's thread, and only while someone watches; many viewers
//! share one encode per frame.

pub mod dashboard;
pub mod encode;
mod frames;
pub mod images;
pub mod perception;
mod routes;
pub mod topics;
pub mod ws;

pub use frames::{FrameHub, Jpeg, Shape, StreamStats, Viewer};
pub use routes::{Web, WebOptions, openapi_document};

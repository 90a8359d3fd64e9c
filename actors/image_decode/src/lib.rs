//! Image decode, prescale and a byte-budgeted cache, safe on hostile input.
//!
//! The core of the `image_decode` actor (seed 001: decode and prescale run in
//! a worker, results cached under `path|scaled:WxH`):
//!
//! - [`decode_bytes`] / [`decode_file`]: JPEG, PNG, WebP, GIF (first frame),
//!   BMP and TIFF to an [`Rgba8Image`], EXIF orientation applied, every
//!   [`Limits`] checked from the header before a pixel buffer is allocated;
//! - [`prescale`]: resize an RGBA8 image with `fast_image_resize` under a
//!   [`Fit`] and a [`Filter`];
//! - [`load_bytes`] / [`load_file`] / [`decode_prescaled`]: both at once,
//!   resizing in the decoder's native layout, with [`Timings`];
//! - [`ImageCache`]: an LRU under a byte budget with counters, and
//!   [`Prefetcher`] to fill it in the background;
//! - [`write_png`]: the RGBA8 result as a PNG file.
//!
//! Errors are typed ([`DecodeError`], [`ScaleError`], [`LoadError`],
//! [`EncodeError`]); no input makes these functions panic — a panic inside a
//! decoder crate is caught and returned as [`DecodeError::DecoderPanicked`].

#[cfg(feature = "actor")]
pub mod actor;
mod cache;
mod cache_key;
mod classify;
mod contain;
mod convert;
mod decode;
mod error;
#[cfg(feature = "feed")]
pub mod feed;
mod fit;
mod format;
mod jpeg_markers;
mod limits;
mod load;
mod orientation;
mod png_out;
mod prefetch;
mod resize;
mod rgba;
pub mod samples;
mod webp_riff;

pub use cache::{CacheStats, ImageCache};
pub use cache_key::CacheKey;
pub use contain::panic_is_contained;
pub use decode::{DecodedImage, decode_bytes, decode_file, read_file};
pub use error::{DecodeError, EncodeError, LoadError, PixelBufferError, ScaleError};
#[cfg(feature = "feed")]
pub use feed::{FeedConfig, FeedError, FeedItem, FeedMirror, FeedState, parse_feed};
pub use fit::{Fit, MAX_TARGET_PIXELS, MAX_TARGET_SIDE, ScaleSpec, fit_size, parse_size};
pub use format::ImageFormat;
pub use limits::Limits;
pub use load::{Loaded, Timings, decode_prescaled, load_bytes, load_file};
pub use orientation::Orientation;
pub use png_out::{encode_png, write_png};
pub use prefetch::{PrefetchReport, PrefetchRequest, Prefetcher};
pub use resize::{Filter, prescale};
pub use rgba::Rgba8Image;

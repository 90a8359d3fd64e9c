//! A feed image source: fetch an RSS 2.0, Atom or JSON Feed over HTTP(S),
//! find each entry's image, and mirror the images into a directory, in a
//! background thread, so that the UI only ever receives validated images.
//!
//! - [`parse_feed`]: a feed document → [`FeedItem`]s (entry id, title, the
//!   image's absolute URL), pure;
//! - [`FeedMirror`]: the thread that refreshes a [`FeedConfig`] every
//!   interval and on [`FeedMirror::refresh_now`], and whose
//!   [`FeedMirror::snapshot`] returns a [`FeedState`] at once.
//!
//! Every image is checked before it reaches the mirror: http(s) URLs only, a
//! byte limit (on `Content-Length` and while reading: refused, never
//! truncated), a per-request timeout, and an image signature (JPEG, PNG,
//! GIF, WebP, BMP, TIFF) at the start of the body. Mirror files are named
//! `feed-<FNV-1a 64 of the URL, 16 hex>.<ext>`, written atomically (a
//! temporary name, then a rename), never downloaded twice, and removed once
//! the feed stops listing them. Errors are [`FeedError`]s.

mod config;
mod error;
mod http;
mod mirror_dir;
mod parse;
mod refresh;
mod sniff;
mod thumbnails;
mod worker;

#[cfg(test)]
mod mirror_limits_tests;
#[cfg(test)]
mod mirror_tests;
#[cfg(test)]
mod test_server;
#[cfg(test)]
mod test_support;

pub use config::FeedConfig;
pub use error::FeedError;
pub use parse::{FeedItem, parse_feed};
pub use worker::{FeedMirror, FeedState};

//! Test support for the mirror tests: small images encoded by the `image`
//! crate, an RSS document around image URLs, a config pointing at a
//! [`TestServer`], and waits for a refresh with a deadline.

use std::io::Cursor;
use std::path::Path;
use std::time::Duration;

use crate::feed::test_server::TestServer;
use crate::feed::{FeedConfig, FeedMirror, FeedState};

/// Long enough for a loaded 2-core CI machine; passing tests never wait it.
pub(crate) const WAIT: Duration = Duration::from_secs(30);

/// A small image encoded by the `image` crate; `shade` makes it distinct.
pub(crate) fn encoded(format: image::ImageFormat, shade: u8) -> Vec<u8> {
    let pixels = image::RgbImage::from_pixel(3, 2, image::Rgb([shade, 255 - shade, 7]));
    let mut out = Cursor::new(Vec::new());
    image::DynamicImage::ImageRgb8(pixels)
        .write_to(&mut out, format)
        .expect("encode a test image");
    out.into_inner()
}

pub(crate) fn png(shade: u8) -> Vec<u8> {
    encoded(image::ImageFormat::Png, shade)
}

pub(crate) fn jpeg(shade: u8) -> Vec<u8> {
    encoded(image::ImageFormat::Jpeg, shade)
}

pub(crate) fn rss(items: &[&str]) -> String {
    let items: String = items
        .iter()
        .enumerate()
        .map(|(i, url)| {
            format!(
                r#"<item><title>item {i}</title><guid>g{i}</guid><enclosure url="{url}" type="image/png" length="1"/></item>"#
            )
        })
        .collect();
    format!(
        r#"<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>{items}</channel></rss>"#
    )
}

pub(crate) fn config(server: &TestServer, mirror: &Path) -> FeedConfig {
    FeedConfig {
        refresh: Duration::from_secs(3600),
        timeout: Duration::from_secs(10),
        ..FeedConfig::new(server.url("/feed"), mirror)
    }
}

/// Asks for a refresh after `after` and waits for it.
pub(crate) fn refresh(mirror: &FeedMirror, after: &FeedState) -> FeedState {
    mirror.refresh_now();
    let state = mirror.wait_refreshed(after.fetches, WAIT);
    assert!(state.fetches > after.fetches, "no refresh within {WAIT:?}");
    state
}

pub(crate) fn first(mirror: &FeedMirror) -> FeedState {
    let state = mirror.wait_refreshed(0, WAIT);
    assert_eq!(state.fetches, 1, "no first refresh within {WAIT:?}");
    state
}

pub(crate) fn names(state: &FeedState) -> Vec<String> {
    state
        .images
        .iter()
        .map(|p| {
            p.file_name()
                .expect("file name")
                .to_string_lossy()
                .into_owned()
        })
        .collect()
}

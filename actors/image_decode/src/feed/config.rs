//! What a feed mirror fetches and under which limits: [`FeedConfig`], with
//! defaults and the one validation that [`crate::feed::FeedMirror::start`]
//! runs before anything touches the network or the disk.

use std::path::PathBuf;
use std::time::Duration;

use url::Url;

use crate::feed::error::FeedError;

/// Where the feed is, where its images go, and the limits of each refresh.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedConfig {
    /// The feed's `http` or `https` URL (RSS 2.0, Atom or JSON Feed).
    pub url: String,
    /// The directory the images are mirrored into (created if missing). It
    /// should belong to one mirror: files named like the mirror's own
    /// (`feed-<16 hex>.<ext>`) that the feed no longer lists are deleted.
    pub mirror: PathBuf,
    /// Time between the end of one refresh and the start of the next.
    pub refresh: Duration,
    /// Limit on each HTTP request, from connect to the last body byte.
    pub timeout: Duration,
    /// At most this many images are mirrored: the first ones of the feed.
    pub max_items: usize,
    /// An image larger than this is refused (never truncated).
    pub max_image_bytes: u64,
    /// A feed document larger than this is refused.
    pub max_feed_bytes: u64,
}

impl FeedConfig {
    /// Default refresh interval: 15 minutes.
    pub const DEFAULT_REFRESH: Duration = Duration::from_secs(15 * 60);
    /// Default per-request timeout: 20 seconds.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(20);
    /// Default maximum number of images: 50.
    pub const DEFAULT_MAX_ITEMS: usize = 50;
    /// Default image size limit: 20 MiB.
    pub const DEFAULT_MAX_IMAGE_BYTES: u64 = 20 << 20;
    /// Default feed size limit: 5 MiB.
    pub const DEFAULT_MAX_FEED_BYTES: u64 = 5 << 20;

    /// A config for `url` mirrored into `mirror`, with the default limits.
    pub fn new(url: impl Into<String>, mirror: impl Into<PathBuf>) -> Self {
        Self {
            url: url.into(),
            mirror: mirror.into(),
            refresh: Self::DEFAULT_REFRESH,
            timeout: Self::DEFAULT_TIMEOUT,
            max_items: Self::DEFAULT_MAX_ITEMS,
            max_image_bytes: Self::DEFAULT_MAX_IMAGE_BYTES,
            max_feed_bytes: Self::DEFAULT_MAX_FEED_BYTES,
        }
    }

    /// Checks every field; returns the parsed feed URL.
    pub(crate) fn validate(&self) -> Result<Url, FeedError> {
        let url = http_url(&self.url)?;
        let positive = |field, ok: bool| {
            if ok {
                Ok(())
            } else {
                Err(FeedError::BadConfig {
                    field,
                    reason: "must be greater than zero".to_owned(),
                })
            }
        };
        positive("refresh", !self.refresh.is_zero())?;
        positive("timeout", !self.timeout.is_zero())?;
        positive("max_items", self.max_items > 0)?;
        positive("max_image_bytes", self.max_image_bytes > 0)?;
        positive("max_feed_bytes", self.max_feed_bytes > 0)?;
        if self.mirror.as_os_str().is_empty() {
            return Err(FeedError::BadConfig {
                field: "mirror",
                reason: "is empty".to_owned(),
            });
        }
        Ok(url)
    }
}

/// Parses `text` as an absolute `http` or `https` URL with a host.
pub(crate) fn http_url(text: &str) -> Result<Url, FeedError> {
    let bad = |reason: String| FeedError::BadUrl {
        url: text.to_owned(),
        reason,
    };
    let url = Url::parse(text).map_err(|err| bad(err.to_string()))?;
    match url.scheme() {
        "http" | "https" if url.host_str().is_some_and(|h| !h.is_empty()) => Ok(url),
        "http" | "https" => Err(bad("no host".to_owned())),
        other => Err(bad(format!("scheme {other:?} is not http or https"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_http_and_https_urls_are_accepted() {
        for ok in ["http://example.org/feed.xml", "https://127.0.0.1:8080/f"] {
            assert!(http_url(ok).is_ok(), "{ok}");
        }
        for bad in [
            "file:///etc/passwd",
            "ftp://example.org/feed",
            "/relative/feed.xml",
            "javascript:alert(1)",
            "http://",
        ] {
            let err = http_url(bad).expect_err(bad);
            assert!(matches!(err, FeedError::BadUrl { .. }), "{bad}: {err}");
            assert!(err.to_string().contains(bad), "{err}");
        }
    }

    #[test]
    fn zero_limits_are_named() {
        let mut config = FeedConfig::new("http://example.org/feed", "/tmp/m");
        assert!(config.validate().is_ok());
        config.max_items = 0;
        let err = config.validate().expect_err("max_items = 0");
        assert_eq!(
            err,
            FeedError::BadConfig {
                field: "max_items",
                reason: "must be greater than zero".to_owned()
            }
        );
        assert!(err.to_string().contains("max_items"), "{err}");
    }
}

//! One refresh of a mirror: fetch and parse the feed, download the images
//! not yet mirrored (each one checked: http(s) only, size limit, image
//! signature), then remove the mirror's files the feed no longer lists.
//! No threads and no shared state: the worker calls it and publishes.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;

use url::Url;

use crate::feed::config::{FeedConfig, http_url};
use crate::feed::error::FeedError;
use crate::feed::http::Http;
use crate::feed::mirror_dir::{MirrorDir, url_hash};
use crate::feed::parse::{FeedItem, parse_feed};
use crate::feed::sniff::{extension, hex_prefix, sniff};

/// What one refresh did, when the feed itself was fetched and parsed.
#[derive(Debug, Default)]
pub(crate) struct RefreshReport {
    /// The mirrored images, in feed order.
    pub(crate) images: Vec<PathBuf>,
    /// Images downloaded and written in this refresh.
    pub(crate) downloaded: u64,
    /// Images refused for the first time in this refresh.
    pub(crate) refused: u64,
    /// Images that failed (network, HTTP status, disk) in this refresh.
    pub(crate) failed: u64,
    /// Images the feed lists, up to `max_items`.
    pub(crate) total: usize,
    /// Every image not mirrored in this refresh, with why, in feed order;
    /// a failed prune last.
    pub(crate) errors: Vec<FeedError>,
    /// Files removed from the mirror because the feed dropped them.
    pub(crate) removed: usize,
    /// The refresh stopped early because the mirror is shutting down.
    pub(crate) interrupted: bool,
}

impl RefreshReport {
    /// The per-image errors as one, if there were any.
    pub(crate) fn summary(&self) -> Option<FeedError> {
        let first = self.errors.first()?;
        Some(FeedError::Images {
            failed: self.errors.len(),
            total: self.total,
            first: Box::new(first.clone()),
        })
    }
}

/// What one refresh works with; `refused` outlives refreshes.
pub(crate) struct Refresher {
    config: FeedConfig,
    feed_url: Url,
    http: Http,
    mirror: MirrorDir,
    /// Image URLs refused by policy, with why: not downloaded again.
    refused: HashMap<String, FeedError>,
}

impl Refresher {
    /// Validates `config` and opens (creates) its mirror directory.
    pub(crate) fn new(config: FeedConfig) -> Result<Self, FeedError> {
        let feed_url = config.validate()?;
        let mirror = MirrorDir::create(&config.mirror)?;
        Ok(Self {
            http: Http::new(config.timeout),
            feed_url,
            mirror,
            config,
            refused: HashMap::new(),
        })
    }

    /// The feed URL.
    pub(crate) fn feed_url(&self) -> &str {
        self.feed_url.as_str()
    }

    /// Runs one refresh. `Err` when the feed could not be fetched or
    /// parsed (the mirror is left as it was); per-image failures are in the
    /// report. `stop` is polled between images.
    pub(crate) fn refresh(&mut self, stop: &dyn Fn() -> bool) -> Result<RefreshReport, FeedError> {
        let body = self.http.get(&self.feed_url, self.config.max_feed_bytes)?;
        let items = parse_feed(&body, self.feed_url.as_str())?;
        let items = unique_images(items, self.config.max_items);
        let mut existing = self.mirror.existing()?;
        let mut report = RefreshReport {
            total: items.len(),
            ..RefreshReport::default()
        };
        let mut keep = HashSet::new();
        for item in &items {
            if stop() {
                report.interrupted = true;
                return Ok(report);
            }
            let hash = url_hash(&item.image_url);
            keep.insert(hash.clone());
            if let Some(path) = existing.get(&hash) {
                report.images.push(path.clone());
                continue;
            }
            if let Some(err) = self.refused.get(&item.image_url) {
                report.errors.push(err.clone());
                continue;
            }
            match self.download(&item.image_url, &hash) {
                Ok(path) => {
                    report.downloaded += 1;
                    existing.insert(hash, path.clone());
                    report.images.push(path);
                }
                Err(err) if err.is_refusal() => {
                    tracing::warn!(url = %item.image_url, %err, "feed image refused");
                    report.refused += 1;
                    self.refused.insert(item.image_url.clone(), err.clone());
                    report.errors.push(err);
                }
                Err(err) => {
                    tracing::warn!(url = %item.image_url, %err, "feed image failed");
                    report.failed += 1;
                    report.errors.push(err);
                }
            }
        }
        match self.mirror.prune(&keep) {
            Ok(removed) => report.removed = removed,
            Err(err) => report.errors.push(err),
        }
        // Forget refusals of images the feed dropped: the map stays bounded.
        self.refused.retain(|url, _| keep.contains(&url_hash(url)));
        Ok(report)
    }

    /// Downloads one image, checks it and writes it into the mirror.
    fn download(&self, image_url: &str, hash: &str) -> Result<PathBuf, FeedError> {
        let url = http_url(image_url)?;
        let body = self.http.get(&url, self.config.max_image_bytes)?;
        let format = sniff(&body).ok_or_else(|| FeedError::NotAnImage {
            url: url.to_string(),
            magic: hex_prefix(&body),
        })?;
        self.mirror.write(hash, extension(format), &body)
    }
}

/// The first `max` items with distinct image URLs, in feed order.
fn unique_images(items: Vec<FeedItem>, max: usize) -> Vec<FeedItem> {
    let mut seen = HashSet::new();
    items
        .into_iter()
        .filter(|item| seen.insert(item.image_url.clone()))
        .take(max)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(id: &str, url: &str) -> FeedItem {
        FeedItem {
            id: id.to_owned(),
            title: None,
            image_url: url.to_owned(),
        }
    }

    #[test]
    fn duplicates_are_dropped_before_the_item_limit() {
        let items = vec![
            item("1", "http://h/a.png"),
            item("2", "http://h/a.png"),
            item("3", "http://h/b.png"),
            item("4", "http://h/c.png"),
        ];
        let kept = unique_images(items, 2);
        let ids: Vec<&str> = kept.iter().map(|i| i.id.as_str()).collect();
        assert_eq!(ids, ["1", "3"]);
    }

    #[test]
    fn the_summary_counts_and_names_the_first_error() {
        let mut report = RefreshReport {
            total: 4,
            ..RefreshReport::default()
        };
        assert_eq!(report.summary(), None);
        report.errors.push(FeedError::Status {
            url: "http://h/a.png".into(),
            status: 500,
        });
        report.errors.push(FeedError::NotAnImage {
            url: "http://h/b.png".into(),
            magic: "3c".into(),
        });
        let summary = report.summary().expect("two errors");
        assert_eq!(
            summary.to_string(),
            "2 of 4 images not mirrored; first: GET http://h/a.png answered HTTP 500"
        );
    }
}

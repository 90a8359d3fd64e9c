//! The `image_decode` actor: decodes by path or by bytes, prescales to a
//! size and fit, keeps the results in the `path|scaled:WxH` LRU under a byte
//! budget, prefetches lists in the background, and serves the images of its
//! source — the built-in samples, a directory, or an RSS/Atom/JSON feed —
//! by position. Every reply carries the RGBA as a shared frame, never as a
//! `Vec` in a message. The decoding is the core's; this file maps messages.

mod source;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use warden_kernel::{Actor, ActorError, ConfigProblem, Ctx, PoolSpec, SharedFrame};

use crate::feed::FeedConfig;
use crate::{
    DecodedImage, Filter, Fit, ImageCache, Limits, PrefetchRequest, Prefetcher, ScaleSpec,
};

use source::{SAMPLE_PREFIX, Source};

/// `[actors.NAME]` keys of an `image_decode` actor (every one has a default).
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ImageDecodeConfig {
    /// `"samples"` (built in), `"dir"` (the images in `dir`) or `"feed"` (`feed_url`).
    pub source: SourceKind,
    /// The directory when `source = "dir"`.
    pub dir: Option<PathBuf>,
    /// How often the directory is looked at again for new files (ms).
    pub poll_ms: u64,
    /// The feed when `source = "feed"` (RSS 2.0, Atom or JSON Feed; http or https).
    pub feed_url: Option<String>,
    /// Where the feed's images are mirrored.
    pub feed_mirror: PathBuf,
    /// How often the feed is fetched again (s).
    pub feed_refresh_secs: u64,
    /// Deadline of each feed or image download (ms).
    pub feed_timeout_ms: u64,
    /// Most items taken from the feed.
    pub feed_max_items: usize,
    /// Largest image downloaded (bytes).
    pub feed_max_image_bytes: u64,
    /// Number of built-in samples.
    pub samples: usize,
    /// Their size, `WxH`.
    pub sample_size: String,
    /// Byte budget of the decoded-image cache.
    pub cache_bytes: u64,
    /// Prescale size when a request names none, `WxH`.
    pub size: String,
    /// `contain`, `cover` or `stretch`.
    pub fit: String,
    /// The resampling filter (`lanczos3`, `catmull-rom`, `bilinear`, `box`, `nearest`, …).
    pub filter: String,
}

/// Where images come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SourceKind {
    /// The built-in samples.
    Samples,
    /// A directory.
    Dir,
    /// A feed.
    Feed,
}

impl Default for ImageDecodeConfig {
    fn default() -> Self {
        ImageDecodeConfig {
            source: SourceKind::Samples,
            dir: None,
            poll_ms: 2000,
            feed_url: None,
            feed_mirror: PathBuf::from("warden-data/feed"),
            feed_refresh_secs: 600,
            feed_timeout_ms: 10_000,
            feed_max_items: 50,
            feed_max_image_bytes: 32 << 20,
            samples: 8,
            sample_size: "1920x1080".into(),
            cache_bytes: 256 << 20,
            size: "1920x1080".into(),
            fit: "contain".into(),
            filter: "lanczos3".into(),
        }
    }
}

fn problem(key: &str, message: impl Into<String>) -> ConfigProblem {
    ConfigProblem::new(key, message)
}

impl ImageDecodeConfig {
    fn scale(&self) -> Result<ScaleSpec, ConfigProblem> {
        let (w, h) = crate::parse_size(&self.size).map_err(|e| problem("size", e.to_string()))?;
        let fit: Fit = self
            .fit
            .parse()
            .map_err(|e: crate::ScaleError| problem("fit", e.to_string()))?;
        let filter: Filter = self
            .filter
            .parse()
            .map_err(|e: crate::ScaleError| problem("filter", e.to_string()))?;
        let spec = ScaleSpec::new(w, h).with_fit(fit).with_filter(filter);
        spec.validate()
            .map_err(|e| problem("size", e.to_string()))?;
        Ok(spec)
    }

    fn sample_size(&self) -> Result<(u32, u32), ConfigProblem> {
        let (w, h) = crate::parse_size(&self.sample_size)
            .map_err(|e| problem("sample_size", e.to_string()))?;
        if !(16..=7680).contains(&w) || !(16..=4320).contains(&h) {
            return Err(problem(
                "sample_size",
                format!("{w}x{h} is outside 16x16..7680x4320"),
            ));
        }
        Ok((w, h))
    }

    fn source(&self) -> Result<Source, ConfigProblem> {
        Ok(match self.source {
            SourceKind::Samples => {
                if !(1..=256).contains(&self.samples) {
                    return Err(problem(
                        "samples",
                        format!("{} is outside 1..=256", self.samples),
                    ));
                }
                Source::samples(self.samples, self.sample_size()?)
            }
            SourceKind::Dir => {
                let dir = self.dir.clone().ok_or_else(|| {
                    problem("dir", "source = \"dir\" needs the directory in `dir`")
                })?;
                Source::dir(dir, Duration::from_millis(self.poll_ms.max(100)))
            }
            SourceKind::Feed => Source::feed(self.feed()?).map_err(|e| problem("feed_url", e))?,
        })
    }

    fn feed(&self) -> Result<FeedConfig, ConfigProblem> {
        let url = self.feed_url.clone().ok_or_else(|| {
            problem(
                "feed_url",
                "source = \"feed\" needs the feed's URL in `feed_url`",
            )
        })?;
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(problem(
                "feed_url",
                format!("{url:?} is not an http or https URL"),
            ));
        }
        if self.feed_refresh_secs == 0 || self.feed_timeout_ms == 0 || self.feed_max_items == 0 {
            return Err(problem(
                "feed_refresh_secs",
                "feed_refresh_secs, feed_timeout_ms and feed_max_items must be positive",
            ));
        }
        Ok(FeedConfig {
            url,
            mirror: self.feed_mirror.clone(),
            refresh: Duration::from_secs(self.feed_refresh_secs),
            timeout: Duration::from_millis(self.feed_timeout_ms),
            max_items: self.feed_max_items,
            max_image_bytes: self.feed_max_image_bytes,
            max_feed_bytes: 8 << 20,
        })
    }
}

/// A prescale asked for in a request; `None` fields take the actor's defaults.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Scale {
    /// Target width and height; `None`: the configured `size`.
    pub size: Option<(u32, u32)>,
    /// `contain`, `cover` or `stretch`; `None`: the configured `fit`.
    pub fit: Option<String>,
}

/// Requests.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum ImageMsg {
    /// Decode the image at `path` (or a sample, `sample:NAME`), prescaled
    /// unless `full` (idempotent).
    Decode {
        /// The file, or a name the source listed.
        path: String,
        /// The prescale.
        scale: Scale,
        /// Full size, no prescale.
        full: bool,
    },
    /// Decode an image sent as bytes (idempotent).
    DecodeBytes {
        /// The encoded image.
        bytes: SharedFrame,
        /// The prescale.
        scale: Scale,
    },
    /// The source's image at `index` (modulo the number of images), prescaled (idempotent).
    Nth {
        /// Position in the source's sorted list.
        index: u64,
        /// The prescale.
        scale: Scale,
    },
    /// The source's images now (idempotent).
    List,
    /// Decode these into the cache in the background (answered at once).
    Prefetch {
        /// Paths or listed names.
        paths: Vec<String>,
        /// The prescale.
        scale: Scale,
    },
    /// Look at the source again now (a directory rescan, a feed fetch).
    Refresh,
    /// Cache counters and the source (idempotent).
    Stats,
}

/// A decoded image.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ImageFrame {
    /// What was decoded (the path or listed name; `bytes` for `DecodeBytes`).
    pub name: String,
    /// Its position in the source's list, for `Nth`.
    pub index: Option<u64>,
    /// Images the source lists (for `Nth`; 0 otherwise).
    pub count: u64,
    /// Width of `rgba`.
    pub width: u32,
    /// Height of `rgba`.
    pub height: u32,
    /// The stored size, before orientation and prescale.
    pub source_size: (u32, u32),
    /// `jpeg`, `png`, …
    pub format: String,
    /// RGBA8, row-major.
    pub rgba: SharedFrame,
    /// Decode + prescale time, or 0 when it came from the cache (ms).
    pub decode_ms: f64,
    /// Whether it came from the cache.
    pub cached: bool,
}

/// What the source lists.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ImageList {
    /// The source, in words.
    pub source: String,
    /// The images, in order.
    pub names: Vec<String>,
    /// What went wrong with the source the last time, if anything (the last
    /// good list stays).
    pub error: Option<String>,
}

/// Cache counters.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ImageStats {
    /// The source, in words.
    pub source: String,
    /// Hits.
    pub hits: u64,
    /// Misses (decodes).
    pub misses: u64,
    /// Evictions.
    pub evictions: u64,
    /// Decodes that failed.
    pub errors: u64,
    /// Entries held.
    pub entries: usize,
    /// Bytes held.
    pub bytes: u64,
    /// The budget.
    pub budget: u64,
    /// Images waiting to be prefetched.
    pub prefetch_pending: usize,
}

/// Replies.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum ImageReply {
    /// An image.
    Image(ImageFrame),
    /// The source's list.
    List(ImageList),
    /// Prefetch queued.
    Prefetching(usize),
    /// Counters.
    Stats(ImageStats),
}

/// See the module documentation.
pub struct ImageDecode {
    cache: Arc<ImageCache>,
    prefetcher: Prefetcher,
    source: Source,
    default_scale: ScaleSpec,
}

impl ImageDecode {
    fn spec(&self, scale: &Scale) -> Result<ScaleSpec, ActorError> {
        let mut spec = self.default_scale;
        if let Some((w, h)) = scale.size {
            spec.width = w;
            spec.height = h;
        }
        if let Some(fit) = &scale.fit {
            spec.fit = fit
                .parse()
                .map_err(|e: crate::ScaleError| ActorError::Rejected(e.to_string()))?;
        }
        spec.validate()
            .map_err(|e| ActorError::Rejected(e.to_string()))?;
        Ok(spec)
    }

    fn decode(
        &mut self,
        name: &str,
        spec: Option<&ScaleSpec>,
    ) -> Result<(Arc<DecodedImage>, bool, Duration), ActorError> {
        let started = Instant::now();
        let result = if name.starts_with(SAMPLE_PREFIX) {
            let bytes = self
                .source
                .sample(name)
                .ok_or_else(|| ActorError::Rejected(format!("no sample named {name:?}")))?;
            let cached = self.cache.contains(Path::new(name), spec);
            self.cache
                .get_bytes(name, &bytes, spec)
                .map(|image| (image, cached))
        } else {
            let cached = self.cache.contains(Path::new(name), spec);
            self.cache
                .get(Path::new(name), spec)
                .map(|image| (image, cached))
        };
        let (image, cached) =
            result.map_err(|err| ActorError::Rejected(format!("{name}: {err}")))?;
        Ok((image, cached, started.elapsed()))
    }

    fn frame(
        ctx: &mut Ctx,
        name: String,
        image: &DecodedImage,
        cached: bool,
        took: Duration,
    ) -> ImageFrame {
        let pixels = image.image.pixels();
        let mut buf = ctx.buffer(pixels.len());
        buf.copy_from_slice(pixels);
        ImageFrame {
            name,
            index: None,
            count: 0,
            width: image.image.width(),
            height: image.image.height(),
            source_size: (image.source_width, image.source_height),
            format: image.format.to_string(),
            rgba: buf.freeze(),
            decode_ms: if cached {
                0.0
            } else {
                took.as_secs_f64() * 1000.0
            },
            cached,
        }
    }

    fn list(&mut self, fresh: bool) -> ImageList {
        let listing = self.source.list(fresh);
        ImageList {
            source: self.source.describe(),
            names: listing.names,
            error: listing.error,
        }
    }
}

impl Actor for ImageDecode {
    const KIND: &'static str = "image_decode";
    type Config = ImageDecodeConfig;
    type Msg = ImageMsg;
    type Reply = ImageReply;

    fn validate(config: &ImageDecodeConfig) -> Result<(), ConfigProblem> {
        config.scale()?;
        config.sample_size()?;
        if config.cache_bytes < 1 << 20 {
            return Err(problem("cache_bytes", "must be at least 1 MiB"));
        }
        match config.source {
            SourceKind::Feed => config.feed().map(|_| ()),
            SourceKind::Dir if config.dir.is_none() => Err(problem(
                "dir",
                "source = \"dir\" needs the directory in `dir`",
            )),
            _ => Ok(()),
        }
    }

    fn start(config: ImageDecodeConfig, _ctx: &mut Ctx) -> Result<Self, ActorError> {
        let fatal = |problem: ConfigProblem| ActorError::Fatal(problem.to_string());
        let default_scale = config.scale().map_err(fatal)?;
        let source = config.source().map_err(fatal)?;
        let cache = Arc::new(ImageCache::new(config.cache_bytes, Limits::default()));
        let prefetcher = Prefetcher::spawn(Arc::clone(&cache))
            .map_err(|err| ActorError::Fatal(format!("cannot start the prefetcher: {err}")))?;
        Ok(ImageDecode {
            cache,
            prefetcher,
            source,
            default_scale,
        })
    }

    fn handle(&mut self, msg: ImageMsg, ctx: &mut Ctx) -> Result<ImageReply, ActorError> {
        match msg {
            ImageMsg::Decode { path, scale, full } => {
                let spec = if full { None } else { Some(self.spec(&scale)?) };
                let (image, cached, took) = self.decode(&path, spec.as_ref())?;
                Ok(ImageReply::Image(Self::frame(
                    ctx, path, &image, cached, took,
                )))
            }
            ImageMsg::DecodeBytes { bytes, scale } => {
                let spec = self.spec(&scale)?;
                let name = format!("bytes:{:016x}", crate::cache_key::digest(&bytes));
                let started = Instant::now();
                let cached = self.cache.contains(Path::new(&name), Some(&spec));
                let image = self
                    .cache
                    .get_bytes(&name, &bytes, Some(&spec))
                    .map_err(|err| ActorError::Rejected(err.to_string()))?;
                Ok(ImageReply::Image(Self::frame(
                    ctx,
                    name,
                    &image,
                    cached,
                    started.elapsed(),
                )))
            }
            ImageMsg::Nth { index, scale } => {
                let spec = self.spec(&scale)?;
                let list = self.list(false);
                if list.names.is_empty() {
                    return Err(ActorError::Failed(match list.error {
                        Some(error) => format!("{} has no images: {error}", list.source),
                        None => format!("{} has no images", list.source),
                    }));
                }
                let count = list.names.len() as u64;
                let at = index % count;
                let name = list.names[at as usize].clone();
                let (image, cached, took) = self.decode(&name, Some(&spec))?;
                let mut frame = Self::frame(ctx, name, &image, cached, took);
                frame.index = Some(at);
                frame.count = count;
                Ok(ImageReply::Image(frame))
            }
            ImageMsg::List => Ok(ImageReply::List(self.list(false))),
            ImageMsg::Refresh => Ok(ImageReply::List(self.list(true))),
            ImageMsg::Prefetch { paths, scale } => {
                let spec = self.spec(&scale)?;
                let mut requests = Vec::new();
                for path in &paths {
                    if path.starts_with(SAMPLE_PREFIX) {
                        // Samples are in memory: decode them now (small, fast).
                        self.decode(path, Some(&spec))?;
                    } else {
                        requests.push(PrefetchRequest::new(path, Some(spec)));
                    }
                }
                let queued = requests.len();
                self.prefetcher.request(requests);
                Ok(ImageReply::Prefetching(queued))
            }
            ImageMsg::Stats => {
                let stats = self.cache.stats();
                Ok(ImageReply::Stats(ImageStats {
                    source: self.source.describe(),
                    hits: stats.hits,
                    misses: stats.misses,
                    evictions: stats.evictions,
                    errors: stats.errors,
                    entries: stats.entries,
                    bytes: stats.bytes,
                    budget: stats.budget,
                    prefetch_pending: self.prefetcher.pending(),
                }))
            }
        }
    }

    fn idempotent(msg: &ImageMsg) -> bool {
        !matches!(msg, ImageMsg::Prefetch { .. } | ImageMsg::Refresh)
    }

    fn pool_hint(config: &ImageDecodeConfig) -> Option<PoolSpec> {
        let (w, h) = config
            .scale()
            .map_or((1920, 1080), |spec| (spec.width, spec.height));
        Some(PoolSpec {
            slots: 8,
            slot_bytes: w as usize * h as usize * 4,
        })
    }
}

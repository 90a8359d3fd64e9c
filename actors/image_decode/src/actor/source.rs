//! Where the `image_decode` actor's images come from: the built-in samples
//! (drawn and encoded on first use), a directory (sorted, rescanned by
//! polling so new files appear), or a feed mirrored to disk by a background
//! thread. Each lists its images by name; the actor decodes them by name.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::feed::{FeedConfig, FeedMirror};
use crate::samples::{sample_bytes, sample_name};

/// Extensions a directory source lists.
const EXTENSIONS: &[&str] = &["jpg", "jpeg", "png", "webp", "gif", "bmp", "tif", "tiff"];

/// The prefix of sample names.
pub(crate) const SAMPLE_PREFIX: &str = "sample:";

/// What the source lists now, and whether it is healthy.
#[derive(Clone, Debug, Default)]
pub(crate) struct Listing {
    pub(crate) names: Vec<String>,
    pub(crate) error: Option<String>,
}

pub(crate) enum Source {
    Samples {
        size: (u32, u32),
        bytes: Vec<Option<Arc<Vec<u8>>>>,
    },
    Dir {
        dir: PathBuf,
        poll: Duration,
        scanned: Option<Instant>,
        listing: Listing,
    },
    Feed {
        url: String,
        mirror: FeedMirror,
    },
}

impl Source {
    pub(crate) fn samples(count: usize, size: (u32, u32)) -> Self {
        Source::Samples {
            size,
            bytes: vec![None; count],
        }
    }

    pub(crate) fn dir(dir: PathBuf, poll: Duration) -> Self {
        Source::Dir {
            dir,
            poll,
            scanned: None,
            listing: Listing::default(),
        }
    }

    pub(crate) fn feed(config: FeedConfig) -> Result<Self, String> {
        let url = config.url.clone();
        let mirror = FeedMirror::start(config).map_err(|err| err.to_string())?;
        Ok(Source::Feed { url, mirror })
    }

    /// In words, for replies.
    pub(crate) fn describe(&self) -> String {
        match self {
            Source::Samples { bytes, size } => {
                format!("{} built-in samples at {}x{}", bytes.len(), size.0, size.1)
            }
            Source::Dir { dir, .. } => format!("directory {}", dir.display()),
            Source::Feed { url, .. } => format!("feed {url}"),
        }
    }

    /// The images now (a directory is rescanned when its poll interval has
    /// passed, or when `fresh`).
    pub(crate) fn list(&mut self, fresh: bool) -> Listing {
        match self {
            Source::Samples { bytes, .. } => Listing {
                names: (0..bytes.len())
                    .map(|i| format!("{SAMPLE_PREFIX}{}", sample_name(i)))
                    .collect(),
                error: None,
            },
            Source::Dir {
                dir,
                poll,
                scanned,
                listing,
            } => {
                if fresh || scanned.is_none_or(|at| at.elapsed() >= *poll) {
                    *scanned = Some(Instant::now());
                    match scan(dir) {
                        Ok(names) => *listing = Listing { names, error: None },
                        // The last good list stays.
                        Err(err) => listing.error = Some(err),
                    }
                }
                listing.clone()
            }
            Source::Feed { mirror, .. } => {
                if fresh {
                    mirror.refresh_now();
                }
                let state = mirror.snapshot();
                Listing {
                    names: state
                        .images
                        .iter()
                        .map(|path| path.display().to_string())
                        .collect(),
                    error: state.last_error.map(|err| err.to_string()),
                }
            }
        }
    }

    /// The encoded bytes of sample `name`, drawn on first use.
    pub(crate) fn sample(&mut self, name: &str) -> Option<Arc<Vec<u8>>> {
        let Source::Samples { size, bytes } = self else {
            return None;
        };
        let index =
            (0..bytes.len()).find(|i| name == format!("{SAMPLE_PREFIX}{}", sample_name(*i)))?;
        if bytes[index].is_none() {
            match sample_bytes(index, size.0, size.1) {
                Ok(encoded) => bytes[index] = Some(Arc::new(encoded)),
                Err(err) => {
                    tracing::error!(%err, "a sample could not be encoded");
                    return None;
                }
            }
        }
        bytes[index].clone()
    }
}

fn scan(dir: &Path) -> Result<Vec<String>, String> {
    let entries =
        std::fs::read_dir(dir).map_err(|err| format!("cannot list {}: {err}", dir.display()))?;
    let mut names = Vec::new();
    for entry in entries {
        let path = entry
            .map_err(|err| format!("cannot list {}: {err}", dir.display()))?
            .path();
        let wanted = path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()));
        if wanted && path.is_file() {
            names.push(path.display().to_string());
        }
    }
    names.sort();
    Ok(names)
}

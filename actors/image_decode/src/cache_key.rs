//! Cache keys in the seed's form, `path|scaled:WxH`, and the file stamp
//! (length + modification time) that tells a cached entry from a stale one.

use std::fmt::{self, Write as _};
use std::path::Path;
use std::time::SystemTime;

use crate::error::DecodeError;
use crate::fit::{Fit, ScaleSpec};
use crate::resize::Filter;

/// The key of a cache entry: the path as given, then `|scaled:WxH` for a
/// prescaled entry. A fit or filter other than the defaults (`contain`,
/// `lanczos3`) is appended as `|fit:cover` / `|filter:box`, so different
/// outputs never share a key while the common case keeps the seed's form.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CacheKey(String);

impl CacheKey {
    /// The key of `path` decoded as is (`None`) or prescaled to `scale`.
    pub fn new(path: &Path, scale: Option<&ScaleSpec>) -> Self {
        let mut key = path.to_string_lossy().into_owned();
        if let Some(spec) = scale {
            // Writing to a String cannot fail.
            let _ = write!(key, "|scaled:{}x{}", spec.width, spec.height);
            if spec.fit != Fit::default() {
                let _ = write!(key, "|fit:{}", spec.fit);
            }
            if spec.filter != Filter::default() {
                let _ = write!(key, "|filter:{}", spec.filter);
            }
        }
        Self(key)
    }

    /// The key text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CacheKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What identifies one version of a file: its length and modification time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FileStamp {
    len: u64,
    modified: Option<SystemTime>,
}

impl FileStamp {
    /// Stats `path` (one `stat` call; no read).
    pub(crate) fn of(path: &Path) -> Result<Self, DecodeError> {
        let meta = std::fs::metadata(path).map_err(|e| DecodeError::io(&e))?;
        Ok(Self {
            len: meta.len(),
            modified: meta.modified().ok(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_follow_the_seed_form() {
        let path = Path::new("/photos/a.jpg");
        assert_eq!(CacheKey::new(path, None).as_str(), "/photos/a.jpg");
        let spec = ScaleSpec::new(1920, 1080);
        assert_eq!(
            CacheKey::new(path, Some(&spec)).as_str(),
            "/photos/a.jpg|scaled:1920x1080"
        );
        let cover = spec.with_fit(Fit::Cover).with_filter(Filter::Box);
        assert_eq!(
            CacheKey::new(path, Some(&cover)).to_string(),
            "/photos/a.jpg|scaled:1920x1080|fit:cover|filter:box"
        );
        assert_ne!(
            CacheKey::new(path, Some(&spec)),
            CacheKey::new(path, Some(&cover))
        );
    }
}

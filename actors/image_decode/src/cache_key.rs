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

/// What identifies one version of a file: its length and modification time
/// (or, for bytes held in memory, their length and a digest of them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FileStamp {
    len: u64,
    modified: Option<SystemTime>,
    digest: u64,
}

impl FileStamp {
    /// Stats `path` (one `stat` call; no read).
    pub(crate) fn of(path: &Path) -> Result<Self, DecodeError> {
        let meta = std::fs::metadata(path).map_err(|e| DecodeError::io(&e))?;
        Ok(Self {
            len: meta.len(),
            modified: meta.modified().ok(),
            digest: 0,
        })
    }

    /// The stamp of bytes held in memory.
    pub(crate) fn of_bytes(bytes: &[u8]) -> Self {
        Self {
            len: bytes.len() as u64,
            modified: None,
            digest: digest(bytes),
        }
    }
}

/// FNV-1a over 8-byte words: fast, and any changed byte shows.
pub(crate) fn digest(bytes: &[u8]) -> u64 {
    let mut hash = 0xcbf2_9ce4_8422_2325u64;
    let mut chunks = bytes.chunks_exact(8);
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        hash = (hash ^ u64::from_le_bytes(word)).wrapping_mul(0x0100_0000_01b3);
    }
    for byte in chunks.remainder() {
        hash = (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3);
    }
    hash ^ bytes.len() as u64
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

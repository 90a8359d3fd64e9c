//! The mirror directory: names derived from a stable hash of the image URL
//! (`feed-<16 hex>.<ext>`), atomic writes (a temporary name in the same
//! directory, then a rename), and pruning that only ever touches files
//! carrying the mirror's own naming pattern.

use std::collections::{HashMap, HashSet};
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::feed::error::FeedError;
use crate::feed::sniff::EXTENSIONS;

/// Prefix of every file the mirror creates.
const PREFIX: &str = "feed-";
/// Suffix of a file being written (`.feed-<hash>.<unique>.part`).
const PART_SUFFIX: &str = ".part";
/// Hex digits of the URL hash in a name.
const HASH_LEN: usize = 16;

/// Distinguishes temporary files written by this process.
static NEXT_PART: AtomicU64 = AtomicU64::new(0);

/// The stable hash of an image URL, as it appears in the file name:
/// 64-bit FNV-1a, 16 lower-case hex digits. Stable across runs, platforms
/// and Rust versions (unlike `std`'s `DefaultHasher`).
pub(crate) fn url_hash(url: &str) -> String {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let hash = url
        .bytes()
        .fold(OFFSET, |h, b| (h ^ u64::from(b)).wrapping_mul(PRIME));
    format!("{hash:016x}")
}

/// The hash in a name of the mirror's own pattern (`feed-<16 hex>.<ext>`).
fn own_image_hash(name: &str) -> Option<&str> {
    let rest = name.strip_prefix(PREFIX)?;
    let (hash, ext) = rest.split_once('.')?;
    (is_hash(hash) && EXTENSIONS.contains(&ext)).then_some(hash)
}

/// Whether `name` is a temporary file of the mirror's own pattern.
fn is_own_part(name: &str) -> bool {
    name.strip_prefix('.')
        .and_then(|rest| rest.strip_prefix(PREFIX))
        .and_then(|rest| rest.strip_suffix(PART_SUFFIX))
        .and_then(|rest| rest.split_once('.'))
        .is_some_and(|(hash, _)| is_hash(hash))
}

fn is_hash(text: &str) -> bool {
    text.len() == HASH_LEN
        && text
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// A directory of mirrored images.
#[derive(Debug, Clone)]
pub(crate) struct MirrorDir {
    dir: PathBuf,
}

impl MirrorDir {
    /// Opens `dir`, creating it (and its parents) if missing.
    pub(crate) fn create(dir: &Path) -> Result<Self, FeedError> {
        fs::create_dir_all(dir).map_err(|err| FeedError::io(dir, &err))?;
        Ok(Self {
            dir: dir.to_path_buf(),
        })
    }

    /// The mirror's own images now in the directory, by URL hash.
    pub(crate) fn existing(&self) -> Result<HashMap<String, PathBuf>, FeedError> {
        let mut found = HashMap::new();
        for name in self.own_names()? {
            if let Some(hash) = own_image_hash(&name) {
                found.insert(hash.to_owned(), self.dir.join(&name));
            }
        }
        Ok(found)
    }

    /// Writes `bytes` as `feed-<hash>.<ext>`: to a temporary name in the
    /// same directory first, then renamed, so that a reader never sees a
    /// partial file.
    pub(crate) fn write(&self, hash: &str, ext: &str, bytes: &[u8]) -> Result<PathBuf, FeedError> {
        let target = self.dir.join(format!("{PREFIX}{hash}.{ext}"));
        let unique = NEXT_PART.fetch_add(1, Ordering::Relaxed);
        let part = self.dir.join(format!(
            ".{PREFIX}{hash}.{}-{unique}{PART_SUFFIX}",
            std::process::id()
        ));
        let written = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&part)
            .and_then(|mut file| file.write_all(bytes))
            .map_err(|err| FeedError::io(&part, &err))
            .and_then(|()| fs::rename(&part, &target).map_err(|err| FeedError::io(&target, &err)));
        if written.is_err() {
            // Best effort: the error that matters is the one returned.
            let _ = fs::remove_file(&part);
        }
        written.map(|()| target)
    }

    /// Removes the mirror's own images whose hash is not in `keep`, and
    /// its leftover temporary files. Other files are never touched.
    /// Returns how many files were removed.
    pub(crate) fn prune(&self, keep: &HashSet<String>) -> Result<usize, FeedError> {
        let mut removed = 0;
        for name in self.own_names()? {
            let stale = match own_image_hash(&name) {
                Some(hash) => !keep.contains(hash),
                None => is_own_part(&name),
            };
            if !stale {
                continue;
            }
            let path = self.dir.join(&name);
            match fs::remove_file(&path) {
                Ok(()) => removed += 1,
                Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
                Err(err) => return Err(FeedError::io(&path, &err)),
            }
        }
        Ok(removed)
    }

    /// Names of the plain files in the directory that the mirror could have
    /// created (images and temporary files of its pattern).
    fn own_names(&self) -> Result<Vec<String>, FeedError> {
        let entries = fs::read_dir(&self.dir).map_err(|err| FeedError::io(&self.dir, &err))?;
        let mut names = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|err| FeedError::io(&self.dir, &err))?;
            let is_file = entry.file_type().is_ok_and(|t| t.is_file());
            let Ok(name) = entry.file_name().into_string() else {
                continue;
            };
            if is_file && (own_image_hash(&name).is_some() || is_own_part(&name)) {
                names.push(name);
            }
        }
        Ok(names)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_url_hash_is_stable() {
        // FNV-1a 64 reference values: a rename of the mirror's files would
        // make every existing mirror re-download.
        assert_eq!(url_hash(""), "cbf29ce484222325");
        assert_eq!(url_hash("a"), "af63dc4c8601ec8c");
        assert_ne!(url_hash("http://h/a.png"), url_hash("http://h/b.png"));
    }

    #[test]
    fn only_the_own_pattern_is_recognised() {
        assert_eq!(
            own_image_hash("feed-0123456789abcdef.png"),
            Some("0123456789abcdef")
        );
        for other in [
            "feed-0123456789abcdef.txt",
            "feed-0123456789ABCDEF.png",
            "feed-0123.png",
            "photo.png",
            "feed-0123456789abcdef.png.bak",
            "xfeed-0123456789abcdef.png",
        ] {
            assert_eq!(own_image_hash(other), None, "{other}");
        }
        assert!(is_own_part(".feed-0123456789abcdef.12-3.part"));
        assert!(!is_own_part(".feed-zz.12-3.part"));
        assert!(!is_own_part("notes.part"));
    }

    #[test]
    fn write_is_atomic_and_prune_spares_foreign_files() {
        let dir = tempfile::tempdir().expect("temp dir");
        let mirror = MirrorDir::create(&dir.path().join("nested/mirror")).expect("create");
        let a = url_hash("http://h/a.png");
        let b = url_hash("http://h/b.jpg");
        let path_a = mirror.write(&a, "png", b"\x89PNG-a").expect("write a");
        let path_b = mirror.write(&b, "jpg", b"\xFF\xD8\xFF-b").expect("write b");
        assert_eq!(fs::read(&path_a).expect("read a"), b"\x89PNG-a");
        // Overwriting replaces the file whole.
        mirror.write(&a, "png", b"\x89PNG-a2").expect("rewrite a");
        assert_eq!(fs::read(&path_a).expect("read a"), b"\x89PNG-a2");

        let root = dir.path().join("nested/mirror");
        fs::write(root.join("notes.txt"), b"mine").expect("foreign file");
        fs::write(root.join("feed-notahash.png"), b"mine").expect("foreign file");
        fs::write(root.join(format!(".feed-{a}.9-9.part")), b"half").expect("stale part");
        let existing = mirror.existing().expect("scan");
        assert_eq!(existing.len(), 2);
        assert_eq!(existing.get(&b), Some(&path_b));

        let removed = mirror.prune(&HashSet::from([a.clone()])).expect("prune");
        assert_eq!(removed, 2, "b and the stale part");
        assert!(path_a.exists());
        assert!(!path_b.exists());
        assert!(root.join("notes.txt").exists());
        assert!(root.join("feed-notahash.png").exists());
        let mut names: Vec<_> = fs::read_dir(&root)
            .expect("list")
            .map(|e| e.expect("entry").file_name())
            .collect();
        names.sort();
        assert_eq!(names.len(), 3, "{names:?}");
    }
}

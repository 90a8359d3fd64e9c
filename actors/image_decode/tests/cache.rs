//! The byte-budgeted LRU: hits, misses, evictions in LRU order, stale files
//! reloaded, oversize images passed through, one decode shared by concurrent
//! callers, and prefetch (in the caller's thread and in the background).

#![allow(clippy::unwrap_used)]

#[path = "support/samples.rs"]
mod samples;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Barrier};
use std::time::Duration;

use warden_image::{
    CacheKey, DecodeError, ImageCache, Limits, LoadError, PrefetchRequest, Prefetcher, ScaleSpec,
};

/// Writes `count` PNGs of `w x h` into `dir`; returns their paths.
fn images(dir: &Path, count: usize, w: u32, h: u32) -> Vec<PathBuf> {
    (0..count)
        .map(|i| {
            let path = dir.join(format!("img{i}.png"));
            std::fs::write(
                &path,
                samples::encoded(image::ImageFormat::Png, w + i as u32, h),
            )
            .unwrap();
            path
        })
        .collect()
}

/// Bytes one prescaled 32x32 entry costs in the cache (pixels + overhead).
fn entry_cost(cache: &ImageCache) -> u64 {
    cache.stats().bytes / cache.stats().entries as u64
}

#[test]
fn hits_misses_and_the_seed_key() {
    let dir = tempfile::tempdir().unwrap();
    let paths = images(dir.path(), 1, 64, 48);
    let cache = ImageCache::new(64 << 20, Limits::default());
    let spec = ScaleSpec::new(32, 32);
    let first = cache.get(&paths[0], Some(&spec)).unwrap();
    let second = cache.get(&paths[0], Some(&spec)).unwrap();
    assert!(
        Arc::ptr_eq(&first, &second),
        "the second get is the cached entry"
    );
    assert_eq!(first.image.dimensions(), (32, 24));
    let full = cache.get(&paths[0], None).unwrap();
    assert_eq!(full.image.dimensions(), (64, 48));

    let stats = cache.stats();
    assert_eq!(
        (stats.hits, stats.misses, stats.entries, stats.evictions),
        (1, 2, 2, 0)
    );
    assert_eq!(stats.bytes, (32 * 24 * 4 + 256) + (64 * 48 * 4 + 256));
    let keys: Vec<String> = cache.keys().iter().map(|k| k.as_str().to_owned()).collect();
    let path = paths[0].display().to_string();
    assert_eq!(keys, [path.clone(), format!("{path}|scaled:32x32")]);
    assert_eq!(
        CacheKey::new(&paths[0], Some(&spec)).as_str(),
        format!("{path}|scaled:32x32")
    );
    assert!(cache.peek(&paths[0], Some(&spec)).is_some());
    assert!(cache.peek(&paths[0], Some(&ScaleSpec::new(8, 8))).is_none());
    assert_eq!(cache.stats().hits, 1, "peek counts nothing");
}

#[test]
fn the_least_recently_used_entry_is_evicted_first() {
    let dir = tempfile::tempdir().unwrap();
    let paths = images(dir.path(), 4, 40, 40);
    let spec = ScaleSpec::new(32, 32).with_fit(warden_image::Fit::Stretch);
    // Learn what one entry costs, then allow exactly three.
    let probe = ImageCache::new(u64::MAX, Limits::default());
    probe.get(&paths[0], Some(&spec)).unwrap();
    let cost = entry_cost(&probe);
    let cache = ImageCache::new(3 * cost, Limits::default());

    for p in &paths[..3] {
        cache.get(p, Some(&spec)).unwrap();
    }
    cache.get(&paths[0], Some(&spec)).unwrap(); // 0 becomes the most recent
    cache.get(&paths[3], Some(&spec)).unwrap(); // evicts 1, the least recent
    let stats = cache.stats();
    assert_eq!((stats.evictions, stats.entries, stats.hits), (1, 3, 1));
    assert!(stats.bytes <= stats.budget);
    assert!(cache.peek(&paths[1], Some(&spec)).is_none());
    for i in [0, 2, 3] {
        assert!(cache.peek(&paths[i], Some(&spec)).is_some(), "entry {i}");
    }
}

#[test]
fn a_changed_file_is_reloaded_and_a_huge_image_passes_through() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.png");
    std::fs::write(&path, samples::encoded(image::ImageFormat::Png, 20, 10)).unwrap();
    let cache = ImageCache::new(4096, Limits::default());
    assert_eq!(cache.get(&path, None).unwrap().image.dimensions(), (20, 10));
    std::fs::write(&path, samples::encoded(image::ImageFormat::Png, 31, 10)).unwrap();
    assert_eq!(cache.get(&path, None).unwrap().image.dimensions(), (31, 10));
    let stats = cache.stats();
    assert_eq!((stats.stale, stats.misses, stats.hits), (1, 2, 0));

    // 100x100 RGBA = 40 000 bytes: over the 4096-byte budget, returned but not kept.
    std::fs::write(&path, samples::encoded(image::ImageFormat::Png, 100, 100)).unwrap();
    assert_eq!(
        cache.get(&path, None).unwrap().image.dimensions(),
        (100, 100)
    );
    let stats = cache.stats();
    assert_eq!((stats.oversize, stats.entries, stats.bytes), (1, 0, 0));
}

#[test]
fn failures_are_typed_and_counted_not_cached() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.png");
    std::fs::write(&bad, b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR").unwrap();
    let cache = ImageCache::new(1 << 20, Limits::default());
    let err = cache.get(&bad, None).unwrap_err();
    assert!(
        matches!(err, LoadError::Decode(DecodeError::Truncated { .. })),
        "{err}"
    );
    let err = cache
        .get(&dir.path().join("missing.png"), None)
        .unwrap_err();
    assert!(
        matches!(err, LoadError::Decode(DecodeError::Io { .. })),
        "{err}"
    );
    let stats = cache.stats();
    assert_eq!((stats.errors, stats.entries), (2, 0));
}

#[test]
fn concurrent_gets_of_one_key_share_one_decode() {
    let dir = tempfile::tempdir().unwrap();
    let paths = images(dir.path(), 1, 1200, 900);
    let cache = Arc::new(ImageCache::new(64 << 20, Limits::default()));
    let spec = ScaleSpec::new(300, 300);
    let threads = 6;
    let barrier = Arc::new(Barrier::new(threads));
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let (cache, barrier, path) =
                (Arc::clone(&cache), Arc::clone(&barrier), paths[0].clone());
            std::thread::spawn(move || {
                barrier.wait();
                cache.get(&path, Some(&spec)).unwrap()
            })
        })
        .collect();
    let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert!(results.iter().all(|r| Arc::ptr_eq(r, &results[0])));
    let stats = cache.stats();
    // Exactly one decode; every other caller waited for it or found it cached.
    assert_eq!(stats.misses, 1);
    assert_eq!(stats.hits + stats.coalesced, threads as u64 - 1);
    assert_eq!(stats.insertions, 1);
}

#[test]
fn prefetch_fills_the_cache_in_order_and_stops_at_the_budget() {
    let dir = tempfile::tempdir().unwrap();
    let paths = images(dir.path(), 5, 40, 40);
    let spec = ScaleSpec::new(32, 32).with_fit(warden_image::Fit::Stretch);
    let probe = ImageCache::new(u64::MAX, Limits::default());
    probe.get(&paths[0], Some(&spec)).unwrap();
    let cost = entry_cost(&probe);

    let cache = ImageCache::new(3 * cost, Limits::default());
    let mut requests: Vec<_> = paths
        .iter()
        .map(|p| PrefetchRequest::new(p.clone(), Some(spec)))
        .collect();
    requests.insert(
        2,
        PrefetchRequest::new(dir.path().join("missing.png"), Some(spec)),
    );
    let report = cache.prefetch(&requests);
    assert_eq!(report.decoded, 3);
    assert_eq!(report.failed.len(), 1);
    assert_eq!(report.failed[0].0, dir.path().join("missing.png"));
    // The fourth image did not fit: it and the one after it are left out.
    assert_eq!(report.over_budget, 2);
    // Four decodes: three stored, the fourth decoded and dropped (it did not
    // fit); the missing file failed at `stat`, before any decode.
    let stats = cache.stats();
    assert_eq!((stats.prefetched, stats.evictions, stats.misses), (4, 0, 0));
    for p in &paths[..3] {
        cache.get(p, Some(&spec)).unwrap();
    }
    assert_eq!(cache.stats().hits, 3);

    let again = cache.prefetch(&requests[..2]);
    assert_eq!((again.already_cached, again.decoded), (2, 0));
}

#[test]
fn the_background_prefetcher_serves_later_gets_from_the_cache() {
    let dir = tempfile::tempdir().unwrap();
    let paths = images(dir.path(), 4, 300, 200);
    let cache = Arc::new(ImageCache::new(64 << 20, Limits::default()));
    let prefetcher = Prefetcher::spawn(Arc::clone(&cache)).unwrap();
    let spec = ScaleSpec::new(64, 64);
    // A first list, at once replaced by the one that matters: the queue is
    // replaced, not appended to, so at most the four new requests are pending.
    prefetcher.request(vec![
        PrefetchRequest::new(dir.path().join("never.png"), None);
        50
    ]);
    prefetcher.request(
        paths
            .iter()
            .map(|p| PrefetchRequest::new(p.clone(), Some(spec)))
            .collect(),
    );
    assert!(
        prefetcher.pending() <= 4,
        "{} pending",
        prefetcher.pending()
    );
    assert!(
        prefetcher.wait_idle(Duration::from_secs(30)),
        "prefetch did not finish"
    );
    assert_eq!(prefetcher.pending(), 0);
    for p in &paths {
        cache.get(p, Some(&spec)).unwrap();
    }
    let stats = cache.stats();
    assert_eq!((stats.hits, stats.misses), (4, 0));
    assert_eq!(stats.prefetched, 4);
    drop(prefetcher); // joins the thread
}

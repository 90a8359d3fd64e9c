//! `ImageCache`: decoded and prescaled images in an LRU under a byte budget,
//! keyed `path|scaled:WxH`, with hit / miss / eviction counters. Decoding
//! runs outside the lock; concurrent requests for the same key share one
//! decode; an entry whose file changed on disk is reloaded.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};

use lru::LruCache;

use crate::cache_key::{CacheKey, FileStamp};
use crate::decode::DecodedImage;
use crate::error::LoadError;
use crate::fit::ScaleSpec;
use crate::limits::Limits;
use crate::load::load_file;

/// Bytes counted per entry on top of its pixels (key, bookkeeping).
const ENTRY_OVERHEAD: u64 = 256;

/// Counters and occupancy of an [`ImageCache`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CacheStats {
    /// `get` answered from the cache.
    pub hits: u64,
    /// `get` that had to decode.
    pub misses: u64,
    /// `get` that waited for a decode already running for the same key.
    pub coalesced: u64,
    /// Entries dropped to stay under the budget.
    pub evictions: u64,
    /// Entries dropped because their file changed on disk.
    pub stale: u64,
    /// Entries stored.
    pub insertions: u64,
    /// Decoded images not stored because they alone exceed the budget.
    pub oversize: u64,
    /// Decodes done by prefetch (not counted as misses).
    pub prefetched: u64,
    /// Loads that failed (decode errors, unreadable files).
    pub errors: u64,
    /// Entries held now.
    pub entries: usize,
    /// Bytes held now (pixels + a fixed overhead per entry).
    pub bytes: u64,
    /// The budget.
    pub budget: u64,
}

/// Who is asking: a caller that needs the image now, or prefetch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Caller {
    Get,
    Prefetch,
}

type Shared = Result<Arc<DecodedImage>, LoadError>;

/// One decode in progress; other callers for the same key wait on it.
pub(crate) struct Flight {
    result: Mutex<Option<Shared>>,
    done: Condvar,
}

impl Flight {
    pub(crate) fn wait(&self) -> Shared {
        let mut slot = lock(&self.result);
        loop {
            if let Some(result) = slot.as_ref() {
                return result.clone();
            }
            slot = self.done.wait(slot).unwrap_or_else(PoisonError::into_inner);
        }
    }

    pub(crate) fn complete(&self, result: Shared) {
        *lock(&self.result) = Some(result);
        self.done.notify_all();
    }
}

struct Entry {
    image: Arc<DecodedImage>,
    stamp: FileStamp,
    cost: u64,
}

struct State {
    lru: LruCache<CacheKey, Entry>,
    in_flight: HashMap<CacheKey, Arc<Flight>>,
    stats: CacheStats,
}

/// What a lookup found.
pub(crate) enum Lookup {
    /// A fresh entry.
    Hit(Arc<DecodedImage>),
    /// Another thread is decoding it.
    Wait(Arc<Flight>),
    /// Nobody has it: the caller decodes and must call `finish`.
    Miss(Arc<Flight>),
}

/// An LRU of decoded images under a byte budget. Share it with `Arc`; every
/// method takes `&self`.
pub struct ImageCache {
    limits: Limits,
    budget: u64,
    state: Mutex<State>,
}

impl ImageCache {
    /// A cache holding at most `budget_bytes`, decoding under `limits`.
    pub fn new(budget_bytes: u64, limits: Limits) -> Self {
        Self {
            limits,
            budget: budget_bytes,
            state: Mutex::new(State {
                lru: LruCache::unbounded(),
                in_flight: HashMap::new(),
                stats: CacheStats {
                    budget: budget_bytes,
                    ..CacheStats::default()
                },
            }),
        }
    }

    /// The image at `path` (prescaled to `scale` if given): from the cache
    /// when it holds a fresh entry, else decoded, stored and returned.
    pub fn get(
        &self,
        path: &Path,
        scale: Option<&ScaleSpec>,
    ) -> Result<Arc<DecodedImage>, LoadError> {
        self.fetch(path, scale, Caller::Get)
    }

    /// The image held in memory as `bytes` under the name `name` (prescaled
    /// to `scale` if given), cached under `name|scaled:WxH` like a file: an
    /// entry whose bytes changed is decoded again.
    pub fn get_bytes(
        &self,
        name: &str,
        bytes: &[u8],
        scale: Option<&ScaleSpec>,
    ) -> Result<Arc<DecodedImage>, LoadError> {
        let key = CacheKey::new(Path::new(name), scale);
        let stamp = FileStamp::of_bytes(bytes);
        match self.lookup(&key, stamp, Caller::Get) {
            Lookup::Hit(image) => Ok(image),
            Lookup::Wait(flight) => flight.wait(),
            Lookup::Miss(flight) => {
                let result =
                    crate::load::load_bytes(bytes, &self.limits, scale).map(|l| Arc::new(l.image));
                self.finish(&key, stamp, &result, None);
                flight.complete(result.clone());
                result
            }
        }
    }

    /// Whether `path` under `scale` is held (a cheap look, no decode, no
    /// file check).
    pub fn contains(&self, path: &Path, scale: Option<&ScaleSpec>) -> bool {
        self.state().lru.contains(&CacheKey::new(path, scale))
    }

    /// The cached entry for `path` and `scale`, if any, without decoding,
    /// touching the LRU order or the counters, or checking the file.
    pub fn peek(&self, path: &Path, scale: Option<&ScaleSpec>) -> Option<Arc<DecodedImage>> {
        let key = CacheKey::new(path, scale);
        self.state().lru.peek(&key).map(|e| Arc::clone(&e.image))
    }

    /// Counters and occupancy now.
    pub fn stats(&self) -> CacheStats {
        let state = self.state();
        CacheStats {
            entries: state.lru.len(),
            ..state.stats
        }
    }

    /// The keys held, most recently used first.
    pub fn keys(&self) -> Vec<CacheKey> {
        self.state().lru.iter().map(|(k, _)| k.clone()).collect()
    }

    /// Drops every entry (counters are kept).
    pub fn clear(&self) {
        let mut state = self.state();
        state.lru.clear();
        state.stats.bytes = 0;
    }

    /// The byte budget.
    pub fn budget(&self) -> u64 {
        self.budget
    }

    /// The decode limits.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Lookup, decode on a miss, store. Shared by `get` and prefetch.
    pub(crate) fn fetch(&self, path: &Path, scale: Option<&ScaleSpec>, caller: Caller) -> Shared {
        let key = CacheKey::new(path, scale);
        let stamp = match FileStamp::of(path) {
            Ok(stamp) => stamp,
            Err(err) => {
                self.state().stats.errors += 1;
                return Err(err.into());
            }
        };
        match self.lookup(&key, stamp, caller) {
            Lookup::Hit(image) => Ok(image),
            Lookup::Wait(flight) => flight.wait(),
            Lookup::Miss(flight) => {
                let result = load_file(path, &self.limits, scale).map(|l| Arc::new(l.image));
                self.finish(&key, stamp, &result, None);
                flight.complete(result.clone());
                result
            }
        }
    }

    /// Looks `key` up; on a miss registers the caller as the one decoding.
    pub(crate) fn lookup(&self, key: &CacheKey, stamp: FileStamp, caller: Caller) -> Lookup {
        let mut state = self.state();
        let fresh = match state.lru.get(key) {
            Some(entry) if entry.stamp == stamp => Some(Arc::clone(&entry.image)),
            Some(_) => None,
            None => None,
        };
        if let Some(image) = fresh {
            if caller == Caller::Get {
                state.stats.hits += 1;
            }
            tracing::trace!(%key, "cache hit");
            return Lookup::Hit(image);
        }
        if let Some(entry) = state.lru.pop(key) {
            state.stats.bytes -= entry.cost;
            state.stats.stale += 1;
            tracing::debug!(%key, "cache entry stale: the file changed");
        }
        if let Some(flight) = state.in_flight.get(key) {
            let flight = Arc::clone(flight);
            if caller == Caller::Get {
                state.stats.coalesced += 1;
            }
            return Lookup::Wait(flight);
        }
        match caller {
            Caller::Get => state.stats.misses += 1,
            Caller::Prefetch => state.stats.prefetched += 1,
        }
        let flight = Arc::new(Flight {
            result: Mutex::new(None),
            done: Condvar::new(),
        });
        state.in_flight.insert(key.clone(), Arc::clone(&flight));
        Lookup::Miss(flight)
    }

    /// Ends a decode registered by `lookup`: stores a success (evicting the
    /// least recently used entries to fit), counts a failure. With
    /// `room_left`, stores only if the entry fits in that many bytes; returns
    /// the bytes stored (0 when nothing was).
    pub(crate) fn finish(
        &self,
        key: &CacheKey,
        stamp: FileStamp,
        result: &Shared,
        room_left: Option<u64>,
    ) -> u64 {
        let mut state = self.state();
        state.in_flight.remove(key);
        let image = match result {
            Ok(image) => Arc::clone(image),
            Err(err) => {
                state.stats.errors += 1;
                tracing::debug!(%key, %err, "load failed");
                return 0;
            }
        };
        let cost = image.image.byte_len() as u64 + ENTRY_OVERHEAD;
        if cost > self.budget || room_left.is_some_and(|room| cost > room) {
            state.stats.oversize += u64::from(room_left.is_none());
            return 0;
        }
        if let Some(old) = state.lru.pop(key) {
            state.stats.bytes -= old.cost;
        }
        while state.stats.bytes + cost > self.budget {
            let Some((evicted, entry)) = state.lru.pop_lru() else {
                break;
            };
            state.stats.bytes -= entry.cost;
            state.stats.evictions += 1;
            tracing::debug!(key = %evicted, bytes = entry.cost, "evicted");
        }
        state.lru.put(key.clone(), Entry { image, stamp, cost });
        state.stats.bytes += cost;
        state.stats.insertions += 1;
        cost
    }

    fn state(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }
}

/// Locks, ignoring poisoning: no code panics while holding these locks (the
/// decode runs outside them), so the state behind a poisoned one is whole.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

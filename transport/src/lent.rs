//! Frames lent to a child from pools other than its own: a frame made by
//! one child (a slot of its pool) and sent to another crosses as a handle on
//! the producer's pool, which the consumer maps. The kernel keeps one
//! reference to the frame per handle given out, for as long as the consumer
//! may read it, and drops it when the consumer releases the handle — or all
//! at once when the consumer dies. The producer's slot is free again only
//! then, so a consumer never reads a slot being rewritten.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use crate::envelope::FrameHandle;
use crate::frame::SharedFrame;
use crate::pool::PoolError;

type Key = (u32, u32, u64);

/// The frames one child has been lent (see the module documentation).
#[derive(Default)]
pub struct Lent {
    frames: Mutex<HashMap<Key, (SharedFrame, u32)>>,
}

impl std::fmt::Debug for Lent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lent")
            .field("handles", &self.handles())
            .finish()
    }
}

impl Lent {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<Key, (SharedFrame, u32)>> {
        // Every update is a single insert, increment or removal.
        self.frames.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Lend `frame` (a slot of some pool): its handle, counted once more.
    /// `None` for a frame that lives on the heap.
    pub fn lend(&self, frame: &SharedFrame) -> Option<FrameHandle> {
        let handle = frame.handle()?;
        let mut frames = self.lock();
        frames
            .entry((handle.pool, handle.slot, handle.seq))
            .or_insert_with(|| (frame.clone(), 0))
            .1 += 1;
        Some(handle)
    }

    /// The frame behind a lent handle the child sent back (in a reply or a
    /// request of its own); a handle never lent is the child's fault.
    pub fn get(&self, handle: FrameHandle) -> Result<SharedFrame, PoolError> {
        let frames = self.lock();
        match frames.get(&(handle.pool, handle.slot, handle.seq)) {
            Some((frame, _)) if frame.len() as u64 == handle.len => Ok(frame.clone()),
            Some((frame, _)) => Err(PoolError::BadHandle(format!(
                "lent frame pool {} slot {} is {} bytes, not {}",
                handle.pool,
                handle.slot,
                frame.len(),
                handle.len
            ))),
            None => Err(PoolError::BadHandle(format!(
                "pool {} slot {} seq {} was never lent to this child",
                handle.pool, handle.slot, handle.seq
            ))),
        }
    }

    /// The child released one handle of a lent frame.
    pub fn release(&self, pool: u32, slot: u32, seq: u64) -> Result<(), PoolError> {
        let dropped = {
            let mut frames = self.lock();
            let key = (pool, slot, seq);
            match frames.get_mut(&key) {
                Some((_, count)) if *count > 1 => {
                    *count -= 1;
                    None
                }
                Some(_) => frames.remove(&key),
                None => {
                    return Err(PoolError::BadHandle(format!(
                        "release of pool {pool} slot {slot} seq {seq}, which this child does not hold"
                    )));
                }
            }
        };
        // Dropped outside the lock: the last reference releases the slot to
        // its producer, which may send on a link.
        drop(dropped);
        Ok(())
    }

    /// The child is gone: drop every frame it held.
    pub fn clear(&self) {
        let frames = std::mem::take(&mut *self.lock());
        drop(frames);
    }

    /// Handles held by the child.
    pub fn handles(&self) -> usize {
        self.lock().values().map(|(_, count)| *count as usize).sum()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::pool::{PoolSpec, ReleaseSink, SlotPool};

    #[derive(Default)]
    struct Releases(Mutex<Vec<(u32, u32, u64)>>);

    impl ReleaseSink for Releases {
        fn release(&self, pool: u32, slot: u32, seq: u64) {
            self.0
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push((pool, slot, seq));
        }
    }

    #[test]
    fn a_lent_frame_is_held_until_every_handle_is_released() {
        let spec = PoolSpec {
            slots: 2,
            slot_bytes: 4096,
        };
        let kernel = SlotPool::create(spec, 7).expect("pool");
        let child = SlotPool::attach(kernel.region(), spec, 7, 1 << 40).expect("attach");
        let to_child = Arc::new(Releases::default());
        kernel.set_sink(Some(to_child.clone()));
        // The producer (child) writes a frame; the kernel receives its handle.
        let mut buf = child.alloc(100).expect("slot");
        buf.fill(3);
        let frame = buf.freeze();
        let handle = child.export(&frame).expect("export");
        drop(frame);
        let in_kernel = kernel.import(handle).expect("import");

        let lent = Lent::new();
        assert_eq!(lent.lend(&in_kernel), Some(handle));
        assert_eq!(lent.lend(&in_kernel), Some(handle));
        drop(in_kernel);
        assert_eq!(lent.handles(), 2);
        assert_eq!(lent.get(handle).expect("lent").len(), 100);
        lent.release(handle.pool, handle.slot, handle.seq)
            .expect("first");
        assert!(
            to_child.0.lock().expect("lock").is_empty(),
            "still lent once"
        );
        lent.release(handle.pool, handle.slot, handle.seq)
            .expect("second");
        assert_eq!(
            *to_child.0.lock().expect("lock"),
            vec![(7, handle.slot, handle.seq)],
            "the producer gets its slot back"
        );
        assert!(lent.release(handle.pool, handle.slot, handle.seq).is_err());
        assert!(lent.get(handle).is_err());
    }

    #[test]
    fn heap_frames_are_not_lent_and_clear_drops_everything() {
        let lent = Lent::new();
        assert_eq!(lent.lend(&SharedFrame::from_vec(vec![1, 2])), None);
        lent.clear();
        assert_eq!(lent.handles(), 0);
    }
}

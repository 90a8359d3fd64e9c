//! Tests of the slot pool: both sides live in this process with two separate
//! mappings of one region, which is exactly what two processes see.

use super::*;

#[derive(Default)]
struct Releases(Mutex<Vec<(u32, u64)>>);

impl ReleaseSink for Releases {
    fn release(&self, pool: u32, slot: u32, seq: u64) {
        assert_eq!(pool, POOL, "releases name their pool");
        self.0.lock().unwrap().push((slot, seq));
    }
}

const POOL: u32 = 3;

impl Releases {
    fn take(&self) -> Vec<(u32, u64)> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

fn pair(slots: u32) -> (Arc<SlotPool>, Arc<SlotPool>, Arc<Releases>, Arc<Releases>) {
    let spec = PoolSpec {
        slots,
        slot_bytes: 64 * 1024,
    };
    let kernel = SlotPool::create(spec, POOL).unwrap();
    let child = SlotPool::attach(kernel.region(), spec, POOL, 1 << 40).unwrap();
    let to_child = Arc::new(Releases::default());
    let to_kernel = Arc::new(Releases::default());
    kernel.set_sink(Some(to_child.clone()));
    child.set_sink(Some(to_kernel.clone()));
    (kernel, child, to_child, to_kernel)
}

fn filled(pool: &Arc<SlotPool>, len: usize, byte: u8) -> SharedFrame {
    let mut buf = pool.alloc(len).unwrap();
    buf.fill(byte);
    buf.freeze()
}

#[test]
fn a_frame_written_on_one_side_is_read_on_the_other_without_copying() {
    let (kernel, child, _, to_kernel) = pair(2);
    let frame = filled(&kernel, 40_000, 0xAB);
    let handle = kernel.export(&frame).unwrap();
    drop(frame);
    assert_eq!(kernel.in_use(), 1, "the child's handle keeps the slot");

    let seen = child.import(handle).unwrap();
    assert_eq!(seen.len(), 40_000);
    assert!(seen.iter().all(|byte| *byte == 0xAB));
    drop(seen);
    let released = to_kernel.take();
    assert_eq!(released, vec![(handle.slot, handle.seq)]);
    kernel.release(handle.slot, handle.seq).unwrap();
    assert_eq!(kernel.in_use(), 0);
}

#[test]
fn slots_are_exhausted_then_reused_after_release() {
    let (kernel, child, _, _) = pair(2);
    let a = filled(&kernel, 10, 1);
    let b = filled(&kernel, 10, 2);
    assert!(matches!(
        kernel.alloc(10),
        Err(PoolError::Exhausted { slots: 2 })
    ));
    let handle = kernel.export(&a).unwrap();
    drop(a);
    assert!(kernel.alloc(10).is_err(), "the peer still holds it");
    drop(child.import(handle).unwrap());
    kernel.release(handle.slot, handle.seq).unwrap();
    let c = kernel.alloc(10).unwrap();
    drop((b, c));
}

#[test]
fn an_oversize_frame_is_refused() {
    let (kernel, _, _, _) = pair(1);
    assert!(matches!(
        kernel.alloc(1 << 20),
        Err(PoolError::TooLarge { .. })
    ));
}

#[test]
fn a_frame_echoed_back_is_the_same_slot() {
    let (kernel, child, to_child, to_kernel) = pair(2);
    let frame = filled(&kernel, 1000, 7);
    let out = kernel.export(&frame).unwrap();
    let at_child = child.import(out).unwrap();
    // The child returns the same frame: a handle to the kernel's own slot.
    let back = child.export(&at_child).unwrap();
    assert_eq!(back, out);
    let at_kernel = kernel.import(back).unwrap();
    assert_eq!(
        at_kernel.as_ptr(),
        frame.as_ptr(),
        "same mapping, same bytes"
    );
    drop(at_child);
    for (slot, seq) in to_kernel.take() {
        kernel.release(slot, seq).unwrap();
    }
    drop((frame, at_kernel));
    assert_eq!(kernel.in_use(), 0);
    assert!(to_child.take().is_empty());
}

#[test]
fn heap_frames_are_copied_into_a_slot_on_export() {
    let (kernel, child, _, _) = pair(1);
    let heap = SharedFrame::from_vec(vec![5; 3000]);
    let handle = kernel.export(&heap).unwrap();
    assert_eq!(kernel.in_use(), 1);
    assert_eq!(child.import(handle).unwrap().as_slice(), heap.as_slice());
}

#[test]
fn bad_handles_are_errors() {
    let (kernel, child, _, _) = pair(2);
    let frame = filled(&kernel, 10, 1);
    let good = kernel.export(&frame).unwrap();
    let cases = [
        FrameHandle { slot: 99, ..good },
        FrameHandle {
            len: 1 << 40,
            ..good
        },
        // the kernel's own slot with a stale sequence
        FrameHandle {
            seq: good.seq + 5,
            ..good
        },
    ];
    for bad in cases {
        assert!(
            matches!(kernel.import(bad), Err(PoolError::BadHandle(_))),
            "{bad:?}"
        );
    }
    assert!(kernel.release(good.slot, good.seq + 1).is_err());
    assert!(kernel.release(3, 1).is_err(), "slot 3 is the child's");
    let _held = child.import(good).unwrap();
    assert!(
        child
            .import(FrameHandle {
                seq: good.seq + 1,
                ..good
            })
            .is_err(),
        "a slot re-leased while still held"
    );
}

#[test]
fn a_restarted_peer_gives_back_its_slots_and_learns_what_is_still_held() {
    let spec = PoolSpec {
        slots: 2,
        slot_bytes: 4096,
    };
    let kernel = SlotPool::create(spec, POOL).unwrap();
    let child = SlotPool::attach(kernel.region(), spec, POOL, 1 << 40).unwrap();
    // The kernel lends a slot to the child; the child sends one of its own.
    let lent = filled(&kernel, 100, 1);
    let lent_handle = kernel.export(&lent).unwrap();
    drop(lent);
    let _at_child = child.import(lent_handle).unwrap();
    let from_child = filled(&child, 100, 2);
    let from_child_handle = child.export(&from_child).unwrap();
    let kept = kernel.import(from_child_handle).unwrap();

    // The child dies.
    drop((from_child, _at_child));
    kernel.peer_restarted();
    assert_eq!(kernel.in_use(), 0, "the dead child's lease is reclaimed");
    let held = kernel.held_for_next_peer();
    assert_eq!(
        held,
        vec![HeldSlot {
            slot: from_child_handle.slot,
            seq: from_child_handle.seq,
            count: 1
        }]
    );

    // The new child must not hand out the slot the kernel still reads.
    let fresh = SlotPool::attach(kernel.region(), spec, POOL, 2 << 40).unwrap();
    fresh.hold_for_peer(&held).unwrap();
    let a = fresh.alloc(10).unwrap();
    assert!(fresh.alloc(10).is_err(), "one slot is still held");
    assert!(kept.iter().all(|byte| *byte == 2), "held bytes untouched");
    // Dropped while no child is connected: the release waits for the new sink.
    drop(kept);
    let to_fresh = Arc::new(Releases::default());
    kernel.set_sink(Some(to_fresh.clone()));
    let released = to_fresh.take();
    assert_eq!(
        released,
        vec![(from_child_handle.slot, from_child_handle.seq)]
    );
    fresh
        .release(from_child_handle.slot, from_child_handle.seq)
        .unwrap();
    let b = fresh.alloc(10).unwrap();
    drop((a, b));
}

#[test]
fn a_region_of_the_wrong_size_is_refused() {
    let spec = PoolSpec {
        slots: 1,
        slot_bytes: 4096,
    };
    let kernel = SlotPool::create(spec, POOL).unwrap();
    let bigger = PoolSpec { slots: 2, ..spec };
    assert!(matches!(
        SlotPool::attach(kernel.region(), bigger, POOL, 1),
        Err(PoolError::RegionSize { .. })
    ));
}

#[test]
fn a_handle_on_another_pool_is_refused() {
    let (kernel, child, _, _) = pair(1);
    let frame = filled(&kernel, 10, 1);
    let good = kernel.export(&frame).unwrap();
    assert!(matches!(
        child.import(FrameHandle {
            pool: POOL + 1,
            ..good
        }),
        Err(PoolError::BadHandle(_))
    ));
}

#[test]
fn a_foreign_mapping_reads_lent_slots_and_releases_them_by_pool() {
    // Child A's pool, mapped by child B: B reads what A wrote, allocates
    // nothing, and names A's pool when it releases.
    let spec = PoolSpec {
        slots: 2,
        slot_bytes: 4096,
    };
    let kernel = SlotPool::create(spec, POOL).unwrap();
    let a = SlotPool::attach(kernel.region(), spec, POOL, 1 << 40).unwrap();
    let b = SlotPool::attach_foreign(kernel.region(), spec, POOL).unwrap();
    let to_kernel = Arc::new(Releases::default());
    b.set_sink(Some(to_kernel.clone()));
    let frame = filled(&a, 64, 9);
    let handle = a.export(&frame).unwrap();
    let seen = b.import(handle).unwrap();
    assert!(seen.iter().all(|byte| *byte == 9));
    assert_ne!(seen.as_ptr(), frame.as_ptr(), "another mapping");
    assert!(b.alloc(10).is_err(), "a foreign mapping never allocates");
    drop(seen);
    assert_eq!(to_kernel.take(), vec![(handle.slot, handle.seq)]);
}

#[test]
fn a_late_handle_from_a_replaced_peer_is_refused_and_never_released_to_its_successor() {
    let (kernel, child, _, _) = pair(2);
    let epoch = kernel.peer_epoch();
    let frame = filled(&child, 10, 4);
    let handle = child.export(&frame).unwrap();
    // The child dies; its reader still delivers one last message.
    kernel.peer_restarted();
    let held = kernel.held_for_next_peer();
    assert!(held.is_empty());
    assert!(matches!(
        kernel.import_from(handle, epoch),
        Err(PoolError::BadHandle(_))
    ));
    let fresh_sink = Arc::new(Releases::default());
    kernel.set_sink(Some(fresh_sink.clone()));
    assert!(
        fresh_sink.take().is_empty(),
        "nothing released to the new child"
    );
    // The new instance's handles are accepted.
    let next = kernel.peer_epoch();
    let fresh = SlotPool::attach(kernel.region(), kernel.spec(), POOL, 2 << 40).unwrap();
    let frame = filled(&fresh, 10, 5);
    let handle = fresh.export(&frame).unwrap();
    assert!(kernel.import_from(handle, next).is_ok());
}

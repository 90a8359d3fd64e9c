//! A pool of pre-faulted shared-memory slots, mapped once on both sides of a
//! kernel↔child link, so that a frame crosses as a "slot, sequence, length"
//! handle and a later release — never as bytes inside a message.
//!
//! The region is split in two halves: the kernel allocates from the first,
//! the child from the second. Only the allocating side writes a slot, and only
//! while no lease on it exists anywhere; afterwards both sides read it. A slot
//! is free again when its allocator holds no local reference and the peer has
//! released every handle it was given.
//!
//! This is the only module of the transport with `unsafe` code.
#![allow(unsafe_code)]

use std::collections::HashMap;
use std::ops::Range;
use std::ptr::NonNull;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use bincode::{Decode, Encode};
use ipc_channel::ipc::IpcSharedMemory;

use crate::envelope::FrameHandle;
use crate::frame::{FrameBuf, SharedFrame};

const PAGE: usize = 4096;
const MAX_REGION_BYTES: usize = 16 << 30;

/// Size of a pool: `slots` per side, each `slot_bytes` long (rounded up to a page).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Encode, Decode)]
pub struct PoolSpec {
    /// Slots each side can allocate.
    pub slots: u32,
    /// Bytes per slot.
    pub slot_bytes: usize,
}

impl PoolSpec {
    /// Check and normalise the spec.
    pub fn validated(self) -> Result<Self, PoolError> {
        if self.slots == 0 || self.slots > 1024 {
            return Err(PoolError::Spec(format!(
                "slots per side must be 1..=1024, got {}",
                self.slots
            )));
        }
        if self.slot_bytes == 0 {
            return Err(PoolError::Spec("slot_bytes must be positive".into()));
        }
        let slot_bytes = self.slot_bytes.div_ceil(PAGE) * PAGE;
        let total = slot_bytes
            .checked_mul(2 * self.slots as usize)
            .filter(|total| *total <= MAX_REGION_BYTES)
            .ok_or_else(|| {
                PoolError::Spec(format!(
                    "{} slots of {} bytes per side exceed the 16 GiB region limit",
                    self.slots, self.slot_bytes
                ))
            })?;
        debug_assert!(total > 0);
        Ok(PoolSpec {
            slots: self.slots,
            slot_bytes,
        })
    }

    /// Bytes of the whole region (both halves).
    pub fn region_bytes(&self) -> usize {
        self.slot_bytes * 2 * self.slots as usize
    }
}

/// Which half of the pool a process allocates from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    /// The kernel (parent) process.
    Kernel,
    /// The child process.
    Child,
    /// Neither: another actor's pool, mapped by a child that was lent
    /// frames from it. It only reads, and releases what it was lent.
    Foreign,
}

impl Side {
    fn range(self, slots: u32) -> Range<u32> {
        match self {
            Side::Kernel => 0..slots,
            Side::Child => slots..2 * slots,
            Side::Foreign => 0..0,
        }
    }
}

/// A slot of the peer's half that this side still holds, so that a restarted
/// peer does not hand it out again until it is released.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Encode, Decode)]
pub struct HeldSlot {
    /// Slot index.
    pub slot: u32,
    /// The lease sequence held.
    pub seq: u64,
    /// How many handles to it are held (each is released separately).
    pub count: u32,
}

/// Where this side's releases of the peer's slots go (the link to the peer).
pub trait ReleaseSink: Send + Sync {
    /// The last local reference to the peer's `slot`/`seq` lease of pool
    /// `pool` was dropped.
    fn release(&self, pool: u32, slot: u32, seq: u64);
}

/// What can go wrong with the pool.
#[derive(Debug, thiserror::Error)]
pub enum PoolError {
    /// The requested size is unusable.
    #[error("invalid shared-memory pool: {0}")]
    Spec(String),
    /// The peer sent a region of the wrong size.
    #[error("shared-memory region is {actual} bytes, expected {expected}")]
    RegionSize {
        /// Bytes received.
        actual: usize,
        /// Bytes the spec implies.
        expected: usize,
    },
    /// The frame is larger than a slot.
    #[error("a frame of {len} bytes does not fit a {slot_bytes}-byte shared-memory slot")]
    TooLarge {
        /// Requested length.
        len: usize,
        /// Slot size.
        slot_bytes: usize,
    },
    /// Every slot of this side is leased.
    #[error("all {slots} shared-memory slots of this side are in use")]
    Exhausted {
        /// Slots per side.
        slots: u32,
    },
    /// A handle or release from the peer does not match the pool's state.
    #[error("bad frame handle from peer: {0}")]
    BadHandle(String),
}

struct Region {
    _shm: IpcSharedMemory,
    base: NonNull<u8>,
    len: usize,
}

// SAFETY: `base` points into the mapping owned by `_shm`, which lives as long
// as the `Region`. Every access to the bytes goes through `SlotWriter` (one
// exclusive writer, while no lease exists) or `SlotRef` (shared readers after
// the writer froze the slot), as enforced by the slot states below.
unsafe impl Send for Region {}
// SAFETY: see `Send`; the region itself holds no interior state.
unsafe impl Sync for Region {}

impl Region {
    fn slot_ptr(&self, slot: u32, slot_bytes: usize) -> *mut u8 {
        let offset = slot as usize * slot_bytes;
        debug_assert!(offset + slot_bytes <= self.len);
        // SAFETY: `slot` was range-checked by the caller against the spec, and
        // the region is exactly `2 * slots * slot_bytes` long.
        unsafe { self.base.as_ptr().add(offset) }
    }
}

#[derive(Clone, Copy, Debug)]
enum Own {
    Free,
    Writing,
    Shared { seq: u64, local: u32, remote: u32 },
}

struct State {
    own: Vec<Own>,
    free: Vec<u32>,
    next_seq: u64,
    peer: HashMap<u32, (u64, u32)>,
    /// Counts peer instances: handles of the peer's half are accepted only
    /// from the current one (see [`SlotPool::import_from`]).
    epoch: u64,
}

/// A shared-memory slot pool (see the module documentation).
pub struct SlotPool {
    id: u32,
    region: Region,
    spec: PoolSpec,
    side: Side,
    state: Mutex<State>,
    sink: Mutex<Sink>,
}

/// Where releases go, and those made while no peer is connected. Lock order:
/// `sink` before `state`, so that a snapshot of held slots and the releases
/// queued after it never disagree.
#[derive(Default)]
struct Sink {
    to: Option<Arc<dyn ReleaseSink>>,
    pending: Vec<(u32, u64)>,
}

impl std::fmt::Debug for SlotPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SlotPool")
            .field("spec", &self.spec)
            .field("side", &self.side)
            .field("in_use", &self.in_use())
            .finish()
    }
}

impl SlotPool {
    /// Create the region (kernel side). Every page is written once here, so
    /// the kernel's mapping is fully faulted before the first frame. `id`
    /// names the pool in frame handles; the kernel gives each pool its own.
    pub fn create(spec: PoolSpec, id: u32) -> Result<Arc<Self>, PoolError> {
        let spec = spec.validated()?;
        let shm = IpcSharedMemory::from_byte(0, spec.region_bytes());
        Self::new(shm, spec, id, Side::Kernel, 1)
    }

    /// Map a region received from the kernel (child side). Pages are
    /// populated in the background so that a restart is not delayed by them.
    /// `first_seq` keeps this instance's lease sequences apart from earlier
    /// instances' (the kernel passes one derived from the generation).
    pub fn attach(
        shm: IpcSharedMemory,
        spec: PoolSpec,
        id: u32,
        first_seq: u64,
    ) -> Result<Arc<Self>, PoolError> {
        let spec = Self::checked(&shm, spec)?;
        let pool = Self::new(shm, spec, id, Side::Child, first_seq.max(1))?;
        pool.populate_in_background();
        Ok(pool)
    }

    /// Map another actor's pool, received from the kernel, to read the
    /// frames it lends from it (child side; nothing is ever allocated here).
    pub fn attach_foreign(
        shm: IpcSharedMemory,
        spec: PoolSpec,
        id: u32,
    ) -> Result<Arc<Self>, PoolError> {
        let spec = Self::checked(&shm, spec)?;
        Self::new(shm, spec, id, Side::Foreign, 1)
    }

    fn checked(shm: &IpcSharedMemory, spec: PoolSpec) -> Result<PoolSpec, PoolError> {
        let spec = spec.validated()?;
        if shm.len() != spec.region_bytes() {
            return Err(PoolError::RegionSize {
                actual: shm.len(),
                expected: spec.region_bytes(),
            });
        }
        Ok(spec)
    }

    fn new(
        mut shm: IpcSharedMemory,
        spec: PoolSpec,
        id: u32,
        side: Side,
        first_seq: u64,
    ) -> Result<Arc<Self>, PoolError> {
        // SAFETY: `shm` is not shared with anyone in this process yet; we take
        // the base pointer once and from then on only touch the bytes through
        // the slot discipline documented on `Region`.
        let bytes = unsafe { shm.deref_mut() };
        let len = bytes.len();
        let base = NonNull::new(bytes.as_mut_ptr())
            .ok_or_else(|| PoolError::Spec("empty shared-memory region".into()))?;
        let range = side.range(spec.slots);
        let state = State {
            own: vec![Own::Free; spec.slots as usize],
            free: range.rev().collect(),
            next_seq: first_seq,
            peer: HashMap::new(),
            epoch: 0,
        };
        Ok(Arc::new(SlotPool {
            id,
            region: Region {
                _shm: shm,
                base,
                len,
            },
            spec,
            side,
            state: Mutex::new(state),
            sink: Mutex::new(Sink::default()),
        }))
    }

    fn populate_in_background(self: &Arc<Self>) {
        let pool = Arc::clone(self);
        let spawned = std::thread::Builder::new()
            .name("warden-prefault".into())
            .spawn(move || {
                // In 2 MiB steps: each call holds the mm lock only briefly,
                // so the actor's own allocations never queue behind it.
                // Only this side's half: the child writes there. The kernel's
                // half is only read here and faults in (cheaply) when read;
                // every page mapped is also a page to unmap when the child dies.
                // Run only when nothing else wants the CPU: this must never
                // delay the child's start or its first calls.
                let param = libc::sched_param { sched_priority: 0 };
                // SAFETY: sched_setscheduler(0, …) changes only this thread's
                // policy; `param` is a valid sched_param for SCHED_IDLE.
                let _ = unsafe { libc::sched_setscheduler(0, libc::SCHED_IDLE, &param) };
                const STEP: usize = 2 << 20;
                let base = pool.region.base.as_ptr();
                let half = pool.spec.slot_bytes * pool.spec.slots as usize;
                let (mut offset, end) = match pool.side {
                    Side::Kernel => (0, half),
                    Side::Child => (half, 2 * half),
                    Side::Foreign => return,
                };
                while offset < end {
                    let len = STEP.min(end - offset);
                    // SAFETY: madvise only asks the kernel to map pages of our
                    // own mapping (`offset + len <= region.len`); it reads and
                    // writes no bytes.
                    let rc = unsafe {
                        libc::madvise(base.add(offset).cast(), len, libc::MADV_POPULATE_WRITE)
                    };
                    if rc != 0 {
                        tracing::debug!(
                            error = %std::io::Error::last_os_error(),
                            "MADV_POPULATE_WRITE unavailable; slots fault in on first use"
                        );
                        return;
                    }
                    offset += len;
                }
            });
        if let Err(err) = spawned {
            tracing::debug!(%err, "could not start the prefault thread");
        }
    }

    /// A new mapping of the same region, to send to the peer.
    pub fn region(&self) -> IpcSharedMemory {
        self.region._shm.clone()
    }

    /// The pool's id, as frame handles name it.
    pub fn id(&self) -> u32 {
        self.id
    }

    /// The pool's size.
    pub fn spec(&self) -> PoolSpec {
        self.spec
    }

    /// This side.
    pub fn side(&self) -> Side {
        self.side
    }

    /// Where releases of the peer's slots are sent; `None` while no peer is
    /// connected (releases then wait and go to the next sink set).
    pub fn set_sink(&self, to: Option<Arc<dyn ReleaseSink>>) {
        let mut sink = self.lock_sink();
        if let Some(to) = &to {
            for (slot, seq) in sink.pending.drain(..) {
                to.release(self.id, slot, seq);
            }
        }
        sink.to = to;
    }

    fn lock_sink(&self) -> MutexGuard<'_, Sink> {
        self.sink.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Slots of this side not free (leased, being written, or held by the peer).
    pub fn in_use(&self) -> usize {
        let state = self.lock();
        state
            .own
            .iter()
            .filter(|own| !matches!(own, Own::Free))
            .count()
    }

    /// Handles of the peer's half this side holds.
    pub fn peer_held(&self) -> usize {
        self.lock()
            .peer
            .values()
            .map(|(_, count)| *count as usize)
            .sum()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave `State` half-updated:
        // every update is a single assignment.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn own_index(&self, slot: u32) -> Option<usize> {
        let range = self.side.range(self.spec.slots);
        range.contains(&slot).then(|| (slot - range.start) as usize)
    }

    fn is_peer_slot(&self, slot: u32) -> bool {
        slot < 2 * self.spec.slots && self.own_index(slot).is_none()
    }

    /// Lease a slot of this side for writing `len` bytes.
    pub fn alloc(self: &Arc<Self>, len: usize) -> Result<FrameBuf, PoolError> {
        if len > self.spec.slot_bytes {
            return Err(PoolError::TooLarge {
                len,
                slot_bytes: self.spec.slot_bytes,
            });
        }
        let (slot, seq) = {
            let mut state = self.lock();
            let slot = state.free.pop().ok_or(PoolError::Exhausted {
                slots: self.spec.slots,
            })?;
            let seq = state.next_seq;
            state.next_seq += 1;
            let index = self
                .own_index(slot)
                .expect("invariant: free list holds own slots");
            state.own[index] = Own::Writing;
            (slot, seq)
        };
        Ok(FrameBuf::from_slot(SlotWriter {
            pool: Arc::clone(self),
            slot,
            seq,
            len,
            frozen: false,
        }))
    }

    /// Turn a frame into a handle for the peer. A slot of this pool crosses as
    /// is; anything else is copied into a fresh slot of this side first.
    pub fn export(self: &Arc<Self>, frame: &SharedFrame) -> Result<FrameHandle, PoolError> {
        if let Some(slot) = frame.slot().filter(|slot| Arc::ptr_eq(&slot.pool, self)) {
            if slot.own {
                let mut state = self.lock();
                let index = self
                    .own_index(slot.slot)
                    .expect("invariant: own lease on own slot");
                match &mut state.own[index] {
                    Own::Shared { seq, remote, .. } if *seq == slot.seq => *remote += 1,
                    other => unreachable!("invariant: a live own lease is Shared, found {other:?}"),
                }
            }
            return Ok(FrameHandle {
                pool: self.id,
                slot: slot.slot,
                seq: slot.seq,
                len: slot.len as u64,
            });
        }
        let mut buf = self.alloc(frame.len())?;
        buf.copy_from_slice(frame.as_slice());
        let copy = buf.freeze();
        self.export(&copy)
    }

    /// Which peer instance is current (it changes with [`SlotPool::peer_restarted`]).
    pub fn peer_epoch(&self) -> u64 {
        self.lock().epoch
    }

    /// [`SlotPool::import`] for a message of peer instance `epoch`: a late
    /// message of a replaced instance (its reader still draining) is
    /// refused, so that a frame it held is never released to its successor.
    pub fn import_from(
        self: &Arc<Self>,
        handle: FrameHandle,
        epoch: u64,
    ) -> Result<SharedFrame, PoolError> {
        self.import_checked(handle, Some(epoch))
    }

    /// Turn a handle received from the peer into a frame, checking it against
    /// the pool: a handle that does not match is the peer's fault.
    pub fn import(self: &Arc<Self>, handle: FrameHandle) -> Result<SharedFrame, PoolError> {
        self.import_checked(handle, None)
    }

    fn import_checked(
        self: &Arc<Self>,
        handle: FrameHandle,
        epoch: Option<u64>,
    ) -> Result<SharedFrame, PoolError> {
        if handle.pool != self.id {
            return Err(PoolError::BadHandle(format!(
                "a handle on pool {} reached pool {}",
                handle.pool, self.id
            )));
        }
        let len = usize::try_from(handle.len)
            .ok()
            .filter(|len| *len <= self.spec.slot_bytes)
            .ok_or_else(|| {
                PoolError::BadHandle(format!(
                    "length {} exceeds the slot size {}",
                    handle.len, self.spec.slot_bytes
                ))
            })?;
        let mut state = self.lock();
        if let Some(epoch) = epoch
            && epoch != state.epoch
        {
            return Err(PoolError::BadHandle(format!(
                "a handle from a replaced peer instance (epoch {epoch}, now {})",
                state.epoch
            )));
        }
        let own = if let Some(index) = self.own_index(handle.slot) {
            match &mut state.own[index] {
                Own::Shared { seq, local, .. } if *seq == handle.seq => *local += 1,
                other => {
                    return Err(PoolError::BadHandle(format!(
                        "slot {} seq {} is {other:?} on this side",
                        handle.slot, handle.seq
                    )));
                }
            }
            true
        } else if self.is_peer_slot(handle.slot) {
            let entry = state.peer.entry(handle.slot).or_insert((handle.seq, 0));
            if entry.0 != handle.seq {
                return Err(PoolError::BadHandle(format!(
                    "peer re-leased slot {} as seq {} while seq {} is still held here",
                    handle.slot, handle.seq, entry.0
                )));
            }
            entry.1 += 1;
            false
        } else {
            return Err(PoolError::BadHandle(format!(
                "slot {} is outside a pool of {} slots",
                handle.slot,
                2 * self.spec.slots
            )));
        };
        drop(state);
        Ok(SharedFrame::from_slot(SlotRef {
            pool: Arc::clone(self),
            slot: handle.slot,
            seq: handle.seq,
            len,
            own,
        }))
    }

    /// The peer released one handle of this side's `slot`/`seq`.
    pub fn release(&self, slot: u32, seq: u64) -> Result<(), PoolError> {
        let mut state = self.lock();
        let index = self.own_index(slot).ok_or_else(|| {
            PoolError::BadHandle(format!("release of slot {slot}, which is not ours"))
        })?;
        match state.own[index] {
            Own::Shared {
                seq: current,
                local,
                remote,
            } if current == seq && remote > 0 => {
                state.own[index] = if local == 0 && remote == 1 {
                    state.free.push(slot);
                    Own::Free
                } else {
                    Own::Shared {
                        seq,
                        local,
                        remote: remote - 1,
                    }
                };
                Ok(())
            }
            other => Err(PoolError::BadHandle(format!(
                "release of slot {slot} seq {seq}, which is {other:?}"
            ))),
        }
    }

    /// The peer instance is gone: forget what it held of this side, and
    /// stop sending releases until the next peer is connected.
    pub fn peer_restarted(&self) {
        let mut sink = self.lock_sink();
        sink.to = None;
        sink.pending.clear();
        let mut state = self.lock();
        state.epoch += 1;
        let State { own, free, .. } = &mut *state;
        let start = self.side.range(self.spec.slots).start;
        for (index, slot) in own.iter_mut().enumerate() {
            if let Own::Shared { seq, local, .. } = *slot {
                *slot = if local == 0 {
                    free.push(start + index as u32);
                    Own::Free
                } else {
                    Own::Shared {
                        seq,
                        local,
                        remote: 0,
                    }
                };
            }
        }
    }

    /// What this side holds of the peer's half, for the next peer to respect
    /// (see [`SlotPool::hold_for_peer`]). Releases made from now on are kept
    /// for the next sink; earlier ones are already reflected here.
    pub fn held_for_next_peer(&self) -> Vec<HeldSlot> {
        let mut sink = self.lock_sink();
        sink.to = None;
        sink.pending.clear();
        let state = self.lock();
        let mut held: Vec<HeldSlot> = state
            .peer
            .iter()
            .map(|(slot, (seq, count))| HeldSlot {
                slot: *slot,
                seq: *seq,
                count: *count,
            })
            .collect();
        held.sort_by_key(|held| held.slot);
        held
    }

    /// At start (child side): these slots of this side are still held by the
    /// kernel from an earlier instance; keep them until it releases them.
    pub fn hold_for_peer(&self, held: &[HeldSlot]) -> Result<(), PoolError> {
        let mut state = self.lock();
        for held in held {
            let index = self.own_index(held.slot).ok_or_else(|| {
                PoolError::BadHandle(format!("held slot {} is not on this side", held.slot))
            })?;
            state.own[index] = Own::Shared {
                seq: held.seq,
                local: 0,
                remote: held.count,
            };
            state.free.retain(|slot| *slot != held.slot);
            state.next_seq = state.next_seq.max(held.seq + 1);
        }
        Ok(())
    }

    fn drop_writer(&self, slot: u32) {
        let mut state = self.lock();
        let index = self.own_index(slot).expect("invariant: writer on own slot");
        state.own[index] = Own::Free;
        state.free.push(slot);
    }

    fn freeze_writer(&self, slot: u32, seq: u64) {
        let mut state = self.lock();
        let index = self.own_index(slot).expect("invariant: writer on own slot");
        state.own[index] = Own::Shared {
            seq,
            local: 1,
            remote: 0,
        };
    }

    fn drop_local(&self, slot: u32, seq: u64) {
        let mut state = self.lock();
        let index = self
            .own_index(slot)
            .expect("invariant: own lease on own slot");
        if let Own::Shared {
            seq: current,
            local,
            remote,
        } = state.own[index]
            && current == seq
            && local > 0
        {
            state.own[index] = if local == 1 && remote == 0 {
                state.free.push(slot);
                Own::Free
            } else {
                Own::Shared {
                    seq,
                    local: local - 1,
                    remote,
                }
            };
        }
    }

    fn drop_peer(&self, slot: u32, seq: u64) {
        let mut sink = self.lock_sink();
        {
            let mut state = self.lock();
            if let Some(entry) = state.peer.get_mut(&slot)
                && entry.0 == seq
            {
                entry.1 -= 1;
                if entry.1 == 0 {
                    state.peer.remove(&slot);
                }
            }
        }
        match &sink.to {
            Some(to) => to.release(self.id, slot, seq),
            None => sink.pending.push((slot, seq)),
        }
    }
}

/// The exclusive writer of a freshly allocated slot.
pub(crate) struct SlotWriter {
    pool: Arc<SlotPool>,
    slot: u32,
    seq: u64,
    len: usize,
    frozen: bool,
}

impl SlotWriter {
    pub(crate) fn as_slice(&self) -> &[u8] {
        let ptr = self
            .pool
            .region
            .slot_ptr(self.slot, self.pool.spec.slot_bytes);
        // SAFETY: the slot is in state Writing: no lease exists on either side,
        // so this writer is the only one touching these `len <= slot_bytes` bytes.
        unsafe { std::slice::from_raw_parts(ptr, self.len) }
    }

    pub(crate) fn as_mut_slice(&mut self) -> &mut [u8] {
        let ptr = self
            .pool
            .region
            .slot_ptr(self.slot, self.pool.spec.slot_bytes);
        // SAFETY: as in `as_slice`, and `&mut self` makes the borrow unique.
        unsafe { std::slice::from_raw_parts_mut(ptr, self.len) }
    }

    pub(crate) fn truncate(&mut self, len: usize) {
        self.len = self.len.min(len);
    }

    pub(crate) fn freeze(mut self) -> SlotRef {
        self.frozen = true;
        self.pool.freeze_writer(self.slot, self.seq);
        SlotRef {
            pool: Arc::clone(&self.pool),
            slot: self.slot,
            seq: self.seq,
            len: self.len,
            own: true,
        }
    }
}

impl Drop for SlotWriter {
    fn drop(&mut self) {
        if !self.frozen {
            self.pool.drop_writer(self.slot);
        }
    }
}

/// A read lease on a slot (of either half).
pub(crate) struct SlotRef {
    pub(crate) pool: Arc<SlotPool>,
    pub(crate) slot: u32,
    pub(crate) seq: u64,
    pub(crate) len: usize,
    pub(crate) own: bool,
}

impl SlotRef {
    pub(crate) fn as_slice(&self) -> &[u8] {
        let ptr = self
            .pool
            .region
            .slot_ptr(self.slot, self.pool.spec.slot_bytes);
        // SAFETY: a lease exists, so the allocator will not write this slot
        // until every lease (ours included) is released; `len` was checked
        // against the slot size when the lease was created.
        unsafe { std::slice::from_raw_parts(ptr, self.len) }
    }
}

impl Drop for SlotRef {
    fn drop(&mut self) {
        if self.own {
            self.pool.drop_local(self.slot, self.seq);
        } else {
            self.pool.drop_peer(self.slot, self.seq);
        }
    }
}

#[cfg(test)]
#[path = "pool_tests.rs"]
mod tests;

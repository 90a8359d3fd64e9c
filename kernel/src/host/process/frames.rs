//! Frames on the kernel's end of one child's link. A frame in the child's
//! own pool crosses as a handle on that pool; a frame in *another* actor's
//! pool (made by another child) is lent: the kernel sends the child that
//! pool's region once, then handles on it, and holds each lent frame until
//! the child releases it. A frame on the heap (made in-process) is copied
//! into a slot of the child's pool — the one copy, and only for it.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, PoisonError};

use ipc_channel::ipc::IpcSender;
use prometheus_client::metrics::counter::Counter;
use warden_transport::bootstrap::Wire;
use warden_transport::{FrameHandle, Lent, SharedFrame, SlotPool};

use crate::wire::{Frames, NO_POOL};

/// See the module documentation.
pub(crate) struct KernelFrames {
    pub(crate) pool: Option<Arc<SlotPool>>,
    pub(crate) lent: Lent,
    /// The child's setup channel, where other pools' regions go.
    setup: Mutex<IpcSender<Wire>>,
    regions_sent: Mutex<HashSet<u32>>,
    /// Frames copied into the pool (`warden_frame_copies_total`).
    copies: Counter,
    /// The pool's peer epoch of this child: handles are accepted from it only.
    epoch: u64,
}

impl KernelFrames {
    pub(crate) fn new(
        pool: Option<Arc<SlotPool>>,
        setup: IpcSender<Wire>,
        copies: Counter,
    ) -> Self {
        let epoch = pool.as_ref().map_or(0, |pool| pool.peer_epoch());
        KernelFrames {
            pool,
            epoch,
            lent: Lent::new(),
            setup: Mutex::new(setup),
            regions_sent: Mutex::new(HashSet::new()),
            copies,
        }
    }

    fn own(&self, id: u32) -> Option<&Arc<SlotPool>> {
        self.pool.as_ref().filter(|pool| pool.id() == id)
    }

    /// Make sure the child has mapped `pool` before a handle on it arrives.
    fn send_region(&self, pool: &SlotPool) -> Result<(), String> {
        let mut sent = self
            .regions_sent
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if sent.contains(&pool.id()) {
            return Ok(());
        }
        let spec = pool.spec();
        self.setup
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .send(Wire::Region {
                pool: pool.id(),
                slots: spec.slots,
                slot_bytes: spec.slot_bytes as u64,
                region: pool.region(),
            })
            .map_err(|err| format!("cannot send pool {} to the child: {err}", pool.id()))?;
        sent.insert(pool.id());
        Ok(())
    }
}

impl Frames for KernelFrames {
    fn export(&self, frame: &SharedFrame) -> Result<FrameHandle, String> {
        match frame.pool() {
            Some(pool) if self.own(pool.id()).is_some() => {
                pool.export(frame).map_err(|err| err.to_string())
            }
            Some(pool) => {
                self.send_region(pool)?;
                self.lent
                    .lend(frame)
                    .ok_or_else(|| "internal: a pool frame has no handle".to_string())
            }
            None => match &self.pool {
                Some(pool) => {
                    let handle = pool.export(frame).map_err(|err| err.to_string())?;
                    self.copies.inc();
                    Ok(handle)
                }
                None => Err(NO_POOL.to_string()),
            },
        }
    }

    fn import(&self, handle: FrameHandle) -> Result<SharedFrame, String> {
        match self.own(handle.pool) {
            Some(pool) => pool
                .import_from(handle, self.epoch)
                .map_err(|err| err.to_string()),
            None if self.pool.is_none() && self.lent.handles() == 0 => {
                Err(format!("a frame handle arrived but {NO_POOL}"))
            }
            None => self.lent.get(handle).map_err(|err| err.to_string()),
        }
    }
}

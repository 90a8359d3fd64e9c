//! Frames on a child's end of its link: its own pool (frames it makes, and
//! frames the kernel copied for it), and the pools of other actors whose
//! frames the kernel lends it. Such a pool's region arrives on the setup
//! channel before the first handle on it; it is mapped once and read in
//! place. Releases name the pool, so the kernel can pass them on.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use ipc_channel::ipc::IpcReceiver;
use warden_transport::bootstrap::{self, Wire};
use warden_transport::{FrameHandle, PoolSpec, ReleaseSink, SharedFrame, SlotPool};

use crate::wire::{Frames, NO_POOL};

/// How long a child waits for a region the kernel must already have sent.
const REGION_WAIT: Duration = Duration::from_secs(2);

/// See the module documentation.
pub(crate) struct ChildFrames {
    pub(crate) pool: Option<Arc<SlotPool>>,
    foreign: Mutex<HashMap<u32, Arc<SlotPool>>>,
    setup: Mutex<IpcReceiver<Wire>>,
    sink: Arc<dyn ReleaseSink>,
}

impl ChildFrames {
    pub(crate) fn new(
        pool: Option<Arc<SlotPool>>,
        setup: IpcReceiver<Wire>,
        sink: Arc<dyn ReleaseSink>,
    ) -> Self {
        ChildFrames {
            pool,
            foreign: Mutex::new(HashMap::new()),
            setup: Mutex::new(setup),
            sink,
        }
    }

    fn own(&self, id: u32) -> Option<&Arc<SlotPool>> {
        self.pool.as_ref().filter(|pool| pool.id() == id)
    }

    /// The mapping of foreign pool `id`, reading regions from the setup
    /// channel until it is there.
    fn foreign(&self, id: u32) -> Result<Arc<SlotPool>, String> {
        let mut foreign = self.foreign.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
            if let Some(pool) = foreign.get(&id) {
                return Ok(Arc::clone(pool));
            }
            let wire = bootstrap::recv_deadline(
                &self.setup.lock().unwrap_or_else(PoisonError::into_inner),
                REGION_WAIT,
            )
            .map_err(|err| format!("a handle on pool {id} arrived without its region: {err}"))?;
            let Wire::Region {
                pool,
                slots,
                slot_bytes,
                region,
            } = wire
            else {
                return Err("unexpected message on the setup channel".into());
            };
            let spec = PoolSpec {
                slots,
                slot_bytes: usize::try_from(slot_bytes)
                    .map_err(|_| format!("pool {pool}: slot size {slot_bytes} is too large"))?,
            };
            let mapped = SlotPool::attach_foreign(region, spec, pool)
                .map_err(|err| format!("cannot map pool {pool}: {err}"))?;
            mapped.set_sink(Some(Arc::clone(&self.sink)));
            foreign.insert(pool, mapped);
        }
    }
}

impl Frames for ChildFrames {
    fn export(&self, frame: &SharedFrame) -> Result<FrameHandle, String> {
        match frame.pool() {
            // A lent frame goes back as the same handle: the kernel holds it.
            Some(pool) if self.own(pool.id()).is_none() => frame
                .handle()
                .ok_or_else(|| "internal: a pool frame has no handle".to_string()),
            _ => match &self.pool {
                Some(pool) => pool.export(frame).map_err(|err| err.to_string()),
                None => Err(NO_POOL.to_string()),
            },
        }
    }

    fn import(&self, handle: FrameHandle) -> Result<SharedFrame, String> {
        match self.own(handle.pool) {
            Some(pool) => pool.import(handle).map_err(|err| err.to_string()),
            None if handle.pool == 0 => Err(format!("a frame handle arrived but {NO_POOL}")),
            None => self
                .foreign(handle.pool)?
                .import(handle)
                .map_err(|err| err.to_string()),
        }
    }
}

//! Payloads on a process link: frames become handles of the actor's
//! shared-memory pool on the way out and frames again on the way in. Used
//! by both ends (the kernel's process host and the child worker).

use std::sync::Arc;

use warden_transport::{Payload, SlotPool, WirePayload};

const NO_POOL: &str = "this actor has no shared-memory pool (set shm_slots and shm_slot_bytes)";

/// The wire form of `payload`. The caller keeps `payload` (and so its
/// frames) alive until the message is sent, so that a release of a frame
/// never overtakes the message that carries it.
pub(crate) fn export(
    pool: Option<&Arc<SlotPool>>,
    payload: &Payload,
) -> Result<WirePayload, String> {
    let frames = payload
        .frames
        .iter()
        .map(|frame| match pool {
            Some(pool) => pool.export(frame).map_err(|err| err.to_string()),
            None => Err(NO_POOL.to_string()),
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(WirePayload {
        data: payload.data.clone(),
        frames,
    })
}

/// The payload a wire form stands for; a handle that does not match the
/// pool is the sender's fault.
pub(crate) fn import(pool: Option<&Arc<SlotPool>>, wire: WirePayload) -> Result<Payload, String> {
    let frames = wire
        .frames
        .into_iter()
        .map(|handle| match pool {
            Some(pool) => pool.import(handle).map_err(|err| err.to_string()),
            None => Err(format!("a frame handle arrived but {NO_POOL}")),
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Payload {
        data: wire.data,
        frames,
    })
}

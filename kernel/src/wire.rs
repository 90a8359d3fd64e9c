//! Payloads on a process link: frames become handles on the way out and
//! frames again on the way in. Each end decides what a frame is on its side
//! ([`Frames`]): the kernel's end of a child's link (`host/process/frames.rs`)
//! and the child's end (`worker/frames.rs`).

use warden_transport::{FrameHandle, Payload, SharedFrame, WirePayload};

/// What a frame handle means on one end of one link.
pub(crate) trait Frames {
    /// The handle that carries `frame` to the peer.
    fn export(&self, frame: &SharedFrame) -> Result<FrameHandle, String>;
    /// The frame a handle from the peer stands for; a handle that does not
    /// match is the peer's fault.
    fn import(&self, handle: FrameHandle) -> Result<SharedFrame, String>;
}

/// The refusal when an actor without a pool must send or receive a frame.
pub(crate) const NO_POOL: &str =
    "this actor has no shared-memory pool (set shm_slots and shm_slot_bytes)";

/// The wire form of `payload`. The caller keeps `payload` (and so its
/// frames) alive until the message is sent, so that a release of a frame
/// never overtakes the message that carries it.
pub(crate) fn export(frames: &dyn Frames, payload: &Payload) -> Result<WirePayload, String> {
    let handles = payload
        .frames
        .iter()
        .map(|frame| frames.export(frame))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(WirePayload {
        data: payload.data.clone(),
        frames: handles,
    })
}

/// The payload a wire form stands for.
pub(crate) fn import(frames: &dyn Frames, wire: WirePayload) -> Result<Payload, String> {
    let imported = wire
        .frames
        .into_iter()
        .map(|handle| frames.import(handle))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Payload {
        data: wire.data,
        frames: imported,
    })
}

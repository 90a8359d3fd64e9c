//! `SharedFrame`: one type for a large immutable buffer (an RGBA frame, FFT
//! bins). In-process it is an `Arc`; across a process boundary it is a slot
//! of the actor's pre-faulted shared-memory pool and crosses as a small
//! handle. Application code never sees which.
//!
//! Values are encoded with [`crate::encode_value`], which collects the frames
//! a value refers to instead of copying their bytes into the message.

use std::cell::RefCell;
use std::fmt;
use std::ops::{Deref, DerefMut};
use std::sync::Arc;

use serde::de::Error as _;
use serde::ser::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::pool::{SlotRef, SlotWriter};

/// An immutable, cheaply cloneable large buffer.
#[derive(Clone)]
pub struct SharedFrame {
    inner: Inner,
}

#[derive(Clone)]
enum Inner {
    Heap(Arc<Vec<u8>>),
    Slot(Arc<SlotRef>),
}

impl SharedFrame {
    /// Wrap bytes already in memory (no copy).
    pub fn from_vec(bytes: Vec<u8>) -> Self {
        SharedFrame {
            inner: Inner::Heap(Arc::new(bytes)),
        }
    }

    /// Copy bytes into a new heap frame.
    pub fn copy_from_slice(bytes: &[u8]) -> Self {
        Self::from_vec(bytes.to_vec())
    }

    /// The bytes.
    pub fn as_slice(&self) -> &[u8] {
        match &self.inner {
            Inner::Heap(bytes) => bytes,
            Inner::Slot(slot) => slot.as_slice(),
        }
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.as_slice().len()
    }

    /// Whether the frame is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether the bytes live in a shared-memory slot (diagnostics only).
    pub fn in_shared_memory(&self) -> bool {
        matches!(self.inner, Inner::Slot(_))
    }

    /// The handle that names this frame's slot, if it lives in a pool.
    pub fn handle(&self) -> Option<crate::FrameHandle> {
        self.slot().map(|slot| crate::FrameHandle {
            pool: slot.pool.id(),
            slot: slot.slot,
            seq: slot.seq,
            len: slot.len as u64,
        })
    }

    /// The pool this frame's slot belongs to, if it lives in one.
    pub fn pool(&self) -> Option<&Arc<crate::SlotPool>> {
        self.slot().map(|slot| &slot.pool)
    }

    pub(crate) fn from_slot(slot: SlotRef) -> Self {
        SharedFrame {
            inner: Inner::Slot(Arc::new(slot)),
        }
    }

    pub(crate) fn slot(&self) -> Option<&SlotRef> {
        match &self.inner {
            Inner::Slot(slot) => Some(slot),
            Inner::Heap(_) => None,
        }
    }
}

impl Deref for SharedFrame {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        self.as_slice()
    }
}

impl AsRef<[u8]> for SharedFrame {
    fn as_ref(&self) -> &[u8] {
        self.as_slice()
    }
}

impl PartialEq for SharedFrame {
    fn eq(&self, other: &Self) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl fmt::Debug for SharedFrame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SharedFrame")
            .field("len", &self.len())
            .field("shared_memory", &self.in_shared_memory())
            .finish()
    }
}

/// A writable buffer that becomes a [`SharedFrame`] once filled. Allocated
/// on the heap or from a slot pool (see `Ctx::buffer` in the kernel).
pub struct FrameBuf {
    inner: BufInner,
}

enum BufInner {
    Heap(Vec<u8>),
    Slot(SlotWriter),
}

impl FrameBuf {
    /// A zeroed heap buffer of `len` bytes.
    pub fn heap(len: usize) -> Self {
        FrameBuf {
            inner: BufInner::Heap(vec![0; len]),
        }
    }

    pub(crate) fn from_slot(writer: SlotWriter) -> Self {
        FrameBuf {
            inner: BufInner::Slot(writer),
        }
    }

    /// Shorten the buffer to `len` bytes (no effect if already shorter).
    pub fn truncate(&mut self, len: usize) {
        match &mut self.inner {
            BufInner::Heap(bytes) => bytes.truncate(len),
            BufInner::Slot(writer) => writer.truncate(len),
        }
    }

    /// Whether the bytes live in a shared-memory slot.
    pub fn in_shared_memory(&self) -> bool {
        matches!(self.inner, BufInner::Slot(_))
    }

    /// Seal the buffer: it becomes immutable and shareable.
    pub fn freeze(self) -> SharedFrame {
        match self.inner {
            BufInner::Heap(bytes) => SharedFrame::from_vec(bytes),
            BufInner::Slot(writer) => SharedFrame::from_slot(writer.freeze()),
        }
    }
}

impl Deref for FrameBuf {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match &self.inner {
            BufInner::Heap(bytes) => bytes,
            BufInner::Slot(writer) => writer.as_slice(),
        }
    }
}

impl DerefMut for FrameBuf {
    fn deref_mut(&mut self) -> &mut [u8] {
        match &mut self.inner {
            BufInner::Heap(bytes) => bytes,
            BufInner::Slot(writer) => writer.as_mut_slice(),
        }
    }
}

impl fmt::Debug for FrameBuf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FrameBuf")
            .field("len", &self.len())
            .field("shared_memory", &self.in_shared_memory())
            .finish()
    }
}

thread_local! {
    static OUTGOING: RefCell<Option<Vec<SharedFrame>>> = const { RefCell::new(None) };
    static INCOMING: RefCell<Option<Vec<Option<SharedFrame>>>> = const { RefCell::new(None) };
}

/// Run `encode` while collecting every `SharedFrame` it serializes.
pub(crate) fn collecting<R>(encode: impl FnOnce() -> R) -> (R, Vec<SharedFrame>) {
    let previous = OUTGOING.with(|cell| cell.replace(Some(Vec::new())));
    let result = encode();
    let frames = OUTGOING
        .with(|cell| cell.replace(previous))
        .unwrap_or_default();
    (result, frames)
}

/// Run `decode` with `frames` available to the `SharedFrame`s it deserializes;
/// returns how many frames were left unreferenced.
pub(crate) fn providing<R>(frames: Vec<SharedFrame>, decode: impl FnOnce() -> R) -> (R, usize) {
    let slots = frames.into_iter().map(Some).collect();
    let previous = INCOMING.with(|cell| cell.replace(Some(slots)));
    let result = decode();
    let left = INCOMING
        .with(|cell| cell.replace(previous))
        .map_or(0, |slots| {
            slots.iter().filter(|slot| slot.is_some()).count()
        });
    (result, left)
}

impl Serialize for SharedFrame {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let index = OUTGOING.with(|cell| {
            cell.borrow_mut().as_mut().map(|list| {
                list.push(self.clone());
                list.len() - 1
            })
        });
        match index {
            Some(index) => {
                serializer.serialize_u32(u32::try_from(index).map_err(S::Error::custom)?)
            }
            None => Err(S::Error::custom(
                "a SharedFrame can only be serialized through warden_transport::encode_value",
            )),
        }
    }
}

impl<'de> Deserialize<'de> for SharedFrame {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let index = u32::deserialize(deserializer)?;
        INCOMING
            .with(|cell| {
                cell.borrow_mut()
                    .as_mut()
                    .and_then(|slots| slots.get_mut(index as usize))
                    .and_then(Option::take)
            })
            .ok_or_else(|| {
                D::Error::custom(format!(
                    "frame reference {index} is missing or referenced twice"
                ))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::{decode_value, encode_value};

    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    struct Picture {
        name: String,
        pixels: SharedFrame,
        thumb: SharedFrame,
    }

    #[test]
    fn frames_travel_beside_the_value_not_inside_it() {
        let pixels = SharedFrame::from_vec(vec![9; 1 << 20]);
        let picture = Picture {
            name: "a".into(),
            pixels: pixels.clone(),
            thumb: SharedFrame::from_vec(vec![1, 2, 3]),
        };
        let payload = encode_value(&picture).unwrap();
        assert!(payload.data.len() < 64, "bytes were copied inline");
        assert_eq!(payload.frames.len(), 2);
        let back: Picture = decode_value(payload).unwrap();
        assert_eq!(back, picture);
        // In-process the frame is the same allocation, not a copy.
        assert_eq!(back.pixels.as_ptr(), pixels.as_ptr());
    }

    #[test]
    fn a_missing_frame_is_an_error() {
        let mut payload = encode_value(&SharedFrame::from_vec(vec![1])).unwrap();
        payload.frames.clear();
        assert!(decode_value::<SharedFrame>(payload).is_err());
    }

    #[test]
    fn an_unreferenced_frame_is_an_error() {
        let mut payload = encode_value(&5u32).unwrap();
        payload.frames.push(SharedFrame::from_vec(vec![1]));
        assert!(decode_value::<u32>(payload).is_err());
    }

    #[test]
    fn serializing_outside_the_codec_is_an_error_not_a_panic() {
        let frame = SharedFrame::from_vec(vec![1]);
        assert!(bincode::serde::encode_to_vec(&frame, bincode::config::standard()).is_err());
    }
}

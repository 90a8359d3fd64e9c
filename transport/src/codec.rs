//! The bincode 2 codec: envelopes on the wire and application values inside
//! them, both with a hard size limit, and typed errors for anything malformed.
//!
//! Nothing larger than [`MAX_MESSAGE_BYTES`] ever travels inline: ipc-channel
//! fragments bigger sends, and a fragmented send never returns if the receiver
//! dies mid-transfer. Large data goes through a [`crate::SlotPool`] instead.

use bincode::config::{Configuration, Limit, LittleEndian, Varint};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::envelope::Envelope;
use crate::frame::{self, SharedFrame};

/// The largest encoded envelope the transport sends or accepts (64 KiB), far
/// below the ~212 KB at which ipc-channel starts fragmenting a message.
pub const MAX_MESSAGE_BYTES: usize = 64 * 1024;

/// The largest encoded application value; the rest of a message is headroom
/// for the envelope around it.
pub const MAX_PAYLOAD_BYTES: usize = MAX_MESSAGE_BYTES - 1024;

/// The most shared frames one value may refer to.
pub const MAX_FRAMES_PER_MESSAGE: usize = 64;

type Config = Configuration<LittleEndian, Varint, Limit<MAX_MESSAGE_BYTES>>;

const CONFIG: Config = bincode::config::standard().with_limit::<MAX_MESSAGE_BYTES>();

/// What can go wrong encoding or decoding.
#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    /// The encoded form is larger than the inline limit.
    #[error(
        "message of {size} bytes exceeds the inline limit of {limit} bytes; put large data in a SharedFrame"
    )]
    TooLarge {
        /// Encoded size.
        size: usize,
        /// The limit it broke.
        limit: usize,
    },
    /// A value refers to more shared frames than one message may carry.
    #[error("message refers to {count} shared frames; at most {limit} are allowed")]
    TooManyFrames {
        /// Frames referenced.
        count: usize,
        /// The limit.
        limit: usize,
    },
    /// Encoding failed (an unsupported serde construct, say).
    #[error("cannot encode: {0}")]
    Encode(String),
    /// The bytes are not a valid message.
    #[error("malformed message: {0}")]
    Malformed(String),
    /// The bytes decode but leave bytes unread.
    #[error("malformed message: {extra} trailing bytes after a {used}-byte message")]
    Trailing {
        /// Bytes decoded.
        used: usize,
        /// Bytes left over.
        extra: usize,
    },
}

/// Encode an envelope for the wire.
pub fn encode_envelope(envelope: &Envelope) -> Result<Vec<u8>, CodecError> {
    let bytes = bincode::encode_to_vec(envelope, CONFIG).map_err(|err| match err {
        bincode::error::EncodeError::Other(msg) => CodecError::Encode(msg.to_string()),
        other => CodecError::Encode(other.to_string()),
    })?;
    check_size(bytes.len(), MAX_MESSAGE_BYTES)?;
    Ok(bytes)
}

/// Decode an envelope received from the wire; any defect is an error, never a panic.
pub fn decode_envelope(bytes: &[u8]) -> Result<Envelope, CodecError> {
    check_size(bytes.len(), MAX_MESSAGE_BYTES)?;
    let (envelope, used): (Envelope, usize) = bincode::decode_from_slice(bytes, CONFIG)
        .map_err(|err| CodecError::Malformed(err.to_string()))?;
    if used != bytes.len() {
        return Err(CodecError::Trailing {
            used,
            extra: bytes.len() - used,
        });
    }
    Ok(envelope)
}

/// An application value in encoded form, with the frames it refers to.
/// In-process it moves as is (frames stay `Arc`s); across a process boundary
/// the frames become slot handles.
#[derive(Clone, Debug, Default)]
pub struct Payload {
    /// The bincode encoding of the value.
    pub data: Vec<u8>,
    /// Shared frames referenced from `data` by index.
    pub frames: Vec<SharedFrame>,
}

/// Encode an application value. `SharedFrame`s inside it are collected, not copied.
pub fn encode_value<T: Serialize + ?Sized>(value: &T) -> Result<Payload, CodecError> {
    let (result, frames) = frame::collecting(|| bincode::serde::encode_to_vec(value, CONFIG));
    let data = result.map_err(|err| CodecError::Encode(err.to_string()))?;
    check_size(data.len(), MAX_PAYLOAD_BYTES)?;
    if frames.len() > MAX_FRAMES_PER_MESSAGE {
        return Err(CodecError::TooManyFrames {
            count: frames.len(),
            limit: MAX_FRAMES_PER_MESSAGE,
        });
    }
    Ok(Payload { data, frames })
}

/// Decode an application value, resolving its frame references.
pub fn decode_value<T: DeserializeOwned>(payload: Payload) -> Result<T, CodecError> {
    check_size(payload.data.len(), MAX_PAYLOAD_BYTES)?;
    let data = payload.data;
    let (result, unused) = frame::providing(payload.frames, || {
        bincode::serde::decode_from_slice::<T, _>(&data, CONFIG)
    });
    let (value, used) = result.map_err(|err| CodecError::Malformed(err.to_string()))?;
    if used != data.len() {
        return Err(CodecError::Trailing {
            used,
            extra: data.len() - used,
        });
    }
    if unused > 0 {
        return Err(CodecError::Malformed(format!(
            "{unused} attached frames were not referenced by the value"
        )));
    }
    Ok(value)
}

fn check_size(size: usize, limit: usize) -> Result<(), CodecError> {
    if size > limit {
        return Err(CodecError::TooLarge { size, limit });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::envelope::{Body, Outcome, WirePayload};
    use proptest::prelude::*;

    fn envelope(body: Body) -> Envelope {
        Envelope {
            seq: 7,
            sender: "probe".into(),
            span: 42,
            credit: 1000,
            body,
        }
    }

    #[test]
    fn envelope_round_trips() {
        let env = envelope(Body::Reply {
            id: 3,
            outcome: Outcome::Ok(WirePayload {
                data: vec![1, 2, 3],
                frames: vec![],
            }),
        });
        let bytes = encode_envelope(&env).unwrap();
        assert_eq!(decode_envelope(&bytes).unwrap(), env);
    }

    #[test]
    fn oversize_envelope_is_refused_on_encode() {
        let env = envelope(Body::Tell {
            payload: WirePayload {
                data: vec![0; 300 * 1024],
                frames: vec![],
            },
        });
        match encode_envelope(&env) {
            Err(CodecError::TooLarge { size, limit }) => {
                assert!(size > 300 * 1024);
                assert_eq!(limit, MAX_MESSAGE_BYTES);
            }
            other => panic!("expected TooLarge, got {other:?}"),
        }
    }

    #[test]
    fn oversize_value_is_refused_with_advice() {
        let err = encode_value(&vec![7u8; 100 * 1024]).unwrap_err();
        assert!(err.to_string().contains("SharedFrame"), "{err}");
    }

    #[test]
    fn length_prefix_claiming_gigabytes_is_malformed_not_an_allocation() {
        // A Tell whose payload claims 2^40 bytes: varint 0xFD + u64.
        let mut bytes = encode_envelope(&envelope(Body::Credit)).unwrap();
        bytes.truncate(bytes.len() - 1);
        bytes.push(1); // variant index of Tell
        bytes.push(0xFD);
        bytes.extend_from_slice(&(1u64 << 40).to_le_bytes());
        assert!(matches!(
            decode_envelope(&bytes),
            Err(CodecError::Malformed(_))
        ));
    }

    #[test]
    fn trailing_bytes_are_an_error() {
        let mut bytes = encode_envelope(&envelope(Body::Ready)).unwrap();
        bytes.push(0);
        assert!(matches!(
            decode_envelope(&bytes),
            Err(CodecError::Trailing { extra: 1, .. })
        ));
    }

    #[test]
    fn values_round_trip() {
        let value = (String::from("echo"), 12u64, vec![1.5f32, -2.0]);
        let payload = encode_value(&value).unwrap();
        assert!(payload.frames.is_empty());
        let back: (String, u64, Vec<f32>) = decode_value(payload).unwrap();
        assert_eq!(back, value);
    }

    proptest! {
        #[test]
        fn garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = decode_envelope(&bytes);
        }

        #[test]
        fn truncation_is_always_an_error(id in any::<u64>(), data in proptest::collection::vec(any::<u8>(), 0..256), cut in 1usize..64) {
            let env = envelope(Body::Call { id, payload: WirePayload { data, frames: vec![] } });
            let bytes = encode_envelope(&env).unwrap();
            let cut = cut.min(bytes.len());
            prop_assert!(decode_envelope(&bytes[..bytes.len() - cut]).is_err());
        }

        #[test]
        fn envelopes_round_trip(seq in any::<u64>(), credit in any::<u64>(), n in any::<u64>(), sender in "[a-z_]{0,16}") {
            let env = Envelope { seq, sender, span: n, credit, body: Body::Heartbeat { n } };
            let bytes = encode_envelope(&env).unwrap();
            prop_assert_eq!(decode_envelope(&bytes).unwrap(), env);
        }
    }
}

//! Envelopes, codec, ipc-channel bootstrap, shared-memory buffers and heartbeats for Warden.

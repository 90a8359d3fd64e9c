//! The authoritative scene store: versions, reducers, history, redb durability, client protocol.

//! The kernel's monotonic clock: microseconds since the kernel module was
//! first used, cheap to store in atomics.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

static EPOCH: OnceLock<Instant> = OnceLock::new();

/// The clock's zero.
pub(crate) fn epoch() -> Instant {
    *EPOCH.get_or_init(Instant::now)
}

/// Microseconds since the epoch.
pub(crate) fn now_us() -> u64 {
    epoch().elapsed().as_micros() as u64
}

/// The instant `us` microseconds after the epoch.
pub(crate) fn at_us(us: u64) -> Instant {
    epoch() + Duration::from_micros(us)
}

/// Wall-clock milliseconds since the Unix epoch (for events shown to people).
pub(crate) fn unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

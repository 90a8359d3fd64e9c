//! Telling actor panics from kernel panics. Actor code runs inside
//! [`guarded`]; the binary's panic hook calls [`record`], which counts the
//! panic as a kernel fault only when it happened outside actor code. The
//! restart drill reports that count as kernel crashes.

use std::cell::Cell;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicU64, Ordering};

thread_local! {
    static IN_ACTOR: Cell<bool> = const { Cell::new(false) };
}

static OUTSIDE_ACTORS: AtomicU64 = AtomicU64::new(0);

/// Run actor code with panics caught and attributed to the actor.
pub(crate) fn guarded<R>(f: impl FnOnce() -> R) -> std::thread::Result<R> {
    let was = IN_ACTOR.with(|flag| flag.replace(true));
    let result = catch_unwind(AssertUnwindSafe(f));
    IN_ACTOR.with(|flag| flag.set(was));
    result
}

/// Note a panic (call from the panic hook); returns whether it was the kernel's.
pub fn record() -> bool {
    let in_actor = IN_ACTOR.with(Cell::get);
    if !in_actor {
        OUTSIDE_ACTORS.fetch_add(1, Ordering::Relaxed);
    }
    !in_actor
}

/// Panics recorded outside actor code in this process.
pub fn outside_actors() -> u64 {
    OUTSIDE_ACTORS.load(Ordering::Relaxed)
}

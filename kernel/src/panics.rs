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

/// Run actor code with panics caught and attributed to the actor (the
/// hosts do this around every call into an actor; an actor's own threads
/// do it around their work).
pub fn guarded<R>(f: impl FnOnce() -> R) -> std::thread::Result<R> {
    let was = IN_ACTOR.with(|flag| flag.replace(true));
    let result = catch_unwind(AssertUnwindSafe(f));
    IN_ACTOR.with(|flag| flag.set(was));
    result
}

/// A panic's message (its payload when that is a string).
pub fn message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(text) = payload.downcast_ref::<&str>() {
        (*text).to_string()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        "panic with a non-string payload".to_string()
    }
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

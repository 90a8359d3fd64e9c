//! Containing panics of third-party code (the decoders behind `image`, the
//! SIMD resizer): the call runs under `catch_unwind`, and while it runs this
//! thread is marked, so a process-wide panic hook can stay quiet about a
//! panic that is about to become an ordinary error
//! ([`panic_is_contained`]).

use std::cell::Cell;
use std::panic::{AssertUnwindSafe, catch_unwind};

thread_local! {
    static CONTAINING: Cell<u32> = const { Cell::new(0) };
}

/// True on a thread that is running decoder or resizer code whose panic
/// this crate catches and returns as an error. A panic hook that sees this
/// need not report the panic: the caller gets it as a typed error.
pub fn panic_is_contained() -> bool {
    CONTAINING.with(|c| c.get() > 0)
}

/// Runs `f`; a panic in it comes back as `Err(message)`.
pub(crate) fn contain<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    CONTAINING.with(|c| c.set(c.get() + 1));
    let result = catch_unwind(AssertUnwindSafe(f));
    CONTAINING.with(|c| c.set(c.get().saturating_sub(1)));
    result.map_err(|panic| {
        panic
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "panic without a message".to_owned())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_its_message_and_the_mark_is_cleared() {
        let quiet = std::panic::take_hook();
        std::panic::set_hook(Box::new(|_| {}));
        let seen = contain(|| {
            assert!(panic_is_contained());
            panic!("bad huffman table")
        });
        std::panic::set_hook(quiet);
        assert_eq!(seen, Err::<(), _>("bad huffman table".to_owned()));
        assert!(!panic_is_contained());
        assert_eq!(contain(|| 7), Ok(7));
    }
}

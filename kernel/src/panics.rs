//! Telling actor panics from kernel panics. Actor code runs inside
//! [`guarded`]; the binary's panic hook calls [`record`], which counts the
//! panic as a kernel fault only when it happened outside actor code. The
//! restart drill reports that count as kernel crashes.

use std::backtrace::{Backtrace, BacktraceStatus};
use std::cell::Cell;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

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

static BACKTRACES: AtomicBool = AtomicBool::new(true);

/// Backtraces being symbolised off their actor's thread.
static PENDING: std::sync::Mutex<Vec<std::thread::JoinHandle<()>>> =
    std::sync::Mutex::new(Vec::new());

/// Wait (up to `within`) for the backtraces still being symbolised to be
/// logged: a child calls it before it exits, after it has told the kernel.
pub fn flush_backtraces(within: std::time::Duration) {
    let deadline = std::time::Instant::now() + within;
    let pending = std::mem::take(
        &mut *PENDING
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner),
    );
    for thread in pending {
        while !thread.is_finished() && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        if thread.is_finished() {
            let _ = thread.join();
        }
    }
}

/// Stop capturing backtraces in this process (drills and benchmarks panic
/// on purpose).
pub fn quiet_backtraces() {
    BACKTRACES.store(false, Ordering::Relaxed);
}

/// The panic hook of a process that hosts actors: each panic is logged
/// once, as the kernel's or an actor's ([`record`]), with a backtrace when
/// `RUST_BACKTRACE` asks for one. An actor's backtrace is symbolised and
/// logged on a thread of its own: symbolising takes hundreds of
/// milliseconds in a large binary, and on the actor's thread that time
/// would be a silence long enough to be killed as hung (and its call
/// answered `Restarting` instead of with the panic). `skip`: a panic that
/// its code is about to return as an error (logged there, in one line).
pub fn install_hook(skip: fn() -> bool) {
    std::panic::set_hook(Box::new(move |info| {
        if skip() {
            return;
        }
        let message = message(info.payload());
        let location = info
            .location()
            .map(|l| format!("{}:{}", l.file(), l.line()))
            .unwrap_or_default();
        let kernel = record();
        let whose = if kernel { "kernel" } else { "actor" };
        let backtrace = if BACKTRACES.load(Ordering::Relaxed) {
            Backtrace::capture()
        } else {
            Backtrace::disabled()
        };
        if backtrace.status() != BacktraceStatus::Captured {
            log_panic(whose, &message, &location, None);
        } else if kernel {
            log_panic(whose, &message, &location, Some(&backtrace));
        } else {
            log_panic(whose, &message, &location, None);
            if let Ok(thread) = std::thread::Builder::new()
                .name("warden-backtrace".into())
                .spawn(move || log_panic(whose, &message, &location, Some(&backtrace)))
            {
                PENDING
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .push(thread);
            }
        }
    }));
}

fn log_panic(whose: &str, message: &str, location: &str, backtrace: Option<&Backtrace>) {
    if !tracing::dispatcher::has_been_set() {
        match backtrace {
            Some(backtrace) => eprintln!("{whose} panic at {location}: {message}\n{backtrace}"),
            None => eprintln!("{whose} panic at {location}: {message}"),
        }
        return;
    }
    match backtrace {
        Some(backtrace) => {
            tracing::error!(%location, %backtrace, "{whose} panic (backtrace): {message}")
        }
        None => tracing::error!(%location, "{whose} panic: {message}"),
    }
}

/// Panics recorded outside actor code in this process.
pub fn outside_actors() -> u64 {
    OUTSIDE_ACTORS.load(Ordering::Relaxed)
}

//! Installs the one `tracing` subscriber of the process (human text or JSON
//! lines on stderr, filtered by `RUST_LOG`, default `info`) and a panic hook
//! that reports panics through it, inside the span of the actor that
//! panicked. Backtraces only when `RUST_BACKTRACE` asks for them.

use std::backtrace::{Backtrace, BacktraceStatus};
use std::sync::atomic::{AtomicBool, Ordering};

use tracing_subscriber::EnvFilter;

static BACKTRACES: AtomicBool = AtomicBool::new(true);

/// Stop capturing backtraces in this process (drills and benchmarks panic
/// on purpose; symbolising a backtrace costs hundreds of milliseconds).
pub(crate) fn quiet_backtraces() {
    BACKTRACES.store(false, Ordering::Relaxed);
}

/// Install the global subscriber and panic hook. Only the binary does this.
pub(crate) fn install(json: bool) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    // A second install (never expected) is ignored rather than fatal.
    let _ = if json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
    std::panic::set_hook(Box::new(|info| {
        let message = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| (*s).to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "panic with a non-string payload".to_string());
        let location = info
            .location()
            .map(|l| format!("{}:{}", l.file(), l.line()))
            .unwrap_or_default();
        let whose = if warden_kernel::panics::record() {
            "kernel"
        } else {
            "actor"
        };
        let backtrace = if BACKTRACES.load(Ordering::Relaxed) {
            Backtrace::capture()
        } else {
            Backtrace::disabled()
        };
        if backtrace.status() == BacktraceStatus::Captured {
            tracing::error!(%location, %backtrace, "{whose} panic: {message}");
        } else {
            tracing::error!(%location, "{whose} panic: {message}");
        }
    }));
}

//! Installs the one `tracing` subscriber of the process: human text or JSON
//! lines on stderr, filtered by `RUST_LOG` (default `info`).

use tracing_subscriber::EnvFilter;

/// Install the global subscriber. Only the binary does this; libraries only emit.
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
}

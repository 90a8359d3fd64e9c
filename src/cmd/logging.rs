//! Installs the one `tracing` subscriber of the process (human text or JSON
//! lines on stderr, filtered by `RUST_LOG`, default `info`, the NATS client's connection chatter at `warn`) and a panic hook
//! that reports panics through it, inside the span of the actor that
//! panicked. Backtraces only when `RUST_BACKTRACE` asks for them.

use tracing_subscriber::EnvFilter;

/// Stop capturing backtraces in this process (drills and benchmarks panic
/// on purpose; symbolising a backtrace costs hundreds of milliseconds).
pub(crate) fn quiet_backtraces() {
    warden_kernel::panics::quiet_backtraces();
}

/// Install the global subscriber and panic hook. Only the binary does this.
pub(crate) fn install(json: bool) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,async_nats=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    // A second install (never expected) is ignored rather than fatal.
    let _ = if json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
    // A decoder or resizer panic that warden-image is about to return as
    // an error: the caller reports it, in one line.
    warden_kernel::panics::install_hook(warden_image::panic_is_contained);
}

/// An error and its causes on one line, `outer: cause: root`. A cause whose
/// text an outer message already quotes (many libraries print their source
/// inside their own message) is not repeated.
pub(crate) fn one_line(err: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in err.chain() {
        let text = cause.to_string();
        if text.is_empty() || line.contains(&text) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&text);
    }
    line
}

#[cfg(test)]
mod tests {
    use super::one_line;

    /// An error that quotes its source in its own message, as many do.
    #[derive(Debug)]
    struct Quoting(std::io::Error);

    impl std::fmt::Display for Quoting {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "frame.png: cannot decode image: {}", self.0)
        }
    }

    impl std::error::Error for Quoting {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.0)
        }
    }

    #[test]
    fn causes_are_joined_once() {
        let quoting = Quoting(std::io::Error::other("bad signature"));
        let err = anyhow::Error::new(quoting).context("loading --from");
        assert_eq!(
            one_line(&err),
            "loading --from: frame.png: cannot decode image: bad signature"
        );
        let plain = anyhow::Error::new(std::io::Error::other("gone")).context("reading x");
        assert_eq!(one_line(&plain), "reading x: gone");
    }
}

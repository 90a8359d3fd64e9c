//! The typed error of the feed mirror: what was wrong and where (the URL, the
//! HTTP status, the parser's message, the file), one self-contained line each.

use std::path::PathBuf;

/// Why a feed or one of its images could not be fetched, parsed or mirrored.
///
/// `Clone` and comparable so that [`crate::feed::FeedState`] can hold the last
/// one and a caller can branch on the cause (an HTTP status, a refusal).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FeedError {
    /// The URL does not parse, or is not `http`/`https`.
    #[error("{url:?} is not a usable http(s) URL: {reason}")]
    BadUrl {
        /// The URL as given (after resolving against the feed URL).
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A configuration value is out of range.
    #[error("feed config: {field} {reason}")]
    BadConfig {
        /// The field of [`crate::feed::FeedConfig`].
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// The request failed below HTTP: DNS, connect, TLS, timeout, reset.
    #[error("GET {url} failed: {message}")]
    Fetch {
        /// The URL requested.
        url: String,
        /// The HTTP client's message.
        message: String,
    },
    /// The server answered with a status other than 2xx.
    #[error("GET {url} answered HTTP {status}")]
    Status {
        /// The URL requested.
        url: String,
        /// The HTTP status code.
        status: u16,
    },
    /// The body is larger than the limit: refused, never truncated.
    #[error("{url} is over the limit of {limit} bytes ({})", size_text(*.declared))]
    TooLarge {
        /// The URL requested.
        url: String,
        /// The `Content-Length` the server declared, if it declared one over
        /// the limit; `None` when the body ran past the limit while reading.
        declared: Option<u64>,
        /// The limit it broke.
        limit: u64,
    },
    /// The body of an image URL does not start with an image signature.
    #[error("{url} is not an image (first bytes: {magic})")]
    NotAnImage {
        /// The URL requested.
        url: String,
        /// Hex dump of the first bytes.
        magic: String,
    },
    /// The feed body is not an RSS, Atom or JSON Feed document.
    #[error("feed {url} is malformed: {message}")]
    Malformed {
        /// The feed URL.
        url: String,
        /// The parser's message.
        message: String,
    },
    /// A file or directory of the mirror could not be written or read.
    #[error("mirror {}: {message}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The kind of I/O failure.
        kind: std::io::ErrorKind,
        /// The operating system's message.
        message: String,
    },
    /// The mirror's background thread could not be started.
    #[error("cannot start the feed mirror thread: {message}")]
    Thread {
        /// The operating system's message.
        message: String,
    },
    /// Some images of a feed that was itself fetched and parsed could not be
    /// mirrored; the others were.
    #[error("{failed} of {total} images not mirrored; first: {first}")]
    Images {
        /// Images not mirrored in this refresh (refused or failed).
        failed: usize,
        /// Images the feed lists (up to `max_items`).
        total: usize,
        /// The first of those errors.
        first: Box<FeedError>,
    },
}

impl FeedError {
    /// An I/O error on `path`.
    pub(crate) fn io(path: impl Into<PathBuf>, err: &std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            kind: err.kind(),
            message: err.to_string(),
        }
    }

    /// Whether this is a refusal by policy (too large, not an image, not
    /// http(s)) rather than a failure that a later refresh may not repeat.
    pub fn is_refusal(&self) -> bool {
        matches!(
            self,
            Self::TooLarge { .. } | Self::NotAnImage { .. } | Self::BadUrl { .. }
        )
    }
}

/// Where the size came from: the declared length, or the body itself.
fn size_text(declared: Option<u64>) -> String {
    match declared {
        Some(size) => format!("Content-Length: {size}"),
        None => "the body ran past it".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_url_and_the_cause() {
        let err = FeedError::Status {
            url: "http://h/feed".into(),
            status: 404,
        };
        assert_eq!(err.to_string(), "GET http://h/feed answered HTTP 404");
        let err = FeedError::TooLarge {
            url: "http://h/a.png".into(),
            declared: Some(10),
            limit: 5,
        };
        assert_eq!(
            err.to_string(),
            "http://h/a.png is over the limit of 5 bytes (Content-Length: 10)"
        );
        assert!(err.is_refusal());
        let err = FeedError::TooLarge {
            url: "http://h/a.png".into(),
            declared: None,
            limit: 5,
        };
        assert_eq!(
            err.to_string(),
            "http://h/a.png is over the limit of 5 bytes (the body ran past it)"
        );
        let summary = FeedError::Images {
            failed: 1,
            total: 3,
            first: Box::new(err),
        };
        assert!(
            summary
                .to_string()
                .starts_with("1 of 3 images not mirrored; first: ")
        );
        assert!(!summary.is_refusal());
    }
}

//! One HTTP GET under limits: `ureq` with a whole-request timeout, no proxy
//! taken from the environment, and a body refused (never truncated) past a
//! byte limit, checked on `Content-Length` first and again while reading.

use std::io::Read;
use std::time::Duration;

use url::Url;

use crate::feed::error::FeedError;

/// Bytes reserved up front for a body; it grows from there as it arrives.
const INITIAL_CAPACITY: u64 = 256 << 10;

/// An HTTP client for one mirror: one connection pool, one timeout.
pub(crate) struct Http {
    agent: ureq::Agent,
}

impl Http {
    /// A client whose every request, connect to last byte, lasts at most
    /// `timeout`. Proxies are not read from the environment (this is a
    /// library); redirects are followed (at most 10).
    pub(crate) fn new(timeout: Duration) -> Self {
        let config = ureq::Agent::config_builder()
            .timeout_global(Some(timeout))
            .http_status_as_error(false)
            .proxy(None)
            .user_agent(concat!("warden-feed/", env!("CARGO_PKG_VERSION")))
            .build();
        Self {
            agent: ureq::Agent::new_with_config(config),
        }
    }

    /// GETs `url` and returns its body, refused if over `limit` bytes.
    pub(crate) fn get(&self, url: &Url, limit: u64) -> Result<Vec<u8>, FeedError> {
        let url_text = url.as_str();
        let fetch_error = |message: String| FeedError::Fetch {
            url: url_text.to_owned(),
            message,
        };
        let response = self
            .agent
            .get(url_text)
            .call()
            .map_err(|err| fetch_error(err.to_string()))?;
        let status = response.status().as_u16();
        if !response.status().is_success() {
            return Err(FeedError::Status {
                url: url_text.to_owned(),
                status,
            });
        }
        let too_large = |declared| FeedError::TooLarge {
            url: url_text.to_owned(),
            declared,
            limit,
        };
        let declared = content_length(response.headers());
        if let Some(length) = declared
            && length > limit
        {
            return Err(too_large(Some(length)));
        }
        let capacity = declared.unwrap_or(INITIAL_CAPACITY).min(limit);
        let mut body = Vec::with_capacity(usize::try_from(capacity).unwrap_or(0));
        response
            .into_body()
            .into_with_config()
            .reader()
            .take(limit.saturating_add(1))
            .read_to_end(&mut body)
            .map_err(|err| fetch_error(err.to_string()))?;
        if body.len() as u64 > limit {
            return Err(too_large(None));
        }
        Ok(body)
    }
}

/// The declared `Content-Length`, if present and a number.
fn content_length(headers: &ureq::http::HeaderMap) -> Option<u64> {
    headers
        .get(ureq::http::header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}

//! Limits of the HTTP server that faces the internet (`HTTP_*`): how long a client may take
//! to send its headers and its body, how many connections a replica keeps open and how many
//! requests it works on at once before it answers 503 with `Retry-After`.

use super::{parse_or, positive, ConfigError, Source};
use std::time::Duration;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpLimits {
    /// `HTTP_HEADER_TIMEOUT_MS`: the request line and headers must arrive within this, or
    /// the connection is closed. hyper's header timer also runs while a keep-alive
    /// connection waits for its next request, so it is the idle timeout too.
    pub header_timeout: Duration,
    /// `HTTP_BODY_TIMEOUT_MS`: the whole body must arrive within this after the headers,
    /// or the request is answered 408 and the connection closed.
    pub body_timeout: Duration,
    /// `HTTP_MAX_CONNECTIONS`: open connections at most; beyond it new ones wait in the
    /// listen backlog until one closes.
    pub max_connections: usize,
    /// `HTTP_MAX_IN_FLIGHT`: requests (webhooks, callouts, admin) being handled at once;
    /// beyond it a request is answered 503 with `Retry-After` at once. Health and metrics
    /// are not counted.
    pub max_in_flight: usize,
    /// `HTTP_RETRY_AFTER_SECS`: the `Retry-After` of a shed request.
    pub retry_after_secs: u64,
}

impl Default for HttpLimits {
    fn default() -> Self {
        HttpLimits {
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(10),
            max_connections: 4096,
            max_in_flight: 512,
            retry_after_secs: 1,
        }
    }
}

impl HttpLimits {
    pub fn from_source(src: &dyn Source) -> Result<Self, ConfigError> {
        let d = HttpLimits::default();
        let ms = |name: &'static str, default: Duration| -> Result<Duration, ConfigError> {
            let v: u64 = parse_or(src, name, default.as_millis() as u64)?;
            Ok(Duration::from_millis(positive(name, v)?))
        };
        Ok(HttpLimits {
            header_timeout: ms("HTTP_HEADER_TIMEOUT_MS", d.header_timeout)?,
            body_timeout: ms("HTTP_BODY_TIMEOUT_MS", d.body_timeout)?,
            max_connections: positive(
                "HTTP_MAX_CONNECTIONS",
                parse_or(src, "HTTP_MAX_CONNECTIONS", d.max_connections)?,
            )?,
            max_in_flight: positive(
                "HTTP_MAX_IN_FLIGHT",
                parse_or(src, "HTTP_MAX_IN_FLIGHT", d.max_in_flight)?,
            )?,
            retry_after_secs: positive(
                "HTTP_RETRY_AFTER_SECS",
                parse_or(src, "HTTP_RETRY_AFTER_SECS", d.retry_after_secs)?,
            )?,
        })
    }
}

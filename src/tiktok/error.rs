//! What can go wrong talking to TikTok Shop, sorted by what the caller should do about it:
//! back off, retry later, alert an operator (auth), or give up (permanent API errors).

use crate::state::StateError;

/// Over the QPS budget.
pub const CODE_RATE_LIMITED: i64 = 36_009_002;
pub const CODE_INTERNAL_ERROR: i64 = 36_009_003;
pub const CODE_TIMEOUT: i64 = 36_009_007;
/// Missing sign; bad token/app_key/shop_id/version; timestamp out of window; unexpected cipher.
pub const CODE_INVALID_REQUEST: i64 = 36_009_004;
pub const CODE_ACCESS_TOKEN_EXPIRED: i64 = 105_002;
pub const CODE_INVALID_SIGN: i64 = 106_001;
pub const CODE_MISSING_SHOP_CIPHER: i64 = 106_013;

/// Codes that mean our credentials or our app's standing are wrong: a person must act.
const AUTH_CODES: [i64; 8] = [
    CODE_ACCESS_TOKEN_EXPIRED,
    105_001, // invalid access token
    105_005, // scope missing for this API
    CODE_INVALID_SIGN,
    CODE_MISSING_SHOP_CIPHER,
    CODE_INVALID_REQUEST,
    36_009_033, // IP not allow-listed
    101_000,    // token not tied to the shop_cipher's shop
];

#[derive(Debug, thiserror::Error)]
pub enum TikTokError {
    /// HTTP 429 or code 36009002, after the client's own backoff retries ran out.
    #[error("TikTok rate limit hit on {path} (request_id {request_id:?})")]
    RateLimited {
        path: String,
        request_id: Option<String>,
    },
    /// Worth retrying later: 5xx, 36009003/36009007, timeouts, connection failures.
    #[error("transient TikTok failure on {path}: {reason} (request_id {request_id:?})")]
    Transient {
        path: String,
        code: Option<i64>,
        http_status: Option<u16>,
        reason: String,
        request_id: Option<String>,
    },
    /// Credentials rejected (105002 after the one refresh, 106001, 36009004, ...).
    #[error(
        "TikTok rejected our credentials on {path}: {code} {message} (request_id {request_id:?})"
    )]
    Auth {
        path: String,
        code: i64,
        message: String,
        request_id: Option<String>,
    },
    /// Any other non-zero `code`: the request itself is wrong and retrying will not help.
    #[error("TikTok API error on {path}: {code} {message} (request_id {request_id})")]
    Api {
        path: String,
        http_status: u16,
        code: i64,
        message: String,
        request_id: String,
    },
    #[error("undecodable TikTok response on {path}: {reason} (request_id {request_id:?})")]
    Decode {
        path: String,
        reason: String,
        request_id: Option<String>,
    },
    #[error("invalid TikTok client setup: {0}")]
    Config(String),
    #[error("TikTok token store: {0}")]
    State(#[from] StateError),
}

impl TikTokError {
    /// Whether running the same job again later can succeed without anyone changing anything.
    pub fn is_retryable(&self) -> bool {
        match self {
            TikTokError::RateLimited { .. } | TikTokError::Transient { .. } => true,
            TikTokError::State(StateError::Unavailable(_)) => true,
            TikTokError::State(StateError::Corrupt { .. })
            | TikTokError::Auth { .. }
            | TikTokError::Api { .. }
            | TikTokError::Decode { .. }
            | TikTokError::Config(_) => false,
        }
    }

    /// The TikTok `code`, when the failure came from an envelope.
    pub fn code(&self) -> Option<i64> {
        match self {
            TikTokError::RateLimited { .. } => Some(CODE_RATE_LIMITED),
            TikTokError::Transient { code, .. } => *code,
            TikTokError::Auth { code, .. } | TikTokError::Api { code, .. } => Some(*code),
            _ => None,
        }
    }

    pub fn request_id(&self) -> Option<&str> {
        match self {
            TikTokError::RateLimited { request_id, .. }
            | TikTokError::Transient { request_id, .. }
            | TikTokError::Auth { request_id, .. }
            | TikTokError::Decode { request_id, .. } => request_id.as_deref(),
            TikTokError::Api { request_id, .. } => Some(request_id),
            _ => None,
        }
    }

    /// Sorts a non-success answer (HTTP status plus envelope, when there was one).
    pub(crate) fn from_answer(
        path: &str,
        http_status: u16,
        code: Option<i64>,
        message: String,
        request_id: Option<String>,
    ) -> Self {
        let path = path.to_string();
        if http_status == 429 || code == Some(CODE_RATE_LIMITED) {
            return TikTokError::RateLimited { path, request_id };
        }
        match code {
            Some(c @ (CODE_INTERNAL_ERROR | CODE_TIMEOUT)) => TikTokError::Transient {
                path,
                code: Some(c),
                http_status: Some(http_status),
                reason: message,
                request_id,
            },
            Some(c) if AUTH_CODES.contains(&c) => TikTokError::Auth {
                path,
                code: c,
                message,
                request_id,
            },
            _ if http_status >= 500 => TikTokError::Transient {
                path,
                code,
                http_status: Some(http_status),
                reason: message,
                request_id,
            },
            Some(c) => TikTokError::Api {
                path,
                http_status,
                code: c,
                message,
                request_id: request_id.unwrap_or_default(),
            },
            None => TikTokError::Decode {
                path,
                reason: format!("HTTP {http_status} without a TikTok envelope"),
                request_id,
            },
        }
    }

    /// Transport failures. The URL is dropped because token-host URLs carry the app secret.
    pub(crate) fn from_transport(path: &str, err: reqwest::Error) -> Self {
        let err = err.without_url();
        if err.is_builder() {
            return TikTokError::Config(err.to_string());
        }
        let reason = if err.is_timeout() {
            "timed out".to_string()
        } else if err.is_connect() {
            format!("connection failed: {err}")
        } else {
            err.to_string()
        };
        TikTokError::Transient {
            path: path.to_string(),
            code: None,
            http_status: err.status().map(|s| s.as_u16()),
            reason,
            request_id: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(status: u16, code: Option<i64>) -> TikTokError {
        TikTokError::from_answer("/p", status, code, "m".into(), Some("rid".into()))
    }

    #[test]
    fn rate_limits_are_retryable_by_status_or_code() {
        assert!(matches!(answer(429, None), TikTokError::RateLimited { .. }));
        assert!(matches!(
            answer(200, Some(CODE_RATE_LIMITED)),
            TikTokError::RateLimited { .. }
        ));
        assert!(answer(429, None).is_retryable());
    }

    #[test]
    fn internal_errors_and_5xx_are_transient() {
        for e in [
            answer(200, Some(CODE_INTERNAL_ERROR)),
            answer(200, Some(CODE_TIMEOUT)),
            answer(503, None),
            answer(502, Some(12345)),
        ] {
            assert!(matches!(e, TikTokError::Transient { .. }), "{e:?}");
            assert!(e.is_retryable());
        }
    }

    #[test]
    fn credential_codes_are_auth_and_final() {
        for code in [
            CODE_ACCESS_TOKEN_EXPIRED,
            CODE_INVALID_SIGN,
            CODE_INVALID_REQUEST,
        ] {
            let e = answer(401, Some(code));
            assert!(matches!(e, TikTokError::Auth { .. }), "{e:?}");
            assert!(!e.is_retryable());
        }
    }

    #[test]
    fn other_codes_are_permanent_and_keep_their_details() {
        let e = answer(200, Some(21_008_111));
        assert!(!e.is_retryable());
        assert_eq!(e.code(), Some(21_008_111));
        assert_eq!(e.request_id(), Some("rid"));
    }
}

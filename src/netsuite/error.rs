//! NetSuite client errors, classified from the HTTP status and `o:errorDetails` (reference §5).
//! Parsing is lenient on purpose: NetSuite's own 429 sample is not valid JSON, so when JSON
//! fails we fall back to the status and a substring search for the error codes.

use serde_json::Value;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NetSuiteError {
    /// 429 `CONCURRENCY_LIMIT_EXCEEDED`: the account's concurrency pool is full.
    #[error("NetSuite concurrency limit exceeded (HTTP {status} {code})")]
    ConcurrencyLimit { status: u16, code: String },
    /// 401 `INVALID_LOGIN`, or an OAuth 2.0 token endpoint refusal.
    #[error("NetSuite authentication failed (HTTP {status} {code}): {detail}")]
    Auth {
        status: u16,
        code: String,
        detail: String,
    },
    /// 400 `INVALID_CONTENT`: a bad value at `o:errorPath`; retrying cannot help.
    #[error("NetSuite rejected the record content at {}: {detail}", path.as_deref().unwrap_or("?"))]
    InvalidContent {
        path: Option<String>,
        detail: String,
    },
    /// 404 `NONEXISTENT_ID`.
    #[error("NetSuite record does not exist: {detail}")]
    NotFound { detail: String },
    /// 5xx; `error_id` is NetSuite's "Error ID" for support cases.
    #[error("NetSuite server error (HTTP {status} {code}, Error ID {}): {detail}", error_id.as_deref().unwrap_or("none"))]
    Server {
        status: u16,
        code: String,
        error_id: Option<String>,
        detail: String,
    },
    /// No HTTP answer: timeout, refused or reset connection.
    #[error("NetSuite transport error ({}): {message}", if *timeout { "timeout" } else { "connection" })]
    Transport { timeout: bool, message: String },
    /// A request the client refuses to send (bad identifier, pager bounds, ...).
    #[error("invalid NetSuite request: {0}")]
    InvalidRequest(String),
    /// A 2xx answer the client could not use.
    #[error("unexpected NetSuite response: {0}")]
    InvalidResponse(String),
    /// Client set-up failed (key, URL).
    #[error("NetSuite client configuration: {0}")]
    Config(String),
    /// Any other error answer.
    #[error("NetSuite error (HTTP {status} {code}): {detail}")]
    Other {
        status: u16,
        code: String,
        detail: String,
    },
}

impl NetSuiteError {
    /// Whether the queue should try again later. 401 is final: the client already dropped
    /// its token and retried once before returning it.
    pub fn is_retryable(&self) -> bool {
        match self {
            NetSuiteError::ConcurrencyLimit { .. }
            | NetSuiteError::Server { .. }
            | NetSuiteError::Transport { .. } => true,
            NetSuiteError::Other { status, .. } => *status == 408,
            NetSuiteError::Auth { .. }
            | NetSuiteError::InvalidContent { .. }
            | NetSuiteError::NotFound { .. }
            | NetSuiteError::InvalidRequest(_)
            | NetSuiteError::InvalidResponse(_)
            | NetSuiteError::Config(_) => false,
        }
    }

    /// The `o:errorCode` (or OAuth `error`) this came from, when there was one.
    pub fn code(&self) -> Option<&str> {
        match self {
            NetSuiteError::ConcurrencyLimit { code, .. }
            | NetSuiteError::Auth { code, .. }
            | NetSuiteError::Server { code, .. }
            | NetSuiteError::Other { code, .. } => Some(code),
            NetSuiteError::InvalidContent { .. } => Some("INVALID_CONTENT"),
            NetSuiteError::NotFound { .. } => Some("NONEXISTENT_ID"),
            _ => None,
        }
    }

    /// Classifies an error answer from its status and body.
    pub fn from_response(status: u16, body: &str) -> NetSuiteError {
        let details = ErrorDetails::parse(body);
        let code = details.code.clone().unwrap_or_default();
        let detail = details.detail.clone().unwrap_or_default();
        let is_concurrency =
            code == "CONCURRENCY_LIMIT_EXCEEDED" || code == "SSS_REQUEST_LIMIT_EXCEEDED";
        match status {
            429 => NetSuiteError::ConcurrencyLimit {
                status,
                code: if code.is_empty() {
                    "CONCURRENCY_LIMIT_EXCEEDED".into()
                } else {
                    code
                },
            },
            _ if is_concurrency => NetSuiteError::ConcurrencyLimit { status, code },
            401 => NetSuiteError::Auth {
                status,
                code: if code.is_empty() {
                    "INVALID_LOGIN".into()
                } else {
                    code
                },
                detail,
            },
            400 if code == "INVALID_CONTENT" => NetSuiteError::InvalidContent {
                path: details.path,
                detail,
            },
            404 => NetSuiteError::NotFound { detail },
            500..=599 => NetSuiteError::Server {
                status,
                error_id: error_id(&detail),
                code,
                detail,
            },
            _ => NetSuiteError::Other {
                status,
                code,
                detail,
            },
        }
    }

    pub(crate) fn from_transport(err: &reqwest::Error) -> NetSuiteError {
        NetSuiteError::Transport {
            timeout: err.is_timeout(),
            message: transport_message(err),
        }
    }
}

/// The transport failure without its URL, whose external ids can name a buyer.
fn transport_message(err: &reqwest::Error) -> String {
    let mut msg = if err.is_timeout() {
        "operation timed out".to_string()
    } else if err.is_connect() {
        "connection failed".to_string()
    } else {
        "request failed".to_string()
    };
    let mut source = std::error::Error::source(err);
    while let Some(s) = source {
        msg.push_str(": ");
        msg.push_str(&s.to_string());
        source = s.source();
    }
    msg
}

/// The first entry of `o:errorDetails`, however it could be recovered.
#[derive(Debug, Default, Clone, PartialEq)]
struct ErrorDetails {
    code: Option<String>,
    detail: Option<String>,
    path: Option<String>,
}

impl ErrorDetails {
    fn parse(body: &str) -> ErrorDetails {
        match serde_json::from_str::<Value>(body) {
            Ok(v) => Self::from_json(&v),
            Err(_) => Self::from_text(body),
        }
    }

    fn from_json(v: &Value) -> ErrorDetails {
        let first = v
            .get("o:errorDetails")
            .and_then(Value::as_array)
            .and_then(|a| a.first());
        let field = |name: &str| {
            first
                .and_then(|d| d.get(name))
                .or_else(|| v.get(name))
                .and_then(Value::as_str)
                .map(str::to_string)
        };
        ErrorDetails {
            code: field("o:errorCode").or_else(|| {
                // OAuth 2.0 token endpoint errors: {"error": "invalid_grant", ...}.
                v.get("error").and_then(Value::as_str).map(str::to_string)
            }),
            detail: field("detail").or_else(|| {
                v.get("error_description")
                    .and_then(Value::as_str)
                    .map(str::to_string)
            }),
            path: field("o:errorPath"),
        }
    }

    /// Substring search over malformed JSON. A body can carry a generic top-level code
    /// (`USER_ERROR`) and the specific one inside the details; the specific one wins.
    fn from_text(body: &str) -> ErrorDetails {
        let codes = string_values(body, "o:errorCode");
        let code = codes
            .iter()
            .find(|c| c.as_str() != "USER_ERROR")
            .or_else(|| codes.first())
            .cloned();
        ErrorDetails {
            code,
            detail: string_values(body, "detail").into_iter().next(),
            path: string_values(body, "o:errorPath").into_iter().next(),
        }
    }
}

/// Every `"key": "value"` string value for `key` in text that may not parse as JSON.
fn string_values(body: &str, key: &str) -> Vec<String> {
    let needle = format!("\"{key}\"");
    let mut out = Vec::new();
    let mut rest = body;
    while let Some(pos) = rest.find(&needle) {
        rest = &rest[pos + needle.len()..];
        let after = rest.trim_start();
        let Some(after) = after.strip_prefix(':') else {
            continue;
        };
        let Some(after) = after.trim_start().strip_prefix('"') else {
            continue;
        };
        let mut value = String::new();
        let mut escaped = false;
        for c in after.chars() {
            match (escaped, c) {
                (true, c) => {
                    value.push(c);
                    escaped = false;
                }
                (false, '\\') => escaped = true,
                (false, '"') => break,
                (false, c) => value.push(c),
            }
        }
        out.push(value);
    }
    out
}

/// "An unexpected error occurred. Error ID: kabc123" → `kabc123`.
fn error_id(detail: &str) -> Option<String> {
    let pos = detail.find("Error ID:")?;
    let id: String = detail[pos + "Error ID:".len()..]
        .trim_start()
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect();
    (!id.is_empty()).then_some(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    const BODY_401: &str = r#"{"type": "https://www.w3.org/Protocols/rfc2616/rfc2616-sec10.html", "title": "Unauthorized", "status": 401, "o:errorDetails": [{"detail": "Invalid login attempt. For more details, see the Login Audit Trail in the NetSuite UI at Setup > Users/Roles > User Management > View Login Audit Trail.", "o:errorCode": "INVALID_LOGIN"}]}"#;
    const BODY_400: &str = r#"{"type": "https://www.w3.org/Protocols/rfc2616/rfc2616-sec10.html#sec10.4.1", "title": "Bad Request", "status": 400, "o:errorDetails": [{"detail": "Error while accessing resource: You have entered an Invalid Field Value 9999 for the following field: item", "o:errorCode": "INVALID_CONTENT", "o:errorPath": "item.items[0].item"}]}"#;
    const BODY_429: &str = r#"{"type": "https://www.w3.org/Protocols/rfc2616/rfc2616-sec10.html", "title": "Bad Request", "status": 429, "o:errorCode": "USER_ERROR" "o:errorDetails": [{"detail": "Concurrent request limit exceeded. Request blocked.", "o:errorCode": "CONCURRENCY_LIMIT_EXCEEDED"}]}"#;

    #[test]
    fn invalid_login_is_auth_and_final() {
        let err = NetSuiteError::from_response(401, BODY_401);
        assert!(
            matches!(&err, NetSuiteError::Auth { code, detail, .. } if code == "INVALID_LOGIN" && detail.starts_with("Invalid login attempt"))
        );
        assert!(!err.is_retryable());
    }

    #[test]
    fn invalid_content_keeps_path_and_is_final() {
        let err = NetSuiteError::from_response(400, BODY_400);
        assert_eq!(
            err,
            NetSuiteError::InvalidContent {
                path: Some("item.items[0].item".into()),
                detail: "Error while accessing resource: You have entered an Invalid Field Value 9999 for the following field: item".into(),
            }
        );
        assert!(!err.is_retryable());
    }

    #[test]
    fn malformed_429_is_concurrency_and_retryable() {
        assert!(serde_json::from_str::<Value>(BODY_429).is_err());
        let err = NetSuiteError::from_response(429, BODY_429);
        assert_eq!(
            err,
            NetSuiteError::ConcurrencyLimit {
                status: 429,
                code: "CONCURRENCY_LIMIT_EXCEEDED".into()
            }
        );
        assert!(err.is_retryable());
    }

    #[test]
    fn server_error_keeps_error_id_and_is_retryable() {
        let body = r#"{"status": 500, "o:errorDetails": [{"detail": "An unexpected error occurred. Error ID: lx2k9abc_1", "o:errorCode": "UNEXPECTED_ERROR"}]}"#;
        let err = NetSuiteError::from_response(500, body);
        assert!(
            matches!(&err, NetSuiteError::Server { error_id: Some(id), code, .. } if id == "lx2k9abc_1" && code == "UNEXPECTED_ERROR")
        );
        assert!(err.is_retryable());
        // An HTML error page from a proxy still classifies by status.
        assert!(NetSuiteError::from_response(503, "<html>down</html>").is_retryable());
    }

    #[test]
    fn not_found_and_invalid_request_are_final() {
        let body = r#"{"status": 404, "o:errorDetails": [{"detail": "Record does not exist.", "o:errorCode": "NONEXISTENT_ID"}]}"#;
        let err = NetSuiteError::from_response(404, body);
        assert!(matches!(err, NetSuiteError::NotFound { .. }));
        assert!(!err.is_retryable());
        let body = r#"{"status": 400, "o:errorDetails": [{"detail": "bad", "o:errorCode": "INVALID_REQUEST"}]}"#;
        let err = NetSuiteError::from_response(400, body);
        assert_eq!(err.code(), Some("INVALID_REQUEST"));
        assert!(!err.is_retryable());
    }

    #[test]
    fn restlet_limit_counts_as_concurrency() {
        let body =
            r#"{"o:errorDetails": [{"detail": "x", "o:errorCode": "SSS_REQUEST_LIMIT_EXCEEDED"}]}"#;
        assert!(matches!(
            NetSuiteError::from_response(400, body),
            NetSuiteError::ConcurrencyLimit { .. }
        ));
    }

    #[test]
    fn oauth_token_error_code_is_read() {
        let body = r#"{"error": "invalid_grant", "error_description": "expired"}"#;
        let err = NetSuiteError::from_response(400, body);
        assert_eq!(err.code(), Some("invalid_grant"));
    }
}

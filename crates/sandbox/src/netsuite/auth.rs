//! How the simulated account authenticates: the OAuth 2.0 token endpoint (JWT assertion
//! checks as NetSuite documents them), bearer tokens it issued, and TBA OAuth 1.0a with the
//! signature rebuilt from the URL the request arrived on.

use super::oauth1;
use super::{ns_error, NetSuiteSandbox};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::Engine as _;
use rand::Rng;
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;
use subtle::ConstantTimeEq;

const TIMESTAMP_WINDOW_SECS: i64 = 300;
const MAX_ASSERTION_LIFETIME_SECS: i64 = 3600;

pub(super) fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// The `client_assertion_type` NetSuite's token endpoint requires (reference §8.1).
const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// Algorithms NetSuite's token endpoint takes (reference §8.1).
const ALLOWED_ALGS: [&str; 6] = ["PS256", "PS384", "PS512", "ES256", "ES384", "ES512"];

fn oauth_error(code: &str, description: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(json!({"error": code, "error_description": description})),
    )
        .into_response()
}

#[derive(Debug, Deserialize)]
pub(super) struct TokenForm {
    grant_type: Option<String>,
    client_assertion_type: Option<String>,
    client_assertion: Option<String>,
}

#[derive(Debug, Deserialize)]
struct JwtHeader {
    alg: String,
    #[serde(default)]
    kid: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Claims {
    iat: i64,
    exp: i64,
    #[serde(default)]
    iss: Option<String>,
    #[serde(default)]
    aud: Value,
    #[serde(default)]
    scope: Value,
}

fn b64url_json<T: serde::de::DeserializeOwned>(part: &str) -> Option<T> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part)
        .ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// `POST /services/rest/auth/oauth2/v1/token`.
pub(super) async fn token(
    State(sb): State<Arc<NetSuiteSandbox>>,
    body: axum::body::Bytes,
) -> Response {
    sb.state.lock().token_requests += 1;
    if let Some(resp) = sb.outage_response() {
        return resp;
    }
    let form: TokenForm = match serde_urlencoded_form(&body) {
        Some(f) => f,
        None => return oauth_error("invalid_request", "body is not a form"),
    };
    if form.grant_type.as_deref() != Some("client_credentials") {
        return oauth_error("invalid_request", "grant_type must be client_credentials");
    }
    if form.client_assertion_type.as_deref() != Some(JWT_BEARER) {
        return oauth_error("invalid_request", "unsupported client_assertion_type");
    }
    let Some(assertion) = form.client_assertion else {
        return oauth_error("invalid_request", "client_assertion is missing");
    };
    if let Err(why) = sb.verify_assertion(&assertion) {
        tracing::debug!(why, "sandbox netsuite: assertion refused");
        return oauth_error("invalid_grant", why);
    }
    let token: String = rand::thread_rng()
        .sample_iter(&rand::distributions::Alphanumeric)
        .take(48)
        .map(char::from)
        .collect();
    let ttl = sb.cfg.token_ttl;
    sb.state
        .lock()
        .tokens
        .insert(token.clone(), Instant::now() + ttl);
    Json(json!({
        "access_token": token,
        "expires_in": ttl.as_secs(),
        "token_type": "Bearer",
    }))
    .into_response()
}

fn serde_urlencoded_form(body: &[u8]) -> Option<TokenForm> {
    let pairs: HashMap<String, String> = url::form_urlencoded::parse(body).into_owned().collect();
    let value = serde_json::to_value(pairs).ok()?;
    serde_json::from_value(value).ok()
}

impl NetSuiteSandbox {
    fn verify_assertion(&self, jwt: &str) -> Result<(), &'static str> {
        // A compact JWS: header.claims.signature, each base64url without padding.
        let mut parts = jwt.split('.');
        let (Some(h), Some(c), Some(sig), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err("malformed JWT");
        };
        let header: JwtHeader = b64url_json(h).ok_or("malformed JWT")?;
        if !ALLOWED_ALGS.contains(&header.alg.as_str()) {
            return Err("alg must be one of PS256 PS384 PS512 ES256 ES384 ES512");
        }
        if header.kid.as_deref() != Some(self.cfg.certificate_id.as_str()) {
            return Err("kid is not the certificate id of this integration");
        }
        let key = self
            .verifying_key
            .as_ref()
            .ok_or("no certificate uploaded")?;
        // The sandbox's certificate is an EC P-256 key, so only ES256 can verify with it;
        // any other algorithm fails here exactly as a key/algorithm mismatch does at NetSuite.
        if header.alg != "ES256" {
            return Err("signature does not verify");
        }
        let sig_bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(sig)
            .map_err(|_| "malformed JWT")?;
        let signature = p256::ecdsa::Signature::from_slice(&sig_bytes)
            .map_err(|_| "signature does not verify")?;
        use p256::ecdsa::signature::Verifier as _;
        key.verify(format!("{h}.{c}").as_bytes(), &signature)
            .map_err(|_| "signature does not verify")?;
        let claims: Claims = b64url_json(c).ok_or("assertion claims are invalid")?;
        if claims.exp <= unix_now() {
            return Err("assertion expired");
        }
        let token_url = self.token_url();
        let aud_ok = match &claims.aud {
            Value::String(a) => *a == token_url,
            Value::Array(a) => a.iter().any(|v| v.as_str() == Some(token_url.as_str())),
            _ => false,
        };
        if !aud_ok {
            return Err("aud is not the token endpoint");
        }
        if claims.iss.as_deref() != Some(self.cfg.client_id.as_str()) {
            return Err("iss is not the client id");
        }
        let now = unix_now();
        if claims.exp - claims.iat > MAX_ASSERTION_LIFETIME_SECS {
            return Err("exp must be within 60 minutes of iat");
        }
        if claims.iat > now + TIMESTAMP_WINDOW_SECS {
            return Err("iat is in the future");
        }
        let has_scope = match &claims.scope {
            Value::String(s) => s.split([',', ' ']).any(|p| p.trim() == "rest_webservices"),
            Value::Array(a) => a.iter().any(|v| v.as_str() == Some("rest_webservices")),
            _ => false,
        };
        if !has_scope {
            return Err("scope must include rest_webservices");
        }
        Ok(())
    }

    /// Checks the `Authorization` header of a record or query request.
    pub(super) fn authenticate(
        &self,
        method: &Method,
        uri: &Uri,
        headers: &HeaderMap,
    ) -> Result<(), Box<Response>> {
        let value = headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let outcome = if let Some(token) = value.strip_prefix("Bearer ") {
            self.check_bearer(token.trim())
        } else if value.starts_with("OAuth ") {
            self.check_tba(method, uri, value)
        } else {
            Err("no credentials")
        };
        outcome.map_err(|reason| {
            tracing::debug!(reason, "sandbox netsuite: invalid login");
            let mut st = self.state.lock();
            st.auth_failures += 1;
            st.last_auth_failure = Some(reason.to_string());
            drop(st);
            let mut resp = invalid_login();
            if value.starts_with("Bearer ") {
                let challenge = format!(
                    "Bearer realm=\"{}\", error=\"invalid_token\", error_description=\"Invalid login attempt.\"",
                    oauth1::realm(&self.cfg.account_id)
                );
                if let Ok(v) = HeaderValue::from_str(&challenge) {
                    resp.headers_mut()
                        .insert(axum::http::header::WWW_AUTHENTICATE, v);
                }
            }
            Box::new(resp)
        })
    }

    fn check_bearer(&self, token: &str) -> Result<(), &'static str> {
        let st = self.state.lock();
        match st.tokens.get(token) {
            Some(expiry) if Instant::now() < *expiry => Ok(()),
            Some(_) => Err("token_expired"),
            None => Err("token_unknown"),
        }
    }

    /// TBA as NetSuite checks it; the reasons are the Login Audit Trail's.
    fn check_tba(&self, method: &Method, uri: &Uri, header: &str) -> Result<(), &'static str> {
        let pairs = oauth1::header_params(header).ok_or("parameter_rejected")?;
        let get = |name: &str| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
        };
        let cfg = &self.cfg;
        // The realm must be the account id as issued: upper case, underscore.
        if get("realm") != Some(oauth1::realm(&cfg.account_id).as_str()) {
            return Err("realm_rejected");
        }
        if get("oauth_consumer_key") != Some(cfg.consumer_key.as_str()) {
            return Err("consumer_key_unknown");
        }
        if get("oauth_token") != Some(cfg.token_id.as_str()) {
            return Err("token_rejected");
        }
        if get("oauth_signature_method") != Some(oauth1::SIGNATURE_METHOD) {
            return Err("UnknownAlgorithm");
        }
        if get("oauth_version").is_some_and(|v| v != oauth1::VERSION) {
            return Err("VersionRejected");
        }
        let ts: i64 = get("oauth_timestamp")
            .and_then(|t| t.parse().ok())
            .ok_or("InvalidTimestamp")?;
        let now = unix_now();
        if (now - ts).abs() > TIMESTAMP_WINDOW_SECS {
            return Err("InvalidTimestamp");
        }
        let nonce = get("oauth_nonce").ok_or("nonce_rejected")?;
        if nonce.len() < 6 {
            return Err("nonce_rejected");
        }
        let signature = get("oauth_signature").ok_or("InvalidSignature")?;

        let full = format!(
            "{}{}",
            self.base_url(),
            uri.path_and_query().map(|p| p.as_str()).unwrap_or("/")
        );
        let url = url::Url::parse(&full).map_err(|_| "parameter_rejected")?;
        let signed: Vec<(&str, &str)> = pairs
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let base = oauth1::base_string(method.as_str(), &url, &signed);
        let expected = oauth1::signature(&base, &cfg.consumer_secret, &cfg.token_secret);
        if !bool::from(expected.as_bytes().ct_eq(signature.as_bytes())) {
            return Err("InvalidSignature");
        }

        let mut st = self.state.lock();
        st.nonces
            .retain(|_, seen| now - *seen <= 2 * TIMESTAMP_WINDOW_SECS);
        if st.nonces.contains_key(nonce) {
            return Err("nonce_used");
        }
        st.nonces.insert(nonce.to_string(), now);
        Ok(())
    }
}

/// The documented 401 body.
pub(super) fn invalid_login() -> Response {
    ns_error(
        StatusCode::UNAUTHORIZED,
        "INVALID_LOGIN",
        "Invalid login attempt. For more details, see the Login Audit Trail in the NetSuite UI at Setup > Users/Roles > User Management > View Login Audit Trail.",
        &[],
    )
}

//! NetSuite OAuth 2.0 client credentials (reference §8.1): a JWT assertion signed with our
//! certificate's private key buys a one-hour bearer token. There is no refresh token, so the
//! session signs a new assertion when the cached token is close to expiry.

use super::error::NetSuiteError;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

pub const CLIENT_ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
pub const SCOPE: &str = "rest_webservices";
/// Assertion lifetime; NetSuite requires `exp - iat` under one hour.
pub const ASSERTION_TTL_SECS: i64 = 3000;
/// A token is replaced this long before NetSuite says it expires.
const EXPIRY_MARGIN_SECS: u64 = 60;

/// Claims of the client assertion.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AssertionClaims {
    pub iss: String,
    pub scope: Vec<String>,
    pub aud: String,
    pub iat: i64,
    pub exp: i64,
    pub jti: String,
}

/// A private key ready to sign assertions, with the algorithm that fits it.
#[derive(Clone)]
pub struct AssertionSigner {
    key: EncodingKey,
    algorithm: Algorithm,
}

impl std::fmt::Debug for AssertionSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AssertionSigner")
            .field("algorithm", &self.algorithm)
            .finish_non_exhaustive()
    }
}

impl AssertionSigner {
    /// `algorithm` is the configured JWT `alg`; empty means "pick from the key type"
    /// (ES256 for EC P-256 keys, PS256 for RSA keys).
    pub fn from_pem(pem: &str, algorithm: &str) -> Result<Self, NetSuiteError> {
        let wanted = algorithm.trim().to_ascii_uppercase();
        let algorithm = match wanted.as_str() {
            "" => None,
            "ES256" => Some(Algorithm::ES256),
            "ES384" => Some(Algorithm::ES384),
            "PS256" => Some(Algorithm::PS256),
            "PS384" => Some(Algorithm::PS384),
            "PS512" => Some(Algorithm::PS512),
            other => {
                return Err(NetSuiteError::Config(format!(
                    "JWT algorithm {other} is not one NetSuite accepts (ES256, ES384, PS256, PS384, PS512)"
                )))
            }
        };
        let bytes = pem.as_bytes();
        let (key, algorithm) = match algorithm {
            Some(alg @ (Algorithm::ES256 | Algorithm::ES384)) => {
                (EncodingKey::from_ec_pem(bytes), alg)
            }
            Some(alg) => (EncodingKey::from_rsa_pem(bytes), alg),
            None => match EncodingKey::from_ec_pem(bytes) {
                Ok(key) => (Ok(key), Algorithm::ES256),
                Err(_) => (EncodingKey::from_rsa_pem(bytes), Algorithm::PS256),
            },
        };
        let key = key.map_err(|e| {
            NetSuiteError::Config(format!("private key is not a PKCS#8 EC or RSA PEM: {e}"))
        })?;
        let signer = AssertionSigner { key, algorithm };
        // Sign once now so a key that parses but cannot sign fails at start-up, not per order.
        signer.sign(&AssertionClaims::new("probe", "probe", 0))?;
        Ok(signer)
    }

    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    fn sign(&self, claims: &AssertionClaims) -> Result<String, NetSuiteError> {
        self.sign_with_kid(claims, "probe")
    }

    /// Signs an assertion whose header names the certificate (`kid`).
    pub fn sign_with_kid(
        &self,
        claims: &AssertionClaims,
        certificate_id: &str,
    ) -> Result<String, NetSuiteError> {
        let mut header = Header::new(self.algorithm);
        header.typ = Some("JWT".into());
        header.kid = Some(certificate_id.to_string());
        jsonwebtoken::encode(&header, claims, &self.key)
            .map_err(|e| NetSuiteError::Config(format!("cannot sign the JWT assertion: {e}")))
    }
}

impl AssertionClaims {
    pub fn new(client_id: &str, token_url: &str, iat: i64) -> Self {
        AssertionClaims {
            iss: client_id.to_string(),
            scope: vec![SCOPE.to_string()],
            aud: token_url.to_string(),
            iat,
            exp: iat + ASSERTION_TTL_SECS,
            jti: uuid::Uuid::new_v4().to_string(),
        }
    }
}

pub fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Token endpoint answer.
#[derive(Debug, Deserialize)]
struct TokenResponse {
    access_token: String,
    #[serde(default)]
    expires_in: Option<u64>,
}

#[derive(Clone)]
struct CachedToken {
    token: SecretString,
    refresh_at: Instant,
}

/// Holds the current bearer token; refreshes are single-flight because the cache lock is
/// held across the token request, so a burst of callers waits for one refresh.
pub struct OAuth2Session {
    http: reqwest::Client,
    token_url: String,
    client_id: String,
    certificate_id: String,
    signer: AssertionSigner,
    cached: tokio::sync::Mutex<Option<CachedToken>>,
    token_requests: AtomicU64,
}

impl OAuth2Session {
    pub fn new(
        http: reqwest::Client,
        token_url: String,
        client_id: String,
        certificate_id: String,
        signer: AssertionSigner,
    ) -> Self {
        OAuth2Session {
            http,
            token_url,
            client_id,
            certificate_id,
            signer,
            cached: tokio::sync::Mutex::new(None),
            token_requests: AtomicU64::new(0),
        }
    }

    pub fn token_url(&self) -> &str {
        &self.token_url
    }

    /// Token requests sent so far.
    pub fn token_requests(&self) -> u64 {
        self.token_requests.load(Ordering::Relaxed)
    }

    /// A valid bearer token, from the cache or freshly bought.
    pub async fn bearer(&self) -> Result<SecretString, NetSuiteError> {
        let mut cached = self.cached.lock().await;
        if let Some(c) = cached.as_ref() {
            if Instant::now() < c.refresh_at {
                return Ok(c.token.clone());
            }
        }
        let fresh = self.fetch().await?;
        let token = fresh.token.clone();
        *cached = Some(fresh);
        Ok(token)
    }

    /// Drops `used` from the cache after NetSuite refused it; a token someone else already
    /// replaced it with stays.
    pub async fn invalidate(&self, used: &SecretString) {
        let mut cached = self.cached.lock().await;
        if cached
            .as_ref()
            .is_some_and(|c| c.token.expose_secret() == used.expose_secret())
        {
            *cached = None;
        }
    }

    /// A signed client assertion for the token endpoint.
    pub fn assertion(&self) -> Result<String, NetSuiteError> {
        let claims = AssertionClaims::new(&self.client_id, &self.token_url, unix_now());
        self.signer.sign_with_kid(&claims, &self.certificate_id)
    }

    async fn fetch(&self) -> Result<CachedToken, NetSuiteError> {
        let assertion = self.assertion()?;
        let form = [
            ("grant_type", "client_credentials"),
            ("client_assertion_type", CLIENT_ASSERTION_TYPE),
            ("client_assertion", assertion.as_str()),
        ];
        self.token_requests.fetch_add(1, Ordering::Relaxed);
        let started = Instant::now();
        let resp = self
            .http
            .post(&self.token_url)
            .form(&form)
            .send()
            .await
            .map_err(|e| NetSuiteError::from_transport(&e))?;
        let status = resp.status().as_u16();
        let body = resp
            .bytes()
            .await
            .map_err(|e| NetSuiteError::from_transport(&e))?;
        tracing::debug!(
            status,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "netsuite oauth2 token request"
        );
        if !(200..300).contains(&status) {
            let err = NetSuiteError::from_response(status, &String::from_utf8_lossy(&body));
            // The token endpoint answers OAuth errors (400 invalid_grant / invalid_request):
            // our credentials are wrong, which is an auth failure, not bad content.
            return Err(match err {
                NetSuiteError::Other {
                    status,
                    code,
                    detail,
                } if status < 500 => NetSuiteError::Auth {
                    status,
                    code,
                    detail,
                },
                other => other,
            });
        }
        let parsed: TokenResponse = serde_json::from_slice(&body).map_err(|e| {
            NetSuiteError::InvalidResponse(format!(
                "token response is not the documented JSON: {e}"
            ))
        })?;
        let ttl = parsed.expires_in.unwrap_or(3600);
        // Short-lived tokens (sandbox tests) would otherwise never be reused at all.
        let keep = ttl.saturating_sub(EXPIRY_MARGIN_SECS).max(ttl / 2);
        Ok(CachedToken {
            token: SecretString::from(parsed.access_token),
            refresh_at: Instant::now() + Duration::from_secs(keep),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{DecodingKey, Validation};

    const PRIVATE: &str = include_str!("../../crates/sandbox/src/keys/sandbox-ec-private.pem");
    const PUBLIC: &str = include_str!("../../crates/sandbox/src/keys/sandbox-ec-public.pem");

    #[test]
    fn assertion_has_documented_header_and_claims() {
        let signer = AssertionSigner::from_pem(PRIVATE, "").unwrap();
        assert_eq!(signer.algorithm(), Algorithm::ES256);
        let url =
            "https://1234567-sb1.suitetalk.api.netsuite.com/services/rest/auth/oauth2/v1/token";
        let now = unix_now();
        let claims = AssertionClaims::new("client-abc", url, now);
        let jwt = signer.sign_with_kid(&claims, "cert-1").unwrap();

        let header = jsonwebtoken::decode_header(&jwt).unwrap();
        assert_eq!(header.alg, Algorithm::ES256);
        assert_eq!(header.kid.as_deref(), Some("cert-1"));
        assert_eq!(header.typ.as_deref(), Some("JWT"));

        let mut validation = Validation::new(Algorithm::ES256);
        validation.set_audience(&[url]);
        validation.set_issuer(&["client-abc"]);
        let key = DecodingKey::from_ec_pem(PUBLIC.as_bytes()).unwrap();
        let decoded = jsonwebtoken::decode::<AssertionClaims>(&jwt, &key, &validation).unwrap();
        let c = decoded.claims;
        assert_eq!(c.scope, vec!["rest_webservices".to_string()]);
        assert_eq!(c.iat, now);
        assert!(c.exp > c.iat && c.exp - c.iat < 3600);
        assert!(uuid::Uuid::parse_str(&c.jti).is_ok());
        let other = AssertionClaims::new("client-abc", url, now);
        assert_ne!(other.jti, c.jti, "jti must be unique per assertion");
    }

    #[test]
    fn key_and_algorithm_mismatches_fail_at_start_up() {
        assert!(matches!(
            AssertionSigner::from_pem("not a key", ""),
            Err(NetSuiteError::Config(_))
        ));
        assert!(matches!(
            AssertionSigner::from_pem(PRIVATE, "HS256"),
            Err(NetSuiteError::Config(_))
        ));
        assert!(AssertionSigner::from_pem(PRIVATE, "PS256").is_err());
        assert!(AssertionSigner::from_pem(PRIVATE, "es256").is_ok());
    }
}

//! The shop's access token, shared by every replica through the `StateStore` so a token one
//! replica refreshed is the token all of them use. Refreshes are single-flight: within a
//! process behind a mutex, across replicas behind a short state lock.

use super::error::TikTokError;
use crate::config::TikTokConfig;
use crate::state::StateStore;
use parking_lot::RwLock;
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fmt;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

pub const TOKEN_REFRESH_PATH: &str = "/api/v2/token/refresh";
/// Refresh when less than this is left, so calls in flight never carry an expired token.
pub const REFRESH_AHEAD_SECS: i64 = 600;
/// How long a replica waits for another replica's refresh before giving up on this call.
const FOREIGN_REFRESH_WAIT: Duration = Duration::from_secs(10);
const REFRESH_LOCK_TTL: Duration = Duration::from_secs(30);
/// After an early refresh fails, calls go on with the still-valid token for this long
/// before trying again, so a token-host outage does not add a failed request to each call.
const EARLY_REFRESH_PAUSE_SECS: i64 = 30;

/// The JSON stored at `tiktok:token:{shop_id}`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredToken {
    pub access_token: String,
    /// Unix seconds; `None` while unknown (seeded from configuration).
    #[serde(default)]
    pub access_token_expire_in: Option<i64>,
    pub refresh_token: String,
    #[serde(default)]
    pub refresh_token_expire_in: Option<i64>,
    /// Fingerprint of the configured tokens this record descends from. When an operator
    /// configures new tokens (re-authorization) the fingerprint changes and they win over
    /// the stored ones.
    #[serde(default)]
    pub seed: Option<String>,
}

impl fmt::Debug for StoredToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoredToken")
            .field("access_token", &"[redacted]")
            .field("access_token_expire_in", &self.access_token_expire_in)
            .field("refresh_token", &"[redacted]")
            .field("refresh_token_expire_in", &self.refresh_token_expire_in)
            .finish()
    }
}

impl StoredToken {
    /// Where the shared token of `shop_id` lives in the state store.
    pub fn state_key(shop_id: &str) -> String {
        format!("tiktok:token:{shop_id}")
    }

    /// The record configuration seeds: expiry unknown, fingerprinted so a later change of
    /// the configured tokens is noticed.
    pub fn from_config(cfg: &TikTokConfig) -> Self {
        let access = cfg.access_token.expose_secret().to_string();
        let refresh = cfg.refresh_token.expose_secret().to_string();
        let mut hasher = Sha256::new();
        hasher.update(access.as_bytes());
        hasher.update([0u8]);
        hasher.update(refresh.as_bytes());
        StoredToken {
            access_token: access,
            access_token_expire_in: None,
            refresh_token: refresh,
            refresh_token_expire_in: None,
            seed: Some(hex::encode(&hasher.finalize()[..8])),
        }
    }

    pub fn expiring_soon(&self, now: i64) -> bool {
        self.access_token_expire_in
            .is_some_and(|at| at - now < REFRESH_AHEAD_SECS)
    }

    pub fn expired(&self, now: i64) -> bool {
        self.access_token_expire_in.is_some_and(|at| at <= now)
    }
}

/// Token expiry as seen by this process, for metrics and health.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct TokenStatus {
    /// Unix seconds; `None` when unknown (configured token never refreshed yet).
    pub access_token_expire_in: Option<i64>,
    pub refresh_token_expire_in: Option<i64>,
    /// Refreshes this process performed or adopted from another replica.
    pub refreshes: u64,
}

#[derive(Deserialize)]
struct RefreshEnvelope {
    code: Option<i64>,
    #[serde(default)]
    message: String,
    #[serde(default)]
    request_id: Option<String>,
    #[serde(default)]
    data: Option<RefreshData>,
}

#[derive(Deserialize)]
struct RefreshData {
    access_token: String,
    access_token_expire_in: i64,
    #[serde(default)]
    refresh_token: Option<String>,
    #[serde(default)]
    refresh_token_expire_in: Option<i64>,
}

pub(crate) fn now_unix() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default()
}

pub(crate) struct TokenKeeper {
    state: Arc<dyn StateStore>,
    key: String,
    lock_key: String,
    configured: StoredToken,
    cache: RwLock<Option<StoredToken>>,
    gate: tokio::sync::Mutex<()>,
    refreshes: AtomicU64,
    early_refresh_failed_at: AtomicI64,
}

impl TokenKeeper {
    pub fn new(cfg: &TikTokConfig, state: Arc<dyn StateStore>) -> Self {
        TokenKeeper {
            state,
            key: StoredToken::state_key(&cfg.shop_id),
            lock_key: format!("tiktok:token-refresh:{}", cfg.shop_id),
            configured: StoredToken::from_config(cfg),
            cache: RwLock::new(None),
            gate: tokio::sync::Mutex::new(()),
            refreshes: AtomicU64::new(0),
            early_refresh_failed_at: AtomicI64::new(i64::MIN),
        }
    }

    /// Reads the shared token, seeding it from configuration when absent or when the
    /// configured tokens changed since the record was seeded.
    async fn load(&self) -> Result<StoredToken, TikTokError> {
        if let Some(raw) = self.state.get(&self.key).await? {
            match serde_json::from_str::<StoredToken>(&raw) {
                Ok(stored) if stored.seed == self.configured.seed => return Ok(stored),
                Ok(_) => {
                    tracing::info!("configured TikTok tokens changed; reseeding the shared token")
                }
                Err(e) => {
                    tracing::warn!(error = %e, "unreadable shared TikTok token; reseeding from configuration")
                }
            }
        }
        self.store(&self.configured).await?;
        Ok(self.configured.clone())
    }

    async fn store(&self, token: &StoredToken) -> Result<(), TikTokError> {
        let json = serde_json::to_string(token)
            .map_err(|e| TikTokError::Config(format!("token serialization: {e}")))?;
        self.state.set(&self.key, &json, None).await?;
        Ok(())
    }

    pub async fn current(&self) -> Result<StoredToken, TikTokError> {
        if let Some(tok) = self.cache.read().clone() {
            return Ok(tok);
        }
        let tok = self.load().await?;
        *self.cache.write() = Some(tok.clone());
        Ok(tok)
    }

    pub async fn status(&self) -> TokenStatus {
        let tok = match self.current().await {
            Ok(t) => Some(t),
            Err(e) => {
                tracing::warn!(error = %e, "TikTok token status unavailable");
                None
            }
        };
        TokenStatus {
            access_token_expire_in: tok.as_ref().and_then(|t| t.access_token_expire_in),
            refresh_token_expire_in: tok.as_ref().and_then(|t| t.refresh_token_expire_in),
            refreshes: self.refreshes.load(Ordering::Relaxed),
        }
    }

    /// Whether an early refresh should be tried now (none failed in the last pause).
    pub fn early_refresh_due(&self, now: i64) -> bool {
        let failed_at = self.early_refresh_failed_at.load(Ordering::Relaxed);
        now.saturating_sub(failed_at) >= EARLY_REFRESH_PAUSE_SECS
    }

    pub fn early_refresh_failed(&self, now: i64) {
        self.early_refresh_failed_at.store(now, Ordering::Relaxed);
    }

    /// Replaces `stale` (rejected or about to expire) with a usable token: one another task
    /// or replica already obtained, or a freshly refreshed one.
    pub async fn refresh(
        &self,
        http: &reqwest::Client,
        cfg: &TikTokConfig,
        stale: &str,
    ) -> Result<StoredToken, TikTokError> {
        let _gate = self.gate.lock().await;
        let usable = |t: &StoredToken| t.access_token != stale && !t.expiring_soon(now_unix());
        if let Some(tok) = self.cache.read().clone().filter(|t| usable(t)) {
            return Ok(tok);
        }

        let owner = uuid::Uuid::new_v4().to_string();
        let deadline = tokio::time::Instant::now() + FOREIGN_REFRESH_WAIT;
        loop {
            let stored = self.load().await?;
            if usable(&stored) {
                return Ok(self.adopt(stored));
            }
            if self
                .state
                .try_lock(&self.lock_key, &owner, REFRESH_LOCK_TTL)
                .await?
            {
                let result = self.refresh_locked(http, cfg, stale).await;
                if let Err(e) = self.state.unlock(&self.lock_key, &owner).await {
                    tracing::warn!(error = %e, "could not release the TikTok token refresh lock");
                }
                return result.map(|tok| self.adopt(tok));
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(TikTokError::Transient {
                    path: TOKEN_REFRESH_PATH.into(),
                    code: None,
                    http_status: None,
                    reason: "another replica is still refreshing the access token".into(),
                    request_id: None,
                });
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn refresh_locked(
        &self,
        http: &reqwest::Client,
        cfg: &TikTokConfig,
        stale: &str,
    ) -> Result<StoredToken, TikTokError> {
        // The replica that held the lock before us may have finished in between.
        let stored = self.load().await?;
        if stored.access_token != stale && !stored.expiring_soon(now_unix()) {
            return Ok(stored);
        }
        let fresh = request_refresh(http, cfg, &stored).await?;
        self.store(&fresh).await?;
        tracing::info!(
            shop_id = %cfg.shop_id,
            access_token_expire_in = fresh.access_token_expire_in,
            "refreshed TikTok access token"
        );
        Ok(fresh)
    }

    fn adopt(&self, tok: StoredToken) -> StoredToken {
        self.refreshes.fetch_add(1, Ordering::Relaxed);
        *self.cache.write() = Some(tok.clone());
        tok
    }
}

/// `GET {auth_base}/api/v2/token/refresh`: unsigned, the app secret travels in the query,
/// which is why transport errors drop the URL.
async fn request_refresh(
    http: &reqwest::Client,
    cfg: &TikTokConfig,
    current: &StoredToken,
) -> Result<StoredToken, TikTokError> {
    let url = format!(
        "{}{}",
        cfg.auth_base.trim_end_matches('/'),
        TOKEN_REFRESH_PATH
    );
    let resp = http
        .get(url)
        .query(&[
            ("app_key", cfg.app_key.as_str()),
            ("app_secret", cfg.app_secret.expose_secret()),
            ("refresh_token", current.refresh_token.as_str()),
            ("grant_type", "refresh_token"),
        ])
        .send()
        .await
        .map_err(|e| TikTokError::from_transport(TOKEN_REFRESH_PATH, e))?;
    let status = resp.status().as_u16();
    let bytes = resp
        .bytes()
        .await
        .map_err(|e| TikTokError::from_transport(TOKEN_REFRESH_PATH, e))?;
    let envelope: RefreshEnvelope = match serde_json::from_slice(&bytes) {
        Ok(env) => env,
        Err(e) => {
            return Err(if status >= 500 || status == 429 {
                TikTokError::from_answer(TOKEN_REFRESH_PATH, status, None, e.to_string(), None)
            } else {
                TikTokError::Decode {
                    path: TOKEN_REFRESH_PATH.into(),
                    reason: e.to_string(),
                    request_id: None,
                }
            })
        }
    };
    match (envelope.code, envelope.data) {
        (Some(0), Some(data)) if (200..300).contains(&status) => Ok(StoredToken {
            access_token: data.access_token,
            access_token_expire_in: Some(data.access_token_expire_in),
            refresh_token: data
                .refresh_token
                .filter(|t| !t.is_empty())
                .unwrap_or_else(|| current.refresh_token.clone()),
            refresh_token_expire_in: data
                .refresh_token_expire_in
                .or(current.refresh_token_expire_in),
            seed: current.seed.clone(),
        }),
        (code, _) => {
            let err = TikTokError::from_answer(
                TOKEN_REFRESH_PATH,
                status,
                code.filter(|c| *c != 0),
                envelope.message,
                envelope.request_id,
            );
            tracing::warn!(request_id = ?err.request_id(), code = ?err.code(), "TikTok token refresh failed");
            // A refresh the token host refuses for good means the shop must re-authorize.
            Err(match err {
                TikTokError::Api {
                    path,
                    code,
                    message,
                    request_id,
                    ..
                } => TikTokError::Auth {
                    path,
                    code,
                    message,
                    request_id: Some(request_id),
                },
                other => other,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_prints_tokens() {
        let tok = StoredToken {
            access_token: "secret-access".into(),
            access_token_expire_in: Some(1),
            refresh_token: "secret-refresh".into(),
            refresh_token_expire_in: None,
            seed: None,
        };
        let printed = format!("{tok:?}");
        assert!(!printed.contains("secret-access"));
        assert!(!printed.contains("secret-refresh"));
    }

    #[test]
    fn unknown_expiry_is_never_expiring() {
        let tok = StoredToken {
            access_token: "a".into(),
            access_token_expire_in: None,
            refresh_token: "r".into(),
            refresh_token_expire_in: None,
            seed: None,
        };
        assert!(!tok.expiring_soon(i64::MAX / 2));
        assert!(!tok.expired(i64::MAX / 2));
    }

    #[test]
    fn refresh_ahead_of_expiry() {
        let tok = StoredToken {
            access_token: "a".into(),
            access_token_expire_in: Some(10_000),
            refresh_token: "r".into(),
            refresh_token_expire_in: None,
            seed: None,
        };
        assert!(!tok.expiring_soon(10_000 - REFRESH_AHEAD_SECS - 1));
        assert!(tok.expiring_soon(10_000 - REFRESH_AHEAD_SECS + 1));
        assert!(!tok.expired(9_999));
        assert!(tok.expired(10_000));
    }
}

//! A shop's authorization lifecycle as TikTok announces it by webhook: topic 6 (the merchant
//! removed the app: stop calling TikTok for that shop) and topic 7 (the authorization expires
//! soon: ask for re-authorization). Kept in the state store, so every replica of every role
//! gives the same answer, next to the shared token record it is judged against.

use super::token::StoredToken;
use crate::state::{StateError, StateStore};
use serde::{Deserialize, Serialize};

/// TikTok's word that the merchant removed the app from `shop_id` (topic 6).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deauthorization {
    pub shop_id: String,
    /// The webhook's `timestamp` (Unix seconds), when it carried one.
    #[serde(default)]
    pub event_time: Option<i64>,
    pub recorded_at_ms: i64,
    /// TikTok's text, e.g. "Shop_id {xxx} is deauthorized from your APP by merchant."
    pub message: String,
    /// Fingerprint of the configured tokens in use when TikTok revoked them. Tokens that
    /// revocation killed have this seed; configuration with other tokens means the merchant
    /// authorized again and the record no longer applies.
    #[serde(default)]
    pub token_seed: Option<String>,
}

impl Deauthorization {
    /// Whether the shared token record shows tokens newer than the revoked ones.
    pub fn superseded_by(&self, token: Option<&StoredToken>) -> bool {
        match (&self.token_seed, token.and_then(|t| t.seed.as_ref())) {
            (Some(revoked), Some(current)) => revoked != current,
            // Without both fingerprints only an operator can say the shop is back.
            _ => false,
        }
    }
}

/// TikTok's notice that the authorization of `shop_id` ends soon (topic 7, daily from 30
/// days before).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExpiryNotice {
    pub shop_id: String,
    /// When the authorization ends (Unix seconds), TikTok's `expiration_time`.
    pub expires_at: i64,
    pub noticed_at_ms: i64,
    pub message: String,
}

/// What operators and the metrics see of one shop. Never carries the tokens themselves.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ShopStatus {
    pub shop_id: String,
    /// `authorized` or `deauthorized`.
    pub authorization: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deauthorization: Option<Deauthorization>,
    /// From topic 7, when TikTok sent one.
    pub authorization_expires_at: Option<i64>,
    /// Access token expiry (Unix seconds); unknown until the first refresh.
    pub access_token_expires_at: Option<i64>,
    pub refresh_token_expires_at: Option<i64>,
    /// Whether a replica has stored the shop's token yet.
    pub token_stored: bool,
}

impl ShopStatus {
    pub fn is_deauthorized(&self) -> bool {
        self.authorization == "deauthorized"
    }
}

fn deauthorized_key(shop_id: &str) -> String {
    format!("tiktok:shop:{shop_id}:deauthorized")
}

fn expiry_key(shop_id: &str) -> String {
    format!("tiktok:shop:{shop_id}:authorization-expiry")
}

fn decode<T: serde::de::DeserializeOwned>(key: &str, raw: &str) -> Result<T, StateError> {
    serde_json::from_str(raw).map_err(|e| StateError::Corrupt {
        key: key.to_string(),
        reason: e.to_string(),
    })
}

fn encode<T: Serialize>(key: &str, value: &T) -> Result<String, StateError> {
    serde_json::to_string(value).map_err(|e| StateError::Corrupt {
        key: key.to_string(),
        reason: e.to_string(),
    })
}

/// The shop's shared token record, as the TikTok client keeps it.
pub async fn stored_token(
    state: &dyn StateStore,
    shop_id: &str,
) -> Result<Option<StoredToken>, StateError> {
    let key = StoredToken::state_key(shop_id);
    match state.get(&key).await? {
        // An unreadable record is reseeded by the client; here it just counts as absent.
        Some(raw) => Ok(serde_json::from_str(&raw).ok()),
        None => Ok(None),
    }
}

pub async fn deauthorization(
    state: &dyn StateStore,
    shop_id: &str,
) -> Result<Option<Deauthorization>, StateError> {
    let key = deauthorized_key(shop_id);
    match state.get(&key).await? {
        Some(raw) => decode(&key, &raw).map(Some),
        None => Ok(None),
    }
}

/// Records topic 6, fingerprinting the tokens it revoked.
pub async fn record_deauthorization(
    state: &dyn StateStore,
    shop_id: &str,
    event_time: Option<i64>,
    message: &str,
) -> Result<Deauthorization, StateError> {
    let token_seed = stored_token(state, shop_id).await?.and_then(|t| t.seed);
    let rec = Deauthorization {
        shop_id: shop_id.to_string(),
        event_time,
        recorded_at_ms: crate::queue::now_ms(),
        message: message.to_string(),
        token_seed,
    };
    let key = deauthorized_key(shop_id);
    state.set(&key, &encode(&key, &rec)?, None).await?;
    Ok(rec)
}

/// The shop is authorized again (an operator said so, or newer tokens are in use). The
/// shop's authorization clock moves to now, so a deauthorization notice sent before this
/// moment and replayed later changes nothing.
pub async fn clear_deauthorization(
    state: &dyn StateStore,
    shop_id: &str,
) -> Result<(), StateError> {
    let now = u64::try_from(crate::queue::now_ms() / 1000).unwrap_or(0);
    state.raise_to(&changed_at_key(shop_id), now).await?;
    state.delete(&deauthorized_key(shop_id)).await
}

/// Unix seconds of the newest authorization change the bridge applied for the shop (a
/// topic 6 notice's `timestamp`, or a re-authorization); only ever moves forward.
fn changed_at_key(shop_id: &str) -> String {
    format!("tiktok:shop:{shop_id}:authorization-changed-at")
}

/// Whether a notice TikTok timestamped `event_time` is newer than every authorization
/// change the bridge already applied; an older one (a replay) must change nothing.
pub async fn is_newer_than_known(
    state: &dyn StateStore,
    shop_id: &str,
    event_time: i64,
) -> Result<bool, StateError> {
    let known = state
        .get(&changed_at_key(shop_id))
        .await?
        .and_then(|v| v.parse::<i64>().ok());
    Ok(known.is_none_or(|k| event_time > k))
}

/// Moves the shop's authorization clock to `event_time` (never backwards).
pub async fn note_change_at(
    state: &dyn StateStore,
    shop_id: &str,
    event_time: i64,
) -> Result<(), StateError> {
    let at = u64::try_from(event_time).unwrap_or(0);
    state.raise_to(&changed_at_key(shop_id), at).await?;
    Ok(())
}

/// Whether work for `shop_id` must stop now. A deauthorization superseded by newer tokens
/// is cleared on the way, so re-authorizing by configuring new tokens needs no other step.
pub async fn is_deauthorized(state: &dyn StateStore, shop_id: &str) -> Result<bool, StateError> {
    let Some(rec) = deauthorization(state, shop_id).await? else {
        return Ok(false);
    };
    let token = stored_token(state, shop_id).await?;
    if rec.superseded_by(token.as_ref()) {
        tracing::info!(
            shop_id,
            "TikTok tokens changed since the shop was deauthorized; treating it as re-authorized"
        );
        clear_deauthorization(state, shop_id).await?;
        return Ok(false);
    }
    Ok(true)
}

pub async fn record_expiry_notice(
    state: &dyn StateStore,
    notice: &ExpiryNotice,
) -> Result<(), StateError> {
    let key = expiry_key(&notice.shop_id);
    state.set(&key, &encode(&key, notice)?, None).await
}

pub async fn expiry_notice(
    state: &dyn StateStore,
    shop_id: &str,
) -> Result<Option<ExpiryNotice>, StateError> {
    let key = expiry_key(shop_id);
    match state.get(&key).await? {
        Some(raw) => decode(&key, &raw).map(Some),
        None => Ok(None),
    }
}

/// Everything known about one shop, from state alone: the ingress-only role has no TikTok
/// client, and the token record is what every client shares anyway.
pub async fn shop_status(state: &dyn StateStore, shop_id: &str) -> Result<ShopStatus, StateError> {
    let token = stored_token(state, shop_id).await?;
    let deauth = deauthorization(state, shop_id)
        .await?
        .filter(|d| !d.superseded_by(token.as_ref()));
    let notice = expiry_notice(state, shop_id).await?;
    Ok(ShopStatus {
        shop_id: shop_id.to_string(),
        authorization: if deauth.is_some() {
            "deauthorized"
        } else {
            "authorized"
        },
        deauthorization: deauth,
        authorization_expires_at: notice.map(|n| n.expires_at),
        access_token_expires_at: token.as_ref().and_then(|t| t.access_token_expire_in),
        refresh_token_expires_at: token.as_ref().and_then(|t| t.refresh_token_expire_in),
        token_stored: token.is_some(),
    })
}

impl ShopStatus {
    /// Shop gauges from the shared shop status (refreshed at scrape, so every ingress replica
    /// reports the same values whichever received the webhook or refreshed the token).
    pub fn record_in(&self, metrics: &crate::metrics::Metrics) {
        let shop = self;
        let label = crate::metrics::Shop {
            shop_id: shop.shop_id.clone(),
        };
        if let Some(at) = shop.access_token_expires_at {
            metrics.tiktok_token_expiry.get_or_create(&label).set(at);
        }
        if let Some(at) = shop.authorization_expires_at {
            metrics
                .tiktok_authorization_expiry
                .get_or_create(&label)
                .set(at);
        }
        metrics
            .tiktok_shop_deauthorized
            .get_or_create(&label)
            .set(i64::from(shop.is_deauthorized()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(seed: Option<&str>) -> StoredToken {
        StoredToken {
            access_token: "a".into(),
            access_token_expire_in: None,
            refresh_token: "r".into(),
            refresh_token_expire_in: None,
            seed: seed.map(str::to_string),
        }
    }

    fn deauth(seed: Option<&str>) -> Deauthorization {
        Deauthorization {
            shop_id: "s".into(),
            event_time: None,
            recorded_at_ms: 0,
            message: String::new(),
            token_seed: seed.map(str::to_string),
        }
    }

    #[test]
    fn new_tokens_supersede_a_deauthorization() {
        assert!(deauth(Some("old")).superseded_by(Some(&token(Some("new")))));
        assert!(!deauth(Some("old")).superseded_by(Some(&token(Some("old")))));
    }

    #[test]
    fn without_both_fingerprints_the_deauthorization_stands() {
        assert!(!deauth(None).superseded_by(Some(&token(Some("new")))));
        assert!(!deauth(Some("old")).superseded_by(None));
        assert!(!deauth(Some("old")).superseded_by(Some(&token(None))));
    }
}

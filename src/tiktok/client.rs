//! The TikTok Shop Open API client for one shop: signs every call, keeps the shared access
//! token fresh, paces calls under the per-API QPS budget and backs off on 429s. Errors come
//! back sorted by what the caller should do (`TikTokError::is_retryable`).

pub use super::error::TikTokError;
pub use super::token::{StoredToken, TokenStatus};

use super::error::CODE_ACCESS_TOKEN_EXPIRED;
pub use super::models::{AuthorizedShop, OrderSearch, OrderSearchPage};

use super::models::Order;
use super::ratelimit::ApiRateLimiter;
use super::request::{join_list, sign_request, Signer};
use super::token::{now_unix, TokenKeeper};
use crate::config::TikTokConfig;
use crate::metrics::{self, Metrics};
use crate::state::StateStore;
use http::{HeaderValue, Method};
use parking_lot::Mutex;
use rand::Rng;
use secrecy::ExposeSecret;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// Get Order Detail, 2025 version (the 202309 one is older; the response shape is the same
/// for the fields the bridge reads).
pub const GET_ORDER_DETAIL_PATH: &str = "/order/202507/orders";
pub const SEARCH_ORDERS_PATH: &str = "/order/202309/orders/search";
pub const AUTHORIZED_SHOPS_PATH: &str = "/authorization/202309/shops";
/// Get Order Detail takes at most this many ids per call.
pub const MAX_ORDER_IDS_PER_CALL: usize = 50;

/// How the client itself retries rate-limited calls before giving up with `RateLimited`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    pub max_retries: u32,
    pub base_delay: Duration,
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    /// 4 retries of about 0.1, 0.2, 0.4, 0.8 s (jittered): at most 1.5 s spent waiting.
    fn default() -> Self {
        RetryPolicy {
            max_retries: 4,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(2),
        }
    }
}

impl RetryPolicy {
    /// Exponential with "equal jitter": half fixed, half random, so replicas that were
    /// throttled together do not come back together.
    fn delay(&self, retry: u32) -> Duration {
        let exp = self
            .base_delay
            .saturating_mul(1u32 << retry.min(16))
            .min(self.max_delay);
        let half = exp / 2;
        let jitter = rand::thread_rng().gen_range(0..=half.as_millis() as u64);
        half + Duration::from_millis(jitter)
    }
}

struct Inner {
    cfg: TikTokConfig,
    http: reqwest::Client,
    tokens: TokenKeeper,
    limiter: ApiRateLimiter,
    calls: Mutex<BTreeMap<String, u64>>,
    /// Where request durations go, once `observe` is called.
    metrics: OnceLock<Arc<Metrics>>,
    /// The deployment's shared QPS budget (Redis), once `share_rate_limit` is called.
    shared_limiter: OnceLock<Arc<super::shared_ratelimit::SharedRateLimiter>>,
}

/// Cheap to clone: clones share the token cache, the rate limiter and the counters.
#[derive(Clone)]
pub struct TikTokClient {
    inner: Arc<Inner>,
    retry: RetryPolicy,
}

#[derive(Deserialize)]
struct EnvelopeHead {
    code: Option<i64>,
    #[serde(default)]
    message: String,
    #[serde(default)]
    request_id: Option<String>,
}

#[derive(Deserialize)]
struct EnvelopeData<T> {
    data: Option<T>,
}

#[derive(Debug, Deserialize, Default)]
struct OrdersData {
    #[serde(default)]
    orders: Vec<Order>,
}

#[derive(Debug, Deserialize, Default)]
struct SearchData {
    #[serde(default)]
    orders: Vec<Order>,
    #[serde(default)]
    next_page_token: Option<String>,
    #[serde(default)]
    total_count: u64,
}

#[derive(Debug, Deserialize, Default)]
struct ShopsData {
    #[serde(default)]
    shops: Vec<AuthorizedShop>,
}

#[derive(Serialize)]
struct SearchBody<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    order_status: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    update_time_ge: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    update_time_lt: Option<i64>,
}

/// Reads `{code, message, request_id, data}`; anything but `code == 0` on a 2xx is an error.
fn decode_envelope<T: DeserializeOwned>(
    path: &str,
    http_status: u16,
    body: &[u8],
) -> Result<T, TikTokError> {
    let head: EnvelopeHead = match serde_json::from_slice(body) {
        Ok(head) => head,
        Err(e) if http_status >= 500 || http_status == 429 => {
            return Err(TikTokError::from_answer(
                path,
                http_status,
                None,
                e.to_string(),
                None,
            ))
        }
        Err(e) => {
            return Err(TikTokError::Decode {
                path: path.into(),
                reason: format!("HTTP {http_status}: {e}"),
                request_id: None,
            })
        }
    };
    let ok = head.code == Some(0) && (200..300).contains(&http_status);
    if !ok {
        return Err(TikTokError::from_answer(
            path,
            http_status,
            head.code.filter(|c| *c != 0),
            head.message,
            head.request_id,
        ));
    }
    let decode_err = |e: serde_json::Error| TikTokError::Decode {
        path: path.into(),
        reason: e.to_string(),
        request_id: head.request_id.clone(),
    };
    let data: EnvelopeData<T> = serde_json::from_slice(body).map_err(decode_err)?;
    match data.data {
        Some(d) => Ok(d),
        // Some calls answer `data: null` or omit it; an all-default payload covers those.
        None => serde_json::from_slice(b"{}").map_err(decode_err),
    }
}

/// The API a path belongs to, for QPS budgets and counters: long numeric segments are ids.
pub fn api_template(path: &str) -> String {
    path.split('/')
        .map(|seg| {
            if seg.len() >= 6 && seg.bytes().all(|b| b.is_ascii_digit()) && !is_version(seg) {
                "{id}"
            } else {
                seg
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// API versions look like `202309`: six digits starting with 20.
fn is_version(seg: &str) -> bool {
    seg.len() == 6 && seg.starts_with("20")
}

impl TikTokClient {
    pub fn new(cfg: TikTokConfig, state: Arc<dyn StateStore>) -> Result<Self, TikTokError> {
        if cfg.app_key.is_empty() || cfg.shop_id.is_empty() {
            return Err(TikTokError::Config(
                "app_key and shop_id must be set".into(),
            ));
        }
        url::Url::parse(&cfg.api_base)
            .map_err(|e| TikTokError::Config(format!("api_base {:?}: {e}", cfg.api_base)))?;
        url::Url::parse(&cfg.auth_base)
            .map_err(|e| TikTokError::Config(format!("auth_base {:?}: {e}", cfg.auth_base)))?;
        let http = reqwest::Client::builder()
            .timeout(cfg.timeout)
            .connect_timeout(cfg.timeout.min(Duration::from_secs(5)))
            .build()
            .map_err(|e| TikTokError::Config(e.without_url().to_string()))?;
        Ok(TikTokClient {
            inner: Arc::new(Inner {
                tokens: TokenKeeper::new(&cfg, state),
                limiter: ApiRateLimiter::new(cfg.qps_per_api),
                calls: Mutex::new(BTreeMap::new()),
                metrics: OnceLock::new(),
                shared_limiter: OnceLock::new(),
                http,
                cfg,
            }),
            retry: RetryPolicy::default(),
        })
    }

    pub fn with_retry_policy(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// Report request durations and statuses (`bridge_tiktok_request_duration_seconds`) to
    /// `metrics`, for this client and its clones. The first call wins.
    pub fn observe(&self, metrics: Arc<Metrics>) {
        let _ = self.inner.metrics.set(metrics);
    }

    pub fn shop_id(&self) -> &str {
        &self.inner.cfg.shop_id
    }

    /// Paces calls by the budget every replica shares instead of this process' own.
    pub fn share_rate_limit(&self, limiter: Arc<super::shared_ratelimit::SharedRateLimiter>) {
        let _ = self.inner.shared_limiter.set(limiter);
    }

    /// Waits for a send slot of `api`: the shared budget when there is one (this process'
    /// own pacing if Redis does not answer), else this process' own.
    async fn pace(&self, api: &str) {
        if let Some(shared) = self.inner.shared_limiter.get() {
            match shared.reserve(&self.inner.cfg.shop_id, api).await {
                Ok(wait) => {
                    tokio::time::sleep(wait).await;
                    return;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "shared TikTok rate limit unavailable; pacing locally")
                }
            }
        }
        self.inner.limiter.acquire(api).await;
    }

    /// HTTP requests sent to `endpoint` (an API path template such as
    /// `/order/202309/orders`), retries included.
    pub fn calls(&self, endpoint: &str) -> u64 {
        self.inner.calls.lock().get(endpoint).copied().unwrap_or(0)
    }

    /// Requests sent per API path template.
    pub fn call_counts(&self) -> BTreeMap<String, u64> {
        self.inner.calls.lock().clone()
    }

    pub async fn token_status(&self) -> TokenStatus {
        self.inner.tokens.status().await
    }

    /// Get Order Detail for any number of ids, ≤50 per call. Ids TikTok does not return
    /// (unknown or not this shop's) are simply absent from the result.
    pub async fn get_orders(&self, ids: &[String]) -> Result<Vec<Order>, TikTokError> {
        let calls = ids.chunks(MAX_ORDER_IDS_PER_CALL).map(|chunk| async move {
            let params = [("ids".to_string(), join_list(chunk))];
            self.call_api::<OrdersData>(Method::GET, GET_ORDER_DETAIL_PATH, &params, None)
                .await
        });
        let pages = futures::future::try_join_all(calls).await?;
        Ok(pages.into_iter().flat_map(|p| p.orders).collect())
    }

    /// One page of Search Orders, oldest `update_time` first.
    pub async fn search_orders(&self, req: &OrderSearch) -> Result<OrderSearchPage, TikTokError> {
        let params = [
            ("page_size".to_string(), req.page_size.to_string()),
            (
                "page_token".to_string(),
                req.page_token.clone().unwrap_or_default(),
            ),
            ("sort_field".to_string(), "update_time".to_string()),
            ("sort_order".to_string(), "ASC".to_string()),
        ];
        let body = serde_json::to_vec(&SearchBody {
            order_status: req.order_status.as_deref(),
            update_time_ge: req.update_time_ge,
            update_time_lt: req.update_time_lt,
        })
        .map_err(|e| TikTokError::Config(format!("search body: {e}")))?;
        let data: SearchData = self
            .call_api(Method::POST, SEARCH_ORDERS_PATH, &params, Some(body))
            .await?;
        Ok(OrderSearchPage {
            orders: data.orders,
            next_page_token: data.next_page_token.filter(|t| !t.is_empty()),
            total_count: data.total_count,
        })
    }

    /// Get Authorized Shops: the shops this app may act for, with their ciphers.
    pub async fn authorized_shops(&self) -> Result<Vec<AuthorizedShop>, TikTokError> {
        let data: ShopsData = self
            .call_api(Method::GET, AUTHORIZED_SHOPS_PATH, &[], None)
            .await?;
        Ok(data.shops)
    }

    /// Any Open API call: `params` are the API's own query parameters (lists already
    /// comma-joined), `body` the serialized JSON that is signed and sent as is.
    pub async fn call_api<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        params: &[(String, String)],
        body: Option<Vec<u8>>,
    ) -> Result<T, TikTokError> {
        let api = api_template(path);
        let mut refreshed = false;
        let mut throttled = 0u32;
        loop {
            let token = self.access_token().await?;
            self.pace(&api).await;
            let outcome = self
                .send_once(method.clone(), path, &api, params, body.clone(), &token)
                .await;
            match outcome {
                Err(e) if e.code() == Some(CODE_ACCESS_TOKEN_EXPIRED) && !refreshed => {
                    tracing::info!(path, request_id = ?e.request_id(), "TikTok access token expired; refreshing once");
                    refreshed = true;
                    self.inner
                        .tokens
                        .refresh(&self.inner.http, &self.inner.cfg, &token)
                        .await?;
                }
                Err(e @ TikTokError::RateLimited { .. }) if throttled < self.retry.max_retries => {
                    let wait = self.retry.delay(throttled);
                    throttled += 1;
                    tracing::debug!(path, request_id = ?e.request_id(), retry = throttled, ?wait, "TikTok rate limited; backing off");
                    tokio::time::sleep(wait).await;
                }
                Err(e) => {
                    tracing::warn!(path, code = ?e.code(), request_id = ?e.request_id(), error = %e, "TikTok API call failed");
                    return Err(e);
                }
                Ok(v) => return Ok(v),
            }
        }
    }

    /// The token to send now, refreshed ahead of expiry. A failed early refresh is not
    /// fatal while the current token still works.
    async fn access_token(&self) -> Result<String, TikTokError> {
        let tokens = &self.inner.tokens;
        let tok = tokens.current().await?;
        let now = now_unix();
        if !tok.expiring_soon(now) || (!tok.expired(now) && !tokens.early_refresh_due(now)) {
            return Ok(tok.access_token);
        }
        match tokens
            .refresh(&self.inner.http, &self.inner.cfg, &tok.access_token)
            .await
        {
            Ok(fresh) => Ok(fresh.access_token),
            Err(e) if !tok.expired(now) => {
                tokens.early_refresh_failed(now);
                tracing::warn!(error = %e, "early TikTok token refresh failed; using the current token");
                Ok(tok.access_token)
            }
            Err(e) => Err(e),
        }
    }

    async fn send_once<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        api: &str,
        params: &[(String, String)],
        body: Option<Vec<u8>>,
        token: &str,
    ) -> Result<T, TikTokError> {
        let cfg = &self.inner.cfg;
        let signer = Signer {
            app_key: &cfg.app_key,
            app_secret: cfg.app_secret.expose_secret(),
            shop_cipher: &cfg.shop_cipher,
        };
        let req = sign_request(signer, method, path, params, body, now_unix());
        let url = req
            .url(&cfg.api_base)
            .map_err(|e| TikTokError::Config(format!("api_base: {e}")))?;
        let mut token_header = HeaderValue::from_str(token)
            .map_err(|_| TikTokError::Config("access token is not a valid header value".into()))?;
        token_header.set_sensitive(true);

        let method = req.method.to_string();
        let mut builder = self
            .inner
            .http
            .request(req.method, url)
            .header("x-tts-access-token", token_header)
            .header(http::header::CONTENT_TYPE, "application/json");
        if let Some(bytes) = req.body {
            builder = builder.body(bytes);
        }
        *self.inner.calls.lock().entry(api.to_string()).or_default() += 1;
        let started = std::time::Instant::now();
        let answer = match builder.send().await {
            Ok(resp) => {
                let status = resp.status().as_u16();
                resp.bytes().await.map(|b| (status, b))
            }
            Err(e) => Err(e),
        };
        if let Some(m) = self.inner.metrics.get() {
            let status = match &answer {
                Ok((status, _)) => metrics::status_label(Some(*status), false),
                Err(e) => metrics::status_label(e.status().map(|s| s.as_u16()), e.is_timeout()),
            };
            m.tiktok_request(&method, api, status, started.elapsed().as_secs_f64());
        }
        let (status, bytes) = answer.map_err(|e| TikTokError::from_transport(path, e))?;
        decode_envelope(path, status, &bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelope_with_code_zero_yields_data() {
        let body = br#"{"code":0,"message":"Success","request_id":"r1","data":{"orders":[{"id":"576486316948490001","status":"AWAITING_SHIPMENT"}]}}"#;
        let data: OrdersData = decode_envelope("/o", 200, body).unwrap();
        assert_eq!(data.orders[0].id, "576486316948490001");
    }

    #[test]
    fn envelope_with_null_data_is_empty() {
        let body = br#"{"code":0,"message":"Success","request_id":"r1","data":null}"#;
        let data: OrdersData = decode_envelope("/o", 200, body).unwrap();
        assert!(data.orders.is_empty());
    }

    #[test]
    fn nonzero_code_on_http_200_is_an_error() {
        let body = br#"{"code":21008111,"message":"not yours","request_id":"r2","data":null}"#;
        let err = decode_envelope::<OrdersData>("/o", 200, body).unwrap_err();
        assert_eq!(err.code(), Some(21008111));
        assert_eq!(err.request_id(), Some("r2"));
        assert!(!err.is_retryable());
    }

    #[test]
    fn real_invalid_sign_answer_is_auth() {
        let body = br#"{"code":106001,"data":null,"message":"Invalid credentials. The 'sign' query parameter is invalid. For more details: https://m.tiktok.shop/s/AIu6dbFhs2XW","request_id":"202606190151522272D4695E9B9043B79E"}"#;
        let err = decode_envelope::<OrdersData>("/o", 401, body).unwrap_err();
        assert!(matches!(err, TikTokError::Auth { code: 106001, .. }));
    }

    #[test]
    fn html_gateway_error_is_transient_and_html_200_is_decode() {
        let html = b"<html>bad gateway</html>";
        assert!(decode_envelope::<OrdersData>("/o", 502, html)
            .unwrap_err()
            .is_retryable());
        assert!(matches!(
            decode_envelope::<OrdersData>("/o", 200, html).unwrap_err(),
            TikTokError::Decode { .. }
        ));
    }

    #[test]
    fn templates_hide_ids_but_keep_versions() {
        assert_eq!(
            api_template("/fulfillment/202309/packages/1152921504636479234/ship"),
            "/fulfillment/202309/packages/{id}/ship"
        );
        assert_eq!(api_template("/order/202309/orders"), "/order/202309/orders");
    }

    #[test]
    fn backoff_grows_and_stays_capped() {
        let policy = RetryPolicy::default();
        for retry in 0..10 {
            let d = policy.delay(retry);
            assert!(d <= policy.max_delay);
            let exp = policy
                .base_delay
                .saturating_mul(1 << retry)
                .min(policy.max_delay);
            assert!(d >= exp / 2);
        }
    }
}

//! The real `TikTokClient` against the TikTok sandbox over HTTP: batching, paging, signing,
//! timestamps, token refresh, rate limits and shop-cipher rules, asserted on what the
//! sandbox saw.

#[allow(dead_code)]
#[path = "common/sandbox_link.rs"]
mod sandbox_link;
use sandbox_link::TikTokClientConfig as _;

use async_trait::async_trait;
use bridge::state::{ParkedJob, StateError, StateStore};
use bridge::tiktok::client::{OrderSearch, RetryPolicy, TikTokClient, TikTokError};
use bridge::tiktok::request::{sign_request, Signer};
use bridge::tiktok::sign::{api_sign, verify_webhook};
use bridge::tiktok::token::StoredToken;
use http::Method;
use parking_lot::Mutex;
use rust_decimal_macros::dec;
use sandbox::tiktok::{
    router, sample_order, Fault, SampleLine, TikTokSandbox, TikTokSandboxConfig,
};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const ORDERS: &str = bridge::tiktok::client::GET_ORDER_DETAIL_PATH;
const SEARCH: &str = "/order/202309/orders/search";
const SHOPS: &str = "/authorization/202309/shops";
const REFRESH: &str = "/api/v2/token/refresh";

/// Just enough of a state store for the token to be shared between clients.
#[derive(Default)]
struct MemState {
    values: Mutex<HashMap<String, String>>,
    locks: Mutex<HashMap<String, String>>,
}

#[async_trait]
impl StateStore for MemState {
    async fn try_lock(&self, key: &str, owner: &str, _ttl: Duration) -> Result<bool, StateError> {
        let mut locks = self.locks.lock();
        match locks.get(key) {
            Some(o) if o != owner => Ok(false),
            _ => {
                locks.insert(key.into(), owner.into());
                Ok(true)
            }
        }
    }
    async fn unlock(&self, key: &str, owner: &str) -> Result<(), StateError> {
        let mut locks = self.locks.lock();
        if locks.get(key).is_some_and(|o| o == owner) {
            locks.remove(key);
        }
        Ok(())
    }
    async fn get(&self, key: &str) -> Result<Option<String>, StateError> {
        Ok(self.values.lock().get(key).cloned())
    }
    async fn set(&self, key: &str, value: &str, _ttl: Option<Duration>) -> Result<(), StateError> {
        self.values.lock().insert(key.into(), value.into());
        Ok(())
    }
    async fn delete(&self, key: &str) -> Result<(), StateError> {
        self.values.lock().remove(key);
        Ok(())
    }
    async fn get_many(&self, keys: &[String]) -> Result<Vec<Option<String>>, StateError> {
        let values = self.values.lock();
        Ok(keys.iter().map(|k| values.get(k).cloned()).collect())
    }
    async fn list_push(&self, _key: &str, _entry: &str, _max: usize) -> Result<(), StateError> {
        Ok(())
    }
    async fn list_range(&self, _key: &str) -> Result<Vec<String>, StateError> {
        Ok(Vec::new())
    }
    async fn park(&self, _parked: &ParkedJob) -> Result<(), StateError> {
        Ok(())
    }
    async fn parked(&self) -> Result<Vec<ParkedJob>, StateError> {
        Ok(Vec::new())
    }
    async fn unpark(&self, _job_id: &str) -> Result<Option<ParkedJob>, StateError> {
        Ok(None)
    }
    // The token tests never touch hashes or counters; refusing loudly beats faking them.
    async fn hash_set(&self, _k: &str, _f: &str, _v: &str) -> Result<(), StateError> {
        Err(StateError::Unavailable("MemState has no hashes".into()))
    }
    async fn hash_delete(&self, _k: &str, _f: &[String]) -> Result<(), StateError> {
        Err(StateError::Unavailable("MemState has no hashes".into()))
    }
    async fn hash_delete_if(&self, _k: &str, _f: &str, _e: &str) -> Result<bool, StateError> {
        Err(StateError::Unavailable("MemState has no hashes".into()))
    }
    async fn hash_all(&self, _k: &str) -> Result<Vec<(String, String)>, StateError> {
        Err(StateError::Unavailable("MemState has no hashes".into()))
    }
    async fn incr_by(&self, _k: &str, _by: u64) -> Result<u64, StateError> {
        Err(StateError::Unavailable("MemState has no counters".into()))
    }
    async fn raise_to(&self, _k: &str, _v: u64) -> Result<bool, StateError> {
        Err(StateError::Unavailable("MemState has no counters".into()))
    }
    async fn lock_fenced(&self, _k: &str, _t: Duration) -> Result<Option<u64>, StateError> {
        Err(StateError::Unavailable(
            "MemState has no fenced locks".into(),
        ))
    }
    async fn renew_fenced(&self, _k: &str, _tok: u64, _t: Duration) -> Result<bool, StateError> {
        Err(StateError::Unavailable(
            "MemState has no fenced locks".into(),
        ))
    }
    async fn unlock_fenced(&self, _k: &str, _tok: u64) -> Result<bool, StateError> {
        Err(StateError::Unavailable(
            "MemState has no fenced locks".into(),
        ))
    }
}

struct Harness {
    sb: Arc<TikTokSandbox>,
    base: String,
    state: Arc<MemState>,
}

impl Harness {
    async fn start(cfg: TikTokSandboxConfig) -> Harness {
        let sb = TikTokSandbox::new(cfg);
        let addr = sb.serve("127.0.0.1:0".parse().unwrap()).await.unwrap();
        Harness {
            sb,
            base: format!("http://{addr}"),
            state: Arc::new(MemState::default()),
        }
    }

    async fn default() -> Harness {
        Harness::start(TikTokSandboxConfig::default()).await
    }

    fn client(&self) -> TikTokClient {
        let cfg = self.sb.config().client_config(&self.base);
        TikTokClient::new(cfg, self.state.clone()).unwrap()
    }

    /// A signed request built by hand, for what the real client would never send. A body
    /// makes it a POST.
    async fn raw(
        &self,
        path: &str,
        params: &[(&str, &str)],
        body: Option<&str>,
        tweak: impl FnOnce(&mut Vec<(String, String)>),
        timestamp: i64,
        secret: &str,
    ) -> (u16, Value) {
        let cfg = self.sb.config();
        let method = if body.is_some() {
            Method::POST
        } else {
            Method::GET
        };
        let params: Vec<(String, String)> = params
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let mut req = sign_request(
            Signer {
                app_key: &cfg.app_key,
                app_secret: secret,
                shop_cipher: &cfg.shop_cipher,
            },
            method.clone(),
            path,
            &params,
            body.map(|b| b.as_bytes().to_vec()),
            timestamp,
        );
        tweak(&mut req.query);
        let url = req.url(&self.base).unwrap();
        let mut rb = reqwest::Client::new()
            .request(method, url)
            .header("x-tts-access-token", self.sb.access_token())
            .header("content-type", "application/json");
        if let Some(b) = req.body {
            rb = rb.body(b);
        }
        let resp = rb.send().await.unwrap();
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap())
    }
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn order_ids(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("5764863169484{i:05}")).collect()
}

fn insert_orders(sb: &TikTokSandbox, ids: &[String]) {
    for id in ids {
        let line = SampleLine::new("SKU-1", dec!(10.00), 1);
        sb.insert_order(sample_order(id, "AWAITING_SHIPMENT", &[line]))
            .unwrap();
    }
}

#[tokio::test]
async fn get_orders_batches_120_ids_into_3_calls() {
    let h = Harness::default().await;
    let ids = order_ids(120);
    insert_orders(&h.sb, &ids);
    let client = h.client();

    let orders = client.get_orders(&ids).await.unwrap();

    assert_eq!(orders.len(), 120);
    let mut got: Vec<_> = orders.iter().map(|o| o.id.clone()).collect();
    got.sort();
    assert_eq!(got, ids);
    assert_eq!(h.sb.calls(ORDERS), 3);
    assert_eq!(client.calls(ORDERS), 3);
}

#[tokio::test]
async fn get_orders_with_no_ids_makes_no_call() {
    let h = Harness::default().await;
    let client = h.client();
    assert!(client.get_orders(&[]).await.unwrap().is_empty());
    assert_eq!(h.sb.calls(ORDERS), 0);
}

#[tokio::test]
async fn search_pages_through_a_window_oldest_first() {
    let h = Harness::default().await;
    let base = now() - 10_000;
    for (i, id) in order_ids(25).iter().enumerate() {
        let mut o = sample_order(id, "AWAITING_SHIPMENT", &[SampleLine::new("S", dec!(1), 1)]);
        // Out of insertion order, to prove the sandbox sorts by update_time.
        o["update_time"] = json!(base + ((i as i64 * 7) % 25));
        h.sb.insert_order(o).unwrap();
    }
    let mut outside = sample_order(
        "999",
        "AWAITING_SHIPMENT",
        &[SampleLine::new("S", dec!(1), 1)],
    );
    outside["update_time"] = json!(base + 100);
    h.sb.insert_order(outside).unwrap();
    let client = h.client();

    let mut req = OrderSearch {
        update_time_ge: Some(base),
        update_time_lt: Some(base + 25),
        order_status: None,
        page_size: 10,
        page_token: None,
    };
    let mut seen = Vec::new();
    let mut pages = 0;
    loop {
        let page = client.search_orders(&req).await.unwrap();
        assert_eq!(page.total_count, 25);
        pages += 1;
        seen.extend(
            page.orders
                .iter()
                .map(|o| (o.update_time.unwrap(), o.id.clone())),
        );
        match page.next_page_token {
            Some(t) => req.page_token = Some(t),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen.len(), 25);
    assert!(seen.windows(2).all(|w| w[0].0 <= w[1].0), "not ascending");
    assert!(seen.iter().all(|(_, id)| id != "999"));
    assert_eq!(h.sb.calls(SEARCH), 3);
}

#[tokio::test]
async fn search_filters_by_status() {
    let h = Harness::default().await;
    let ids = order_ids(4);
    insert_orders(&h.sb, &ids);
    h.sb.set_status(&ids[1], "CANCELLED");
    let page = h
        .client()
        .search_orders(&OrderSearch {
            order_status: Some("CANCELLED".into()),
            ..OrderSearch::default()
        })
        .await
        .unwrap();
    assert_eq!(page.total_count, 1);
    assert_eq!(page.orders[0].id, ids[1]);
}

#[tokio::test]
async fn forged_sign_is_rejected_with_106001() {
    let h = Harness::default().await;
    let (status, body) = h
        .raw(SHOPS, &[], None, |_| {}, now(), "not_the_secret")
        .await;
    assert_eq!(status, 401);
    assert_eq!(body["code"], 106001);
    assert!(body["message"]
        .as_str()
        .unwrap()
        .starts_with("Invalid credentials. The 'sign' query parameter is invalid."));
    assert!(body["data"].is_null());
    assert_eq!(body["request_id"].as_str().unwrap().len(), 34);

    let mut cfg = h.sb.config().client_config(&h.base);
    cfg.app_secret = "not_the_secret".to_string().into();
    let err = TikTokClient::new(cfg, h.state.clone())
        .unwrap()
        .get_orders(&order_ids(1))
        .await
        .unwrap_err();
    assert!(
        matches!(err, TikTokError::Auth { code: 106001, .. }),
        "{err:?}"
    );
    assert!(!err.is_retryable());
}

#[tokio::test]
async fn a_body_changed_after_signing_is_rejected() {
    let h = Harness::default().await;
    let secret = h.sb.config().app_secret.clone();
    let (status, body) = h
        .raw(
            SEARCH,
            &[("page_size", "10")],
            Some(r#"{"order_status":"UNPAID"}"#),
            |q| q.push(("page_token".into(), "x".into())),
            now(),
            &secret,
        )
        .await;
    assert_eq!((status, body["code"].as_i64()), (401, Some(106001)));
}

#[tokio::test]
async fn timestamps_outside_the_window_are_rejected() {
    let h = Harness::default().await;
    let secret = h.sb.config().app_secret.clone();
    for (ts, accepted) in [
        (now() - 400, false),
        (now() + 90, false),
        (now() - 200, true),
        (now() + 10, true),
    ] {
        let (status, body) = h.raw(SHOPS, &[], None, |_| {}, ts, &secret).await;
        if accepted {
            assert_eq!(body["code"], 0, "ts offset {}", ts - now());
        } else {
            assert_eq!(status, 401);
            assert_eq!(body["code"], 36009004, "ts offset {}", ts - now());
        }
    }
}

#[tokio::test]
async fn shop_cipher_on_authorization_is_rejected_but_required_elsewhere() {
    let h = Harness::default().await;
    let secret = h.sb.config().app_secret.clone();
    let cipher = h.sb.config().shop_cipher.clone();
    let (_, body) = h
        .raw(
            SHOPS,
            &[],
            None,
            |q| {
                // Signed with the cipher, so only the cipher rule can reject it.
                q.retain(|(k, _)| k != "sign");
                q.push(("shop_cipher".into(), cipher.clone()));
                let sign = api_sign(&secret, SHOPS, q, b"");
                q.push(("sign".into(), sign));
            },
            now(),
            &secret,
        )
        .await;
    assert_eq!(body["code"], 36009004);
    assert!(body["message"]
        .as_str()
        .unwrap()
        .contains("shop_cipher query parameter is not required"));

    // The re-signed request without a cipher where one is needed: 106013.
    let mut no_cipher = h.sb.config().client_config(&h.base);
    no_cipher.shop_cipher = String::new();
    let err = TikTokClient::new(no_cipher, h.state.clone())
        .unwrap()
        .get_orders(&order_ids(1))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(106013));

    let shops = h.client().authorized_shops().await.unwrap();
    assert_eq!(shops[0].cipher, cipher);
    assert_eq!(shops[0].id, h.sb.config().shop_id);
}

#[tokio::test]
async fn expired_token_causes_exactly_one_refresh_then_success() {
    let h = Harness::default().await;
    let ids = order_ids(3);
    insert_orders(&h.sb, &ids);
    let client = h.client();
    client.get_orders(&ids).await.unwrap();
    let before = client.token_status().await;
    assert_eq!(
        before.access_token_expire_in, None,
        "seeded expiry is unknown"
    );

    h.sb.expire_access_token();
    let orders = client.get_orders(&ids).await.unwrap();

    assert_eq!(orders.len(), 3);
    assert_eq!(h.sb.refreshes(), 1);
    assert_eq!(h.sb.calls(REFRESH), 1);
    assert_eq!(h.sb.calls(ORDERS), 3, "first call, the 105002, the retry");
    let status = client.token_status().await;
    assert!(status.access_token_expire_in.unwrap() > now() + 86_400);
    let stored: Value = serde_json::from_str(
        &h.state
            .get(&format!("tiktok:token:{}", h.sb.config().shop_id))
            .await
            .unwrap()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(stored["access_token"], h.sb.access_token());
}

#[tokio::test]
async fn a_burst_after_expiry_refreshes_once() {
    let h = Harness::default().await;
    let ids = order_ids(1);
    insert_orders(&h.sb, &ids);
    let client = h.client();
    h.sb.expire_access_token();

    let calls = (0..10).map(|_| client.get_orders(&ids));
    for r in futures::future::join_all(calls).await {
        assert_eq!(r.unwrap().len(), 1);
    }
    assert_eq!(h.sb.refreshes(), 1);
}

#[tokio::test]
async fn replicas_share_the_refreshed_token() {
    let h = Harness::default().await;
    let ids = order_ids(1);
    insert_orders(&h.sb, &ids);
    let (a, b) = (h.client(), h.client());
    b.get_orders(&ids).await.unwrap();
    h.sb.expire_access_token();

    a.get_orders(&ids).await.unwrap();
    // b still holds the old token in memory; it gets 105002 and adopts a's refresh.
    b.get_orders(&ids).await.unwrap();

    assert_eq!(h.sb.refreshes(), 1);
}

#[tokio::test]
async fn a_second_105002_after_the_refresh_is_an_auth_error() {
    let h = Harness::default().await;
    let client = h.client();
    h.sb.set_fault(Fault::NextCalls {
        path: Some(ORDERS.into()),
        count: 2,
        http_status: 401,
        code: 105002,
        message: None,
    });
    let err = client.get_orders(&order_ids(1)).await.unwrap_err();
    assert!(
        matches!(err, TikTokError::Auth { code: 105002, .. }),
        "{err:?}"
    );
    assert_eq!(h.sb.refreshes(), 1);
    assert_eq!(h.sb.calls(ORDERS), 2);
}

/// Stores the configured token with a known expiry, as if an earlier refresh had set it.
async fn store_token_expiring_in(h: &Harness, secs: i64) {
    let cfg = h.sb.config().client_config(&h.base);
    let mut tok = StoredToken::from_config(&cfg);
    tok.access_token_expire_in = Some(now() + secs);
    h.state
        .set(
            &StoredToken::state_key(&cfg.shop_id),
            &serde_json::to_string(&tok).unwrap(),
            None,
        )
        .await
        .unwrap();
}

#[tokio::test]
async fn token_close_to_expiry_is_refreshed_before_the_call() {
    let h = Harness::default().await;
    let ids = order_ids(1);
    insert_orders(&h.sb, &ids);
    store_token_expiring_in(&h, 120).await;
    let client = h.client();

    client.get_orders(&ids).await.unwrap();

    assert_eq!(h.sb.refreshes(), 1, "refreshed ahead of expiry");
    assert_eq!(h.sb.calls(ORDERS), 1, "no 105002 round trip");
    assert!(client.token_status().await.access_token_expire_in.unwrap() > now() + 86_400);
}

#[tokio::test]
async fn a_failed_early_refresh_keeps_using_the_valid_token() {
    let h = Harness::default().await;
    let ids = order_ids(1);
    insert_orders(&h.sb, &ids);
    store_token_expiring_in(&h, 120).await;
    h.sb.set_fault(Fault::NextCalls {
        path: Some(REFRESH.into()),
        count: 1,
        http_status: 503,
        code: 36009003,
        message: None,
    });

    let client = h.client();
    let orders = client.get_orders(&ids).await.unwrap();
    client.get_orders(&ids).await.unwrap();

    assert_eq!(orders.len(), 1);
    assert_eq!(h.sb.calls(REFRESH), 1, "the failure pauses early refreshes");
    assert_eq!(h.sb.refreshes(), 0);
}

#[tokio::test]
async fn changed_configured_tokens_replace_the_stored_ones() {
    let h = Harness::default().await;
    let mut stale = StoredToken::from_config(&h.sb.config().client_config(&h.base));
    stale.access_token = "token_from_a_previous_authorization".into();
    stale.seed = Some("old-fingerprint".into());
    h.state
        .set(
            &StoredToken::state_key(&h.sb.config().shop_id),
            &serde_json::to_string(&stale).unwrap(),
            None,
        )
        .await
        .unwrap();
    assert_eq!(h.client().authorized_shops().await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_429_storm_is_absorbed_by_backoff() {
    let h = Harness::default().await;
    let ids = order_ids(2);
    insert_orders(&h.sb, &ids);
    h.sb.set_fault(Fault::NextCalls {
        path: Some(ORDERS.into()),
        count: 3,
        http_status: 429,
        code: 36009002,
        message: None,
    });
    let start = Instant::now();
    let orders = h.client().get_orders(&ids).await.unwrap();
    assert_eq!(orders.len(), 2);
    assert_eq!(h.sb.calls(ORDERS), 4);
    assert!(start.elapsed() >= Duration::from_millis(150), "backed off");
}

#[tokio::test]
async fn an_endless_429_storm_ends_in_rate_limited() {
    let h = Harness::default().await;
    h.sb.set_fault(Fault::NextCalls {
        path: Some(ORDERS.into()),
        count: 100,
        http_status: 429,
        code: 36009002,
        message: None,
    });
    let client = h.client().with_retry_policy(RetryPolicy {
        max_retries: 2,
        base_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(50),
    });
    let err = client.get_orders(&order_ids(1)).await.unwrap_err();
    assert!(matches!(err, TikTokError::RateLimited { .. }), "{err:?}");
    assert!(err.is_retryable());
    assert_eq!(h.sb.calls(ORDERS), 3);
}

#[tokio::test]
async fn transient_codes_and_timeouts_are_retryable() {
    let h = Harness::default().await;
    h.sb.set_fault(Fault::NextCalls {
        path: None,
        count: 1,
        http_status: 200,
        code: 36009003,
        message: None,
    });
    let err = h.client().get_orders(&order_ids(1)).await.unwrap_err();
    assert!(matches!(
        err,
        TikTokError::Transient {
            code: Some(36009003),
            ..
        }
    ));
    assert!(err.is_retryable());

    h.sb.set_fault(Fault::Latency { ms: 800 });
    let mut cfg = h.sb.config().client_config(&h.base);
    cfg.timeout = Duration::from_millis(200);
    let err = TikTokClient::new(cfg, h.state.clone())
        .unwrap()
        .get_orders(&order_ids(1))
        .await
        .unwrap_err();
    assert!(matches!(err, TikTokError::Transient { .. }), "{err:?}");
    assert!(err.is_retryable());
}

#[tokio::test]
async fn sandbox_enforces_qps_and_the_client_stays_under_it() {
    let h = Harness::start(TikTokSandboxConfig {
        qps_per_api: 5,
        ..TikTokSandboxConfig::default()
    })
    .await;
    let secret = h.sb.config().app_secret.clone();
    let burst = (0..8).map(|_| h.raw(SHOPS, &[], None, |_| {}, now(), &secret));
    let answers = futures::future::join_all(burst).await;
    let limited: Vec<_> = answers.iter().filter(|(s, _)| *s == 429).collect();
    assert_eq!(limited.len(), 3);
    assert!(limited.iter().all(|(_, b)| b["code"] == 36009002));

    let ids = order_ids(1);
    insert_orders(&h.sb, &ids);
    let client = h.client().with_retry_policy(RetryPolicy {
        max_retries: 0,
        ..RetryPolicy::default()
    });
    let start = Instant::now();
    let calls = (0..11).map(|_| client.get_orders(&ids));
    for r in futures::future::join_all(calls).await {
        r.unwrap();
    }
    assert!(
        start.elapsed() >= Duration::from_secs(2),
        "paced by the client"
    );
    assert_eq!(h.sb.calls(ORDERS), 11, "no 429 was needed");
}

#[tokio::test]
async fn requests_without_valid_credentials_are_refused() {
    let h = Harness::default().await;
    let url = format!("{}{}", h.base, SHOPS);
    let plain: Value = reqwest::get(&url).await.unwrap().json().await.unwrap();
    assert_eq!(plain["code"], 36009004);

    let mut cfg = h.sb.config().client_config(&h.base);
    cfg.access_token = "someone_elses_token".to_string().into();
    let err = TikTokClient::new(cfg, Arc::new(MemState::default()))
        .unwrap()
        .authorized_shops()
        .await
        .unwrap_err();
    assert!(
        matches!(err, TikTokError::Auth { code: 36009004, .. }),
        "{err:?}"
    );
    assert_eq!(h.sb.refreshes(), 0, "an unknown token is not refreshed");

    let secret = h.sb.config().app_secret.clone();
    let cfg = h.sb.config().clone();
    let req = sign_request(
        Signer {
            app_key: &cfg.app_key,
            app_secret: &secret,
            shop_cipher: &cfg.shop_cipher,
        },
        Method::POST,
        SEARCH,
        &[("page_size".into(), "10".into())],
        Some(b"{}".to_vec()),
        now(),
    );
    let resp = reqwest::Client::new()
        .post(req.url(&h.base).unwrap())
        .header("x-tts-access-token", h.sb.access_token())
        .header("content-type", "text/plain")
        .body(req.body.unwrap())
        .send()
        .await
        .unwrap();
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["code"], 36009022);
}

#[tokio::test]
async fn more_than_50_ids_is_an_error_envelope() {
    let h = Harness::default().await;
    let secret = h.sb.config().app_secret.clone();
    let ids = order_ids(51).join(",");
    let (status, body) = h
        .raw(ORDERS, &[("ids", &ids)], None, |_| {}, now(), &secret)
        .await;
    assert_eq!(status, 400);
    assert_ne!(body["code"], 0);
    let (_, ok) = h
        .raw(
            "/order/202507/orders",
            &[("ids", &order_ids(50).join(","))],
            None,
            |_| {},
            now(),
            &secret,
        )
        .await;
    assert_eq!(ok["code"], 0);
}

#[tokio::test]
async fn webhooks_are_signed_as_tiktok_signs_them() {
    let received: Arc<Mutex<Vec<(bool, Value)>>> = Arc::default();
    let sink = received.clone();
    let cfg = TikTokSandboxConfig::default();
    let (key, secret) = (cfg.app_key.clone(), cfg.app_secret.clone());
    let app = axum::Router::new().route(
        "/webhooks/tiktok",
        axum::routing::post(move |headers: http::HeaderMap, body: axum::body::Bytes| {
            let sink = sink.clone();
            let (key, secret) = (key.clone(), secret.clone());
            async move {
                let auth = headers
                    .get("authorization")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default();
                let ok = verify_webhook(&key, &secret, &body, auth);
                sink.lock()
                    .push((ok, serde_json::from_slice(&body).unwrap()));
                if ok {
                    http::StatusCode::OK
                } else {
                    http::StatusCode::UNAUTHORIZED
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hook = format!("http://{}/webhooks/tiktok", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let h = Harness::start(cfg).await;
    let ids = order_ids(1);
    insert_orders(&h.sb, &ids);
    h.sb.set_status(&ids[0], "CANCELLED");
    let data = h.sb.webhook_data(1, &ids[0]).unwrap();
    assert_eq!(data["order_status"], "CANCEL");

    assert_eq!(
        h.sb.send_webhook(&hook, 1, data.clone()).await.unwrap(),
        200
    );
    for _ in 0..2 {
        let s =
            h.sb.send_webhook_with_id(&hook, 1, "7327112393057371910", data.clone())
                .await
                .unwrap();
        assert_eq!(s, 200);
    }
    let got = received.lock().clone();
    assert_eq!(got.len(), 3);
    assert!(got.iter().all(|(ok, _)| *ok));
    assert_eq!(
        got[1].1["tts_notification_id"],
        got[2].1["tts_notification_id"]
    );
    assert_ne!(
        got[0].1["tts_notification_id"],
        got[1].1["tts_notification_id"]
    );
    assert_eq!(got[0].1["shop_id"], h.sb.config().shop_id);
    assert_eq!(got[0].1["type"], 1);
}

#[tokio::test]
async fn control_api_drives_the_sandbox() {
    let h = Harness::default().await;
    let http = reqwest::Client::new();
    let ctl = |p: &str| format!("{}/_sandbox/tiktok{p}", h.base);

    let created = http
        .post(ctl("/orders"))
        .json(&json!({
            "order_id": "576486316948499999",
            "status": "ON_HOLD",
            "lines": [{"seller_sku":"A","sku_id":"1","product_id":"2","unit_price":"9.99","quantity":2}]
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let r = http
        .post(ctl("/orders/576486316948499999/status"))
        .json(&json!({"status":"AWAITING_SHIPMENT"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let order: Value = http
        .get(ctl("/orders/576486316948499999"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(order["status"], "AWAITING_SHIPMENT");
    assert_eq!(order["line_items"].as_array().unwrap().len(), 2);

    let r = http
        .post(ctl("/faults"))
        .json(
            &json!({"kind":"next_calls","path":ORDERS,"count":1,"http_status":503,"code":36009003}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let client = h.client();
    assert!(client
        .get_orders(&["576486316948499999".into()])
        .await
        .unwrap_err()
        .is_retryable());
    let got = client
        .get_orders(&["576486316948499999".into()])
        .await
        .unwrap();
    assert_eq!(got[0].line_items.len(), 2);

    let stats: Value = http
        .get(ctl("/stats"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(stats["calls"][ORDERS], 2);
    assert_eq!(
        http.delete(ctl("/faults")).send().await.unwrap().status(),
        204
    );
    let unknown: Value = http
        .get(format!("{}/order/202309/nope", h.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(unknown["code"], 36009009);
    let elsewhere = http
        .get(format!("{}/services/rest/x", h.base))
        .send()
        .await
        .unwrap();
    assert_eq!(elsewhere.status(), 404);
}

#[tokio::test]
async fn router_can_be_mounted_by_the_caller() {
    // The demo mounts the router itself; it must work without `serve`.
    let sb = TikTokSandbox::new(TikTokSandboxConfig::default());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let app = router(sb.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });
    let client = TikTokClient::new(
        sb.config().client_config(&base),
        Arc::new(MemState::default()),
    )
    .unwrap();
    assert_eq!(client.authorized_shops().await.unwrap().len(), 1);
    assert_eq!(sb.calls(SHOPS), 1);
}

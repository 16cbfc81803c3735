//! A simulated TikTok Shop: the Open API paths the bridge calls, the token host, and signed
//! webhooks, checked and shaped as the real service does (reference §3, §4, §5, §10, §11).
//! Holds orders, tokens, call counters and injected faults; driven from Rust or over HTTP.

mod after_sale;
mod api;
mod control;
mod finance;
pub mod fixtures;
mod fulfillment;
mod inventory;
pub mod signing;

pub use finance::{AdjustmentSpec, FeeRates, ReserveSpec, StatementSpec};
pub use fulfillment::{SandboxPackage, ShipCall, DEFAULT_SHIPPING_PROVIDERS};
pub use inventory::SoldOut;

pub use fixtures::{
    sample_address, sample_order, sample_order_with, DistrictInfo, RecipientAddress, SampleLine,
    SampleOrderOptions,
};

use fixtures::now_unix;
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use signing::webhook_authorization;
use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
pub struct TikTokSandboxConfig {
    pub app_key: String,
    pub app_secret: String,
    pub shop_id: String,
    pub shop_cipher: String,
    pub access_token: String,
    pub refresh_token: String,
    pub access_token_ttl: Duration,
    pub refresh_token_ttl: Duration,
    /// Calls per second per API path before answering 429 / 36009002.
    pub qps_per_api: u32,
    /// Added to every Open API and token call.
    pub latency: Duration,
}

impl Default for TikTokSandboxConfig {
    fn default() -> Self {
        TikTokSandboxConfig {
            app_key: "sandbox_app_key".into(),
            app_secret: "sandbox_app_secret".into(),
            shop_id: "7494049642642441621".into(),
            shop_cipher: "ROW_sandboxcipher".into(),
            access_token: "sandbox_access_token".into(),
            refresh_token: "sandbox_refresh_token".into(),
            access_token_ttl: Duration::from_secs(7 * 86_400),
            refresh_token_ttl: Duration::from_secs(365 * 86_400),
            qps_per_api: 50,
            latency: Duration::ZERO,
        }
    }
}

/// Injected misbehaviour. Also the JSON body of `POST /_sandbox/tiktok/faults`, e.g.
/// `{"kind":"next_calls","path":"/order/202309/orders","count":3,"http_status":429,"code":36009002}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Fault {
    /// Extra delay before every API and token answer.
    Latency { ms: u64 },
    /// The next `count` calls (of `path`, or of any path) answer this instead.
    NextCalls {
        #[serde(default)]
        path: Option<String>,
        count: u32,
        http_status: u16,
        code: i64,
        #[serde(default)]
        message: Option<String>,
    },
    /// Each call (of `path`, or any) fails with probability `rate`.
    ErrorRate {
        #[serde(default)]
        path: Option<String>,
        rate: f64,
        http_status: u16,
        code: i64,
    },
    /// The current access token answers 105002 until refreshed.
    ExpireAccessToken,
}

#[derive(Debug, Clone)]
pub(crate) struct InjectedAnswer {
    pub http_status: u16,
    pub code: i64,
    pub message: String,
}

#[derive(Debug, thiserror::Error)]
#[error("sandbox order rejected: {0}")]
pub struct InvalidOrder(pub String);

pub(crate) enum TokenCheck {
    Valid,
    Expired,
    Unknown,
}

struct Tokens {
    access: String,
    access_expires_at: i64,
    refresh: String,
    refresh_expires_at: i64,
    /// Tokens replaced by a refresh: they answer 105002, as an expired token does.
    superseded: HashSet<String>,
    auth_codes: HashMap<String, i64>,
    issued: u64,
}

#[derive(Default)]
struct Faults {
    latency: Duration,
    scripted: Vec<(Option<String>, u32, InjectedAnswer)>,
    error_rates: Vec<(Option<String>, f64, InjectedAnswer)>,
}

struct SandboxState {
    orders: BTreeMap<String, Value>,
    tokens: Tokens,
    calls: BTreeMap<String, u64>,
    refreshes: u64,
    faults: Faults,
    /// Per API path: arrival times of the calls admitted in the last second.
    windows: HashMap<String, VecDeque<Instant>>,
}

pub struct TikTokSandbox {
    cfg: TikTokSandboxConfig,
    state: Mutex<SandboxState>,
    /// Packages, carriers, cancellations and returns (see `fulfillment.rs`).
    fulfillment: Mutex<fulfillment::FulfillmentState>,
    /// Stock per SKU and warehouse (see `inventory.rs`).
    inventory: Mutex<inventory::InventoryState>,
    /// Statements, their transactions and payments (see `finance.rs`).
    finance: Mutex<finance::FinanceState>,
    webhook_http: reqwest::Client,
}

/// Serves the Open API paths, the token host and the `/_sandbox/tiktok/` control API.
pub fn router(sb: Arc<TikTokSandbox>) -> axum::Router {
    api::routes()
        .merge(control::routes())
        .merge(fulfillment::control_routes())
        .merge(after_sale::routes())
        .fallback(api::unknown_path)
        .with_state(sb)
}

fn default_message(code: i64) -> String {
    match code {
        36_009_002 => "Too many requests. Please retry later.".into(),
        36_009_003 => "Internal error. Please retry later.".into(),
        36_009_007 => "Request timed out. Please retry later.".into(),
        105_002 => "Expired credentials. The access token has expired.".into(),
        other => format!("Injected error {other}"),
    }
}

impl TikTokSandbox {
    pub fn new(cfg: TikTokSandboxConfig) -> Arc<Self> {
        let now = now_unix();
        let tokens = Tokens {
            access: cfg.access_token.clone(),
            access_expires_at: now + cfg.access_token_ttl.as_secs() as i64,
            refresh: cfg.refresh_token.clone(),
            refresh_expires_at: now + cfg.refresh_token_ttl.as_secs() as i64,
            superseded: HashSet::new(),
            auth_codes: HashMap::new(),
            issued: 0,
        };
        Arc::new(TikTokSandbox {
            state: Mutex::new(SandboxState {
                orders: BTreeMap::new(),
                tokens,
                calls: BTreeMap::new(),
                refreshes: 0,
                faults: Faults {
                    latency: cfg.latency,
                    ..Faults::default()
                },
                windows: HashMap::new(),
            }),
            fulfillment: Mutex::new(fulfillment::FulfillmentState::default()),
            inventory: Mutex::new(inventory::InventoryState::default()),
            finance: Mutex::new(finance::FinanceState::default()),
            cfg,
            webhook_http: reqwest::Client::new(),
        })
    }

    pub fn config(&self) -> &TikTokSandboxConfig {
        &self.cfg
    }

    /// Binds `addr` (use port 0 for a free one) and serves the sandbox in the background.
    pub async fn serve(self: &Arc<Self>, addr: SocketAddr) -> std::io::Result<SocketAddr> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let local = listener.local_addr()?;
        let app = router(self.clone());
        tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::error!(error = %e, "TikTok sandbox server stopped");
            }
        });
        Ok(local)
    }

    // ---- orders ----

    /// Stores an order (API JSON shape, `id` required). Sets `update_time` when missing.
    pub fn insert_order(&self, mut order: Value) -> Result<String, InvalidOrder> {
        let id = match order.get("id") {
            Some(Value::String(s)) if !s.is_empty() => s.clone(),
            Some(Value::Number(n)) => n.to_string(),
            _ => return Err(InvalidOrder("an order needs a non-empty \"id\"".into())),
        };
        let Some(obj) = order.as_object_mut() else {
            return Err(InvalidOrder("an order must be a JSON object".into()));
        };
        if !obj.get("status").is_some_and(Value::is_string) {
            return Err(InvalidOrder("an order needs a \"status\" string".into()));
        }
        obj.insert("id".into(), json!(id));
        if !obj.get("update_time").is_some_and(Value::is_i64) {
            obj.insert("update_time".into(), json!(now_unix()));
        }
        self.state.lock().orders.insert(id.clone(), order);
        Ok(id)
    }

    fn touch(order: &mut Value) {
        let previous = order["update_time"].as_i64().unwrap_or(0);
        // Strictly increasing, so pollers and order-by-update_time see every change.
        order["update_time"] = json!(now_unix().max(previous + 1));
    }

    /// Moves an order to `status`, bumping `update_time`. False when the order is unknown.
    pub fn set_status(&self, order_id: &str, status: &str) -> bool {
        let mut st = self.state.lock();
        let Some(order) = st.orders.get_mut(order_id) else {
            return false;
        };
        order["status"] = json!(status);
        order["is_on_hold_order"] = json!(status == "ON_HOLD");
        if status != "UNPAID" && order["paid_time"].is_null() {
            order["paid_time"] = json!(now_unix());
        }
        if let Some(items) = order["line_items"].as_array_mut() {
            for item in items {
                item["display_status"] = json!(status);
            }
        }
        Self::touch(order);
        true
    }

    /// Replaces the recipient address, bumping `update_time` (what topic 3 announces).
    pub fn set_address(&self, order_id: &str, address: &RecipientAddress) -> bool {
        let mut st = self.state.lock();
        let Some(order) = st.orders.get_mut(order_id) else {
            return false;
        };
        order["recipient_address"] = json!(address);
        Self::touch(order);
        true
    }

    pub fn order(&self, order_id: &str) -> Option<Value> {
        self.state.lock().orders.get(order_id).cloned()
    }

    pub fn orders(&self) -> Vec<Value> {
        self.state.lock().orders.values().cloned().collect()
    }

    pub(crate) fn with_orders<R>(&self, f: impl FnOnce(&BTreeMap<String, Value>) -> R) -> R {
        f(&self.state.lock().orders)
    }

    // ---- counters ----

    /// Requests received on `path` (every answer counts, errors included).
    pub fn calls(&self, path: &str) -> u64 {
        self.state.lock().calls.get(path).copied().unwrap_or(0)
    }

    pub fn call_counts(&self) -> BTreeMap<String, u64> {
        self.state.lock().calls.clone()
    }

    /// Access tokens issued by refresh or auth-code exchange.
    pub fn refreshes(&self) -> u64 {
        self.state.lock().refreshes
    }

    pub(crate) fn count_call(&self, path: &str) {
        *self.state.lock().calls.entry(path.to_string()).or_default() += 1;
    }

    // ---- faults ----

    pub fn set_fault(&self, fault: Fault) {
        let mut st = self.state.lock();
        match fault {
            Fault::Latency { ms } => st.faults.latency = Duration::from_millis(ms),
            Fault::NextCalls {
                path,
                count,
                http_status,
                code,
                message,
            } => st.faults.scripted.push((
                path,
                count,
                InjectedAnswer {
                    http_status,
                    code,
                    message: message.unwrap_or_else(|| default_message(code)),
                },
            )),
            Fault::ErrorRate {
                path,
                rate,
                http_status,
                code,
            } => st.faults.error_rates.push((
                path,
                rate.clamp(0.0, 1.0),
                InjectedAnswer {
                    http_status,
                    code,
                    message: default_message(code),
                },
            )),
            Fault::ExpireAccessToken => st.tokens.access_expires_at = now_unix() - 1,
        }
    }

    /// Removes every fault; latency returns to the configured value.
    pub fn clear_faults(&self) {
        self.state.lock().faults = Faults {
            latency: self.cfg.latency,
            ..Faults::default()
        };
    }

    pub fn expire_access_token(&self) {
        self.set_fault(Fault::ExpireAccessToken);
    }

    pub(crate) fn latency(&self) -> Duration {
        self.state.lock().faults.latency
    }

    /// The injected answer for this call of `path`, if a fault claims it.
    pub(crate) fn injected(&self, path: &str) -> Option<InjectedAnswer> {
        let mut st = self.state.lock();
        let applies = |p: &Option<String>| p.as_deref().is_none_or(|p| p == path);
        if let Some(slot) = st
            .faults
            .scripted
            .iter_mut()
            .find(|(p, left, _)| *left > 0 && applies(p))
        {
            slot.1 -= 1;
            return Some(slot.2.clone());
        }
        st.faults.scripted.retain(|(_, left, _)| *left > 0);
        st.faults
            .error_rates
            .iter()
            .find(|(p, rate, _)| applies(p) && rand::random::<f64>() < *rate)
            .map(|(_, _, answer)| answer.clone())
    }

    /// Admits a call of `path` if fewer than `qps_per_api` were admitted in the last second.
    pub(crate) fn admit_rate(&self, path: &str) -> bool {
        let now = Instant::now();
        let limit = self.cfg.qps_per_api.max(1) as usize;
        let mut st = self.state.lock();
        let window = st.windows.entry(path.to_string()).or_default();
        while window
            .front()
            .is_some_and(|t| now.duration_since(*t) >= Duration::from_secs(1))
        {
            window.pop_front();
        }
        if window.len() >= limit {
            return false;
        }
        window.push_back(now);
        true
    }

    // ---- tokens ----

    /// The access token currently accepted.
    pub fn access_token(&self) -> String {
        self.state.lock().tokens.access.clone()
    }

    pub(crate) fn check_access_token(&self, token: &str) -> TokenCheck {
        let st = self.state.lock();
        let t = &st.tokens;
        if token == t.access {
            if t.access_expires_at <= now_unix() {
                TokenCheck::Expired
            } else {
                TokenCheck::Valid
            }
        } else if t.superseded.contains(token) {
            TokenCheck::Expired
        } else {
            TokenCheck::Unknown
        }
    }

    /// A single-use authorization code, as the consent redirect would carry (30 min).
    pub fn issue_auth_code(&self) -> String {
        let code = format!("sandbox_auth_code_{:016x}", rand::random::<u64>());
        self.state
            .lock()
            .tokens
            .auth_codes
            .insert(code.clone(), now_unix() + 1800);
        code
    }

    pub(crate) fn take_auth_code(&self, code: &str) -> bool {
        let mut st = self.state.lock();
        st.tokens
            .auth_codes
            .remove(code)
            .is_some_and(|expires| expires > now_unix())
    }

    pub(crate) fn refresh_token_valid(&self, refresh_token: &str) -> bool {
        let st = self.state.lock();
        st.tokens.refresh == refresh_token && st.tokens.refresh_expires_at > now_unix()
    }

    /// Issues a new access token. The previous one stops working at once (it answers
    /// 105002), which is the strict reading of TikTok's docs and forces replicas to pick
    /// up the shared token. The refresh token and its expiry stay as they were: they
    /// measure the authorization, not the access token.
    pub(crate) fn issue_access_token(&self) -> Value {
        let mut st = self.state.lock();
        st.refreshes += 1;
        let t = &mut st.tokens;
        t.issued += 1;
        let fresh = format!(
            "{}_{}_{:08x}",
            self.cfg.access_token,
            t.issued,
            rand::random::<u32>()
        );
        let old = std::mem::replace(&mut t.access, fresh);
        t.superseded.insert(old);
        t.access_expires_at = now_unix() + self.cfg.access_token_ttl.as_secs() as i64;
        json!({
            "access_token": t.access,
            "access_token_expire_in": t.access_expires_at,
            "refresh_token": t.refresh,
            "refresh_token_expire_in": t.refresh_expires_at,
            "open_id": "VIyStQAAAADCBQ40s4TzOSSOEIW-bM5O9cod3vK8OytW8m-bnBYlXw",
            "seller_name": "Sandbox Shop",
            "seller_base_region": "US",
            "user_type": 0,
            "granted_scopes": ["seller.order.info", "seller.fulfillment.basic", "seller.product.basic"],
        })
    }

    // ---- webhooks ----

    /// POSTs a signed webhook with a fresh `tts_notification_id`.
    pub async fn send_webhook(
        &self,
        url: &str,
        topic: u32,
        data: Value,
    ) -> reqwest::Result<reqwest::StatusCode> {
        let id = format!("73{:017}", rand::random::<u64>() % 100_000_000_000_000_000);
        self.send_webhook_with_id(url, topic, &id, data).await
    }

    /// POSTs a signed webhook reusing `notification_id`, as TikTok's retries do.
    pub async fn send_webhook_with_id(
        &self,
        url: &str,
        topic: u32,
        notification_id: &str,
        data: Value,
    ) -> reqwest::Result<reqwest::StatusCode> {
        let envelope = json!({
            "type": topic,
            "tts_notification_id": notification_id,
            "shop_id": self.cfg.shop_id,
            "timestamp": now_unix(),
            "data": data,
        });
        let body = serde_json::to_vec(&envelope).unwrap_or_default();
        let signature = webhook_authorization(&self.cfg.app_key, &self.cfg.app_secret, &body);
        let resp = self
            .webhook_http
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(reqwest::header::AUTHORIZATION, signature)
            .body(body)
            .send()
            .await?;
        Ok(resp.status())
    }

    /// The `data` of topic 1 (status change) or 3 (address change) for a stored order.
    pub fn webhook_data(&self, topic: u32, order_id: &str) -> Option<Value> {
        let order = self.order(order_id)?;
        let update_time = order["update_time"].clone();
        match topic {
            1 => {
                // Webhooks say CANCEL where the Orders API says CANCELLED (reference §2.5).
                let status = match order["status"].as_str() {
                    Some("CANCELLED") => "CANCEL",
                    Some(s) => s,
                    None => "UNPAID",
                };
                Some(json!({
                    "order_id": order_id,
                    "order_status": status,
                    "is_on_hold_order": status == "ON_HOLD",
                    "update_time": update_time,
                }))
            }
            3 => Some(json!({ "order_id": order_id, "update_time": update_time })),
            // Topic 11 / 12 describe the order's newest cancellation / return.
            11 => self.latest_cancellation(order_id).map(|c| {
                json!({
                    "order_id": order_id,
                    "cancellations_role": c.get("role").cloned().unwrap_or(json!("BUYER")),
                    "cancel_status": c["cancel_status"],
                    "cancel_id": c["cancel_id"],
                    "create_time": c["create_time"],
                })
            }),
            12 => self.latest_return(order_id).map(|r| {
                json!({
                    "order_id": order_id,
                    "return_role": r.get("role").cloned().unwrap_or(json!("BUYER")),
                    "return_type": r["return_type"],
                    "return_status": r["return_status"],
                    "return_id": r["return_id"],
                    "create_time": r["create_time"],
                    "update_time": r["update_time"],
                })
            }),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(code: i64) -> Fault {
        Fault::NextCalls {
            path: Some("/a".into()),
            count: 2,
            http_status: 500,
            code,
            message: None,
        }
    }

    #[test]
    fn scripted_faults_hit_only_their_path_and_run_out() {
        let sb = TikTokSandbox::new(TikTokSandboxConfig::default());
        sb.set_fault(answer(36_009_003));
        assert!(sb.injected("/b").is_none());
        assert_eq!(sb.injected("/a").map(|a| a.code), Some(36_009_003));
        assert!(sb.injected("/a").is_some());
        assert!(sb.injected("/a").is_none());
    }

    #[test]
    fn error_rate_extremes_always_and_never_fail() {
        let sb = TikTokSandbox::new(TikTokSandboxConfig::default());
        sb.set_fault(Fault::ErrorRate {
            path: None,
            rate: 1.0,
            http_status: 503,
            code: 36_009_003,
        });
        assert!((0..20).all(|_| sb.injected("/x").is_some()));
        sb.clear_faults();
        sb.set_fault(Fault::ErrorRate {
            path: None,
            rate: 0.0,
            http_status: 503,
            code: 36_009_003,
        });
        assert!((0..20).all(|_| sb.injected("/x").is_none()));
    }

    #[test]
    fn status_changes_bump_update_time_strictly() {
        let sb = TikTokSandbox::new(TikTokSandboxConfig::default());
        let line = SampleLine::new("A", rust_decimal::Decimal::ONE, 1);
        let id = sb
            .insert_order(sample_order("1", "UNPAID", &[line]))
            .unwrap();
        let before = sb.order(&id).unwrap()["update_time"].as_i64().unwrap();
        assert!(sb.set_status(&id, "ON_HOLD"));
        assert!(sb.set_status(&id, "AWAITING_SHIPMENT"));
        let after = sb.order(&id).unwrap();
        assert!(after["update_time"].as_i64().unwrap() >= before + 2);
        assert!(!after["paid_time"].is_null());
        assert!(!sb.set_status("missing", "CANCELLED"));
    }

    #[test]
    fn refresh_supersedes_the_old_token() {
        let sb = TikTokSandbox::new(TikTokSandboxConfig::default());
        let old = sb.access_token();
        let data = sb.issue_access_token();
        assert_eq!(data["access_token"], sb.access_token());
        assert!(matches!(sb.check_access_token(&old), TokenCheck::Expired));
        assert!(matches!(
            sb.check_access_token(&sb.access_token()),
            TokenCheck::Valid
        ));
        assert!(matches!(sb.check_access_token("nope"), TokenCheck::Unknown));
    }

    #[test]
    fn orders_without_id_or_status_are_refused() {
        let sb = TikTokSandbox::new(TikTokSandboxConfig::default());
        assert!(sb.insert_order(json!({"status": "UNPAID"})).is_err());
        assert!(sb.insert_order(json!({"id": "1"})).is_err());
        assert_eq!(
            sb.insert_order(json!({"id": 12, "status": "UNPAID"}))
                .unwrap(),
            "12"
        );
    }
}

//! A simulated NetSuite account on the REST paths the bridge uses: it authenticates (OAuth 2.0
//! bearer tokens it issued, TBA OAuth 1.0a), enforces the account concurrency limit with 429s,
//! keeps items, customers and sales orders, and takes fault injection. See DESIGN.md §8.

mod auth;
pub mod callouts;
mod control;
mod ledger;
pub mod oauth1;
mod query;
mod records;
mod state;
mod stock;
mod sweep;
mod transactions;

pub use state::NetSuiteFaults;
pub use stock::{scripts_announce, SCRIPTED_INVENTORY_EVENTS};

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use parking_lot::{Mutex, RwLock};
use rand::Rng;
use serde_json::{json, Map, Value};
use state::{ActiveFaults, Item, RecordKind, State as AccountState, StoredRecord};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Private half of the sandbox certificate, for demo and test clients using OAuth 2.0.
pub const SANDBOX_PRIVATE_KEY_PEM: &str = include_str!("keys/sandbox-ec-private.pem");
/// Public half, which the sandbox verifies assertions with by default.
pub const SANDBOX_PUBLIC_KEY_PEM: &str = include_str!("keys/sandbox-ec-public.pem");

#[derive(Debug, Clone)]
pub struct NetSuiteSandboxConfig {
    pub account_id: String,
    pub consumer_key: String,
    pub consumer_secret: String,
    pub token_id: String,
    pub token_secret: String,
    pub client_id: String,
    pub certificate_id: String,
    /// Certificate public key (EC P-256, PEM) that verifies client assertions (ES256).
    pub public_key_pem: String,
    /// Authenticated requests in flight at once; more get 429.
    pub concurrency_limit: usize,
    /// Time each request holds its concurrency slot, as NetSuite's own processing time.
    pub latency: Duration,
    pub token_ttl: Duration,
}

impl Default for NetSuiteSandboxConfig {
    fn default() -> Self {
        NetSuiteSandboxConfig {
            account_id: "SANDBOX1".into(),
            consumer_key: "sandbox-consumer-key".into(),
            consumer_secret: "sandbox-consumer-secret".into(),
            token_id: "sandbox-token-id".into(),
            token_secret: "sandbox-token-secret".into(),
            client_id: "sandbox-client-id".into(),
            certificate_id: "sandbox-certificate-id".into(),
            public_key_pem: SANDBOX_PUBLIC_KEY_PEM.into(),
            concurrency_limit: 5,
            latency: Duration::ZERO,
            token_ttl: Duration::from_secs(3600),
        }
    }
}

/// One simulated account; share it as `Arc`.
pub struct NetSuiteSandbox {
    cfg: NetSuiteSandboxConfig,
    verifying_key: Option<p256::ecdsa::VerifyingKey>,
    base_url: RwLock<String>,
    state: Mutex<AccountState>,
    in_flight: AtomicUsize,
    peak: AtomicUsize,
}

impl std::fmt::Debug for NetSuiteSandbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NetSuiteSandbox")
            .field("account_id", &self.cfg.account_id)
            .field("base_url", &*self.base_url.read())
            .finish_non_exhaustive()
    }
}

/// A NetSuite error body: `{type, title, status, o:errorDetails: [{detail, o:errorCode, ...}]}`.
pub(crate) fn ns_error(
    status: StatusCode,
    code: &str,
    detail: &str,
    extra: &[(&str, &str)],
) -> Response {
    let mut entry = Map::new();
    entry.insert("detail".into(), Value::String(detail.to_string()));
    entry.insert("o:errorCode".into(), Value::String(code.to_string()));
    for (k, v) in extra {
        entry.insert((*k).to_string(), Value::String((*v).to_string()));
    }
    let body = json!({
        "type": "https://www.w3.org/Protocols/rfc2616/rfc2616-sec10.html",
        "title": status.canonical_reason().unwrap_or("Error"),
        "status": status.as_u16(),
        "o:errorDetails": [Value::Object(entry)],
    });
    (status, Json(body)).into_response()
}

/// The 429 exactly as documented, missing comma included: clients must parse it leniently.
fn concurrency_exceeded() -> Response {
    let body = r#"{"type": "https://www.w3.org/Protocols/rfc2616/rfc2616-sec10.html", "title": "Bad Request", "status": 429, "o:errorCode": "USER_ERROR" "o:errorDetails": [{"detail": "Concurrent request limit exceeded. Request blocked.", "o:errorCode": "CONCURRENCY_LIMIT_EXCEEDED"}]}"#;
    (
        StatusCode::TOO_MANY_REQUESTS,
        [(
            header::CONTENT_TYPE,
            "application/vnd.oracle.resource+json; type=error",
        )],
        body,
    )
        .into_response()
}

fn unexpected_error() -> Response {
    let error_id: String = rand::thread_rng()
        .sample_iter(&rand::distributions::Alphanumeric)
        .take(20)
        .map(char::from)
        .collect();
    ns_error(
        StatusCode::INTERNAL_SERVER_ERROR,
        "UNEXPECTED_ERROR",
        &format!(
            "An unexpected error occurred. Error ID: {}",
            error_id.to_lowercase()
        ),
        &[],
    )
}

/// Frees a concurrency slot however the request ends (answered, failed or cancelled).
struct Slot(Arc<NetSuiteSandbox>);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

impl NetSuiteSandbox {
    pub fn new(cfg: NetSuiteSandboxConfig) -> Arc<Self> {
        let pem = cfg.public_key_pem.as_bytes();
        let verifying_key = std::str::from_utf8(pem).ok().and_then(|pem| {
            use p256::pkcs8::DecodePublicKey as _;
            p256::ecdsa::VerifyingKey::from_public_key_pem(pem).ok()
        });
        if verifying_key.is_none() {
            tracing::warn!(
                "sandbox netsuite: public key does not parse; every assertion will be refused"
            );
        }
        Arc::new(NetSuiteSandbox {
            cfg,
            verifying_key,
            base_url: RwLock::new("http://127.0.0.1".into()),
            state: Mutex::new(AccountState::new()),
            in_flight: AtomicUsize::new(0),
            peak: AtomicUsize::new(0),
        })
    }

    pub fn config(&self) -> &NetSuiteSandboxConfig {
        &self.cfg
    }

    /// The URL clients reach this server at (`http://127.0.0.1:PORT`): TBA signatures are
    /// checked against it and `Location` headers point into it.
    pub fn set_base_url(&self, url: &str) {
        *self.base_url.write() = url.trim_end_matches('/').to_string();
    }

    pub fn base_url(&self) -> String {
        self.base_url.read().clone()
    }

    /// What a client's `rest_base` should be.
    pub fn rest_base(&self) -> String {
        format!("{}/services/rest", self.base_url())
    }

    pub fn token_url(&self) -> String {
        format!("{}/auth/oauth2/v1/token", self.rest_base())
    }

    pub fn add_item(&self, sku: &str) -> String {
        self.add_item_with_fields(sku, &[])
    }

    /// An item whose `itemid` is `sku`, plus other sku-bearing fields (e.g. `upccode`).
    pub fn add_item_with_fields(&self, sku: &str, fields: &[(&str, &str)]) -> String {
        let mut st = self.state.lock();
        let id = st.allocate_id();
        let fields: BTreeMap<String, String> = fields
            .iter()
            .map(|(k, v)| (k.to_ascii_lowercase(), (*v).to_string()))
            .collect();
        st.items.insert(
            id,
            Item {
                id,
                itemid: sku.to_string(),
                fields,
            },
        );
        id.to_string()
    }

    pub fn items(&self) -> Vec<Value> {
        self.state
            .lock()
            .items
            .values()
            .map(Item::to_json)
            .collect()
    }

    pub fn add_customer(&self, external_id: Option<&str>, company_name: &str) -> String {
        let mut st = self.state.lock();
        let id = st.allocate_id();
        let mut body = Map::new();
        body.insert(
            "companyName".into(),
            Value::String(company_name.to_string()),
        );
        st.records.entry(RecordKind::Customer).or_default().insert(
            id,
            StoredRecord {
                id,
                external_id: external_id.map(str::to_string),
                body,
                writes: 1,
            },
        );
        id.to_string()
    }

    pub fn customers(&self) -> Vec<Value> {
        self.records_json(RecordKind::Customer)
    }

    pub fn customer_by_external_id(&self, external_id: &str) -> Option<Value> {
        self.record_by_external_id(RecordKind::Customer, external_id)
            .map(|r| r.to_json())
    }

    pub fn sales_orders(&self) -> Vec<Value> {
        self.records_json(RecordKind::SalesOrder)
    }

    pub fn sales_order_by_external_id(&self, external_id: &str) -> Option<Value> {
        self.record_by_external_id(RecordKind::SalesOrder, external_id)
            .map(|r| r.to_json())
    }

    /// Creates plus updates of the sales order with this external id (0 if none).
    pub fn sales_order_writes(&self, external_id: &str) -> u64 {
        self.record_by_external_id(RecordKind::SalesOrder, external_id)
            .map_or(0, |r| r.writes)
    }

    /// When the sales order with this external id was first written (created), if it was.
    /// Cheap: for latency benchmarks that poll many orders.
    pub fn sales_order_written_at(&self, external_id: &str) -> Option<std::time::Instant> {
        self.state
            .lock()
            .sales_order_first_written
            .get(external_id)
            .copied()
    }

    fn records_json(&self, kind: RecordKind) -> Vec<Value> {
        self.state
            .lock()
            .records(kind)
            .map(StoredRecord::to_json)
            .collect()
    }

    fn record_by_external_id(&self, kind: RecordKind, eid: &str) -> Option<StoredRecord> {
        let st = self.state.lock();
        let id = st.find_by_external_id(kind, eid)?;
        st.record(kind, id).cloned()
    }

    /// Record and SuiteQL requests received (token requests and the control API excluded).
    pub fn requests(&self) -> u64 {
        self.state.lock().requests
    }

    /// Requests by method and record type (`salesOrder`, `customer`, or `suiteql`),
    /// case-insensitive.
    pub fn requests_by(&self, method: &str, record_type: &str) -> u64 {
        let key = (
            method.to_ascii_uppercase(),
            record_type.to_ascii_lowercase(),
        );
        self.state.lock().counts.get(&key).copied().unwrap_or(0)
    }

    pub fn token_requests(&self) -> u64 {
        self.state.lock().token_requests
    }

    /// 429s sent, by the concurrency limit and by injected storms.
    pub fn throttled(&self) -> u64 {
        self.state.lock().throttled
    }

    pub fn auth_failures(&self) -> u64 {
        self.state.lock().auth_failures
    }

    /// The Login Audit Trail reason of the last refused request (`InvalidSignature`, ...).
    pub fn last_auth_failure(&self) -> Option<String> {
        self.state.lock().last_auth_failure.clone()
    }

    pub fn peak_concurrency(&self) -> usize {
        self.peak.load(Ordering::SeqCst)
    }

    pub fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::SeqCst)
    }

    pub fn reset_peak_concurrency(&self) {
        self.peak.store(self.in_flight(), Ordering::SeqCst);
    }

    pub fn set_faults(&self, faults: NetSuiteFaults) {
        self.state.lock().faults = ActiveFaults::new(faults);
    }

    pub fn clear_faults(&self) {
        self.state.lock().faults = ActiveFaults::default();
    }

    /// Forgets every issued token, as when an admin revokes the integration's tokens.
    pub fn revoke_tokens(&self) {
        self.state.lock().tokens.clear();
    }

    pub fn stats(&self) -> Value {
        let st = self.state.lock();
        let by: Map<String, Value> = st
            .counts
            .iter()
            .map(|((m, t), n)| (format!("{m} {t}"), json!(n)))
            .collect();
        json!({
            "requests": st.requests,
            "token_requests": st.token_requests,
            "throttled": st.throttled,
            "server_errors": st.server_errors,
            "auth_failures": st.auth_failures,
            "peak_concurrency": self.peak_concurrency(),
            "in_flight": self.in_flight(),
            "concurrency_limit": self.cfg.concurrency_limit,
            "requests_by": by,
            "items": st.items.len(),
            "customers": st.records(RecordKind::Customer).count(),
            "sales_orders": st.records(RecordKind::SalesOrder).count(),
            "faults": st.faults.spec,
        })
    }

    fn count(&self, method: &Method, record_type: String) {
        let mut st = self.state.lock();
        st.requests += 1;
        *st.counts
            .entry((method.as_str().to_string(), record_type))
            .or_insert(0) += 1;
    }

    fn outage_response(&self) -> Option<Response> {
        let st = self.state.lock();
        let f = &st.faults;
        if !(f.spec.outage && f.window_open()) {
            return None;
        }
        Some(match f.spec.outage_status.unwrap_or(503) {
            500 => unexpected_error(),
            status => (
                StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE),
                [(header::CONTENT_TYPE, "text/html")],
                "<html><body><h1>Service Temporarily Unavailable</h1></body></html>",
            )
                .into_response(),
        })
    }

    /// Takes a concurrency slot, or `None` (and a 429 counted) when the account is full.
    fn admit(self: &Arc<Self>) -> Option<Slot> {
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        let slot = Slot(self.clone());
        if now > self.cfg.concurrency_limit {
            drop(slot);
            self.state.lock().throttled += 1;
            return None;
        }
        self.peak.fetch_max(now, Ordering::SeqCst);
        Some(slot)
    }

    fn injected_throttle(&self) -> bool {
        let mut st = self.state.lock();
        let hit = if st.faults.spec.throttle_next > 0 {
            st.faults.spec.throttle_next -= 1;
            true
        } else {
            let rate = st.faults.spec.throttle_rate;
            rate > 0.0 && st.faults.window_open() && rand::thread_rng().gen_bool(rate.min(1.0))
        };
        if hit {
            st.throttled += 1;
        }
        hit
    }

    fn injected_server_error(&self) -> bool {
        let mut st = self.state.lock();
        let hit = if st.faults.spec.server_error_next > 0 {
            st.faults.spec.server_error_next -= 1;
            true
        } else {
            let rate = st.faults.spec.server_error_rate;
            rate > 0.0 && st.faults.window_open() && rand::thread_rng().gen_bool(rate.min(1.0))
        };
        if hit {
            st.server_errors += 1;
        }
        hit
    }

    fn latency(&self) -> Duration {
        self.state
            .lock()
            .faults
            .spec
            .latency_ms
            .map_or(self.cfg.latency, Duration::from_millis)
    }
}

/// Lower-case record type of a REST path, or `suiteql`.
fn counted_type(path: &str) -> String {
    if let Some(rest) = path.strip_prefix("/services/rest/record/v1/") {
        rest.split('/').next().unwrap_or("").to_ascii_lowercase()
    } else if path.starts_with("/services/rest/query/v1/suiteql") {
        "suiteql".into()
    } else {
        "other".into()
    }
}

/// What NetSuite does before a record or query handler runs: outage, login, account
/// concurrency, injected faults, and processing time while the slot is held.
async fn gate(State(sb): State<Arc<NetSuiteSandbox>>, req: Request, next: Next) -> Response {
    let method = req.method().clone();
    sb.count(&method, counted_type(req.uri().path()));
    if let Some(resp) = sb.outage_response() {
        return resp;
    }
    if let Err(resp) = sb.authenticate(&method, req.uri(), req.headers()) {
        return *resp;
    }
    let Some(slot) = sb.admit() else {
        return concurrency_exceeded();
    };
    if sb.injected_throttle() {
        drop(slot);
        return concurrency_exceeded();
    }
    let latency = sb.latency();
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    if sb.injected_server_error() {
        return unexpected_error();
    }
    let mut resp = next.run(req).await;
    drop(slot);
    let op_id = uuid::Uuid::new_v4().to_string();
    if let Ok(v) = HeaderValue::from_str(&op_id) {
        resp.headers_mut().insert("X-N-OperationId", v);
    }
    resp
}

/// Routes under `/services/rest` (NetSuite) and `/_sandbox/netsuite` (control API).
pub fn router(sb: Arc<NetSuiteSandbox>) -> Router {
    let gated = Router::new()
        .route(
            "/services/rest/record/v1/{record_type}/{id}",
            get(records::get_record)
                .put(records::put_record)
                .patch(transactions::patch_record),
        )
        .route(
            "/services/rest/record/v1/{record_type}/{id}/!transform/{target}",
            post(transactions::transform),
        )
        .route(
            "/services/rest/record/v1/{record_type}",
            post(records::create_record),
        )
        .route("/services/rest/query/v1/suiteql", post(query::suiteql))
        .route_layer(axum::middleware::from_fn_with_state(sb.clone(), gate));
    Router::new()
        .route("/services/rest/auth/oauth2/v1/token", post(auth::token))
        .merge(gated)
        .with_state(sb.clone())
        .nest("/_sandbox/netsuite", control::router(sb))
}

/// Binds `bind` (e.g. `127.0.0.1:0`), tells the sandbox its URL and serves it on a task.
/// Returns the sandbox and its base URL.
pub async fn start(
    cfg: NetSuiteSandboxConfig,
    bind: &str,
) -> std::io::Result<(Arc<NetSuiteSandbox>, String)> {
    let listener = tokio::net::TcpListener::bind(bind).await?;
    let addr = listener.local_addr()?;
    let sb = NetSuiteSandbox::new(cfg);
    let base = format!("http://{addr}");
    sb.set_base_url(&base);
    let app = router(sb.clone());
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::warn!(error = %e, "sandbox netsuite server stopped");
        }
    });
    Ok((sb, base))
}

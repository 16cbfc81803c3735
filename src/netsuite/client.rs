//! NetSuite REST client: record upserts by external id, SuiteQL, and reads, all through one
//! per-account concurrency limit. 429s are retried here with jittered backoff; everything
//! else is classified into `NetSuiteError` for the queue's retry policy to decide.

pub use super::error::NetSuiteError;
use super::oauth2::{AssertionSigner, OAuth2Session};
use super::suiteql::{self, SuiteQlPage};
use super::tba::{self, TbaCredentials, TbaRequestParams};
use crate::config::{NetSuiteAuth, NetSuiteConfig};
use crate::metrics::{self, Metrics};
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use rand::Rng;
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;
use url::Url;

/// Escapes a path segment but keeps `:` so `eid:tiktok-order:1` stays readable.
pub(super) const PATH_SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b':');

/// How 429 `CONCURRENCY_LIMIT_EXCEEDED` is retried inside the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Tries in all, the first included.
    pub max_attempts: u32,
    /// Cap of the first backoff; doubles per try.
    pub base_delay: Duration,
    /// Largest single backoff.
    pub max_delay: Duration,
    /// Total sleeping across one call's retries.
    pub max_total_wait: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 6,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(3),
            max_total_wait: Duration::from_secs(10),
        }
    }
}

impl RetryPolicy {
    /// Full jitter: uniform in `[0, min(max_delay, base * 2^(attempt-1))]`, so callers that
    /// were refused together do not come back together (Oracle: "not in lockstep").
    pub fn backoff(&self, attempt: u32) -> Duration {
        let exp = self
            .base_delay
            .saturating_mul(1u32 << attempt.saturating_sub(1).min(20));
        let ceiling = exp.min(self.max_delay);
        let millis = ceiling.as_millis() as u64;
        Duration::from_millis(rand::thread_rng().gen_range(0..=millis))
    }
}

enum Auth {
    Tba {
        realm: String,
        consumer_key: String,
        consumer_secret: SecretString,
        token_id: String,
        token_secret: SecretString,
    },
    OAuth2(OAuth2Session),
}

struct Inner {
    http: reqwest::Client,
    rest_base: String,
    auth: Auth,
    permits: Semaphore,
    concurrency: usize,
    requests: AtomicU64,
    retry: RetryPolicy,
    /// Where request durations and the in-flight gauge go, once `observe` is called.
    metrics: OnceLock<Arc<Metrics>>,
    /// The account's slots shared by every replica (Redis), once `share_concurrency` ran.
    shared_slots: OnceLock<Arc<super::shared_slots::SharedSlots>>,
}

/// Cheap to clone; clones share the concurrency limit, token cache and counters.
#[derive(Clone)]
pub struct NetSuiteClient {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for NetSuiteClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NetSuiteClient")
            .field("rest_base", &self.inner.rest_base)
            .field("concurrency", &self.inner.concurrency)
            .finish_non_exhaustive()
    }
}

/// A 2xx answer.
pub(super) struct Answer {
    pub(super) status: u16,
    pub(super) headers: HeaderMap,
    pub(super) body: Bytes,
}

impl NetSuiteClient {
    pub fn new(cfg: NetSuiteConfig) -> Result<Self, NetSuiteError> {
        Self::with_retry_policy(cfg, RetryPolicy::default())
    }

    pub fn with_retry_policy(
        cfg: NetSuiteConfig,
        retry: RetryPolicy,
    ) -> Result<Self, NetSuiteError> {
        if cfg.concurrency == 0 {
            return Err(NetSuiteError::Config(
                "concurrency must be at least 1".into(),
            ));
        }
        let rest_base = if cfg.rest_base.trim().is_empty() {
            tba::default_rest_base(&cfg.account_id)
        } else {
            cfg.rest_base.trim().trim_end_matches('/').to_string()
        };
        Url::parse(&rest_base)
            .map_err(|e| NetSuiteError::Config(format!("rest base {rest_base:?}: {e}")))?;
        let mut builder = reqwest::Client::builder()
            .pool_max_idle_per_host(cfg.concurrency)
            .redirect(reqwest::redirect::Policy::none());
        if !cfg.timeout.is_zero() {
            builder = builder.timeout(cfg.timeout);
        }
        let http = builder
            .build()
            .map_err(|e| NetSuiteError::Config(format!("HTTP client: {e}")))?;
        let auth = match cfg.auth {
            NetSuiteAuth::Tba {
                consumer_key,
                consumer_secret,
                token_id,
                token_secret,
            } => Auth::Tba {
                realm: tba::realm(&cfg.account_id),
                consumer_key,
                consumer_secret,
                token_id,
                token_secret,
            },
            NetSuiteAuth::OAuth2 {
                client_id,
                certificate_id,
                private_key_pem,
                algorithm,
            } => {
                let signer =
                    AssertionSigner::from_pem(private_key_pem.expose_secret(), &algorithm)?;
                Auth::OAuth2(OAuth2Session::new(
                    http.clone(),
                    format!("{rest_base}/auth/oauth2/v1/token"),
                    client_id,
                    certificate_id,
                    signer,
                ))
            }
        };
        Ok(NetSuiteClient {
            inner: Arc::new(Inner {
                http,
                rest_base,
                auth,
                permits: Semaphore::new(cfg.concurrency),
                concurrency: cfg.concurrency,
                requests: AtomicU64::new(0),
                retry,
                metrics: OnceLock::new(),
                shared_slots: OnceLock::new(),
            }),
        })
    }

    pub fn rest_base(&self) -> &str {
        &self.inner.rest_base
    }

    /// The account concurrency share this client never exceeds.
    pub fn concurrency(&self) -> usize {
        self.inner.concurrency
    }

    /// Requests holding a concurrency slot right now.
    pub fn in_flight(&self) -> usize {
        self.inner.concurrency - self.inner.permits.available_permits()
    }

    /// Report request durations (`bridge_netsuite_request_duration_seconds`) and the slots in
    /// use (`bridge_netsuite_in_flight_requests`) to `metrics`, for this client and its
    /// clones. The first call wins.
    pub fn observe(&self, metrics: Arc<Metrics>) {
        let _ = self.inner.metrics.set(metrics);
    }

    /// Takes a slot of the account's deployment-wide budget for every request, on top of
    /// this process' own share.
    pub fn share_concurrency(&self, slots: Arc<super::shared_slots::SharedSlots>) {
        let _ = self.inner.shared_slots.set(slots);
    }

    fn note_in_flight(&self) {
        if let Some(m) = self.inner.metrics.get() {
            m.netsuite_in_flight.set(self.in_flight() as i64);
        }
    }

    /// HTTP requests sent to NetSuite so far: records, SuiteQL, retries and token requests.
    pub fn requests_made(&self) -> u64 {
        self.inner.requests.load(Ordering::Relaxed) + self.token_requests()
    }

    /// OAuth 2.0 token requests sent so far (0 under TBA).
    pub fn token_requests(&self) -> u64 {
        match &self.inner.auth {
            Auth::OAuth2(session) => session.token_requests(),
            Auth::Tba { .. } => 0,
        }
    }

    /// Creates or updates the record with this external id (`PUT …/eid:{external_id}`) and
    /// returns its internal id. `replace` names sublists the body replaces (e.g. `item`).
    pub async fn upsert<T: Serialize + ?Sized>(
        &self,
        record_type: &str,
        external_id: &str,
        body: &T,
        replace: &[&str],
    ) -> Result<String, NetSuiteError> {
        check_record_type(record_type)?;
        if external_id.is_empty() {
            return Err(NetSuiteError::InvalidRequest("empty external id".into()));
        }
        for sublist in replace {
            if !suiteql::is_plain_identifier(sublist) {
                return Err(NetSuiteError::InvalidRequest(format!(
                    "sublist name {sublist:?} is not a plain identifier"
                )));
            }
        }
        let body = serde_json::to_vec(body)
            .map_err(|e| NetSuiteError::InvalidRequest(format!("body does not serialize: {e}")))?;
        let path = format!(
            "/record/v1/{record_type}/eid:{}",
            utf8_percent_encode(external_id, PATH_SEGMENT)
        );
        let joined = replace.join(",");
        let query: Vec<(&str, &str)> = if replace.is_empty() {
            Vec::new()
        } else {
            vec![("replace", joined.as_str())]
        };
        let url = self.url(&path, &query)?;
        let answer = self
            .send(Method::PUT, url, Some(body), false, "upsert", record_type)
            .await?;
        let location = answer
            .headers
            .get(http::header::LOCATION)
            .and_then(|v| v.to_str().ok());
        if let Some(id) = location.and_then(id_from_location) {
            return Ok(id);
        }
        tracing::debug!(
            record_type,
            status = answer.status,
            "upsert answered without a usable Location; looking the id up by external id"
        );
        self.find_id_by_external_id(record_type, external_id)
            .await?
            .ok_or_else(|| {
                NetSuiteError::InvalidResponse(format!(
                    "{record_type} upsert succeeded but no record has the external id"
                ))
            })
    }

    /// Internal id of the record with this external id, via SuiteQL.
    pub async fn find_id_by_external_id(
        &self,
        record_type: &str,
        external_id: &str,
    ) -> Result<Option<String>, NetSuiteError> {
        let table = suiteql::table_for_record_type(record_type).ok_or_else(|| {
            NetSuiteError::InvalidRequest(format!(
                "no SuiteQL table known for record type {record_type}"
            ))
        })?;
        let query = format!("SELECT id FROM {table} WHERE externalid = ?");
        let page = self
            .suiteql_page(&query, &[external_id.to_string()], 1000, 0)
            .await?;
        Ok(page
            .items
            .first()
            .and_then(|row| row.get("id"))
            .and_then(suiteql::value_as_string))
    }

    /// `GET /record/v1/{record_type}/{id}`.
    pub async fn get_record(&self, record_type: &str, id: &str) -> Result<Value, NetSuiteError> {
        check_record_type(record_type)?;
        let path = format!(
            "/record/v1/{record_type}/{}",
            utf8_percent_encode(id, PATH_SEGMENT)
        );
        let url = self.url(&path, &[])?;
        let answer = self
            .send(Method::GET, url, None, false, "get", record_type)
            .await?;
        serde_json::from_slice(&answer.body).map_err(|e| {
            NetSuiteError::InvalidResponse(format!("{record_type} record is not JSON: {e}"))
        })
    }

    /// One SuiteQL page. `params` bind the query's `?` placeholders in order.
    pub async fn suiteql_page(
        &self,
        query: &str,
        params: &[String],
        limit: u64,
        offset: u64,
    ) -> Result<SuiteQlPage, NetSuiteError> {
        suiteql::check_page(limit, offset)?;
        let mut body = Map::new();
        body.insert("q".into(), Value::String(query.to_string()));
        if !params.is_empty() {
            body.insert(
                "params".into(),
                Value::Array(params.iter().cloned().map(Value::String).collect()),
            );
        }
        let body = serde_json::to_vec(&Value::Object(body))
            .map_err(|e| NetSuiteError::InvalidRequest(format!("query does not serialize: {e}")))?;
        let (limit, offset) = (limit.to_string(), offset.to_string());
        let url = self.url(
            "/query/v1/suiteql",
            &[("limit", limit.as_str()), ("offset", offset.as_str())],
        )?;
        let answer = self
            .send(Method::POST, url, Some(body), true, "suiteql", "suiteql")
            .await?;
        SuiteQlPage::parse(&answer.body)
    }

    /// Every row of a query, page by page (1000 rows each). Refuses queries past NetSuite's
    /// 100,000-row ceiling instead of silently truncating; order by a unique key.
    pub async fn suiteql(
        &self,
        query: &str,
        params: &[String],
    ) -> Result<Vec<Map<String, Value>>, NetSuiteError> {
        let limit = suiteql::MAX_LIMIT;
        let mut rows = Vec::new();
        let mut offset = 0;
        loop {
            let page = self.suiteql_page(query, params, limit, offset).await?;
            if page.total_results.is_some_and(|t| t > suiteql::MAX_ROWS) {
                return Err(suiteql::too_many_rows());
            }
            let got = page.items.len();
            rows.extend(page.items);
            if !page.has_more {
                return Ok(rows);
            }
            if got == 0 {
                return Err(NetSuiteError::InvalidResponse(
                    "SuiteQL said hasMore on an empty page".into(),
                ));
            }
            offset += limit;
            if offset + limit > suiteql::MAX_ROWS {
                return Err(suiteql::too_many_rows());
            }
        }
    }

    /// Sku → internal item id for the skus NetSuite knows, matching `field` (e.g. `itemid`).
    /// Skus NetSuite does not know are absent from the map.
    pub async fn find_items_by_sku(
        &self,
        field: &str,
        skus: &[String],
    ) -> Result<HashMap<String, String>, NetSuiteError> {
        let mut wanted: Vec<String> = Vec::with_capacity(skus.len());
        for sku in skus {
            if !sku.is_empty() && !wanted.contains(sku) {
                wanted.push(sku.clone());
            }
        }
        let mut found = HashMap::new();
        for chunk in wanted.chunks(suiteql::SKU_CHUNK) {
            let query = suiteql::items_by_sku_query(field, chunk.len())?;
            for row in self.suiteql(&query, chunk).await? {
                let sku = row.get("sku").and_then(suiteql::value_as_string);
                let id = row.get("id").and_then(suiteql::value_as_string);
                if let (Some(sku), Some(id)) = (sku, id) {
                    // Rows come ordered by id: with duplicate skus the oldest item wins.
                    found.entry(sku).or_insert(id);
                }
            }
        }
        Ok(found)
    }

    pub(super) fn url(&self, path: &str, query: &[(&str, &str)]) -> Result<Url, NetSuiteError> {
        let mut url = Url::parse(&format!("{}{path}", self.inner.rest_base))
            .map_err(|e| NetSuiteError::InvalidRequest(format!("bad URL: {e}")))?;
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        Ok(url)
    }

    /// The `Authorization` header for one attempt, and the bearer token it carries if any.
    async fn authorize(
        &self,
        method: &Method,
        url: &Url,
    ) -> Result<(HeaderValue, Option<SecretString>), NetSuiteError> {
        let (value, bearer) = match &self.inner.auth {
            Auth::Tba {
                realm,
                consumer_key,
                consumer_secret,
                token_id,
                token_secret,
            } => {
                let nonce: String = rand::thread_rng()
                    .sample_iter(&rand::distributions::Alphanumeric)
                    .take(20)
                    .map(char::from)
                    .collect();
                let creds = TbaCredentials {
                    consumer_key,
                    consumer_secret: consumer_secret.expose_secret(),
                    token_id,
                    token_secret: token_secret.expose_secret(),
                };
                let params = TbaRequestParams {
                    realm,
                    nonce: &nonce,
                    timestamp: super::oauth2::unix_now().max(0) as u64,
                };
                (
                    tba::authorization_header(method.as_str(), url, &creds, &params),
                    None,
                )
            }
            Auth::OAuth2(session) => {
                let token = session.bearer().await?;
                (format!("Bearer {}", token.expose_secret()), Some(token))
            }
        };
        let mut value = HeaderValue::from_str(&value).map_err(|_| {
            NetSuiteError::Config("credentials hold characters not allowed in a header".into())
        })?;
        value.set_sensitive(true);
        Ok((value, bearer))
    }

    /// Sends one logical request: waits for a concurrency slot per attempt, retries 429s
    /// with backoff (slot released while sleeping) and a refused OAuth 2.0 token once.
    pub(super) async fn send(
        &self,
        method: Method,
        url: Url,
        body: Option<Vec<u8>>,
        transient: bool,
        op: &'static str,
        record_type: &str,
    ) -> Result<Answer, NetSuiteError> {
        let retry = self.inner.retry;
        let mut waited = Duration::ZERO;
        let mut reauthenticated = false;
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            // The token is fetched before taking a slot so a slow token endpoint does not
            // hold account concurrency.
            let (authorization, bearer) = self.authorize(&method, &url).await?;
            let mut request = self
                .inner
                .http
                .request(method.clone(), url.clone())
                .header(http::header::AUTHORIZATION, authorization)
                .header(http::header::ACCEPT, "application/json");
            if transient {
                request = request.header("Prefer", "transient");
            }
            if let Some(body) = &body {
                request = request
                    .header(http::header::CONTENT_TYPE, "application/json")
                    // Unknown field names fail instead of being dropped with a warning, so a
                    // misspelt custbody_* is caught on the first order.
                    .header("X-NetSuite-PropertyNameValidation", "Error")
                    .body(body.clone());
            }

            let permit = self
                .inner
                .permits
                .acquire()
                .await
                .map_err(|_| NetSuiteError::Config("concurrency limiter closed".into()))?;
            let shared = match self.inner.shared_slots.get() {
                Some(slots) => match slots.take().await {
                    Ok(slot) => Some(slot),
                    Err(e) => {
                        // Redis is what every replica needs anyway; this process' own share
                        // still bounds it meanwhile.
                        tracing::warn!(error = %e, "shared NetSuite slots unavailable; local limit only");
                        None
                    }
                },
                None => None,
            };
            self.inner.requests.fetch_add(1, Ordering::Relaxed);
            self.note_in_flight();
            let started = Instant::now();
            let result = match request.send().await {
                Ok(resp) => {
                    let status = resp.status().as_u16();
                    let headers = resp.headers().clone();
                    resp.bytes().await.map(|body| Answer {
                        status,
                        headers,
                        body,
                    })
                }
                Err(e) => Err(e),
            };
            drop(shared);
            drop(permit);
            self.note_in_flight();
            if let Some(m) = self.inner.metrics.get() {
                let status = match &result {
                    Ok(a) => metrics::status_label(Some(a.status), false),
                    Err(e) => metrics::status_label(e.status().map(|s| s.as_u16()), e.is_timeout()),
                };
                m.netsuite_request(
                    method.as_str(),
                    &endpoint_template(op, record_type),
                    status,
                    started.elapsed().as_secs_f64(),
                );
            }

            let answer = result.map_err(|e| {
                tracing::debug!(op, record_type, attempt, "netsuite transport error");
                NetSuiteError::from_transport(&e)
            })?;
            let header = |name: &str| {
                answer
                    .headers
                    .get(name)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .to_string()
            };
            tracing::debug!(
                op,
                record_type,
                status = answer.status,
                attempt,
                elapsed_ms = started.elapsed().as_millis() as u64,
                job_id = %header("X-NetSuite-JobId"),
                operation_id = %header("X-N-OperationId"),
                "netsuite request"
            );
            if (200..300).contains(&answer.status) {
                return Ok(answer);
            }

            let err =
                NetSuiteError::from_response(answer.status, &String::from_utf8_lossy(&answer.body));
            match (&err, &self.inner.auth, bearer) {
                (NetSuiteError::ConcurrencyLimit { .. }, _, _)
                    if attempt < retry.max_attempts && waited < retry.max_total_wait =>
                {
                    let delay = retry
                        .backoff(attempt)
                        .min(retry.max_total_wait.saturating_sub(waited));
                    waited += delay;
                    tracing::debug!(
                        op,
                        attempt,
                        delay_ms = delay.as_millis() as u64,
                        "netsuite concurrency limit; backing off"
                    );
                    tokio::time::sleep(delay).await;
                }
                (NetSuiteError::Auth { .. }, Auth::OAuth2(session), Some(used))
                    if !reauthenticated =>
                {
                    // A revoked or early-expired token: buy a new one once, then give up.
                    reauthenticated = true;
                    session.invalidate(&used).await;
                }
                _ => {
                    if let NetSuiteError::Server { error_id, .. } = &err {
                        tracing::warn!(
                            op,
                            record_type,
                            error_id = error_id.as_deref().unwrap_or(""),
                            "netsuite server error"
                        );
                    }
                    return Err(err);
                }
            }
        }
    }
}

/// The endpoint label of a request: its path with ids replaced by placeholders.
fn endpoint_template(op: &str, record_type: &str) -> String {
    match op {
        "upsert" => format!("/record/v1/{record_type}/eid:{{external_id}}"),
        "get" => format!("/record/v1/{record_type}/{{id}}"),
        "suiteql" => "/query/v1/suiteql".to_string(),
        "transform" => format!("/record/v1/{{type}}/{{id}}/!transform/{record_type}"),
        "patch" => format!("/record/v1/{record_type}/{{id}}"),
        other => format!("{other} {record_type}"),
    }
}

/// Record types are spliced into paths, so only names.
pub(super) fn check_record_type(record_type: &str) -> Result<(), NetSuiteError> {
    if suiteql::is_plain_identifier(record_type) {
        Ok(())
    } else {
        Err(NetSuiteError::InvalidRequest(format!(
            "record type {record_type:?} is not a plain identifier"
        )))
    }
}

/// Internal id from a `Location` header: its last path segment, if it is an id.
pub fn id_from_location(location: &str) -> Option<String> {
    let path = location.split(['?', '#']).next()?;
    let last = path.trim_end_matches('/').rsplit('/').next()?;
    let ok = !last.is_empty()
        && last
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    ok.then(|| last.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn location_gives_internal_id() {
        assert_eq!(
            id_from_location(
                "https://2945321.suitetalk.api.netsuite.com/services/rest/record/v1/invoice/8938"
            )
            .as_deref(),
            Some("8938")
        );
        assert_eq!(
            id_from_location("/record/v1/customer/647/").as_deref(),
            Some("647")
        );
        assert_eq!(
            id_from_location("/record/v1/salesOrder/eid:tiktok-order:1"),
            None
        );
        assert_eq!(id_from_location(""), None);
    }

    #[test]
    fn backoff_is_jittered_and_bounded() {
        let policy = RetryPolicy::default();
        for attempt in 1..=10 {
            let d = policy.backoff(attempt);
            assert!(d <= policy.max_delay);
            assert!(d <= policy.base_delay * 2u32.pow(attempt - 1));
        }
        let samples: std::collections::HashSet<_> = (0..50).map(|_| policy.backoff(5)).collect();
        assert!(samples.len() > 5, "backoff must not be in lockstep");
    }

    fn tba_config(concurrency: usize) -> NetSuiteConfig {
        NetSuiteConfig {
            account_id: "1234567_SB1".into(),
            rest_base: String::new(),
            auth: NetSuiteAuth::Tba {
                consumer_key: "ck".into(),
                consumer_secret: SecretString::from("cs".to_string()),
                token_id: "t".into(),
                token_secret: SecretString::from("ts".to_string()),
            },
            concurrency,
            timeout: Duration::from_secs(5),
        }
    }

    #[test]
    fn new_derives_rest_base_and_rejects_zero_concurrency() {
        let client = NetSuiteClient::new(tba_config(3)).unwrap();
        assert_eq!(
            client.rest_base(),
            "https://1234567-sb1.suitetalk.api.netsuite.com/services/rest"
        );
        assert_eq!(client.concurrency(), 3);
        assert_eq!(client.in_flight(), 0);
        assert!(NetSuiteClient::new(tba_config(0)).is_err());
    }

    #[tokio::test]
    async fn injected_names_are_refused_before_any_request() {
        let client = NetSuiteClient::new(tba_config(1)).unwrap();
        let err = client
            .find_items_by_sku("itemid) OR (1=1", &["a".into()])
            .await
            .unwrap_err();
        assert!(matches!(err, NetSuiteError::InvalidRequest(_)));
        let err = client
            .upsert("salesOrder/../customer", "x", &Value::Null, &[])
            .await
            .unwrap_err();
        assert!(matches!(err, NetSuiteError::InvalidRequest(_)));
        let err = client
            .suiteql_page("SELECT 1", &[], 1000, 10)
            .await
            .unwrap_err();
        assert!(matches!(err, NetSuiteError::InvalidRequest(_)));
        assert_eq!(client.requests_made(), 0);
    }
}

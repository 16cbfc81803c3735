//! Operator endpoints under `/admin`: dead letters (list, inspect, replay, discard), parked
//! jobs (list, release), per-order history, shop authorization status and review flags. Behind a bearer
//! token compared in constant time; without `ADMIN_TOKEN` every one answers 404 `not found`.
//! Handlers only use the queue and state traits, so every storage backend serves them.

use super::IngressState;
use crate::history::{self, HistoryEvent};
use crate::queue::{DeadLetter, JobEnvelope, QueueError, SyncTrigger};
use crate::state::{ParkReason, ParkedJob, StateError};
use crate::tiktok::authorization;
use axum::extract::{Path, Query, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use secrecy::ExposeSecret;
use serde::Deserialize;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// How many of the newest dead letters a lookup by id searches: the queue trait lists dead
/// letters newest first but has no get-by-id.
const DEAD_LOOKUP_WINDOW: usize = 10_000;
const DEFAULT_LIST_LIMIT: usize = 500;

pub fn routes(state: IngressState) -> Router<IngressState> {
    Router::new()
        .route("/admin/dead-letters", get(list_dead_letters))
        .route(
            "/admin/dead-letters/{id}",
            get(show_dead_letter).delete(discard_dead_letter),
        )
        .route("/admin/dead-letters/{id}/replay", post(replay_dead_letter))
        .route("/admin/dead-letters/replay", post(replay_dead_letters))
        .route("/admin/parked", get(list_parked))
        .route("/admin/parked/{job_id}/release", post(release_parked_job))
        .route("/admin/orders/{order_id}/history", get(order_history))
        .route("/admin/shops", get(list_shops))
        .route("/admin/shops/{shop_id}/reauthorize", post(reauthorize_shop))
        .route("/admin/review", get(list_review_flags))
        .route("/admin/review/{id}/dismiss", post(dismiss_review_flag))
        .route("/admin/inventory/drift", get(super::inventory_admin::drift))
        .route(
            "/admin/inventory/reconcile",
            post(super::inventory_admin::reconcile),
        )
        .route(
            "/admin/settlements/reconciliation",
            get(super::settlements::reconciliation),
        )
        .route(
            "/admin/settlements/{statement_id}",
            get(super::settlements::show),
        )
        // route_layer: unknown paths stay a plain 404 instead of asking for a token.
        .route_layer(middleware::from_fn_with_state(state, require_token))
}

/// What an admin call can fail with; answered as `{"error": "..."}`.
#[derive(Debug)]
pub enum AdminError {
    NotFound(String),
    Unavailable(String),
    Corrupt(String),
    BadRequest(String),
}

impl IntoResponse for AdminError {
    fn into_response(self) -> Response {
        let (status, msg) = match self {
            AdminError::NotFound(m) => (StatusCode::NOT_FOUND, m),
            AdminError::Unavailable(m) => (StatusCode::SERVICE_UNAVAILABLE, m),
            AdminError::Corrupt(m) => (StatusCode::INTERNAL_SERVER_ERROR, m),
            AdminError::BadRequest(m) => (StatusCode::BAD_REQUEST, m),
        };
        (status, Json(json!({ "error": msg }))).into_response()
    }
}

impl From<QueueError> for AdminError {
    fn from(e: QueueError) -> Self {
        match e {
            QueueError::Unavailable(_) => AdminError::Unavailable(e.to_string()),
            QueueError::Corrupt { .. } => AdminError::Corrupt(e.to_string()),
        }
    }
}

impl From<StateError> for AdminError {
    fn from(e: StateError) -> Self {
        match e {
            StateError::Unavailable(_) => AdminError::Unavailable(e.to_string()),
            StateError::Corrupt { .. } => AdminError::Corrupt(e.to_string()),
        }
    }
}

impl From<crate::timers::unpark::ReleaseError> for AdminError {
    fn from(e: crate::timers::unpark::ReleaseError) -> Self {
        match e {
            crate::timers::unpark::ReleaseError::Queue(q) => q.into(),
            crate::timers::unpark::ReleaseError::State(s) => s.into(),
        }
    }
}

type AdminResult = Result<Json<Value>, AdminError>;

/// Compares digests of the two tokens, so neither the content nor the length of the
/// configured token shows in the timing.
fn authorized(st: &IngressState, headers: &HeaderMap) -> Result<(), StatusCode> {
    let Some(token) = &st.admin_token else {
        return Err(StatusCode::NOT_FOUND);
    };
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .unwrap_or("");
    let want = Sha256::digest(token.expose_secret().as_bytes());
    let got = Sha256::digest(given.as_bytes());
    if bool::from(got.as_slice().ct_eq(want.as_slice())) {
        Ok(())
    } else {
        Err(StatusCode::UNAUTHORIZED)
    }
}

async fn require_token(State(st): State<IngressState>, req: Request, next: Next) -> Response {
    match authorized(&st, req.headers()) {
        Ok(()) => next.run(req).await,
        // The same answer for every path, so a scan learns nothing about the API.
        Err(StatusCode::NOT_FOUND) => AdminError::NotFound("not found".into()).into_response(),
        Err(status) => (
            status,
            [(header::WWW_AUTHENTICATE, "Bearer")],
            Json(json!({ "error": "missing or wrong bearer token" })),
        )
            .into_response(),
    }
}

#[derive(Debug, Deserialize)]
struct ListQuery {
    limit: Option<usize>,
}

/// Dead letters, newest first.
async fn list_dead_letters(
    State(st): State<IngressState>,
    Query(q): Query<ListQuery>,
) -> AdminResult {
    let limit = q
        .limit
        .unwrap_or(DEFAULT_LIST_LIMIT)
        .clamp(1, DEAD_LOOKUP_WINDOW);
    let dead = st.queue.dead_letters(limit).await?;
    Ok(Json(json!({ "dead_letters": dead })))
}

async fn find_dead(st: &IngressState, id: &str) -> Result<Option<DeadLetter>, AdminError> {
    let dead = st.queue.dead_letters(DEAD_LOOKUP_WINDOW).await?;
    Ok(dead.into_iter().find(|d| d.id == id))
}

fn no_dead_letter(id: &str) -> AdminError {
    AdminError::NotFound(format!("no dead letter {id}"))
}

async fn show_dead_letter(State(st): State<IngressState>, Path(id): Path<String>) -> AdminResult {
    let dead = find_dead(&st, &id)
        .await?
        .ok_or_else(|| no_dead_letter(&id))?;
    Ok(Json(json!(dead)))
}

/// Runs `op` (replay or discard) on a dead letter. One the listing does not show (unknown,
/// or older than the lookup window) is still tried, but a backend error for it means an id
/// the backend cannot parse (the backend just answered the listing), so it is a 404.
async fn act_on_dead<F, Fut>(
    st: &IngressState,
    id: &str,
    op: F,
) -> Result<Option<DeadLetter>, AdminError>
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = Result<bool, QueueError>>,
{
    let found = find_dead(st, id).await?;
    let done = match op().await {
        Ok(done) => done,
        Err(e) if found.is_none() => {
            tracing::debug!(error = %e, "dead letter id not understood by the queue");
            false
        }
        Err(e) => return Err(e.into()),
    };
    if !done {
        return Err(no_dead_letter(id));
    }
    Ok(found)
}

async fn record_admin_action(
    st: &IngressState,
    envelope: &JobEnvelope,
    action: &str,
    detail: String,
) {
    let Some(order_id) = envelope.job.order_id() else {
        return;
    };
    let event = HistoryEvent::AdminAction {
        action: action.into(),
        job_id: Some(envelope.id.clone()),
        detail,
    };
    history::record(st.state.as_ref(), order_id, event).await;
}

/// Queue the dead letter again as a fresh job (attempt 1) and remove it.
async fn replay_dead_letter(State(st): State<IngressState>, Path(id): Path<String>) -> AdminResult {
    let found = act_on_dead(&st, &id, || st.queue.replay_dead(&id)).await?;
    tracing::info!(dead_letter_id = %id, "dead letter replayed by an operator");
    if let Some(d) = &found {
        let detail = format!("dead letter {id} replayed");
        record_admin_action(&st, &d.envelope, "replay_dead_letter", detail).await;
    }
    Ok(Json(json!({
        "id": id,
        "replayed": true,
        "job_id": found.map(|d| d.envelope.id),
    })))
}

/// Which dead letters a bulk replay takes; at least one criterion is required.
#[derive(Debug, Deserialize)]
struct ReplayFilter {
    /// Job kind (`order_sync`, `fulfillment_push`, ...).
    kind: Option<String>,
    /// Text the error contains (case-insensitive), e.g. `HTTP 503`.
    error: Option<String>,
    /// Failed at or after / before this time (Unix ms).
    since_ms: Option<i64>,
    until_ms: Option<i64>,
    /// Replay at most this many (oldest first); default all that match.
    limit: Option<usize>,
}

impl ReplayFilter {
    fn matches(&self, d: &DeadLetter) -> bool {
        self.kind
            .as_deref()
            .is_none_or(|k| d.envelope.job.kind() == k)
            && self
                .error
                .as_deref()
                .is_none_or(|e| d.error.to_lowercase().contains(&e.to_lowercase()))
            && self.since_ms.is_none_or(|t| d.failed_at_ms >= t)
            && self.until_ms.is_none_or(|t| d.failed_at_ms < t)
    }
}

/// Replays, in one call, the dead letters an outage or a fixed bug left behind, picked by
/// kind, error text and failure time. Each is replayed like a single one (fresh attempt 1,
/// fresh retry horizon), and only once even when two operators run the same replay.
async fn replay_dead_letters(
    State(st): State<IngressState>,
    Query(f): Query<ReplayFilter>,
) -> AdminResult {
    if f.kind.is_none() && f.error.is_none() && f.since_ms.is_none() && f.until_ms.is_none() {
        return Err(AdminError::BadRequest(
            "name at least one of kind, error, since_ms, until_ms".into(),
        ));
    }
    let mut matching: Vec<DeadLetter> = st
        .queue
        .dead_letters(DEAD_LOOKUP_WINDOW)
        .await?
        .into_iter()
        .filter(|d| f.matches(d))
        .collect();
    matching.reverse();
    matching.truncate(f.limit.unwrap_or(usize::MAX));
    let mut job_ids = Vec::new();
    for d in &matching {
        if st.queue.replay_dead(&d.id).await? {
            let detail = format!("dead letter {} replayed in bulk", d.id);
            record_admin_action(&st, &d.envelope, "replay_dead_letter", detail).await;
            job_ids.push(d.envelope.id.clone());
        }
    }
    tracing::info!(
        matched = matching.len(),
        replayed = job_ids.len(),
        "dead letters replayed in bulk by an operator"
    );
    Ok(Json(json!({
        "matched": matching.len(),
        "replayed": job_ids.len(),
        "job_ids": job_ids,
    })))
}

async fn discard_dead_letter(
    State(st): State<IngressState>,
    Path(id): Path<String>,
) -> AdminResult {
    let found = act_on_dead(&st, &id, || st.queue.discard_dead(&id)).await?;
    tracing::info!(dead_letter_id = %id, "dead letter discarded by an operator");
    if let Some(d) = &found {
        let detail = format!("dead letter {id} discarded");
        record_admin_action(&st, &d.envelope, "discard_dead_letter", detail).await;
    }
    Ok(Json(json!({ "id": id, "discarded": true })))
}

/// Jobs parked with their reasons (unknown SKUs, a deauthorized shop).
async fn list_parked(State(st): State<IngressState>) -> AdminResult {
    let parked = st.state.parked().await?;
    Ok(Json(json!({ "parked": parked })))
}

/// Queue a fresh run of a parked job, then unpark it: the unparker's order, so a crash in
/// between runs the job twice (harmless, jobs are idempotent) rather than never.
async fn release(st: &IngressState, parked: &ParkedJob) -> Result<String, AdminError> {
    let env = crate::timers::unpark::release(
        st.queue.as_ref(),
        st.state.as_ref(),
        parked,
        SyncTrigger::Manual,
    )
    .await?;
    let detail = format!(
        "parked job {} ({}) released",
        parked.envelope.id,
        parked.reason.label()
    );
    record_admin_action(st, &env, "release_parked", detail).await;
    Ok(env.id)
}

async fn release_parked_job(
    State(st): State<IngressState>,
    Path(job_id): Path<String>,
) -> AdminResult {
    let parked = st
        .state
        .parked()
        .await?
        .into_iter()
        .find(|p| p.envelope.id == job_id)
        .ok_or_else(|| AdminError::NotFound(format!("no parked job {job_id}")))?;
    let new_job_id = release(&st, &parked).await?;
    tracing::info!(%job_id, %new_job_id, "parked job released by an operator");
    Ok(Json(json!({
        "job_id": job_id,
        "released": true,
        "new_job_id": new_job_id,
    })))
}

/// Events received, jobs run, NetSuite records written and TikTok calls made, oldest first.
async fn order_history(
    State(st): State<IngressState>,
    Path(order_id): Path<String>,
) -> AdminResult {
    let entries = history::read(st.state.as_ref(), &order_id).await?;
    Ok(Json(json!({ "order_id": order_id, "history": entries })))
}

/// Authorization and token expiry of the shop this deployment serves.
async fn list_shops(State(st): State<IngressState>) -> AdminResult {
    let shop = authorization::shop_status(st.state.as_ref(), &st.tiktok_shop_id).await?;
    shop.record_in(&st.metrics);
    Ok(Json(json!({ "shops": [shop] })))
}

/// The merchant authorized the app again: lift the deauthorization and release the jobs
/// parked for it. (Configuring new tokens does the same by itself once a worker loads them.)
async fn reauthorize_shop(
    State(st): State<IngressState>,
    Path(shop_id): Path<String>,
) -> AdminResult {
    if shop_id != st.tiktok_shop_id {
        return Err(AdminError::NotFound(format!(
            "shop {shop_id} is not served by this bridge"
        )));
    }
    authorization::clear_deauthorization(st.state.as_ref(), &shop_id).await?;
    let mut released = 0usize;
    for parked in st.state.parked().await? {
        if matches!(&parked.reason, ParkReason::ShopDeauthorized { shop_id: s } if *s == shop_id) {
            release(&st, &parked).await?;
            released += 1;
        }
    }
    let shop = authorization::shop_status(st.state.as_ref(), &shop_id).await?;
    shop.record_in(&st.metrics);
    tracing::info!(
        shop_id,
        released,
        "shop marked as authorized again by an operator"
    );
    Ok(Json(json!({ "shop": shop, "released": released })))
}

#[derive(Debug, Default, Deserialize)]
struct ReviewQuery {
    /// Also list dismissed flags.
    #[serde(default)]
    all: bool,
}

/// Cases the bridge left for a person (e.g. a cancellation of a fulfilled order), newest
/// first; open ones only unless `?all=true`.
async fn list_review_flags(
    State(st): State<IngressState>,
    Query(q): Query<ReviewQuery>,
) -> AdminResult {
    let flags = crate::review::list(st.state.as_ref(), q.all).await?;
    Ok(Json(json!({ "flags": flags })))
}

#[derive(Debug, Default, Deserialize)]
struct DismissQuery {
    #[serde(default)]
    note: Option<String>,
}

/// The case is handled: the flag stays (so reruns do not raise it again) but is hidden.
async fn dismiss_review_flag(
    State(st): State<IngressState>,
    Path(id): Path<String>,
    Query(q): Query<DismissQuery>,
) -> AdminResult {
    let flag = crate::review::dismiss(st.state.as_ref(), &id, q.note)
        .await?
        .ok_or_else(|| AdminError::NotFound(format!("no review flag {id}")))?;
    let event = HistoryEvent::AdminAction {
        action: "dismiss_review_flag".into(),
        job_id: None,
        detail: format!("review flag {id} dismissed"),
    };
    history::record(st.state.as_ref(), &flag.order_id, event).await;
    tracing::info!(flag = %id, "review flag dismissed by an operator");
    Ok(Json(json!({ "flag": flag })))
}

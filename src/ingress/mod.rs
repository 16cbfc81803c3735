//! The HTTP face of the bridge: signed webhooks in, health and metrics out. Ingress makes
//! no API calls: it verifies, dedupes, enqueues durably and answers, well inside TikTok's
//! 3 s budget.

pub mod admin;
pub mod callout;
pub mod health;
pub mod inventory_admin;
pub mod settlements;
pub mod tiktok;

use crate::metrics::Metrics;
use crate::queue::JobQueue;
use crate::state::StateStore;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use axum::Router;
use secrecy::SecretString;
use std::sync::Arc;
use std::time::Duration;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

/// What the HTTP handlers need; cheap to clone.
#[derive(Clone)]
pub struct IngressState {
    pub queue: Arc<dyn JobQueue>,
    pub state: Arc<dyn StateStore>,
    pub metrics: Arc<Metrics>,
    pub tiktok_app_key: String,
    pub tiktok_app_secret: SecretString,
    pub tiktok_shop_id: String,
    pub dedupe_ttl: Duration,
    /// Bearer token for `/admin`; the admin API is off when `None`.
    pub admin_token: Option<SecretString>,
    /// Budget for the durable enqueue before answering 503.
    pub enqueue_timeout: Duration,
    /// Batched writer for the per-order history of received events.
    pub history: crate::history::HistoryWriter,
    /// Accepted `NETSUITE_CALLOUT_SECRET` values; empty = callouts refused.
    pub callout_secrets: Arc<Vec<SecretString>>,
    /// NetSuite account a callout's `account` must name.
    pub netsuite_account_id: String,
}

pub fn router(
    state: IngressState,
    max_body_bytes: usize,
    limits: &crate::config::HttpLimits,
    serve_metrics: bool,
) -> Router {
    // Routes that do work take a slot in flight (or are shed with 503); probes and metrics
    // answer even when the replica is saturated.
    let work = Router::new()
        .route("/webhooks/tiktok", post(tiktok::receive))
        .route("/callouts/netsuite", post(callout::receive))
        .merge(admin::routes(state.clone()));
    let work = crate::server::limit_work(work, limits, max_body_bytes, state.metrics.clone());
    let mut app = Router::new()
        .merge(work)
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz));
    // With METRICS_BIND_ADDR the metrics live on that port only, away from the internet.
    if serve_metrics {
        app = app.route("/metrics", get(health::metrics));
    }
    app.layer(DefaultBodyLimit::max(max_body_bytes))
        .layer(TraceLayer::new_for_http().make_span_with(request_span))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .with_state(state)
}

/// The span every log line of a request carries. INFO so it shows at the default level; the
/// path only (a query could carry anything), never headers (signatures, bearer tokens).
/// Handlers fill in the ids they learn.
fn request_span(req: &axum::http::Request<axum::body::Body>) -> tracing::Span {
    let request_id = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    tracing::info_span!(
        "request",
        method = %req.method(),
        path = req.uri().path(),
        request_id,
        topic = tracing::field::Empty,
        notification_id = tracing::field::Empty,
        order_id = tracing::field::Empty,
        job_id = tracing::field::Empty,
    )
}

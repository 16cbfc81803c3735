//! The HTTP face of the bridge: signed webhooks in, health and metrics out. Ingress makes
//! no API calls: it verifies, dedupes, enqueues durably and answers, well inside TikTok's
//! 3 s budget.

pub mod admin;
pub mod health;
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
}

pub fn router(state: IngressState, max_body_bytes: usize) -> Router {
    Router::new()
        .route("/webhooks/tiktok", post(tiktok::receive))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(health::metrics))
        .route("/admin/parked", get(admin::parked))
        .route("/admin/dead-letters", get(admin::dead_letters))
        .layer(DefaultBodyLimit::max(max_body_bytes))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

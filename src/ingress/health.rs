//! Liveness, readiness (Redis answers) and Prometheus metrics.

use super::IngressState;
use crate::metrics::Reason;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use std::time::Duration;

pub async fn healthz() -> &'static str {
    "ok"
}

pub async fn readyz(State(st): State<IngressState>) -> Response {
    match tokio::time::timeout(Duration::from_secs(1), st.queue.ping()).await {
        Ok(Ok(())) => (StatusCode::OK, "ready").into_response(),
        Ok(Err(e)) => (StatusCode::SERVICE_UNAVAILABLE, format!("not ready: {e}")).into_response(),
        Err(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            "not ready: queue timed out",
        )
            .into_response(),
    }
}

/// Refresh the backend gauges, then render. A slow backend leaves the last values.
pub async fn metrics(State(st): State<IngressState>) -> Response {
    let budget = Duration::from_millis(500);
    if let Ok(Ok(s)) = tokio::time::timeout(budget, st.queue.stats()).await {
        st.metrics.queue_depth.set(s.depth as i64);
        st.metrics.queue_pending.set(s.pending as i64);
        st.metrics.queue_delayed.set(s.delayed as i64);
        st.metrics.queue_dead.set(s.dead as i64);
    }
    if let Ok(Ok(parked)) = tokio::time::timeout(budget, st.state.parked()).await {
        let mut counts = std::collections::BTreeMap::<&str, i64>::new();
        counts.insert("unknown_sku", 0);
        for p in &parked {
            *counts.entry(p.reason.label()).or_default() += 1;
        }
        for (reason, n) in counts {
            st.metrics
                .parked
                .get_or_create(&Reason {
                    reason: reason.into(),
                })
                .set(n);
        }
    }
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        st.metrics.encode(),
    )
        .into_response()
}

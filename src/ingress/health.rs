//! Liveness, readiness (Redis answers) and Prometheus metrics.

use super::IngressState;
use crate::metrics::Reason;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use std::time::Duration;

pub async fn healthz() -> &'static str {
    "ok"
}

pub async fn readyz(State(st): State<IngressState>) -> Response {
    match tokio::time::timeout(Duration::from_secs(1), st.queue.ping()).await {
        // Open breakers do not make the replica unready (ingress must keep queueing during a
        // NetSuite outage); they are named so an operator sees why jobs wait.
        Ok(Ok(())) => {
            let open = st.metrics.breakers_open.lock().clone();
            if open.is_empty() {
                (StatusCode::OK, "ready").into_response()
            } else {
                let now = crate::queue::now_ms();
                let list: Vec<String> = open
                    .iter()
                    .map(|(dep, since)| format!("{dep} (open {} s)", (now - since).max(0) / 1000))
                    .collect();
                (
                    StatusCode::OK,
                    format!("ready; circuit breakers open: {}", list.join(", ")),
                )
                    .into_response()
            }
        }
        Ok(Err(e)) => (StatusCode::SERVICE_UNAVAILABLE, format!("not ready: {e}")).into_response(),
        Err(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            "not ready: queue timed out",
        )
            .into_response(),
    }
}

/// Refresh the backend gauges, then render. A slow backend leaves the last values.
pub async fn metrics(State(st): State<IngressState>, headers: HeaderMap) -> Response {
    let budget = Duration::from_millis(500);
    if let Ok(Ok(s)) = tokio::time::timeout(budget, st.queue.stats()).await {
        st.metrics.queue_depth.set(s.depth as i64);
        st.metrics.queue_pending.set(s.pending as i64);
        st.metrics.queue_delayed.set(s.delayed as i64);
        st.metrics.queue_dead.set(s.dead as i64);
        st.metrics.ops.queue_backend_up.set(1);
    } else {
        st.metrics.ops.queue_backend_up.set(0);
    }
    // Counts kept beside the parked jobs: a scrape never loads the jobs themselves.
    if let Ok(Ok(by_reason)) = tokio::time::timeout(budget, st.state.parked_counts()).await {
        let mut counts = std::collections::BTreeMap::<String, i64>::new();
        counts.insert("unknown_sku".into(), 0);
        counts.insert("shop_deauthorized".into(), 0);
        counts.insert("totals_mismatch".into(), 0);
        // Reasons seen before drop to 0 instead of keeping their last value.
        st.metrics.parked.clear();
        for (reason, n) in by_reason {
            counts.insert(reason, i64::try_from(n).unwrap_or(i64::MAX));
        }
        for (reason, n) in counts {
            st.metrics.parked.get_or_create(&Reason { reason }).set(n);
        }
    }
    let shop = crate::tiktok::authorization::shop_status(st.state.as_ref(), &st.tiktok_shop_id);
    if let Ok(Ok(shop)) = tokio::time::timeout(budget, shop).await {
        shop.record_in(&st.metrics);
    }
    // OpenMetrics for scrapers that ask for it (Prometheus), classic text for the rest.
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok());
    let (content_type, body) = st.metrics.render(accept);
    ([(header::CONTENT_TYPE, content_type)], body).into_response()
}

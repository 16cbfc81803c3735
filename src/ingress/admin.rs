//! Operator endpoints under `/admin`, behind a bearer token compared in constant time.
//! Without `ADMIN_TOKEN` they answer 404, as if absent.

use super::IngressState;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use secrecy::ExposeSecret;
use subtle::ConstantTimeEq;

fn authorized(st: &IngressState, headers: &HeaderMap) -> Result<(), StatusCode> {
    let Some(token) = &st.admin_token else {
        return Err(StatusCode::NOT_FOUND);
    };
    let given = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    if bool::from(given.as_bytes().ct_eq(token.expose_secret().as_bytes())) {
        Ok(())
    } else {
        Err(StatusCode::UNAUTHORIZED)
    }
}

/// Jobs parked with their reasons (e.g. the SKUs NetSuite does not know yet).
pub async fn parked(State(st): State<IngressState>, headers: HeaderMap) -> Response {
    if let Err(status) = authorized(&st, &headers) {
        return status.into_response();
    }
    match st.state.parked().await {
        Ok(p) => Json(serde_json::json!({ "parked": p })).into_response(),
        Err(e) => (StatusCode::SERVICE_UNAVAILABLE, e.to_string()).into_response(),
    }
}

pub async fn dead_letters(State(st): State<IngressState>, headers: HeaderMap) -> Response {
    if let Err(status) = authorized(&st, &headers) {
        return status.into_response();
    }
    match st.queue.dead_letters(500).await {
        Ok(d) => Json(serde_json::json!({ "dead_letters": d })).into_response(),
        Err(e) => (StatusCode::SERVICE_UNAVAILABLE, e.to_string()).into_response(),
    }
}

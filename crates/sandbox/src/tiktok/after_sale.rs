//! `/_sandbox/tiktok/...` control routes for what buyers and TikTok do after a sale:
//! cancellations, returns moving through their statuses, and TikTok's own warehouse
//! shipping a Fulfilled-by-TikTok order. Tests and curl users stage these; the bridge only
//! sees them through the Open API (Search Cancellations / Returns, Get Order Detail) and
//! topics 1, 11 and 12.

use super::TikTokSandbox;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};
use std::sync::Arc;

type Sb = Arc<TikTokSandbox>;

pub(super) fn routes() -> Router<Sb> {
    Router::new()
        .route("/_sandbox/tiktok/cancellations", post(add_cancellation))
        .route("/_sandbox/tiktok/returns", post(add_return))
        .route(
            "/_sandbox/tiktok/returns/{return_id}/status",
            post(set_return_status),
        )
        .route(
            "/_sandbox/tiktok/orders/{order_id}/ship-by-tiktok",
            post(ship_by_tiktok),
        )
}

fn error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(json!({ "error": message.into() }))).into_response()
}

/// A cancellation in the Search Cancellations shape (`cancel_id`, `order_id` required).
async fn add_cancellation(State(sb): State<Sb>, Json(c): Json<Value>) -> Response {
    let order_id = c["order_id"].as_str().unwrap_or_default().to_string();
    if sb.order(&order_id).is_none() {
        return error(StatusCode::NOT_FOUND, format!("no order {order_id:?}"));
    }
    match sb.add_cancellation(c) {
        Some(id) => (
            StatusCode::CREATED,
            Json(
                sb.latest_cancellation(&order_id)
                    .unwrap_or(json!({ "cancel_id": id })),
            ),
        )
            .into_response(),
        None => error(
            StatusCode::BAD_REQUEST,
            "cancel_id and order_id are required",
        ),
    }
}

/// A return in the Search Returns shape (`return_id`, `order_id` required).
async fn add_return(State(sb): State<Sb>, Json(r): Json<Value>) -> Response {
    let order_id = r["order_id"].as_str().unwrap_or_default().to_string();
    if sb.order(&order_id).is_none() {
        return error(StatusCode::NOT_FOUND, format!("no order {order_id:?}"));
    }
    match sb.add_return(r) {
        Some(id) => (
            StatusCode::CREATED,
            Json(sb.return_order(&id).unwrap_or(Value::Null)),
        )
            .into_response(),
        None => error(
            StatusCode::BAD_REQUEST,
            "return_id and order_id are required",
        ),
    }
}

#[derive(Deserialize)]
struct StatusChange {
    status: String,
}

async fn set_return_status(
    State(sb): State<Sb>,
    Path(return_id): Path<String>,
    Json(change): Json<StatusChange>,
) -> Response {
    if sb.set_return_status(&return_id, &change.status) {
        Json(sb.return_order(&return_id).unwrap_or(Value::Null)).into_response()
    } else {
        error(StatusCode::NOT_FOUND, format!("no return {return_id}"))
    }
}

#[derive(Deserialize)]
struct TikTokShipment {
    tracking_number: String,
}

async fn ship_by_tiktok(
    State(sb): State<Sb>,
    Path(order_id): Path<String>,
    Json(ship): Json<TikTokShipment>,
) -> Response {
    match sb.ship_by_tiktok(&order_id, &ship.tracking_number) {
        Some(package_id) => Json(json!({
            "package_id": package_id,
            "order": sb.order(&order_id),
        }))
        .into_response(),
        None => error(
            StatusCode::BAD_REQUEST,
            format!("order {order_id} is unknown, not fulfilled by TikTok, or fully shipped"),
        ),
    }
}

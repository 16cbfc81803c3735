//! `/_sandbox/tiktok/...`: a small JSON API to drive the simulated shop with curl: place
//! and change orders, read call counters, inject faults and push signed webhooks.

use super::fixtures::{sample_order_with, SampleLine, SampleOrderOptions};
use super::{Fault, TikTokSandbox};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};
use std::sync::Arc;

type Sb = Arc<TikTokSandbox>;

pub(super) fn routes() -> Router<Sb> {
    Router::new()
        .route(
            "/_sandbox/tiktok/orders",
            post(insert_order).get(list_orders),
        )
        .route("/_sandbox/tiktok/orders/{id}", get(get_order))
        .route("/_sandbox/tiktok/orders/{id}/status", post(set_status))
        .route("/_sandbox/tiktok/stats", get(stats))
        .route(
            "/_sandbox/tiktok/faults",
            post(set_fault).delete(clear_faults),
        )
        .route("/_sandbox/tiktok/webhooks", post(push_webhook))
}

fn error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(json!({ "error": message.into() }))).into_response()
}

/// Either a complete order in the API's shape, or a fixture recipe.
#[derive(Deserialize)]
#[serde(untagged)]
enum NewOrder {
    Recipe {
        order_id: String,
        #[serde(default = "default_status")]
        status: String,
        lines: Vec<SampleLine>,
        #[serde(default)]
        options: Box<SampleOrderOptions>,
    },
    Raw(Value),
}

fn default_status() -> String {
    "AWAITING_SHIPMENT".into()
}

async fn insert_order(State(sb): State<Sb>, Json(new): Json<NewOrder>) -> Response {
    let order = match new {
        NewOrder::Recipe {
            order_id,
            status,
            lines,
            options,
        } => sample_order_with(&order_id, &status, &lines, &options),
        NewOrder::Raw(v) => v,
    };
    match sb.insert_order(order) {
        Ok(id) => (
            StatusCode::CREATED,
            Json(sb.order(&id).unwrap_or(Value::Null)),
        )
            .into_response(),
        Err(e) => error(StatusCode::BAD_REQUEST, e.to_string()),
    }
}

async fn list_orders(State(sb): State<Sb>) -> Json<Value> {
    Json(json!({ "orders": sb.orders() }))
}

async fn get_order(State(sb): State<Sb>, Path(id): Path<String>) -> Response {
    match sb.order(&id) {
        Some(o) => Json(o).into_response(),
        None => error(StatusCode::NOT_FOUND, format!("no order {id}")),
    }
}

#[derive(Deserialize)]
struct StatusChange {
    status: String,
}

async fn set_status(
    State(sb): State<Sb>,
    Path(id): Path<String>,
    Json(change): Json<StatusChange>,
) -> Response {
    if sb.set_status(&id, &change.status) {
        Json(sb.order(&id).unwrap_or(Value::Null)).into_response()
    } else {
        error(StatusCode::NOT_FOUND, format!("no order {id}"))
    }
}

async fn stats(State(sb): State<Sb>) -> Json<Value> {
    Json(json!({
        "calls": sb.call_counts(),
        "token_refreshes": sb.refreshes(),
        "orders": sb.with_orders(|o| o.len()),
    }))
}

async fn set_fault(State(sb): State<Sb>, Json(fault): Json<Fault>) -> StatusCode {
    sb.set_fault(fault);
    StatusCode::NO_CONTENT
}

async fn clear_faults(State(sb): State<Sb>) -> StatusCode {
    sb.clear_faults();
    StatusCode::NO_CONTENT
}

#[derive(Deserialize)]
struct WebhookPush {
    url: String,
    topic: u32,
    #[serde(default)]
    order_id: Option<String>,
    /// Overrides the data built from the order; required for topics other than 1 and 3.
    #[serde(default)]
    data: Option<Value>,
    /// Reuse an id to simulate TikTok's retries.
    #[serde(default)]
    notification_id: Option<String>,
}

async fn push_webhook(State(sb): State<Sb>, Json(push): Json<WebhookPush>) -> Response {
    let data = match (push.data, &push.order_id) {
        (Some(d), _) => d,
        (None, Some(id)) => match sb.webhook_data(push.topic, id) {
            Some(d) => d,
            None => {
                return error(
                    StatusCode::BAD_REQUEST,
                    format!("no order {id}, or topic {} needs explicit data", push.topic),
                )
            }
        },
        (None, None) => return error(StatusCode::BAD_REQUEST, "order_id or data is required"),
    };
    let sent = match &push.notification_id {
        Some(nid) => {
            sb.send_webhook_with_id(&push.url, push.topic, nid, data)
                .await
        }
        None => sb.send_webhook(&push.url, push.topic, data).await,
    };
    match sent {
        Ok(status) => Json(json!({ "status": status.as_u16() })).into_response(),
        Err(e) => error(
            StatusCode::BAD_GATEWAY,
            format!("webhook delivery failed: {}", e.without_url()),
        ),
    }
}

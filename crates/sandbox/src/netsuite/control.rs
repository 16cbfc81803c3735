//! JSON control API under `/_sandbox/netsuite/` for curl users and the demo: seed items and
//! customers, read what the bridge wrote, read counters, inject faults. No auth: sandbox only.

use super::state::NetSuiteFaults;
use super::NetSuiteSandbox;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::Arc;

#[derive(Debug, Deserialize)]
struct NewItem {
    sku: String,
    #[serde(default)]
    fields: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum NewItems {
    One(NewItem),
    Many(Vec<NewItem>),
    Skus { skus: Vec<String> },
}

#[derive(Debug, Deserialize)]
struct NewCustomer {
    #[serde(rename = "externalId")]
    external_id: Option<String>,
    #[serde(rename = "companyName")]
    company_name: String,
}

async fn add_items(State(sb): State<Arc<NetSuiteSandbox>>, Json(req): Json<NewItems>) -> Response {
    let items = match req {
        NewItems::One(i) => vec![i],
        NewItems::Many(v) => v,
        NewItems::Skus { skus } => skus
            .into_iter()
            .map(|sku| NewItem {
                sku,
                fields: BTreeMap::new(),
            })
            .collect(),
    };
    let created: Vec<Value> = items
        .into_iter()
        .map(|i| {
            let fields: Vec<(&str, &str)> = i
                .fields
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            let id = sb.add_item_with_fields(&i.sku, &fields);
            json!({"id": id, "sku": i.sku})
        })
        .collect();
    (StatusCode::CREATED, Json(json!({ "items": created }))).into_response()
}

async fn list_items(State(sb): State<Arc<NetSuiteSandbox>>) -> Json<Value> {
    Json(Value::Array(sb.items()))
}

async fn add_customer(
    State(sb): State<Arc<NetSuiteSandbox>>,
    Json(req): Json<NewCustomer>,
) -> Response {
    let id = sb.add_customer(req.external_id.as_deref(), &req.company_name);
    (StatusCode::CREATED, Json(json!({ "id": id }))).into_response()
}

async fn list_customers(State(sb): State<Arc<NetSuiteSandbox>>) -> Json<Value> {
    Json(Value::Array(sb.customers()))
}

async fn list_sales_orders(State(sb): State<Arc<NetSuiteSandbox>>) -> Json<Value> {
    Json(Value::Array(sb.sales_orders()))
}

async fn stats(State(sb): State<Arc<NetSuiteSandbox>>) -> Json<Value> {
    Json(sb.stats())
}

async fn set_faults(
    State(sb): State<Arc<NetSuiteSandbox>>,
    Json(faults): Json<NetSuiteFaults>,
) -> Json<Value> {
    sb.set_faults(faults.clone());
    Json(json!({ "faults": faults }))
}

async fn clear_faults(State(sb): State<Arc<NetSuiteSandbox>>) -> StatusCode {
    sb.clear_faults();
    StatusCode::NO_CONTENT
}

#[derive(Debug, Deserialize)]
struct StockChange {
    item_id: String,
    location_id: String,
    quantity: rust_decimal::Decimal,
}

/// `POST /_sandbox/netsuite/stock`: set `quantityavailable` of an item at a location.
async fn set_stock(State(sb): State<Arc<NetSuiteSandbox>>, Json(c): Json<StockChange>) -> Response {
    if sb.set_stock(&c.item_id, &c.location_id, c.quantity) {
        Json(json!({ "available": sb.stock_at(&c.item_id, &c.location_id) })).into_response()
    } else {
        (
            StatusCode::NOT_FOUND,
            Json(json!({ "error": "no such item" })),
        )
            .into_response()
    }
}

/// `POST /_sandbox/netsuite/stock/consume`: a second sales channel sells units directly.
async fn consume_stock(
    State(sb): State<Arc<NetSuiteSandbox>>,
    Json(c): Json<StockChange>,
) -> Json<Value> {
    let sold = sb.consume(&c.item_id, &c.location_id, c.quantity);
    Json(json!({ "sold": sold, "available": sb.stock_at(&c.item_id, &c.location_id) }))
}

pub(super) fn router(sb: Arc<NetSuiteSandbox>) -> Router {
    Router::new()
        .route("/items", get(list_items).post(add_items))
        .route("/customers", get(list_customers).post(add_customer))
        .route("/sales-orders", get(list_sales_orders))
        .route("/stats", get(stats))
        .route("/stock", axum::routing::post(set_stock))
        .route("/stock/consume", axum::routing::post(consume_stock))
        .route(
            "/faults",
            axum::routing::post(set_faults).delete(clear_faults),
        )
        .merge(super::callouts::control_routes())
        .merge(super::ledger::control_routes())
        .with_state(sb)
}

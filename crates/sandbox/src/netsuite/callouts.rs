//! What the SuiteScripts in `deploy/netsuite/` do, simulated: item fulfillments made in
//! NetSuite itself (with packages, tracking and carrier), edits to them, and the signed
//! callouts the scripts post to the bridge (`POST /callouts/netsuite`, Standard Webhooks
//! signature: HMAC-SHA256 over `id.timestamp.body`, base64, as `v1,<sig>`).

use super::NetSuiteSandbox;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{patch, post};
use axum::{Json, Router};
use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde::Deserialize;
use serde_json::{json, Value};
use sha2::Sha256;
use std::sync::Arc;

/// The API Secret (`custsecret_tnb_callout`) the simulated scripts sign with; the sandbox's
/// bridge settings give the bridge the same value as `NETSUITE_CALLOUT_SECRET`.
pub const SANDBOX_CALLOUT_SECRET: &str = "sandbox-callout-secret-5f0c9a7e21d4";

/// Standard Webhooks headers, as the scripts send them.
pub const HEADER_ID: &str = "webhook-id";
pub const HEADER_TIMESTAMP: &str = "webhook-timestamp";
pub const HEADER_SIGNATURE: &str = "webhook-signature";

/// Event types the scripts post.
pub const ITEM_FULFILLMENT_CREATED: &str = "item_fulfillment.created";
pub const ITEM_FULFILLMENT_SHIPPED: &str = "item_fulfillment.shipped";
pub const ITEM_FULFILLMENT_EDITED: &str = "item_fulfillment.edited";
pub const INVENTORY_CHANGED: &str = "inventory.changed";

/// `v1,` + base64(HMAC-SHA256(secret, "{id}.{timestamp}.{body}")), the Standard Webhooks
/// signature the scripts compute with `N/crypto`.
pub fn standard_webhooks_signature(secret: &[u8], id: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac =
        <Hmac<Sha256> as Mac>::new_from_slice(secret).expect("HMAC accepts keys of any length");
    mac.update(format!("{id}.{timestamp}.").as_bytes());
    mac.update(body);
    format!(
        "v1,{}",
        base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
    )
}

/// One callout as the scripts' outbox keeps it: the id and body stay the same on every
/// attempt, each attempt is signed again with its own timestamp.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedCallout {
    pub id: String,
    pub body: String,
    pub secret: String,
}

impl SignedCallout {
    /// The three `webhook-*` headers for an attempt at `timestamp` (Unix seconds).
    pub fn headers(&self, timestamp: i64) -> [(&'static str, String); 3] {
        let signature = standard_webhooks_signature(
            self.secret.as_bytes(),
            &self.id,
            timestamp,
            self.body.as_bytes(),
        );
        [
            (HEADER_ID, self.id.clone()),
            (HEADER_TIMESTAMP, timestamp.to_string()),
            (HEADER_SIGNATURE, signature),
        ]
    }

    /// Posts one attempt, signed now; returns the bridge's status.
    pub async fn send(&self, url: &str) -> Result<StatusCode, reqwest::Error> {
        let now = crate::clock::now_secs();
        let mut req = reqwest::Client::new()
            .post(url)
            .header("content-type", "application/json")
            .body(self.body.clone());
        for (k, v) in self.headers(now) {
            req = req.header(k, v);
        }
        let status = req.send().await?.status();
        Ok(StatusCode::from_u16(status.as_u16()).unwrap_or(StatusCode::BAD_GATEWAY))
    }
}

impl NetSuiteSandbox {
    /// A callout of `event_type` with `data`, from this account, signed with
    /// [`SANDBOX_CALLOUT_SECRET`]. The id follows the scripts' pattern with a random tail.
    pub fn callout(&self, event_type: &str, data: Value) -> SignedCallout {
        let body = json!({
            "type": event_type,
            "occurred_at": crate::clock::iso8601_ms(crate::clock::now_ms()),
            "account": self.config().account_id,
            "data": data,
        });
        let kind = event_type
            .split('.')
            .next()
            .unwrap_or("record")
            .replace('_', "");
        let id = format!(
            "ns_{kind}_{}_{}",
            event_type.rsplit('.').next().unwrap_or("event"),
            &uuid::Uuid::new_v4().simple().to_string()[..14]
        );
        SignedCallout {
            id,
            body: body.to_string(),
            secret: SANDBOX_CALLOUT_SECRET.to_string(),
        }
    }

    /// The callout the item fulfillment script sends for fulfillment `id` as it is now.
    pub fn item_fulfillment_callout(&self, event_type: &str, id: &str) -> Option<SignedCallout> {
        let f = self.record("itemFulfillment", id)?;
        // As the script: `null` when the account has no Pick, Pack and Ship status.
        let status = f["shipStatus"]["id"].as_str().map(str::to_string);
        Some(self.callout(
            event_type,
            json!({
                "item_fulfillment_id": id,
                "created_from": f["createdFrom"]["id"],
                "ship_status": status,
                "trigger": if event_type == ITEM_FULFILLMENT_CREATED { "create" } else { "edit" },
            }),
        ))
    }

    /// Edits an item fulfillment as a NetSuite user would (body fields replace, e.g. a new
    /// `package` sublist or `shipStatus`), with the REST PATCH rules.
    pub fn edit_item_fulfillment(&self, id: &str, fields: Value) -> Result<(), String> {
        let n: u64 = id
            .parse()
            .map_err(|_| format!("item fulfillment id {id:?} is not numeric"))?;
        let Value::Object(fields) = fields else {
            return Err("the fields must be a JSON object".into());
        };
        self.patch(super::state::RecordKind::ItemFulfillment, n, fields)
            .map_err(|_| "NetSuite refused the edit".to_string())
    }
}

#[derive(Debug, Deserialize)]
struct NewFulfillment {
    sales_order_id: String,
    /// The transform body: `item.items[]{orderLine, quantity}`, `package`, `shipMethod`,
    /// `shipCarrier`, `shipStatus`.
    #[serde(default)]
    body: Value,
    /// When set, the signed `item_fulfillment.shipped` (or `.created` when not shipped)
    /// callout is posted to this URL too.
    #[serde(default)]
    callout_url: Option<String>,
}

async fn create_fulfillment(
    State(sb): State<Arc<NetSuiteSandbox>>,
    Json(req): Json<NewFulfillment>,
) -> Response {
    let body = if req.body.is_null() {
        json!({})
    } else {
        req.body
    };
    let id = match sb.create_item_fulfillment(&req.sales_order_id, body) {
        Ok(id) => id,
        Err(e) => return (StatusCode::BAD_REQUEST, Json(json!({ "error": e }))).into_response(),
    };
    let mut answer = json!({ "id": id });
    if let Some(url) = req.callout_url {
        let shipped = sb
            .record("itemFulfillment", &id)
            .is_some_and(|f| f["shipStatus"]["id"].as_str().is_none_or(|s| s == "C"));
        let event = if shipped {
            ITEM_FULFILLMENT_SHIPPED
        } else {
            ITEM_FULFILLMENT_CREATED
        };
        if let Some(c) = sb.item_fulfillment_callout(event, &id) {
            answer["callout"] = match c.send(&url).await {
                Ok(status) => json!({ "webhook_id": c.id, "status": status.as_u16() }),
                Err(e) => json!({ "webhook_id": c.id, "error": e.to_string() }),
            };
        }
    }
    (StatusCode::CREATED, Json(answer)).into_response()
}

#[derive(Debug, Deserialize)]
struct Edit {
    fields: Value,
    #[serde(default)]
    callout_url: Option<String>,
}

async fn edit_fulfillment(
    State(sb): State<Arc<NetSuiteSandbox>>,
    axum::extract::Path(id): axum::extract::Path<String>,
    Json(req): Json<Edit>,
) -> Response {
    if let Err(e) = sb.edit_item_fulfillment(&id, req.fields) {
        return (StatusCode::BAD_REQUEST, Json(json!({ "error": e }))).into_response();
    }
    let mut answer = json!({ "id": id });
    if let Some(url) = req.callout_url {
        if let Some(c) = sb.item_fulfillment_callout(ITEM_FULFILLMENT_EDITED, &id) {
            answer["callout"] = match c.send(&url).await {
                Ok(status) => json!({ "webhook_id": c.id, "status": status.as_u16() }),
                Err(e) => json!({ "webhook_id": c.id, "error": e.to_string() }),
            };
        }
    }
    Json(answer).into_response()
}

/// Under `/_sandbox/netsuite`: `POST /item-fulfillments`, `PATCH /item-fulfillments/{id}`.
pub(super) fn control_routes() -> Router<Arc<NetSuiteSandbox>> {
    Router::new()
        .route("/item-fulfillments", post(create_fulfillment))
        .route("/item-fulfillments/{id}", patch(edit_fulfillment))
}

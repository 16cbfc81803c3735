//! Helpers for the NetSuite callout and F1 tests: signed callouts to a replica, item
//! fulfillments made in the NetSuite sandbox, and reads of what TikTok was told.
#![allow(dead_code)]

use crate::common::{eventually, queue_idle, Harness};
use bridge::app::RunningBridge;
use sandbox::netsuite::callouts::SignedCallout;
use sandbox::tiktok::fixtures::SampleLine;
use serde_json::{json, Value};
use std::time::Duration;

pub const WAIT: Duration = Duration::from_secs(20);
/// Sandbox default providers (`DEFAULT_SHIPPING_PROVIDERS`).
pub const USPS: &str = "7117858858072016686";
pub const UPS: &str = "7117859084333745966";
pub const FEDEX: &str = "7129736293935597354";
/// The carrier map the tests configure: NetSuite texts → sandbox provider ids.
pub const CARRIER_MAP: &str = "UPS=7117859084333745966,FedEx Ground=7129736293935597354";

pub fn callout_url(b: &RunningBridge) -> String {
    format!("http://{}/callouts/netsuite", b.addr.expect("ingress runs"))
}

/// A paid order in TikTok, synced to a NetSuite sales order by the bridge; returns the
/// sales order's internal id.
pub async fn synced_order(
    h: &Harness,
    b: &RunningBridge,
    order_id: &str,
    lines: &[SampleLine],
) -> String {
    h.order(order_id, lines);
    synced(h, b, order_id).await
}

/// Sends the status webhook for an order already in the TikTok sandbox and waits for its
/// sales order.
pub async fn synced(h: &Harness, b: &RunningBridge, order_id: &str) -> String {
    assert_eq!(h.webhook(b, 1, order_id).await, 200);
    eventually(WAIT, "sales order written", || async {
        h.sales_order(order_id).is_some()
    })
    .await;
    eventually(WAIT, "queue drained", || queue_idle(b.queue.as_ref())).await;
    h.sales_order(order_id).unwrap()["id"]
        .as_str()
        .expect("sales order id")
        .to_string()
}

/// The sales order line holding `line`'s TikTok SKU.
pub fn so_line(h: &Harness, order_id: &str, line: &SampleLine) -> u64 {
    let so = h.sales_order(order_id).expect("sales order");
    so["item"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["custcol_tiktok_sku_id"] == line.sku_id.as_str())
        .and_then(|l| l["line"].as_u64())
        .unwrap_or_else(|| panic!("no sales order line for {}", line.seller_sku))
}

/// A shipped item fulfillment of `so_id` made in NetSuite: `(sales order line, quantity)`
/// pairs, one package with `tracking`, ship method `method` (`{id, refName}`).
pub fn fulfill(
    h: &Harness,
    so_id: &str,
    lines: &[(u64, u32)],
    tracking: &str,
    method: &str,
) -> String {
    let items: Vec<Value> = lines
        .iter()
        .map(|(l, q)| json!({"orderLine": l, "quantity": q, "itemReceive": true}))
        .collect();
    h.sandbox
        .netsuite
        .create_item_fulfillment(
            so_id,
            json!({
                "shipStatus": {"id": "C"},
                "shipMethod": {"id": "77", "refName": method},
                "item": {"items": items},
                "package": {"items": [{"packageTrackingNumber": tracking, "packageWeight": 1.2}]},
            }),
        )
        .expect("item fulfillment created")
}

pub fn shipped_callout(h: &Harness, fulfillment_id: &str) -> SignedCallout {
    h.sandbox
        .netsuite
        .item_fulfillment_callout(
            bridge::netsuite::callout::ITEM_FULFILLMENT_SHIPPED,
            fulfillment_id,
        )
        .expect("fulfillment exists")
}

pub async fn send(c: &SignedCallout, b: &RunningBridge) -> u16 {
    c.send(&callout_url(b))
        .await
        .expect("callout delivered")
        .as_u16()
}

/// TikTok line item ids of `order_id` for `sku_id`, in order.
pub fn line_ids(h: &Harness, order_id: &str, sku_id: &str) -> Vec<String> {
    h.sandbox.tiktok.order(order_id).unwrap()["line_items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["sku_id"] == sku_id)
        .map(|l| l["id"].as_str().unwrap().to_string())
        .collect()
}

/// Waits until the bridge has nothing queued, pending or delayed.
pub async fn drained(b: &RunningBridge) {
    eventually(WAIT, "queue drained", || queue_idle(b.queue.as_ref())).await;
}

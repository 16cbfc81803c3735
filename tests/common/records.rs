//! Helpers for the cancellation, return and FBT tests: the admin API, sales order lines,
//! and a handler context built from a running replica.
#![allow(dead_code)]

use bridge::app::RunningBridge;
use bridge::config::Config;
use bridge::jobs::JobContext;
use rust_decimal::Decimal;
use serde_json::Value;

pub const ADMIN_TOKEN: &str = "test-admin-token-5d2e9a41c7b3f086";

pub async fn admin(bridge: &RunningBridge, method: reqwest::Method, path: &str) -> (u16, Value) {
    let url = format!("http://{}{path}", bridge.addr.expect("ingress runs"));
    let resp = reqwest::Client::new()
        .request(method, url)
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .expect("admin call");
    let status = resp.status().as_u16();
    let body = resp.json().await.unwrap_or(Value::Null);
    (status, body)
}

pub async fn metrics_text(bridge: &RunningBridge) -> String {
    let url = format!("http://{}/metrics", bridge.addr.expect("ingress runs"));
    reqwest::get(url)
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text")
}

pub fn dec_of(v: &Value) -> Decimal {
    v.to_string().trim_matches('"').parse().expect("decimal")
}

pub fn lines(record: &Value) -> Vec<Value> {
    record["item"]["items"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// The sales order line of a TikTok SKU (`custcol_tiktok_sku_id`).
pub fn line_of_sku(so: &Value, sku_id: &str) -> Value {
    lines(so)
        .into_iter()
        .find(|l| l["custcol_tiktok_sku_id"] == sku_id)
        .unwrap_or_else(|| panic!("no line for sku {sku_id} in {so:#}"))
}

pub fn is_closed(line: &Value) -> bool {
    line["isclosed"] == true || line["isClosed"] == true
}

/// A handler context sharing the replica's clients and state, for driving a handler
/// directly with data a webhook cannot carry (a stale read).
pub fn job_context(bridge: &RunningBridge, cfg: &Config) -> JobContext {
    JobContext {
        state: bridge.state.clone(),
        tiktok: bridge.tiktok.clone().expect("worker runs"),
        netsuite: bridge.netsuite.clone().expect("worker runs"),
        mapping: cfg.mapping.clone(),
        metrics: bridge.metrics.clone(),
        inventory: bridge::jobs::inventory_push::InventorySync::new(
            cfg.inventory.clone(),
            &cfg.tiktok.shop_id,
            "test",
            Default::default(),
        ),
    }
}

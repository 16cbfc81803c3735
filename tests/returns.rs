//! O3 end to end: TikTok returns (topic 12) moving through their statuses, and the
//! NetSuite records the sandbox ends up holding, each once.

#[path = "common/after_sale.rs"]
mod after_sale;
mod common;

use after_sale::{dec_of, lines};
use bridge::app::RunningBridge;
use common::{eventually, queue_idle, Harness};
use rust_decimal_macros::dec;
use sandbox::tiktok::fixtures::SampleLine;
use serde_json::{json, Value};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(20);

fn tshirt() -> SampleLine {
    SampleLine::new("TSHIRT-BLK-M", dec!(19.99), 2)
}

fn cap() -> SampleLine {
    SampleLine::new("CAP-RED", dec!(12.50), 1)
}

async fn imported(h: &Harness, b: &RunningBridge, order_id: &str) -> Value {
    h.order(order_id, &[tshirt(), cap()]);
    assert_eq!(h.webhook(b, 1, order_id).await, 200);
    eventually(WAIT, "sales order written", || async {
        h.sales_order(order_id).is_some()
    })
    .await;
    drained(b).await;
    h.sales_order(order_id).expect("sales order")
}

async fn drained(b: &RunningBridge) {
    eventually(WAIT, "queue drained", || queue_idle(b.queue.as_ref())).await;
}

/// Sends topic 12 for the order's newest return and waits for the job to finish.
async fn announce(h: &Harness, b: &RunningBridge, order_id: &str) {
    assert_eq!(h.webhook(b, 12, order_id).await, 200);
    drained(b).await;
}

fn count(h: &Harness, record_type: &str) -> usize {
    h.sandbox.netsuite.records_of(record_type).len()
}

fn by_eid(h: &Harness, record_type: &str, eid: &str) -> Option<Value> {
    h.sandbox
        .netsuite
        .record_by_external_id_of(record_type, eid)
}

#[tokio::test]
async fn refund_only_return_becomes_one_credit_memo_and_nothing_else() {
    let h = Harness::new().await;
    let b = h.start(&[]).await;
    let oid = "576486316948492001";
    let rid = "4035318504086605001";
    let so = imported(&h, &b, oid).await;
    let cap_item = h.item_id("CAP-RED");

    // The cap (unit 003), refund only; the line names its SKU.
    h.sandbox
        .tiktok
        .add_return(json!({
            "return_id": rid, "order_id": oid, "return_type": "REFUND",
            "return_status": "RETURN_OR_REFUND_REQUEST_PENDING",
            "return_line_items": [{"order_line_item_id": format!("{oid}003"), "sku_id": cap().sku_id}],
            "refund_amount": {"currency": "USD", "refund_total": "12.50"},
        }))
        .unwrap();
    announce(&h, &b, oid).await;
    assert_eq!(count(&h, "creditMemo"), 0, "nothing while pending");

    h.sandbox
        .tiktok
        .set_return_status(rid, "RETURN_OR_REFUND_REQUEST_COMPLETE");
    announce(&h, &b, oid).await;
    let memo = by_eid(&h, "creditMemo", &format!("tiktok-refund:{rid}")).expect("credit memo");
    assert_eq!(memo["entity"], so["entity"]);
    let memo_lines = lines(&memo);
    assert_eq!(memo_lines.len(), 1, "{memo:#}");
    assert_eq!(memo_lines[0]["item"]["id"], cap_item.as_str());
    assert_eq!(dec_of(&memo_lines[0]["quantity"]), dec!(1));
    assert_eq!(dec_of(&memo_lines[0]["amount"]), dec!(12.50));

    // Duplicates: the same notification twice (deduped at ingress) and a fresh one.
    let data = h.sandbox.tiktok.webhook_data(12, oid).unwrap();
    let url = common::webhook_url(&b);
    for _ in 0..2 {
        h.sandbox
            .tiktok
            .send_webhook_with_id(&url, 12, "7327112393057379001", data.clone())
            .await
            .unwrap();
    }
    announce(&h, &b, oid).await;
    assert_eq!(count(&h, "creditMemo"), 1);
    assert_eq!(count(&h, "returnAuthorization"), 0, "refund only: no RA");
    assert_eq!(count(&h, "itemReceipt"), 0, "refund only: no receipt");
    assert_eq!(count(&h, "customerRefund"), 0);
    b.shutdown().await;
    h.cleanup().await;
}

#[tokio::test]
async fn return_and_refund_through_received_writes_each_record_once() {
    let h = Harness::new().await;
    let b = h.start(&[("RETURNS_RESTOCK_LOCATION_ID", "55")]).await;
    let oid = "576486316948492002";
    let rid = "4035318504086605002";
    let so = imported(&h, &b, oid).await;
    let so_id = so["id"].as_str().unwrap().to_string();
    let shirt_line = lines(&so)
        .into_iter()
        .find(|l| l["custcol_tiktok_sku_id"] == tshirt().sku_id.as_str())
        .unwrap();

    // One t-shirt (unit 001); no sku_id on the line, so the bridge reads the order.
    h.sandbox
        .tiktok
        .add_return(json!({
            "return_id": rid, "order_id": oid, "return_type": "RETURN_AND_REFUND",
            "return_status": "AWAITING_BUYER_SHIP",
            "return_line_items": [{"order_line_item_id": format!("{oid}001")}],
        }))
        .unwrap();
    announce(&h, &b, oid).await;
    let ra = by_eid(&h, "returnAuthorization", &format!("tiktok-return:{rid}"))
        .expect("return authorization on approval");
    assert_eq!(ra["createdFrom"]["id"], so_id.as_str());
    let ra_lines = lines(&ra);
    assert_eq!(ra_lines.len(), 1, "{ra:#}");
    assert_eq!(ra_lines[0]["orderLine"], shirt_line["line"]);
    assert_eq!(dec_of(&ra_lines[0]["quantity"]), dec!(1));
    assert_eq!(count(&h, "itemReceipt"), 0);
    assert_eq!(count(&h, "creditMemo"), 0);

    h.sandbox
        .tiktok
        .set_return_status(rid, "BUYER_SHIPPED_ITEM");
    announce(&h, &b, oid).await;
    assert_eq!(count(&h, "returnAuthorization"), 1);
    assert_eq!(count(&h, "itemReceipt"), 0, "not received yet");

    h.sandbox
        .tiktok
        .set_return_status(rid, "RETURN_OR_REFUND_REQUEST_COMPLETE");
    announce(&h, &b, oid).await;
    let ra_id = ra["id"].as_str().unwrap();
    let receipt = by_eid(&h, "itemReceipt", &format!("tiktok-return-receipt:{rid}"))
        .expect("item receipt once received");
    assert_eq!(receipt["createdFrom"]["id"], ra_id);
    let receipt_lines = lines(&receipt);
    assert_eq!(receipt_lines.len(), 1);
    assert_eq!(receipt_lines[0]["location"]["id"], "55");
    assert_eq!(dec_of(&receipt_lines[0]["quantity"]), dec!(1));
    let memo = by_eid(&h, "creditMemo", &format!("tiktok-refund:{rid}")).expect("credit memo");
    assert_eq!(memo["createdFrom"]["id"], ra_id);
    assert_eq!(dec_of(&lines(&memo)[0]["rate"]), dec!(19.99));

    // Duplicates of every step.
    for _ in 0..2 {
        announce(&h, &b, oid).await;
    }
    assert_eq!(count(&h, "returnAuthorization"), 1);
    assert_eq!(count(&h, "itemReceipt"), 1);
    assert_eq!(count(&h, "creditMemo"), 1);
    assert!(b.metrics.job_count("return_sync", "done") >= 3);
    b.shutdown().await;
    h.cleanup().await;
}

#[tokio::test]
async fn refunds_can_be_customer_refunds_by_configuration() {
    let h = Harness::new().await;
    let b = h
        .start(&[("RETURNS_REFUND_RECORD", "customerrefund")])
        .await;
    let oid = "576486316948492003";
    let rid = "4035318504086605003";
    let so = imported(&h, &b, oid).await;
    h.sandbox
        .tiktok
        .add_return(json!({
            "return_id": rid, "order_id": oid, "return_type": "REFUND",
            "return_status": "RETURN_OR_REFUND_REQUEST_COMPLETE",
            "return_line_items": [{"order_line_item_id": format!("{oid}003")}],
            "refund_amount": {"currency": "USD", "refund_total": "12.50"},
        }))
        .unwrap();
    announce(&h, &b, oid).await;
    announce(&h, &b, oid).await;
    let refund =
        by_eid(&h, "customerRefund", &format!("tiktok-refund:{rid}")).expect("customer refund");
    assert_eq!(refund["customer"], so["entity"]);
    assert_eq!(dec_of(&refund["total"]), dec!(12.50));
    assert_eq!(count(&h, "customerRefund"), 1);
    assert_eq!(count(&h, "creditMemo"), 0);
    b.shutdown().await;
    h.cleanup().await;
}

#[tokio::test]
async fn a_return_before_the_sales_order_retries_until_it_exists() {
    let h = Harness::new().await;
    let b = h.start(&[]).await;
    let oid = "576486316948492004";
    let rid = "4035318504086605004";
    h.order(oid, &[tshirt(), cap()]);
    h.sandbox
        .tiktok
        .add_return(json!({
            "return_id": rid, "order_id": oid, "return_type": "REFUND",
            "return_status": "RETURN_OR_REFUND_REQUEST_COMPLETE",
            "return_line_items": [{"order_line_item_id": format!("{oid}003")}],
        }))
        .unwrap();
    // The return arrives first; the order's status webhook later.
    assert_eq!(h.webhook(&b, 12, oid).await, 200);
    assert_eq!(h.webhook(&b, 1, oid).await, 200);
    eventually(WAIT, "credit memo written", || async {
        by_eid(&h, "creditMemo", &format!("tiktok-refund:{rid}")).is_some()
    })
    .await;
    drained(&b).await;
    assert_eq!(count(&h, "creditMemo"), 1);
    b.shutdown().await;
    h.cleanup().await;
}

#[tokio::test]
async fn netsuite_throttling_and_missing_locations_still_write_each_record_once() {
    let h = Harness::new().await;
    let b = h.start(&[]).await;
    let oid = "576486316948492005";
    let rid = "4035318504086605005";
    imported(&h, &b, oid).await;
    h.sandbox
        .tiktok
        .add_return(json!({
            "return_id": rid, "order_id": oid, "return_type": "RETURN_AND_REFUND",
            "return_status": "RETURN_OR_REFUND_REQUEST_COMPLETE",
            "return_line_items": [{"order_line_item_id": format!("{oid}003"), "sku_id": cap().sku_id}],
        }))
        .unwrap();
    // 429s and 500s on the next calls, and creates answered without `Location`: the
    // bridge must retry and find what it created by external id, never create twice.
    h.sandbox
        .netsuite
        .set_faults(sandbox::netsuite::NetSuiteFaults {
            throttle_next: 2,
            server_error_next: 2,
            omit_location: true,
            ..Default::default()
        });
    assert_eq!(h.webhook(&b, 12, oid).await, 200);
    eventually(WAIT, "credit memo written", || async {
        by_eid(&h, "creditMemo", &format!("tiktok-refund:{rid}")).is_some()
    })
    .await;
    drained(&b).await;
    h.sandbox.netsuite.clear_faults();
    announce(&h, &b, oid).await;
    assert_eq!(count(&h, "returnAuthorization"), 1);
    assert_eq!(count(&h, "itemReceipt"), 1);
    assert_eq!(count(&h, "creditMemo"), 1);
    assert!(h.sandbox.netsuite.throttled() >= 2);
    b.shutdown().await;
    h.cleanup().await;
}

#[tokio::test]
async fn a_return_cancelled_after_approval_closes_its_authorization_and_writes_nothing_else() {
    let h = Harness::new().await;
    let b = h.start(&[]).await;
    let oid = "576486316948492006";
    let rid = "4035318504086605006";
    imported(&h, &b, oid).await;
    h.sandbox
        .tiktok
        .add_return(json!({
            "return_id": rid, "order_id": oid, "return_type": "RETURN_AND_REFUND",
            "return_status": "AWAITING_BUYER_SHIP",
            "return_line_items": [{"order_line_item_id": format!("{oid}001")}],
        }))
        .unwrap();
    announce(&h, &b, oid).await;
    let eid = format!("tiktok-return:{rid}");
    let ra = by_eid(&h, "returnAuthorization", &eid).expect("return authorization");
    assert!(lines(&ra).iter().all(|l| l["isclosed"] != true));

    h.sandbox
        .tiktok
        .set_return_status(rid, "RETURN_OR_REFUND_REQUEST_CANCEL");
    announce(&h, &b, oid).await;
    announce(&h, &b, oid).await;
    let ra = by_eid(&h, "returnAuthorization", &eid).unwrap();
    assert!(lines(&ra).iter().all(|l| l["isclosed"] == true), "{ra:#}");
    assert_eq!(count(&h, "returnAuthorization"), 1);
    assert_eq!(count(&h, "itemReceipt"), 0);
    assert_eq!(count(&h, "creditMemo"), 0);
    b.shutdown().await;
    h.cleanup().await;
}

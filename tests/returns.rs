//! O3 end to end: TikTok returns (topic 12) moving through their statuses, and the
//! NetSuite records the sandbox ends up holding, each once.

mod common;

use common::app::{cap, tshirt};
use common::records::{dec_of, lines};
use common::TestApp;
use rust_decimal_macros::dec;
use serde_json::json;

#[tokio::test]
async fn refund_only_return_becomes_one_credit_memo_and_nothing_else() {
    let app = TestApp::start().await;
    let oid = "576486316948492001";
    let rid = "4035318504086605001";
    let so = app.place_and_sync(oid, &[tshirt(2), cap()]).await;
    let cap_item = app.item_id("CAP-RED");

    // The cap (unit 003), refund only; the line names its SKU.
    app.add_return(json!({
        "return_id": rid, "order_id": oid, "return_type": "REFUND",
        "return_status": "RETURN_OR_REFUND_REQUEST_PENDING",
        "return_line_items": [{"order_line_item_id": format!("{oid}003"), "sku_id": cap().sku_id}],
        "refund_amount": {"currency": "USD", "refund_total": "12.50"},
    }));
    app.webhook_done(12, oid).await;
    assert_eq!(app.count("creditMemo"), 0, "nothing while pending");

    app.sandbox
        .tiktok
        .set_return_status(rid, "RETURN_OR_REFUND_REQUEST_COMPLETE");
    app.webhook_done(12, oid).await;
    let memo = app
        .record("creditMemo", &format!("tiktok-refund:{rid}"))
        .expect("credit memo");
    assert_eq!(memo["entity"], so["entity"]);
    let memo_lines = lines(&memo);
    assert_eq!(memo_lines.len(), 1, "{memo:#}");
    assert_eq!(memo_lines[0]["item"]["id"], cap_item.as_str());
    assert_eq!(dec_of(&memo_lines[0]["quantity"]), dec!(1));
    assert_eq!(dec_of(&memo_lines[0]["amount"]), dec!(12.50));

    // Duplicates: the same notification twice (deduped at ingress) and a fresh one.
    let data = app.sandbox.tiktok.webhook_data(12, oid).unwrap();
    let url = common::webhook_url(app.bridge());
    for _ in 0..2 {
        app.sandbox
            .tiktok
            .send_webhook_with_id(&url, 12, "7327112393057379001", data.clone())
            .await
            .unwrap();
    }
    app.webhook_done(12, oid).await;
    assert_eq!(app.count("creditMemo"), 1);
    assert_eq!(app.count("returnAuthorization"), 0, "refund only: no RA");
    assert_eq!(app.count("itemReceipt"), 0, "refund only: no receipt");
    assert_eq!(app.count("customerRefund"), 0);
    app.finish().await;
}

#[tokio::test]
async fn return_and_refund_through_received_writes_each_record_once() {
    let app = TestApp::builder()
        .setting("RETURNS_RESTOCK_LOCATION_ID", "55")
        .start()
        .await;
    let oid = "576486316948492002";
    let rid = "4035318504086605002";
    let so = app.place_and_sync(oid, &[tshirt(2), cap()]).await;
    let so_id = so["id"].as_str().unwrap().to_string();
    let shirt_line = lines(&so)
        .into_iter()
        .find(|l| l["custcol_tiktok_sku_id"] == tshirt(2).sku_id.as_str())
        .unwrap();

    // One t-shirt (unit 001); no sku_id on the line, so the bridge reads the order.
    app.add_return(json!({
        "return_id": rid, "order_id": oid, "return_type": "RETURN_AND_REFUND",
        "return_status": "AWAITING_BUYER_SHIP",
        "return_line_items": [{"order_line_item_id": format!("{oid}001")}],
    }));
    app.webhook_done(12, oid).await;
    let ra = app
        .record("returnAuthorization", &format!("tiktok-return:{rid}"))
        .expect("return authorization on approval");
    assert_eq!(ra["createdFrom"]["id"], so_id.as_str());
    let ra_lines = lines(&ra);
    assert_eq!(ra_lines.len(), 1, "{ra:#}");
    assert_eq!(ra_lines[0]["orderLine"], shirt_line["line"]);
    assert_eq!(dec_of(&ra_lines[0]["quantity"]), dec!(1));
    assert_eq!(app.count("itemReceipt"), 0);
    assert_eq!(app.count("creditMemo"), 0);

    app.sandbox
        .tiktok
        .set_return_status(rid, "BUYER_SHIPPED_ITEM");
    app.webhook_done(12, oid).await;
    assert_eq!(app.count("returnAuthorization"), 1);
    assert_eq!(app.count("itemReceipt"), 0, "not received yet");

    app.sandbox
        .tiktok
        .set_return_status(rid, "RETURN_OR_REFUND_REQUEST_COMPLETE");
    app.webhook_done(12, oid).await;
    let ra_id = ra["id"].as_str().unwrap();
    let receipt = app
        .record("itemReceipt", &format!("tiktok-return-receipt:{rid}"))
        .expect("item receipt once received");
    assert_eq!(receipt["createdFrom"]["id"], ra_id);
    let receipt_lines = lines(&receipt);
    assert_eq!(receipt_lines.len(), 1);
    assert_eq!(receipt_lines[0]["location"]["id"], "55");
    assert_eq!(dec_of(&receipt_lines[0]["quantity"]), dec!(1));
    let memo = app
        .record("creditMemo", &format!("tiktok-refund:{rid}"))
        .expect("credit memo");
    assert_eq!(memo["createdFrom"]["id"], ra_id);
    assert_eq!(dec_of(&lines(&memo)[0]["rate"]), dec!(19.99));

    // Duplicates of every step.
    for _ in 0..2 {
        app.webhook_done(12, oid).await;
    }
    assert_eq!(app.count("returnAuthorization"), 1);
    assert_eq!(app.count("itemReceipt"), 1);
    assert_eq!(app.count("creditMemo"), 1);
    assert!(app.job_count("return_sync", "done") >= 3);
    app.finish().await;
}

#[tokio::test]
async fn refunds_can_be_customer_refunds_by_configuration() {
    let app = TestApp::builder()
        .setting("RETURNS_REFUND_RECORD", "customerrefund")
        .start()
        .await;
    let oid = "576486316948492003";
    let rid = "4035318504086605003";
    let so = app.place_and_sync(oid, &[tshirt(2), cap()]).await;
    app.add_return(json!({
        "return_id": rid, "order_id": oid, "return_type": "REFUND",
        "return_status": "RETURN_OR_REFUND_REQUEST_COMPLETE",
        "return_line_items": [{"order_line_item_id": format!("{oid}003")}],
        "refund_amount": {"currency": "USD", "refund_total": "12.50"},
    }));
    app.webhook_done(12, oid).await;
    app.webhook_done(12, oid).await;
    let refund = app
        .record("customerRefund", &format!("tiktok-refund:{rid}"))
        .expect("customer refund");
    assert_eq!(refund["customer"], so["entity"]);
    assert_eq!(dec_of(&refund["total"]), dec!(12.50));
    assert_eq!(app.count("customerRefund"), 1);
    assert_eq!(app.count("creditMemo"), 0);
    app.finish().await;
}

#[tokio::test]
async fn a_return_before_the_sales_order_retries_until_it_exists() {
    let app = TestApp::start().await;
    let oid = "576486316948492004";
    let rid = "4035318504086605004";
    app.order(oid, &[tshirt(2), cap()]);
    app.add_return(json!({
        "return_id": rid, "order_id": oid, "return_type": "REFUND",
        "return_status": "RETURN_OR_REFUND_REQUEST_COMPLETE",
        "return_line_items": [{"order_line_item_id": format!("{oid}003")}],
    }));
    // The return arrives first; the order's status webhook later.
    app.webhook_ok(12, oid).await;
    app.webhook_ok(1, oid).await;
    app.wait_for("credit memo written", || async {
        app.record("creditMemo", &format!("tiktok-refund:{rid}"))
            .is_some()
    })
    .await;
    app.drained().await;
    assert_eq!(app.count("creditMemo"), 1);
    app.finish().await;
}

#[tokio::test]
async fn netsuite_throttling_and_missing_locations_still_write_each_record_once() {
    let app = TestApp::start().await;
    let oid = "576486316948492005";
    let rid = "4035318504086605005";
    app.place_and_sync(oid, &[tshirt(2), cap()]).await;
    app.add_return(json!({
        "return_id": rid, "order_id": oid, "return_type": "RETURN_AND_REFUND",
        "return_status": "RETURN_OR_REFUND_REQUEST_COMPLETE",
        "return_line_items": [{"order_line_item_id": format!("{oid}003"), "sku_id": cap().sku_id}],
    }));
    // 429s and 500s on the next calls, and creates answered without `Location`: the
    // bridge must retry and find what it created by external id, never create twice.
    app.sandbox
        .netsuite
        .set_faults(sandbox::netsuite::NetSuiteFaults {
            throttle_next: 2,
            server_error_next: 2,
            omit_location: true,
            ..Default::default()
        });
    app.webhook_ok(12, oid).await;
    app.wait_for("credit memo written", || async {
        app.record("creditMemo", &format!("tiktok-refund:{rid}"))
            .is_some()
    })
    .await;
    app.drained().await;
    app.sandbox.netsuite.clear_faults();
    app.webhook_done(12, oid).await;
    assert_eq!(app.count("returnAuthorization"), 1);
    assert_eq!(app.count("itemReceipt"), 1);
    assert_eq!(app.count("creditMemo"), 1);
    assert!(app.sandbox.netsuite.throttled() >= 2);
    app.finish().await;
}

#[tokio::test]
async fn a_return_cancelled_after_approval_closes_its_authorization_and_writes_nothing_else() {
    let app = TestApp::start().await;
    let oid = "576486316948492006";
    let rid = "4035318504086605006";
    app.place_and_sync(oid, &[tshirt(2), cap()]).await;
    app.add_return(json!({
        "return_id": rid, "order_id": oid, "return_type": "RETURN_AND_REFUND",
        "return_status": "AWAITING_BUYER_SHIP",
        "return_line_items": [{"order_line_item_id": format!("{oid}001")}],
    }));
    app.webhook_done(12, oid).await;
    let eid = format!("tiktok-return:{rid}");
    let ra = app
        .record("returnAuthorization", &eid)
        .expect("return authorization");
    assert!(lines(&ra).iter().all(|l| l["isclosed"] != true));

    app.sandbox
        .tiktok
        .set_return_status(rid, "RETURN_OR_REFUND_REQUEST_CANCEL");
    app.webhook_done(12, oid).await;
    app.webhook_done(12, oid).await;
    let ra = app.record("returnAuthorization", &eid).unwrap();
    assert!(lines(&ra).iter().all(|l| l["isclosed"] == true), "{ra:#}");
    assert_eq!(app.count("returnAuthorization"), 1);
    assert_eq!(app.count("itemReceipt"), 0);
    assert_eq!(app.count("creditMemo"), 0);
    app.finish().await;
}

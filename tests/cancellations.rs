//! O2 end to end: TikTok cancellations (topic 11, or an order read as CANCELLED) against
//! the sandbox's sales orders. Each test asserts on the lines NetSuite ends up holding.

#[path = "common/after_sale.rs"]
mod after_sale;
mod common;

use after_sale::{admin, dec_of, is_closed, job_context, line_of_sku, lines, metrics_text};
use bridge::jobs::Outcome;
use bridge::tiktok::models::Order;
use common::{eventually, queue_idle, Harness};
use reqwest::Method;
use rust_decimal_macros::dec;
use sandbox::tiktok::fixtures::SampleLine;
use serde_json::json;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(20);

fn tshirt() -> SampleLine {
    SampleLine::new("TSHIRT-BLK-M", dec!(19.99), 3)
}

fn cap() -> SampleLine {
    SampleLine::new("CAP-RED", dec!(12.50), 1)
}

async fn imported(
    h: &Harness,
    b: &bridge::app::RunningBridge,
    order_id: &str,
) -> serde_json::Value {
    assert_eq!(h.webhook(b, 1, order_id).await, 200);
    eventually(WAIT, "sales order written", || async {
        h.sales_order(order_id).is_some()
    })
    .await;
    eventually(WAIT, "queue drained", || queue_idle(b.queue.as_ref())).await;
    h.sales_order(order_id).expect("sales order")
}

fn cancellation(h: &Harness, cancel_id: &str, order_id: &str, line_items: &[String]) {
    let items: Vec<_> = line_items
        .iter()
        .map(|l| json!({ "order_line_item_id": l }))
        .collect();
    h.sandbox
        .tiktok
        .add_cancellation(json!({
            "cancel_id": cancel_id,
            "order_id": order_id,
            "cancel_status": "CANCELLATION_REQUEST_COMPLETE",
            "cancel_line_items": items,
        }))
        .expect("cancellation stored");
}

fn eid(order_id: &str) -> String {
    format!("tiktok-order:{order_id}")
}

#[tokio::test]
async fn full_cancel_closes_every_line_once() {
    let h = Harness::new().await;
    let b = h.start(&[]).await;
    let oid = "576486316948491001";
    h.order(oid, &[tshirt(), cap()]);
    let so = imported(&h, &b, oid).await;
    assert!(lines(&so).iter().all(|l| !is_closed(l)));

    h.sandbox.tiktok.set_status(oid, "CANCELLED");
    cancellation(&h, "4035318504086604101", oid, &[]);
    assert_eq!(h.webhook(&b, 11, oid).await, 200);
    eventually(WAIT, "every line closed", || async {
        h.sales_order(oid)
            .is_some_and(|so| lines(&so).iter().all(is_closed))
    })
    .await;
    eventually(WAIT, "queue drained", || queue_idle(b.queue.as_ref())).await;
    let writes = h.sandbox.netsuite.sales_order_writes(&eid(oid));
    let requests = h.sandbox.netsuite.requests();

    // Duplicates: the same cancellation again, and the order's own CANCEL status webhook.
    assert_eq!(h.webhook(&b, 11, oid).await, 200);
    assert_eq!(h.webhook(&b, 1, oid).await, 200);
    eventually(WAIT, "queue drained", || queue_idle(b.queue.as_ref())).await;
    assert_eq!(h.sandbox.netsuite.sales_order_writes(&eid(oid)), writes);
    assert_eq!(
        h.sandbox.netsuite.requests(),
        requests,
        "a settled cancellation costs no NetSuite request"
    );
    assert_eq!(h.sandbox.netsuite.sales_orders().len(), 1);
    let so = h.sales_order(oid).unwrap();
    assert!(lines(&so).iter().all(is_closed), "{so:#}");
    assert!(b.metrics.job_count("cancellation", "done") >= 1);
    b.shutdown().await;
    h.cleanup().await;
}

#[tokio::test]
async fn partial_cancel_changes_only_the_cancelled_units() {
    let h = Harness::new().await;
    let b = h.start(&[]).await;
    let oid = "576486316948491002";
    h.order(oid, &[tshirt(), cap()]);
    let before = imported(&h, &b, oid).await;
    let others_before: Vec<_> = lines(&before)
        .into_iter()
        .filter(|l| l["custcol_tiktok_sku_id"].is_null())
        .collect();

    // One of three t-shirts (unit 001) and the cap (unit 004).
    cancellation(
        &h,
        "4035318504086604102",
        oid,
        &[format!("{oid}001"), format!("{oid}004")],
    );
    assert_eq!(h.webhook(&b, 11, oid).await, 200);
    let cap_sku = cap().sku_id;
    eventually(WAIT, "cap line closed", || async {
        h.sales_order(oid)
            .is_some_and(|so| is_closed(&line_of_sku(&so, &cap_sku)))
    })
    .await;
    eventually(WAIT, "queue drained", || queue_idle(b.queue.as_ref())).await;
    let so = h.sales_order(oid).unwrap();
    let shirt = line_of_sku(&so, &tshirt().sku_id);
    assert!(!is_closed(&shirt));
    assert_eq!(dec_of(&shirt["quantity"]), dec!(2));
    assert_eq!(dec_of(&shirt["amount"]), dec!(39.98));
    let others: Vec<_> = lines(&so)
        .into_iter()
        .filter(|l| l["custcol_tiktok_sku_id"].is_null())
        .collect();
    assert_eq!(others, others_before, "adjustment lines are left alone");
    let writes = h.sandbox.netsuite.sales_order_writes(&eid(oid));

    // A duplicate of the cancellation and a later order sync change nothing.
    assert_eq!(h.webhook(&b, 11, oid).await, 200);
    assert_eq!(h.webhook(&b, 3, oid).await, 200);
    eventually(WAIT, "queue drained", || queue_idle(b.queue.as_ref())).await;
    assert_eq!(h.sandbox.netsuite.sales_order_writes(&eid(oid)), writes);
    let again = h.sales_order(oid).unwrap();
    assert_eq!(
        dec_of(&line_of_sku(&again, &tshirt().sku_id)["quantity"]),
        dec!(2)
    );
    b.shutdown().await;
    h.cleanup().await;
}

#[tokio::test]
async fn cancel_before_import_leaves_no_sales_order_even_from_a_stale_read() {
    let h = Harness::new().await;
    let b = h.start(&[]).await;
    let oid = "576486316948491003";
    let stale: Order = serde_json::from_value(h.order(oid, &[tshirt(), cap()])).unwrap();
    h.sandbox.tiktok.set_status(oid, "CANCELLED");
    cancellation(&h, "4035318504086604103", oid, &[]);

    assert_eq!(h.webhook(&b, 11, oid).await, 200);
    eventually(WAIT, "cancellation job ran", || async {
        b.metrics.job_count("cancellation", "done") >= 1
    })
    .await;
    // The late status webhook re-reads a cancelled order: nothing to import.
    assert_eq!(h.webhook(&b, 1, oid).await, 200);
    eventually(WAIT, "queue drained", || queue_idle(b.queue.as_ref())).await;
    assert!(h.sales_order(oid).is_none());

    // A read taken before the cancel (a batched read that waited) must not import either.
    let cfg = h.config(&[]);
    let ctx = job_context(&b, &cfg);
    let shop = h.sandbox.tiktok.config().shop_id.clone();
    let outcome = bridge::jobs::order_sync::run(&ctx, &shop, oid, Some(&stale))
        .await
        .expect("runs");
    assert!(matches!(outcome, Outcome::Skipped(_)), "{outcome:?}");
    assert!(h.sales_order(oid).is_none());
    assert!(h.sandbox.netsuite.sales_orders().is_empty());
    b.shutdown().await;
    h.cleanup().await;
}

#[tokio::test]
async fn partial_cancel_before_import_is_applied_once_the_order_is_imported() {
    let h = Harness::new().await;
    let b = h.start(&[]).await;
    let oid = "576486316948491004";
    h.order(oid, &[tshirt(), cap()]);
    cancellation(&h, "4035318504086604104", oid, &[format!("{oid}004")]);
    assert_eq!(h.webhook(&b, 11, oid).await, 200);
    eventually(WAIT, "queue drained", || queue_idle(b.queue.as_ref())).await;
    assert!(h.sales_order(oid).is_none());

    let so = imported(&h, &b, oid).await;
    assert!(is_closed(&line_of_sku(&so, &cap().sku_id)), "{so:#}");
    let shirt = line_of_sku(&so, &tshirt().sku_id);
    assert!(!is_closed(&shirt));
    assert_eq!(dec_of(&shirt["quantity"]), dec!(3));
    b.shutdown().await;
    h.cleanup().await;
}

#[tokio::test]
async fn cancel_after_fulfillment_is_flagged_for_review_and_touches_nothing() {
    let h = Harness::new().await;
    let b = h.start(&[]).await;
    let oid = "576486316948491005";
    h.order(oid, &[tshirt(), cap()]);
    let so = imported(&h, &b, oid).await;
    let so_id = so["id"].as_str().unwrap().to_string();
    h.sandbox
        .netsuite
        .create_item_fulfillment(&so_id, json!({}))
        .expect("warehouse fulfils the order");
    let fulfilled = h.sales_order(oid).unwrap();
    let writes = h.sandbox.netsuite.sales_order_writes(&eid(oid));

    h.sandbox.tiktok.set_status(oid, "CANCELLED");
    cancellation(&h, "4035318504086604105", oid, &[]);
    assert_eq!(h.webhook(&b, 11, oid).await, 200);
    let flag_id = format!("cancellation:{oid}:full");
    eventually(WAIT, "review flag listed", || async {
        let (_, v) = admin(&b, Method::GET, "/admin/review").await;
        v["flags"].as_array().is_some_and(|f| f.len() == 1)
    })
    .await;
    // Duplicates: the webhook again and the order's CANCEL status.
    assert_eq!(h.webhook(&b, 11, oid).await, 200);
    assert_eq!(h.webhook(&b, 1, oid).await, 200);
    eventually(WAIT, "queue drained", || queue_idle(b.queue.as_ref())).await;

    assert_eq!(
        h.sales_order(oid).unwrap(),
        fulfilled,
        "sales order untouched"
    );
    assert_eq!(h.sandbox.netsuite.sales_order_writes(&eid(oid)), writes);
    let (status, v) = admin(&b, Method::GET, "/admin/review").await;
    assert_eq!(status, 200);
    let flags = v["flags"].as_array().unwrap();
    assert_eq!(flags.len(), 1, "{v:#}");
    assert_eq!(flags[0]["id"], flag_id.as_str());
    assert_eq!(flags[0]["reason"], "cancel_after_fulfillment");
    assert_eq!(flags[0]["order_id"], oid);
    assert_eq!(flags[0]["sales_order_id"], so_id.as_str());
    assert_eq!(
        b.metrics.after_sale.flag_count("cancel_after_fulfillment"),
        1
    );
    assert!(metrics_text(&b)
        .await
        .contains(r#"bridge_review_flags_total{reason="cancel_after_fulfillment"} 1"#));

    // Dismissed: gone from the list, kept with ?all=true, and not raised again.
    let (status, v) = admin(
        &b,
        Method::POST,
        &format!("/admin/review/{flag_id}/dismiss?note=refund%20issued"),
    )
    .await;
    assert_eq!(status, 200, "{v:#}");
    assert_eq!(v["flag"]["dismissed_note"], "refund issued");
    assert_eq!(h.webhook(&b, 11, oid).await, 200);
    eventually(WAIT, "queue drained", || queue_idle(b.queue.as_ref())).await;
    let (_, open) = admin(&b, Method::GET, "/admin/review").await;
    assert_eq!(open["flags"].as_array().unwrap().len(), 0, "{open:#}");
    let (_, all) = admin(&b, Method::GET, "/admin/review?all=true").await;
    assert_eq!(all["flags"].as_array().unwrap().len(), 1);
    assert!(all["flags"][0]["dismissed_at_ms"].is_i64());
    let (status, _) = admin(&b, Method::POST, "/admin/review/no-such-flag/dismiss").await;
    assert_eq!(status, 404);
    b.shutdown().await;
    h.cleanup().await;
}

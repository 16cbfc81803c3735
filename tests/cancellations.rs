//! O2 end to end: TikTok cancellations (topic 11, or an order read as CANCELLED) against
//! the sandbox's sales orders. Each test asserts on the lines NetSuite ends up holding.

mod common;

use bridge::jobs::Outcome;
use bridge::tiktok::models::Order;
use common::app::{cap, tshirt};
use common::records::{dec_of, is_closed, job_context, line_of_sku, lines, metrics_text};
use common::TestApp;
use reqwest::Method;
use rust_decimal_macros::dec;
use serde_json::json;

fn cancellation(app: &TestApp, cancel_id: &str, order_id: &str, line_items: &[String]) {
    app.cancellation(
        cancel_id,
        order_id,
        "CANCELLATION_REQUEST_COMPLETE",
        line_items,
    );
}

fn eid(order_id: &str) -> String {
    format!("tiktok-order:{order_id}")
}

#[tokio::test]
async fn full_cancel_closes_every_line_once() {
    let app = TestApp::start().await;
    let oid = "576486316948491001";
    let so = app.place_and_sync(oid, &[tshirt(3), cap()]).await;
    assert!(lines(&so).iter().all(|l| !is_closed(l)));

    app.sandbox.tiktok.set_status(oid, "CANCELLED");
    cancellation(&app, "4035318504086604101", oid, &[]);
    app.webhook_ok(11, oid).await;
    app.wait_for("every line closed", || async {
        app.sales_order(oid)
            .is_some_and(|so| lines(&so).iter().all(is_closed))
    })
    .await;
    app.drained().await;
    let writes = app.sandbox.netsuite.sales_order_writes(&eid(oid));
    let requests = app.sandbox.netsuite.requests();

    // Duplicates: the same cancellation again, and the order's own CANCEL status webhook.
    app.webhook_ok(11, oid).await;
    app.webhook_done(1, oid).await;
    assert_eq!(app.sandbox.netsuite.sales_order_writes(&eid(oid)), writes);
    assert_eq!(
        app.sandbox.netsuite.requests(),
        requests,
        "a settled cancellation costs no NetSuite request"
    );
    assert_eq!(app.sandbox.netsuite.sales_orders().len(), 1);
    let so = app.sales_order(oid).unwrap();
    assert!(lines(&so).iter().all(is_closed), "{so:#}");
    assert!(app.job_count("cancellation", "done") >= 1);
    app.finish().await;
}

#[tokio::test]
async fn partial_cancel_changes_only_the_cancelled_units() {
    let app = TestApp::start().await;
    let oid = "576486316948491002";
    let before = app.place_and_sync(oid, &[tshirt(3), cap()]).await;
    let others_before: Vec<_> = lines(&before)
        .into_iter()
        .filter(|l| l["custcol_tiktok_sku_id"].is_null())
        .collect();

    // One of three t-shirts (unit 001) and the cap (unit 004).
    cancellation(
        &app,
        "4035318504086604102",
        oid,
        &[format!("{oid}001"), format!("{oid}004")],
    );
    app.webhook_ok(11, oid).await;
    let cap_sku = cap().sku_id;
    app.wait_for("cap line closed", || async {
        app.sales_order(oid)
            .is_some_and(|so| is_closed(&line_of_sku(&so, &cap_sku)))
    })
    .await;
    app.drained().await;
    let so = app.sales_order(oid).unwrap();
    let shirt = line_of_sku(&so, &tshirt(3).sku_id);
    assert!(!is_closed(&shirt));
    assert_eq!(dec_of(&shirt["quantity"]), dec!(2));
    assert_eq!(dec_of(&shirt["amount"]), dec!(39.98));
    let others: Vec<_> = lines(&so)
        .into_iter()
        .filter(|l| l["custcol_tiktok_sku_id"].is_null())
        .collect();
    assert_eq!(others, others_before, "adjustment lines are left alone");
    let writes = app.sandbox.netsuite.sales_order_writes(&eid(oid));

    // A duplicate of the cancellation and a later order sync change nothing.
    app.webhook_ok(11, oid).await;
    app.webhook_done(3, oid).await;
    assert_eq!(app.sandbox.netsuite.sales_order_writes(&eid(oid)), writes);
    let again = app.sales_order(oid).unwrap();
    assert_eq!(
        dec_of(&line_of_sku(&again, &tshirt(3).sku_id)["quantity"]),
        dec!(2)
    );
    app.finish().await;
}

#[tokio::test]
async fn cancel_before_import_leaves_no_sales_order_even_from_a_stale_read() {
    let app = TestApp::start().await;
    let oid = "576486316948491003";
    let stale: Order = serde_json::from_value(app.order(oid, &[tshirt(3), cap()])).unwrap();
    app.sandbox.tiktok.set_status(oid, "CANCELLED");
    cancellation(&app, "4035318504086604103", oid, &[]);

    app.webhook_ok(11, oid).await;
    app.wait_for("cancellation job ran", || async {
        app.job_count("cancellation", "done") >= 1
    })
    .await;
    // The late status webhook re-reads a cancelled order: nothing to import.
    app.webhook_done(1, oid).await;
    assert!(app.sales_order(oid).is_none());

    // A read taken before the cancel (a batched read that waited) must not import either.
    let cfg = app.config(&[]);
    let ctx = job_context(app.bridge(), &cfg);
    let shop = app.sandbox.tiktok.config().shop_id.clone();
    let outcome = bridge::jobs::order_sync::run(&ctx, &shop, oid, Some(&stale))
        .await
        .expect("runs");
    assert!(matches!(outcome, Outcome::Skipped(_)), "{outcome:?}");
    assert!(app.sales_order(oid).is_none());
    assert!(app.sandbox.netsuite.sales_orders().is_empty());
    app.finish().await;
}

#[tokio::test]
async fn partial_cancel_before_import_is_applied_once_the_order_is_imported() {
    let app = TestApp::start().await;
    let oid = "576486316948491004";
    app.order(oid, &[tshirt(3), cap()]);
    cancellation(&app, "4035318504086604104", oid, &[format!("{oid}004")]);
    app.webhook_done(11, oid).await;
    assert!(app.sales_order(oid).is_none());

    let so = app.sync(oid).await;
    assert!(is_closed(&line_of_sku(&so, &cap().sku_id)), "{so:#}");
    let shirt = line_of_sku(&so, &tshirt(3).sku_id);
    assert!(!is_closed(&shirt));
    assert_eq!(dec_of(&shirt["quantity"]), dec!(3));
    app.finish().await;
}

#[tokio::test]
async fn cancel_after_fulfillment_is_flagged_for_review_and_touches_nothing() {
    let app = TestApp::start().await;
    let oid = "576486316948491005";
    let so = app.place_and_sync(oid, &[tshirt(3), cap()]).await;
    let so_id = so["id"].as_str().unwrap().to_string();
    app.sandbox
        .netsuite
        .create_item_fulfillment(&so_id, json!({}))
        .expect("warehouse fulfils the order");
    let fulfilled = app.sales_order(oid).unwrap();
    let writes = app.sandbox.netsuite.sales_order_writes(&eid(oid));

    app.sandbox.tiktok.set_status(oid, "CANCELLED");
    cancellation(&app, "4035318504086604105", oid, &[]);
    app.webhook_ok(11, oid).await;
    let flag_id = format!("cancellation:{oid}:full");
    app.wait_for("review flag listed", || async {
        let (_, v) = app.admin(Method::GET, "/admin/review").await;
        v["flags"].as_array().is_some_and(|f| f.len() == 1)
    })
    .await;
    // Duplicates: the webhook again and the order's CANCEL status.
    app.webhook_ok(11, oid).await;
    app.webhook_done(1, oid).await;

    assert_eq!(
        app.sales_order(oid).unwrap(),
        fulfilled,
        "sales order untouched"
    );
    assert_eq!(app.sandbox.netsuite.sales_order_writes(&eid(oid)), writes);
    let (status, v) = app.admin(Method::GET, "/admin/review").await;
    assert_eq!(status, 200);
    let flags = v["flags"].as_array().unwrap();
    assert_eq!(flags.len(), 1, "{v:#}");
    assert_eq!(flags[0]["id"], flag_id.as_str());
    assert_eq!(flags[0]["reason"], "cancel_after_fulfillment");
    assert_eq!(flags[0]["order_id"], oid);
    assert_eq!(flags[0]["sales_order_id"], so_id.as_str());
    assert_eq!(
        app.bridge()
            .metrics
            .after_sale
            .flag_count("cancel_after_fulfillment"),
        1
    );
    assert!(metrics_text(app.bridge())
        .await
        .contains(r#"bridge_review_flags_total{reason="cancel_after_fulfillment"} 1"#));

    // Dismissed: gone from the list, kept with ?all=true, and not raised again.
    let (status, v) = app
        .admin(
            Method::POST,
            &format!("/admin/review/{flag_id}/dismiss?note=refund%20issued"),
        )
        .await;
    assert_eq!(status, 200, "{v:#}");
    assert_eq!(v["flag"]["dismissed_note"], "refund issued");
    app.webhook_done(11, oid).await;
    let (_, open) = app.admin(Method::GET, "/admin/review").await;
    assert_eq!(open["flags"].as_array().unwrap().len(), 0, "{open:#}");
    let (_, all) = app.admin(Method::GET, "/admin/review?all=true").await;
    assert_eq!(all["flags"].as_array().unwrap().len(), 1);
    assert!(all["flags"][0]["dismissed_at_ms"].is_i64());
    let (status, _) = app
        .admin(Method::POST, "/admin/review/no-such-flag/dismiss")
        .await;
    assert_eq!(status, 404);
    app.finish().await;
}

//! Follow-ups to the review of O1/O2/O3/F2 working together: order rewrites after
//! cancellations and fulfillments, FBT shipments already recorded, cancellations of partly
//! fulfilled orders, cancellations naming no lines, refunds that stop at SUCCESS, and
//! returns of parked orders. Each test asserts on what the sandboxes end up holding.

mod common;

use bridge::state::ParkReason;
use common::app::{cap, tshirt};
use common::records::{dec_of, is_closed, line_of_sku, lines};
use common::TestApp;
use reqwest::Method;
use rust_decimal_macros::dec;
use sandbox::tiktok::fixtures::SampleLine;
use serde_json::json;

fn new_address(app: &TestApp, order_id: &str) {
    let mut addr = sandbox::tiktok::fixtures::sample_address();
    addr.address_line1 = Some("500 New Street".into());
    assert!(app.sandbox.tiktok.set_address(order_id, &addr));
}

/// Finding 1: after O2 cut a line and the warehouse fulfilled part of the order, an address
/// change rewrites only the header. Replacing the lines would reopen the cut ones, and
/// NetSuite (and now the sandbox) refuses to delete a fulfilled line, which dead-lettered
/// every later sync of the order.
#[tokio::test]
async fn an_address_change_after_a_cancel_and_a_fulfillment_rewrites_only_the_header() {
    let app = TestApp::start().await;
    let oid = "576486316948494001";
    let eid = format!("tiktok-order:{oid}");
    let so = app.place_and_sync(oid, &[tshirt(3), cap()]).await;
    let shirt_sku = tshirt(3).sku_id;

    // One of three t-shirts cancelled: the line goes to 2.
    app.cancellation(
        "4035318504086609001",
        oid,
        "CANCELLATION_REQUEST_COMPLETE",
        &[format!("{oid}001")],
    );
    app.webhook_ok(11, oid).await;
    app.wait_for("t-shirt line cut to 2", || async {
        app.sales_order(oid)
            .is_some_and(|so| dec_of(&line_of_sku(&so, &shirt_sku)["quantity"]) == dec!(2))
    })
    .await;
    app.drained().await;
    let patches = app.sandbox.netsuite.requests_by("PATCH", "salesOrder");

    // The warehouse ships one t-shirt; TikTok does not know yet.
    app.fulfil_units(&so, &shirt_sku, 1);
    let before = app.sales_order(oid).unwrap();
    let writes = app.sandbox.netsuite.sales_order_writes(&eid);

    new_address(&app, oid);
    app.webhook_ok(3, oid).await;
    app.wait_for("job finished", || async {
        app.sandbox.netsuite.sales_order_writes(&eid) > writes
            || !app.bridge().queue.dead_letters(1).await.unwrap().is_empty()
    })
    .await;
    app.drained().await;
    assert_eq!(app.dead_letters().await, Vec::<String>::new());
    let after = app.sales_order(oid).unwrap();
    assert_eq!(after["shippingAddress"]["addr1"], "500 New Street");
    assert_eq!(
        lines(&after),
        lines(&before),
        "lines left as NetSuite holds them"
    );
    assert_eq!(
        app.sandbox.netsuite.requests_by("PATCH", "salesOrder"),
        patches,
        "no cut line was reopened and cut again"
    );
    app.finish().await;
}

/// Finding 1, the cancellation alone: the closed cap line is not reopened by the rewrite
/// (which O2 then had to close again with a PATCH).
#[tokio::test]
async fn an_address_change_after_a_partial_cancel_leaves_closed_lines_closed() {
    let app = TestApp::start().await;
    let oid = "576486316948494002";
    app.place_and_sync(oid, &[tshirt(3), cap()]).await;
    app.cancellation(
        "4035318504086609002",
        oid,
        "CANCELLATION_REQUEST_SUCCESS",
        &[format!("{oid}004")],
    );
    app.webhook_ok(11, oid).await;
    let cap_sku = cap().sku_id;
    app.wait_for("cap line closed", || async {
        app.sales_order(oid)
            .is_some_and(|so| is_closed(&line_of_sku(&so, &cap_sku)))
    })
    .await;
    app.drained().await;
    let before = app.sales_order(oid).unwrap();
    let patches = app.sandbox.netsuite.requests_by("PATCH", "salesOrder");

    new_address(&app, oid);
    app.webhook_ok(3, oid).await;
    app.wait_for("new address", || async {
        app.sales_order(oid)
            .is_some_and(|so| so["shippingAddress"]["addr1"] == "500 New Street")
    })
    .await;
    app.drained().await;
    let after = app.sales_order(oid).unwrap();
    assert_eq!(lines(&after), lines(&before));
    assert_eq!(
        app.sandbox.netsuite.requests_by("PATCH", "salesOrder"),
        patches,
        "the cap line was never reopened"
    );
    app.finish().await;
}

/// Finding 4: TikTok shipped an FBT order without tracking (one whole-order fulfillment),
/// then the tracking number appears. No second fulfillment of the same units, and the
/// order's later syncs do not dead-letter.
#[tokio::test]
async fn fbt_tracking_after_a_whole_order_fulfillment_records_nothing_twice() {
    let app = TestApp::builder()
        .setting("NETSUITE_FBT_LOCATION_ID", "77")
        .start()
        .await;
    let oid = "576486316948494003";
    app.fbt_order(oid, &[tshirt(3), cap()]);
    app.sync(oid).await;

    app.sandbox.tiktok.set_status(oid, "IN_TRANSIT");
    app.webhook_ok(1, oid).await;
    let whole = format!("tiktok-fbt:{oid}");
    app.wait_for_record("whole-order fulfillment", "itemFulfillment", &whole)
        .await;
    app.drained().await;

    let package = app
        .sandbox
        .tiktok
        .ship_by_tiktok(oid, "TT0000000009US")
        .expect("tracking appears");
    app.webhook_done(1, oid).await;
    app.webhook_done(3, oid).await;

    assert_eq!(app.dead_letters().await, Vec::<String>::new());
    assert_eq!(app.count("itemFulfillment"), 1);
    assert!(app
        .record("itemFulfillment", &format!("tiktok-fbt:{oid}:{package}"))
        .is_none());
    let so = app.sales_order(oid).unwrap();
    for l in lines(&so)
        .iter()
        .filter(|l| !l["custcol_tiktok_sku_id"].is_null())
    {
        assert_eq!(
            dec_of(&l["quantityFulfilled"]),
            dec_of(&l["quantity"]),
            "{l:#}"
        );
    }
    app.finish().await;
}

/// Finding 5: TikTok cancels the whole order after the warehouse shipped one t-shirt.
/// The rest cannot ship: the t-shirt line drops to its fulfilled unit, the cap line
/// closes, and the case is flagged for review.
#[tokio::test]
async fn a_full_cancel_of_a_partly_fulfilled_order_closes_the_rest_and_flags_it() {
    let app = TestApp::start().await;
    let oid = "576486316948494004";
    let so = app.place_and_sync(oid, &[tshirt(3), cap()]).await;
    let shirt_sku = tshirt(3).sku_id;
    app.fulfil_units(&so, &shirt_sku, 1);
    let others_before: Vec<_> = lines(&so)
        .into_iter()
        .filter(|l| l["custcol_tiktok_sku_id"].is_null())
        .collect();

    app.sandbox.tiktok.set_status(oid, "CANCELLED");
    app.cancellation(
        "4035318504086609004",
        oid,
        "CANCELLATION_REQUEST_COMPLETE",
        &[],
    );
    app.webhook_done(11, oid).await;
    // Duplicates change nothing more.
    app.webhook_ok(11, oid).await;
    app.webhook_done(1, oid).await;

    let after = app.sales_order(oid).unwrap();
    let shirt = line_of_sku(&after, &shirt_sku);
    assert!(!is_closed(&shirt));
    assert_eq!(dec_of(&shirt["quantity"]), dec!(1));
    assert_eq!(dec_of(&shirt["quantityFulfilled"]), dec!(1));
    assert!(is_closed(&line_of_sku(&after, &cap().sku_id)), "{after:#}");
    let others: Vec<_> = lines(&after)
        .into_iter()
        .filter(|l| l["custcol_tiktok_sku_id"].is_null())
        .collect();
    assert_eq!(
        others, others_before,
        "adjustment lines left for the review"
    );

    let (_, v) = app.admin(Method::GET, "/admin/review").await;
    let flags = v["flags"].as_array().unwrap();
    assert_eq!(flags.len(), 1, "{v:#}");
    assert_eq!(flags[0]["id"], format!("cancellation:{oid}:full").as_str());
    assert_eq!(app.dead_letters().await, Vec::<String>::new());
    app.finish().await;
}

/// Finding 5, related: a second, different cancellation of fulfilled units gets its own
/// flag, even after the first was dismissed.
#[tokio::test]
async fn a_second_cancellation_case_on_a_fulfilled_order_is_flagged_again() {
    let app = TestApp::start().await;
    let oid = "576486316948494005";
    let so = app.place_and_sync(oid, &[tshirt(3), cap()]).await;
    app.sandbox
        .netsuite
        .create_item_fulfillment(so["id"].as_str().unwrap(), json!({}))
        .expect("warehouse fulfils everything");

    let first = "4035318504086609051";
    app.cancellation(
        first,
        oid,
        "CANCELLATION_REQUEST_COMPLETE",
        &[format!("{oid}001")],
    );
    app.webhook_done(11, oid).await;
    let first_flag = format!("cancellation:{oid}:{first}");
    let (_, v) = app.admin(Method::GET, "/admin/review").await;
    assert_eq!(v["flags"][0]["id"], first_flag.as_str(), "{v:#}");
    let (status, _) = app
        .admin(Method::POST, &format!("/admin/review/{first_flag}/dismiss"))
        .await;
    assert_eq!(status, 200);

    let second = "4035318504086609052";
    app.cancellation(
        second,
        oid,
        "CANCELLATION_REQUEST_COMPLETE",
        &[format!("{oid}004")],
    );
    app.webhook_done(11, oid).await;
    let (_, v) = app.admin(Method::GET, "/admin/review").await;
    let open = v["flags"].as_array().unwrap();
    assert_eq!(open.len(), 1, "{v:#}");
    assert_eq!(
        open[0]["id"],
        format!("cancellation:{oid}:{first},{second}").as_str()
    );
    app.finish().await;
}

/// Finding 6: an effective cancellation naming no lines while TikTok still shows the order
/// AWAITING_SHIPMENT is not a full cancel: the order is still imported.
#[tokio::test]
async fn a_cancellation_naming_no_lines_does_not_block_the_import() {
    let app = TestApp::start().await;
    let oid = "576486316948494006";
    app.order(oid, &[tshirt(3), cap()]);
    app.cancellation(
        "4035318504086609006",
        oid,
        "CANCELLATION_REQUEST_SUCCESS",
        &[],
    );
    app.webhook_done(11, oid).await;
    let so = app.sync(oid).await;
    assert!(lines(&so).iter().all(|l| !is_closed(l)), "{so:#}");

    // Once TikTok settles the cancel, the order's status closes everything.
    app.sandbox.tiktok.set_status(oid, "CANCELLED");
    app.webhook_ok(1, oid).await;
    app.wait_for("every line closed", || async {
        app.sales_order(oid)
            .is_some_and(|so| lines(&so).iter().all(is_closed))
    })
    .await;
    app.finish().await;
}

/// Finding 9: a refund whose request stops at RETURN_OR_REFUND_REQUEST_SUCCESS still gets
/// its credit memo, as O2 already read CANCELLATION_REQUEST_SUCCESS as done.
#[tokio::test]
async fn a_refund_at_request_success_gets_its_credit_memo() {
    let app = TestApp::start().await;
    let oid = "576486316948494007";
    let rid = "4035318504086609007";
    app.place_and_sync(oid, &[tshirt(3), cap()]).await;
    app.add_return(json!({
        "return_id": rid, "order_id": oid, "return_type": "REFUND",
        "return_status": "RETURN_OR_REFUND_REQUEST_SUCCESS",
        "return_line_items": [{"order_line_item_id": format!("{oid}004")}],
    }));
    app.webhook_done(12, oid).await;
    assert!(app
        .record("creditMemo", &format!("tiktok-refund:{rid}"))
        .is_some());
    assert_eq!(app.count("creditMemo"), 1);
    app.finish().await;
}

/// Finding 12: a return of an order O1 parked on an unknown SKU parks too (not retried
/// into a dead letter), and is released once the sales order is written.
#[tokio::test]
async fn a_return_of_a_parked_order_parks_until_its_sales_order_exists() {
    let app = TestApp::builder().unpark_every_second().start().await;
    let oid = "576486316948494008";
    let rid = "4035318504086609008";
    app.order(oid, &[SampleLine::new("NEW-SKU-2027", dec!(30.00), 2)]);
    app.webhook_ok(1, oid).await;
    app.wait_for("order parked", || async {
        app.bridge()
            .state
            .parked()
            .await
            .is_ok_and(|p| p.len() == 1)
    })
    .await;
    app.add_return(json!({
        "return_id": rid, "order_id": oid, "return_type": "REFUND",
        "return_status": "RETURN_OR_REFUND_REQUEST_COMPLETE",
        "return_line_items": [{"order_line_item_id": format!("{oid}001")}],
    }));
    app.webhook_ok(12, oid).await;
    app.wait_for("return parked", || async {
        app.bridge().state.parked().await.is_ok_and(|p| {
            p.iter().any(|j| {
                j.reason
                    == ParkReason::AwaitingSalesOrder {
                        order_id: oid.to_string(),
                    }
            })
        })
    })
    .await;
    app.drained().await;
    assert!(app.dead_letters().await.is_empty());
    assert_eq!(app.job_count("return_sync", "parked"), 1);

    app.sandbox.netsuite.add_item("NEW-SKU-2027");
    app.wait_for_record(
        "credit memo written",
        "creditMemo",
        &format!("tiktok-refund:{rid}"),
    )
    .await;
    app.wait_for("nothing parked", || async {
        app.bridge()
            .state
            .parked()
            .await
            .is_ok_and(|p| p.is_empty())
    })
    .await;
    app.drained().await;
    assert!(app.dead_letters().await.is_empty());
    assert_eq!(app.count("creditMemo"), 1);
    app.finish().await;
}

/// Finding 8: a credit memo made from the returned lines at their sold rate that does not
/// match TikTok's refund (a seller discount, tax) is flagged for review, once.
#[tokio::test]
async fn a_credit_memo_differing_from_tiktoks_refund_is_flagged_for_review() {
    let app = TestApp::start().await;
    let oid = "576486316948494009";
    let rid = "4035318504086609009";
    app.place_and_sync(oid, &[tshirt(3), cap()]).await;
    app.add_return(json!({
        "return_id": rid, "order_id": oid, "return_type": "REFUND",
        "return_status": "RETURN_OR_REFUND_REQUEST_COMPLETE",
        "refund_amount": {"currency": "USD", "refund_total": "10.00"},
        "return_line_items": [{"order_line_item_id": format!("{oid}004")}],
    }));
    app.webhook_done(12, oid).await;
    app.webhook_done(12, oid).await;
    assert_eq!(app.count("creditMemo"), 1);
    let (_, v) = app.admin(Method::GET, "/admin/review").await;
    let flags = v["flags"].as_array().unwrap();
    assert_eq!(flags.len(), 1, "{v:#}");
    assert_eq!(flags[0]["id"], format!("refund:{oid}:{rid}").as_str());
    assert_eq!(flags[0]["reason"], "refund_amount_mismatch");
    let detail = flags[0]["detail"].as_str().unwrap();
    assert!(
        detail.contains("12.5") && detail.contains("10.00"),
        "{detail}"
    );
    assert_eq!(
        app.bridge()
            .metrics
            .after_sale
            .flag_count("refund_amount_mismatch"),
        1
    );
    app.finish().await;
}

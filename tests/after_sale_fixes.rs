//! Follow-ups to the review of O1/O2/O3/F2 working together: order rewrites after
//! cancellations and fulfillments, FBT shipments already recorded, cancellations of partly
//! fulfilled orders, cancellations naming no lines, refunds that stop at SUCCESS, and
//! returns of parked orders. Each test asserts on what the sandboxes end up holding.

#[path = "common/after_sale.rs"]
mod after_sale;
mod common;

use after_sale::{admin, dec_of, is_closed, line_of_sku, lines};
use bridge::app::RunningBridge;
use bridge::state::ParkReason;
use common::{eventually, queue_idle, Harness};
use reqwest::Method;
use rust_decimal_macros::dec;
use sandbox::tiktok::fixtures::{SampleLine, SampleOrderOptions};
use serde_json::{json, Value};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(20);

fn tshirt() -> SampleLine {
    SampleLine::new("TSHIRT-BLK-M", dec!(19.99), 3)
}

fn cap() -> SampleLine {
    SampleLine::new("CAP-RED", dec!(12.50), 1)
}

async fn drained(b: &RunningBridge) {
    eventually(WAIT, "queue drained", || queue_idle(b.queue.as_ref())).await;
}

async fn imported(h: &Harness, b: &RunningBridge, order_id: &str) -> Value {
    assert_eq!(h.webhook(b, 1, order_id).await, 200);
    eventually(WAIT, "sales order written", || async {
        h.sales_order(order_id).is_some()
    })
    .await;
    drained(b).await;
    h.sales_order(order_id).expect("sales order")
}

fn cancellation(h: &Harness, cancel_id: &str, order_id: &str, status: &str, line_items: &[String]) {
    let items: Vec<_> = line_items
        .iter()
        .map(|l| json!({ "order_line_item_id": l }))
        .collect();
    h.sandbox
        .tiktok
        .add_cancellation(json!({
            "cancel_id": cancel_id,
            "order_id": order_id,
            "cancel_status": status,
            "cancel_line_items": items,
        }))
        .expect("cancellation stored");
}

/// The warehouse fulfils `quantity` units of the sales order line holding `sku_id`.
fn fulfil(h: &Harness, so: &Value, sku_id: &str, quantity: u32) {
    let line = line_of_sku(so, sku_id)["line"].clone();
    h.sandbox
        .netsuite
        .create_item_fulfillment(
            so["id"].as_str().unwrap(),
            json!({ "item": { "items": [
                { "orderLine": line, "quantity": quantity, "itemReceive": true }
            ] } }),
        )
        .expect("warehouse fulfils");
}

async fn dead_letters(b: &RunningBridge) -> Vec<String> {
    b.queue
        .dead_letters(50)
        .await
        .unwrap()
        .into_iter()
        .map(|d| d.error)
        .collect()
}

fn new_address(h: &Harness, order_id: &str) {
    let mut addr = sandbox::tiktok::fixtures::sample_address();
    addr.address_line1 = Some("500 New Street".into());
    assert!(h.sandbox.tiktok.set_address(order_id, &addr));
}

/// Finding 1: after O2 cut a line and the warehouse fulfilled part of the order, an address
/// change rewrites only the header. Replacing the lines would reopen the cut ones, and
/// NetSuite (and now the sandbox) refuses to delete a fulfilled line, which dead-lettered
/// every later sync of the order.
#[tokio::test]
async fn an_address_change_after_a_cancel_and_a_fulfillment_rewrites_only_the_header() {
    let h = Harness::new().await;
    let b = h.start(&[]).await;
    let oid = "576486316948494001";
    let eid = format!("tiktok-order:{oid}");
    h.order(oid, &[tshirt(), cap()]);
    let so = imported(&h, &b, oid).await;
    let shirt_sku = tshirt().sku_id;

    // One of three t-shirts cancelled: the line goes to 2.
    cancellation(
        &h,
        "4035318504086609001",
        oid,
        "CANCELLATION_REQUEST_COMPLETE",
        &[format!("{oid}001")],
    );
    assert_eq!(h.webhook(&b, 11, oid).await, 200);
    eventually(WAIT, "t-shirt line cut to 2", || async {
        h.sales_order(oid)
            .is_some_and(|so| dec_of(&line_of_sku(&so, &shirt_sku)["quantity"]) == dec!(2))
    })
    .await;
    drained(&b).await;
    let patches = h.sandbox.netsuite.requests_by("PATCH", "salesOrder");

    // The warehouse ships one t-shirt; TikTok does not know yet.
    fulfil(&h, &so, &shirt_sku, 1);
    let before = h.sales_order(oid).unwrap();
    let writes = h.sandbox.netsuite.sales_order_writes(&eid);

    new_address(&h, oid);
    assert_eq!(h.webhook(&b, 3, oid).await, 200);
    eventually(WAIT, "job finished", || async {
        h.sandbox.netsuite.sales_order_writes(&eid) > writes
            || !b.queue.dead_letters(1).await.unwrap().is_empty()
    })
    .await;
    drained(&b).await;
    assert_eq!(dead_letters(&b).await, Vec::<String>::new());
    let after = h.sales_order(oid).unwrap();
    assert_eq!(after["shippingAddress"]["addr1"], "500 New Street");
    assert_eq!(
        lines(&after),
        lines(&before),
        "lines left as NetSuite holds them"
    );
    assert_eq!(
        h.sandbox.netsuite.requests_by("PATCH", "salesOrder"),
        patches,
        "no cut line was reopened and cut again"
    );
    b.shutdown().await;
    h.cleanup().await;
}

/// Finding 1, the cancellation alone: the closed cap line is not reopened by the rewrite
/// (which O2 then had to close again with a PATCH).
#[tokio::test]
async fn an_address_change_after_a_partial_cancel_leaves_closed_lines_closed() {
    let h = Harness::new().await;
    let b = h.start(&[]).await;
    let oid = "576486316948494002";
    h.order(oid, &[tshirt(), cap()]);
    imported(&h, &b, oid).await;
    cancellation(
        &h,
        "4035318504086609002",
        oid,
        "CANCELLATION_REQUEST_SUCCESS",
        &[format!("{oid}004")],
    );
    assert_eq!(h.webhook(&b, 11, oid).await, 200);
    let cap_sku = cap().sku_id;
    eventually(WAIT, "cap line closed", || async {
        h.sales_order(oid)
            .is_some_and(|so| is_closed(&line_of_sku(&so, &cap_sku)))
    })
    .await;
    drained(&b).await;
    let before = h.sales_order(oid).unwrap();
    let patches = h.sandbox.netsuite.requests_by("PATCH", "salesOrder");

    new_address(&h, oid);
    assert_eq!(h.webhook(&b, 3, oid).await, 200);
    eventually(WAIT, "new address", || async {
        h.sales_order(oid)
            .is_some_and(|so| so["shippingAddress"]["addr1"] == "500 New Street")
    })
    .await;
    drained(&b).await;
    let after = h.sales_order(oid).unwrap();
    assert_eq!(lines(&after), lines(&before));
    assert_eq!(
        h.sandbox.netsuite.requests_by("PATCH", "salesOrder"),
        patches,
        "the cap line was never reopened"
    );
    b.shutdown().await;
    h.cleanup().await;
}

/// Finding 4: TikTok shipped an FBT order without tracking (one whole-order fulfillment),
/// then the tracking number appears. No second fulfillment of the same units, and the
/// order's later syncs do not dead-letter.
#[tokio::test]
async fn fbt_tracking_after_a_whole_order_fulfillment_records_nothing_twice() {
    let h = Harness::new().await;
    let b = h.start(&[("NETSUITE_FBT_LOCATION_ID", "77")]).await;
    let oid = "576486316948494003";
    let opts = SampleOrderOptions {
        fulfillment_type: "FULFILLMENT_BY_TIKTOK".into(),
        ..SampleOrderOptions::default()
    };
    h.order_with(oid, "AWAITING_SHIPMENT", &[tshirt(), cap()], &opts);
    imported(&h, &b, oid).await;

    h.sandbox.tiktok.set_status(oid, "IN_TRANSIT");
    assert_eq!(h.webhook(&b, 1, oid).await, 200);
    let whole = format!("tiktok-fbt:{oid}");
    eventually(WAIT, "whole-order fulfillment", || async {
        h.sandbox
            .netsuite
            .record_by_external_id_of("itemFulfillment", &whole)
            .is_some()
    })
    .await;
    drained(&b).await;

    let package = h
        .sandbox
        .tiktok
        .ship_by_tiktok(oid, "TT0000000009US")
        .expect("tracking appears");
    assert_eq!(h.webhook(&b, 1, oid).await, 200);
    drained(&b).await;
    assert_eq!(h.webhook(&b, 3, oid).await, 200);
    drained(&b).await;

    assert_eq!(dead_letters(&b).await, Vec::<String>::new());
    assert_eq!(h.sandbox.netsuite.records_of("itemFulfillment").len(), 1);
    assert!(h
        .sandbox
        .netsuite
        .record_by_external_id_of("itemFulfillment", &format!("tiktok-fbt:{oid}:{package}"))
        .is_none());
    let so = h.sales_order(oid).unwrap();
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
    b.shutdown().await;
    h.cleanup().await;
}

/// Finding 5: TikTok cancels the whole order after the warehouse shipped one t-shirt.
/// The rest cannot ship: the t-shirt line drops to its fulfilled unit, the cap line
/// closes, and the case is flagged for review.
#[tokio::test]
async fn a_full_cancel_of_a_partly_fulfilled_order_closes_the_rest_and_flags_it() {
    let h = Harness::new().await;
    let b = h.start(&[]).await;
    let oid = "576486316948494004";
    h.order(oid, &[tshirt(), cap()]);
    let so = imported(&h, &b, oid).await;
    let shirt_sku = tshirt().sku_id;
    fulfil(&h, &so, &shirt_sku, 1);
    let others_before: Vec<_> = lines(&so)
        .into_iter()
        .filter(|l| l["custcol_tiktok_sku_id"].is_null())
        .collect();

    h.sandbox.tiktok.set_status(oid, "CANCELLED");
    cancellation(
        &h,
        "4035318504086609004",
        oid,
        "CANCELLATION_REQUEST_COMPLETE",
        &[],
    );
    assert_eq!(h.webhook(&b, 11, oid).await, 200);
    drained(&b).await;
    // Duplicates change nothing more.
    assert_eq!(h.webhook(&b, 11, oid).await, 200);
    assert_eq!(h.webhook(&b, 1, oid).await, 200);
    drained(&b).await;

    let after = h.sales_order(oid).unwrap();
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

    let (_, v) = admin(&b, Method::GET, "/admin/review").await;
    let flags = v["flags"].as_array().unwrap();
    assert_eq!(flags.len(), 1, "{v:#}");
    assert_eq!(flags[0]["id"], format!("cancellation:{oid}:full").as_str());
    assert_eq!(dead_letters(&b).await, Vec::<String>::new());
    b.shutdown().await;
    h.cleanup().await;
}

/// Finding 5, related: a second, different cancellation of fulfilled units gets its own
/// flag, even after the first was dismissed.
#[tokio::test]
async fn a_second_cancellation_case_on_a_fulfilled_order_is_flagged_again() {
    let h = Harness::new().await;
    let b = h.start(&[]).await;
    let oid = "576486316948494005";
    h.order(oid, &[tshirt(), cap()]);
    let so = imported(&h, &b, oid).await;
    h.sandbox
        .netsuite
        .create_item_fulfillment(so["id"].as_str().unwrap(), json!({}))
        .expect("warehouse fulfils everything");

    let first = "4035318504086609051";
    cancellation(
        &h,
        first,
        oid,
        "CANCELLATION_REQUEST_COMPLETE",
        &[format!("{oid}001")],
    );
    assert_eq!(h.webhook(&b, 11, oid).await, 200);
    drained(&b).await;
    let first_flag = format!("cancellation:{oid}:{first}");
    let (_, v) = admin(&b, Method::GET, "/admin/review").await;
    assert_eq!(v["flags"][0]["id"], first_flag.as_str(), "{v:#}");
    let (status, _) = admin(
        &b,
        Method::POST,
        &format!("/admin/review/{first_flag}/dismiss"),
    )
    .await;
    assert_eq!(status, 200);

    let second = "4035318504086609052";
    cancellation(
        &h,
        second,
        oid,
        "CANCELLATION_REQUEST_COMPLETE",
        &[format!("{oid}004")],
    );
    assert_eq!(h.webhook(&b, 11, oid).await, 200);
    drained(&b).await;
    let (_, v) = admin(&b, Method::GET, "/admin/review").await;
    let open = v["flags"].as_array().unwrap();
    assert_eq!(open.len(), 1, "{v:#}");
    assert_eq!(
        open[0]["id"],
        format!("cancellation:{oid}:{first},{second}").as_str()
    );
    b.shutdown().await;
    h.cleanup().await;
}

/// Finding 6: an effective cancellation naming no lines while TikTok still shows the order
/// AWAITING_SHIPMENT is not a full cancel: the order is still imported.
#[tokio::test]
async fn a_cancellation_naming_no_lines_does_not_block_the_import() {
    let h = Harness::new().await;
    let b = h.start(&[]).await;
    let oid = "576486316948494006";
    h.order(oid, &[tshirt(), cap()]);
    cancellation(
        &h,
        "4035318504086609006",
        oid,
        "CANCELLATION_REQUEST_SUCCESS",
        &[],
    );
    assert_eq!(h.webhook(&b, 11, oid).await, 200);
    drained(&b).await;
    let so = imported(&h, &b, oid).await;
    assert!(lines(&so).iter().all(|l| !is_closed(l)), "{so:#}");

    // Once TikTok settles the cancel, the order's status closes everything.
    h.sandbox.tiktok.set_status(oid, "CANCELLED");
    assert_eq!(h.webhook(&b, 1, oid).await, 200);
    eventually(WAIT, "every line closed", || async {
        h.sales_order(oid)
            .is_some_and(|so| lines(&so).iter().all(is_closed))
    })
    .await;
    b.shutdown().await;
    h.cleanup().await;
}

/// Finding 9: a refund whose request stops at RETURN_OR_REFUND_REQUEST_SUCCESS still gets
/// its credit memo, as O2 already read CANCELLATION_REQUEST_SUCCESS as done.
#[tokio::test]
async fn a_refund_at_request_success_gets_its_credit_memo() {
    let h = Harness::new().await;
    let b = h.start(&[]).await;
    let oid = "576486316948494007";
    let rid = "4035318504086609007";
    h.order(oid, &[tshirt(), cap()]);
    imported(&h, &b, oid).await;
    h.sandbox
        .tiktok
        .add_return(json!({
            "return_id": rid, "order_id": oid, "return_type": "REFUND",
            "return_status": "RETURN_OR_REFUND_REQUEST_SUCCESS",
            "return_line_items": [{"order_line_item_id": format!("{oid}004")}],
        }))
        .unwrap();
    assert_eq!(h.webhook(&b, 12, oid).await, 200);
    drained(&b).await;
    assert!(h
        .sandbox
        .netsuite
        .record_by_external_id_of("creditMemo", &format!("tiktok-refund:{rid}"))
        .is_some());
    assert_eq!(h.sandbox.netsuite.records_of("creditMemo").len(), 1);
    b.shutdown().await;
    h.cleanup().await;
}

/// Finding 12: a return of an order O1 parked on an unknown SKU parks too (not retried
/// into a dead letter), and is released once the sales order is written.
#[tokio::test]
async fn a_return_of_a_parked_order_parks_until_its_sales_order_exists() {
    let h = Harness::new().await;
    let b = h.start(&[("UNPARK_INTERVAL_SECS", "1")]).await;
    let oid = "576486316948494008";
    let rid = "4035318504086609008";
    h.order(oid, &[SampleLine::new("NEW-SKU-2027", dec!(30.00), 2)]);
    assert_eq!(h.webhook(&b, 1, oid).await, 200);
    eventually(WAIT, "order parked", || async {
        b.state.parked().await.is_ok_and(|p| p.len() == 1)
    })
    .await;
    h.sandbox
        .tiktok
        .add_return(json!({
            "return_id": rid, "order_id": oid, "return_type": "REFUND",
            "return_status": "RETURN_OR_REFUND_REQUEST_COMPLETE",
            "return_line_items": [{"order_line_item_id": format!("{oid}001")}],
        }))
        .unwrap();
    assert_eq!(h.webhook(&b, 12, oid).await, 200);
    eventually(WAIT, "return parked", || async {
        b.state.parked().await.is_ok_and(|p| {
            p.iter().any(|j| {
                j.reason
                    == ParkReason::AwaitingSalesOrder {
                        order_id: oid.to_string(),
                    }
            })
        })
    })
    .await;
    drained(&b).await;
    assert!(dead_letters(&b).await.is_empty());
    assert_eq!(b.metrics.job_count("return_sync", "parked"), 1);

    h.sandbox.netsuite.add_item("NEW-SKU-2027");
    eventually(WAIT, "credit memo written", || async {
        h.sandbox
            .netsuite
            .record_by_external_id_of("creditMemo", &format!("tiktok-refund:{rid}"))
            .is_some()
    })
    .await;
    eventually(WAIT, "nothing parked", || async {
        b.state.parked().await.is_ok_and(|p| p.is_empty())
    })
    .await;
    drained(&b).await;
    assert!(dead_letters(&b).await.is_empty());
    assert_eq!(h.sandbox.netsuite.records_of("creditMemo").len(), 1);
    b.shutdown().await;
    h.cleanup().await;
}

/// Finding 8: a credit memo made from the returned lines at their sold rate that does not
/// match TikTok's refund (a seller discount, tax) is flagged for review, once.
#[tokio::test]
async fn a_credit_memo_differing_from_tiktoks_refund_is_flagged_for_review() {
    let h = Harness::new().await;
    let b = h.start(&[]).await;
    let oid = "576486316948494009";
    let rid = "4035318504086609009";
    h.order(oid, &[tshirt(), cap()]);
    imported(&h, &b, oid).await;
    h.sandbox
        .tiktok
        .add_return(json!({
            "return_id": rid, "order_id": oid, "return_type": "REFUND",
            "return_status": "RETURN_OR_REFUND_REQUEST_COMPLETE",
            "refund_amount": {"currency": "USD", "refund_total": "10.00"},
            "return_line_items": [{"order_line_item_id": format!("{oid}004")}],
        }))
        .unwrap();
    assert_eq!(h.webhook(&b, 12, oid).await, 200);
    drained(&b).await;
    assert_eq!(h.webhook(&b, 12, oid).await, 200);
    drained(&b).await;
    assert_eq!(h.sandbox.netsuite.records_of("creditMemo").len(), 1);
    let (_, v) = admin(&b, Method::GET, "/admin/review").await;
    let flags = v["flags"].as_array().unwrap();
    assert_eq!(flags.len(), 1, "{v:#}");
    assert_eq!(flags[0]["id"], format!("refund:{oid}:{rid}").as_str());
    assert_eq!(flags[0]["reason"], "refund_amount_mismatch");
    let detail = flags[0]["detail"].as_str().unwrap();
    assert!(
        detail.contains("12.5") && detail.contains("10.00"),
        "{detail}"
    );
    assert_eq!(b.metrics.after_sale.flag_count("refund_amount_mismatch"), 1);
    b.shutdown().await;
    h.cleanup().await;
}

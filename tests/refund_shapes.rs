//! O3 refunds that tie: each credit memo equals what TikTok refunded, built from the
//! return's `refund_amount` components, with no review flag unless a difference is left
//! unexplained. Over HTTP against the sandbox, each memo written once.

#[path = "common/after_sale.rs"]
mod after_sale;
mod common;

use after_sale::{dec_of, lines};
use bridge::app::RunningBridge;
use common::{eventually, queue_idle, Harness};
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use sandbox::tiktok::fixtures::SampleLine;
use serde_json::{json, Value};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(20);

fn tshirt() -> SampleLine {
    // 19.99, seller 2.00 and platform 1.50 off: sold at 16.49, tax 1.20 (7.25%).
    SampleLine::new("TSHIRT-BLK-M", dec!(19.99), 2).with_discounts(dec!(2.00), dec!(1.50))
}

fn cap() -> SampleLine {
    // 12.50, tax 0.91.
    SampleLine::new("CAP-RED", dec!(12.50), 1)
}

async fn drained(b: &RunningBridge) {
    eventually(WAIT, "queue drained", || queue_idle(b.queue.as_ref())).await;
}

async fn imported(h: &Harness, b: &RunningBridge, order_id: &str) {
    h.order(order_id, &[tshirt(), cap()]);
    assert_eq!(h.webhook(b, 1, order_id).await, 200);
    eventually(WAIT, "sales order written", || async {
        h.sales_order(order_id).is_some()
    })
    .await;
    drained(b).await;
}

/// A completed refund-only return, announced by topic 12 (twice: written once).
async fn refunded(h: &Harness, b: &RunningBridge, oid: &str, rid: &str, mut ret: Value) -> Value {
    ret["return_id"] = json!(rid);
    ret["order_id"] = json!(oid);
    ret["return_type"] = json!("REFUND");
    ret["return_status"] = json!("RETURN_OR_REFUND_REQUEST_COMPLETE");
    h.sandbox.tiktok.add_return(ret).unwrap();
    for _ in 0..2 {
        assert_eq!(h.webhook(b, 12, oid).await, 200);
        drained(b).await;
    }
    let eid = format!("tiktok-refund:{rid}");
    let memos: Vec<Value> = h
        .sandbox
        .netsuite
        .records_of("creditMemo")
        .into_iter()
        .filter(|m| m["externalId"] == eid.as_str())
        .collect();
    assert_eq!(memos.len(), 1, "one credit memo for {rid}");
    memos[0].clone()
}

/// (item id, amount) of each memo line.
fn memo_lines(memo: &Value) -> Vec<(String, Decimal)> {
    lines(memo)
        .iter()
        .map(|l| {
            (
                l["item"]["id"].as_str().unwrap_or_default().to_string(),
                dec_of(&l["amount"]),
            )
        })
        .collect()
}

fn total(memo: &Value) -> Decimal {
    memo_lines(memo).iter().map(|(_, a)| *a).sum()
}

async fn review_flags(b: &RunningBridge) -> Vec<Value> {
    let (_, v) = after_sale::admin(b, reqwest::Method::GET, "/admin/review").await;
    v["flags"].as_array().cloned().unwrap_or_default()
}

#[tokio::test]
async fn refunds_tie_to_what_tiktok_refunded_without_a_person() {
    let h = Harness::new().await;
    let b = h.start(&[]).await;
    let a = &h.sandbox.adjustments;
    let (cap_item, shirt_item) = (h.item_id("CAP-RED"), h.item_id("TSHIRT-BLK-M"));

    // One taxed unit: the cap and its tax.
    let oid = "576486316948493001";
    imported(&h, &b, oid).await;
    let memo = refunded(
        &h,
        &b,
        oid,
        "4035318504086606001",
        json!({
            "return_line_items": [{"order_line_item_id": format!("{oid}003"), "sku_id": cap().sku_id}],
            "refund_amount": {"currency": "USD", "refund_total": "13.41",
                "refund_subtotal": "12.50", "refund_tax": "0.91"},
        }),
    )
    .await;
    assert_eq!(
        memo_lines(&memo),
        vec![(cap_item.clone(), dec!(12.50)), (a.tax.clone(), dec!(0.91))]
    );

    // A discounted unit: its rate, its share of both discounts, its tax.
    let oid = "576486316948493002";
    imported(&h, &b, oid).await;
    let memo = refunded(
        &h,
        &b,
        oid,
        "4035318504086606002",
        json!({
            "return_line_items": [{"order_line_item_id": format!("{oid}001"), "sku_id": tshirt().sku_id}],
            "refund_amount": {"currency": "USD", "refund_total": "17.69",
                "refund_subtotal": "16.49", "refund_tax": "1.20"},
        }),
    )
    .await;
    assert_eq!(
        memo_lines(&memo),
        vec![
            (shirt_item.clone(), dec!(19.99)),
            (a.seller_discount.clone(), dec!(-2.00)),
            (a.platform_discount.clone(), dec!(-1.50)),
            (a.tax.clone(), dec!(1.20)),
        ]
    );

    // A partial refund the seller offered: 5.00 of the cap, the buyer keeps it.
    let oid = "576486316948493003";
    imported(&h, &b, oid).await;
    let memo = refunded(
        &h,
        &b,
        oid,
        "4035318504086606003",
        json!({
            "return_line_items": [{"order_line_item_id": format!("{oid}003"), "sku_id": cap().sku_id}],
            "partial_refund": {"currency": "USD", "amount": "5.00"},
            "refund_amount": {"currency": "USD", "refund_total": "5.00"},
        }),
    )
    .await;
    assert_eq!(total(&memo), dec!(5.00));

    // Shipping refunded (with its tax), nothing else.
    let oid = "576486316948493004";
    imported(&h, &b, oid).await;
    let memo = refunded(
        &h,
        &b,
        oid,
        "4035318504086606004",
        json!({
            "return_line_items": [],
            "refund_amount": {"currency": "USD", "refund_total": "6.42", "refund_subtotal": "0.00",
                "refund_shipping_fee": "5.99", "refund_tax": "0.43"},
        }),
    )
    .await;
    assert_eq!(
        memo_lines(&memo),
        vec![
            (a.tax.clone(), dec!(0.43)),
            (a.shipping.clone(), dec!(5.99))
        ]
    );

    assert!(
        review_flags(&b).await.is_empty(),
        "every refund tied: {:?}",
        review_flags(&b).await
    );

    // A difference the components cannot explain is still flagged.
    let oid = "576486316948493005";
    imported(&h, &b, oid).await;
    let memo = refunded(
        &h,
        &b,
        oid,
        "4035318504086606005",
        json!({
            "return_line_items": [{"order_line_item_id": format!("{oid}003"), "sku_id": cap().sku_id}],
            "refund_amount": {"currency": "USD", "refund_total": "14.00",
                "refund_subtotal": "12.50", "refund_tax": "0.91"},
        }),
    )
    .await;
    assert_eq!(total(&memo), dec!(13.41));
    let flags = review_flags(&b).await;
    assert_eq!(flags.len(), 1, "{flags:?}");
    assert_eq!(flags[0]["reason"], "refund_amount_mismatch");
    assert!(flags[0]["detail"].as_str().unwrap().contains("0.59"));
    b.shutdown().await;
    h.cleanup().await;
}

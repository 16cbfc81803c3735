//! Orders as TikTok really sends them, end to end over HTTP: market fees that tie to
//! `total_amount`, a total that does not (parked as `totals_mismatch`, never a dead letter),
//! gifts, bundles, pre-orders and orders in another currency.

mod common;

use common::{eventually, so_total, Harness};
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use sandbox::tiktok::fixtures::SampleLine;
use serde_json::{json, Value};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(20);
const TOKEN: &str = "test-admin-token-5d2e9a41c7b3f086";

fn dec_of(v: &Value) -> Decimal {
    v.to_string().trim_matches('"').parse().expect("decimal")
}

/// Put the order back into the sandbox after changing it.
fn store(h: &Harness, order: Value) {
    h.sandbox.tiktok.insert_order(order).expect("valid order");
}

fn add_money(v: &mut Value, field: &str, amount: Decimal) {
    let now = v.get(field).map(dec_of).unwrap_or_default();
    v[field] = json!(format!("{:.2}", now + amount));
}

async fn admin_get(b: &bridge::app::RunningBridge, path: &str) -> Value {
    reqwest::Client::new()
        .get(format!("http://{}{path}", b.addr.unwrap()))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

fn lines_on(so: &Value, item: &str) -> Vec<Decimal> {
    so["item"]["items"]
        .as_array()
        .expect("lines")
        .iter()
        .filter(|l| l["item"]["id"] == item)
        .map(|l| dec_of(&l["amount"]))
        .collect()
}

#[tokio::test]
async fn market_fees_inside_total_amount_become_lines_and_the_total_ties() {
    let h = Harness::new().await;
    let b = h.start(&[]).await;
    let id = "576486316948491501";
    let mut o = h.order(id, &[SampleLine::new("CAP-RED", dec!(12.50), 2)]);
    let total = dec_of(&o["payment"]["total_amount"]);
    o["payment"]["handling_fee"] = json!("1.20");
    o["payment"]["item_insurance_fee"] = json!("2.99");
    o["payment"]["item_insurance_tax"] = json!("0.22");
    o["payment"]["payment_platform_discount"] = json!("0.50");
    add_money(&mut o["payment"], "total_amount", dec!(3.91));
    store(&h, o);
    assert_eq!(h.webhook(&b, 1, id).await, 200);
    eventually(WAIT, "sales order written", || async {
        h.sales_order(id).is_some()
    })
    .await;
    let so = h.sales_order(id).unwrap();
    assert_eq!(so_total(&so), total + dec!(3.91));
    assert_eq!(lines_on(&so, &h.sandbox.adjustments.fees), vec![dec!(4.19)]);
    let history = admin_get(&b, &format!("/admin/orders/{id}/history")).await;
    let text = history.to_string();
    assert!(text.contains("fees_in_total"), "{text}");
    b.shutdown().await;
    h.cleanup().await;
}

#[tokio::test]
async fn an_order_whose_totals_do_not_tie_parks_with_its_amounts_and_a_review_flag() {
    let h = Harness::new().await;
    let b = h.start(&[]).await;
    let id = "576486316948491502";
    let mut o = h.order(id, &[SampleLine::new("CAP-RED", dec!(12.50), 1)]);
    let total = dec_of(&o["payment"]["total_amount"]);
    add_money(&mut o["payment"], "total_amount", dec!(0.05));
    store(&h, o);
    assert_eq!(h.webhook(&b, 1, id).await, 200);
    eventually(WAIT, "order parked for its totals", || async {
        let v = admin_get(&b, "/admin/parked").await;
        v["parked"][0]["reason"]["kind"] == "totals_mismatch"
    })
    .await;
    let parked = admin_get(&b, "/admin/parked").await;
    let reason = &parked["parked"][0]["reason"];
    assert_eq!(dec_of(&reason["expected"]), total + dec!(0.05));
    assert_eq!(dec_of(&reason["computed"]), total);
    assert_eq!(reason["order_id"], id);
    let flags = admin_get(&b, "/admin/review").await;
    let flag = flags["flags"]
        .as_array()
        .expect("flags")
        .iter()
        .find(|f| f["reason"] == "totals_mismatch")
        .cloned()
        .expect("a totals_mismatch review flag");
    assert_eq!(flag["order_id"], id);
    let dead = admin_get(&b, "/admin/dead-letters").await;
    assert_eq!(dead["dead_letters"].as_array().map(Vec::len), Some(0));
    assert!(h.sales_order(id).is_none());
    b.shutdown().await;

    // The merchant accepts cent-level differences: the released job writes the order with
    // the difference on the rounding item.
    let b = h
        .start(&[
            ("TOTALS_TOLERANCE", "0.05"),
            ("UNPARK_INTERVAL_SECS", "3600"),
        ])
        .await;
    let job_id = parked["parked"][0]["envelope"]["id"]
        .as_str()
        .expect("job id")
        .to_string();
    let r = reqwest::Client::new()
        .post(format!(
            "http://{}/admin/parked/{job_id}/release",
            b.addr.unwrap()
        ))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.status());
    eventually(WAIT, "released order written", || async {
        h.sales_order(id).is_some()
    })
    .await;
    let so = h.sales_order(id).unwrap();
    assert_eq!(so_total(&so), total + dec!(0.05));
    assert_eq!(
        lines_on(&so, &h.sandbox.adjustments.rounding),
        vec![dec!(0.05)]
    );
    b.shutdown().await;
    h.cleanup().await;
}

#[tokio::test]
async fn a_gift_line_ships_at_zero_and_the_total_still_ties() {
    let h = Harness::new().await;
    let b = h.start(&[]).await;
    let id = "576486316948491503";
    let mut o = h.order(
        id,
        &[
            SampleLine::new("CAP-RED", dec!(12.50), 1),
            SampleLine::new("HOODIE-GRY-M", dec!(0.00), 1),
        ],
    );
    o["line_items"][1]["is_gift"] = json!(true);
    let total = dec_of(&o["payment"]["total_amount"]);
    store(&h, o);
    assert_eq!(h.webhook(&b, 1, id).await, 200);
    eventually(WAIT, "sales order written", || async {
        h.sales_order(id).is_some()
    })
    .await;
    let so = h.sales_order(id).unwrap();
    assert_eq!(so_total(&so), total);
    let gift = so["item"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["item"]["id"] == h.item_id("HOODIE-GRY-M").as_str())
        .cloned()
        .expect("the gift is a line, so it ships and takes stock");
    assert_eq!(dec_of(&gift["quantity"]), dec!(1));
    assert_eq!(dec_of(&gift["amount"]), dec!(0));
    b.shutdown().await;
    h.cleanup().await;
}

#[tokio::test]
async fn a_pre_order_is_held_until_tiktok_releases_it() {
    let h = Harness::new().await;
    let b = h.start(&[]).await;
    let id = "576486316948491504";
    let mut o = h.order_with(
        id,
        "ON_HOLD",
        &[SampleLine::new("CAP-RED", dec!(12.50), 1)],
        &Default::default(),
    );
    o["order_type"] = json!("PRE_ORDER");
    o["release_date"] = json!(o["create_time"].as_i64().unwrap() + 7 * 86_400);
    store(&h, o);
    assert_eq!(h.webhook(&b, 1, id).await, 200);
    eventually(WAIT, "queue drained", || {
        common::queue_idle(b.queue.as_ref())
    })
    .await;
    assert!(h.sales_order(id).is_none(), "held while awaiting release");
    assert!(h.sandbox.tiktok.set_status(id, "AWAITING_SHIPMENT"));
    assert_eq!(h.webhook(&b, 1, id).await, 200);
    eventually(WAIT, "released pre-order imported", || async {
        h.sales_order(id).is_some()
    })
    .await;
    b.shutdown().await;
    h.cleanup().await;
}

#[tokio::test]
async fn a_uk_order_carries_its_currency_and_vat_included_in_prices() {
    let h = Harness::new().await;
    let b = h
        .start(&[
            ("CURRENCY_MAP", "USD=1,GBP=2"),
            ("MARKET_PRICES_INCLUDE_TAX", "true"),
        ])
        .await;
    let id = "576486316948491505";
    let opts = sandbox::tiktok::fixtures::SampleOrderOptions {
        currency: "GBP".into(),
        tax_rate: dec!(0),
        ..Default::default()
    };
    let mut o = h.order_with(
        id,
        "AWAITING_SHIPMENT",
        &[SampleLine::new("CAP-RED", dec!(12.50), 1)],
        &opts,
    );
    // 20% VAT inside the 12.50 price and the 5.99 shipping: reported, not added.
    o["payment"]["tax"] = json!("3.08");
    let total = dec_of(&o["payment"]["total_amount"]);
    store(&h, o);
    assert_eq!(h.webhook(&b, 1, id).await, 200);
    eventually(WAIT, "sales order written", || async {
        h.sales_order(id).is_some()
    })
    .await;
    let so = h.sales_order(id).unwrap();
    assert_eq!(so["currency"]["id"], "2");
    assert_eq!(so_total(&so), total);
    assert!(lines_on(&so, &h.sandbox.adjustments.tax).is_empty());
    assert!(
        so["memo"]
            .as_str()
            .unwrap_or_default()
            .contains("tax included in prices: 3.08"),
        "{so}"
    );
    b.shutdown().await;
    h.cleanup().await;
}

#[tokio::test]
async fn a_bundle_ships_as_its_components_or_as_its_kit_item() {
    let h = Harness::new().await;
    let b = h.start(&[]).await;
    let bundle = |h: &Harness, id: &str| {
        let mut o = h.order(id, &[SampleLine::new("BUNDLE-CAP-TEE", dec!(30.00), 1)]);
        o["line_items"][0]["combined_listing_skus"] = json!([
            {"sku_id": "1729592969712207001", "sku_count": 1, "seller_sku": "CAP-RED"},
            {"sku_id": "1729592969712207002", "sku_count": 2, "seller_sku": "TSHIRT-BLK-M"},
        ]);
        let total = dec_of(&o["payment"]["total_amount"]);
        store(h, o);
        total
    };
    let id = "576486316948491506";
    let total = bundle(&h, id);
    assert_eq!(h.webhook(&b, 1, id).await, 200);
    eventually(WAIT, "sales order written", || async {
        h.sales_order(id).is_some()
    })
    .await;
    let so = h.sales_order(id).unwrap();
    assert_eq!(so_total(&so), total);
    let qty_amount = |so: &Value, sku: &str| -> Vec<(Decimal, Decimal)> {
        let item = h.item_id(sku);
        so["item"]["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|l| l["item"]["id"] == item.as_str())
            .map(|l| (dec_of(&l["quantity"]), dec_of(&l["amount"])))
            .collect()
    };
    assert_eq!(qty_amount(&so, "CAP-RED"), vec![(dec!(1), dec!(30.00))]);
    assert_eq!(qty_amount(&so, "TSHIRT-BLK-M"), vec![(dec!(2), dec!(0))]);

    // Once the bundle has a kit item, it is one line on it.
    h.sandbox.netsuite.add_item("BUNDLE-CAP-TEE");
    let id = "576486316948491507";
    let total = bundle(&h, id);
    assert_eq!(h.webhook(&b, 1, id).await, 200);
    eventually(WAIT, "sales order written", || async {
        h.sales_order(id).is_some()
    })
    .await;
    let so = h.sales_order(id).unwrap();
    assert_eq!(so_total(&so), total);
    assert_eq!(
        qty_amount(&so, "BUNDLE-CAP-TEE"),
        vec![(dec!(1), dec!(30.00))]
    );
    assert!(qty_amount(&so, "CAP-RED").is_empty());
    b.shutdown().await;
    h.cleanup().await;
}

//! The NetSuite sandbox refuses to delete or shrink sales order lines a fulfillment is tied
//! to, as NetSuite does, so a client that rewrites a fulfilled order's lines fails in tests.

#[allow(dead_code)]
#[path = "common/sandbox_link.rs"]
mod sandbox_link;
use sandbox_link::NetSuiteClientConfig as _;

use bridge::netsuite::records::{RecordRef, SalesOrder, SalesOrderLine, Sublist};
use bridge::netsuite::{NetSuiteClient, NetSuiteError};
use rust_decimal::Decimal;
use sandbox::netsuite::{start, NetSuiteSandboxConfig};
use sandbox_link::SandboxAuthMode;
use serde_json::json;

fn order(customer: &str, item: &str, quantity: i64) -> SalesOrder {
    SalesOrder {
        external_id: "tiktok-order:1".into(),
        entity: RecordRef::new(customer),
        subsidiary: None,
        location: None,
        currency: None,
        order_status: RecordRef::new("B"),
        other_ref_num: "576461413038785752".into(),
        tiktok_order_id: "576461413038785752".into(),
        tran_date: None,
        shipping_address: None,
        memo: None,
        item: Sublist {
            items: vec![SalesOrderLine {
                item: RecordRef::new(item),
                quantity: Decimal::from(quantity),
                rate: Decimal::new(1000, 2),
                amount: Decimal::from(quantity * 10),
                description: None,
                location: None,
                tiktok_sku_id: Some("A".into()),
            }],
        },
    }
}

#[tokio::test]
async fn a_replace_of_fulfilled_lines_is_refused_and_a_header_update_is_not() {
    let sb = start(NetSuiteSandboxConfig::default(), "127.0.0.1:0")
        .await
        .expect("sandbox starts")
        .0;
    let customer = sb.add_customer(None, "Shop");
    let item = sb.add_item("SKU-1");
    let ns = NetSuiteClient::new(sb.client_config(SandboxAuthMode::OAuth2, 2)).unwrap();
    let so = order(&customer, &item, 2);
    let id = ns
        .upsert("salesOrder", "tiktok-order:1", &so, &["item"])
        .await
        .unwrap();
    // Before any fulfillment a replace is fine.
    ns.upsert("salesOrder", "tiktok-order:1", &so, &["item"])
        .await
        .unwrap();
    sb.create_item_fulfillment(
        &id,
        json!({ "item": { "items": [{ "orderLine": 1, "quantity": 1, "itemReceive": true }] } }),
    )
    .unwrap();

    let err = ns
        .upsert("salesOrder", "tiktok-order:1", &so, &["item"])
        .await
        .unwrap_err();
    assert!(
        matches!(&err, NetSuiteError::InvalidContent { path: Some(p), .. } if p == "item"),
        "{err:?}"
    );
    assert!(!err.is_retryable());

    // Naming the line and keeping at least the fulfilled unit is allowed, and the line
    // keeps what was fulfilled.
    let mut keep = serde_json::to_value(order(&customer, &item, 1)).unwrap();
    keep["item"]["items"][0]["line"] = json!(1);
    ns.upsert("salesOrder", "tiktok-order:1", &keep, &["item"])
        .await
        .unwrap();
    let stored = sb.sales_order_by_external_id("tiktok-order:1").unwrap();
    assert_eq!(stored["item"]["items"][0]["quantityFulfilled"], json!(1.0));

    // A header-only update (no item sublist) leaves the lines alone.
    let mut header = serde_json::to_value(&so).unwrap();
    header.as_object_mut().unwrap().remove("item");
    header["memo"] = json!("new memo");
    ns.upsert("salesOrder", "tiktok-order:1", &header, &[])
        .await
        .unwrap();
    let stored = sb.sales_order_by_external_id("tiktok-order:1").unwrap();
    assert_eq!(stored["memo"], "new memo");
    assert_eq!(stored["item"]["items"].as_array().unwrap().len(), 1);
}

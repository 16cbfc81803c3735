//! The sandbox paths the cancellation, return and FBT flows use, through the real clients
//! over HTTP: the TikTok control routes that stage cancellations, returns and TikTok's own
//! FBT shipments; fulfilled quantities on sales order lines and the PATCH rule that guards
//! them; and the reference checks on standalone credit memos and customer refunds.

#[allow(dead_code)]
#[path = "common/sandbox_link.rs"]
mod sandbox_link;

use bridge::netsuite::transactions::LinePatch;
use bridge::netsuite::{NetSuiteClient, NetSuiteError};
use bridge::tiktok::fulfillment::{CancellationSearch, ReturnSearch};
use bridge::tiktok::models::{FulfillmentType, OrderStatus};
use rust_decimal_macros::dec;
use sandbox::tiktok::fixtures::{sample_order_with, SampleOrderOptions};
use sandbox::tiktok::{sample_order, SampleLine};
use sandbox::SandboxHandle;
use sandbox_link::{netsuite_client, spawn_sandbox, tiktok_client};
use serde_json::{json, Map, Value};

const ORDER: &str = "576486316948494001";
const FBT_ORDER: &str = "576486316948494002";

async fn control(sb: &SandboxHandle, path: &str, body: Value) -> (u16, Value) {
    let resp = reqwest::Client::new()
        .post(format!("{}{path}", sb.base_url))
        .json(&body)
        .send()
        .await
        .expect("control call");
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn control_routes_stage_cancellations_and_returns_that_signed_searches_find() {
    let sb = spawn_sandbox().await;
    let dir = tempfile::tempdir().unwrap();
    let tt = tiktok_client(&sb, dir.path()).await;
    sb.tiktok
        .insert_order(sample_order(
            ORDER,
            "AWAITING_SHIPMENT",
            &[SampleLine::new("CAP-RED", dec!(9.50), 2)],
        ))
        .unwrap();

    let (status, _) = control(
        &sb,
        "/_sandbox/tiktok/cancellations",
        json!({"cancel_id": "4035318504086606001", "order_id": "999"}),
    )
    .await;
    assert_eq!(status, 404, "unknown order");
    let (status, c) = control(
        &sb,
        "/_sandbox/tiktok/cancellations",
        json!({"cancel_id": "4035318504086606001", "order_id": ORDER,
               "cancel_line_items": [{"order_line_item_id": format!("{ORDER}001")}]}),
    )
    .await;
    assert_eq!(status, 201, "{c}");
    let page = tt
        .search_cancellations(&CancellationSearch {
            order_ids: vec![ORDER.into()],
            page_size: 50,
            ..CancellationSearch::default()
        })
        .await
        .expect("search");
    assert_eq!(page.cancellations.len(), 1);
    assert_eq!(
        page.cancellations[0].cancel_status,
        "CANCELLATION_REQUEST_COMPLETE"
    );
    assert_eq!(
        page.cancellations[0].cancel_line_items[0].order_line_item_id,
        format!("{ORDER}001")
    );

    let (status, _) = control(
        &sb,
        "/_sandbox/tiktok/returns",
        json!({"return_id": "4035318504086606002", "order_id": ORDER, "return_type": "REFUND"}),
    )
    .await;
    assert_eq!(status, 201);
    let (status, r) = control(
        &sb,
        "/_sandbox/tiktok/returns/4035318504086606002/status",
        json!({"status": "RETURN_OR_REFUND_REQUEST_COMPLETE"}),
    )
    .await;
    assert_eq!(status, 200, "{r}");
    let (status, _) = control(
        &sb,
        "/_sandbox/tiktok/returns/404/status",
        json!({"status": "RETURN_OR_REFUND_REQUEST_COMPLETE"}),
    )
    .await;
    assert_eq!(status, 404);
    let page = tt
        .search_returns(&ReturnSearch {
            return_ids: vec!["4035318504086606002".into()],
            page_size: 10,
            ..ReturnSearch::default()
        })
        .await
        .expect("search");
    assert_eq!(page.return_orders[0].return_type, "REFUND");
    assert_eq!(
        page.return_orders[0].return_status,
        "RETURN_OR_REFUND_REQUEST_COMPLETE"
    );
    // Topics 11 and 12 describe the newest cancellation / return.
    let d11 = sb.tiktok.webhook_data(11, ORDER).expect("topic 11 data");
    assert_eq!(d11["cancel_id"], "4035318504086606001");
    let d12 = sb.tiktok.webhook_data(12, ORDER).expect("topic 12 data");
    assert_eq!(d12["return_id"], "4035318504086606002");
    assert_eq!(d12["return_status"], "RETURN_OR_REFUND_REQUEST_COMPLETE");
}

#[tokio::test]
async fn tiktok_ships_fbt_orders_itself_and_only_those() {
    let sb = spawn_sandbox().await;
    let dir = tempfile::tempdir().unwrap();
    let tt = tiktok_client(&sb, dir.path()).await;
    let fbt = SampleOrderOptions {
        fulfillment_type: "FULFILLMENT_BY_TIKTOK".into(),
        ..SampleOrderOptions::default()
    };
    let lines = [SampleLine::new("CAP-RED", dec!(9.50), 2)];
    sb.tiktok
        .insert_order(sample_order_with(
            FBT_ORDER,
            "AWAITING_SHIPMENT",
            &lines,
            &fbt,
        ))
        .unwrap();
    sb.tiktok
        .insert_order(sample_order(ORDER, "AWAITING_SHIPMENT", &lines))
        .unwrap();

    let (status, _) = control(
        &sb,
        &format!("/_sandbox/tiktok/orders/{ORDER}/ship-by-tiktok"),
        json!({"tracking_number": "TT1"}),
    )
    .await;
    assert_eq!(
        status, 400,
        "a seller-fulfilled order is not TikTok's to ship"
    );
    let (status, shipped) = control(
        &sb,
        &format!("/_sandbox/tiktok/orders/{FBT_ORDER}/ship-by-tiktok"),
        json!({"tracking_number": "TT1"}),
    )
    .await;
    assert_eq!(status, 200, "{shipped}");
    let package = shipped["package_id"].as_str().unwrap().to_string();

    let order = tt
        .get_orders(&[FBT_ORDER.to_string()])
        .await
        .expect("read")
        .remove(0);
    assert_eq!(order.fulfillment_type, Some(FulfillmentType::ByTikTok));
    assert_eq!(order.status, OrderStatus::InTransit);
    assert!(order.line_items.iter().all(|l| {
        l.tracking_number.as_deref() == Some("TT1") && l.package_id.as_deref() == Some(&package)
    }));
    assert_eq!(order.packages.len(), 1);
    // Everything is in a package now: nothing left to ship.
    let (status, _) = control(
        &sb,
        &format!("/_sandbox/tiktok/orders/{FBT_ORDER}/ship-by-tiktok"),
        json!({"tracking_number": "TT2"}),
    )
    .await;
    assert_eq!(status, 400);
}

async fn sales_order(sb: &SandboxHandle, ns: &NetSuiteClient) -> (String, String, String) {
    let customer = sb.netsuite.add_customer(Some("tiktok-buyer:2"), "Buyer");
    let item = sb.netsuite.add_item("AFTER-SALE-CAP");
    let so = json!({
        "entity": {"id": customer},
        "item": {"items": [
            {"item": {"id": item}, "quantity": 2, "rate": 9.5, "custcol_tiktok_sku_id": "77"},
        ]},
    });
    let id = ns
        .upsert("salesOrder", "tiktok-order:after-sale", &so, &["item"])
        .await
        .expect("sales order");
    (id, customer, item)
}

#[tokio::test]
async fn fulfilled_quantities_show_on_sales_order_lines_and_guard_patches() {
    let sb = spawn_sandbox().await;
    let ns = netsuite_client(&sb, 2);
    let (so, _, _) = sales_order(&sb, &ns).await;
    let read = ns.get_transaction("salesOrder", &so).await.expect("read");
    assert!(!read.any_fulfilled());
    assert_eq!(read.lines[0].tiktok_sku_id.as_deref(), Some("77"));
    assert_eq!(read.lines[0].rate, Some(dec!(9.5)));

    ns.transform(
        "salesOrder",
        &so,
        "itemFulfillment",
        &json!({"item": {"items": [{"orderLine": 1, "quantity": 1}]}}),
    )
    .await
    .expect("fulfil one unit");
    let read = ns.get_transaction("salesOrder", &so).await.expect("read");
    assert_eq!(read.lines[0].quantity_fulfilled, dec!(1));

    let mut fields = Map::new();
    fields.insert("quantity".into(), json!(0));
    let below = ns
        .patch_lines("salesOrder", &so, &[LinePatch { line: 1, fields }])
        .await
        .expect_err("below the fulfilled quantity");
    assert!(
        matches!(below, NetSuiteError::InvalidContent { .. }),
        "{below:?}"
    );
    let mut fields = Map::new();
    fields.insert("quantity".into(), json!(1));
    ns.patch_lines("salesOrder", &so, &[LinePatch { line: 1, fields }])
        .await
        .expect("down to the fulfilled quantity is allowed");
}

#[tokio::test]
async fn standalone_credit_memos_and_customer_refunds_check_their_references() {
    let sb = spawn_sandbox().await;
    let ns = netsuite_client(&sb, 2);
    let (_, customer, item) = sales_order(&sb, &ns).await;

    let bad_item = json!({"entity": {"id": customer}, "item": {"items": [{"item": {"id": "99999"}, "quantity": 1}]}});
    let e = ns
        .upsert_return_document("creditMemo", "tiktok-refund:1", &bad_item)
        .await
        .expect_err("unknown item");
    assert!(matches!(e, NetSuiteError::InvalidContent { .. }), "{e:?}");
    let no_lines = json!({"entity": {"id": customer}, "item": {"items": []}});
    assert!(ns
        .upsert_return_document("creditMemo", "tiktok-refund:1", &no_lines)
        .await
        .is_err());
    let good = json!({"entity": {"id": customer}, "item": {"items": [{"item": {"id": item}, "quantity": 1, "rate": 9.5, "amount": 9.5}]}});
    let a = ns
        .upsert_return_document("creditMemo", "tiktok-refund:1", &good)
        .await
        .expect("credit memo");
    let b = ns
        .upsert_return_document("creditMemo", "tiktok-refund:1", &good)
        .await
        .expect("same credit memo");
    assert_eq!(a, b);
    assert_eq!(sb.netsuite.records_of("creditMemo").len(), 1);

    let unknown = json!({"customer": {"id": "424242"}, "total": 9.5});
    let e = ns
        .upsert_return_document("customerRefund", "tiktok-refund:2", &unknown)
        .await
        .expect_err("unknown customer");
    assert!(matches!(e, NetSuiteError::InvalidContent { .. }), "{e:?}");
    let refund = json!({"customer": {"id": customer}, "total": 9.5});
    ns.upsert_return_document("customerRefund", "tiktok-refund:2", &refund)
        .await
        .expect("customer refund");
}

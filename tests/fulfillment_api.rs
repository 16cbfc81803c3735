//! The real TikTok and NetSuite clients against the sandbox over HTTP for fulfillment,
//! cancellations and returns: marking packages shipped with their line items, the
//! already-shipped answer, carriers, cancellation and return searches, NetSuite transforms,
//! item fulfillment reads and line PATCHes.

#[allow(dead_code)]
#[path = "common/sandbox_link.rs"]
mod sandbox_link;

use bridge::netsuite::transactions::LinePatch;
use bridge::netsuite::NetSuiteClient;
use bridge::tiktok::fulfillment::{
    CancellationSearch, MarkShippedRequest, ReturnSearch, ShipOutcome, Tracking,
};
use rust_decimal_macros::dec;
use sandbox::tiktok::{sample_order, SampleLine, DEFAULT_SHIPPING_PROVIDERS};
use sandbox::SandboxHandle;
use sandbox_link::{netsuite_client, spawn_sandbox, tiktok_client};
use serde_json::{json, Map, Value};

const ORDER: &str = "576486316948491001";
const DELIVERY_OPTION: &str = "7091146663229654785";
const USPS: &str = "7117858858072016686";

/// An order of three line items (two of one SKU, one of another), awaiting shipment.
fn place_order(sb: &SandboxHandle) -> Vec<String> {
    let lines = [
        SampleLine::new("TSHIRT-BLK-M", dec!(19.99), 2),
        SampleLine::new("CAP-RED", dec!(9.50), 1),
    ];
    sb.tiktok
        .insert_order(sample_order(ORDER, "AWAITING_SHIPMENT", &lines))
        .expect("order stored");
    (1..=3).map(|n| format!("{ORDER}{n:03}")).collect()
}

fn tracking(number: &str) -> Tracking {
    Tracking {
        tracking_number: number.into(),
        shipping_provider_id: USPS.into(),
    }
}

#[tokio::test]
async fn split_shipment_marks_each_package_with_its_own_lines() {
    let sb = spawn_sandbox().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let tt = tiktok_client(&sb, dir.path()).await;
    let lines = place_order(&sb);

    let first = tt
        .mark_package_shipped(
            ORDER,
            &MarkShippedRequest {
                order_line_item_ids: lines[..2].to_vec(),
                tracking_number: "9400100000000000000001".into(),
                shipping_provider_id: USPS.into(),
            },
        )
        .await
        .expect("first package");
    assert_eq!(
        sb.tiktok.order(ORDER).expect("order")["status"],
        "PARTIALLY_SHIPPING"
    );
    let second = tt
        .mark_package_shipped(
            ORDER,
            &MarkShippedRequest {
                order_line_item_ids: lines[2..].to_vec(),
                tracking_number: "9400100000000000000002".into(),
                shipping_provider_id: USPS.into(),
            },
        )
        .await
        .expect("second package");
    assert_ne!(first.package_id, second.package_id);

    let shipments = sb.tiktok.shipments(ORDER);
    assert_eq!(shipments.len(), 2);
    assert_eq!(shipments[0].order_line_item_ids, lines[..2].to_vec());
    assert_eq!(
        shipments[0].tracking_number.as_deref(),
        Some("9400100000000000000001")
    );
    assert_eq!(shipments[1].order_line_item_ids, lines[2..].to_vec());
    assert_eq!(
        sb.tiktok.order(ORDER).expect("order")["status"],
        "IN_TRANSIT"
    );

    // A line already in a package, and an unknown carrier, are refused.
    let again = tt
        .mark_package_shipped(
            ORDER,
            &MarkShippedRequest {
                order_line_item_ids: lines[..1].to_vec(),
                tracking_number: "X".into(),
                shipping_provider_id: USPS.into(),
            },
        )
        .await;
    assert!(again.is_err());
    assert_eq!(sb.tiktok.shipments(ORDER).len(), 2);
}

#[tokio::test]
async fn on_hold_and_fbt_orders_cannot_be_marked_shipped() {
    let sb = spawn_sandbox().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let tt = tiktok_client(&sb, dir.path()).await;
    let lines = place_order(&sb);
    let req = MarkShippedRequest {
        order_line_item_ids: lines.clone(),
        tracking_number: "9400100000000000000009".into(),
        shipping_provider_id: USPS.into(),
    };
    assert!(sb.tiktok.set_status(ORDER, "ON_HOLD"));
    let held = tt
        .mark_package_shipped(ORDER, &req)
        .await
        .expect_err("held");
    assert!(
        !held.is_retryable(),
        "the flow decides when to retry: {held}"
    );

    let mut fbt = sb.tiktok.order(ORDER).expect("order");
    fbt["status"] = json!("AWAITING_SHIPMENT");
    fbt["fulfillment_type"] = json!("FULFILLMENT_BY_TIKTOK");
    sb.tiktok.insert_order(fbt).expect("stored");
    assert!(tt.mark_package_shipped(ORDER, &req).await.is_err());
    assert!(sb.tiktok.shipments(ORDER).is_empty());
}

#[tokio::test]
async fn shipping_a_package_twice_is_already_shipped_and_tracking_can_change() {
    let sb = spawn_sandbox().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let tt = tiktok_client(&sb, dir.path()).await;
    let lines = place_order(&sb);
    let ids: Vec<&str> = lines.iter().map(String::as_str).collect();
    let package = sb.tiktok.add_package(ORDER, &ids).expect("package");

    let bad = Tracking {
        tracking_number: "1Z".into(),
        shipping_provider_id: "1".into(),
    };
    let err = tt
        .ship_package(&package, &bad, None)
        .await
        .expect_err("unknown provider");
    assert_eq!(err.code(), Some(21_011_022));

    assert_eq!(
        tt.ship_package(&package, &tracking("1Z111"), None)
            .await
            .expect("ship"),
        ShipOutcome::Shipped
    );
    assert_eq!(
        tt.ship_package(&package, &tracking("1Z111"), None)
            .await
            .expect("ship again"),
        ShipOutcome::AlreadyShipped
    );
    let shipped = sb.tiktok.package(&package).expect("package");
    assert!(shipped.shipped);
    assert_eq!(shipped.tracking_updates, 1);

    tt.update_shipping_info(&package, &tracking("1Z222"))
        .await
        .expect("update");
    let updated = sb.tiktok.package(&package).expect("package");
    assert_eq!(updated.tracking_number.as_deref(), Some("1Z222"));
    assert_eq!(
        sb.tiktok.order(ORDER).expect("order")["status"],
        "IN_TRANSIT"
    );
}

#[tokio::test]
async fn providers_come_per_delivery_option() {
    let sb = spawn_sandbox().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let tt = tiktok_client(&sb, dir.path()).await;
    let defaults = tt
        .shipping_providers(DELIVERY_OPTION)
        .await
        .expect("providers");
    assert_eq!(defaults.len(), DEFAULT_SHIPPING_PROVIDERS.len());
    assert!(defaults.iter().any(|p| p.id == USPS && p.name == "USPS"));

    sb.tiktok
        .set_shipping_providers("7091146663229654999", &[("42", "DHL")]);
    let custom = tt
        .shipping_providers("7091146663229654999")
        .await
        .expect("providers");
    assert_eq!(custom.len(), 1);
    assert_eq!(custom[0].name, "DHL");
}

#[tokio::test]
async fn cancellations_and_returns_are_searchable() {
    let sb = spawn_sandbox().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let tt = tiktok_client(&sb, dir.path()).await;
    let lines = place_order(&sb);
    sb.tiktok
        .add_cancellation(json!({
            "cancel_id": "4035244000000001", "order_id": ORDER, "cancel_type": "BUYER_CANCEL",
            "cancel_line_items": [{"order_line_item_id": lines[2]}],
        }))
        .expect("cancellation");
    sb.tiktok
        .add_cancellation(json!({"cancel_id": "4035244000000002", "order_id": "1"}))
        .expect("cancellation");
    sb.tiktok
        .add_return(json!({
            "return_id": "4035244100000001", "order_id": ORDER, "return_type": "REFUND",
            "return_line_items": [{"order_line_item_id": lines[0], "return_line_item_id": "77"}],
        }))
        .expect("return");

    let page = tt
        .search_cancellations(&CancellationSearch {
            order_ids: vec![ORDER.into()],
            page_size: 10,
            ..Default::default()
        })
        .await
        .expect("cancellations");
    assert_eq!(page.cancellations.len(), 1);
    let c = &page.cancellations[0];
    assert_eq!(c.cancel_id, "4035244000000001");
    assert_eq!(c.cancel_line_items[0].order_line_item_id, lines[2]);
    assert_eq!(page.next_page_token, None);

    let all = tt
        .search_cancellations(&CancellationSearch {
            page_size: 1,
            ..Default::default()
        })
        .await
        .expect("cancellations");
    assert_eq!(all.total_count, 2);
    assert!(all.next_page_token.is_some());

    let returns = tt
        .search_returns(&ReturnSearch {
            order_ids: vec![ORDER.into()],
            page_size: 10,
            ..Default::default()
        })
        .await
        .expect("returns");
    assert_eq!(returns.return_orders.len(), 1);
    assert_eq!(returns.return_orders[0].return_type, "REFUND");
    assert_eq!(
        returns.return_orders[0].return_line_items[0]
            .return_line_item_id
            .as_deref(),
        Some("77")
    );
    assert!(sb
        .tiktok
        .set_return_status("4035244100000001", "RETURN_OR_REFUND_REQUEST_COMPLETE"));
    let none = tt
        .search_returns(&ReturnSearch {
            return_status: vec!["RETURN_OR_REFUND_REQUEST_PENDING".into()],
            page_size: 10,
            ..Default::default()
        })
        .await
        .expect("returns");
    assert!(none.return_orders.is_empty());
}

/// A sales order of two lines (2 × TSHIRT, 1 × CAP) in the NetSuite sandbox.
async fn sales_order(sb: &SandboxHandle, ns: &NetSuiteClient) -> String {
    let customer = sb.netsuite.add_customer(Some("tiktok-buyer:1"), "Buyer");
    let shirt = sb.netsuite.add_item("FULFIL-SHIRT");
    let cap = sb.netsuite.add_item("FULFIL-CAP");
    let so = json!({
        "entity": {"id": customer},
        "item": {"items": [
            {"item": {"id": shirt}, "quantity": 2, "rate": 19.99},
            {"item": {"id": cap}, "quantity": 1, "rate": 9.5},
        ]},
    });
    ns.upsert("salesOrder", "tiktok-order:fulfil", &so, &["item"])
        .await
        .expect("sales order")
}

#[tokio::test]
async fn transform_to_item_fulfillment_and_read_it_back() {
    let sb = spawn_sandbox().await;
    let ns = netsuite_client(&sb, 2);
    let so = sales_order(&sb, &ns).await;

    let body = json!({
        "shipMethod": {"id": "7"},
        "item": {"items": [
            {"orderLine": 1, "quantity": 1, "location": {"id": "6"}},
            {"orderLine": 2, "itemReceive": false},
        ]},
        "package": {"items": [{"packageTrackingNumber": "1Z999AA10123456784", "packageWeight": 1.2}]},
    });
    let if_id = ns
        .transform("salesOrder", &so, "itemFulfillment", &body)
        .await
        .expect("transform");
    let f = ns.get_item_fulfillment(&if_id).await.expect("read back");
    assert_eq!(f.id, if_id);
    assert_eq!(
        f.created_from.as_ref().map(|r| r.id.as_str()),
        Some(so.as_str())
    );
    assert!(f.is_shipped());
    assert_eq!(f.ship_method.as_ref().map(|r| r.id.as_str()), Some("7"));
    assert_eq!(f.tracking_numbers(), vec!["1Z999AA10123456784"]);
    assert_eq!(f.lines.len(), 1);
    assert_eq!(f.lines[0].order_line, Some(1));
    assert_eq!(f.lines[0].quantity, 1.0);

    // One shirt remains on line 1: two more is an over-fulfillment.
    let over = json!({"item": {"items": [{"orderLine": 1, "quantity": 2}]}});
    assert!(ns
        .transform("salesOrder", &so, "itemFulfillment", &over)
        .await
        .is_err());

    // A fulfillment made inside NetSuite (the Rust hook) reads the same way.
    let made = sb
        .netsuite
        .create_item_fulfillment(&so, json!({"item": {"items": [{"orderLine": 2}]}}))
        .expect("created");
    let g = ns.get_item_fulfillment(&made).await.expect("read");
    assert_eq!(g.lines[0].order_line, Some(2));
    assert_eq!(
        sb.netsuite
            .records_created_from("itemFulfillment", &so)
            .len(),
        2
    );
}

#[tokio::test]
async fn returns_transform_once_per_external_id() {
    let sb = spawn_sandbox().await;
    let ns = netsuite_client(&sb, 2);
    let so = sales_order(&sb, &ns).await;
    let body = || {
        let mut m = Map::new();
        m.insert(
            "item".into(),
            json!({"items": [{"orderLine": 2, "quantity": 1}]}),
        );
        m
    };
    let ra = ns
        .transform_once(
            "salesOrder",
            &so,
            "returnAuthorization",
            "tiktok-return:1:ra",
            body(),
        )
        .await
        .expect("ra");
    let again = ns
        .transform_once(
            "salesOrder",
            &so,
            "returnAuthorization",
            "tiktok-return:1:ra",
            body(),
        )
        .await
        .expect("ra again");
    assert_eq!(ra, again);
    assert_eq!(sb.netsuite.records_of("returnAuthorization").len(), 1);

    let receipt = |eid: &'static str| {
        let ns = ns.clone();
        let ra = ra.clone();
        async move {
            let mut m = Map::new();
            m.insert("item".into(), json!({"items": [{"orderLine": 1}]}));
            ns.transform_once("returnAuthorization", &ra, "itemReceipt", eid, m)
                .await
        }
    };
    let r1 = receipt("tiktok-return:1:receipt").await.expect("receipt");
    assert_eq!(receipt("tiktok-return:1:receipt").await.expect("same"), r1);
    let cm = ns
        .transform_once(
            "returnAuthorization",
            &ra,
            "creditMemo",
            "tiktok-return:1:cm",
            Map::new(),
        )
        .await
        .expect("credit memo");
    let memo = sb.netsuite.record("creditMemo", &cm).expect("stored");
    assert_eq!(memo["createdFrom"]["id"], Value::String(ra.clone()));
    assert_eq!(sb.netsuite.records_of("itemReceipt").len(), 1);

    // Standalone documents go through upsert by external id.
    let customer = sb.netsuite.add_customer(None, "Other");
    let refund = json!({"entity": {"id": customer}, "memo": "refund-only"});
    let a = ns
        .upsert_return_document("customerRefund", "tiktok-return:2:refund", &refund)
        .await
        .expect("upsert");
    let b = ns
        .upsert_return_document("customerRefund", "tiktok-return:2:refund", &refund)
        .await
        .expect("upsert again");
    assert_eq!(a, b);
    assert!(ns
        .upsert_return_document("itemReceipt", "x", &refund)
        .await
        .is_err());
}

#[tokio::test]
async fn patch_closes_only_the_named_line() {
    let sb = spawn_sandbox().await;
    let ns = netsuite_client(&sb, 2);
    let so = sales_order(&sb, &ns).await;
    ns.patch_lines("salesOrder", &so, &[LinePatch::close(2)])
        .await
        .expect("patch");
    let stored = sb.netsuite.record("salesOrder", &so).expect("so");
    let lines = stored["item"]["items"].as_array().expect("lines");
    assert_eq!(lines.len(), 2, "PATCH with line must not add lines");
    assert_eq!(lines[1]["isclosed"], true);
    assert!(lines[0].get("isclosed").is_none());

    // A closed line can no longer be fulfilled; the open one still can.
    let closed = json!({"item": {"items": [{"orderLine": 2, "quantity": 1}]}});
    assert!(ns
        .transform("salesOrder", &so, "itemFulfillment", &closed)
        .await
        .is_err());
    let whole = ns
        .transform("salesOrder", &so, "itemFulfillment", &json!({}))
        .await
        .expect("open lines");
    let f = ns.get_item_fulfillment(&whole).await.expect("read");
    assert_eq!(f.lines.len(), 1);
    assert_eq!(f.lines[0].quantity, 2.0);

    assert!(ns
        .patch_lines("salesOrder", &so, &[LinePatch::close(9)])
        .await
        .is_err());
}

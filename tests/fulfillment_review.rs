//! F1 after review: what the first version got wrong, end to end against both sandboxes and
//! the machine's Redis. A fulfillment without a ship status (no Pick, Pack and Ship), orders
//! on TikTok's shipping label, a TikTok package split across fulfillments, and many
//! fulfillments of one order at once.

#[allow(dead_code)]
#[path = "common/sandbox_link.rs"]
mod sandbox_link;

mod common;

use bridge::state::ParkReason;
use common::shipping::USPS;
use common::TestApp;
use rust_decimal_macros::dec;
use sandbox::tiktok::fixtures::{SampleLine, SampleOrderOptions};
use serde_json::json;

#[tokio::test]
async fn a_fulfillment_without_ship_status_is_shipped_on_tiktok() {
    let app = TestApp::builder().carrier_map().start().await;
    let order_id = "576486316948492001";
    let a = SampleLine::new("TSHIRT-BLK-M", dec!(19.99), 2);
    app.place_and_sync(order_id, std::slice::from_ref(&a)).await;
    let so = app.sales_order_id(order_id);
    // An account without Pick, Pack and Ship: the fulfillment has no shipStatus at all.
    let fid = app
        .sandbox
        .netsuite
        .create_item_fulfillment(
            &so,
            json!({
                "shipMethod": {"id": "77", "refName": "UPS"},
                "item": {"items": [{"orderLine": app.so_line(order_id, &a), "quantity": 2, "itemReceive": true}]},
                "package": {"items": [{"packageTrackingNumber": "1ZNOSTATUS"}]},
            }),
        )
        .unwrap();
    let record = app
        .sandbox
        .netsuite
        .record("itemFulfillment", &fid)
        .unwrap();
    assert!(record.get("shipStatus").is_none(), "{record:#}");
    // The script's callout for it: `item_fulfillment.shipped` with no ship status.
    let callout = app.shipped_callout(&fid);
    let body: serde_json::Value = serde_json::from_str(&callout.body).unwrap();
    assert!(body["data"]["ship_status"].is_null(), "{body:#}");

    assert_eq!(app.send(&callout).await, 200);
    app.drained().await;
    let calls = app.sandbox.tiktok.accepted_ship_calls(order_id);
    assert_eq!(calls.len(), 1, "{calls:#?}");
    assert_eq!(calls[0].tracking_number, "1ZNOSTATUS");
    assert_eq!(app.job_count("fulfillment_push", "done"), 1);
    app.finish().await;
}

#[tokio::test]
async fn an_order_on_a_tiktok_label_gets_no_seller_tracking() {
    let app = TestApp::builder().carrier_map().start().await;
    let order_id = "576486316948492002";
    let a = SampleLine::new("TSHIRT-BLK-M", dec!(19.99), 1);
    let opts = SampleOrderOptions {
        shipping_type: "TIKTOK".into(),
        ..Default::default()
    };
    app.order_with(
        order_id,
        "AWAITING_SHIPMENT",
        std::slice::from_ref(&a),
        &opts,
    );
    app.sync(order_id).await;
    let fid = app.ship(order_id, &[(&a, 1)], "1ZLABEL", "UPS");
    app.shipped_done(&fid).await;

    // No Mark Package As Shipped, no Ship Package with self_shipment: TikTok's label.
    assert!(app.sandbox.tiktok.ship_calls(order_id).is_empty());
    assert_eq!(app.job_count("fulfillment_push", "skipped"), 1);
    assert_eq!(app.dead().await, 0);
    app.finish().await;
}

#[tokio::test]
async fn a_tiktok_package_split_across_fulfillments_ships_once_the_last_unit_ships() {
    let app = TestApp::builder()
        .carrier_map()
        .unpark_every_second()
        .start()
        .await;
    let order_id = "576486316948492003";
    let x = SampleLine::new("TSHIRT-BLK-M", dec!(19.99), 1);
    let y = SampleLine::new("CAP-RED", dec!(12.50), 1);
    let z = SampleLine::new("HOODIE-GRY-M", dec!(39.00), 1);
    app.place_and_sync(order_id, &[x.clone(), y.clone(), z.clone()])
        .await;
    // TikTok made package P for X and Y at payment; Z is in no package.
    let xs = app.line_ids(order_id, &x.sku_id);
    let ys = app.line_ids(order_id, &y.sku_id);
    let zs = app.line_ids(order_id, &z.sku_id);
    let package = app
        .sandbox
        .tiktok
        .add_package(order_id, &[xs[0].as_str(), ys[0].as_str()])
        .unwrap();

    // The warehouse ships X and Z first: Z goes out, X waits for Y (P ships whole).
    let first = app.ship(order_id, &[(&x, 1), (&z, 1)], "1ZFIRST", "UPS");
    app.shipped_ok(&first).await;
    app.wait_for("first fulfillment waits for the rest of P", || async {
        app.parked_reasons().await.iter().any(|r| {
            matches!(r, ParkReason::FulfillmentIncomplete { fulfillment_id, package_ids, .. }
                if *fulfillment_id == first && package_ids == &vec![package.clone()])
        })
    })
    .await;
    let calls = app.sandbox.tiktok.accepted_ship_calls(order_id);
    assert_eq!(calls.len(), 1, "{calls:#?}");
    assert_eq!(calls[0].endpoint, "mark_package_shipped");
    assert_eq!(calls[0].order_line_item_ids, vec![zs[0].clone()]);
    assert!(!app.sandbox.tiktok.package(&package).unwrap().shipped);

    // The first box's tracking is corrected in NetSuite while it waits: what it shipped (Z)
    // gets the new tracking; X still waits.
    app.sandbox
        .netsuite
        .edit_item_fulfillment(
            &first,
            json!({"package": {"items": [{"packageTrackingNumber": "1ZFIRSTB"}]}}),
        )
        .unwrap();
    let edited = app.fulfillment_callout("item_fulfillment.edited", &first);
    assert_eq!(app.send(&edited).await, 200);
    app.wait_for("Z's tracking updated", || async {
        app.sandbox.tiktok.ship_calls(order_id).len() == 2
    })
    .await;
    let calls = app.sandbox.tiktok.ship_calls(order_id);
    assert_eq!(calls[1].endpoint, "update_shipping_info");
    assert_eq!(calls[1].code, 0);
    assert_eq!(calls[1].tracking_number, "1ZFIRSTB");
    app.wait_for("edited run parked again", || async {
        app.job_count("fulfillment_push", "parked") >= 2
    })
    .await;
    assert!(!app.sandbox.tiktok.package(&package).unwrap().shipped);

    // Then Y: with X carried over, P is whole and ships with this fulfillment's tracking.
    let second = app.ship(order_id, &[(&y, 1)], "1ZSECOND", "UPS");
    app.shipped_ok(&second).await;
    app.wait_for("P shipped", || async {
        app.sandbox.tiktok.package(&package).unwrap().shipped
    })
    .await;
    // The first fulfillment's parked job is released and finishes.
    app.wait_for("nothing parked", || async {
        app.parked_reasons().await.is_empty()
    })
    .await;
    app.drained().await;

    let calls = app.sandbox.tiktok.ship_calls(order_id);
    assert_eq!(calls.len(), 3, "{calls:#?}");
    assert!(calls.iter().all(|c| c.code == 0), "{calls:#?}");
    assert_eq!(calls[2].endpoint, "ship_package");
    assert_eq!(calls[2].package_id.as_deref(), Some(package.as_str()));
    assert_eq!(calls[2].tracking_number, "1ZSECOND");
    let p = app.sandbox.tiktok.package(&package).unwrap();
    assert_eq!(p.tracking_number.as_deref(), Some("1ZSECOND"));
    // Every unit of the order is shipped on TikTok.
    let order = app.sandbox.tiktok.order(order_id).unwrap();
    for li in order["line_items"].as_array().unwrap() {
        assert!(
            !li["tracking_number"].as_str().unwrap_or("").is_empty(),
            "{li:#}"
        );
    }
    // The second fulfillment, then both parked runs of the first once released.
    assert_eq!(app.job_count("fulfillment_push", "done"), 3);
    assert_eq!(app.dead().await, 0);
    assert!(app
        .bridge()
        .state
        .get(&bridge::jobs::fulfillment::carry_key(order_id))
        .await
        .unwrap()
        .is_none());
    // A rerun of the first fulfillment changes nothing on TikTok.
    app.shipped_done(&first).await;
    assert_eq!(app.sandbox.tiktok.ship_calls(order_id).len(), 3);
    app.finish().await;
}

#[tokio::test]
async fn many_fulfillments_of_one_order_wait_for_each_other_without_using_retries() {
    // One attempt: any wait that counted as an attempt would dead-letter the job.
    let app = TestApp::builder()
        .carrier_map()
        .setting("JOB_MAX_ATTEMPTS", "1")
        .start()
        .await;
    let order_id = "576486316948492004";
    let a = SampleLine::new("TSHIRT-BLK-M", dec!(19.99), 5);
    app.place_and_sync(order_id, std::slice::from_ref(&a)).await;
    let so = app.sales_order_id(order_id);
    let line = app.so_line(order_id, &a);
    let fids: Vec<String> = (0..5)
        .map(|i| app.ship_in_netsuite(&so, &[(line, 1)], &format!("1ZBOX{i}"), "UPS"))
        .collect();
    let callouts: Vec<_> = fids.iter().map(|f| app.shipped_callout(f)).collect();
    let sent = futures::future::join_all(callouts.iter().map(|c| app.send(c))).await;
    assert!(sent.iter().all(|s| *s == 200), "{sent:?}");
    app.drained().await;

    assert_eq!(app.dead().await, 0);
    let calls = app.sandbox.tiktok.accepted_ship_calls(order_id);
    assert_eq!(calls.len(), 5, "{calls:#?}");
    let mut tracking: Vec<&str> = calls.iter().map(|c| c.tracking_number.as_str()).collect();
    tracking.sort();
    assert_eq!(
        tracking,
        vec!["1ZBOX0", "1ZBOX1", "1ZBOX2", "1ZBOX3", "1ZBOX4"]
    );
    assert_eq!(app.job_count("fulfillment_push", "done"), 5);
    app.finish().await;
}

/// The TikTok sandbox refuses seller tracking for an order on TikTok's label, through the
/// real client: it is what catches a bridge that pushes it anyway.
#[tokio::test]
async fn the_sandbox_refuses_seller_tracking_on_a_tiktok_label_order() {
    use bridge::tiktok::fulfillment::{MarkShippedRequest, Tracking};
    let sb = sandbox_link::spawn_sandbox().await;
    let dir = tempfile::tempdir().unwrap();
    let tt = sandbox_link::tiktok_client(&sb, dir.path()).await;
    let order_id = "576486316948492005";
    let lines = [SampleLine::new("TSHIRT-BLK-M", dec!(19.99), 2)];
    let label = SampleOrderOptions {
        shipping_type: "TIKTOK".into(),
        ..Default::default()
    };
    sb.tiktok
        .insert_order(sandbox::tiktok::fixtures::sample_order_with(
            order_id,
            "AWAITING_SHIPMENT",
            &lines,
            &label,
        ))
        .unwrap();
    let ids: Vec<String> = (1..=2).map(|n| format!("{order_id}{n:03}")).collect();
    let tracking = Tracking {
        tracking_number: "1ZLABEL".into(),
        shipping_provider_id: USPS.into(),
    };
    let req = MarkShippedRequest {
        order_line_item_ids: ids.clone(),
        tracking_number: tracking.tracking_number.clone(),
        shipping_provider_id: tracking.shipping_provider_id.clone(),
    };
    assert!(tt.mark_package_shipped(order_id, &req).await.is_err());
    let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
    let package = sb.tiktok.add_package(order_id, &refs).unwrap();
    assert!(tt.ship_package(&package, &tracking, None).await.is_err());
    assert!(sb.tiktok.shipments(order_id).iter().all(|p| !p.shipped));

    // The same order with the seller's own carrier ships.
    let mut own = sb.tiktok.order(order_id).unwrap();
    own["shipping_type"] = json!("SELLER");
    sb.tiktok.insert_order(own).unwrap();
    assert!(tt.ship_package(&package, &tracking, None).await.is_ok());
    assert!(sb.tiktok.package(&package).unwrap().shipped);
}

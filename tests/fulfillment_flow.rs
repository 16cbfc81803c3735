//! F1 end to end: an item fulfillment made in the NetSuite sandbox, its signed callout to the
//! real router and workers on the machine's Redis, and what the TikTok sandbox ends up
//! holding (packages, tracking, ship calls).

mod common;

use bridge::state::ParkReason;
use common::shipping::{callout_url, CARRIER_MAP, FEDEX, UPS};
use common::TestApp;
use rust_decimal_macros::dec;
use sandbox::tiktok::fixtures::{SampleLine, SampleOrderOptions};

fn two_skus() -> (SampleLine, SampleLine) {
    (
        SampleLine::new("TSHIRT-BLK-M", dec!(19.99), 2),
        SampleLine::new("CAP-RED", dec!(12.50), 1),
    )
}

#[tokio::test]
async fn a_shipped_callout_becomes_exactly_one_ship_call_with_its_tracking_and_provider() {
    let app = TestApp::builder().carrier_map().start().await;
    let order_id = "576486316948491001";
    let (a, c) = two_skus();
    app.place_and_sync(order_id, &[a.clone(), c.clone()]).await;
    let fid = app.ship(order_id, &[(&a, 2), (&c, 1)], "1Z999AA10123456784", "ups");

    app.shipped_ok(&fid).await;
    app.wait_for_ship_call(order_id, "package shipped on TikTok")
        .await;
    app.drained().await;

    let calls = app.sandbox.tiktok.ship_calls(order_id);
    assert_eq!(calls.len(), 1, "{calls:#?}");
    assert_eq!(calls[0].endpoint, "mark_package_shipped");
    assert_eq!(calls[0].tracking_number, "1Z999AA10123456784");
    assert_eq!(calls[0].shipping_provider_id, UPS);
    let mut expected = app.line_ids(order_id, &a.sku_id);
    expected.extend(app.line_ids(order_id, &c.sku_id));
    let mut sent = calls[0].order_line_item_ids.clone();
    sent.sort();
    expected.sort();
    assert_eq!(sent, expected);
    let packages = app.sandbox.tiktok.shipments(order_id);
    assert_eq!(packages.len(), 1);
    assert!(packages[0].shipped);
    assert_eq!(
        app.sandbox.tiktok.order(order_id).unwrap()["status"],
        "IN_TRANSIT"
    );
    assert_eq!(app.job_count("fulfillment_push", "done"), 1);
    // The order's history names the fulfillment and what TikTok was told.
    let history = bridge::history::read(app.bridge().state.as_ref(), order_id)
        .await
        .unwrap();
    let shipment = history
        .iter()
        .find(|e| e["kind"] == "tiktok_shipment")
        .expect("shipment in history");
    assert_eq!(shipment["fulfillment_id"], fid.as_str());
    assert_eq!(shipment["action"], "mark_shipped");
    assert_eq!(shipment["package_id"], packages[0].package_id.as_str());
    assert!(history
        .iter()
        .any(|e| e["kind"] == "event_received" && e["source"] == "netsuite"));
    app.finish().await;
}

#[tokio::test]
async fn the_same_fulfillment_pushed_again_changes_nothing_on_tiktok() {
    let app = TestApp::builder().carrier_map().start().await;
    let order_id = "576486316948491002";
    let (a, _) = two_skus();
    app.place_and_sync(order_id, std::slice::from_ref(&a)).await;
    let fid = app.ship(order_id, &[(&a, 2)], "1ZSAME", "UPS");

    // The outbox's retries: same webhook-id three times, each signed anew.
    let callout = app.shipped_callout(&fid);
    for _ in 0..3 {
        assert_eq!(app.send(&callout).await, 200);
    }
    app.drained().await;
    // NetSuite edits that change nothing for TikTok: new callouts, new jobs, no call.
    for event in ["item_fulfillment.edited", "item_fulfillment.shipped"] {
        let again = app.fulfillment_callout(event, &fid);
        assert_eq!(app.send(&again).await, 200);
        app.drained().await;
    }

    let calls = app.sandbox.tiktok.ship_calls(order_id);
    assert_eq!(calls.len(), 1, "{calls:#?}");
    assert_eq!(app.sandbox.tiktok.shipments(order_id).len(), 1);
    assert_eq!(app.job_count("fulfillment_push", "done"), 3);
    assert_eq!(app.dead().await, 0);
    app.finish().await;
}

#[tokio::test]
async fn a_split_shipment_ships_each_package_with_its_own_line_items() {
    let app = TestApp::builder().carrier_map().start().await;
    let order_id = "576486316948491003";
    let (a, c) = two_skus();
    app.place_and_sync(order_id, &[a.clone(), c.clone()]).await;
    let so = app.sales_order_id(order_id);
    let (la, lc) = (app.so_line(order_id, &a), app.so_line(order_id, &c));
    let tshirts = app.line_ids(order_id, &a.sku_id);
    let caps = app.line_ids(order_id, &c.sku_id);

    // First box: one t-shirt and the cap, by UPS.
    let first = app.ship_in_netsuite(&so, &[(la, 1), (lc, 1)], "1ZFIRST", "UPS");
    app.shipped_done(&first).await;
    assert_eq!(
        app.sandbox.tiktok.order(order_id).unwrap()["status"],
        "PARTIALLY_SHIPPING"
    );
    // Second box: the other t-shirt, by FedEx.
    let second = app.ship_in_netsuite(&so, &[(la, 1)], "FX-SECOND", "fedex ground");
    app.shipped_done(&second).await;

    let calls = app.sandbox.tiktok.accepted_ship_calls(order_id);
    assert_eq!(calls.len(), 2, "{calls:#?}");
    let packages = app.sandbox.tiktok.shipments(order_id);
    assert_eq!(packages.len(), 2);
    let p1 = &packages[0];
    assert_eq!(p1.tracking_number.as_deref(), Some("1ZFIRST"));
    assert_eq!(p1.shipping_provider_id.as_deref(), Some(UPS));
    assert_eq!(
        p1.order_line_item_ids,
        vec![tshirts[0].clone(), caps[0].clone()]
    );
    let p2 = &packages[1];
    assert_eq!(p2.tracking_number.as_deref(), Some("FX-SECOND"));
    assert_eq!(p2.shipping_provider_id.as_deref(), Some(FEDEX));
    assert_eq!(p2.order_line_item_ids, vec![tshirts[1].clone()]);
    assert_eq!(
        app.sandbox.tiktok.order(order_id).unwrap()["status"],
        "IN_TRANSIT"
    );
    app.finish().await;
}

#[tokio::test]
async fn a_package_tiktok_made_is_shipped_with_self_shipment() {
    let app = TestApp::builder().carrier_map().start().await;
    let order_id = "576486316948491004";
    let (a, _) = two_skus();
    app.place_and_sync(order_id, std::slice::from_ref(&a)).await;
    let units = app.line_ids(order_id, &a.sku_id);
    let ids: Vec<&str> = units.iter().map(String::as_str).collect();
    let package = app.sandbox.tiktok.add_package(order_id, &ids).unwrap();

    let fid = app.ship(order_id, &[(&a, 2)], "1ZPKG", "UPS");
    app.shipped_done(&fid).await;

    let calls = app.sandbox.tiktok.ship_calls(order_id);
    assert_eq!(calls.len(), 1, "{calls:#?}");
    assert_eq!(calls[0].endpoint, "ship_package");
    assert_eq!(calls[0].package_id.as_deref(), Some(package.as_str()));
    assert_eq!(calls[0].code, 0);
    let p = app.sandbox.tiktok.package(&package).unwrap();
    assert!(p.shipped);
    assert_eq!(p.tracking_number.as_deref(), Some("1ZPKG"));
    assert_eq!(p.shipping_provider_id.as_deref(), Some(UPS));
    assert_eq!(app.sandbox.tiktok.shipments(order_id).len(), 1);
    app.finish().await;
}

#[tokio::test]
async fn tracking_edited_after_shipping_becomes_update_shipping_info() {
    let app = TestApp::builder().carrier_map().start().await;
    let order_id = "576486316948491005";
    let (a, _) = two_skus();
    app.place_and_sync(order_id, std::slice::from_ref(&a)).await;
    let fid = app.ship(order_id, &[(&a, 2)], "1ZTYPO", "UPS");
    app.shipped_done(&fid).await;

    app.sandbox
        .netsuite
        .edit_item_fulfillment(
            &fid,
            serde_json::json!({"package": {"items": [{"packageTrackingNumber": "1ZFIXED"}]}}),
        )
        .unwrap();
    let edited = app.fulfillment_callout("item_fulfillment.edited", &fid);
    assert_eq!(app.send(&edited).await, 200);
    app.drained().await;

    let calls = app.sandbox.tiktok.ship_calls(order_id);
    let endpoints: Vec<&str> = calls.iter().map(|c| c.endpoint.as_str()).collect();
    assert_eq!(
        endpoints,
        vec!["mark_package_shipped", "update_shipping_info"],
        "{calls:#?}"
    );
    assert_eq!(calls[1].code, 0);
    let packages = app.sandbox.tiktok.shipments(order_id);
    assert_eq!(packages.len(), 1);
    assert_eq!(packages[0].tracking_number.as_deref(), Some("1ZFIXED"));
    assert_eq!(packages[0].tracking_updates, 2);
    // Once more: the new tracking is what the bridge remembers.
    assert_eq!(app.send(&edited).await, 200);
    let again = app.fulfillment_callout("item_fulfillment.edited", &fid);
    assert_eq!(app.send(&again).await, 200);
    app.drained().await;
    assert_eq!(app.sandbox.tiktok.ship_calls(order_id).len(), 2);
    app.finish().await;
}

#[tokio::test]
async fn an_unknown_carrier_parks_until_the_map_covers_it() {
    const DHL: &str = "7208502187360519982";
    let mut app = TestApp::builder()
        .carrier_map()
        .sandbox(|sb| {
            let mut providers = sandbox::tiktok::DEFAULT_SHIPPING_PROVIDERS.to_vec();
            providers.push((DHL, "DHL eCommerce"));
            sb.tiktok
                .set_shipping_providers("7091146663229654785", &providers);
        })
        .start()
        .await;
    let order_id = "576486316948491006";
    let (a, _) = two_skus();
    app.place_and_sync(order_id, std::slice::from_ref(&a)).await;
    let fid = app.ship(order_id, &[(&a, 2)], "JD0142", "DHL");
    app.shipped_done(&fid).await;
    let reasons = app.parked_reasons().await;
    assert!(
        matches!(&reasons[..], [ParkReason::UnknownCarrier { carrier, rejected_provider_id: None, .. }] if carrier == "DHL"),
        "{reasons:?}"
    );

    // Mapped, but to an id TikTok does not offer for the order: still parked, with the id.
    let wrong = format!("{CARRIER_MAP},dhl=123456");
    app.restart(&[("CARRIER_MAP", &wrong), ("UNPARK_INTERVAL_SECS", "1")])
        .await;
    app.wait_for("parked again with the refused id", || async {
        matches!(&app.parked_reasons().await[..], [ParkReason::UnknownCarrier { rejected_provider_id: Some(id), .. }] if id == "123456")
    })
    .await;
    assert!(app.sandbox.tiktok.ship_calls(order_id).is_empty());

    // A restart with the right mapping releases and ships it.
    let right = format!("{CARRIER_MAP},dhl={DHL}");
    app.restart(&[("CARRIER_MAP", &right), ("UNPARK_INTERVAL_SECS", "1")])
        .await;
    app.wait_for_ship_call(order_id, "shipped once mapped")
        .await;
    app.drained().await;
    let calls = app.sandbox.tiktok.ship_calls(order_id);
    assert_eq!(calls.len(), 1, "{calls:#?}");
    assert_eq!(calls[0].shipping_provider_id, DHL);
    assert!(app.parked_reasons().await.is_empty());
    assert_eq!(app.dead().await, 0);
    app.finish().await;
}

#[tokio::test]
async fn an_order_on_hold_waits_and_ships_after_the_hold() {
    let app = TestApp::builder()
        .carrier_map()
        .unpark_every_second()
        .setting("ON_HOLD_RECHECK_SECS", "1")
        .start()
        .await;
    let order_id = "576486316948491007";
    let (a, _) = two_skus();
    // Paid two hours ago, so the remorse window alone does not hold it any longer.
    let opts = SampleOrderOptions {
        create_time: Some(bridge::queue::now_ms() / 1000 - 7200),
        ..Default::default()
    };
    app.order_with(
        order_id,
        "AWAITING_SHIPMENT",
        std::slice::from_ref(&a),
        &opts,
    );
    app.sync(order_id).await;
    // TikTok puts the order on hold (e.g. a review) before the warehouse ships it.
    assert!(app.sandbox.tiktok.set_status(order_id, "ON_HOLD"));
    let fid = app.ship(order_id, &[(&a, 2)], "1ZHOLD", "UPS");
    app.shipped_ok(&fid).await;

    app.wait_for("parked for the hold", || async {
        app.parked_reasons()
            .await
            .iter()
            .any(|r| matches!(r, ParkReason::OrderOnHold { order_id: o, .. } if o == order_id))
    })
    .await;
    // Released and parked again at least once while the hold lasts, never shipped or failed.
    app.wait_for("rechecked during the hold", || async {
        app.job_count("fulfillment_push", "parked") >= 2
    })
    .await;
    assert!(app.sandbox.tiktok.ship_calls(order_id).is_empty());
    assert_eq!(app.dead().await, 0);

    assert!(app.sandbox.tiktok.set_status(order_id, "AWAITING_SHIPMENT"));
    app.wait_for_ship_call(order_id, "shipped after the hold")
        .await;
    app.wait_for("nothing parked", || async {
        app.parked_reasons().await.is_empty()
    })
    .await;
    app.drained().await;
    assert_eq!(app.sandbox.tiktok.ship_calls(order_id).len(), 1);
    assert_eq!(app.dead().await, 0);
    app.finish().await;
}

#[tokio::test]
async fn an_fbt_order_is_never_shipped_by_the_bridge() {
    let app = TestApp::builder()
        .carrier_map()
        .setting("NETSUITE_FBT_LOCATION_ID", "12")
        .start()
        .await;
    let order_id = "576486316948491008";
    let (a, _) = two_skus();
    app.fbt_order(order_id, std::slice::from_ref(&a));
    app.sync(order_id).await;
    let fid = app.ship(order_id, &[(&a, 2)], "1ZFBT", "UPS");
    app.shipped_done(&fid).await;

    assert!(app.sandbox.tiktok.ship_calls(order_id).is_empty());
    assert!(app.sandbox.tiktok.shipments(order_id).is_empty());
    assert_eq!(app.job_count("fulfillment_push", "skipped"), 1);
    assert_eq!(app.dead().await, 0);
    app.finish().await;
}

#[tokio::test]
async fn a_fulfillment_not_shipped_yet_is_skipped_and_pushed_once_shipped() {
    let app = TestApp::builder().carrier_map().start().await;
    let order_id = "576486316948491009";
    let (a, _) = two_skus();
    app.place_and_sync(order_id, std::slice::from_ref(&a)).await;
    let fid = app.ship(order_id, &[(&a, 2)], "1ZPACK", "UPS");
    app.sandbox
        .netsuite
        .edit_item_fulfillment(&fid, serde_json::json!({"shipStatus": {"id": "B"}}))
        .unwrap();
    let created = app.fulfillment_callout("item_fulfillment.created", &fid);
    assert_eq!(app.send(&created).await, 200);
    app.drained().await;
    assert!(app.sandbox.tiktok.ship_calls(order_id).is_empty());
    assert_eq!(app.job_count("fulfillment_push", "skipped"), 1);

    app.sandbox
        .netsuite
        .edit_item_fulfillment(&fid, serde_json::json!({"shipStatus": {"id": "C"}}))
        .unwrap();
    app.shipped_done(&fid).await;
    assert_eq!(app.sandbox.tiktok.accepted_ship_calls(order_id).len(), 1);
    app.finish().await;
}

#[tokio::test]
async fn a_transient_tiktok_failure_is_retried_into_one_package() {
    use sandbox::tiktok::Fault;
    let app = TestApp::builder().carrier_map().start().await;
    let order_id = "576486316948491010";
    let (a, _) = two_skus();
    app.place_and_sync(order_id, std::slice::from_ref(&a)).await;
    let fid = app.ship(order_id, &[(&a, 2)], "1ZRETRY", "UPS");
    app.sandbox.tiktok.set_fault(Fault::NextCalls {
        path: Some(format!("/fulfillment/202309/orders/{order_id}/packages")),
        count: 2,
        http_status: 500,
        code: 36_009_003,
        message: None,
    });
    app.shipped_ok(&fid).await;
    app.wait_for_ship_call(order_id, "shipped after the failures")
        .await;
    app.drained().await;
    assert_eq!(app.sandbox.tiktok.shipments(order_id).len(), 1);
    assert_eq!(app.sandbox.tiktok.accepted_ship_calls(order_id).len(), 1);
    assert_eq!(app.dead().await, 0);
    app.finish().await;
}

#[tokio::test]
async fn the_sandbox_control_api_drives_the_flow_over_http() {
    let app = TestApp::builder().carrier_map().start().await;
    let order_id = "576486316948491011";
    let (a, _) = two_skus();
    app.place_and_sync(order_id, std::slice::from_ref(&a)).await;
    let so = app.sales_order_id(order_id);
    let line = app.so_line(order_id, &a);
    let http = reqwest::Client::new();
    let base = &app.sandbox.base_url;

    // What a curl user does: make a shipped fulfillment and have NetSuite's script call out.
    let made: serde_json::Value = http
        .post(format!("{base}/_sandbox/netsuite/item-fulfillments"))
        .json(&serde_json::json!({
            "sales_order_id": so,
            "body": {
                "shipStatus": {"id": "C"},
                "shipCarrier": "UPS",
                "item": {"items": [{"orderLine": line, "quantity": 2}]},
                "packageUps": {"items": [{"packageTrackingNumberUps": "1ZCURL"}]},
            },
            "callout_url": callout_url(app.bridge()),
        }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(made["callout"]["status"], 200, "{made}");
    app.drained().await;

    let seen: serde_json::Value = http
        .get(format!("{base}/_sandbox/tiktok/orders/{order_id}/packages"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let packages = seen["packages"].as_array().unwrap();
    assert_eq!(packages.len(), 1, "{seen}");
    assert_eq!(packages[0]["tracking_number"], "1ZCURL");
    assert_eq!(packages[0]["shipping_provider_id"], UPS);
    assert_eq!(seen["ship_calls"].as_array().unwrap().len(), 1);
    // The order detail shows the units in their package, as TikTok's does.
    let order = app.sandbox.tiktok.order(order_id).unwrap();
    for li in order["line_items"].as_array().unwrap() {
        assert_eq!(li["package_id"], packages[0]["package_id"]);
        assert_eq!(li["tracking_number"], "1ZCURL");
    }

    // An edit through the control API: the new tracking reaches TikTok.
    let fid = made["id"].as_str().unwrap();
    let edited: serde_json::Value = http
        .patch(format!("{base}/_sandbox/netsuite/item-fulfillments/{fid}"))
        .json(&serde_json::json!({
            "fields": {"packageUps": {"items": [{"packageTrackingNumberUps": "1ZCURL2"}]}},
            "callout_url": callout_url(app.bridge()),
        }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(edited["callout"]["status"], 200, "{edited}");
    app.drained().await;
    let p = app.sandbox.tiktok.shipments(order_id);
    assert_eq!(p[0].tracking_number.as_deref(), Some("1ZCURL2"));
    app.finish().await;
}

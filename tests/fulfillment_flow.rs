//! F1 end to end: an item fulfillment made in the NetSuite sandbox, its signed callout to the
//! real router and workers on the machine's Redis, and what the TikTok sandbox ends up
//! holding (packages, tracking, ship calls).

mod common;
#[path = "common/fulfillment.rs"]
mod fulfillment_helpers;

use bridge::state::ParkReason;
use common::{eventually, Harness};
use fulfillment_helpers::*;
use rust_decimal_macros::dec;
use sandbox::tiktok::fixtures::{SampleLine, SampleOrderOptions};

fn two_skus() -> (SampleLine, SampleLine) {
    (
        SampleLine::new("TSHIRT-BLK-M", dec!(19.99), 2),
        SampleLine::new("CAP-RED", dec!(12.50), 1),
    )
}

async fn parked_reasons(b: &bridge::app::RunningBridge) -> Vec<ParkReason> {
    b.state
        .parked()
        .await
        .unwrap()
        .into_iter()
        .map(|p| p.reason)
        .collect()
}

#[tokio::test]
async fn a_shipped_callout_becomes_exactly_one_ship_call_with_its_tracking_and_provider() {
    let h = Harness::new().await;
    let b = h.start(&[("CARRIER_MAP", CARRIER_MAP)]).await;
    let order_id = "576486316948491001";
    let (a, c) = two_skus();
    let so = synced_order(&h, &b, order_id, &[a.clone(), c.clone()]).await;
    let fid = fulfill(
        &h,
        &so,
        &[
            (so_line(&h, order_id, &a), 2),
            (so_line(&h, order_id, &c), 1),
        ],
        "1Z999AA10123456784",
        "ups",
    );

    assert_eq!(send(&shipped_callout(&h, &fid), &b).await, 200);
    eventually(WAIT, "package shipped on TikTok", || async {
        !h.sandbox.tiktok.accepted_ship_calls(order_id).is_empty()
    })
    .await;
    drained(&b).await;

    let calls = h.sandbox.tiktok.ship_calls(order_id);
    assert_eq!(calls.len(), 1, "{calls:#?}");
    assert_eq!(calls[0].endpoint, "mark_package_shipped");
    assert_eq!(calls[0].tracking_number, "1Z999AA10123456784");
    assert_eq!(calls[0].shipping_provider_id, UPS);
    let mut expected = line_ids(&h, order_id, &a.sku_id);
    expected.extend(line_ids(&h, order_id, &c.sku_id));
    let mut sent = calls[0].order_line_item_ids.clone();
    sent.sort();
    expected.sort();
    assert_eq!(sent, expected);
    let packages = h.sandbox.tiktok.shipments(order_id);
    assert_eq!(packages.len(), 1);
    assert!(packages[0].shipped);
    assert_eq!(
        h.sandbox.tiktok.order(order_id).unwrap()["status"],
        "IN_TRANSIT"
    );
    assert_eq!(b.metrics.job_count("fulfillment_push", "done"), 1);
    // The order's history names the fulfillment and what TikTok was told.
    let history = bridge::history::read(b.state.as_ref(), order_id)
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
    b.shutdown().await;
    h.cleanup().await;
}

#[tokio::test]
async fn the_same_fulfillment_pushed_again_changes_nothing_on_tiktok() {
    let h = Harness::new().await;
    let b = h.start(&[("CARRIER_MAP", CARRIER_MAP)]).await;
    let order_id = "576486316948491002";
    let (a, _) = two_skus();
    let so = synced_order(&h, &b, order_id, std::slice::from_ref(&a)).await;
    let fid = fulfill(&h, &so, &[(so_line(&h, order_id, &a), 2)], "1ZSAME", "UPS");

    // The outbox's retries: same webhook-id three times, each signed anew.
    let callout = shipped_callout(&h, &fid);
    for _ in 0..3 {
        assert_eq!(send(&callout, &b).await, 200);
    }
    drained(&b).await;
    // NetSuite edits that change nothing for TikTok: new callouts, new jobs, no call.
    for event in ["item_fulfillment.edited", "item_fulfillment.shipped"] {
        let again = h
            .sandbox
            .netsuite
            .item_fulfillment_callout(event, &fid)
            .unwrap();
        assert_eq!(send(&again, &b).await, 200);
        drained(&b).await;
    }

    let calls = h.sandbox.tiktok.ship_calls(order_id);
    assert_eq!(calls.len(), 1, "{calls:#?}");
    assert_eq!(h.sandbox.tiktok.shipments(order_id).len(), 1);
    assert_eq!(b.metrics.job_count("fulfillment_push", "done"), 3);
    assert_eq!(b.queue.stats().await.unwrap().dead, 0);
    b.shutdown().await;
    h.cleanup().await;
}

#[tokio::test]
async fn a_split_shipment_ships_each_package_with_its_own_line_items() {
    let h = Harness::new().await;
    let b = h.start(&[("CARRIER_MAP", CARRIER_MAP)]).await;
    let order_id = "576486316948491003";
    let (a, c) = two_skus();
    let so = synced_order(&h, &b, order_id, &[a.clone(), c.clone()]).await;
    let (la, lc) = (so_line(&h, order_id, &a), so_line(&h, order_id, &c));
    let tshirts = line_ids(&h, order_id, &a.sku_id);
    let caps = line_ids(&h, order_id, &c.sku_id);

    // First box: one t-shirt and the cap, by UPS.
    let first = fulfill(&h, &so, &[(la, 1), (lc, 1)], "1ZFIRST", "UPS");
    assert_eq!(send(&shipped_callout(&h, &first), &b).await, 200);
    drained(&b).await;
    assert_eq!(
        h.sandbox.tiktok.order(order_id).unwrap()["status"],
        "PARTIALLY_SHIPPING"
    );
    // Second box: the other t-shirt, by FedEx.
    let second = fulfill(&h, &so, &[(la, 1)], "FX-SECOND", "fedex ground");
    assert_eq!(send(&shipped_callout(&h, &second), &b).await, 200);
    drained(&b).await;

    let calls = h.sandbox.tiktok.accepted_ship_calls(order_id);
    assert_eq!(calls.len(), 2, "{calls:#?}");
    let packages = h.sandbox.tiktok.shipments(order_id);
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
        h.sandbox.tiktok.order(order_id).unwrap()["status"],
        "IN_TRANSIT"
    );
    b.shutdown().await;
    h.cleanup().await;
}

#[tokio::test]
async fn a_package_tiktok_made_is_shipped_with_self_shipment() {
    let h = Harness::new().await;
    let b = h.start(&[("CARRIER_MAP", CARRIER_MAP)]).await;
    let order_id = "576486316948491004";
    let (a, _) = two_skus();
    let so = synced_order(&h, &b, order_id, std::slice::from_ref(&a)).await;
    let units = line_ids(&h, order_id, &a.sku_id);
    let ids: Vec<&str> = units.iter().map(String::as_str).collect();
    let package = h.sandbox.tiktok.add_package(order_id, &ids).unwrap();

    let fid = fulfill(&h, &so, &[(so_line(&h, order_id, &a), 2)], "1ZPKG", "UPS");
    assert_eq!(send(&shipped_callout(&h, &fid), &b).await, 200);
    drained(&b).await;

    let calls = h.sandbox.tiktok.ship_calls(order_id);
    assert_eq!(calls.len(), 1, "{calls:#?}");
    assert_eq!(calls[0].endpoint, "ship_package");
    assert_eq!(calls[0].package_id.as_deref(), Some(package.as_str()));
    assert_eq!(calls[0].code, 0);
    let p = h.sandbox.tiktok.package(&package).unwrap();
    assert!(p.shipped);
    assert_eq!(p.tracking_number.as_deref(), Some("1ZPKG"));
    assert_eq!(p.shipping_provider_id.as_deref(), Some(UPS));
    assert_eq!(h.sandbox.tiktok.shipments(order_id).len(), 1);
    b.shutdown().await;
    h.cleanup().await;
}

#[tokio::test]
async fn tracking_edited_after_shipping_becomes_update_shipping_info() {
    let h = Harness::new().await;
    let b = h.start(&[("CARRIER_MAP", CARRIER_MAP)]).await;
    let order_id = "576486316948491005";
    let (a, _) = two_skus();
    let so = synced_order(&h, &b, order_id, std::slice::from_ref(&a)).await;
    let fid = fulfill(&h, &so, &[(so_line(&h, order_id, &a), 2)], "1ZTYPO", "UPS");
    assert_eq!(send(&shipped_callout(&h, &fid), &b).await, 200);
    drained(&b).await;

    h.sandbox
        .netsuite
        .edit_item_fulfillment(
            &fid,
            serde_json::json!({"package": {"items": [{"packageTrackingNumber": "1ZFIXED"}]}}),
        )
        .unwrap();
    let edited = h
        .sandbox
        .netsuite
        .item_fulfillment_callout("item_fulfillment.edited", &fid)
        .unwrap();
    assert_eq!(send(&edited, &b).await, 200);
    drained(&b).await;

    let calls = h.sandbox.tiktok.ship_calls(order_id);
    let endpoints: Vec<&str> = calls.iter().map(|c| c.endpoint.as_str()).collect();
    assert_eq!(
        endpoints,
        vec!["mark_package_shipped", "update_shipping_info"],
        "{calls:#?}"
    );
    assert_eq!(calls[1].code, 0);
    let packages = h.sandbox.tiktok.shipments(order_id);
    assert_eq!(packages.len(), 1);
    assert_eq!(packages[0].tracking_number.as_deref(), Some("1ZFIXED"));
    assert_eq!(packages[0].tracking_updates, 2);
    // Once more: the new tracking is what the bridge remembers.
    assert_eq!(send(&edited, &b).await, 200);
    let again = h
        .sandbox
        .netsuite
        .item_fulfillment_callout("item_fulfillment.edited", &fid)
        .unwrap();
    assert_eq!(send(&again, &b).await, 200);
    drained(&b).await;
    assert_eq!(h.sandbox.tiktok.ship_calls(order_id).len(), 2);
    b.shutdown().await;
    h.cleanup().await;
}

#[tokio::test]
async fn an_unknown_carrier_parks_until_the_map_covers_it() {
    let h = Harness::new().await;
    const DHL: &str = "7208502187360519982";
    let mut providers = sandbox::tiktok::DEFAULT_SHIPPING_PROVIDERS.to_vec();
    providers.push((DHL, "DHL eCommerce"));
    h.sandbox
        .tiktok
        .set_shipping_providers("7091146663229654785", &providers);
    let b = h.start(&[("CARRIER_MAP", CARRIER_MAP)]).await;
    let order_id = "576486316948491006";
    let (a, _) = two_skus();
    let so = synced_order(&h, &b, order_id, std::slice::from_ref(&a)).await;
    let fid = fulfill(&h, &so, &[(so_line(&h, order_id, &a), 2)], "JD0142", "DHL");
    assert_eq!(send(&shipped_callout(&h, &fid), &b).await, 200);
    drained(&b).await;
    let reasons = parked_reasons(&b).await;
    assert!(
        matches!(&reasons[..], [ParkReason::UnknownCarrier { carrier, rejected_provider_id: None, .. }] if carrier == "DHL"),
        "{reasons:?}"
    );
    b.shutdown().await;

    // Mapped, but to an id TikTok does not offer for the order: still parked, with the id.
    let wrong = format!("{CARRIER_MAP},dhl=123456");
    let b = h
        .start(&[("CARRIER_MAP", &wrong), ("UNPARK_INTERVAL_SECS", "1")])
        .await;
    eventually(WAIT, "parked again with the refused id", || async {
        matches!(&parked_reasons(&b).await[..], [ParkReason::UnknownCarrier { rejected_provider_id: Some(id), .. }] if id == "123456")
    })
    .await;
    assert!(h.sandbox.tiktok.ship_calls(order_id).is_empty());
    b.shutdown().await;

    // A restart with the right mapping releases and ships it.
    let right = format!("{CARRIER_MAP},dhl={DHL}");
    let b = h
        .start(&[("CARRIER_MAP", &right), ("UNPARK_INTERVAL_SECS", "1")])
        .await;
    eventually(WAIT, "shipped once mapped", || async {
        !h.sandbox.tiktok.accepted_ship_calls(order_id).is_empty()
    })
    .await;
    drained(&b).await;
    let calls = h.sandbox.tiktok.ship_calls(order_id);
    assert_eq!(calls.len(), 1, "{calls:#?}");
    assert_eq!(calls[0].shipping_provider_id, DHL);
    assert!(parked_reasons(&b).await.is_empty());
    assert_eq!(b.queue.stats().await.unwrap().dead, 0);
    b.shutdown().await;
    h.cleanup().await;
}

#[tokio::test]
async fn an_order_on_hold_waits_and_ships_after_the_hold() {
    let h = Harness::new().await;
    let b = h
        .start(&[
            ("CARRIER_MAP", CARRIER_MAP),
            ("UNPARK_INTERVAL_SECS", "1"),
            ("ON_HOLD_RECHECK_SECS", "1"),
        ])
        .await;
    let order_id = "576486316948491007";
    let (a, _) = two_skus();
    // Paid two hours ago, so the remorse window alone does not hold it any longer.
    let opts = SampleOrderOptions {
        create_time: Some(bridge::queue::now_ms() / 1000 - 7200),
        ..Default::default()
    };
    h.order_with(
        order_id,
        "AWAITING_SHIPMENT",
        std::slice::from_ref(&a),
        &opts,
    );
    let so = synced(&h, &b, order_id).await;
    // TikTok puts the order on hold (e.g. a review) before the warehouse ships it.
    assert!(h.sandbox.tiktok.set_status(order_id, "ON_HOLD"));
    let fid = fulfill(&h, &so, &[(so_line(&h, order_id, &a), 2)], "1ZHOLD", "UPS");
    assert_eq!(send(&shipped_callout(&h, &fid), &b).await, 200);

    eventually(WAIT, "parked for the hold", || async {
        parked_reasons(&b)
            .await
            .iter()
            .any(|r| matches!(r, ParkReason::OrderOnHold { order_id: o, .. } if o == order_id))
    })
    .await;
    // Released and parked again at least once while the hold lasts, never shipped or failed.
    eventually(WAIT, "rechecked during the hold", || async {
        b.metrics.job_count("fulfillment_push", "parked") >= 2
    })
    .await;
    assert!(h.sandbox.tiktok.ship_calls(order_id).is_empty());
    assert_eq!(b.queue.stats().await.unwrap().dead, 0);

    assert!(h.sandbox.tiktok.set_status(order_id, "AWAITING_SHIPMENT"));
    eventually(WAIT, "shipped after the hold", || async {
        !h.sandbox.tiktok.accepted_ship_calls(order_id).is_empty()
    })
    .await;
    eventually(WAIT, "nothing parked", || async {
        parked_reasons(&b).await.is_empty()
    })
    .await;
    drained(&b).await;
    assert_eq!(h.sandbox.tiktok.ship_calls(order_id).len(), 1);
    assert_eq!(b.queue.stats().await.unwrap().dead, 0);
    b.shutdown().await;
    h.cleanup().await;
}

#[tokio::test]
async fn an_fbt_order_is_never_shipped_by_the_bridge() {
    let h = Harness::new().await;
    let b = h
        .start(&[
            ("CARRIER_MAP", CARRIER_MAP),
            ("NETSUITE_FBT_LOCATION_ID", "12"),
        ])
        .await;
    let order_id = "576486316948491008";
    let (a, _) = two_skus();
    let opts = SampleOrderOptions {
        fulfillment_type: "FULFILLMENT_BY_TIKTOK".into(),
        ..Default::default()
    };
    h.order_with(
        order_id,
        "AWAITING_SHIPMENT",
        std::slice::from_ref(&a),
        &opts,
    );
    let so = synced(&h, &b, order_id).await;
    let fid = fulfill(&h, &so, &[(so_line(&h, order_id, &a), 2)], "1ZFBT", "UPS");
    assert_eq!(send(&shipped_callout(&h, &fid), &b).await, 200);
    drained(&b).await;

    assert!(h.sandbox.tiktok.ship_calls(order_id).is_empty());
    assert!(h.sandbox.tiktok.shipments(order_id).is_empty());
    assert_eq!(b.metrics.job_count("fulfillment_push", "skipped"), 1);
    assert_eq!(b.queue.stats().await.unwrap().dead, 0);
    b.shutdown().await;
    h.cleanup().await;
}

#[tokio::test]
async fn a_fulfillment_not_shipped_yet_is_skipped_and_pushed_once_shipped() {
    let h = Harness::new().await;
    let b = h.start(&[("CARRIER_MAP", CARRIER_MAP)]).await;
    let order_id = "576486316948491009";
    let (a, _) = two_skus();
    let so = synced_order(&h, &b, order_id, std::slice::from_ref(&a)).await;
    let fid = fulfill(&h, &so, &[(so_line(&h, order_id, &a), 2)], "1ZPACK", "UPS");
    h.sandbox
        .netsuite
        .edit_item_fulfillment(&fid, serde_json::json!({"shipStatus": {"id": "B"}}))
        .unwrap();
    let created = h
        .sandbox
        .netsuite
        .item_fulfillment_callout("item_fulfillment.created", &fid)
        .unwrap();
    assert_eq!(send(&created, &b).await, 200);
    drained(&b).await;
    assert!(h.sandbox.tiktok.ship_calls(order_id).is_empty());
    assert_eq!(b.metrics.job_count("fulfillment_push", "skipped"), 1);

    h.sandbox
        .netsuite
        .edit_item_fulfillment(&fid, serde_json::json!({"shipStatus": {"id": "C"}}))
        .unwrap();
    assert_eq!(send(&shipped_callout(&h, &fid), &b).await, 200);
    drained(&b).await;
    assert_eq!(h.sandbox.tiktok.accepted_ship_calls(order_id).len(), 1);
    b.shutdown().await;
    h.cleanup().await;
}

#[tokio::test]
async fn a_transient_tiktok_failure_is_retried_into_one_package() {
    use sandbox::tiktok::Fault;
    let h = Harness::new().await;
    let b = h.start(&[("CARRIER_MAP", CARRIER_MAP)]).await;
    let order_id = "576486316948491010";
    let (a, _) = two_skus();
    let so = synced_order(&h, &b, order_id, std::slice::from_ref(&a)).await;
    let fid = fulfill(&h, &so, &[(so_line(&h, order_id, &a), 2)], "1ZRETRY", "UPS");
    h.sandbox.tiktok.set_fault(Fault::NextCalls {
        path: Some(format!("/fulfillment/202309/orders/{order_id}/packages")),
        count: 2,
        http_status: 500,
        code: 36_009_003,
        message: None,
    });
    assert_eq!(send(&shipped_callout(&h, &fid), &b).await, 200);
    eventually(WAIT, "shipped after the failures", || async {
        !h.sandbox.tiktok.accepted_ship_calls(order_id).is_empty()
    })
    .await;
    drained(&b).await;
    assert_eq!(h.sandbox.tiktok.shipments(order_id).len(), 1);
    assert_eq!(h.sandbox.tiktok.accepted_ship_calls(order_id).len(), 1);
    assert_eq!(b.queue.stats().await.unwrap().dead, 0);
    b.shutdown().await;
    h.cleanup().await;
}

#[tokio::test]
async fn the_sandbox_control_api_drives_the_flow_over_http() {
    let h = Harness::new().await;
    let b = h.start(&[("CARRIER_MAP", CARRIER_MAP)]).await;
    let order_id = "576486316948491011";
    let (a, _) = two_skus();
    let so = synced_order(&h, &b, order_id, std::slice::from_ref(&a)).await;
    let line = so_line(&h, order_id, &a);
    let http = reqwest::Client::new();
    let base = &h.sandbox.base_url;

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
            "callout_url": callout_url(&b),
        }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(made["callout"]["status"], 200, "{made}");
    drained(&b).await;

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
    let order = h.sandbox.tiktok.order(order_id).unwrap();
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
            "callout_url": callout_url(&b),
        }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(edited["callout"]["status"], 200, "{edited}");
    drained(&b).await;
    let p = h.sandbox.tiktok.shipments(order_id);
    assert_eq!(p[0].tracking_number.as_deref(), Some("1ZCURL2"));
    b.shutdown().await;
    h.cleanup().await;
}

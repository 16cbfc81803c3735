//! F2 end to end: a Fulfilled-by-TikTok order lands on the FBT location, and once TikTok's
//! warehouse ships it the sandbox holds one item fulfillment with TikTok's tracking. The
//! bridge never calls TikTok's fulfillment endpoints for it.

mod common;

use common::app::{cap, tshirt};
use common::records::{dec_of, lines};
use common::TestApp;
use rust_decimal_macros::dec;
use sandbox::tiktok::fixtures::{SampleLine, SampleOrderOptions};
const FBT_LOCATION: &str = "77";

#[tokio::test]
async fn fbt_order_shipped_by_tiktok_becomes_one_item_fulfillment_at_the_fbt_location() {
    let app = TestApp::builder()
        .setting("NETSUITE_FBT_LOCATION_ID", FBT_LOCATION)
        .start()
        .await;
    let oid = "576486316948493001";
    app.fbt_order(oid, &[tshirt(2), cap()]);
    let so = app.sync(oid).await;
    let so_id = so["id"].as_str().unwrap().to_string();
    assert_eq!(so["location"]["id"], FBT_LOCATION);
    assert!(lines(&so)
        .iter()
        .all(|l| l["location"]["id"] == FBT_LOCATION));
    assert!(
        app.sandbox
            .netsuite
            .records_of("itemFulfillment")
            .is_empty(),
        "not shipped yet"
    );

    let package = app
        .sandbox
        .tiktok
        .ship_by_tiktok(oid, "TT0000000001US")
        .expect("TikTok ships it");
    app.webhook_ok(1, oid).await;
    let eid = format!("tiktok-fbt:{oid}:{package}");
    app.wait_for_record("item fulfillment written", "itemFulfillment", &eid)
        .await;
    app.drained().await;

    let f = app.record("itemFulfillment", &eid).unwrap();
    assert_eq!(f["createdFrom"]["id"], so_id.as_str());
    assert_eq!(f["shipStatus"]["id"], "C");
    assert_eq!(
        f["package"]["items"][0]["packageTrackingNumber"],
        "TT0000000001US"
    );
    let f_lines = lines(&f);
    assert_eq!(f_lines.len(), 2, "the two product lines: {f:#}");
    assert!(f_lines.iter().all(|l| l["location"]["id"] == FBT_LOCATION));
    let units: rust_decimal::Decimal = f_lines.iter().map(|l| dec_of(&l["quantity"])).sum();
    assert_eq!(units, dec!(3));

    // Reruns (another status webhook, an address webhook) create nothing new.
    app.webhook_ok(1, oid).await;
    app.webhook_done(3, oid).await;
    assert_eq!(app.count("itemFulfillment"), 1);

    // TikTok shipped it: no merchant fulfillment call was made.
    let fulfillment_calls: Vec<_> = app
        .sandbox
        .tiktok
        .call_counts()
        .into_iter()
        .filter(|(path, _)| path.contains("/fulfillment/"))
        .collect();
    assert!(fulfillment_calls.is_empty(), "{fulfillment_calls:?}");
    app.finish().await;
}

#[tokio::test]
async fn seller_fulfilled_orders_get_no_fulfillment_from_this_flow() {
    let app = TestApp::builder()
        .setting("NETSUITE_FBT_LOCATION_ID", FBT_LOCATION)
        .start()
        .await;
    let oid = "576486316948493002";
    app.order_with(
        oid,
        "IN_TRANSIT",
        &[SampleLine::new("CAP-RED", dec!(12.50), 1)],
        &SampleOrderOptions::default(),
    );
    app.sync(oid).await;
    assert_ne!(
        app.sales_order(oid).unwrap()["location"]["id"],
        FBT_LOCATION
    );
    assert_eq!(app.count("itemFulfillment"), 0);
    app.finish().await;
}

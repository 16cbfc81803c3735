//! F2 end to end: a Fulfilled-by-TikTok order lands on the FBT location, and once TikTok's
//! warehouse ships it the sandbox holds one item fulfillment with TikTok's tracking. The
//! bridge never calls TikTok's fulfillment endpoints for it.

#[path = "common/after_sale.rs"]
mod after_sale;
mod common;

use after_sale::{dec_of, lines};
use common::{eventually, queue_idle, Harness};
use rust_decimal_macros::dec;
use sandbox::tiktok::fixtures::{SampleLine, SampleOrderOptions};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(20);
const FBT_LOCATION: &str = "77";

#[tokio::test]
async fn fbt_order_shipped_by_tiktok_becomes_one_item_fulfillment_at_the_fbt_location() {
    let h = Harness::new().await;
    let b = h.start(&[("NETSUITE_FBT_LOCATION_ID", FBT_LOCATION)]).await;
    let oid = "576486316948493001";
    let opts = SampleOrderOptions {
        fulfillment_type: "FULFILLMENT_BY_TIKTOK".into(),
        ..SampleOrderOptions::default()
    };
    let lines_in = [
        SampleLine::new("TSHIRT-BLK-M", dec!(19.99), 2),
        SampleLine::new("CAP-RED", dec!(12.50), 1),
    ];
    h.order_with(oid, "AWAITING_SHIPMENT", &lines_in, &opts);
    assert_eq!(h.webhook(&b, 1, oid).await, 200);
    eventually(WAIT, "sales order written", || async {
        h.sales_order(oid).is_some()
    })
    .await;
    eventually(WAIT, "queue drained", || queue_idle(b.queue.as_ref())).await;
    let so = h.sales_order(oid).unwrap();
    let so_id = so["id"].as_str().unwrap().to_string();
    assert_eq!(so["location"]["id"], FBT_LOCATION);
    assert!(lines(&so)
        .iter()
        .all(|l| l["location"]["id"] == FBT_LOCATION));
    assert!(
        h.sandbox.netsuite.records_of("itemFulfillment").is_empty(),
        "not shipped yet"
    );

    let package = h
        .sandbox
        .tiktok
        .ship_by_tiktok(oid, "TT0000000001US")
        .expect("TikTok ships it");
    assert_eq!(h.webhook(&b, 1, oid).await, 200);
    let eid = format!("tiktok-fbt:{oid}:{package}");
    eventually(WAIT, "item fulfillment written", || async {
        h.sandbox
            .netsuite
            .record_by_external_id_of("itemFulfillment", &eid)
            .is_some()
    })
    .await;
    eventually(WAIT, "queue drained", || queue_idle(b.queue.as_ref())).await;

    let f = h
        .sandbox
        .netsuite
        .record_by_external_id_of("itemFulfillment", &eid)
        .unwrap();
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
    assert_eq!(h.webhook(&b, 1, oid).await, 200);
    assert_eq!(h.webhook(&b, 3, oid).await, 200);
    eventually(WAIT, "queue drained", || queue_idle(b.queue.as_ref())).await;
    assert_eq!(h.sandbox.netsuite.records_of("itemFulfillment").len(), 1);

    // TikTok shipped it: no merchant fulfillment call was made.
    let fulfillment_calls: Vec<_> = h
        .sandbox
        .tiktok
        .call_counts()
        .into_iter()
        .filter(|(path, _)| path.contains("/fulfillment/"))
        .collect();
    assert!(fulfillment_calls.is_empty(), "{fulfillment_calls:?}");
    b.shutdown().await;
    h.cleanup().await;
}

#[tokio::test]
async fn seller_fulfilled_orders_get_no_fulfillment_from_this_flow() {
    let h = Harness::new().await;
    let b = h.start(&[("NETSUITE_FBT_LOCATION_ID", FBT_LOCATION)]).await;
    let oid = "576486316948493002";
    h.order_with(
        oid,
        "IN_TRANSIT",
        &[SampleLine::new("CAP-RED", dec!(12.50), 1)],
        &SampleOrderOptions::default(),
    );
    assert_eq!(h.webhook(&b, 1, oid).await, 200);
    eventually(WAIT, "sales order written", || async {
        h.sales_order(oid).is_some()
    })
    .await;
    eventually(WAIT, "queue drained", || queue_idle(b.queue.as_ref())).await;
    assert_ne!(h.sales_order(oid).unwrap()["location"]["id"], FBT_LOCATION);
    assert!(h.sandbox.netsuite.records_of("itemFulfillment").is_empty());
    b.shutdown().await;
    h.cleanup().await;
}

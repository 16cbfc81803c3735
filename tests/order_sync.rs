//! O1 end to end: the real router and workers, the machine's Redis, and the sandbox over
//! HTTP. Each test asserts on what NetSuite ended up holding.

mod common;

use common::{eventually, queue_idle, so_total, Harness};
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use sandbox::netsuite::NetSuiteFaults;
use sandbox::tiktok::fixtures::{SampleLine, SampleOrderOptions};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(20);

fn lines_ab() -> Vec<SampleLine> {
    vec![
        SampleLine::new("TSHIRT-BLK-M", dec!(19.99), 3).with_discounts(dec!(2.00), dec!(1.50)),
        SampleLine::new("CAP-RED", dec!(12.50), 1),
    ]
}

fn dec_of(v: &serde_json::Value) -> Decimal {
    v.to_string().trim_matches('"').parse().expect("decimal")
}

#[tokio::test]
async fn one_signed_webhook_becomes_exactly_one_complete_sales_order() {
    let h = Harness::new().await;
    let b = h.start(&[]).await;
    let order = h.order("576486316948490001", &lines_ab());

    assert_eq!(h.webhook(&b, 1, "576486316948490001").await, 200);
    eventually(WAIT, "sales order written", || async {
        h.sales_order("576486316948490001").is_some()
    })
    .await;
    eventually(WAIT, "queue drained", || queue_idle(b.queue.as_ref())).await;

    let so = h.sales_order("576486316948490001").unwrap();
    let all = h.sandbox.netsuite.sales_orders();
    assert_eq!(all.len(), 1, "{all:#?}");
    assert_eq!(so["otherRefNum"], "576486316948490001");
    assert_eq!(so["custbody_tiktok_order_id"], "576486316948490001");
    // Lines: 3 units of one SKU grouped, 1 of the other, then adjustments.
    let items = so["item"]["items"].as_array().unwrap();
    let tshirt = h.item_id("TSHIRT-BLK-M");
    let line = items
        .iter()
        .find(|l| l["item"]["id"] == tshirt.as_str())
        .expect("t-shirt line");
    assert_eq!(dec_of(&line["quantity"]), dec!(3));
    assert_eq!(dec_of(&line["rate"]), dec!(19.99));
    // Revenue at full price; the discounts on their own lines; total equals TikTok's.
    let seller = items
        .iter()
        .find(|l| l["item"]["id"] == h.sandbox.adjustments.seller_discount.as_str())
        .expect("seller discount line");
    assert_eq!(dec_of(&seller["amount"]), dec!(-6.00));
    let total: Decimal = order["payment"]["total_amount"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(so_total(&so), total);
    // Customer upserted per buyer, and the address came along.
    let customer = h
        .sandbox
        .netsuite
        .customer_by_external_id("tiktok-buyer:7494062235146273045")
        .expect("buyer customer");
    assert_eq!(so["entity"]["id"], customer["id"]);
    assert!(so["shippingAddress"]["addr1"].is_string());
    assert_eq!(
        h.sandbox
            .netsuite
            .sales_order_writes("tiktok-order:576486316948490001"),
        1
    );
    assert!(b.metrics.job_count("order_sync", "done") >= 1);
    b.shutdown().await;
    h.cleanup().await;
}

#[tokio::test]
async fn duplicate_webhooks_and_two_racing_replicas_still_make_one_order_each() {
    let h = Harness::new().await;
    let a = h.start(&[("CONSUMER_NAME", "replica-a")]).await;
    let b = h.start(&[("CONSUMER_NAME", "replica-b")]).await;
    let ids: Vec<String> = (0..15).map(|i| format!("5764863169484901{i:02}")).collect();
    for id in &ids {
        h.order(id, &lines_ab());
    }
    let tt = &h.sandbox.tiktok;
    for id in &ids {
        let data = tt.webhook_data(1, id).unwrap();
        let nid = format!("9{id}");
        // The same notification three times (TikTok retrying), to both replicas...
        for target in [&a, &b, &a] {
            let s = tt
                .send_webhook_with_id(&common::webhook_url(target), 1, &nid, data.clone())
                .await
                .unwrap();
            assert_eq!(s.as_u16(), 200);
        }
        // ...and distinct events about the same order, one per replica.
        assert_eq!(h.webhook(&a, 3, id).await, 200);
        assert_eq!(h.webhook(&b, 1, id).await, 200);
    }
    eventually(WAIT, "all orders written", || async {
        ids.iter().all(|id| h.sales_order(id).is_some())
    })
    .await;
    eventually(WAIT, "queue drained", || queue_idle(a.queue.as_ref())).await;
    assert_eq!(h.sandbox.netsuite.sales_orders().len(), ids.len());
    for id in &ids {
        assert_eq!(
            h.sandbox
                .netsuite
                .sales_order_writes(&format!("tiktok-order:{id}")),
            1,
            "order {id} written more than once"
        );
    }
    let dupes: u64 = [&a, &b]
        .iter()
        .map(|r| {
            let text = r.metrics.encode();
            text.lines()
                .filter(|l| l.starts_with("bridge_webhooks_duplicate_total"))
                .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
                .sum::<u64>()
        })
        .sum();
    assert_eq!(
        dupes,
        2 * ids.len() as u64,
        "two of each triple are duplicates"
    );
    a.shutdown().await;
    b.shutdown().await;
    h.cleanup().await;
}

#[tokio::test]
async fn events_out_of_order_end_in_tiktoks_final_state() {
    let h = Harness::new().await;
    let b = h.start(&[]).await;
    let id = "576486316948490201";
    h.order_with(id, "ON_HOLD", &lines_ab(), &SampleOrderOptions::default());
    // Address change and status events while the order is still on hold: nothing to import.
    assert_eq!(h.webhook(&b, 3, id).await, 200);
    assert_eq!(h.webhook(&b, 1, id).await, 200);
    eventually(WAIT, "on-hold events handled", || {
        queue_idle(b.queue.as_ref())
    })
    .await;
    assert!(
        h.sales_order(id).is_none(),
        "on-hold orders are not imported"
    );
    let stale_status = h.sandbox.tiktok.webhook_data(1, id).unwrap();

    // Paid, then the buyer changes the address; events arrive out of order and twice.
    h.sandbox.tiktok.set_status(id, "AWAITING_SHIPMENT");
    let status_event = h.sandbox.tiktok.webhook_data(1, id).unwrap();
    let mut addr = sandbox::tiktok::fixtures::sample_address();
    addr.address_line1 = Some("500 New Street".into());
    h.sandbox.tiktok.set_address(id, &addr);
    let url = common::webhook_url(&b);
    let tt = &h.sandbox.tiktok;
    assert_eq!(h.webhook(&b, 3, id).await, 200);
    tt.send_webhook(&url, 1, status_event.clone())
        .await
        .unwrap();
    tt.send_webhook(&url, 1, stale_status).await.unwrap();
    tt.send_webhook(&url, 1, status_event).await.unwrap();
    eventually(WAIT, "sales order with the new address", || async {
        h.sales_order(id)
            .map(|so| so["shippingAddress"]["addr1"] == "500 New Street")
            .unwrap_or(false)
    })
    .await;
    eventually(WAIT, "queue drained", || queue_idle(b.queue.as_ref())).await;
    assert_eq!(h.sandbox.netsuite.sales_orders().len(), 1);
    b.shutdown().await;
    h.cleanup().await;
}

#[tokio::test]
async fn netsuite_429_storm_then_5xx_then_recovery_lands_every_order_once() {
    let h = Harness::new().await;
    let b = h.start(&[]).await;
    let ids: Vec<String> = (0..20).map(|i| format!("5764863169484903{i:02}")).collect();
    for id in &ids {
        h.order(id, &lines_ab());
    }
    h.sandbox.netsuite.set_faults(NetSuiteFaults {
        throttle_rate: 0.85,
        for_ms: Some(2500),
        ..Default::default()
    });
    for id in &ids {
        assert_eq!(h.webhook(&b, 1, id).await, 200);
    }
    tokio::time::sleep(Duration::from_millis(2500)).await;
    h.sandbox.netsuite.set_faults(NetSuiteFaults {
        server_error_rate: 0.7,
        for_ms: Some(1500),
        ..Default::default()
    });
    tokio::time::sleep(Duration::from_millis(1500)).await;
    h.sandbox.netsuite.clear_faults();
    eventually(Duration::from_secs(40), "every order landed", || async {
        ids.iter().all(|id| h.sales_order(id).is_some())
    })
    .await;
    eventually(WAIT, "queue drained", || queue_idle(b.queue.as_ref())).await;
    assert!(
        h.sandbox.netsuite.throttled() > 0,
        "the storm really happened"
    );
    assert_eq!(h.sandbox.netsuite.sales_orders().len(), ids.len());
    let stats = b.queue.stats().await.unwrap();
    assert_eq!(stats.dead, 0, "no order given up on");
    b.shutdown().await;
    h.cleanup().await;
}

#[tokio::test]
async fn a_worker_killed_mid_job_is_reclaimed_and_the_order_lands_once() {
    let h = Harness::new().await;
    let ingress = h
        .start(&[("BRIDGE_ROLE", "ingress"), ("CONSUMER_NAME", "ingress")])
        .await;
    let doomed = h
        .start(&[("BRIDGE_ROLE", "worker"), ("CONSUMER_NAME", "doomed")])
        .await;
    h.sandbox.netsuite.set_faults(NetSuiteFaults {
        latency_ms: Some(1500),
        ..Default::default()
    });
    let id = "576486316948490401";
    h.order(id, &lines_ab());
    assert_eq!(h.webhook(&ingress, 1, id).await, 200);
    // Kill the worker while its NetSuite call is in flight.
    eventually(WAIT, "worker inside a NetSuite call", || async {
        h.sandbox.netsuite.in_flight() > 0
    })
    .await;
    doomed.kill();
    h.sandbox.netsuite.clear_faults();
    let pending = ingress.queue.stats().await.unwrap().pending;
    assert_eq!(pending, 1, "the killed worker's job stays pending");

    let rescuer = h
        .start(&[("BRIDGE_ROLE", "worker"), ("CONSUMER_NAME", "rescuer")])
        .await;
    eventually(WAIT, "order landed after reclaim", || async {
        h.sales_order(id).is_some()
    })
    .await;
    eventually(WAIT, "queue drained", || queue_idle(ingress.queue.as_ref())).await;
    assert_eq!(h.sandbox.netsuite.sales_orders().len(), 1);
    assert_eq!(ingress.queue.stats().await.unwrap().dead, 0);
    rescuer.shutdown().await;
    ingress.shutdown().await;
    h.cleanup().await;
}

#[tokio::test]
async fn a_permanent_netsuite_error_dead_letters_the_job_with_its_error() {
    let h = Harness::new().await;
    let b = h.start(&[]).await;
    let cap = h.item_id("CAP-RED");
    h.sandbox.netsuite.set_faults(NetSuiteFaults {
        failing_item_ids: vec![cap],
        ..Default::default()
    });
    let id = "576486316948490501";
    h.order(id, &lines_ab());
    assert_eq!(h.webhook(&b, 1, id).await, 200);
    eventually(WAIT, "job dead-lettered", || async {
        b.queue.stats().await.map(|s| s.dead == 1).unwrap_or(false)
    })
    .await;
    let dead = b.queue.dead_letters(10).await.unwrap();
    assert!(
        dead[0]
            .error
            .contains("rejected the record content at item.items"),
        "error kept: {}",
        dead[0].error
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        h.sandbox.netsuite.requests_by("PUT", "salesOrder"),
        1,
        "a permanent error is not retried"
    );
    assert!(h.sales_order(id).is_none());
    b.shutdown().await;
    h.cleanup().await;
}

#[tokio::test]
async fn an_unknown_sku_parks_the_order_until_the_item_exists() {
    let h = Harness::new().await;
    let b = h.start(&[("UNPARK_INTERVAL_SECS", "1")]).await;
    let id = "576486316948490601";
    h.order(id, &[SampleLine::new("NEW-SKU-2026", dec!(30.00), 2)]);
    assert_eq!(h.webhook(&b, 1, id).await, 200);
    let admin = format!("http://{}/admin/parked", b.addr.unwrap());
    let http = reqwest::Client::new();
    eventually(WAIT, "order parked", || async {
        let r = http
            .get(&admin)
            .bearer_auth("test-admin-token-5d2e9a41c7b3f086")
            .send()
            .await
            .unwrap();
        let v: serde_json::Value = r.json().await.unwrap();
        v["parked"][0]["reason"]["skus"][0] == "NEW-SKU-2026"
    })
    .await;
    let metrics = http
        .get(format!("http://{}/metrics", b.addr.unwrap()))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("bridge_parked_jobs{reason=\"unknown_sku\"} 1"),
        "{metrics}"
    );
    assert_eq!(
        http.get(&admin).send().await.unwrap().status(),
        401,
        "admin needs the token"
    );
    assert!(h.sales_order(id).is_none());

    h.sandbox.netsuite.add_item("NEW-SKU-2026");
    eventually(WAIT, "parked order landed", || async {
        h.sales_order(id).is_some()
    })
    .await;
    eventually(WAIT, "nothing parked", || async {
        b.state
            .parked()
            .await
            .map(|p| p.is_empty())
            .unwrap_or(false)
    })
    .await;
    b.shutdown().await;
    h.cleanup().await;
}

#[tokio::test]
async fn the_poller_finds_an_order_whose_webhook_never_came() {
    let h = Harness::new().await;
    let id = "576486316948490701";
    h.order(id, &lines_ab());
    let b = h.start(&[("POLL_INTERVAL_SECS", "1")]).await;
    eventually(WAIT, "polled order landed", || async {
        h.sales_order(id).is_some()
    })
    .await;
    assert!(b.metrics.poller_orders_found.get() >= 1);
    // Later polls overlap the window but do not queue the unchanged order again.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(
        h.sandbox
            .netsuite
            .sales_order_writes(&format!("tiktok-order:{id}")),
        1
    );
    b.shutdown().await;
    h.cleanup().await;
}

#[tokio::test]
async fn oauth2_client_credentials_work_end_to_end() {
    let h = Harness::new().await;
    let key = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/crates/sandbox/src/keys/sandbox-ec-private.pem"
    );
    let cfg = h.sandbox.netsuite.config().clone();
    let b = h
        .start(&[
            ("NETSUITE_AUTH", "oauth2"),
            ("NETSUITE_CLIENT_ID", cfg.client_id.as_str()),
            ("NETSUITE_CERTIFICATE_ID", cfg.certificate_id.as_str()),
            ("NETSUITE_PRIVATE_KEY", key),
        ])
        .await;
    let ids: Vec<String> = (0..5).map(|i| format!("5764863169484908{i:02}")).collect();
    for id in &ids {
        h.order(id, &lines_ab());
        assert_eq!(h.webhook(&b, 1, id).await, 200);
    }
    eventually(WAIT, "orders written with OAuth 2.0", || async {
        ids.iter().all(|id| h.sales_order(id).is_some())
    })
    .await;
    assert_eq!(
        h.sandbox.netsuite.token_requests(),
        1,
        "one token, cached across requests"
    );
    b.shutdown().await;
    h.cleanup().await;
}

#[tokio::test]
async fn a_burst_waiting_in_the_queue_is_read_from_tiktok_in_batches() {
    let h = Harness::new().await;
    let ingress = h
        .start(&[("BRIDGE_ROLE", "ingress"), ("CONSUMER_NAME", "ingress")])
        .await;
    let ids: Vec<String> = (0..40).map(|i| format!("5764863169484909{i:02}")).collect();
    for id in &ids {
        h.order(id, &lines_ab());
        assert_eq!(h.webhook(&ingress, 1, id).await, 200);
    }
    let before = h
        .sandbox
        .tiktok
        .calls(bridge::tiktok::client::GET_ORDER_DETAIL_PATH);
    let worker = h
        .start(&[
            ("BRIDGE_ROLE", "worker"),
            ("CONSUMER_NAME", "worker"),
            ("WORKER_CONCURRENCY", "50"),
        ])
        .await;
    eventually(WAIT, "burst landed", || async {
        ids.iter().all(|id| h.sales_order(id).is_some())
    })
    .await;
    let detail_calls = h
        .sandbox
        .tiktok
        .calls(bridge::tiktok::client::GET_ORDER_DETAIL_PATH)
        - before;
    assert!(detail_calls >= 1, "the counter sees the calls");
    assert!(
        detail_calls <= 4,
        "40 waiting orders should need a handful of Get Order Detail calls, made {detail_calls}"
    );
    worker.shutdown().await;
    ingress.shutdown().await;
    h.cleanup().await;
}

#[tokio::test]
async fn read_ahead_jobs_that_wait_too_long_are_left_to_the_reaper_and_land_once() {
    let h = Harness::new().await;
    let ingress = h
        .start(&[("BRIDGE_ROLE", "ingress"), ("CONSUMER_NAME", "ingress")])
        .await;
    let ids: Vec<String> = (0..4).map(|i| format!("5764863169484911{i:02}")).collect();
    for id in &ids {
        h.order(id, &lines_ab());
        assert_eq!(h.webhook(&ingress, 1, id).await, 200);
    }
    // One slot, NetSuite slower than half the lease: the second job of each read-ahead
    // batch waits past it for a slot, holding its lease, and still runs once.
    h.sandbox.netsuite.set_faults(NetSuiteFaults {
        latency_ms: Some(1000),
        ..Default::default()
    });
    let worker = h
        .start(&[
            ("BRIDGE_ROLE", "worker"),
            ("CONSUMER_NAME", "slow-worker"),
            ("WORKER_CONCURRENCY", "1"),
        ])
        .await;
    eventually(Duration::from_secs(40), "every order landed", || async {
        ids.iter().all(|id| h.sales_order(id).is_some())
    })
    .await;
    eventually(WAIT, "queue drained", || queue_idle(ingress.queue.as_ref())).await;
    for id in &ids {
        assert_eq!(
            h.sandbox
                .netsuite
                .sales_order_writes(&format!("tiktok-order:{id}")),
            1
        );
    }
    assert_eq!(ingress.queue.stats().await.unwrap().dead, 0);
    worker.shutdown().await;
    ingress.shutdown().await;
    h.cleanup().await;
}

#[tokio::test]
async fn an_order_read_older_than_the_last_one_written_never_overwrites_it() {
    // Batched reads wait for a worker slot; a newer read of the same order may be written
    // first. The older read must then change nothing (guarantee 3).
    use bridge::jobs::{order_sync, JobContext, Outcome};
    use std::sync::Arc;
    let h = Harness::new().await;
    let cfg = h.config(&[]);
    let state: Arc<dyn bridge::state::StateStore> = Arc::new(
        bridge::state::redis::RedisState::connect(&common::redis_url(), &h.prefix)
            .await
            .unwrap(),
    );
    let ctx = JobContext {
        state: state.clone(),
        tiktok: bridge::tiktok::client::TikTokClient::new(cfg.tiktok.clone(), state.clone())
            .unwrap(),
        netsuite: bridge::netsuite::client::NetSuiteClient::new(cfg.netsuite.clone()).unwrap(),
        mapping: cfg.mapping.clone(),
        metrics: Arc::new(bridge::metrics::Metrics::new()),
        inventory: bridge::jobs::inventory_push::InventorySync::new(
            cfg.inventory.clone(),
            &cfg.tiktok.shop_id,
            "test",
            Default::default(),
        ),
    };
    let id = "576486316948491201";
    let shop = cfg.tiktok.shop_id.clone();
    h.order(id, &lines_ab());
    let older: bridge::tiktok::models::Order =
        serde_json::from_value(h.sandbox.tiktok.order(id).unwrap()).unwrap();
    let mut addr = sandbox::tiktok::fixtures::sample_address();
    addr.address_line1 = Some("500 New Street".into());
    h.sandbox.tiktok.set_address(id, &addr);

    // The newer read is written first...
    let first = order_sync::run(&ctx, &shop, id, None).await.unwrap();
    assert!(matches!(first, Outcome::Done(_)), "{first:?}");
    // ...then the older read arrives from a batch that waited.
    let second = order_sync::run(&ctx, &shop, id, Some(&older))
        .await
        .unwrap();
    assert!(
        matches!(second, Outcome::Done(ref why) if why.contains("newer")),
        "{second:?}"
    );
    let so = h.sales_order(id).unwrap();
    assert_eq!(so["shippingAddress"]["addr1"], "500 New Street");
    assert_eq!(
        h.sandbox
            .netsuite
            .sales_order_writes(&format!("tiktok-order:{id}")),
        1
    );
    h.cleanup().await;
}

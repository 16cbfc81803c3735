//! Guarantee 5b: TikTok's QPS is a budget of the deployment. Three clients (as three
//! replicas would hold), each allowed TikTok's full 50 QPS on its own, fire a burst at one
//! API path of the sandbox, which answers 429 past 50 calls a second. Sharing the budget in
//! Redis, no call is refused: every client sends each call exactly once (a 429 would show
//! as a second send of the same call).

mod common;

use bridge::state::redis::RedisState;
use bridge::tiktok::client::TikTokClient;
use bridge::tiktok::shared_ratelimit::SharedRateLimiter;
use common::Harness;
use rust_decimal_macros::dec;
use std::sync::Arc;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_replicas_share_one_tiktok_budget_and_draw_no_429() {
    let h = Harness::new().await;
    let id = "576486316948497001";
    h.order(
        id,
        &[sandbox::tiktok::fixtures::SampleLine::new(
            "CAP-RED",
            dec!(12.50),
            1,
        )],
    );
    let cfg = h.config(&[]);
    assert_eq!(cfg.tiktok.qps_per_api, 50);
    let mut clients = Vec::new();
    for _ in 0..3 {
        let state = Arc::new(
            RedisState::connect(&common::redis_url(), &h.prefix)
                .await
                .unwrap(),
        );
        let client = TikTokClient::new(cfg.tiktok.clone(), state).unwrap();
        let shared = SharedRateLimiter::connect(&common::redis_url(), &h.prefix, 50)
            .await
            .unwrap();
        client.share_rate_limit(Arc::new(shared));
        clients.push(client);
    }
    const PER_CLIENT: usize = 40;
    let burst = clients.iter().flat_map(|c| {
        (0..PER_CLIENT).map(move |_| async move { c.get_orders(&[id.to_string()]).await })
    });
    let started = std::time::Instant::now();
    let results = futures::future::join_all(burst).await;
    let took = started.elapsed();
    assert!(results.iter().all(|r| r.is_ok()), "every call answered");
    let sent: u64 = clients
        .iter()
        .map(|c| c.call_counts().values().sum::<u64>())
        .sum();
    let counts: Vec<_> = clients.iter().map(|c| c.call_counts()).collect();
    assert_eq!(
        sent,
        (3 * PER_CLIENT) as u64,
        "each call sent once: no 429 was drawn ({counts:?})"
    );
    eprintln!("120 calls from 3 clients at a shared 50 QPS took {took:?}");
    h.cleanup().await;
}

/// NetSuite's concurrency limit is per account: three clients (three replicas), each
/// allowed the account's whole limit of 5 on its own, draw slots from one semaphore in
/// Redis, so the sandbox (limit 5, answering 429 past it) never refuses one.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_replicas_share_the_netsuite_account_limit_and_draw_no_429() {
    use bridge::netsuite::client::NetSuiteClient;
    use bridge::netsuite::shared_slots::SharedSlots;
    use sandbox::netsuite::NetSuiteFaults;
    let h = Harness::new().await;
    let cfg = h.config(&[("NETSUITE_CONCURRENCY", "5")]);
    let item = h.item_id("CAP-RED");
    h.sandbox.netsuite.set_faults(NetSuiteFaults {
        latency_ms: Some(60),
        ..Default::default()
    });
    let mut clients = Vec::new();
    for _ in 0..3 {
        let client = NetSuiteClient::new(cfg.netsuite.clone()).unwrap();
        let slots = SharedSlots::connect(
            &common::redis_url(),
            &h.prefix,
            &cfg.netsuite.account_id,
            5,
            std::time::Duration::from_secs(120),
        )
        .await
        .unwrap();
        client.share_concurrency(Arc::new(slots));
        clients.push(client);
    }
    let burst = clients.iter().flat_map(|c| {
        let item = item.clone();
        (0..20).map(move |_| {
            let item = item.clone();
            async move { c.get_record("inventoryItem", &item).await }
        })
    });
    let results = futures::future::join_all(burst).await;
    assert!(results.iter().all(|r| r.is_ok()), "every request answered");
    assert_eq!(
        h.sandbox.netsuite.throttled(),
        0,
        "no CONCURRENCY_LIMIT_EXCEEDED"
    );
    assert!(h.sandbox.netsuite.peak_concurrency() <= 5);
    assert_eq!(h.sandbox.netsuite.requests(), 60, "each request sent once");
    h.cleanup().await;
}

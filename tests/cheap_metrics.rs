//! `/metrics` costs the same with 20,000 parked jobs as with none: the parked gauges come
//! from counts kept beside the jobs, never from loading them; and METRICS_BIND_ADDR moves
//! the metrics off the public port.

mod common;

use bridge::queue::{Job, JobEnvelope, SyncTrigger};
use bridge::state::redis::RedisState;
use bridge::state::{ParkReason, ParkedJob, StateStore};
use common::{redis_url, Harness};
use futures::StreamExt;
use std::time::Instant;

const PARKED: usize = 20_000;

fn parked(i: usize, reason: ParkReason) -> ParkedJob {
    ParkedJob {
        envelope: JobEnvelope::new(Job::OrderSync {
            shop_id: "shop".into(),
            order_id: format!("5764863169{i:08}"),
            trigger: SyncTrigger::StatusWebhook,
            update_time: None,
        }),
        reason,
        parked_at_ms: 1,
    }
}

fn unknown_skus(i: usize) -> ParkReason {
    // About 600 bytes a job, as an order with many unknown SKUs parks.
    ParkReason::UnknownSku {
        skus: (0..30)
            .map(|k| format!("UNKNOWN-SKU-{i:06}-{k:03}"))
            .collect(),
    }
}

async fn redis_output_bytes() -> u64 {
    let client = redis::Client::open(redis_url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let info: String = redis::cmd("INFO")
        .arg("stats")
        .query_async(&mut conn)
        .await
        .unwrap();
    info.lines()
        .find_map(|l| l.strip_prefix("total_net_output_bytes:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap()
}

fn gauge(text: &str, reason: &str) -> Option<u64> {
    let prefix = format!("bridge_parked_jobs{{reason=\"{reason}\"}} ");
    text.lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .and_then(|v| v.trim().parse().ok())
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scrapes_read_parked_counts_without_loading_parked_jobs() {
    let h = Harness::new().await;
    let state = RedisState::connect(&redis_url(), &h.prefix).await.unwrap();
    let jobs: Vec<ParkedJob> = (0..PARKED).map(|i| parked(i, unknown_skus(i))).collect();
    futures::stream::iter(jobs.iter())
        .map(|p| state.park(p))
        .buffer_unordered(64)
        .for_each(|r| async { r.unwrap() })
        .await;

    let ops_port = free_port();
    let b = h
        .start(&[
            ("BRIDGE_ROLE", "ingress"),
            ("METRICS_BIND_ADDR", &format!("127.0.0.1:{ops_port}")),
        ])
        .await;
    let http = reqwest::Client::new();
    let main = format!("http://{}", b.addr.unwrap());
    let ops = format!("http://127.0.0.1:{ops_port}");
    assert_eq!(
        http.get(format!("{main}/metrics"))
            .send()
            .await
            .unwrap()
            .status(),
        404,
        "metrics are not on the public port"
    );
    assert_eq!(
        http.get(format!("{main}/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        http.get(format!("{ops}/readyz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );

    let before = redis_output_bytes().await;
    let started = Instant::now();
    let scrapes = (0..20).map(|_| {
        let http = http.clone();
        let url = format!("{ops}/metrics");
        async move { http.get(url).send().await.unwrap().text().await.unwrap() }
    });
    let bodies = futures::future::join_all(scrapes).await;
    let took = started.elapsed();
    let sent = redis_output_bytes().await - before;
    println!(
        "20 parallel scrapes with {PARKED} parked jobs: {:.1} ms, Redis sent {sent} bytes",
        took.as_secs_f64() * 1e3
    );
    for body in &bodies {
        assert_eq!(gauge(body, "unknown_sku"), Some(PARKED as u64), "{body}");
        assert_eq!(gauge(body, "shop_deauthorized"), Some(0));
    }
    // Loading the parked jobs once would send more than 10 MB; counts are a few bytes.
    assert!(sent < 2_000_000, "Redis sent {sent} bytes for 20 scrapes");

    // The counts follow unparking and re-parking under another reason.
    for p in &jobs[..5] {
        assert!(state.unpark(&p.envelope.id).await.unwrap().is_some());
    }
    assert!(state.unpark(&jobs[0].envelope.id).await.unwrap().is_none());
    for p in &jobs[5..8] {
        let mut again = p.clone();
        again.reason = ParkReason::ShopDeauthorized {
            shop_id: "shop".into(),
        };
        state.park(&again).await.unwrap();
    }
    let text = http
        .get(format!("{ops}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(gauge(&text, "unknown_sku"), Some(PARKED as u64 - 8));
    assert_eq!(gauge(&text, "shop_deauthorized"), Some(3));
    b.shutdown().await;

    // Parked jobs written by a version without counts are counted once at start-up.
    let client = redis::Client::open(redis_url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let _: () = redis::cmd("DEL")
        .arg(format!("{{{}}}:parked-counts", h.prefix))
        .arg(format!("{{{}}}:parked-reasons", h.prefix))
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!(state.parked_counts().await.unwrap().is_empty());
    let fresh = RedisState::connect(&redis_url(), &h.prefix).await.unwrap();
    assert_eq!(
        fresh.parked_counts().await.unwrap(),
        vec![
            ("shop_deauthorized".to_string(), 3),
            ("unknown_sku".to_string(), PARKED as u64 - 8)
        ]
    );
    h.cleanup().await;
}

#[tokio::test]
async fn the_embedded_backend_counts_parked_jobs_in_the_database() {
    let dir = tempfile::tempdir().unwrap();
    let state = bridge::state::sqlite::SqliteState::open(dir.path())
        .await
        .unwrap();
    for i in 0..50 {
        state.park(&parked(i, unknown_skus(i))).await.unwrap();
    }
    state
        .park(&parked(
            1_000,
            ParkReason::ShopDeauthorized {
                shop_id: "shop".into(),
            },
        ))
        .await
        .unwrap();
    assert_eq!(
        state.parked_counts().await.unwrap(),
        vec![
            ("shop_deauthorized".to_string(), 1),
            ("unknown_sku".to_string(), 50)
        ]
    );
}

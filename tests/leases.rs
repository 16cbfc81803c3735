//! Guarantee 4 under faults, on both backends: a job that runs far longer than its lease
//! runs once (its worker renews the lease), a second job of the same order waits for it,
//! and a killed worker's job is taken over only once its lease expired, then completes
//! once. Leases are short by configuration (1 s renewal, 2 s expiry) and every NetSuite
//! request takes longer than a whole lease, so an order sync runs 6-10 s: 3-5 times its
//! lease.

mod common;

use bridge::app::RunningBridge;
use bridge::queue::{Job, JobEnvelope, SyncTrigger};
use common::{eventually, queue_idle, Harness};
use rust_decimal_macros::dec;
use sandbox::netsuite::NetSuiteFaults;
use sandbox::tiktok::fixtures::SampleLine;
use std::collections::HashMap;
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(60);
const LEASE: [(&str, &str); 2] = [("JOB_LEASE_MS", "2000"), ("JOB_LEASE_RENEW_MS", "1000")];
/// Longer than a whole lease, for every NetSuite request.
const SLOW_NETSUITE_MS: u64 = 2200;

fn lines() -> Vec<SampleLine> {
    vec![SampleLine::new("CAP-RED", dec!(12.50), 2)]
}

fn with_lease<'a>(extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut all: Vec<(&str, &str)> = LEASE.to_vec();
    all.extend_from_slice(extra);
    all
}

/// `done`/`skipped` runs per job id in the order's history.
async fn finished_runs(b: &RunningBridge, order_id: &str) -> HashMap<String, usize> {
    let mut runs = HashMap::new();
    for e in bridge::history::read(b.state.as_ref(), order_id)
        .await
        .unwrap()
    {
        if e["kind"] == "job_run" && (e["outcome"] == "done" || e["outcome"] == "skipped") {
            *runs
                .entry(e["job_id"].as_str().unwrap_or_default().to_string())
                .or_insert(0) += 1;
        }
    }
    runs
}

fn manual_sync(h: &Harness, order_id: &str) -> JobEnvelope {
    JobEnvelope::new(Job::OrderSync {
        shop_id: h.sandbox.tiktok.config().shop_id.clone(),
        order_id: order_id.into(),
        trigger: SyncTrigger::Manual,
        update_time: None,
    })
}

/// One order sync running ~4 leases long, a second job of the same order queued while it
/// runs, `workers` able to take either: each job finishes once, and NetSuite never sees
/// two requests at once (one would be a copy of the first job, or the second job beside it).
async fn long_job_runs_once_beside_its_order(h: &Harness, front: &RunningBridge) {
    let id = "576486316948495001";
    h.order(id, &lines());
    h.sandbox.netsuite.set_faults(NetSuiteFaults {
        latency_ms: Some(SLOW_NETSUITE_MS),
        ..Default::default()
    });
    assert_eq!(h.webhook(front, 1, id).await, 200);
    eventually(WAIT, "first job inside NetSuite", || async {
        h.sandbox.netsuite.in_flight() > 0
    })
    .await;
    h.sandbox.netsuite.reset_peak_concurrency();
    let started = Instant::now();
    front.queue.enqueue(&manual_sync(h, id)).await.unwrap();
    eventually(WAIT, "both jobs finished", || async {
        finished_runs(front, id).await.len() == 2 && queue_idle(front.queue.as_ref()).await
    })
    .await;
    assert!(
        started.elapsed() > Duration::from_secs(4),
        "the first job really ran for several leases ({:?})",
        started.elapsed()
    );
    let runs = finished_runs(front, id).await;
    assert!(
        runs.values().all(|n| *n == 1),
        "each job finished once: {runs:?}"
    );
    assert_eq!(
        h.sandbox.netsuite.peak_concurrency(),
        1,
        "no copy of the running job and no second job of the order ran beside it"
    );
    assert_eq!(h.sandbox.netsuite.sales_orders().len(), 1);
    assert_eq!(front.queue.stats().await.unwrap().dead, 0);
    h.sandbox.netsuite.clear_faults();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn on_redis_a_job_four_leases_long_runs_once_and_its_order_waits_for_it() {
    let h = Harness::new().await;
    let ingress = h
        .start(&with_lease(&[
            ("BRIDGE_ROLE", "ingress"),
            ("CONSUMER_NAME", "ingress"),
        ]))
        .await;
    let w1 = h
        .start(&with_lease(&[
            ("BRIDGE_ROLE", "worker"),
            ("CONSUMER_NAME", "w1"),
        ]))
        .await;
    let w2 = h
        .start(&with_lease(&[
            ("BRIDGE_ROLE", "worker"),
            ("CONSUMER_NAME", "w2"),
        ]))
        .await;
    long_job_runs_once_beside_its_order(&h, &ingress).await;
    w1.shutdown().await;
    w2.shutdown().await;
    ingress.shutdown().await;
    h.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn on_sqlite_a_job_four_leases_long_runs_once_and_its_order_waits_for_it() {
    let h = Harness::new().await;
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().display().to_string();
    let b = h
        .start(&with_lease(&[("REDIS_URL", ""), ("DATA_DIR", &data_dir)]))
        .await;
    long_job_runs_once_beside_its_order(&h, &b).await;
    b.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn on_redis_a_killed_workers_job_is_taken_over_after_its_lease_and_completes_once() {
    let h = Harness::new().await;
    let ingress = h
        .start(&with_lease(&[
            ("BRIDGE_ROLE", "ingress"),
            ("CONSUMER_NAME", "ingress"),
        ]))
        .await;
    let doomed = h
        .start(&with_lease(&[
            ("BRIDGE_ROLE", "worker"),
            ("CONSUMER_NAME", "doomed"),
        ]))
        .await;
    let id = "576486316948495101";
    h.order(id, &lines());
    h.sandbox.netsuite.set_faults(NetSuiteFaults {
        latency_ms: Some(SLOW_NETSUITE_MS),
        ..Default::default()
    });
    assert_eq!(h.webhook(&ingress, 1, id).await, 200);
    eventually(WAIT, "worker inside a NetSuite call", || async {
        h.sandbox.netsuite.in_flight() > 0
    })
    .await;
    // The rescuer is up before the kill: it must not take the job while its lease lives.
    let rescuer = h
        .start(&with_lease(&[
            ("BRIDGE_ROLE", "worker"),
            ("CONSUMER_NAME", "rescuer"),
        ]))
        .await;
    tokio::time::sleep(Duration::from_millis(3000)).await;
    let before_kill = h.sandbox.netsuite.requests();
    assert_eq!(
        h.sandbox.netsuite.peak_concurrency(),
        1,
        "a live worker's job is not taken over"
    );
    doomed.kill();
    h.sandbox.netsuite.clear_faults();
    // Its last renewal was at most 1 s before the kill: no takeover for another second.
    tokio::time::sleep(Duration::from_millis(900)).await;
    assert_eq!(
        h.sandbox.netsuite.requests(),
        before_kill,
        "taken over before its lease expired"
    );
    eventually(WAIT, "order landed after takeover", || async {
        h.sales_order(id).is_some()
    })
    .await;
    eventually(WAIT, "queue drained", || queue_idle(ingress.queue.as_ref())).await;
    let runs = finished_runs(&ingress, id).await;
    assert_eq!(runs.len(), 1, "one job: {runs:?}");
    assert!(runs.values().all(|n| *n == 1), "completed once: {runs:?}");
    assert_eq!(h.sandbox.netsuite.sales_orders().len(), 1);
    assert_eq!(ingress.queue.stats().await.unwrap().dead, 0);
    rescuer.shutdown().await;
    ingress.shutdown().await;
    h.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn on_sqlite_a_killed_workers_job_is_taken_over_after_its_lease_and_completes_once() {
    let h = Harness::new().await;
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().display().to_string();
    let settings = with_lease(&[("REDIS_URL", ""), ("DATA_DIR", &data_dir)]);
    let doomed = h.start(&settings).await;
    let id = "576486316948495201";
    h.order(id, &lines());
    h.sandbox.netsuite.set_faults(NetSuiteFaults {
        latency_ms: Some(SLOW_NETSUITE_MS),
        ..Default::default()
    });
    assert_eq!(h.webhook(&doomed, 1, id).await, 200);
    eventually(WAIT, "worker inside a NetSuite call", || async {
        h.sandbox.netsuite.in_flight() > 0
    })
    .await;
    // Several leases long: the worker's own reclaim must not run its job a second time.
    tokio::time::sleep(Duration::from_millis(3000)).await;
    assert_eq!(h.sandbox.netsuite.peak_concurrency(), 1);
    let before_kill = h.sandbox.netsuite.requests();
    doomed.kill();
    let killed_at = Instant::now();
    h.sandbox.netsuite.clear_faults();
    // The embedded database allows one process: start again on the same DATA_DIR as soon
    // as the killed one let go of it.
    let started = tokio::time::timeout(WAIT, async {
        loop {
            let cfg = h.config(&settings);
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            match bridge::app::start(cfg, Some(listener)).await {
                Ok(b) => return b,
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
    })
    .await
    .expect("restart on the same DATA_DIR");
    // Its last renewal was at most 1 s before the kill: no takeover for another second.
    tokio::time::sleep(Duration::from_millis(900).saturating_sub(killed_at.elapsed())).await;
    assert_eq!(
        h.sandbox.netsuite.requests(),
        before_kill,
        "taken over before its lease expired"
    );
    eventually(WAIT, "order landed after takeover", || async {
        h.sales_order(id).is_some()
    })
    .await;
    eventually(WAIT, "queue drained", || queue_idle(started.queue.as_ref())).await;
    let runs = finished_runs(&started, id).await;
    assert_eq!(runs.len(), 1, "one job: {runs:?}");
    assert!(runs.values().all(|n| *n == 1), "completed once: {runs:?}");
    assert_eq!(h.sandbox.netsuite.sales_orders().len(), 1);
    started.shutdown().await;
}

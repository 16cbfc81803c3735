//! Guarantee 5 under a NetSuite outage: three worker replicas, orders arriving all through
//! an outage that outlasts the old retry schedule several times over (timings scaled down
//! by configuration: a 50 ms-800 ms backoff would have given up after ~8 s of a 14 s
//! outage). Every order lands by itself after recovery, nothing is dead-lettered, and no
//! job spends more than one attempt on the outage: the breakers hold them instead.

mod common;

use common::{eventually, queue_idle, Harness};
use rust_decimal_macros::dec;
use sandbox::netsuite::NetSuiteFaults;
use sandbox::tiktok::fixtures::SampleLine;
use std::time::{Duration, Instant};

const SETTINGS: [(&str, &str); 6] = [
    ("JOB_MAX_ATTEMPTS", "0"),
    ("JOB_RETRY_BASE_MS", "50"),
    ("JOB_RETRY_MAX_MS", "800"),
    ("JOB_RETRY_HORIZON_SECS", "120"),
    ("BREAKER_FAILURES", "3"),
    ("BREAKER_OPEN_MS", "500"),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_netsuite_outage_longer_than_the_retry_schedule_dead_letters_nothing() {
    let h = Harness::new().await;
    let with = |extra: &[(&'static str, &'static str)]| {
        let mut all = SETTINGS.to_vec();
        all.extend_from_slice(extra);
        all
    };
    let ingress = h
        .start(&with(&[
            ("BRIDGE_ROLE", "ingress"),
            ("CONSUMER_NAME", "ingress"),
        ]))
        .await;
    let mut workers = Vec::new();
    for name in ["w1", "w2", "w3"] {
        workers.push(
            h.start(&with(&[("BRIDGE_ROLE", "worker"), ("CONSUMER_NAME", name)]))
                .await,
        );
    }
    h.sandbox.netsuite.set_faults(NetSuiteFaults {
        outage: true,
        ..Default::default()
    });
    let outage_began = Instant::now();
    let ids: Vec<String> = (0..30).map(|i| format!("5764863169484960{i:02}")).collect();
    // Orders arrive through the first 9 s of the outage.
    for id in &ids {
        h.order(id, &[SampleLine::new("CAP-RED", dec!(12.50), 1)]);
        assert_eq!(h.webhook(&ingress, 1, id).await, 200);
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    tokio::time::sleep(Duration::from_secs(14).saturating_sub(outage_began.elapsed())).await;
    assert!(h.sandbox.netsuite.sales_orders().is_empty());
    let requests_in_outage = h.sandbox.netsuite.requests();
    let readyz = reqwest::get(format!(
        "http://{}/readyz",
        ingress.addr.expect("ingress runs")
    ))
    .await
    .unwrap();
    assert_eq!(
        readyz.status(),
        200,
        "ingress stays ready during the outage"
    );
    let open: usize = workers
        .iter()
        .map(|w| w.metrics.breakers_open.lock().len())
        .sum();
    assert!(open >= 1, "the outage opened breakers");
    assert_eq!(
        ingress.queue.stats().await.unwrap().dead,
        0,
        "nothing dead-lettered during the outage"
    );

    h.sandbox.netsuite.clear_faults();
    let recovered = Instant::now();
    eventually(
        Duration::from_secs(10),
        "first sales order after recovery",
        || async { !h.sandbox.netsuite.sales_orders().is_empty() },
    )
    .await;
    let first_after = recovered.elapsed();
    eventually(Duration::from_secs(60), "every order landed", || async {
        ids.iter().all(|id| h.sales_order(id).is_some())
    })
    .await;
    eventually(Duration::from_secs(30), "queue drained", || {
        queue_idle(ingress.queue.as_ref())
    })
    .await;
    let stats = ingress.queue.stats().await.unwrap();
    assert_eq!(stats.dead, 0, "no dead letters");
    assert_eq!(h.sandbox.netsuite.sales_orders().len(), ids.len());
    // Attempts: the run that finished each job says which attempt it was.
    for id in &ids {
        let history = bridge::history::read(ingress.state.as_ref(), id)
            .await
            .unwrap();
        let done: Vec<_> = history
            .iter()
            .filter(|e| e["kind"] == "job_run" && e["outcome"] == "done")
            .collect();
        assert_eq!(done.len(), 1, "order {id} synced once: {history:#?}");
        let attempt = done[0]["attempt"].as_u64().unwrap();
        assert!(
            attempt <= 2,
            "order {id} spent {} attempts on the outage",
            attempt - 1
        );
    }
    for w in &workers {
        assert!(
            w.metrics.breakers_open.lock().is_empty(),
            "breakers closed again"
        );
    }
    eprintln!(
        "outage: {} NetSuite requests in 14 s for {} orders (breakers holding); first sales \
         order {:?} after recovery",
        requests_in_outage,
        ids.len(),
        first_after
    );
    for w in workers {
        w.shutdown().await;
    }
    ingress.shutdown().await;
    h.cleanup().await;
}

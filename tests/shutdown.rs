//! Guarantee 4, shutdown half: SIGTERM to the real binary during a burst stops it taking
//! work, lets in-flight jobs finish, and exits 0; every acknowledged webhook is either a
//! sales order or still on the queue, and a second process finishes the rest, each order
//! written once. The sandbox runs in this process with NetSuite at 500 ms per request so
//! jobs are in flight when the signal lands.

mod common;

use bridge::queue::redis::RedisQueue;
use bridge::queue::{JobEnvelope, JobQueue};
use common::{eventually, redis_url, Harness};
use redis::AsyncCommands;
use rust_decimal_macros::dec;
use sandbox::netsuite::NetSuiteFaults;
use sandbox::tiktok::fixtures::SampleLine;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::process::{Child, Command};

const ORDERS: usize = 30;

struct Replica {
    child: Child,
    addr: String,
    log: PathBuf,
}

impl Replica {
    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

fn spare_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// `serve` configured by environment only, as a deployment runs it.
async fn start_replica(h: &Harness, consumer: &str, log: &Path) -> Replica {
    let addr = format!("127.0.0.1:{}", spare_port());
    let out = std::fs::File::create(log).expect("log file");
    let err = out.try_clone().expect("log file");
    let child = Command::new(env!("CARGO_BIN_EXE_tiktok-netsuite-bridge"))
        .arg("serve")
        .envs(&h.settings)
        .env("BIND_ADDR", &addr)
        .env("CONSUMER_NAME", consumer)
        .env("SHUTDOWN_GRACE_SECS", "30")
        // Reclaiming is the crash path; this test is about the graceful one.
        .env("JOB_RECLAIM_IDLE_MS", "60000")
        .env("RUST_LOG", "info")
        .stdout(out)
        .stderr(err)
        .kill_on_drop(true)
        .spawn()
        .expect("bridge binary starts");
    let replica = Replica {
        child,
        addr,
        log: log.to_path_buf(),
    };
    let ready = format!("http://{}/readyz", replica.addr);
    eventually(Duration::from_secs(20), "replica ready", || async {
        reqwest::get(&ready)
            .await
            .map(|r| r.status() == 200)
            .unwrap_or(false)
    })
    .await;
    replica
}

/// SIGTERM, as Kubernetes and compose send it; then wait for the exit status.
async fn terminate(replica: &mut Replica) -> std::process::ExitStatus {
    let pid = replica.child.id().expect("still running");
    let sent = std::process::Command::new("kill")
        .arg("-TERM")
        .arg(pid.to_string())
        .status()
        .expect("kill runs");
    assert!(sent.success());
    tokio::time::timeout(Duration::from_secs(45), replica.child.wait())
        .await
        .unwrap_or_else(|_| panic!("no exit after SIGTERM; log:\n{}", replica.log()))
        .expect("exit status")
}

/// Order ids of the jobs still queued: on the stream (waiting or pending) or delayed.
async fn queued_orders(conn: &mut redis::aio::MultiplexedConnection, prefix: &str) -> Vec<String> {
    let stream: redis::streams::StreamRangeReply = conn
        .xrange_all(format!("{{{prefix}}}:jobs"))
        .await
        .expect("XRANGE");
    let delayed: Vec<String> = conn
        .zrange(format!("{{{prefix}}}:delayed"), 0, -1)
        .await
        .expect("ZRANGE");
    let from_stream = stream.ids.iter().filter_map(|e| match e.map.get("job") {
        Some(redis::Value::BulkString(b)) => Some(String::from_utf8_lossy(b).into_owned()),
        _ => None,
    });
    from_stream
        .chain(delayed)
        .filter_map(|json| serde_json::from_str::<JobEnvelope>(&json).ok())
        .filter_map(|env| env.job.order_id().map(str::to_string))
        .collect()
}

/// Order ids of the stream entries `ids`; entries acked meanwhile are gone and skipped.
async fn orders_of_entries(
    conn: &mut redis::aio::MultiplexedConnection,
    prefix: &str,
    ids: &[String],
) -> Vec<String> {
    let mut out = Vec::new();
    for id in ids {
        let reply: redis::streams::StreamRangeReply = conn
            .xrange(format!("{{{prefix}}}:jobs"), id, id)
            .await
            .expect("XRANGE");
        for e in reply.ids {
            if let Some(redis::Value::BulkString(b)) = e.map.get("job") {
                if let Ok(env) = serde_json::from_slice::<JobEnvelope>(b) {
                    if let Some(order_id) = env.job.order_id() {
                        out.push(order_id.to_string());
                    }
                }
            }
        }
    }
    out
}

#[tokio::test]
async fn sigterm_during_a_burst_finishes_in_flight_jobs_and_loses_nothing() {
    let h = Harness::new().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let queue = RedisQueue::connect(&redis_url(), &h.prefix)
        .await
        .expect("redis");
    let mut conn = redis::Client::open(redis_url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .expect("redis");
    let ids: Vec<String> = (0..ORDERS)
        .map(|i| format!("5764863169484930{i:02}"))
        .collect();
    let lines = [
        SampleLine::new("TSHIRT-BLK-M", dec!(19.99), 2),
        SampleLine::new("CAP-RED", dec!(12.50), 1),
    ];
    for id in &ids {
        h.order(id, &lines);
    }
    h.sandbox.netsuite.set_faults(NetSuiteFaults {
        latency_ms: Some(500),
        ..Default::default()
    });

    let mut first = start_replica(&h, "shutdown-first", &dir.path().join("first.log")).await;
    let url = format!("http://{}/webhooks/tiktok", first.addr);
    let tt = &h.sandbox.tiktok;
    let answers = futures::future::join_all(ids.iter().map(|id| {
        let data = tt.webhook_data(1, id).expect("order exists");
        tt.send_webhook(&url, 1, data)
    }))
    .await;
    let acked: Vec<&String> = ids
        .iter()
        .zip(&answers)
        .filter(|(_, a)| a.as_ref().map(|s| s.as_u16() == 200).unwrap_or(false))
        .map(|(id, _)| id)
        .collect();
    assert_eq!(
        acked.len(),
        ORDERS,
        "every webhook acknowledged: {answers:?}"
    );

    // Mid-burst: some orders written, NetSuite calls in flight, the rest still queued.
    eventually(Duration::from_secs(20), "burst under way", || async {
        !h.sandbox.netsuite.sales_orders().is_empty() && h.sandbox.netsuite.in_flight() > 0
    })
    .await;
    let pending: Vec<String> = queue
        .pending_for("shutdown-first", 100)
        .await
        .expect("XPENDING")
        .into_iter()
        .map(|p| p.message_id)
        .collect();
    let in_flight = orders_of_entries(&mut conn, &h.prefix, &pending).await;
    let status = terminate(&mut first).await;
    let log = first.log();
    assert!(status.success(), "exit after SIGTERM: {status:?}\n{log}");
    assert!(!in_flight.is_empty(), "jobs were in flight at SIGTERM");
    assert!(
        log.contains("worker draining") && log.contains("worker stopped"),
        "{log}"
    );

    // In-flight jobs finished: their sales orders were written and nothing is left pending
    // on the stopped consumer.
    for id in &in_flight {
        assert!(
            h.sales_order(id).is_some(),
            "order {id} was in flight at SIGTERM and did not finish\n{log}"
        );
    }
    assert_eq!(h.sandbox.netsuite.in_flight(), 0);
    let left_pending = queue.pending_for("shutdown-first", 100).await.unwrap();
    assert!(left_pending.is_empty(), "{left_pending:?}");

    // Nothing lost: every acknowledged order is in NetSuite or still queued.
    let queued: BTreeSet<String> = queued_orders(&mut conn, &h.prefix)
        .await
        .into_iter()
        .collect();
    let written: BTreeSet<String> = ids
        .iter()
        .filter(|id| h.sales_order(id).is_some())
        .cloned()
        .collect();
    for id in &acked {
        assert!(
            written.contains(*id) || queued.contains(*id),
            "order {id} was acknowledged but is neither written nor queued"
        );
    }
    eprintln!(
        "at SIGTERM {} jobs in flight; after exit {} orders written, {} still queued",
        in_flight.len(),
        written.len(),
        queued.len()
    );
    assert!(
        !queued.is_empty(),
        "SIGTERM came mid-burst, so work was left for the next replica"
    );
    assert_eq!(queue.stats().await.unwrap().dead, 0);

    // A second process on the same prefix finishes the rest, each order written once.
    h.sandbox.netsuite.clear_faults();
    let mut second = start_replica(&h, "shutdown-second", &dir.path().join("second.log")).await;
    eventually(Duration::from_secs(30), "every order landed", || async {
        ids.iter().all(|id| h.sales_order(id).is_some())
    })
    .await;
    eventually(Duration::from_secs(20), "queue drained", || {
        common::queue_idle(&queue)
    })
    .await;
    let writes: BTreeMap<&String, u64> = ids
        .iter()
        .map(|id| {
            (
                id,
                h.sandbox
                    .netsuite
                    .sales_order_writes(&format!("tiktok-order:{id}")),
            )
        })
        .collect();
    assert!(writes.values().all(|w| *w == 1), "{writes:?}");
    assert_eq!(h.sandbox.netsuite.sales_orders().len(), ORDERS);
    let status = terminate(&mut second).await;
    assert!(status.success(), "{status:?}\n{}", second.log());
    assert_eq!(queue.stats().await.unwrap().dead, 0);
    h.cleanup().await;
}

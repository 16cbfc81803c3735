//! The embedded backend under a real crash: the service binary runs `serve` with no
//! REDIS_URL against a sandbox in this test process, is killed with SIGKILL in the middle of
//! a webhook burst, and is started again on the same DATA_DIR. Every webhook it answered 200
//! must end as exactly one NetSuite sales order. A second process on the same DATA_DIR is
//! refused with a message that points to Redis.

use rust_decimal_macros::dec;
use sandbox::netsuite::NetSuiteSandboxConfig;
use sandbox::tiktok::fixtures::{sample_order_with, SampleLine, SampleOrderOptions};
use sandbox::tiktok::TikTokSandboxConfig;
use sandbox::SandboxHandle;
use std::collections::HashMap;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_tiktok-netsuite-bridge");

fn spare_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

async fn sandbox(netsuite_latency: Duration) -> SandboxHandle {
    sandbox::spawn_with(
        "127.0.0.1:0".parse().unwrap(),
        TikTokSandboxConfig::default(),
        NetSuiteSandboxConfig {
            latency: netsuite_latency,
            ..Default::default()
        },
    )
    .await
    .expect("sandbox starts")
}

/// The bridge's environment: the sandbox's credentials, no Redis, the given DATA_DIR, and
/// no catch-up poller, so an order can only land through its acknowledged webhook.
fn bridge_env(sb: &SandboxHandle, data_dir: &Path, port: u16) -> HashMap<String, String> {
    let mut env = sb.bridge_settings();
    for (k, v) in [
        ("BIND_ADDR", format!("127.0.0.1:{port}")),
        ("DATA_DIR", data_dir.display().to_string()),
        ("POLL_INTERVAL_SECS", "0".into()),
        ("UNPARK_INTERVAL_SECS", "3600".into()),
        ("JOB_RETRY_BASE_MS", "100".into()),
        ("JOB_RETRY_MAX_MS", "1000".into()),
        ("JOB_MAX_ATTEMPTS", "20".into()),
        ("WORKER_CONCURRENCY", "8".into()),
        ("NETSUITE_CONCURRENCY", "4".into()),
        ("RUST_LOG", "warn".into()),
    ] {
        env.insert(k.to_string(), v);
    }
    env
}

/// The process is killed when the test ends, whatever happens.
struct Bridge(Child);

impl Drop for Bridge {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start(env: &HashMap<String, String>, log: &Path) -> Bridge {
    let out = std::fs::File::create(log).expect("log file");
    let err = out.try_clone().expect("log file");
    let child = Command::new(BIN)
        .arg("serve")
        .env_remove("REDIS_URL")
        .env_remove("TEST_REDIS_URL")
        .envs(env)
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .expect("bridge binary starts");
    Bridge(child)
}

async fn wait_ready(port: u16, bridge: &mut Bridge, log: &Path) {
    let http = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(r) = http
            .get(format!("http://127.0.0.1:{port}/readyz"))
            .send()
            .await
        {
            if r.status().is_success() {
                return;
            }
        }
        if let Ok(Some(status)) = bridge.0.try_wait() {
            panic!(
                "bridge exited early ({status}):\n{}",
                std::fs::read_to_string(log).unwrap_or_default()
            );
        }
        assert!(Instant::now() < deadline, "bridge never became ready");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn order_ids(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("5764863169486{i:05}")).collect()
}

fn insert_orders(sb: &SandboxHandle, ids: &[String]) {
    for (i, id) in ids.iter().enumerate() {
        let lines = [
            SampleLine::new("TSHIRT-BLK-M", dec!(19.99), 1 + (i % 3) as u32),
            SampleLine::new("CAP-RED", dec!(12.50), 1),
        ];
        let order = sample_order_with(
            id,
            "AWAITING_SHIPMENT",
            &lines,
            &SampleOrderOptions::default(),
        );
        sb.tiktok.insert_order(order).expect("valid order");
    }
}

fn sales_order_exists(sb: &SandboxHandle, id: &str) -> bool {
    sb.netsuite
        .sales_order_by_external_id(&format!("tiktok-order:{id}"))
        .is_some()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_acknowledged_webhook_lands_once_after_a_sigkill_mid_burst_and_a_restart() {
    let sb = Arc::new(sandbox(Duration::from_millis(300)).await);
    let data = tempfile::tempdir().unwrap();
    let logs = tempfile::tempdir().unwrap();
    let port = spare_port();
    let env = bridge_env(&sb, data.path(), port);
    let log1 = logs.path().join("first.log");
    let mut first = start(&env, &log1);
    wait_ready(port, &mut first, &log1).await;

    let ids = order_ids(40);
    insert_orders(&sb, &ids);
    let url = format!("http://127.0.0.1:{port}/webhooks/tiktok");

    // The burst: webhooks go out 50 ms apart, each on its own task, and the process is
    // killed once 15 have been acknowledged and the first sales order is written: then some
    // jobs are done, others are inside NetSuite calls, the rest wait on the queue or are
    // still being sent.
    let acked: Arc<parking_lot::Mutex<Vec<String>>> = Arc::default();
    let mut killed = false;
    let mut senders = Vec::new();
    for id in &ids {
        let (tiktok, url, id, acks) = (sb.tiktok.clone(), url.clone(), id.clone(), acked.clone());
        senders.push(tokio::spawn(async move {
            let data = tiktok.webhook_data(1, &id).expect("order exists");
            if let Ok(status) = tiktok.send_webhook(&url, 1, data).await {
                if status.as_u16() == 200 {
                    acks.lock().push(id);
                }
            }
        }));
        tokio::time::sleep(Duration::from_millis(50)).await;
        let landed = || acked.lock().iter().any(|id| sales_order_exists(&sb, id));
        if !killed && acked.lock().len() >= 15 && landed() {
            let pid = first.0.id().to_string();
            let status = Command::new("kill").args(["-9", &pid]).status().unwrap();
            assert!(status.success(), "kill -9 {pid}");
            killed = true;
        }
    }
    if !killed {
        // A slow machine: the burst went out before any order landed. Kill at the first
        // sales order instead, which still leaves most acknowledged jobs unfinished.
        let deadline = Instant::now() + Duration::from_secs(20);
        while !acked.lock().iter().any(|id| sales_order_exists(&sb, id)) {
            assert!(Instant::now() < deadline, "no sales order before the kill");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let pid = first.0.id().to_string();
        assert!(Command::new("kill")
            .args(["-9", &pid])
            .status()
            .unwrap()
            .success());
    }
    for s in senders {
        s.await.unwrap();
    }
    let exit = first.0.wait().unwrap();
    assert!(!exit.success(), "killed, not exited: {exit}");

    let acked: Vec<String> = acked.lock().clone();
    let landed_before: Vec<&String> = acked
        .iter()
        .filter(|id| sales_order_exists(&sb, id))
        .collect();
    assert!(acked.len() >= 15, "{} acknowledged", acked.len());
    assert!(
        landed_before.len() < acked.len(),
        "the kill must leave acknowledged work unfinished ({} of {} landed)",
        landed_before.len(),
        acked.len()
    );

    eprintln!(
        "killed mid-burst: {} of {} webhooks acknowledged, {} of those had a sales order",
        acked.len(),
        ids.len(),
        landed_before.len()
    );

    // Restart on the same DATA_DIR (new port: the old one may linger in TIME_WAIT).
    let port2 = spare_port();
    let env2 = bridge_env(&sb, data.path(), port2);
    let log2 = logs.path().join("second.log");
    let mut second = start(&env2, &log2);
    wait_ready(port2, &mut second, &log2).await;

    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let missing: Vec<&String> = acked
            .iter()
            .filter(|id| !sales_order_exists(&sb, id))
            .collect();
        if missing.is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "acknowledged orders never landed after the restart: {missing:?}\n{}",
            std::fs::read_to_string(&log2).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Let anything still queued finish, then count records per order.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let mut per_order: HashMap<String, usize> = HashMap::new();
    for so in sb.netsuite.sales_orders() {
        let eid = so["externalId"].as_str().unwrap_or_default().to_string();
        *per_order.entry(eid).or_default() += 1;
    }
    for id in &acked {
        let eid = format!("tiktok-order:{id}");
        assert_eq!(per_order.get(&eid), Some(&1), "one sales order for {id}");
        // A write that completed just before the kill can be repeated (an upsert by
        // external ID), never a second record.
        assert!(sb.netsuite.sales_order_writes(&eid) >= 1);
    }
    assert!(
        per_order.values().all(|n| *n == 1),
        "no order has two records: {per_order:?}"
    );
    let metrics = reqwest::get(format!("http://127.0.0.1:{port2}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let dead_line = metrics
        .lines()
        .find(|l| l.starts_with("bridge_queue_dead"))
        .unwrap_or("bridge_queue_dead missing");
    assert!(
        dead_line.trim_end().ends_with(" 0"),
        "nothing dead-lettered: {dead_line}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_process_on_the_same_data_dir_is_refused_with_a_pointer_to_redis() {
    let sb = sandbox(Duration::ZERO).await;
    let data = tempfile::tempdir().unwrap();
    let logs = tempfile::tempdir().unwrap();
    let port = spare_port();
    let log1 = logs.path().join("first.log");
    let mut first = start(&bridge_env(&sb, data.path(), port), &log1);
    wait_ready(port, &mut first, &log1).await;

    let log2 = logs.path().join("second.log");
    let mut second = start(&bridge_env(&sb, data.path(), spare_port()), &log2);
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = second.0.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "the second process kept running on a database in use"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let output = std::fs::read_to_string(&log2).unwrap();
    assert!(!status.success(), "refused with a failing exit: {status}");
    assert!(
        output.contains("another bridge process") && output.contains("REDIS_URL"),
        "{output}"
    );
    // The first one is unharmed.
    let ready = reqwest::get(format!("http://127.0.0.1:{port}/readyz"))
        .await
        .unwrap();
    assert!(ready.status().is_success());
    assert!(first.0.try_wait().unwrap().is_none());
}

//! Shared harness for integration tests: a sandbox on a free port, a bridge (or several
//! replicas) on the machine's Redis under a key prefix of its own, and polling helpers.
#![allow(dead_code)]

pub mod app;
pub mod own_redis;
pub mod records;
pub mod shipping;

#[allow(unused_imports)]
pub use app::{TestApp, WAIT};

use bridge::app::RunningBridge;
use bridge::config::Config;
use bridge::queue::JobQueue;
use sandbox::tiktok::fixtures::{sample_order_with, SampleLine, SampleOrderOptions};
use sandbox::SandboxHandle;
use std::collections::HashMap;
use std::future::Future;
use std::time::{Duration, Instant};

pub fn redis_url() -> String {
    std::env::var("TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

pub struct Harness {
    pub sandbox: SandboxHandle,
    pub prefix: String,
    pub settings: HashMap<String, String>,
}

impl Harness {
    pub async fn new() -> Harness {
        let sandbox = sandbox::spawn("127.0.0.1:0".parse().unwrap())
            .await
            .expect("sandbox starts");
        let prefix = format!("test-{}", uuid::Uuid::new_v4().simple());
        let mut settings = sandbox.bridge_settings();
        for (k, v) in [
            ("REDIS_URL", redis_url()),
            ("REDIS_KEY_PREFIX", prefix.clone()),
            ("BIND_ADDR", "127.0.0.1:0".into()),
            ("JOB_RETRY_BASE_MS", "50".into()),
            ("JOB_RETRY_MAX_MS", "800".into()),
            ("JOB_MAX_ATTEMPTS", "12".into()),
            ("JOB_RECLAIM_IDLE_MS", "1500".into()),
            ("POLL_INTERVAL_SECS", "0".into()),
            ("UNPARK_INTERVAL_SECS", "3600".into()),
            ("SHUTDOWN_GRACE_SECS", "10".into()),
            ("WORKER_CONCURRENCY", "8".into()),
            ("NETSUITE_CONCURRENCY", "4".into()),
            ("ADMIN_TOKEN", "test-admin-token-5d2e9a41c7b3f086".into()),
        ] {
            settings.insert(k.to_string(), v);
        }
        Harness {
            sandbox,
            prefix,
            settings,
        }
    }

    pub fn config(&self, overrides: &[(&str, &str)]) -> Config {
        let mut s = self.settings.clone();
        for (k, v) in overrides {
            s.insert(k.to_string(), v.to_string());
        }
        Config::from_source(&s).expect("test config is valid")
    }

    /// Start a replica with these overrides (e.g. `("BRIDGE_ROLE", "worker")`).
    pub async fn start(&self, overrides: &[(&str, &str)]) -> RunningBridge {
        let cfg = self.config(overrides);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        bridge::app::start(cfg, Some(listener))
            .await
            .expect("bridge starts")
    }

    /// A paid order (AWAITING_SHIPMENT) in the TikTok sandbox; returns its JSON.
    pub fn order(&self, id: &str, lines: &[SampleLine]) -> serde_json::Value {
        self.order_with(
            id,
            "AWAITING_SHIPMENT",
            lines,
            &SampleOrderOptions::default(),
        )
    }

    pub fn order_with(
        &self,
        id: &str,
        status: &str,
        lines: &[SampleLine],
        opts: &SampleOrderOptions,
    ) -> serde_json::Value {
        let order = sample_order_with(id, status, lines, opts);
        self.sandbox
            .tiktok
            .insert_order(order)
            .expect("valid sample order");
        self.sandbox.tiktok.order(id).expect("stored")
    }

    /// Have the sandbox send TikTok's signed webhook for `order_id` to a replica.
    pub async fn webhook(&self, bridge: &RunningBridge, topic: u32, order_id: &str) -> u16 {
        let data = self
            .sandbox
            .tiktok
            .webhook_data(topic, order_id)
            .expect("order exists");
        self.sandbox
            .tiktok
            .send_webhook(&webhook_url(bridge), topic, data)
            .await
            .expect("webhook delivered")
            .as_u16()
    }

    pub fn sales_order(&self, order_id: &str) -> Option<serde_json::Value> {
        self.sandbox
            .netsuite
            .sales_order_by_external_id(&format!("tiktok-order:{order_id}"))
    }

    pub async fn cleanup(&self) {
        bridge::queue::redis::delete_keys_with_prefix(&redis_url(), &self.prefix)
            .await
            .expect("cleanup");
    }
}

impl Drop for Harness {
    /// Also clean up when a test panics before its `cleanup()`: the machine's Redis is
    /// shared, so no test may leave keys behind.
    fn drop(&mut self) {
        let pattern = format!("{{{}}}:*", self.prefix);
        let Ok(client) = redis::Client::open(redis_url()) else {
            return;
        };
        let Ok(mut conn) = client.get_connection_with_timeout(Duration::from_secs(1)) else {
            return;
        };
        let keys: Vec<String> = match redis::cmd("SCAN")
            .cursor_arg(0)
            .arg("MATCH")
            .arg(&pattern)
            .arg("COUNT")
            .arg(1000)
            .clone()
            .iter(&mut conn)
        {
            Ok(it) => it.collect(),
            Err(_) => return,
        };
        for chunk in keys.chunks(500) {
            let _ = redis::cmd("UNLINK").arg(chunk).exec(&mut conn);
        }
    }
}

pub fn webhook_url(bridge: &RunningBridge) -> String {
    format!(
        "http://{}/webhooks/tiktok",
        bridge.addr.expect("ingress runs")
    )
}

/// Poll `check` until it returns true or `timeout` passes; panics with `what` on timeout.
pub async fn eventually<F, Fut>(timeout: Duration, what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if check().await {
            return;
        }
        if Instant::now() > deadline {
            panic!("timed out after {timeout:?} waiting for: {what}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Nothing waiting, pending or delayed on the queue.
pub async fn queue_idle(q: &dyn JobQueue) -> bool {
    match q.stats().await {
        Ok(s) => s.depth == 0 && s.pending == 0 && s.delayed == 0,
        Err(_) => false,
    }
}

/// Sum of a sales order's line amounts, as exact decimals.
pub fn so_total(so: &serde_json::Value) -> rust_decimal::Decimal {
    so["item"]["items"]
        .as_array()
        .expect("lines")
        .iter()
        .map(|l| {
            l["amount"]
                .to_string()
                .trim_matches('"')
                .parse::<rust_decimal::Decimal>()
                .expect("decimal amount")
        })
        .sum()
}

impl Harness {
    /// NetSuite internal id of the sandbox item whose `itemid` is `sku`.
    pub fn item_id(&self, sku: &str) -> String {
        item_id(&self.sandbox, sku)
    }
}

/// NetSuite internal id of the sandbox item whose `itemid` is `sku`.
pub fn item_id(sb: &SandboxHandle, sku: &str) -> String {
    sb.netsuite
        .items()
        .into_iter()
        .find(|i| i["itemId"] == sku)
        .and_then(|i| i["id"].as_str().map(str::to_string))
        .unwrap_or_else(|| panic!("no sandbox item {sku}"))
}

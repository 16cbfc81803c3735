//! The in-process load generator: a fixed number of in-flight requests over keep-alive
//! connections, each POSTing a signed TikTok webhook built for its index. The same
//! generator drives the bare handler and the bridge, so their figures compare.

use super::stats::{LatencySummary, Samples};
use bridge::tiktok::sign::webhook_signature;
use serde::Serialize;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Builds and signs webhook bodies exactly as TikTok does.
#[derive(Debug, Clone)]
pub struct WebhookSigner {
    pub app_key: String,
    pub app_secret: String,
    pub shop_id: String,
}

impl WebhookSigner {
    /// A topic-1 (order status) event; `notification_id` must be unique per event.
    pub fn order_status(&self, notification_id: &str, order_id: &str, update_time: i64) -> Vec<u8> {
        format!(
            concat!(
                r#"{{"type":1,"tts_notification_id":"{nid}","shop_id":"{shop}","timestamp":{ts},"#,
                r#""data":{{"order_id":"{oid}","order_status":"AWAITING_SHIPMENT","#,
                r#""is_on_hold_order":false,"update_time":{ts}}}}}"#
            ),
            nid = notification_id,
            shop = self.shop_id,
            ts = update_time,
            oid = order_id,
        )
        .into_bytes()
    }

    /// An event of any topic around `data` (e.g. the sandbox's own webhook data).
    pub fn event(&self, topic: u32, notification_id: &str, data: &serde_json::Value) -> Vec<u8> {
        let envelope = serde_json::json!({
            "type": topic,
            "tts_notification_id": notification_id,
            "shop_id": self.shop_id,
            "timestamp": bridge::queue::now_ms() / 1000,
            "data": data,
        });
        serde_json::to_vec(&envelope).unwrap_or_default()
    }

    pub fn sign(&self, body: &[u8]) -> String {
        webhook_signature(&self.app_key, &self.app_secret, body)
    }
}

/// One HTTP client for the whole run: keep-alive, no proxy, Nagle off.
pub fn http_client(concurrency: usize) -> anyhow::Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency.max(1))
        .tcp_nodelay(true)
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .build()?)
}

/// POSTs one signed webhook; `Ok(status)` or the transport error.
pub async fn post_webhook(
    http: &reqwest::Client,
    url: &str,
    body: Vec<u8>,
    signature: String,
) -> reqwest::Result<u16> {
    let resp = http
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header(reqwest::header::AUTHORIZATION, signature)
        .body(body)
        .send()
        .await?;
    let status = resp.status().as_u16();
    // Read the (empty) body so the connection goes back to the pool.
    let _ = resp.bytes().await;
    Ok(status)
}

/// What one load run saw.
#[derive(Debug, Default, Clone)]
pub struct LoadRun {
    pub ok: u64,
    pub failed: u64,
    pub elapsed: Duration,
    pub latencies: Samples,
}

impl LoadRun {
    pub fn merge(&mut self, other: LoadRun) {
        self.ok += other.ok;
        self.failed += other.failed;
        self.elapsed += other.elapsed;
        self.latencies.extend(other.latencies);
    }

    pub fn summary(&self) -> LoadSummary {
        let secs = self.elapsed.as_secs_f64();
        let done = self.ok + self.failed;
        LoadSummary {
            requests: done,
            ok: self.ok,
            failed: self.failed,
            elapsed_s: secs,
            req_per_s: if secs > 0.0 {
                done as f64 / secs
            } else {
                f64::NAN
            },
            latency: self.latencies.summary(),
        }
    }
}

#[derive(Debug, Clone, Copy, Serialize)]
pub struct LoadSummary {
    pub requests: u64,
    /// Answered 200.
    pub ok: u64,
    /// Any other status, or a transport error.
    pub failed: u64,
    pub elapsed_s: f64,
    pub req_per_s: f64,
    pub latency: LatencySummary,
}

/// Makes request `i`: its body and signature.
pub type RequestMaker = Arc<dyn Fn(usize) -> (Vec<u8>, String) + Send + Sync>;

/// Sends requests `first..first + count` to `url` with `concurrency` in flight, and
/// returns when the last one is answered.
pub async fn drive(
    http: &reqwest::Client,
    url: &str,
    first: usize,
    count: usize,
    concurrency: usize,
    make: RequestMaker,
) -> LoadRun {
    let next = Arc::new(AtomicUsize::new(first));
    let end = first + count;
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    let per_task = count / concurrency.max(1) + 1;
    for _ in 0..concurrency.max(1) {
        let next = next.clone();
        let make = make.clone();
        let http = http.clone();
        let url = url.to_string();
        tasks.spawn(async move {
            let mut run = LoadRun {
                latencies: Samples::with_capacity(per_task),
                ..LoadRun::default()
            };
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= end {
                    break;
                }
                let (body, sig) = make(i);
                let sent = Instant::now();
                let result = post_webhook(&http, &url, body, sig).await;
                run.latencies.push(sent.elapsed());
                match result {
                    Ok(200) => run.ok += 1,
                    _ => run.failed += 1,
                }
            }
            run
        });
    }
    let mut total = LoadRun::default();
    while let Some(joined) = tasks.join_next().await {
        if let Ok(run) = joined {
            total.merge(run);
        }
    }
    total.elapsed = started.elapsed();
    total
}

/// Sends requests `first..first + count` at a steady `rate` per second whatever the
/// answers take (an open loop), so latency is measured below saturation.
pub async fn drive_paced(
    http: &reqwest::Client,
    url: &str,
    first: usize,
    count: usize,
    rate: f64,
    make: RequestMaker,
) -> LoadRun {
    const TICK: Duration = Duration::from_millis(5);
    let per_tick = (rate * TICK.as_secs_f64()).max(1e-3);
    let started = Instant::now();
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut tasks = tokio::task::JoinSet::new();
    let mut due = 0.0f64;
    let mut i = first;
    let end = first + count;
    while i < end {
        tick.tick().await;
        due += per_tick;
        while due >= 1.0 && i < end {
            due -= 1.0;
            let (body, sig) = make(i);
            let http = http.clone();
            let url = url.to_string();
            tasks.spawn(async move {
                let sent = Instant::now();
                let result = post_webhook(&http, &url, body, sig).await;
                (sent.elapsed(), matches!(result, Ok(200)))
            });
            i += 1;
        }
    }
    let mut run = LoadRun {
        latencies: Samples::with_capacity(count),
        ..LoadRun::default()
    };
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok((latency, ok)) => {
                run.latencies.push(latency);
                if ok {
                    run.ok += 1;
                } else {
                    run.failed += 1;
                }
            }
            Err(_) => run.failed += 1,
        }
    }
    run.elapsed = started.elapsed();
    run
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_status_bodies_are_json_and_verify() {
        let s = WebhookSigner {
            app_key: "k".into(),
            app_secret: "s".into(),
            shop_id: "7494049642642441621".into(),
        };
        let body = s.order_status("7300000000000000001", "576486316948490001", 1_700_000_000);
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["type"], 1);
        assert_eq!(v["data"]["order_id"], "576486316948490001");
        assert_eq!(v["shop_id"], "7494049642642441621");
        let sig = s.sign(&body);
        assert!(bridge::tiktok::sign::verify_webhook("k", "s", &body, &sig));
    }
}

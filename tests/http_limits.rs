//! The HTTP server's limits against hostile and excessive clients: connections that trickle
//! their headers or bodies are closed at the configured deadlines while TikTok's webhooks
//! still get through, and requests beyond the in-flight cap are shed with 503 and
//! `Retry-After` at once, losing nothing that was accepted.

mod common;

use async_trait::async_trait;
use bridge::app::RunningBridge;
use bridge::queue::redis::RedisQueue;
use bridge::queue::{
    DeadLetter, Delivery, EnqueueOutcome, JobEnvelope, JobQueue, QueueError, QueueStats,
};
use common::{redis_url, Harness};
use rust_decimal_macros::dec;
use sandbox::tiktok::fixtures::SampleLine;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn rss_mib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<u64>().ok())
        })
        .map(|kb| kb / 1024)
        .unwrap_or(0)
}

fn metric(b: &RunningBridge, name: &str) -> f64 {
    b.metrics
        .encode()
        .lines()
        .find(|l| l.starts_with(name) && l[name.len()..].starts_with(' '))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0)
}

/// A client that sends `head`, then one byte of `drip` every `every`, until the server
/// closes the connection; returns how long that took (`None`: still open at `give_up`).
async fn trickle(
    addr: std::net::SocketAddr,
    head: &'static [u8],
    every: Duration,
    give_up: Duration,
    connected: Arc<AtomicUsize>,
) -> Option<Duration> {
    let start = Instant::now();
    let mut s = TcpStream::connect(addr).await.ok()?;
    if s.write_all(head).await.is_err() {
        return Some(start.elapsed());
    }
    connected.fetch_add(1, Ordering::SeqCst);
    let mut buf = [0u8; 1024];
    while start.elapsed() < give_up {
        tokio::select! {
            r = s.read(&mut buf) => match r {
                // A 408 answer comes first; keep reading until the close.
                Ok(n) if n > 0 => continue,
                _ => return Some(start.elapsed()),
            },
            _ = tokio::time::sleep(every) => {
                if s.write_all(b"a").await.is_err() {
                    return Some(start.elapsed());
                }
            }
        }
    }
    None
}

const HEADER_TRICKLE: &[u8] = b"POST /webhooks/tiktok HTTP/1.1\r\nHost: bridge\r\nX-Slow: ";
const BODY_TRICKLE: &[u8] = b"POST /webhooks/tiktok HTTP/1.1\r\nHost: bridge\r\nContent-Type: application/json\r\nContent-Length: 4096\r\n\r\n{";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trickling_clients_are_cut_at_the_deadlines_and_webhooks_still_get_through() {
    // 2,000 client sockets and their 2,000 server ends live in this process.
    let fds = bridge::server::raise_fd_limit().unwrap_or(0);
    assert!(
        fds >= 4_600,
        "needs an open-files limit of 4,600 at least, have {fds}"
    );
    let h = Harness::new().await;
    let timeout_ms = 3_000u64;
    let b = h
        .start(&[
            ("BRIDGE_ROLE", "ingress"),
            ("HTTP_HEADER_TIMEOUT_MS", &timeout_ms.to_string()),
            ("HTTP_BODY_TIMEOUT_MS", &timeout_ms.to_string()),
            ("HTTP_MAX_CONNECTIONS", "3000"),
        ])
        .await;
    let addr = b.addr.unwrap();
    let rss_before = rss_mib();
    let every = Duration::from_millis(300);
    let give_up = Duration::from_secs(15);
    let mut clients = Vec::new();
    let connected = Arc::new(AtomicUsize::new(0));
    for i in 0..2_000 {
        let head = if i % 2 == 0 {
            HEADER_TRICKLE
        } else {
            BODY_TRICKLE
        };
        clients.push(tokio::spawn(trickle(
            addr,
            head,
            every,
            give_up,
            connected.clone(),
        )));
    }
    // A keep-alive connection that asked once and then went quiet.
    let idle = tokio::spawn(async move {
        let mut s = TcpStream::connect(addr).await.unwrap();
        s.write_all(b"GET /healthz HTTP/1.1\r\nHost: bridge\r\n\r\n")
            .await
            .unwrap();
        let start = Instant::now();
        let mut buf = [0u8; 1024];
        loop {
            match s.read(&mut buf).await {
                Ok(n) if n > 0 => continue,
                _ => return start.elapsed(),
            }
        }
    });

    // Once they are all connected and dripping, TikTok sends a webhook.
    common::eventually(
        Duration::from_secs(10),
        "2,000 clients connected",
        || async { connected.load(Ordering::SeqCst) == 2_000 },
    )
    .await;
    let open_now = metric(&b, "bridge_http_connections");
    let rss_loaded = rss_mib();
    h.order(
        "576486316948499001",
        &[SampleLine::new("TSHIRT-BLK-M", dec!(19.99), 1)],
    );
    let sent = Instant::now();
    let status = h.webhook(&b, 1, "576486316948499001").await;
    let answered = sent.elapsed();
    println!(
        "webhook amid 2,000 trickling connections ({open_now} open on the server): {status} in {:.1} ms; RSS {rss_before} → {rss_loaded} MiB",
        answered.as_secs_f64() * 1e3
    );
    assert_eq!(status, 200);
    assert!(
        answered < Duration::from_secs(3),
        "TikTok waits 3 s: {answered:?}"
    );

    let mut closed = Vec::new();
    for c in clients {
        closed.push(c.await.unwrap());
    }
    let still_open = closed.iter().filter(|c| c.is_none()).count();
    assert_eq!(still_open, 0, "every trickling connection is closed");
    let slowest = closed.iter().flatten().max().copied().unwrap();
    println!(
        "slowest trickling connection closed after {:.2} s (deadline {:.1} s)",
        slowest.as_secs_f64(),
        timeout_ms as f64 / 1e3
    );
    // The deadline plus generous room for 2,000 tasks on a busy machine.
    assert!(
        slowest < Duration::from_millis(timeout_ms) + Duration::from_secs(5),
        "{slowest:?}"
    );
    let idle_for = idle.await.unwrap();
    assert!(
        idle_for >= Duration::from_millis(timeout_ms - 100)
            && idle_for < Duration::from_millis(timeout_ms) + Duration::from_secs(5),
        "an idle keep-alive connection is closed at the header deadline: {idle_for:?}"
    );
    assert!(metric(&b, "bridge_http_body_timeouts_total") >= 900.0);
    common::eventually(Duration::from_secs(5), "connections released", || async {
        metric(&b, "bridge_http_connections") <= 1.0
    })
    .await;
    assert!(
        rss_loaded.saturating_sub(rss_before) < 256,
        "memory stays bounded: {rss_before} → {rss_loaded} MiB"
    );
    assert_eq!(b.queue.stats().await.unwrap().depth, 1, "the webhook's job");
    b.shutdown().await;
    h.cleanup().await;
}

/// The real queue, whose enqueues wait while `gate` is closed.
struct GatedQueue {
    inner: RedisQueue,
    gate: tokio::sync::RwLock<()>,
    waiting: AtomicUsize,
    enqueued: AtomicUsize,
}

#[async_trait]
impl JobQueue for GatedQueue {
    async fn enqueue_unique(
        &self,
        key: &str,
        ttl: Duration,
        envelope: &JobEnvelope,
    ) -> Result<EnqueueOutcome, QueueError> {
        self.waiting.fetch_add(1, Ordering::SeqCst);
        let _open = self.gate.read().await;
        let out = self.inner.enqueue_unique(key, ttl, envelope).await?;
        self.enqueued.fetch_add(1, Ordering::SeqCst);
        Ok(out)
    }
    async fn enqueue(&self, envelope: &JobEnvelope) -> Result<(), QueueError> {
        self.inner.enqueue(envelope).await
    }
    async fn read(
        &self,
        c: &str,
        max: usize,
        block: Duration,
    ) -> Result<Vec<Delivery>, QueueError> {
        self.inner.read(c, max, block).await
    }
    async fn ack(&self, d: &Delivery) -> Result<(), QueueError> {
        self.inner.ack(d).await
    }
    async fn retry_at(&self, d: &Delivery, n: &JobEnvelope, at: i64) -> Result<(), QueueError> {
        self.inner.retry_at(d, n, at).await
    }
    async fn dead_letter(&self, d: &Delivery, e: &str) -> Result<(), QueueError> {
        self.inner.dead_letter(d, e).await
    }
    async fn promote_due(&self, now: i64, max: usize) -> Result<usize, QueueError> {
        self.inner.promote_due(now, max).await
    }
    async fn reclaim_idle(
        &self,
        c: &str,
        idle: Duration,
        max: usize,
    ) -> Result<Vec<Delivery>, QueueError> {
        self.inner.reclaim_idle(c, idle, max).await
    }
    async fn renew_leases(
        &self,
        consumer: &str,
        held: &[(String, u64)],
    ) -> Result<Vec<bool>, QueueError> {
        self.inner.renew_leases(consumer, held).await
    }
    async fn stats(&self) -> Result<QueueStats, QueueError> {
        self.inner.stats().await
    }
    async fn dead_letters(&self, max: usize) -> Result<Vec<DeadLetter>, QueueError> {
        self.inner.dead_letters(max).await
    }
    async fn replay_dead(&self, id: &str) -> Result<bool, QueueError> {
        self.inner.replay_dead(id).await
    }
    async fn discard_dead(&self, id: &str) -> Result<bool, QueueError> {
        self.inner.discard_dead(id).await
    }
    async fn ping(&self) -> Result<(), QueueError> {
        self.inner.ping().await
    }
}

/// One signed order-status webhook for order `i`; returns the status, `Retry-After` and
/// how long the answer took.
async fn send(
    http: &reqwest::Client,
    h: &Harness,
    url: &str,
    i: usize,
) -> (u16, Option<String>, Duration) {
    let order_id = format!("5764863169{i:08}");
    let data = serde_json::json!({
        "order_id": order_id,
        "order_status": "AWAITING_SHIPMENT",
        "update_time": 1_700_000_000 + i,
    });
    let cfg = h.sandbox.tiktok.config();
    let body = serde_json::json!({
        "type": 1,
        "tts_notification_id": format!("73{i:012}"),
        "shop_id": cfg.shop_id,
        "timestamp": 1_700_000_000 + i,
        "data": data,
    })
    .to_string();
    let sig =
        bridge::tiktok::sign::webhook_signature(&cfg.app_key, &cfg.app_secret, body.as_bytes());
    let start = Instant::now();
    let r = http
        .post(url)
        .header("content-type", "application/json")
        .header("authorization", sig)
        .body(body)
        .send()
        .await
        .expect("an answer");
    let retry_after = r
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_string());
    (r.status().as_u16(), retry_after, start.elapsed())
}

fn p99(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v.get((v.len() * 99 / 100).min(v.len().saturating_sub(1)))
        .copied()
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_beyond_the_in_flight_cap_are_shed_at_once_and_nothing_accepted_is_lost() {
    let h = Harness::new().await;
    let cfg = h.config(&[
        ("BRIDGE_ROLE", "ingress"),
        ("HTTP_MAX_IN_FLIGHT", "4"),
        ("HTTP_RETRY_AFTER_SECS", "2"),
    ]);
    let queue = Arc::new(GatedQueue {
        inner: RedisQueue::connect(&redis_url(), &h.prefix).await.unwrap(),
        gate: tokio::sync::RwLock::new(()),
        waiting: AtomicUsize::new(0),
        enqueued: AtomicUsize::new(0),
    });
    let (_, state) = bridge::app::connect_backends(&cfg).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let b = bridge::app::start_with(cfg, Some(listener), queue.clone(), state)
        .await
        .unwrap();
    let url = format!("http://{}/webhooks/tiktok", b.addr.unwrap());
    let http = reqwest::Client::new();

    // Saturated: four webhooks hold every slot while the queue is slow to answer.
    let closed = queue.gate.write().await;
    let mut holding = Vec::new();
    for i in 0..4 {
        let (http, url, h) = (http.clone(), url.clone(), &h);
        holding.push(async move { send(&http, h, &url, i).await });
    }
    let holding = futures::future::join_all(holding);
    tokio::pin!(holding);
    let shed = async {
        common::eventually(
            Duration::from_secs(5),
            "four requests in flight",
            || async { queue.waiting.load(Ordering::SeqCst) == 4 },
        )
        .await;
        tokio::time::sleep(Duration::from_millis(200)).await;
        let mut answers = Vec::new();
        for i in 100..150 {
            answers.push(send(&http, &h, &url, i).await);
        }
        answers
    };
    let answers = tokio::select! {
        a = shed => a,
        _ = &mut holding => panic!("the held requests finished while the queue was closed"),
    };
    for (status, retry_after, took) in &answers {
        assert_eq!(*status, 503);
        assert_eq!(retry_after.as_deref(), Some("2"));
        assert!(*took < Duration::from_secs(1), "shed at once: {took:?}");
    }
    println!(
        "saturated: 50 of 50 shed, p99 {:.1} ms",
        p99(answers.iter().map(|a| a.2).collect()).as_secs_f64() * 1e3
    );
    drop(closed);
    for (status, _, took) in holding.await {
        assert_eq!(status, 200, "a request in flight completes");
        assert!(took < Duration::from_secs(3));
    }

    // Twice the capacity and more, for a while: each answer is a 200 or a fast 503, never
    // a wait past TikTok's 3 s, and every 200 is on the queue.
    let sent = Arc::new(AtomicUsize::new(1_000));
    let deadline = Instant::now() + Duration::from_secs(4);
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let (http, url, sent) = (http.clone(), url.clone(), sent.clone());
        let h = &h;
        tasks.push(async move {
            let mut out = Vec::new();
            while Instant::now() < deadline {
                let i = sent.fetch_add(1, Ordering::SeqCst);
                out.push(send(&http, h, &url, i).await);
            }
            out
        });
    }
    let all: Vec<_> = futures::future::join_all(tasks)
        .await
        .into_iter()
        .flatten()
        .collect();
    let ok = all.iter().filter(|a| a.0 == 200).count();
    let shed: Vec<_> = all.iter().filter(|a| a.0 == 503).map(|a| a.2).collect();
    let slowest = all.iter().map(|a| a.2).max().unwrap();
    println!(
        "overload: {} requests, {ok} accepted, {} shed (p99 {:.1} ms), slowest answer {:.1} ms",
        all.len(),
        shed.len(),
        p99(shed.clone()).as_secs_f64() * 1e3,
        slowest.as_secs_f64() * 1e3
    );
    assert_eq!(ok + shed.len(), all.len(), "only 200 or 503");
    assert!(ok > 0);
    assert!(slowest < Duration::from_secs(3), "{slowest:?}");
    let accepted = 4 + ok;
    assert_eq!(queue.enqueued.load(Ordering::SeqCst), accepted);
    assert_eq!(
        b.queue.stats().await.unwrap().depth as usize,
        accepted,
        "every accepted webhook is on the queue"
    );
    assert!(metric(&b, "bridge_http_requests_shed_total") >= 50.0);
    // Probes answer even when work is shed.
    let r = http
        .get(format!("http://{}/healthz", b.addr.unwrap()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    b.shutdown().await;
    h.cleanup().await;
}

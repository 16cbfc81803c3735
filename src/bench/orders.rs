//! Figures 2–5: orders end to end against the NetSuite sandbox with a fixed processing
//! time per request and an account concurrency limit. A steady run below capacity gives
//! the latency (webhook POST sent → sales order written in the sandbox) and NetSuite
//! requests per order; a burst queued at once gives throughput against the concurrency
//! bound and TikTok Get Order Detail calls per order.

use super::load::{drive, post_webhook, RequestMaker};
use super::rig::{wait_queue_idle, webhook_url, Rig};
use super::stats::{LatencySummary, Samples};
use anyhow::Context;
use bridge::app::RunningBridge;
use bridge::tiktok::client::GET_ORDER_DETAIL_PATH;
use rust_decimal::Decimal;
use sandbox::netsuite::NetSuiteFaults;
use sandbox::tiktok::fixtures::{sample_order_with, SampleLine, SampleOrderOptions};
use serde::Serialize;
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
pub struct OrderPlan {
    /// Orders sent at `rate` in the fixed-customer steady run.
    pub steady_orders: usize,
    /// Orders sent at `rate` in the per-buyer-customer run.
    pub per_buyer_orders: usize,
    /// Orders per second for the steady runs; keep it well below the bound.
    pub rate: f64,
    /// Orders queued at once for the throughput figure.
    pub burst_orders: usize,
    /// NetSuite's own time per request (sandbox latency fault).
    pub netsuite_latency: Duration,
    /// Sandbox account limit and the bridge's NETSUITE_CONCURRENCY.
    pub netsuite_limit: usize,
    /// In-flight webhook POSTs while queuing the burst.
    pub concurrency: usize,
}

impl OrderPlan {
    /// limit ÷ latency: what NetSuite can take at one request per order.
    pub fn bound_orders_per_s(&self) -> f64 {
        self.netsuite_limit as f64 / self.netsuite_latency.as_secs_f64()
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct SteadyRun {
    /// `fixed` (NETSUITE_CUSTOMER_ID) or `per_buyer` (a customer upserted per new buyer).
    pub customer_mode: &'static str,
    pub orders: usize,
    /// Orders whose sales order the sandbox holds at the end.
    pub landed: usize,
    pub rate_per_s: f64,
    /// Webhook POST sent → sales order first written in the sandbox.
    pub latency: LatencySummary,
    /// Latency minus NetSuite's own time for the requests an order needs at best.
    pub overhead_p50_ms: f64,
    pub overhead_p99_ms: f64,
    pub netsuite_requests: u64,
    pub netsuite_requests_per_order: f64,
    /// 429s among those requests.
    pub netsuite_throttled: u64,
    pub get_order_detail_calls: u64,
    pub webhook_failures: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct BurstRun {
    pub orders: usize,
    pub landed: usize,
    /// First webhook sent → last sales order written.
    pub elapsed_s: f64,
    pub orders_per_s: f64,
    pub bound_orders_per_s: f64,
    pub share_of_bound: f64,
    /// Time from the burst's start to each order's sales order.
    pub time_to_land: LatencySummary,
    pub netsuite_requests: u64,
    pub netsuite_requests_per_order: f64,
    pub netsuite_throttled: u64,
    pub netsuite_peak_concurrency: usize,
    pub get_order_detail_calls: u64,
    pub get_order_detail_per_order: f64,
    pub webhook_failures: u64,
}

/// What the sandboxes have counted so far.
#[derive(Debug, Clone, Copy)]
struct Counters {
    netsuite_requests: u64,
    netsuite_throttled: u64,
    get_order_detail: u64,
}

impl Counters {
    fn now(rig: &Rig) -> Counters {
        Counters {
            netsuite_requests: rig.sandbox.netsuite.requests(),
            netsuite_throttled: rig.sandbox.netsuite.throttled(),
            get_order_detail: rig.sandbox.tiktok.calls(GET_ORDER_DETAIL_PATH),
        }
    }

    fn since(self, before: Counters) -> Counters {
        Counters {
            netsuite_requests: self.netsuite_requests - before.netsuite_requests,
            netsuite_throttled: self.netsuite_throttled - before.netsuite_throttled,
            get_order_detail: self.get_order_detail - before.get_order_detail,
        }
    }
}

fn per(n: u64, d: usize) -> f64 {
    if d == 0 {
        f64::NAN
    } else {
        n as f64 / d as f64
    }
}

/// Sales order external id of a TikTok order.
fn eid(order_id: &str) -> String {
    format!("tiktok-order:{order_id}")
}

/// Paid orders in the TikTok sandbox: two SKUs the NetSuite sandbox knows, three units.
/// `per_buyer` gives each order a buyer of its own (a new customer each).
fn create_orders(rig: &Rig, series: u32, from: usize, n: usize, per_buyer: bool) -> Vec<String> {
    let lines = [
        SampleLine::new("TSHIRT-BLK-M", Decimal::new(1999, 2), 2),
        SampleLine::new("CAP-RED", Decimal::new(1250, 2), 1),
    ];
    let mut ids = Vec::with_capacity(n);
    for i in from..from + n {
        let id = format!("57{series:02}{i:014}");
        let mut opts = SampleOrderOptions::default();
        if per_buyer {
            opts.user_id = format!("74{series:02}{i:014}");
        }
        match rig.sandbox.tiktok.insert_order(sample_order_with(
            &id,
            "AWAITING_SHIPMENT",
            &lines,
            &opts,
        )) {
            Ok(_) => ids.push(id),
            Err(e) => tracing::warn!(error = %e, "bench order refused by the sandbox"),
        }
    }
    ids
}

/// The signed topic-1 webhook TikTok would send for an order now.
fn webhook_for(rig: &Rig, order_id: &str, nonce: &str) -> (Vec<u8>, String) {
    let data = rig
        .sandbox
        .tiktok
        .webhook_data(1, order_id)
        .unwrap_or_else(|| serde_json::json!({ "order_id": order_id }));
    let body = rig.signer.event(1, &format!("73{nonce}{order_id}"), &data);
    let sig = rig.signer.sign(&body);
    (body, sig)
}

/// Polls the sandbox until every order's sales order exists, or `timeout`. Returns each
/// order's first write time (the sandbox records it, so polling adds no error).
async fn wait_written(rig: &Rig, ids: &[String], timeout: Duration) -> Vec<Option<Instant>> {
    let deadline = Instant::now() + timeout;
    let eids: Vec<String> = ids.iter().map(|i| eid(i)).collect();
    let mut written: Vec<Option<Instant>> = vec![None; ids.len()];
    loop {
        for (slot, e) in written.iter_mut().zip(&eids) {
            if slot.is_none() {
                *slot = rig.sandbox.netsuite.sales_order_written_at(e);
            }
        }
        if written.iter().all(Option::is_some) || Instant::now() >= deadline {
            return written;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// One order through the bridge, unmeasured: fills the SKU cache (and the buyer's
/// customer in per-buyer mode) and opens the connections.
async fn warm_up(
    rig: &Rig,
    bridge: &RunningBridge,
    series: u32,
    per_buyer: bool,
) -> anyhow::Result<()> {
    let url = webhook_url(bridge)?;
    let ids = create_orders(rig, series, 900_000, 1, per_buyer);
    for id in &ids {
        let (body, sig) = webhook_for(rig, id, "0");
        post_webhook(&rig.http, &url, body, sig)
            .await
            .context("warm-up webhook")?;
    }
    let written = wait_written(rig, &ids, Duration::from_secs(30)).await;
    anyhow::ensure!(
        written.iter().all(Option::is_some),
        "the warm-up order never reached the NetSuite sandbox; is the bridge working?"
    );
    wait_queue_idle(bridge.queue.as_ref(), Duration::from_secs(10)).await;
    Ok(())
}

/// Sends one webhook per order at `rate`, each on its own task so a slow answer does not
/// shift the schedule. Returns when each was sent and how many were not answered 200.
async fn send_steady(
    rig: &Rig,
    url: &str,
    ids: &[String],
    rate: f64,
) -> (Vec<Option<Instant>>, u64) {
    let start = tokio::time::Instant::now();
    let gap = Duration::from_secs_f64(1.0 / rate.max(0.01));
    let mut tasks = tokio::task::JoinSet::new();
    for (i, id) in ids.iter().enumerate() {
        tokio::time::sleep_until(start + gap.mul_f64(i as f64)).await;
        let (body, sig) = webhook_for(rig, id, "1");
        let http = rig.http.clone();
        let url = url.to_string();
        tasks.spawn(async move {
            let sent = Instant::now();
            let status = post_webhook(&http, &url, body, sig).await;
            (i, sent, matches!(status, Ok(200)))
        });
    }
    let mut sent_at = vec![None; ids.len()];
    let mut failures = 0;
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok((i, sent, ok)) => {
                if let Some(slot) = sent_at.get_mut(i) {
                    *slot = Some(sent);
                }
                if !ok {
                    failures += 1;
                }
            }
            Err(_) => failures += 1,
        }
    }
    (sent_at, failures)
}

/// A steady run: `n` orders at the plan's rate; latency per order and requests per order.
async fn steady(
    rig: &Rig,
    bridge: &RunningBridge,
    plan: &OrderPlan,
    series: u32,
    n: usize,
    per_buyer: bool,
) -> anyhow::Result<SteadyRun> {
    let url = webhook_url(bridge)?;
    let ids = create_orders(rig, series, 0, n, per_buyer);
    let before = Counters::now(rig);
    let (sent, webhook_failures) = send_steady(rig, &url, &ids, plan.rate).await;
    let budget = Duration::from_secs_f64(n as f64 / plan.rate.max(0.01)) + Duration::from_secs(30);
    let written = wait_written(rig, &ids, budget).await;
    wait_queue_idle(bridge.queue.as_ref(), Duration::from_secs(10)).await;
    let used = Counters::now(rig).since(before);

    let mut latencies = Samples::with_capacity(n);
    for (s, w) in sent.iter().zip(&written) {
        if let (Some(s), Some(w)) = (s, w) {
            latencies.push(w.saturating_duration_since(*s));
        }
    }
    let latency = latencies.summary();
    // NetSuite's own time on an order's path at best: the sales order, plus the customer
    // when every order brings a new buyer.
    let calls_per_order = if per_buyer { 2.0 } else { 1.0 };
    let own_ms = plan.netsuite_latency.as_secs_f64() * 1000.0 * calls_per_order;
    Ok(SteadyRun {
        customer_mode: if per_buyer { "per_buyer" } else { "fixed" },
        orders: ids.len(),
        landed: latencies.count(),
        rate_per_s: plan.rate,
        overhead_p50_ms: latency.p50_ms - own_ms,
        overhead_p99_ms: latency.p99_ms - own_ms,
        latency,
        netsuite_requests: used.netsuite_requests,
        netsuite_requests_per_order: per(used.netsuite_requests, ids.len()),
        netsuite_throttled: used.netsuite_throttled,
        get_order_detail_calls: used.get_order_detail,
        webhook_failures,
    })
}

/// The burst: every webhook at once, then wait for the last sales order.
async fn burst(
    rig: &Rig,
    bridge: &RunningBridge,
    plan: &OrderPlan,
    series: u32,
) -> anyhow::Result<BurstRun> {
    let url = webhook_url(bridge)?;
    let n = plan.burst_orders;
    let ids = create_orders(rig, series, 0, n, false);
    let requests: Arc<Vec<(Vec<u8>, String)>> =
        Arc::new(ids.iter().map(|id| webhook_for(rig, id, "2")).collect());
    let make: RequestMaker = {
        let requests = requests.clone();
        Arc::new(move |i: usize| requests.get(i).cloned().unwrap_or_default())
    };
    rig.sandbox.netsuite.reset_peak_concurrency();
    let before = Counters::now(rig);
    let start = Instant::now();
    let sent = drive(&rig.http, &url, 0, ids.len(), plan.concurrency, make).await;
    let expected = Duration::from_secs_f64(n as f64 / plan.bound_orders_per_s());
    let written = wait_written(rig, &ids, expected * 3 + Duration::from_secs(30)).await;
    wait_queue_idle(bridge.queue.as_ref(), Duration::from_secs(10)).await;
    let used = Counters::now(rig).since(before);

    let mut to_land = Samples::with_capacity(n);
    let mut last = start;
    for w in written.iter().flatten() {
        to_land.push(w.saturating_duration_since(start));
        last = last.max(*w);
    }
    let landed = to_land.count();
    let elapsed = last.saturating_duration_since(start).as_secs_f64();
    let orders_per_s = if elapsed > 0.0 {
        landed as f64 / elapsed
    } else {
        f64::NAN
    };
    let bound = plan.bound_orders_per_s();
    Ok(BurstRun {
        orders: ids.len(),
        landed,
        elapsed_s: elapsed,
        orders_per_s,
        bound_orders_per_s: bound,
        share_of_bound: orders_per_s / bound,
        time_to_land: to_land.summary(),
        netsuite_requests: used.netsuite_requests,
        netsuite_requests_per_order: per(used.netsuite_requests, ids.len()),
        netsuite_throttled: used.netsuite_throttled,
        netsuite_peak_concurrency: rig.sandbox.netsuite.peak_concurrency(),
        get_order_detail_calls: used.get_order_detail,
        get_order_detail_per_order: per(used.get_order_detail, ids.len()),
        webhook_failures: sent.failed,
    })
}

fn slow_netsuite(rig: &Rig, plan: &OrderPlan) {
    rig.sandbox.netsuite.set_faults(NetSuiteFaults {
        latency_ms: Some(u64::try_from(plan.netsuite_latency.as_millis()).unwrap_or(u64::MAX)),
        ..NetSuiteFaults::default()
    });
}

fn bridge_overrides(plan: &OrderPlan, customer: Option<&str>) -> Vec<(&'static str, String)> {
    let mut o = vec![
        ("BRIDGE_ROLE", "all".to_string()),
        ("NETSUITE_CONCURRENCY", plan.netsuite_limit.to_string()),
    ];
    if let Some(c) = customer {
        o.push(("NETSUITE_CUSTOMER_ID", c.to_string()));
    }
    o
}

/// Fixed-customer mode: the steady run, then the burst on the same (warm) bridge.
pub async fn fixed_customer(rig: &Rig, plan: &OrderPlan) -> anyhow::Result<(SteadyRun, BurstRun)> {
    let scope = rig.scope("orders");
    let customer = rig
        .sandbox
        .netsuite
        .add_customer(Some("bench-tiktok-shop"), "TikTok Shop (bench)");
    slow_netsuite(rig, plan);
    let bridge = rig
        .start_bridge(&scope, &bridge_overrides(plan, Some(&customer)))
        .await?;
    let result = async {
        warm_up(rig, &bridge, 10, false).await?;
        let s = steady(rig, &bridge, plan, 11, plan.steady_orders, false).await?;
        let b = burst(rig, &bridge, plan, 12).await?;
        Ok::<_, anyhow::Error>((s, b))
    }
    .await;
    bridge.shutdown().await;
    rig.sandbox.netsuite.clear_faults();
    let cleaned = rig.cleanup(&scope).await;
    let result = result?;
    cleaned?;
    Ok(result)
}

/// Per-buyer mode: each order's buyer is new, so each needs its customer upserted.
pub async fn per_buyer(rig: &Rig, plan: &OrderPlan) -> anyhow::Result<SteadyRun> {
    let scope = rig.scope("per-buyer");
    slow_netsuite(rig, plan);
    let bridge = rig
        .start_bridge(&scope, &bridge_overrides(plan, None))
        .await?;
    let result = async {
        warm_up(rig, &bridge, 20, true).await?;
        steady(rig, &bridge, plan, 21, plan.per_buyer_orders, true).await
    }
    .await;
    bridge.shutdown().await;
    rig.sandbox.netsuite.clear_faults();
    let cleaned = rig.cleanup(&scope).await;
    let result = result?;
    cleaned?;
    Ok(result)
}

//! Figure 1: ingress throughput and latency. The same load generator drives a bare axum
//! handler that answers 200 and the bridge's real router (signature check, dedupe, durable
//! enqueue) on the same machine, alternating rounds so drift hits both alike. The bridge
//! runs with role `ingress` so no worker competes for the CPU.

use super::load::{drive, drive_paced, LoadRun, LoadSummary, RequestMaker};
use super::rig::{webhook_url, Rig};
use super::stats::{process_cpu_seconds, CpuUse};
use axum::body::Bytes;
use axum::http::StatusCode;
use axum::routing::post;
use axum::Router;
use serde::Serialize;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

#[derive(Debug, Clone)]
pub struct IngressPlan {
    /// Measured requests per target (split across rounds).
    pub requests: usize,
    /// Unmeasured requests per target first, to open connections and warm caches.
    pub warmup: usize,
    pub concurrency: usize,
    pub rounds: usize,
    /// Requests per second of the paced (below saturation) run, and how many.
    pub paced_rate: f64,
    pub paced_requests: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct IngressResult {
    pub concurrency: usize,
    pub rounds: usize,
    pub bare: LoadSummary,
    pub bridge: LoadSummary,
    /// Bridge req/s ÷ bare req/s.
    pub rps_ratio: f64,
    /// CPU over the measured rounds: this process (load generator + server under test)
    /// and the Redis server.
    pub bare_cpu: CpuUse,
    pub bridge_cpu: CpuUse,
    /// The bridge at a steady `paced_rate` (open loop), well below saturation.
    pub paced_rate: f64,
    pub bridge_paced: LoadSummary,
    /// Jobs the bridge's queue held afterwards (should equal the bridge's 200s + warm-up).
    pub jobs_enqueued: u64,
}

async fn bare_ok(_body: Bytes) -> StatusCode {
    StatusCode::OK
}

/// A bare axum server answering 200 to `POST /webhooks/tiktok`; stops with `stop`.
async fn start_bare(stop: CancellationToken) -> anyhow::Result<String> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let app = Router::new().route("/webhooks/tiktok", post(bare_ok));
    tokio::spawn(async move {
        let serve = axum::serve(listener, app)
            .with_graceful_shutdown(async move { stop.cancelled().await });
        if let Err(e) = serve.await {
            tracing::warn!(error = %e, "bench bare server stopped");
        }
    });
    Ok(format!("http://{addr}/webhooks/tiktok"))
}

/// Webhook `i` of a run: a distinct notification and order id each time.
fn maker(rig: &Rig, tag: u32) -> RequestMaker {
    let signer = rig.signer.clone();
    let now = bridge::queue::now_ms() / 1000;
    Arc::new(move |i: usize| {
        let nid = format!("7{tag:06}{i:012}");
        let oid = format!("58{tag:06}{i:010}");
        let body = signer.order_status(&nid, &oid, now);
        let sig = signer.sign(&body);
        (body, sig)
    })
}

pub async fn run(rig: &Rig, plan: &IngressPlan) -> anyhow::Result<IngressResult> {
    let scope = rig.scope("ingress");
    let stop = CancellationToken::new();
    let bare_url = start_bare(stop.clone()).await?;
    let bridge = rig
        .start_bridge(&scope, &[("BRIDGE_ROLE", "ingress".to_string())])
        .await?;
    let result = measure(rig, plan, &bare_url, &bridge).await;
    stop.cancel();
    bridge.shutdown().await;
    // Ingress writes per-order history off the answer's path; let it land before deleting.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let cleaned = rig.cleanup(&scope).await;
    let result = result?;
    cleaned?;
    Ok(result)
}

async fn measure(
    rig: &Rig,
    plan: &IngressPlan,
    bare_url: &str,
    bridge: &bridge::app::RunningBridge,
) -> anyhow::Result<IngressResult> {
    let bridge_url = webhook_url(bridge)?;
    // Distinct ids per target so the bridge never sees a duplicate.
    let tag: u32 = rand::random::<u32>() % 1_000_000;
    let bare_make = maker(rig, tag);
    let bridge_make = maker(rig, (tag + 1) % 1_000_000);
    let c = plan.concurrency;
    let http = &rig.http;

    let _ = drive(http, bare_url, 0, plan.warmup, c, bare_make.clone()).await;
    let _ = drive(http, &bridge_url, 0, plan.warmup, c, bridge_make.clone()).await;

    let rounds = plan.rounds.max(1);
    let per_round = (plan.requests / rounds).max(1);
    let mut bare = LoadRun::default();
    let mut real = LoadRun::default();
    let mut bare_cpu = CpuUse::default();
    let mut bridge_cpu = CpuUse::default();
    let mut next = plan.warmup;
    for _ in 0..rounds {
        let (run, cpu) = metered(
            rig,
            drive(http, bare_url, next, per_round, c, bare_make.clone()),
        )
        .await;
        bare.merge(run);
        bare_cpu.add(cpu);
        let (run, cpu) = metered(
            rig,
            drive(http, &bridge_url, next, per_round, c, bridge_make.clone()),
        )
        .await;
        real.merge(run);
        bridge_cpu.add(cpu);
        next += per_round;
    }

    let paced = drive_paced(
        http,
        &bridge_url,
        next,
        plan.paced_requests,
        plan.paced_rate,
        bridge_make.clone(),
    )
    .await;

    // Nothing consumes the stream (role ingress): its depth is what was enqueued.
    let jobs_enqueued = bridge.queue.stats().await.map(|s| s.depth).unwrap_or(0);

    let bare = bare.summary();
    let bridge = real.summary();
    Ok(IngressResult {
        concurrency: c,
        rounds,
        rps_ratio: bridge.req_per_s / bare.req_per_s,
        bare,
        bridge,
        bare_cpu,
        bridge_cpu,
        paced_rate: plan.paced_rate,
        bridge_paced: paced.summary(),
        jobs_enqueued,
    })
}

/// Runs `work` and reports the CPU this process and the storage server spent meanwhile.
async fn metered<T>(rig: &Rig, work: impl std::future::Future<Output = T>) -> (T, CpuUse) {
    let server0 = rig.backend.server_cpu_seconds().await;
    let process0 = process_cpu_seconds();
    let started = std::time::Instant::now();
    let out = work.await;
    let wall_s = started.elapsed().as_secs_f64();
    let process1 = process_cpu_seconds();
    let server1 = rig.backend.server_cpu_seconds().await;
    let cpu = CpuUse {
        wall_s,
        process_s: match (process0, process1) {
            (Some(a), Some(b)) => b - a,
            _ => f64::NAN,
        },
        server_s: match (server0, server1) {
            (Some(a), Some(b)) => Some(b - a),
            _ => None,
        },
    };
    (out, cpu)
}

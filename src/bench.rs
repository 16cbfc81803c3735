//! `bench`: measures the DESIGN.md §9 figures in one process against the built-in sandbox
//! (all traffic on 127.0.0.1), prints them beside their targets and writes them as JSON.
//! Every ratio compares against a baseline measured in the same run; nothing here is a
//! timed assertion.

mod backend;
mod ingress;
mod inventory;
mod load;
mod orders;
mod report;
mod rig;
#[cfg(test)]
mod smoke;
mod stats;

pub use backend::{Backend, BackendKind};
pub use ingress::{IngressPlan, IngressResult};
pub use inventory::{LiveStreamPlan, LiveStreamResult};
pub use orders::{BurstRun, OrderPlan, SteadyRun};
pub use report::Figure;
#[cfg(test)]
pub use report::Verdict;

use anyhow::Context;
use rig::Rig;
use serde::Serialize;
use std::path::PathBuf;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// Smaller sizes: the whole run in about 25 s instead of about 90 s.
    #[arg(long)]
    pub quick: bool,
    /// Measured webhooks per ingress target (bare handler, bridge) [default: 40000; quick 10000].
    #[arg(long)]
    pub requests: Option<usize>,
    /// Webhooks in flight at once from the load generator.
    #[arg(long, default_value_t = 32)]
    pub concurrency: usize,
    /// Orders in the steady latency run [default: 200; quick 40].
    #[arg(long)]
    pub orders: Option<usize>,
    /// Orders per second in the steady runs (keep well below limit ÷ latency).
    #[arg(long, default_value_t = 5.0)]
    pub rate: f64,
    /// Orders in the per-buyer-customer run [default: 40; quick 10].
    #[arg(long)]
    pub per_buyer_orders: Option<usize>,
    /// Orders queued at once for the throughput figure [default: 300; quick 100].
    #[arg(long)]
    pub burst: Option<usize>,
    /// NetSuite sandbox processing time per request, in ms.
    #[arg(long, default_value_t = 300)]
    pub netsuite_latency_ms: u64,
    /// NetSuite sandbox account concurrency limit, and the bridge's NETSUITE_CONCURRENCY.
    #[arg(long, default_value_t = 5)]
    pub netsuite_limit: usize,
    /// Queue and state backend of the bridges under test. Default: Redis when `REDIS_URL`
    /// is set, else the embedded database, as `serve` chooses.
    #[arg(long, value_enum)]
    pub backend: Option<BackendKind>,
    /// Live-stream scenario: buyer checkouts attempted over the compressed hour
    /// [default: 2400; quick 1200].
    #[arg(long)]
    pub live_attempts: Option<usize>,
    /// Live-stream scenario: wall-clock seconds the hour is compressed into [default: 20; quick 10].
    #[arg(long)]
    pub live_hour_secs: Option<f64>,
    /// Live-stream scenario: share of the hour (from its start) over which the second channel
    /// sells its 20 units; 1 spreads them over the whole hour.
    #[arg(long, default_value_t = 1.0)]
    pub channel2_window: f64,
    /// Live-stream scenario: the polling baseline pushes stock every this many (scenario) minutes.
    #[arg(long, default_value_t = 5.0)]
    pub poll_minutes: f64,
    /// Live-stream scenario: `INVENTORY_SAFETY_BUFFER` of the third run (event-driven with a
    /// buffer; the first runs with none).
    #[arg(long, default_value_t = 2)]
    pub live_buffer: u32,
    /// Where to write the results as JSON.
    #[arg(long, default_value = "bench-results.json")]
    pub json: PathBuf,
}

/// Sizes and settings of one run.
#[derive(Debug, Clone, Serialize)]
pub struct Options {
    pub ingress_requests: usize,
    pub ingress_warmup: usize,
    pub ingress_rounds: usize,
    pub paced_rate: f64,
    pub paced_requests: usize,
    pub concurrency: usize,
    pub steady_orders: usize,
    pub per_buyer_orders: usize,
    pub rate_per_s: f64,
    pub burst_orders: usize,
    pub netsuite_latency_ms: u64,
    pub netsuite_limit: usize,
    pub live_stock: u32,
    pub live_attempts: usize,
    pub live_channel2_units: u32,
    pub live_hour_secs: f64,
    pub poll_minutes: f64,
    pub live_channel2_window: f64,
    pub live_buffer: u32,
    #[serde(skip)]
    pub backend: BackendKind,
}

impl Options {
    pub fn from_args(a: &Args) -> Options {
        let pick = |given: Option<usize>, full: usize, quick: usize| {
            given.unwrap_or(if a.quick { quick } else { full })
        };
        let requests = pick(a.requests, 40_000, 10_000).max(1);
        Options {
            ingress_requests: requests,
            ingress_warmup: (requests / 10).clamp(1, 2_000),
            ingress_rounds: if requests >= 1_000 { 4 } else { 1 },
            paced_rate: 1_000.0,
            paced_requests: if a.quick { 2_000 } else { 5_000 },
            concurrency: a.concurrency.max(1),
            steady_orders: pick(a.orders, 200, 40).max(1),
            per_buyer_orders: pick(a.per_buyer_orders, 40, 10).max(1),
            rate_per_s: a.rate.max(0.1),
            burst_orders: pick(a.burst, 300, 100).max(1),
            netsuite_latency_ms: a.netsuite_latency_ms.max(1),
            netsuite_limit: a.netsuite_limit.max(1),
            live_stock: 100,
            live_attempts: pick(a.live_attempts, 2_400, 1_200).max(1),
            live_channel2_units: 20,
            live_hour_secs: a
                .live_hour_secs
                .unwrap_or(if a.quick { 10.0 } else { 20.0 })
                .max(0.5),
            poll_minutes: a.poll_minutes.max(0.01),
            live_channel2_window: a.channel2_window.clamp(0.001, 1.0),
            live_buffer: a.live_buffer,
            backend: a.backend.unwrap_or_else(|| {
                if std::env::var("REDIS_URL").is_ok_and(|v| !v.trim().is_empty()) {
                    BackendKind::Redis
                } else {
                    BackendKind::Embedded
                }
            }),
        }
    }

    /// A few seconds in all: for the smoke test, where only the result's shape matters.
    #[cfg(test)]
    pub fn tiny(backend: BackendKind) -> Options {
        Options {
            ingress_requests: 200,
            ingress_warmup: 20,
            ingress_rounds: 1,
            paced_rate: 200.0,
            paced_requests: 40,
            concurrency: 8,
            steady_orders: 5,
            per_buyer_orders: 3,
            rate_per_s: 20.0,
            burst_orders: 10,
            netsuite_latency_ms: 50,
            netsuite_limit: 5,
            live_stock: 10,
            live_attempts: 60,
            live_channel2_units: 3,
            live_hour_secs: 2.0,
            poll_minutes: 5.0,
            live_channel2_window: 1.0,
            live_buffer: 1,
            backend,
        }
    }

    fn live_plan(&self) -> LiveStreamPlan {
        LiveStreamPlan {
            stock: self.live_stock,
            attempts: self.live_attempts,
            channel2_units: self.live_channel2_units,
            hour: Duration::from_secs_f64(self.live_hour_secs),
            channel2_window: self.live_channel2_window,
            poll_minutes: self.poll_minutes,
            netsuite_latency: Duration::from_millis(self.netsuite_latency_ms),
            netsuite_limit: self.netsuite_limit,
            buffer: self.live_buffer,
        }
    }

    fn order_plan(&self) -> OrderPlan {
        OrderPlan {
            steady_orders: self.steady_orders,
            per_buyer_orders: self.per_buyer_orders,
            rate: self.rate_per_s,
            burst_orders: self.burst_orders,
            netsuite_latency: Duration::from_millis(self.netsuite_latency_ms),
            netsuite_limit: self.netsuite_limit,
            concurrency: self.concurrency,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct MemoryResult {
    /// VmRSS when `bench` started, before anything ran.
    pub at_start_mib: Option<f64>,
    /// VmRSS with the sandbox and an idle bridge (all roles) started, before any load.
    pub idle_mib: Option<f64>,
    /// VmHWM at the end: the whole process (bridges, sandbox, load generator) at its peak.
    pub peak_mib: Option<f64>,
}

/// Everything one run measured.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Prefix of every scope (key prefix / data dir) the run used; all deleted at the end.
    pub run_id: String,
    pub backend: String,
    pub backend_kind: String,
    pub cpus: usize,
    pub options: Options,
    pub ingress: IngressResult,
    pub steady: SteadyRun,
    pub burst: BurstRun,
    pub per_buyer: SteadyRun,
    pub live_stream: LiveStreamResult,
    pub memory: MemoryResult,
    pub figures: Vec<Figure>,
    pub duration_s: f64,
}

/// Runs every phase and returns the report (the core of `bench`, without printing).
pub async fn run_suite(opts: &Options) -> anyhow::Result<Report> {
    let started = Instant::now();
    let at_start = stats::memory().rss_mib;
    let run_id = format!("bench-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let backend = Backend::choose(opts.backend, &run_id);
    let rig = Rig::new(backend, run_id, opts.netsuite_limit, opts.concurrency).await?;
    let phases = run_phases(&rig, opts).await;
    let swept = rig.sweep().await;
    let (ingress, (steady, burst), per_buyer, live_stream, idle) = phases?;
    swept.context("cleaning up the bench's data")?;
    let memory = MemoryResult {
        at_start_mib: at_start,
        idle_mib: idle,
        peak_mib: stats::memory().peak_rss_mib,
    };
    let mut figures = figures(opts, &ingress, &steady, &burst, &per_buyer, &memory);
    live_figures(&live_stream, &mut figures);
    Ok(Report {
        run_id: rig.run_id.clone(),
        backend: rig.backend.describe(),
        backend_kind: rig.backend.name().to_string(),
        cpus: std::thread::available_parallelism().map_or(1, usize::from),
        options: opts.clone(),
        ingress,
        steady,
        burst,
        per_buyer,
        live_stream,
        memory,
        figures,
        duration_s: started.elapsed().as_secs_f64(),
    })
}

type Phases = (
    IngressResult,
    (SteadyRun, BurstRun),
    SteadyRun,
    LiveStreamResult,
    Option<f64>,
);

async fn run_phases(rig: &Rig, opts: &Options) -> anyhow::Result<Phases> {
    let idle = idle_rss(rig).await?;
    eprintln!("bench: ingress (bare handler vs bridge)…");
    let ingress = ingress::run(
        rig,
        &IngressPlan {
            requests: opts.ingress_requests,
            warmup: opts.ingress_warmup,
            concurrency: opts.concurrency,
            rounds: opts.ingress_rounds,
            paced_rate: opts.paced_rate,
            paced_requests: opts.paced_requests,
        },
    )
    .await
    .context("ingress phase")?;
    let plan = opts.order_plan();
    eprintln!("bench: orders, fixed customer (steady run, then burst)…");
    let fixed = orders::fixed_customer(rig, &plan)
        .await
        .context("fixed-customer order phase")?;
    eprintln!("bench: orders, per-buyer customers…");
    let per_buyer = orders::per_buyer(rig, &plan)
        .await
        .context("per-buyer order phase")?;
    eprintln!(
        "bench: inventory live stream (event-driven, with a safety buffer, then polling baseline)…"
    );
    let live = inventory::run(rig, &opts.live_plan())
        .await
        .context("live-stream inventory phase")?;
    Ok((ingress, fixed, per_buyer, live, idle))
}

/// VmRSS with the sandbox and an idle bridge (ingress + workers + timers) up.
async fn idle_rss(rig: &Rig) -> anyhow::Result<Option<f64>> {
    let scope = rig.scope("idle");
    let bridge = rig.start_bridge(&scope, &[]).await?;
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let rss = stats::memory().rss_mib;
    bridge.shutdown().await;
    rig.cleanup(&scope).await?;
    Ok(rss)
}

fn per_req_us(cpu_s: f64, requests: u64) -> String {
    if requests == 0 {
        return "?".into();
    }
    format!("{:.0}", cpu_s * 1e6 / requests as f64)
}

fn ms(v: f64) -> String {
    format!("{v:.1} ms")
}

fn figures(
    opts: &Options,
    ingress: &IngressResult,
    steady: &SteadyRun,
    burst: &BurstRun,
    per_buyer: &SteadyRun,
    memory: &MemoryResult,
) -> Vec<Figure> {
    let b = &ingress.bridge;
    let bare = &ingress.bare;
    let ns_ms = opts.netsuite_latency_ms;
    let mut f = vec![
        Figure::checked(
            "ingress_rps_ratio",
            "Ingress req/s vs bare axum",
            ingress.rps_ratio * 100.0,
            "%",
            format!(
                "{:.0} vs {:.0} req/s = {:.0}% ({} in flight, {}/{} ok)",
                b.req_per_s,
                bare.req_per_s,
                ingress.rps_ratio * 100.0,
                ingress.concurrency,
                b.ok,
                b.requests
            ),
            ">= 50% of bare",
            |v| v >= 50.0,
        ),
        Figure::checked(
            "ingress_p99_ms",
            "Ingress p99 latency",
            b.latency.p99_ms,
            "ms",
            format!(
                "p99 {} (p50 {}; bare p99 {})",
                ms(b.latency.p99_ms),
                ms(b.latency.p50_ms),
                ms(bare.latency.p99_ms)
            ),
            "< 5 ms",
            |v| v < 5.0,
        ),
        Figure::info(
            "ingress_paced_p99_ms",
            "Ingress p99 below saturation",
            ingress.bridge_paced.latency.p99_ms,
            "ms",
            format!(
                "p99 {} (p50 {}) at a steady {:.0} req/s, {}/{} ok",
                ms(ingress.bridge_paced.latency.p99_ms),
                ms(ingress.bridge_paced.latency.p50_ms),
                ingress.paced_rate,
                ingress.bridge_paced.ok,
                ingress.bridge_paced.requests
            ),
        ),
        Figure::info(
            "ingress_process_cores",
            "Ingress CPU use (where the time goes)",
            ingress.bridge_cpu.process_cores(),
            "cores",
            format!(
                "bridge: {} µs CPU/req, {:.2} cores busy{}; bare: {} µs/req, {:.2} cores",
                per_req_us(ingress.bridge_cpu.process_s, b.requests),
                ingress.bridge_cpu.process_cores(),
                ingress
                    .bridge_cpu
                    .server_s
                    .map(|s| format!(
                        " + Redis {} µs/req, {:.2} cores",
                        per_req_us(s, b.requests),
                        ingress.bridge_cpu.server_cores().unwrap_or(f64::NAN)
                    ))
                    .unwrap_or_default(),
                per_req_us(ingress.bare_cpu.process_s, bare.requests),
                ingress.bare_cpu.process_cores(),
            ),
        ),
        Figure::checked(
            "order_overhead_p99_ms",
            "Order latency overhead (p99)",
            steady.overhead_p99_ms,
            "ms",
            format!(
                "p50 {} p99 {} end to end; p99 {} over NetSuite's {ns_ms} ms ({}/{} orders at {}/s)",
                ms(steady.latency.p50_ms),
                ms(steady.latency.p99_ms),
                ms(steady.overhead_p99_ms),
                steady.landed,
                steady.orders,
                steady.rate_per_s
            ),
            "< 100 ms over NetSuite",
            |v| v < 100.0,
        ),
        Figure::checked(
            "netsuite_requests_per_order",
            "NetSuite requests/order (fixed customer)",
            steady.netsuite_requests_per_order,
            "req/order",
            format!(
                "{:.2} ({} requests, {} of them 429, {} orders)",
                steady.netsuite_requests_per_order,
                steady.netsuite_requests,
                steady.netsuite_throttled,
                steady.orders
            ),
            "<= 1.1",
            |v| v <= 1.1,
        ),
        Figure::info(
            "netsuite_requests_per_order_per_buyer",
            "NetSuite requests/order (new buyer each)",
            per_buyer.netsuite_requests_per_order,
            "req/order",
            format!(
                "{:.2} ({} requests, {} orders; p99 latency {})",
                per_buyer.netsuite_requests_per_order,
                per_buyer.netsuite_requests,
                per_buyer.orders,
                ms(per_buyer.latency.p99_ms)
            ),
        ),
        Figure::checked(
            "throughput_share_of_bound",
            "Throughput, share of NetSuite bound",
            burst.share_of_bound * 100.0,
            "%",
            format!(
                "{:.1} orders/s of {:.1} = {:.0}% ({}/{} orders in {:.1} s)",
                burst.orders_per_s,
                burst.bound_orders_per_s,
                burst.share_of_bound * 100.0,
                burst.landed,
                burst.orders,
                burst.elapsed_s
            ),
            ">= 90% of limit/latency",
            |v| v >= 90.0,
        ),
        Figure::checked(
            "get_order_detail_per_order",
            "TikTok Get Order Detail calls/order (burst)",
            burst.get_order_detail_per_order,
            "calls/order",
            format!(
                "{:.2} ({} calls, {} orders)",
                burst.get_order_detail_per_order, burst.get_order_detail_calls, burst.orders
            ),
            "<= 0.1",
            |v| v <= 0.1,
        ),
    ];
    let mem = |v: Option<f64>| v.unwrap_or(f64::NAN);
    f.push(Figure::checked(
        "rss_idle_mib",
        "Memory idle (RSS)",
        mem(memory.idle_mib),
        "MiB",
        format!(
            "{:.1} MiB (bridge + sandbox idle; {:.1} MiB at process start)",
            mem(memory.idle_mib),
            mem(memory.at_start_mib)
        ),
        "< 64 MB",
        |v| v < 64.0,
    ));
    f.push(Figure::checked(
        "rss_peak_mib",
        "Memory peak (VmHWM)",
        mem(memory.peak_mib),
        "MiB",
        format!(
            "{:.1} MiB (whole process: bridge, sandbox, load generator)",
            mem(memory.peak_mib)
        ),
        "< 256 MB",
        |v| v < 256.0,
    ));
    f
}

/// The live-stream figures, inserted before the memory rows.
fn live_figures(live: &LiveStreamResult, f: &mut Vec<Figure>) {
    let e = &live.event_driven;
    let b = &live.buffered;
    let p = &live.polling;
    let at = f.len().saturating_sub(2);
    let rows = vec![
        if e.freshness.count == 0 {
            Figure::not_measured(
                "inventory_freshness_p99",
                "Inventory freshness (NetSuite → TikTok)",
                "p99 < 2 s",
                &format!(
                    "no second-channel sale came while TikTok still listed stock ({} came after)",
                    e.changes_while_sold_out
                ),
            )
        } else {
            Figure::checked(
                "inventory_freshness_p99",
                "Inventory freshness (NetSuite → TikTok)",
                e.freshness.p99_ms / 1000.0,
                "s",
                format!(
                    "p50 {:.2} s p99 {:.2} s ({} changes TikTok had to show); polling every {} min: {}",
                    e.freshness.p50_ms / 1000.0,
                    e.freshness.p99_ms / 1000.0,
                    e.freshness.count,
                    live.plan.poll_minutes,
                    if p.freshness.count == 0 {
                        "no change reached TikTok before it sold out".to_string()
                    } else {
                        format!(
                            "p50 {:.0} s p99 {:.0} s scenario time",
                            p.freshness_scenario_p50_s, p.freshness_scenario_p99_s
                        )
                    }
                ),
                "p99 < 2 s",
                |v| v < 2.0,
            )
        },
        Figure::checked(
            "oversold_units",
            "Oversold units, live-stream scenario",
            e.oversold_units as f64,
            "units",
            format!(
                "{} (TikTok sold {} + other channel {} of {}; {} of {} checkouts refused); polling baseline: {} oversold",
                e.oversold_units,
                e.tiktok_units_sold,
                e.channel2_units_sold,
                live.plan.stock,
                e.tiktok_rejected,
                e.attempts,
                p.oversold_units
            ),
            "0 units",
            |v| v == 0.0,
        ),
        Figure::info(
            "oversold_units_buffered",
            "Oversold units, live stream with a safety buffer",
            b.oversold_units as f64,
            "units",
            format!(
                "INVENTORY_SAFETY_BUFFER={}: {} oversold (TikTok sold {} + other channel {} of {}; {} left unsold)",
                live.plan.buffer,
                b.oversold_units,
                b.tiktok_units_sold,
                b.channel2_units_sold,
                live.plan.stock,
                (i64::from(live.plan.stock)
                    - b.tiktok_units_sold as i64
                    - b.channel2_units_sold as i64)
                    .max(0)
            ),
        ),
        Figure::info(
            "inventory_calls",
            "TikTok inventory calls, live stream",
            e.update_inventory_calls as f64,
            "calls",
            format!(
                "{} updates + {} searches; polling baseline: {} updates",
                e.update_inventory_calls, e.inventory_search_calls, p.update_inventory_calls
            ),
        ),
    ];
    for (i, r) in rows.into_iter().enumerate() {
        f.insert(at + i, r);
    }
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    let opts = Options::from_args(&args);
    let report = run_suite(&opts).await?;
    println!();
    println!(
        "tiktok-netsuite-bridge bench: backend {}; {} CPUs; NetSuite sandbox {} ms/request, limit {}; {:.0} s",
        report.backend,
        report.cpus,
        opts.netsuite_latency_ms,
        opts.netsuite_limit,
        report.duration_s
    );
    println!();
    print!("{}", report::table(&report.figures));
    let json = serde_json::to_vec_pretty(&report).context("encoding the results")?;
    std::fs::write(&args.json, json)
        .with_context(|| format!("cannot write {}", args.json.display()))?;
    println!();
    println!("Details written to {}", args.json.display());
    Ok(())
}

//! `demo`: a live stream played against the built-in sandbox, with the bridge running in
//! the same process on the embedded backend (or Redis when `REDIS_URL` is set). Buyers
//! order, TikTok sends signed webhooks, sales orders appear in NetSuite; along the way come
//! duplicate webhooks, a NetSuite 429 burst, an order with an unknown SKU that is parked and
//! released, and an order only the catch-up poller finds. Then a short after-sale phase
//! (`after_sale`): NetSuite ships a few orders (signed callouts, one delivered twice, one
//! order split in two packages) and the bridge pushes the tracking to TikTok, a buyer
//! cancels an order (its sales order lines close), and a refund-only return becomes a
//! credit memo. It ends with a summary table read back from the sandboxes, and fails when
//! either phase does not reach its end state in time.

mod after_sale;
mod settlement;

use anyhow::Context;
use bridge::app::RunningBridge;
use bridge::config::Config;
use indicatif::{ProgressBar, ProgressStyle};
use parking_lot::Mutex;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use sandbox::netsuite::{NetSuiteFaults, NetSuiteSandboxConfig};
use sandbox::tiktok::fixtures::{sample_order_with, SampleLine, SampleOrderOptions};
use sandbox::tiktok::TikTokSandboxConfig;
use sandbox::SandboxHandle;
use std::collections::BTreeSet;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::task::JoinSet;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Orders the live stream places, the special cases included.
    #[arg(long, default_value_t = 60)]
    pub orders: usize,
    /// Orders per second the buyers place.
    #[arg(long, default_value_t = 6.0)]
    pub rate: f64,
    /// NetSuite's own processing time per request in the sandbox.
    #[arg(long, default_value_t = 300)]
    pub netsuite_latency_ms: u64,
    /// Keep the embedded database here (default: a temporary directory, removed after).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Give up if the sales orders have not all appeared this many seconds after the
    /// last order is placed.
    #[arg(long, default_value_t = 45)]
    pub timeout_secs: u64,
    /// Fail if the after-sale phase (shipments, a cancellation, a refund) has not reached
    /// its end state this many seconds after it starts.
    #[arg(long, default_value_t = 20)]
    pub after_sale_timeout_secs: u64,
}

/// Seed of the stream's plan: every run tells the same story.
const SEED: u64 = 20_240_601;

/// A SKU NetSuite does not know when the stream starts; the demo creates it mid-way.
const NEW_SKU: &str = "MUG-WHT-11OZ";

/// Catalogue the buyers pick from: the sandbox's known SKUs with their prices.
const CATALOGUE: &[(&str, Decimal)] = &[
    ("TSHIRT-BLK-M", dec!(19.99)),
    ("TSHIRT-BLK-L", dec!(19.99)),
    ("HOODIE-GRY-M", dec!(44.00)),
    ("CAP-RED", dec!(12.50)),
];

/// How an order reaches the bridge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Arrival {
    /// One signed webhook.
    Webhook,
    /// The same webhook twice, as TikTok retries when it missed our answer.
    WebhookRetried,
    /// No webhook at all: only the catch-up poller can find it.
    PollerOnly,
}

#[derive(Debug, Clone)]
struct PlannedOrder {
    order_id: String,
    lines: Vec<SampleLine>,
    buyer: String,
    arrival: Arrival,
    /// The NetSuite 429 burst starts as this order is placed.
    starts_throttle_burst: bool,
    /// A buyer who paid market fees, or an order with a free gift line.
    shape: Shape,
}

/// Orders shaped as TikTok sends them beyond products, discounts, shipping and tax.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    Plain,
    /// Handling fee and item insurance, inside `total_amount`.
    Fees,
    /// A zero-priced gift line that still ships.
    Gift,
}

impl PlannedOrder {
    fn units(&self) -> u32 {
        self.lines.iter().map(|l| l.quantity).sum()
    }

    #[cfg(test)]
    fn has_new_sku(&self) -> bool {
        self.lines.iter().any(|l| l.seller_sku == NEW_SKU)
    }
}

/// The stream, decided up front so every run tells the same story: `n` orders, a few SKUs,
/// multi-unit lines, some seller and platform discounts, a dozen returning buyers, and the
/// special cases placed where the stream is busy.
/// `run_id` only makes the order ids new, so a second run on a kept `--data-dir` is not
/// taken for TikTok repeating the first one.
fn plan(n: usize, seed: u64, run_id: u64) -> Vec<PlannedOrder> {
    let mut rng = StdRng::seed_from_u64(seed);
    let base: u64 = 577_000_000_000_000_000 + (run_id % 10_000_000_000) * 100_000;
    let poller_only = (n >= 3).then(|| n - 1);
    let new_sku = (n >= 3).then_some(n / 3);
    let retried: BTreeSet<usize> = [1, n / 2]
        .into_iter()
        .filter(|i| *i < n && Some(*i) != poller_only && Some(*i) != new_sku)
        .collect();
    let burst_at = n / 2;
    let special = |i: usize| Some(i) == poller_only || Some(i) == new_sku || retried.contains(&i);
    let mut free = (0..n).filter(|i| !special(*i));
    let (fees_at, gift_at) = (free.next(), free.next());
    (0..n)
        .map(|i| {
            let mut lines: Vec<SampleLine> = Vec::new();
            let skus = rng.gen_range(1..=2);
            for _ in 0..skus {
                let (sku, price) = CATALOGUE[rng.gen_range(0..CATALOGUE.len())];
                if lines.iter().any(|l| l.seller_sku == sku) {
                    continue;
                }
                let mut line = SampleLine::new(sku, price, rng.gen_range(1..=3));
                if rng.gen_bool(0.3) {
                    line = line.with_discounts(dec!(2.00), dec!(1.00));
                }
                lines.push(line);
            }
            if Some(i) == new_sku {
                lines.push(SampleLine::new(NEW_SKU, dec!(14.00), 2));
            }
            let arrival = if Some(i) == poller_only {
                Arrival::PollerOnly
            } else if retried.contains(&i) {
                Arrival::WebhookRetried
            } else {
                Arrival::Webhook
            };
            PlannedOrder {
                order_id: (base + i as u64).to_string(),
                lines,
                buyer: format!("74940622351462{:05}", rng.gen_range(0..12)),
                arrival,
                starts_throttle_burst: i == burst_at && n >= 4,
                shape: if Some(i) == fees_at {
                    Shape::Fees
                } else if Some(i) == gift_at {
                    Shape::Gift
                } else {
                    Shape::Plain
                },
            }
        })
        .collect()
}

/// Where progress goes: a bar with events printed above it on a terminal, plain
/// timestamped lines otherwise (CI logs, pipes).
struct Progress {
    bar: Option<ProgressBar>,
    started: Instant,
}

impl Progress {
    fn new(total: usize, started: Instant) -> Progress {
        let bar = std::io::stdout().is_terminal().then(|| {
            let bar = ProgressBar::new(total as u64);
            if let Ok(style) = ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {bar:32.cyan/blue} {pos}/{len} sales orders  {msg}",
            ) {
                bar.set_style(style.progress_chars("=> "));
            }
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        Progress { bar, started }
    }

    fn line(&self, text: &str) {
        let stamped = format!("[{:>5.1}s] {text}", self.started.elapsed().as_secs_f64());
        match &self.bar {
            // Once the stream's bar is gone, the after-sale phase prints plain lines.
            Some(bar) if !bar.is_finished() => bar.println(stamped),
            _ => println!("{stamped}"),
        }
    }

    fn status(&self, written: usize, message: String) {
        if let Some(bar) = &self.bar {
            bar.set_position(written as u64);
            bar.set_message(message);
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

/// What the demo saw happen to one order.
#[derive(Debug, Clone)]
struct Track {
    planned: PlannedOrder,
    webhook_sent: Option<Instant>,
    webhook_status: Option<u16>,
    written: Option<Instant>,
    parked_seen: bool,
}

type Tracks = Arc<Mutex<Vec<Track>>>;

/// Where the bridge keeps its queue and state for this run, and what to clean up.
enum Storage {
    Embedded { dir: PathBuf, temporary: bool },
    Redis { url: String, prefix: String },
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    anyhow::ensure!(args.orders >= 1, "--orders must be at least 1");
    anyhow::ensure!(
        args.rate > 0.0 && args.rate.is_finite(),
        "--rate must be a positive number of orders per second"
    );
    let started = Instant::now();
    let storage = match std::env::var("REDIS_URL")
        .ok()
        .filter(|u| !u.trim().is_empty())
    {
        Some(url) => Storage::Redis {
            url,
            prefix: format!("demo-{}", &uuid::Uuid::new_v4().simple().to_string()[..12]),
        },
        None => match &args.data_dir {
            Some(dir) => {
                // Its caches name NetSuite records of an earlier sandbox, which died with
                // that run: this run's fresh sandbox would reject them.
                anyhow::ensure!(
                    !dir.join(bridge::queue::sqlite::DB_FILE).exists(),
                    "--data-dir {} already holds a bridge database from an earlier run; \
                     the demo's sandbox starts empty each time, so give it an empty directory",
                    dir.display()
                );
                Storage::Embedded {
                    dir: dir.clone(),
                    temporary: false,
                }
            }
            None => Storage::Embedded {
                dir: std::env::temp_dir()
                    .join(format!("bridge-demo-{}", uuid::Uuid::new_v4().simple())),
                temporary: true,
            },
        },
    };
    let sandbox = sandbox::spawn_with(
        "127.0.0.1:0".parse().context("sandbox address")?,
        TikTokSandboxConfig::default(),
        NetSuiteSandboxConfig {
            latency: Duration::from_millis(args.netsuite_latency_ms),
            ..Default::default()
        },
    )
    .await
    .context("cannot start the sandbox")?;

    let cfg = demo_config(&sandbox, &storage)?;
    let backend = cfg.queue.backend.describe();
    let running = match bridge::app::start(cfg, None).await {
        Ok(running) => running,
        Err(e) => {
            cleanup(&storage).await;
            return Err(e.context("cannot start the bridge"));
        }
    };
    let bridge_url = format!(
        "http://{}/webhooks/tiktok",
        running.addr.context("the bridge serves HTTP")?
    );
    sandbox.set_webhook_target(&bridge_url);

    print_banner(&args, &sandbox, &backend, &bridge_url);
    let progress = Arc::new(Progress::new(args.orders, Instant::now()));
    let outcome = match play(&args, &sandbox, &running, &bridge_url, &progress).await {
        Ok(tracks) => {
            // The stream's figures, before the after-sale phase adds requests of its own.
            let summary = Summary::collect(&tracks, &sandbox, &running.metrics, &backend, &args);
            let planned: Vec<PlannedOrder> = tracks.iter().map(|t| t.planned.clone()).collect();
            let timeout = Duration::from_secs(args.after_sale_timeout_secs);
            match after_sale::run(&planned, &sandbox, &running, &progress, timeout).await {
                Ok(after) => {
                    let ids: Vec<String> = planned.iter().map(|p| p.order_id.clone()).collect();
                    settlement::run(&ids, &sandbox, timeout)
                        .await
                        .map(|settled| (summary, after, settled))
                }
                Err(e) => Err(e),
            }
        }
        Err(e) => Err(e),
    };
    // Whatever happened, stop the bridge (draining in-flight jobs) before cleaning up.
    let queue_stats = running.queue.stats().await.ok();
    running.shutdown().await;
    cleanup(&storage).await;
    let (mut summary, after, settled) = outcome?;
    summary.dead = queue_stats.map(|q| q.dead);
    let unmet = after.unmet.clone();
    let unsettled = settled.unmet();
    summary.after = Some(after);
    summary.settlement = Some(settled);
    println!("{}", summary.render(started.elapsed()));
    anyhow::ensure!(
        summary.created == summary.orders,
        "only {} of {} orders became sales orders",
        summary.created,
        summary.orders
    );
    anyhow::ensure!(
        unmet.is_empty(),
        "the after-sale phase did not reach its end state within {} s: {}",
        args.after_sale_timeout_secs,
        unmet.join("; ")
    );
    anyhow::ensure!(
        unsettled.is_empty(),
        "the settlement phase did not reach its end state within {} s: {}",
        args.after_sale_timeout_secs,
        unsettled.join("; ")
    );
    Ok(())
}

fn demo_config(sandbox: &SandboxHandle, storage: &Storage) -> anyhow::Result<Config> {
    let mut settings = sandbox.bridge_settings();
    let backend: Vec<(&str, String)> = match storage {
        Storage::Embedded { dir, .. } => vec![("DATA_DIR", dir.display().to_string())],
        Storage::Redis { url, prefix } => {
            vec![
                ("REDIS_URL", url.clone()),
                ("REDIS_KEY_PREFIX", prefix.clone()),
            ]
        }
    };
    for (k, v) in backend.into_iter().chain([
        ("BIND_ADDR", "127.0.0.1:0".to_string()),
        ("CONSUMER_NAME", "demo".to_string()),
        // Short timers so the parked order and the webhook-less order resolve while you watch.
        ("POLL_INTERVAL_SECS", "2".to_string()),
        ("UNPARK_INTERVAL_SECS", "1".to_string()),
        ("JOB_RETRY_BASE_MS", "250".to_string()),
        ("JOB_RETRY_MAX_MS", "2000".to_string()),
        ("SHUTDOWN_GRACE_SECS", "10".to_string()),
        // The closing settlement: the timer looks every second.
        ("SETTLEMENT_ACCOUNTS", settlement::accounts(sandbox)),
        ("SETTLEMENT_POLL_SECS", "1".to_string()),
    ]) {
        settings.insert(k.to_string(), v);
    }
    Ok(Config::from_source(&settings)?)
}

fn print_banner(args: &Args, sandbox: &SandboxHandle, backend: &str, bridge_url: &str) {
    let t = sandbox.tiktok.config();
    println!("TikTok Shop → NetSuite bridge: live-stream demo");
    println!("  backend   {backend}");
    println!("  bridge    {bridge_url}");
    println!(
        "  sandbox   {} (TikTok Shop + NetSuite; NetSuite latency {} ms, concurrency limit {})",
        sandbox.base_url,
        args.netsuite_latency_ms,
        sandbox.netsuite.config().concurrency_limit
    );
    println!(
        "  stream    {} orders at {} orders/s",
        args.orders, args.rate
    );
    println!();
    println!(
        "While it runs, send your own signed webhook to {bridge_url} \
         (app key {:?}, app secret {:?}):",
        t.app_key, t.app_secret
    );
    for line in sandbox.describe().lines() {
        println!("  {line}");
    }
    println!();
    println!(
        "After the stream: shipments from NetSuite pushed to TikTok, a cancellation and a refund. \
         Inventory sync is not in this demo: `bench` plays it (live-stream scenario)."
    );
    println!();
}

/// Places the orders at the chosen rate and waits for every sales order.
async fn play(
    args: &Args,
    sandbox: &SandboxHandle,
    running: &RunningBridge,
    bridge_url: &str,
    progress: &Arc<Progress>,
) -> anyhow::Result<Vec<Track>> {
    let run_id = u64::try_from(bridge::queue::now_ms()).unwrap_or(0);
    let planned = plan(args.orders, SEED, run_id);
    let tracks: Tracks = Arc::new(Mutex::new(
        planned
            .iter()
            .map(|p| Track {
                planned: p.clone(),
                webhook_sent: None,
                webhook_status: None,
                written: None,
                parked_seen: false,
            })
            .collect(),
    ));
    let mut senders = JoinSet::new();
    let gap = Duration::from_secs_f64(1.0 / args.rate);
    let stream_start = tokio::time::Instant::now();
    let mut watch = Watch::default();

    for (i, order) in planned.iter().enumerate() {
        tokio::select! {
            _ = tokio::time::sleep_until(stream_start + gap * i as u32) => {}
            _ = tokio::signal::ctrl_c() => anyhow::bail!("interrupted"),
        }
        place(sandbox, order).context("the TikTok sandbox refused a demo order")?;
        if order.starts_throttle_burst {
            sandbox.netsuite.set_faults(NetSuiteFaults {
                throttle_rate: 0.9,
                for_ms: Some(1500),
                ..Default::default()
            });
            progress.line("NetSuite answers 429 CONCURRENCY_LIMIT_EXCEEDED for 1.5 s (a burst)");
        }
        match order.arrival {
            Arrival::PollerOnly => progress.line(&format!(
                "order {} placed; TikTok never sends its webhook (the catch-up poller must find it)",
                order.order_id
            )),
            Arrival::Webhook | Arrival::WebhookRetried => {
                let sent = send_webhooks(sandbox, order, bridge_url, &tracks, progress);
                senders.spawn(sent);
            }
        }
        watch.tick(sandbox, running, &tracks, progress).await;
    }
    progress.line(&format!(
        "all {} orders placed; waiting for the last sales orders",
        planned.len()
    ));

    let deadline = tokio::time::Instant::now() + Duration::from_secs(args.timeout_secs);
    loop {
        watch.tick(sandbox, running, &tracks, progress).await;
        if tracks.lock().iter().all(|t| t.written.is_some()) {
            break;
        }
        if tokio::time::Instant::now() > deadline {
            progress.finish();
            let missing: Vec<String> = tracks
                .lock()
                .iter()
                .filter(|t| t.written.is_none())
                .map(|t| t.planned.order_id.clone())
                .collect();
            anyhow::bail!("timed out waiting for the sales orders of {missing:?}");
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(10)) => {}
            _ = tokio::signal::ctrl_c() => { progress.finish(); anyhow::bail!("interrupted") }
        }
    }
    while senders.join_next().await.is_some() {}
    // Let retries and poller re-reads that are still queued finish, so the counts are final.
    let settle = tokio::time::Instant::now() + Duration::from_secs(5);
    while tokio::time::Instant::now() < settle {
        match running.queue.stats().await {
            Ok(s) if s.depth == 0 && s.pending == 0 && s.delayed == 0 => break,
            _ => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
    progress.finish();
    let tracks = tracks.lock().clone();
    Ok(tracks)
}

/// A buyer pays: the order appears in the TikTok sandbox, ready to ship.
fn place(sandbox: &SandboxHandle, order: &PlannedOrder) -> anyhow::Result<()> {
    let opts = SampleOrderOptions {
        user_id: order.buyer.clone(),
        ..Default::default()
    };
    let mut json = sample_order_with(&order.order_id, "AWAITING_SHIPMENT", &order.lines, &opts);
    shape(&mut json, order.shape);
    sandbox
        .tiktok
        .insert_order(json)
        .map_err(|e| anyhow::anyhow!("{}", e.0))?;
    Ok(())
}

/// Market fees on the payment (and in its total), or a free gift line.
fn shape(json: &mut serde_json::Value, shape: Shape) {
    let money = |v: &serde_json::Value| -> Decimal {
        v.as_str().and_then(|s| s.parse().ok()).unwrap_or_default()
    };
    match shape {
        Shape::Plain => {}
        Shape::Fees => {
            let p = &mut json["payment"];
            p["handling_fee"] = serde_json::json!("1.20");
            p["item_insurance_fee"] = serde_json::json!("2.99");
            let total = money(&p["total_amount"]) + DEMO_FEES;
            p["total_amount"] = serde_json::json!(format!("{total:.2}"));
        }
        Shape::Gift => {
            let Some(first) = json["line_items"].get(0).cloned() else {
                return;
            };
            let mut gift = first;
            let id = format!("{}999", json["id"].as_str().unwrap_or_default());
            gift["id"] = serde_json::json!(id);
            gift["seller_sku"] = serde_json::json!(GIFT_SKU);
            gift["sku_id"] = serde_json::json!("1729592969712209999");
            gift["product_name"] = serde_json::json!("Free gift");
            for f in [
                "original_price",
                "sale_price",
                "seller_discount",
                "platform_discount",
            ] {
                gift[f] = serde_json::json!("0.00");
            }
            gift["item_tax"] = serde_json::json!([]);
            gift["is_gift"] = serde_json::json!(true);
            if let Some(items) = json["line_items"].as_array_mut() {
                items.push(gift);
            }
        }
    }
}

/// What the fees order's buyer paid on top (handling 1.20 + insurance 2.99).
const DEMO_FEES: Decimal = dec!(4.19);
/// The demo's gift: a catalogue item given away at zero.
const GIFT_SKU: &str = "HOODIE-GRY-M";

/// TikTok sends the signed order-status webhook (twice with the same notification id when
/// it "missed" our first answer).
fn send_webhooks(
    sandbox: &SandboxHandle,
    order: &PlannedOrder,
    bridge_url: &str,
    tracks: &Tracks,
    progress: &Arc<Progress>,
) -> impl std::future::Future<Output = ()> + Send + 'static {
    let tiktok = sandbox.tiktok.clone();
    let url = bridge_url.to_string();
    let order = order.clone();
    let tracks = tracks.clone();
    let progress = progress.clone();
    async move {
        let Some(data) = tiktok.webhook_data(1, &order.order_id) else {
            return;
        };
        let notification = format!("73{}", &order.order_id[3..]);
        set_track(&tracks, &order.order_id, |t| {
            t.webhook_sent = Some(Instant::now())
        });
        let status = tiktok
            .send_webhook_with_id(&url, 1, &notification, data.clone())
            .await
            .map(|s| s.as_u16())
            .unwrap_or(0);
        set_track(&tracks, &order.order_id, |t| {
            t.webhook_status = Some(status)
        });
        if order.arrival == Arrival::WebhookRetried {
            tokio::time::sleep(Duration::from_millis(150)).await;
            let again = tiktok
                .send_webhook_with_id(&url, 1, &notification, data)
                .await
                .map(|s| s.as_u16())
                .unwrap_or(0);
            progress.line(&format!(
                "TikTok retried the webhook of order {} (same notification id): {again}, not queued twice",
                order.order_id
            ));
        }
    }
}

fn set_track(tracks: &Tracks, order_id: &str, f: impl FnOnce(&mut Track)) {
    if let Some(t) = tracks
        .lock()
        .iter_mut()
        .find(|t| t.planned.order_id == order_id)
    {
        f(t);
    }
}

/// Looks at what NetSuite and the bridge hold and reports changes as they happen.
#[derive(Default)]
struct Watch {
    last_parked_check: Option<Instant>,
    new_item_created: bool,
    parked_since: Option<Instant>,
}

impl Watch {
    async fn tick(
        &mut self,
        sandbox: &SandboxHandle,
        running: &RunningBridge,
        tracks: &Tracks,
        progress: &Progress,
    ) {
        let mut lines = Vec::new();
        {
            let mut tracks = tracks.lock();
            for t in tracks.iter_mut().filter(|t| t.written.is_none()) {
                let eid = format!("tiktok-order:{}", t.planned.order_id);
                let Some(so) = sandbox.netsuite.sales_order_by_external_id(&eid) else {
                    continue;
                };
                let now = Instant::now();
                t.written = Some(now);
                let so_id = so["id"].as_str().unwrap_or("?").to_string();
                let how = match (t.planned.arrival, t.webhook_sent, t.parked_seen) {
                    (Arrival::PollerOnly, _, _) => "found by the catch-up poller".to_string(),
                    (_, _, true) => "released from parking".to_string(),
                    (_, Some(sent), _) => {
                        format!(
                            "{} ms after its webhook",
                            now.duration_since(sent).as_millis()
                        )
                    }
                    (_, None, _) => "before its webhook went out (poller)".to_string(),
                };
                let units = t.planned.units();
                lines.push(format!(
                    "order {} ({units} unit{}) → NetSuite sales order {so_id}, {how}",
                    t.planned.order_id,
                    if units == 1 { "" } else { "s" }
                ));
            }
        }
        for line in &lines {
            progress.line(line);
        }

        // Parking is checked less often: it reads the whole parked set.
        let due = self
            .last_parked_check
            .is_none_or(|at| at.elapsed() >= Duration::from_millis(200));
        if due {
            self.last_parked_check = Some(Instant::now());
            if let Ok(parked) = running.state.parked().await {
                let mut tracks = tracks.lock();
                for p in parked {
                    let Some(order_id) = p.envelope.job.order_id() else {
                        continue;
                    };
                    if let Some(t) = tracks
                        .iter_mut()
                        .find(|t| t.planned.order_id == order_id && !t.parked_seen)
                    {
                        t.parked_seen = true;
                        self.parked_since.get_or_insert_with(Instant::now);
                        progress.line(&format!(
                            "order {order_id} parked: SKU {NEW_SKU} is not in NetSuite yet"
                        ));
                    }
                }
            }
        }
        // The merchant adds the missing item a moment later; the unparker does the rest.
        if !self.new_item_created
            && self
                .parked_since
                .is_some_and(|at| at.elapsed() >= Duration::from_millis(1500))
        {
            self.new_item_created = true;
            let id = sandbox.netsuite.add_item(NEW_SKU);
            progress.line(&format!(
                "merchant creates item {NEW_SKU} in NetSuite (internal id {id}); the parked order is released"
            ));
        }

        let t = tracks.lock();
        let written = t.iter().filter(|t| t.written.is_some()).count();
        let placed = t
            .iter()
            .filter(|t| t.webhook_sent.is_some() || t.written.is_some())
            .count();
        progress.status(
            written,
            format!(
                "webhooks {placed} · retries {} · parked {}",
                running.metrics.job_count("order_sync", "retried"),
                t.iter().filter(|t| t.parked_seen).count()
            ),
        );
    }
}

/// The figures the demo ends with.
struct Summary {
    backend: String,
    orders: usize,
    created: usize,
    webhooks_acked: usize,
    duplicates_avoided: u64,
    extra_writes: u64,
    retries: u64,
    throttled: u64,
    parked: usize,
    released: usize,
    dead: Option<u64>,
    poller_only_landed: usize,
    latencies_ms: Vec<u128>,
    netsuite_requests: u64,
    detail_calls: u64,
    netsuite_latency_ms: u64,
    /// The after-sale phase's figures, once it ran.
    after: Option<after_sale::Figures>,
    /// The settlement phase's figures, once it ran.
    settlement: Option<settlement::Figures>,
    /// The fees order: its id, the fees line's amount and whether its total tied.
    fees_order: Option<(String, Decimal, bool)>,
    /// The gift order: its id and whether the gift is a zero-priced line of it.
    gift_order: Option<(String, bool)>,
}

/// The id of the planned order of this shape.
fn shaped(tracks: &[Track], shape: Shape) -> Option<String> {
    tracks
        .iter()
        .find(|t| t.planned.shape == shape)
        .map(|t| t.planned.order_id.clone())
}

/// Webhooks (TikTok) or callouts (NetSuite) the bridge's ingress dropped as duplicates.
fn duplicates(metrics: &bridge::metrics::Metrics, source: &str) -> u64 {
    let label = format!("source=\"{source}\"");
    metrics
        .encode()
        .lines()
        .filter(|l| l.starts_with("bridge_webhooks_duplicate_total") && l.contains(&label))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
        .sum()
}

impl Summary {
    fn collect(
        tracks: &[Track],
        sandbox: &SandboxHandle,
        metrics: &bridge::metrics::Metrics,
        backend: &str,
        args: &Args,
    ) -> Summary {
        let mut created = 0;
        let mut extra_writes = 0;
        for t in tracks {
            let eid = format!("tiktok-order:{}", t.planned.order_id);
            let writes = sandbox.netsuite.sales_order_writes(&eid);
            if writes > 0 {
                created += 1;
                extra_writes += writes - 1;
            }
        }
        let mut latencies_ms: Vec<u128> = tracks
            .iter()
            .filter(|t| !t.parked_seen)
            .filter_map(|t| {
                Some(
                    t.written?
                        .checked_duration_since(t.webhook_sent?)?
                        .as_millis(),
                )
            })
            .collect();
        latencies_ms.sort_unstable();
        let duplicates_avoided = duplicates(metrics, "tiktok");
        Summary {
            backend: backend.to_string(),
            orders: tracks.len(),
            created,
            webhooks_acked: tracks
                .iter()
                .filter(|t| t.webhook_status == Some(200))
                .count(),
            duplicates_avoided,
            extra_writes,
            retries: metrics.job_count("order_sync", "retried"),
            throttled: sandbox.netsuite.throttled(),
            parked: tracks.iter().filter(|t| t.parked_seen).count(),
            released: tracks
                .iter()
                .filter(|t| t.parked_seen && t.written.is_some())
                .count(),
            // Read once the bridge stops, after the after-sale jobs too.
            dead: None,
            poller_only_landed: tracks
                .iter()
                .filter(|t| t.planned.arrival == Arrival::PollerOnly && t.written.is_some())
                .count(),
            latencies_ms,
            netsuite_requests: sandbox.netsuite.requests(),
            detail_calls: sandbox.tiktok.calls("/order/202309/orders")
                + sandbox.tiktok.calls("/order/202507/orders"),
            netsuite_latency_ms: args.netsuite_latency_ms,
            after: None,
            settlement: None,
            fees_order: shaped(tracks, Shape::Fees).map(|id| {
                let so = sandbox
                    .netsuite
                    .sales_order_by_external_id(&format!("tiktok-order:{id}"));
                let lines = |so: &serde_json::Value| -> Vec<(String, Decimal)> {
                    so["item"]["items"]
                        .as_array()
                        .map(|a| {
                            a.iter()
                                .map(|l| {
                                    let amount = l["amount"].to_string();
                                    (
                                        l["item"]["id"].as_str().unwrap_or_default().to_string(),
                                        amount.trim_matches('"').parse().unwrap_or_default(),
                                    )
                                })
                                .collect()
                        })
                        .unwrap_or_default()
                };
                let all = so.as_ref().map(lines).unwrap_or_default();
                let fees: Decimal = all
                    .iter()
                    .filter(|(i, _)| *i == sandbox.adjustments.fees)
                    .map(|(_, a)| *a)
                    .sum();
                let total: Decimal = all.iter().map(|(_, a)| *a).sum();
                let paid = sandbox
                    .tiktok
                    .order(&id)
                    .and_then(|o| o["payment"]["total_amount"].as_str()?.parse().ok());
                (id, fees, so.is_some() && paid == Some(total))
            }),
            gift_order: shaped(tracks, Shape::Gift).map(|id| {
                let gift_item = sandbox
                    .netsuite
                    .items()
                    .into_iter()
                    .find(|i| i["itemId"] == GIFT_SKU)
                    .and_then(|i| i["id"].as_str().map(str::to_string));
                let ok = sandbox
                    .netsuite
                    .sales_order_by_external_id(&format!("tiktok-order:{id}"))
                    .and_then(|so| so["item"]["items"].as_array().cloned())
                    .is_some_and(|lines| {
                        lines.iter().any(|l| {
                            l["item"]["id"].as_str() == gift_item.as_deref()
                                && l["amount"].to_string().trim_matches('"').parse::<Decimal>()
                                    == Ok(Decimal::ZERO)
                        })
                    });
                (id, ok)
            }),
        }
    }

    fn render(&self, took: Duration) -> String {
        let per_order = |n: u64| n as f64 / self.orders.max(1) as f64;
        let pct = |p: f64| -> String {
            if self.latencies_ms.is_empty() {
                return "n/a".into();
            }
            let rank = ((p * self.latencies_ms.len() as f64).ceil() as usize).max(1);
            let ms = self.latencies_ms[rank.min(self.latencies_ms.len()) - 1];
            format!("{:.2} s", ms as f64 / 1000.0)
        };
        let mut rows: Vec<(&str, String, String)> = vec![
            (
                "orders in (TikTok)",
                self.orders.to_string(),
                format!("{} webhooks answered 200", self.webhooks_acked),
            ),
            (
                "sales orders created",
                format!("{} / {}", self.created, self.orders),
                format!("{} extra writes of an existing order", self.extra_writes),
            ),
            (
                "duplicates avoided",
                self.duplicates_avoided.to_string(),
                "TikTok retries dropped at ingress".into(),
            ),
            (
                "retries",
                (self.retries + self.throttled).to_string(),
                format!(
                    "{} NetSuite 429s retried with backoff, {} job retries scheduled",
                    self.throttled, self.retries
                ),
            ),
            (
                "parked / released",
                format!("{} / {}", self.parked, self.released),
                format!("unknown SKU {NEW_SKU}, released once the item existed"),
            ),
            (
                "dead letters",
                self.dead.map_or("n/a".into(), |d| d.to_string()),
                String::new(),
            ),
            (
                "order with fees",
                self.fees_order
                    .as_ref()
                    .map_or("n/a".into(), |(_, fees, ok)| {
                        format!("{fees} fees, {}", if *ok { "ties" } else { "DOES NOT TIE" })
                    }),
                self.fees_order
                    .as_ref()
                    .map_or(String::new(), |(id, _, _)| {
                        format!("order {id}: handling fee + item insurance on the fees item")
                    }),
            ),
            (
                "order with a gift",
                self.gift_order.as_ref().map_or("n/a".into(), |(_, ok)| {
                    if *ok {
                        "gift line at 0"
                    } else {
                        "gift MISSING"
                    }
                    .to_string()
                }),
                self.gift_order.as_ref().map_or(String::new(), |(id, _)| {
                    format!("order {id}: {GIFT_SKU} free, ships and takes stock")
                }),
            ),
            (
                "caught up by the poller",
                self.poller_only_landed.to_string(),
                "orders whose webhook never came".into(),
            ),
            (
                "latency p50 / p99",
                format!("{} / {}", pct(0.50), pct(0.99)),
                format!(
                    "webhook sent → sales order written, {} orders, NetSuite at {} ms",
                    self.latencies_ms.len(),
                    self.netsuite_latency_ms
                ),
            ),
            (
                "NetSuite requests per order",
                format!("{:.2}", per_order(self.netsuite_requests)),
                format!(
                    "{} requests (SKU lookups, customers, sales orders, retries)",
                    self.netsuite_requests
                ),
            ),
            (
                "TikTok detail calls per order",
                format!("{:.2}", per_order(self.detail_calls)),
                format!("{} Get Order Detail calls (batched)", self.detail_calls),
            ),
        ];
        if let Some(after) = &self.after {
            rows.extend(after.rows());
        }
        if let Some(settled) = &self.settlement {
            rows.extend(settled.rows());
        }
        let width = rows
            .iter()
            .map(|(n, _, _)| n.chars().count())
            .max()
            .unwrap_or(0);
        let mut out = String::new();
        out.push_str(&format!(
            "\nSummary ({}; {:.1} s)\n",
            self.backend,
            took.as_secs_f64()
        ));
        for (name, value, note) in rows {
            out.push_str(&format!("  {name:<width$} {value:>16}   {note}\n"));
        }
        out.push_str(
            "  Inventory sync is not in this demo: `bench` plays it (live-stream scenario).\n",
        );
        out
    }
}

async fn cleanup(storage: &Storage) {
    match storage {
        Storage::Embedded {
            dir,
            temporary: true,
        } => {
            if let Err(e) = std::fs::remove_dir_all(dir) {
                tracing::warn!(dir = %dir.display(), error = %e, "could not remove the demo's data");
            }
        }
        Storage::Embedded { dir, .. } => {
            println!("The demo's embedded database stays in {}", dir.display());
        }
        Storage::Redis { url, prefix } => {
            if let Err(e) = bridge::queue::redis::delete_keys_with_prefix(url, prefix).await {
                tracing::warn!(prefix, error = %e, "could not delete the demo's Redis keys");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_plan_has_every_special_case_once_and_unique_ids() {
        let p = plan(60, 7, 1);
        assert_eq!(p.len(), 60);
        let ids: BTreeSet<&str> = p.iter().map(|o| o.order_id.as_str()).collect();
        assert_eq!(ids.len(), 60);
        assert_eq!(
            p.iter()
                .filter(|o| o.arrival == Arrival::PollerOnly)
                .count(),
            1
        );
        assert_eq!(p.iter().filter(|o| o.has_new_sku()).count(), 1);
        assert_eq!(
            p.iter()
                .filter(|o| o.arrival == Arrival::WebhookRetried)
                .count(),
            2
        );
        assert_eq!(p.iter().filter(|o| o.starts_throttle_burst).count(), 1);
        assert!(p.iter().any(|o| o.units() > 1), "multi-unit orders");
        assert!(
            p.iter()
                .flat_map(|o| &o.lines)
                .any(|l| l.seller_discount > Decimal::ZERO),
            "some discounts"
        );
        // The special cases never fall on the same order.
        let poller = p.iter().position(|o| o.arrival == Arrival::PollerOnly);
        let parked = p.iter().position(|o| o.has_new_sku());
        assert_ne!(poller, parked);
        // Ids are 18 digits like TikTok's and differ from run to run.
        assert!(p.iter().all(|o| o.order_id.len() == 18));
        assert_ne!(plan(3, 7, 1)[0].order_id, plan(3, 7, 2)[0].order_id);
    }

    #[test]
    fn a_tiny_plan_still_has_its_special_cases() {
        let p = plan(6, 1, 1);
        assert_eq!(p.iter().filter(|o| o.has_new_sku()).count(), 1);
        assert_eq!(
            p.iter()
                .filter(|o| o.arrival == Arrival::PollerOnly)
                .count(),
            1
        );
        assert!(p.iter().any(|o| o.arrival == Arrival::WebhookRetried));
        assert_eq!(plan(1, 1, 1).len(), 1);
        assert_ne!(
            plan(1, 1, 1)[0].arrival,
            Arrival::PollerOnly,
            "a lone order still comes by webhook"
        );
    }
}

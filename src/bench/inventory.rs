//! The live-stream scenario (flow I1): a burst of buyer orders on one SKU over a compressed
//! hour, while a second sales channel sells the same item straight in NetSuite. Run twice on
//! the same sandbox: the event-driven bridge, and a polling baseline (a connector that pushes
//! NetSuite's available quantity every N minutes, as today's iPaaS flows do). Reports oversold
//! units (sold across both channels beyond the stock that existed), freshness (NetSuite change
//! → TikTok updated) and TikTok inventory calls for each.
//!
//! The second channel sells through ordinary NetSuite sales orders (the sandbox's `consume`:
//! a sales order saved in the UI, committing its units), and the bridge hears of them only
//! through the paths a real account has: the signed `inventory.changed` callout the shipped
//! sales-order script sends (the sandbox mirrors the scripts, `SCRIPTED_INVENTORY_EVENTS`), and
//! the sweep (`INVENTORY_SWEEP_SECS`, one scenario minute on the compressed clock).

use super::rig::{callout_url, wait_queue_idle, webhook_url, Rig};
use super::stats::{LatencySummary, Samples};
use anyhow::Context;
use bridge::tiktok::inventory::{SkuInventory, WarehouseQuantity, INVENTORY_SEARCH_PATH};
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;
use sandbox::netsuite::NetSuiteFaults;
use serde::Serialize;
use std::time::{Duration, Instant};

/// NetSuite location the scenario's stock lives at.
const LOCATION: &str = "7";
const WAREHOUSE: &str = "7068517275539710001";

#[derive(Debug, Clone, Serialize)]
pub struct LiveStreamPlan {
    /// Units on hand at the start (NetSuite and TikTok agree).
    pub stock: u32,
    /// Buyer checkouts attempted on TikTok over the hour (most find it sold out).
    pub attempts: usize,
    /// Units the second channel tries to sell, one at a time, during the opening rush.
    pub channel2_units: u32,
    /// Wall-clock length of the compressed hour.
    pub hour: Duration,
    /// Share of the hour over which the second channel sells (the opening rush).
    pub channel2_window: f64,
    /// The polling baseline pushes every this many scenario minutes.
    pub poll_minutes: f64,
    pub netsuite_latency: Duration,
    pub netsuite_limit: usize,
    /// `INVENTORY_SAFETY_BUFFER` of the third run (the first runs with none).
    pub buffer: u32,
}

#[derive(Debug, Clone, Serialize)]
pub struct LiveStreamRun {
    pub mode: String,
    pub attempts: usize,
    pub tiktok_orders: u64,
    pub tiktok_rejected: u64,
    pub tiktok_units_sold: u64,
    pub channel2_units_sold: u64,
    /// max(0, TikTok units + second-channel units − stock).
    pub oversold_units: i64,
    /// Units NetSuite's sales orders committed beyond what was available (same thing, seen
    /// from NetSuite once every order is there).
    pub netsuite_overcommitted_units: f64,
    /// NetSuite change → the next accepted TikTok update of the SKU, in wall-clock time.
    pub freshness: LatencySummary,
    /// Second-channel sales while TikTok already listed 0 (nothing to push; not timed).
    pub changes_while_sold_out: u64,
    /// NetSuite sandbox latency on the compressed clock.
    pub netsuite_latency_ms: u64,
    /// The same in scenario time (wall × 60 min ÷ hour).
    pub freshness_scenario_p50_s: f64,
    pub freshness_scenario_p99_s: f64,
    pub update_inventory_calls: u64,
    pub inventory_search_calls: u64,
    /// Stock callouts the sandbox sent as the shipped scripts would (event-driven runs).
    pub stock_callouts: u64,
    /// The sweep period on the compressed clock (event-driven runs; 0 for polling).
    pub sweep_period_ms: u64,
    /// TikTok's and NetSuite's quantities at the end (they should agree).
    pub final_tiktok: i64,
    pub final_netsuite: f64,
    pub orders_synced: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct LiveStreamResult {
    pub plan: LiveStreamPlan,
    pub event_driven: LiveStreamRun,
    /// The event-driven bridge again, with `INVENTORY_SAFETY_BUFFER` = `plan.buffer`.
    pub buffered: LiveStreamRun,
    pub polling: LiveStreamRun,
}

/// NetSuite's per-request latency on the compressed clock (at least 1 ms).
pub fn scaled_latency_ms(plan: &LiveStreamPlan) -> u64 {
    let factor = plan.hour.as_secs_f64() / 3600.0;
    ((plan.netsuite_latency.as_secs_f64() * factor * 1000.0).round() as u64).max(1)
}

/// The default `INVENTORY_SWEEP_SECS` (60 s) on the compressed clock (at least 50 ms).
pub fn sweep_period(plan: &LiveStreamPlan) -> Duration {
    let factor = plan.hour.as_secs_f64() / 3600.0;
    Duration::from_secs_f64((60.0 * factor).max(0.05))
}

pub async fn run(rig: &Rig, plan: &LiveStreamPlan) -> anyhow::Result<LiveStreamResult> {
    let event_driven = scenario(rig, plan, Mode::Event)
        .await
        .context("event-driven run")?;
    let buffered = scenario(rig, plan, Mode::Buffered)
        .await
        .context("event-driven run with a safety buffer")?;
    let polling = scenario(rig, plan, Mode::Polling)
        .await
        .context("polling run")?;
    Ok(LiveStreamResult {
        plan: plan.clone(),
        event_driven,
        buffered,
        polling,
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Event,
    /// Event-driven with `INVENTORY_SAFETY_BUFFER` = `plan.buffer`.
    Buffered,
    Polling,
}

impl Mode {
    fn event_driven(self) -> bool {
        matches!(self, Mode::Event | Mode::Buffered)
    }
}

enum Step {
    Buyer(usize),
    Channel2,
}

async fn scenario(rig: &Rig, plan: &LiveStreamPlan, mode: Mode) -> anyhow::Result<LiveStreamRun> {
    let tag = match mode {
        Mode::Event => "live-event",
        Mode::Buffered => "live-buffer",
        Mode::Polling => "live-poll",
    };
    let scope = rig.scope(tag);
    let n = match mode {
        Mode::Event => 1u64,
        Mode::Polling => 2,
        Mode::Buffered => 3,
    };
    let sku = format!("LIVE-{}-{tag}", rig.run_id);
    let product = format!("17295929697130{n:05}");
    let sku_id = format!("17295929697139{n:05}");
    let ns = &rig.sandbox.netsuite;
    let tt = &rig.sandbox.tiktok;
    let item = ns.add_item(&sku);
    ns.set_stock(&item, LOCATION, plan.stock);
    tt.set_stock(&product, &sku_id, &sku, WAREHOUSE, i64::from(plan.stock));
    let customer = ns.add_customer(Some(&format!("bench-{tag}")), "TikTok Shop (live)");
    // The sandbox's clock is compressed with the hour (NetSuite's latency shrinks by the
    // same factor); the bridge's own processing is not, so it is judged at a disadvantage.
    ns.set_faults(NetSuiteFaults {
        latency_ms: Some(scaled_latency_ms(plan)),
        ..NetSuiteFaults::default()
    });
    // One slot of the account's limit is the inventory lane's (INVENTORY_NETSUITE_CONCURRENCY
    // 1); both runs leave the orders the same share.
    let mut overrides: Vec<(&str, String)> = vec![
        (
            "NETSUITE_CONCURRENCY",
            plan.netsuite_limit.saturating_sub(1).max(1).to_string(),
        ),
        ("NETSUITE_CUSTOMER_ID", customer),
        ("NETSUITE_LOCATION_ID", LOCATION.into()),
        ("WORKER_CONCURRENCY", "32".into()),
    ];
    if mode.event_driven() {
        let buffer = if mode == Mode::Buffered {
            plan.buffer
        } else {
            0
        };
        overrides.push(("INVENTORY_SAFETY_BUFFER", buffer.to_string()));
        overrides.extend([
            ("INVENTORY_LOCATIONS", LOCATION.to_string()),
            ("INVENTORY_PRODUCT_IDS", product.clone()),
            ("INVENTORY_RECONCILE_SECS", "0".into()),
            // Shorter waits than the defaults: the scenario's clock runs ~200× fast.
            ("INVENTORY_DEBOUNCE_MS", "20".into()),
            ("INVENTORY_MAX_DELAY_MS", "100".into()),
            // The default sweep (60 s) on the scenario's clock.
            (
                "INVENTORY_SWEEP_SECS",
                format!("{:.3}", sweep_period(plan).as_secs_f64()),
            ),
        ]);
    }
    let bridge = rig.start_bridge(&scope, &overrides).await?;
    if mode.event_driven() {
        // Stock changes reach the bridge as the scripts send them: signed
        // `inventory.changed` callouts to `POST /callouts/netsuite`.
        ns.set_callout_target(
            &callout_url(&bridge)?,
            sandbox::netsuite::callouts::SANDBOX_CALLOUT_SECRET,
        );
        // A running bridge has reconciled once; wait for the start-up reconcile.
        let deadline = Instant::now() + Duration::from_secs(30);
        while bridge::inventory::store::load_drift(bridge.state.as_ref(), &tt.config().shop_id)
            .await?
            .is_none()
            && Instant::now() < deadline
        {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    let result = drive(rig, plan, mode, &bridge, &item, &sku_id, &product, tag).await;
    ns.clear_callout_target();
    bridge.shutdown().await;
    ns.clear_faults();
    let cleaned = rig.cleanup(&scope).await;
    let r = result?;
    cleaned?;
    Ok(r)
}

#[allow(clippy::too_many_arguments)]
async fn drive(
    rig: &Rig,
    plan: &LiveStreamPlan,
    mode: Mode,
    bridge: &bridge::app::RunningBridge,
    item: &str,
    sku_id: &str,
    product: &str,
    tag: &str,
) -> anyhow::Result<LiveStreamRun> {
    let ns = rig.sandbox.netsuite.clone();
    let tt = rig.sandbox.tiktok.clone();
    let url = webhook_url(bridge)?;
    let (orders0, rejected0, sold0) = tt.buyer_stats();
    let updates0 = tt.inventory_updates();
    let search0 = tt.calls(INVENTORY_SEARCH_PATH);
    let oversold0 = ns.oversold_units();
    let callouts0 = ns.callouts_sent();

    // The schedule: buyer attempts evenly over the hour, the second channel's sales evenly
    // over the opening rush.
    let hour = plan.hour.as_secs_f64();
    let mut steps: Vec<(f64, Step)> = (0..plan.attempts)
        .map(|i| {
            (
                hour * i as f64 / plan.attempts.max(1) as f64,
                Step::Buyer(i),
            )
        })
        .collect();
    let window = hour * plan.channel2_window.clamp(0.0, 1.0);
    for k in 0..plan.channel2_units {
        let at = window * (f64::from(k) + 0.5) / f64::from(plan.channel2_units.max(1));
        steps.push((at, Step::Channel2));
    }
    steps.sort_by(|a, b| a.0.total_cmp(&b.0));

    // The baseline connector: every N scenario minutes, NetSuite's available → TikTok.
    let stop = tokio_util::sync::CancellationToken::new();
    let poller = if mode == Mode::Polling {
        let every = Duration::from_secs_f64((plan.poll_minutes * hour / 60.0).max(0.001));
        let netsuite = bridge.netsuite.clone().context("worker clients")?;
        let tiktok = bridge.tiktok.clone().context("worker clients")?;
        let (item, sku_id, product, stop) = (
            item.to_string(),
            sku_id.to_string(),
            product.to_string(),
            stop.clone(),
        );
        Some(tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            tick.tick().await;
            loop {
                tokio::select! {
                    _ = stop.cancelled() => return,
                    _ = tick.tick() => {}
                }
                let Ok(rows) = netsuite
                    .stock_for_items(std::slice::from_ref(&item), &[LOCATION.to_string()])
                    .await
                else {
                    continue;
                };
                let avail: Decimal = rows.iter().map(|r| r.available).sum();
                let quantity = avail.max(Decimal::ZERO).floor().to_u32().unwrap_or(0);
                let skus = [SkuInventory {
                    id: sku_id.clone(),
                    inventory: vec![WarehouseQuantity {
                        warehouse_id: WAREHOUSE.into(),
                        quantity,
                    }],
                }];
                let _ = tiktok.update_inventory(&product, &skus).await;
            }
        }))
    } else {
        None
    };

    let started = Instant::now();
    let mut changes: Vec<Instant> = Vec::new();
    let mut channel2_sold = 0u64;
    let mut changes_moot = 0u64;
    // When buyers emptied the listing: a change not pushed before that needs no push.
    let mut sold_out_at: Vec<Instant> = Vec::new();
    let mut sends = Vec::new();
    for (at, step) in steps {
        let due = started + Duration::from_secs_f64(at);
        tokio::time::sleep_until(due.into()).await;
        match step {
            Step::Buyer(i) => {
                let run = match mode {
                    Mode::Event => 1,
                    Mode::Polling => 2,
                    Mode::Buffered => 3,
                };
                let id = format!("57648{run}{i:09}");
                if tt
                    .place_buyer_order(&id, sku_id, 1, "AWAITING_SHIPMENT")
                    .is_ok()
                {
                    if tt.stock(sku_id).map(|m| m.values().sum::<i64>()) == Some(0) {
                        sold_out_at.push(Instant::now());
                    }
                    let data = tt.webhook_data(1, &id).context("order just placed")?;
                    let (tt, url) = (tt.clone(), url.clone());
                    sends.push(tokio::spawn(
                        async move { tt.send_webhook(&url, 1, data).await },
                    ));
                }
            }
            Step::Channel2 => {
                let listed: i64 = tt.stock(sku_id).map(|m| m.values().sum()).unwrap_or(0);
                let sold = ns.consume(item, LOCATION, Decimal::ONE);
                if sold > Decimal::ZERO {
                    channel2_sold += 1;
                    // Only a change TikTok must show counts for freshness (a sold-out
                    // listing has nothing to lower).
                    if listed > 0 {
                        changes.push(Instant::now());
                    } else {
                        changes_moot += 1;
                    }
                }
            }
        }
    }
    for s in sends {
        let _ = s.await;
    }
    let synced = wait_queue_idle(bridge.queue.as_ref(), Duration::from_secs(60)).await;
    // Let the last pushes land (debounce, or the baseline's next poll).
    tokio::time::sleep(Duration::from_millis(1200)).await;
    stop.cancel();
    if let Some(p) = poller {
        let _ = p.await;
    }
    eprintln!(
        "bench: live stream ({tag}) done in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let log = tt.update_log(sku_id);
    let mut fresh = Samples::with_capacity(changes.len());
    let end = Instant::now();
    for c in &changes {
        let next = log.iter().map(|(t, _)| *t).find(|t| t >= c).unwrap_or(end);
        if sold_out_at.iter().any(|z| z >= c && *z < next) {
            changes_moot += 1;
            continue;
        }
        fresh.push(next - *c);
    }
    let freshness = fresh.summary();
    let scale = 3600.0 / hour;
    let (orders1, rejected1, sold1) = tt.buyer_stats();
    let tiktok_units_sold = sold1 - sold0;
    let oversold = (tiktok_units_sold + channel2_sold) as i64 - i64::from(plan.stock);
    Ok(LiveStreamRun {
        mode: tag.to_string(),
        attempts: plan.attempts,
        tiktok_orders: orders1 - orders0,
        tiktok_rejected: rejected1 - rejected0,
        tiktok_units_sold,
        channel2_units_sold: channel2_sold,
        oversold_units: oversold.max(0),
        netsuite_overcommitted_units: (ns.oversold_units() - oversold0)
            .to_f64()
            .unwrap_or(f64::NAN),
        changes_while_sold_out: changes_moot,
        netsuite_latency_ms: scaled_latency_ms(plan),
        freshness_scenario_p50_s: freshness.p50_ms * scale / 1000.0,
        freshness_scenario_p99_s: freshness.p99_ms * scale / 1000.0,
        freshness,
        update_inventory_calls: tt.inventory_updates() - updates0,
        inventory_search_calls: tt.calls(INVENTORY_SEARCH_PATH) - search0,
        stock_callouts: ns.callouts_sent() - callouts0,
        sweep_period_ms: if mode.event_driven() {
            sweep_period(plan).as_millis() as u64
        } else {
            0
        },
        final_tiktok: tt.stock(sku_id).map(|m| m.values().sum()).unwrap_or(-1),
        final_netsuite: ns
            .stock_at(item, LOCATION)
            .and_then(|d| d.to_f64())
            .unwrap_or(f64::NAN),
        orders_synced: synced,
    })
}

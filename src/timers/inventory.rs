//! Starts the inventory tasks of a worker replica: the debounced pusher and the reconcile
//! timer. Nothing starts while inventory sync is off.

use crate::config::Config;
use crate::jobs::inventory_push::InventorySync;
use crate::jobs::JobContext;
use crate::queue::{Job, JobEnvelope, JobQueue};
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// The replica's inventory runtime, with its own NetSuite lane for stock reads when
/// `INVENTORY_NETSUITE_CONCURRENCY` > 0 and sync is on.
pub fn inventory_sync(
    cfg: &Config,
    metrics: &Arc<crate::metrics::Metrics>,
) -> anyhow::Result<Arc<InventorySync>> {
    let lane = if cfg.inventory.enabled() && cfg.inventory.netsuite_concurrency > 0 {
        let mut ns = cfg.netsuite.clone();
        ns.concurrency = cfg.inventory.netsuite_concurrency;
        let client = crate::netsuite::client::NetSuiteClient::new(ns)
            .map_err(|e| anyhow::anyhow!("cannot build the inventory NetSuite client: {e}"))?;
        client.observe(metrics.clone());
        Some(client)
    } else {
        None
    };
    Ok(InventorySync::with_lane(
        cfg.inventory.clone(),
        &cfg.tiktok.shop_id,
        &cfg.consumer_name,
        cfg.mapping.warehouse_locations.clone(),
        lane,
    ))
}

pub fn start(
    cfg: &Config,
    inventory: &Arc<InventorySync>,
    ctx: &Arc<JobContext>,
    queue: &Arc<dyn JobQueue>,
    shutdown: &CancellationToken,
    tasks: &mut Vec<JoinHandle<()>>,
) {
    if !inventory.enabled() {
        tracing::info!("inventory sync off (INVENTORY_LOCATIONS unset)");
        return;
    }
    tasks.push(tokio::spawn(
        inventory.clone().run(ctx.clone(), shutdown.clone()),
    ));
    start_sweep(cfg, queue, shutdown, tasks);
    let every = cfg.inventory.reconcile_interval;
    if every.is_zero() {
        tracing::info!("inventory reconcile timer off (INVENTORY_RECONCILE_SECS=0)");
        return;
    }
    let queue = queue.clone();
    let shop = cfg.tiktok.shop_id.clone();
    tasks.push(tokio::spawn(crate::timers::every(
        every,
        shutdown.clone(),
        "inventory_reconcile",
        move || {
            let queue = queue.clone();
            let shop = shop.clone();
            async move {
                // One reconcile per period whichever replica's timer fires first.
                let bucket = crate::queue::now_ms() / (every.as_millis().max(1) as i64);
                let key = format!("inventory-reconcile:{shop}:{bucket}");
                let job = JobEnvelope::new(Job::InventoryReconcile { shop_id: shop });
                queue
                    .enqueue_unique(&key, every.max(Duration::from_secs(1)), &job)
                    .await?;
                Ok(())
            }
        },
    )));
}

/// The sweep timer (`jobs::inventory_sweep`): one `InventorySync` job per period, whichever
/// replica's timer fires first.
fn start_sweep(
    cfg: &Config,
    queue: &Arc<dyn JobQueue>,
    shutdown: &CancellationToken,
    tasks: &mut Vec<JoinHandle<()>>,
) {
    let every = cfg.inventory.sweep_interval;
    if every.is_zero() {
        tracing::info!("inventory sweep off (INVENTORY_SWEEP_SECS=0)");
        return;
    }
    let queue = queue.clone();
    let shop = cfg.tiktok.shop_id.clone();
    let shutdown = shutdown.clone();
    // The first sweep one period after start: the start-up reconcile covers what came before.
    let timer = crate::timers::every(every, shutdown.clone(), "inventory_sweep", move || {
        let queue = queue.clone();
        let shop = shop.clone();
        async move {
            let bucket = crate::queue::now_ms() / (every.as_millis().max(1) as i64);
            let key = format!("inventory-sweep:{shop}:{bucket}");
            let job = JobEnvelope::new(Job::InventorySync {
                shop_id: shop,
                item_ids: Vec::new(),
                source: crate::jobs::inventory::SWEEP.into(),
            });
            queue
                .enqueue_unique(&key, every.max(Duration::from_secs(1)), &job)
                .await?;
            Ok(())
        }
    });
    tasks.push(tokio::spawn(async move {
        tokio::select! {
            _ = shutdown.cancelled() => {}
            _ = tokio::time::sleep(every) => timer.await,
        }
    }));
}

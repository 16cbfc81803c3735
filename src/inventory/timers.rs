//! Starts the inventory tasks of a worker replica: the debounced pusher and the reconcile
//! timer. Nothing starts while inventory sync is off.

use super::pusher::InventorySync;
use crate::config::Config;
use crate::jobs::JobContext;
use crate::queue::{Job, JobEnvelope, JobQueue};
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

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

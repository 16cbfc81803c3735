//! Catch-up poller (guarantee 7): searches TikTok orders by `update_time` over a window
//! that overlaps the previous one and queues what it finds through the same job path, so
//! a webhook TikTok never delivered still becomes a sales order. Dedupe on (order,
//! update_time) keeps repeated polls of an unchanged order from queueing it again.

use crate::metrics::Metrics;
use crate::queue::{EnqueueOutcome, Job, JobEnvelope, JobQueue, SyncTrigger};
use crate::state::StateStore;
use crate::tiktok::client::{OrderSearch, TikTokClient};
use std::sync::Arc;
use std::time::Duration;

pub struct Poller {
    pub tiktok: TikTokClient,
    pub queue: Arc<dyn JobQueue>,
    pub state: Arc<dyn StateStore>,
    pub metrics: Arc<Metrics>,
    /// How far before the previous poll's end the next window starts.
    pub overlap: Duration,
    /// Window of the very first poll (no cursor yet).
    pub first_window: Duration,
    pub dedupe_ttl: Duration,
    pub owner: String,
}

const CURSOR_KEY: &str = "poller:cursor";
const LOCK_KEY: &str = "timer:poller";

impl Poller {
    /// One poll. Returns how many orders it queued.
    pub async fn run_once(&self) -> anyhow::Result<usize> {
        if !self
            .state
            .try_lock(LOCK_KEY, &self.owner, Duration::from_secs(300))
            .await?
        {
            return Ok(0);
        }
        let result = self.poll().await;
        self.state.unlock(LOCK_KEY, &self.owner).await?;
        result
    }

    async fn poll(&self) -> anyhow::Result<usize> {
        let shop = self.tiktok.shop_id();
        if crate::tiktok::authorization::is_deauthorized(self.state.as_ref(), shop).await? {
            // TikTok revoked access: no calls. The cursor stays, so the first poll after
            // re-authorization covers the whole gap.
            tracing::debug!(shop_id = shop, "shop deauthorized; catch-up poll skipped");
            return Ok(0);
        }
        let now = crate::queue::now_ms() / 1000;
        let start = match self.state.get(CURSOR_KEY).await? {
            Some(c) => c.parse::<i64>()? - self.overlap.as_secs() as i64,
            None => now - self.first_window.as_secs() as i64,
        };
        let mut queued = 0;
        let mut page_token = None;
        loop {
            let page = self
                .tiktok
                .search_orders(&OrderSearch {
                    update_time_ge: Some(start),
                    update_time_lt: Some(now + 1),
                    order_status: None,
                    page_size: 100,
                    page_token: page_token.clone(),
                })
                .await?;
            for order in &page.orders {
                let job = Job::OrderSync {
                    shop_id: self.tiktok.shop_id().to_string(),
                    order_id: order.id.clone(),
                    trigger: SyncTrigger::Poller,
                    update_time: order.update_time,
                };
                let key = format!(
                    "poll:{}:{}",
                    order.id,
                    order.update_time.unwrap_or_default()
                );
                let env = JobEnvelope::new(job);
                if self
                    .queue
                    .enqueue_unique(&key, self.dedupe_ttl, &env)
                    .await?
                    == EnqueueOutcome::Enqueued
                {
                    queued += 1;
                    self.metrics.poller_orders_found.inc();
                }
            }
            match page.next_page_token {
                Some(t) if !t.is_empty() && !page.orders.is_empty() => page_token = Some(t),
                _ => break,
            }
        }
        // Only advance once the whole window was read: a failure re-reads it next time.
        self.state.set(CURSOR_KEY, &now.to_string(), None).await?;
        if queued > 0 {
            tracing::info!(queued, "catch-up poll queued orders");
        }
        Ok(queued)
    }
}

//! Settlement timer (flow S1): lists TikTok statements over a window that overlaps the
//! previous one (daily statements appear after 00:00 UTC, and a statement changes when
//! TikTok pays it) and queues one job per new or changed statement. Dedupe on (statement,
//! payment status) keeps an unchanged statement from being queued again. Each run also
//! refreshes the reconciliation gauges.

use crate::jobs::settlement::{reconcile, Reconciliation};
use crate::metrics::Metrics;
use crate::queue::{EnqueueOutcome, Job, JobEnvelope, JobQueue};
use crate::state::StateStore;
use crate::tiktok::client::TikTokClient;
use crate::tiktok::finance::StatementQuery;
use std::sync::Arc;
use std::time::Duration;

pub struct SettlementPoller {
    pub tiktok: TikTokClient,
    pub queue: Arc<dyn JobQueue>,
    pub state: Arc<dyn StateStore>,
    pub metrics: Arc<Metrics>,
    /// How far before the previous look's end the next window starts.
    pub overlap: Duration,
    /// Window of the very first look (no cursor yet).
    pub first_window: Duration,
    pub dedupe_ttl: Duration,
    /// A sales order older than this with no settlement is reported.
    pub unsettled_after: Duration,
    pub owner: String,
}

const CURSOR_KEY: &str = "settlement:cursor";
const LOCK_KEY: &str = "timer:settlement";

impl SettlementPoller {
    /// One look. Returns how many statements it queued.
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
        let view = reconcile(
            self.state.as_ref(),
            self.unsettled_after,
            crate::queue::now_ms(),
        )
        .await?;
        publish(&self.metrics, &view);
        result
    }

    async fn poll(&self) -> anyhow::Result<usize> {
        let shop = self.tiktok.shop_id().to_string();
        if crate::tiktok::authorization::is_deauthorized(self.state.as_ref(), &shop).await? {
            return Ok(0);
        }
        let now = crate::queue::now_ms() / 1000;
        let start = match self.state.get(CURSOR_KEY).await? {
            Some(c) => c.parse::<i64>()? - self.overlap.as_secs() as i64,
            None => now - self.first_window.as_secs() as i64,
        };
        let mut queued = 0;
        let mut token = None;
        loop {
            let page = self
                .tiktok
                .get_statements(&StatementQuery {
                    statement_time_ge: Some(start),
                    statement_time_lt: Some(now + 1),
                    payment_status: None,
                    page_size: 100,
                    page_token: token.clone(),
                })
                .await?;
            for s in &page.statements {
                let key = format!("settle:{}:{}", s.id, s.payment_status);
                let env = JobEnvelope::new(Job::SettlementSync {
                    shop_id: shop.clone(),
                    statement_id: s.id.clone(),
                    statement_time: s.statement_time,
                });
                if self
                    .queue
                    .enqueue_unique(&key, self.dedupe_ttl, &env)
                    .await?
                    == EnqueueOutcome::Enqueued
                {
                    queued += 1;
                    self.metrics.settlement.statements_found.inc();
                }
            }
            match page.next_page_token {
                Some(t) if !page.statements.is_empty() => token = Some(t),
                _ => break,
            }
        }
        // Advance only once the whole window was read: a failure re-reads it next time.
        self.state.set(CURSOR_KEY, &now.to_string(), None).await?;
        if queued > 0 {
            tracing::info!(queued, "settlement timer queued statements");
        }
        Ok(queued)
    }
}

/// The reconciliation gauges (`bridge_settlement_reconciliation_orders{view}`).
pub fn publish(metrics: &Metrics, view: &Reconciliation) {
    let m = &metrics.settlement;
    m.set_view(
        "settled_without_sales_order",
        view.settled_without_sales_order.len(),
    );
    m.set_view("unsettled_sales_orders", view.unsettled_sales_orders.len());
    m.set_view("revenue_mismatches", view.revenue_mismatches.len());
}

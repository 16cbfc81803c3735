//! The job queue: what ingress and timers put work on, and what workers take it from.
//! Redis Streams is the production backend (`redis.rs`); the embedded SQLite backend
//! (`sqlite.rs`) is the single-instance default. Handlers only see the trait.

pub mod redis;
pub mod sqlite;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// What caused an order sync, kept for logs and history.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SyncTrigger {
    StatusWebhook,
    AddressWebhook,
    Poller,
    Unparked,
    Manual,
}

/// A unit of work. Every job is safe to run twice: handlers re-read the source of truth.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Job {
    /// O1: re-read a TikTok order and upsert its NetSuite sales order.
    OrderSync {
        shop_id: String,
        order_id: String,
        trigger: SyncTrigger,
        /// `update_time` of the event that caused the job, when known (seconds).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        update_time: Option<i64>,
    },
    /// F1: push a NetSuite item fulfillment's packages and tracking to TikTok.
    FulfillmentPush {
        /// NetSuite internal id of the item fulfillment.
        fulfillment_id: String,
        /// The callout event that caused the job (`item_fulfillment.shipped`, ...).
        event: String,
        /// Internal id of the sales order the fulfillment came from (the callout's
        /// `created_from`), when known: fulfillments of one order then share one entity lock
        /// and wait for each other without using up retries. Absent on jobs queued before.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        sales_order_id: Option<String>,
    },
    /// O2: a TikTok cancellation (topic 11, or an order seen as CANCELLED).
    Cancellation {
        shop_id: String,
        order_id: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        cancel_id: Option<String>,
    },
    /// O3: a TikTok return or refund (topic 12).
    ReturnSync {
        shop_id: String,
        order_id: String,
        return_id: String,
    },
    /// I1: recompute and push the sellable quantity of some NetSuite items.
    InventorySync {
        shop_id: String,
        /// NetSuite internal item ids whose stock changed.
        #[serde(default)]
        item_ids: Vec<String>,
        /// Where the change came from (`callout`, `order`, `sales_order`, ...).
        source: String,
    },
    /// I1: full reconcile of every mapped SKU on both sides.
    InventoryReconcile { shop_id: String },
    /// S1: book one TikTok statement as a NetSuite journal entry (and its payout once paid).
    SettlementSync {
        shop_id: String,
        statement_id: String,
        /// The statement's `statement_time`, to find it again with Get Statements.
        statement_time: i64,
    },
}

impl Job {
    /// Stable name of the job kind, used in metrics labels.
    pub fn kind(&self) -> &'static str {
        match self {
            Job::OrderSync { .. } => "order_sync",
            Job::FulfillmentPush { .. } => "fulfillment_push",
            Job::Cancellation { .. } => "cancellation",
            Job::ReturnSync { .. } => "return_sync",
            Job::InventorySync { .. } => "inventory_sync",
            Job::InventoryReconcile { .. } => "inventory_reconcile",
            Job::SettlementSync { .. } => "settlement_sync",
        }
    }

    /// The entity the job writes to; no two workers run jobs of the same entity at once.
    pub fn entity_key(&self) -> Option<String> {
        match self {
            Job::OrderSync { order_id, .. } | Job::Cancellation { order_id, .. } => {
                Some(format!("tiktok-order:{order_id}"))
            }
            Job::FulfillmentPush {
                sales_order_id: Some(so),
                ..
            } => Some(format!("netsuite-sales-order:{so}")),
            Job::FulfillmentPush { fulfillment_id, .. } => {
                Some(format!("netsuite-fulfillment:{fulfillment_id}"))
            }
            Job::ReturnSync { return_id, .. } => Some(format!("tiktok-return:{return_id}")),
            Job::InventorySync { .. } => None,
            Job::InventoryReconcile { shop_id } => Some(format!("inventory-reconcile:{shop_id}")),
            Job::SettlementSync { statement_id, .. } => {
                Some(format!("tiktok-statement:{statement_id}"))
            }
        }
    }

    /// The TikTok order the job is about, for history and logs.
    pub fn order_id(&self) -> Option<&str> {
        match self {
            Job::OrderSync { order_id, .. }
            | Job::Cancellation { order_id, .. }
            | Job::ReturnSync { order_id, .. } => Some(order_id),
            _ => None,
        }
    }

    /// The TikTok shop the job acts for, when it acts for one.
    pub fn shop_id(&self) -> Option<&str> {
        match self {
            Job::OrderSync { shop_id, .. }
            | Job::Cancellation { shop_id, .. }
            | Job::ReturnSync { shop_id, .. }
            | Job::InventorySync { shop_id, .. }
            | Job::InventoryReconcile { shop_id }
            | Job::SettlementSync { shop_id, .. } => Some(shop_id),
            Job::FulfillmentPush { .. } => None,
        }
    }
}

/// A job with its bookkeeping, as stored on the queue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobEnvelope {
    /// Unique per logical job; survives retries.
    pub id: String,
    pub job: Job,
    /// 1 on the first run, incremented on each scheduled retry.
    pub attempt: u32,
    /// When the job first entered the system (Unix ms), for latency figures.
    pub enqueued_at_ms: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// When the job first failed (Unix ms): its retry horizon runs from here. Cleared by a
    /// replay, which starts a fresh horizon.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_since_ms: Option<i64>,
}

impl JobEnvelope {
    pub fn new(job: Job) -> Self {
        JobEnvelope {
            id: uuid::Uuid::new_v4().to_string(),
            job,
            attempt: 1,
            enqueued_at_ms: now_ms(),
            last_error: None,
            retry_since_ms: None,
        }
    }
}

/// A job handed to a consumer; it stays pending until acked, retried or dead-lettered.
#[derive(Debug, Clone)]
pub struct Delivery {
    /// The backend's id of this message (Redis stream entry id).
    pub message_id: String,
    pub envelope: JobEnvelope,
    /// How many times the backend has handed this message out (1 on first read).
    pub delivery_count: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnqueueOutcome {
    Enqueued,
    Duplicate,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct QueueStats {
    /// Entries in the stream (not yet acked: waiting + pending).
    pub depth: u64,
    /// Delivered to a consumer, not yet acked.
    pub pending: u64,
    /// Scheduled retries waiting for their time.
    pub delayed: u64,
    pub dead: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeadLetter {
    /// Backend id of the dead-letter entry.
    pub id: String,
    pub envelope: JobEnvelope,
    pub error: String,
    pub failed_at_ms: i64,
}

#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    #[error("queue backend unavailable: {0}")]
    Unavailable(String),
    #[error("corrupt queue entry {id}: {reason}")]
    Corrupt { id: String, reason: String },
}

#[async_trait]
pub trait JobQueue: Send + Sync + 'static {
    /// Atomically: if `dedupe_key` was not seen within `ttl`, mark it seen and append the job.
    /// Never marks a key seen without queueing the job.
    async fn enqueue_unique(
        &self,
        dedupe_key: &str,
        ttl: Duration,
        envelope: &JobEnvelope,
    ) -> Result<EnqueueOutcome, QueueError>;

    /// Append a job with no dedupe (timers, unparking, replays).
    async fn enqueue(&self, envelope: &JobEnvelope) -> Result<(), QueueError>;

    /// Take up to `max` new jobs for `consumer`, blocking up to `block` when none wait.
    /// Uses its own connection so a blocked read never stalls other commands.
    async fn read(
        &self,
        consumer: &str,
        max: usize,
        block: Duration,
    ) -> Result<Vec<Delivery>, QueueError>;

    /// The job is done: remove it for good.
    async fn ack(&self, delivery: &Delivery) -> Result<(), QueueError>;

    /// Atomically ack `delivery` and schedule `next` to be queued again at `run_at_ms`.
    async fn retry_at(
        &self,
        delivery: &Delivery,
        next: &JobEnvelope,
        run_at_ms: i64,
    ) -> Result<(), QueueError>;

    /// Atomically ack `delivery` and move it to the dead-letter stream with `error`.
    async fn dead_letter(&self, delivery: &Delivery, error: &str) -> Result<(), QueueError>;

    /// Move scheduled retries whose time has come onto the stream; returns how many.
    async fn promote_due(&self, now_ms: i64, max: usize) -> Result<usize, QueueError>;

    /// Renew the leases of deliveries `consumer` holds, given as (message id, delivery
    /// count): one answer per delivery, false when it is no longer this delivery's (its
    /// lease expired and another consumer, or a later delivery, took it). A delivery's lease
    /// runs from its last renewal; `reclaim_idle` with the lease expiry takes only jobs
    /// whose holder stopped renewing.
    async fn renew_leases(
        &self,
        consumer: &str,
        held: &[(String, u64)],
    ) -> Result<Vec<bool>, QueueError>;

    /// Claim jobs whose lease is older than `min_idle` (their worker stopped renewing:
    /// crash, kill, partition) for `consumer`.
    async fn reclaim_idle(
        &self,
        consumer: &str,
        min_idle: Duration,
        max: usize,
    ) -> Result<Vec<Delivery>, QueueError>;

    async fn stats(&self) -> Result<QueueStats, QueueError>;

    async fn dead_letters(&self, max: usize) -> Result<Vec<DeadLetter>, QueueError>;

    /// Re-queue a dead letter as a fresh job (attempt 1) and remove it from the dead
    /// letters; false when no such dead letter exists (already replayed or discarded).
    async fn replay_dead(&self, id: &str) -> Result<bool, QueueError>;

    /// Drop a dead letter for good; false when it was not there.
    async fn discard_dead(&self, id: &str) -> Result<bool, QueueError>;

    /// Cheap liveness check of the backend.
    async fn ping(&self) -> Result<(), QueueError>;
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

//! Job handlers: one module per job kind. A handler fetches the source of truth, calls
//! the pure mapping, writes, and says how it ended; the worker turns that into ack,
//! retry, park or dead letter.

pub mod after_sale;
pub mod cancellation;
pub mod fbt;
pub mod fulfillment;
pub mod inventory;
pub mod order_sync;
pub mod refund_lines;
pub mod returns;
pub mod totals;

use crate::config::MappingConfig;
use crate::metrics::Metrics;
use crate::netsuite::client::NetSuiteClient;
use crate::queue::{Job, JobEnvelope};
use crate::state::{ParkReason, StateStore};
use crate::tiktok::client::TikTokClient;
use crate::tiktok::models::Order;
use std::collections::HashMap;
use std::sync::Arc;

/// Everything a handler may touch.
pub struct JobContext {
    pub state: Arc<dyn StateStore>,
    pub tiktok: TikTokClient,
    pub netsuite: NetSuiteClient,
    pub mapping: MappingConfig,
    pub metrics: Arc<Metrics>,
    /// I1 settings, ledger hooks and the pusher's wake-up (see `inventory::pusher`).
    pub inventory: Arc<crate::inventory::pusher::InventorySync>,
}

/// How a job run ended, when it did not fail.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Work written (or already in the wanted state).
    Done(String),
    /// Nothing to do now (e.g. an unpaid order); the event was still useful.
    Skipped(String),
    /// Waiting for a condition; re-runs by itself once it resolves.
    Parked(ParkReason),
}

#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// Worth another try later (timeouts, 429s, 5xx, backend hiccups).
    #[error("{0}")]
    Transient(String),
    /// Will fail the same way every time: goes to the dead-letter stream.
    #[error("{0}")]
    Permanent(String),
}

impl JobError {
    pub fn is_retryable(&self) -> bool {
        matches!(self, JobError::Transient(_))
    }
}

impl From<crate::state::StateError> for JobError {
    fn from(e: crate::state::StateError) -> Self {
        JobError::Transient(format!("state: {e}"))
    }
}

impl From<crate::tiktok::client::TikTokError> for JobError {
    fn from(e: crate::tiktok::client::TikTokError) -> Self {
        if e.is_retryable() {
            JobError::Transient(format!("tiktok: {e}"))
        } else {
            JobError::Permanent(format!("tiktok: {e}"))
        }
    }
}

impl From<crate::netsuite::client::NetSuiteError> for JobError {
    fn from(e: crate::netsuite::client::NetSuiteError) -> Self {
        if e.is_retryable() {
            JobError::Transient(format!("netsuite: {e}"))
        } else {
            JobError::Permanent(format!("netsuite: {e}"))
        }
    }
}

/// Orders fetched in one batched Get Order Detail call before the jobs ran.
pub type Prefetched = HashMap<String, Order>;

pub async fn run(
    ctx: &JobContext,
    envelope: &JobEnvelope,
    prefetched: &Prefetched,
) -> Result<Outcome, JobError> {
    match &envelope.job {
        Job::OrderSync {
            shop_id, order_id, ..
        } => order_sync::run(ctx, shop_id, order_id, prefetched.get(order_id)).await,
        Job::FulfillmentPush {
            fulfillment_id,
            event,
            ..
        } => fulfillment::run(ctx, fulfillment_id, event).await,
        Job::Cancellation {
            shop_id,
            order_id,
            cancel_id,
        } => cancellation::run(ctx, shop_id, order_id, cancel_id.as_deref()).await,
        Job::ReturnSync {
            shop_id,
            order_id,
            return_id,
        } => returns::run(ctx, shop_id, order_id, return_id).await,
        Job::InventorySync {
            shop_id,
            item_ids,
            source,
        } => inventory::sync(ctx, shop_id, item_ids, source).await,
        Job::InventoryReconcile { shop_id } => inventory::reconcile(ctx, shop_id).await,
    }
}

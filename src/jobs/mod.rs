//! Job handlers: one module per job kind. A handler fetches the source of truth, calls
//! the pure mapping, writes, and says how it ended; the worker turns that into ack,
//! retry, park or dead letter.

pub mod after_sale;
pub mod cancellation;
pub mod fbt;
pub mod fulfillment;
pub mod inventory;
pub mod inventory_push;
pub mod inventory_sweep;
pub mod order_sync;
pub mod refund_lines;
pub mod returns;
pub mod settlement;
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
    /// I1 settings, ledger hooks and the pusher's wake-up (see `inventory_push`).
    pub inventory: Arc<inventory_push::InventorySync>,
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
    /// The dependency did not answer usefully (timeout, connection error, 5xx, a load
    /// balancer's 503 page, 401 while its token is refreshed): counts against its circuit
    /// breaker, and the job waits for it without spending attempts while it is down.
    #[error("{message}")]
    Down {
        dependency: Dependency,
        message: String,
    },
    /// TikTok does not know an order (yet): right after its webhook this is read lag, so it
    /// is retried for `TIKTOK_READ_LAG_SECS` from the job's first queueing, then final.
    #[error("{0}")]
    NotYetVisible(String),
}

/// What a job depends on, for circuit breakers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dependency {
    NetSuite,
    TikTok,
}

impl JobError {
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            JobError::Transient(_) | JobError::Down { .. } | JobError::NotYetVisible(_)
        )
    }

    /// The error for an order TikTok's Get Order Detail did not return.
    pub fn unknown_order(order_id: &str) -> JobError {
        JobError::NotYetVisible(format!("TikTok does not know order {order_id}"))
    }
}

impl From<crate::state::StateError> for JobError {
    fn from(e: crate::state::StateError) -> Self {
        JobError::Transient(format!("state: {e}"))
    }
}

impl From<crate::tiktok::client::TikTokError> for JobError {
    fn from(e: crate::tiktok::client::TikTokError) -> Self {
        if let crate::tiktok::client::TikTokError::Transient { .. } = &e {
            // 5xx, internal errors, timeouts and refused connections.
            return JobError::Down {
                dependency: Dependency::TikTok,
                message: format!("tiktok: {e}"),
            };
        }
        if e.is_retryable() {
            JobError::Transient(format!("tiktok: {e}"))
        } else {
            JobError::Permanent(format!("tiktok: {e}"))
        }
    }
}

impl From<crate::netsuite::client::NetSuiteError> for JobError {
    fn from(e: crate::netsuite::client::NetSuiteError) -> Self {
        use crate::netsuite::client::NetSuiteError as E;
        // A 401 here survived the client's own token refresh and retry: during an incident
        // or a token rotation it repeats, so it counts as NetSuite being down (its breaker
        // opens and alerts) rather than as a verdict on the job.
        if matches!(
            e,
            E::Server { .. } | E::Transport { .. } | E::Auth { status: 401, .. }
        ) {
            return JobError::Down {
                dependency: Dependency::NetSuite,
                message: format!("netsuite: {e}"),
            };
        }
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
        Job::SettlementSync {
            shop_id,
            statement_id,
            statement_time,
        } => settlement::run(ctx, shop_id, statement_id, *statement_time).await,
    }
}

#[cfg(test)]
mod error_class_tests {
    use super::*;
    use crate::netsuite::client::NetSuiteError;

    #[test]
    fn outages_and_a_401_after_refresh_count_as_netsuite_down_not_as_verdicts() {
        for e in [
            NetSuiteError::from_response(503, "<html>Service Unavailable</html>"),
            NetSuiteError::from_response(
                500,
                r#"{"o:errorDetails":[{"o:errorCode":"UNEXPECTED_ERROR","detail":"x"}]}"#,
            ),
            NetSuiteError::from_response(
                401,
                r#"{"o:errorDetails":[{"o:errorCode":"INVALID_LOGIN","detail":"x"}]}"#,
            ),
            NetSuiteError::Transport {
                timeout: true,
                message: "timed out".into(),
            },
        ] {
            let job = JobError::from(e);
            assert!(
                matches!(
                    job,
                    JobError::Down {
                        dependency: Dependency::NetSuite,
                        ..
                    }
                ),
                "{job:?}"
            );
            assert!(job.is_retryable());
        }
        let throttled = JobError::from(NetSuiteError::from_response(429, "{}"));
        assert!(
            matches!(throttled, JobError::Transient(_)),
            "a 429 is an answer"
        );
        let invalid = JobError::from(NetSuiteError::from_response(
            400,
            r#"{"o:errorDetails":[{"o:errorCode":"INVALID_CONTENT","detail":"bad"}]}"#,
        ));
        assert!(!invalid.is_retryable(), "validation errors stay permanent");
    }

    #[test]
    fn an_order_tiktok_does_not_know_yet_is_retryable_read_lag() {
        let e = JobError::unknown_order("576");
        assert!(matches!(e, JobError::NotYetVisible(_)));
        assert!(e.is_retryable());
        assert_eq!(e.to_string(), "TikTok does not know order 576");
    }
}

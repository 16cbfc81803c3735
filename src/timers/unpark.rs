//! Releases parked jobs once their reason resolves: unknown SKUs are looked up again in
//! one SuiteQL query for all parked orders, and jobs whose SKUs now all exist are queued.
//! Fulfillments parked for an unknown carrier are released once `CARRIER_MAP` (read at
//! start, so after a restart with new config) names another provider for the carrier;
//! fulfillments of orders on hold are released at their recheck time; fulfillments waiting
//! for the rest of a TikTok package once a later fulfillment has shipped it; returns waiting
//! for their order's sales order once O1 recorded writing it.

use crate::netsuite::client::NetSuiteClient;
use crate::queue::{Job, JobEnvelope, JobQueue, SyncTrigger};
use crate::state::{ParkReason, StateStore};
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

pub struct Unparker {
    pub netsuite: NetSuiteClient,
    pub queue: Arc<dyn JobQueue>,
    pub state: Arc<dyn StateStore>,
    pub sku_field: String,
    pub owner: String,
    /// `CARRIER_MAP` as this replica read it (lowercased keys).
    pub carrier_map: HashMap<String, String>,
}

const LOCK_KEY: &str = "timer:unpark";

impl Unparker {
    /// One sweep. Returns how many jobs it released.
    pub async fn run_once(&self) -> anyhow::Result<usize> {
        if !self
            .state
            .try_lock(LOCK_KEY, &self.owner, Duration::from_secs(120))
            .await?
        {
            return Ok(0);
        }
        let result = self.sweep().await;
        self.state.unlock(LOCK_KEY, &self.owner).await?;
        result
    }

    async fn sweep(&self) -> anyhow::Result<usize> {
        let parked = self.state.parked().await?;
        if parked.is_empty() {
            return Ok(0);
        }
        let wanted: BTreeSet<String> = parked
            .iter()
            .flat_map(|p| match &p.reason {
                ParkReason::UnknownSku { skus } => skus.clone(),
                _ => Vec::new(),
            })
            .collect();
        let wanted: Vec<String> = wanted.into_iter().collect();
        // Jobs parked for a deauthorized shop need no NetSuite lookup.
        let found = if wanted.is_empty() {
            Default::default()
        } else {
            self.netsuite
                .find_items_by_sku(&self.sku_field, &wanted)
                .await?
        };
        let mut released = 0;
        for p in parked {
            let ready = match &p.reason {
                ParkReason::UnknownSku { skus } => skus.iter().all(|s| found.contains_key(s)),
                ParkReason::ShopDeauthorized { shop_id } => {
                    !crate::tiktok::authorization::is_deauthorized(self.state.as_ref(), shop_id)
                        .await?
                }
                ParkReason::UnknownCarrier {
                    keys,
                    rejected_provider_id,
                    ..
                } => crate::jobs::fulfillment::carrier_now_mapped(
                    &self.carrier_map,
                    keys,
                    rejected_provider_id.as_deref(),
                ),
                ParkReason::OrderOnHold { recheck_at_ms, .. } => {
                    crate::queue::now_ms() >= *recheck_at_ms
                }
                ParkReason::FulfillmentIncomplete {
                    order_id,
                    fulfillment_id,
                    ..
                } => {
                    !crate::jobs::fulfillment::still_waiting(
                        self.state.as_ref(),
                        order_id,
                        fulfillment_id,
                    )
                    .await?
                }
                ParkReason::AwaitingSalesOrder { order_id } => self
                    .state
                    .get(&crate::jobs::order_sync::written_key(order_id))
                    .await?
                    .is_some(),
                // A person decides (review flag); TikTok's next update reruns the order.
                ParkReason::TotalsMismatch { .. } => false,
            };
            if !ready {
                continue;
            }
            release(
                self.queue.as_ref(),
                self.state.as_ref(),
                &p,
                SyncTrigger::Unparked,
            )
            .await?;
            released += 1;
        }
        if released > 0 {
            tracing::info!(released, "parked jobs released");
        }
        Ok(released)
    }
}

/// Queue a fresh run of a parked job, then unpark it. Queue first: a crash in between runs
/// the job twice (harmless, jobs are idempotent) rather than never. Order latency keeps
/// counting from the first event, parked time included. Returns the new envelope.
pub async fn release(
    queue: &dyn JobQueue,
    state: &dyn StateStore,
    parked: &crate::state::ParkedJob,
    trigger: SyncTrigger,
) -> Result<JobEnvelope, ReleaseError> {
    let job = match parked.envelope.job.clone() {
        Job::OrderSync {
            shop_id,
            order_id,
            update_time,
            ..
        } => Job::OrderSync {
            shop_id,
            order_id,
            trigger,
            update_time,
        },
        // Other kinds carry no trigger: they re-run as they were.
        other => other,
    };
    let mut env = JobEnvelope::new(job);
    env.enqueued_at_ms = parked.envelope.enqueued_at_ms;
    queue.enqueue(&env).await?;
    state.unpark(&parked.envelope.id).await?;
    Ok(env)
}

#[derive(Debug, thiserror::Error)]
pub enum ReleaseError {
    #[error(transparent)]
    Queue(#[from] crate::queue::QueueError),
    #[error(transparent)]
    State(#[from] crate::state::StateError),
}

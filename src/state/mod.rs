//! Shared state the replicas agree on: per-entity locks, caches, id maps, tokens and
//! parked jobs. Redis is the production backend (`redis.rs`); `sqlite.rs` is the embedded
//! single-instance one.

#[cfg(test)]
pub mod failing;
pub mod redis;
pub mod sqlite;

use crate::queue::JobEnvelope;
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Why a job waits instead of failing, and what would release it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ParkReason {
    /// TikTok `seller_sku` values with no NetSuite item yet.
    UnknownSku { skus: Vec<String> },
    /// TikTok said the merchant removed the app (topic 6): nothing for this shop runs until
    /// it is authorized again.
    ShopDeauthorized { shop_id: String },
    /// F1: the item fulfillment's carrier has no TikTok `shipping_provider_id` in
    /// `CARRIER_MAP`, or the mapped id is not one TikTok offers for the order's delivery
    /// option (`rejected_provider_id`). Released once the map names another id for it.
    UnknownCarrier {
        /// The carrier / ship method text as NetSuite shows it.
        carrier: String,
        /// Every text looked up in the map (lowercased), most specific first.
        #[serde(default)]
        keys: Vec<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        rejected_provider_id: Option<String>,
    },
    /// F1: TikTok still holds the order (ON_HOLD, the buyer's remorse window): it must not
    /// ship yet. Released at `recheck_at_ms`; the job parks again if the hold goes on.
    OrderOnHold {
        order_id: String,
        recheck_at_ms: i64,
    },
    /// F1: the fulfillment ships only part of a package TikTok made (packages ship whole);
    /// its units wait (state `fulfillment-carry:<order_id>`) for the order's next
    /// fulfillment, whose run ships the package. Released once that has happened.
    FulfillmentIncomplete {
        order_id: String,
        fulfillment_id: String,
        /// The TikTok packages waiting for more units.
        #[serde(default)]
        package_ids: Vec<String>,
        /// Units of this fulfillment not on TikTok yet (`sku_id` → count).
        #[serde(default)]
        units: std::collections::BTreeMap<String, u32>,
    },
    /// O3: a return of an order whose sales order does not exist because O1 parked the
    /// order (an unknown SKU). Released once O1 wrote the sales order (`so:<order_id>`).
    AwaitingSalesOrder { order_id: String },
    /// O1: the sales order would not tie to TikTok's `total_amount` under either reading
    /// (`mapping::charges`), beyond `TOTALS_TOLERANCE`. A review flag goes with it; released
    /// by an operator (after changing the fee items or the tolerance) or rerun by TikTok's
    /// next update of the order.
    TotalsMismatch {
        order_id: String,
        /// TikTok's `total_amount`.
        expected: rust_decimal::Decimal,
        /// What the mapped lines total, market fees included.
        computed: rust_decimal::Decimal,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        computed_without_fees: Option<rust_decimal::Decimal>,
        #[serde(default)]
        currency: String,
    },
}

impl ParkReason {
    pub fn label(&self) -> &'static str {
        match self {
            ParkReason::UnknownSku { .. } => "unknown_sku",
            ParkReason::ShopDeauthorized { .. } => "shop_deauthorized",
            ParkReason::UnknownCarrier { .. } => "unknown_carrier",
            ParkReason::OrderOnHold { .. } => "order_on_hold",
            ParkReason::FulfillmentIncomplete { .. } => "fulfillment_incomplete",
            ParkReason::AwaitingSalesOrder { .. } => "awaiting_sales_order",
            ParkReason::TotalsMismatch { .. } => "totals_mismatch",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ParkedJob {
    pub envelope: JobEnvelope,
    pub reason: ParkReason,
    pub parked_at_ms: i64,
}

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("state backend unavailable: {0}")]
    Unavailable(String),
    #[error("corrupt state at {key}: {reason}")]
    Corrupt { key: String, reason: String },
}

#[async_trait]
pub trait StateStore: Send + Sync + 'static {
    /// Take `key` for `owner` if free (or already ours); expires after `ttl`.
    async fn try_lock(&self, key: &str, owner: &str, ttl: Duration) -> Result<bool, StateError>;
    /// Release `key` only if `owner` holds it.
    async fn unlock(&self, key: &str, owner: &str) -> Result<(), StateError>;

    // Fenced locks (entity locks of running jobs). Each acquisition gets a token larger
    // than every token handed out before it in this deployment, and every later call names
    // that token: a holder whose lock expired and went to someone else can neither extend,
    // nor release it. Not re-entrant: a job taken over after its lease
    // expired waits for the old lock to expire too.

    /// Take `key` if free or expired; the new holder's fencing token, `None` when held.
    async fn lock_fenced(&self, key: &str, ttl: Duration) -> Result<Option<u64>, StateError>;
    /// Extend the lock to `ttl` from now if `token` still holds it; false when lost.
    async fn renew_fenced(&self, key: &str, token: u64, ttl: Duration) -> Result<bool, StateError>;
    /// Release the lock if `token` still holds it; false when a newer holder has it.
    async fn unlock_fenced(&self, key: &str, token: u64) -> Result<bool, StateError>;

    async fn get(&self, key: &str) -> Result<Option<String>, StateError>;
    async fn set(&self, key: &str, value: &str, ttl: Option<Duration>) -> Result<(), StateError>;
    async fn delete(&self, key: &str) -> Result<(), StateError>;
    /// Read several keys at once; `None` where absent.
    async fn get_many(&self, keys: &[String]) -> Result<Vec<Option<String>>, StateError>;

    /// Append `entry` to the list at `key`, keeping only the newest `max_len` entries
    /// (per-order history).
    async fn list_push(&self, key: &str, entry: &str, max_len: usize) -> Result<(), StateError>;
    /// The list at `key`, oldest first.
    async fn list_range(&self, key: &str) -> Result<Vec<String>, StateError>;

    /// Append several `(key, entry)` pairs, each list capped at `max_len`. Backends that
    /// can send them in one round trip override this.
    async fn list_push_many(
        &self,
        entries: &[(String, String)],
        max_len: usize,
    ) -> Result<(), StateError> {
        for (key, entry) in entries {
            self.list_push(key, entry, max_len).await?;
        }
        Ok(())
    }

    /// Park a job (replacing an earlier parking of the same job id).
    async fn park(&self, parked: &ParkedJob) -> Result<(), StateError>;
    async fn parked(&self) -> Result<Vec<ParkedJob>, StateError>;
    /// Remove a parked job; returns it if it was there.
    async fn unpark(&self, job_id: &str) -> Result<Option<ParkedJob>, StateError>;

    /// Parked jobs by reason label, for `/metrics`. Backends answer without loading the
    /// parked jobs (Redis keeps the counts beside them); this default loads them.
    async fn parked_counts(&self) -> Result<Vec<(String, u64)>, StateError> {
        let mut counts = std::collections::BTreeMap::<String, u64>::new();
        for p in self.parked().await? {
            *counts.entry(p.reason.label().to_string()).or_default() += 1;
        }
        Ok(counts.into_iter().collect())
    }

    // Hashes and counters (inventory ledger, dirty set and versions). Hash keys live in
    // their own namespace; counters share the plain-key namespace of `get`/`set`.

    /// Set one field of the hash at `key`.
    async fn hash_set(&self, key: &str, field: &str, value: &str) -> Result<(), StateError>;
    /// Remove fields of the hash at `key` (absent ones are ignored).
    async fn hash_delete(&self, key: &str, fields: &[String]) -> Result<(), StateError>;
    /// Remove `field` only if it still holds `expected`; true when removed. Lets a consumer
    /// clear what it handled without losing a change written meanwhile.
    async fn hash_delete_if(
        &self,
        key: &str,
        field: &str,
        expected: &str,
    ) -> Result<bool, StateError>;
    /// Every field of the hash at `key`, sorted by field.
    async fn hash_all(&self, key: &str) -> Result<Vec<(String, String)>, StateError>;
    /// Atomically add `by` to the counter at `key` (absent = 0) and return the new value.
    async fn incr_by(&self, key: &str, by: u64) -> Result<u64, StateError>;
    /// Atomically raise the counter at `key` to `value` if it is below it (absent = below
    /// anything); true when raised. A compare-before-write for monotonic versions.
    async fn raise_to(&self, key: &str, value: u64) -> Result<bool, StateError>;
}

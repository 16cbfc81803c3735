//! What the inventory flow keeps in the shared state store, so every replica sees the same
//! ledger and any replica can push:
//!
//! - `inv:ledger:<shop>:<sku>` hash, order id → units: the in-flight ledger. Keyed per order,
//!   so a re-read order sets its units again instead of adding them (hold is set-not-add), and
//!   a release removes exactly that order's entry (release is idempotent).
//! - `inv:order:<order id>` key: what the order holds now (shop + sku → units), so a changed
//!   order releases the SKUs it no longer has; `inv:settled:<order id>` once its sales order
//!   exists or it was cancelled, so a late event cannot hold its units again.
//! - `inv:dirty:<shop>` hash, sku → `<ms>:<reason>:<nonce>`: SKUs to recompute and push. The
//!   pusher removes an entry only if it is unchanged since it read it (compare-delete), so a
//!   change that lands during a push is never lost.
//! - `inv:catalog:<shop>` hash, seller sku → TikTok product, sku id and warehouses (from
//!   Inventory Search); `inv:skuref:<shop>` hash, seller sku → product id (from order lines);
//!   `inv:fbt:<shop>` hash of TikTok-run warehouses seen on FBT orders.
//! - `inv:counted:<order id>:<sku>` key: units of the order already added to `inv:held`, so a
//!   hold retried after a failure between its writes never counts the same units twice.
//! - `inv:round:<shop>` counter and `inv:pushed:<shop>:<sku id>` versions (see `pusher`).

use crate::state::{StateError, StateStore};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

/// How long an order's holding and settled marks are kept: far beyond TikTok's auto-cancel
/// of unpaid orders, so a settled order never comes back, yet the keys do not pile up forever.
pub const ORDER_MARK_TTL: Duration = Duration::from_secs(60 * 86_400);

pub fn ledger_key(shop: &str, sku: &str) -> String {
    format!("inv:ledger:{shop}:{sku}")
}
fn order_key(order_id: &str) -> String {
    format!("inv:order:{order_id}")
}
fn counted_key(order_id: &str, sku: &str) -> String {
    format!("inv:counted:{order_id}:{sku}")
}
fn settled_key(order_id: &str) -> String {
    format!("inv:settled:{order_id}")
}
pub fn dirty_key(shop: &str) -> String {
    format!("inv:dirty:{shop}")
}
pub fn catalog_key(shop: &str) -> String {
    format!("inv:catalog:{shop}")
}
pub fn skuref_key(shop: &str) -> String {
    format!("inv:skuref:{shop}")
}
pub fn fbt_key(shop: &str) -> String {
    format!("inv:fbt:{shop}")
}
pub fn round_key(shop: &str) -> String {
    format!("inv:round:{shop}")
}
pub fn pushed_key(shop: &str, sku_id: &str) -> String {
    format!("inv:pushed:{shop}:{sku_id}")
}
pub fn held_key(shop: &str, sku: &str) -> String {
    format!("inv:held:{shop}:{sku}")
}
pub fn basis_key(shop: &str, sku: &str) -> String {
    format!("inv:basis:{shop}:{sku}")
}
pub fn drift_key(shop: &str) -> String {
    format!("inv:drift:{shop}")
}

/// Why a SKU was marked dirty. Order and stock changes are pushed as deltas on top of what
/// TikTok lists now; a reconcile correction sets the sellable quantity outright (see
/// `pusher`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum DirtyReason {
    /// An order hold, or its release because the sales order now commits the stock.
    Order,
    /// Stock moved in NetSuite, or an order was cancelled.
    Stock,
    /// The reconcile found TikTok off the sellable quantity.
    Reconcile,
}

impl DirtyReason {
    fn as_str(self) -> &'static str {
        match self {
            DirtyReason::Order => "order",
            DirtyReason::Stock => "stock",
            DirtyReason::Reconcile => "reconcile",
        }
    }
}

/// A SKU to push, as read by the pusher. Order marks and stock marks live in two hashes so
/// an order event can never downgrade a pending stock change into an order-only one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dirty {
    pub sku: String,
    /// The strongest pending mark (reconcile > stock > order).
    pub reason: DirtyReason,
    /// Earliest pending mark (Unix ms), for the freshness metric.
    pub since_ms: i64,
    /// (hash key, stored value) of each mark, for the compare-delete.
    entries: Vec<(String, String)>,
}

fn hash_for(shop: &str, reason: DirtyReason) -> String {
    format!("{}:{}", dirty_key(shop), reason.as_str())
}

fn since_of(token: &str) -> i64 {
    token
        .split(':')
        .next()
        .and_then(|p| p.parse().ok())
        .unwrap_or(0)
}

pub async fn mark_dirty(
    state: &dyn StateStore,
    shop: &str,
    skus: impl IntoIterator<Item = &String>,
    reason: DirtyReason,
) -> Result<usize, StateError> {
    let now = crate::queue::now_ms();
    let key = hash_for(shop, reason);
    let mut n = 0;
    for sku in skus {
        let nonce = uuid::Uuid::new_v4().simple().to_string();
        let token = format!("{now}:{}", &nonce[..12]);
        state.hash_set(&key, sku, &token).await?;
        n += 1;
    }
    Ok(n)
}

pub async fn dirty(state: &dyn StateStore, shop: &str) -> Result<Vec<Dirty>, StateError> {
    let mut by_sku: BTreeMap<String, Dirty> = BTreeMap::new();
    for reason in [
        DirtyReason::Order,
        DirtyReason::Stock,
        DirtyReason::Reconcile,
    ] {
        let key = hash_for(shop, reason);
        for (sku, token) in state.hash_all(&key).await? {
            let since = since_of(&token);
            let d = by_sku.entry(sku.clone()).or_insert_with(|| Dirty {
                sku,
                reason,
                since_ms: since,
                entries: Vec::new(),
            });
            d.reason = d.reason.max(reason);
            d.since_ms = d.since_ms.min(since);
            d.entries.push((key.clone(), token));
        }
    }
    Ok(by_sku.into_values().collect())
}

/// Clears a SKU's marks that nothing renewed since `d` was read; true when all went.
pub async fn clear_dirty(
    state: &dyn StateStore,
    _shop: &str,
    d: &Dirty,
) -> Result<bool, StateError> {
    let mut all = true;
    for (key, token) in &d.entries {
        all &= state.hash_delete_if(key, &d.sku, token).await?;
    }
    Ok(all)
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct Holding {
    shop: String,
    lines: BTreeMap<String, u32>,
}

/// Sets what `order_id` holds (sku → units) and returns the SKUs whose ledger changed.
/// A settled order holds nothing and changes nothing.
pub async fn hold(
    state: &dyn StateStore,
    shop: &str,
    order_id: &str,
    lines: &BTreeMap<String, u32>,
) -> Result<Vec<String>, StateError> {
    let marks = state
        .get_many(&[order_key(order_id), settled_key(order_id)])
        .await?;
    if marks.get(1).is_some_and(Option::is_some) {
        return Ok(Vec::new());
    }
    let previous: Holding = marks
        .first()
        .cloned()
        .flatten()
        .and_then(|j| serde_json::from_str(&j).ok())
        .unwrap_or_default();
    if previous.shop == shop && &previous.lines == lines {
        return Ok(Vec::new());
    }
    let mut changed = Vec::new();
    for (sku, units) in lines {
        let before = if previous.shop == shop {
            previous.lines.get(sku).copied()
        } else {
            None
        };
        if before != Some(*units) {
            state
                .hash_set(&ledger_key(shop, sku), order_id, &units.to_string())
                .await?;
            // The order record is written last, so after a failure in between a retry sees
            // no `previous`; the per-SKU mark says what is already in `held`. The mark goes
            // first: a failure before the increment undercounts (TikTok listed lower until
            // the reconcile), never counts twice (TikTok listed higher than it should).
            let key = counted_key(order_id, sku);
            let counted = state
                .get(&key)
                .await?
                .and_then(|v| v.parse::<u32>().ok())
                .unwrap_or(0)
                .max(before.unwrap_or(0));
            let more = units.saturating_sub(counted);
            if more > 0 {
                state
                    .set(&key, &units.to_string(), Some(ORDER_MARK_TTL))
                    .await?;
                state.incr_by(&held_key(shop, sku), u64::from(more)).await?;
            }
            changed.push(sku.clone());
        }
    }
    for sku in previous.lines.keys().filter(|s| !lines.contains_key(*s)) {
        state
            .hash_delete(&ledger_key(&previous.shop, sku), &[order_id.to_string()])
            .await?;
        changed.push(sku.clone());
    }
    let holding = Holding {
        shop: shop.to_string(),
        lines: lines.clone(),
    };
    let json = serde_json::to_string(&holding).map_err(|e| StateError::Corrupt {
        key: order_key(order_id),
        reason: e.to_string(),
    })?;
    state
        .set(&order_key(order_id), &json, Some(ORDER_MARK_TTL))
        .await?;
    Ok(changed)
}

/// The order's units leave the ledger for good (sales order written, or cancelled).
/// Returns the SKUs it held; releasing twice returns nothing the second time.
pub async fn release(state: &dyn StateStore, order_id: &str) -> Result<Vec<String>, StateError> {
    state
        .set(&settled_key(order_id), "1", Some(ORDER_MARK_TTL))
        .await?;
    let Some(json) = state.get(&order_key(order_id)).await? else {
        return Ok(Vec::new());
    };
    let holding: Holding = serde_json::from_str(&json).unwrap_or_default();
    for sku in holding.lines.keys() {
        state
            .hash_delete(&ledger_key(&holding.shop, sku), &[order_id.to_string()])
            .await?;
        state.delete(&counted_key(order_id, sku)).await?;
    }
    state.delete(&order_key(order_id)).await?;
    Ok(holding.lines.into_keys().collect())
}

/// Units of `sku` held by orders not yet on a sales order.
pub async fn ledger_units(
    state: &dyn StateStore,
    shop: &str,
    sku: &str,
) -> Result<u32, StateError> {
    Ok(state
        .hash_all(&ledger_key(shop, sku))
        .await?
        .into_iter()
        .filter_map(|(_, v)| v.parse::<u32>().ok())
        .fold(0u32, u32::saturating_add))
}

/// Units ever newly held per SKU (a counter that only grows): TikTok took these units off
/// its own listing when the buyer ordered, so the pusher must not count them twice.
pub async fn held_totals(
    state: &dyn StateStore,
    shop: &str,
    skus: &[String],
) -> Result<HashMap<String, u64>, StateError> {
    let keys: Vec<String> = skus.iter().map(|s| held_key(shop, s)).collect();
    Ok(skus
        .iter()
        .cloned()
        .zip(state.get_many(&keys).await?)
        .map(|(s, v)| (s, v.and_then(|v| v.parse().ok()).unwrap_or(0)))
        .collect())
}

/// What the pusher saw when it last set a SKU on TikTok: NetSuite's available minus the
/// ledger (`y`), and the held counter (`h`). The next push moves TikTok by the change since.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Basis {
    pub y: rust_decimal::Decimal,
    pub h: u64,
}

pub async fn bases(
    state: &dyn StateStore,
    shop: &str,
    skus: &[String],
) -> Result<HashMap<String, Basis>, StateError> {
    let keys: Vec<String> = skus.iter().map(|s| basis_key(shop, s)).collect();
    Ok(skus
        .iter()
        .cloned()
        .zip(state.get_many(&keys).await?)
        .filter_map(|(s, v)| Some((s, serde_json::from_str(&v?).ok()?)))
        .collect())
}

pub async fn save_basis(
    state: &dyn StateStore,
    shop: &str,
    sku: &str,
    basis: &Basis,
) -> Result<(), StateError> {
    let json = serde_json::to_string(basis).map_err(|e| StateError::Corrupt {
        key: basis_key(shop, sku),
        reason: e.to_string(),
    })?;
    state.set(&basis_key(shop, sku), &json, None).await
}

/// Where a seller SKU lives on TikTok, as Inventory Search last showed it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CatalogEntry {
    pub product_id: String,
    pub sku_id: String,
    pub warehouses: Vec<String>,
}

pub async fn catalog(
    state: &dyn StateStore,
    shop: &str,
) -> Result<HashMap<String, CatalogEntry>, StateError> {
    Ok(state
        .hash_all(&catalog_key(shop))
        .await?
        .into_iter()
        .filter_map(|(sku, json)| serde_json::from_str(&json).ok().map(|e| (sku, e)))
        .collect())
}

pub async fn save_catalog_entry(
    state: &dyn StateStore,
    shop: &str,
    seller_sku: &str,
    entry: &CatalogEntry,
) -> Result<(), StateError> {
    let json = serde_json::to_string(entry).map_err(|e| StateError::Corrupt {
        key: catalog_key(shop),
        reason: e.to_string(),
    })?;
    state.hash_set(&catalog_key(shop), seller_sku, &json).await
}

/// One SKU whose TikTok quantity differed from its sellable quantity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DriftRow {
    pub seller_sku: String,
    pub product_id: String,
    pub sku_id: String,
    /// What TikTok listed (all warehouses).
    pub tiktok: i64,
    /// What the shop may sell.
    pub sellable: i64,
}

/// The last reconcile's findings, served by `GET /admin/inventory/drift`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DriftReport {
    pub shop_id: String,
    pub checked_at_ms: i64,
    pub skus_checked: usize,
    /// Σ |tiktok − sellable| over the drifted SKUs.
    pub drift_units: i64,
    /// Drifted SKUs, queued for a corrective push.
    pub drifted: Vec<DriftRow>,
}

pub async fn save_drift(state: &dyn StateStore, report: &DriftReport) -> Result<(), StateError> {
    let json = serde_json::to_string(report).map_err(|e| StateError::Corrupt {
        key: drift_key(&report.shop_id),
        reason: e.to_string(),
    })?;
    state.set(&drift_key(&report.shop_id), &json, None).await
}

pub async fn load_drift(
    state: &dyn StateStore,
    shop: &str,
) -> Result<Option<DriftReport>, StateError> {
    Ok(state
        .get(&drift_key(shop))
        .await?
        .and_then(|j| serde_json::from_str(&j).ok()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dirty_tokens_carry_their_time() {
        assert_eq!(since_of("1700:abc"), 1700);
        assert_eq!(since_of("x"), 0);
    }

    #[tokio::test]
    async fn a_hold_retried_after_a_failed_order_record_counts_its_units_once() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::state::failing::FailingStore::open(dir.path()).await;
        store.fail_next_set(&order_key("o1"));
        let lines: BTreeMap<String, u32> = [("SKU-A".to_string(), 3)].into();
        assert!(hold(&store, "shop", "o1", &lines).await.is_err());
        // The job's retry runs the hold again; then a later re-read of the same order.
        hold(&store, "shop", "o1", &lines).await.unwrap();
        hold(&store, "shop", "o1", &lines).await.unwrap();
        let held = store.get(&held_key("shop", "SKU-A")).await.unwrap();
        assert_eq!(held.as_deref(), Some("3"), "3 units held, counted once");
        // The order grows by one unit: only that unit is added.
        let more: BTreeMap<String, u32> = [("SKU-A".to_string(), 4)].into();
        hold(&store, "shop", "o1", &more).await.unwrap();
        let held = store.get(&held_key("shop", "SKU-A")).await.unwrap();
        assert_eq!(held.as_deref(), Some("4"));
        // Released: the mark goes with the ledger entry.
        release(&store, "o1").await.unwrap();
        assert_eq!(store.get(&counted_key("o1", "SKU-A")).await.unwrap(), None);
    }
}

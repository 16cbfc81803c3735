//! The debounced inventory pusher: turns dirty SKUs into TikTok Update Inventory calls.
//!
//! One task per worker replica. Hooks and handlers only mark SKUs dirty in the state store
//! and poke [`InventorySync::notify`]; the pusher waits for a quiet moment (trailing debounce,
//! bounded by `max_delay` so a never-ending burst still gets pushed), then, holding the shop's
//! push lock so one replica pushes at a time:
//!
//! 1. takes a round number from a shared counter (the version of every value it computes);
//! 2. reads TikTok (Inventory Search: current quantities and every warehouse of each SKU) and
//!    NetSuite (one batched SuiteQL stock read) and the ledger, and computes sellable;
//! 3. claims each SKU's version (`raise_to`: only a newer round may push after an older one,
//!    so a stale value never overwrites a newer one, whichever replica computed it);
//! 4. coalesces per product (≤100 SKUs per call, every warehouse) and pushes, paced by the
//!    client's per-API limiter (50 QPS per shop);
//! 5. clears the dirty entries it handled, unless they were marked again meanwhile.
//!
//! Order-only changes (a hold, or a release because the sales order now commits the stock)
//! never raise the TikTok quantity: TikTok already took those units off itself when the buyer
//! ordered, and an order the bridge has not seen yet is invisible to the ledger, so raising
//! could list units that are gone. Such SKUs are pushed only when TikTok shows more than the
//! shop may sell. Stock changes, cancellations and drift push the computed value.

use super::config::InventoryConfig;
use super::sellable::{
    coalesce, kit_listing, sellable, split_across_warehouses, KitComponent, SkuChange,
    StockByLocation,
};
use super::store::{self, CatalogEntry, Dirty, DirtyReason, DriftReport, DriftRow};
use crate::jobs::{JobContext, JobError};
use crate::tiktok::inventory::{SkuInventory, CODE_MISSING_WAREHOUSE, CODE_UNKNOWN_WAREHOUSE};
use rust_decimal::Decimal;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

/// Lease of the per-shop push lock; a round finishes well inside it.
const PUSH_LOCK_TTL: Duration = Duration::from_secs(60);
/// How often an idle pusher looks for SKUs marked dirty by other replicas.
const IDLE_POLL: Duration = Duration::from_millis(500);

/// Per-process inventory runtime, shared by the hooks, the handlers and the pusher task.
pub struct InventorySync {
    pub cfg: InventoryConfig,
    pub shop_id: String,
    /// Lock owner name of this replica.
    pub owner: String,
    /// TikTok warehouse → NetSuite location, to spread a SKU over its warehouses.
    pub warehouse_locations: HashMap<String, String>,
    notify: Notify,
}

/// What one round did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoundReport {
    pub skus: usize,
    pub update_calls: usize,
    pub applied: usize,
    pub unchanged: usize,
    pub sku_errors: usize,
    pub stale: usize,
    pub skipped: usize,
}

/// A computed listing for one SKU.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listing {
    pub seller_sku: String,
    pub entry: CatalogEntry,
    /// The sellable quantity, spread over the SKU's warehouses.
    pub quantities: BTreeMap<String, u32>,
    /// TikTok's current quantity per warehouse, from the same round's Inventory Search.
    pub tiktok: BTreeMap<String, i64>,
}

impl Listing {
    pub fn total(&self) -> i64 {
        self.quantities.values().map(|q| i64::from(*q)).sum()
    }
    pub fn tiktok_total(&self) -> i64 {
        self.tiktok.values().sum()
    }
}

/// SKUs computed in one go, and those that could not be.
#[derive(Debug, Default)]
pub struct Plan {
    pub listings: Vec<Listing>,
    /// Seller SKUs TikTok has no product for (or on a TikTok-run warehouse), with why.
    pub skipped: Vec<(String, &'static str)>,
}

impl InventorySync {
    pub fn new(
        cfg: InventoryConfig,
        shop_id: &str,
        owner: &str,
        warehouse_locations: HashMap<String, String>,
    ) -> Arc<Self> {
        Arc::new(InventorySync {
            cfg,
            shop_id: shop_id.to_string(),
            owner: owner.to_string(),
            warehouse_locations,
            notify: Notify::new(),
        })
    }

    pub fn enabled(&self) -> bool {
        self.cfg.enabled()
    }

    /// Wake this replica's pusher (other replicas find the dirty entries on their idle poll).
    pub fn notify(&self) {
        self.notify.notify_one();
    }

    /// The pusher task: runs until `shutdown`.
    pub async fn run(self: Arc<Self>, ctx: Arc<JobContext>, shutdown: CancellationToken) {
        let mut backoff = Duration::ZERO;
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = self.notify.notified() => {}
                _ = tokio::time::sleep(IDLE_POLL.max(backoff)) => {}
            }
            // Trailing debounce: wait for `debounce` of quiet, at most `max_delay` in all.
            let started = Instant::now();
            loop {
                let left = self.cfg.max_delay.saturating_sub(started.elapsed());
                let wait = self.cfg.debounce.min(left);
                if wait.is_zero() {
                    break;
                }
                tokio::select! {
                    _ = shutdown.cancelled() => return,
                    _ = self.notify.notified() => continue,
                    _ = tokio::time::sleep(wait) => break,
                }
            }
            match push_round(&ctx).await {
                Ok(_) => backoff = Duration::ZERO,
                Err(e) => {
                    backoff =
                        (backoff * 2).clamp(Duration::from_millis(500), Duration::from_secs(30));
                    tracing::warn!(error = %e, retry_in_ms = backoff.as_millis() as u64, "inventory push round failed");
                }
            }
        }
    }
}

/// One push round for the context's shop (see the module docs). Public for tests and the
/// benchmark, which drive rounds without waiting for the timer.
pub async fn push_round(ctx: &JobContext) -> Result<RoundReport, JobError> {
    let inv = &ctx.inventory;
    let shop = inv.shop_id.clone();
    let dirty = store::dirty(ctx.state.as_ref(), &shop).await?;
    if dirty.is_empty() {
        return Ok(RoundReport::default());
    }
    let lock = format!("inventory-push:{shop}");
    if !ctx.state.try_lock(&lock, &inv.owner, PUSH_LOCK_TTL).await? {
        // Another replica is pushing; it (or our next poll) picks these up.
        return Ok(RoundReport::default());
    }
    let result = push_locked(ctx, dirty).await;
    if let Err(e) = ctx.state.unlock(&lock, &inv.owner).await {
        tracing::warn!(error = %e, "could not release the inventory push lock; it expires by itself");
    }
    result
}

async fn push_locked(ctx: &JobContext, dirty: Vec<Dirty>) -> Result<RoundReport, JobError> {
    let prepared = prepare(ctx, dirty).await?;
    send(ctx, prepared).await
}

/// A round computed but not pushed yet: its version, the listings and the dirty entries
/// they answer.
#[derive(Debug)]
pub struct Prepared {
    pub version: u64,
    pub plan: Plan,
    pub dirty: Vec<Dirty>,
}

/// Steps 1–2 of a round: take a version, then read both sides and compute. Public so tests
/// can interleave two rounds as replicas whose lock lease ran out would.
pub async fn prepare(ctx: &JobContext, dirty: Vec<Dirty>) -> Result<Prepared, JobError> {
    let shop = ctx.inventory.shop_id.as_str();
    // The version is taken before reading, so a later version always saw later sources.
    let version = ctx.state.incr(&store::round_key(shop)).await?;
    let skus: Vec<String> = dirty.iter().map(|d| d.sku.clone()).collect();
    let plan = plan(ctx, &skus).await?;
    Ok(Prepared {
        version,
        plan,
        dirty,
    })
}

/// Steps 3–5 of a round: claim versions, coalesce, push, clear what was handled.
pub async fn send(ctx: &JobContext, prepared: Prepared) -> Result<RoundReport, JobError> {
    let shop = ctx.inventory.shop_id.as_str();
    let metrics = &ctx.metrics.inventory;
    let Prepared {
        version,
        plan,
        dirty,
    } = prepared;
    let by_sku: HashMap<&str, &Dirty> = dirty.iter().map(|d| (d.sku.as_str(), d)).collect();
    let mut report = RoundReport {
        skus: dirty.len(),
        ..RoundReport::default()
    };

    for (sku, why) in &plan.skipped {
        metrics.sku(why, 1);
        report.skipped += 1;
        if let Some(d) = by_sku.get(sku.as_str()) {
            store::clear_dirty(ctx.state.as_ref(), shop, d).await?;
        }
    }

    let mut changes = Vec::new();
    let mut assigned = HashMap::new();
    let mut sku_of: HashMap<String, &Listing> = HashMap::new();
    for listing in &plan.listings {
        let Some(d) = by_sku.get(listing.seller_sku.as_str()) else {
            continue;
        };
        let mut quantities = listing.quantities.clone();
        if d.reason == DirtyReason::Order {
            // Never raise on order events (module docs): push only what TikTok over-lists.
            let over = listing.total() < listing.tiktok_total();
            if !over {
                metrics.sku("unchanged", 1);
                report.unchanged += 1;
                store::clear_dirty(ctx.state.as_ref(), shop, d).await?;
                continue;
            }
            for (wh, q) in quantities.iter_mut() {
                let now = listing.tiktok.get(wh).copied().unwrap_or(0).max(0);
                *q = (*q).min(u32::try_from(now).unwrap_or(u32::MAX));
            }
        }
        if !ctx
            .state
            .raise_to(&store::pushed_key(shop, &listing.entry.sku_id), version)
            .await?
        {
            // A newer round already pushed this SKU: ours is older and must not land.
            metrics.sku("stale", 1);
            report.stale += 1;
            continue;
        }
        assigned.insert(
            listing.entry.sku_id.clone(),
            listing.entry.warehouses.clone(),
        );
        sku_of.insert(listing.entry.sku_id.clone(), listing);
        changes.push(SkuChange {
            product_id: listing.entry.product_id.clone(),
            sku_id: listing.entry.sku_id.clone(),
            version,
            quantities,
        });
    }

    let coalesced = coalesce(changes, &assigned, &HashMap::new());
    for sku_id in &coalesced.incomplete {
        // The catalog's warehouse list is off; the next round re-reads it.
        if let Some(l) = sku_of.get(sku_id) {
            forget(ctx, shop, &l.seller_sku).await?;
        }
    }
    for batch in &coalesced.batches {
        let skus: Vec<SkuInventory> = batch.skus.iter().map(SkuInventory::from).collect();
        metrics.update_calls.inc();
        report.update_calls += 1;
        let result = ctx
            .tiktok
            .update_inventory(&batch.product_id, &skus)
            .await?;
        for change in &batch.skus {
            let Some(listing) = sku_of.get(&change.sku_id) else {
                continue;
            };
            let Some(d) = by_sku.get(listing.seller_sku.as_str()) else {
                continue;
            };
            match result.error_for(&change.sku_id) {
                None => {
                    report.applied += 1;
                    metrics.sku("applied", 1);
                    let age = (crate::queue::now_ms() - d.since_ms).max(0) as f64 / 1000.0;
                    metrics.freshness.observe(age);
                    store::clear_dirty(ctx.state.as_ref(), shop, d).await?;
                }
                Some(err)
                    if err.code == CODE_MISSING_WAREHOUSE || err.code == CODE_UNKNOWN_WAREHOUSE =>
                {
                    // Warehouses changed on TikTok: re-learn them and push again.
                    report.sku_errors += 1;
                    metrics.sku("sku_error", 1);
                    tracing::warn!(sku_id = %change.sku_id, code = err.code, "TikTok refused the SKU's warehouses; re-reading them");
                    forget(ctx, shop, &listing.seller_sku).await?;
                }
                Some(err) => {
                    // E.g. a promotion lock: retrying now fails the same way. The reconcile
                    // brings it back once TikTok accepts updates again.
                    report.sku_errors += 1;
                    metrics.sku("sku_error", 1);
                    tracing::warn!(sku_id = %change.sku_id, code = err.code, message = %err.message, "TikTok refused the SKU's inventory update");
                    store::clear_dirty(ctx.state.as_ref(), shop, d).await?;
                }
            }
        }
    }
    tracing::debug!(?report, version, "inventory push round");
    Ok(report)
}

async fn forget(ctx: &JobContext, shop: &str, seller_sku: &str) -> Result<(), JobError> {
    ctx.state
        .hash_delete(&store::catalog_key(shop), &[seller_sku.to_string()])
        .await?;
    Ok(())
}

/// TikTok's view of some products: refreshes the catalog and returns seller sku →
/// (entry, current quantity per warehouse).
async fn search_products(
    ctx: &JobContext,
    shop: &str,
    product_ids: &BTreeSet<String>,
) -> Result<HashMap<String, (CatalogEntry, BTreeMap<String, i64>)>, JobError> {
    let ids: Vec<String> = product_ids.iter().cloned().collect();
    let mut out = HashMap::new();
    for chunk in ids.chunks(crate::tiktok::inventory::MAX_SEARCH_PRODUCT_IDS) {
        for product in ctx.tiktok.inventory_search(chunk, &[]).await? {
            for s in product.skus {
                if s.seller_sku.is_empty() {
                    continue;
                }
                let entry = CatalogEntry {
                    product_id: product.product_id.clone(),
                    sku_id: s.id.clone(),
                    warehouses: s
                        .warehouse_inventory
                        .iter()
                        .map(|w| w.warehouse_id.clone())
                        .collect(),
                };
                store::save_catalog_entry(ctx.state.as_ref(), shop, &s.seller_sku, &entry).await?;
                let now = s
                    .warehouse_inventory
                    .iter()
                    .map(|w| (w.warehouse_id.clone(), w.available_quantity))
                    .collect();
                out.insert(s.seller_sku.clone(), (entry, now));
            }
        }
    }
    Ok(out)
}

/// Computes the listing of `skus` (seller SKUs) from TikTok, NetSuite and the ledger.
pub async fn plan(ctx: &JobContext, skus: &[String]) -> Result<Plan, JobError> {
    let inv = &ctx.inventory;
    let shop = inv.shop_id.as_str();
    let cfg = &inv.cfg;
    let mut out = Plan::default();

    // Which TikTok products to read: known from the catalog, from order lines, or configured.
    let catalog = store::catalog(ctx.state.as_ref(), shop).await?;
    let refs: HashMap<String, String> = ctx
        .state
        .hash_all(&store::skuref_key(shop))
        .await?
        .into_iter()
        .collect();
    let mut products: BTreeSet<String> = BTreeSet::new();
    let mut need_configured = false;
    for sku in skus {
        match catalog
            .get(sku)
            .map(|e| e.product_id.clone())
            .or_else(|| refs.get(sku).cloned())
        {
            Some(p) => {
                products.insert(p);
            }
            None => need_configured = true,
        }
    }
    if need_configured {
        products.extend(cfg.product_ids.iter().cloned());
    }
    let tiktok = if products.is_empty() {
        HashMap::new()
    } else {
        search_products(ctx, shop, &products).await?
    };

    let mut fbt: HashSet<String> = cfg.fbt_warehouses.iter().cloned().collect();
    fbt.extend(
        ctx.state
            .hash_all(&store::fbt_key(shop))
            .await?
            .into_iter()
            .map(|(w, _)| w),
    );

    // NetSuite: the SKUs and every kit component, in one batched stock read.
    let mut ns_skus: BTreeSet<String> = BTreeSet::new();
    for sku in skus {
        match cfg.kits.get(sku) {
            Some(components) => ns_skus.extend(components.iter().map(|(c, _)| c.clone())),
            None => {
                ns_skus.insert(sku.clone());
            }
        }
    }
    let ns_list: Vec<String> = ns_skus.iter().cloned().collect();
    let items = crate::jobs::order_sync::resolve_items(ctx, &ns_list).await?;
    let sku_of_item: HashMap<&String, &String> = items.iter().map(|(s, i)| (i, s)).collect();
    let item_ids: Vec<String> = items.values().cloned().collect();
    let rows = ctx
        .netsuite
        .stock_for_items(&item_ids, &cfg.locations)
        .await?;
    let mut stock = StockByLocation::new();
    for row in rows {
        if let Some(sku) = sku_of_item.get(&row.item_id) {
            stock.set(sku, &row.location_id, row.available);
        }
    }
    for sku in &ns_list {
        if !items.contains_key(sku) {
            tracing::warn!(sku = %sku, "SKU unknown in NetSuite: its sellable quantity is 0");
        }
    }

    let mut ledger: HashMap<String, u32> = HashMap::new();
    for sku in skus.iter().chain(ns_list.iter()) {
        if !ledger.contains_key(sku) {
            let units = store::ledger_units(ctx.state.as_ref(), shop, sku).await?;
            ledger.insert(sku.clone(), units);
        }
    }
    let units_of = |sku: &str| ledger.get(sku).copied().unwrap_or(0);

    for sku in skus {
        let Some((entry, now)) = tiktok.get(sku) else {
            out.skipped.push((sku.clone(), "unmapped"));
            continue;
        };
        if entry.warehouses.iter().any(|w| fbt.contains(w)) {
            // TikTok runs this stock (FBT); Update Inventory cannot write it.
            out.skipped.push((sku.clone(), "fbt"));
            continue;
        }
        let total = match cfg.kits.get(sku) {
            Some(components) => {
                let comps: Vec<KitComponent> = components
                    .iter()
                    .map(|(c, qty)| KitComponent {
                        sku: c.clone(),
                        qty_per_kit: *qty,
                        sellable: sellable(
                            c,
                            &stock,
                            &cfg.locations,
                            units_of(c),
                            0,
                            &super::AllocationRule::NONE,
                        ),
                    })
                    .collect();
                kit_listing(&comps, units_of(sku), cfg.safety_buffer, &cfg.rule)
            }
            None => sellable(
                sku,
                &stock,
                &cfg.locations,
                units_of(sku),
                cfg.safety_buffer,
                &cfg.rule,
            ),
        };
        let weights: BTreeMap<String, Decimal> = entry
            .warehouses
            .iter()
            .filter_map(|w| {
                let loc = inv.warehouse_locations.get(w)?;
                cfg.locations
                    .contains(loc)
                    .then(|| (w.clone(), stock.available(sku, std::slice::from_ref(loc))))
            })
            .collect();
        out.listings.push(Listing {
            seller_sku: sku.clone(),
            entry: entry.clone(),
            quantities: split_across_warehouses(total, &entry.warehouses, &weights),
            tiktok: now.clone(),
        });
    }
    Ok(out)
}

/// Full reconcile: every SKU of every known product on both sides; drifted SKUs are
/// reported and marked dirty so the pusher corrects them.
pub async fn reconcile(ctx: &JobContext) -> Result<DriftReport, JobError> {
    let inv = &ctx.inventory;
    let shop = inv.shop_id.clone();
    let mut products: BTreeSet<String> = inv.cfg.product_ids.iter().cloned().collect();
    products.extend(
        store::catalog(ctx.state.as_ref(), &shop)
            .await?
            .into_values()
            .map(|e| e.product_id),
    );
    products.extend(
        ctx.state
            .hash_all(&store::skuref_key(&shop))
            .await?
            .into_iter()
            .map(|(_, p)| p),
    );
    let mut report = DriftReport {
        shop_id: shop.clone(),
        checked_at_ms: crate::queue::now_ms(),
        ..DriftReport::default()
    };
    if !products.is_empty() {
        let found = search_products(ctx, &shop, &products).await?;
        let skus: Vec<String> = found.keys().cloned().collect();
        let plan = plan(ctx, &skus).await?;
        report.skus_checked = plan.listings.len();
        let mut drifted = Vec::new();
        for l in &plan.listings {
            let tiktok_now: BTreeMap<String, u32> = l
                .tiktok
                .iter()
                .map(|(w, q)| (w.clone(), u32::try_from((*q).max(0)).unwrap_or(u32::MAX)))
                .collect();
            if tiktok_now != l.quantities {
                report.drift_units += (l.tiktok_total() - l.total()).abs();
                report.drifted.push(DriftRow {
                    seller_sku: l.seller_sku.clone(),
                    product_id: l.entry.product_id.clone(),
                    sku_id: l.entry.sku_id.clone(),
                    tiktok: l.tiktok_total(),
                    sellable: l.total(),
                });
                drifted.push(l.seller_sku.clone());
            }
        }
        report
            .drifted
            .sort_by(|a, b| a.seller_sku.cmp(&b.seller_sku));
        if !drifted.is_empty() {
            store::mark_dirty(ctx.state.as_ref(), &shop, &drifted, DirtyReason::Stock).await?;
            inv.notify();
        }
    }
    store::save_drift(ctx.state.as_ref(), &report).await?;
    let label = super::metrics::ShopLabel { shop_id: shop };
    ctx.metrics
        .inventory
        .drift_units
        .get_or_create(&label)
        .set(report.drift_units);
    ctx.metrics
        .inventory
        .drift_skus
        .get_or_create(&label)
        .set(report.drifted.len() as i64);
    Ok(report)
}

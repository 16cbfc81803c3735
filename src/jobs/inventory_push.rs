//! The debounced inventory pusher: turns dirty SKUs into TikTok Update Inventory calls.
//!
//! One task per worker replica. Hooks and handlers only mark SKUs dirty in the state store
//! and poke [`InventorySync::notify`]; the pusher waits for a quiet moment (trailing debounce,
//! bounded by `max_delay` so a never-ending burst still gets pushed), then, holding the shop's
//! push lock so one replica pushes at a time:
//!
//! 1. takes a round number from a shared counter (the version of every value it computes);
//! 2. reads NetSuite (one batched SuiteQL stock read, on its own concurrency lane so it never
//!    queues behind sales-order writes) and the ledger, then TikTok (Inventory Search: current
//!    quantity and every warehouse of each SKU) last, as close to the push as it can;
//! 3. claims each SKU's version (`raise_to`: only a newer round may push after an older one,
//!    so a stale value never overwrites a newer one, whichever replica computed it);
//! 4. coalesces per product (≤100 SKUs per call, every warehouse) and pushes, paced by the
//!    client's per-API limiter (50 QPS per shop);
//! 5. clears the dirty entries it handled, unless they were marked again meanwhile.
//!
//! **What is pushed.** TikTok takes a unit off its listing the moment a buyer orders, long
//! before the order reaches the bridge (webhook, queue, Get Order Detail). An order in that
//! pipeline is in no ledger, so an absolute "NetSuite − ledger" push during a burst re-lists
//! units already sold. So the pusher moves TikTok's *current* quantity by what changed on the
//! bridge's side since its last push of the SKU, and never above the sellable quantity:
//!
//! `new = min(sellable, tiktok_now + Δ(available − ledger) + Δheld)`
//!
//! where `held` counts units ever taken into the ledger (TikTok already took those off, so
//! holding them must not lower TikTok again). A second channel's sale lowers `available` and
//! TikTok by the same units; a sales order commits stock and releases the ledger (no change);
//! a cancellation releases the ledger (TikTok lists the units again); a restock raises both.
//! The first push of a SKU, and reconcile corrections, set the sellable quantity outright.

use crate::config::inventory::InventoryConfig;
use crate::inventory::sellable::{
    coalesce, kit_listing, sellable, split_across_warehouses, KitComponent, SkuChange,
    StockByLocation,
};
use crate::inventory::store::{self, CatalogEntry, Dirty, DirtyReason, DriftReport, DriftRow};
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
    /// A NetSuite client of its own for stock reads, so they never wait behind sales-order
    /// writes for a concurrency slot; `None` shares the job context's client.
    pub netsuite: Option<crate::netsuite::client::NetSuiteClient>,
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
    /// The sellable quantity (DESIGN.md §7).
    pub sellable: u32,
    /// The sellable quantity spread over the SKU's warehouses.
    pub sellable_split: BTreeMap<String, u32>,
    /// What this round pushes, per warehouse (see the module docs).
    pub quantities: BTreeMap<String, u32>,
    /// TikTok's current quantity per warehouse, from the same round's Inventory Search.
    pub tiktok: BTreeMap<String, i64>,
    /// The basis to remember once pushed.
    pub basis: store::Basis,
}

impl Listing {
    pub fn total(&self) -> i64 {
        self.quantities.values().map(|q| i64::from(*q)).sum()
    }
    pub fn tiktok_total(&self) -> i64 {
        self.tiktok.values().sum()
    }
    fn unchanged(&self) -> bool {
        self.entry.warehouses.iter().all(|w| {
            self.tiktok.get(w).copied().unwrap_or(-1)
                == i64::from(self.quantities.get(w).copied().unwrap_or(0))
        })
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
        Self::with_lane(cfg, shop_id, owner, warehouse_locations, None)
    }

    pub fn with_lane(
        cfg: InventoryConfig,
        shop_id: &str,
        owner: &str,
        warehouse_locations: HashMap<String, String>,
        netsuite: Option<crate::netsuite::client::NetSuiteClient>,
    ) -> Arc<Self> {
        Arc::new(InventorySync {
            cfg,
            shop_id: shop_id.to_string(),
            owner: owner.to_string(),
            warehouse_locations,
            netsuite,
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

    /// The client stock reads go through.
    pub fn stock_client<'a>(
        &'a self,
        ctx: &'a JobContext,
    ) -> &'a crate::netsuite::client::NetSuiteClient {
        self.netsuite.as_ref().unwrap_or(&ctx.netsuite)
    }

    /// The pusher task: runs until `shutdown`.
    pub async fn run(self: Arc<Self>, ctx: Arc<JobContext>, shutdown: CancellationToken) {
        // Start from a known state: pushes after this one move TikTok by what changed since
        // (module docs), so each SKU needs one absolute reading first.
        if let Err(e) = reconcile(&ctx).await {
            tracing::warn!(error = %e, "start-up inventory reconcile failed; the timer retries");
        }
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
    let version = ctx.state.incr_by(&store::round_key(shop), 1).await?;
    let skus: Vec<(String, DirtyReason)> =
        dirty.iter().map(|d| (d.sku.clone(), d.reason)).collect();
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
        if listing.unchanged() {
            metrics.sku("unchanged", 1);
            report.unchanged += 1;
            store::save_basis(
                ctx.state.as_ref(),
                shop,
                &listing.seller_sku,
                &listing.basis,
            )
            .await?;
            store::clear_dirty(ctx.state.as_ref(), shop, d).await?;
            continue;
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
            quantities: listing.quantities.clone(),
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
                    store::save_basis(
                        ctx.state.as_ref(),
                        shop,
                        &listing.seller_sku,
                        &listing.basis,
                    )
                    .await?;
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

/// NetSuite's side of one SKU: the sellable quantity, and `available − ledger` before the
/// buffer and caps (the `y` of the basis).
struct NsFigures {
    sellable: u32,
    y: Decimal,
}

/// The pure decision of what to push for one SKU (see the module docs).
pub fn target_total(
    sellable: u32,
    tiktok_now: i64,
    y: Decimal,
    held: u64,
    basis: Option<&store::Basis>,
    reason: DirtyReason,
) -> u32 {
    let Some(b) = basis.filter(|_| reason != DirtyReason::Reconcile) else {
        return match reason {
            // Never pushed yet and only orders moved: TikTok's own count is the better
            // bound (orders still in the pipeline are in it, not in the ledger).
            DirtyReason::Order => {
                sellable.min(u32::try_from(tiktok_now.max(0)).unwrap_or(u32::MAX))
            }
            _ => sellable,
        };
    };
    let held_delta = Decimal::from(held) - Decimal::from(b.h);
    let moved = Decimal::from(tiktok_now.max(0)) + (y - b.y) + held_delta;
    let moved = if moved <= Decimal::ZERO {
        0
    } else {
        use rust_decimal::prelude::ToPrimitive;
        moved.floor().to_u32().unwrap_or(u32::MAX)
    };
    moved.min(sellable)
}

/// Computes the listing of `skus` (seller SKUs with why they are dirty) from NetSuite, the
/// ledger and TikTok, in that order (TikTok last: it moves fastest).
pub async fn plan(ctx: &JobContext, skus: &[(String, DirtyReason)]) -> Result<Plan, JobError> {
    let inv = &ctx.inventory;
    let shop = inv.shop_id.as_str();
    let cfg = &inv.cfg;
    let mut out = Plan::default();
    let names: Vec<String> = skus.iter().map(|(s, _)| s.clone()).collect();

    // NetSuite: the SKUs and every kit component, in one batched stock read.
    let mut ns_skus: BTreeSet<String> = BTreeSet::new();
    for sku in &names {
        match cfg.kits.get(sku) {
            Some(components) => ns_skus.extend(components.iter().map(|(c, _)| c.clone())),
            None => {
                ns_skus.insert(sku.clone());
            }
        }
    }
    let ns_list: Vec<String> = ns_skus.iter().cloned().collect();
    // Read order matters: held, then the ledger, then NetSuite. A sales order commits in
    // NetSuite before its ledger entry goes, so this order can only see a unit twice
    // (undersell, put right next round), never miss it (which would list it again).
    let held = store::held_totals(ctx.state.as_ref(), shop, &names).await?;
    let mut ledger: HashMap<String, u32> = HashMap::new();
    for sku in names.iter().chain(ns_list.iter()) {
        if !ledger.contains_key(sku) {
            let units = store::ledger_units(ctx.state.as_ref(), shop, sku).await?;
            ledger.insert(sku.clone(), units);
        }
    }
    let units_of = |sku: &str| ledger.get(sku).copied().unwrap_or(0);
    let bases = store::bases(ctx.state.as_ref(), shop, &names).await?;
    let items = crate::jobs::order_sync::resolve_items(ctx, &ns_list).await?;
    let sku_of_item: HashMap<&String, &String> = items.iter().map(|(s, i)| (i, s)).collect();
    let item_ids: Vec<String> = items.values().cloned().collect();
    let rows = inv
        .stock_client(ctx)
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
    let mut figures: HashMap<String, NsFigures> = HashMap::new();
    for sku in &names {
        let f = match cfg.kits.get(sku) {
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
                            &crate::inventory::AllocationRule::NONE,
                        ),
                    })
                    .collect();
                NsFigures {
                    sellable: kit_listing(&comps, units_of(sku), cfg.safety_buffer, &cfg.rule),
                    y: Decimal::from(crate::inventory::kit_sellable(&comps))
                        - Decimal::from(units_of(sku)),
                }
            }
            None => NsFigures {
                sellable: sellable(
                    sku,
                    &stock,
                    &cfg.locations,
                    units_of(sku),
                    cfg.safety_buffer,
                    &cfg.rule,
                ),
                y: stock.available(sku, &cfg.locations) - Decimal::from(units_of(sku)),
            },
        };
        figures.insert(sku.clone(), f);
    }

    // TikTok last: which products to read come from the catalog, order lines, or settings.
    let catalog = store::catalog(ctx.state.as_ref(), shop).await?;
    let refs: HashMap<String, String> = ctx
        .state
        .hash_all(&store::skuref_key(shop))
        .await?
        .into_iter()
        .collect();
    let mut products: BTreeSet<String> = BTreeSet::new();
    let mut need_configured = false;
    for sku in &names {
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

    for (sku, reason) in skus {
        let Some((entry, now)) = tiktok.get(sku) else {
            out.skipped.push((sku.clone(), "unmapped"));
            continue;
        };
        if entry.warehouses.iter().any(|w| fbt.contains(w)) {
            // TikTok runs this stock (FBT); Update Inventory cannot write it.
            out.skipped.push((sku.clone(), "fbt"));
            continue;
        }
        let Some(f) = figures.get(sku) else {
            continue;
        };
        let h = held.get(sku).copied().unwrap_or(0);
        let tiktok_now: i64 = now.values().map(|q| (*q).max(0)).sum();
        let total = target_total(f.sellable, tiktok_now, f.y, h, bases.get(sku), *reason);
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
            sellable: f.sellable,
            sellable_split: split_across_warehouses(f.sellable, &entry.warehouses, &weights),
            quantities: split_across_warehouses(total, &entry.warehouses, &weights),
            tiktok: now.clone(),
            basis: store::Basis { y: f.y, h },
        });
    }
    Ok(out)
}

/// Full reconcile: every SKU of every known product on both sides; drifted SKUs are
/// reported and marked for an outright correction.
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
        let skus: Vec<(String, DirtyReason)> = found
            .keys()
            .map(|s| (s.clone(), DirtyReason::Reconcile))
            .collect();
        let plan = plan(ctx, &skus).await?;
        report.skus_checked = plan.listings.len();
        let mut drifted = Vec::new();
        for l in &plan.listings {
            let tiktok_now: BTreeMap<String, u32> = l
                .tiktok
                .iter()
                .map(|(w, q)| (w.clone(), u32::try_from((*q).max(0)).unwrap_or(u32::MAX)))
                .collect();
            if tiktok_now == l.sellable_split {
                // In line: this is the basis later pushes move from.
                store::save_basis(ctx.state.as_ref(), &shop, &l.seller_sku, &l.basis).await?;
            } else {
                report.drift_units += (l.tiktok_total() - i64::from(l.sellable)).abs();
                report.drifted.push(DriftRow {
                    seller_sku: l.seller_sku.clone(),
                    product_id: l.entry.product_id.clone(),
                    sku_id: l.entry.sku_id.clone(),
                    tiktok: l.tiktok_total(),
                    sellable: i64::from(l.sellable),
                });
                drifted.push(l.seller_sku.clone());
            }
        }
        report
            .drifted
            .sort_by(|a, b| a.seller_sku.cmp(&b.seller_sku));
        if !drifted.is_empty() {
            store::mark_dirty(ctx.state.as_ref(), &shop, &drifted, DirtyReason::Reconcile).await?;
            inv.notify();
        }
    }
    store::save_drift(ctx.state.as_ref(), &report).await?;
    let label = crate::inventory::metrics::ShopLabel { shop_id: shop };
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

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    fn basis(y: Decimal, h: u64) -> store::Basis {
        store::Basis { y, h }
    }

    #[test]
    fn first_push_and_reconcile_set_the_sellable_quantity() {
        assert_eq!(
            target_total(40, 5, dec!(40), 0, None, DirtyReason::Stock),
            40
        );
        // ...except that an order event alone never raises TikTok on first sight.
        assert_eq!(
            target_total(40, 5, dec!(40), 0, None, DirtyReason::Order),
            5
        );
        assert_eq!(target_total(3, 5, dec!(3), 0, None, DirtyReason::Order), 3);
        let b = basis(dec!(10), 0);
        assert_eq!(
            target_total(40, 99, dec!(40), 0, Some(&b), DirtyReason::Reconcile),
            40
        );
    }

    #[test]
    fn an_unseen_order_is_not_listed_again_by_a_second_channel_sale() {
        // Pushed 10 with y = 10. A buyer took 1 on TikTok (9 now), unseen by the bridge;
        // the other channel sells 1 in NetSuite (y 9). Absolute would push 9: one unit too many.
        let b = basis(dec!(10), 0);
        assert_eq!(
            target_total(9, 9, dec!(9), 0, Some(&b), DirtyReason::Stock),
            8
        );
    }

    #[test]
    fn seen_orders_and_their_sales_orders_move_nothing() {
        // TikTok 9 after one order; the bridge holds it (y 9, held 1): still 9.
        let b = basis(dec!(10), 0);
        assert_eq!(
            target_total(9, 9, dec!(9), 1, Some(&b), DirtyReason::Order),
            9
        );
        // Its sales order commits in NetSuite and the ledger lets go: y 9, still 9.
        let b = basis(dec!(9), 1);
        assert_eq!(
            target_total(9, 9, dec!(9), 1, Some(&b), DirtyReason::Order),
            9
        );
    }

    #[test]
    fn cancels_and_restocks_raise_within_the_sellable_ceiling() {
        let b = basis(dec!(7), 3);
        // A held order of 2 is cancelled: y 9, TikTok lists them again.
        assert_eq!(
            target_total(9, 7, dec!(9), 3, Some(&b), DirtyReason::Stock),
            9
        );
        // A restock of 100 with a buffer that keeps sellable at 95.
        assert_eq!(
            target_total(95, 7, dec!(107), 3, Some(&b), DirtyReason::Stock),
            95
        );
        // Never below zero.
        assert_eq!(
            target_total(0, 0, dec!(-5), 3, Some(&b), DirtyReason::Stock),
            0
        );
    }
}

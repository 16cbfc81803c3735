//! I1: sellable quantity per SKU, pushed to TikTok coalesced, versioned and rate-limited.
//!
//! The hooks and handlers here only move the ledger and mark SKUs dirty (state writes and a
//! notify, no API calls on the order path); `jobs::inventory_push` does the reading and pushing.
//! With inventory sync off (`INVENTORY_LOCATIONS` unset) they do nothing.

use super::{JobContext, JobError, Outcome};
use crate::inventory::store::{self, DirtyReason};
use crate::tiktok::models::{FulfillmentType, Order, OrderStatus};
use std::collections::{BTreeMap, BTreeSet};

/// `Job::InventorySync`: NetSuite stock changed for `item_ids` (`source = "callout"`), or a
/// sales order was closed or cancelled (`source = "sales_order:<id>"`, no item ids: its lines
/// say which items' commitments were released).
pub async fn sync(
    ctx: &JobContext,
    shop_id: &str,
    item_ids: &[String],
    source: &str,
) -> Result<Outcome, JobError> {
    let inv = &ctx.inventory;
    if !inv.enabled() {
        return Ok(Outcome::Skipped(
            "inventory sync is off (INVENTORY_LOCATIONS unset)".into(),
        ));
    }
    if shop_id != inv.shop_id {
        return Ok(Outcome::Skipped(format!(
            "shop {shop_id} is not this bridge's shop"
        )));
    }
    let mut items: BTreeSet<String> = item_ids.iter().filter(|i| !i.is_empty()).cloned().collect();
    if let Some(so_id) = source.strip_prefix("sales_order:") {
        let so = ctx.netsuite.get_record("salesOrder", so_id).await?;
        items.extend(sales_order_items(&so));
    }
    if source == SWEEP {
        // The timer's sweep: NetSuite names the items itself (`jobs::inventory_sweep`).
        let (changed, started) = super::inventory_sweep::changed_items(ctx).await?;
        items.extend(changed);
        let outcome = mark_items(ctx, items, source).await?;
        super::inventory_sweep::save_watermark(ctx, started).await?;
        return Ok(outcome);
    }
    mark_items(ctx, items, source).await
}

/// `source` of the sweep timer's `Job::InventorySync`.
pub const SWEEP: &str = "sweep";

/// Marks the SKUs of `items` (those stocked at the shop's locations, and kits of them) dirty.
async fn mark_items(
    ctx: &JobContext,
    items: BTreeSet<String>,
    source: &str,
) -> Result<Outcome, JobError> {
    let inv = &ctx.inventory;
    if items.is_empty() {
        return Ok(Outcome::Skipped(format!("{source}: no items named")));
    }
    let items: Vec<String> = items.into_iter().collect();
    let mut skus = skus_of_items(ctx, &items).await?;
    if source == SWEEP {
        skus = moved_since_last_push(ctx, skus).await?;
    }
    if skus.is_empty() {
        return Ok(Outcome::Skipped(format!(
            "{source}: none of {} item(s) is stocked at the shop's locations",
            items.len()
        )));
    }
    store::mark_dirty(ctx.state.as_ref(), &inv.shop_id, &skus, DirtyReason::Stock).await?;
    inv.notify();
    Ok(Outcome::Done(format!(
        "{source}: {} SKU(s) queued for a push",
        skus.len()
    )))
}

/// Item ids on a sales order's lines (`item.items[].item.id`).
fn sales_order_items(so: &serde_json::Value) -> Vec<String> {
    so["item"]["items"]
        .as_array()
        .map(|lines| {
            lines
                .iter()
                .filter_map(|l| match &l["item"]["id"] {
                    serde_json::Value::String(s) => Some(s.clone()),
                    serde_json::Value::Number(n) => Some(n.to_string()),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default()
}

/// NetSuite item ids → SKUs, by the stock read itself (its rows carry `itemid`), so an item
/// that has no stock row at the shop's locations is not the shop's business.
async fn skus_of_items(ctx: &JobContext, items: &[String]) -> Result<BTreeSet<String>, JobError> {
    let rows = ctx
        .netsuite
        .stock_for_items(items, &ctx.inventory.cfg.locations)
        .await?;
    let mut skus: BTreeSet<String> = rows
        .into_iter()
        .map(|r| r.sku)
        .filter(|s| !s.is_empty())
        .collect();
    // A kit moves when one of its components does.
    for (kit, components) in &ctx.inventory.cfg.kits {
        if components.iter().any(|(c, _)| skus.contains(c)) {
            skus.insert(kit.clone());
        }
    }
    Ok(skus)
}

/// The sweep's filter: of `skus`, those whose `available − ledger` differs from the basis of
/// their last push (or that have none). The bridge's own sales orders move both sides by the
/// same units and are left alone, so the sweep adds no push round during an order burst
/// (each round is a chance to re-list a unit a buyer takes between its read and its write).
async fn moved_since_last_push(
    ctx: &JobContext,
    skus: BTreeSet<String>,
) -> Result<BTreeSet<String>, JobError> {
    let inv = &ctx.inventory;
    let shop = inv.shop_id.as_str();
    let plain: Vec<String> = skus
        .iter()
        .filter(|s| !inv.cfg.kits.contains_key(*s))
        .cloned()
        .collect();
    let bases = store::bases(ctx.state.as_ref(), shop, &plain).await?;
    let items = super::order_sync::resolve_items(ctx, &plain).await?;
    let item_ids: Vec<String> = items.values().cloned().collect();
    let rows = ctx
        .netsuite
        .stock_for_items(&item_ids, &inv.cfg.locations)
        .await?;
    let mut moved = BTreeSet::new();
    for sku in &plain {
        let available: rust_decimal::Decimal = items
            .get(sku)
            .map(|item| {
                rows.iter()
                    .filter(|r| &r.item_id == item)
                    .map(|r| r.available)
                    .sum()
            })
            .unwrap_or_default();
        let ledger = store::ledger_units(ctx.state.as_ref(), shop, sku).await?;
        let y = available - rust_decimal::Decimal::from(ledger);
        if bases.get(sku).is_none_or(|b| b.y != y) {
            moved.insert(sku.clone());
        }
    }
    // Kits follow their components.
    for (kit, components) in &inv.cfg.kits {
        if skus.contains(kit) && components.iter().any(|(c, _)| moved.contains(c)) {
            moved.insert(kit.clone());
        }
    }
    Ok(moved)
}

/// `Job::InventoryReconcile`: compare every mapped SKU on both sides, report and fix drift.
pub async fn reconcile(ctx: &JobContext, shop_id: &str) -> Result<Outcome, JobError> {
    if !ctx.inventory.enabled() {
        return Ok(Outcome::Skipped(
            "inventory sync is off (INVENTORY_LOCATIONS unset)".into(),
        ));
    }
    if shop_id != ctx.inventory.shop_id {
        return Ok(Outcome::Skipped(format!(
            "shop {shop_id} is not this bridge's shop"
        )));
    }
    let report = super::inventory_push::reconcile(ctx).await?;
    Ok(Outcome::Done(format!(
        "{} SKU(s) checked, {} drifted by {} unit(s)",
        report.skus_checked,
        report.drifted.len(),
        report.drift_units
    )))
}

/// Units per seller SKU in an order (TikTok sends one line item per unit).
fn units_by_sku(order: &Order) -> BTreeMap<String, u32> {
    let mut units: BTreeMap<String, u32> = BTreeMap::new();
    for li in &order.line_items {
        if li.seller_sku.is_empty() {
            continue;
        }
        let slot = units.entry(li.seller_sku.clone()).or_default();
        *slot = slot.saturating_add(1);
    }
    units
}

/// Called by O1 for every order it reads, before deciding whether to import it: moves the
/// in-flight ledger (units of orders not yet on a sales order). UNPAID, ON_HOLD and
/// AWAITING_SHIPMENT orders hold their units; CANCELLED releases them.
pub async fn order_seen(ctx: &JobContext, order: &Order) -> Result<(), JobError> {
    let inv = &ctx.inventory;
    if !inv.enabled() {
        return Ok(());
    }
    let shop = inv.shop_id.as_str();
    // Learn where the SKUs live on TikTok from the order lines (cheap: one write per SKU,
    // and Inventory Search fills in the warehouses at push time).
    let refs: BTreeMap<&str, &str> = order
        .line_items
        .iter()
        .filter(|li| !li.seller_sku.is_empty())
        .filter_map(|li| {
            let product = li.product_id.as_deref().filter(|p| !p.is_empty())?;
            Some((li.seller_sku.as_str(), product))
        })
        .collect();
    for (sku, product) in refs {
        ctx.state
            .hash_set(&store::skuref_key(shop), sku, product)
            .await?;
    }
    if order.fulfillment_type == Some(FulfillmentType::ByTikTok) {
        // FBT units come out of TikTok's own warehouse, not the merchant's stock.
        if let Some(w) = order.warehouse_id.as_deref() {
            ctx.state.hash_set(&store::fbt_key(shop), w, "1").await?;
        }
        return Ok(());
    }
    if order.status == OrderStatus::Cancelled {
        let released = store::release(ctx.state.as_ref(), &order.id).await?;
        if !released.is_empty() {
            // Cancelled units are sellable again: this may raise what TikTok lists.
            store::mark_dirty(ctx.state.as_ref(), shop, &released, DirtyReason::Stock).await?;
            inv.notify();
        }
        return Ok(());
    }
    // Any other status holds until the sales order exists (`sales_order_written`), even a
    // late one first seen shipped: until NetSuite commits the units, only the ledger does.
    let changed = store::hold(ctx.state.as_ref(), shop, &order.id, &units_by_sku(order)).await?;
    if !changed.is_empty() {
        // No wake-up: order marks rarely move TikTok (it took the units itself), so they
        // ride along with the next round instead of starting one per order.
        store::mark_dirty(ctx.state.as_ref(), shop, &changed, DirtyReason::Order).await?;
    }
    Ok(())
}

/// Called by O1 once the order's sales order exists in NetSuite: its units leave the ledger
/// (the sales order now commits them in NetSuite).
pub async fn sales_order_written(
    ctx: &JobContext,
    order: &Order,
    _sales_order_id: &str,
) -> Result<(), JobError> {
    let inv = &ctx.inventory;
    if !inv.enabled() {
        return Ok(());
    }
    let released = store::release(ctx.state.as_ref(), &order.id).await?;
    if !released.is_empty() {
        store::mark_dirty(
            ctx.state.as_ref(),
            &inv.shop_id,
            &released,
            DirtyReason::Order,
        )
        .await?;
        inv.notify();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn sales_order_lines_name_their_items() {
        let so = json!({"item": {"items": [
            {"item": {"id": "101"}, "quantity": 2},
            {"item": {"id": 102}, "quantity": 1},
            {"quantity": 1}
        ]}});
        assert_eq!(sales_order_items(&so), ["101", "102"]);
        assert!(sales_order_items(&json!({})).is_empty());
    }
}

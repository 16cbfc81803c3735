//! O1: a TikTok order becomes (or updates) one NetSuite sales order, upserted by external
//! id. The handler re-reads the order, so duplicate and out-of-order events are harmless,
//! and skips the write when the mapped record did not change since the last one.

use super::{JobContext, JobError, Outcome};
use crate::history::{self, HistoryEvent};
use crate::mapping::{self, MappingError};
use crate::state::ParkReason;
use crate::tiktok::models::{Order, OrderStatus};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::time::Duration;

/// How long a resolved SKU → item id stays cached.
const SKU_TTL: Duration = Duration::from_secs(3600);
/// How long a buyer → customer id stays cached.
const CUSTOMER_TTL: Duration = Duration::from_secs(30 * 24 * 3600);

/// What the bridge last wrote for an order (state key `so:<order id>`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WrittenSalesOrder {
    pub internal_id: String,
    pub body_sha256: String,
    pub tiktok_update_time: Option<i64>,
    pub written_at_ms: i64,
}

pub fn written_key(order_id: &str) -> String {
    format!("so:{order_id}")
}

fn sku_key(field: &str, sku: &str) -> String {
    format!("sku:{field}:{sku}")
}

pub async fn run(
    ctx: &JobContext,
    shop_id: &str,
    order_id: &str,
    prefetched: Option<&Order>,
) -> Result<Outcome, JobError> {
    if shop_id != ctx.tiktok.shop_id() {
        return Err(JobError::Permanent(format!(
            "order {order_id} belongs to shop {shop_id}, which this bridge does not serve"
        )));
    }
    let order = match prefetched {
        Some(o) => o.clone(),
        None => {
            let fetched = ctx.tiktok.get_orders(&[order_id.to_string()]).await;
            let event = HistoryEvent::TiktokCall {
                endpoint: crate::tiktok::client::GET_ORDER_DETAIL_PATH.into(),
                outcome: if fetched.is_ok() { "ok" } else { "error" }.into(),
                orders_in_call: 1,
                error: fetched.as_ref().err().map(|e| e.to_string()),
            };
            history::record(ctx.state.as_ref(), order_id, event).await;
            let mut found = fetched?;
            match found.iter().position(|o| o.id == order_id) {
                Some(i) => found.swap_remove(i),
                None => return Err(JobError::unknown_order(order_id)),
            }
        }
    };
    // Every read moves the in-flight ledger, imported or not (I1).
    super::inventory::order_seen(ctx, &order).await?;
    if order.status == OrderStatus::Cancelled {
        // O2: close what exists; a cancel before import leaves nothing behind.
        return super::cancellation::from_order(ctx, &order).await;
    }
    if !order.status.is_importable() {
        // UNPAID / ON_HOLD come back through a later status webhook; CANCELLED before
        // import leaves nothing behind.
        return Ok(Outcome::Skipped(format!(
            "order status {} is not imported",
            order.status.as_str()
        )));
    }

    if super::cancellation::is_cancelled(ctx, order_id).await? {
        // O2 saw the whole order cancelled: this read predates the cancel.
        return Ok(Outcome::Skipped(format!(
            "order {order_id} was cancelled; no sales order is written"
        )));
    }

    let skus = mapping::skus(&order).map_err(|e| JobError::Permanent(e.to_string()))?;
    let items = resolve_items(ctx, &skus).await?;
    let missing = mapping::missing_skus(&order, &items);
    if !missing.is_empty() {
        return Ok(Outcome::Parked(ParkReason::UnknownSku { skus: missing }));
    }

    let customer_id = customer_for(ctx, &order).await?;
    let mapped = match mapping::map_order(&order, &items, &customer_id, &ctx.mapping) {
        Ok(m) => m,
        Err(MappingError::NotImportable { status }) => {
            return Ok(Outcome::Skipped(format!("status {status} is not imported")))
        }
        Err(MappingError::UnknownSkus { skus }) => {
            return Ok(Outcome::Parked(ParkReason::UnknownSku { skus }))
        }
        Err(MappingError::TotalsMismatch {
            expected,
            computed,
            computed_without_fees,
        }) => {
            return super::totals::park(ctx, &order, expected, computed, computed_without_fees)
                .await
        }
        Err(e) => return Err(JobError::Permanent(format!("mapping: {e}"))),
    };
    let body = mapped.sales_order;
    let json = serde_json::to_vec(&body)
        .map_err(|e| JobError::Permanent(format!("cannot encode sales order: {e}")))?;
    let digest = hex::encode(Sha256::digest(&json));

    let key = written_key(order_id);
    let mut rewrite_of = None;
    if let Some(prev) = ctx.state.get(&key).await? {
        if let Ok(prev) = serde_json::from_str::<WrittenSalesOrder>(&prev) {
            rewrite_of = Some(prev.internal_id.clone());
            if prev.body_sha256 == digest {
                after_write(ctx, &order, &prev.internal_id).await?;
                return Ok(Outcome::Done(format!(
                    "sales order {} already up to date",
                    prev.internal_id
                )));
            }
            // A read taken before the one already written (batched reads wait for a
            // permit) must not overwrite newer data.
            if let (Some(read), Some(written)) = (order.update_time, prev.tiktok_update_time) {
                if read < written {
                    return Ok(Outcome::Done(format!(
                        "sales order {} already holds a newer read (update_time {written} > {read})",
                        prev.internal_id
                    )));
                }
            }
        }
    }

    // Lines O2 cut or the warehouse fulfilled are not rewritten: only the header goes.
    let header_only = match &rewrite_of {
        Some(so_id) => super::after_sale::lines_frozen(ctx, &order, so_id).await?,
        None => false,
    };
    let internal_id = if header_only {
        let header = super::after_sale::header_of(&body)?;
        ctx.netsuite
            .upsert("salesOrder", &body.external_id, &header, &[])
            .await?
    } else {
        ctx.netsuite
            .upsert("salesOrder", &body.external_id, &body, &["item"])
            .await?
    };
    let written = WrittenSalesOrder {
        internal_id: internal_id.clone(),
        body_sha256: digest,
        tiktok_update_time: order.update_time,
        written_at_ms: crate::queue::now_ms(),
    };
    let value = serde_json::to_string(&written)
        .map_err(|e| JobError::Permanent(format!("cannot encode state: {e}")))?;
    ctx.state.set(&key, &value, None).await?;
    if mapped.reading != mapping::charges::Reading::Documented || !mapped.notes.is_empty() {
        let event = HistoryEvent::Mapping {
            reading: mapped.reading.as_str().into(),
            notes: mapped.notes,
        };
        history::record(ctx.state.as_ref(), order_id, event).await;
    }
    let event = HistoryEvent::NetsuiteWrite {
        record_type: "salesOrder".into(),
        external_id: body.external_id.clone(),
        internal_id: internal_id.clone(),
    };
    history::record(ctx.state.as_ref(), order_id, event).await;
    after_write(ctx, &order, &internal_id).await?;
    Ok(Outcome::Done(format!("sales order {internal_id} upserted")))
}

/// What follows once the order's sales order exists: its units leave the in-flight ledger
/// (I1), partial cancellations seen before are applied (O2), and an FBT order TikTok
/// shipped gets its item fulfillment (F2).
async fn after_write(
    ctx: &JobContext,
    order: &Order,
    sales_order_id: &str,
) -> Result<(), JobError> {
    super::inventory::sales_order_written(ctx, order, sales_order_id).await?;
    super::settlement::sales_order_written(ctx.state.as_ref(), order, sales_order_id).await?;
    super::cancellation::sales_order_written(ctx, order, sales_order_id).await?;
    super::fbt::record_shipment(ctx, order, sales_order_id).await
}

/// SKU → NetSuite item id, from the cache first, then one SuiteQL query for the misses.
/// Misses are not cached, so a SKU created in NetSuite later resolves on the next run.
pub async fn resolve_items(
    ctx: &JobContext,
    skus: &[String],
) -> Result<HashMap<String, String>, JobError> {
    let field = &ctx.mapping.sku_field;
    let keys: Vec<String> = skus.iter().map(|s| sku_key(field, s)).collect();
    let cached = ctx.state.get_many(&keys).await?;
    let mut items = HashMap::new();
    let mut misses = Vec::new();
    for (sku, hit) in skus.iter().zip(cached) {
        match hit {
            Some(id) => {
                items.insert(sku.clone(), id);
            }
            None => misses.push(sku.clone()),
        }
    }
    if !misses.is_empty() {
        let found = ctx.netsuite.find_items_by_sku(field, &misses).await?;
        for (sku, id) in found {
            ctx.state
                .set(&sku_key(field, &sku), &id, Some(SKU_TTL))
                .await?;
            items.insert(sku, id);
        }
    }
    Ok(items)
}

/// The configured customer, or the buyer's own customer record upserted by external id.
async fn customer_for(ctx: &JobContext, order: &Order) -> Result<String, JobError> {
    if let Some(id) = &ctx.mapping.fixed_customer_id {
        return Ok(id.clone());
    }
    let Some(customer) = mapping::customer(order, &ctx.mapping) else {
        return Err(JobError::Permanent(format!(
            "order {} has no buyer user_id and no NETSUITE_CUSTOMER_ID is configured",
            order.id
        )));
    };
    let key = format!("customer:{}", customer.external_id);
    if let Some(id) = ctx.state.get(&key).await? {
        return Ok(id);
    }
    let id = ctx
        .netsuite
        .upsert("customer", &customer.external_id, &customer, &[])
        .await?;
    ctx.state.set(&key, &id, Some(CUSTOMER_TTL)).await?;
    let event = HistoryEvent::NetsuiteWrite {
        record_type: "customer".into(),
        external_id: customer.external_id.clone(),
        internal_id: id.clone(),
    };
    history::record(ctx.state.as_ref(), &order.id, event).await;
    Ok(id)
}

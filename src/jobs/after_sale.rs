//! What the cancellation (O2), return (O3) and FBT (F2) handlers share: re-reading the
//! order, finding the sales order O1 wrote, and recording what they wrote.

use super::order_sync::{written_key, WrittenSalesOrder};
use super::{JobContext, JobError};
use crate::history::{self, HistoryEvent};
use crate::mapping::sales_order_external_id;
use crate::netsuite::lines::Transaction;
use crate::tiktok::models::Order;
use rust_decimal::Decimal;
use serde_json::Value;
use std::collections::BTreeMap;

/// How long the after-sale flows remember what they did (tombstones, records written). Long
/// past TikTok's after-sale window; once forgotten, NetSuite external ids still stop
/// duplicates, at the cost of a lookup.
pub const STATE_TTL: std::time::Duration = std::time::Duration::from_secs(180 * 24 * 3600);

/// The order as TikTok says it is now (Get Order Detail), recorded in its history.
pub async fn read_order(ctx: &JobContext, order_id: &str) -> Result<Order, JobError> {
    let fetched = ctx.tiktok.get_orders(&[order_id.to_string()]).await;
    let event = HistoryEvent::TiktokCall {
        endpoint: crate::tiktok::client::GET_ORDER_DETAIL_PATH.into(),
        outcome: if fetched.is_ok() { "ok" } else { "error" }.into(),
        orders_in_call: 1,
        error: fetched.as_ref().err().map(|e| e.to_string()),
    };
    history::record(ctx.state.as_ref(), order_id, event).await;
    fetched?
        .into_iter()
        .find(|o| o.id == order_id)
        .ok_or_else(|| JobError::unknown_order(order_id))
}

/// Internal id of the order's sales order: what O1 recorded, else NetSuite by external id
/// (a sales order written by an earlier deployment or before state was lost).
pub async fn sales_order_id(ctx: &JobContext, order_id: &str) -> Result<Option<String>, JobError> {
    if let Some(raw) = ctx.state.get(&written_key(order_id)).await? {
        if let Ok(w) = serde_json::from_str::<WrittenSalesOrder>(&raw) {
            return Ok(Some(w.internal_id));
        }
    }
    Ok(ctx
        .netsuite
        .find_id_by_external_id("salesOrder", &sales_order_external_id(order_id))
        .await?)
}

/// True when O1's job for the order is parked (an unknown SKU): its sales order will not
/// exist until the parking is released. Reads the parked list, which stays short; called
/// only when a job finds no sales order.
pub async fn order_parked(ctx: &JobContext, order_id: &str) -> Result<bool, JobError> {
    Ok(ctx.state.parked().await?.iter().any(|p| {
        matches!(&p.envelope.job, crate::queue::Job::OrderSync { order_id: o, .. } if o == order_id)
    }))
}

/// Metric and order history for a record an after-sale flow wrote.
pub async fn wrote(
    ctx: &JobContext,
    order_id: &str,
    record_type: &str,
    external_id: &str,
    internal_id: &str,
) {
    ctx.metrics.after_sale.wrote(record_type);
    let event = HistoryEvent::NetsuiteWrite {
        record_type: record_type.into(),
        external_id: external_id.into(),
        internal_id: internal_id.into(),
    };
    history::record(ctx.state.as_ref(), order_id, event).await;
}

/// A decimal as a JSON number with its exact digits (serde_json keeps them with
/// `arbitrary_precision`).
pub fn number(d: Decimal) -> Value {
    serde_json::from_str::<Value>(&d.normalize().to_string()).unwrap_or(Value::Null)
}

/// Pure: `(sales order line, quantity)` for `units` per TikTok `sku_id`; every product
/// line in full when `units` is empty. Closed lines were cancelled, not sold: skipped.
pub fn lines_for_units(so: &Transaction, units: &BTreeMap<String, u32>) -> Vec<(u64, Decimal)> {
    let open = so
        .lines
        .iter()
        .filter(|l| !l.is_closed && l.tiktok_sku_id.is_some());
    if units.is_empty() {
        return open.map(|l| (l.line, l.quantity)).collect();
    }
    let mut out = Vec::new();
    for (sku, count) in units {
        let mut left = Decimal::from(*count);
        for l in open
            .clone()
            .filter(|l| l.tiktok_sku_id.as_deref() == Some(sku))
        {
            if left <= Decimal::ZERO {
                break;
            }
            let take = left.min(l.quantity);
            out.push((l.line, take));
            left -= take;
        }
    }
    out
}

/// True when O1 must not rewrite the sales order's `item` lines (an existing sales order,
/// `sales_order_id`): O2 changed them (a partial cancellation was seen), or the order is
/// shipping or shipped (TikTok status past AWAITING_SHIPMENT), or NetSuite shows a line
/// closed or fulfilled (F1's warehouse fulfillments, F2's FBT ones, a person's edits).
/// Replacing lines then would reopen closed lines and restore cancelled quantities until
/// O2 cuts them again (the warehouse could pick them meanwhile), and NetSuite refuses to
/// delete lines a fulfillment is tied to. The last check costs one GET, only on a rewrite
/// whose mapped body changed.
pub async fn lines_frozen(
    ctx: &JobContext,
    order: &Order,
    sales_order_id: &str,
) -> Result<bool, JobError> {
    use crate::tiktok::models::OrderStatus;
    if matches!(
        order.status,
        OrderStatus::PartiallyShipping
            | OrderStatus::AwaitingCollection
            | OrderStatus::InTransit
            | OrderStatus::Delivered
            | OrderStatus::Completed
    ) {
        return Ok(true);
    }
    if super::cancellation::lines_changed(ctx, &order.id).await? {
        return Ok(true);
    }
    let so = ctx
        .netsuite
        .get_transaction("salesOrder", sales_order_id)
        .await?;
    Ok(so.any_fulfilled() || so.lines.iter().any(|l| l.is_closed))
}

/// The sales order body without its `item` sublist: header fields only (address, memo,
/// status, ...), for an upsert that must leave the lines as NetSuite holds them.
pub fn header_of<T: serde::Serialize>(body: &T) -> Result<Value, JobError> {
    let mut v = serde_json::to_value(body)
        .map_err(|e| JobError::Permanent(format!("cannot encode sales order: {e}")))?;
    if let Some(m) = v.as_object_mut() {
        m.remove("item");
    }
    Ok(v)
}

/// Pure: like `lines_for_units`, but only what is still unfulfilled on each line
/// (`quantity − quantityFulfilled`), for recording a shipment NetSuite may already hold in
/// part: NetSuite refuses to fulfil more than remains on a line.
pub fn unfulfilled_lines_for_units(
    so: &Transaction,
    units: &BTreeMap<String, u32>,
) -> Vec<(u64, Decimal)> {
    let open = so
        .lines
        .iter()
        .filter(|l| !l.is_closed && l.tiktok_sku_id.is_some())
        .map(|l| (l, (l.quantity - l.quantity_fulfilled).max(Decimal::ZERO)))
        .filter(|(_, left)| *left > Decimal::ZERO);
    if units.is_empty() {
        return open.map(|(l, left)| (l.line, left)).collect();
    }
    let mut out = Vec::new();
    for (sku, count) in units {
        let mut wanted = Decimal::from(*count);
        for (l, left) in open
            .clone()
            .filter(|(l, _)| l.tiktok_sku_id.as_deref() == Some(sku))
        {
            if wanted <= Decimal::ZERO {
                break;
            }
            let take = wanted.min(left);
            out.push((l.line, take));
            wanted -= take;
        }
    }
    out
}

/// True once a TikTok cancellation or return/refund request went through: its
/// `…_REQUEST_SUCCESS` or `…_REQUEST_COMPLETE` status (reference §2.4 topics 11 and 12).
/// The reference lists both statuses without saying how they differ, and a request may
/// stop at either, so O2 and O3 read them alike: from `SUCCESS` on the units are gone
/// (O2) or the refund is granted (O3). PENDING, CANCEL(LED) and REJECT never count.
pub fn request_succeeded(status: &str) -> bool {
    matches!(
        status,
        "CANCELLATION_REQUEST_SUCCESS"
            | "CANCELLATION_REQUEST_COMPLETE"
            | "RETURN_OR_REFUND_REQUEST_SUCCESS"
            | "RETURN_OR_REFUND_REQUEST_COMPLETE"
    )
}

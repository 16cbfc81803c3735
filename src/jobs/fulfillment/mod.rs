//! F1: a shipped NetSuite item fulfillment becomes TikTok shipments.
//!
//! The job re-reads the item fulfillment (packages, tracking, carrier, lines), the sales
//! order it came from (its `tiktok-order:<id>` external id and the `custcol_tiktok_sku_id`
//! of each line) and the TikTok order, then:
//!
//! - maps the NetSuite lines back to TikTok line items: TikTok sends one line item per unit,
//!   NetSuite groups them per SKU, so a line of quantity 2 of SKU X takes two unshipped
//!   TikTok line items of SKU X;
//! - maps the carrier (`shipMethod` / `shipCarrier`, case-insensitive) to a TikTok
//!   `shipping_provider_id` through `CARRIER_MAP`, checked against the providers TikTok
//!   offers for the order's delivery option; an unknown carrier parks the job;
//! - ships: a package TikTok already made for those units → Ship Package with
//!   `self_shipment`; units in no package → Mark Package As Shipped with their line item ids
//!   (a subset for a split or partial shipment);
//! - remembers what it pushed (`fulfillment:<id>`), so a rerun changes nothing and a later
//!   tracking change becomes Update Shipping Info.
//!
//! Skipped: fulfillments not shipped (a missing ship status counts as shipped: accounts
//! without Pick, Pack and Ship have none, and the callout script says "shipped" then), FBT
//! orders, and orders on TikTok's shipping label (`shipping_type` TIKTOK: TikTok issues that
//! tracking; `self_shipment` and Mark Package As Shipped are for `SELLER` shipping).
//!
//! A TikTok package ships whole. A fulfillment that covers only part of one leaves its units
//! waiting in `fulfillment-carry:<order_id>` and parks (`FulfillmentIncomplete`); every run
//! of the order plans with the waiting units too, so the fulfillment that completes the
//! package ships it (with its tracking) and marks the earlier ones settled, whose parked jobs
//! the unpark sweep then releases.
//!
//! One tracking number per fulfillment: NetSuite does not say which line went into which of
//! a fulfillment's packages, so the TikTok package gets the first tracking number and the
//! others are named in the job's result. A split shipment is two item fulfillments.
//!
//! Orders TikTok holds (ON_HOLD, the buyer's remorse window) must not ship yet: the job parks
//! with [`ParkReason::OrderOnHold`] until the hold should be over (one hour after payment, at
//! least `ON_HOLD_RECHECK_SECS` from now), and parks again if it is not. Parking rather than
//! a transient error: the hold lasts about an hour, longer than the retry budget, and a
//! parked job shows in `/admin/parked` with its reason.

use super::{JobContext, JobError, Outcome};
use crate::history::{self, HistoryEvent};
use crate::netsuite::client::NetSuiteError;
use crate::netsuite::transactions::ItemFulfillment;
use crate::state::{ParkReason, StateError, StateStore};
use crate::tiktok::fulfillment::{MarkShippedRequest, ShipOutcome, Tracking};
use crate::tiktok::models::{FulfillmentType, Order, OrderStatus};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

/// Sales order line column holding the TikTok `sku_id` (written by O1).
pub const SKU_ID_COLUMN: &str = "custcol_tiktok_sku_id";
/// External id prefix of the sales orders O1 writes.
const ORDER_PREFIX: &str = "tiktok-order:";
/// TikTok's remorse window after payment (reference §5: "~1 h").
const HOLD_WINDOW_MS: i64 = 3_600_000;
/// `shipping_type` of orders that ship on TikTok's label.
const SHIPPING_TYPE_TIKTOK: &str = "TIKTOK";
const ORDER_LOCK_TTL: Duration = Duration::from_secs(120);

mod carrier;
mod carry;
mod packages;
mod ship;
#[cfg(test)]
mod tests;

pub use carrier::*;
pub use carry::*;
pub use packages::*;
pub use ship::*;

/// The TikTok order id of a sales order O1 wrote: external id `tiktok-order:<id>`, else the
/// `custbody_tiktok_order_id` body field. `None` for sales orders from elsewhere.
pub fn tiktok_order_id(sales_order: &Value) -> Option<String> {
    let text = |k: &str| {
        sales_order
            .get(k)
            .and_then(|v| match v {
                Value::String(s) => Some(s.trim().to_string()),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            })
            .filter(|s| !s.is_empty())
    };
    text("externalId")
        .and_then(|e| e.strip_prefix(ORDER_PREFIX).map(str::to_string))
        .or_else(|| text("custbody_tiktok_order_id"))
        .filter(|id| id.bytes().all(|b| b.is_ascii_digit()))
}

pub async fn run(ctx: &JobContext, fulfillment_id: &str, event: &str) -> Result<Outcome, JobError> {
    let f = match ctx.netsuite.get_item_fulfillment(fulfillment_id).await {
        Ok(f) => f,
        Err(NetSuiteError::NotFound { .. }) => {
            return Ok(Outcome::Skipped(format!(
                "item fulfillment {fulfillment_id} no longer exists in NetSuite"
            )))
        }
        Err(e) => return Err(e.into()),
    };
    if !f.is_shipped() {
        return Ok(Outcome::Skipped(format!(
            "item fulfillment {fulfillment_id} is not shipped yet (ship status {}); {event} waits for the shipped callout",
            f.ship_status.as_deref().unwrap_or("none")
        )));
    }
    let Some(source) = f.created_from.clone() else {
        return Ok(Outcome::Skipped(format!(
            "item fulfillment {fulfillment_id} was not created from a sales order"
        )));
    };
    let sales_order = match ctx
        .netsuite
        .get_record_expanded("salesOrder", &source.id)
        .await
    {
        Ok(so) => so,
        // Transfer orders and vendor returns have item fulfillments too.
        Err(NetSuiteError::NotFound { .. }) => {
            return Ok(Outcome::Skipped(format!(
                "item fulfillment {fulfillment_id} comes from transaction {}, which is not a sales order",
                source.id
            )))
        }
        Err(e) => return Err(e.into()),
    };
    let Some(order_id) = tiktok_order_id(&sales_order) else {
        return Ok(Outcome::Skipped(format!(
            "sales order {} is not a TikTok order",
            source.id
        )));
    };
    // Two fulfillments of one order pick from the same unshipped units: one at a time. Jobs
    // that carry the sales order id already wait for each other on the worker's entity lock
    // (deferred, no attempt used); this lock covers jobs queued without it.
    let lock = format!("fulfillment-order:{order_id}");
    let owner = format!("{fulfillment_id}:{}", uuid::Uuid::new_v4().simple());
    if !ctx.state.try_lock(&lock, &owner, ORDER_LOCK_TTL).await? {
        return Err(JobError::Transient(format!(
            "another fulfillment of order {order_id} is being pushed"
        )));
    }
    let result = push(ctx, &f, &sales_order, &order_id, event).await;
    if let Err(e) = ctx.state.unlock(&lock, &owner).await {
        tracing::warn!(error = %e, "could not release the order's fulfillment lock; it expires");
    }
    result
}

async fn tiktok_call<T>(
    ctx: &JobContext,
    order_id: &str,
    endpoint: &str,
    result: &Result<T, crate::tiktok::client::TikTokError>,
) {
    let event = HistoryEvent::TiktokCall {
        endpoint: endpoint.into(),
        outcome: if result.is_ok() { "ok" } else { "error" }.into(),
        orders_in_call: 1,
        error: result.as_ref().err().map(|e| e.to_string()),
    };
    history::record(ctx.state.as_ref(), order_id, event).await;
}

async fn shipment(ctx: &JobContext, order_id: &str, fid: &str, action: &str, p: &PushedPackage) {
    let event = HistoryEvent::TiktokShipment {
        fulfillment_id: fid.into(),
        action: action.into(),
        package_id: p.package_id.clone(),
        order_line_item_ids: p.order_line_item_ids.clone(),
        tracking_number: p.tracking_number.clone(),
        shipping_provider_id: p.shipping_provider_id.clone(),
    };
    history::record(ctx.state.as_ref(), order_id, event).await;
}

async fn read_order(ctx: &JobContext, order_id: &str) -> Result<Order, JobError> {
    let fetched = ctx.tiktok.get_orders(&[order_id.to_string()]).await;
    tiktok_call(
        ctx,
        order_id,
        crate::tiktok::client::GET_ORDER_DETAIL_PATH,
        &fetched,
    )
    .await;
    fetched?
        .into_iter()
        .find(|o| o.id == order_id)
        .ok_or_else(|| JobError::unknown_order(order_id))
}

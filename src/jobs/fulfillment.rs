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

/// One TikTok package the bridge shipped (or found shipped) for a fulfillment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushedPackage {
    pub package_id: String,
    pub order_line_item_ids: Vec<String>,
    pub tracking_number: String,
    pub shipping_provider_id: String,
}

/// What the bridge told TikTok for one item fulfillment (state key `fulfillment:<id>`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushedFulfillment {
    pub order_id: String,
    pub packages: Vec<PushedPackage>,
    pub pushed_at_ms: i64,
    /// Later fulfillments of the order whose runs shipped units this one left waiting (a
    /// TikTok package split across fulfillments ships once, with the later tracking).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub settled_by: Vec<String>,
}

pub fn pushed_key(fulfillment_id: &str) -> String {
    format!("fulfillment:{fulfillment_id}")
}

/// Units of one fulfillment that NetSuite shipped and TikTok has not been told of yet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CarriedFulfillment {
    pub fulfillment_id: String,
    /// `sku_id` → units.
    pub units: BTreeMap<String, u32>,
}

/// Per TikTok order (state key `fulfillment-carry:<order_id>`): fulfillments whose units
/// wait for the rest of a TikTok package, oldest first. Every run of a fulfillment of the
/// order plans with its own units plus these, so the fulfillment that completes a package
/// ships it; a fulfillment stays here (parked, `FulfillmentIncomplete`) until then.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CarriedUnits {
    pub fulfillments: Vec<CarriedFulfillment>,
}

impl CarriedUnits {
    pub fn total(&self) -> BTreeMap<String, u32> {
        let mut out = BTreeMap::new();
        for c in &self.fulfillments {
            for (sku, n) in &c.units {
                *out.entry(sku.clone()).or_insert(0) += n;
            }
        }
        out
    }

    pub fn contains(&self, fulfillment_id: &str) -> bool {
        self.fulfillments
            .iter()
            .any(|c| c.fulfillment_id == fulfillment_id)
    }

    /// After a run that left `waiting` units unshipped: which fulfillments still wait, and
    /// with what. Shipped units count against the oldest fulfillments first, so the waiting
    /// ones are the newest. Returns the ids no longer waiting.
    pub fn settle(&mut self, waiting: &BTreeMap<String, u32>) -> Vec<String> {
        let mut left = waiting.clone();
        let mut done = Vec::new();
        let mut kept = Vec::new();
        for c in self.fulfillments.iter().rev() {
            let mut units = BTreeMap::new();
            for (sku, n) in &c.units {
                if let Some(l) = left.get_mut(sku) {
                    let take = (*l).min(*n);
                    if take > 0 {
                        *l -= take;
                        units.insert(sku.clone(), take);
                    }
                }
            }
            if units.is_empty() {
                done.push(c.fulfillment_id.clone());
            } else {
                kept.push(CarriedFulfillment {
                    fulfillment_id: c.fulfillment_id.clone(),
                    units,
                });
            }
        }
        kept.reverse();
        done.reverse();
        self.fulfillments = kept;
        done
    }
}

pub fn carry_key(order_id: &str) -> String {
    format!("fulfillment-carry:{order_id}")
}

async fn load_carry(state: &dyn StateStore, order_id: &str) -> Result<CarriedUnits, StateError> {
    let key = carry_key(order_id);
    match state.get(&key).await? {
        Some(raw) => serde_json::from_str(&raw).map_err(|e| StateError::Corrupt {
            key,
            reason: e.to_string(),
        }),
        None => Ok(CarriedUnits::default()),
    }
}

/// Whether fulfillment `fulfillment_id` still has units waiting for the rest of a package
/// (the unpark sweep's test for `ParkReason::FulfillmentIncomplete`).
pub async fn still_waiting(
    state: &dyn StateStore,
    order_id: &str,
    fulfillment_id: &str,
) -> Result<bool, StateError> {
    Ok(load_carry(state, order_id).await?.contains(fulfillment_id))
}

/// The texts a carrier is looked up by, lowercased, most specific first: ship method name,
/// ship method id, carrier name, carrier id.
pub fn carrier_keys(f: &ItemFulfillment) -> Vec<String> {
    let mut keys: Vec<String> = Vec::new();
    for r in [&f.ship_method, &f.ship_carrier].into_iter().flatten() {
        for text in [r.ref_name.as_deref(), Some(r.id.as_str())]
            .into_iter()
            .flatten()
        {
            let k = text.trim().to_lowercase();
            if !k.is_empty() && !keys.contains(&k) {
                keys.push(k);
            }
        }
    }
    keys
}

/// The first key the map knows, with its provider id.
pub fn lookup_carrier<'a>(
    map: &'a HashMap<String, String>,
    keys: &[String],
) -> Option<(&'a str, &'a str)> {
    keys.iter()
        .find_map(|k| map.get_key_value(k))
        .map(|(k, v)| (k.as_str(), v.as_str()))
}

/// Whether a fulfillment parked for an unknown carrier can run again: the map now names a
/// provider for it, and not the one TikTok refused.
pub fn carrier_now_mapped(
    map: &HashMap<String, String>,
    keys: &[String],
    rejected_provider_id: Option<&str>,
) -> bool {
    lookup_carrier(map, keys).is_some_and(|(_, id)| Some(id) != rejected_provider_id)
}

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

fn as_u64(v: Option<&Value>) -> Option<u64> {
    match v? {
        Value::Number(n) => n.as_u64().or_else(|| n.as_f64().map(|f| f as u64)),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// TikTok `sku_id` → units this fulfillment ships, from its lines and the sales order's.
///
/// Lines that are not TikTok units are left out (logged, not fatal): a line without
/// `orderLine` (kit or assembly member lines NetSuite adds under their parent) and a line of
/// a sales order line without `custcol_tiktok_sku_id` (a fulfillable shipping or other-charge
/// item added in NetSuite). An error only for what cannot be shipped right: a line pointing
/// at no sales order line, or a fractional quantity.
pub fn wanted_units(
    f: &ItemFulfillment,
    sales_order: &Value,
) -> Result<BTreeMap<String, u32>, String> {
    let so_lines: Vec<&Value> = sales_order
        .get("item")
        .and_then(|i| i.get("items"))
        .and_then(Value::as_array)
        .map(|a| a.iter().collect())
        .unwrap_or_default();
    let mut wanted = BTreeMap::new();
    for line in f.lines.iter().filter(|l| l.quantity > 0.0) {
        let Some(order_line) = line.order_line else {
            tracing::info!(
                fulfillment_id = f.id,
                line = line.line,
                "item fulfillment line without orderLine (kit or assembly member?) left out"
            );
            continue;
        };
        let Some(so_line) = so_lines
            .iter()
            .find(|l| as_u64(l.get("line")) == Some(order_line))
        else {
            return Err(format!(
                "sales order line {order_line} of item fulfillment {} is not on the sales order",
                f.id
            ));
        };
        let sku_id = match so_line.get(SKU_ID_COLUMN) {
            Some(Value::String(s)) if !s.trim().is_empty() => s.trim().to_string(),
            Some(Value::Number(n)) => n.to_string(),
            _ => {
                tracing::info!(
                    fulfillment_id = f.id,
                    order_line,
                    "item fulfillment line of a sales order line without {SKU_ID_COLUMN} (not a TikTok unit) left out"
                );
                continue;
            }
        };
        if line.quantity.fract() != 0.0 {
            return Err(format!(
                "item fulfillment {} ships {} units on line {order_line}; TikTok ships whole units",
                f.id, line.quantity
            ));
        }
        *wanted.entry(sku_id).or_insert(0) += line.quantity as u32;
    }
    Ok(wanted)
}

/// What to tell TikTok for one fulfillment, worked out from the order as TikTok shows it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ShipPlan {
    /// Packages already shipped with this tracking number (an earlier run whose record was
    /// lost): nothing to call, only to remember.
    pub adopted: Vec<(String, Vec<String>)>,
    /// Packages TikTok made whose units this fulfillment covers: Ship Package.
    pub ship_packages: Vec<(String, Vec<String>)>,
    /// Units in no package: one Mark Package As Shipped.
    pub mark_shipped: Vec<String>,
    /// Units in TikTok-made packages not shipped yet that the wanted units cover only in
    /// part (`sku_id` → count): they wait for the order's next fulfillment.
    pub waiting: BTreeMap<String, u32>,
    /// Those packages.
    pub waiting_packages: Vec<String>,
    /// Units NetSuite shipped that TikTok has no unshipped line item for (`sku_id` → count).
    pub missing: BTreeMap<String, u32>,
}

impl ShipPlan {
    pub fn is_empty(&self) -> bool {
        self.adopted.is_empty() && self.ship_packages.is_empty() && self.mark_shipped.is_empty()
    }
}

fn cancelled(li: &crate::tiktok::models::LineItem) -> bool {
    li.display_status.as_deref() == Some("CANCELLED")
}

/// Picks TikTok line items for `wanted` units: first those already shipped under
/// `tracking_number`, then whole TikTok-made packages not shipped yet whose units are all
/// wanted, then units in no package. A TikTok package only ships whole, so a package this
/// fulfillment covers only in part is left alone and its units wait (`waiting`).
pub fn plan(order: &Order, wanted: &BTreeMap<String, u32>, tracking_number: &str) -> ShipPlan {
    let mut need = wanted.clone();
    let mut out = ShipPlan::default();
    let mut packages: BTreeMap<&str, Vec<&crate::tiktok::models::LineItem>> = BTreeMap::new();
    for li in order.line_items.iter().filter(|l| !cancelled(l)) {
        if let Some(p) = li.package_id.as_deref().filter(|p| !p.is_empty()) {
            packages.entry(p).or_default().push(li);
        }
    }
    let shipped_with = |items: &[&crate::tiktok::models::LineItem]| {
        items
            .iter()
            .find_map(|l| l.tracking_number.as_deref().filter(|t| !t.is_empty()))
            .map(str::to_string)
    };
    let take = |need: &mut BTreeMap<String, u32>, items: &[&crate::tiktok::models::LineItem]| {
        let mut counts: BTreeMap<&str, u32> = BTreeMap::new();
        for l in items {
            *counts.entry(l.sku_id.as_str()).or_insert(0) += 1;
        }
        let fits = counts
            .iter()
            .all(|(sku, n)| need.get(*sku).copied().unwrap_or(0) >= *n);
        if fits {
            for (sku, n) in counts {
                if let Some(left) = need.get_mut(sku) {
                    *left -= n;
                }
            }
        }
        fits
    };
    let ids = |items: &[&crate::tiktok::models::LineItem]| -> Vec<String> {
        items.iter().map(|l| l.id.clone()).collect()
    };
    // 1. Already shipped with our tracking number.
    for (pid, items) in &packages {
        if !tracking_number.is_empty()
            && shipped_with(items).as_deref() == Some(tracking_number)
            && take(&mut need, items)
        {
            out.adopted.push((pid.to_string(), ids(items)));
        }
    }
    // 2. Packages TikTok made that are not shipped yet.
    for (pid, items) in &packages {
        if shipped_with(items).is_none() && take(&mut need, items) {
            out.ship_packages.push((pid.to_string(), ids(items)));
        }
    }
    // 3. Units in no package.
    for li in order.line_items.iter().filter(|l| !cancelled(l)) {
        if li.package_id.as_deref().is_some_and(|p| !p.is_empty()) {
            continue;
        }
        if let Some(left) = need.get_mut(&li.sku_id) {
            if *left > 0 {
                *left -= 1;
                out.mark_shipped.push(li.id.clone());
            }
        }
    }
    // 4. Units left that sit in a TikTok package not shipped yet: it is covered in part.
    for (pid, items) in &packages {
        if shipped_with(items).is_some() || out.ship_packages.iter().any(|(p, _)| p == pid) {
            continue;
        }
        let mut here = false;
        for l in items {
            if let Some(left) = need.get_mut(&l.sku_id).filter(|n| **n > 0) {
                *left -= 1;
                *out.waiting.entry(l.sku_id.clone()).or_insert(0) += 1;
                here = true;
            }
        }
        if here {
            out.waiting_packages.push(pid.to_string());
        }
    }
    out.missing = need.into_iter().filter(|(_, n)| *n > 0).collect();
    out
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

/// The provider id for the fulfillment's carrier, or why the job must park.
async fn provider_for(
    ctx: &JobContext,
    f: &ItemFulfillment,
    order: &Order,
) -> Result<Result<String, ParkReason>, JobError> {
    let keys = carrier_keys(f);
    let carrier = f
        .ship_method
        .iter()
        .chain(f.ship_carrier.iter())
        .find_map(|r| r.ref_name.clone().or_else(|| Some(r.id.clone())))
        .unwrap_or_else(|| "(none)".into());
    let Some((_, provider)) = lookup_carrier(&ctx.mapping.carrier_map, &keys) else {
        return Ok(Err(ParkReason::UnknownCarrier {
            carrier,
            keys,
            rejected_provider_id: None,
        }));
    };
    let Some(option) = order
        .delivery_option_id
        .as_deref()
        .filter(|o| !o.is_empty())
    else {
        // Nothing to check against; TikTok itself refuses an unknown provider (21011022).
        tracing::warn!(
            order_id = order.id,
            "order has no delivery_option_id; the mapped provider is not checked"
        );
        return Ok(Ok(provider.to_string()));
    };
    let listed = ctx.tiktok.shipping_providers(option).await;
    tiktok_call(
        ctx,
        &order.id,
        &crate::tiktok::client::api_template(&crate::tiktok::fulfillment::shipping_providers_path(
            option,
        )),
        &listed,
    )
    .await;
    if listed?.iter().any(|p| p.id == provider) {
        Ok(Ok(provider.to_string()))
    } else {
        Ok(Err(ParkReason::UnknownCarrier {
            carrier,
            keys,
            rejected_provider_id: Some(provider.to_string()),
        }))
    }
}

async fn save(ctx: &JobContext, fid: &str, pushed: &PushedFulfillment) -> Result<(), JobError> {
    let value = serde_json::to_string(pushed)
        .map_err(|e| JobError::Permanent(format!("cannot encode state: {e}")))?;
    ctx.state.set(&pushed_key(fid), &value, None).await?;
    Ok(())
}

async fn push(
    ctx: &JobContext,
    f: &ItemFulfillment,
    sales_order: &Value,
    order_id: &str,
    event: &str,
) -> Result<Outcome, JobError> {
    let fid = f.id.as_str();
    let previous: Option<PushedFulfillment> = match ctx.state.get(&pushed_key(fid)).await? {
        Some(v) => Some(serde_json::from_str(&v).map_err(|e| {
            JobError::Permanent(format!("corrupt state at {}: {e}", pushed_key(fid)))
        })?),
        None => None,
    };
    if previous.is_none() {
        // History is keyed by TikTok order id, which only the handler learns.
        let received = HistoryEvent::EventReceived {
            source: crate::netsuite::callout::SOURCE.into(),
            topic: event.into(),
            notification_id: None,
            outcome: "queued".into(),
            job_id: None,
        };
        history::record(ctx.state.as_ref(), order_id, received).await;
    }
    let order = read_order(ctx, order_id).await?;
    if order.fulfillment_type == Some(FulfillmentType::ByTikTok) {
        return Ok(Outcome::Skipped(format!(
            "order {order_id} is fulfilled by TikTok (FBT); the bridge never ships it"
        )));
    }
    if order.shipping_type.as_deref() == Some(SHIPPING_TYPE_TIKTOK) {
        // TikTok's label: TikTok issues the tracking number and the carrier collects the
        // parcel; seller tracking (`self_shipment`, Mark Package As Shipped) is only for
        // `SELLER` shipping (reference §6). Arranging the label is done in Seller Center.
        return Ok(Outcome::Skipped(format!(
            "order {order_id} ships on a TikTok shipping label (shipping_type TIKTOK); the bridge does not push seller tracking for item fulfillment {fid}"
        )));
    }
    match order.status {
        // UNPAID cannot really have a sales order; if it does, it waits like a hold.
        OrderStatus::OnHold | OrderStatus::Unpaid => {
            let now = crate::queue::now_ms();
            let hold_ends = order.paid_time.map(|t| t * 1000 + HOLD_WINDOW_MS);
            let soonest = now + ctx.mapping.hold_recheck.as_millis() as i64;
            return Ok(Outcome::Parked(ParkReason::OrderOnHold {
                order_id: order_id.to_string(),
                recheck_at_ms: hold_ends.map_or(soonest, |h| h.max(soonest)),
            }));
        }
        OrderStatus::Cancelled => {
            return Ok(Outcome::Skipped(format!(
                "order {order_id} is cancelled on TikTok; nothing to ship"
            )))
        }
        _ => {}
    }
    let numbers = f.tracking_numbers();
    let Some(tracking_number) = numbers.first().cloned() else {
        return Ok(Outcome::Skipped(format!(
            "item fulfillment {fid} is shipped without a tracking number; an edit that adds one is pushed then"
        )));
    };
    let provider = match provider_for(ctx, f, &order).await? {
        Ok(p) => p,
        Err(reason) => return Ok(Outcome::Parked(reason)),
    };
    let tracking = Tracking {
        tracking_number,
        shipping_provider_id: provider,
    };
    let extra = if numbers.len() > 1 {
        format!(
            "; other tracking numbers not sent (one per TikTok package): {}",
            numbers[1..].join(", ")
        )
    } else {
        String::new()
    };

    let mut carry = load_carry(ctx.state.as_ref(), order_id).await?;
    let waiting_before = carry.contains(fid);
    let previous = match previous {
        Some(mut pushed) if !waiting_before => {
            return update_tracking(ctx, fid, order_id, &mut pushed, &tracking).await;
        }
        // Pushed in part and still waiting: what it pushed gets the current tracking too.
        Some(mut pushed) => {
            update_tracking(ctx, fid, order_id, &mut pushed, &tracking).await?;
            Some(pushed)
        }
        None => None,
    };
    if !waiting_before {
        let wanted = wanted_units(f, sales_order).map_err(JobError::Permanent)?;
        if wanted.is_empty() {
            return Ok(Outcome::Skipped(format!(
                "item fulfillment {fid} ships no TikTok units (no line of a TikTok sales order line)"
            )));
        }
        carry.fulfillments.push(CarriedFulfillment {
            fulfillment_id: fid.to_string(),
            units: wanted,
        });
    }
    let carried_others = carry.fulfillments.len() - 1;
    let plan = plan(&order, &carry.total(), &tracking.tracking_number);
    let mut pushed = previous.unwrap_or_else(|| PushedFulfillment {
        order_id: order_id.to_string(),
        packages: Vec::new(),
        pushed_at_ms: crate::queue::now_ms(),
        settled_by: Vec::new(),
    });
    let pushed_before = pushed.packages.len();
    let package = |package_id: &str, ids: &[String]| PushedPackage {
        package_id: package_id.to_string(),
        order_line_item_ids: ids.to_vec(),
        tracking_number: tracking.tracking_number.clone(),
        shipping_provider_id: tracking.shipping_provider_id.clone(),
    };
    for (package_id, ids) in &plan.adopted {
        let p = package(package_id, ids);
        shipment(ctx, order_id, fid, "adopted", &p).await;
        pushed.packages.push(p);
    }
    for (package_id, ids) in &plan.ship_packages {
        let shipped = ctx.tiktok.ship_package(package_id, &tracking, None).await;
        let path = crate::tiktok::client::api_template(
            &crate::tiktok::fulfillment::ship_package_path(package_id),
        );
        tiktok_call(ctx, order_id, &path, &shipped).await;
        let action = match shipped? {
            ShipOutcome::Shipped => "ship_package",
            ShipOutcome::AlreadyShipped => "already_shipped",
        };
        let p = package(package_id, ids);
        shipment(ctx, order_id, fid, action, &p).await;
        pushed.packages.push(p);
    }
    if !plan.mark_shipped.is_empty() {
        let req = MarkShippedRequest {
            order_line_item_ids: plan.mark_shipped.clone(),
            tracking_number: tracking.tracking_number.clone(),
            shipping_provider_id: tracking.shipping_provider_id.clone(),
        };
        let marked = ctx.tiktok.mark_package_shipped(order_id, &req).await;
        let path = crate::tiktok::client::api_template(
            &crate::tiktok::fulfillment::mark_package_shipped_path(order_id),
        );
        tiktok_call(ctx, order_id, &path, &marked).await;
        let result = marked?;
        if let Some(w) = &result.warning {
            if !w.is_null() {
                tracing::warn!(order_id, warning = %w, "TikTok accepted the shipment with a warning");
            }
        }
        let p = package(&result.package_id, &plan.mark_shipped);
        shipment(ctx, order_id, fid, "mark_shipped", &p).await;
        pushed.packages.push(p);
    }

    // Who still waits for the rest of a package. Records first, the carry last: a crash in
    // between reruns with the same carry, and the packages shipped now are adopted then.
    let settled = carry.settle(&plan.waiting);
    let self_waiting = carry
        .fulfillments
        .iter()
        .find(|c| c.fulfillment_id == fid)
        .map(|c| c.units.clone());
    let others: Vec<&String> = settled.iter().filter(|id| *id != fid).collect();
    for other in &others {
        mark_settled(ctx, other, order_id, fid).await?;
    }
    // A fresh fulfillment that shipped nothing keeps no record: a rerun plans again.
    if pushed.packages.len() > pushed_before || (self_waiting.is_none() && waiting_before) {
        save(ctx, fid, &pushed).await?;
    }
    if carry.fulfillments.is_empty() {
        ctx.state.delete(&carry_key(order_id)).await?;
    } else {
        let value = serde_json::to_string(&carry)
            .map_err(|e| JobError::Permanent(format!("cannot encode state: {e}")))?;
        ctx.state.set(&carry_key(order_id), &value, None).await?;
    }

    if let Some(units) = self_waiting {
        tracing::info!(
            order_id,
            fulfillment_id = fid,
            packages = ?plan.waiting_packages,
            "item fulfillment covers part of a TikTok package; waiting for the rest"
        );
        return Ok(Outcome::Parked(ParkReason::FulfillmentIncomplete {
            order_id: order_id.to_string(),
            fulfillment_id: fid.to_string(),
            package_ids: plan.waiting_packages.clone(),
            units,
        }));
    }
    if plan.is_empty() {
        return Ok(Outcome::Skipped(format!(
            "no unshipped TikTok line items of order {order_id} match item fulfillment {fid} (already shipped elsewhere?)"
        )));
    }
    let missing = if plan.missing.is_empty() {
        String::new()
    } else {
        format!(
            "; units with no unshipped TikTok line item (sku_id: count): {:?}",
            plan.missing
        )
    };
    let with_others = if carried_others > 0 {
        format!(
            "; with units of earlier item fulfillment(s) {} that waited for the rest of a package",
            others
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )
    } else {
        String::new()
    };
    let ids: Vec<&str> = pushed.packages[pushed_before..]
        .iter()
        .map(|p| p.package_id.as_str())
        .collect();
    Ok(Outcome::Done(format!(
        "item fulfillment {fid} shipped on TikTok order {order_id} as package(s) {}{with_others}{missing}{extra}",
        ids.join(", ")
    )))
}

/// Records that `by`'s run shipped the units fulfillment `fid` left waiting, so its parked
/// job finishes (and a tracking edit of `fid` leaves the shared package alone).
async fn mark_settled(
    ctx: &JobContext,
    fid: &str,
    order_id: &str,
    by: &str,
) -> Result<(), JobError> {
    let key = pushed_key(fid);
    let mut rec: PushedFulfillment = match ctx.state.get(&key).await? {
        Some(v) => serde_json::from_str(&v)
            .map_err(|e| JobError::Permanent(format!("corrupt state at {key}: {e}")))?,
        None => PushedFulfillment {
            order_id: order_id.to_string(),
            packages: Vec::new(),
            pushed_at_ms: crate::queue::now_ms(),
            settled_by: Vec::new(),
        },
    };
    if !rec.settled_by.iter().any(|b| b == by) {
        rec.settled_by.push(by.to_string());
    }
    save(ctx, fid, &rec).await
}

/// A fulfillment already pushed: send the tracking again only where it changed.
async fn update_tracking(
    ctx: &JobContext,
    fid: &str,
    order_id: &str,
    pushed: &mut PushedFulfillment,
    tracking: &Tracking,
) -> Result<Outcome, JobError> {
    let mut updated = Vec::new();
    for i in 0..pushed.packages.len() {
        let p = pushed.packages[i].clone();
        if p.tracking_number == tracking.tracking_number
            && p.shipping_provider_id == tracking.shipping_provider_id
        {
            continue;
        }
        let result = ctx
            .tiktok
            .update_shipping_info(&p.package_id, tracking)
            .await;
        let path = crate::tiktok::client::api_template(
            &crate::tiktok::fulfillment::update_shipping_info_path(&p.package_id),
        );
        tiktok_call(ctx, order_id, &path, &result).await;
        result?;
        let now = PushedPackage {
            tracking_number: tracking.tracking_number.clone(),
            shipping_provider_id: tracking.shipping_provider_id.clone(),
            ..p
        };
        shipment(ctx, order_id, fid, "update_shipping_info", &now).await;
        updated.push(now.package_id.clone());
        pushed.packages[i] = now;
        // Saved after each package: a failure on the next one re-sends only what is left.
        save(ctx, fid, pushed).await?;
    }
    if updated.is_empty() {
        Ok(Outcome::Done(format!(
            "item fulfillment {fid} already pushed to TikTok order {order_id} with this tracking"
        )))
    } else {
        Ok(Outcome::Done(format!(
            "tracking of package(s) {} updated to the item fulfillment {fid}'s",
            updated.join(", ")
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::netsuite::transactions::{FulfillmentLine, RecordRef};
    use serde_json::json;

    fn order(lines: &[(&str, &str, Option<&str>, Option<&str>)]) -> Order {
        let items: Vec<Value> = lines
            .iter()
            .map(|(id, sku, pkg, tracking)| {
                json!({"id": id, "sku_id": sku, "original_price": "1.00",
                       "package_id": pkg, "tracking_number": tracking.unwrap_or("")})
            })
            .collect();
        serde_json::from_value(
            json!({"id": "1", "status": "AWAITING_SHIPMENT", "line_items": items}),
        )
        .unwrap()
    }

    fn want(pairs: &[(&str, u32)]) -> BTreeMap<String, u32> {
        pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
    }

    #[test]
    fn units_in_no_package_are_marked_shipped_per_sku() {
        let o = order(&[
            ("a1", "X", None, None),
            ("a2", "X", None, None),
            ("b1", "Y", None, None),
        ]);
        let p = plan(&o, &want(&[("X", 1), ("Y", 1)]), "1Z");
        assert_eq!(p.mark_shipped, vec!["a1", "b1"]);
        assert!(p.ship_packages.is_empty() && p.adopted.is_empty() && p.missing.is_empty());
    }

    #[test]
    fn shipped_units_are_not_picked_again_and_our_tracking_is_adopted() {
        let o = order(&[
            ("a1", "X", Some("900"), Some("1Z")),
            ("a2", "X", Some("901"), Some("OTHER")),
            ("a3", "X", None, None),
        ]);
        let p = plan(&o, &want(&[("X", 2)]), "1Z");
        assert_eq!(p.adopted, vec![("900".to_string(), vec!["a1".to_string()])]);
        assert_eq!(p.mark_shipped, vec!["a3"]);
        let p = plan(&o, &want(&[("X", 3)]), "1Z");
        assert_eq!(p.missing, want(&[("X", 1)]));
    }

    #[test]
    fn tiktok_made_packages_ship_whole_or_not_at_all() {
        let o = order(&[
            ("a1", "X", Some("900"), None),
            ("b1", "Y", Some("900"), None),
            ("a2", "X", None, None),
        ]);
        let p = plan(&o, &want(&[("X", 1), ("Y", 1)]), "1Z");
        assert_eq!(
            p.ship_packages,
            vec![("900".to_string(), vec!["a1".to_string(), "b1".to_string()])]
        );
        assert!(p.mark_shipped.is_empty());
        // Only Y wanted: package 900 also holds an X, so it is not shipped; Y waits for it.
        let p = plan(&o, &want(&[("Y", 1)]), "1Z");
        assert!(p.is_empty());
        assert_eq!(p.waiting, want(&[("Y", 1)]));
        assert_eq!(p.waiting_packages, vec!["900"]);
        assert!(p.missing.is_empty());
    }

    #[test]
    fn units_of_a_package_split_across_fulfillments_wait_then_ship_together() {
        let o = order(&[
            ("a1", "X", Some("900"), None),
            ("b1", "Y", Some("900"), None),
        ]);
        let mut carry = CarriedUnits::default();
        // First fulfillment: X only. Nothing ships; it waits.
        carry.fulfillments.push(CarriedFulfillment {
            fulfillment_id: "10".into(),
            units: want(&[("X", 1)]),
        });
        let p = plan(&o, &carry.total(), "1Z1");
        assert!(p.is_empty());
        assert!(carry.settle(&p.waiting).is_empty());
        assert!(carry.contains("10"));
        // Second fulfillment: Y. With the carried X the package is whole and ships.
        carry.fulfillments.push(CarriedFulfillment {
            fulfillment_id: "11".into(),
            units: want(&[("Y", 1)]),
        });
        let p = plan(&o, &carry.total(), "1Z2");
        assert_eq!(
            p.ship_packages,
            vec![("900".to_string(), vec!["a1".to_string(), "b1".to_string()])]
        );
        assert_eq!(carry.settle(&p.waiting), vec!["10", "11"]);
        assert!(carry.fulfillments.is_empty());
    }

    #[test]
    fn waiting_units_belong_to_the_newest_fulfillments() {
        let mut carry = CarriedUnits {
            fulfillments: vec![
                CarriedFulfillment {
                    fulfillment_id: "1".into(),
                    units: want(&[("X", 1)]),
                },
                CarriedFulfillment {
                    fulfillment_id: "2".into(),
                    units: want(&[("X", 1), ("Y", 2)]),
                },
            ],
        };
        assert_eq!(carry.total(), want(&[("X", 2), ("Y", 2)]));
        let done = carry.settle(&want(&[("X", 1), ("Y", 1)]));
        assert_eq!(done, vec!["1"]);
        assert_eq!(
            carry.fulfillments,
            vec![CarriedFulfillment {
                fulfillment_id: "2".into(),
                units: want(&[("X", 1), ("Y", 1)]),
            }]
        );
    }

    #[test]
    fn fulfillments_of_one_sales_order_share_an_entity_lock_and_old_jobs_still_decode() {
        use crate::queue::Job;
        let job = |fid: &str, so: Option<&str>| Job::FulfillmentPush {
            fulfillment_id: fid.into(),
            event: "item_fulfillment.shipped".into(),
            sales_order_id: so.map(str::to_string),
        };
        assert_eq!(
            job("1", Some("55")).entity_key(),
            job("2", Some("55")).entity_key()
        );
        assert_ne!(
            job("1", Some("55")).entity_key(),
            job("1", Some("56")).entity_key()
        );
        assert_eq!(
            job("1", None).entity_key().as_deref(),
            Some("netsuite-fulfillment:1")
        );
        // A job queued by the previous version (no sales_order_id) still decodes.
        let old: Job = serde_json::from_str(
            r#"{"kind":"fulfillment_push","fulfillment_id":"9","event":"item_fulfillment.shipped"}"#,
        )
        .unwrap();
        assert_eq!(old, job("9", None));
        let v = serde_json::to_value(job("9", None)).unwrap();
        assert!(v.get("sales_order_id").is_none());
    }

    #[test]
    fn a_pushed_record_without_settled_by_still_decodes() {
        let rec: PushedFulfillment =
            serde_json::from_str(r#"{"order_id":"1","packages":[],"pushed_at_ms":5}"#).unwrap();
        assert!(rec.settled_by.is_empty());
    }

    fn fulfillment(method: Option<(&str, &str)>, carrier: Option<&str>) -> ItemFulfillment {
        ItemFulfillment {
            id: "7".into(),
            ship_method: method.map(|(id, name)| RecordRef {
                id: id.into(),
                ref_name: Some(name.into()),
            }),
            ship_carrier: carrier.map(|c| RecordRef {
                id: c.into(),
                ref_name: None,
            }),
            ..Default::default()
        }
    }

    #[test]
    fn carriers_match_case_insensitively_most_specific_first() {
        let f = fulfillment(Some(("12", "UPS Ground")), Some("ups"));
        assert_eq!(carrier_keys(&f), vec!["ups ground", "12", "ups"]);
        let map: HashMap<String, String> = [("ups".to_string(), "111".to_string())].into();
        assert_eq!(
            lookup_carrier(&map, &carrier_keys(&f)),
            Some(("ups", "111"))
        );
        let map2: HashMap<String, String> = [
            ("ups".to_string(), "111".to_string()),
            ("ups ground".to_string(), "222".to_string()),
        ]
        .into();
        assert_eq!(
            lookup_carrier(&map2, &carrier_keys(&f)),
            Some(("ups ground", "222"))
        );
        assert!(carrier_keys(&fulfillment(None, None)).is_empty());
    }

    #[test]
    fn a_parked_carrier_resolves_only_with_a_new_provider() {
        let keys = vec!["dhl".to_string()];
        let empty = HashMap::new();
        assert!(!carrier_now_mapped(&empty, &keys, None));
        let map: HashMap<String, String> = [("dhl".to_string(), "5".to_string())].into();
        assert!(carrier_now_mapped(&map, &keys, None));
        assert!(!carrier_now_mapped(&map, &keys, Some("5")));
        assert!(carrier_now_mapped(&map, &keys, Some("4")));
    }

    #[test]
    fn the_tiktok_order_id_comes_from_the_external_id_or_the_body_field() {
        assert_eq!(
            tiktok_order_id(&json!({"externalId": "tiktok-order:576"})).as_deref(),
            Some("576")
        );
        assert_eq!(
            tiktok_order_id(&json!({"externalId": "shopify:9", "custbody_tiktok_order_id": "577"}))
                .as_deref(),
            Some("577")
        );
        assert_eq!(tiktok_order_id(&json!({"externalId": "shopify:9"})), None);
        assert_eq!(
            tiktok_order_id(&json!({"externalId": "tiktok-order:../x"})),
            None
        );
    }

    #[test]
    fn netsuite_lines_become_tiktok_units_by_sku_id() {
        let so = json!({"item": {"items": [
            {"line": 1, "custcol_tiktok_sku_id": "X", "quantity": 2},
            {"line": 2, "custcol_tiktok_sku_id": "Y", "quantity": 1},
            {"line": 3, "quantity": 1}
        ]}});
        let mut f = fulfillment(None, None);
        let line = |order_line: u64, quantity: f64| FulfillmentLine {
            order_line: Some(order_line),
            quantity,
            ..Default::default()
        };
        f.lines = vec![line(1, 2.0), line(2, 1.0)];
        assert_eq!(wanted_units(&f, &so).unwrap(), want(&[("X", 2), ("Y", 1)]));
        f.lines = vec![line(3, 1.0)];
        assert_eq!(wanted_units(&f, &so).unwrap(), want(&[]));
        f.lines = vec![line(1, 1.5)];
        assert!(wanted_units(&f, &so).is_err());
        f.lines = vec![line(9, 1.0)];
        assert!(wanted_units(&f, &so).is_err());
    }

    #[test]
    fn kit_members_and_non_tiktok_lines_are_left_out_not_fatal() {
        let so = json!({"item": {"items": [
            {"line": 1, "custcol_tiktok_sku_id": "X", "quantity": 2},
            {"line": 2, "item": {"id": "shipping"}, "quantity": 1}
        ]}});
        let mut f = fulfillment(None, None);
        f.lines = vec![
            FulfillmentLine {
                order_line: Some(1),
                quantity: 2.0,
                ..Default::default()
            },
            // A kit member line: no orderLine of its own.
            FulfillmentLine {
                line: Some(5),
                order_line: None,
                quantity: 4.0,
                ..Default::default()
            },
            // A fulfillable other-charge item: its sales order line has no sku id.
            FulfillmentLine {
                order_line: Some(2),
                quantity: 1.0,
                ..Default::default()
            },
        ];
        assert_eq!(wanted_units(&f, &so).unwrap(), want(&[("X", 2)]));
    }
}

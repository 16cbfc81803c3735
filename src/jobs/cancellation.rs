//! O2: TikTok cancellations close the cancelled lines of the NetSuite sales order. A full
//! cancel closes every line; a partial one lowers (or closes) the lines of the cancelled
//! SKUs. A full cancel before import leaves a tombstone so no sales order is written later;
//! units NetSuite already fulfilled are never taken back: the unfulfilled rest is cut and
//! the case flagged for review.
//!
//! Which units are cancelled is a pure function of the order and its cancellations
//! (`plan`), and what to change on the sales order a pure function of that plan and the
//! lines NetSuite holds (`line_changes`): both are computed from the source of truth on
//! every run, so reruns and duplicates find nothing left to do.

use super::after_sale::{self, number};
use super::{JobContext, JobError, Outcome};
use crate::mapping::sales_order_external_id;
use crate::netsuite::lines::Transaction;
use crate::netsuite::transactions::LinePatch;
use crate::review::{self, ReviewFlag};
use crate::tiktok::fulfillment::{Cancellation, CancellationSearch};
use crate::tiktok::models::{Order, OrderStatus};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::Map;
use std::collections::{BTreeMap, HashSet};

/// Review reason (and metric label) for a cancel of an already fulfilled order.
pub const REVIEW_CANCEL_AFTER_FULFILLMENT: &str = "cancel_after_fulfillment";

/// Pages of Search Cancellations read per order at most (50 each).
const MAX_PAGES: usize = 20;

/// Tombstone: TikTok cancelled the whole order; O1 must never write its sales order.
fn cancelled_key(order_id: &str) -> String {
    format!("cancelled:{order_id}")
}

/// The full cancel was applied to (or flagged on) this sales order: nothing left to do.
fn settled_key(order_id: &str) -> String {
    format!("cancel-settled:{order_id}")
}

/// Units cancelled per TikTok `sku_id` by partial cancellations, kept so O1 re-applies
/// them after it writes (a cancel before import, or a rewrite that reopened lines).
fn cancelled_units_key(order_id: &str) -> String {
    format!("cancelled-units:{order_id}")
}

/// What is cancelled in the order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CancelPlan {
    /// No cancellation has taken effect (pending, withdrawn or rejected).
    Nothing,
    /// Every unit: close every line.
    Full,
    /// Cancelled units per TikTok `sku_id`.
    Units(BTreeMap<String, u32>),
}

/// Cancel statuses after which the units are gone: `after_sale::request_succeeded`, the
/// reading O3 shares (SUCCESS and COMPLETE count; PENDING, the buyer asked and the seller
/// may refuse, and CANCELLED, withdrawn, do not).
pub fn is_effective(cancel_status: &str) -> bool {
    cancel_status.starts_with("CANCELLATION_") && after_sale::request_succeeded(cancel_status)
}

/// Pure: the units `cancellations` took out of `order`. Only an order TikTok reports
/// CANCELLED is fully cancelled ("CANCELLED only when every item is cancelled", reference
/// §5): that is the one case that leaves the tombstone keeping O1 from importing. An
/// effective cancellation naming no lines on an order TikTok still shows live says nothing
/// usable (which units?) and is left out: the order's own CANCEL status webhook, or the
/// poller, brings the full cancel once TikTok settles it. Lines covering every unit of a
/// live order are a cancel of each unit (`Units`), which closes every line without the
/// tombstone.
pub fn plan(order: &Order, cancellations: &[Cancellation]) -> CancelPlan {
    if order.status == OrderStatus::Cancelled {
        return CancelPlan::Full;
    }
    let effective: Vec<&Cancellation> = cancellations
        .iter()
        .filter(|c| {
            c.order_id == order.id
                && is_effective(&c.cancel_status)
                && !c.cancel_line_items.is_empty()
        })
        .collect();
    if effective.is_empty() {
        return CancelPlan::Nothing;
    }
    let mut gone: HashSet<&str> = HashSet::new();
    let mut units: BTreeMap<String, u32> = BTreeMap::new();
    for c in &effective {
        for li in &c.cancel_line_items {
            // The same unit named by two cancellations counts once.
            if !gone.insert(li.order_line_item_id.as_str()) {
                continue;
            }
            let sku = order
                .line_items
                .iter()
                .find(|o| o.id == li.order_line_item_id)
                .map(|o| o.sku_id.clone())
                .or_else(|| li.sku_id.clone());
            if let Some(sku) = sku {
                *units.entry(sku).or_default() += 1;
            }
        }
    }
    if units.is_empty() {
        CancelPlan::Nothing
    } else {
        CancelPlan::Units(units)
    }
}

/// What the sales order needs.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LineChanges {
    /// PATCH these lines (empty: already in the wanted state).
    pub patches: Vec<LinePatch>,
    /// Some cancelled units were already fulfilled: what could not be taken back, for a
    /// person to settle (refund, return, recall the shipment).
    pub review: Option<String>,
}

/// A line cut down to `quantity` (its amount follows the rate), or closed at zero.
fn reduce(l: &crate::netsuite::lines::TransactionLine, quantity: Decimal) -> LinePatch {
    if quantity <= Decimal::ZERO {
        return LinePatch::close(l.line);
    }
    let mut fields = Map::new();
    fields.insert("quantity".into(), number(quantity));
    if let Some(rate) = l.rate {
        fields.insert("amount".into(), number(rate * quantity));
    }
    LinePatch {
        line: l.line,
        fields,
    }
}

/// Pure: the PATCH that brings `so` to the plan. Fulfilled units are never taken back
/// (NetSuite refuses a quantity below the fulfilled one): the rest is cut and the case
/// flagged for review.
///
/// - `Full`: nothing fulfilled closes every open line. Otherwise each product line is cut
///   to its fulfilled quantity (closed when none is fulfilled, left alone when all is), so
///   the warehouse cannot ship the rest of a cancelled order; the adjustment lines
///   (discount, shipping, tax) stay for the person reviewing the flag, since part of the
///   order was shipped and billed.
/// - `Units`: each SKU's open quantity must equal the order's units of that SKU minus the
///   cancelled ones; the excess comes off the SKU's last lines first, a line left at zero
///   is closed. Comparing against the target (not subtracting from what is there) is what
///   makes a rerun a no-op.
pub fn line_changes(plan: &CancelPlan, order: &Order, so: &Transaction) -> LineChanges {
    match plan {
        CancelPlan::Nothing => LineChanges::default(),
        CancelPlan::Full => {
            if !so.any_fulfilled() {
                return LineChanges {
                    patches: so
                        .lines
                        .iter()
                        .filter(|l| !l.is_closed)
                        .map(|l| LinePatch::close(l.line))
                        .collect(),
                    review: None,
                };
            }
            let mut patches = Vec::new();
            let mut shipped = Vec::new();
            for l in so.lines.iter().filter(|l| l.tiktok_sku_id.is_some()) {
                if l.quantity_fulfilled > Decimal::ZERO {
                    shipped.push(format!("line {}: {}", l.line, l.quantity_fulfilled));
                }
                if !l.is_closed && l.quantity > l.quantity_fulfilled {
                    patches.push(reduce(l, l.quantity_fulfilled));
                }
            }
            LineChanges {
                patches,
                review: Some(format!(
                    "TikTok cancelled the whole order, but units were already fulfilled ({}); the unfulfilled rest was closed, fulfilled units and the discount, shipping and tax lines were left as they are",
                    shipped.join(", ")
                )),
            }
        }
        CancelPlan::Units(units) => {
            let mut patches = Vec::new();
            let mut stuck = Vec::new();
            for (sku, cancelled) in units {
                let ordered = order
                    .line_items
                    .iter()
                    .filter(|li| &li.sku_id == sku)
                    .count();
                let target = Decimal::from(ordered.saturating_sub(*cancelled as usize));
                let lines: Vec<_> = so.lines_of_sku(sku).filter(|l| !l.is_closed).collect();
                let open: Decimal = lines.iter().map(|l| l.quantity).sum();
                let mut excess = open - target;
                for l in lines.iter().rev() {
                    if excess <= Decimal::ZERO {
                        break;
                    }
                    let takeable = (l.quantity - l.quantity_fulfilled).max(Decimal::ZERO);
                    let take = excess.min(takeable);
                    if take > Decimal::ZERO {
                        excess -= take;
                        patches.push(reduce(l, l.quantity - take));
                    }
                }
                if excess > Decimal::ZERO {
                    stuck.push(format!("{excess} unit(s) of SKU {sku}"));
                }
            }
            let review = (!stuck.is_empty()).then(|| {
                format!(
                    "TikTok cancelled units that were already fulfilled ({}); the unfulfilled ones were taken off, the fulfilled ones were left as they are",
                    stuck.join(", ")
                )
            });
            LineChanges { patches, review }
        }
    }
}

/// Units cancelled by partial cancellations and the ids of those cancellations (state at
/// `cancelled_units_key`; earlier deployments stored the bare map).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct CancelledUnits {
    units: BTreeMap<String, u32>,
    #[serde(default)]
    cancel_ids: Vec<String>,
}

impl CancelledUnits {
    fn parse(raw: &str) -> Option<CancelledUnits> {
        serde_json::from_str::<CancelledUnits>(raw)
            .ok()
            .or_else(|| {
                serde_json::from_str::<BTreeMap<String, u32>>(raw)
                    .ok()
                    .map(|units| CancelledUnits {
                        units,
                        cancel_ids: Vec::new(),
                    })
            })
    }

    /// What names the case in a review flag id: the cancel ids, else the units.
    fn case(&self) -> String {
        if self.cancel_ids.is_empty() {
            self.units
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(",")
        } else {
            self.cancel_ids.join(",")
        }
    }
}

/// The review case of a full cancel: an order is cancelled as a whole once.
const FULL_CASE: &str = "full";

/// Pure: ids of the cancellations that took units out of `order`, sorted.
fn effective_ids(order: &Order, cancellations: &[Cancellation]) -> Vec<String> {
    let mut ids: Vec<String> = cancellations
        .iter()
        .filter(|c| {
            c.order_id == order.id
                && is_effective(&c.cancel_status)
                && !c.cancel_line_items.is_empty()
        })
        .map(|c| c.cancel_id.clone())
        .collect();
    ids.sort();
    ids.dedup();
    ids
}

/// Topic 11: re-read the order and its cancellations, then bring the sales order in line.
pub async fn run(
    ctx: &JobContext,
    shop_id: &str,
    order_id: &str,
    cancel_id: Option<&str>,
) -> Result<Outcome, JobError> {
    if shop_id != ctx.tiktok.shop_id() {
        return Err(JobError::Permanent(format!(
            "order {order_id} belongs to shop {shop_id}, which this bridge does not serve"
        )));
    }
    let order = after_sale::read_order(ctx, order_id).await?;
    let cancellations = search(ctx, order_id).await?;
    if let Some(id) = cancel_id {
        if !cancellations.iter().any(|c| c.cancel_id == id) {
            // TikTok's search may lag its webhook: try again rather than act on less.
            return Err(JobError::Transient(format!(
                "cancellation {id} of order {order_id} is not in Search Cancellations yet"
            )));
        }
    }
    let plan = plan(&order, &cancellations);
    if plan == CancelPlan::Nothing {
        let unlined: Vec<&str> = cancellations
            .iter()
            .filter(|c| is_effective(&c.cancel_status) && c.cancel_line_items.is_empty())
            .map(|c| c.cancel_id.as_str())
            .collect();
        if !unlined.is_empty() {
            tracing::info!(
                order_id,
                cancel_ids = ?unlined,
                order_status = order.status.as_str(),
                "cancellation names no lines and TikTok still shows the order live: waiting for its CANCELLED status"
            );
            return Ok(Outcome::Skipped(format!(
                "cancellation of order {order_id} names no lines and the order is {}: nothing is closed until TikTok reports it CANCELLED",
                order.status.as_str()
            )));
        }
    }
    let cancel_ids = effective_ids(&order, &cancellations);
    apply(ctx, &order, &plan, cancel_ids).await
}

/// An order re-read by O1 with status CANCELLED: everything goes.
pub async fn from_order(ctx: &JobContext, order: &Order) -> Result<Outcome, JobError> {
    apply(ctx, order, &CancelPlan::Full, Vec::new()).await
}

/// True when TikTok cancelled the whole order: O1 writes nothing for it, even from a read
/// taken before the cancel (a batched read waiting for a permit, a late status webhook).
pub async fn is_cancelled(ctx: &JobContext, order_id: &str) -> Result<bool, JobError> {
    Ok(ctx.state.get(&cancelled_key(order_id)).await?.is_some())
}

/// True when O2 changed (or will change) the order's lines: a partial cancellation was
/// seen. O1 then leaves the `item` sublist alone on rewrites.
pub async fn lines_changed(ctx: &JobContext, order_id: &str) -> Result<bool, JobError> {
    Ok(ctx
        .state
        .get(&cancelled_units_key(order_id))
        .await?
        .is_some())
}

/// Called by O1 after it wrote (or found up to date) the sales order: applies partial
/// cancellations seen before, so a cancel that arrived before the import still ends with
/// the cancelled units off the order.
pub async fn sales_order_written(
    ctx: &JobContext,
    order: &Order,
    sales_order_id: &str,
) -> Result<(), JobError> {
    let Some(raw) = ctx.state.get(&cancelled_units_key(&order.id)).await? else {
        return Ok(());
    };
    let Some(seen) = CancelledUnits::parse(&raw) else {
        return Ok(());
    };
    let so = ctx
        .netsuite
        .get_transaction("salesOrder", sales_order_id)
        .await?;
    let case = seen.case();
    change_sales_order(ctx, order, &CancelPlan::Units(seen.units), &so, &case).await?;
    Ok(())
}

async fn search(ctx: &JobContext, order_id: &str) -> Result<Vec<Cancellation>, JobError> {
    let mut out = Vec::new();
    let mut req = CancellationSearch {
        order_ids: vec![order_id.to_string()],
        page_size: crate::tiktok::fulfillment::MAX_CANCELLATION_PAGE_SIZE,
        ..CancellationSearch::default()
    };
    for _ in 0..MAX_PAGES {
        let page = ctx.tiktok.search_cancellations(&req).await?;
        out.extend(page.cancellations);
        match page.next_page_token {
            Some(t) => req.page_token = Some(t),
            None => break,
        }
    }
    Ok(out)
}

async fn apply(
    ctx: &JobContext,
    order: &Order,
    plan: &CancelPlan,
    cancel_ids: Vec<String>,
) -> Result<Outcome, JobError> {
    let order_id = order.id.as_str();
    let case = match plan {
        CancelPlan::Nothing => {
            return Ok(Outcome::Skipped(format!(
                "no cancellation of order {order_id} has taken effect"
            )))
        }
        CancelPlan::Full => {
            // A cancelled order is final in TikTok and O1 no longer writes it, so once its
            // sales order was settled every later read (poller, webhooks) is a no-op here
            // too, without a NetSuite call.
            if let Some(so_id) = ctx.state.get(&settled_key(order_id)).await? {
                return Ok(Outcome::Done(format!(
                    "sales order {so_id} already settled for the cancellation"
                )));
            }
            ctx.state
                .set(&cancelled_key(order_id), "1", Some(after_sale::STATE_TTL))
                .await?;
            FULL_CASE.to_string()
        }
        CancelPlan::Units(units) => {
            let seen = CancelledUnits {
                units: units.clone(),
                cancel_ids,
            };
            let json = serde_json::to_string(&seen)
                .map_err(|e| JobError::Permanent(format!("cannot encode state: {e}")))?;
            ctx.state
                .set(
                    &cancelled_units_key(order_id),
                    &json,
                    Some(after_sale::STATE_TTL),
                )
                .await?;
            seen.case()
        }
    };
    let Some(so_id) = after_sale::sales_order_id(ctx, order_id).await? else {
        return Ok(Outcome::Done(match plan {
            CancelPlan::Full => {
                format!("order {order_id} cancelled before import: no sales order will be written")
            }
            _ => format!(
                "order {order_id} partly cancelled before import: the import will leave the cancelled units off"
            ),
        }));
    };
    let so = ctx.netsuite.get_transaction("salesOrder", &so_id).await?;
    let outcome = change_sales_order(ctx, order, plan, &so, &case).await?;
    if *plan == CancelPlan::Full {
        ctx.state
            .set(&settled_key(order_id), &so_id, Some(after_sale::STATE_TTL))
            .await?;
    }
    Ok(outcome)
}

async fn change_sales_order(
    ctx: &JobContext,
    order: &Order,
    plan: &CancelPlan,
    so: &Transaction,
    case: &str,
) -> Result<Outcome, JobError> {
    let order_id = order.id.as_str();
    let changes = line_changes(plan, order, so);
    if !changes.patches.is_empty() {
        ctx.netsuite
            .patch_lines("salesOrder", &so.id, &changes.patches)
            .await?;
        after_sale::wrote(
            ctx,
            order_id,
            "salesOrder",
            &sales_order_external_id(order_id),
            &so.id,
        )
        .await;
    }
    let changed = changes.patches.len();
    let Some(detail) = changes.review else {
        return Ok(Outcome::Done(if changed == 0 {
            format!("sales order {} already reflects the cancellation", so.id)
        } else {
            format!(
                "sales order {}: {changed} line(s) closed or reduced for the cancellation",
                so.id
            )
        }));
    };
    let flag = ReviewFlag {
        id: review_flag_id(order_id, case),
        reason: REVIEW_CANCEL_AFTER_FULFILLMENT.into(),
        order_id: order_id.to_string(),
        sales_order_id: Some(so.id.clone()),
        detail: detail.clone(),
        flagged_at_ms: crate::queue::now_ms(),
        dismissed_at_ms: None,
        dismissed_note: None,
    };
    if review::raise(ctx.state.as_ref(), &flag).await? {
        ctx.metrics
            .after_sale
            .flagged(REVIEW_CANCEL_AFTER_FULFILLMENT);
        // The job's own history line carries the outcome; no extra event needed.
        tracing::warn!(
            order_id,
            sales_order_id = %so.id,
            detail = %detail,
            "cancellation of an already fulfilled order flagged for review"
        );
    }
    Ok(Outcome::Done(format!(
        "sales order {} partly fulfilled: {changed} unfulfilled line(s) closed or reduced, cancellation flagged for review",
        so.id
    )))
}

/// `cancellation:<order id>:<case>`: `full` for a whole-order cancel, else the ids of the
/// partial cancellations, so a different case on the same order gets its own flag.
pub fn review_flag_id(order_id: &str, case: &str) -> String {
    format!("cancellation:{order_id}:{case}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::netsuite::lines::TransactionLine;
    use crate::tiktok::fulfillment::CancelLineItem;
    use rust_decimal_macros::dec;
    use serde_json::json;

    /// Two units of SKU A (lines …001, …002) and one of B (…003).
    fn order(status: &str) -> Order {
        let unit = |id: &str, sku: &str| json!({"id": id, "sku_id": sku, "seller_sku": format!("S-{sku}"), "original_price": "10.00"});
        serde_json::from_value(json!({
            "id": "9", "status": status,
            "line_items": [unit("9001", "A"), unit("9002", "A"), unit("9003", "B")]
        }))
        .unwrap()
    }

    fn cancel(status: &str, lines: &[&str]) -> Cancellation {
        Cancellation {
            cancel_id: "c1".into(),
            order_id: "9".into(),
            cancel_type: "BUYER_CANCEL".into(),
            cancel_status: status.into(),
            role: None,
            cancel_reason: None,
            refund_amount: None,
            cancel_line_items: lines
                .iter()
                .map(|l| CancelLineItem {
                    order_line_item_id: l.to_string(),
                    sku_id: None,
                    seller_sku: None,
                })
                .collect(),
            create_time: None,
            update_time: None,
        }
    }

    fn so(lines: &[(u64, Option<&str>, Decimal, bool, Decimal)]) -> Transaction {
        Transaction {
            id: "555".into(),
            lines: lines
                .iter()
                .map(|(line, sku, qty, closed, fulfilled)| TransactionLine {
                    line: *line,
                    quantity: *qty,
                    rate: Some(dec!(10.00)),
                    is_closed: *closed,
                    quantity_fulfilled: *fulfilled,
                    tiktok_sku_id: sku.map(str::to_string),
                    ..TransactionLine::default()
                })
                .collect(),
            ..Transaction::default()
        }
    }

    #[test]
    fn pending_and_withdrawn_cancellations_change_nothing() {
        let o = order("AWAITING_SHIPMENT");
        assert_eq!(
            plan(&o, &[cancel("CANCELLATION_REQUEST_PENDING", &["9001"])]),
            CancelPlan::Nothing
        );
        assert_eq!(
            plan(&o, &[cancel("CANCELLATION_REQUEST_CANCELLED", &["9001"])]),
            CancelPlan::Nothing
        );
    }

    #[test]
    fn only_a_cancelled_order_is_a_full_cancel() {
        assert_eq!(plan(&order("CANCELLED"), &[]), CancelPlan::Full);
        let all = cancel("CANCELLATION_REQUEST_COMPLETE", &["9001", "9002", "9003"]);
        assert_eq!(
            plan(&order("AWAITING_SHIPMENT"), &[all]),
            CancelPlan::Units([("A".to_string(), 2), ("B".to_string(), 1)].into())
        );
    }

    #[test]
    fn a_cancellation_naming_no_lines_on_a_live_order_changes_nothing() {
        // Finding 6: this used to be a full cancel with a tombstone, blocking the import.
        for status in [
            "CANCELLATION_REQUEST_SUCCESS",
            "CANCELLATION_REQUEST_COMPLETE",
        ] {
            assert_eq!(
                plan(&order("AWAITING_SHIPMENT"), &[cancel(status, &[])]),
                CancelPlan::Nothing
            );
        }
        assert_eq!(
            plan(
                &order("CANCELLED"),
                &[cancel("CANCELLATION_REQUEST_COMPLETE", &[])]
            ),
            CancelPlan::Full
        );
    }

    #[test]
    fn partial_cancel_counts_units_per_sku_once() {
        let c = cancel("CANCELLATION_REQUEST_COMPLETE", &["9002"]);
        let twice = vec![c.clone(), c];
        assert_eq!(
            plan(&order("AWAITING_SHIPMENT"), &twice),
            CancelPlan::Units([("A".to_string(), 1)].into())
        );
    }

    #[test]
    fn partial_cancel_reduces_then_closes_and_reruns_are_no_ops() {
        let o = order("AWAITING_SHIPMENT");
        let one_a = CancelPlan::Units([("A".to_string(), 1)].into());
        let before = so(&[
            (1, Some("A"), dec!(2), false, dec!(0)),
            (2, Some("B"), dec!(1), false, dec!(0)),
            (3, None, dec!(1), false, dec!(0)),
        ]);
        let LineChanges { patches: p, review } = line_changes(&one_a, &o, &before);
        assert_eq!(review, None);
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].line, 1);
        assert_eq!(p[0].fields["quantity"].to_string(), "1");
        assert_eq!(p[0].fields["amount"].to_string(), "10");
        let after = so(&[
            (1, Some("A"), dec!(1), false, dec!(0)),
            (2, Some("B"), dec!(1), false, dec!(0)),
        ]);
        assert_eq!(line_changes(&one_a, &o, &after), LineChanges::default());
        let all_b = CancelPlan::Units([("B".to_string(), 1)].into());
        assert_eq!(
            line_changes(&all_b, &o, &after).patches,
            vec![LinePatch::close(2)]
        );
    }

    #[test]
    fn full_cancel_closes_open_lines_only() {
        let o = order("CANCELLED");
        let s = so(&[
            (1, Some("A"), dec!(2), true, dec!(0)),
            (2, Some("B"), dec!(1), false, dec!(0)),
            (3, None, dec!(1), false, dec!(0)),
        ]);
        assert_eq!(
            line_changes(&CancelPlan::Full, &o, &s),
            LineChanges {
                patches: vec![LinePatch::close(2), LinePatch::close(3)],
                review: None
            }
        );
    }

    #[test]
    fn fulfilled_units_stay_and_the_unfulfilled_rest_of_a_cancelled_order_goes() {
        let o = order("CANCELLED");
        // A: 2 ordered, 1 fulfilled; B: fully fulfilled; C: none fulfilled; shipping line.
        let s = so(&[
            (1, Some("A"), dec!(2), false, dec!(1)),
            (2, Some("B"), dec!(1), false, dec!(1)),
            (3, Some("C"), dec!(1), false, dec!(0)),
            (4, None, dec!(1), false, dec!(0)),
        ]);
        let c = line_changes(&CancelPlan::Full, &o, &s);
        assert_eq!(c.patches.len(), 2, "{c:?}");
        assert_eq!(c.patches[0].line, 1);
        assert_eq!(c.patches[0].fields["quantity"].to_string(), "1");
        assert_eq!(c.patches[0].fields["amount"].to_string(), "10");
        assert_eq!(c.patches[1], LinePatch::close(3));
        assert!(c.review.is_some());
        // The rerun against the cut-down order changes nothing more, still for review.
        let after = so(&[
            (1, Some("A"), dec!(1), false, dec!(1)),
            (2, Some("B"), dec!(1), false, dec!(1)),
            (3, Some("C"), dec!(1), true, dec!(0)),
            (4, None, dec!(1), false, dec!(0)),
        ]);
        let again = line_changes(&CancelPlan::Full, &o, &after);
        assert!(again.patches.is_empty() && again.review.is_some());
    }

    #[test]
    fn a_partial_cancel_takes_only_unfulfilled_units_and_flags_the_rest() {
        let o = order("AWAITING_SHIPMENT");
        let s = so(&[(1, Some("A"), dec!(2), false, dec!(2))]);
        let one_a = CancelPlan::Units([("A".to_string(), 1)].into());
        let c = line_changes(&one_a, &o, &s);
        assert!(c.patches.is_empty() && c.review.is_some());
        // Two lines of A, the last one unfulfilled: it is the one cut.
        let s = so(&[
            (1, Some("A"), dec!(1), false, dec!(1)),
            (2, Some("A"), dec!(1), false, dec!(0)),
        ]);
        let c = line_changes(&one_a, &o, &s);
        assert_eq!(c.patches, vec![LinePatch::close(2)]);
        assert_eq!(c.review, None);
    }
}

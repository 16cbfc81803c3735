//! O3: TikTok returns and refunds become NetSuite records: a return authorization
//! transformed from the sales order, an item receipt (restock) transformed from it once the
//! goods are back, and a credit memo or customer refund once the refund completes. Each
//! record carries an external id derived from the TikTok return id, so it is written once
//! however often the return's webhook arrives or the job reruns.
//!
//! What a return calls for is a pure function of its type, status and the configuration
//! (`plan`); the handler re-reads the return and writes what is missing.

use super::after_sale::{self, lines_for_units, number};
use super::{JobContext, JobError, Outcome};
use crate::config::{RefundRecord, ReturnsConfig};
use crate::netsuite::lines::Transaction;
use crate::netsuite::transactions::LinePatch;
use crate::review::{self, ReviewFlag};
use crate::state::ParkReason;
use crate::tiktok::fulfillment::{ReturnOrder, ReturnSearch};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

pub fn authorization_external_id(return_id: &str) -> String {
    format!("tiktok-return:{return_id}")
}

pub fn receipt_external_id(return_id: &str) -> String {
    format!("tiktok-return-receipt:{return_id}")
}

pub fn refund_external_id(return_id: &str) -> String {
    format!("tiktok-refund:{return_id}")
}

/// What the bridge wrote for a return (state key `return:<return id>`), so reruns skip
/// NetSuite lookups for records already there.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct WrittenReturn {
    #[serde(default)]
    authorization_id: Option<String>,
    #[serde(default)]
    receipt_id: Option<String>,
    #[serde(default)]
    refund_id: Option<String>,
    /// The return authorization's lines were closed (the return was withdrawn/refused).
    #[serde(default)]
    authorization_closed: bool,
}

fn written_key(return_id: &str) -> String {
    format!("return:{return_id}")
}

/// The NetSuite records a return calls for now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ReturnPlan {
    pub authorization: bool,
    pub receipt: bool,
    pub refund: bool,
    /// The return ended without goods coming back: close the return authorization's lines
    /// if one was written.
    pub close_authorization: bool,
}

impl ReturnPlan {
    pub fn is_empty(&self) -> bool {
        !(self.authorization || self.receipt || self.refund || self.close_authorization)
    }
}

/// Statuses that end a return with nothing received or refunded.
const ENDED_WITHOUT_RETURN: &[&str] = &[
    "RETURN_OR_REFUND_REQUEST_CANCEL",
    "REFUND_OR_RETURN_REQUEST_REJECT",
    "REJECT_RECEIVE_PACKAGE",
];

/// Statuses of an approved return-and-refund, before and after the buyer ships.
const APPROVED: &[&str] = &[
    "AWAITING_BUYER_SHIP",
    "BUYER_SHIPPED_ITEM",
    "RETURN_OR_REFUND_REQUEST_SUCCESS",
    "RETURN_OR_REFUND_REQUEST_COMPLETE",
];

/// Pure: the records `ret` calls for. The reference (§2.4) lists the statuses but not
/// their meaning; read as TikTok's seller guide describes them:
/// - `RETURN_OR_REFUND_REQUEST_SUCCESS` and `…_COMPLETE` end a successful request
///   (`after_sale::request_succeeded`, the reading O2 shares for cancellations: the
///   reference does not say how the two differ and a request may stop at either): the
///   refund is granted and, for a return-and-refund, the seller accepted the received
///   package (there is no separate "received" status), so it also triggers the item
///   receipt.
/// - A return-and-refund is approved from `AWAITING_BUYER_SHIP` on: the return
///   authorization is written then, so the warehouse expects the goods.
/// - Pending requests and replacements write nothing; a request cancelled or rejected
///   (including a refused package) closes the return authorization if one was written.
/// - A refund-only return sends no goods back: never a receipt, and a return
///   authorization only when configured.
pub fn plan(ret: &ReturnOrder, cfg: &ReturnsConfig) -> ReturnPlan {
    let status = ret.return_status.as_str();
    let complete = status.starts_with("RETURN_OR_REFUND_") && after_sale::request_succeeded(status);
    let ended = ENDED_WITHOUT_RETURN.contains(&status);
    match ret.return_type.as_str() {
        "REFUND" => ReturnPlan {
            authorization: cfg.refund_only_authorization && complete,
            receipt: false,
            refund: complete,
            close_authorization: ended,
        },
        "RETURN_AND_REFUND" => ReturnPlan {
            authorization: APPROVED.contains(&status),
            receipt: complete,
            refund: complete,
            close_authorization: ended,
        },
        _ => ReturnPlan::default(),
    }
}

/// Pure: returned units per TikTok `sku_id`; a return naming no lines returns the order.
pub fn returned_units(
    ret: &ReturnOrder,
    order_sku_of: &dyn Fn(&str) -> Option<String>,
) -> BTreeMap<String, u32> {
    let mut units = BTreeMap::new();
    for li in &ret.return_line_items {
        if let Some(sku) = li
            .sku_id
            .clone()
            .or_else(|| order_sku_of(&li.order_line_item_id))
        {
            *units.entry(sku).or_default() += 1;
        }
    }
    units
}

pub async fn run(
    ctx: &JobContext,
    shop_id: &str,
    order_id: &str,
    return_id: &str,
) -> Result<Outcome, JobError> {
    if shop_id != ctx.tiktok.shop_id() {
        return Err(JobError::Permanent(format!(
            "return {return_id} belongs to shop {shop_id}, which this bridge does not serve"
        )));
    }
    let req = ReturnSearch {
        return_ids: vec![return_id.to_string()],
        page_size: crate::tiktok::fulfillment::MIN_RETURN_PAGE_SIZE,
        ..ReturnSearch::default()
    };
    let page = ctx.tiktok.search_returns(&req).await?;
    let Some(ret) = page
        .return_orders
        .into_iter()
        .find(|r| r.return_id == return_id)
    else {
        // TikTok's search may lag its webhook.
        return Err(JobError::Transient(format!(
            "return {return_id} is not in Search Returns yet"
        )));
    };
    if ret.order_id != order_id {
        return Err(JobError::Permanent(format!(
            "return {return_id} belongs to order {}, not {order_id}",
            ret.order_id
        )));
    }
    let cfg = &ctx.mapping.returns;
    let plan = plan(&ret, cfg);
    if plan.is_empty() {
        return Ok(Outcome::Skipped(format!(
            "{} return {return_id} in status {}: nothing to write",
            ret.return_type, ret.return_status
        )));
    }
    let key = written_key(return_id);
    let mut written: WrittenReturn = match ctx.state.get(&key).await? {
        Some(raw) => serde_json::from_str(&raw).unwrap_or_default(),
        None => WrittenReturn::default(),
    };
    if plan.close_authorization {
        return close_authorization(ctx, order_id, &ret, &key, written).await;
    }
    let needs_work = (plan.authorization && written.authorization_id.is_none())
        || (plan.receipt && written.receipt_id.is_none())
        || (plan.refund && written.refund_id.is_none());
    if !needs_work {
        return Ok(Outcome::Done(format!(
            "return {return_id}: NetSuite already holds its records"
        )));
    }

    let Some(so_id) = after_sale::sales_order_id(ctx, order_id).await? else {
        if after_sale::order_parked(ctx, order_id).await? {
            // O1 waits (an unknown SKU): so does the return, parked rather than failed,
            // until the unpark sweep sees the sales order written.
            return Ok(Outcome::Parked(ParkReason::AwaitingSalesOrder {
                order_id: order_id.to_string(),
            }));
        }
        // O1 is on its way (its job queued or running): retried with backoff.
        return Err(JobError::Transient(format!(
            "order {order_id} has no sales order yet; return {return_id} waits for it"
        )));
    };
    let so = ctx.netsuite.get_transaction("salesOrder", &so_id).await?;
    let needs_order = ret.return_line_items.iter().any(|l| l.sku_id.is_none());
    let order = if needs_order {
        Some(after_sale::read_order(ctx, order_id).await?)
    } else {
        None
    };
    let sku_of = |line_item_id: &str| {
        order.as_ref().and_then(|o| {
            o.line_items
                .iter()
                .find(|l| l.id == line_item_id)
                .map(|l| l.sku_id.clone())
        })
    };
    let units = returned_units(&ret, &sku_of);
    let lines = lines_for_units(&so, &units);
    if lines.is_empty() {
        return Err(JobError::Permanent(format!(
            "return {return_id}: no open sales order line of {so_id} matches the returned SKUs"
        )));
    }
    let memo = format!("TikTok Shop return {return_id} ({})", ret.return_type);
    let mut done = Vec::new();

    if plan.authorization && written.authorization_id.is_none() {
        let eid = authorization_external_id(return_id);
        let items: Vec<Value> = lines
            .iter()
            .map(|(line, qty)| json!({ "orderLine": line, "quantity": number(*qty) }))
            .collect();
        let mut body = Map::new();
        body.insert("memo".into(), json!(memo));
        body.insert("item".into(), json!({ "items": items }));
        let id = ctx
            .netsuite
            .transform_once("salesOrder", &so_id, "returnAuthorization", &eid, body)
            .await?;
        after_sale::wrote(ctx, order_id, "returnAuthorization", &eid, &id).await;
        written.authorization_id = Some(id);
        save(ctx, &key, &written).await?;
        done.push("return authorization");
    }

    if plan.receipt && written.receipt_id.is_none() {
        let Some(ra_id) = written.authorization_id.clone() else {
            return Err(JobError::Permanent(format!(
                "return {return_id}: goods received without a return authorization"
            )));
        };
        let ra = ctx
            .netsuite
            .get_transaction("returnAuthorization", &ra_id)
            .await?;
        let eid = receipt_external_id(return_id);
        let items: Vec<Value> = ra
            .lines
            .iter()
            .filter(|l| !l.is_closed)
            .map(|l| {
                let location = cfg
                    .restock_location_id
                    .clone()
                    .or_else(|| l.location_id.clone())
                    .or_else(|| so.location_id.clone());
                let mut line = json!({
                    "orderLine": l.line,
                    "quantity": number(l.quantity),
                    "itemReceive": true,
                });
                if let Some(loc) = location {
                    line["location"] = json!({ "id": loc });
                }
                line
            })
            .collect();
        let mut body = Map::new();
        body.insert("memo".into(), json!(memo));
        body.insert("item".into(), json!({ "items": items }));
        let id = ctx
            .netsuite
            .transform_once("returnAuthorization", &ra_id, "itemReceipt", &eid, body)
            .await?;
        after_sale::wrote(ctx, order_id, "itemReceipt", &eid, &id).await;
        written.receipt_id = Some(id);
        save(ctx, &key, &written).await?;
        done.push("item receipt");
    }

    if plan.refund && written.refund_id.is_none() {
        let eid = refund_external_id(return_id);
        let record = cfg.refund_record.record_type();
        let order = match order {
            Some(o) => o,
            None => after_sale::read_order(ctx, order_id).await?,
        };
        let named: Vec<&str> = ret
            .return_line_items
            .iter()
            .map(|l| l.order_line_item_id.as_str())
            .collect();
        let returned: Vec<&crate::tiktok::models::LineItem> = order
            .line_items
            .iter()
            .filter(|l| named.is_empty() || named.contains(&l.id.as_str()))
            .collect();
        let rplan =
            super::refund_lines::plan(&ret, &returned, lines_total(&so, &lines), &ctx.mapping);
        let extra: Vec<Value> = rplan
            .lines
            .iter()
            .map(|l| {
                let mut line = json!({
                    "item": { "id": l.item_id },
                    "quantity": 1,
                    "rate": number(l.amount),
                    "amount": number(l.amount),
                    "description": l.description,
                });
                if let Some(loc) = &so.location_id {
                    line["location"] = json!({ "id": loc });
                }
                line
            })
            .collect();
        let id = match (cfg.refund_record, &written.authorization_id) {
            (RefundRecord::CreditMemo, Some(ra_id)) if rplan.include_units => {
                let mut body = Map::new();
                body.insert("memo".into(), json!(memo));
                if !extra.is_empty() {
                    // The returned lines, as NetSuite would take them, and the memo's own.
                    let ra = ctx
                        .netsuite
                        .get_transaction("returnAuthorization", ra_id)
                        .await?;
                    let mut items: Vec<Value> = ra
                        .lines
                        .iter()
                        .filter(|l| !l.is_closed)
                        .map(|l| json!({ "orderLine": l.line, "quantity": number(l.quantity) }))
                        .collect();
                    items.extend(extra.iter().cloned());
                    body.insert("item".into(), json!({ "items": items }));
                }
                ctx.netsuite
                    .transform_once("returnAuthorization", ra_id, "creditMemo", &eid, body)
                    .await?
            }
            (RefundRecord::CreditMemo, _) => {
                let units: &[(u64, Decimal)] = if rplan.include_units { &lines } else { &[] };
                let mut body = standalone_credit_memo(&so, units, &memo, &eid);
                if let Some(items) = body["item"]["items"].as_array_mut() {
                    items.extend(extra.iter().cloned());
                }
                ctx.netsuite
                    .upsert_return_document(record, &eid, &body)
                    .await?
            }
            (RefundRecord::CustomerRefund, _) => {
                let total = rplan.refund_total.unwrap_or(rplan.memo_total);
                let body = customer_refund(&so, total, &memo, &eid);
                ctx.netsuite
                    .upsert_return_document(record, &eid, &body)
                    .await?
            }
        };
        after_sale::wrote(ctx, order_id, record, &eid, &id).await;
        let credited = lines_total(&so, &lines);
        super::settlement::refund_recorded(ctx.state.as_ref(), order_id, return_id, credited)
            .await?;
        if cfg.refund_record == RefundRecord::CreditMemo {
            if let Some(detail) = refund_mismatch(rplan.memo_total, rplan.refund_total, &ret) {
                flag_refund_mismatch(ctx, order_id, return_id, &id, detail).await?;
            }
        }
        written.refund_id = Some(id);
        save(ctx, &key, &written).await?;
        done.push(if cfg.refund_record == RefundRecord::CreditMemo {
            "credit memo"
        } else {
            "customer refund"
        });
    }

    Ok(Outcome::Done(format!(
        "return {return_id}: {} written",
        done.join(", ")
    )))
}

/// A return cancelled or refused after its return authorization was written: close the
/// authorization's open lines so NetSuite stops expecting the goods. Nothing to do when no
/// authorization was written, or goods were already received against it.
async fn close_authorization(
    ctx: &JobContext,
    order_id: &str,
    ret: &ReturnOrder,
    key: &str,
    mut written: WrittenReturn,
) -> Result<Outcome, JobError> {
    let return_id = ret.return_id.as_str();
    let ra_id = match (&written.authorization_id, written.authorization_closed) {
        (Some(id), false) if written.receipt_id.is_none() => id.clone(),
        _ => {
            return Ok(Outcome::Skipped(format!(
                "return {return_id} ended ({}): no open return authorization to close",
                ret.return_status
            )))
        }
    };
    let ra = ctx
        .netsuite
        .get_transaction("returnAuthorization", &ra_id)
        .await?;
    let patches: Vec<LinePatch> = ra
        .lines
        .iter()
        .filter(|l| !l.is_closed)
        .map(|l| LinePatch::close(l.line))
        .collect();
    if !patches.is_empty() {
        ctx.netsuite
            .patch_lines("returnAuthorization", &ra_id, &patches)
            .await?;
        let eid = authorization_external_id(return_id);
        after_sale::wrote(ctx, order_id, "returnAuthorization", &eid, &ra_id).await;
    }
    written.authorization_closed = true;
    save(ctx, key, &written).await?;
    Ok(Outcome::Done(format!(
        "return {return_id} ended ({}): return authorization {ra_id} closed",
        ret.return_status
    )))
}

async fn save(ctx: &JobContext, key: &str, written: &WrittenReturn) -> Result<(), JobError> {
    let raw = serde_json::to_string(written)
        .map_err(|e| JobError::Permanent(format!("cannot encode state: {e}")))?;
    ctx.state
        .set(key, &raw, Some(after_sale::STATE_TTL))
        .await?;
    Ok(())
}

/// Review reason (and metric label) for a credit memo whose total differs from TikTok's.
pub const REVIEW_REFUND_MISMATCH: &str = "refund_amount_mismatch";

/// Pure: why the credit memo (the returned lines at the rates they were sold at) does not
/// match TikTok's `refund_total`, if it does not. Seller discounts, tax and shipping sit on
/// their own sales order lines, so a memo made from the product lines can differ from what
/// TikTok refunded; the bridge does not guess how to split them and leaves the memo for a
/// person. No `refund_total` (the reference does not document `refund_amount`): no check.
pub fn refund_mismatch(
    memo_total: Decimal,
    refund_total: Option<Decimal>,
    ret: &ReturnOrder,
) -> Option<String> {
    let refunded = refund_total?;
    (refunded != memo_total).then(|| {
        let currency = ret
            .refund_amount
            .as_ref()
            .map(|a| a.currency.as_str())
            .unwrap_or("");
        format!(
            "credit memo for return {} totals {memo_total} (returned units at the sold rates with their discounts, refunded tax, shipping and fees), TikTok refunded {refunded} {currency}; the difference {} is not explained by the refund's components: adjust the memo",
            ret.return_id,
            refunded - memo_total
        )
    })
}

async fn flag_refund_mismatch(
    ctx: &JobContext,
    order_id: &str,
    return_id: &str,
    memo_id: &str,
    detail: String,
) -> Result<(), JobError> {
    let flag = ReviewFlag {
        id: format!("refund:{order_id}:{return_id}"),
        reason: REVIEW_REFUND_MISMATCH.into(),
        order_id: order_id.to_string(),
        sales_order_id: None,
        detail: format!("{detail} (credit memo {memo_id})"),
        flagged_at_ms: crate::queue::now_ms(),
        dismissed_at_ms: None,
        dismissed_note: None,
    };
    if review::raise(ctx.state.as_ref(), &flag).await? {
        ctx.metrics.after_sale.flagged(REVIEW_REFUND_MISMATCH);
        tracing::warn!(
            order_id,
            return_id,
            credit_memo_id = memo_id,
            "credit memo total differs from TikTok's refund; flagged for review"
        );
    }
    Ok(())
}

/// Sum of rate × quantity over the returned lines, exact.
fn lines_total(so: &Transaction, lines: &[(u64, Decimal)]) -> Decimal {
    lines
        .iter()
        .filter_map(|(line, qty)| {
            let l = so.lines.iter().find(|l| l.line == *line)?;
            Some(l.rate? * qty)
        })
        .sum()
}

/// A credit memo standing alone (a refund-only return without a return authorization):
/// the customer of the sales order, the returned items at the prices they were sold at.
fn standalone_credit_memo(
    so: &Transaction,
    lines: &[(u64, Decimal)],
    memo: &str,
    external_id: &str,
) -> Value {
    let items: Vec<Value> = lines
        .iter()
        .filter_map(|(line, qty)| {
            let l = so.lines.iter().find(|l| l.line == *line)?;
            let mut item = json!({
                "item": { "id": l.item_id.clone()? },
                "quantity": number(*qty),
            });
            if let Some(rate) = l.rate {
                item["rate"] = number(rate);
                item["amount"] = number(rate * qty);
            }
            if let Some(loc) = &l.location_id {
                item["location"] = json!({ "id": loc });
            }
            Some(item)
        })
        .collect();
    let mut body = json!({
        "externalId": external_id,
        "memo": memo,
        "item": { "items": items },
    });
    if let Some(entity) = &so.entity_id {
        body["entity"] = json!({ "id": entity });
    }
    body
}

/// A customer refund of `total`. The reference does not document the customer refund
/// body; `customer` and `total` follow the REST record browser's field names
/// (UNCONFIRMED), so accounts that need `account` or `paymentMethod` set them by default
/// form.
fn customer_refund(so: &Transaction, total: Decimal, memo: &str, external_id: &str) -> Value {
    let mut body = json!({
        "externalId": external_id,
        "memo": memo,
        "total": number(total),
    });
    if let Some(entity) = &so.entity_id {
        body["customer"] = json!({ "id": entity });
    }
    body
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::netsuite::lines::TransactionLine;
    use crate::tiktok::fulfillment::ReturnLineItem;
    use rust_decimal_macros::dec;

    fn ret(kind: &str, status: &str, lines: &[(&str, Option<&str>)]) -> ReturnOrder {
        ReturnOrder {
            return_id: "r1".into(),
            order_id: "9".into(),
            return_type: kind.into(),
            return_status: status.into(),
            role: None,
            return_reason: None,
            return_tracking_number: None,
            refund_amount: None,
            return_line_items: lines
                .iter()
                .map(|(id, sku)| ReturnLineItem {
                    order_line_item_id: id.to_string(),
                    return_line_item_id: None,
                    sku_id: sku.map(str::to_string),
                    seller_sku: None,
                    refund_amount: None,
                })
                .collect(),
            partial_refund: None,
            create_time: None,
            update_time: None,
        }
    }

    #[test]
    fn refund_only_never_receives_and_authorizes_only_when_configured() {
        let cfg = ReturnsConfig::default();
        let pending = ret("REFUND", "RETURN_OR_REFUND_REQUEST_PENDING", &[]);
        assert!(plan(&pending, &cfg).is_empty());
        let done = ret("REFUND", "RETURN_OR_REFUND_REQUEST_COMPLETE", &[]);
        assert_eq!(
            plan(&done, &cfg),
            ReturnPlan {
                refund: true,
                ..ReturnPlan::default()
            }
        );
        // A refund that stops at SUCCESS is refunded too (finding 9).
        let success = ret("REFUND", "RETURN_OR_REFUND_REQUEST_SUCCESS", &[]);
        assert_eq!(plan(&success, &cfg), plan(&done, &cfg));
        let with_ra = ReturnsConfig {
            refund_only_authorization: true,
            ..ReturnsConfig::default()
        };
        let p = plan(&done, &with_ra);
        assert!(p.authorization && p.refund && !p.receipt);
    }

    #[test]
    fn return_and_refund_authorizes_on_approval_and_receives_on_completion() {
        let cfg = ReturnsConfig::default();
        let p = |s: &str| plan(&ret("RETURN_AND_REFUND", s, &[]), &cfg);
        assert!(p("RETURN_OR_REFUND_REQUEST_PENDING").is_empty());
        assert_eq!(
            p("AWAITING_BUYER_SHIP"),
            ReturnPlan {
                authorization: true,
                ..ReturnPlan::default()
            }
        );
        assert_eq!(p("BUYER_SHIPPED_ITEM"), p("AWAITING_BUYER_SHIP"));
        assert_eq!(
            p("RETURN_OR_REFUND_REQUEST_COMPLETE"),
            ReturnPlan {
                authorization: true,
                receipt: true,
                refund: true,
                close_authorization: false,
            }
        );
        assert_eq!(
            p("RETURN_OR_REFUND_REQUEST_SUCCESS"),
            p("RETURN_OR_REFUND_REQUEST_COMPLETE")
        );
        for ended in [
            "REFUND_OR_RETURN_REQUEST_REJECT",
            "RETURN_OR_REFUND_REQUEST_CANCEL",
            "REJECT_RECEIVE_PACKAGE",
        ] {
            assert_eq!(
                p(ended),
                ReturnPlan {
                    close_authorization: true,
                    ..ReturnPlan::default()
                }
            );
        }
        assert!(plan(
            &ret("REPLACEMENT", "REPLACEMENT_REQUEST_COMPLETE", &[]),
            &cfg
        )
        .is_empty());
    }

    #[test]
    fn returned_units_map_to_open_product_lines() {
        let r = ret(
            "RETURN_AND_REFUND",
            "AWAITING_BUYER_SHIP",
            &[("9001", Some("A")), ("9003", None)],
        );
        let units = returned_units(&r, &|id| (id == "9003").then(|| "B".to_string()));
        assert_eq!(units, [("A".to_string(), 1), ("B".to_string(), 1)].into());
        let so = Transaction {
            id: "555".into(),
            lines: vec![
                TransactionLine {
                    line: 1,
                    quantity: dec!(2),
                    tiktok_sku_id: Some("A".into()),
                    ..TransactionLine::default()
                },
                TransactionLine {
                    line: 2,
                    quantity: dec!(1),
                    tiktok_sku_id: Some("B".into()),
                    ..TransactionLine::default()
                },
                TransactionLine {
                    line: 3,
                    quantity: dec!(1),
                    ..TransactionLine::default()
                },
            ],
            ..Transaction::default()
        };
        assert_eq!(
            lines_for_units(&so, &units),
            vec![(1, dec!(1)), (2, dec!(1))]
        );
        assert_eq!(
            lines_for_units(&so, &BTreeMap::new()),
            vec![(1, dec!(2)), (2, dec!(1))]
        );
    }

    #[test]
    fn a_credit_memo_differing_from_tiktoks_refund_is_reported() {
        let r = ret("REFUND", "RETURN_OR_REFUND_REQUEST_COMPLETE", &[]);
        assert_eq!(refund_mismatch(dec!(19.99), Some(dec!(19.99)), &r), None);
        assert_eq!(refund_mismatch(dec!(19.99), None, &r), None);
        let why = refund_mismatch(dec!(19.99), Some(dec!(17.49)), &r).unwrap();
        assert!(why.contains("19.99") && why.contains("17.49"), "{why}");
    }
}

//! F2: a Fulfilled-by-TikTok order shipped by TikTok becomes a NetSuite item fulfillment
//! at the FBT location, carrying TikTok's tracking. The bridge only records what TikTok
//! did: it never calls a TikTok ship endpoint for these orders.
//!
//! Each TikTok package becomes one item fulfillment (external id
//! `tiktok-fbt:<order id>:<package id>`), so a split shipment is recorded package by
//! package and a rerun finds every one already there. A package only takes what the sales
//! order still has unfulfilled: units already recorded (a whole-order fulfillment written
//! while TikTok showed no tracking, another package) are not fulfilled twice, and a
//! package entirely covered that way is remembered as such, without a record.

use super::after_sale::{self, lines_for_units, number, unfulfilled_lines_for_units};
use super::{JobContext, JobError};
use crate::tiktok::models::{FulfillmentType, Order, OrderStatus};
use serde_json::{json, Map};
use std::collections::BTreeMap;

/// One package TikTok shipped: its units per `sku_id` and its tracking number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TikTokShipment {
    /// TikTok's package id; `None` when the order says shipped but names no package.
    pub package_id: Option<String>,
    pub tracking_number: Option<String>,
    pub units: BTreeMap<String, u32>,
}

impl TikTokShipment {
    pub fn external_id(&self, order_id: &str) -> String {
        match &self.package_id {
            Some(p) => format!("tiktok-fbt:{order_id}:{p}"),
            None => format!("tiktok-fbt:{order_id}"),
        }
    }
}

/// Statuses after TikTok handed every package to the carrier.
fn shipped_status(s: &OrderStatus) -> bool {
    matches!(
        s,
        OrderStatus::InTransit | OrderStatus::Delivered | OrderStatus::Completed
    )
}

/// Pure: what TikTok shipped of an FBT order. A line item with a tracking number is
/// shipped in its package; an order in transit or later with no tracking on any line is
/// shipped as a whole (TikTok's warehouse does not always expose tracking).
pub fn shipments(order: &Order) -> Vec<TikTokShipment> {
    if order.fulfillment_type != Some(FulfillmentType::ByTikTok) {
        return Vec::new();
    }
    let mut by_package: BTreeMap<String, TikTokShipment> = BTreeMap::new();
    for li in &order.line_items {
        let Some(tracking) = li
            .tracking_number
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty())
        else {
            continue;
        };
        let key = li
            .package_id
            .clone()
            .unwrap_or_else(|| format!("tracking-{tracking}"));
        let s = by_package.entry(key).or_insert_with(|| TikTokShipment {
            package_id: li.package_id.clone(),
            tracking_number: Some(tracking.to_string()),
            units: BTreeMap::new(),
        });
        *s.units.entry(li.sku_id.clone()).or_default() += 1;
    }
    if by_package.is_empty() && shipped_status(&order.status) {
        let mut units = BTreeMap::new();
        for li in &order.line_items {
            *units.entry(li.sku_id.clone()).or_default() += 1;
        }
        return vec![TikTokShipment {
            package_id: None,
            tracking_number: None,
            units,
        }];
    }
    by_package.into_values().collect()
}

/// State value for a package whose units an earlier record already fulfilled.
const COVERED: &str = "covered";

fn written_key(external_id: &str) -> String {
    format!("fbt:{external_id}")
}

/// Called by O1 once the order's sales order exists (`sales_order_id`).
pub async fn record_shipment(
    ctx: &JobContext,
    order: &Order,
    sales_order_id: &str,
) -> Result<(), JobError> {
    let shipped = shipments(order);
    if shipped.is_empty() {
        return Ok(());
    }
    let mut so = None;
    for s in shipped {
        let eid = s.external_id(&order.id);
        if ctx.state.get(&written_key(&eid)).await?.is_some() {
            continue;
        }
        if so.is_none() {
            so = Some(
                ctx.netsuite
                    .get_transaction("salesOrder", sales_order_id)
                    .await?,
            );
        }
        let Some(so) = so.as_mut() else { continue };
        let location = ctx
            .mapping
            .fbt_location_id
            .clone()
            .or_else(|| so.location_id.clone());
        let picked = unfulfilled_lines_for_units(so, &s.units);
        if picked.is_empty() {
            if lines_for_units(so, &s.units).is_empty() {
                return Err(JobError::Permanent(format!(
                    "FBT order {}: no open sales order line matches the shipped SKUs",
                    order.id
                )));
            }
            // Already fulfilled by an earlier record: typically a whole-order fulfillment
            // written before TikTok exposed tracking. Its tracking is not back-filled (an
            // item fulfillment's package sublist is not safely editable through the
            // reference's API); remembered so later runs skip without reading NetSuite.
            tracing::info!(
                order_id = %order.id,
                external_id = %eid,
                "FBT package already fulfilled in NetSuite by an earlier record; not recorded again"
            );
            ctx.state
                .set(&written_key(&eid), COVERED, Some(after_sale::STATE_TTL))
                .await?;
            continue;
        }
        let items: Vec<_> = picked
            .iter()
            .map(|(line, qty)| {
                let mut l = json!({
                    "orderLine": line,
                    "quantity": number(*qty),
                    "itemReceive": true,
                });
                if let Some(loc) = &location {
                    l["location"] = json!({ "id": loc });
                }
                l
            })
            .collect();
        let mut body = Map::new();
        body.insert("shipStatus".into(), json!({ "id": "C" }));
        body.insert("item".into(), json!({ "items": items }));
        body.insert(
            "memo".into(),
            json!(format!("Shipped by TikTok (FBT), order {}", order.id)),
        );
        if let Some(t) = &s.tracking_number {
            body.insert(
                "package".into(),
                json!({ "items": [{ "packageTrackingNumber": t }] }),
            );
        }
        let id = ctx
            .netsuite
            .transform_once("salesOrder", sales_order_id, "itemFulfillment", &eid, body)
            .await?;
        // Later packages of this run see these units as fulfilled.
        for (line, qty) in &picked {
            if let Some(l) = so.lines.iter_mut().find(|l| l.line == *line) {
                l.quantity_fulfilled += *qty;
            }
        }
        ctx.state
            .set(&written_key(&eid), &id, Some(after_sale::STATE_TTL))
            .await?;
        after_sale::wrote(ctx, &order.id, "itemFulfillment", &eid, &id).await;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn order(fulfillment: &str, status: &str, tracking: [&str; 3]) -> Order {
        let unit = |id: &str, sku: &str, t: &str, pkg: &str| {
            json!({"id": id, "sku_id": sku, "seller_sku": "S", "original_price": "1.00",
                   "tracking_number": t, "package_id": if t.is_empty() { json!(null) } else { json!(pkg) }})
        };
        serde_json::from_value(json!({
            "id": "9", "status": status, "fulfillment_type": fulfillment,
            "line_items": [
                unit("1", "A", tracking[0], "P1"),
                unit("2", "A", tracking[1], "P1"),
                unit("3", "B", tracking[2], "P2"),
            ]
        }))
        .unwrap()
    }

    #[test]
    fn seller_fulfilled_orders_are_never_recorded_here() {
        let o = order("FULFILLMENT_BY_SELLER", "IN_TRANSIT", ["T1", "T1", "T2"]);
        assert!(shipments(&o).is_empty());
    }

    #[test]
    fn fbt_packages_with_tracking_become_shipments() {
        let o = order(
            "FULFILLMENT_BY_TIKTOK",
            "PARTIALLY_SHIPPING",
            ["T1", "T1", ""],
        );
        let s = shipments(&o);
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].external_id("9"), "tiktok-fbt:9:P1");
        assert_eq!(s[0].tracking_number.as_deref(), Some("T1"));
        assert_eq!(s[0].units, [("A".to_string(), 2)].into());
    }

    #[test]
    fn unshipped_fbt_orders_wait_and_shipped_ones_without_tracking_ship_whole() {
        let waiting = order("FULFILLMENT_BY_TIKTOK", "AWAITING_SHIPMENT", ["", "", ""]);
        assert!(shipments(&waiting).is_empty());
        let gone = order("FULFILLMENT_BY_TIKTOK", "DELIVERED", ["", "", ""]);
        let s = shipments(&gone);
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].external_id("9"), "tiktok-fbt:9");
        assert_eq!(
            s[0].units,
            [("A".to_string(), 2), ("B".to_string(), 1)].into()
        );
    }

    #[test]
    fn only_unfulfilled_units_are_picked_across_lines_of_one_sku() {
        use crate::netsuite::lines::{Transaction, TransactionLine};
        use rust_decimal_macros::dec;
        let line = |n: u64, qty, done| TransactionLine {
            line: n,
            quantity: qty,
            quantity_fulfilled: done,
            tiktok_sku_id: Some("A".into()),
            ..TransactionLine::default()
        };
        // Two lines of SKU A (1 + 2 units), the first already fulfilled.
        let so = Transaction {
            lines: vec![line(1, dec!(1), dec!(1)), line(2, dec!(2), dec!(0))],
            ..Transaction::default()
        };
        let two: BTreeMap<String, u32> = [("A".to_string(), 2)].into();
        assert_eq!(unfulfilled_lines_for_units(&so, &two), vec![(2, dec!(2))]);
        assert_eq!(
            lines_for_units(&so, &two),
            vec![(1, dec!(1)), (2, dec!(1))],
            "the plain pick would take the fulfilled line again"
        );
        let all_done = Transaction {
            lines: vec![line(1, dec!(1), dec!(1)), line(2, dec!(2), dec!(2))],
            ..Transaction::default()
        };
        assert!(unfulfilled_lines_for_units(&all_done, &two).is_empty());
    }
}

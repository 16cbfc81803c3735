//! Package matching: NetSuite lines (quantities per SKU) back to TikTok's per-unit line
//! items, and which of them ship in which TikTok package.

use super::*;

pub(super) fn as_u64(v: Option<&Value>) -> Option<u64> {
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

pub(super) fn cancelled(li: &crate::tiktok::models::LineItem) -> bool {
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

//! Sellable quantity per SKU and shop, and how changes become TikTok inventory updates.
//!
//! Sellable = Σ NetSuite `quantityavailable` over the shop's mapped locations − in-flight
//! ledger − safety buffer, capped by the allocation rule, floored at 0 (DESIGN.md §7).

use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;
use std::collections::{BTreeMap, HashMap, HashSet};

/// TikTok Update Inventory takes at most this many SKUs per call (reference §7).
pub const MAX_SKUS_PER_UPDATE: usize = 100;
/// Top of TikTok's documented `quantity` range; larger values are clamped, not rejected.
pub const MAX_TIKTOK_QUANTITY: u32 = 99_999;

/// NetSuite `quantityavailable` per SKU and location. Kept as decimals because NetSuite
/// reports fractional quantities for items with units of measure.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StockByLocation {
    by_sku: HashMap<String, BTreeMap<String, Decimal>>,
}

impl StockByLocation {
    pub fn new() -> Self {
        Self::default()
    }

    /// Records (or replaces) one row of the stock query.
    pub fn set(&mut self, sku: &str, location: &str, available: Decimal) {
        self.by_sku
            .entry(sku.to_string())
            .or_default()
            .insert(location.to_string(), available);
    }

    /// Integer convenience for tests and fixtures.
    pub fn set_units(&mut self, sku: &str, location: &str, available: i64) {
        self.set(sku, location, Decimal::from(available));
    }

    pub fn get(&self, sku: &str, location: &str) -> Option<Decimal> {
        self.by_sku.get(sku)?.get(location).copied()
    }

    /// Σ over `locations`. Negative rows (NetSuite over-commitment) are summed as they are:
    /// they are real demand on the shared pool, and ignoring them would over-report stock.
    pub fn available(&self, sku: &str, locations: &[String]) -> Decimal {
        let Some(rows) = self.by_sku.get(sku) else {
            return Decimal::ZERO;
        };
        locations
            .iter()
            .collect::<HashSet<_>>()
            .into_iter()
            .filter_map(|l| rows.get(l))
            .sum()
    }

    pub fn skus(&self) -> impl Iterator<Item = &str> {
        self.by_sku.keys().map(String::as_str)
    }
}

/// Units per SKU in TikTok orders the bridge has seen but NetSuite does not have on a sales
/// order yet, UNPAID and ON_HOLD included: the buyer already holds them on TikTok.
///
/// Keyed by order so a repeated or reordered event replaces instead of double counting, and
/// orders already settled (sales order created or cancelled) stay settled when a late event
/// for them arrives.
#[derive(Debug, Clone, Default)]
pub struct InFlightLedger {
    orders: HashMap<String, BTreeMap<String, u32>>,
    settled: HashSet<String>,
}

impl InFlightLedger {
    pub fn new() -> Self {
        Self::default()
    }

    /// The order's current lines (sku → units), replacing whatever was held for it.
    /// Returns false, holding nothing, if the order is already settled.
    pub fn hold(&mut self, order_id: &str, lines: &[(String, u32)]) -> bool {
        if self.settled.contains(order_id) {
            return false;
        }
        let mut units: BTreeMap<String, u32> = BTreeMap::new();
        for (sku, qty) in lines {
            let slot = units.entry(sku.clone()).or_default();
            *slot = slot.saturating_add(*qty);
        }
        self.orders.insert(order_id.to_string(), units);
        true
    }

    /// The sales order exists or the order was cancelled: its units leave the ledger for good.
    pub fn release(&mut self, order_id: &str) {
        self.orders.remove(order_id);
        self.settled.insert(order_id.to_string());
    }

    /// Applies an order status: CANCELLED releases, any other status (UNPAID and ON_HOLD
    /// too) holds the lines.
    pub fn apply_status(&mut self, order_id: &str, status: &str, lines: &[(String, u32)]) {
        if status.eq_ignore_ascii_case("CANCELLED") {
            self.release(order_id);
        } else {
            self.hold(order_id, lines);
        }
    }

    pub fn units(&self, sku: &str) -> u32 {
        self.orders
            .values()
            .filter_map(|lines| lines.get(sku))
            .fold(0u32, |acc, u| acc.saturating_add(*u))
    }

    pub fn is_held(&self, order_id: &str) -> bool {
        self.orders.contains_key(order_id)
    }
}

/// Optional per-shop caps on what is listed.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct AllocationRule {
    /// Share of the net quantity offered to this shop, 0–100. Applied after the ledger and
    /// buffer so the shop's in-flight orders eat into its own share, never another channel's.
    pub percent: Option<Decimal>,
    /// Never list more than this.
    pub max_listed: Option<u32>,
}

impl AllocationRule {
    pub const NONE: AllocationRule = AllocationRule {
        percent: None,
        max_listed: None,
    };
}

fn floor_to_u32(d: Decimal) -> u32 {
    if d <= Decimal::ZERO {
        return 0;
    }
    d.floor().to_u32().unwrap_or(u32::MAX)
}

/// What the shop may list for `sku`.
pub fn sellable(
    sku: &str,
    stock: &StockByLocation,
    mapped_locations: &[String],
    ledger_units: u32,
    safety_buffer: u32,
    rule: &AllocationRule,
) -> u32 {
    let net = stock.available(sku, mapped_locations)
        - Decimal::from(ledger_units)
        - Decimal::from(safety_buffer);
    if net <= Decimal::ZERO {
        return 0;
    }
    let mut capped = net;
    if let Some(pct) = rule.percent {
        let pct = pct.clamp(Decimal::ZERO, Decimal::ONE_HUNDRED);
        capped = capped.min(net * pct / Decimal::ONE_HUNDRED);
    }
    let mut units = floor_to_u32(capped);
    if let Some(max) = rule.max_listed {
        units = units.min(max);
    }
    units
}

/// One component of a kit / item group.
#[derive(Debug, Clone, PartialEq)]
pub struct KitComponent {
    pub sku: String,
    /// Units of the component in one kit; NetSuite allows fractions (e.g. 0.5 m).
    pub qty_per_kit: Decimal,
    /// The component's own sellable quantity.
    pub sellable: u32,
}

/// Kits sellable = min over components of floor(component sellable ÷ quantity per kit).
/// A kit without usable components sells 0: listing it as unlimited would oversell.
pub fn kit_sellable(components: &[KitComponent]) -> u32 {
    let mut best: Option<u32> = None;
    for c in components {
        if c.qty_per_kit <= Decimal::ZERO {
            // A non-positive quantity is bad data, not a free component; refuse to list.
            return 0;
        }
        let kits = floor_to_u32(Decimal::from(c.sellable) / c.qty_per_kit);
        best = Some(best.map_or(kits, |b| b.min(kits)));
    }
    best.unwrap_or(0)
}

/// Spreads a SKU's sellable units over its TikTok warehouses. The parts always add up to
/// `total`, so splitting can never list more than the shop may sell. `weights` gives each
/// warehouse's share (the NetSuite availability of the location it is mapped to); without any
/// positive weight everything goes to the first warehouse, the others list 0.
pub fn split_across_warehouses(
    total: u32,
    warehouses: &[String],
    weights: &BTreeMap<String, Decimal>,
) -> BTreeMap<String, u32> {
    let mut out: BTreeMap<String, u32> = warehouses.iter().map(|w| (w.clone(), 0)).collect();
    if out.is_empty() {
        return out;
    }
    let positive: Vec<(&String, Decimal)> = out
        .keys()
        .filter_map(|w| {
            weights
                .get(w)
                .filter(|x| **x > Decimal::ZERO)
                .map(|x| (w, *x))
        })
        .collect();
    let sum: Decimal = positive.iter().map(|(_, x)| *x).sum();
    if positive.is_empty() || sum <= Decimal::ZERO {
        let first = out.keys().next().cloned().unwrap_or_default();
        out.insert(first, total);
        return out;
    }
    let mut given = 0u32;
    let mut shares: Vec<(String, u32)> = Vec::new();
    for (w, x) in &positive {
        let share = floor_to_u32(Decimal::from(total) * *x / sum);
        given = given.saturating_add(share);
        shares.push(((*w).clone(), share));
    }
    // Rounding leftovers go to the best-stocked warehouse.
    let best = positive
        .iter()
        .max_by(|a, b| a.1.cmp(&b.1).then_with(|| b.0.cmp(a.0)))
        .map(|(w, _)| (*w).clone())
        .unwrap_or_default();
    for (w, share) in shares {
        out.insert(w, share);
    }
    if let Some(slot) = out.get_mut(&best) {
        *slot = slot.saturating_add(total.saturating_sub(given));
    }
    out
}

/// Sellable of a kit / item group listed as its own SKU: the kit's components bound it
/// (each component's own sellable, its in-flight units already out), then the kit SKU's own
/// in-flight units and buffer come off and the shop's allocation rule caps it.
pub fn kit_listing(
    components: &[KitComponent],
    kit_ledger_units: u32,
    safety_buffer: u32,
    rule: &AllocationRule,
) -> u32 {
    let kits = kit_sellable(components);
    let mut stock = StockByLocation::new();
    stock.set("kit", "all", Decimal::from(kits));
    sellable(
        "kit",
        &stock,
        &["all".to_string()],
        kit_ledger_units,
        safety_buffer,
        rule,
    )
}

/// A new quantity for some warehouses of one SKU, stamped with a per-SKU version that only
/// grows (e.g. a counter bumped on every recomputation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkuChange {
    pub product_id: String,
    pub sku_id: String,
    pub version: u64,
    /// warehouse_id → quantity.
    pub quantities: BTreeMap<String, u32>,
}

impl SkuChange {
    /// True when this value may be pushed after `last_pushed_version`: an older or equal
    /// version must never overwrite what TikTok already holds.
    pub fn newer_than(&self, last_pushed_version: Option<u64>) -> bool {
        last_pushed_version.is_none_or(|v| self.version > v)
    }
}

/// One Update Inventory call: one product, ≤100 SKUs, every warehouse of each SKU.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdateBatch {
    pub product_id: String,
    pub skus: Vec<SkuChange>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Coalesced {
    pub batches: Vec<UpdateBatch>,
    /// SKUs held back because their quantities do not name exactly the warehouses assigned
    /// to them; TikTok would refuse them (12019028 / 12052097).
    pub incomplete: Vec<String>,
    /// SKUs dropped because nothing newer than the last pushed version was pending.
    pub stale: Vec<String>,
}

/// Groups changes by product into update batches. Several changes to one SKU merge per
/// warehouse, the newest version winning, so a burst costs one entry per SKU. `assigned`
/// lists each SKU's warehouses; `last_pushed` the version TikTok already holds per SKU.
pub fn coalesce(
    changes: impl IntoIterator<Item = SkuChange>,
    assigned: &HashMap<String, Vec<String>>,
    last_pushed: &HashMap<String, u64>,
) -> Coalesced {
    let mut merged: BTreeMap<(String, String), SkuChange> = BTreeMap::new();
    for change in changes {
        let key = (change.product_id.clone(), change.sku_id.clone());
        match merged.get_mut(&key) {
            None => {
                merged.insert(key, change);
            }
            Some(acc) => {
                let newer = change.version >= acc.version;
                for (wh, qty) in change.quantities {
                    if newer || !acc.quantities.contains_key(&wh) {
                        acc.quantities.insert(wh, qty);
                    }
                }
                acc.version = acc.version.max(change.version);
            }
        }
    }

    let mut out = Coalesced::default();
    let mut by_product: BTreeMap<String, Vec<SkuChange>> = BTreeMap::new();
    for ((product_id, sku_id), mut change) in merged {
        if !change.newer_than(last_pushed.get(&sku_id).copied()) {
            out.stale.push(sku_id);
            continue;
        }
        let complete = assigned.get(&sku_id).is_some_and(|whs| {
            let want: HashSet<&String> = whs.iter().collect();
            let have: HashSet<&String> = change.quantities.keys().collect();
            !want.is_empty() && want == have
        });
        if !complete {
            out.incomplete.push(sku_id);
            continue;
        }
        for qty in change.quantities.values_mut() {
            *qty = (*qty).min(MAX_TIKTOK_QUANTITY);
        }
        by_product.entry(product_id).or_default().push(change);
    }
    for (product_id, skus) in by_product {
        for chunk in skus.chunks(MAX_SKUS_PER_UPDATE) {
            out.batches.push(UpdateBatch {
                product_id: product_id.clone(),
                skus: chunk.to_vec(),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    fn locs(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    fn stock() -> StockByLocation {
        let mut s = StockByLocation::new();
        s.set_units("A", "1", 10);
        s.set_units("A", "2", 5);
        s.set_units("A", "3", 100); // not mapped to the shop
        s
    }

    fn sell(ledger: u32, buffer: u32, rule: AllocationRule) -> u32 {
        sellable("A", &stock(), &locs(&["1", "2"]), ledger, buffer, &rule)
    }

    #[test]
    fn sums_only_mapped_locations() {
        assert_eq!(sell(0, 0, AllocationRule::NONE), 15);
        assert_eq!(
            sellable("A", &stock(), &locs(&["3"]), 0, 0, &AllocationRule::NONE),
            100
        );
        assert_eq!(
            sellable("A", &stock(), &locs(&[]), 0, 0, &AllocationRule::NONE),
            0
        );
    }

    #[test]
    fn duplicate_mapped_locations_count_once() {
        assert_eq!(
            sellable(
                "A",
                &stock(),
                &locs(&["1", "1"]),
                0,
                0,
                &AllocationRule::NONE
            ),
            10
        );
    }

    #[test]
    fn unknown_sku_sells_nothing() {
        assert_eq!(
            sellable("Z", &stock(), &locs(&["1"]), 0, 0, &AllocationRule::NONE),
            0
        );
    }

    #[test]
    fn decimal_quantities_floor() {
        let mut s = StockByLocation::new();
        s.set("D", "1", dec!(2.6));
        s.set("D", "2", dec!(0.6));
        assert_eq!(
            sellable("D", &s, &locs(&["1", "2"]), 0, 0, &AllocationRule::NONE),
            3
        );
        assert_eq!(s.get("D", "1"), Some(dec!(2.6)));
    }

    #[test]
    fn negative_location_reduces_the_pool() {
        let mut s = stock();
        s.set_units("A", "2", -4);
        assert_eq!(
            sellable("A", &s, &locs(&["1", "2"]), 0, 0, &AllocationRule::NONE),
            6
        );
    }

    #[test]
    fn ledger_and_buffer_subtract_and_floor_at_zero() {
        assert_eq!(sell(3, 0, AllocationRule::NONE), 12);
        assert_eq!(sell(0, 2, AllocationRule::NONE), 13);
        assert_eq!(sell(3, 2, AllocationRule::NONE), 10);
        assert_eq!(sell(15, 0, AllocationRule::NONE), 0);
        assert_eq!(sell(20, 5, AllocationRule::NONE), 0);
        assert_eq!(sell(u32::MAX, u32::MAX, AllocationRule::NONE), 0);
    }

    #[test]
    fn percentage_and_max_caps() {
        let half = AllocationRule {
            percent: Some(dec!(50)),
            max_listed: None,
        };
        assert_eq!(sell(0, 0, half), 7); // floor(15 × 0.5)
        assert_eq!(sell(5, 0, half), 5);
        let max = AllocationRule {
            percent: None,
            max_listed: Some(4),
        };
        assert_eq!(sell(0, 0, max), 4);
        assert_eq!(sell(13, 0, max), 2);
        let both = AllocationRule {
            percent: Some(dec!(80)),
            max_listed: Some(10),
        };
        assert_eq!(sell(0, 0, both), 10);
        assert_eq!(sell(5, 0, both), 8);
        assert_eq!(sell(15, 0, both), 0);
        let silly = AllocationRule {
            percent: Some(dec!(250)),
            max_listed: None,
        };
        assert_eq!(sell(0, 0, silly), 15);
        let none = AllocationRule {
            percent: Some(dec!(-5)),
            max_listed: None,
        };
        assert_eq!(sell(0, 0, none), 0);
        let zero_max = AllocationRule {
            percent: None,
            max_listed: Some(0),
        };
        assert_eq!(sell(0, 0, zero_max), 0);
    }

    #[test]
    fn ledger_holds_unpaid_and_on_hold_and_releases() {
        let mut l = InFlightLedger::new();
        l.apply_status("o1", "UNPAID", &[("A".into(), 2)]);
        l.apply_status("o2", "ON_HOLD", &[("A".into(), 3), ("B".into(), 1)]);
        l.apply_status(
            "o3",
            "AWAITING_SHIPMENT",
            &[("A".into(), 1), ("A".into(), 1)],
        );
        assert_eq!(l.units("A"), 7);
        assert_eq!(l.units("B"), 1);
        assert_eq!(l.units("C"), 0);
        assert_eq!(sell(l.units("A"), 0, AllocationRule::NONE), 8);

        // A repeated event replaces the order's lines instead of adding them again.
        l.apply_status("o1", "AWAITING_SHIPMENT", &[("A".into(), 2)]);
        assert_eq!(l.units("A"), 7);

        // Sales order created: released.
        l.release("o2");
        assert_eq!(l.units("A"), 4);
        assert_eq!(l.units("B"), 0);
        // Cancelled: released.
        l.apply_status("o1", "CANCELLED", &[("A".into(), 2)]);
        assert_eq!(l.units("A"), 2);
        assert_eq!(sell(l.units("A"), 0, AllocationRule::NONE), 13);

        // A late event for a settled order does not bring it back.
        assert!(!l.hold("o2", &[("A".into(), 3)]));
        l.apply_status("o1", "UNPAID", &[("A".into(), 2)]);
        assert_eq!(l.units("A"), 2);
        assert!(l.is_held("o3"));
        assert!(!l.is_held("o1"));
    }

    fn comp(sellable: u32, qty: Decimal) -> KitComponent {
        KitComponent {
            sku: "c".into(),
            qty_per_kit: qty,
            sellable,
        }
    }

    #[test]
    fn kits_take_the_scarcest_component() {
        assert_eq!(kit_sellable(&[comp(10, dec!(2)), comp(7, dec!(1))]), 5);
        assert_eq!(kit_sellable(&[comp(10, dec!(3)), comp(7, dec!(1))]), 3);
        assert_eq!(kit_sellable(&[comp(1, dec!(2))]), 0);
        assert_eq!(kit_sellable(&[comp(3, dec!(0.5))]), 6);
        assert_eq!(kit_sellable(&[comp(0, dec!(1)), comp(100, dec!(1))]), 0);
        assert_eq!(kit_sellable(&[]), 0);
        assert_eq!(kit_sellable(&[comp(10, dec!(0))]), 0);
        assert_eq!(kit_sellable(&[comp(10, dec!(-1))]), 0);
    }

    #[test]
    fn kit_from_component_sellables() {
        let mut s = StockByLocation::new();
        s.set_units("SHIRT", "1", 9);
        s.set_units("CAP", "1", 20);
        let l = locs(&["1"]);
        let shirt = sellable("SHIRT", &s, &l, 1, 0, &AllocationRule::NONE);
        let cap = sellable("CAP", &s, &l, 0, 2, &AllocationRule::NONE);
        let kit = kit_sellable(&[
            KitComponent {
                sku: "SHIRT".into(),
                qty_per_kit: dec!(2),
                sellable: shirt,
            },
            KitComponent {
                sku: "CAP".into(),
                qty_per_kit: dec!(1),
                sellable: cap,
            },
        ]);
        assert_eq!(kit, 4);
    }

    fn change(product: &str, sku: &str, version: u64, q: &[(&str, u32)]) -> SkuChange {
        SkuChange {
            product_id: product.into(),
            sku_id: sku.into(),
            version,
            quantities: q.iter().map(|(w, n)| (w.to_string(), *n)).collect(),
        }
    }

    fn assign(pairs: &[(&str, &[&str])]) -> HashMap<String, Vec<String>> {
        pairs
            .iter()
            .map(|(s, w)| (s.to_string(), locs(w)))
            .collect()
    }

    #[test]
    fn newer_than_orders_versions() {
        let c = change("p", "s", 5, &[]);
        assert!(c.newer_than(None));
        assert!(c.newer_than(Some(4)));
        assert!(!c.newer_than(Some(5)));
        assert!(!c.newer_than(Some(6)));
    }

    #[test]
    fn a_burst_on_one_sku_becomes_one_entry_with_the_newest_value() {
        let assigned = assign(&[("s1", &["w1", "w2"])]);
        let burst: Vec<SkuChange> = (1..=500u64)
            .map(|v| change("p1", "s1", v, &[("w1", 1000 - v as u32), ("w2", 7)]))
            .rev() // arrival order must not matter
            .collect();
        let out = coalesce(burst, &assigned, &HashMap::new());
        assert_eq!(out.batches.len(), 1);
        let sku = &out.batches[0].skus[0];
        assert_eq!(sku.version, 500);
        assert_eq!(sku.quantities["w1"], 500);
        assert_eq!(sku.quantities["w2"], 7);
    }

    #[test]
    fn partial_changes_merge_per_warehouse() {
        let assigned = assign(&[("s1", &["w1", "w2"])]);
        let out = coalesce(
            vec![
                change("p1", "s1", 1, &[("w1", 5), ("w2", 3)]),
                change("p1", "s1", 2, &[("w1", 4)]),
                change("p1", "s1", 0, &[("w1", 99)]),
            ],
            &assigned,
            &HashMap::new(),
        );
        let sku = &out.batches[0].skus[0];
        assert_eq!(sku.version, 2);
        assert_eq!(sku.quantities["w1"], 4);
        assert_eq!(sku.quantities["w2"], 3);
    }

    #[test]
    fn batches_hold_one_product_and_at_most_100_skus() {
        let mut changes = Vec::new();
        let mut assigned = HashMap::new();
        for i in 0..250 {
            let sku = format!("a{i}");
            assigned.insert(sku.clone(), locs(&["w"]));
            changes.push(change("pA", &sku, 1, &[("w", i)]));
        }
        for i in 0..3 {
            let sku = format!("b{i}");
            assigned.insert(sku.clone(), locs(&["w"]));
            changes.push(change("pB", &sku, 1, &[("w", i)]));
        }
        let out = coalesce(changes, &assigned, &HashMap::new());
        let sizes: Vec<(String, usize)> = out
            .batches
            .iter()
            .map(|b| (b.product_id.clone(), b.skus.len()))
            .collect();
        assert_eq!(
            sizes,
            vec![
                ("pA".into(), 100),
                ("pA".into(), 100),
                ("pA".into(), 50),
                ("pB".into(), 3)
            ]
        );
        assert!(out.incomplete.is_empty() && out.stale.is_empty());
    }

    #[test]
    fn every_assigned_warehouse_or_none() {
        let assigned = assign(&[("s1", &["w1", "w2"]), ("s2", &["w1"])]);
        let out = coalesce(
            vec![
                change("p", "s1", 1, &[("w1", 5)]),
                change("p", "s2", 1, &[("w1", 5), ("w9", 1)]),
                change("p", "s3", 1, &[("w1", 5)]),
            ],
            &assigned,
            &HashMap::new(),
        );
        assert!(out.batches.is_empty());
        assert_eq!(out.incomplete, vec!["s1", "s2", "s3"]);
    }

    #[test]
    fn older_or_equal_versions_are_never_pushed() {
        let assigned = assign(&[("s1", &["w"]), ("s2", &["w"])]);
        let pushed: HashMap<String, u64> = [("s1".to_string(), 7), ("s2".to_string(), 7)].into();
        let out = coalesce(
            vec![
                change("p", "s1", 7, &[("w", 1)]),
                change("p", "s2", 8, &[("w", 2)]),
            ],
            &assigned,
            &pushed,
        );
        assert_eq!(out.stale, vec!["s1"]);
        assert_eq!(out.batches.len(), 1);
        assert_eq!(out.batches[0].skus[0].sku_id, "s2");
    }

    fn weights(pairs: &[(&str, i64)]) -> BTreeMap<String, Decimal> {
        pairs
            .iter()
            .map(|(w, x)| (w.to_string(), Decimal::from(*x)))
            .collect()
    }

    #[test]
    fn splits_add_up_to_the_total_and_follow_the_weights() {
        let whs = locs(&["w1", "w2", "w3"]);
        let out = split_across_warehouses(10, &whs, &weights(&[("w1", 30), ("w2", 10)]));
        assert_eq!(out["w1"], 8); // 7.5 floored + the leftover
        assert_eq!(out["w2"], 2);
        assert_eq!(out["w3"], 0, "unmapped warehouse lists nothing");
        assert_eq!(out.values().sum::<u32>(), 10);
        for total in [0u32, 1, 7, 99, 1000] {
            let out =
                split_across_warehouses(total, &whs, &weights(&[("w1", 3), ("w2", 3), ("w3", 1)]));
            assert_eq!(out.values().sum::<u32>(), total, "total {total}");
            assert_eq!(out.len(), 3, "every warehouse is listed");
        }
    }

    #[test]
    fn without_weights_the_first_warehouse_takes_all() {
        let whs = locs(&["b", "a"]);
        let out = split_across_warehouses(5, &whs, &weights(&[("a", 0), ("b", -3)]));
        assert_eq!(out["a"], 5);
        assert_eq!(out["b"], 0);
        assert!(split_across_warehouses(5, &[], &BTreeMap::new()).is_empty());
    }

    #[test]
    fn kit_listing_takes_components_then_its_own_ledger_buffer_and_caps() {
        let comps = [comp(10, dec!(2)), comp(7, dec!(1))]; // 5 kits
        assert_eq!(kit_listing(&comps, 0, 0, &AllocationRule::NONE), 5);
        assert_eq!(kit_listing(&comps, 2, 0, &AllocationRule::NONE), 3);
        assert_eq!(kit_listing(&comps, 2, 1, &AllocationRule::NONE), 2);
        assert_eq!(
            kit_listing(&comps, 9, 0, &AllocationRule::NONE),
            0,
            "floored"
        );
        let cap = AllocationRule {
            percent: None,
            max_listed: Some(1),
        };
        assert_eq!(kit_listing(&comps, 0, 0, &cap), 1);
        assert_eq!(kit_listing(&[], 0, 0, &AllocationRule::NONE), 0);
    }

    #[test]
    fn ledger_release_is_idempotent_and_unknown_orders_release_nothing() {
        let mut l = InFlightLedger::new();
        l.hold("o1", &[("A".into(), 4)]);
        l.release("o1");
        l.release("o1");
        l.release("never-seen");
        assert_eq!(l.units("A"), 0);
        // An order whose lines change (partial cancel) holds only what is left.
        l.hold("o2", &[("A".into(), 3), ("B".into(), 2)]);
        l.hold("o2", &[("A".into(), 1)]);
        assert_eq!((l.units("A"), l.units("B")), (1, 0));
    }

    #[test]
    fn quantities_clamp_to_tiktoks_range() {
        let assigned = assign(&[("s1", &["w"])]);
        let out = coalesce(
            vec![change("p", "s1", 1, &[("w", 1_000_000)])],
            &assigned,
            &HashMap::new(),
        );
        assert_eq!(out.batches[0].skus[0].quantities["w"], MAX_TIKTOK_QUANTITY);
    }
}

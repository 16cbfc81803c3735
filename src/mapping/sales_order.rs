//! A TikTok order as a NetSuite sales order: per-unit line items grouped into quantities,
//! discounts, shipping and tax on configured items, and a total that must equal TikTok's.

use super::address::{shipping_address, text};
use super::charges::{self, Reading};
use super::date::civil_date;
use super::error::MappingError;
use crate::config::MappingConfig;
use crate::netsuite::records::{RecordRef, SalesOrder, SalesOrderLine, Sublist};
use crate::tiktok::models::{FulfillmentType, LineItem, Order};
use rust_decimal::Decimal;
use std::collections::{BTreeSet, HashMap};

/// `tiktok-order:<order id>`, the key the sales order is upserted by.
pub fn sales_order_external_id(order_id: &str) -> String {
    format!("tiktok-order:{order_id}")
}

/// Distinct seller SKUs in first-seen order, for resolving to NetSuite item ids. A line
/// without a seller SKU is an error rather than dropped: dropping it would under-bill.
pub fn skus(order: &Order) -> Result<Vec<String>, MappingError> {
    let mut out: Vec<String> = Vec::new();
    for li in &order.line_items {
        let sku = seller_sku(li)?;
        let comps = li.combined_listing_skus.iter().map(|c| c.seller_sku.trim());
        for s in std::iter::once(sku).chain(comps.filter(|s| !s.is_empty())) {
            if !out.iter().any(|o| o == s) {
                out.push(s.to_string());
            }
        }
    }
    Ok(out)
}

/// Maps an importable order to the sales order body. `items` maps seller SKU to NetSuite
/// item internal id; `customer_id` is the NetSuite customer internal id.
///
/// Errors that retrying cannot fix are checked before `UnknownSkus`, so an order never
/// parks waiting for an item only to fail on its totals once the item exists.
pub fn sales_order(
    order: &Order,
    items: &HashMap<String, String>,
    customer_id: &str,
    cfg: &MappingConfig,
) -> Result<SalesOrder, MappingError> {
    map_order(order, items, customer_id, cfg).map(|m| m.sales_order)
}

/// A sales order and what its mapping decided that the lines alone do not say.
#[derive(Debug, Clone, PartialEq)]
pub struct Mapped {
    pub sales_order: SalesOrder,
    /// Which reading of `total_amount` applied (`charges` module doc).
    pub reading: Reading,
    /// For the order's history: the reading, per-line vs order-level differences, rounding.
    pub notes: Vec<String>,
}

/// `sales_order`, with the reading and notes for the history.
pub fn map_order(
    order: &Order,
    items: &HashMap<String, String>,
    customer_id: &str,
    cfg: &MappingConfig,
) -> Result<Mapped, MappingError> {
    if !order.status.is_importable() {
        return Err(MappingError::NotImportable {
            status: order.status.as_str().to_string(),
        });
    }
    // A combined listing (virtual bundle) whose own SKU has no NetSuite item (a kit) ships
    // as its components; one with a kit item is a line like any other.
    let expands = |li: &LineItem| -> Result<bool, MappingError> {
        Ok(!li.combined_listing_skus.is_empty() && !items.contains_key(seller_sku(li)?))
    };
    let mut plain = Vec::new();
    let mut bundles = Vec::new();
    for li in &order.line_items {
        if expands(li)? {
            bundles.push(li);
        } else {
            plain.push(li);
        }
    }
    let groups = group_units(plain)?;
    let components = bundle_components(&bundles);
    let expected = order
        .payment
        .total_amount
        .ok_or(MappingError::MissingField("payment.total_amount"))?;
    let location = location(order, cfg)?;

    let products = groups.iter().map(UnitGroup::amount).sum::<Decimal>()
        + components.iter().map(|c| c.amount).sum::<Decimal>();
    let charges = charges::charges(order, products, expected, cfg).map_err(|u| {
        MappingError::TotalsMismatch {
            expected: u.expected,
            computed: u.computed,
            computed_without_fees: u.computed_without_fees,
        }
    })?;
    let currency = currency(order, cfg)?;
    let adjustments: Vec<SalesOrderLine> = charges
        .lines
        .iter()
        .map(|c| SalesOrderLine {
            item: RecordRef::new(c.item_id.clone()),
            quantity: Decimal::ONE,
            rate: c.amount,
            amount: c.amount,
            description: Some(c.description.clone()),
            location: location.clone(),
            tiktok_sku_id: None,
        })
        .collect();

    let mut unknown = BTreeSet::new();
    let mut lines = Vec::with_capacity(groups.len() + adjustments.len());
    for g in &groups {
        match items.get(g.seller_sku) {
            Some(item_id) => lines.push(SalesOrderLine {
                item: RecordRef::new(item_id.clone()),
                quantity: g.quantity(),
                rate: g.price,
                amount: g.amount(),
                description: description(g.first),
                location: location.clone(),
                tiktok_sku_id: Some(g.sku_id.to_string()),
            }),
            None => {
                unknown.insert(g.seller_sku);
            }
        }
    }
    for c in &components {
        match items.get(c.seller_sku) {
            Some(item_id) => lines.push(SalesOrderLine {
                item: RecordRef::new(item_id.clone()),
                quantity: c.quantity,
                // The bundle's price rides on its first component; the others ship at 0.
                rate: if c.quantity.is_zero() {
                    c.amount
                } else {
                    (c.amount / c.quantity).round_dp(4)
                },
                amount: c.amount,
                description: Some(format!("{} (bundle {})", c.seller_sku, c.bundle_sku)),
                location: location.clone(),
                tiktok_sku_id: Some(c.sku_id.to_string()),
            }),
            None => {
                unknown.insert(c.seller_sku);
            }
        }
    }
    if !unknown.is_empty() {
        return Err(MappingError::UnknownSkus {
            skus: unknown.into_iter().map(str::to_string).collect(),
        });
    }
    lines.extend(adjustments);

    let memo = memo(order, &charges);
    let so = SalesOrder {
        external_id: sales_order_external_id(&order.id),
        entity: RecordRef::new(customer_id),
        subsidiary: cfg.subsidiary_id.clone().map(RecordRef::new),
        location,
        // `CURRENCY_MAP` unset: NetSuite takes the customer's currency.
        currency,
        order_status: RecordRef::new(cfg.order_status.clone()),
        other_ref_num: order.id.clone(),
        tiktok_order_id: order.id.clone(),
        tran_date: order.paid_time.or(order.create_time).map(civil_date),
        shipping_address: shipping_address(order),
        memo: Some(memo),
        item: Sublist { items: lines },
    };
    Ok(Mapped {
        sales_order: so,
        reading: charges.reading,
        notes: charges.notes,
    })
}

/// The order's currency as a NetSuite currency id from `CURRENCY_MAP`; none when the map is
/// empty. A currency the map does not name is an error rather than a guess.
fn currency(order: &Order, cfg: &MappingConfig) -> Result<Option<RecordRef>, MappingError> {
    let map = &cfg.charges.currency_map;
    if map.is_empty() {
        return Ok(None);
    }
    let code = order.payment.currency.trim().to_ascii_uppercase();
    map.get(&code)
        .map(|id| Some(RecordRef::new(id.clone())))
        .ok_or(MappingError::UnmappedCurrency { currency: code })
}

/// `TikTok Shop order <id>`, then what the lines do not show: a replaced order, fees
/// outside `total_amount`, tax included in prices.
fn memo(order: &Order, charges: &charges::Charges) -> String {
    let mut memo = format!("TikTok Shop order {}", order.id);
    if let Some(orig) = order.replaced_order_id.as_deref().filter(|s| !s.is_empty()) {
        memo.push_str(&format!("; replaces order {orig}"));
    }
    if !charges.recorded_fees.is_empty() {
        let fees: Vec<String> = charges
            .recorded_fees
            .iter()
            .map(|(f, a)| format!("{f} {a}"))
            .collect();
        memo.push_str(&format!(
            "; paid outside total_amount, not billed: {}",
            fees.join(", ")
        ));
    }
    if let Some(tax) = charges.tax_included {
        memo.push_str(&format!("; tax included in prices: {tax}"));
    }
    memo
}

/// Units of one SKU at one price. The key also carries `sku_id` so that every NetSuite line
/// ties back to exactly one TikTok SKU for shipping and cancels, even if two TikTok SKUs
/// share a seller SKU.
struct UnitGroup<'a> {
    seller_sku: &'a str,
    sku_id: &'a str,
    price: Decimal,
    count: u32,
    first: &'a LineItem,
}

impl UnitGroup<'_> {
    fn quantity(&self) -> Decimal {
        Decimal::from(self.count)
    }

    fn amount(&self) -> Decimal {
        self.price * self.quantity()
    }
}

/// One component of the bundles of one TikTok SKU: units and the amount it carries.
struct BundleComponent<'a> {
    seller_sku: &'a str,
    bundle_sku: &'a str,
    /// The bundle's TikTok `sku_id`, so shipping ties the line back to TikTok's line items.
    sku_id: &'a str,
    quantity: Decimal,
    amount: Decimal,
}

/// Bundles expanded into their components (`sku_count` each per bundle unit), the bundle's
/// price on its first component, merged per bundle SKU and component.
fn bundle_components<'a>(bundles: &[&'a LineItem]) -> Vec<BundleComponent<'a>> {
    let mut out: Vec<BundleComponent<'a>> = Vec::new();
    for li in bundles {
        for (i, c) in li.combined_listing_skus.iter().enumerate() {
            let amount = if i == 0 {
                li.original_price
            } else {
                Decimal::ZERO
            };
            let quantity = Decimal::from(c.sku_count.max(1));
            match out
                .iter_mut()
                .find(|o| o.sku_id == li.sku_id && o.seller_sku == c.seller_sku.trim())
            {
                Some(o) => {
                    o.quantity += quantity;
                    o.amount += amount;
                }
                None => out.push(BundleComponent {
                    seller_sku: c.seller_sku.trim(),
                    bundle_sku: li.seller_sku.trim(),
                    sku_id: &li.sku_id,
                    quantity,
                    amount,
                }),
            }
        }
    }
    out
}

/// Seller SKUs the order needs that `items` lacks: a bundle needs its own SKU (a kit) or
/// every component; everything else its own SKU. Sorted and deduplicated.
pub fn missing_skus(order: &Order, items: &HashMap<String, String>) -> Vec<String> {
    let mut missing = BTreeSet::new();
    for li in &order.line_items {
        let sku = li.seller_sku.trim();
        if items.contains_key(sku) {
            continue;
        }
        let comps: Vec<&str> = li
            .combined_listing_skus
            .iter()
            .map(|c| c.seller_sku.trim())
            .filter(|s| !s.is_empty())
            .collect();
        if comps.is_empty() {
            missing.insert(sku.to_string());
        } else {
            missing.extend(
                comps
                    .into_iter()
                    .filter(|c| !items.contains_key(*c))
                    .map(str::to_string),
            );
        }
    }
    missing.into_iter().collect()
}

fn group_units(line_items: Vec<&LineItem>) -> Result<Vec<UnitGroup<'_>>, MappingError> {
    // Linear scan keeps first-seen order; orders hold a handful of units.
    let mut groups: Vec<UnitGroup<'_>> = Vec::new();
    for li in line_items {
        let sku = seller_sku(li)?;
        match groups
            .iter_mut()
            .find(|g| g.seller_sku == sku && g.sku_id == li.sku_id && g.price == li.original_price)
        {
            Some(g) => g.count += 1,
            None => groups.push(UnitGroup {
                seller_sku: sku,
                sku_id: &li.sku_id,
                price: li.original_price,
                count: 1,
                first: li,
            }),
        }
    }
    Ok(groups)
}

fn seller_sku(li: &LineItem) -> Result<&str, MappingError> {
    let sku = li.seller_sku.trim();
    if sku.is_empty() {
        return Err(MappingError::MissingSku {
            line_item_id: li.id.clone(),
        });
    }
    Ok(sku)
}

fn description(li: &LineItem) -> Option<String> {
    match (text(&li.product_name), text(&li.sku_name)) {
        (Some(p), Some(s)) => Some(format!("{p} - {s}")),
        (p, s) => p.or(s),
    }
}

/// FBT orders ship from TikTok's warehouse, so they must land on the FBT location; others
/// use the warehouse map, then the default.
fn location(order: &Order, cfg: &MappingConfig) -> Result<Option<RecordRef>, MappingError> {
    if order.fulfillment_type == Some(FulfillmentType::ByTikTok) {
        return cfg
            .fbt_location_id
            .clone()
            .map(|id| Some(RecordRef::new(id)))
            .ok_or(MappingError::MissingFbtLocation);
    }
    Ok(order
        .warehouse_id
        .as_ref()
        .and_then(|w| cfg.warehouse_locations.get(w))
        .or(cfg.default_location_id.as_ref())
        .map(|id| RecordRef::new(id.clone())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mapping::fixtures::{cfg, items, order, order_json, plain_payment, unit};
    use crate::netsuite::records::Address;
    use rust_decimal_macros::dec;
    use serde_json::{json, Value};

    fn map(o: &Order) -> Result<SalesOrder, MappingError> {
        sales_order(o, &items(), "4242", &cfg())
    }

    /// (item id, quantity, rate, amount) per line, for compact assertions.
    fn lines(so: &SalesOrder) -> Vec<(String, Decimal, Decimal, Decimal)> {
        so.item
            .items
            .iter()
            .map(|l| (l.item.id.clone(), l.quantity, l.rate, l.amount))
            .collect()
    }

    fn total(so: &SalesOrder) -> Decimal {
        so.item.items.iter().map(|l| l.amount).sum()
    }

    fn discounted(id: &str, sku: &str, price: &str, seller: &str, platform: &str) -> Value {
        let mut u = unit(id, sku, price);
        u["seller_discount"] = json!(seller);
        u["platform_discount"] = json!(platform);
        u
    }

    #[test]
    fn units_of_one_sku_become_one_line_with_a_quantity() {
        let o = order(order_json(
            vec![
                unit("1", "A", "19.99"),
                unit("2", "B", "5.00"),
                unit("3", "A", "19.99"),
                unit("4", "A", "19.99"),
            ],
            plain_payment("64.97"),
        ));
        let so = map(&o).expect("maps");
        assert_eq!(
            lines(&so),
            vec![
                ("100".into(), dec!(3), dec!(19.99), dec!(59.97)),
                ("101".into(), dec!(1), dec!(5.00), dec!(5.00)),
            ]
        );
        let a = &so.item.items[0];
        assert_eq!(a.tiktok_sku_id.as_deref(), Some("sku-A"));
        assert_eq!(a.description.as_deref(), Some("Product A - Default"));
    }

    #[test]
    fn same_sku_at_two_prices_stays_two_lines() {
        let o = order(order_json(
            vec![
                unit("1", "A", "19.99"),
                unit("2", "A", "17.50"),
                unit("3", "A", "19.99"),
            ],
            plain_payment("57.48"),
        ));
        assert_eq!(
            lines(&map(&o).expect("maps")),
            vec![
                ("100".into(), dec!(2), dec!(19.99), dec!(39.98)),
                ("100".into(), dec!(1), dec!(17.50), dec!(17.50)),
            ]
        );
    }

    #[test]
    fn two_tiktok_skus_sharing_a_seller_sku_stay_separate_lines() {
        let mut other = unit("2", "A", "19.99");
        other["sku_id"] = json!("sku-A-red");
        let o = order(order_json(
            vec![unit("1", "A", "19.99"), other],
            plain_payment("39.98"),
        ));
        let so = map(&o).expect("maps");
        let ids: Vec<_> = so
            .item
            .items
            .iter()
            .map(|l| (l.item.id.as_str(), l.tiktok_sku_id.as_deref()))
            .collect();
        assert_eq!(
            ids,
            vec![("100", Some("sku-A")), ("100", Some("sku-A-red"))]
        );
    }

    #[test]
    fn gifts_ship_at_their_price_with_their_discount() {
        let mut gift = discounted("2", "GIFT", "5.00", "5.00", "0");
        gift["is_gift"] = json!(true);
        let mut payment = plain_payment("10.00");
        payment["original_total_product_price"] = json!("15.00");
        payment["seller_discount"] = json!("5.00");
        let o = order(order_json(vec![unit("1", "A", "10.00"), gift], payment));
        assert_eq!(
            lines(&map(&o).expect("maps")),
            vec![
                ("100".into(), dec!(1), dec!(10.00), dec!(10.00)),
                ("103".into(), dec!(1), dec!(5.00), dec!(5.00)),
                ("seller-discount".into(), dec!(1), dec!(-5.00), dec!(-5.00)),
            ]
        );
    }

    #[test]
    fn discounts_keep_revenue_at_full_price_and_total_at_what_the_buyer_paid() {
        // original 50.00; seller discount 2×2.00 + 1.00 = 5.00; platform 2×3.00 = 6.00.
        let payment = json!({
            "currency": "USD",
            "original_total_product_price": "50.00",
            "seller_discount": "5.00",
            "platform_discount": "6.00",
            "sub_total": "39.00",
            "shipping_fee": "0.00",
            "original_shipping_fee": "0.00",
            "tax": "0.00",
            "total_amount": "39.00"
        });
        let o = order(order_json(
            vec![
                discounted("1", "A", "20.00", "2.00", "3.00"),
                discounted("2", "A", "20.00", "2.00", "3.00"),
                discounted("3", "B", "10.00", "1.00", "0.00"),
            ],
            payment,
        ));
        let so = map(&o).expect("maps");
        assert_eq!(
            lines(&so),
            vec![
                ("100".into(), dec!(2), dec!(20.00), dec!(40.00)),
                ("101".into(), dec!(1), dec!(10.00), dec!(10.00)),
                ("seller-discount".into(), dec!(1), dec!(-5.00), dec!(-5.00)),
                (
                    "platform-discount".into(),
                    dec!(1),
                    dec!(-6.00),
                    dec!(-6.00)
                ),
            ]
        );
        assert_eq!(total(&so), dec!(39.00));
    }

    fn shipping_order(with_original: bool) -> Order {
        let mut payment = json!({
            "currency": "USD",
            "original_total_product_price": "10.00",
            "sub_total": "10.00",
            "shipping_fee": "2.99",
            "shipping_fee_seller_discount": "2.00",
            "shipping_fee_platform_discount": "3.00",
            "total_amount": "12.99"
        });
        if with_original {
            payment["original_shipping_fee"] = json!("7.99");
        }
        order(order_json(vec![unit("1", "A", "10.00")], payment))
    }

    #[test]
    fn shipping_lands_at_full_price_with_its_discounts_split_by_payer() {
        for with_original in [true, false] {
            let so = map(&shipping_order(with_original)).expect("maps");
            assert_eq!(
                lines(&so),
                vec![
                    ("100".into(), dec!(1), dec!(10.00), dec!(10.00)),
                    ("seller-discount".into(), dec!(1), dec!(-2.00), dec!(-2.00)),
                    (
                        "platform-discount".into(),
                        dec!(1),
                        dec!(-3.00),
                        dec!(-3.00)
                    ),
                    ("shipping".into(), dec!(1), dec!(7.99), dec!(7.99)),
                ],
                "original_shipping_fee present: {with_original}"
            );
            assert_eq!(total(&so), dec!(12.99));
        }
    }

    fn taxed_order(with_tax_field: bool) -> Order {
        let taxed = |id| {
            let mut u = unit(id, "A", "19.99");
            u["item_tax"] =
                json!([{"tax_type": "SALES_TAX", "tax_amount": "1.45", "tax_rate": "0.0725"}]);
            u
        };
        let mut payment = json!({
            "currency": "USD",
            "original_total_product_price": "39.98",
            "sub_total": "39.98",
            "original_shipping_fee": "5.00",
            "shipping_fee": "5.00",
            "shipping_fee_tax": "0.36",
            "retail_delivery_fee": "0.27",
            "total_amount": "48.51"
        });
        if with_tax_field {
            payment["tax"] = json!("3.26");
            payment["product_tax"] = json!("2.90");
        }
        order(order_json(vec![taxed("1"), taxed("2")], payment))
    }

    #[test]
    fn tax_line_carries_tax_plus_retail_delivery_fee() {
        // tax 2×1.45 + 0.36 = 3.26, plus the 0.27 retail delivery fee; the second order
        // has no payment.tax, so the per-unit item taxes and shipping tax are summed.
        for with_tax_field in [true, false] {
            let so = map(&taxed_order(with_tax_field)).expect("maps");
            assert_eq!(
                lines(&so),
                vec![
                    ("100".into(), dec!(2), dec!(19.99), dec!(39.98)),
                    ("shipping".into(), dec!(1), dec!(5.00), dec!(5.00)),
                    ("tax".into(), dec!(1), dec!(3.53), dec!(3.53)),
                ],
                "payment.tax present: {with_tax_field}"
            );
            assert_eq!(total(&so), dec!(48.51));
        }
    }

    #[test]
    fn zero_adjustments_are_omitted() {
        let o = order(order_json(
            vec![unit("1", "A", "10.00")],
            plain_payment("10.00"),
        ));
        assert_eq!(map(&o).expect("maps").item.items.len(), 1);
    }

    #[test]
    fn a_one_cent_difference_is_a_totals_mismatch() {
        let o = order(order_json(
            vec![unit("1", "A", "10.00")],
            plain_payment("10.01"),
        ));
        assert_eq!(
            map(&o),
            Err(MappingError::TotalsMismatch {
                expected: dec!(10.01),
                computed: dec!(10.00),
                computed_without_fees: None,
            })
        );
    }

    #[test]
    fn missing_total_amount_is_a_missing_field() {
        let mut v = order_json(vec![unit("1", "A", "10.00")], plain_payment("10.00"));
        v["payment"]
            .as_object_mut()
            .map(|p| p.remove("total_amount"));
        assert_eq!(
            map(&order(v)),
            Err(MappingError::MissingField("payment.total_amount"))
        );
    }

    #[test]
    fn unknown_skus_are_all_listed_sorted_and_deduplicated() {
        let o = order(order_json(
            vec![
                unit("1", "ZED", "1.00"),
                unit("2", "A", "1.00"),
                unit("3", "MID", "1.00"),
                unit("4", "ZED", "1.00"),
            ],
            plain_payment("4.00"),
        ));
        assert_eq!(
            map(&o),
            Err(MappingError::UnknownSkus {
                skus: vec!["MID".into(), "ZED".into()],
            })
        );
    }

    #[test]
    fn a_totals_mismatch_is_reported_before_unknown_skus() {
        let o = order(order_json(
            vec![unit("1", "ZED", "1.00")],
            plain_payment("2.00"),
        ));
        assert!(matches!(map(&o), Err(MappingError::TotalsMismatch { .. })));
    }

    #[test]
    fn skus_are_distinct_in_first_seen_order() {
        let o = order(order_json(
            vec![
                unit("1", "B", "1.00"),
                unit("2", "A", "1.00"),
                unit("3", "B", "1.00"),
                unit("4", "C", "1.00"),
            ],
            plain_payment("4.00"),
        ));
        assert_eq!(skus(&o), Ok(vec!["B".into(), "A".into(), "C".into()]));
    }

    #[test]
    fn a_unit_without_seller_sku_is_an_error_not_dropped() {
        let o = order(order_json(
            vec![unit("1", "A", "1.00"), unit("77", "", "1.00")],
            plain_payment("2.00"),
        ));
        let want = MappingError::MissingSku {
            line_item_id: "77".into(),
        };
        assert_eq!(skus(&o), Err(want.clone()));
        assert_eq!(map(&o), Err(want));
    }

    #[test]
    fn unpaid_on_hold_cancelled_and_unknown_statuses_are_not_importable() {
        // Topic 1's "CANCEL" spelling is reported as the API's "CANCELLED".
        for (raw, status) in [
            ("UNPAID", "UNPAID"),
            ("ON_HOLD", "ON_HOLD"),
            ("CANCELLED", "CANCELLED"),
            ("CANCEL", "CANCELLED"),
            ("SOMETHING_NEW", "SOMETHING_NEW"),
        ] {
            let mut v = order_json(vec![unit("1", "A", "10.00")], plain_payment("10.00"));
            v["status"] = json!(raw);
            assert_eq!(
                map(&order(v)),
                Err(MappingError::NotImportable {
                    status: status.into()
                })
            );
        }
    }

    fn fbt_order() -> Order {
        let mut v = order_json(vec![unit("1", "A", "10.00")], plain_payment("10.00"));
        v["fulfillment_type"] = json!("FULFILLMENT_BY_TIKTOK");
        order(v)
    }

    #[test]
    fn fbt_orders_go_to_the_fbt_location() {
        let cfg = MappingConfig {
            fbt_location_id: Some("77".into()),
            warehouse_locations: [("7282736480092571435".to_string(), "5".to_string())].into(),
            ..cfg()
        };
        let so = sales_order(&fbt_order(), &items(), "4242", &cfg).expect("maps");
        assert_eq!(so.location, Some(RecordRef::new("77")));
        assert_eq!(so.item.items[0].location, Some(RecordRef::new("77")));
    }

    #[test]
    fn fbt_order_without_fbt_location_is_an_error() {
        assert_eq!(map(&fbt_order()), Err(MappingError::MissingFbtLocation));
    }

    #[test]
    fn warehouse_map_then_default_then_no_location() {
        let o = order(order_json(
            vec![unit("1", "A", "10.00")],
            plain_payment("10.00"),
        ));
        let mapped = MappingConfig {
            warehouse_locations: [("7282736480092571435".to_string(), "5".to_string())].into(),
            ..cfg()
        };
        let loc = |cfg: &MappingConfig| {
            sales_order(&o, &items(), "4242", cfg)
                .expect("maps")
                .location
                .map(|r| r.id)
        };
        assert_eq!(loc(&mapped).as_deref(), Some("5"));
        assert_eq!(loc(&cfg()).as_deref(), Some("9"));
        let none = MappingConfig {
            default_location_id: None,
            ..cfg()
        };
        assert_eq!(loc(&none), None);
    }

    #[test]
    fn header_carries_ids_customer_config_and_paid_date() {
        let mut v = order_json(vec![unit("1", "A", "10.00")], plain_payment("10.00"));
        v["recipient_address"] = json!({"name": "Jane Doe", "region_code": "US"});
        let so = map(&order(v)).expect("maps");
        assert_eq!(so.external_id, "tiktok-order:576486316948490001");
        assert_eq!(so.other_ref_num, "576486316948490001");
        assert_eq!(so.tiktok_order_id, "576486316948490001");
        assert_eq!(so.entity, RecordRef::new("4242"));
        assert_eq!(so.subsidiary, Some(RecordRef::new("1")));
        assert_eq!(so.order_status, RecordRef::new("B"));
        assert_eq!(so.currency, None);
        assert_eq!(
            so.memo.as_deref(),
            Some("TikTok Shop order 576486316948490001")
        );
        // paid_time 1709164800 is 2024-02-29; create_time is the evening before.
        assert_eq!(so.tran_date.as_deref(), Some("2024-02-29"));
        assert_eq!(
            so.shipping_address,
            Some(Address {
                addressee: Some("Jane Doe".into()),
                country: Some(RecordRef::new("US")),
                ..Address::default()
            })
        );
    }

    #[test]
    fn tran_date_falls_back_to_create_time_then_none() {
        let mut v = order_json(vec![unit("1", "A", "10.00")], plain_payment("10.00"));
        v.as_object_mut().map(|m| m.remove("paid_time"));
        assert_eq!(
            map(&order(v.clone())).expect("maps").tran_date.as_deref(),
            Some("2024-02-28")
        );
        v.as_object_mut().map(|m| m.remove("create_time"));
        assert_eq!(map(&order(v)).expect("maps").tran_date, None);
    }

    #[test]
    fn numeric_and_21_digit_ids_round_trip_as_strings() {
        let raw = r#"{
            "id": 576486316948490001234,
            "status": "AWAITING_SHIPMENT",
            "user_id": 7494845936287622343,
            "payment": {"currency": "USD", "sub_total": "10.00", "total_amount": "10.00"},
            "line_items": [{
                "id": 576486316948490001235,
                "sku_id": 1729592969712207234,
                "seller_sku": "A",
                "original_price": "10.00"
            }]
        }"#;
        let o: Order = serde_json::from_str(raw).expect("parses");
        let so = map(&o).expect("maps");
        assert_eq!(so.external_id, "tiktok-order:576486316948490001234");
        assert_eq!(so.tiktok_order_id, "576486316948490001234");
        assert_eq!(
            so.item.items[0].tiktok_sku_id.as_deref(),
            Some("1729592969712207234")
        );
        assert_eq!(
            crate::mapping::customer_external_id(&o).as_deref(),
            Some("tiktok-buyer:7494845936287622343")
        );
        let body = serde_json::to_string(&so).expect("serializes");
        assert!(body.contains(r#""custbody_tiktok_order_id":"576486316948490001234""#));
    }

    #[test]
    fn money_serializes_as_exact_json_numbers() {
        let mut payment = plain_payment("59.97");
        payment["seller_discount"] = json!("0.10");
        payment["total_amount"] = json!("59.87");
        let o = order(order_json(
            vec![
                unit("1", "A", "19.99"),
                unit("2", "A", "19.99"),
                discounted("3", "A", "19.99", "0.10", "0"),
            ],
            payment,
        ));
        let body = serde_json::to_string(&map(&o).expect("maps")).expect("serializes");
        assert!(body.contains(r#""rate":19.99,"amount":59.97"#), "{body}");
        assert!(body.contains(r#""rate":-0.10,"amount":-0.10"#), "{body}");
        // Parsed back as numbers, the literal digits survive.
        let v: Value = serde_json::from_str(&body).expect("json");
        assert_eq!(v["item"]["items"][0]["rate"].to_string(), "19.99");
        assert!(v["item"]["items"][0]["amount"].is_number());
    }
}

//! Every amount of Get Order Detail's `payment` and where it lands on the sales order.
//!
//! # Rules
//!
//! Products go on their own lines at `original_price` per unit (`sales_order`). Everything
//! else the buyer pays, or is spared, becomes a line on a configured item:
//!
//! | `payment` field | sign | item (default) |
//! |---|---|---|
//! | `seller_discount` (products) | − | seller discount |
//! | `platform_discount` (products) | − | platform discount |
//! | `shipping_fee` + its three discounts (gross shipping) | + | shipping |
//! | `shipping_fee_seller_discount` | − | seller discount |
//! | `shipping_fee_platform_discount` | − | platform discount |
//! | `shipping_fee_cofunded_discount` | − | seller discount |
//! | `tax` (else `product_tax` + `shipping_fee_tax`) | + | tax |
//! | `retail_delivery_fee` | + | tax |
//! | `item_insurance_tax` | + | tax |
//! | `handling_fee`, `shipping_insurance_fee`, `item_insurance_fee`, `buyer_service_fee`, `small_order_fee`, `payment_discount_service_fee`, `distance_fee` (else `distance_shipping_fee`) | + | fees (`NETSUITE_FEE_ITEM_ID`) |
//! | `payment_platform_discount` | − | platform discount |
//!
//! Lines on the same item are merged into one. Any field marked in `ROUTABLE_FIELDS` can be
//! pointed at its own item with `NETSUITE_FEE_ITEMS` (`handling_fee=71`).
//!
//! - **Gross shipping** is `shipping_fee` plus the discounts that took it there, so the
//!   shipping line minus its discount lines is exactly what the buyer paid for shipping
//!   whichever discount field TikTok filled; `original_shipping_fee` is used only when
//!   `shipping_fee` is absent, and a disagreement between the two is said in the history.
//! - **Per-line and order-level amounts**: `payment.seller_discount`,
//!   `payment.platform_discount` and `payment.product_tax` win over the sums of
//!   `line_items[].seller_discount`, `.platform_discount` and `.item_tax[]` (TikTok rounds
//!   those per unit); a difference is said in the history. Without the order-level figure,
//!   the per-line sum is used.
//! - `distance_fee` is documented as the Horizon+ total, so when both distance fields are
//!   sent `distance_shipping_fee` is taken to be part of it and not billed again.
//! - **Two readings of `total_amount`.** TikTok documents `total_amount = sub_total +
//!   shipping_fee + taxes + retail_delivery_fee` and also calls it the "buyer paid total
//!   amount", while the market fees above (the *extras*: every fee and the payment-platform
//!   discount) are buyer-paid. When products plus every component including the extras tie
//!   to `total_amount`, the extras become lines (`fees_in_total`). When they tie without the
//!   extras, the extras are recorded in the memo and the history and not billed
//!   (`fees_outside_total`). An order without extras has one reading (`documented`).
//! - **Tax-inclusive markets** (`MARKET_PRICES_INCLUDE_TAX`): prices already contain the
//!   tax, so the tax (not `retail_delivery_fee` or the insurance tax) is recorded in the memo
//!   and left out of the lines and the sum.
//! - **Tolerance**: when neither reading ties exactly, a difference of at most
//!   `TOTALS_TOLERANCE` (default 0) is booked on the rounding item, the reading with fees
//!   tried first. Anything else is a `TotalsMismatch`, which parks the order
//!   (`totals_mismatch`) for a person instead of guessing.

use crate::config::MappingConfig;
use crate::tiktok::models::Order;
use rust_decimal::Decimal;

/// Which reading of `total_amount` the sales order follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reading {
    /// No market fees on the order: TikTok's documented formula.
    Documented,
    /// `total_amount` includes the market fees: they are lines.
    FeesInTotal,
    /// `total_amount` leaves the market fees out: recorded, not billed.
    FeesOutsideTotal,
}

impl Reading {
    pub fn as_str(self) -> &'static str {
        match self {
            Reading::Documented => "documented",
            Reading::FeesInTotal => "fees_in_total",
            Reading::FeesOutsideTotal => "fees_outside_total",
        }
    }
}

/// One non-product line: a NetSuite item, the signed amount, and what it is.
#[derive(Debug, Clone, PartialEq)]
pub struct ChargeLine {
    pub item_id: String,
    pub amount: Decimal,
    pub description: String,
}

/// The non-product side of an order as the sales order holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct Charges {
    pub lines: Vec<ChargeLine>,
    pub reading: Reading,
    /// Extras `total_amount` leaves out (`fees_outside_total`): field and amount.
    pub recorded_fees: Vec<(&'static str, Decimal)>,
    /// Tax left out of the lines because prices include it.
    pub tax_included: Option<Decimal>,
    /// What the history should say: the reading, disagreements, rounding.
    pub notes: Vec<String>,
}

/// The charges do not tie to `total_amount` under either reading.
#[derive(Debug, Clone, PartialEq)]
pub struct Untied {
    pub expected: Decimal,
    /// Products plus every component, extras included.
    pub computed: Decimal,
    /// The same without the extras, when the order has any.
    pub computed_without_fees: Option<Decimal>,
}

struct Component {
    field: &'static str,
    amount: Decimal,
    item_id: String,
    description: &'static str,
}

fn z(d: Option<Decimal>) -> Decimal {
    d.unwrap_or_default()
}

/// The item a routable `field` lands on: its own when `NETSUITE_FEE_ITEMS` names one.
fn item_for(cfg: &MappingConfig, field: &str, default: &str) -> String {
    cfg.charges
        .field_items
        .get(field)
        .cloned()
        .unwrap_or_else(|| default.to_string())
}

/// Order-level figure when TikTok sent one, else the per-line sum; a difference is noted.
fn order_level(
    what: &str,
    order_level: Option<Decimal>,
    per_line: Option<Decimal>,
    notes: &mut Vec<String>,
) -> Decimal {
    match (order_level, per_line) {
        (Some(o), Some(l)) if o != l => {
            notes.push(format!(
                "{what}: order-level {o} used; line items sum to {l} (difference {})",
                o - l
            ));
            o
        }
        (Some(o), _) => o,
        (None, l) => z(l),
    }
}

/// Sum of per-line values, `None` when no line carries the field.
fn per_line(values: impl Iterator<Item = Option<Decimal>>) -> Option<Decimal> {
    values
        .flatten()
        .fold(None, |acc, v| Some(acc.unwrap_or_default() + v))
}

/// The charges of `order` whose product lines total `products`, tied to `total_amount`.
pub fn charges(
    order: &Order,
    products: Decimal,
    expected: Decimal,
    cfg: &MappingConfig,
) -> Result<Charges, Untied> {
    let p = &order.payment;
    let items = &order.line_items;
    let ch = &cfg.charges;
    let mut notes = Vec::new();

    let seller_discount = order_level(
        "seller_discount",
        p.seller_discount,
        per_line(items.iter().map(|li| li.seller_discount)),
        &mut notes,
    );
    let platform_discount = order_level(
        "platform_discount",
        p.platform_discount,
        per_line(items.iter().map(|li| li.platform_discount)),
        &mut notes,
    );
    let item_tax = per_line(
        items
            .iter()
            .flat_map(|li| &li.item_tax)
            .map(|t| t.tax_amount),
    );
    let product_tax = order_level("product_tax", p.product_tax, item_tax, &mut notes);
    let tax = match p.tax {
        Some(t) => {
            let parts = product_tax + z(p.shipping_fee_tax);
            if (p.product_tax.is_some() || item_tax.is_some() || p.shipping_fee_tax.is_some())
                && parts != t
            {
                notes.push(format!(
                    "tax: order-level {t} used; product and shipping tax sum to {parts}"
                ));
            }
            t
        }
        None => product_tax + z(p.shipping_fee_tax),
    };

    let ship_discounts = z(p.shipping_fee_seller_discount)
        + z(p.shipping_fee_platform_discount)
        + z(p.shipping_fee_cofunded_discount);
    let shipping = match p.shipping_fee {
        Some(paid) => {
            let gross = paid + ship_discounts;
            if let Some(orig) = p.original_shipping_fee.filter(|o| *o != gross) {
                notes.push(format!(
                    "shipping: shipping_fee {paid} plus its discounts {ship_discounts} is {gross}; original_shipping_fee {orig} not used"
                ));
            }
            gross
        }
        None => z(p.original_shipping_fee),
    };

    let base = vec![
        Component {
            field: "seller_discount",
            amount: -seller_discount,
            item_id: cfg.seller_discount_item_id.clone(),
            description: "TikTok seller discount",
        },
        Component {
            field: "shipping_fee_seller_discount",
            amount: -z(p.shipping_fee_seller_discount),
            item_id: cfg.seller_discount_item_id.clone(),
            description: "TikTok seller discount",
        },
        Component {
            field: "shipping_fee_cofunded_discount",
            amount: -z(p.shipping_fee_cofunded_discount),
            item_id: item_for(
                cfg,
                "shipping_fee_cofunded_discount",
                &cfg.seller_discount_item_id,
            ),
            description: "TikTok co-funded shipping discount",
        },
        Component {
            field: "platform_discount",
            amount: -platform_discount,
            item_id: cfg.platform_discount_item_id.clone(),
            description: "TikTok platform discount",
        },
        Component {
            field: "shipping_fee_platform_discount",
            amount: -z(p.shipping_fee_platform_discount),
            item_id: cfg.platform_discount_item_id.clone(),
            description: "TikTok platform discount",
        },
        Component {
            field: "shipping_fee",
            amount: shipping,
            item_id: cfg.shipping_item_id.clone(),
            description: "TikTok shipping",
        },
        Component {
            field: "tax",
            amount: if ch.prices_include_tax {
                Decimal::ZERO
            } else {
                tax
            },
            item_id: cfg.tax_item_id.clone(),
            description: "TikTok tax",
        },
        Component {
            field: "retail_delivery_fee",
            amount: z(p.retail_delivery_fee),
            item_id: item_for(cfg, "retail_delivery_fee", &cfg.tax_item_id),
            description: "TikTok retail delivery fee",
        },
    ];
    let tax_included = (ch.prices_include_tax && !tax.is_zero()).then_some(tax);

    let distance = p.distance_fee.or(p.distance_shipping_fee);
    let distance_field = if p.distance_fee.is_some() {
        "distance_fee"
    } else {
        "distance_shipping_fee"
    };
    if let (Some(total), Some(part)) = (p.distance_fee, p.distance_shipping_fee) {
        if !part.is_zero() {
            notes.push(format!(
                "distance_shipping_fee {part} taken as part of distance_fee {total}"
            ));
        }
    }
    let fee = |field: &'static str, amount: Option<Decimal>, description| Component {
        field,
        amount: z(amount),
        item_id: item_for(cfg, field, &ch.fee_item_id),
        description,
    };
    let extras: Vec<Component> = vec![
        fee("handling_fee", p.handling_fee, "TikTok handling fee"),
        fee(
            "shipping_insurance_fee",
            p.shipping_insurance_fee,
            "TikTok shipping insurance",
        ),
        fee(
            "item_insurance_fee",
            p.item_insurance_fee,
            "TikTok item insurance",
        ),
        Component {
            field: "item_insurance_tax",
            amount: z(p.item_insurance_tax),
            item_id: item_for(cfg, "item_insurance_tax", &cfg.tax_item_id),
            description: "TikTok item insurance tax",
        },
        fee(
            "buyer_service_fee",
            p.buyer_service_fee,
            "TikTok buyer service fee",
        ),
        fee(
            "small_order_fee",
            p.small_order_fee,
            "TikTok small order fee",
        ),
        fee(distance_field, distance, "TikTok distance fee"),
        fee(
            "payment_discount_service_fee",
            p.payment_discount_service_fee,
            "TikTok payment discount service fee",
        ),
        Component {
            field: "payment_platform_discount",
            amount: -z(p.payment_platform_discount),
            item_id: item_for(
                cfg,
                "payment_platform_discount",
                &cfg.platform_discount_item_id,
            ),
            description: "TikTok payment platform discount",
        },
    ]
    .into_iter()
    .filter(|c| !c.amount.is_zero())
    .collect();

    let base_sum: Decimal = base.iter().map(|c| c.amount).sum();
    let extras_sum: Decimal = extras.iter().map(|c| c.amount).sum();
    let with_fees = products + base_sum + extras_sum;
    let without_fees = products + base_sum;

    let candidates: Vec<(Reading, Decimal)> = if extras.is_empty() {
        vec![(Reading::Documented, with_fees)]
    } else {
        vec![
            (Reading::FeesInTotal, with_fees),
            (Reading::FeesOutsideTotal, without_fees),
        ]
    };
    let chosen = candidates
        .iter()
        .find(|(_, c)| *c == expected)
        .or_else(|| {
            candidates
                .iter()
                .find(|(_, c)| (expected - *c).abs() <= ch.totals_tolerance)
        })
        .copied();
    let Some((reading, computed)) = chosen else {
        return Err(Untied {
            expected,
            computed: with_fees,
            computed_without_fees: (!extras.is_empty()).then_some(without_fees),
        });
    };

    let mut components = base;
    let mut recorded_fees = Vec::new();
    let extra_list = extras
        .iter()
        .map(|c| format!("{} {}", c.field, c.amount))
        .collect::<Vec<_>>()
        .join(", ");
    match reading {
        Reading::Documented => {}
        Reading::FeesInTotal => {
            notes.push(format!(
                "reading fees_in_total: total_amount {expected} includes {extra_list}; billed as lines"
            ));
            components.extend(extras);
        }
        Reading::FeesOutsideTotal => {
            notes.push(format!(
                "reading fees_outside_total: total_amount {expected} leaves out {extra_list}; recorded on the order, not billed"
            ));
            recorded_fees = extras.iter().map(|c| (c.field, c.amount)).collect();
        }
    }
    let rounding = expected - computed;
    if !rounding.is_zero() {
        notes.push(format!(
            "rounding {rounding} booked within TOTALS_TOLERANCE {} (computed {computed}, total_amount {expected})",
            ch.totals_tolerance
        ));
        components.push(Component {
            field: "rounding",
            amount: rounding,
            item_id: ch.rounding_item_id.clone(),
            description: "TikTok rounding",
        });
    }

    // One line per item, in first-seen order, zeros left out.
    let mut lines: Vec<ChargeLine> = Vec::new();
    for c in components.into_iter().filter(|c| !c.amount.is_zero()) {
        match lines.iter_mut().find(|l| l.item_id == c.item_id) {
            Some(l) => l.amount += c.amount,
            None => lines.push(ChargeLine {
                item_id: c.item_id,
                amount: c.amount,
                description: c.description.to_string(),
            }),
        }
    }
    lines.retain(|l| !l.amount.is_zero());

    Ok(Charges {
        lines,
        reading,
        recorded_fees,
        tax_included,
        notes,
    })
}

#[cfg(test)]
mod tests {
    use crate::config::MappingConfig;
    use crate::mapping::fixtures::{cfg, items, order, order_json, plain_payment, unit};
    use crate::mapping::{map_order, Mapped, MappingError};
    use crate::tiktok::models::Order;
    use rust_decimal::Decimal;
    use rust_decimal_macros::dec;
    use serde_json::{json, Value};

    fn map_with(o: &Order, cfg: &MappingConfig) -> Result<Mapped, MappingError> {
        map_order(o, &items(), "4242", cfg)
    }

    /// (item id, amount) of every line.
    fn lines(m: &Mapped) -> Vec<(String, Decimal)> {
        m.sales_order
            .item
            .items
            .iter()
            .map(|l| (l.item.id.clone(), l.amount))
            .collect()
    }

    fn total(m: &Mapped) -> Decimal {
        m.sales_order.item.items.iter().map(|l| l.amount).sum()
    }

    /// One 10.00 unit and `field` set to `amount` in `payment`, `total_amount` `total`.
    fn with_field(field: &str, amount: &str, total: &str) -> Order {
        let mut payment = plain_payment("10.00");
        payment[field] = json!(amount);
        payment["total_amount"] = json!(total);
        order(order_json(vec![unit("1", "A", "10.00")], payment))
    }

    /// The order ties only with `field` on `item` at `signed`; without the field it would
    /// total 10.00.
    fn ties_on(field: &str, amount: &str, expected: &str, item: &str, signed: Decimal) {
        let m = map_with(&with_field(field, amount, expected), &cfg())
            .unwrap_or_else(|e| panic!("{field}: {e}"));
        assert_eq!(
            lines(&m),
            vec![("100".to_string(), dec!(10.00)), (item.to_string(), signed)],
            "{field}"
        );
        assert_eq!(total(&m).to_string(), expected, "{field}");
    }

    macro_rules! fee_field_tests {
        ($($name:ident: $field:literal, $amount:literal, $total:literal, $item:literal, $signed:expr;)*) => {
            $(
                #[test]
                fn $name() {
                    ties_on($field, $amount, $total, $item, $signed);
                }
            )*
        };
    }

    fee_field_tests! {
        handling_fee_lands_on_the_fee_item: "handling_fee", "1.50", "11.50", "tiktok-fees", dec!(1.50);
        shipping_insurance_fee_lands_on_the_fee_item: "shipping_insurance_fee", "0.80", "10.80", "tiktok-fees", dec!(0.80);
        item_insurance_fee_lands_on_the_fee_item: "item_insurance_fee", "2.99", "12.99", "tiktok-fees", dec!(2.99);
        item_insurance_tax_lands_on_the_tax_item: "item_insurance_tax", "0.22", "10.22", "tax", dec!(0.22);
        buyer_service_fee_lands_on_the_fee_item: "buyer_service_fee", "0.40", "10.40", "tiktok-fees", dec!(0.40);
        small_order_fee_lands_on_the_fee_item: "small_order_fee", "5.00", "15.00", "tiktok-fees", dec!(5.00);
        retail_delivery_fee_lands_on_the_tax_item: "retail_delivery_fee", "0.28", "10.28", "tax", dec!(0.28);
        distance_shipping_fee_lands_on_the_fee_item: "distance_shipping_fee", "3.00", "13.00", "tiktok-fees", dec!(3.00);
        distance_fee_lands_on_the_fee_item: "distance_fee", "3.50", "13.50", "tiktok-fees", dec!(3.50);
        payment_discount_service_fee_lands_on_the_fee_item: "payment_discount_service_fee", "0.10", "10.10", "tiktok-fees", dec!(0.10);
        payment_platform_discount_lands_on_the_platform_discount_item: "payment_platform_discount", "1.00", "9.00", "platform-discount", dec!(-1.00);
    }

    /// A shipping discount field: 5.00 gross shipping, `field` 2.00 off, buyer pays 3.00.
    fn shipping_discount_ties(field: &str, item: &str) {
        let mut payment = plain_payment("10.00");
        payment["original_shipping_fee"] = json!("5.00");
        payment["shipping_fee"] = json!("3.00");
        payment[field] = json!("2.00");
        payment["total_amount"] = json!("13.00");
        let o = order(order_json(vec![unit("1", "A", "10.00")], payment));
        let m = map_with(&o, &cfg()).expect("maps");
        assert_eq!(
            lines(&m),
            vec![
                ("100".to_string(), dec!(10.00)),
                (item.to_string(), dec!(-2.00)),
                ("shipping".to_string(), dec!(5.00)),
            ],
            "{field}"
        );
        assert_eq!(total(&m), dec!(13.00));
        assert!(m.notes.is_empty(), "{:?}", m.notes);
    }

    #[test]
    fn shipping_fee_seller_discount_lands_on_the_seller_discount_item() {
        shipping_discount_ties("shipping_fee_seller_discount", "seller-discount");
    }

    #[test]
    fn shipping_fee_platform_discount_lands_on_the_platform_discount_item() {
        shipping_discount_ties("shipping_fee_platform_discount", "platform-discount");
    }

    #[test]
    fn shipping_fee_cofunded_discount_lands_on_the_seller_discount_item() {
        shipping_discount_ties("shipping_fee_cofunded_discount", "seller-discount");
    }

    #[test]
    fn fees_together_on_one_item_unless_split() {
        let mut payment = plain_payment("10.00");
        payment["handling_fee"] = json!("1.00");
        payment["buyer_service_fee"] = json!("0.50");
        payment["shipping_insurance_fee"] = json!("0.25");
        payment["total_amount"] = json!("11.75");
        let o = order(order_json(vec![unit("1", "A", "10.00")], payment));
        let m = map_with(&o, &cfg()).expect("maps");
        assert_eq!(
            lines(&m),
            vec![
                ("100".to_string(), dec!(10.00)),
                ("tiktok-fees".to_string(), dec!(1.75))
            ]
        );
        let mut split = cfg();
        split.charges.fee_item_id = "70".into();
        split.charges.field_items = [("handling_fee".to_string(), "71".to_string())].into();
        let m = map_with(&o, &split).expect("maps");
        assert_eq!(
            lines(&m),
            vec![
                ("100".to_string(), dec!(10.00)),
                ("71".to_string(), dec!(1.00)),
                ("70".to_string(), dec!(0.75)),
            ]
        );
        assert_eq!(m.reading.as_str(), "fees_in_total");
    }

    #[test]
    fn fees_outside_total_amount_are_recorded_not_billed() {
        // TikTok's documented formula: total_amount leaves the handling fee out.
        let o = with_field("handling_fee", "1.50", "10.00");
        let m = map_with(&o, &cfg()).expect("maps");
        assert_eq!(lines(&m), vec![("100".to_string(), dec!(10.00))]);
        assert_eq!(m.reading.as_str(), "fees_outside_total");
        let memo = m.sales_order.memo.clone().unwrap_or_default();
        assert!(memo.contains("handling_fee 1.50"), "{memo}");
        assert!(
            m.notes.iter().any(|n| n.contains("fees_outside_total")),
            "{:?}",
            m.notes
        );
    }

    #[test]
    fn distance_shipping_fee_is_part_of_distance_fee_when_both_are_sent() {
        let mut payment = plain_payment("10.00");
        payment["distance_fee"] = json!("3.50");
        payment["distance_shipping_fee"] = json!("3.00");
        payment["total_amount"] = json!("13.50");
        let o = order(order_json(vec![unit("1", "A", "10.00")], payment));
        let m = map_with(&o, &cfg()).expect("maps");
        assert_eq!(total(&m), dec!(13.50));
    }

    fn discounted_unit(id: &str, seller: &str, platform: &str, tax: &str) -> Value {
        let mut u = unit(id, "A", "10.00");
        u["seller_discount"] = json!(seller);
        u["platform_discount"] = json!(platform);
        u["item_tax"] = json!([{"tax_type": "SALES_TAX", "tax_amount": tax}]);
        u
    }

    #[test]
    fn order_level_discounts_and_tax_win_over_line_sums_and_the_difference_is_noted() {
        // Lines say seller 1.00+1.00, platform 0.50+0.50, tax 0.61+0.61; the order says
        // 2.01, 0.99 and 1.21 (TikTok rounds per unit). The order-level figures tie.
        let payment = json!({
            "currency": "USD",
            "original_total_product_price": "20.00",
            "seller_discount": "2.01",
            "platform_discount": "0.99",
            "sub_total": "17.00",
            "shipping_fee": "0",
            "product_tax": "1.21",
            "total_amount": "18.21"
        });
        let o = order(order_json(
            vec![
                discounted_unit("1", "1.00", "0.50", "0.61"),
                discounted_unit("2", "1.00", "0.50", "0.61"),
            ],
            payment,
        ));
        let m = map_with(&o, &cfg()).expect("maps");
        assert_eq!(
            lines(&m),
            vec![
                ("100".to_string(), dec!(20.00)),
                ("seller-discount".to_string(), dec!(-2.01)),
                ("platform-discount".to_string(), dec!(-0.99)),
                ("tax".to_string(), dec!(1.21)),
            ]
        );
        let notes = m.notes.join(" | ");
        for what in ["seller_discount", "platform_discount", "product_tax"] {
            assert!(notes.contains(what), "{what} not noted: {notes}");
        }
    }

    #[test]
    fn a_difference_within_the_tolerance_lands_on_the_rounding_item() {
        let o = order(order_json(
            vec![unit("1", "A", "10.00")],
            plain_payment("10.01"),
        ));
        assert!(matches!(
            map_with(&o, &cfg()),
            Err(MappingError::TotalsMismatch { .. })
        ));
        let mut tolerant = cfg();
        tolerant.charges.totals_tolerance = dec!(0.01);
        let m = map_with(&o, &tolerant).expect("maps");
        assert_eq!(
            lines(&m),
            vec![
                ("100".to_string(), dec!(10.00)),
                ("rounding".to_string(), dec!(0.01))
            ]
        );
        assert!(m.notes.iter().any(|n| n.contains("rounding")));
        let far = order(order_json(
            vec![unit("1", "A", "10.00")],
            plain_payment("10.02"),
        ));
        assert!(map_with(&far, &tolerant).is_err());
    }

    #[test]
    fn a_mismatch_reports_both_readings() {
        let o = with_field("handling_fee", "1.00", "12.00");
        assert_eq!(
            map_with(&o, &cfg()),
            Err(MappingError::TotalsMismatch {
                expected: dec!(12.00),
                computed: dec!(11.00),
                computed_without_fees: Some(dec!(10.00)),
            })
        );
    }

    #[test]
    fn tax_inclusive_markets_record_the_tax_instead_of_adding_it() {
        // UK: 12.00 VAT-inclusive, 2.00 of it VAT; total_amount is what the buyer paid.
        let mut payment = plain_payment("12.00");
        payment["currency"] = json!("GBP");
        payment["tax"] = json!("2.00");
        let o = order(order_json(vec![unit("1", "A", "12.00")], payment));
        assert!(map_with(&o, &cfg()).is_err(), "tax added twice");
        let mut vat = cfg();
        vat.charges.prices_include_tax = true;
        let m = map_with(&o, &vat).expect("maps");
        assert_eq!(lines(&m), vec![("100".to_string(), dec!(12.00))]);
        let memo = m.sales_order.memo.unwrap_or_default();
        assert!(memo.contains("tax included in prices: 2.00"), "{memo}");
    }

    #[test]
    fn the_currency_map_names_the_sales_order_currency() {
        let mut payment = plain_payment("10.00");
        payment["currency"] = json!("GBP");
        let o = order(order_json(vec![unit("1", "A", "10.00")], payment));
        assert_eq!(
            map_with(&o, &cfg()).expect("maps").sales_order.currency,
            None
        );
        let mut mapped = cfg();
        mapped.charges.currency_map = [
            ("USD".to_string(), "1".to_string()),
            ("GBP".to_string(), "2".to_string()),
        ]
        .into();
        let so = map_with(&o, &mapped).expect("maps").sales_order;
        assert_eq!(so.currency.map(|r| r.id).as_deref(), Some("2"));
        mapped.charges.currency_map.remove("GBP");
        assert_eq!(
            map_with(&o, &mapped),
            Err(MappingError::UnmappedCurrency {
                currency: "GBP".into()
            })
        );
    }
}

/// Orders generated from TikTok's rules: per-unit prices, discounts and taxes rounded per
/// unit, shipping and its discounts, market fees in or outside `total_amount`, and now and
/// then a total a few cents off. The sales order ties to `total_amount` or the mapping says
/// `TotalsMismatch` (which parks); no other outcome.
#[cfg(test)]
mod props {
    use crate::mapping::fixtures::{cfg, items, order, order_json, unit};
    use crate::mapping::{map_order, MappingError};
    use proptest::prelude::*;
    use rust_decimal::{Decimal, RoundingStrategy};
    use serde_json::{json, Map, Value};

    const EXTRAS: &[&str] = &[
        "handling_fee",
        "shipping_insurance_fee",
        "item_insurance_fee",
        "item_insurance_tax",
        "buyer_service_fee",
        "small_order_fee",
        "distance_shipping_fee",
        "payment_discount_service_fee",
    ];

    fn cents(c: i64) -> Decimal {
        Decimal::new(c, 2)
    }

    fn round(d: Decimal) -> Decimal {
        d.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero)
    }

    #[derive(Debug, Clone)]
    struct Gen {
        /// (price, seller discount share ‰, platform discount share ‰) per unit.
        units: Vec<(i64, i64, i64)>,
        rate_bp: i64,
        order_level_tax: bool,
        shipping: i64,
        ship_discounts: (i64, i64, i64),
        rdf: bool,
        extras: Vec<Option<i64>>,
        payment_platform_discount: i64,
        fees_in_total: bool,
        off_by: i64,
        tolerance: i64,
    }

    fn gen() -> impl Strategy<Value = Gen> {
        (
            prop::collection::vec((0i64..5000, 0i64..500, 0i64..500), 1..6),
            prop::sample::select(vec![0i64, 625, 725, 875, 1000]),
            any::<bool>(),
            0i64..1500,
            (0i64..300, 0i64..300, 0i64..300),
            any::<bool>(),
            prop::collection::vec(prop::option::of(0i64..400), EXTRAS.len()),
            0i64..200,
            any::<bool>(),
            prop::sample::select(vec![0i64, 0, 0, 1, -1, 2, -3, 150]),
            prop::sample::select(vec![0i64, 1]),
        )
            .prop_map(
                |(units, rate_bp, olt, shipping, sd, rdf, extras, ppd, fit, off, tol)| Gen {
                    units,
                    rate_bp,
                    order_level_tax: olt,
                    shipping,
                    ship_discounts: sd,
                    rdf,
                    extras,
                    payment_platform_discount: ppd,
                    fees_in_total: fit,
                    off_by: off,
                    tolerance: tol,
                },
            )
    }

    /// The order JSON and its (unperturbed) buyer-paid total.
    fn build(g: &Gen) -> (Value, Decimal) {
        let rate = Decimal::new(g.rate_bp, 5);
        let mut lines = Vec::new();
        let (mut original, mut sd_sum, mut pd_sum, mut tax_sum, mut taxable) = (
            Decimal::ZERO,
            Decimal::ZERO,
            Decimal::ZERO,
            Decimal::ZERO,
            Decimal::ZERO,
        );
        for (i, (price, sd_pm, pd_pm)) in g.units.iter().enumerate() {
            let price = cents(*price);
            let sd = round(price * Decimal::new(*sd_pm, 3));
            let pd = round((price - sd) * Decimal::new(*pd_pm, 3));
            let tax = round((price - sd) * rate);
            let mut u = unit(
                &format!("{}", i + 1),
                ["A", "B", "C"][i % 3],
                &price.to_string(),
            );
            u["seller_discount"] = json!(sd.to_string());
            u["platform_discount"] = json!(pd.to_string());
            u["item_tax"] = json!([{"tax_type": "SALES_TAX", "tax_amount": tax.to_string()}]);
            lines.push(u);
            original += price;
            sd_sum += sd;
            pd_sum += pd;
            tax_sum += tax;
            taxable += price - sd;
        }
        // TikTok may round the product tax once for the order instead of per unit.
        let product_tax = if g.order_level_tax {
            round(taxable * rate)
        } else {
            tax_sum
        };
        let orig_ship = cents(g.shipping);
        let (a, b, c) = g.ship_discounts;
        let ship_sd = cents(a).min(orig_ship);
        let ship_pd = cents(b).min(orig_ship - ship_sd);
        let ship_co = cents(c).min(orig_ship - ship_sd - ship_pd);
        let shipping_fee = orig_ship - ship_sd - ship_pd - ship_co;
        let ship_tax = round(shipping_fee * rate);
        let rdf = if g.rdf { cents(27) } else { Decimal::ZERO };
        let sub_total = original - sd_sum - pd_sum;

        let mut p = Map::new();
        let mut set = |k: &str, v: Decimal| {
            p.insert(k.to_string(), json!(v.to_string()));
        };
        set("original_total_product_price", original);
        set("seller_discount", sd_sum);
        set("platform_discount", pd_sum);
        set("sub_total", sub_total);
        set("original_shipping_fee", orig_ship);
        set("shipping_fee_seller_discount", ship_sd);
        set("shipping_fee_platform_discount", ship_pd);
        set("shipping_fee_cofunded_discount", ship_co);
        set("shipping_fee", shipping_fee);
        set("product_tax", product_tax);
        set("shipping_fee_tax", ship_tax);
        set("tax", product_tax + ship_tax);
        set("retail_delivery_fee", rdf);
        let mut extras = Decimal::ZERO;
        for (field, amount) in EXTRAS.iter().zip(&g.extras) {
            if let Some(c) = amount {
                set(field, cents(*c));
                extras += cents(*c);
            }
        }
        set(
            "payment_platform_discount",
            cents(g.payment_platform_discount),
        );
        extras -= cents(g.payment_platform_discount);
        let mut total = sub_total + shipping_fee + product_tax + ship_tax + rdf;
        if g.fees_in_total {
            total += extras;
        }
        set("total_amount", total + cents(g.off_by));
        p.insert("currency".into(), json!("USD"));
        (order_json(lines, Value::Object(p)), total)
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

        #[test]
        fn the_sales_order_ties_or_the_order_parks_for_totals(g in gen()) {
            let (v, _) = build(&g);
            let o = order(v);
            let mut c = cfg();
            c.charges.totals_tolerance = cents(g.tolerance);
            let expected = o.payment.total_amount.expect("total set");
            match map_order(&o, &items(), "4242", &c) {
                Ok(m) => {
                    let sum: Decimal = m.sales_order.item.items.iter().map(|l| l.amount).sum();
                    prop_assert_eq!(sum, expected);
                }
                Err(MappingError::TotalsMismatch { expected: e, .. }) => {
                    prop_assert_eq!(e, expected);
                    // Only a total TikTok's rules did not produce may mismatch.
                    prop_assert!(g.off_by.abs() > g.tolerance, "{:?}", g);
                }
                Err(other) => prop_assert!(false, "unexpected {other}"),
            }
        }
    }
}

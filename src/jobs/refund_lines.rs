//! O3: what a credit memo holds so that it equals what TikTok refunded, built from the
//! return's `refund_amount` components (and each `return_line_items[].refund_amount` when
//! the return's own are missing), mirroring how the sales order was built:
//!
//! - the returned units at the rates they were sold at (the returned sales order lines),
//!   and their share of seller and platform discounts (each returned unit's own
//!   `seller_discount` / `platform_discount`) on the discount items;
//! - a refunded subtotal smaller than the units after discounts (a partial refund, or
//!   `partial_refund` offered by the seller) as a "not refunded" line on the seller
//!   discount item; a refund of nothing but shipping or fees carries no unit lines;
//! - `refund_tax` on the tax item, `refund_shipping_fee` on the shipping item,
//!   `retail_delivery_fee` and `buyer_service_fee` on the items the sales order used.
//!
//! Only a difference between `refund_total` and the memo that these components cannot
//! explain is left for a person (review flag). A return without any component (only
//! `refund_total`) gets the units after their discounts, as before.

use crate::config::MappingConfig;
use crate::tiktok::fulfillment::{RefundAmount, ReturnOrder};
use crate::tiktok::models::LineItem;
use rust_decimal::Decimal;

/// A credit memo line that is not a returned unit.
#[derive(Debug, Clone, PartialEq)]
pub struct RefundLine {
    pub item_id: String,
    pub amount: Decimal,
    pub description: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RefundPlan {
    /// Whether the returned units are on the memo (false: shipping or fees only).
    pub include_units: bool,
    pub lines: Vec<RefundLine>,
    /// Units (when included) plus `lines`.
    pub memo_total: Decimal,
    /// TikTok's `refund_total`, when sent.
    pub refund_total: Option<Decimal>,
}

impl RefundPlan {
    /// `refund_total` minus the memo, when TikTok sent a total and they differ.
    pub fn unexplained(&self) -> Option<Decimal> {
        self.refund_total
            .map(|t| t - self.memo_total)
            .filter(|d| !d.is_zero())
    }
}

fn parse(s: &Option<String>) -> Option<Decimal> {
    s.as_deref().and_then(|t| t.trim().parse::<Decimal>().ok())
}

/// The return's own component, else the sum over its lines, else `None`.
fn component(ret: &ReturnOrder, get: fn(&RefundAmount) -> &Option<String>) -> Option<Decimal> {
    if let Some(v) = ret.refund_amount.as_ref().and_then(|a| parse(get(a))) {
        return Some(v);
    }
    ret.return_line_items
        .iter()
        .filter_map(|l| l.refund_amount.as_ref().and_then(|a| parse(get(a))))
        .fold(None, |acc, v| Some(acc.unwrap_or_default() + v))
}

/// Pure: the memo for `ret`. `units_total` is rate × quantity over the returned sales
/// order lines; `returned` are the order's line items the return covers (every unit when
/// it names none), for their discounts.
pub fn plan(
    ret: &ReturnOrder,
    returned: &[&LineItem],
    units_total: Decimal,
    cfg: &MappingConfig,
) -> RefundPlan {
    let z = |d: Option<Decimal>| d.unwrap_or_default();
    let refund_total = ret
        .refund_amount
        .as_ref()
        .and_then(|a| parse(&a.refund_total));
    let tax = component(ret, |a| &a.refund_tax);
    let shipping = component(ret, |a| &a.refund_shipping_fee);
    let rdf = component(ret, |a| &a.retail_delivery_fee);
    let bsf = component(ret, |a| &a.buyer_service_fee);
    let others = z(tax) + z(shipping) + z(rdf) + z(bsf);
    let seller: Decimal = returned.iter().map(|l| z(l.seller_discount)).sum();
    let platform: Decimal = returned.iter().map(|l| z(l.platform_discount)).sum();
    let net_units = units_total - seller - platform;
    let partial = ret.partial_refund.as_ref().and_then(|p| parse(&p.amount));
    let subtotal = component(ret, |a| &a.refund_subtotal)
        .or_else(|| partial.map(|p| p - others))
        .unwrap_or(net_units);

    let mut lines = Vec::new();
    let mut push = |item_id: String, amount: Decimal, what: &str| {
        if !amount.is_zero() {
            lines.push(RefundLine {
                item_id,
                amount,
                description: what.to_string(),
            });
        }
    };
    let include_units = !subtotal.is_zero() && !units_total.is_zero();
    if include_units {
        push(
            cfg.seller_discount_item_id.clone(),
            -seller,
            "TikTok seller discount",
        );
        push(
            cfg.platform_discount_item_id.clone(),
            -platform,
            "TikTok platform discount",
        );
        push(
            cfg.seller_discount_item_id.clone(),
            subtotal - net_units,
            "TikTok partial refund: part of the units not refunded",
        );
    }
    let ch = &cfg.charges;
    push(cfg.tax_item_id.clone(), z(tax), "TikTok tax refunded");
    push(
        cfg.shipping_item_id.clone(),
        z(shipping),
        "TikTok shipping refunded",
    );
    push(
        ch.item_for("retail_delivery_fee", &cfg.tax_item_id),
        z(rdf),
        "TikTok retail delivery fee refunded",
    );
    push(
        ch.item_for("buyer_service_fee", &ch.fee_item_id),
        z(bsf),
        "TikTok buyer service fee refunded",
    );
    let memo_total = if include_units {
        units_total
    } else {
        Decimal::ZERO
    } + lines.iter().map(|l| l.amount).sum::<Decimal>();
    RefundPlan {
        include_units,
        lines,
        memo_total,
        refund_total,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tiktok::fulfillment::ReturnLineItem;
    use rust_decimal_macros::dec;
    use serde_json::json;

    fn ret(amount: serde_json::Value, lines: serde_json::Value) -> ReturnOrder {
        serde_json::from_value(json!({
            "return_id": "r1", "order_id": "o1", "return_type": "REFUND",
            "return_status": "RETURN_OR_REFUND_REQUEST_COMPLETE",
            "refund_amount": amount, "return_line_items": lines,
        }))
        .expect("return parses")
    }

    fn unit(sd: &str, pd: &str) -> LineItem {
        serde_json::from_value(json!({
            "id": "1", "sku_id": "s", "seller_sku": "A", "original_price": "19.99",
            "seller_discount": sd, "platform_discount": pd,
        }))
        .expect("unit parses")
    }

    fn items(p: &RefundPlan) -> Vec<(String, Decimal)> {
        p.lines
            .iter()
            .map(|l| (l.item_id.clone(), l.amount))
            .collect()
    }

    #[test]
    fn a_taxed_unit_refunds_its_rate_and_its_tax() {
        let r = ret(
            json!({"currency": "USD", "refund_total": "21.44", "refund_subtotal": "19.99", "refund_tax": "1.45"}),
            json!([]),
        );
        let u = unit("0", "0");
        let p = plan(&r, &[&u], dec!(19.99), &MappingConfig::default());
        assert!(p.include_units);
        assert_eq!(items(&p), vec![("tax".into(), dec!(1.45))]);
        assert_eq!(p.memo_total, dec!(21.44));
        assert_eq!(p.unexplained(), None);
    }

    #[test]
    fn line_level_amounts_stand_in_for_missing_return_level_ones() {
        let r = ret(
            json!({"currency": "USD", "refund_total": "21.44"}),
            json!([{"order_line_item_id": "1", "refund_amount": {"refund_subtotal": "19.99", "refund_tax": "1.45"}}]),
        );
        let u = unit("0", "0");
        let p = plan(&r, &[&u], dec!(19.99), &MappingConfig::default());
        assert_eq!(p.memo_total, dec!(21.44));
        let _: &ReturnLineItem = &r.return_line_items[0];
    }

    #[test]
    fn a_discounted_unit_refunds_its_share_of_both_discounts() {
        let r = ret(
            json!({"refund_total": "16.49", "refund_subtotal": "16.49"}),
            json!([]),
        );
        let u = unit("2.00", "1.50");
        let p = plan(&r, &[&u], dec!(19.99), &MappingConfig::default());
        assert_eq!(
            items(&p),
            vec![
                ("seller-discount".into(), dec!(-2.00)),
                ("platform-discount".into(), dec!(-1.50))
            ]
        );
        assert_eq!(p.unexplained(), None);
    }

    #[test]
    fn a_partial_refund_books_the_part_not_refunded() {
        let r = ret(
            json!({"refund_total": "5.00", "refund_subtotal": "5.00"}),
            json!([]),
        );
        let u = unit("0", "0");
        let p = plan(&r, &[&u], dec!(19.99), &MappingConfig::default());
        assert_eq!(items(&p), vec![("seller-discount".into(), dec!(-14.99))]);
        assert_eq!(p.memo_total, dec!(5.00));
    }

    #[test]
    fn a_shipping_only_refund_has_no_unit_lines() {
        let r = ret(
            json!({"refund_total": "5.99", "refund_subtotal": "0", "refund_shipping_fee": "5.99"}),
            json!([]),
        );
        let u = unit("0", "0");
        let p = plan(&r, &[&u], dec!(19.99), &MappingConfig::default());
        assert!(!p.include_units);
        assert_eq!(items(&p), vec![("shipping".into(), dec!(5.99))]);
        assert_eq!(p.unexplained(), None);
    }

    #[test]
    fn only_an_unexplained_difference_is_reported() {
        let r = ret(
            json!({"refund_total": "22.00", "refund_subtotal": "19.99", "refund_tax": "1.45"}),
            json!([]),
        );
        let u = unit("0", "0");
        let p = plan(&r, &[&u], dec!(19.99), &MappingConfig::default());
        assert_eq!(p.unexplained(), Some(dec!(0.56)));
    }
}

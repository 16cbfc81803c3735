//! The pure mapping from statement transactions to journal lines.

use super::accounts::{known_group, FEE_NAMES, REVENUE_NAMES, SHIPPING_NAMES, TAX_NAMES};
use super::*;
use crate::tiktok::finance_models::{Statement, StatementTransaction};
use rust_decimal_macros::dec;
use serde_json::json;

fn accounts() -> AccountMap {
    AccountMap::parse(
        "clearing=1200,payout=1250,bank=1010,other=6990,commission=6100,transaction_fees=6110,\
         affiliate=6120,shipping=6130,promotions=6140,fee_taxes=6150,adjustments=6160,reserves=1260,\
         rounding=6999",
    )
    .unwrap()
}

fn statement(id: &str, amount: Decimal, currency: &str) -> Statement {
    serde_json::from_value(json!({
        "id": id, "statement_time": 1_764_633_600, "settlement_amount": amount.to_string(),
        "currency": currency, "payment_status": "PROCESSING"
    }))
    .unwrap()
}

fn tx(v: serde_json::Value) -> StatementTransaction {
    serde_json::from_value(v).unwrap()
}

/// A sale of `gross` with commission, transaction fee, affiliate commission and shipping.
fn order_tx(
    id: &str,
    order: &str,
    gross: &str,
    fees: [&str; 3],
    ship: &str,
) -> StatementTransaction {
    let g: Decimal = gross.parse().unwrap();
    let f: Vec<Decimal> = fees.iter().map(|f| f.parse().unwrap()).collect();
    let s: Decimal = ship.parse().unwrap();
    let fee_total: Decimal = f.iter().sum();
    tx(json!({
        "id": id, "type": "ORDER", "order_id": order,
        "revenue_amount": g.to_string(), "shipping_cost_amount": s.to_string(),
        "fee_tax_amount": fee_total.to_string(),
        "settlement_amount": (g + s + fee_total).to_string(),
        "revenue_breakdown": {"subtotal_before_discount_amount": g.to_string()},
        "shipping_cost_breakdown": {"actual_shipping_fee_amount": s.to_string()},
        "fee_tax_breakdown": {"fee": {
            "platform_commission_amount": f[0].to_string(),
            "transaction_fee_amount": f[1].to_string(),
            "affiliate_commission_amount": f[2].to_string()
        }, "tax": {}}
    }))
}

fn by_account(p: &JournalPlan) -> std::collections::BTreeMap<String, (Decimal, Decimal)> {
    p.lines
        .iter()
        .map(|l| (l.account.clone(), (l.debit, l.credit)))
        .collect()
}

fn assert_ties(p: &JournalPlan) {
    assert_eq!(p.total_debit(), p.total_credit(), "unbalanced: {p:#?}");
    let payout = p
        .lines
        .iter()
        .find(|l| l.memo.starts_with("TikTok settlement"))
        .map(|l| l.debit - l.credit)
        .unwrap_or_default();
    let scale = super::journal::currency_scale(&p.currency);
    assert_eq!(
        payout,
        p.settlement_amount
            .round_dp_with_strategy(scale, rust_decimal::RoundingStrategy::MidpointAwayFromZero)
    );
    for l in &p.lines {
        assert!(
            (l.debit.is_zero()) != (l.credit.is_zero()),
            "a line is a debit or a credit: {l:?}"
        );
    }
}

#[test]
fn an_order_becomes_revenue_fees_shipping_and_payout() {
    let t = order_tx("t1", "o1", "100.00", ["-6.00", "-2.90", "-10.00"], "-5.50");
    let p = plan(&statement("s1", dec!(75.60), "USD"), &[t], &accounts()).unwrap();
    assert_ties(&p);
    let a = by_account(&p);
    assert_eq!(a["1200"], (dec!(0), dec!(100.00)));
    assert_eq!(a["6100"], (dec!(6.00), dec!(0)));
    assert_eq!(a["6110"], (dec!(2.90), dec!(0)));
    assert_eq!(a["6120"], (dec!(10.00), dec!(0)));
    assert_eq!(a["6130"], (dec!(5.50), dec!(0)));
    assert_eq!(a["1250"], (dec!(75.60), dec!(0)));
    assert!(p.unmapped.is_empty());
    let o = &p.orders["o1"];
    assert_eq!(o.revenue, dec!(100.00));
    assert_eq!(o.settlement, dec!(75.60));
    assert_eq!(o.fees["platform_commission_amount"], dec!(-6.00));
    assert_eq!(o.fee_total, dec!(-18.90));
}

#[test]
fn every_fee_field_is_mapped_or_routed_to_other() {
    // One transaction carrying every name the bridge knows plus two it does not.
    let mut fee = serde_json::Map::new();
    let mut total = Decimal::ZERO;
    for (i, (name, _)) in FEE_NAMES.iter().enumerate() {
        let amount = -Decimal::new(i as i64 + 1, 2);
        total += amount;
        fee.insert(name.to_string(), json!(amount.to_string()));
    }
    fee.insert("brand_new_fee_amount".into(), json!("-1.11"));
    fee.insert("another_new_fee".into(), json!("-0.89"));
    total += dec!(-2.00);
    let mut tax = serde_json::Map::new();
    for name in TAX_NAMES {
        tax.insert(name.to_string(), json!("-0.10"));
        total += dec!(-0.10);
    }
    let mut shipping = serde_json::Map::new();
    let mut ship_total = Decimal::ZERO;
    for name in SHIPPING_NAMES {
        shipping.insert(name.to_string(), json!("-0.05"));
        ship_total += dec!(-0.05);
    }
    let mut revenue = serde_json::Map::new();
    for name in REVENUE_NAMES {
        revenue.insert(name.to_string(), json!("1.00"));
    }
    let rev_total = Decimal::from(REVENUE_NAMES.len());
    let settlement = rev_total + ship_total + total;
    let t = tx(json!({
        "id": "t1", "type": "ORDER", "order_id": "o1",
        "revenue_amount": rev_total.to_string(), "shipping_cost_amount": ship_total.to_string(),
        "fee_tax_amount": total.to_string(), "settlement_amount": settlement.to_string(),
        "revenue_breakdown": revenue, "shipping_cost_breakdown": shipping,
        "fee_tax_breakdown": {"fee": fee, "tax": tax}
    }));
    let m = accounts();
    let p = plan(&statement("s1", settlement, "USD"), &[t], &m).unwrap();
    assert_ties(&p);
    // Each known name went to its group's account.
    for (name, group) in FEE_NAMES {
        assert_eq!(m.resolve(name).account, m.account(*group), "{name}");
        assert_eq!(known_group(name), Some(*group));
    }
    let names: Vec<&str> = p.unmapped.iter().map(|u| u.name.as_str()).collect();
    assert_eq!(names, vec!["another_new_fee", "brand_new_fee_amount"]);
    // "Other" holds exactly the unknown fees.
    assert_eq!(by_account(&p)["6990"], (dec!(2.00), dec!(0)));
    assert_eq!(by_account(&p)["6150"], (dec!(1.10), dec!(0)));
}

#[test]
fn refunds_adjustments_and_reserves_tie_out() {
    let sale = order_tx("t1", "o1", "50.00", ["-3.00", "-1.45", "0"], "-4.00");
    // A refund: negative revenue, fees partly given back.
    let refund = tx(json!({
        "id": "t2", "type": "ORDER", "order_id": "o2",
        "revenue_amount": "-20.00", "fee_tax_amount": "1.20", "shipping_cost_amount": "-3.00",
        "settlement_amount": "-21.80",
        "revenue_breakdown": {"refund_subtotal_before_discount_amount": "-20.00"},
        "shipping_cost_breakdown": {"return_shipping_fee_amount": "-3.00"},
        "fee_tax_breakdown": {"fee": {"platform_commission_amount": "1.20"}, "tax": {}}
    }));
    let penalty = tx(json!({
        "id": "t3", "type": "PLATFORM_PENALTY", "adjustment_id": "a1",
        "adjustment_amount": "-7.50", "settlement_amount": "-7.50"
    }));
    let reimbursement = tx(json!({
        "id": "t4", "type": "LOGISTICS_REIMBURSEMENT", "adjustment_id": "a2",
        "adjustment_order_id": "o1", "adjustment_amount": "2.25", "settlement_amount": "2.25"
    }));
    let withheld = tx(json!({
        "id": "t5", "type": "RESERVE", "reserve_id": "r1", "reserve_status": "FROZEN",
        "reserve_amount": "-10.00", "settlement_amount": "-10.00"
    }));
    let released = tx(json!({
        "id": "t6", "type": "RESERVE", "reserve_id": "r0", "reserve_status": "RELEASED",
        "reserve_amount": "4.00", "settlement_amount": "4.00"
    }));
    let all = [sale, refund, penalty, reimbursement, withheld, released];
    let total: Decimal = all.iter().map(|t| t.settlement_amount).sum();
    assert_eq!(total, dec!(8.50));
    let m = AccountMap::parse(&format!(
        "{},PLATFORM_PENALTY=6170",
        "clearing=1200,payout=1250,other=6990,commission=6100,transaction_fees=6110,\
         shipping=6130,adjustments=6160,reserves=1260"
    ))
    .unwrap();
    let p = plan(&statement("s1", total, "USD"), &all, &m).unwrap();
    assert_ties(&p);
    let a = by_account(&p);
    assert_eq!(
        a["1200"],
        (dec!(0), dec!(30.00)),
        "revenue net of the refund"
    );
    assert_eq!(
        a["6100"],
        (dec!(1.80), dec!(0)),
        "commission net of the give-back"
    );
    assert_eq!(a["6170"], (dec!(7.50), dec!(0)), "a mapped adjustment type");
    assert_eq!(a["6160"], (dec!(0), dec!(2.25)), "other adjustments");
    assert_eq!(
        a["1260"],
        (dec!(6.00), dec!(0)),
        "reserves held net of released"
    );
    assert_eq!(a["1250"], (dec!(8.50), dec!(0)));
    assert!(p.unmapped.is_empty());
    assert_eq!(p.orders["o2"].revenue, dec!(-20.00));
    // The reimbursement names o1: it counts toward o1's settlement.
    assert_eq!(p.orders["o1"].adjustments, dec!(2.25));
    assert!(!p.orders.contains_key(""));
}

#[test]
fn a_negative_statement_credits_the_payout_account() {
    let penalty = tx(json!({
        "id": "t1", "type": "CHARGE_BACK", "adjustment_amount": "-40.00", "settlement_amount": "-40.00"
    }));
    let p = plan(
        &statement("s1", dec!(-40.00), "USD"),
        &[penalty],
        &accounts(),
    )
    .unwrap();
    assert_ties(&p);
    assert_eq!(by_account(&p)["1250"], (dec!(0), dec!(40.00)));
}

#[test]
fn transactions_that_do_not_add_up_are_refused() {
    let t = order_tx("t1", "o1", "10.00", ["-1.00", "0", "0"], "0");
    let err = plan(&statement("s1", dec!(12.00), "USD"), &[t], &accounts()).unwrap_err();
    assert!(matches!(err, PlanError::DoesNotTie { .. }));
}

#[test]
fn a_transaction_seen_twice_is_booked_once() {
    let t = order_tx("t1", "o1", "10.00", ["-1.00", "0", "0"], "0");
    let p = plan(
        &statement("s1", dec!(9.00), "USD"),
        &[t.clone(), t],
        &accounts(),
    )
    .unwrap();
    assert_ties(&p);
    assert_eq!(p.orders["o1"].transaction_ids, vec!["t1"]);
}

#[test]
fn amounts_tiktok_does_not_itemize_still_tie_and_are_reported() {
    // Fees with no breakdown, and a settlement a cent above its components.
    let t = tx(json!({
        "id": "t1", "type": "ORDER", "order_id": "o1", "revenue_amount": "10.00",
        "fee_tax_amount": "-1.00", "settlement_amount": "9.01"
    }));
    let p = plan(&statement("s1", dec!(9.01), "USD"), &[t], &accounts()).unwrap();
    assert_ties(&p);
    let names: Vec<_> = p.unmapped.iter().map(|u| u.name.as_str()).collect();
    assert_eq!(
        names,
        vec!["unitemized:fee_tax_amount", "unitemized:settlement_amount"]
    );
    assert_eq!(by_account(&p)["6990"], (dec!(0.99), dec!(0)));
}

#[test]
fn rounding_with_many_orders_ties_to_the_cent() {
    // 1,000 orders whose fees carry a third decimal: each account total is rounded once,
    // and the payout line still equals the statement to the cent.
    let mut all = Vec::new();
    let mut total = Decimal::ZERO;
    for i in 0..1000 {
        let t = tx(json!({
            "id": format!("t{i}"), "type": "ORDER", "order_id": format!("o{i}"),
            "revenue_amount": "19.99", "fee_tax_amount": "-1.333", "shipping_cost_amount": "-0.005",
            "settlement_amount": "18.652",
            "revenue_breakdown": {"subtotal_before_discount_amount": "19.99"},
            "shipping_cost_breakdown": {"actual_shipping_fee_amount": "-0.005"},
            "fee_tax_breakdown": {"fee": {"platform_commission_amount": "-1.000",
                "transaction_fee_amount": "-0.333"}, "tax": {}}
        }));
        total += t.settlement_amount;
        all.push(t);
    }
    assert_eq!(total, dec!(18652.000));
    let p = plan(&statement("s1", total, "USD"), &all, &accounts()).unwrap();
    assert_ties(&p);
    let a = by_account(&p);
    assert_eq!(a["1200"], (dec!(0), dec!(19990.00)));
    assert_eq!(a["6110"], (dec!(333.00), dec!(0)));
    assert_eq!(a["6130"], (dec!(5.00), dec!(0)));
    assert_eq!(p.rounding, Decimal::ZERO);
    assert_eq!(p.lines.len(), 5, "aggregated by account: {:?}", p.lines);
    for l in &p.lines {
        assert!(l.debit.scale() <= 2 && l.credit.scale() <= 2);
    }
}

#[test]
fn rounding_left_over_goes_to_the_rounding_account() {
    // Three fees of 0.005 round to 0.01 each account-wise, but the statement says 0.02.
    let m = AccountMap::parse(
        "clearing=1200,payout=1250,other=6990,commission=6100,transaction_fees=6110,\
         affiliate=6120,rounding=6999",
    )
    .unwrap();
    let t = tx(json!({
        "id": "t1", "type": "ORDER", "order_id": "o1", "revenue_amount": "10.000",
        "fee_tax_amount": "-0.015", "settlement_amount": "9.985",
        "fee_tax_breakdown": {"fee": {"platform_commission_amount": "-0.005",
            "transaction_fee_amount": "-0.005", "affiliate_commission_amount": "-0.005"}}
    }));
    let p = plan(&statement("s1", dec!(9.985), "USD"), &[t], &m).unwrap();
    assert_ties(&p);
    // Payout rounds to 9.99; lines are 10.00 - 3 × 0.01 = 9.97: 0.02 left over.
    assert_eq!(p.rounding, dec!(0.02));
    assert_eq!(by_account(&p)["6999"], (dec!(0), dec!(0.02)));
}

#[test]
fn a_zero_decimal_currency_rounds_to_whole_units() {
    let t = order_tx("t1", "o1", "1500", ["-90", "-45", "0"], "-300");
    let p = plan(&statement("s1", dec!(1065), "JPY"), &[t], &accounts()).unwrap();
    assert_ties(&p);
    assert_eq!(p.currency, "JPY");
    assert!(p
        .lines
        .iter()
        .all(|l| l.debit.scale() == 0 && l.credit.scale() == 0));
}

#[test]
fn dimensions_ride_on_every_line_and_into_the_body() {
    let m = accounts().with_dimensions(Dimensions {
        class: Some("7".into()),
        department: None,
        location: Some("3".into()),
    });
    let t = order_tx("t1", "o1", "10.00", ["-1.00", "0", "0"], "0");
    let p = plan(&statement("s1", dec!(9.00), "USD"), &[t], &m).unwrap();
    let header = EntryHeader {
        external_id: journal_external_id("s1"),
        subsidiary: Some("2".into()),
        currency: Some("1".into()),
        exchange_rate: None,
        tran_date: tran_date(1_764_633_600),
        memo: "m".into(),
    };
    let body = journal_entry_body(&header, &p.lines);
    assert_eq!(body["externalId"], "tiktok-statement:s1");
    assert_eq!(body["tranDate"], "2025-12-02");
    assert_eq!(body["subsidiary"]["id"], "2");
    let items = body["line"]["items"].as_array().unwrap();
    assert_eq!(items.len(), 3);
    for item in items {
        assert_eq!(item["class"]["id"], "7");
        assert_eq!(item["location"]["id"], "3");
        assert!(item.get("department").is_none());
        assert!(item.get("debit").is_some() != item.get("credit").is_some());
    }
}

#[test]
fn payout_moves_in_transit_to_the_bank_or_nothing_when_they_are_one() {
    let lines = payout_lines(&accounts(), "s1", dec!(75.60));
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0].account, "1010");
    assert_eq!(lines[0].debit, dec!(75.60));
    assert_eq!(lines[1].account, "1250");
    assert_eq!(lines[1].credit, dec!(75.60));
    let same = AccountMap::parse("clearing=1200,payout=1010,other=6990").unwrap();
    assert!(payout_lines(&same, "s1", dec!(75.60)).is_empty());
}

#[test]
fn dates_are_utc_calendar_days() {
    assert_eq!(tran_date(0), "1970-01-01");
    assert_eq!(tran_date(951_782_400), "2000-02-29");
    assert_eq!(tran_date(1_764_719_999), "2025-12-02");
}

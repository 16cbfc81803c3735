//! From a statement and its transactions to the lines of one journal entry, as a pure
//! function of values. Each amount TikTok reports is booked to the account its name maps
//! to (positive amounts are credits, fees and costs debits), lines are netted per account
//! and segment, and the statement's settlement amount is debited to the payout account, so
//! the entry balances exactly when TikTok's transactions add up to its statement, which is
//! checked rather than assumed.

use super::accounts::{AccountMap, Dimensions, Group, Resolved};
use crate::tiktok::finance_models::{parse_amount, Statement, StatementTransaction};
use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// One line of the journal entry: exactly one of `debit` and `credit` is above zero.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JournalLine {
    pub account: String,
    pub debit: Decimal,
    pub credit: Decimal,
    pub memo: String,
    pub dimensions: Dimensions,
}

/// What one order's lines of a statement add up to (the per-order truth).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderSettlement {
    pub order_id: String,
    pub revenue: Decimal,
    pub shipping_cost: Decimal,
    /// Fees and taxes on fees, by TikTok's name (negative).
    pub fees: BTreeMap<String, Decimal>,
    pub fee_total: Decimal,
    pub adjustments: Decimal,
    pub settlement: Decimal,
    pub transaction_ids: Vec<String>,
}

/// A name the map did not know, booked to "other" and reported for review.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct UnmappedAmount {
    /// TikTok's name, or `unitemized:<component>` for an amount TikTok did not break down.
    pub name: String,
    pub amount: Decimal,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JournalPlan {
    pub statement_id: String,
    pub currency: String,
    /// The statement's settlement amount: what the payout line carries.
    pub settlement_amount: Decimal,
    pub lines: Vec<JournalLine>,
    /// Names routed to "other", summed over the statement.
    pub unmapped: Vec<UnmappedAmount>,
    /// What rounding account totals to the currency's minor unit left over (booked to the
    /// rounding account when not zero).
    pub rounding: Decimal,
    pub orders: BTreeMap<String, OrderSettlement>,
}

impl JournalPlan {
    pub fn total_debit(&self) -> Decimal {
        self.lines.iter().map(|l| l.debit).sum()
    }

    pub fn total_credit(&self) -> Decimal {
        self.lines.iter().map(|l| l.credit).sum()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    /// TikTok's transactions do not add up to its statement (a page missing, or a
    /// statement still being written): booking it would not tie out.
    #[error("statement {statement_id}: transactions sum to {transactions}, the statement says {statement}")]
    DoesNotTie {
        statement_id: String,
        statement: Decimal,
        transactions: Decimal,
    },
    #[error("transaction {transaction_id} is in {found}, the statement in {expected}")]
    MixedCurrency {
        transaction_id: String,
        expected: String,
        found: String,
    },
    #[error("{0}")]
    BadAmount(String),
}

/// Minor-unit digits of a currency (ISO 4217) for the amounts NetSuite is sent.
pub fn currency_scale(currency: &str) -> u32 {
    match currency.to_ascii_uppercase().as_str() {
        "JPY" | "KRW" | "VND" | "CLP" | "ISK" | "UGX" | "XAF" | "XOF" | "PYG" => 0,
        "BHD" | "KWD" | "OMR" | "JOD" | "TND" => 3,
        _ => 2,
    }
}

/// Net amounts per (account, segments), credit-positive, with the groups that fed each.
#[derive(Default)]
struct Ledger {
    nets: BTreeMap<(String, Dimensions), (Decimal, BTreeSet<Group>)>,
    unmapped: BTreeMap<String, Decimal>,
}

impl Ledger {
    fn book(&mut self, r: &Resolved, dims: &Dimensions, amount: Decimal, name: &str) {
        if amount.is_zero() {
            return;
        }
        let slot = self
            .nets
            .entry((r.account.clone(), dims.clone()))
            .or_default();
        slot.0 += amount;
        slot.1.insert(r.group);
        if !r.known {
            *self.unmapped.entry(name.to_string()).or_default() += amount;
        }
    }
}

/// Top-level amounts of a breakdown; nested objects (supplementary components) explain a
/// field rather than add to it, so they are not booked.
fn breakdown_amounts(
    tx: &StatementTransaction,
    map: &BTreeMap<String, Value>,
) -> Result<Vec<(String, Decimal)>, PlanError> {
    let mut out = Vec::new();
    for (name, v) in map {
        if v.is_object() || v.is_array() {
            continue;
        }
        let amount = parse_amount(v)
            .ok_or_else(|| PlanError::BadAmount(format!("transaction {}: {name} is {v}", tx.id)))?;
        out.push((name.clone(), amount));
    }
    Ok(out)
}

/// Books one component (revenue, shipping, fees) of a transaction: each named amount to its
/// account, and whatever the names do not explain of `total` to `residual`.
fn book_component(
    ledger: &mut Ledger,
    accounts: &AccountMap,
    order: Option<&mut OrderSettlement>,
    named: Vec<(String, Decimal)>,
    total: Decimal,
    residual: (&Resolved, &str),
) {
    let dims = &accounts.dimensions;
    let mut explained = Decimal::ZERO;
    let mut order = order;
    for (name, amount) in named {
        let r = accounts.resolve(&name);
        ledger.book(&r, dims, amount, &name);
        explained += amount;
        if let Some(o) = order.as_deref_mut() {
            if r.group != Group::Clearing && r.group != Group::Shipping && !amount.is_zero() {
                *o.fees.entry(name).or_default() += amount;
            }
        }
    }
    let rest = total - explained;
    ledger.book(residual.0, dims, rest, residual.1);
    if let Some(o) = order {
        if residual.0.group != Group::Clearing
            && residual.0.group != Group::Shipping
            && !rest.is_zero()
        {
            *o.fees.entry(residual.1.to_string()).or_default() += rest;
        }
    }
}

/// The journal entry of `statement` from all of its `transactions`.
pub fn plan(
    statement: &Statement,
    transactions: &[StatementTransaction],
    accounts: &AccountMap,
) -> Result<JournalPlan, PlanError> {
    let currency = statement.currency.to_ascii_uppercase();
    let mut ledger = Ledger::default();
    let mut orders: BTreeMap<String, OrderSettlement> = BTreeMap::new();
    let mut sum = Decimal::ZERO;
    let dims = accounts.dimensions.clone();
    let revenue_rest = Resolved {
        account: accounts.account(Group::Clearing).to_string(),
        group: Group::Clearing,
        known: true,
    };
    let shipping_rest = Resolved {
        account: accounts.account(Group::Shipping).to_string(),
        group: Group::Shipping,
        known: true,
    };
    let unitemized = |component: &str| {
        (
            Resolved {
                account: accounts.account(Group::Other).to_string(),
                group: Group::Other,
                known: false,
            },
            format!("unitemized:{component}"),
        )
    };
    let mut seen = BTreeSet::new();
    for tx in transactions {
        // A transaction listed twice (a page served again) is one transaction.
        if !seen.insert(tx.id.clone()) {
            continue;
        }
        sum += tx.settlement_amount;
        let kind = tx.kind.to_ascii_uppercase();
        let is_order = kind == "ORDER" || kind.is_empty();
        let is_reserve = kind == "RESERVE";
        let order_key = if is_order || !is_reserve {
            tx.order_ref().map(str::to_string)
        } else {
            None
        };
        if let Some(id) = &order_key {
            let o = orders.entry(id.clone()).or_insert_with(|| OrderSettlement {
                order_id: id.clone(),
                ..OrderSettlement::default()
            });
            o.revenue += tx.revenue_amount;
            o.shipping_cost += tx.shipping_cost_amount;
            o.fee_total += tx.fee_tax_amount;
            o.adjustments += tx.adjustment_amount;
            o.settlement += tx.settlement_amount;
            o.transaction_ids.push(tx.id.clone());
        }
        let mut booked = Decimal::ZERO;

        let revenue = breakdown_amounts(tx, &tx.revenue_breakdown)?;
        book_component(
            &mut ledger,
            accounts,
            None,
            revenue,
            tx.revenue_amount,
            (&revenue_rest, "revenue_amount"),
        );
        booked += tx.revenue_amount;

        let shipping = breakdown_amounts(tx, &tx.shipping_cost_breakdown)?;
        book_component(
            &mut ledger,
            accounts,
            None,
            shipping,
            tx.shipping_cost_amount,
            (&shipping_rest, "shipping_cost_amount"),
        );
        booked += tx.shipping_cost_amount;

        let mut fees = breakdown_amounts(tx, &tx.fee_tax_breakdown.fee)?;
        fees.extend(breakdown_amounts(tx, &tx.fee_tax_breakdown.tax)?);
        let (fee_rest, fee_rest_name) = unitemized("fee_tax_amount");
        book_component(
            &mut ledger,
            accounts,
            order_key.as_ref().and_then(|id| orders.get_mut(id)),
            fees,
            tx.fee_tax_amount,
            (&fee_rest, &fee_rest_name),
        );
        booked += tx.fee_tax_amount;

        if !tx.adjustment_amount.is_zero() {
            let r = accounts.adjustment(&kind);
            ledger.book(&r, &dims, tx.adjustment_amount, &kind);
            booked += tx.adjustment_amount;
        }
        if is_reserve {
            let r = Resolved {
                account: accounts.account(Group::Reserves).to_string(),
                group: Group::Reserves,
                known: true,
            };
            ledger.book(&r, &dims, tx.reserve_amount, "reserve_amount");
            booked += tx.reserve_amount;
        }
        // Whatever the components do not explain of the transaction's settlement still
        // moved money: booked to other and reported, so the entry ties.
        let (rest, rest_name) = unitemized("settlement_amount");
        ledger.book(&rest, &dims, tx.settlement_amount - booked, &rest_name);
    }

    if sum != statement.settlement_amount {
        return Err(PlanError::DoesNotTie {
            statement_id: statement.id.clone(),
            statement: statement.settlement_amount,
            transactions: sum,
        });
    }

    let scale = currency_scale(&currency);
    let round =
        |d: Decimal| d.round_dp_with_strategy(scale, RoundingStrategy::MidpointAwayFromZero);
    let mut lines = Vec::new();
    let mut credited = Decimal::ZERO;
    for ((account, dimensions), (net, groups)) in ledger.nets {
        let net = round(net);
        if net.is_zero() {
            continue;
        }
        credited += net;
        let memo = groups
            .iter()
            .map(|g| g.label())
            .collect::<Vec<_>>()
            .join(", ");
        lines.push(line(account, dimensions, net, memo));
    }
    let payout = round(statement.settlement_amount);
    // Lines rounded one by one may miss the rounded total by a few minor units.
    let rounding = payout - credited;
    if !rounding.is_zero() {
        lines.push(line(
            accounts.account(Group::Rounding).to_string(),
            dims.clone(),
            rounding,
            Group::Rounding.label().to_string(),
        ));
    }
    if !payout.is_zero() {
        lines.push(line(
            accounts.account(Group::Payout).to_string(),
            dims.clone(),
            -payout,
            format!("{} {}", Group::Payout.label(), statement.id),
        ));
    }
    Ok(JournalPlan {
        statement_id: statement.id.clone(),
        currency,
        settlement_amount: statement.settlement_amount,
        lines,
        unmapped: ledger
            .unmapped
            .into_iter()
            .map(|(name, amount)| UnmappedAmount { name, amount })
            .collect(),
        rounding,
        orders,
    })
}

/// A credit-positive net as a line: credits stay, negatives become debits.
fn line(account: String, dimensions: Dimensions, net: Decimal, memo: String) -> JournalLine {
    let (debit, credit) = if net.is_sign_negative() {
        (-net, Decimal::ZERO)
    } else {
        (Decimal::ZERO, net)
    };
    JournalLine {
        account,
        debit,
        credit,
        memo,
        dimensions,
    }
}

//! Finance payloads (finance reference): statements, their transactions, an order's
//! transactions and payments, parsed at the boundary. Pure data, so the settlement mapping
//! (a pure domain module) can use them without reaching the client.

use super::models::{id_string, opt_id_string};
use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer, Serialize};
use std::collections::BTreeMap;
use std::str::FromStr;

/// An amount as TikTok sends it: a decimal string, sometimes a number; empty or absent is 0.
pub fn parse_amount(v: &serde_json::Value) -> Option<Decimal> {
    match v {
        serde_json::Value::String(s) if s.trim().is_empty() => Some(Decimal::ZERO),
        serde_json::Value::String(s) => Decimal::from_str(s.trim())
            .or_else(|_| Decimal::from_scientific(s.trim()))
            .ok(),
        serde_json::Value::Number(n) => Decimal::from_str(&n.to_string())
            .or_else(|_| Decimal::from_scientific(&n.to_string()))
            .ok(),
        serde_json::Value::Null => Some(Decimal::ZERO),
        _ => None,
    }
}

fn amount<'de, D: Deserializer<'de>>(d: D) -> Result<Decimal, D::Error> {
    let v = serde_json::Value::deserialize(d)?;
    parse_amount(&v).ok_or_else(|| serde::de::Error::custom(format!("not an amount: {v}")))
}

/// One daily statement (per shop and currency). Fees and costs are negative.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Statement {
    #[serde(deserialize_with = "id_string")]
    pub id: String,
    #[serde(default)]
    pub statement_time: i64,
    #[serde(default, deserialize_with = "amount")]
    pub settlement_amount: Decimal,
    #[serde(default)]
    pub currency: String,
    #[serde(default, deserialize_with = "amount")]
    pub revenue_amount: Decimal,
    #[serde(default, deserialize_with = "amount")]
    pub fee_amount: Decimal,
    #[serde(default, deserialize_with = "amount")]
    pub adjustment_amount: Decimal,
    #[serde(default, deserialize_with = "amount")]
    pub shipping_cost_amount: Decimal,
    #[serde(default, deserialize_with = "amount")]
    pub net_sales_amount: Decimal,
    /// PROCESSING, PAID or FAILED.
    #[serde(default)]
    pub payment_status: String,
    #[serde(default, deserialize_with = "opt_id_string")]
    pub payment_id: Option<String>,
    #[serde(default)]
    pub payment_time: Option<i64>,
}

/// Filters and paging of Get Statements (sorted by `statement_time`, which TikTok requires).
#[derive(Debug, Clone, Default)]
pub struct StatementQuery {
    pub statement_time_ge: Option<i64>,
    pub statement_time_lt: Option<i64>,
    pub payment_status: Option<String>,
    pub page_size: u32,
    pub page_token: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct StatementPage {
    #[serde(default)]
    pub statements: Vec<Statement>,
    #[serde(default)]
    pub next_page_token: Option<String>,
    #[serde(default)]
    pub total_count: Option<u64>,
}

/// `fee_tax_breakdown`: fees and the taxes on them, each a map of names to amounts.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FeeTaxBreakdown {
    #[serde(default)]
    pub fee: BTreeMap<String, serde_json::Value>,
    #[serde(default)]
    pub tax: BTreeMap<String, serde_json::Value>,
}

/// One line of a statement: an order's settlement, an adjustment or a reserve movement.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatementTransaction {
    #[serde(deserialize_with = "id_string")]
    pub id: String,
    /// ORDER, RESERVE, or an adjustment type (CHARGE_BACK, PLATFORM_PENALTY, ...).
    #[serde(default, rename = "type")]
    pub kind: String,
    #[serde(default, deserialize_with = "opt_id_string")]
    pub order_id: Option<String>,
    #[serde(default)]
    pub order_create_time: Option<i64>,
    #[serde(default, deserialize_with = "opt_id_string")]
    pub adjustment_id: Option<String>,
    #[serde(default, deserialize_with = "opt_id_string")]
    pub adjustment_order_id: Option<String>,
    #[serde(default, deserialize_with = "opt_id_string")]
    pub associated_order_id: Option<String>,
    #[serde(default, deserialize_with = "opt_id_string")]
    pub reserve_id: Option<String>,
    #[serde(default)]
    pub reserve_status: Option<String>,
    #[serde(default, deserialize_with = "amount")]
    pub settlement_amount: Decimal,
    #[serde(default, deserialize_with = "amount")]
    pub revenue_amount: Decimal,
    #[serde(default, deserialize_with = "amount")]
    pub shipping_cost_amount: Decimal,
    #[serde(default, deserialize_with = "amount")]
    pub fee_tax_amount: Decimal,
    #[serde(default, deserialize_with = "amount")]
    pub adjustment_amount: Decimal,
    #[serde(default, deserialize_with = "amount")]
    pub reserve_amount: Decimal,
    #[serde(default)]
    pub revenue_breakdown: BTreeMap<String, serde_json::Value>,
    #[serde(default)]
    pub shipping_cost_breakdown: BTreeMap<String, serde_json::Value>,
    #[serde(default)]
    pub fee_tax_breakdown: FeeTaxBreakdown,
}

impl StatementTransaction {
    /// The order this line is about, whichever field carries it.
    pub fn order_ref(&self) -> Option<&str> {
        self.order_id
            .as_deref()
            .or(self.adjustment_order_id.as_deref())
            .or(self.associated_order_id.as_deref())
            .filter(|s| !s.is_empty())
    }
}

/// One page of Get Transactions by Statement.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct StatementTransactionPage {
    #[serde(default)]
    pub currency: String,
    #[serde(default, deserialize_with = "amount")]
    pub total_settlement_amount: Decimal,
    #[serde(default, deserialize_with = "amount")]
    pub total_reserve_amount: Decimal,
    #[serde(default)]
    pub transactions: Vec<StatementTransaction>,
    #[serde(default)]
    pub next_page_token: Option<String>,
    #[serde(default)]
    pub total_count: Option<u64>,
}

/// Get Transactions by Order: what TikTok settled of one order so far, with its SKU lines
/// kept as sent (the bridge reads the totals).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct OrderTransactions {
    #[serde(default, deserialize_with = "opt_id_string")]
    pub order_id: Option<String>,
    #[serde(default)]
    pub order_create_time: Option<i64>,
    #[serde(default)]
    pub currency: String,
    #[serde(default, deserialize_with = "amount")]
    pub revenue_amount: Decimal,
    #[serde(default, deserialize_with = "amount")]
    pub fee_and_tax_amount: Decimal,
    #[serde(default, deserialize_with = "amount")]
    pub shipping_cost_amount: Decimal,
    #[serde(default, deserialize_with = "amount")]
    pub settlement_amount: Decimal,
    #[serde(default)]
    pub sku_transactions: Vec<serde_json::Value>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Money {
    #[serde(default, deserialize_with = "amount")]
    pub value: Decimal,
    #[serde(default)]
    pub currency: String,
}

/// A payout to the seller's bank account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Payment {
    #[serde(deserialize_with = "id_string")]
    pub id: String,
    #[serde(default)]
    pub create_time: Option<i64>,
    /// PROCESSING, PAID or FAILED.
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub amount: Money,
    #[serde(default)]
    pub settlement_amount: Money,
    #[serde(default)]
    pub payment_amount_before_exchange: Money,
    #[serde(default)]
    pub exchange_rate: Option<String>,
    #[serde(default)]
    pub paid_time: Option<i64>,
    #[serde(default)]
    pub bank_account: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct PaymentQuery {
    pub create_time_ge: Option<i64>,
    pub create_time_lt: Option<i64>,
    pub page_size: u32,
    pub page_token: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct PaymentPage {
    #[serde(default)]
    pub payments: Vec<Payment>,
    #[serde(default)]
    pub next_page_token: Option<String>,
}

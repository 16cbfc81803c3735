//! Finance operations of the simulated shop (finance reference): daily statements built from
//! the sandbox's own orders, refunds and cancellations with configurable fee rates, plus
//! adjustments and reserves; the transactions behind each statement, paged by token; an
//! order's transactions; payments. Amounts are decimal strings and fees are negative, as
//! TikTok sends them. Staged through `/_sandbox/tiktok/finance/...` or from Rust.

use super::api::{bad_param, param, success, Admitted};
use super::fixtures::now_unix;
use super::TikTokSandbox;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::str::FromStr;
use std::sync::Arc;

type Sb = Arc<TikTokSandbox>;
/// A refusal carried through `Result`; boxed because `Response` is large.
type Refusal = Box<Response>;

fn refuse(message: &str) -> Refusal {
    Box::new(bad_param(message))
}

/// Largest page the finance list operations accept.
const MAX_PAGE_SIZE: usize = 100;

/// What TikTok charges the seller per order. Rates apply to the order's revenue (the
/// transaction fee also to the shipping the buyer paid); `shipping_cost` is the label cost
/// per order; `extra_fees` are per-order fixed fees under any name, e.g. a fee the bridge
/// has never heard of.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FeeRates {
    pub commission: Decimal,
    pub transaction_fee: Decimal,
    pub affiliate_commission: Decimal,
    pub shipping_cost: Decimal,
    /// VAT on TikTok's fees, as a rate of them (0 in the US).
    pub fee_tax: Decimal,
    pub extra_fees: BTreeMap<String, Decimal>,
}

impl Default for FeeRates {
    fn default() -> Self {
        FeeRates {
            commission: dec!(0.06),
            transaction_fee: dec!(0.029),
            affiliate_commission: Decimal::ZERO,
            shipping_cost: dec!(4.50),
            fee_tax: Decimal::ZERO,
            extra_fees: BTreeMap::new(),
        }
    }
}

/// A TikTok adjustment (CHARGE_BACK, PLATFORM_PENALTY, LOGISTICS_REIMBURSEMENT, ...).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AdjustmentSpec {
    #[serde(rename = "type")]
    pub kind: String,
    pub amount: Decimal,
    #[serde(default)]
    pub order_id: Option<String>,
}

/// Money held back (negative) or released (positive).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReserveSpec {
    pub amount: Decimal,
    #[serde(default)]
    pub status: Option<String>,
}

/// What goes on a statement: the given orders' sales not settled yet and their refunds not
/// settled yet (cancelled orders settle nothing), then adjustments and reserves.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct StatementSpec {
    pub order_ids: Vec<String>,
    /// Defaults to the orders' currency, else USD.
    pub currency: Option<String>,
    pub statement_time: Option<i64>,
    pub adjustments: Vec<AdjustmentSpec>,
    pub reserves: Vec<ReserveSpec>,
}

struct SandboxStatement {
    head: Value,
    transactions: Vec<Value>,
}

#[derive(Default)]
pub(super) struct FinanceState {
    rates: FeeRates,
    statements: BTreeMap<String, SandboxStatement>,
    payments: BTreeMap<String, Value>,
    settled_orders: BTreeSet<String>,
    settled_returns: BTreeSet<String>,
    next_id: u64,
}

impl FinanceState {
    fn id(&mut self, prefix: u64) -> String {
        self.next_id += 1;
        format!("{prefix}{:010}", self.next_id)
    }
}

fn money(d: Decimal) -> String {
    format!("{:.2}", d.round_dp(2))
}

fn amount_of(v: &Value) -> Decimal {
    match v {
        Value::String(s) => Decimal::from_str(s).unwrap_or_default(),
        Value::Number(n) => Decimal::from_str(&n.to_string()).unwrap_or_default(),
        _ => Decimal::ZERO,
    }
}

fn text<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or_default()
}

/// One ORDER transaction: a sale (`sign` 1) or a refund of `share` of it (`sign` -1, fees
/// given back in proportion, as TikTok does for commission).
fn order_transaction(
    id: String,
    order: &Value,
    rates: &FeeRates,
    share: Decimal,
    refund: bool,
) -> Value {
    let p = &order["payment"];
    let original = amount_of(&p["original_total_product_price"]) * share;
    let seller_discount = amount_of(&p["seller_discount"]) * share;
    let revenue = (original - seller_discount).round_dp(2);
    let customer_shipping = if refund {
        Decimal::ZERO
    } else {
        amount_of(&p["shipping_fee"])
    };
    let sign = if refund { -Decimal::ONE } else { Decimal::ONE };
    let mut fee = Map::new();
    let commission = -(revenue * rates.commission).round_dp(2) * sign;
    let transaction_fee = if refund {
        Decimal::ZERO
    } else {
        -((revenue + customer_shipping) * rates.transaction_fee).round_dp(2)
    };
    let affiliate = -(revenue * rates.affiliate_commission).round_dp(2) * sign;
    fee.insert(
        "platform_commission_amount".into(),
        json!(money(commission)),
    );
    fee.insert(
        "transaction_fee_amount".into(),
        json!(money(transaction_fee)),
    );
    fee.insert(
        "affiliate_commission_amount".into(),
        json!(money(affiliate)),
    );
    let mut fee_total = commission + transaction_fee + affiliate;
    if !refund {
        for (name, charge) in &rates.extra_fees {
            let a = -charge.round_dp(2);
            fee.insert(name.clone(), json!(money(a)));
            fee_total += a;
        }
    }
    let vat = (fee_total * rates.fee_tax).round_dp(2);
    let mut tax = Map::new();
    tax.insert("vat_amount".into(), json!(money(vat)));
    fee_total += vat;
    let (shipping, shipping_breakdown) = if refund {
        (Decimal::ZERO, json!({}))
    } else {
        let actual = -rates.shipping_cost.round_dp(2);
        (
            customer_shipping + actual,
            json!({
                "actual_shipping_fee_amount": money(actual),
                "customer_paid_shipping_fee_amount": money(customer_shipping),
                "shipping_fee_discount_amount": "0.00",
            }),
        )
    };
    let revenue_signed = revenue * sign;
    let revenue_breakdown = if refund {
        json!({
            "refund_subtotal_before_discount_amount": money(-(original.round_dp(2))),
            "seller_discount_refund_amount": money(original.round_dp(2) - revenue),
        })
    } else {
        json!({
            "subtotal_before_discount_amount": money(original.round_dp(2)),
            "seller_discount_amount": money(revenue - original.round_dp(2)),
        })
    };
    let settlement = revenue_signed + shipping + fee_total;
    json!({
        "id": id,
        "type": "ORDER",
        "order_id": text(order, "id"),
        "order_create_time": order["create_time"],
        "revenue_amount": money(revenue_signed),
        "revenue_breakdown": revenue_breakdown,
        "shipping_cost_amount": money(shipping),
        "shipping_cost_breakdown": shipping_breakdown,
        "fee_tax_amount": money(fee_total),
        "fee_tax_breakdown": {"fee": fee, "tax": tax},
        "adjustment_amount": "0.00",
        "reserve_amount": "0.00",
        "settlement_amount": money(settlement),
    })
}

fn refund_succeeded(status: &str) -> bool {
    matches!(
        status,
        "RETURN_OR_REFUND_REQUEST_SUCCESS" | "RETURN_OR_REFUND_REQUEST_COMPLETE"
    )
}

impl TikTokSandbox {
    /// Replaces the fee rates used for statements generated from now on.
    pub fn set_fee_rates(&self, rates: FeeRates) {
        self.finance.lock().rates = rates;
    }

    /// Builds and stores a statement (payment PROCESSING); returns its head as Get
    /// Statements shows it. Orders the sandbox does not hold are refused.
    pub fn generate_statement(&self, spec: &StatementSpec) -> Result<Value, String> {
        let mut orders = Vec::new();
        for id in &spec.order_ids {
            orders.push(self.order(id).ok_or_else(|| format!("no order {id:?}"))?);
        }
        let returns: Vec<Value> = spec
            .order_ids
            .iter()
            .flat_map(|id| self.returns_of(id))
            .collect();
        let mut f = self.finance.lock();
        let rates = f.rates.clone();
        let statement_id = f.id(7);
        let currency = spec
            .currency
            .clone()
            .or_else(|| {
                orders
                    .first()
                    .map(|o| text(&o["payment"], "currency").to_string())
            })
            .filter(|c| !c.is_empty())
            .unwrap_or_else(|| "USD".into());
        let mut txs = Vec::new();
        for order in &orders {
            let id = text(order, "id").to_string();
            // A cancelled order is never settled; an order settles once.
            if text(order, "status") == "CANCELLED" || f.settled_orders.contains(&id) {
                continue;
            }
            f.settled_orders.insert(id);
            let tx_id = f.id(8);
            txs.push(order_transaction(tx_id, order, &rates, Decimal::ONE, false));
        }
        for ret in &returns {
            let rid = text(ret, "return_id").to_string();
            if !refund_succeeded(text(ret, "return_status")) || f.settled_returns.contains(&rid) {
                continue;
            }
            let Some(order) = orders
                .iter()
                .find(|o| text(o, "id") == text(ret, "order_id"))
            else {
                continue;
            };
            let all = order["line_items"].as_array().map_or(0, Vec::len).max(1);
            let back = ret["return_line_items"].as_array().map_or(0, Vec::len);
            let share = if back == 0 || back >= all {
                Decimal::ONE
            } else {
                Decimal::from(back as u64) / Decimal::from(all as u64)
            };
            f.settled_returns.insert(rid);
            let tx_id = f.id(8);
            txs.push(order_transaction(tx_id, order, &rates, share, true));
        }
        for adj in &spec.adjustments {
            let tx_id = f.id(8);
            let adj_id = f.id(6);
            txs.push(json!({
                "id": tx_id, "type": adj.kind, "adjustment_id": adj_id,
                "adjustment_order_id": adj.order_id.clone().unwrap_or_default(),
                "adjustment_amount": money(adj.amount),
                "revenue_amount": "0.00", "shipping_cost_amount": "0.00",
                "fee_tax_amount": "0.00", "reserve_amount": "0.00",
                "settlement_amount": money(adj.amount),
            }));
        }
        for res in &spec.reserves {
            let tx_id = f.id(8);
            let reserve_id = f.id(5);
            let status = res.status.clone().unwrap_or_else(|| {
                if res.amount.is_sign_negative() {
                    "FROZEN".into()
                } else {
                    "RELEASED".into()
                }
            });
            txs.push(json!({
                "id": tx_id, "type": "RESERVE", "reserve_id": reserve_id,
                "reserve_amount": money(res.amount), "reserve_status": status,
                "estimated_release_time": now_unix() + 30 * 86_400,
                "revenue_amount": "0.00", "shipping_cost_amount": "0.00",
                "fee_tax_amount": "0.00", "adjustment_amount": "0.00",
                "settlement_amount": money(res.amount),
            }));
        }
        for t in txs.iter_mut() {
            t["currency"] = json!(currency);
        }
        let sum = |key: &str| -> Decimal { txs.iter().map(|t| amount_of(&t[key])).sum() };
        let revenue = sum("revenue_amount");
        let head = json!({
            "id": statement_id,
            "statement_time": spec.statement_time.unwrap_or_else(now_unix),
            "currency": currency,
            "settlement_amount": money(sum("settlement_amount")),
            "revenue_amount": money(revenue),
            "fee_amount": money(sum("fee_tax_amount")),
            "adjustment_amount": money(sum("adjustment_amount")),
            "shipping_cost_amount": money(sum("shipping_cost_amount")),
            "net_sales_amount": money(revenue),
            "payment_status": "PROCESSING",
            "payment_id": "",
        });
        f.statements.insert(
            statement_id,
            SandboxStatement {
                head: head.clone(),
                transactions: txs,
            },
        );
        Ok(head)
    }

    /// TikTok pays a statement: a PAID payment with `paid_time`, the amount converted at
    /// `exchange_rate` into `bank_currency` (the statement's own by default).
    pub fn pay_statement(
        &self,
        statement_id: &str,
        exchange_rate: Decimal,
        bank_currency: Option<&str>,
    ) -> Option<Value> {
        let mut f = self.finance.lock();
        let payment_id = f.id(9);
        let s = f.statements.get_mut(statement_id)?;
        if s.head["payment_status"] == "PAID" {
            let pid = text(&s.head, "payment_id").to_string();
            return f.payments.get(&pid).cloned();
        }
        let now = now_unix();
        let currency = text(&s.head, "currency").to_string();
        let settled = amount_of(&s.head["settlement_amount"]);
        s.head["payment_status"] = json!("PAID");
        s.head["payment_id"] = json!(payment_id);
        s.head["payment_time"] = json!(now);
        let bank = bank_currency.unwrap_or(&currency).to_string();
        let payment = json!({
            "id": payment_id,
            "create_time": now,
            "status": "PAID",
            "amount": {"value": money(settled * exchange_rate), "currency": bank},
            "settlement_amount": {"value": money(settled), "currency": currency},
            "payment_amount_before_exchange": {"value": money(settled), "currency": currency},
            "exchange_rate": exchange_rate.normalize().to_string(),
            "paid_time": now,
            "bank_account": "****6789",
        });
        f.payments.insert(payment_id, payment.clone());
        Some(payment)
    }

    /// The statement head as Get Statements shows it now.
    pub fn statement(&self, statement_id: &str) -> Option<Value> {
        self.finance
            .lock()
            .statements
            .get(statement_id)
            .map(|s| s.head.clone())
    }

    /// Every transaction of a statement, in order.
    pub fn statement_transactions(&self, statement_id: &str) -> Vec<Value> {
        self.finance
            .lock()
            .statements
            .get(statement_id)
            .map(|s| s.transactions.clone())
            .unwrap_or_default()
    }
}

/// Page tokens are opaque to callers; here an offset with a prefix that says whose it is.
fn page_token(scope: &str, offset: usize) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{scope}:{offset}"))
}

fn page_offset(scope: &str, token: Option<&str>) -> Result<usize, Refusal> {
    use base64::Engine;
    let Some(token) = token.filter(|t| !t.is_empty()) else {
        return Ok(0);
    };
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|s| {
            s.strip_prefix(&format!("{scope}:"))
                .and_then(|n| n.parse().ok())
        })
        .ok_or_else(|| refuse("Invalid page_token."))
}

fn page_size(query: &[(String, String)], default: usize) -> Result<usize, Refusal> {
    match param(query, "page_size") {
        None => Ok(default),
        Some(v) => match v.parse::<usize>() {
            Ok(n) if (1..=MAX_PAGE_SIZE).contains(&n) => Ok(n),
            _ => Err(refuse(&format!(
                "Invalid page_size. It must be between 1 and {MAX_PAGE_SIZE}."
            ))),
        },
    }
}

fn require_sort(query: &[(String, String)], field: &str) -> Result<(), Refusal> {
    match param(query, "sort_field") {
        Some(f) if f == field => Ok(()),
        Some(f) => Err(refuse(&format!(
            "Invalid sort_field {f}. Supported: {field}."
        ))),
        None => Err(refuse("The sort_field query parameter is required.")),
    }
}

fn time_filter(query: &[(String, String)], key: &str) -> Result<Option<i64>, Refusal> {
    match param(query, key) {
        None => Ok(None),
        Some(v) => v
            .parse()
            .map(Some)
            .map_err(|_| refuse(&format!("Invalid {key}."))),
    }
}

/// `(page, next_page_token)` of `items` from `offset`.
fn page<T: Clone>(items: &[T], offset: usize, size: usize, scope: &str) -> (Vec<T>, String) {
    let end = (offset + size).min(items.len());
    let slice = items.get(offset..end).unwrap_or_default().to_vec();
    let next = if end < items.len() {
        page_token(scope, end)
    } else {
        String::new()
    };
    (slice, next)
}

async fn get_statements(State(sb): State<Sb>, Admitted { query, .. }: Admitted) -> Response {
    let run = || -> Result<Value, Refusal> {
        require_sort(&query, "statement_time")?;
        let size = page_size(&query, 20)?;
        let offset = page_offset("statements", param(&query, "page_token"))?;
        let ge = time_filter(&query, "statement_time_ge")?;
        let lt = time_filter(&query, "statement_time_lt")?;
        let status = param(&query, "payment_status").filter(|s| !s.is_empty());
        let mut heads: Vec<Value> = sb
            .finance
            .lock()
            .statements
            .values()
            .map(|s| s.head.clone())
            .filter(|h| {
                let t = h["statement_time"].as_i64().unwrap_or(0);
                ge.is_none_or(|ge| t >= ge)
                    && lt.is_none_or(|lt| t < lt)
                    && status.is_none_or(|s| text(h, "payment_status") == s)
            })
            .collect();
        heads.sort_by_key(|h| {
            (
                h["statement_time"].as_i64().unwrap_or(0),
                text(h, "id").to_string(),
            )
        });
        if param(&query, "sort_order") == Some("DESC") {
            heads.reverse();
        }
        let total = heads.len();
        let (items, next) = page(&heads, offset, size, "statements");
        Ok(json!({"statements": items, "next_page_token": next, "total_count": total}))
    };
    match run() {
        Ok(data) => success(data),
        Err(resp) => *resp,
    }
}

async fn get_statement_transactions(
    State(sb): State<Sb>,
    Path(statement_id): Path<String>,
    Admitted { query, .. }: Admitted,
) -> Response {
    let run = || -> Result<Value, Refusal> {
        require_sort(&query, "order_create_time")?;
        let size = page_size(&query, 20)?;
        let scope = format!("tx{statement_id}");
        let offset = page_offset(&scope, param(&query, "page_token"))?;
        let f = sb.finance.lock();
        let Some(s) = f.statements.get(&statement_id) else {
            return Err(refuse(&format!("Statement {statement_id} does not exist.")));
        };
        let sum =
            |key: &str| -> Decimal { s.transactions.iter().map(|t| amount_of(&t[key])).sum() };
        let (items, next) = page(&s.transactions, offset, size, &scope);
        Ok(json!({
            "id": statement_id,
            "create_time": s.head["statement_time"],
            "status": s.head["payment_status"],
            "currency": s.head["currency"],
            "total_settlement_amount": s.head["settlement_amount"],
            "total_reserve_amount": money(sum("reserve_amount")),
            "payable_amount": s.head["settlement_amount"],
            "total_settlement_breakdown": {
                "total_revenue_amount": money(sum("revenue_amount")),
                "total_shipping_cost_amount": money(sum("shipping_cost_amount")),
                "total_fee_tax_amount": money(sum("fee_tax_amount")),
                "total_adjustment_amount": money(sum("adjustment_amount")),
            },
            "total_count": s.transactions.len(),
            "next_page_token": next,
            "transactions": items,
        }))
    };
    match run() {
        Ok(data) => success(data),
        Err(resp) => *resp,
    }
}

async fn get_order_transactions(
    State(sb): State<Sb>,
    Path(order_id): Path<String>,
    Admitted { .. }: Admitted,
) -> Response {
    let Some(order) = sb.order(&order_id) else {
        return bad_param(&format!("Order {order_id} does not exist."));
    };
    let f = sb.finance.lock();
    let txs: Vec<Value> = f
        .statements
        .values()
        .flat_map(|s| s.transactions.iter())
        .filter(|t| text(t, "order_id") == order_id)
        .cloned()
        .collect();
    let sum = |key: &str| -> Decimal { txs.iter().map(|t| amount_of(&t[key])).sum() };
    success(json!({
        "order_id": order_id,
        "order_create_time": order["create_time"],
        "currency": order["payment"]["currency"],
        "revenue_amount": money(sum("revenue_amount")),
        "fee_and_tax_amount": money(sum("fee_tax_amount")),
        "shipping_cost_amount": money(sum("shipping_cost_amount")),
        "settlement_amount": money(sum("settlement_amount")),
        "sku_transactions": txs,
        "total_count": txs.len(),
    }))
}

async fn get_payments(State(sb): State<Sb>, Admitted { query, .. }: Admitted) -> Response {
    let run = || -> Result<Value, Refusal> {
        require_sort(&query, "create_time")?;
        let size = page_size(&query, 20)?;
        let offset = page_offset("payments", param(&query, "page_token"))?;
        let ge = time_filter(&query, "create_time_ge")?;
        let lt = time_filter(&query, "create_time_lt")?;
        let mut all: Vec<Value> = sb
            .finance
            .lock()
            .payments
            .values()
            .filter(|p| {
                let t = p["create_time"].as_i64().unwrap_or(0);
                ge.is_none_or(|ge| t >= ge) && lt.is_none_or(|lt| t < lt)
            })
            .cloned()
            .collect();
        all.sort_by_key(|p| {
            (
                p["create_time"].as_i64().unwrap_or(0),
                text(p, "id").to_string(),
            )
        });
        let (items, next) = page(&all, offset, size, "payments");
        Ok(json!({"payments": items, "next_page_token": next}))
    };
    match run() {
        Ok(data) => success(data),
        Err(resp) => *resp,
    }
}

pub(super) fn routes() -> Router<Sb> {
    Router::new()
        .route("/finance/202309/statements", get(get_statements))
        .route(
            "/finance/202501/statements/{statement_id}/statement_transactions",
            get(get_statement_transactions),
        )
        .route(
            "/finance/202501/orders/{order_id}/statement_transactions",
            get(get_order_transactions),
        )
        .route("/finance/202605/payments", get(get_payments))
        .route("/finance/202309/payments", get(get_payments))
        .route("/_sandbox/tiktok/finance/rates", post(control_set_rates))
        .route(
            "/_sandbox/tiktok/finance/statements",
            post(control_generate_statement),
        )
        .route(
            "/_sandbox/tiktok/finance/statements/{statement_id}/pay",
            post(control_pay),
        )
}

fn control_error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(json!({ "error": message.into() }))).into_response()
}

async fn control_set_rates(State(sb): State<Sb>, Json(rates): Json<FeeRates>) -> Response {
    sb.set_fee_rates(rates.clone());
    Json(json!(rates)).into_response()
}

async fn control_generate_statement(
    State(sb): State<Sb>,
    Json(spec): Json<StatementSpec>,
) -> Response {
    match sb.generate_statement(&spec) {
        Ok(head) => (StatusCode::CREATED, Json(head)).into_response(),
        Err(e) => control_error(StatusCode::NOT_FOUND, e),
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct PayBody {
    exchange_rate: Option<Decimal>,
    bank_currency: Option<String>,
}

async fn control_pay(
    State(sb): State<Sb>,
    Path(statement_id): Path<String>,
    body: Option<Json<PayBody>>,
) -> Response {
    let body = body.map(|Json(b)| b).unwrap_or_default();
    match sb.pay_statement(
        &statement_id,
        body.exchange_rate.unwrap_or(Decimal::ONE),
        body.bank_currency.as_deref(),
    ) {
        Some(p) => Json(p).into_response(),
        None => control_error(
            StatusCode::NOT_FOUND,
            format!("no statement {statement_id}"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::super::{sample_order, SampleLine, TikTokSandboxConfig};
    use super::*;

    fn sandbox_with_order(id: &str) -> Arc<TikTokSandbox> {
        let sb = TikTokSandbox::new(TikTokSandboxConfig::default());
        let line = SampleLine::new("A", dec!(20.00), 2);
        sb.insert_order(sample_order(id, "DELIVERED", &[line]))
            .unwrap();
        sb
    }

    fn sum(txs: &[Value], key: &str) -> Decimal {
        txs.iter().map(|t| amount_of(&t[key])).sum()
    }

    #[test]
    fn each_transaction_and_the_statement_add_up() {
        let sb = sandbox_with_order("1");
        sb.add_return(json!({"return_id": "r1", "order_id": "1",
            "return_status": "RETURN_OR_REFUND_REQUEST_COMPLETE",
            "return_line_items": [{"order_line_item_id": "1001"}]}))
            .unwrap();
        let head = sb
            .generate_statement(&StatementSpec {
                order_ids: vec!["1".into()],
                adjustments: vec![AdjustmentSpec {
                    kind: "PLATFORM_PENALTY".into(),
                    amount: dec!(-3.00),
                    order_id: None,
                }],
                reserves: vec![ReserveSpec {
                    amount: dec!(-5.00),
                    status: None,
                }],
                ..StatementSpec::default()
            })
            .unwrap();
        let txs = sb.statement_transactions(text(&head, "id"));
        assert_eq!(txs.len(), 4, "sale, refund, adjustment, reserve");
        for t in &txs {
            let parts = amount_of(&t["revenue_amount"])
                + amount_of(&t["shipping_cost_amount"])
                + amount_of(&t["fee_tax_amount"])
                + amount_of(&t["adjustment_amount"])
                + amount_of(&t["reserve_amount"]);
            assert_eq!(parts, amount_of(&t["settlement_amount"]), "{t}");
        }
        assert_eq!(
            amount_of(&head["settlement_amount"]),
            sum(&txs, "settlement_amount")
        );
        // The refund gives back half the revenue (one of two units).
        assert_eq!(amount_of(&txs[1]["revenue_amount"]), dec!(-20.00));
        // A second statement of the same order settles nothing again.
        let again = sb
            .generate_statement(&StatementSpec {
                order_ids: vec!["1".into()],
                ..StatementSpec::default()
            })
            .unwrap();
        assert!(sb.statement_transactions(text(&again, "id")).is_empty());
    }

    #[test]
    fn cancelled_orders_settle_nothing_and_paying_is_once() {
        let sb = sandbox_with_order("1");
        assert!(sb.set_status("1", "CANCELLED"));
        let head = sb
            .generate_statement(&StatementSpec {
                order_ids: vec!["1".into()],
                ..StatementSpec::default()
            })
            .unwrap();
        let id = text(&head, "id").to_string();
        assert!(sb.statement_transactions(&id).is_empty());
        let p1 = sb.pay_statement(&id, Decimal::ONE, None).unwrap();
        let p2 = sb.pay_statement(&id, Decimal::ONE, None).unwrap();
        assert_eq!(p1["id"], p2["id"]);
        assert_eq!(sb.statement(&id).unwrap()["payment_status"], "PAID");
    }

    #[test]
    fn pages_follow_tokens_to_the_end() {
        let items: Vec<u32> = (0..7).collect();
        let (first, t1) = page(&items, 0, 3, "s");
        let (second, t2) = page(&items, page_offset("s", Some(&t1)).unwrap(), 3, "s");
        let (third, t3) = page(&items, page_offset("s", Some(&t2)).unwrap(), 3, "s");
        assert_eq!((first.len(), second.len(), third.len()), (3, 3, 1));
        assert!(t3.is_empty());
        assert!(page_offset("other", Some(&t1)).is_err());
    }
}

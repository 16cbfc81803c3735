//! Flow S1: one TikTok statement becomes one NetSuite journal entry, upserted by external id
//! `tiktok-statement:<id>`; once TikTok pays it, the payout is moved from "in transit" to
//! the bank, once. The job reads the statement and every transaction behind it, calls the
//! pure `settlement::plan`, writes only when the entry would change, raises a review flag
//! for fees the account map does not know, and keeps what each order settled (per-order
//! truth) for the admin view and the reconciliation.

use super::{JobContext, JobError, Outcome};
use crate::config::{PayoutRecord, SettlementConfig};
use crate::review::{self, ReviewFlag};
use crate::settlement::{self, AccountMap, EntryHeader, JournalPlan, OrderSettlement, PlanError};
use crate::state::StateStore;
use crate::tiktok::finance::{PaymentQuery, Statement, StatementQuery};
use crate::tiktok::models::Order;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// Same retention as the other after-sale state.
pub use super::after_sale::STATE_TTL;

/// Review flag reason: a fee or amount the account map does not name, booked to "other".
pub const REVIEW_UNMAPPED_FEE: &str = "settlement_unmapped_fee";
/// Review flag reason: the statement's currency has no NetSuite currency id configured.
pub const REVIEW_UNMAPPED_CURRENCY: &str = "settlement_unmapped_currency";

/// Hash of every order a statement settled: field `<order id>|<statement id>`.
pub const SETTLED_ORDERS_KEY: &str = "settlement:orders";
/// Hash of sales orders O1 wrote that no statement has settled yet: field order id.
pub const AWAITING_KEY: &str = "settlement:awaiting";
/// Hash of refunds O3 wrote: field `<order id>|<return id>`, value the product amount
/// credited, so the reconciliation compares settled revenue net of refunds.
pub const REFUNDS_KEY: &str = "settlement:refunds";

/// O3 hook: a refund of `amount` (the credited product lines) was written for the order.
/// Keyed by return, so a rerun records it once.
pub async fn refund_recorded(
    state: &dyn StateStore,
    order_id: &str,
    return_id: &str,
    amount: Decimal,
) -> Result<(), JobError> {
    state
        .hash_set(
            REFUNDS_KEY,
            &format!("{order_id}|{return_id}"),
            &amount.normalize().to_string(),
        )
        .await?;
    Ok(())
}

fn statement_key(statement_id: &str) -> String {
    format!("settlement:statement:{statement_id}")
}

/// What the bridge did with one statement: served by `GET /admin/settlements/{id}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SettlementRecord {
    pub statement: Statement,
    pub journal_entry_id: String,
    pub journal_external_id: String,
    pub body_sha256: String,
    pub plan: JournalPlan,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payout: Option<PayoutRecorded>,
    pub written_at_ms: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PayoutRecorded {
    pub payment_id: String,
    pub record_type: String,
    pub internal_id: String,
    pub amount: Decimal,
    pub paid_time: Option<i64>,
    pub exchange_rate: Option<String>,
}

/// One order's line in the settled-orders index (and its per-order truth).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SettledOrder {
    pub statement_id: String,
    pub currency: String,
    pub settled_at_ms: i64,
    #[serde(flatten)]
    pub amounts: OrderSettlement,
}

/// A sales order O1 wrote, waiting for TikTok to settle it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AwaitingSettlement {
    pub sales_order_id: String,
    /// What TikTok should settle as revenue: products at original price less the seller's
    /// discounts (TikTok funds its own discounts).
    pub expected_revenue: Decimal,
    pub currency: String,
    pub written_at_ms: i64,
}

fn encode<T: Serialize>(v: &T) -> Result<String, JobError> {
    serde_json::to_string(v).map_err(|e| JobError::Permanent(format!("cannot encode: {e}")))
}

/// O1 hook: a sales order was written for `order`; the reconciliation now expects TikTok to
/// settle it. Written once per order (a rewrite keeps the first time).
pub async fn sales_order_written(
    state: &dyn StateStore,
    order: &Order,
    sales_order_id: &str,
) -> Result<(), JobError> {
    let key = expected_key(&order.id);
    if state.get(&key).await?.is_some() {
        return Ok(());
    }
    let p = &order.payment;
    let expected =
        p.original_total_product_price.unwrap_or_default() - p.seller_discount.unwrap_or_default();
    // The awaiting entry first: a failure before the marker below reruns both.
    if state.get(&settled_marker(&order.id)).await?.is_none() {
        let entry = AwaitingSettlement {
            sales_order_id: sales_order_id.to_string(),
            expected_revenue: expected,
            currency: p.currency.clone(),
            written_at_ms: crate::queue::now_ms(),
        };
        state
            .hash_set(AWAITING_KEY, &order.id, &encode(&entry)?)
            .await?;
    }
    state
        .set(&key, &expected.normalize().to_string(), Some(STATE_TTL))
        .await?;
    Ok(())
}

fn settled_marker(order_id: &str) -> String {
    format!("settlement:settled:{order_id}")
}

/// The statement head as Get Statements shows it now, found by its time.
async fn read_statement(
    ctx: &JobContext,
    statement_id: &str,
    statement_time: i64,
) -> Result<Statement, JobError> {
    let mut token = None;
    loop {
        let page = ctx
            .tiktok
            .get_statements(&StatementQuery {
                statement_time_ge: Some(statement_time),
                statement_time_lt: Some(statement_time + 1),
                payment_status: None,
                page_size: 100,
                page_token: token.clone(),
            })
            .await?;
        if let Some(s) = page.statements.iter().find(|s| s.id == statement_id) {
            return Ok(s.clone());
        }
        match page.next_page_token {
            Some(t) if !page.statements.is_empty() => token = Some(t),
            _ => {
                return Err(JobError::Permanent(format!(
                    "TikTok lists no statement {statement_id} at {statement_time}"
                )))
            }
        }
    }
}

fn currency_id(cfg: &SettlementConfig, currency: &str) -> Result<Option<String>, String> {
    if cfg.currencies.is_empty() {
        return Ok(None);
    }
    cfg.currencies
        .get(&currency.to_ascii_uppercase())
        .cloned()
        .map(Some)
        .ok_or_else(|| format!("no NetSuite currency id for {currency} in SETTLEMENT_CURRENCIES"))
}

/// `Job::SettlementSync`.
pub async fn run(
    ctx: &JobContext,
    shop_id: &str,
    statement_id: &str,
    statement_time: i64,
) -> Result<Outcome, JobError> {
    let cfg = &ctx.mapping.settlement;
    let Some(accounts) = cfg.accounts.as_ref() else {
        return Ok(Outcome::Skipped(
            "settlement is off (no SETTLEMENT_ACCOUNTS)".into(),
        ));
    };
    let statement = read_statement(ctx, statement_id, statement_time).await?;
    let currency = match currency_id(cfg, &statement.currency) {
        Ok(c) => c,
        Err(why) => {
            flag(
                ctx,
                &format!("settlement:{statement_id}:currency"),
                REVIEW_UNMAPPED_CURRENCY,
                statement_id,
                why.clone(),
            )
            .await?;
            return Err(JobError::Permanent(why));
        }
    };
    let txs = ctx
        .tiktok
        .get_statement_transactions(statement_id, cfg.page_size)
        .await?;
    let plan = match settlement::plan(&statement, &txs.transactions, accounts) {
        Ok(p) => p,
        // TikTok may still be adding to a statement of today; a later run sees it whole.
        Err(e @ PlanError::DoesNotTie { .. }) => return Err(JobError::Transient(e.to_string())),
        Err(e) => return Err(JobError::Permanent(e.to_string())),
    };
    let external_id = settlement::journal_external_id(statement_id);
    let header = EntryHeader {
        external_id: external_id.clone(),
        subsidiary: ctx.mapping.subsidiary_id.clone(),
        currency,
        exchange_rate: None,
        tran_date: settlement::tran_date(statement.statement_time),
        memo: format!(
            "TikTok Shop {shop_id} statement {statement_id} ({} {})",
            plan.settlement_amount, plan.currency
        ),
    };
    let body = settlement::journal_entry_body(&header, &plan.lines);
    let digest = hex::encode(Sha256::digest(encode(&body)?.as_bytes()));

    let key = statement_key(statement_id);
    let previous: Option<SettlementRecord> = match ctx.state.get(&key).await? {
        Some(raw) => serde_json::from_str(&raw).ok(),
        None => None,
    };
    let mut outcome = Vec::new();
    let journal_entry_id = match &previous {
        Some(p) if p.body_sha256 == digest => {
            outcome.push(format!(
                "journal entry {} already up to date",
                p.journal_entry_id
            ));
            p.journal_entry_id.clone()
        }
        _ => {
            let id = ctx
                .netsuite
                .upsert("journalEntry", &external_id, &body, &["line"])
                .await?;
            ctx.metrics.settlement.entry_written(&plan.currency);
            outcome.push(format!("journal entry {id} written"));
            id
        }
    };
    if !plan.unmapped.is_empty() {
        let detail = plan
            .unmapped
            .iter()
            .map(|u| format!("{} {} {}", u.name, u.amount, plan.currency))
            .collect::<Vec<_>>()
            .join(", ");
        flag(
            ctx,
            &format!("settlement:{statement_id}:unmapped"),
            REVIEW_UNMAPPED_FEE,
            statement_id,
            format!(
                "Booked to the \"other TikTok fees\" account {}: {detail}. Map these names in SETTLEMENT_ACCOUNTS.",
                accounts.account(settlement::Group::Other)
            ),
        )
        .await?;
    }
    record_orders(ctx.state.as_ref(), &plan).await?;

    let mut record = SettlementRecord {
        statement: statement.clone(),
        journal_entry_id,
        journal_external_id: external_id,
        body_sha256: digest,
        plan,
        payout: previous.and_then(|p| p.payout),
        written_at_ms: crate::queue::now_ms(),
    };
    // Stored before the payout so a failure below reruns without rewriting the entry.
    ctx.state
        .set(&key, &encode(&record)?, Some(STATE_TTL))
        .await?;

    if statement.payment_status == "PAID" && record.payout.is_none() {
        if let Some(done) = record_payout(ctx, cfg, accounts, &statement, &header).await? {
            outcome.push(format!("payout {} recorded", done.internal_id));
            record.payout = Some(done);
            ctx.state
                .set(&key, &encode(&record)?, Some(STATE_TTL))
                .await?;
        }
    }
    Ok(Outcome::Done(outcome.join("; ")))
}

async fn flag(
    ctx: &JobContext,
    id: &str,
    reason: &str,
    statement_id: &str,
    detail: String,
) -> Result<(), JobError> {
    let raised = review::raise(
        ctx.state.as_ref(),
        &ReviewFlag {
            id: id.to_string(),
            reason: reason.to_string(),
            order_id: format!("statement:{statement_id}"),
            sales_order_id: None,
            detail,
            flagged_at_ms: crate::queue::now_ms(),
            dismissed_at_ms: None,
            dismissed_note: None,
        },
    )
    .await?;
    if raised {
        ctx.metrics.after_sale.flagged(reason);
    }
    Ok(())
}

/// Per-order truth: each order's amounts in this statement (TTL'd, like other after-sale
/// state) and the settled-orders index the reconciliation reads.
async fn record_orders(state: &dyn StateStore, plan: &JournalPlan) -> Result<(), JobError> {
    let now = crate::queue::now_ms();
    let mut settled_ids = Vec::new();
    for (order_id, amounts) in &plan.orders {
        let entry = SettledOrder {
            statement_id: plan.statement_id.clone(),
            currency: plan.currency.clone(),
            settled_at_ms: now,
            amounts: amounts.clone(),
        };
        let value = encode(&entry)?;
        state
            .set(
                &format!("settlement:order:{order_id}:{}", plan.statement_id),
                &value,
                Some(STATE_TTL),
            )
            .await?;
        state
            .hash_set(
                SETTLED_ORDERS_KEY,
                &format!("{order_id}|{}", plan.statement_id),
                &value,
            )
            .await?;
        state
            .set(
                &settled_marker(order_id),
                &plan.statement_id,
                Some(STATE_TTL),
            )
            .await?;
        settled_ids.push(order_id.clone());
    }
    if !settled_ids.is_empty() {
        state.hash_delete(AWAITING_KEY, &settled_ids).await?;
    }
    Ok(())
}

/// Finds the statement's payment (Get Payments) and, when PAID, records the move from the
/// payout account to the bank. `None` when there is nothing to record yet.
async fn record_payout(
    ctx: &JobContext,
    cfg: &SettlementConfig,
    accounts: &AccountMap,
    statement: &Statement,
    header: &EntryHeader,
) -> Result<Option<PayoutRecorded>, JobError> {
    if cfg.payout_record == PayoutRecord::None {
        return Ok(None);
    }
    let Some(payment_id) = statement.payment_id.as_deref().filter(|p| !p.is_empty()) else {
        return Ok(None);
    };
    let since = statement.payment_time.unwrap_or(statement.statement_time) - 7 * 86_400;
    let mut token = None;
    let payment = loop {
        let page = ctx
            .tiktok
            .get_payments(&PaymentQuery {
                create_time_ge: Some(since),
                create_time_lt: None,
                page_size: 100,
                page_token: token.clone(),
            })
            .await?;
        if let Some(p) = page.payments.iter().find(|p| p.id == payment_id) {
            break p.clone();
        }
        match page.next_page_token {
            Some(t) if !page.payments.is_empty() => token = Some(t),
            _ => return Ok(None),
        }
    };
    if payment.status != "PAID" {
        return Ok(None);
    }
    // The amount that left TikTok in the statement's currency; the bank side converts at
    // the payment's exchange rate when the payment was in another currency.
    let amount = if payment.settlement_amount.value.is_zero() {
        statement.settlement_amount
    } else {
        payment.settlement_amount.value
    };
    let external_id = settlement::payout_external_id(&statement.id);
    let paid_date = settlement::tran_date(payment.paid_time.unwrap_or(statement.statement_time));
    let memo = format!("TikTok payout {} of statement {}", payment.id, statement.id);
    let (record_type, body) = match cfg.payout_record {
        PayoutRecord::Transfer => {
            let mut b = serde_json::Map::new();
            b.insert("externalId".into(), serde_json::json!(external_id));
            b.insert(
                "fromAccount".into(),
                serde_json::json!({"id": accounts.account(settlement::Group::Payout)}),
            );
            b.insert(
                "toAccount".into(),
                serde_json::json!({"id": accounts.account(settlement::Group::Bank)}),
            );
            b.insert("amount".into(), super::after_sale::number(amount));
            b.insert("tranDate".into(), serde_json::json!(paid_date));
            b.insert("memo".into(), serde_json::json!(memo));
            if let Some(s) = &header.subsidiary {
                b.insert("subsidiary".into(), serde_json::json!({ "id": s }));
            }
            ("transfer", serde_json::Value::Object(b))
        }
        _ => {
            let lines = settlement::payout_lines(accounts, &statement.id, amount);
            if lines.is_empty() {
                return Ok(None);
            }
            let h = EntryHeader {
                external_id: external_id.clone(),
                exchange_rate: payment.exchange_rate.clone().filter(|r| r != "1"),
                tran_date: paid_date,
                memo,
                ..header.clone()
            };
            ("journalEntry", settlement::journal_entry_body(&h, &lines))
        }
    };
    let replace: &[&str] = if record_type == "journalEntry" {
        &["line"]
    } else {
        &[]
    };
    let internal_id = ctx
        .netsuite
        .upsert(record_type, &external_id, &body, replace)
        .await?;
    ctx.metrics.settlement.payout_recorded();
    Ok(Some(PayoutRecorded {
        payment_id: payment.id,
        record_type: record_type.into(),
        internal_id,
        amount,
        paid_time: payment.paid_time,
        exchange_rate: payment.exchange_rate,
    }))
}

/// What the bridge recorded for a statement, if anything.
pub async fn settlement_record(
    state: &dyn StateStore,
    statement_id: &str,
) -> Result<Option<SettlementRecord>, crate::state::StateError> {
    match state.get(&statement_key(statement_id)).await? {
        Some(raw) => {
            serde_json::from_str(&raw)
                .map(Some)
                .map_err(|e| crate::state::StateError::Corrupt {
                    key: statement_key(statement_id),
                    reason: e.to_string(),
                })
        }
        None => Ok(None),
    }
}

/// One row of a reconciliation list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReconciliationRow {
    pub order_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sales_order_id: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub statement_ids: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settled_revenue: Option<Decimal>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_revenue: Option<Decimal>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub age_days: Option<i64>,
}

/// Orders settled with no sales order, sales orders not settled after `unsettled_after`,
/// and orders whose settled revenue (net of refunds TikTok settled) differs from what
/// their sales order expected.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Reconciliation {
    pub settled_without_sales_order: Vec<ReconciliationRow>,
    pub unsettled_sales_orders: Vec<ReconciliationRow>,
    pub revenue_mismatches: Vec<ReconciliationRow>,
}

/// Builds the reconciliation view from the state store. `written_sales_order` tells whether
/// O1 recorded a sales order for an order (its internal id).
pub async fn reconcile(
    state: &dyn StateStore,
    unsettled_after: std::time::Duration,
    now_ms: i64,
) -> Result<Reconciliation, crate::state::StateError> {
    let mut settled: BTreeMap<String, (Decimal, Vec<String>)> = BTreeMap::new();
    let ttl_ms = STATE_TTL.as_millis() as i64;
    let mut expired = Vec::new();
    for (field, raw) in state.hash_all(SETTLED_ORDERS_KEY).await? {
        let Ok(entry) = serde_json::from_str::<SettledOrder>(&raw) else {
            continue;
        };
        if now_ms - entry.settled_at_ms > ttl_ms {
            expired.push(field);
            continue;
        }
        let slot = settled.entry(entry.amounts.order_id.clone()).or_default();
        slot.0 += entry.amounts.revenue;
        slot.1.push(entry.statement_id);
    }
    if !expired.is_empty() {
        state.hash_delete(SETTLED_ORDERS_KEY, &expired).await?;
    }
    let awaiting: BTreeMap<String, AwaitingSettlement> = state
        .hash_all(AWAITING_KEY)
        .await?
        .into_iter()
        .filter_map(|(f, raw)| serde_json::from_str(&raw).ok().map(|a| (f, a)))
        .collect();

    let mut refunds: BTreeMap<String, Decimal> = BTreeMap::new();
    for (field, raw) in state.hash_all(REFUNDS_KEY).await? {
        if let (Some((order_id, _)), Ok(amount)) = (field.split_once('|'), raw.parse::<Decimal>()) {
            *refunds.entry(order_id.to_string()).or_default() += amount;
        }
    }
    let ids: Vec<String> = settled.keys().cloned().collect();
    let keys: Vec<String> = ids
        .iter()
        .map(|id| super::order_sync::written_key(id))
        .collect();
    let written = if keys.is_empty() {
        Vec::new()
    } else {
        state.get_many(&keys).await?
    };
    let mut out = Reconciliation::default();
    for (order_id, raw) in ids.iter().zip(written) {
        let (revenue, statements) = &settled[order_id];
        let so = raw.and_then(|r| {
            serde_json::from_str::<super::order_sync::WrittenSalesOrder>(&r)
                .ok()
                .map(|w| w.internal_id)
        });
        match so {
            None => out.settled_without_sales_order.push(ReconciliationRow {
                order_id: order_id.clone(),
                sales_order_id: None,
                statement_ids: statements.clone(),
                settled_revenue: Some(*revenue),
                expected_revenue: None,
                age_days: None,
            }),
            Some(so_id) => {
                let expected = state
                    .get(&expected_key(order_id))
                    .await?
                    .and_then(|v| v.parse::<Decimal>().ok())
                    .map(|e| e - refunds.get(order_id).copied().unwrap_or_default());
                if let Some(expected) = expected {
                    if (expected - *revenue).abs() >= Decimal::new(1, 2) {
                        out.revenue_mismatches.push(ReconciliationRow {
                            order_id: order_id.clone(),
                            sales_order_id: Some(so_id),
                            statement_ids: statements.clone(),
                            settled_revenue: Some(*revenue),
                            expected_revenue: Some(expected),
                            age_days: None,
                        });
                    }
                }
            }
        }
    }
    let limit = unsettled_after.as_millis() as i64;
    for (order_id, a) in awaiting {
        if settled.contains_key(&order_id) {
            continue;
        }
        let age = now_ms - a.written_at_ms;
        if age >= limit {
            out.unsettled_sales_orders.push(ReconciliationRow {
                order_id,
                sales_order_id: Some(a.sales_order_id),
                statement_ids: Vec::new(),
                settled_revenue: None,
                expected_revenue: Some(a.expected_revenue),
                age_days: Some(age / 86_400_000),
            });
        }
    }
    Ok(out)
}

/// What an order's sales order expects TikTok to settle as revenue, net of refunds: kept
/// from O1's write (`settlement:expected:<order>`), lowered by O3's refunds.
pub fn expected_key(order_id: &str) -> String {
    format!("settlement:expected:{order_id}")
}

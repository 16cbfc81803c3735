//! Settlement to the general ledger (flow S1), the pure part: which account each TikTok
//! amount goes to (`accounts`), the journal entry of a statement (`journal`), and the
//! NetSuite body of that entry (here). No I/O: the job in `jobs::settlement` fetches and
//! writes.

pub mod accounts;
pub mod journal;
pub mod metrics;
#[cfg(test)]
mod tests;

pub use accounts::{AccountMap, AccountMapError, Dimensions, Group};
pub use journal::{plan, JournalLine, JournalPlan, OrderSettlement, PlanError};

use rust_decimal::Decimal;
use serde_json::{json, Map, Value};

/// External id of a statement's journal entry: one entry per statement, whatever reruns.
pub fn journal_external_id(statement_id: &str) -> String {
    format!("tiktok-statement:{statement_id}")
}

/// External id of the journal that moves a paid statement from "in transit" to the bank.
pub fn payout_external_id(statement_id: &str) -> String {
    format!("tiktok-payout:{statement_id}")
}

/// `YYYY-MM-DD` (UTC) of a unix time, NetSuite's `tranDate`.
pub fn tran_date(unix: i64) -> String {
    // Days since the epoch to a civil date (Howard Hinnant's algorithm).
    let days = unix.div_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

fn money(d: Decimal) -> Value {
    serde_json::from_str::<Value>(&d.normalize().to_string()).unwrap_or(Value::Null)
}

fn reference(id: &Option<String>) -> Option<Value> {
    id.as_ref().map(|id| json!({ "id": id }))
}

/// Header fields of a journal entry the bridge writes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EntryHeader {
    pub external_id: String,
    pub subsidiary: Option<String>,
    /// NetSuite currency internal id; `None` leaves the subsidiary's base currency.
    pub currency: Option<String>,
    pub exchange_rate: Option<String>,
    pub tran_date: String,
    pub memo: String,
}

/// The `journalEntry` body for `PUT /record/v1/journalEntry/eid:<id>?replace=line`.
pub fn journal_entry_body(header: &EntryHeader, lines: &[JournalLine]) -> Value {
    let mut body = Map::new();
    body.insert("externalId".into(), json!(header.external_id));
    if let Some(s) = reference(&header.subsidiary) {
        body.insert("subsidiary".into(), s);
    }
    if let Some(c) = reference(&header.currency) {
        body.insert("currency".into(), c);
    }
    if let Some(rate) = &header.exchange_rate {
        if let Ok(d) = rate.parse::<Decimal>() {
            body.insert("exchangeRate".into(), money(d));
        }
    }
    body.insert("tranDate".into(), json!(header.tran_date));
    body.insert("memo".into(), json!(header.memo));
    let items: Vec<Value> = lines
        .iter()
        .map(|l| {
            let mut item = Map::new();
            item.insert("account".into(), json!({ "id": l.account }));
            if !l.debit.is_zero() {
                item.insert("debit".into(), money(l.debit));
            }
            if !l.credit.is_zero() {
                item.insert("credit".into(), money(l.credit));
            }
            item.insert("memo".into(), json!(l.memo));
            for (field, id) in [
                ("class", &l.dimensions.class),
                ("department", &l.dimensions.department),
                ("location", &l.dimensions.location),
            ] {
                if let Some(r) = reference(id) {
                    item.insert(field.into(), r);
                }
            }
            Value::Object(item)
        })
        .collect();
    body.insert("line".into(), json!({ "items": items }));
    Value::Object(body)
}

/// The two lines that move a paid statement's money from the payout ("in transit") account
/// to the bank. Empty when both are the same account (nothing to move).
pub fn payout_lines(
    accounts: &AccountMap,
    statement_id: &str,
    amount: Decimal,
) -> Vec<JournalLine> {
    let from = accounts.account(Group::Payout);
    let to = accounts.account(Group::Bank);
    if from == to || amount.is_zero() {
        return Vec::new();
    }
    let dims = accounts.dimensions.clone();
    let memo = format!("TikTok payout of statement {statement_id}");
    let (debit, credit) = if amount.is_sign_negative() {
        (Decimal::ZERO, -amount)
    } else {
        (amount, Decimal::ZERO)
    };
    vec![
        JournalLine {
            account: to.to_string(),
            debit,
            credit,
            memo: memo.clone(),
            dimensions: dims.clone(),
        },
        JournalLine {
            account: from.to_string(),
            debit: credit,
            credit: debit,
            memo,
            dimensions: dims,
        },
    ]
}

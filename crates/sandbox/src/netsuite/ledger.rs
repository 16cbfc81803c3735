//! General ledger of the simulated account: GL accounts, and journal entries checked the way
//! NetSuite checks them (every line names an existing account and carries a debit or a
//! credit, and debits equal credits), upserted by external id like any record. The wording
//! of the unbalanced-entry error is not in the reference; the sandbox answers in
//! NetSuite's INVALID_CONTENT form like its other checks.

use super::records::Reject;
use super::state::{RecordKind, State as AccountState, StoredRecord};
use super::{ns_error, NetSuiteSandbox};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::{json, Map, Value};
use std::str::FromStr;
use std::sync::Arc;

fn invalid(detail: &str, path: &str) -> Reject {
    Box::new(ns_error(
        StatusCode::BAD_REQUEST,
        "INVALID_CONTENT",
        &format!("Error while accessing resource: {detail}"),
        &[("o:errorPath", path)],
    ))
}

fn lines(body: &Map<String, Value>) -> Vec<Value> {
    body.get("line")
        .and_then(|i| i.get("items"))
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

fn amount(v: Option<&Value>) -> Result<Option<Decimal>, ()> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => Decimal::from_str(&n.to_string())
            .or_else(|_| Decimal::from_scientific(&n.to_string()))
            .map(Some)
            .map_err(|_| ()),
        Some(Value::String(s)) => Decimal::from_str(s).map(Some).map_err(|_| ()),
        Some(_) => Err(()),
    }
}

fn ref_id(v: Option<&Value>) -> Option<String> {
    match v?.get("id")? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// The journal entry an upsert leaves: body fields overwrite, and the `line` sublist is
/// replaced with `replace=line`, else the new lines are added to the old ones.
pub(super) fn journal_after(
    stored: Option<&Map<String, Value>>,
    update: Map<String, Value>,
    replace: &[String],
) -> Map<String, Value> {
    let mut out = stored.cloned().unwrap_or_default();
    let replace_lines = replace.iter().any(|r| r.eq_ignore_ascii_case("line"));
    for (key, value) in update {
        if key == "line" && !replace_lines && stored.is_some() {
            let mut existing = lines(&out);
            existing.extend(
                value
                    .get("items")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default(),
            );
            out.insert("line".into(), json!({ "items": existing }));
        } else {
            out.insert(key, value);
        }
    }
    out
}

/// NetSuite's checks on a journal entry as it would be saved.
pub(super) fn validate_journal(st: &AccountState, body: &Map<String, Value>) -> Result<(), Reject> {
    let lines = lines(body);
    if lines.is_empty() {
        return Err(invalid(
            "You must enter at least one line item for this transaction.",
            "line",
        ));
    }
    let (mut debits, mut credits) = (Decimal::ZERO, Decimal::ZERO);
    for (i, line) in lines.iter().enumerate() {
        let path = format!("line.items[{i}]");
        let Some(account) = ref_id(line.get("account")) else {
            return Err(invalid(
                "Please enter value(s) for: Account",
                &format!("{path}.account"),
            ));
        };
        let exists = account
            .parse::<u64>()
            .ok()
            .and_then(|n| st.record(RecordKind::Account, n))
            .is_some();
        if !exists {
            return Err(invalid(
                &format!(
                    "You have entered an Invalid Field Value {account} for the following field: account"
                ),
                &format!("{path}.account"),
            ));
        }
        let bad = |field: &str| invalid(&format!("Invalid number in {field}."), &path);
        let debit = amount(line.get("debit")).map_err(|_| bad("debit"))?;
        let credit = amount(line.get("credit")).map_err(|_| bad("credit"))?;
        match (debit, credit) {
            (Some(d), None) if d >= Decimal::ZERO => debits += d,
            (None, Some(c)) if c >= Decimal::ZERO => credits += c,
            _ => {
                return Err(invalid(
                    "A journal line must have either a debit or a credit amount, not both and not a negative one.",
                    &path,
                ))
            }
        }
    }
    if debits != credits {
        return Err(invalid(
            &format!("The transaction is not in balance: debits {debits}, credits {credits}."),
            "line",
        ));
    }
    Ok(())
}

/// A transfer moves a positive amount between two existing accounts.
pub(super) fn validate_transfer(
    st: &AccountState,
    body: &Map<String, Value>,
) -> Result<(), Reject> {
    for field in ["fromAccount", "toAccount"] {
        let Some(account) = ref_id(body.get(field)) else {
            return Err(invalid(
                &format!("Please enter value(s) for: {field}"),
                field,
            ));
        };
        let exists = account
            .parse::<u64>()
            .ok()
            .and_then(|n| st.record(RecordKind::Account, n))
            .is_some();
        if !exists {
            return Err(invalid(
                &format!(
                    "You have entered an Invalid Field Value {account} for the following field: {field}"
                ),
                field,
            ));
        }
    }
    match amount(body.get("amount")) {
        Ok(Some(a)) if a > Decimal::ZERO => Ok(()),
        _ => Err(invalid("The amount must be greater than zero.", "amount")),
    }
}

impl NetSuiteSandbox {
    pub fn transfers(&self) -> Vec<Value> {
        self.state
            .lock()
            .records(RecordKind::Transfer)
            .map(StoredRecord::to_json)
            .collect()
    }

    /// A GL account (e.g. `1200`, "TikTok clearing", `OthCurrAsset`); returns its internal id.
    pub fn add_account(&self, number: &str, name: &str, account_type: &str) -> String {
        let mut st = self.state.lock();
        let id = st.allocate_id();
        let mut body = Map::new();
        body.insert("acctNumber".into(), json!(number));
        body.insert("acctName".into(), json!(name));
        body.insert("acctType".into(), json!({ "id": account_type }));
        st.records.entry(RecordKind::Account).or_default().insert(
            id,
            StoredRecord {
                id,
                external_id: None,
                body,
                writes: 1,
            },
        );
        id.to_string()
    }

    pub fn journal_entries(&self) -> Vec<Value> {
        self.state
            .lock()
            .records(RecordKind::JournalEntry)
            .map(StoredRecord::to_json)
            .collect()
    }

    pub fn journal_entry_by_external_id(&self, external_id: &str) -> Option<Value> {
        let st = self.state.lock();
        let id = st.find_by_external_id(RecordKind::JournalEntry, external_id)?;
        st.record(RecordKind::JournalEntry, id)
            .map(StoredRecord::to_json)
    }

    /// Creates plus updates of the journal entry with this external id (0 if none).
    pub fn journal_entry_writes(&self, external_id: &str) -> u64 {
        let st = self.state.lock();
        st.find_by_external_id(RecordKind::JournalEntry, external_id)
            .and_then(|id| st.record(RecordKind::JournalEntry, id))
            .map_or(0, |r| r.writes)
    }
}

#[derive(Deserialize)]
struct NewAccount {
    number: String,
    name: String,
    #[serde(default = "other_asset")]
    account_type: String,
}

fn other_asset() -> String {
    "OthCurrAsset".into()
}

async fn add_account(
    State(sb): State<Arc<NetSuiteSandbox>>,
    Json(a): Json<NewAccount>,
) -> Response {
    let id = sb.add_account(&a.number, &a.name, &a.account_type);
    (StatusCode::CREATED, Json(json!({ "id": id }))).into_response()
}

async fn list_accounts(State(sb): State<Arc<NetSuiteSandbox>>) -> Json<Value> {
    let st = sb.state.lock();
    Json(Value::Array(
        st.records(RecordKind::Account)
            .map(StoredRecord::to_json)
            .collect(),
    ))
}

async fn list_journal_entries(State(sb): State<Arc<NetSuiteSandbox>>) -> Json<Value> {
    Json(Value::Array(sb.journal_entries()))
}

pub(super) fn control_routes() -> Router<Arc<NetSuiteSandbox>> {
    Router::new()
        .route("/accounts", get(list_accounts).post(add_account))
        .route("/journal-entries", get(list_journal_entries))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state_with_accounts() -> (AccountState, u64, u64) {
        let mut st = AccountState::new();
        let add = |st: &mut AccountState| {
            let id = st.allocate_id();
            st.records.entry(RecordKind::Account).or_default().insert(
                id,
                StoredRecord {
                    id,
                    external_id: None,
                    body: Map::new(),
                    writes: 1,
                },
            );
            id
        };
        let a = add(&mut st);
        let b = add(&mut st);
        (st, a, b)
    }

    fn body(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn balanced_entries_pass_and_unbalanced_ones_are_refused() {
        let (st, a, b) = state_with_accounts();
        let ok = body(json!({"line": {"items": [
            {"account": {"id": a.to_string()}, "debit": 10.05},
            {"account": {"id": b.to_string()}, "credit": 10.05}]}}));
        assert!(validate_journal(&st, &ok).is_ok());
        let off = body(json!({"line": {"items": [
            {"account": {"id": a.to_string()}, "debit": 10.05},
            {"account": {"id": b.to_string()}, "credit": 10.04}]}}));
        assert!(validate_journal(&st, &off).is_err());
        let unknown = body(json!({"line": {"items": [
            {"account": {"id": "999999"}, "debit": 1},
            {"account": {"id": b.to_string()}, "credit": 1}]}}));
        assert!(validate_journal(&st, &unknown).is_err());
        let both = body(json!({"line": {"items": [
            {"account": {"id": a.to_string()}, "debit": 1, "credit": 1}]}}));
        assert!(validate_journal(&st, &both).is_err());
    }

    #[test]
    fn an_upsert_without_replace_adds_lines() {
        let stored = body(json!({"memo": "a", "line": {"items": [{"x": 1}]}}));
        let update = body(json!({"memo": "b", "line": {"items": [{"x": 2}]}}));
        let added = journal_after(Some(&stored), update.clone(), &[]);
        assert_eq!(lines(&added).len(), 2);
        let replaced = journal_after(Some(&stored), update, &["line".into()]);
        assert_eq!(lines(&replaced).len(), 1);
        assert_eq!(replaced["memo"], "b");
    }
}

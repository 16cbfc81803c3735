//! Record endpoints of the simulated account: upsert by external id, create, and read, with
//! the reference checks NetSuite makes (customer and item ids must exist) and its 204 +
//! `Location` answers.

use super::state::{RecordKind, State as AccountState, StoredRecord};
use super::{ns_error, NetSuiteSandbox};
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

fn unsupported_type(record_type: &str) -> Response {
    ns_error(
        StatusCode::BAD_REQUEST,
        "INVALID_REQUEST",
        &format!("The sandbox does not implement the record type '{record_type}'."),
        &[],
    )
}

/// A refusal carried through `Result`; boxed because `Response` is large.
pub(super) type Reject = Box<Response>;

fn invalid_content(detail: &str, path: &str) -> Reject {
    Box::new(ns_error(
        StatusCode::BAD_REQUEST,
        "INVALID_CONTENT",
        &format!("Error while accessing resource: {detail}"),
        &[("o:errorPath", path)],
    ))
}

fn parse_object(body: &[u8]) -> Result<Map<String, Value>, Reject> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(m)) => Ok(m),
        _ => Err(Box::new(ns_error(
            StatusCode::BAD_REQUEST,
            "INVALID_CONTENT",
            "The request body is not a JSON object.",
            &[],
        ))),
    }
}

/// `{"id": "12"}` or `{"id": 12}` → `12`.
fn ref_id(v: Option<&Value>) -> Option<String> {
    match v?.get("id")? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn lines(body: &Map<String, Value>) -> Vec<Value> {
    body.get("item")
        .and_then(|i| i.get("items"))
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

/// The checks NetSuite makes on a sales order's references.
fn validate_sales_order(
    st: &AccountState,
    body: &Map<String, Value>,
    creating: bool,
) -> Result<(), Reject> {
    match ref_id(body.get("entity")) {
        Some(id) => {
            let exists = id
                .parse::<u64>()
                .ok()
                .and_then(|n| st.record(RecordKind::Customer, n))
                .is_some();
            if !exists {
                return Err(invalid_content(
                    &format!(
                        "You have entered an Invalid Field Value {id} for the following field: entity"
                    ),
                    "entity",
                ));
            }
        }
        None if creating => {
            return Err(invalid_content(
                "Please enter value(s) for: Customer",
                "entity",
            ))
        }
        None => {}
    }
    for (i, line) in lines(body).iter().enumerate() {
        let path = format!("item.items[{i}].item");
        let Some(id) = ref_id(line.get("item")) else {
            return Err(invalid_content("Please enter value(s) for: Item", &path));
        };
        let exists = id
            .parse::<u64>()
            .ok()
            .is_some_and(|n| st.items.contains_key(&n));
        if !exists {
            return Err(invalid_content(
                &format!(
                    "You have entered an Invalid Field Value {id} for the following field: item"
                ),
                &path,
            ));
        }
        if st.faults.spec.failing_item_ids.contains(&id) {
            return Err(invalid_content(
                &format!("The item {id} is inactive and cannot be added to a transaction."),
                &path,
            ));
        }
    }
    Ok(())
}

/// A customer refund must name an existing customer. The reference does not document the
/// customer refund body, so the sandbox takes the reference from `customer` (the REST
/// record browser's name, UNCONFIRMED) or `entity`, and checks it the way NetSuite checks
/// every reference.
fn validate_customer_refund(st: &AccountState, body: &Map<String, Value>) -> Result<(), Reject> {
    let Some(id) = ref_id(body.get("customer")).or_else(|| ref_id(body.get("entity"))) else {
        return Err(invalid_content(
            "Please enter value(s) for: Customer",
            "customer",
        ));
    };
    let exists = id
        .parse::<u64>()
        .ok()
        .and_then(|n| st.record(RecordKind::Customer, n))
        .is_some();
    if !exists {
        return Err(invalid_content(
            &format!(
                "You have entered an Invalid Field Value {id} for the following field: customer"
            ),
            "customer",
        ));
    }
    Ok(())
}

/// Numbers lines NetSuite-style so later PATCHes can address them by `line`.
fn number_lines(body: &mut Map<String, Value>) {
    let Some(items) = body
        .get_mut("item")
        .and_then(|i| i.get_mut("items"))
        .and_then(Value::as_array_mut)
    else {
        return;
    };
    let mut next = items
        .iter()
        .filter_map(|l| l.get("line").and_then(Value::as_u64))
        .max()
        .unwrap_or(0);
    for line in items.iter_mut() {
        if let Some(obj) = line.as_object_mut() {
            if !obj.contains_key("line") {
                next += 1;
                obj.insert("line".into(), json!(next));
            }
        }
    }
}

fn quantity(v: Option<&Value>) -> f64 {
    match v {
        Some(Value::Number(n)) => n.as_f64().unwrap_or(0.0),
        Some(Value::String(s)) => s.parse().unwrap_or(0.0),
        _ => 0.0,
    }
}

/// NetSuite refuses to delete a sales order line an item fulfillment is tied to, or to set
/// its quantity below what was fulfilled. A `replace=item` upsert deletes every line the
/// body does not name by `line`, so it fails on a fulfilled order unless it keeps each
/// fulfilled line with at least its fulfilled quantity. The reference does not document
/// the error's wording; the sandbox answers like its other line checks.
fn check_replace_keeps_fulfilled(
    stored: &Map<String, Value>,
    update: &Map<String, Value>,
    replace: &[String],
) -> Result<(), Reject> {
    if !update.contains_key("item") || !replace.iter().any(|r| r.eq_ignore_ascii_case("item")) {
        return Ok(());
    }
    let new_lines = lines(update);
    for old in lines(stored) {
        let fulfilled = quantity(old.get("quantityFulfilled"));
        if fulfilled <= 0.0 {
            continue;
        }
        let line = old.get("line").and_then(Value::as_u64).unwrap_or(0);
        let kept = new_lines
            .iter()
            .find(|l| l.get("line").and_then(Value::as_u64) == Some(line));
        match kept {
            Some(l) if quantity(l.get("quantity")) + 1e-9 >= fulfilled => {}
            _ => {
                return Err(invalid_content(
                    &format!(
                        "You cannot remove line {line} or lower its quantity below the {fulfilled} already fulfilled."
                    ),
                    "item",
                ))
            }
        }
    }
    Ok(())
}

/// Applies an update: top-level fields overwrite; the `item` sublist is replaced when the
/// request said `replace=item`, otherwise the new lines are added (the PATCH rule, since
/// NetSuite's upsert merge behaviour is unconfirmed; a client that forgets `replace=item`
/// shows up as doubled lines).
fn merge(stored: &mut Map<String, Value>, update: Map<String, Value>, replace: &[String]) {
    for (key, value) in update {
        if key == "item" && !replace.iter().any(|r| r.eq_ignore_ascii_case("item")) {
            let mut existing = lines(stored);
            let added = value
                .get("items")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            existing.extend(added);
            stored.insert("item".into(), json!({ "items": existing }));
        } else if key == "item" {
            // A replaced line that keeps its `line` keeps what was fulfilled of it
            // (read-only in NetSuite, never in a request body).
            let old = lines(stored);
            let mut value = value;
            if let Some(items) = value.get_mut("items").and_then(Value::as_array_mut) {
                for l in items.iter_mut() {
                    let n = l.get("line").and_then(Value::as_u64);
                    let done = old
                        .iter()
                        .find(|o| n.is_some() && o.get("line").and_then(Value::as_u64) == n)
                        .and_then(|o| o.get("quantityFulfilled").cloned());
                    if let (Some(done), Some(obj)) = (done, l.as_object_mut()) {
                        obj.insert("quantityFulfilled".into(), done);
                    }
                }
            }
            stored.insert(key, value);
        } else {
            stored.insert(key, value);
        }
    }
}

impl NetSuiteSandbox {
    fn location(&self, record_type: &str, id: u64) -> String {
        format!(
            "{}/services/rest/record/v1/{record_type}/{id}",
            self.base_url()
        )
    }

    fn created(&self, record_type: &str, id: u64) -> Response {
        let mut resp = StatusCode::NO_CONTENT.into_response();
        let omit = self.state.lock().faults.spec.omit_location;
        if !omit {
            if let Ok(v) = HeaderValue::from_str(&self.location(record_type, id)) {
                resp.headers_mut().insert(header::LOCATION, v);
            }
        }
        resp
    }

    /// Creates or updates; returns the internal id.
    pub(super) fn write_record(
        &self,
        kind: RecordKind,
        external_id: Option<&str>,
        mut body: Map<String, Value>,
        replace: &[String],
        upsert: bool,
    ) -> Result<u64, Reject> {
        body.remove("id");
        body.remove("externalId");
        let mut st = self.state.lock();
        let existing = external_id.and_then(|eid| st.find_by_external_id(kind, eid));
        if existing.is_some() && !upsert {
            return Err(Box::new(ns_error(
                StatusCode::BAD_REQUEST,
                "USER_ERROR",
                "Error while accessing resource: A record with the same external ID already exists.",
                &[("o:errorPath", "externalId")],
            )));
        }
        // A standalone credit memo references a customer and items like a sales order does.
        if matches!(kind, RecordKind::SalesOrder | RecordKind::CreditMemo) {
            validate_sales_order(&st, &body, existing.is_none())?;
        }
        if kind == RecordKind::CustomerRefund {
            validate_customer_refund(&st, &body)?;
        }
        // A journal entry is checked as it would be saved: after the update is applied.
        let journal = kind == RecordKind::JournalEntry;
        if journal {
            let stored = existing.and_then(|id| st.record(kind, id)).map(|r| &r.body);
            body = super::ledger::journal_after(stored, body, replace);
            super::ledger::validate_journal(&st, &body)?;
        }
        if kind == RecordKind::Transfer {
            super::ledger::validate_transfer(&st, &body)?;
        }
        match existing {
            Some(id) => {
                let record = st
                    .records
                    .get_mut(&kind)
                    .and_then(|m| m.get_mut(&id))
                    .ok_or_else(|| Box::new(unsupported_type("?")))?;
                check_replace_keeps_fulfilled(&record.body, &body, replace)?;
                if journal {
                    record.body = body;
                } else {
                    merge(&mut record.body, body, replace);
                }
                number_lines(&mut record.body);
                record.writes += 1;
                st.touch(kind, id);
                Ok(id)
            }
            None => {
                if matches!(kind, RecordKind::SalesOrder | RecordKind::CreditMemo)
                    && lines(&body).is_empty()
                {
                    return Err(invalid_content(
                        "You must enter at least one line item for this transaction.",
                        "item",
                    ));
                }
                number_lines(&mut body);
                if kind == RecordKind::SalesOrder {
                    super::stock::commit_sales_order(&mut st, &body);
                }
                if let (RecordKind::SalesOrder, Some(eid)) = (kind, external_id) {
                    st.sales_order_first_written
                        .entry(eid.to_string())
                        .or_insert_with(Instant::now);
                }
                let id = st.allocate_id();
                st.records.entry(kind).or_default().insert(
                    id,
                    StoredRecord {
                        id,
                        external_id: external_id.map(str::to_string),
                        body,
                        writes: 1,
                    },
                );
                st.touch(kind, id);
                Ok(id)
            }
        }
    }
}

/// `PUT /services/rest/record/v1/{type}/eid:{externalId}`.
pub(super) async fn put_record(
    State(sb): State<Arc<NetSuiteSandbox>>,
    Path((record_type, id)): Path<(String, String)>,
    Query(query): Query<HashMap<String, String>>,
    body: axum::body::Bytes,
) -> Response {
    let Some(kind) = RecordKind::parse(&record_type) else {
        return unsupported_type(&record_type);
    };
    let Some(external_id) = id.strip_prefix("eid:").filter(|e| !e.is_empty()) else {
        return ns_error(
            StatusCode::BAD_REQUEST,
            "INVALID_REQUEST",
            "You can only use the upsert operation when you use an external ID in the request URL and when you use the PUT HTTP method.",
            &[],
        );
    };
    let body = match parse_object(&body) {
        Ok(b) => b,
        Err(resp) => return *resp,
    };
    let replace: Vec<String> = query
        .get("replace")
        .map(|r| r.split(',').map(|s| s.trim().to_string()).collect())
        .unwrap_or_default();
    match sb.write_record(kind, Some(external_id), body, &replace, true) {
        Ok(id) => sb.created(&record_type, id),
        Err(resp) => *resp,
    }
}

/// `POST /services/rest/record/v1/{type}`.
pub(super) async fn create_record(
    State(sb): State<Arc<NetSuiteSandbox>>,
    Path(record_type): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    let Some(kind) = RecordKind::parse(&record_type) else {
        return unsupported_type(&record_type);
    };
    let body = match parse_object(&body) {
        Ok(b) => b,
        Err(resp) => return *resp,
    };
    let external_id = body
        .get("externalId")
        .and_then(Value::as_str)
        .map(str::to_string);
    match sb.write_record(kind, external_id.as_deref(), body, &[], false) {
        Ok(id) => sb.created(&record_type, id),
        Err(resp) => *resp,
    }
}

/// `GET /services/rest/record/v1/{type}/{id}`.
pub(super) async fn get_record(
    State(sb): State<Arc<NetSuiteSandbox>>,
    Path((record_type, id)): Path<(String, String)>,
) -> Response {
    if id.starts_with("eid:") {
        return ns_error(
            StatusCode::BAD_REQUEST,
            "INVALID_REQUEST",
            "The sandbox does not serve GET by external id (unconfirmed in NetSuite); look the id up with SuiteQL.",
            &[],
        );
    }
    let not_found = || {
        ns_error(
            StatusCode::NOT_FOUND,
            "NONEXISTENT_ID",
            "Record does not exist.",
            &[],
        )
    };
    let Ok(n) = id.parse::<u64>() else {
        return not_found();
    };
    let st = sb.state.lock();
    let found = if record_type.eq_ignore_ascii_case("inventoryItem") {
        st.items.get(&n).map(|i| i.to_json())
    } else if let Some(kind) = RecordKind::parse(&record_type) {
        st.record(kind, n).map(StoredRecord::to_json)
    } else {
        return unsupported_type(&record_type);
    };
    drop(st);
    match found {
        Some(Value::Object(mut m)) => {
            m.insert(
                "links".into(),
                json!([{"rel": "self", "href": sb.location(&record_type, n)}]),
            );
            Json(Value::Object(m)).into_response()
        }
        _ => not_found(),
    }
}

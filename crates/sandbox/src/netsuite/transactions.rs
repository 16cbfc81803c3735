//! Transaction paths of the simulated account (reference §4.3–4.5): `!transform` from a
//! sales order to an item fulfillment or return authorization and from a return
//! authorization to a credit memo or item receipt, and PATCH of sublist lines (closing
//! sales order lines). Quantities are checked against what earlier transforms already
//! took, as NetSuite does, so an over-fulfillment or double receipt fails loudly.

use super::state::{RecordKind, State as AccountState, StoredRecord};
use super::{ns_error, NetSuiteSandbox};
use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Map, Value};
use std::sync::Arc;

/// A refusal carried through `Result`; boxed because `Response` is large.
type Reject = Box<Response>;

fn reject(status: StatusCode, code: &str, detail: &str, path: Option<&str>) -> Reject {
    let extra: Vec<(&str, &str)> = path.map(|p| ("o:errorPath", p)).into_iter().collect();
    Box::new(ns_error(status, code, detail, &extra))
}

fn invalid_content(detail: &str, path: &str) -> Reject {
    reject(
        StatusCode::BAD_REQUEST,
        "INVALID_CONTENT",
        &format!("Error while accessing resource: {detail}"),
        Some(path),
    )
}

fn not_found() -> Reject {
    reject(
        StatusCode::NOT_FOUND,
        "NONEXISTENT_ID",
        "Record does not exist.",
        None,
    )
}

fn parse_object(body: &[u8]) -> Result<Map<String, Value>, Reject> {
    if body.is_empty() {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(m)) => Ok(m),
        _ => Err(reject(
            StatusCode::BAD_REQUEST,
            "INVALID_CONTENT",
            "The request body is not a JSON object.",
            None,
        )),
    }
}

fn lines_of(body: &Map<String, Value>) -> Vec<Value> {
    body.get("item")
        .and_then(|i| i.get("items"))
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

fn num(v: Option<&Value>) -> Option<f64> {
    match v? {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

/// Field lookup ignoring case: Oracle's examples write `itemreceive`/`isclosed`, the schema
/// `itemReceive`/`isClosed`, and both reach NetSuite.
fn field<'a>(line: &'a Value, name: &str) -> Option<&'a Value> {
    line.as_object()?
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
}

fn flag(line: &Value, name: &str) -> Option<bool> {
    field(line, name).and_then(Value::as_bool)
}

/// The source → target pairs NetSuite allows and the sandbox implements.
fn transform_allowed(from: RecordKind, to: RecordKind) -> bool {
    matches!(
        (from, to),
        (RecordKind::SalesOrder, RecordKind::ItemFulfillment)
            | (RecordKind::SalesOrder, RecordKind::ReturnAuthorization)
            | (RecordKind::ReturnAuthorization, RecordKind::CreditMemo)
            | (RecordKind::ReturnAuthorization, RecordKind::ItemReceipt)
    )
}

/// Quantity of `source`'s line `line` already taken by earlier `kind` records made from it.
fn taken(st: &AccountState, kind: RecordKind, source: u64, line: u64) -> f64 {
    st.records(kind)
        .filter(|r| {
            r.body
                .get("createdFrom")
                .and_then(|c| c.get("id"))
                .and_then(Value::as_str)
                == Some(source.to_string().as_str())
        })
        .flat_map(|r| lines_of(&r.body))
        .filter(|l| num(l.get("orderLine")).map(|n| n as u64) == Some(line))
        .map(|l| num(l.get("quantity")).unwrap_or(0.0))
        .sum()
}

/// Adds the quantities of new fulfillment lines to the sales order lines they ship.
fn mark_fulfilled(st: &mut AccountState, sales_order_id: u64, fulfilled: &[Value]) {
    let Some(so) = st
        .records
        .get_mut(&RecordKind::SalesOrder)
        .and_then(|m| m.get_mut(&sales_order_id))
    else {
        return;
    };
    let mut lines = lines_of(&so.body);
    for f in fulfilled {
        let order_line = num(f.get("orderLine")).map(|n| n as u64);
        let quantity = num(f.get("quantity")).unwrap_or(0.0);
        if let Some(Value::Object(l)) = lines
            .iter_mut()
            .find(|l| num(l.get("line")).map(|n| n as u64) == order_line)
        {
            let before = num(l.get("quantityFulfilled")).unwrap_or(0.0);
            l.insert("quantityFulfilled".into(), json!(before + quantity));
        }
    }
    so.body.insert("item".into(), json!({ "items": lines }));
}

impl NetSuiteSandbox {
    /// Does the transform under one lock (so concurrent transforms cannot both take the
    /// same quantity) and returns the new record's id.
    fn transform_record(
        &self,
        from: RecordKind,
        source_id: u64,
        to: RecordKind,
        mut request: Map<String, Value>,
    ) -> Result<u64, Reject> {
        if !transform_allowed(from, to) {
            return Err(reject(
                StatusCode::BAD_REQUEST,
                "INVALID_REQUEST",
                "The sandbox does not implement this transformation.",
                None,
            ));
        }
        let mut st = self.state.lock();
        let source = st.record(from, source_id).ok_or_else(not_found)?.clone();
        let external_id = request
            .remove("externalId")
            .and_then(|v| v.as_str().map(str::to_string));
        if let Some(eid) = &external_id {
            if st.find_by_external_id(to, eid).is_some() {
                return Err(reject(
                    StatusCode::BAD_REQUEST,
                    "USER_ERROR",
                    "Error while accessing resource: A record with the same external ID already exists.",
                    Some("externalId"),
                ));
            }
        }
        let source_lines = lines_of(&source.body);
        let requested = lines_of(&request);
        // Without an `item` sublist NetSuite takes every open line in full.
        let picks: Vec<(usize, Value)> = if requested.is_empty() {
            source_lines
                .iter()
                .filter(|l| flag(l, "isclosed") != Some(true))
                .map(|l| json!({"orderLine": l.get("line").cloned().unwrap_or(Value::Null)}))
                .enumerate()
                .collect()
        } else {
            requested.into_iter().enumerate().collect()
        };
        let mut out = Vec::new();
        for (i, pick) in picks {
            if flag(&pick, "itemReceive") == Some(false) {
                continue;
            }
            // A credit memo may carry lines of its own beside the returned ones (tax,
            // shipping, discounts refunded): an item and an amount, no source line.
            if to == RecordKind::CreditMemo
                && pick.get("orderLine").is_none()
                && pick.get("item").is_some()
            {
                let mut line = pick.as_object().cloned().unwrap_or_default();
                line.insert("line".into(), json!(out.len() + 1));
                line.entry("quantity").or_insert(json!(1));
                out.push(Value::Object(line));
                continue;
            }
            let path = format!("item.items[{i}].orderLine");
            let Some(order_line) = num(pick.get("orderLine")).map(|n| n as u64) else {
                return Err(invalid_content(
                    "Please enter value(s) for: Order Line",
                    &path,
                ));
            };
            let Some(src) = source_lines
                .iter()
                .find(|l| num(l.get("line")).map(|n| n as u64) == Some(order_line))
            else {
                return Err(invalid_content(
                    &format!("The line {order_line} does not exist on the source transaction."),
                    &path,
                ));
            };
            if flag(src, "isclosed") == Some(true) {
                return Err(invalid_content(
                    &format!("The line {order_line} is closed."),
                    &path,
                ));
            }
            let ordered = num(src.get("quantity")).unwrap_or(0.0);
            let remaining = ordered - taken(&st, to, source_id, order_line);
            let quantity = num(pick.get("quantity")).unwrap_or(remaining);
            if quantity <= 0.0 || quantity > remaining + 1e-9 {
                return Err(invalid_content(
                    &format!(
                        "You can not enter a quantity of {quantity} for line {order_line}; {remaining} remain."
                    ),
                    &format!("item.items[{i}].quantity"),
                ));
            }
            let mut line = pick.as_object().cloned().unwrap_or_default();
            line.insert("orderLine".into(), json!(order_line));
            line.insert("line".into(), json!(out.len() + 1));
            line.insert("quantity".into(), json!(quantity));
            line.insert(
                "item".into(),
                src.get("item").cloned().unwrap_or(Value::Null),
            );
            if let Some(rate) = src.get("rate") {
                line.entry("rate").or_insert(rate.clone());
            }
            out.push(Value::Object(line));
        }
        if out.is_empty() {
            return Err(invalid_content(
                "You must enter at least one line item for this transaction.",
                "item",
            ));
        }
        let mut body = request;
        body.remove("id");
        body.insert("item".into(), json!({ "items": out }));
        body.insert("createdFrom".into(), json!({ "id": source_id.to_string() }));
        if let Some(entity) = source.body.get("entity") {
            body.entry("entity").or_insert(entity.clone());
        }
        // No default `shipStatus`: an account without Pick, Pack and Ship has no such field
        // on its fulfillments (they are shipped once saved), so a transform body without it
        // makes a fulfillment without it, as there.
        if to == RecordKind::ItemFulfillment {
            // NetSuite keeps a read-only `quantityFulfilled` on each sales order line; the
            // cancellation flow reads it to leave fulfilled orders alone.
            mark_fulfilled(&mut st, source_id, &out);
        }
        let id = st.allocate_id();
        st.records.entry(to).or_default().insert(
            id,
            StoredRecord {
                id,
                external_id,
                body,
                writes: 1,
            },
        );
        st.touch(to, id);
        Ok(id)
    }

    /// Applies a PATCH: body fields overwrite; `item` lines with `line` update that line,
    /// lines without it are added (reference §4.5).
    pub(super) fn patch(
        &self,
        kind: RecordKind,
        id: u64,
        request: Map<String, Value>,
    ) -> Result<(), Reject> {
        let mut st = self.state.lock();
        let known_items: Vec<u64> = st.items.keys().copied().collect();
        let record = st
            .records
            .get_mut(&kind)
            .and_then(|m| m.get_mut(&id))
            .ok_or_else(not_found)?;
        let mut lines = lines_of(&record.body);
        let mut next = lines
            .iter()
            .filter_map(|l| num(l.get("line")))
            .fold(0.0_f64, f64::max) as u64;
        for (key, value) in request {
            if key != "item" {
                record.body.insert(key, value);
                continue;
            }
            let changes = value
                .get("items")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            for (i, change) in changes.into_iter().enumerate() {
                let Value::Object(change) = change else {
                    return Err(invalid_content(
                        "A line must be an object.",
                        &format!("item.items[{i}]"),
                    ));
                };
                match num(change.get("line")).map(|n| n as u64) {
                    Some(n) => {
                        let Some(target) = lines
                            .iter_mut()
                            .find(|l| num(l.get("line")).map(|x| x as u64) == Some(n))
                            .and_then(Value::as_object_mut)
                        else {
                            return Err(invalid_content(
                                &format!("The line {n} does not exist."),
                                &format!("item.items[{i}].line"),
                            ));
                        };
                        let fulfilled = num(target.get("quantityFulfilled")).unwrap_or(0.0);
                        if let Some(q) = num(change.get("quantity")) {
                            if q + 1e-9 < fulfilled {
                                return Err(invalid_content(
                                    &format!("The quantity {q} of line {n} is below the {fulfilled} already fulfilled."),
                                    &format!("item.items[{i}].quantity"),
                                ));
                            }
                        }
                        target.extend(change);
                    }
                    None => {
                        let item_ok = change
                            .get("item")
                            .and_then(|r| r.get("id"))
                            .and_then(|v| num(Some(v)))
                            .is_some_and(|n| known_items.contains(&(n as u64)));
                        if !item_ok {
                            return Err(invalid_content(
                                "Please enter a valid value for: Item",
                                &format!("item.items[{i}].item"),
                            ));
                        }
                        next += 1;
                        let mut added = change;
                        added.insert("line".into(), json!(next));
                        lines.push(Value::Object(added));
                    }
                }
            }
        }
        record.body.insert("item".into(), json!({ "items": lines }));
        record.writes += 1;
        st.touch(kind, id);
        Ok(())
    }

    fn no_content_at(&self, record_type: &str, id: u64) -> Response {
        let mut resp = StatusCode::NO_CONTENT.into_response();
        if !self.state.lock().faults.spec.omit_location {
            let url = format!(
                "{}/services/rest/record/v1/{record_type}/{id}",
                self.base_url()
            );
            if let Ok(v) = HeaderValue::from_str(&url) {
                resp.headers_mut().insert(header::LOCATION, v);
            }
        }
        resp
    }

    /// An item fulfillment made in NetSuite itself (a warehouse user, a WMS), as a transform
    /// of the sales order with `body` (`item.items[]{orderLine, quantity}`, `package`, ...).
    pub fn create_item_fulfillment(
        &self,
        sales_order_id: &str,
        body: Value,
    ) -> Result<String, String> {
        let source: u64 = sales_order_id
            .parse()
            .map_err(|_| format!("sales order id {sales_order_id:?} is not numeric"))?;
        let Value::Object(body) = body else {
            return Err("the body must be a JSON object".into());
        };
        self.transform_record(
            RecordKind::SalesOrder,
            source,
            RecordKind::ItemFulfillment,
            body,
        )
        .map(|id| id.to_string())
        .map_err(|_| "NetSuite refused the item fulfillment".to_string())
    }

    /// A record of any stored type by internal id (`salesOrder`, `itemFulfillment`, ...).
    pub fn record(&self, record_type: &str, id: &str) -> Option<Value> {
        let kind = RecordKind::parse(record_type)?;
        let id: u64 = id.parse().ok()?;
        self.state
            .lock()
            .record(kind, id)
            .map(StoredRecord::to_json)
    }

    /// All records of a type, oldest first.
    pub fn records_of(&self, record_type: &str) -> Vec<Value> {
        RecordKind::parse(record_type).map_or_else(Vec::new, |kind| {
            self.state
                .lock()
                .records(kind)
                .map(StoredRecord::to_json)
                .collect()
        })
    }

    /// Records of `record_type` transformed from the record `source_id`.
    pub fn records_created_from(&self, record_type: &str, source_id: &str) -> Vec<Value> {
        self.records_of(record_type)
            .into_iter()
            .filter(|r| r["createdFrom"]["id"].as_str() == Some(source_id))
            .collect()
    }

    pub fn record_by_external_id_of(&self, record_type: &str, external_id: &str) -> Option<Value> {
        let kind = RecordKind::parse(record_type)?;
        let st = self.state.lock();
        let id = st.find_by_external_id(kind, external_id)?;
        st.record(kind, id).map(StoredRecord::to_json)
    }
}

/// `POST /services/rest/record/v1/{type}/{id}/!transform/{target}` → 204 + `Location`.
pub(super) async fn transform(
    State(sb): State<Arc<NetSuiteSandbox>>,
    Path((record_type, id, target)): Path<(String, String, String)>,
    body: axum::body::Bytes,
) -> Response {
    let (Some(from), Some(to)) = (RecordKind::parse(&record_type), RecordKind::parse(&target))
    else {
        return *reject(
            StatusCode::BAD_REQUEST,
            "INVALID_REQUEST",
            &format!("The sandbox does not implement the transformation {record_type} → {target}."),
            None,
        );
    };
    let Ok(source) = id.parse::<u64>() else {
        return *not_found();
    };
    let result = parse_object(&body).and_then(|b| sb.transform_record(from, source, to, b));
    match result {
        Ok(new_id) => sb.no_content_at(&target, new_id),
        Err(resp) => *resp,
    }
}

/// `PATCH /services/rest/record/v1/{type}/{id}`.
pub(super) async fn patch_record(
    State(sb): State<Arc<NetSuiteSandbox>>,
    Path((record_type, id)): Path<(String, String)>,
    body: axum::body::Bytes,
) -> Response {
    let Some(kind) = RecordKind::parse(&record_type) else {
        return *reject(
            StatusCode::BAD_REQUEST,
            "INVALID_REQUEST",
            &format!("The sandbox does not implement the record type '{record_type}'."),
            None,
        );
    };
    let Ok(n) = id.parse::<u64>() else {
        return *not_found();
    };
    match parse_object(&body).and_then(|b| sb.patch(kind, n, b)) {
        Ok(()) => sb.no_content_at(&record_type, n),
        Err(resp) => *resp,
    }
}

//! Reading a transaction with its `item` lines (sales order, return authorization): what
//! the cancellation, return and FBT flows need to pick lines by TikTok SKU, see what is
//! already closed or fulfilled, and carry rates over as exact decimals.

use super::client::{check_record_type, NetSuiteClient, NetSuiteError, PATH_SEGMENT};
use http::Method;
use percent_encoding::utf8_percent_encode;
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;
use serde_json::Value;

/// One `item` line as the bridge reads it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TransactionLine {
    /// NetSuite's line number: what PATCHes and transforms (`orderLine`) address.
    pub line: u64,
    pub item_id: Option<String>,
    pub quantity: Decimal,
    pub rate: Option<Decimal>,
    pub amount: Option<Decimal>,
    pub location_id: Option<String>,
    pub is_closed: bool,
    /// Units already fulfilled (sales order lines; read-only in NetSuite). The reference
    /// does not list sales order line fields; the name is the REST record browser's
    /// `quantityFulfilled` (UNCONFIRMED), matched case-insensitively.
    pub quantity_fulfilled: Decimal,
    /// `custcol_tiktok_sku_id`, written by O1 on product lines (not on adjustment lines).
    pub tiktok_sku_id: Option<String>,
}

/// A transaction with its lines.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Transaction {
    pub id: String,
    pub external_id: Option<String>,
    pub entity_id: Option<String>,
    pub location_id: Option<String>,
    pub lines: Vec<TransactionLine>,
}

impl Transaction {
    /// Product lines of one TikTok SKU, in line order.
    pub fn lines_of_sku<'a>(
        &'a self,
        sku_id: &'a str,
    ) -> impl Iterator<Item = &'a TransactionLine> {
        self.lines
            .iter()
            .filter(move |l| l.tiktok_sku_id.as_deref() == Some(sku_id))
    }

    /// Any unit of any line already fulfilled.
    pub fn any_fulfilled(&self) -> bool {
        self.lines
            .iter()
            .any(|l| l.quantity_fulfilled > Decimal::ZERO)
    }

    pub fn from_record(record: &Value) -> Result<Transaction, NetSuiteError> {
        let id = record
            .get("id")
            .and_then(scalar)
            .ok_or_else(|| NetSuiteError::InvalidResponse("transaction has no id".into()))?;
        let lines = record
            .get("item")
            .and_then(|i| i.get("items"))
            .and_then(Value::as_array)
            .map(|items| items.iter().filter_map(line_of).collect())
            .unwrap_or_default();
        Ok(Transaction {
            id,
            external_id: record.get("externalId").and_then(scalar),
            entity_id: ref_id(record.get("entity")),
            location_id: ref_id(record.get("location")),
            lines,
        })
    }
}

/// Case-insensitive field lookup: Oracle's examples write `isclosed`, the schema `isClosed`.
fn field<'a>(v: &'a Value, name: &str) -> Option<&'a Value> {
    v.as_object()?
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
}

fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// `{"id": "5"}`, `"5"` or `5`.
fn ref_id(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::Object(m) => m.get("id").and_then(scalar),
        other => scalar(other),
    }
}

/// Numbers keep their literal digits (serde_json's `arbitrary_precision`), so this is exact.
fn decimal(v: Option<&Value>) -> Option<Decimal> {
    let text = match v? {
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.clone(),
        _ => return None,
    };
    text.trim().parse::<Decimal>().ok().or_else(|| {
        // Exponent forms such as 1e2.
        Decimal::from_scientific(text.trim()).ok()
    })
}

fn line_of(v: &Value) -> Option<TransactionLine> {
    let line = decimal(field(v, "line"))?;
    Some(TransactionLine {
        line: line.trunc().to_u64()?,
        item_id: ref_id(field(v, "item")),
        quantity: decimal(field(v, "quantity")).unwrap_or_default(),
        rate: decimal(field(v, "rate")),
        amount: decimal(field(v, "amount")),
        location_id: ref_id(field(v, "location")),
        is_closed: field(v, "isClosed").and_then(Value::as_bool) == Some(true),
        quantity_fulfilled: decimal(field(v, "quantityFulfilled")).unwrap_or_default(),
        tiktok_sku_id: field(v, "custcol_tiktok_sku_id").and_then(scalar),
    })
}

impl NetSuiteClient {
    /// `GET /record/v1/{record_type}/{id}?expandSubResources=true`, typed: sublists are only
    /// inlined when expanded.
    pub async fn get_transaction(
        &self,
        record_type: &str,
        id: &str,
    ) -> Result<Transaction, NetSuiteError> {
        check_record_type(record_type)?;
        let path = format!(
            "/record/v1/{record_type}/{}",
            utf8_percent_encode(id, PATH_SEGMENT)
        );
        let url = self.url(&path, &[("expandSubResources", "true")])?;
        let answer = self
            .send(Method::GET, url, None, false, "get", record_type)
            .await?;
        let record: Value = serde_json::from_slice(&answer.body).map_err(|e| {
            NetSuiteError::InvalidResponse(format!("{record_type} record is not JSON: {e}"))
        })?;
        Transaction::from_record(&record)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;
    use serde_json::json;

    #[test]
    fn lines_parse_with_exact_decimals_and_either_case() {
        let t = Transaction::from_record(&json!({
            "id": "555", "externalId": "tiktok-order:1", "entity": {"id": "42"},
            "item": {"items": [
                {"line": 1, "item": {"id": "98"}, "quantity": 2.0, "rate": 19.99, "amount": 39.98,
                 "custcol_tiktok_sku_id": "17", "quantityFulfilled": 1, "location": {"id": "6"}},
                {"line": 3, "item": {"id": "7"}, "quantity": 1, "rate": -2.5, "isclosed": true}
            ]}
        }))
        .unwrap();
        assert_eq!(t.entity_id.as_deref(), Some("42"));
        assert_eq!(t.lines.len(), 2);
        assert_eq!(t.lines[0].rate, Some(dec!(19.99)));
        assert_eq!(t.lines[0].quantity, dec!(2));
        assert_eq!(t.lines[0].location_id.as_deref(), Some("6"));
        assert!(t.any_fulfilled());
        assert_eq!(t.lines[1].line, 3);
        assert!(t.lines[1].is_closed);
        assert_eq!(t.lines_of_sku("17").count(), 1);
    }
}

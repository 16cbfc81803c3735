//! SuiteQL paging rules and the queries the bridge sends (reference §7). Pure, so the pager
//! bounds and the injection guard are unit-tested without a server.

use super::error::NetSuiteError;
use serde::Deserialize;
use serde_json::{Map, Value};

/// Largest page NetSuite serves.
pub const MAX_LIMIT: u64 = 1000;
/// Rows one query can reach by offset paging; beyond it use keyset paging on `id`.
pub const MAX_ROWS: u64 = 100_000;
/// Skus per `IN (...)` list, keeping each query well under one page.
pub const SKU_CHUNK: usize = 200;

/// One page as NetSuite returns it; each item's own `links` key is removed.
#[derive(Debug, Clone, PartialEq)]
pub struct SuiteQlPage {
    pub items: Vec<Map<String, Value>>,
    pub has_more: bool,
    pub offset: u64,
    pub total_results: Option<u64>,
}

#[derive(Deserialize)]
struct WirePage {
    #[serde(default)]
    items: Vec<Map<String, Value>>,
    #[serde(rename = "hasMore", default)]
    has_more: bool,
    #[serde(default)]
    offset: u64,
    #[serde(rename = "totalResults", default)]
    total_results: Option<u64>,
}

impl SuiteQlPage {
    pub fn parse(body: &[u8]) -> Result<Self, NetSuiteError> {
        let wire: WirePage = serde_json::from_slice(body).map_err(|e| {
            NetSuiteError::InvalidResponse(format!("SuiteQL page is not the documented JSON: {e}"))
        })?;
        let items = wire
            .items
            .into_iter()
            .map(|mut row| {
                row.remove("links");
                row
            })
            .collect();
        Ok(SuiteQlPage {
            items,
            has_more: wire.has_more,
            offset: wire.offset,
            total_results: wire.total_results,
        })
    }
}

/// NetSuite's pager rules: `limit` in 1..=1000, `offset` a multiple of `limit`, and no row
/// past the 100,000th.
pub fn check_page(limit: u64, offset: u64) -> Result<(), NetSuiteError> {
    if limit == 0 || limit > MAX_LIMIT {
        return Err(NetSuiteError::InvalidRequest(format!(
            "SuiteQL limit must be between 1 and {MAX_LIMIT}, got {limit}"
        )));
    }
    if offset % limit != 0 {
        return Err(NetSuiteError::InvalidRequest(format!(
            "SuiteQL offset {offset} is not a multiple of the limit {limit}"
        )));
    }
    if offset + limit > MAX_ROWS {
        return Err(too_many_rows());
    }
    Ok(())
}

pub fn too_many_rows() -> NetSuiteError {
    NetSuiteError::InvalidRequest(format!(
        "SuiteQL reads at most {MAX_ROWS} rows per query; page by key instead (WHERE id > ? ORDER BY id)"
    ))
}

/// A column name we may splice into a query: letters, digits and `_`, starting with a
/// letter. Values always travel as bound `?` parameters; only names need this guard.
pub fn is_plain_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic())
        && name.len() <= 64
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// `SELECT id, {field} AS sku FROM item WHERE {field} IN (?, …) ORDER BY id`.
pub fn items_by_sku_query(field: &str, count: usize) -> Result<String, NetSuiteError> {
    if !is_plain_identifier(field) {
        return Err(NetSuiteError::InvalidRequest(format!(
            "item sku field {field:?} is not a plain identifier"
        )));
    }
    if count == 0 {
        return Err(NetSuiteError::InvalidRequest(
            "an IN list needs at least one sku".into(),
        ));
    }
    let marks = vec!["?"; count].join(", ");
    Ok(format!(
        "SELECT id, {field} AS sku FROM item WHERE {field} IN ({marks}) ORDER BY id"
    ))
}

/// SuiteQL table holding records of a REST record type, for external id lookups.
pub fn table_for_record_type(record_type: &str) -> Option<&'static str> {
    const TRANSACTIONS: &[&str] = &[
        "salesorder",
        "itemfulfillment",
        "returnauthorization",
        "creditmemo",
        "cashsale",
        "cashrefund",
        "invoice",
        "customerdeposit",
        "customerrefund",
        "customerpayment",
        "itemreceipt",
        "journalentry",
        "deposit",
    ];
    let lower = record_type.to_ascii_lowercase();
    if lower == "customer" {
        Some("customer")
    } else if TRANSACTIONS.contains(&lower.as_str()) {
        Some("transaction")
    } else {
        None
    }
}

/// A SuiteQL value as a string: NetSuite sends strings, but be lenient about numbers.
pub fn value_as_string(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pager_rejects_out_of_bounds_pages() {
        assert!(check_page(1000, 0).is_ok());
        assert!(check_page(1000, 99_000).is_ok());
        assert!(check_page(10, 20).is_ok());
        assert!(check_page(1001, 0).is_err());
        assert!(check_page(0, 0).is_err());
        assert!(check_page(1000, 500).is_err());
        assert!(check_page(1000, 100_000).is_err());
    }

    #[test]
    fn recorded_page_parses_with_lowercase_string_values() {
        let body = br#"{"links":[{"rel":"self","href":"https://2945321.suitetalk.api.netsuite.com/services/rest/query/v1/suiteql?limit=1000&offset=0"}],"count":3,"hasMore":false,"items":[{"links":[],"internalid":"311","name":"Finbox"},{"links":[],"internalid":"312","name":"Finbox"},{"links":[],"internalid":"313","name":"Finbox"}],"offset":0,"totalResults":3}"#;
        let page = SuiteQlPage::parse(body).unwrap();
        assert_eq!(page.items.len(), 3);
        assert!(!page.has_more);
        assert_eq!(page.total_results, Some(3));
        assert_eq!(
            page.items[0].get("internalid"),
            Some(&Value::String("311".into()))
        );
        assert!(!page.items[0].contains_key("links"));
    }

    #[test]
    fn sku_query_binds_values_and_refuses_injected_field_names() {
        assert_eq!(
            items_by_sku_query("itemid", 3).unwrap(),
            "SELECT id, itemid AS sku FROM item WHERE itemid IN (?, ?, ?) ORDER BY id"
        );
        assert!(items_by_sku_query("custitem_tiktok_sku", 1).is_ok());
        for bad in [
            "itemid; DROP",
            "itemid)--",
            "1abc",
            "",
            "item id",
            "itemid'",
        ] {
            assert!(items_by_sku_query(bad, 1).is_err(), "{bad:?} accepted");
        }
        assert!(items_by_sku_query("itemid", 0).is_err());
    }

    #[test]
    fn record_types_map_to_lookup_tables() {
        assert_eq!(table_for_record_type("salesOrder"), Some("transaction"));
        assert_eq!(table_for_record_type("customer"), Some("customer"));
        assert_eq!(table_for_record_type("inventoryItem"), None);
    }
}

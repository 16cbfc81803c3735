//! Stock per item and location by SuiteQL (reference §7, "Stock per item per location"):
//! `InventoryItemLocations` joined with `item`, limited to the shop's mapped locations.

use super::client::NetSuiteClient;
use super::error::NetSuiteError;
use super::suiteql::value_as_string;
use rust_decimal::Decimal;
use serde_json::{Map, Value};
use std::str::FromStr;

/// Items per query. With a few locations each this stays far below a 1,000-row page count
/// limit and the 100,000-row ceiling, and keeps the bound parameter list short.
pub const ITEM_CHUNK: usize = 200;

/// One `InventoryItemLocations` row.
#[derive(Debug, Clone, PartialEq)]
pub struct StockRow {
    pub item_id: String,
    pub sku: String,
    pub location_id: String,
    pub on_hand: Decimal,
    pub available: Decimal,
    pub committed: Decimal,
}

fn marks(n: usize) -> String {
    vec!["?"; n].join(", ")
}

/// The stock query for `items` item ids and `locations` location ids, both bound as `?`.
/// Ordered by (item, location), a unique key, so offset paging neither skips nor repeats.
pub fn stock_query(items: usize, locations: usize) -> Result<String, NetSuiteError> {
    if items == 0 || locations == 0 {
        return Err(NetSuiteError::InvalidRequest(
            "the stock query needs at least one item and one location".into(),
        ));
    }
    Ok(format!(
        "SELECT iil.item, i.itemid AS sku, iil.location, iil.quantityonhand, \
         iil.quantityavailable, iil.quantitycommitted \
         FROM inventoryitemlocations iil JOIN item i ON i.id = iil.item \
         WHERE iil.item IN ({}) AND iil.location IN ({}) AND i.isinactive = 'F' \
         ORDER BY iil.item, iil.location",
        marks(items),
        marks(locations)
    ))
}

/// NetSuite omits null columns; a missing quantity is none at all.
fn quantity(row: &Map<String, Value>, key: &str) -> Result<Decimal, NetSuiteError> {
    match row.get(key).and_then(value_as_string) {
        None => Ok(Decimal::ZERO),
        Some(s) if s.is_empty() => Ok(Decimal::ZERO),
        Some(s) => Decimal::from_str(&s).map_err(|e| {
            NetSuiteError::InvalidResponse(format!("stock column {key} = {s:?}: {e}"))
        }),
    }
}

/// Parses one wire row (keys lower-cased by NetSuite).
pub fn parse_stock_row(row: &Map<String, Value>) -> Result<StockRow, NetSuiteError> {
    let text = |key: &str| {
        row.get(key)
            .and_then(value_as_string)
            .ok_or_else(|| NetSuiteError::InvalidResponse(format!("stock row without {key}")))
    };
    Ok(StockRow {
        item_id: text("item")?,
        sku: row.get("sku").and_then(value_as_string).unwrap_or_default(),
        location_id: text("location")?,
        on_hand: quantity(row, "quantityonhand")?,
        available: quantity(row, "quantityavailable")?,
        committed: quantity(row, "quantitycommitted")?,
    })
}

impl NetSuiteClient {
    /// Stock of `item_ids` at `location_ids`, every page read, items batched by
    /// [`ITEM_CHUNK`]. Items without a row at a location simply have no row for it.
    pub async fn stock_for_items(
        &self,
        item_ids: &[String],
        location_ids: &[String],
    ) -> Result<Vec<StockRow>, NetSuiteError> {
        let mut items: Vec<String> = Vec::with_capacity(item_ids.len());
        for id in item_ids {
            if !id.is_empty() && !items.contains(id) {
                items.push(id.clone());
            }
        }
        let mut locations: Vec<String> = location_ids.to_vec();
        locations.sort();
        locations.dedup();
        if items.is_empty() || locations.is_empty() {
            return Ok(Vec::new());
        }
        let mut out = Vec::new();
        for chunk in items.chunks(ITEM_CHUNK) {
            let query = stock_query(chunk.len(), locations.len())?;
            let params: Vec<String> = chunk.iter().chain(locations.iter()).cloned().collect();
            for row in self.suiteql(&query, &params).await? {
                out.push(parse_stock_row(&row)?);
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;
    use serde_json::json;

    #[test]
    fn query_binds_items_then_locations_and_orders_by_the_unique_key() {
        let q = stock_query(2, 3).unwrap();
        assert!(q.contains("iil.item IN (?, ?) AND iil.location IN (?, ?, ?)"));
        assert!(q.ends_with("ORDER BY iil.item, iil.location"));
        assert!(stock_query(0, 1).is_err());
        assert!(stock_query(1, 0).is_err());
    }

    #[test]
    fn rows_parse_strings_and_missing_columns() {
        let row = json!({"item":"101","sku":"CAP-RED","location":"1","quantityavailable":"7.5","quantityonhand":"9"});
        let Value::Object(row) = row else {
            unreachable!()
        };
        let r = parse_stock_row(&row).unwrap();
        assert_eq!(r.available, dec!(7.5));
        assert_eq!(r.on_hand, dec!(9));
        assert_eq!(r.committed, Decimal::ZERO);
        let Value::Object(bad) = json!({"item":"1","location":"2","quantityavailable":"x"}) else {
            unreachable!()
        };
        assert!(parse_stock_row(&bad).is_err());
    }
}

//! The inventory sweep's reads (issue 11): which items' availability may have changed in the
//! last N seconds, by NetSuite's own clock. Two SuiteQL queries, both keyed on `SYSDATE` so
//! neither the bridge's clock nor the account's time zone enters the comparison:
//!
//! - transaction lines of every transaction last modified in the window (a sales order from
//!   any channel, a cash sale, a receipt, an adjustment, a build...; whatever NetSuite saved,
//!   whichever context saved it, user event or not);
//! - item-location records whose available quantity last changed in the window
//!   (`aggregateitemlocation.lastquantityavailablechange`), which also catches what leaves no
//!   transaction line behind (a deleted transaction, a commitment released by a close).
//!
//! Column names follow the SuiteQL tables as accounts show them (`transaction.lastmodifieddate`,
//! `transactionline.item`); `lastquantityavailablechange` is listed in the reference with its
//! semantics UNCONFIRMED, which is why it is only one of two nets.

use super::client::NetSuiteClient;
use super::error::NetSuiteError;
use super::suiteql::value_as_string;
use std::collections::BTreeSet;

/// Items on lines of transactions modified in the last `?` seconds.
pub const CHANGED_LINES_QUERY: &str = "SELECT DISTINCT tl.item AS item \
     FROM transactionline tl JOIN transaction t ON t.id = tl.transaction \
     WHERE t.lastmodifieddate >= SYSDATE - NUMTODSINTERVAL(?, 'SECOND') \
     AND tl.item IS NOT NULL ORDER BY tl.item";

/// Items whose available quantity at one of `locations` changed in the last `?` seconds.
pub fn changed_item_locations_query(locations: usize) -> Result<String, NetSuiteError> {
    if locations == 0 {
        return Err(NetSuiteError::InvalidRequest(
            "the item-location sweep needs at least one location".into(),
        ));
    }
    Ok(format!(
        "SELECT DISTINCT ail.item AS item FROM aggregateitemlocation ail \
         WHERE ail.lastquantityavailablechange >= SYSDATE - NUMTODSINTERVAL(?, 'SECOND') \
         AND ail.location IN ({}) ORDER BY ail.item",
        vec!["?"; locations].join(", ")
    ))
}

impl NetSuiteClient {
    /// Item ids whose stock may have moved in the last `seconds` (both queries, deduplicated,
    /// every page read). Ordered by `item`, which `DISTINCT` makes a unique key.
    pub async fn items_changed_within(
        &self,
        seconds: u64,
        location_ids: &[String],
    ) -> Result<Vec<String>, NetSuiteError> {
        let window = seconds.max(1).to_string();
        let mut items = BTreeSet::new();
        for row in self
            .suiteql(CHANGED_LINES_QUERY, std::slice::from_ref(&window))
            .await?
        {
            items.extend(row.get("item").and_then(value_as_string));
        }
        let mut locations = location_ids.to_vec();
        locations.sort();
        locations.dedup();
        if !locations.is_empty() {
            let q = changed_item_locations_query(locations.len())?;
            let params: Vec<String> = std::iter::once(window).chain(locations).collect();
            for row in self.suiteql(&q, &params).await? {
                items.extend(row.get("item").and_then(value_as_string));
            }
        }
        items.retain(|i| !i.is_empty());
        Ok(items.into_iter().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_bind_the_window_first_and_order_by_the_item() {
        assert_eq!(CHANGED_LINES_QUERY.matches('?').count(), 1);
        let q = changed_item_locations_query(3).unwrap();
        assert!(q.contains("NUMTODSINTERVAL(?, 'SECOND') AND ail.location IN (?, ?, ?)"));
        assert!(q.ends_with("ORDER BY ail.item"));
        assert!(changed_item_locations_query(0).is_err());
    }
}

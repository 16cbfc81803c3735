//! Stock per item and location in the simulated account, and the SuiteQL stock template
//! (`InventoryItemLocations` joined with `item`) the bridge reads it with.

use super::state::State as AccountState;
use super::NetSuiteSandbox;
use rust_decimal::Decimal;
use serde_json::{Map, Value};

impl NetSuiteSandbox {
    /// Sets `quantityavailable` (and on hand, nothing committed) of an item at a location.
    /// Returns false for an id that is not a sandbox item id.
    pub fn set_stock(
        &self,
        item_id: &str,
        location_id: &str,
        available: impl Into<Decimal>,
    ) -> bool {
        let (Ok(item), Ok(location)) = (item_id.parse::<u64>(), location_id.parse::<u64>()) else {
            return false;
        };
        let mut st = self.state.lock();
        if !st.items.contains_key(&item) {
            return false;
        }
        st.stock.insert((item, location), available.into());
        true
    }

    /// The `quantityavailable` of an item at a location, if set.
    pub fn stock_at(&self, item_id: &str, location_id: &str) -> Option<Decimal> {
        let key = (item_id.parse().ok()?, location_id.parse().ok()?);
        self.state.lock().stock.get(&key).copied()
    }
}

/// Whitespace-insensitive, case-insensitive form of a query.
fn normalize(q: &str) -> String {
    let lower = q.to_ascii_lowercase();
    let mut out = String::with_capacity(lower.len());
    for word in lower.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out.replace(" ,", ",")
        .replace(", ", ",")
        .replace("( ", "(")
        .replace(" )", ")")
}

/// Count of `?` in the `IN (...)` list that follows `marker`.
fn in_list(q: &str, marker: &str) -> Option<usize> {
    let start = q.find(marker)? + marker.len();
    let end = start + q[start..].find(')')?;
    let list = &q[start..end];
    let n = list.split(',').count();
    list.split(',').all(|m| m == "?").then_some(n)
}

/// Recognises the bridge's stock query and returns (item placeholders, location
/// placeholders). Anything else, however close, is not this template.
pub(super) fn parse(q: &str) -> Option<(usize, usize)> {
    let norm = normalize(q);
    let items = in_list(&norm, "iil.item in (")?;
    let locations = in_list(&norm, "iil.location in (")?;
    let expected = crate::netsuite::stock::stock_query(items, locations).ok()?;
    (normalize(&expected) == norm).then_some((items, locations))
}

/// Rows of the stock template, ordered by (item, location).
pub(super) fn rows(
    st: &AccountState,
    items: usize,
    params: &[String],
) -> Result<Vec<Map<String, Value>>, String> {
    let ids = |vals: &[String]| -> Result<Vec<u64>, String> {
        vals.iter()
            .map(|v| {
                v.parse::<u64>()
                    .map_err(|_| format!("Invalid search query. {v:?} is not an internal id."))
            })
            .collect()
    };
    let (item_params, location_params) = params.split_at(items.min(params.len()));
    let item_ids = ids(item_params)?;
    let location_ids = ids(location_params)?;
    Ok(st
        .stock
        .iter()
        .filter(|((i, l), _)| item_ids.contains(i) && location_ids.contains(l))
        .filter_map(|((i, l), avail)| {
            let item = st.items.get(i)?;
            let mut m = Map::new();
            m.insert("links".into(), Value::Array(Vec::new()));
            for (k, v) in [
                ("item", i.to_string()),
                ("sku", item.itemid.clone()),
                ("location", l.to_string()),
                ("quantityonhand", avail.to_string()),
                ("quantityavailable", avail.to_string()),
                ("quantitycommitted", "0".to_string()),
            ] {
                m.insert(k.into(), Value::String(v));
            }
            Some(m)
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_the_stock_template_only() {
        let q = crate::netsuite::stock::stock_query(3, 2).unwrap();
        assert_eq!(parse(&q), Some((3, 2)));
        assert_eq!(
            parse(&q.replace("SELECT", "select").replace(", ", " , ")),
            Some((3, 2))
        );
        assert_eq!(
            parse(&q.replace("ORDER BY iil.item, iil.location", "")),
            None
        );
        assert_eq!(parse(&q.replace("'F'", "'T'")), None);
        assert_eq!(parse("SELECT id FROM item"), None);
    }
}

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
        drop(st);
        self.announce_stock_change("inventoryadjustment", item, location);
        true
    }

    /// Have stock changes (`set_stock`, `consume`) POST a signed `inventory.changed` callout
    /// to `url`, as the project's user-event scripts do (`deploy/netsuite/`), signed with
    /// `secret` per `netsuite::callout`. Sales-order commitments do not announce: the scripts
    /// watch item receipts, adjustments and transfers, not sales orders.
    pub fn set_callout_target(&self, url: &str, secret: &str) {
        self.state.lock().callout_target = Some((url.to_string(), secret.to_string()));
    }

    /// Stop announcing stock changes.
    pub fn clear_callout_target(&self) {
        self.state.lock().callout_target = None;
    }

    /// Stock-changed callouts sent so far.
    pub fn callouts_sent(&self) -> u64 {
        self.state.lock().callouts_sent
    }

    fn announce_stock_change(&self, record_type: &str, item: u64, location: u64) {
        let target = {
            let mut st = self.state.lock();
            let t = st.callout_target.clone();
            if t.is_some() {
                st.callouts_sent += 1;
            }
            t
        };
        let Some((url, secret)) = target else {
            return;
        };
        // Outside a runtime (plain unit tests) there is nobody to deliver to.
        let Ok(rt) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let record_id = rand::random::<u32>() % 1_000_000;
        let mut callout = self.callout(
            super::callouts::INVENTORY_CHANGED,
            serde_json::json!({
                "record_type": record_type,
                "record_id": record_id.to_string(),
                "item_ids": [item.to_string()],
                "location_ids": [location.to_string()],
                "trigger": "create",
            }),
        );
        callout.secret = secret;
        rt.spawn(async move {
            if let Err(e) = callout.send(&url).await {
                tracing::warn!(error = %e.without_url(), "sandbox stock callout not delivered");
            }
        });
    }

    /// Another sales channel sells `quantity` units straight in NetSuite (a POS, a web shop):
    /// it sells only what is available, and returns how many it sold.
    pub fn consume(&self, item_id: &str, location_id: &str, quantity: Decimal) -> Decimal {
        let (Ok(item), Ok(location)) = (item_id.parse::<u64>(), location_id.parse::<u64>()) else {
            return Decimal::ZERO;
        };
        let mut st = self.state.lock();
        let Some(avail) = st.stock.get_mut(&(item, location)) else {
            return Decimal::ZERO;
        };
        let sold = quantity.min((*avail).max(Decimal::ZERO));
        *avail -= sold;
        drop(st);
        if sold > Decimal::ZERO {
            // Not in the reference's list of record types the scripts watch: another
            // channel's sale shows up as a cash sale; the sandbox announces it the same way.
            self.announce_stock_change("cashsale", item, location);
        }
        sold
    }

    /// Units committed or sold beyond what NetSuite had available (see `commit_sales_order`).
    pub fn oversold_units(&self) -> Decimal {
        self.state.lock().oversold_units
    }

    /// Units committed by sales orders at an item's location.
    pub fn committed_at(&self, item_id: &str, location_id: &str) -> Decimal {
        let (Ok(item), Ok(location)) = (item_id.parse::<u64>(), location_id.parse::<u64>()) else {
            return Decimal::ZERO;
        };
        self.state
            .lock()
            .committed
            .get(&(item, location))
            .copied()
            .unwrap_or_default()
    }

    /// The `quantityavailable` of an item at a location, if set.
    pub fn stock_at(&self, item_id: &str, location_id: &str) -> Option<Decimal> {
        let key = (item_id.parse().ok()?, location_id.parse().ok()?);
        self.state.lock().stock.get(&key).copied()
    }
}

fn id_of(v: &Value) -> Option<u64> {
    match v {
        Value::String(s) => s.parse().ok(),
        Value::Number(n) => n.as_u64(),
        Value::Object(o) => o.get("id").and_then(id_of),
        _ => None,
    }
}

/// A new sales order commits its lines' units at the line's location (else the order's, else
/// the item's first stocked location), so `quantityavailable` falls as in NetSuite. Units
/// beyond what was available are still committed (NetSuite back-orders them) and counted as
/// oversold: that is a sale nobody had stock for. Items without stock rows are not tracked.
/// The reference is silent on commitment rules (they depend on account preferences): this is
/// the "commit available quantity" default.
pub(super) fn commit_sales_order(st: &mut AccountState, body: &Map<String, Value>) {
    let order_location = body.get("location").and_then(id_of);
    let lines = body
        .get("item")
        .and_then(|i| i.get("items"))
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for line in lines {
        let Some(item) = line.get("item").and_then(id_of) else {
            continue;
        };
        let quantity = match line.get("quantity") {
            Some(Value::Number(n)) => n.to_string().parse::<Decimal>().unwrap_or_default(),
            Some(Value::String(s)) => s.parse::<Decimal>().unwrap_or_default(),
            _ => Decimal::ZERO,
        };
        if quantity <= Decimal::ZERO {
            continue;
        }
        let location = line
            .get("location")
            .and_then(id_of)
            .or(order_location)
            .filter(|l| st.stock.contains_key(&(item, *l)))
            .or_else(|| st.stock.keys().find(|(i, _)| *i == item).map(|(_, l)| *l));
        let Some(location) = location else {
            continue;
        };
        let Some(avail) = st.stock.get_mut(&(item, location)) else {
            continue;
        };
        let covered = quantity.min((*avail).max(Decimal::ZERO));
        *avail -= quantity;
        st.oversold_units += quantity - covered;
        *st.committed.entry((item, location)).or_default() += quantity;
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

/// The one stock read the simulated account answers: availability per item and location
/// from `inventoryitemlocations` (reference §7), with the item and location ids bound as
/// `?`, ordered by (item, location) so offset paging is stable.
fn stock_template(items: usize, locations: usize) -> Option<String> {
    if items == 0 || locations == 0 {
        return None;
    }
    let marks = |n: usize| vec!["?"; n].join(", ");
    Some(format!(
        "SELECT iil.item, i.itemid AS sku, iil.location, iil.quantityonhand, \
         iil.quantityavailable, iil.quantitycommitted \
         FROM inventoryitemlocations iil JOIN item i ON i.id = iil.item \
         WHERE iil.item IN ({}) AND iil.location IN ({}) AND i.isinactive = 'F' \
         ORDER BY iil.item, iil.location",
        marks(items),
        marks(locations)
    ))
}

/// Recognises the bridge's stock query and returns (item placeholders, location
/// placeholders). Anything else, however close, is not this template.
pub(super) fn parse(q: &str) -> Option<(usize, usize)> {
    let norm = normalize(q);
    let items = in_list(&norm, "iil.item in (")?;
    let locations = in_list(&norm, "iil.location in (")?;
    let expected = stock_template(items, locations)?;
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
        let q = stock_template(3, 2).unwrap();
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

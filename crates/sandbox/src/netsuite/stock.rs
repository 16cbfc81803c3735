//! Stock per item and location in the simulated account, and the SuiteQL stock template
//! (`InventoryItemLocations` joined with `item`) the bridge reads it with.

use super::state::{RecordKind, State as AccountState, StoredRecord};
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
        st.stock_moved(item, location);
        drop(st);
        // As an inventory adjustment saved in the UI would set it.
        self.announce("inventoryadjustment", "create", None, &[item], &[location]);
        true
    }

    /// Have stock changes POST the signed callouts the project's user-event scripts
    /// (`deploy/netsuite/`) would send for them to `url`, signed with `secret` per
    /// `netsuite::callout`. Only record changes the shipped scripts watch are announced (see
    /// [`SCRIPTED_INVENTORY_EVENTS`]); without a target the account stays silent, as one
    /// whose scripts are not deployed, or whose change was saved where no user event runs.
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

    /// (record type, user-event type) of every stock change announced so far.
    pub fn announced(&self) -> Vec<(String, String)> {
        self.state.lock().announced.clone()
    }

    /// Sends `inventory.changed` for a record change as the shipped scripts would, if they
    /// would; returns whether it was sent.
    fn announce(
        &self,
        record_type: &str,
        event: &str,
        record_id: Option<u64>,
        items: &[u64],
        locations: &[u64],
    ) -> bool {
        if !scripts_announce(record_type, event) || items.is_empty() {
            return false;
        }
        let target = {
            let mut st = self.state.lock();
            let t = st.callout_target.clone();
            if t.is_some() {
                st.callouts_sent += 1;
                st.announced
                    .push((record_type.to_string(), event.to_string()));
            }
            t
        };
        let Some((url, secret)) = target else {
            return false;
        };
        // Outside a runtime (plain unit tests) there is nobody to deliver to.
        let Ok(rt) = tokio::runtime::Handle::try_current() else {
            return false;
        };
        let record_id = record_id.unwrap_or_else(|| u64::from(rand::random::<u32>() % 1_000_000));
        let ids = |v: &[u64]| -> Vec<String> {
            let mut v: Vec<u64> = v.to_vec();
            v.sort_unstable();
            v.dedup();
            v.iter().map(u64::to_string).collect()
        };
        let mut callout = self.callout(
            super::callouts::INVENTORY_CHANGED,
            serde_json::json!({
                "record_type": record_type,
                "record_id": record_id.to_string(),
                "item_ids": ids(items),
                "location_ids": ids(locations),
                "trigger": event,
            }),
        );
        callout.secret = secret;
        rt.spawn(async move {
            if let Err(e) = callout.send(&url).await {
                tracing::warn!(error = %e.without_url(), "sandbox stock callout not delivered");
            }
        });
        true
    }

    /// Another sales channel (a web store, a marketplace, a POS) sells `quantity` units: a
    /// sales order saved in NetSuite through the UI, to the account's "Other channel"
    /// customer, on one line at the location. Like a store that checks stock first, it sells
    /// only what is available; the order commits those units, so `quantityavailable` falls
    /// the moment it is saved. The scripts announce it only if they watch sales order
    /// creation. Returns the units sold.
    pub fn consume(&self, item_id: &str, location_id: &str, quantity: Decimal) -> Decimal {
        let (Ok(item), Ok(location)) = (item_id.parse::<u64>(), location_id.parse::<u64>()) else {
            return Decimal::ZERO;
        };
        let mut st = self.state.lock();
        let Some(avail) = st.stock.get(&(item, location)).copied() else {
            return Decimal::ZERO;
        };
        let sold = quantity.min(avail.max(Decimal::ZERO));
        if sold <= Decimal::ZERO {
            return Decimal::ZERO;
        }
        let customer = other_channel_customer(&mut st);
        let mut body = Map::new();
        body.insert(
            "entity".into(),
            serde_json::json!({ "id": customer.to_string() }),
        );
        body.insert(
            "location".into(),
            serde_json::json!({ "id": location.to_string() }),
        );
        body.insert(
            "item".into(),
            serde_json::json!({ "items": [{
                "line": 1,
                "item": { "id": item.to_string() },
                "quantity": sold.to_string(),
                "location": { "id": location.to_string() },
            }]}),
        );
        commit_sales_order(&mut st, &body);
        let id = st.allocate_id();
        st.records
            .entry(RecordKind::SalesOrder)
            .or_default()
            .insert(
                id,
                StoredRecord {
                    id,
                    external_id: None,
                    body,
                    writes: 1,
                },
            );
        st.touch(RecordKind::SalesOrder, id);
        drop(st);
        self.announce("salesorder", "create", Some(id), &[item], &[location]);
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
        st.stock_moved(item, location);
    }
}

/// The record changes the shipped user-event scripts answer with `inventory.changed`:
/// (record type as `record.type` names it, the user-event types acted on). Mirrors
/// `deploy/netsuite` (its deployments' record types and the scripts' event lists); the test
/// `scripted_inventory_events_mirror_the_sdf_project` holds the two together.
pub const SCRIPTED_INVENTORY_EVENTS: &[(&str, &[&str])] = &[
    ("itemreceipt", STOCK_RECORD_EVENTS),
    ("inventoryadjustment", STOCK_RECORD_EVENTS),
    ("inventorytransfer", STOCK_RECORD_EVENTS),
    ("cashsale", STOCK_RECORD_EVENTS),
    ("invoice", STOCK_RECORD_EVENTS),
    ("transferorder", STOCK_RECORD_EVENTS),
    ("itemfulfillment", STOCK_RECORD_EVENTS),
    ("assemblybuild", STOCK_RECORD_EVENTS),
    ("assemblyunbuild", STOCK_RECORD_EVENTS),
    ("workorderissue", STOCK_RECORD_EVENTS),
    ("workordercompletion", STOCK_RECORD_EVENTS),
    ("inventorystatuschange", STOCK_RECORD_EVENTS),
    ("inventorycount", STOCK_RECORD_EVENTS),
    // Other channels' orders (TikTok's own creates are not announced: the bridge wrote them).
    ("salesorder", SALES_ORDER_EVENTS),
];

/// `tnb_ue_inventory.js`'s `INVENTORY_EVENTS`.
const STOCK_RECORD_EVENTS: &[&str] = &[
    "create", "edit", "xedit", "delete", "approve", "cancel", "pack", "ship",
];
/// `tnb_ue_sales_order.js`'s `INVENTORY_EVENTS`.
const SALES_ORDER_EVENTS: &[&str] = &["create", "edit", "xedit", "delete", "approve", "cancel"];

/// Whether the shipped scripts send `inventory.changed` for this record change.
pub fn scripts_announce(record_type: &str, event: &str) -> bool {
    SCRIPTED_INVENTORY_EVENTS
        .iter()
        .any(|(r, events)| *r == record_type && events.contains(&event))
}

/// The customer other channels' sales orders are sold to, created on first use.
fn other_channel_customer(st: &mut AccountState) -> u64 {
    const EXTERNAL_ID: &str = "sandbox-other-channel";
    if let Some(id) = st.find_by_external_id(RecordKind::Customer, EXTERNAL_ID) {
        return id;
    }
    let id = st.allocate_id();
    let mut body = Map::new();
    body.insert("companyName".into(), Value::String("Other channel".into()));
    st.records.entry(RecordKind::Customer).or_default().insert(
        id,
        StoredRecord {
            id,
            external_id: Some(EXTERNAL_ID.into()),
            body,
            writes: 1,
        },
    );
    id
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
